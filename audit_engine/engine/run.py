"""Step 4 of the pipeline: run a compiled program over a map's facts to a fixpoint.

The driver asserts the base facts, then repeatedly asserts the facts derived by the
last round's derivation activations (each distinct fact once) until nothing new is
derived; then it opens each negation stratum in turn with its phase fact and runs to
a fixpoint again. Activations are collected, not acted on inside the engine, so the
result is complete when :func:`evaluate` returns and does not depend on the order
the engine happened to fire in.

Large maps are split into touchpoint shards (one engine state per group of
touchpoints, plus a global state; see ``packs/_shards.py`` for why that is exact):
durable-rules' per-state indexes have a fixed size, so keeping states small keeps the
cost per fact flat. Derived facts are routed to every state that needs them.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..facts import Fact
from ..packs.compile import PHASE_TYPE, ROLE_TYPE, TYPE_FIELD, Program, engine_field
from ..packs.schema import Ref
from . import _durable
from ._fnv import FactIds

SHARD_TOUCHPOINTS = 1000  # touchpoints per engine state (measured: benchmarks/bench_scale.py)


@dataclass(frozen=True)
class Match:
    """One activation: a body and the facts bound to its positive aliases."""

    body: str
    bindings: tuple[tuple[str, int], ...]  # (user alias, fact index), in body order

    def fact_of(self, alias: str) -> int:
        return dict(self.bindings)[alias]


@dataclass
class Evaluation:
    """All facts (base then derived), how each derived fact was derived, and every
    check activation."""

    facts: list[Fact]
    rounds_of: list[int] = field(default_factory=list)  # per fact: the round it was first asserted in
    justifications: dict[int, list[Match]] = field(default_factory=dict)  # derived fact -> its derivations
    matches: list[Match] = field(default_factory=list)  # check activations
    rounds: int = 0
    states: int = 0  # engine states used (shards + global)

    def derived(self) -> Iterable[int]:
        return self.justifications.keys()


def _ruleset_name(program: Program) -> str:
    return "audit_" + program.digest[:24]


def evaluate(program: Program, facts: Iterable[Fact], shard_touchpoints: int = SHARD_TOUCHPOINTS) -> Evaluation:
    if shard_touchpoints < 1:
        raise ValueError("shard_touchpoints must be at least 1")
    handle = _durable.ruleset_handle(_ruleset_name(program), program.ruleset)
    return _Run(program, handle, shard_touchpoints).run(facts)


class _Run:
    def __init__(self, program: Program, handle: int, shard_touchpoints: int):
        self.p = program
        self.handle = handle
        self.shard_size = shard_touchpoints
        self.ids = FactIds()
        self.phase_ids = {k: f"P{k}" for k in range(1, program.max_stratum + 1)}
        self.role_ids = ("Rtp", "Rglobal")
        for reserved in (*self.phase_ids.values(), *self.role_ids, _durable.OPEN_FACT_ID):
            self.ids.reserve(reserved)
        self.index: dict[str, int] = {}  # engine id -> fact index
        self.engine_facts: dict[int, dict[str, Any]] = {}
        self.seen: dict[tuple, int] = {}  # fact key -> fact index
        self.ev = Evaluation([])
        self._inverse = {name: {e: u for u, e in b.aliases.items()} for name, b in program.bodies.items()}
        self._order = {name: tuple(b.aliases) for name, b in program.bodies.items()}
        # per derivation: (type, [(field, alias, source field or None, literal)]) to build facts fast
        self._asserts = {
            did: (d.fact, [(k, v.alias, v.field, None) if isinstance(v, Ref) else (k, None, None, v)
                           for k, v in d.assert_.items()])
            for did, (_, d) in program.derivations.items()}
        self.sessions: list[_durable.Session] = []
        self.asserted: list[set[int]] = []
        self.shard_of: dict[Any, int] = {}  # touchpoint id -> session index
        self.single = True

    # -- facts -----------------------------------------------------------------
    def _add(self, fact: Fact) -> tuple[int, bool]:
        key = fact.key()
        idx = self.seen.get(key)
        if idx is not None:
            return idx, False
        idx = len(self.ev.facts)
        self.ev.facts.append(fact)
        self.ev.rounds_of.append(self.ev.rounds)
        self.seen[key] = idx
        return idx, True

    def _engine_fact(self, idx: int) -> dict[str, Any]:
        out = self.engine_facts.get(idx)
        if out is None:
            fact = self.ev.facts[idx]
            wanted = self.p.engine_fields[fact.type]
            eid = next(self.ids)
            self.index[eid] = idx
            out = {"id": eid, TYPE_FIELD: fact.type}
            for k, v in fact.values.items():
                ek = engine_field(k)
                if ek in wanted:
                    out[ek] = v
            self.engine_facts[idx] = out
        return out

    def _targets(self, idx: int) -> Iterable[int]:
        """The states that need fact ``idx``."""
        fact = self.ev.facts[idx]
        t = fact.type
        if t not in self.p.engine_fields:
            return ()  # no rule looks at this type
        if self.single:
            return (0,)
        out: list[int] = []
        if t in self.p.types_in_global:
            out.append(0)
        if t in self.p.types_in_shards:
            anchor = self.p.anchored.get(t)
            if anchor is None:
                out.extend(range(1, len(self.sessions)))
            else:
                shard = self.shard_of.get(fact.values.get(anchor))
                if shard is not None:
                    out.append(shard)
        return out

    # -- driver ----------------------------------------------------------------
    def run(self, facts: Iterable[Fact]) -> Evaluation:
        base: list[int] = []
        for f in facts:
            idx, new = self._add(f)
            if new:
                base.append(idx)
        tps = sorted({f.values["id"] for f in self.ev.facts if f.type == "touchpoint"})
        n_shards = -(-len(tps) // self.shard_size)
        self.single = n_shards <= 1
        with ExitStack() as stack:
            roles = [("tp", "global")] if self.single else [("global",)] + [("tp",)] * n_shards
            for role in roles:
                s = stack.enter_context(_durable.session(self.handle))
                self.sessions.append(s)
                self.asserted.append(set())
                s.assert_batch([{"id": f"R{r}", TYPE_FIELD: ROLE_TYPE, "r": r} for r in role])
            if not self.single:
                for i, tp in enumerate(tps):
                    self.shard_of[tp] = 1 + i * n_shards // len(tps)
            self.ev.states = len(self.sessions)
            pending: dict[int, list[int]] = defaultdict(list)
            self._route(base, pending)
            self._fixpoint(pending)
            for k in range(1, self.p.max_stratum + 1):
                phase = {"id": self.phase_ids[k], TYPE_FIELD: PHASE_TYPE, "n": k}
                fired = [a for s in self.sessions for a in s.assert_batch([dict(phase)])]
                self.ev.rounds += 1
                pending = defaultdict(list)
                self._route(self._collect(fired), pending)
                self._fixpoint(pending)
        return self.ev

    def _route(self, idxs: Iterable[int], pending: dict[int, list[int]]) -> None:
        for idx in idxs:
            for si in self._targets(idx):
                if idx not in self.asserted[si]:
                    self.asserted[si].add(idx)
                    pending[si].append(idx)

    def _fixpoint(self, pending: dict[int, list[int]]) -> None:
        while pending:
            fired: list[dict[str, dict[str, Any]]] = []
            for si in sorted(pending):
                fired.extend(self.sessions[si].assert_batch([self._engine_fact(i) for i in pending[si]]))
            self.ev.rounds += 1
            pending = defaultdict(list)
            self._route(self._collect(fired), pending)

    def _collect(self, fired: list[dict[str, dict[str, Any]]]) -> list[int]:
        new_facts: list[int] = []
        bodies, index, facts = self.p.bodies, self.index, self.ev.facts
        for activation in fired:
            for name, frame in activation.items():
                inverse = self._inverse[name]
                bound = {inverse[a]: index[f["id"]] for a, f in frame.items() if a in inverse}
                match = Match(name, tuple((u, bound[u]) for u in self._order[name]))
                body = bodies[name]
                if body.kind == "check":
                    self.ev.matches.append(match)
                    continue
                ftype, spec = self._asserts[body.owner]
                values: dict[str, Any] = {}
                for k, alias, src, literal in spec:
                    v = facts[bound[alias]].values.get(src) if alias is not None else literal
                    if v is not None:
                        values[k] = v
                idx, new = self._add(Fact(ftype, values))
                self.ev.justifications.setdefault(idx, []).append(match)
                if new:
                    new_facts.append(idx)
        return new_facts
