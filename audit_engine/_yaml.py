"""A safe, position-tracking YAML (and JSON) reader.

The document is built from libyaml's event stream with an explicit stack, never by
PyYAML's constructors, so that every value keeps its line and column and hostile input
stops with a clean error: no Python tags, no anchors or aliases (no billion laughs), no
duplicate keys, no non-string keys, at most ``MAX_DEPTH`` levels of nesting, at most
``MAX_BYTES`` bytes. Scalars are typed like ``yaml.safe_load`` (YAML 1.1: ``yes`` is a
boolean, ``1.0`` a float) except timestamps, which stay strings.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import yaml
from yaml.error import Mark
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

MAX_BYTES = 50 * 1024 * 1024  # defaults; see limits.py
MAX_DEPTH = 64
MAX_VALUES = 1_500_000

Path = tuple[str | int, ...]
# Positions mirror the data. A scalar's position is the libyaml mark where it starts
# (0-based line and column); a sequence's is (mark, [child positions]); a mapping's is
# (mark, {key: value position}, {key: key position}).
Pos = Any

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_IMPLICIT: dict[str, list[tuple[str, Any]]] = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_T = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _NULL, _BOOL, _INT = (_T + t for t in ("str", "map", "seq", "null", "bool", "int"))
_TYPED_TAGS = {_NULL, _BOOL, _INT, _T + "float"}
_START = Mark("", 0, 0, 0, None, None)
_EMPTY = "the file is empty: a journey map is a YAML mapping"


def _origin() -> Pos:
    return (_START, {}, {})


@dataclass
class Document:
    """Plain data read from one file, with the position of every value in it."""

    file: str
    data: Any
    positions: Pos = field(default_factory=_origin)
    # How scalars that YAML typed as something else than a string were written, by mark.
    raw: dict[Any, str] = field(default_factory=dict)
    # Problems that did not stop reading (duplicate keys, aliases...) and where they are.
    problems: list[Diagnostic] = field(default_factory=list)
    bad_paths: list[Path] = field(default_factory=list)
    flow_mappings: set[Any] = field(default_factory=set)  # start marks of the {...} mappings

    def comma_split(self, path: Sequence[str | int]) -> tuple[str, str] | None:
        """If the key at ``path`` is the tail of an unquoted value cut at a comma in a flow
        mapping (``{name: A (b, c)}`` reads as ``name: A (b`` and a key ``c)``), the key
        whose value was cut and the value as written: ``("name", "A (b, c)")``."""
        if not path:
            return None
        pos = self._walk(path[:-1])[0]
        parent: Any = self.data
        for part in path[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                return None
        if type(pos) is not tuple or len(pos) < 3 or pos[0] not in self.flow_mappings or not isinstance(parent, dict):
            return None
        keys = list(parent)
        if path[-1] not in keys or parent[path[-1]] is not None:
            return None
        start = keys.index(path[-1])
        while start > 0 and parent[keys[start - 1]] is None:
            start -= 1
        end = keys.index(path[-1])
        while end + 1 < len(keys) and parent[keys[end + 1]] is None:
            end += 1
        if start == 0 or not isinstance(parent[keys[start - 1]], str):
            return None
        return keys[start - 1], ", ".join([parent[keys[start - 1]], *keys[start:end + 1]])

    def unknown_key_hint(self, path: Sequence[str | int]) -> str:
        """``: a comma inside an unquoted value ends it: ...`` when :meth:`comma_split` applies, else ''."""
        split = self.comma_split(path)
        if split is None:
            return ""
        key, meant = split
        return f": a comma inside an unquoted value ends it: quote the value, e.g. {key}: {json.dumps(meant)}"

    def _walk(self, path: Sequence[str | int]) -> tuple[Pos, Pos]:
        """Position of the value at ``path`` (or of its nearest ancestor), and of its key."""
        pos, key_pos = self.positions, None
        for part in path:
            if type(pos) is not tuple:
                break
            try:
                child = pos[1][part]
            except (KeyError, IndexError, TypeError):
                break
            key_pos = pos[2].get(part) if len(pos) > 2 else None
            pos = child
        return pos, key_pos

    def _location(self, pos: Pos) -> Location:
        mark = pos[0] if type(pos) is tuple else pos
        return Location(self.file, mark.line + 1, mark.column + 1)

    def position(self, path: Sequence[str | int]) -> Location:
        """Where the value at ``path`` starts, or its nearest ancestor that has a position."""
        return self._location(self._walk(path)[0])

    def key_position(self, path: Sequence[str | int]) -> Location:
        """Where the key of the value at ``path`` is written (else where the value is)."""
        pos, key_pos = self._walk(path)
        return self._location(key_pos or pos)

    def item_positions(self, path: Sequence[str | int]) -> list[Location]:
        """Where each item of the list at ``path`` starts (empty if there is no such list)."""
        pos = self._walk(path)[0]
        if type(pos) is not tuple or type(pos[1]) is not list:
            return []
        return [self._location(item) for item in pos[1]]

    def source_text(self, path: Sequence[str | int]) -> str | None:
        """How a non-string scalar at ``path`` was written, e.g. ``1.10`` or ``yes``."""
        pos = self._walk(path)[0]
        return None if type(pos) is tuple else self.raw.get(pos)

    @property
    def start(self) -> Location:
        return self._location(self.positions)


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


def is_blank(raw: bytes) -> bool:
    """True for a file with nothing but blank lines, comments and document markers."""
    for line in raw.removeprefix(b"\xef\xbb\xbf").splitlines():
        line = line.strip()
        if line and not line.startswith(b"#") and line not in (b"---", b"..."):
            return False
    return True


def read_settings(path: str | os.PathLike[str], error: type[InputError]) -> "Document | None":
    """A settings file (config, policy, waivers): its document, or None when it holds
    nothing (blank or only comments). Every problem raises ``error`` with positions."""
    file = str(path)
    raw = read_bytes(file, error)
    if is_blank(raw):
        return None
    try:
        doc = parse_bytes(raw, file, error)
    except InputError as exc:
        raise error(exc.diagnostics) from None
    if doc.problems:
        raise error(doc.problems)
    return doc


def pydantic_problems(exc: Any, doc: "Document", what: str = "") -> list[Diagnostic]:
    """Plain one-line diagnostics, at their positions, for a pydantic ValidationError."""
    out: list[Diagnostic] = []
    for e in exc.errors():
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and (x == "[key]" or "[" in x)))
        name = path_str(loc) or what
        if e["type"] == "extra_forbidden":
            out.append(Diagnostic(doc.key_position(loc), f"unknown key '{loc[-1]}'{doc.unknown_key_hint(loc)}"))
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")  # our validators' own words
            out.append(Diagnostic(doc.position(loc), f"{name}: {msg}" if name else msg))
    return sorted(set(out))


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is, for the message (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


STDIN, STDIN_NAME = "-", "<stdin>"  # a map read from standard input, and its name in messages


def read_stdin(max_bytes: int = MAX_BYTES) -> bytes:
    """Standard input's bytes (a map piped in as ``-``), refused past ``max_bytes``."""
    import sys

    raw = sys.stdin.buffer.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise MapError(Diagnostic(Location(STDIN_NAME, 1, 1), f"the input is larger than {max_bytes:,} bytes "
                                                                "(limits.max_file_bytes)"))
    return raw


def read_bytes(file: str, error: type[InputError] = MapError, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes; refuses anything but a regular file (a FIFO would block forever,
    a device never end) and files over ``max_bytes``, before reading them."""
    here = Location(file, 1, 1)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket, or a FIFO on some systems
            raise error(Diagnostic(here, "cannot read the file: it is not a regular file")) from None
        raise error(Diagnostic(here, f"cannot read the file: {e.strerror or e}")) from None
    try:
        st = os.fstat(fd)
        what = _not_regular(st.st_mode)
        if what is not None:
            raise error(Diagnostic(here, f"cannot read the file: it is {what}, not a regular file"))
        if st.st_size > max_bytes:
            raise error(Diagnostic(here, f"the file is {st.st_size:,} bytes; the limit is {max_bytes:,} "
                                         "(limits.max_file_bytes)"))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(max_bytes + 1)
    except OSError as e:
        raise error(Diagnostic(here, f"cannot read the file: {e.strerror or e}")) from None
    finally:
        os.close(fd)


def parse_bytes(raw: bytes, file: str, error: type[InputError] = MapError, max_bytes: int = MAX_BYTES,
                max_values: int = MAX_VALUES, max_depth: int = MAX_DEPTH) -> Document:
    """Parse ``raw``; fatal problems raise ``error``, others are kept in ``problems``."""
    if len(raw) > max_bytes:
        raise error(Diagnostic(Location(file, 1, 1), f"the input is larger than {max_bytes:,} bytes "
                                                     "(limits.max_file_bytes)"))
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        msg = f"the file is not UTF-8 text: byte 0x{raw[e.start]:02x} cannot be decoded; save it as UTF-8"
        raise error(Diagnostic(_offset_location(raw, e.start, file), msg)) from None
    if not raw.strip():
        raise error(Diagnostic(Location(file, 1, 1), _EMPTY))
    builder = _Builder(file, error, max_values, max_depth)
    try:
        doc = builder.build(raw)
    except yaml.MarkedYAMLError as e:
        if file.lower().endswith(".json"):
            return _nul_checked(_parse_json(raw.decode("utf-8"), file, error), raw)
        raise error([*builder.problems, _syntax_error(e, raw, file)]) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow
        char = e.character if isinstance(e.character, int) else ord(e.character)
        msg = f"the file contains the character U+{char:04X}, which YAML does not allow"
        raise error([*builder.problems, Diagnostic(_offset_location(raw, e.position, file), msg)]) from None
    return _nul_checked(doc, raw)


_NUL_ESCAPES = (b"\\0", b"\\x00", b"\\u0000", b"\\U00000000")


def _nul_checked(doc: Document, raw: bytes) -> Document:
    """A NUL character (written as an escape) is refused in every string: PostgreSQL cannot
    store it and SQLite can, so the same map would store in one and fail in the other."""
    if not any(e in raw for e in _NUL_ESCAPES):
        return doc
    stack: list[tuple[Path, Any]] = [((), doc.data)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                doc.problems.append(Diagnostic(doc.position(path), f"{path_str(path) or 'the file'}: the text holds "
                                               "the character U+0000 (NUL), which is not allowed; remove it"))
                doc.bad_paths.append(path)
        elif isinstance(v, dict):
            for k, x in v.items():
                if isinstance(k, str) and "\x00" in k:
                    doc.problems.append(Diagnostic(doc.key_position(path + (k,)), "a key holds the character "
                                                   "U+0000 (NUL), which is not allowed; remove it"))
                stack.append((path + (k,), x))
        elif isinstance(v, list):
            stack.extend((path + (i,), x) for i, x in enumerate(v))
    return doc


def _offset_location(raw: bytes, offset: int, file: str) -> Location:
    """Line and column (in characters) of a byte offset."""
    start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[start:offset].decode("utf-8", "replace")) + 1
    return Location(file, raw.count(b"\n", 0, offset) + 1, column)


def _syntax_error(e: yaml.MarkedYAMLError, raw: bytes, file: str) -> Diagnostic:
    mark = e.problem_mark or e.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    lines = raw.decode("utf-8").splitlines()
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
    """Turns libyaml's event stream into plain data and positions."""

    def __init__(self, file: str, error: type[InputError], max_values: int = 0, max_depth: int = 0):
        self.file = file
        self.error = error
        self.max_values = max_values or MAX_VALUES
        self.max_depth = max_depth or MAX_DEPTH
        self.problems: list[Diagnostic] = []
        self.bad_paths: list[Path] = []
        self.raw: dict[Any, str] = {}
        self.flow_mappings: set[Any] = set()
        self.plain_strings: set[str] = set()  # plain scalars known to be strings
        self.plain_tags: dict[str, str] = {}  # the others, with their type's tag
        self.typed: dict[tuple[str, str], Any] = {}
        self.where: Callable[[], Path] = tuple  # path of the value being read, set by _build

    def problem(self, mark: Any, message: str, bad_value: bool = False) -> None:
        """Record a problem; ``bad_value``: the value being read was dropped (read as null)."""
        self.problems.append(Diagnostic(Location(self.file, mark.line + 1, mark.column + 1), message))
        if bad_value:
            self.bad_paths.append(self.where())

    def plain(self, value: str, mark: Any) -> Any:
        """An untagged plain scalar, typed as YAML 1.1 does (timestamps stay strings)."""
        tag = self.plain_tags.get(value)
        if tag is None:
            tag = next((t for t, regexp in _IMPLICIT.get(value[:1], ()) if regexp.match(value)), _STR)
            if tag not in _TYPED_TAGS:
                self.plain_strings.add(value)
                return value
            self.plain_tags[value] = tag
        return self.construct(tag, value, mark)

    def construct(self, tag: str, value: str, mark: Any) -> Any:
        """A null, bool, int or float; remembers how it was written, for messages."""
        key = (tag, value)
        if key in self.typed:
            result = self.typed[key]
        else:
            try:
                if tag == _NULL:
                    result = None
                elif tag == _BOOL:
                    result = _CONSTRUCTOR.bool_values[value.lower()]
                elif tag == _INT:
                    result = _CONSTRUCTOR.construct_yaml_int(yaml.ScalarNode(tag, value))
                else:
                    result = _CONSTRUCTOR.construct_yaml_float(yaml.ScalarNode(tag, value))
            except (KeyError, ValueError, IndexError):  # `!!int abc`, a 5,000-digit number...
                if len(value) > 100 and tag == _INT:
                    message = f"a number with {len(value):,} digits is too large"
                else:
                    message = f"{value[:40]!r} is not a valid {_describe_tag(tag)} value"
                self.problem(mark, message, bad_value=True)
                return None
            self.typed[key] = result
        self.raw[mark] = value
        return result

    def tagged(self, ev: ScalarEvent) -> Any:
        """A scalar with an anchor or an explicit tag."""
        mark = ev.start_mark
        if ev.anchor is not None:
            self.problem(mark, "YAML anchors (&name) are not allowed in these files", bad_value=True)
        tag = ev.tag
        if tag is None:
            return self.plain(ev.value, mark) if ev.implicit[0] else ev.value
        if tag in ("!", _STR, _T + "timestamp"):
            return ev.value
        if tag in _TYPED_TAGS:
            return self.construct(tag, ev.value, mark)
        self.problem(mark, f"the YAML tag {_describe_tag(tag)!r} is not allowed in these files", bad_value=True)
        return None

    def build(self, raw: bytes) -> Document:
        parser = _Loader(raw)
        try:
            return self._build(parser)
        finally:
            parser.dispose()

    def _build(self, parser: Any) -> Document:  # noqa: C901 - one loop, kept flat for speed
        # The open container is held in locals: the container, its child positions, its
        # key positions (None in a sequence), the key waiting for its value and that key's
        # position, and the container's own position. ``stack`` saves the enclosing ones.
        cont: Any = None
        kids: Any = None
        kpos: Any = None
        key: Any = _NO_KEY
        kmark: Any = None
        cpos: Pos = None
        stack: list[tuple[Any, ...]] = []
        root: Any = _NO_KEY
        root_pos: Pos = _START
        documents = 0
        values_left = self.max_values
        max_depth = self.max_depth
        plain_strings, plain = self.plain_strings, self.plain
        get_event = parser.get_event
        # Globals as locals: this loop runs once per YAML event.
        Scalar, MapStart, MapEnd, SeqStart, SeqEnd = (
            ScalarEvent, MappingStartEvent, MappingEndEvent, SequenceStartEvent, SequenceEndEvent)
        NO_KEY, DISCARD, str_, type_ = _NO_KEY, _DISCARD, str, type

        def where() -> Path:
            """Path of the value being read (only computed for problems)."""
            out: list[str | int] = []
            for c, _, kp, k, _, _ in [*stack[1:], (cont, kids, kpos, key, kmark, cpos)]:
                if c is None:  # the top level itself (a tag or alias instead of the document)
                    break
                if kp is None:
                    out.append(len(c))
                elif isinstance(k, str):
                    out.append(k)
                else:
                    break
            return tuple(out)

        self.where = where
        while True:
            ev = get_event()
            cls = type_(ev)
            if cls is Scalar:
                pos = ev.start_mark
                if ev.tag is None and ev.anchor is None:
                    value = ev.value
                    if ev.implicit[0] and value not in plain_strings:
                        value = plain(value, pos)
                else:
                    value = self.tagged(ev)
            elif cls is MapEnd or cls is SeqEnd:
                value, pos = cont, cpos
                cont, kids, kpos, key, kmark, cpos = stack.pop()
            elif cls is MapStart or cls is SeqStart:
                mark = ev.start_mark
                if len(stack) >= max_depth:
                    self.problem(mark, f"the file is nested more than {max_depth} levels deep (limits.max_depth)")
                    raise self.error(self.problems)
                if ev.anchor is not None:
                    self.problem(mark, "YAML anchors (&name) are not allowed in these files", bad_value=True)
                if ev.tag not in (None, "!", _MAP if cls is MapStart else _SEQ):
                    message = f"the YAML tag {_describe_tag(ev.tag)!r} is not allowed in these files"
                    self.problem(mark, message, bad_value=True)
                stack.append((cont, kids, kpos, key, kmark, cpos))
                if cls is MapStart:
                    if ev.flow_style:
                        self.flow_mappings.add(mark)
                    cont, kids, kpos, key = {}, {}, {}, NO_KEY
                    cpos = (mark, kids, kpos)
                else:
                    cont, kids, kpos = [], [], None
                    cpos = (mark, kids)
                continue
            elif cls is AliasEvent:
                pos = ev.start_mark
                message = "YAML aliases (*name) are not allowed in these files: write the value out"
                self.problem(pos, message, bad_value=True)
                value = None
            elif cls is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    self.problem(ev.start_mark, "the file holds more than one YAML document (---)")
                    raise self.error(self.problems)
                continue
            elif cls is StreamEndEvent or ev is None:
                break
            else:  # stream start, document end
                continue

            values_left -= 1
            if values_left < 0:
                mark = pos[0] if type_(pos) is tuple else pos
                self.problem(mark, f"the file holds more than {self.max_values:,} values; the limit is "
                                   f"{self.max_values:,} (limits.max_values); nothing was read past this point")
                raise self.error(self.problems)
            # Attach the finished value (a scalar or a whole container) to its parent.
            if kpos is None:
                if cont is None:
                    root, root_pos = value, pos
                else:
                    cont.append(value)
                    kids.append(pos)
            elif key is NO_KEY:  # the value is a key
                if type_(value) is str_ and value not in kpos:
                    key, kmark = value, pos
                else:
                    self._bad_key(value, pos, kpos)
                    key = DISCARD
            else:
                if key is not DISCARD:
                    cont[key] = value
                    kids[key] = pos
                    kpos[key] = kmark
                key = NO_KEY

        if root is _NO_KEY:
            raise self.error(Diagnostic(Location(self.file, 1, 1), _EMPTY))
        if root is None and () in self.bad_paths:  # the whole document was an alias or a refused tag
            raise self.error(self.problems)
        if not isinstance(root, dict):
            what = "a list" if isinstance(root, list) else f"the value {str(root)[:40]!r}"
            mark = root_pos[0] if type(root_pos) is tuple else root_pos
            msg = f"the top level must be a mapping (key: value pairs), not {what}"
            raise self.error([*self.problems, Diagnostic(Location(self.file, mark.line + 1, mark.column + 1), msg)])
        return Document(self.file, root, root_pos, self.raw, self.problems, self.bad_paths, self.flow_mappings)

    def _bad_key(self, key: Any, pos: Pos, key_positions: dict[str, Any]) -> None:
        mark = pos[0] if type(pos) is tuple else pos
        if isinstance(key, str):
            msg = f"duplicate key {key!r} (first at line {key_positions[key].line + 1}); each key may appear once"
        elif isinstance(key, (list, dict)):
            msg = f"keys must be strings, not {'a list' if isinstance(key, list) else 'a mapping'}"
        elif not self.raw.get(mark):
            msg = "a key is missing before ':'"
        else:
            kind = {bool: "a boolean", int: "a number", float: "a number", type(None): "null"}.get(type(key), "a value")
            msg = f"keys must be strings: YAML reads {self.raw[mark]} as {kind}; quote it"
        self.problem(mark, msg)


def _parse_json(text: str, file: str, error: type[InputError]) -> Document:
    """JSON that libyaml cannot read (e.g. surrogate-pair escapes); positions are line 1."""
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
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise error(Diagnostic(here, "the file contains an unpaired surrogate escape (\\udXXX)")) from None
    return Document(file, data)
