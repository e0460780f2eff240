"""Where each body of a program runs, and when: the schedule that keeps one shard alive.

durable-rules costs memory per stored fact (about 8 KB, whatever its size) and its
per-state indexes have a fixed size, so a large map is split into groups of touchpoints
("shards"), each run in its own engine state, one after the other, next to one *global*
state. This module decides, from the program alone, what may run where without
changing any result:

* A fact type is **anchored** when each fact belongs to one touchpoint: base types in
  ``facts.ANCHOR_FIELDS``; a derived type whose every derivation body is local and asserts
  the anchor under one field.
* A body is **local** when all its anchored positive conditions are joined on the same
  touchpoint by equality, and every anchored negated condition is tied to that same
  touchpoint: all facts it can match or be blocked by are then in one shard (facts of
  other types it reads are copied into the shard).
* A type is **incomplete** before the shards ran when a local body derives it, or any
  body deriving it reads an incomplete type. A local body that reads an incomplete type
  that is not anchored (e.g. a system that some *other* shard found patient-authenticated)
  would see a partial picture, so it is moved to the global state, and the analysis runs
  again until nothing moves.
* A global body that reads an incomplete type is **deferred**: it runs after every shard,
  in a *late* state of its own (and one that negates an incomplete type is **late**). The
  other global bodies read only types complete before the shards run.

The driver then runs: the global state through all phases, deleted before the first shard;
each shard, alone, through all phases; then the late state, with every fact of the types
deferred bodies read, through all phases. So at most one state is alive at a time (in each
process, when the shards run in workers: see ``run.py``).

:func:`routing` refines this per map, from the fact types the map has at all: a body one
of whose facts cannot exist (its type has no base facts and no live derivation) is dead,
and nothing is asserted for it. A fact that is not anchored goes into a shard statically
(to the shards of the touchpoints it names, or to all) or on *demand*: a positive
condition joined by equality to another condition already in the shard needs only the
facts whose joined field equals that of a fact in the shard, and the driver adds them as
those facts arrive (positive joins do not depend on order). Negated conditions are always
routed statically: their facts must all be there before their phase opens.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..facts import ANCHOR_FIELDS
from ..packs.program import Body, Condition, FieldRef, Program, Test


class _Terms:
    """Union-find over ``(alias, field)`` terms joined by equality."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, t: tuple[str, str]) -> tuple[str, str]:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        self.parent[self.find(a)] = self.find(b)


def _eq_ref(body_cond_tests: tuple, field: str) -> FieldRef | None:
    for t in body_cond_tests:
        if t.field == field and t.op == "eq" and isinstance(t.value, FieldRef):
            return t.value
    return None


def anchor_class(body: Body, anchored: dict[str, str]) -> tuple[bool, _Terms, tuple[str, str] | None]:
    """(is the body local?, its equality terms, its anchor term) under ``anchored``."""
    terms = _Terms()
    anchors: list[tuple[str, str]] = []
    for c in body.conditions:
        if c.negated:
            continue
        for t in c.tests:
            if t.op == "eq" and isinstance(t.value, FieldRef):
                terms.union((c.alias, t.field), (t.value.alias, t.value.field))
        if c.fact in anchored:
            anchors.append((c.alias, anchored[c.fact]))
    if not anchors:
        return False, terms, None
    root = terms.find(anchors[0])
    if any(terms.find(a) != root for a in anchors[1:]):
        return False, terms, None
    for c in body.conditions:
        if c.negated and c.fact in anchored:
            ref = _eq_ref(c.tests, anchored[c.fact])
            if ref is None or terms.find((ref.alias, ref.field)) != root:
                return False, terms, None
    return True, terms, anchors[0]


def _tie(c: Condition, terms: _Terms, root: tuple[str, str]) -> frozenset[str]:
    """The fields of condition ``c`` joined by equality to the body's touchpoint (``root``)."""
    if c.negated:
        return frozenset(t.field for t in c.tests if t.op == "eq" and isinstance(t.value, FieldRef)
                         and terms.find((t.value.alias, t.value.field)) == root)
    return frozenset(f for (a, f) in list(terms.parent) if a == c.alias and terms.find((a, f)) == root)


def _asserted_anchor(body: Body, anchored: dict[str, str]) -> str | None:
    """The asserted field that carries the body's touchpoint, if the body is local."""
    local, terms, anchor = anchor_class(body, anchored)
    if not local or anchor is None:
        return None
    root = terms.find(anchor)
    hits = sorted(k for k, v in body.asserts if isinstance(v, FieldRef) and terms.find((v.alias, v.field)) == root)
    return hits[0] if hits else None


@dataclass(frozen=True)
class Plan:
    anchored: dict[str, str]  # fact type -> field naming its touchpoint
    local: dict[str, bool]  # body name -> runs in the shards (else in the global state)
    late: dict[str, bool]  # body name -> its negations wait until every shard has run
    deferred: dict[str, bool]  # body name -> runs in the late state, after every shard
    incomplete: frozenset[str]  # types not complete before the shards run
    shard_types: frozenset[str]  # types some local body reads
    global_types: frozenset[str]  # types some global body reads
    # per type that local bodies read but that is not anchored: the fields tying its facts
    # to a touchpoint in every such body (a fact goes to the shards of those touchpoints),
    # or None when some body is not tied that way (its facts go to every shard)
    routes: dict[str, frozenset[str] | None]


def plan(program: Program) -> Plan:
    derive_bodies: dict[str, list[Body]] = {}
    for b in program.bodies.values():
        if b.kind == "derive" and b.fact:
            derive_bodies.setdefault(b.fact, []).append(b)
    forced: set[str] = set()
    while True:
        anchored = _anchored(derive_bodies, forced)
        local = {n: n not in forced and anchor_class(b, anchored)[0] for n, b in program.bodies.items()}
        incomplete: set[str] = set()
        grown = True
        while grown:
            grown = False
            for t, bodies in derive_bodies.items():
                if t not in incomplete and any(local[b.name] or b.reads & incomplete for b in bodies):
                    incomplete.add(t)
                    grown = True
        moved = {n for n, b in program.bodies.items()
                 if local[n] and any(t in incomplete and t not in anchored for t in b.reads)}
        if moved <= forced:
            break
        forced |= moved
    late = {n: not local[n] and bool(b.negates & incomplete) for n, b in program.bodies.items()}
    deferred = {n: not local[n] and bool(b.reads & incomplete) for n, b in program.bodies.items()}
    shard_types = frozenset(t for n, b in program.bodies.items() if local[n] for t in b.reads)
    global_types = frozenset(t for n, b in program.bodies.items() if not local[n] for t in b.reads)
    routes: dict[str, frozenset[str] | None] = {}
    for n, b in program.bodies.items():
        if local[n]:
            for fact, tie in _ties(b, anchored).items():
                if fact not in routes or routes[fact] is not None:
                    routes[fact] = None if tie is None else (routes.get(fact) or frozenset()) | tie
    return Plan(anchored, local, late, deferred, frozenset(incomplete), shard_types, global_types, routes)


def _ties(body: Body, anchored: dict[str, str]) -> dict[str, frozenset[str] | None]:
    """For each non-anchored type a local body reads: the fields of the condition that are
    joined by equality to the body's touchpoint (None if a condition has none)."""
    _, terms, anchor = anchor_class(body, anchored)
    assert anchor is not None
    root = terms.find(anchor)
    out: dict[str, frozenset[str] | None] = {}
    for c in body.conditions:
        if c.fact in anchored:
            continue
        tie = _tie(c, terms, root)
        prev = out.get(c.fact, frozenset())
        out[c.fact] = None if not tie or prev is None else prev | tie
    return out


def _anchored(derive_bodies: dict[str, list[Body]], forced: set[str]) -> dict[str, str]:
    """Anchored types: grown from the base ones, re-checked, failures excluded for good.

    Anchoring one type can make a body that joins it on another field non-local, so a
    type accepted early may fail later: it is then excluded and the set grown again (the
    exclusions only grow, so this ends).
    """
    excluded: set[str] = set()

    def field_of(t: str, anchored: dict[str, str]) -> str | None:
        if any(b.name in forced for b in derive_bodies[t]):
            return None
        fields = {_asserted_anchor(b, anchored) for b in derive_bodies[t]}
        return fields.pop() if len(fields) == 1 and None not in fields else None

    while True:
        anchored = dict(ANCHOR_FIELDS)
        grown = True
        while grown:
            grown = False
            for t in derive_bodies:
                if t not in anchored and t not in excluded:
                    f = field_of(t, anchored)
                    if f is not None:
                        anchored[t] = f
                        grown = True
        bad = {t for t in derive_bodies if t in anchored and field_of(t, anchored) != anchored[t]}
        if not bad:
            return anchored
        excluded |= bad


@dataclass(frozen=True)
class Routing:
    """Which states need which facts, for maps whose base facts have given types."""

    live: frozenset[str]  # bodies that can match at all
    shard_types: frozenset[str]  # types live local bodies read
    global_types: frozenset[str]  # types live global bodies read, except deferred ones
    late_types: frozenset[str]  # types live deferred bodies read
    # non-anchored type -> fields naming the touchpoints whose shards get a fact, or None (every shard)
    static: dict[str, frozenset[str] | None]
    # type -> ((field, needed type, needed field, tests), ...): a fact of the type in a shard needs
    # there the facts of the needed type whose needed field has the value of its field and that
    # pass the literal tests (those of the condition that joins them)
    demand: dict[str, tuple[tuple[str, str, str, tuple[Test, ...]], ...]]


def possible_types(program: Program, present: frozenset[str]) -> frozenset[str]:
    """Types that can have facts when the base facts have types ``present``."""
    derived = {b.fact for b in program.bodies.values() if b.kind == "derive" and b.fact}
    possible = {t for t in present if t not in derived} | (present & derived)
    grown = True
    while grown:
        grown = False
        for b in program.bodies.values():
            if b.kind == "derive" and b.fact not in possible and \
                    all(c.fact in possible for c in b.conditions if not c.negated):
                possible.add(b.fact)  # type: ignore[arg-type]
                grown = True
    return frozenset(possible)


def direct_bodies(program: Program) -> frozenset[str]:
    """Bodies of one positive condition without joins: each match is one fact passing literal
    tests, so the driver applies them itself as facts arrive (``packs.program.holds``, the
    meaning the engine agrees with) instead of a round trip through the engine."""
    return frozenset(n for n, b in program.bodies.items() if len(b.conditions) == 1 and not b.conditions[0].negated
                     and not any(isinstance(t.value, FieldRef) for t in _flat_tests(b.conditions[0].tests)))


def _flat_tests(tests: tuple[Test, ...]) -> list[Test]:
    return [x for t in tests for x in (_flat_tests(t.value) if t.op == "any_of" else [t])]


def routing(program: Program, p: Plan, possible: frozenset[str], driver: frozenset[str] = frozenset()) -> Routing:
    """``driver``: bodies the driver applies itself (nothing is asserted for them)."""
    live = frozenset(n for n, b in program.bodies.items() if n not in driver
                     and all(c.fact in possible for c in b.conditions if not c.negated))
    shard_types = frozenset(t for n in live if p.local[n] for t in program.bodies[n].reads)
    global_types = frozenset(t for n in live if not p.local[n] and not p.deferred[n] for t in program.bodies[n].reads)
    late_types = frozenset(t for n in live if p.deferred[n] for t in program.bodies[n].reads)
    static: dict[str, frozenset[str] | None] = {}
    demand: dict[str, set[tuple[str, str, str, tuple[Test, ...]]]] = {}

    def route(fact: str, tie: frozenset[str] | None) -> None:
        if fact not in static or static[fact] is not None:
            static[fact] = None if tie is None else (static.get(fact) or frozenset()) | tie

    for n in sorted(live):
        if not p.local[n]:
            continue
        body = program.bodies[n]
        _, terms, anchor = anchor_class(body, p.anchored)
        assert anchor is not None
        root = terms.find(anchor)
        placed = {c.alias: c.fact for c in body.conditions if not c.negated and c.fact in p.anchored}
        waiting: list[Condition] = []
        for c in body.conditions:
            if c.fact in p.anchored:
                continue
            tie = _tie(c, terms, root)
            if tie or c.negated:
                route(c.fact, tie or None)
                if not c.negated:
                    placed[c.alias] = c.fact
            else:
                waiting.append(c)
        while waiting:  # place each remaining positive condition by a join to one already placed
            for c in waiting:
                edge = _demand_edge(c, terms, placed)
                if edge is not None:
                    literal = tuple(t for t in c.tests if not isinstance(t.value, FieldRef))
                    demand.setdefault(placed[edge[0]], set()).add((edge[1], c.fact, edge[2], literal))
                    placed[c.alias] = c.fact
                    waiting.remove(c)
                    break
            else:
                for c in waiting:
                    route(c.fact, None)  # joined to nothing placed: every shard gets them
                break
    frozen = {t: tuple(sorted((e for e in edges if static.get(e[1], ()) is not None), key=repr))
              for t, edges in demand.items()}
    return Routing(live, shard_types, global_types, late_types, static, {t: e for t, e in frozen.items() if e})


def _demand_edge(c: Condition, terms: _Terms, placed: dict[str, str]) -> tuple[str, str, str] | None:
    """(placed alias, its field, field of ``c``) joined by equality, if any (the first, in a fixed order)."""
    members = sorted(terms.parent)
    for (a, f) in members:
        if a != c.alias:
            continue
        root = terms.find((a, f))
        for (a2, f2) in members:
            if a2 in placed and terms.find((a2, f2)) == root:
                return a2, f2, f
    return None
