"""``audit-engine checklist``: the source guide's seven-item quick-start checklist for one map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ._options import RenderOptions
from ._text import dump_json, one_line

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult
    from ..checklist import ItemResult


@dataclass(frozen=True)
class ChecklistReport:
    result: "AuditResult"
    items: Sequence["ItemResult"]


def _passed(report: ChecklistReport) -> int:
    return sum(i.passed for i in report.items)


def render_json(report: ChecklistReport, options: RenderOptions) -> str:
    from ..checklist import score

    r = report.result
    doc: dict[str, Any] = {"map": {"id": r.map_id, "version": r.version, "file": r.loaded.file},
                           "score": score(list(report.items)), "passed": _passed(report),
                           "items": [i.to_dict() for i in report.items]}
    return dump_json(doc)


def render_table(report: ChecklistReport, options: RenderOptions) -> str:
    from ..checklist import score

    r = report.result
    lines = [f"Quick-start checklist for {r.map_id} {r.version}", ""]
    for i in report.items:
        lines.append(f"  [{'PASS' if i.passed else 'FAIL'}] {i.item.number}. {i.item.title}")
        if not i.has_entities:
            lines.append(f"         needs {i.item.requirement}")
        lines += [f"         {f.rule_id} {f.subject}: {f.message}" for f in i.findings]
    lines += ["", f"score: {_passed(report)}/{len(report.items)} ({score(list(report.items))}%)"]
    return "\n".join(one_line(line) for line in lines) + "\n"
