"""The journey as a swimlane, for the HTML report: stages as columns in journey order,
stakeholders as rows, touchpoints as cards; systems, checkpoints, trainings and
feedback channels as parallel lanes; data flows between cards and systems.

Everything drawn is an *element* with a DOM id (``<prefix>tp-<id>``, ``<prefix>sys-<id>``
...) and a :class:`Mark`: the findings about it and its worst unwaived severity, which
colours it. A failure mode's findings mark the card of its touchpoint. Grid placement
(columns, rows of the parallel lanes) is computed here, so the page lays out the same
without script; only the flow lines are drawn by the page's script.

Above :data:`SWIMLANE_MAX_TOUCHPOINTS` touchpoints (or :data:`SWIMLANE_MAX_STAGES`
stages) the swimlane collapses to per-stage and per-stakeholder counts (:class:`Compact`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..facts import journey_content
from ..findings import SEVERITY_ORDER
from ..model import JourneyMap, Stakeholder, Touchpoint

SWIMLANE_MAX_TOUCHPOINTS = 400
SWIMLANE_MAX_STAGES = 40
TONES: tuple[str, ...] = (*SEVERITY_ORDER, "waived", "ok")  # card colours, worst first

# subject kind of a finding -> prefix of the DOM id of the element that shows it
_DOM_KIND = {"touchpoint": "tp", "system": "sys", "checkpoint": "cp", "training": "tr", "channel": "ch",
             "stakeholder": "sh", "stage": "st", "flow": "fl"}


@dataclass
class Mark:
    """The findings about one drawn element."""

    dom: str
    worst: str | None = None  # worst unwaived severity
    open: int = 0  # unwaived findings
    waived: int = 0
    rows: list[str] = field(default_factory=list)  # DOM ids of the findings' table rows

    @property
    def tone(self) -> str:
        return self.worst or ("waived" if self.waived else "ok")

    @property
    def count(self) -> int:
        return self.open + self.waived

    def add(self, row: str, severity: str, waived: bool) -> None:
        self.rows.append(row)
        if waived:
            self.waived += 1
            return
        self.open += 1
        if self.worst is None or SEVERITY_ORDER[severity] < SEVERITY_ORDER[self.worst]:
            self.worst = severity


class Marks(dict[str, Mark]):
    """DOM id -> Mark; an element without findings gets an empty mark."""

    def __missing__(self, dom: str) -> Mark:
        return Mark(dom)


def element_of(m: JourneyMap, prefix: str) -> Callable[[str, str], str | None]:
    """(subject kind, subject id) -> the DOM id of the element showing it, or None (data,
    controls and the map itself are not drawn)."""
    host = {fm.id: tp.id for tp in m.touchpoints for fm in tp.failure_modes}

    def dom(kind: str, subject: str) -> str | None:
        if kind == "failure_mode":
            return f"{prefix}tp-{host[subject]}" if subject in host else None
        short = _DOM_KIND.get(kind)
        return f"{prefix}{short}-{subject}" if short else None

    return dom


@dataclass
class FlowView:
    dom: str
    id: str
    src: str  # DOM ids of the ends
    dst: str
    src_name: str
    dst_name: str
    data: list[str]  # data asset names
    encrypted: bool
    purpose: str | None
    medium: str
    handoff: bool  # between touchpoints of different stakeholders
    description: str | None
    mark: Mark


@dataclass
class Card:
    dom: str
    tp: Touchpoint
    mark: Mark
    systems: list[str]  # names
    content: dict[str, Any]  # journey content (format 1.1): emotion, pain_points, ...
    flows_out: list[FlowView] = field(default_factory=list)
    flows_in: list[FlowView] = field(default_factory=list)
    handoffs: list[str] = field(default_factory=list)  # "to <stakeholder name>" / "from ..."


@dataclass
class Lane:
    dom: str
    stakeholder: Stakeholder
    mark: Mark
    cells: list[list[Card]]  # one list per stage


@dataclass
class Chip:
    """A system in the systems lane."""

    dom: str
    name: str
    id: str
    note: str
    mark: Mark


@dataclass
class BandItem:
    """A checkpoint, training or feedback channel spanning stage columns ``start..end`` (0-based)."""

    dom: str
    name: str
    id: str
    note: str
    start: int
    end: int
    mark: Mark
    row: int = 0


@dataclass
class Band:
    title: str
    items: list[BandItem]

    @property
    def rows(self) -> int:
        return max((i.row for i in self.items), default=0) + 1


@dataclass
class StageHead:
    dom: str
    name: str
    id: str
    duration: str | None
    mark: Mark


@dataclass
class CountRow:
    """Touchpoints of one stage or stakeholder, counted by the tone of their card."""

    dom: str
    name: str
    touchpoints: int
    tones: dict[str, int]
    findings: int
    mark: Mark

    def bar(self) -> list[tuple[str, float, int]]:
        """(tone, percent width, count) segments of a stacked bar."""
        total = self.touchpoints or 1
        return [(t, round(100.0 * n / total, 2), n) for t, n in self.tones.items() if n]


@dataclass
class Compact:
    stages: list[CountRow]
    stakeholders: list[CountRow]
    checkpoints: int
    trainings: int
    channels: int


@dataclass
class Swimlane:
    stages: list[StageHead]
    lanes: list[Lane]
    systems: list[list[Chip]]  # one list per stage
    bands: list[Band]
    flows: list[FlowView]
    idle: list[Stakeholder]  # stakeholders with no touchpoint
    touchpoints: int
    compact: Compact | None = None

    @property
    def handoffs(self) -> int:
        return sum(f.handoff for f in self.flows)


def _pack_rows(items: list[BandItem]) -> list[BandItem]:
    """Greedy interval packing: each item on the first row where it fits."""
    ends: list[int] = []
    for it in sorted(items, key=lambda i: (i.start, -(i.end - i.start), i.id)):
        for r, end in enumerate(ends):
            if end < it.start:
                it.row, ends[r] = r, it.end
                break
        else:
            it.row = len(ends)
            ends.append(it.end)
    return items


def _span(cols: Iterable[int], n: int) -> tuple[int, int]:
    cols = list(cols)
    return (min(cols), max(cols)) if cols else (0, n - 1)


def build(m: JourneyMap, marks: Marks, prefix: str) -> Swimlane:
    """The swimlane of map ``m``; ``marks`` holds the findings per DOM id (see :func:`element_of`)."""
    col = {s.id: i for i, s in enumerate(m.stages)}
    n = len(m.stages)
    names = {**{s.id: s.name for s in m.systems}, **{t.id: t.name for t in m.touchpoints}}
    sh_name = {s.id: s.name for s in m.stakeholders}
    tp_by_id = {t.id: t for t in m.touchpoints}
    data_name = {d.id: d.name for d in m.data}

    def dom(kind: str, id: str) -> str:
        return f"{prefix}{kind}-{id}"

    cards = {t.id: Card(dom("tp", t.id), t, marks[dom("tp", t.id)],
                        [names[s] for s in ([t.system] if t.system else []) + t.systems if s in names],
                        journey_content(t)) for t in m.touchpoints}

    flows = []
    for f in m.data_flows:
        a, b = tp_by_id.get(f.from_), tp_by_id.get(f.to)
        fv = FlowView(dom("fl", f.id), f.id, dom("tp" if a else "sys", f.from_), dom("tp" if b else "sys", f.to),
                      names.get(f.from_, f.from_), names.get(f.to, f.to), [data_name.get(d, d) for d in f.data],
                      f.encrypted, f.purpose, f.medium, bool(a and b and a.stakeholder != b.stakeholder),
                      f.description, marks[dom("fl", f.id)])
        flows.append(fv)
        if a:
            cards[a.id].flows_out.append(fv)
        if b:
            cards[b.id].flows_in.append(fv)
        if fv.handoff and a and b:
            cards[a.id].handoffs.append(f"to {sh_name[b.stakeholder]}")
            cards[b.id].handoffs.append(f"from {sh_name[a.stakeholder]}")

    lanes = []
    for s in m.stakeholders:
        cells: list[list[Card]] = [[] for _ in range(n)]
        for t in m.touchpoints:
            if t.stakeholder == s.id:
                cells[col[t.stage]].append(cards[t.id])
        if any(cells):
            lanes.append(Lane(dom("sh", s.id), s, marks[dom("sh", s.id)], cells))
    idle = [s for s in m.stakeholders if not any(t.stakeholder == s.id for t in m.touchpoints)]

    # a system sits in the column of the first stage using it, else of a system it exchanges data with
    used: dict[str, int] = {}
    for t in m.touchpoints:
        for sid in ([t.system] if t.system else []) + t.systems:
            used[sid] = min(used.get(sid, n), col[t.stage])
    for _ in range(2):
        for f in m.data_flows:
            for x, y in ((f.from_, f.to), (f.to, f.from_)):
                if x not in used and y in used:
                    used[x] = used[y]
                elif x not in used and y in tp_by_id:
                    used[x] = col[tp_by_id[y].stage]
    systems: list[list[Chip]] = [[] for _ in range(n)]
    for s in m.systems:
        bits = [s.operator] + (["EHR"] if s.ehr else []) + (["BAA"] if s.baa and s.operator == "vendor" else [])
        if s.shared_workstation:
            bits.append("shared workstation")
        systems[used.get(s.id, 0)].append(Chip(dom("sys", s.id), s.name, s.id, ", ".join(bits), marks[dom("sys", s.id)]))

    stage_of_tp = {t.id: col[t.stage] for t in m.touchpoints}
    cols_of_sh: dict[str, set[int]] = {}
    for t in m.touchpoints:
        cols_of_sh.setdefault(t.stakeholder, set()).add(col[t.stage])
    checkpoints = []
    for c in m.checkpoints:
        start, end = (col[c.stage], col[c.stage]) if c.stage else (0, n - 1)
        note = c.type.replace("_", " ") + (f", owner {sh_name.get(c.owner, c.owner)}" if c.owner else "") + (
            f", {c.timeline_days} days" if c.timeline_days is not None else "")
        checkpoints.append(BandItem(dom("cp", c.id), c.name, c.id, note, start, end, marks[dom("cp", c.id)]))
    trainings = []
    for tr in m.trainings:
        start, end = _span((stage_of_tp[t] for t in tr.covers if t in stage_of_tp), n)
        note = ", ".join(tr.topics) or "training"
        note += ", competency check" if tr.competency_check else ", no competency check"
        trainings.append(BandItem(dom("tr", tr.id), tr.name, tr.id, note, start, end, marks[dom("tr", tr.id)]))
    channels = []
    for ch in m.feedback_channels:
        start, end = _span((c for a in ch.audience for c in cols_of_sh.get(a, ())), n)
        note = ", ".join(x.replace("_", " ") for x in ch.captures) or "feedback"
        note += ", closes the loop" if ch.closes_loop else ""
        channels.append(BandItem(dom("ch", ch.id), ch.name, ch.id, note, start, end, marks[dom("ch", ch.id)]))
    bands = [Band("Checkpoints", _pack_rows(checkpoints)), Band("Trainings", _pack_rows(trainings)),
             Band("Feedback channels", _pack_rows(channels))]

    stages = [StageHead(dom("st", s.id), s.name, s.id, s.duration, marks[dom("st", s.id)]) for s in m.stages]
    lane = Swimlane(stages, lanes, systems, bands, flows, idle, len(m.touchpoints))
    if len(m.touchpoints) > SWIMLANE_MAX_TOUCHPOINTS or n > SWIMLANE_MAX_STAGES:
        lane.compact = _compact(m, cards, marks, prefix)
    return lane


def _count(dom: str, name: str, cards: list[Card], mark: Mark) -> CountRow:
    tones = {t: 0 for t in TONES}
    for c in cards:
        tones[c.mark.tone] += 1
    return CountRow(dom, name, len(cards), tones, sum(c.mark.count for c in cards), mark)


def _compact(m: JourneyMap, cards: dict[str, Card], marks: Marks, prefix: str) -> Compact:
    by_stage: dict[str, list[Card]] = {s.id: [] for s in m.stages}
    by_sh: dict[str, list[Card]] = {s.id: [] for s in m.stakeholders}
    for c in cards.values():
        by_stage[c.tp.stage].append(c)
        by_sh[c.tp.stakeholder].append(c)
    return Compact(
        [_count(f"{prefix}st-{s.id}", s.name, by_stage[s.id], marks[f"{prefix}st-{s.id}"]) for s in m.stages],
        [_count(f"{prefix}sh-{s.id}", s.name, by_sh[s.id], marks[f"{prefix}sh-{s.id}"]) for s in m.stakeholders],
        len(m.checkpoints), len(m.trainings), len(m.feedback_channels))
