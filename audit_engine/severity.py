"""Severities: the one definition of their names and order (highest first).

Every other module (pack schema, findings, gates, configuration, reports, the CLI)
reads these; none spells the list out again.
"""

from __future__ import annotations

from typing import Iterable, Literal, TypeVar, get_args

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}  # 0 is the most severe

# A threshold (``--fail-on``, ``fail_on:``): a severity, or ``none`` to never fail.
Threshold = Literal["critical", "high", "medium", "low", "none"]
THRESHOLDS: tuple[Threshold, ...] = get_args(Threshold)

T = TypeVar("T")


def at_or_above(severity: str, threshold: str) -> bool:
    """Is ``severity`` at ``threshold`` or more severe? (``none`` is never reached.)"""
    return threshold != "none" and RANK[severity] <= RANK[threshold]


def highest(severities: Iterable[str]) -> str | None:
    """The most severe of ``severities`` (None when there are none)."""
    return min(severities, key=RANK.__getitem__, default=None)


def counts(severities: Iterable[str]) -> dict[str, int]:
    """``{severity: n, ..., "total": n}`` in severity order."""
    out = dict.fromkeys(SEVERITIES, 0)
    for s in severities:
        out[s] += 1
    return {**out, "total": sum(out.values())}
