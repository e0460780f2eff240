"""The view-model of one map's section of the HTML report: summary, findings rows (with
the stakeholders and drawn element each concerns), the swimlane and the history.

Plain data for the template; nothing here writes markup. Text stays raw (the template
escapes it); the data for the page's script is serialised by ``html.script_json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..checklist import ItemResult, checklist, score
from ..findings import SEVERITIES, Finding, summarize
from ..model import ENTITIES, JourneyMap
from . import swimlane
from .history import Chart, History, chart
from .sarif import with_params

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult
    from ..gate import GateOutcome


@dataclass
class Row:
    """One finding in the findings table."""

    dom: str
    f: Finding
    subject_name: str  # a readable name of the subject, '' when none
    element: str | None  # DOM id of the drawn element it marks
    stakeholders: list[str]  # ids of the stakeholders it concerns (for the filter)
    expired: bool  # its waiver expired
    new: bool  # not in the gate's baseline, or not in the previous stored version
    reopened: bool


@dataclass
class RuleNote:
    """A rule's remediation and sources, once per rule."""

    rule_id: str
    pack: str
    title: str
    remediation: str
    citations: list[dict[str, Any]]


@dataclass
class MapView:
    prefix: str
    result: "AuditResult"
    map: JourneyMap
    summary: dict[str, int]
    waived: int
    gate: "GateOutcome | None"
    checklist: list[ItemResult]
    checklist_score: float
    rows: list[Row]
    rules: dict[str, RuleNote]
    packs: list[str]
    stakeholders: list[tuple[str, str]]  # (id, name) for the filter
    lane: swimlane.Swimlane
    marks: swimlane.Marks
    unplaced: int  # findings about data, controls or the whole map: in the table only
    history: History | None = None
    chart: Chart | None = None
    new_label: str = ""  # what "new" means on this page
    waivers: dict[str, Any] = field(default_factory=dict)

    @property
    def compact(self) -> bool:
        return self.lane.compact is not None

    @cached_property
    def row_by_dom(self) -> dict[str, Row]:
        return {r.dom: r for r in self.rows}

    @cached_property
    def row_by_fingerprint(self) -> dict[str, str]:
        return {r.f.fingerprint: r.dom for r in self.rows}

    def script_data(self) -> dict[str, Any]:
        """What the page's script needs: flows to draw and the findings rows of each element."""
        return {
            "flows": [] if self.compact else [
                {"id": f.dom, "from": f.src, "to": f.dst, "tone": f.mark.tone, "handoff": f.handoff,
                 "label": ", ".join(f.data)} for f in self.lane.flows],
            "marks": {dom: mk.rows for dom, mk in sorted(self.marks.items()) if mk.rows},
        }


def _names(m: JourneyMap) -> dict[tuple[str, str], str]:
    out = {(e.kind, x.id): getattr(x, "name", "") for e in ENTITIES for x in getattr(m, e.key)}
    for tp in m.touchpoints:
        for fm in tp.failure_modes:
            out[("failure_mode", fm.id)] = f"{fm.description or fm.id} (at {tp.name})"
    out[("map", m.id)] = m.name
    return out


def _stakeholders_of(m: JourneyMap) -> dict[tuple[str, str], list[str]]:
    """(subject kind, id) -> the stakeholders a finding about it concerns."""
    tp = {t.id: t for t in m.touchpoints}
    on_system: dict[str, set[str]] = {}
    on_data: dict[str, set[str]] = {}
    out: dict[tuple[str, str], list[str]] = {}
    for t in m.touchpoints:
        out[("touchpoint", t.id)] = [t.stakeholder]
        for fm in t.failure_modes:
            out[("failure_mode", fm.id)] = [t.stakeholder]
        for s in ([t.system] if t.system else []) + t.systems:
            on_system.setdefault(s, set()).add(t.stakeholder)
        for da in t.data_access:
            on_data.setdefault(da.data, set()).add(t.stakeholder)
    for f in m.data_flows:
        out[("flow", f.id)] = sorted({tp[e].stakeholder for e in (f.from_, f.to) if e in tp})
    for s in m.stakeholders:
        out[("stakeholder", s.id)] = [s.id]
    for c in m.checkpoints:
        out[("checkpoint", c.id)] = [c.owner] if c.owner else []
    for tr in m.trainings:
        out[("training", tr.id)] = sorted(tr.audience)
    for ch in m.feedback_channels:
        out[("channel", ch.id)] = sorted(ch.audience)
    for sid, shs in on_system.items():
        out[("system", sid)] = sorted(shs)
    for did, shs in on_data.items():
        out[("data", did)] = sorted(shs)
    return out


def build(result: "AuditResult", index: int = 0, gate: "GateOutcome | None" = None,
          history: History | None = None) -> MapView:
    """The view of ``result`` (the ``index``-th map of the page, which prefixes its DOM ids)."""
    prefix = f"m{index}-"
    m = result.loaded.map
    rules = result.ruleset.program.rules
    params = dict(result.ruleset.params)
    element = swimlane.element_of(m, prefix)
    names = _names(m)
    concerns = _stakeholders_of(m)
    if gate is not None:
        new = {f.fingerprint for f in gate.new}
        new_label = f"new vs {gate.baseline}" if gate.baseline else "new (no baseline)"
    elif history is not None and history.diff is not None:
        new = {f.fingerprint for f in history.diff.new}
        new_label = f"new since {history.previous}"
    else:
        new, new_label = set(), ""
    reopened = set(history.diff.reopened) if history is not None and history.diff is not None else set()

    marks = swimlane.Marks()
    notes: dict[str, RuleNote] = {}
    rows = []
    unplaced = 0
    for i, f in enumerate(sorted(result.findings, key=Finding.sort_key)):
        dom = f"{prefix}f-{i}"
        el = element(f.subject_kind, f.subject)
        if el is None:
            unplaced += 1
        else:
            marks.setdefault(el, swimlane.Mark(el)).add(dom, f.severity, f.waived)
        if f.rule_id not in notes:
            rule = rules[f.rule_id][1] if f.rule_id in rules else None
            notes[f.rule_id] = RuleNote(f.rule_id, f.pack, f.title,
                                        with_params(rule.remediation, params) if rule is not None else "",
                                        list(f.citations))
        rows.append(Row(dom, f, names.get((f.subject_kind, f.subject), ""), el,
                        concerns.get((f.subject_kind, f.subject), []), bool(f.waiver and f.waiver.get("expired")),
                        f.fingerprint in new, f.fingerprint in reopened))
    items = checklist(result)
    sh_with_findings = {s for r in rows for s in r.stakeholders}
    view = MapView(
        prefix=prefix, result=result, map=m, summary=summarize(result.findings),
        waived=sum(1 for f in result.findings if f.waived), gate=gate, checklist=items,
        checklist_score=score(items), rows=rows, rules=dict(sorted(notes.items())),
        packs=sorted({f.pack for f in result.findings if f.pack}),
        stakeholders=[(s.id, s.name) for s in m.stakeholders if s.id in sh_with_findings],
        lane=swimlane.build(m, marks, prefix), marks=marks, unplaced=unplaced, history=history,
        new_label=new_label, waivers=result.waivers.to_dict() if result.waivers else {},
    )
    if history is not None and history.versions:
        view.chart = chart(history)
    return view


__all__ = ["MapView", "Row", "RuleNote", "SEVERITIES", "build"]
