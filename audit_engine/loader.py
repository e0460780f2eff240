"""Step 1 of the pipeline: a journey map file becomes a validated :class:`JourneyMap`.

read (``_yaml``) -> shape (pydantic models) -> references (``validate``). Every problem
of the file is collected and raised together as one :class:`MapError`, each with the
file, line and column of the offending value and a message for the map's author.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ._yaml import STDIN, STDIN_NAME, Document, Path, parse_bytes, path_str, read_bytes, read_stdin
from . import _gc
from .timings import phase
from .errors import Diagnostic, Location, MapError, did_you_mean
from .limits import DEFAULT, Limits
from .model import ENTITIES, FORMAT_VERSION, JourneyMap
from .validate import check_data, format_message

MAX_PROBLEMS = 1000  # a file with more gets the first ones and a count

@dataclass(frozen=True)
class LoadedMap:
    """A valid map, where it came from, and where each of its entities is written."""

    map: JourneyMap
    file: str
    content_hash: str  # sha256 of the file's bytes, hex
    locations: dict[tuple[str, str], Location]  # (kind, id) -> start of the entity's entry

    def location_of(self, kind: str, id: str) -> Location:
        """Where entity ``id`` of ``kind`` is written; the map's own location if unknown."""
        found = self.locations.get((kind, id))
        return found or self.locations.get(("map", self.map.id)) or Location(self.file, 1, 1)


def load_map(path: str | FsPath, limits: Limits = DEFAULT) -> LoadedMap:
    """Read, validate and locate the journey map at ``path`` (``-``: standard input); raise
    MapError on any problem."""
    file = str(path)
    with phase("load"):
        raw = (read_stdin(max_bytes=limits.max_file_bytes) if file == STDIN
               else read_bytes(file, max_bytes=limits.max_file_bytes))
    return _load(raw, STDIN_NAME if file == STDIN else file, limits)


def load_map_text(text: str, file: str = "<string>", limits: Limits = DEFAULT) -> LoadedMap:
    """Like :func:`load_map` for a map given as text (``file`` names it in messages)."""
    return _load(text.encode("utf-8"), file, limits)


def _load(raw: bytes, file: str, limits: Limits) -> LoadedMap:
    with _gc.paused(), phase("validate"):  # parsing, inside, counts as "load"
        return _load_unguarded(raw, file, limits)


def _load_unguarded(raw: bytes, file: str, limits: Limits) -> LoadedMap:
    with phase("load"):
        doc = parse_bytes(raw, file, max_bytes=limits.max_file_bytes, max_values=limits.max_values,
                          max_depth=limits.max_depth)
    data = doc.data
    fmt = data.get("format")
    if (_is_int(fmt) and fmt != FORMAT_VERSION) or isinstance(fmt, float):
        # Another format may have another shape: its other errors would only be noise.
        raise MapError([*doc.problems, Diagnostic(doc.position(("format",)), f"format: {format_message(fmt)}")])
    too_big = _size_problems(data, doc, limits)
    if too_big:  # refused before anything expensive runs on it
        raise MapError([*doc.problems, *too_big])
    problems = list(doc.problems)
    model: JourneyMap | None = None
    not_shown = 0
    try:
        model = JourneyMap.model_validate(data)
    except ValidationError as e:
        shape, not_shown = _shape_problems(e, doc, limits.max_problems)
        problems += shape
    references = check_data(data, doc, limits)
    problems += references
    if problems or model is None:
        shown, note = _at_most(limits.max_problems, list(dict.fromkeys(problems)), not_shown,
                               bool(getattr(references, "truncated", False)))
        raise MapError(shown, note=note)
    return LoadedMap(model, file, hashlib.sha256(raw).hexdigest(), _locations(model, doc))


def _size_problems(data: dict[str, Any], doc: Document, limits: Limits) -> list[Diagnostic]:
    """Lists longer than the limits allow: each list of entities, each list of ids in them."""
    out: list[Diagnostic] = []
    for key, value in data.items():
        if type(value) is not list:
            continue
        if len(value) > limits.max_entities:
            out.append(Diagnostic(doc.position((key,)), f"{key}: {len(value):,} entries; the limit is "
                                                        f"{limits.max_entities:,} (limits.max_entities)"))
            continue
        for i, item in enumerate(value):
            if type(item) is not dict:
                continue
            for field, inner in item.items():
                if type(inner) is list and len(inner) > limits.max_references:
                    out.append(Diagnostic(doc.position((key, i, field)), f"{key}[{i}].{field}: {len(inner):,} "
                                          f"entries; the limit is {limits.max_references:,} (limits.max_references)"))
    return out


def _at_most(limit: int, problems: list[Diagnostic], not_shown: int = 0,
             uncounted: bool = False) -> tuple[list[Diagnostic], str | None]:
    """The first ``limit`` problems, by position, and a note saying how many more there are."""
    if len(problems) <= limit and not not_shown and not uncounted:
        return problems, None
    problems.sort()
    more = len(problems) - limit + not_shown if len(problems) > limit else not_shown
    if uncounted:
        return problems[:limit], f"further problems not shown: a file reports at most {limit:,} (limits.max_problems)"
    return problems[:limit], f"{more:,} more problems not shown (limits.max_problems)"


def _locations(m: JourneyMap, doc: Document) -> dict[tuple[str, str], Location]:
    locs = {("map", m.id): doc.position(("id",)) if "id" in doc.data else doc.start}
    for e in ENTITIES:
        for entity, where in zip(getattr(m, e.key), doc.item_positions((e.key,))):
            locs.setdefault((e.kind, entity.id), where)
    for i, tp in enumerate(m.touchpoints):
        if tp.failure_modes:
            for fm, where in zip(tp.failure_modes, doc.item_positions(("touchpoints", i, "failure_modes"))):
                locs.setdefault(("failure_mode", fm.id), where)
    return locs


# --- pydantic errors in plain language -----------------------------------------------


def _shape_problems(error: ValidationError, doc: Document, limit: int = MAX_PROBLEMS) -> tuple[list[Diagnostic], int]:
    """Pydantic's errors in plain language (at most ``limit``), and how many more."""
    out: list[Diagnostic] = []
    not_shown = 0
    bad_paths = set(doc.bad_paths)
    for e in error.errors(include_url=False, include_input=True, include_context=True):
        loc: Path = tuple(e["loc"])
        if any(loc[:i] in bad_paths for i in range(len(loc) + 1)):
            continue  # already reported by the reader (alias, tag...)
        if len(out) >= limit:
            not_shown += 1  # a hostile file: counted, not translated
            continue
        if e["type"] in ("missing", "extra_forbidden"):
            where, prefix = loc[:-1], path_str(loc[:-1])
        else:
            where, prefix = loc, path_str(loc)
        position = doc.key_position(loc) if e["type"] == "extra_forbidden" else doc.position(where)
        message = _message(e, loc, doc)
        out.append(Diagnostic(position, f"{prefix}: {message}" if prefix else message))
    return out, not_shown


def _message(e: Any, loc: Path, doc: Document) -> str:
    kind, value, ctx = e["type"], e.get("input"), e.get("ctx") or {}
    got = _describe(value, doc.source_text(loc))
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}{doc.unknown_key_hint(loc) or _suggest(str(loc[-1]), _keys_at(loc[:-1]))}"
    if kind == "literal_error":
        if loc == ("format",):
            return format_message(value) if _is_int(value) else f"expected the integer {FORMAT_VERSION}, got {got}"
        allowed = _allowed_at(loc)
        if isinstance(value, str):
            return f"{_short(value)!r} is not one of {', '.join(allowed)}{_suggest(value, allowed)}"
        return f"expected one of {', '.join(allowed)}, got {got}"
    if kind == "string_type":
        hint = ""
        if isinstance(value, (bool, int, float)):
            text = doc.source_text(loc) or json.dumps(value)
            hint = f'; quote it ("{text}") so that YAML keeps it as text'
        return f"expected a string, got {got}{hint}"
    if kind == "int_type":
        return f"expected an integer, got {got}"
    if kind == "bool_type":
        return f"expected true or false, got {got}"
    if kind == "list_type":
        return f"expected a list, got {got}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (key: value pairs), got {got}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return f"needs at least {n} entr{'y' if n == 1 else 'ies'}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is {len(str(value)):,} characters long; the limit is {ctx.get('max_length')}"
    if kind == "greater_than_equal":
        return f"must be {ctx.get('ge', 0)} or more, got {got}"
    if kind == "string_pattern_mismatch":
        return (f"{_short(str(value))!r} is not a valid id: use 1 to 128 lowercase letters, digits, '.', '_' "
                "or '-', starting with a letter or digit")
    return f"{e['msg']} (got {got})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(value: Any, source: str | None) -> str:
    if value is None:
        return "nothing (null)" if not source else f"{source} (which YAML reads as null)"
    if isinstance(value, bool):
        return f"{source or str(value).lower()} (which YAML reads as a boolean)"
    if isinstance(value, (int, float)):
        return f"the number {source or value}"
    if isinstance(value, str):
        return f"the string {json.dumps(_short(value), ensure_ascii=False)}"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else repr(value)


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    hits = did_you_mean(word, choices)
    return f" (did you mean {' or '.join(repr(h) for h in hits)}?)" if hits else ""


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``| None`` from a type."""
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _type_at(loc: Path) -> Any:
    """The declared type of the value at ``loc``, following the models."""
    tp: Any = JourneyMap
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, int):
            tp = get_args(tp)[0] if get_origin(tp) is list else None
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            tp = next((f.annotation for n, f in tp.model_fields.items() if (f.alias or n) == part), None)
        else:
            return None
    return _unwrap(tp)


def _allowed_at(loc: Path) -> tuple[str, ...]:
    tp = _type_at(loc)
    return tuple(str(a) for a in get_args(tp)) if get_origin(tp) is Literal else ()


def _keys_at(loc: Path) -> list[str]:
    tp = _type_at(loc)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []
