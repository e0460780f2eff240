"""Limits on what one run will read and compute, each refused early with a clear message.

A compliance tool runs on files from many teams, in CI, next to a shared database: no
input may exhaust the machine. The defaults fit maps far larger than real journeys (the
benchmarks audit 15,000 touchpoints within them) and keep a refused run under 1 GB.
Override them in the run configuration (``limits:`` in ``audit-engine.yaml``).

``max_memory_mb`` is the one limit the engine cannot check as it goes: a rule that joins
facts weakly (every pair of touchpoints of a stage) makes durable-rules build its
partial matches inside one call. The CLI therefore caps its own address space
(:func:`cap_memory`); when the engine hits the cap, the run stops with a capacity error
instead of the machine swapping or the process being killed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Mapping


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * 1024 * 1024  # a map, pack, config, waiver or policy file
    max_depth: int = 64  # nesting of mappings and lists
    max_values: int = 1_500_000  # scalars, mappings and lists in one file
    max_entities: int = 25_000  # entries of one list of a map (touchpoints, data, ...)
    max_references: int = 1_000  # ids in one reference list (a system's controls, a training's audience...)
    max_problems: int = 1_000  # problems reported per file (the rest are counted)
    max_suggestion_candidates: int = 5_000  # "did you mean" looks only at lists up to this size
    max_derived_facts: int = 1_000_000  # facts derived by the rules in one audit (15,000 touchpoints: ~170,000)
    max_activations: int = 2_000_000  # rule activations in one audit (15,000 touchpoints: ~200,000)
    max_memory_mb: int = 4_096  # address space of a CLI run (15,000 touchpoints: ~850 MB); 0: no cap

    def with_overrides(self, overrides: Mapping[str, int]) -> "Limits":
        return replace(self, **dict(overrides))

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


DEFAULT = Limits()


def cap_memory(limits: Limits) -> None:
    """Cap this process's address space at ``limits.max_memory_mb`` (never raising a
    lower cap already set). For the CLI: a library caller owns its process."""
    if limits.max_memory_mb <= 0:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    want = limits.max_memory_mb * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft > want:
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
