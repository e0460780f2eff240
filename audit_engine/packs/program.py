"""The rule program: what the packs mean, independent of any rule engine.

``packs.compile`` turns pack files into a :class:`Program`: typed conditions over
facts, equality and comparison joins written as :class:`FieldRef` operands, negations,
strata, derivations and their asserted fields, parameters already substituted, and the
rule metadata findings need. ``engine/`` alone translates a program for durable-rules
and runs it; nothing here knows that engine exists.

The meaning of a test (``docs/packs.md``, "Field tests" and "Absent fields") is :func:`holds`; the engine
must agree with it, which the differential tests check against an independent reference
interpreter.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..facts import FactType

if TYPE_CHECKING:  # pragma: no cover
    from .schema import Derivation, Pack, Rule

OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "present", "has", "has_any", "any_of")


@dataclass(frozen=True)
class FieldRef:
    """The value of ``field`` of the fact bound to ``alias`` by an earlier positive condition."""

    alias: str
    field: str

    def __str__(self) -> str:
        return f"{self.alias}.{self.field}"


@dataclass(frozen=True)
class Test:
    """One test on one field of a fact.

    ``value`` is a literal (parameters are already substituted), a :class:`FieldRef`, a
    tuple of literals (``in``, ``not_in``, ``has_any``), a bool (``present``) or a tuple
    of tests on the same field (``any_of``). ``kind`` is the field's kind.
    """

    field: str
    op: str
    value: Any
    kind: str

    @property
    def is_join(self) -> bool:
        return isinstance(self.value, FieldRef)


@dataclass(frozen=True)
class Condition:
    """A fact of type ``fact`` passing every test; negated: no such fact exists."""

    fact: str
    alias: str
    negated: bool
    tests: tuple[Test, ...]


@dataclass(frozen=True)
class Body:
    """One alternative (``when`` or one of ``when_any``) of a derivation or a rule."""

    name: str  # unique in the program
    kind: str  # "derive" or "check"
    owner: str  # derivation key ("pack/id") or rule id
    pack: str
    path: tuple[str | int, ...]  # where the body is written in its pack file
    alternative: int
    conditions: tuple[Condition, ...]
    stratum: int
    fact: str | None = None  # the derived type (derive bodies)
    asserts: tuple[tuple[str, Any], ...] = ()  # (field, FieldRef or literal) (derive bodies)

    @property
    def aliases(self) -> tuple[str, ...]:
        """The aliases of the positive conditions, in order."""
        return tuple(c.alias for c in self.conditions if not c.negated)

    @property
    def alias_types(self) -> dict[str, str]:
        return {c.alias: c.fact for c in self.conditions if not c.negated}

    @property
    def negates(self) -> frozenset[str]:
        return frozenset(c.fact for c in self.conditions if c.negated)

    @property
    def reads(self) -> frozenset[str]:
        return frozenset(c.fact for c in self.conditions)

    @property
    def gated(self) -> bool:
        """Has a negation, so it may only run once the negated types are complete."""
        return any(c.negated for c in self.conditions)


@dataclass(frozen=True)
class Grade:
    """``severity`` when every (alias, test) holds on the matched facts."""

    severity: str
    tests: tuple[tuple[str, Test], ...]


@dataclass(frozen=True)
class Problem:
    """A semantic problem in a pack, at a path inside the pack file."""

    pack: str
    path: tuple[str | int, ...]
    message: str


class CompileProblems(Exception):
    """Every problem found while compiling (or translating) a set of packs."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


@dataclass
class Program:
    """Everything needed to run a set of packs with given parameters, engine-neutral."""

    packs: tuple["Pack", ...]
    params: dict[str, int]
    fact_types: dict[str, FactType]
    strata: dict[str, int]
    bodies: dict[str, Body]
    rules: dict[str, tuple["Pack", "Rule"]]
    derivations: dict[str, tuple["Pack", "Derivation"]]
    grades: dict[str, tuple[Grade, ...]] = field(default_factory=dict)
    fact_docs: dict[str, Any] = field(default_factory=dict)  # derived type -> FactDoc (doc, missing)
    digest: str = ""
    rule_digests: dict[str, str] = field(default_factory=dict)
    core_extensions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # user pack -> built-in types it derives

    @property
    def max_stratum(self) -> int:
        return max((b.stratum for b in self.bodies.values() if b.gated), default=0)

    def bodies_of(self, owner: str) -> list[Body]:
        return [b for b in self.bodies.values() if b.owner == owner]

    def read_types(self) -> frozenset[str]:
        """Every fact type some body reads: only these need to exist for the program."""
        return frozenset(t for b in self.bodies.values() for t in b.reads)

    def read_fields(self, bodies: Iterable[str] | None = None) -> dict[str, frozenset[str]]:
        """Per fact type, the fields some test reads (as tested or as a join operand), in
        all bodies or in those named."""
        out: dict[str, set[str]] = {}
        for b in (self.bodies.values() if bodies is None else (self.bodies[n] for n in bodies)):
            types = b.alias_types
            for c in b.conditions:
                fields = out.setdefault(c.fact, set())
                for t in _flat(c.tests):
                    fields.add(t.field)
                    if isinstance(t.value, FieldRef):
                        out.setdefault(types[t.value.alias], set()).add(t.value.field)
        return {t: frozenset(f) for t, f in out.items()}


def _flat(tests: tuple[Test, ...]) -> Iterator[Test]:
    for t in tests:
        if t.op == "any_of":
            yield from _flat(t.value)
        else:
            yield t


# --- meaning ---------------------------------------------------------------------------


def _absent(v: Any) -> bool:
    return v is None or (isinstance(v, (list, tuple)) and len(v) == 0)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def holds(test: Test, actual: Any, resolve: Callable[[FieldRef], Any] | None = None) -> bool:
    """Does a field whose value is ``actual`` (None or empty when absent) pass ``test``?

    ``resolve`` gives the value of a :class:`FieldRef` (the field of an earlier fact).
    """
    op, v = test.op, test.value
    if _absent(actual):
        actual = None
    if op == "any_of":
        return any(holds(t, actual, resolve) for t in v)
    if op == "present":
        return (actual is not None) == v
    if op == "not_in":
        return actual is None or not any(_same(actual, x) for x in v)
    want = resolve(v) if isinstance(v, FieldRef) and resolve else v
    if isinstance(v, FieldRef) and _absent(want):
        return False  # a join on an absent operand never holds (not even `ne`)
    if op == "ne":
        if isinstance(v, FieldRef):
            return actual is not None and not _same(actual, want)
        return actual is None or not _same(actual, want)
    if actual is None:
        return False
    if op == "in":
        return any(_same(actual, x) for x in v)
    if op == "has":
        return any(_same(x, v) for x in actual)
    if op == "has_any":
        return any(_same(x, y) for x in actual for y in v)
    if op == "eq":
        return _same(actual, want)
    if isinstance(actual, bool) or isinstance(want, bool) or not isinstance(actual, (int, float)):
        return False
    return {"lt": actual < want, "le": actual <= want, "gt": actual > want, "ge": actual >= want}[op]


# --- identity ----------------------------------------------------------------------------


def _jsonable(v: Any) -> Any:
    if isinstance(v, FieldRef):
        return {"ref": str(v)}
    if isinstance(v, Test):
        return [v.field, v.op, _jsonable(v.value)]
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    return v


def body_signature(b: Body) -> Any:
    return {"kind": b.kind, "fact": b.fact, "asserts": _jsonable(b.asserts),
            "conditions": [[c.fact, c.alias, c.negated, _jsonable(c.tests)] for c in b.conditions]}


def digest_of(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
