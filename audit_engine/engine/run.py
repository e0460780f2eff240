"""Step 4 of the pipeline: run a rule program over a map's facts to a fixpoint.

:class:`Engine` is a program prepared for durable-rules (its schedule, ``_plan``; its
ruleset, ``_translate``). :meth:`Engine.evaluate` asserts the base facts, then
repeatedly asserts the facts derived by the last batch's derivation activations (each
distinct fact once) until nothing new is derived; then it opens each negation stratum in
turn with its phase fact and runs to a fixpoint again. Activations are collected, not
acted on inside the engine, so the result is complete when ``evaluate`` returns and does
not depend on the order the engine happened to fire in.

A large map runs in one global state and a series of touchpoint shards, one shard alive
at a time (see ``_plan`` for why that is exact); a small map runs in one state.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..errors import CapacityError
from ..facts import ANCHOR, Fact
from ..limits import DEFAULT, Limits
from ..packs.program import FieldRef, Program
from . import _durable
from ._fnv import FactIds
from ._plan import Plan, plan
from ._translate import LATE_PHASE_TYPE, PHASE_TYPE, ROLE_TYPE, TYPE_FIELD, Translation, engine_field, translate

SHARD_TOUCHPOINTS = 2000  # touchpoints per shard state (benchmarks/bench_scale.py)
ASSERT_CHUNK = 5000  # facts per call into the engine


@dataclass(frozen=True, slots=True)
class Match:
    """One activation: a body and the facts bound to its positive aliases."""

    body: str
    aliases: tuple[str, ...]  # the body's positive aliases, in order
    facts: tuple[int, ...]  # the fact bound to each

    @property
    def bindings(self) -> tuple[tuple[str, int], ...]:
        return tuple(zip(self.aliases, self.facts))

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
    states: int = 0  # engine states used (shards + global)

    def derived(self) -> Iterable[int]:
        return self.justifications.keys()


class Engine:
    """A program prepared for durable-rules: schedule, ruleset, and the ruleset's handle."""

    def __init__(self, program: Program):
        self.program = program
        self.plan: Plan = plan(program)
        self.translation: Translation = translate(program, self.plan)
        self.name = "audit_" + program.digest[:24]

    @property
    def ruleset(self) -> dict[str, Any]:
        return self.translation.ruleset

    def handle(self) -> int:
        return _durable.ruleset_handle(self.name, self.translation.ruleset)

    def evaluate(self, facts: Iterable[Fact], shard_touchpoints: int = SHARD_TOUCHPOINTS,
                 limits: Limits = DEFAULT) -> Evaluation:
        if shard_touchpoints < 1:
            raise ValueError("shard_touchpoints must be at least 1")
        return _Run(self, shard_touchpoints, limits).run(facts)


def evaluate(program: Program, facts: Iterable[Fact], shard_touchpoints: int = SHARD_TOUCHPOINTS,
             limits: Limits = DEFAULT) -> Evaluation:
    """Evaluate ``program`` (prepared anew) over ``facts``."""
    return Engine(program).evaluate(facts, shard_touchpoints, limits)


class _State:
    """One engine state and the facts already asserted into it."""

    def __init__(self, session: _durable.Session, wanted: frozenset[str]):
        self.session = session
        self.wanted = wanted  # fact types this state needs
        self.asserted: set[int] = set()


class _Run:
    def __init__(self, engine: Engine, shard_touchpoints: int, limits: Limits = DEFAULT):
        self.e = engine
        self.limits = limits
        self.activations = 0
        self.derived = 0
        self.p = engine.program
        self.plan = engine.plan
        self.shard_size = shard_touchpoints
        self.ids = FactIds()
        self.max_stratum = self.p.max_stratum
        for reserved in ("Rtp", "Rglobal", _durable.OPEN_FACT_ID,
                         *(f"{kind}{k}" for kind in ("P", "L") for k in range(1, self.max_stratum + 1))):
            self.ids.reserve(reserved)
        self.index: dict[str, int] = {}  # engine id -> fact index
        self.fragments: dict[int, str] = {}  # fact index -> its engine JSON (see _durable.fragment)
        self.seen: dict[tuple, int] = {}  # fact key -> fact index
        self.ev = Evaluation([])
        self._order = {name: b.aliases for name, b in self.p.bodies.items()}
        self._engine_order = {name: tuple(engine.translation.aliases[name][a] for a in b.aliases)
                              for name, b in self.p.bodies.items()}
        self._asserts = {name: (b.fact, [(k, b.aliases.index(v.alias), v.field, None) if isinstance(v, FieldRef)
                                         else (k, None, None, v) for k, v in b.asserts])
                         for name, b in self.p.bodies.items() if b.kind == "derive"}
        self._check = {name: b.kind == "check" for name, b in self.p.bodies.items()}
        self.to_global: list[int] = []  # facts derived in shards that the global state reads
        self.in_shard = False

    # -- facts -----------------------------------------------------------------
    def _add(self, fact: Fact) -> tuple[int, bool]:
        key = fact.key()
        idx = self.seen.get(key)
        if idx is not None:
            return idx, False
        idx = len(self.ev.facts)
        self.ev.facts.append(fact)
        self.seen[key] = idx
        return idx, True

    def _fragment(self, idx: int) -> str:
        out = self.fragments.get(idx)
        if out is None:
            fact = self.ev.facts[idx]
            wanted = self.e.translation.fields.get(fact.type, frozenset())
            eid = next(self.ids)
            self.index[eid] = idx
            d = {"id": eid, TYPE_FIELD: fact.type}
            for k, v in fact.values.items():
                ek = engine_field(k)
                if ek in wanted:
                    d[ek] = v
            out = self.fragments[idx] = _durable.fragment(d)
        return out

    # -- driver ----------------------------------------------------------------
    def run(self, facts: Iterable[Fact]) -> Evaluation:
        base: list[int] = []
        for f in facts:
            idx, new = self._add(f)
            if new:
                base.append(idx)
        tps = sorted({f.values["id"] for f in self.ev.facts if f.type == ANCHOR})
        n_shards = -(-len(tps) // self.shard_size)
        if n_shards <= 1:
            self._single(base)
        else:
            self._sharded(base, tps, n_shards)
        return self.ev

    @contextmanager
    def _open(self, role: tuple[str, ...], wanted: frozenset[str]) -> Iterator[_State]:
        with _durable.session(self.e.handle()) as s:
            s.assert_fragments([_durable.fragment({"id": f"R{r}", TYPE_FIELD: ROLE_TYPE, "r": r}) for r in role])
            self.ev.states += 1
            yield _State(s, wanted)

    def _single(self, base: list[int]) -> None:
        wanted = self.plan.shard_types | self.plan.global_types
        with self._open(("tp", "global"), wanted) as state:
            self._fixpoint(state, base)
            for k in range(1, self.max_stratum + 1):
                self._phase(state, [(PHASE_TYPE, "P", k), (LATE_PHASE_TYPE, "L", k)])

    def _sharded(self, base: list[int], tps: list[str], n_shards: int) -> None:
        anchored = self.plan.anchored
        shard_of = {tp: i * n_shards // len(tps) for i, tp in enumerate(tps)}
        shard_base: list[list[int]] = [[] for _ in range(n_shards)]
        for idx in base:
            fact = self.ev.facts[idx]
            field_name = anchored.get(fact.type)
            if field_name is not None and fact.type in self.plan.shard_types:
                shard = shard_of.get(fact.values.get(field_name))
                if shard is not None:
                    shard_base[shard].append(idx)
        with self._open(("global",), self.plan.global_types) as g:
            self._fixpoint(g, base)
            for k in range(1, self.max_stratum + 1):
                self._phase(g, [(PHASE_TYPE, "P", k)])
            broadcast: list[int] = []  # facts every shard gets
            routes = self.plan.routes
            for i, f in enumerate(self.ev.facts):
                if f.type in anchored or f.type not in self.plan.shard_types:
                    continue
                ties = routes.get(f.type)
                if ties is None:
                    broadcast.append(i)
                    continue
                for shard in {shard_of.get(f.values.get(t)) for t in ties} - {None}:
                    shard_base[shard].append(i)  # type: ignore[index]
            self.in_shard = True
            for mine in shard_base:
                with self._open(("tp",), self.plan.shard_types) as s:
                    self._fixpoint(s, broadcast + mine)
                    for k in range(1, self.max_stratum + 1):
                        self._phase(s, [(PHASE_TYPE, "P", k)])
            self.in_shard = False
            self._fixpoint(g, self.to_global)
            for k in range(1, self.max_stratum + 1):
                self._phase(g, [(LATE_PHASE_TYPE, "L", k)])

    def _phase(self, state: _State, phases: list[tuple[str, str, int]]) -> None:
        fired = state.session.assert_fragments([_durable.fragment({"id": f"{prefix}{k}", TYPE_FIELD: kind, "n": k})
                                                 for kind, prefix, k in phases])
        self.ev.rounds += 1
        self._fixpoint(state, self._collect(fired))

    def _fixpoint(self, state: _State, pending: list[int]) -> None:
        facts, asserted, wanted = self.ev.facts, state.asserted, state.wanted
        while True:
            batch = [i for i in pending if i not in asserted and facts[i].type in wanted]
            if not batch:
                return
            asserted.update(batch)
            pending = []
            for start in range(0, len(batch), ASSERT_CHUNK):  # so the activation limit bites early
                fired = state.session.assert_fragments([self._fragment(i) for i in batch[start:start + ASSERT_CHUNK]],
                                                       self.limits.max_activations - self.activations)
                self.ev.rounds += 1
                pending += self._collect(fired)

    def _collect(self, raw: list[str]) -> list[int]:
        """Matches and derived facts of a batch's activations (raw JSON, parsed at once);
        returns the new facts."""
        if not raw:
            return []
        self.activations += len(raw)
        if self.activations > self.limits.max_activations:
            raise CapacityError(f"the rules activated more than {self.limits.max_activations:,} times on this map "
                                "(limits.max_activations): a rule joins too many facts with each other (a pack "
                                "with an unjoined or weakly joined condition?); no findings were produced")
        new_facts: list[int] = []
        index, facts, ev = self.index, self.ev.facts, self.ev
        global_types = self.plan.global_types
        for activation in json.loads("[" + ",".join(raw) + "]"):
            for name, frame in activation.items():
                order = self._order.get(name)
                if order is None:
                    continue  # the sentinel rule, or a gate
                bound = tuple(index[frame[a]["id"]] for a in self._engine_order[name])
                match = Match(name, order, bound)
                if self._check[name]:
                    ev.matches.append(match)
                    continue
                ftype, spec = self._asserts[name]
                values: dict[str, Any] = {}
                for k, pos, src, literal in spec:
                    v = facts[bound[pos]].values.get(src) if pos is not None else literal
                    if v is not None:
                        values[k] = v
                idx, new = self._add(Fact(ftype, values))
                ev.justifications.setdefault(idx, []).append(match)
                if new:
                    new_facts.append(idx)
                    self.derived += 1
                    if self.derived > self.limits.max_derived_facts:
                        raise CapacityError(f"the rules derived more than {self.limits.max_derived_facts:,} facts from "
                                            "this map (limits.max_derived_facts); no findings were produced")
                    if self.in_shard and ftype in global_types:
                        self.to_global.append(idx)
        return new_facts
