"""Step 4 of the pipeline: run a rule program over a map's facts to a fixpoint.

:class:`Engine` is a program prepared for durable-rules (its schedule, ``_plan``; its
ruleset, ``_translate``). :meth:`Engine.evaluate` asserts the base facts, then
repeatedly asserts the facts derived by the last batch's derivation activations (each
distinct fact once) until nothing new is derived; then it opens each negation stratum in
turn with its phase fact and runs to a fixpoint again. Activations are collected, not
acted on inside the engine, so the result is complete when ``evaluate`` returns and does
not depend on the order the engine happened to fire in.

A large map runs in a global state, then a series of touchpoint shards, then a late
state, one state alive at a time in each process (see ``_plan`` for why that is exact); a
small map runs in one state. With ``workers`` > 1 the shards are cut into runs, all but
the first run by forked workers (``_fork``), whose additions are merged shard by shard in
order (``_Run._merge``): the evaluation is the one of a single process, fact order
included. Only the facts that a live body of a state reads are asserted there, and a
shard gets other facts than its touchpoints' only where a join needs them
(``_plan.routing``). Bodies of one join-free condition never reach the engine: the driver
applies them as facts arrive (``_plan.direct_bodies``).

Talking to durable-rules costs per call and per byte, so facts are written once each by a
generated writer per type, rules hand over their activations in batches (``cap``), and
an activation is read for its rule name and bound ids only (``_BOUND``).
"""

from __future__ import annotations

import json
import marshal
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_str
from types import CodeType
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from ..errors import CapacityError, EngineError
from ..facts import ANCHOR, Fact
from ..limits import DEFAULT, Limits
from ..packs.program import FieldRef, Program, Test, holds
from . import _durable, _fork
from ._fnv import FactIds
from ._plan import Plan, Routing, direct_bodies, plan, possible_types, routing
from ._translate import KEY_FIELD, PHASE_TYPE, ROLE_TYPE, ROLES, TYPE_FIELD, Translation, role_flag, translate

ASSERT_CHUNK = 5000  # facts per call into the engine, so the activation limit bites early
SHARD_TOUCHPOINTS = 500  # touchpoints per shard state (500 to 2,000 measure alike at 15k; smaller: less memory, which counts twice when shards run in two processes)
# a bound fact in an activation: its alias and id. Facts are echoed as asserted, each
# ``{"sid":...,<role flags>,"id":...`` first; a string value cannot contain this (its quotes
# are escaped).
_BOUND = re.compile(r'"(x[0-9a-z]+)":\{"sid":"[^"]*",(?:"R[a-z]+":1,)*"id":"([^"]*)"')
_json_any = json.JSONEncoder(separators=(",", ":")).encode


class Match(NamedTuple):
    """One activation: a body and the facts bound to its positive aliases."""

    body: str
    aliases: tuple[str, ...]  # the body's positive aliases, in order
    facts: tuple[int, ...]  # the fact bound to each

    def fact_of(self, alias: str) -> int:
        return self.facts[self.aliases.index(alias)]


@dataclass
class Evaluation:
    """All facts (base then derived), how each derived fact was derived, and every
    check activation."""

    facts: list[Fact]
    justifications: dict[int, list[Match]] = field(default_factory=dict)  # derived fact -> its derivations
    matches: list[Match] = field(default_factory=list)  # check activations
    rounds: int = 0
    states: int = 0  # engine states used (global, shards, late)
    asserted: int = 0  # facts asserted into engine states, copies included

    def derived(self) -> Iterable[int]:
        return self.justifications.keys()


class Engine:
    """A program prepared for durable-rules: schedule, ruleset, and the ruleset's handle."""

    def __init__(self, program: Program):
        self.program = program
        self.plan: Plan = plan(program)
        self.direct = direct_bodies(program)  # applied by the driver, not translated
        self.translation: Translation = translate(program, self.plan, self.direct)
        self.name = "audit_" + program.digest[:24]
        self._routings: dict[frozenset[str], Routing] = {}
        self.encoders: dict[str, Callable[[dict[str, Any], str], str]] = {}  # per fact type, see encoder()
        self._collectors: tuple | None = None
        self._reserved: FactIds | None = None  # fact ids with the engine's own names reserved
        self.code: dict[str, CodeType] = {}  # the generated functions' source -> compiled code

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (``_rulecache.py``) without its functions, which are made again on use, but
        with their compiled code (``marshal``): compiling them is 10 ms of a small audit."""
        return {**self.__dict__, "encoders": {}, "_routings": {}, "_collectors": None,
                "code": {source: marshal.dumps(code) for source, code in self.code.items()}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, code={source: marshal.loads(code) for source, code in state["code"].items()})

    def prepare(self) -> None:
        """Make now what evaluating makes on first use: the durable-rules rule set, the
        readers of activations, a fact writer per type (see ``batch`` and ``_rulecache``)."""
        self.handle()
        self.collectors()
        self.fact_ids()
        for fact_type in self.translation.fields:
            self.encoder(fact_type)

    @property
    def ruleset(self) -> dict[str, Any]:
        return self.translation.ruleset

    def handle(self) -> int:
        return _durable.ruleset_handle(self.name, self.translation.ruleset)

    def routing(self, present: frozenset[str]) -> Routing:
        """What each state needs for maps whose base facts have the types ``present``."""
        possible = possible_types(self.program, present)
        r = self._routings.get(possible)
        if r is None:
            r = self._routings[possible] = routing(self.program, self.plan, possible, self.direct)
        return r

    def encoder(self, fact_type: str) -> Callable[[dict[str, Any], str], str]:
        """``encode(values, engine_id)``: the engine JSON of a fact of ``fact_type`` with the
        fields the ruleset reads, without its opening brace (see ``_durable.fragment``)."""
        enc = self.encoders.get(fact_type)
        if enc is None:
            wanted = self.translation.fields.get(fact_type, frozenset())
            fields = tuple(("id" if f == KEY_FIELD else f, "," + json.dumps(f) + ":") for f in sorted(wanted))
            enc = self.encoders[fact_type] = _compile_encoder(fact_type, fields, self.code)
        return enc

    def fact_ids(self) -> FactIds:
        """A fresh id sequence that never gives the hash of a role, phase or sentinel fact."""
        if self._reserved is None:
            ids = FactIds()
            for reserved in (*(f"R{r}" for r in ROLES), _durable.OPEN_FACT_ID,
                             *(f"P{k}" for k in range(1, self.program.max_stratum + 1))):
                ids.reserve(reserved)
            self._reserved = ids
        return self._reserved.copy()

    def collectors(self) -> tuple[dict[str, "_Body"], dict[str, list[tuple["_Body", Callable[[dict], bool]]]]]:
        """What reading activations needs, per body of the engine; and the driver's bodies
        (see ``_plan.direct_bodies``) per fact type they read. Made once per engine."""
        made = self._collectors
        if made is None:
            bodies: dict[str, _Body] = {}
            direct: dict[str, list[tuple[_Body, Callable[[dict[str, Any]], bool]]]] = {}
            for name, b in self.program.bodies.items():
                spec = tuple((k, b.aliases.index(v.alias), v.field, None) if isinstance(v, FieldRef)
                             else (k, None, None, v) for k, v in b.asserts)
                if name in self.direct:
                    direct.setdefault(b.conditions[0].fact, []).append(
                        (_Body(name, b.aliases, (), b.kind == "check", b.fact, spec, 1,
                               _compile_make(spec, self.code) if b.fact else None), _passes(b.conditions[0].tests)))
                    continue
                frame = sum(1 for c in self.translation.ruleset[name]["all"] if not next(iter(c)).endswith("$not"))
                bodies[name] = _Body(name, b.aliases, tuple(self.translation.aliases[name][a] for a in b.aliases),
                                     b.kind == "check", b.fact, spec, frame, _compile_make(spec, self.code) if b.fact else None)
            made = self._collectors = (bodies, direct)
        return made

    def evaluate(self, facts: Iterable[Fact], shard_touchpoints: int = SHARD_TOUCHPOINTS,
                 limits: Limits = DEFAULT, workers: int = 1) -> Evaluation:
        """Evaluate the program over ``facts``; a sharded map may run its shards in up to
        ``workers`` processes (this one and forked children), with the same result."""
        if shard_touchpoints < 1:
            raise ValueError("shard_touchpoints must be at least 1")
        return _Run(self, shard_touchpoints, limits, workers).run(facts)


def evaluate(program: Program, facts: Iterable[Fact], shard_touchpoints: int = SHARD_TOUCHPOINTS,
             limits: Limits = DEFAULT, workers: int = 1) -> Evaluation:
    """Evaluate ``program`` (prepared anew) over ``facts``."""
    return Engine(program).evaluate(facts, shard_touchpoints, limits, workers)


# This process's share of the shards against a worker's. A worker is about 5% slower per
# shard (it copies the pages it writes, and sends its parts), and this process merges the
# parts as they arrive once its own shards are done, which evens it out: at 15,000
# touchpoints on two cores, equal shares (15 and 15 shards) finish the phase first (the
# engine and findings phases 6.3 and 7.3 s medians against 6.9 and 7.5 s with 1.15, 16 and
# 14 shards, and 7.4 s with 0.9; six runs of the command each, alternating).
PARENT_SHARE = 1.0


def _groups(shards: list[list[int]], workers: int) -> list[list[list[int]]]:
    """``shards`` cut into ``workers`` runs of consecutive shards, the first (this
    process's) larger by ``PARENT_SHARE``."""
    total = PARENT_SHARE + workers - 1
    cuts = [0] + [round(len(shards) * (PARENT_SHARE + k) / total) for k in range(workers - 1)] + [len(shards)]
    return [shards[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


def _define(lines: list[str], namespace: dict[str, Any], code: dict[str, CodeType]) -> None:
    """Run the generated definition ``lines`` in ``namespace``, compiled once per engine (``code``)."""
    source = "\n".join(lines)
    compiled = code.get(source)
    if compiled is None:
        compiled = code[source] = compile(source, "<audit-engine generated>", "exec")
    exec(compiled, namespace)  # generated from field names, each written with repr()


def _compile_encoder(fact_type: str, fields: tuple[tuple[str, str], ...],
                     code: dict[str, CodeType]) -> Callable[[dict[str, Any], str], str]:
    """A function writing the JSON of one fact type: one statement per field, no loop
    (half the time of a loop over the fields, for every fact of a large map)."""
    head = '","' + TYPE_FIELD + '":' + _json_str(fact_type)
    lines = ["def encode(values, eid):", "    get = values.get", f"    out = '\"id\":\"' + eid + {head!r}"]
    for f, prefix in fields:
        lines += [f"    v = get({f!r})", "    if v is not None:",
                  f"        out += {prefix!r} + (json_str(v) if type(v) is str else value_json(v))"]
    lines.append("    return out + '}'")
    namespace: dict[str, Any] = {"json_str": _json_str, "value_json": _value_json}
    _define(lines, namespace, code)
    return namespace["encode"]


def _compile_make(spec: tuple[tuple[str, int | None, str | None, Any], ...],
                  code: dict[str, CodeType]) -> Callable[[tuple, list], tuple]:
    """``make(bound, facts)``: the (field, value) pairs of the fact a derivation asserts from
    the facts bound to its aliases (absent values left out), one statement per field."""
    lines = ["def make(bound, facts):", "    out = []"]
    literals: dict[str, Any] = {}
    for n, (k, pos, src, literal) in enumerate(spec):
        if pos is None:
            if literal is not None:
                literals[f"lit{n}"] = literal
                lines.append(f"    out.append(({k!r}, lit{n}))")
            continue
        lines += [f"    v = facts[bound[{pos}]].values.get({src!r})", "    if v is not None:",
                  f"        out.append(({k!r}, v))"]
    lines.append("    return tuple(out)")
    namespace: dict[str, Any] = dict(literals)
    _define(lines, namespace, code)
    return namespace["make"]


def _passes(tests: tuple[Test, ...]) -> Callable[[dict[str, Any]], bool]:
    """``passes(values)``: does a fact with these values pass every test (``holds``)?"""
    checks = tuple((t.field, _predicate(t)) for t in tests)
    if len(checks) == 1:
        (f, pred), = checks
        return lambda values: pred(values.get(f))
    return lambda values: all(pred(values.get(f)) for f, pred in checks)


def _predicate(t: Test) -> Callable[[Any], bool]:
    """``holds(t, value)`` for a literal test, written out for the common cases (the same
    meaning: absent is None or empty, ``true`` is not 1, a list never equals a scalar)."""
    op, v = t.op, t.value
    if op == "eq" and type(v) is str:
        return lambda a: a == v
    if op == "eq" and type(v) is bool:
        return lambda a: a is v
    if op == "in" and all(type(x) is str for x in v):
        allowed = frozenset(v)
        return lambda a: isinstance(a, str) and a in allowed
    if op == "present":
        return lambda a: (a is not None and a != () and a != []) == v
    return lambda a: holds(t, a)


def _value_json(v: Any) -> str:
    t = type(v)
    if t is str:
        return _json_str(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return int.__repr__(v)
    return _json_any(v)


class _State:
    """One engine state and the facts already asserted into it."""

    def __init__(self, session: _durable.Session, wanted: frozenset[str]):
        self.session = session
        self.wanted = wanted  # fact types this state needs
        self.asserted: set[int] = set()
        self.demand: dict[str, list[tuple[str, dict[Any, list[int]]]]] = {}  # see _Run._demanded


class _Body(NamedTuple):
    """What collecting one body's activations needs."""

    name: str
    aliases: tuple[str, ...]  # user aliases of the positive conditions
    engine_aliases: tuple[str, ...]  # the same, as named in the engine
    check: bool
    fact: str | None  # the derived type
    spec: tuple[tuple[str, int | None, str | None, Any], ...]  # (field, alias position, source field, literal)
    frame: int  # facts in each of its activations (its positive conditions and gates)
    make: Callable[[tuple[int, ...], list[Fact]], tuple] | None = None  # the derived fact's (field, value)s


class _Run:
    def __init__(self, engine: Engine, shard_touchpoints: int, limits: Limits = DEFAULT, workers: int = 1):
        self.e = engine
        self.workers = workers
        self.log: list[tuple[int, Match]] | None = None  # derivations in order, in a forked child (_forked)
        self.limits = limits
        self.activations = 0
        self.derived = 0
        self.p = engine.program
        self.plan = engine.plan
        self.shard_size = shard_touchpoints
        self.max_stratum = self.p.max_stratum
        self.ids = engine.fact_ids()
        self.index: dict[str, int] = {}  # engine id -> fact index
        self.fragments: list[str | None] = []  # fact index -> its engine JSON (see _durable.fragment)
        self.seen: dict[tuple, int] = {}  # fact key -> fact index
        self.ev = Evaluation([])
        self.bodies, self.direct = engine.collectors()
        self.aliases = {name: b.aliases for name, b in self.p.bodies.items()}  # body -> its positive aliases
        self.orders: dict[str, tuple[list[str], tuple[int, ...]]] = {}  # body -> its frames' alias order (_collect)
        self.routing: Routing | None = None

    # -- facts -----------------------------------------------------------------
    def _count(self, activations: int) -> None:
        self.activations += activations
        if self.activations > self.limits.max_activations:
            raise CapacityError(f"the rules activated more than {self.limits.max_activations:,} times on this map "
                                "(limits.max_activations): a rule joins too many facts with each other (a pack "
                                "with an unjoined or weakly joined condition?); no findings were produced")

    def _count_derived(self) -> None:
        self.derived += 1
        if self.derived > self.limits.max_derived_facts:
            raise CapacityError(f"the rules derived more than {self.limits.max_derived_facts:,} facts from this map "
                                "(limits.max_derived_facts); no findings were produced")

    def _add_new(self, key: tuple, fact: Fact) -> int:
        idx = len(self.ev.facts)
        self.ev.facts.append(fact)
        self.fragments.append(None)
        self.seen[key] = idx
        return idx

    def _fragments(self, batch: list[int]) -> list[str]:
        """The engine JSON of each fact (see ``_durable.fragment``), made once per fact."""
        frags, facts, index = self.fragments, self.ev.facts, self.index
        missing = [i for i in batch if frags[i] is None]
        if missing:
            encoder, encoders = self.e.encoder, self.e.encoders
            for i, eid in zip(missing, self.ids.take(len(missing))):
                fact = facts[i]
                frags[i] = (encoders.get(fact.type) or encoder(fact.type))(fact.values, eid)
                index[eid] = i
        return [frags[i] for i in batch]  # type: ignore[misc]

    # -- driver ----------------------------------------------------------------
    def run(self, facts: Iterable[Fact]) -> Evaluation:
        base: list[int] = []
        seen = self.seen
        for f in facts:
            key = f.key()
            if key not in seen:
                base.append(self._add_new(key, f))
        self._direct(base)
        self.routing = self.e.routing(frozenset(f.type for f in self.ev.facts))
        tps = sorted({f.values["id"] for f in self.ev.facts if f.type == ANCHOR})
        n_shards = -(-len(tps) // self.shard_size)
        if n_shards <= 1:
            self._single(base)
        else:
            self._sharded(base, tps, n_shards)
        return self.ev

    @contextmanager
    def _open(self, role: tuple[str, ...], wanted: frozenset[str]) -> Iterator[_State]:
        with _durable.session(self.e.handle(), tuple(role_flag(r) for r in role)) as s:
            s.assert_fragments([_durable.fragment({"id": f"R{r}", TYPE_FIELD: ROLE_TYPE, "r": r}) for r in role])
            self.ev.states += 1
            yield _State(s, wanted)

    def _single(self, base: list[int]) -> None:
        assert self.routing is not None
        r = self.routing
        with self._open(ROLES, r.shard_types | r.global_types | r.late_types) as state:
            self._fixpoint(state, base)
            self._phases(state)

    def _sharded(self, base: list[int], tps: list[str], n_shards: int) -> None:
        r = self.routing
        assert r is not None
        anchored = self.plan.anchored
        shard_of = {tp: i * n_shards // len(tps) for i, tp in enumerate(tps)}
        shard_base: list[list[int]] = [[] for _ in range(n_shards)]
        facts = self.ev.facts
        for idx in base:
            fact = facts[idx]
            field_name = anchored.get(fact.type)
            if field_name is not None and fact.type in r.shard_types:
                shard = shard_of.get(fact.values.get(field_name))
                if shard is not None:
                    shard_base[shard].append(idx)
        with self._open(("global",), r.global_types) as g:
            self._fixpoint(g, base)
            self._phases(g)
        # the facts shards need and do not derive are all known now (see _plan)
        broadcast: list[int] = []  # facts every shard gets
        demanded: dict[str, dict[tuple, dict[Any, list[int]]]] = {}  # type -> (field, tests) -> value -> facts
        for edges in r.demand.values():
            for _, t, f, tests in edges:
                demanded.setdefault(t, {})[(f, tests)] = {}
        for i, f in enumerate(facts):
            if f.type in anchored or f.type not in r.shard_types:
                continue
            if f.type in r.static:
                ties = r.static[f.type]
                if ties is None:
                    broadcast.append(i)
                    continue
                for shard in {shard_of.get(f.values.get(t)) for t in ties} - {None}:
                    shard_base[shard].append(i)  # type: ignore[index]
            for (fld, tests), by_value in demanded.get(f.type, {}).items():
                v = f.values.get(fld)
                if v is not None and all(holds(t, f.values.get(t.field)) for t in tests):
                    by_value.setdefault(v, []).append(i)
        demand = {t: [(fld, demanded[nt][(nf, tests)]) for fld, nt, nf, tests in edges]
                  for t, edges in r.demand.items()}
        workers = min(self.workers, n_shards)
        if workers > 1 and _fork.available():
            self._forked(_groups(shard_base, workers), broadcast, demand)
        else:
            self._shards(shard_base, broadcast, demand)
        if r.late_types:
            with self._open(("late",), r.late_types) as late:
                self._fixpoint(late, list(range(len(facts))))
                self._phases(late)

    def _shards(self, shards: list[list[int]], broadcast: list[int],
                demand: dict[str, list[tuple[str, dict[Any, list[int]]]]]) -> None:
        """Run each shard (its own facts and those every shard gets), one after the other."""
        assert self.routing is not None
        for mine in shards:
            with self._open(("tp",), self.routing.shard_types) as s:
                s.demand = demand
                self._fixpoint(s, broadcast + mine)
                self._phases(s)

    def _forked(self, groups: list[list[list[int]]], broadcast: list[int],
                demand: dict[str, list[tuple[str, dict[Any, list[int]]]]]) -> None:
        """Run the first group of shards here and each other group in a forked child
        (``_fork``), then add what each child's shards added, shard by shard and group by
        group: the same evaluation as if the groups had run one after the other, here."""
        n_facts = len(self.ev.facts)

        def work(group: list[list[int]]) -> Callable[[Callable[[tuple], None]], None]:
            def in_child(send: Callable[[tuple], None]) -> None:
                for shard in group:
                    self.log = []
                    mark = self._mark()
                    self._shards([shard], broadcast, demand)
                    send(self._since(mark))
            return in_child

        _fork.release_free_memory()
        children = _fork.start_all([work(group) for group in groups[1:]])
        try:
            self._shards(groups[0], broadcast, demand)
            for child in children:
                place = list(range(n_facts))  # the child's fact index -> its index here
                known: set[int] = set()  # the child's new facts that were not new here
                for added in child.results():
                    self._merge(added, place, known)
        finally:
            for child in children:
                child.stop()

    def _mark(self) -> tuple[int, ...]:
        ev = self.ev
        return len(ev.facts), len(ev.matches), self.activations, ev.rounds, ev.states, ev.asserted

    def _since(self, mark: tuple[int, ...]) -> tuple:
        """What a child added to the evaluation since ``mark`` (see ``_forked``): its new
        facts' keys, its derivations and check matches in order (fact indices as numbered in
        the child), and its counters."""
        ev, log = self.ev, self.log
        assert log is not None
        n_facts, n_matches, activations, rounds, states, asserted = mark
        return ([f.key() for f in ev.facts[n_facts:]],
                [(idx, m.body, m.facts) for idx, m in log],
                [(m.body, m.facts) for m in ev.matches[n_matches:]],
                (self.activations - activations, ev.rounds - rounds, ev.states - states, ev.asserted - asserted))

    def _merge(self, added: tuple, place: list[int], known: set[int]) -> None:
        """Add what a child's shard added (``_since``) to this evaluation; ``place`` maps the
        child's fact indices to those here and ``known`` holds the child's new facts that
        were not new here (both grow with each shard of the child).

        Such a fact was derived by an earlier group too: run one after the other, the later
        group would have found it known, so the driver's bodies (``_plan.direct_bodies``)
        would not have been applied to it again; their repeated matches are left out. (No
        shard body reads such a fact: a type derived in several shards is not anchored, and
        a local body reading it runs in the global state, see ``_plan``.)"""
        keys, log, checks, (activations, rounds, states, asserted) = added
        ev, seen = self.ev, self.seen
        for key in keys:
            idx = seen.get(key)
            if idx is None:
                idx = self._add_new(key, Fact(key[0], dict(key[1])))
                self._count_derived()
            else:
                known.add(len(place))
            place.append(idx)
        direct, aliases = self.direct, self.aliases
        repeated = 0
        justifications = ev.justifications
        for idx, body, bound in log:
            if known and body in direct and bound[0] in known:
                repeated += 1
                continue
            m = Match(body, aliases[body], tuple([place[i] for i in bound]))
            just = justifications.get(place[idx])
            if just is None:
                justifications[place[idx]] = [m]
            else:
                just.append(m)
        matches = ev.matches
        for body, bound in checks:
            if known and body in direct and bound[0] in known:
                repeated += 1
                continue
            matches.append(Match(body, aliases[body], tuple([place[i] for i in bound])))
        self._count(activations - repeated)
        ev.rounds += rounds
        ev.states += states
        ev.asserted += asserted

    def _phases(self, state: _State) -> None:
        """Open each negation stratum in turn, each time running to a fixpoint."""
        for k in range(1, self.max_stratum + 1):
            fired = state.session.assert_fragments([_durable.fragment({"id": f"P{k}", TYPE_FIELD: PHASE_TYPE, "n": k})])
            self.ev.rounds += 1
            self._fixpoint(state, self._collect(fired))

    def _fixpoint(self, state: _State, pending: list[int]) -> None:
        facts, asserted, wanted = self.ev.facts, state.asserted, state.wanted
        while True:
            batch = [i for i in dict.fromkeys(pending) if i not in asserted and facts[i].type in wanted]
            if state.demand:
                batch = self._demanded(state, batch)
            if not batch:
                return
            asserted.update(batch)
            self.ev.asserted += len(batch)
            pending = []
            for start in range(0, len(batch), ASSERT_CHUNK):  # so the activation limit bites early
                fired = state.session.assert_fragments(self._fragments(batch[start:start + ASSERT_CHUNK]))
                self.ev.rounds += 1
                pending += self._collect(fired)

    def _demanded(self, state: _State, batch: list[int]) -> list[int]:
        """``batch`` and the copies its facts need in this shard, transitively (``Routing.demand``)."""
        facts, asserted, demand = self.ev.facts, state.asserted, state.demand
        queued = set(batch)
        k = 0
        while k < len(batch):
            fact = facts[batch[k]]
            k += 1
            edges = demand.get(fact.type)
            if edges:
                for fld, by_value in edges:
                    v = fact.values.get(fld)
                    if v is not None:
                        for j in by_value.get(v, ()):
                            if j not in queued and j not in asserted:
                                queued.add(j)
                                batch.append(j)
        return batch

    def _collect(self, raw: list[str]) -> list[int]:
        """Matches and derived facts of a batch's activations; returns the new facts.

        Each activation is ``{"body":[{"alias":{"sid":"a1","id":"f1a",...},...},...]}``, up
        to ``CAP`` frames of one body, the facts echoed as asserted (see ``_fragments``):
        only the body name and the ids are read. durable-rules writes a body's frames with
        their aliases in one order; it is learnt from the first frame and checked for every
        activation (a frame in another order is read alias by alias).
        """
        new_facts: list[int] = []
        index, facts, bodies, orders = self.index, self.ev.facts, self.bodies, self.orders
        matches = self.ev.matches
        find_ids = _BOUND.findall
        for activation in raw:
            b = bodies.get(activation[2:activation.index('"', 2)])
            if b is None:
                continue  # the sentinel rule, or a gate
            pairs = find_ids(activation)
            size = b.frame
            if not pairs or len(pairs) % size:
                raise EngineError(f"the rule engine returned an activation of {b.name} that could not be read; "
                                  "no findings were produced")
            try:
                learnt = orders.get(b.name)
                if learnt is None:
                    first = [a for a, _ in pairs[:size]]
                    learnt = orders[b.name] = (first, tuple(first.index(a) for a in b.engine_aliases))
                order, perm = learnt
                if [a for a, _ in pairs] == order * (len(pairs) // size):
                    ids = [i for _, i in pairs]  # gates' ids included: they are not facts of ours
                    frames = [tuple([index[ids[start + q]] for q in perm]) for start in range(0, len(ids), size)]
                else:  # another order: alias by alias
                    frames = []
                    for start in range(0, len(pairs), size):
                        by_alias = dict(pairs[start:start + size])
                        frames.append(tuple([index[by_alias[a]] for a in b.engine_aliases]))
            except (KeyError, ValueError):
                raise EngineError(f"the rule engine returned an activation of {b.name} that names unknown "
                                  "facts; no findings were produced") from None
            self._count(len(frames))
            name, aliases = b.name, b.aliases
            if b.check:
                matches.extend([Match(name, aliases, bound) for bound in frames])
                continue
            fact_type, make = b.fact, b.make
            for bound in frames:
                self._derived((fact_type, make(bound, facts)), Match(name, aliases, bound), new_facts)
        if self.direct:
            self._direct(new_facts)
        return new_facts

    def _derived(self, key: tuple, match: Match, new_facts: list[int]) -> None:
        """Record that ``match`` derives the fact ``key`` (type, items); a fact not seen
        before is added and appended to ``new_facts``."""
        justifications = self.ev.justifications
        idx = self.seen.get(key)
        if idx is None:
            idx = self._add_new(key, Fact(key[0], dict(key[1])))
            self._count_derived()
            justifications[idx] = [match]
            new_facts.append(idx)
        else:
            just = justifications.get(idx)
            if just is None:
                justifications[idx] = [match]  # a base fact derived again
            else:
                just.append(match)
        if self.log is not None:
            self.log.append((idx, match))

    def _direct(self, work: list[int]) -> None:
        """Apply the driver's bodies (``_plan.direct_bodies``) to the facts in ``work``;
        the facts they derive are appended to ``work`` (and so are applied to in turn)."""
        direct, facts, matches = self.direct, self.ev.facts, self.ev.matches
        k = 0
        while k < len(work):
            idx = work[k]
            k += 1
            fact = facts[idx]
            bodies = direct.get(fact.type)
            if not bodies:
                continue
            values = fact.values
            for b, passes in bodies:
                if not passes(values):
                    continue
                match = Match(b.name, b.aliases, (idx,))
                self._count(1)
                if b.check:
                    matches.append(match)
                    continue
                self._derived((b.fact, b.make((idx,), facts)), match, work)  # type: ignore[misc]
