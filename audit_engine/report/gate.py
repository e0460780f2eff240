"""The release gate's report (``audit-engine gate --format text|json|markdown|html``).

Text and JSON are the outcome alone (verdict, every failed condition, warnings); Markdown
and HTML are the audit report of the map with the gate on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ._options import RenderOptions
from ._text import dump_json, one_line

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult
    from ..gate import GateOutcome


@dataclass(frozen=True)
class GateReport:
    """Audited maps and the gate's outcome for each (same order)."""

    results: Sequence["AuditResult"]
    outcomes: Sequence["GateOutcome"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def outcome_text(outcome: "GateOutcome") -> list[str]:
    verdict = "PASSED" if outcome.passed else "FAILED"
    base = f"baseline {outcome.baseline}" if outcome.baseline else "no baseline"
    lines = [f"gate {verdict}: map {outcome.map_id} version {outcome.version} ({base}; "
             f"{_plural(len(outcome.new), 'new finding')})"]
    lines += [f"  FAIL {text}" for text in outcome.failures]
    lines += [f"  warn {text}" for text in outcome.warnings]
    return [one_line(line) for line in lines]


def render_text(data: GateReport, options: RenderOptions) -> str:
    lines: list[str] = []
    for outcome in data.outcomes:
        lines += outcome_text(outcome)
    info = options.run_info
    if info is not None and info.noteworthy():
        lines.append(one_line(f"  run: {info.summary()}"))
    return "\n".join(lines) + "\n"


def render_json(data: GateReport, options: RenderOptions) -> str:
    def one(outcome: "GateOutcome") -> dict[str, Any]:
        d = outcome.to_dict()
        if options.run_info is not None:
            d["invocation"] = options.run_info.to_dict()
        return d

    outcomes = list(data.outcomes)
    doc: Any = one(outcomes[0]) if len(outcomes) == 1 else {"gates": [one(o) for o in outcomes]}
    return dump_json(doc)


def _with_gates(data: GateReport, options: RenderOptions) -> RenderOptions:
    from dataclasses import replace

    return replace(options, gates=list(data.outcomes))


def render_markdown(data: GateReport, options: RenderOptions) -> str:
    from . import markdown

    return markdown.render(list(data.results), _with_gates(data, options))


def render_html(data: GateReport, options: RenderOptions) -> str:
    from . import html

    return html.render(list(data.results), _with_gates(data, options))
