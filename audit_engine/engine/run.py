"""Step 4 of the pipeline: run a compiled program over a map's facts to a fixpoint.

The driver asserts the base facts, then repeatedly asserts the facts derived by the
last round's derivation activations (each distinct fact once) until nothing new is
derived; then it opens each negation stratum in turn with its phase fact and runs to
a fixpoint again. Activations are collected, not acted on inside the engine, so the
result is complete when :func:`evaluate` returns and does not depend on the order
the engine happened to fire in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..facts import Fact
from ..packs.compile import KEY_FIELD, PHASE_TYPE, TYPE_FIELD, Program, engine_field
from ..packs.schema import Ref
from . import _durable
from ._fnv import FactIds


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
    rounds_of: list[int] = field(default_factory=list)  # per fact: the batch it was first asserted in
    justifications: dict[int, list[Match]] = field(default_factory=dict)  # derived fact -> its derivations
    matches: list[Match] = field(default_factory=list)  # check activations
    rounds: int = 0

    def derived(self) -> Iterable[int]:
        return self.justifications.keys()


def _ruleset_name(program: Program) -> str:
    return "audit_" + program.digest[:24]


def evaluate(program: Program, facts: Iterable[Fact]) -> Evaluation:
    handle = _durable.ruleset_handle(_ruleset_name(program), program.ruleset)
    return _Run(program, handle).run(facts)


class _Run:
    def __init__(self, program: Program, handle: int):
        self.p = program
        self.handle = handle
        self.ids = FactIds()
        self.phase_ids = {k: f"P{k}" for k in range(1, program.max_stratum + 1)}
        for pid in (*self.phase_ids.values(), _durable.OPEN_FACT_ID):
            self.ids.reserve(pid)
        self.index: dict[str, int] = {}  # engine id -> fact index
        self.seen: dict[tuple, int] = {}  # fact key -> fact index
        self.ev = Evaluation([])
        self._inverse = {name: {e: u for u, e in b.aliases.items()} for name, b in program.bodies.items()}

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

    def _engine_fact(self, idx: int) -> dict[str, Any] | None:
        fact = self.ev.facts[idx]
        wanted = self.p.engine_fields.get(fact.type)
        if wanted is None:
            return None  # no rule looks at this type
        eid = next(self.ids)
        self.index[eid] = idx
        out: dict[str, Any] = {"id": eid, TYPE_FIELD: fact.type}
        for k, v in fact.values.items():
            ek = engine_field(k)
            if ek in wanted:
                out[ek] = v
        return out

    def run(self, facts: Iterable[Fact]) -> Evaluation:
        batch = []
        for f in facts:
            idx, new = self._add(f)
            if new:
                batch.append(idx)
        with _durable.session(self.handle) as s:
            self._fixpoint(s, batch)
            for k in range(1, self.p.max_stratum + 1):
                fired = s.assert_batch([{"id": self.phase_ids[k], TYPE_FIELD: PHASE_TYPE, "n": k}])
                self.ev.rounds += 1
                self._fixpoint(s, self._collect(fired))
        return self.ev

    def _fixpoint(self, s: _durable.Session, batch: list[int]) -> None:
        while batch:
            engine_facts = [e for e in (self._engine_fact(i) for i in batch) if e is not None]
            fired = s.assert_batch(engine_facts)
            self.ev.rounds += 1
            batch = self._collect(fired)

    def _collect(self, fired: list[dict[str, dict[str, Any]]]) -> list[int]:
        new_facts: list[int] = []
        for activation in fired:
            for name, frame in activation.items():
                body = self.p.bodies[name]
                inverse = self._inverse[name]
                bound = {inverse[a]: self.index[f["id"]] for a, f in frame.items() if a in inverse}
                match = Match(name, tuple((u, bound[u]) for u in body.aliases))
                if body.kind == "check":
                    self.ev.matches.append(match)
                    continue
                fact = self._derive(body.owner, bound)
                idx, new = self._add(fact)
                self.ev.justifications.setdefault(idx, []).append(match)
                if new:
                    new_facts.append(idx)
        return new_facts

    def _derive(self, derivation_id: str, bound: dict[str, int]) -> Fact:
        _, d = self.p.derivations[derivation_id]
        values: dict[str, Any] = {}
        for k, v in d.assert_.items():
            if isinstance(v, Ref):
                src = self.ev.facts[bound[v.alias]].values.get(v.field)
                if src is not None:
                    values[k] = src
            else:
                values[k] = v
        return Fact(d.fact, values)
