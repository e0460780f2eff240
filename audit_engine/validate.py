"""Step 2 of the pipeline: references between the entities of a journey map.

Duplicate ids, ids that are both a system and a touchpoint, references to ids that do
not exist, ``derived_from`` cycles and an unsupported ``format``. The checks read plain
data and skip whatever has the wrong shape, so that they also run on a map that failed
model validation and every problem of a file is reported at once.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel

from ._yaml import Document, Path, path_str
from .errors import Diagnostic, did_you_mean
from .limits import DEFAULT, Limits
from .model import ENTITIES, FORMAT_VERSION, JourneyMap, Ref

# list key -> what one entry is called in messages
LISTS: dict[str, str] = {e.key: e.noun for e in ENTITIES}


@dataclass(frozen=True)
class _RefSpec:
    field: str  # key holding one id or a list of ids
    lists: tuple[str, ...]  # the lists the ids may come from
    noun: str  # what such an id is called
    group: str | None  # the referenced stakeholder must be of this group


def _ref_specs(model: type[BaseModel], owner: tuple[str, ...], out: dict[tuple[str, ...], list[_RefSpec]]) -> None:
    """Every id reference of the format, read off the models' ``Ref`` metadata: where the
    referring entities are (a list, or a list inside each item of a list) -> its references."""
    for attr, info in model.model_fields.items():
        meta = [m for m in info.metadata if isinstance(m, Ref)]
        tp = info.annotation
        while get_origin(tp) in (Annotated, Union, UnionType, list):
            meta += [m for m in getattr(tp, "__metadata__", ()) if isinstance(m, Ref)]
            args = [a for a in get_args(tp) if a is not type(None)]
            tp = args[0]
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp is not model:
            _ref_specs(tp, owner + (attr,), out)
        for ref in meta:
            out.setdefault(owner, []).append(_RefSpec(info.alias or attr, ref.lists, ref.noun, ref.group))


REFERENCES: dict[tuple[str, ...], list[_RefSpec]] = {}
for _e in ENTITIES:
    _ref_specs(_e.model, (_e.key,), REFERENCES)
_MAX_SUGGESTIONS = 200  # difflib over huge id lists is slow; hostile maps get no more hints
_CYCLE_HEAD, _CYCLE_TAIL = 6, 4  # a long cycle is shown as its first and last ids


def check_references(m: JourneyMap, doc: Document) -> list[Diagnostic]:
    """Every referential problem of a validated map; positions come from ``doc``."""
    return check_data(m.model_dump(by_alias=True), doc)


def format_message(value: Any) -> str:
    if isinstance(value, float):  # `format: 1.0` or `1.1`: a revision is not a format
        return (f"unsupported format {value!r}: this engine reads format {FORMAT_VERSION}, written as the whole "
                f"number {FORMAT_VERSION} (maps of every revision of the format say `format: {FORMAT_VERSION}`)")
    return f"unsupported format {value!r}: this engine reads format {FORMAT_VERSION}"


def check_data(data: dict[str, Any], doc: Document, limits: Limits = DEFAULT) -> list[Diagnostic]:
    """Like :func:`check_references`, on plain (possibly invalid) map data."""
    return _Checker(data, doc, limits).run()


def _entries(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """(index, entry) of the mappings in ``value`` if it is a list; other items are skipped."""
    if type(value) is not list:
        return []
    return [(i, item) for i, item in enumerate(value) if type(item) is dict]


def _owners(data: dict[str, Any], owner: tuple[str, ...]) -> list[tuple[Path, dict[str, Any]]]:
    """(path, entry) of each entry at ``owner``: ("touchpoints",) or ("touchpoints", "data_access")."""
    top = owner[0]
    if len(owner) == 1:
        return [((top, i), item) for i, item in _entries(data.get(top))]
    inner = owner[1]
    return [((top, i, inner, j), sub) for i, item in _entries(data.get(top)) for j, sub in _entries(item.get(inner))]


class Problems(list):
    """Problems found; ``truncated`` when the search stopped at the limit."""

    truncated = False


class _Enough(Exception):
    """More problems than a file reports: stop looking."""


class _Checker:
    def __init__(self, data: dict[str, Any], doc: Document, limits: Limits = DEFAULT):
        self.data, self.doc, self.limits = data, doc, limits
        self.out: list[Diagnostic] = []
        self.suggestions_left = _MAX_SUGGESTIONS
        # list key -> id -> path of the entry that first defines it
        self.ids: dict[str, dict[str, Path]] = {key: {} for key in LISTS}

    def report(self, path: Path, message: str) -> None:
        if len(self.out) > self.limits.max_problems:
            raise _Enough
        self.out.append(Diagnostic(self.doc.position(path), f"{path_str(path)}: {message}"))

    def line(self, path: Path) -> int:
        return self.doc.position(path).line

    def run(self) -> list[Diagnostic]:
        fmt = self.data.get("format")
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt != FORMAT_VERSION:
            self.out.append(Diagnostic(self.doc.position(("format",)), f"format: {format_message(fmt)}"))
        try:
            self.collect_ids()
            self.check_namespaces()
            self.check_refs()
            self.check_cycles()
        except _Enough:  # more problems than a file reports: say so, without counting them all
            out = Problems(self.out)
            out.truncated = True
            return out
        return self.out

    def collect_ids(self) -> None:
        for key, noun in LISTS.items():
            seen = self.ids[key]
            for entry, item in _owners(self.data, (key,)):
                self.define(seen, item.get("id"), entry, noun)
        failure_modes: dict[str, Path] = {}  # unique within the whole map
        for entry, item in _owners(self.data, ("touchpoints", "failure_modes")):
            self.define(failure_modes, item.get("id"), entry, "failure mode")

    def define(self, seen: dict[str, Path], id_: Any, entry: Path, noun: str) -> None:
        """Remember where ``id_`` is defined; report it if it already was."""
        if type(id_) is not str:
            return
        if id_ in seen:
            first = self.line(seen[id_])
            self.report((*entry, "id"), f"duplicate {noun} id {id_!r} (first at line {first}); ids must be unique")
        else:
            seen[id_] = entry

    def check_namespaces(self) -> None:
        systems = self.ids["systems"]
        for id_, entry in self.ids["touchpoints"].items():
            if id_ in systems:
                line = self.line(systems[id_])
                self.report((*entry, "id"), f"{id_!r} is both a system (line {line}) and a touchpoint; "
                                            "systems and touchpoints share one namespace, rename one")

    def suggest(self, word: str, choices: Iterable[str]) -> str:
        """A "did you mean", within a budget: 200 per file, and none among very many ids."""
        if self.suggestions_left <= 0:
            return ""
        choices = list(choices)
        if len(choices) > self.limits.max_suggestion_candidates:
            return ""
        self.suggestions_left -= 1
        hits = did_you_mean(word, choices)
        return f" (did you mean {' or '.join(repr(h) for h in hits)}?)" if hits else ""

    def known(self, kinds: tuple[str, ...]) -> Container[str]:
        if len(kinds) == 1:
            return self.ids[kinds[0]]
        return {id_ for k in kinds for id_ in self.ids[k]}

    def dangling(self, path: Path, value: str, kinds: tuple[str, ...], noun: str) -> None:
        size = sum(len(self.ids[k]) for k in kinds)
        hint = "" if self.suggestions_left <= 0 or size > self.limits.max_suggestion_candidates else \
            self.suggest(value, [c for k in kinds for c in self.ids[k]])
        if len(kinds) == 1:
            self.report(path, f"unknown {noun} {value!r}{hint}")
        else:
            self.report(path, f"{value!r} is not the id of any {noun}{hint}")

    def check_refs(self) -> None:
        for owner, fields in REFERENCES.items():
            specs = [(r, self.known(r.lists)) for r in fields]
            for base, item in _owners(self.data, owner):
                for r, known in specs:
                    value = item.get(r.field)
                    if type(value) is str:
                        self.check_ref((*base, r.field), value, known, r, item)
                    elif type(value) is list:
                        for j, v in enumerate(value):
                            if type(v) is str:
                                self.check_ref((*base, r.field, j), v, known, r, item)

    def check_ref(self, path: Path, value: str, known: Container[str], r: _RefSpec, item: dict[str, Any]) -> None:
        if value not in known:
            self.dangling(path, value, r.lists, r.noun)
        elif r.group is not None:
            target = self.data[r.lists[0]][self.ids[r.lists[0]][value][1]]
            group = target.get("group")
            if value == item.get("id"):
                self.report(path, f"{value!r} cannot refer to itself")
            elif type(group) is str and group != r.group:
                self.report(path, f"{value!r} is a stakeholder of group {group!r}; it must be of group {r.group!r}")

    def check_cycles(self) -> None:
        """Report each ``derived_from`` cycle once, at the reference that closes it.

        A depth-first search with an explicit stack: a 20,000-long chain needs no recursion.
        """
        data_ids = self.ids["data"]
        edges: dict[str, list[tuple[str, Path]]] = {}
        for id_, (_, i) in data_ids.items():
            sources = self.data["data"][i].get("derived_from")
            edges[id_] = [
                (src, ("data", i, "derived_from", k))
                for k, src in enumerate(sources if type(sources) is list else [])
                if type(src) is str and src in data_ids
            ]
        done: set[str] = set()
        for start in edges:
            if start in done:
                continue
            stack: list[list[Any]] = [[start, 0]]  # [data id, index of its next edge]
            on_path = {start: 0}  # data id -> its depth in the stack
            while stack:
                frame = stack[-1]
                node, k = frame
                if k == len(edges[node]):
                    done.add(node)
                    del on_path[node]
                    stack.pop()
                    continue
                frame[1] = k + 1
                nxt, ref = edges[node][k]
                if nxt in on_path:
                    cycle = [f[0] for f in stack[on_path[nxt]:]] + [nxt]
                    self.report(ref, f"derived_from cycle: {_show_cycle(cycle)}")
                elif nxt not in done:
                    on_path[nxt] = len(stack)
                    stack.append([nxt, 0])


def _show_cycle(cycle: list[str]) -> str:
    hidden = len(cycle) - _CYCLE_HEAD - _CYCLE_TAIL
    if hidden > 1:
        cycle = [*cycle[:_CYCLE_HEAD], f"... ({hidden:,} more)", *cycle[-_CYCLE_TAIL:]]
    return " -> ".join(cycle)
