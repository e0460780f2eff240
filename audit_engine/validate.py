"""Step 2 of the pipeline: references between the entities of a journey map.

Duplicate ids, ids that are both a system and a touchpoint, references to ids that do
not exist, ``derived_from`` cycles and an unsupported ``format``. The checks read plain
data and skip whatever has the wrong shape, so that they also run on a map that failed
model validation and every problem of a file is reported at once.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from typing import Any

from ._yaml import Document, Path, path_str
from .errors import Diagnostic, did_you_mean
from .model import FORMAT_VERSION, JourneyMap

# list key -> what one entry is called in messages
LISTS: dict[str, str] = {
    "stakeholders": "stakeholder",
    "stages": "stage",
    "systems": "system",
    "data": "data asset",
    "controls": "control",
    "touchpoints": "touchpoint",
    "data_flows": "data flow",
    "checkpoints": "checkpoint",
    "trainings": "training",
    "feedback_channels": "feedback channel",
}
_MAX_SUGGESTIONS = 200  # difflib over huge id lists is slow; hostile maps get no more hints
_CYCLE_HEAD, _CYCLE_TAIL = 6, 4  # a long cycle is shown as its first and last ids


def check_references(m: JourneyMap, doc: Document) -> list[Diagnostic]:
    """Every referential problem of a validated map; positions come from ``doc``."""
    return check_data(m.model_dump(by_alias=True), doc)


def format_message(value: Any) -> str:
    return f"unsupported format {value!r}: this engine reads format {FORMAT_VERSION}"


def check_data(data: dict[str, Any], doc: Document) -> list[Diagnostic]:
    """Like :func:`check_references`, on plain (possibly invalid) map data."""
    return _Checker(data, doc).run()


def _entries(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


class _Checker:
    def __init__(self, data: dict[str, Any], doc: Document):
        self.data, self.doc = data, doc
        self.out: list[Diagnostic] = []
        self.suggestions_left = _MAX_SUGGESTIONS
        # kind -> id -> path of its first definition
        self.ids: dict[str, dict[str, Path]] = {key: {} for key in LISTS}
        self._unions: dict[tuple[str, ...], set[str]] = {}

    def report(self, path: Path, message: str) -> None:
        self.out.append(Diagnostic(self.doc.position(path), f"{path_str(path)}: {message}"))

    def line(self, path: Path) -> int:
        return self.doc.position(path).line

    def run(self) -> list[Diagnostic]:
        fmt = self.data.get("format")
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt != FORMAT_VERSION:
            self.out.append(Diagnostic(self.doc.position(("format",)), f"format: {format_message(fmt)}"))
        self.collect_ids()
        self.check_namespaces()
        self.check_refs()
        self.check_cycles()
        return self.out

    def collect_ids(self) -> None:
        failure_modes: dict[str, Path] = {}
        for key, noun in LISTS.items():
            seen = self.ids[key]
            for i, item in _entries(self.data.get(key)):
                self.define(seen, item.get("id"), (key, i, "id"), noun)
                if key == "touchpoints":
                    for j, fm in _entries(item.get("failure_modes")):
                        self.define(failure_modes, fm.get("id"), (key, i, "failure_modes", j, "id"), "failure mode")

    def define(self, seen: dict[str, Path], id_: Any, path: Path, noun: str) -> None:
        if not isinstance(id_, str):
            return
        if id_ in seen:
            self.report(path, f"duplicate {noun} id {id_!r} (first at line {self.line(seen[id_])}); ids must be unique")
        else:
            seen[id_] = path

    def check_namespaces(self) -> None:
        systems = self.ids["systems"]
        for id_, path in self.ids["touchpoints"].items():
            if id_ in systems:
                self.report(path, f"{id_!r} is both a system (line {self.line(systems[id_])}) and a touchpoint; "
                                  "systems and touchpoints share one namespace, rename one")

    def suggest(self, word: str, choices: Iterable[str]) -> str:
        if self.suggestions_left <= 0:
            return ""
        self.suggestions_left -= 1
        hits = did_you_mean(word, choices)
        return f" (did you mean {' or '.join(repr(h) for h in hits)}?)" if hits else ""

    def ref(self, base: Path, key: str, value: Any, kinds: tuple[str, ...], noun: str) -> None:
        """Check that ``value`` at ``base.key`` (an id, or a list of ids) names an entity of ``kinds``."""
        if value is None:
            return
        known = self.known(kinds)
        if isinstance(value, str):
            if value not in known:
                self.dangling((*base, key), value, kinds, noun)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, str) and v not in known:
                    self.dangling((*base, key, i), v, kinds, noun)

    def known(self, kinds: tuple[str, ...]) -> Container[str]:
        if len(kinds) == 1:
            return self.ids[kinds[0]]
        if kinds not in self._unions:
            self._unions[kinds] = {id_ for k in kinds for id_ in self.ids[k]}
        return self._unions[kinds]

    def dangling(self, path: Path, value: str, kinds: tuple[str, ...], noun: str) -> None:
        hint = self.suggest(value, [c for k in kinds for c in self.ids[k]])
        if len(kinds) == 1:
            self.report(path, f"unknown {noun} {value!r}{hint}")
        else:
            self.report(path, f"{value!r} is not the id of any {noun}{hint}")

    def check_refs(self) -> None:
        d, ref = self.data, self.ref
        for i, s in _entries(d.get("systems")):
            ref(("systems", i), "controls", s.get("controls"), ("controls",), "control")
        for i, a in _entries(d.get("data")):
            ref(("data", i), "derived_from", a.get("derived_from"), ("data",), "data asset")
        for i, t in _entries(d.get("touchpoints")):
            p: Path = ("touchpoints", i)
            ref(p, "stage", t.get("stage"), ("stages",), "stage")
            ref(p, "stakeholder", t.get("stakeholder"), ("stakeholders",), "stakeholder")
            ref(p, "system", t.get("system"), ("systems",), "system")
            ref(p, "controls", t.get("controls"), ("controls",), "control")
            for j, acc in _entries(t.get("data_access")):
                ref((*p, "data_access", j), "data", acc.get("data"), ("data",), "data asset")
            for j, fm in _entries(t.get("failure_modes")):
                ref((*p, "failure_modes", j), "safeguards", fm.get("safeguards"), ("controls",), "control")
        for i, f in _entries(d.get("data_flows")):
            p = ("data_flows", i)
            ref(p, "from", f.get("from"), ("systems", "touchpoints"), "system or touchpoint")
            ref(p, "to", f.get("to"), ("systems", "touchpoints"), "system or touchpoint")
            ref(p, "data", f.get("data"), ("data",), "data asset")
            ref(p, "consent", f.get("consent"), ("checkpoints",), "checkpoint")
        for i, c in _entries(d.get("checkpoints")):
            p = ("checkpoints", i)
            ref(p, "stage", c.get("stage"), ("stages",), "stage")
            ref(p, "owner", c.get("owner"), ("stakeholders",), "stakeholder")
            ref(p, "applies_to", c.get("applies_to"), ("data", "data_flows", "touchpoints", "systems"),
                "data asset, data flow, touchpoint or system")
        for i, t in _entries(d.get("trainings")):
            ref(("trainings", i), "audience", t.get("audience"), ("stakeholders",), "stakeholder")
            ref(("trainings", i), "covers", t.get("covers"), ("touchpoints",), "touchpoint")
        for i, ch in _entries(d.get("feedback_channels")):
            ref(("feedback_channels", i), "audience", ch.get("audience"), ("stakeholders",), "stakeholder")

    def check_cycles(self) -> None:
        """Report each ``derived_from`` cycle once, at the reference that closes it (iterative DFS)."""
        edges: dict[str, list[tuple[str, Path]]] = {}
        for id_, path in self.ids["data"].items():
            item = self.data["data"][path[1]]
            sources = item.get("derived_from")
            edges[id_] = [
                (src, ("data", path[1], "derived_from", k))
                for k, src in enumerate(sources if isinstance(sources, list) else [])
                if isinstance(src, str) and src in self.ids["data"]
            ]
        state: dict[str, int] = {}  # absent: not seen; 1: on the current path; 2: done
        for start in edges:
            if start in state:
                continue
            state[start] = 1
            stack: list[list[Any]] = [[start, 0]]
            on_path: dict[str, int] = {start: 0}
            while stack:
                top = stack[-1]
                node, k = top
                if k == len(edges[node]):
                    state[node] = 2
                    del on_path[node]
                    stack.pop()
                    continue
                top[1] = k + 1
                nxt, ref_path = edges[node][k]
                if nxt not in state:
                    state[nxt] = 1
                    on_path[nxt] = len(stack)
                    stack.append([nxt, 0])
                elif state[nxt] == 1:
                    cycle = [frame[0] for frame in stack[on_path[nxt]:]] + [nxt]
                    self.report(ref_path, f"derived_from cycle: {_show_cycle(cycle)}")


def _show_cycle(cycle: list[str]) -> str:
    hidden = len(cycle) - _CYCLE_HEAD - _CYCLE_TAIL
    if hidden > 1:
        cycle = [*cycle[:_CYCLE_HEAD], f"... ({hidden:,} more)", *cycle[-_CYCLE_TAIL:]]
    return " -> ".join(cycle)
