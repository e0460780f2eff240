"""A safe, position-tracking YAML (and JSON) reader.

The document is built from libyaml's event stream by an explicit stack, never by
PyYAML's constructors, so that every value keeps its line and column and hostile input
stops with a clean error: no Python tags, no anchors or aliases (no billion laughs), no
duplicate keys, no non-string keys, at most ``MAX_DEPTH`` levels of nesting, at most
``MAX_BYTES`` bytes. Scalars are typed like ``yaml.safe_load`` (YAML 1.1: ``yes`` is a
boolean, ``1.0`` a float) except timestamps, which stay strings.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from .errors import Diagnostic, InputError, Location, MapError

MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64

Path = tuple[str | int, ...]
# Positions mirror the data: a scalar is (line, column); a sequence is
# (line, column, [child positions]); a mapping is (line, column, {key: value
# position}, {key: key position}).
Pos = tuple[Any, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_T = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _T + "str", _T + "map", _T + "seq"
_SCALAR_TAGS = {_STR, _T + "int", _T + "float", _T + "bool", _T + "null", _T + "timestamp"}
# Characters YAML allows in a stream (YAML 1.1, 5.1), tab and line breaks included.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Document:
    """Plain data read from one file, with the position of every value in it."""

    file: str
    data: Any
    positions: Pos = (1, 1)
    # Source text of scalars YAML typed as something else than a string, by position.
    raw: dict[tuple[int, int], str] = field(default_factory=dict)
    # Problems that did not stop reading (duplicate keys, aliases...) and where they are.
    problems: list[Diagnostic] = field(default_factory=list)
    bad_paths: list[Path] = field(default_factory=list)

    def _walk(self, path: Sequence[str | int]) -> tuple[Pos, Pos | None]:
        """Position of the value at ``path`` (or its nearest ancestor), and of its key."""
        pos, key_pos = self.positions, None
        for part in path:
            children = pos[2] if len(pos) > 2 else None
            try:
                child = children[part]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                return pos, None
            key_pos = pos[3].get(part) if len(pos) > 3 else None
            pos = child
        return pos, key_pos

    def position(self, path: Sequence[str | int]) -> Location:
        """Where the value at ``path`` starts, or its nearest ancestor that has a position."""
        pos = self._walk(path)[0]
        return Location(self.file, pos[0], pos[1])

    def key_position(self, path: Sequence[str | int]) -> Location:
        """Where the key of the value at ``path`` is written (else where the value is)."""
        pos, key_pos = self._walk(path)
        pos = key_pos or pos
        return Location(self.file, pos[0], pos[1])

    def source_text(self, path: Sequence[str | int]) -> str | None:
        """How a non-string scalar at ``path`` was written, e.g. ``1.10`` or ``yes``."""
        pos, _ = self._walk(path)
        return self.raw.get((pos[0], pos[1]))

    @property
    def start(self) -> Location:
        return Location(self.file, self.positions[0], self.positions[1])


def path_str(path: Sequence[str | int]) -> str:
    """``("touchpoints", 3, "stage")`` -> ``touchpoints[3].stage``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_document(path: str | os.PathLike[str], error: type[InputError] = MapError) -> Document:
    """Read and parse one YAML or JSON file; raise ``error`` with every problem found."""
    file = str(path)
    doc = parse_bytes(read_bytes(file, error), file, error)
    if doc.problems:
        raise error(doc.problems)
    return doc


def read_bytes(file: str, error: type[InputError] = MapError) -> bytes:
    """The file's bytes; refuses files over ``MAX_BYTES`` before reading them."""
    here = Location(file, 1, 1)
    try:
        size = os.stat(file).st_size
        if size > MAX_BYTES:
            raise error(Diagnostic(here, f"the file is {size:,} bytes; the limit is {MAX_BYTES:,} (50 MB)"))
        with open(file, "rb") as f:
            return f.read(MAX_BYTES + 1)
    except OSError as e:
        raise error(Diagnostic(here, f"cannot read the file: {e.strerror or e}")) from None


def parse_bytes(raw: bytes, file: str, error: type[InputError] = MapError) -> Document:
    """Parse ``raw``; fatal problems raise ``error``, others are kept in ``problems``."""
    if len(raw) > MAX_BYTES:
        raise error(Diagnostic(Location(file, 1, 1), f"the input is larger than {MAX_BYTES:,} bytes (50 MB)"))
    text = _decode(raw, file, error)
    if not text.strip():
        raise error(Diagnostic(Location(file, 1, 1), "the file is empty: a journey map is a YAML mapping"))
    builder = _Builder(file, error)
    try:
        return builder.build(text)
    except yaml.MarkedYAMLError as e:
        if file.lower().endswith(".json"):
            return _parse_json(text, file, error)
        raise error(builder.problems + [_syntax_error(e, text, file)]) from None
    except yaml.YAMLError as e:  # ReaderError and other unmarked errors
        raise error(Diagnostic(Location(file, 1, 1), f"invalid YAML: {e}")) from None


def _decode(raw: bytes, file: str, error: type[InputError]) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = len(raw[raw.rfind(b"\n", 0, e.start) + 1 : e.start].decode("utf-8", "replace")) + 1
        msg = f"the file is not UTF-8 text: byte 0x{raw[e.start]:02x} cannot be decoded; save it as UTF-8"
        raise error(Diagnostic(Location(file, line, column), msg)) from None
    text = text.removeprefix("\ufeff")
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - text.rfind("\n", 0, bad.start())
        msg = f"the file contains the control character U+{ord(bad.group()):04X}, which YAML does not allow"
        raise error(Diagnostic(Location(file, line, column), msg))
    return text


def _syntax_error(e: yaml.MarkedYAMLError, text: str, file: str) -> Diagnostic:
    mark = e.problem_mark or e.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    lines = text.splitlines()
    if mark and line <= len(lines) and lines[line - 1][column - 1 : column] == "\t":
        return Diagnostic(Location(file, line, column), "invalid YAML: a tab character; YAML indents with spaces only")
    problem = e.problem or "syntax error"
    if e.context:
        problem += f" ({e.context})"
    return Diagnostic(Location(file, line, column), f"invalid YAML: {problem}")


def _describe_tag(tag: str) -> str:
    return "!!" + tag[len(_T) :] if tag.startswith(_T) else tag


class _Discard:
    """Stands for the key of a mapping entry that is dropped (duplicate or not a string)."""


_NO_KEY, _DISCARD = object(), _Discard()


class _Builder:
    """Turns the event stream into plain data and positions, with an explicit stack."""

    def __init__(self, file: str, error: type[InputError]):
        self.file = file
        self.error = error
        self.problems: list[Diagnostic] = []
        self.bad_paths: list[Path] = []
        self.raw: dict[tuple[int, int], str] = {}
        self._scalar_cache: dict[tuple[str | None, str], tuple[Any, bool]] = {}

    def problem(self, pos: Pos, message: str, stack: list[list[Any]] | None = None) -> None:
        self.problems.append(Diagnostic(Location(self.file, pos[0], pos[1]), message))
        if stack is not None:
            self.bad_paths.append(self._path(stack))

    @staticmethod
    def _path(stack: list[list[Any]]) -> Path:
        """Path of the node being read, from the frames above it."""
        out: list[str | int] = []
        for container, _, _, key, _ in stack:
            if isinstance(container, list):
                out.append(len(container))
            elif isinstance(key, str):
                out.append(key)
            else:
                break
        return tuple(out)

    def scalar(self, ev: ScalarEvent, pos: Pos, stack: list[list[Any]]) -> Any:
        tag = ev.tag
        if tag is None or tag == "!":
            if not ev.implicit[0]:
                return ev.value
            tag = None
        elif tag not in _SCALAR_TAGS:
            self.problem(pos, f"the YAML tag {_describe_tag(tag)!r} is not allowed in a journey map", stack)
            return None
        hit = self._scalar_cache.get((tag, ev.value))
        if hit is None:
            hit = self._construct(tag, ev.value)
            if hit is None:
                self.problem(pos, f"{ev.value!r} is not a valid {_describe_tag(tag or '')} value", stack)
                return None
            self._scalar_cache[(tag, ev.value)] = hit
        value, typed = hit
        if typed:
            self.raw[(pos[0], pos[1])] = ev.value
        return value

    @staticmethod
    def _construct(tag: str | None, value: str) -> tuple[Any, bool] | None:
        """(value, typed) for a scalar, typed meaning YAML made it something else than a string."""
        if tag is None:
            tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
        try:
            if tag in (_STR, _T + "timestamp"):
                return value, False
            if tag == _T + "null":
                return None, True
            if tag == _T + "bool":
                return _CONSTRUCTOR.bool_values[value.lower()], True
            node = yaml.ScalarNode(tag, value)
            if tag == _T + "int":
                return _CONSTRUCTOR.construct_yaml_int(node), True
            return _CONSTRUCTOR.construct_yaml_float(node), True
        except (KeyError, ValueError, IndexError):  # e.g. `!!int abc`, or a 5,000-digit number
            return None

    def build(self, text: str) -> Document:
        parser = _Loader(text)
        try:
            return self._build(parser)
        finally:
            parser.dispose()

    def _build(self, parser: Any) -> Document:
        # A frame: [container, positions, key positions | None, pending key, its position]
        stack: list[list[Any]] = []
        root: Any = _NO_KEY
        root_pos: Pos = (1, 1)
        documents = 0
        get_event = parser.get_event
        while True:
            ev = get_event()
            cls = type(ev)
            if cls is ScalarEvent or cls is AliasEvent:
                mark = ev.start_mark
                pos: Pos = (mark.line + 1, mark.column + 1)
                if cls is AliasEvent:
                    self.problem(pos, "YAML aliases (*name) are not allowed in a journey map: write the value out", stack)
                    value: Any = None
                else:
                    if ev.anchor is not None:
                        self.problem(pos, "YAML anchors (&name) are not allowed in a journey map", stack)
                    value = self.scalar(ev, pos, stack)
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                mark = ev.start_mark
                pos = (mark.line + 1, mark.column + 1)
                if len(stack) >= MAX_DEPTH:
                    self.problem(pos, f"the map is nested more than {MAX_DEPTH} levels deep")
                    raise self.error(self.problems)
                if ev.anchor is not None:
                    self.problem(pos, "YAML anchors (&name) are not allowed in a journey map", stack)
                if ev.tag not in (None, "!", _MAP if cls is MappingStartEvent else _SEQ):
                    self.problem(pos, f"the YAML tag {_describe_tag(ev.tag)!r} is not allowed in a journey map", stack)
                if cls is MappingStartEvent:
                    stack.append([{}, (pos[0], pos[1], {}, {}), None, _NO_KEY, None])
                else:
                    stack.append([[], (pos[0], pos[1], []), None, _NO_KEY, None])
                continue
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                frame = stack.pop()
                value, pos = frame[0], frame[1]
            elif cls is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    mark = ev.start_mark
                    self.problem((mark.line + 1, mark.column + 1), "the file holds more than one YAML document (---)")
                    raise self.error(self.problems)
                continue
            elif cls is StreamEndEvent or ev is None:
                break
            else:  # stream start, document end
                continue

            # Attach the finished value (scalar or container) to its parent.
            if not stack:
                root, root_pos = value, pos
                continue
            frame = stack[-1]
            container = frame[0]
            if type(container) is list:
                container.append(value)
                frame[1][2].append(pos)
            elif frame[3] is _NO_KEY:  # this value is a key
                if type(value) is not str:
                    self._bad_key(value, pos)
                    frame[3] = _DISCARD
                elif value in container:
                    first = frame[1][3][value]
                    self.problem(pos, f"duplicate key {value!r} (first at line {first[0]}); each key may appear once")
                    frame[3] = _DISCARD
                else:
                    frame[3], frame[4] = value, pos
            else:
                key = frame[3]
                if key is not _DISCARD:
                    container[key] = value
                    frame[1][2][key] = pos
                    frame[1][3][key] = frame[4]
                frame[3] = _NO_KEY

        if root is _NO_KEY:
            raise self.error(Diagnostic(Location(self.file, 1, 1), "the file is empty: a journey map is a YAML mapping"))
        if not isinstance(root, dict):
            what = "a list" if isinstance(root, list) else f"the value {root!r}"
            msg = f"the top level must be a mapping (key: value pairs), not {what}"
            raise self.error(self.problems + [Diagnostic(Location(self.file, root_pos[0], root_pos[1]), msg)])
        return Document(self.file, root, root_pos, self.raw, self.problems, self.bad_paths)

    def _bad_key(self, key: Any, pos: Pos) -> None:
        if isinstance(key, (list, dict)):
            msg = f"keys must be strings, not {'a list' if isinstance(key, list) else 'a mapping'}"
        elif not self.raw.get((pos[0], pos[1])):
            msg = "a key is missing before ':'"
        else:
            kind = {bool: "a boolean", int: "a number", float: "a number", type(None): "null"}.get(type(key), "a value")
            msg = f"keys must be strings: YAML reads {self.raw[(pos[0], pos[1])]} as {kind}; quote it"
        self.problem(pos, msg)


def _parse_json(text: str, file: str, error: type[InputError]) -> Document:
    """JSON that libyaml cannot read (e.g. surrogate-pair escapes): positions are line 1."""
    here = Location(file, 1, 1)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                raise error(Diagnostic(here, f"duplicate key {k!r}; each key may appear once"))
            out[k] = v
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise error(Diagnostic(Location(file, e.lineno, e.colno), f"invalid JSON: {e.msg}")) from None
    except RecursionError:
        raise error(Diagnostic(here, f"the map is nested more than {MAX_DEPTH} levels deep")) from None
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise error(Diagnostic(here, f"the map is nested more than {MAX_DEPTH} levels deep"))
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    if not isinstance(data, dict):
        raise error(Diagnostic(here, "the top level must be a mapping (key: value pairs)"))
    return Document(file, data)
