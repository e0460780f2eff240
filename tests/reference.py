"""A plain reference interpreter of the rule-pack language, for tests only.

It shares nothing with the engine (no ``audit_engine.packs.compile``, no
``audit_engine.engine``): it reads the pack models of ``audit_engine.packs.schema``
and the base facts of ``audit_engine.facts`` and evaluates them the way
``docs/packs.md`` describes:

* strata: a base type is stratum 0; a derived type sits at or above every type its
  derivations use positively and strictly above every type they negate;
* stratum by stratum, bottom-up to a fixpoint: every body of every derivation of the
  stratum is evaluated by nested loops over the facts of each condition's type, and
  each match asserts a fact (a set: each distinct fact once);
* checks run last, over all facts; a finding is (rule id, value of ``rule.subject``).

Two optional speed-ups, both plain and both checked against the textbook loops by the
tests (``naive=True`` turns them off):

* a per-(type, field, value) index is used *only to pre-select* candidates for a
  condition that has a plain equality test; every test is still applied to every
  candidate, so the index can never make a non-matching fact match;
* a derived fact is visible as soon as it is derived (also to the loops that are
  running), instead of from the next round on. Within a stratum everything is
  monotone (negations only look at lower, complete strata), so adding a correctly
  derived fact early never changes the fixpoint, and a round that derives nothing
  new still proves that it is reached. A ``derived_from`` chain 250 long then takes
  two rounds instead of 250.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from audit_engine.facts import Fact
from audit_engine.packs.schema import Condition, Not, Op, Pack, Param, Ref

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"

_ABSENT = object()


# --- packs and parameters ----------------------------------------------------------


def load_pack_file(path: str | Path) -> Pack:
    """A pack file, read with plain ``yaml.safe_load`` and the schema models."""
    return Pack.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def shipped_packs() -> list[Pack]:
    return [load_pack_file(p) for p in sorted(RULES_DIR.glob("*.yaml"))]


def default_params(packs: Iterable[Pack], overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    params: dict[str, int] = {}
    for pack in packs:
        for name, p in pack.parameters.items():
            params.setdefault(name, p.default)
    for name, value in (overrides or {}).items():
        if name not in params:
            raise KeyError(f"unknown parameter {name}")
        params[name] = value
    return params


# --- values and tests ----------------------------------------------------------------


def _get(values: Mapping[str, Any], name: str) -> Any:
    """A field's value, or _ABSENT (missing, null and empty list are all absent)."""
    v = values.get(name, _ABSENT)
    if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
        return _ABSENT
    return v


def _eq(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, a list is not a scalar."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return False
    return a == b


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# Ref.alias / Op.name are computed properties of the schema models; remembering them
# per object (the pack models are frozen) is only a speed-up.
_REFS: dict[int, tuple[Ref, str, str]] = {}
_OPS: dict[int, tuple[Op, str, Any]] = {}


def _ref_parts(r: Ref) -> tuple[str, str]:
    hit = _REFS.get(id(r))
    if hit is None or hit[0] is not r:
        hit = _REFS[id(r)] = (r, r.alias, r.field)
    return hit[1], hit[2]


def _op_parts(op: Op) -> tuple[str, Any]:
    hit = _OPS.get(id(op))
    if hit is None or hit[0] is not op:
        hit = _OPS[id(op)] = (op, op.name, op.operand)
    return hit[1], hit[2]


def _operand(value: Any, bindings: Mapping[str, Fact], params: Mapping[str, int]) -> Any:
    """A literal, a parameter, or the field of a bound fact (_ABSENT if it has none)."""
    if isinstance(value, Ref):
        alias, fld = _ref_parts(value)
        return _get(bindings[alias].values, fld)
    if isinstance(value, Param):
        return params[value.param]
    return value


def holds(test: Any, v: Any, bindings: Mapping[str, Fact], params: Mapping[str, int]) -> bool:
    """Does field value ``v`` (maybe _ABSENT) pass ``test``?"""
    if not isinstance(test, Op):  # a bare literal, ref or param: equality
        w = _operand(test, bindings, params)
        return v is not _ABSENT and w is not _ABSENT and _eq(v, w)
    name, arg = _op_parts(test)
    if name == "eq":
        w = _operand(arg, bindings, params)
        return v is not _ABSENT and w is not _ABSENT and _eq(v, w)
    if name == "ne":
        w = _operand(arg, bindings, params)
        if isinstance(arg, Ref):  # against a field of another fact: both must be set
            return v is not _ABSENT and w is not _ABSENT and not _eq(v, w)
        return v is _ABSENT or not _eq(v, w)
    if name in ("lt", "le", "gt", "ge"):
        w = _operand(arg, bindings, params)
        if not (_is_number(v) and _is_number(w)):
            return False
        return {"lt": v < w, "le": v <= w, "gt": v > w, "ge": v >= w}[name]
    if name == "in":
        return v is not _ABSENT and any(_eq(v, x) for x in arg)
    if name == "not_in":
        return v is _ABSENT or not any(_eq(v, x) for x in arg)
    if name == "present":
        return (v is not _ABSENT) == arg
    if name == "has":
        return isinstance(v, (list, tuple)) and any(_eq(x, arg) for x in v)
    if name == "has_any":
        return isinstance(v, (list, tuple)) and any(_eq(x, a) for x in v for a in arg)
    if name == "any_of":
        return any(holds(t, v, bindings, params) for t in arg)
    if name == "all_of":
        return all(holds(t, v, bindings, params) for t in arg)
    raise ValueError(f"unknown operator {name}")


def condition_holds(cond: Condition, fact: Fact, bindings: Mapping[str, Fact], params: Mapping[str, int]) -> bool:
    if fact.type != cond.fact:
        return False
    return all(holds(t, _get(fact.values, f), bindings, params) for f, t in cond.where.items())


# --- strata ----------------------------------------------------------------------


def _bodies(item: Any) -> list[list[Condition | Not]]:
    return [item.when] if item.when is not None else list(item.when_any)


def strata_of(packs: Iterable[Pack]) -> dict[str, int]:
    """Stratum of every derived type (absent types are base types, stratum 0)."""
    derivations = [d for p in packs for d in p.derive]
    strata = {d.fact: 0 for d in derivations}
    limit = len(strata) + 1
    changed = True
    while changed:
        changed = False
        for d in derivations:
            for body in _bodies(d):
                for c in body:
                    need = strata.get(c.not_.fact, 0) + 1 if isinstance(c, Not) else strata.get(c.fact, 0)
                    if need > strata[d.fact]:
                        if need > limit:
                            raise ValueError(f"{d.fact} depends on its own negation")
                        strata[d.fact] = need
                        changed = True
    return strata


# --- evaluation ----------------------------------------------------------------------


class _Store:
    """All facts, by type, with an optional equality index."""

    def __init__(self) -> None:
        self.keys: set[tuple] = set()
        self.by_type: dict[str, list[Fact]] = {}
        self.index: dict[tuple[str, str], dict[Any, list[Fact]]] = {}

    def add(self, fact: Fact) -> bool:
        key = fact.key()
        if key in self.keys:
            return False
        self.keys.add(key)
        self.by_type.setdefault(fact.type, []).append(fact)
        for (t, f), idx in self.index.items():
            if t == fact.type:
                v = _get(fact.values, f)
                if v is not _ABSENT and not isinstance(v, (list, tuple)):
                    idx.setdefault(_ikey(v), []).append(fact)
        return True

    def lookup(self, ftype: str, fname: str, value: Any) -> list[Fact]:
        idx = self.index.get((ftype, fname))
        if idx is None:
            idx = self.index[(ftype, fname)] = {}
            for fact in self.by_type.get(ftype, []):
                v = _get(fact.values, fname)
                if v is not _ABSENT and not isinstance(v, (list, tuple)):
                    idx.setdefault(_ikey(v), []).append(fact)
        return idx.get(_ikey(value), [])


def _ikey(v: Any) -> tuple[bool, Any]:
    return (isinstance(v, bool), v)  # keeps true apart from 1, as _eq does


@dataclass
class Result:
    derived: set[tuple] = field(default_factory=set)  # Fact.key() of every derived fact
    findings: set[tuple[str, str]] = field(default_factory=set)  # (rule id, subject)
    severities: dict[tuple[str, str], str] = field(default_factory=dict)  # (rule id, subject) -> graded severity
    facts: list[Fact] = field(default_factory=list)  # base then derived, in derivation order
    strata: dict[str, int] = field(default_factory=dict)


class Interpreter:
    def __init__(self, packs: list[Pack], params: Mapping[str, int], naive: bool = False):
        self.packs = list(packs)
        self.params = dict(params)
        self.naive = naive
        self.strata = strata_of(self.packs)

    # one body -------------------------------------------------------------------------

    def _candidates(self, store: _Store, cond: Condition, bindings: Mapping[str, Fact]) -> list[Fact] | None:
        """Facts that may pass ``cond`` (a superset of those that do); None: none can."""
        if self.naive:
            return store.by_type.get(cond.fact, [])
        best: list[Fact] | None = None
        for fname, test in cond.where.items():  # the index only pre-selects: every test is applied afterwards
            arg = _op_parts(test)[1] if isinstance(test, Op) and _op_parts(test)[0] == "eq" else test
            if isinstance(arg, Op):
                continue
            w = _operand(arg, bindings, self.params)
            if w is _ABSENT:
                return None  # an equality test with an absent operand fails for every fact
            found = store.lookup(cond.fact, fname, w)
            if best is None or len(found) < len(best):
                best = found
        return store.by_type.get(cond.fact, []) if best is None else best

    def matches(self, store: _Store, body: list) -> Iterable[dict[str, Fact]]:
        """Every binding of ``body``'s positive aliases (``_i`` for unnamed conditions)."""

        def walk(i: int, bindings: dict[str, Fact]) -> Iterable[dict[str, Fact]]:
            if i == len(body):
                yield dict(bindings)
                return
            cond = body[i]
            if isinstance(cond, Not):
                inner = cond.not_
                cands = self._candidates(store, inner, bindings) or []
                if not any(condition_holds(inner, f, bindings, self.params) for f in cands):
                    yield from walk(i + 1, bindings)
                return
            cands = self._candidates(store, cond, bindings) or []
            if self.naive:
                cands = list(cands)  # a snapshot: facts derived meanwhile wait for the next round
            alias = cond.as_ or f"_{i}"
            for fact in cands:  # a live list otherwise: facts derived meanwhile are visited too
                if condition_holds(cond, fact, bindings, self.params):
                    bindings[alias] = fact
                    yield from walk(i + 1, bindings)
                    del bindings[alias]

        yield from walk(0, {})

    # derivations --------------------------------------------------------------------

    @staticmethod
    def derived_fact(d: Any, b: Mapping[str, Fact]) -> Fact:
        values: dict[str, Any] = {}
        for k, v in d.assert_.items():
            if isinstance(v, Ref):
                x = _get(b[v.alias].values, v.field)
                if x is not _ABSENT:
                    values[k] = x
            else:
                values[k] = v
        return Fact(d.fact, values)

    def run(self, facts: Iterable[Fact]) -> Result:
        store = _Store()
        res = Result(strata=dict(self.strata))
        for f in facts:
            if store.add(f):
                res.facts.append(f)
        derivations = [d for p in self.packs for d in p.derive]
        for s in sorted(set(self.strata.values())):
            mine = [(d, body) for d in derivations if self.strata[d.fact] == s for body in _bodies(d)]
            while True:  # rounds until one derives nothing new
                produced: list[Fact] = []
                for d, body in mine:
                    for b in self.matches(store, body):
                        fact = self.derived_fact(d, b)
                        if self.naive:
                            produced.append(fact)
                        elif store.add(fact):
                            produced.append(fact)
                if self.naive:
                    produced = [f for f in produced if store.add(f)]
                res.facts.extend(produced)
                res.derived.update(f.key() for f in produced)
                if not produced:
                    break
        for pack in self.packs:
            for rule in pack.rules:
                alias, fld = rule.subject.split(".", 1)
                for body in _bodies(rule):
                    for b in self.matches(store, body):
                        key = (rule.id, str(b[alias].values.get(fld)))
                        res.findings.add(key)
                        sev = self.grade(rule, b)
                        if key not in res.severities or _RANK[sev] < _RANK[res.severities[key]]:
                            res.severities[key] = sev
        return res


    def grade(self, rule: Any, b: Mapping[str, Fact]) -> str:
        """The first ``severity_when`` whose tests all hold on the bound facts, else the rule's severity."""
        for g in rule.severity_when:
            if all(holds(t, _get(b[alias].values, f), b, self.params)
                   for alias, tests in g.where.items() for f, t in tests.items()):
                return g.severity
        return rule.severity


_RANK = {s: i for i, s in enumerate(("critical", "high", "medium", "low", "info"))}


def evaluate(packs: list[Pack], params: Mapping[str, int], facts: Iterable[Fact], naive: bool = False) -> Result:
    """Derived facts and findings of ``packs`` over ``facts``."""
    return Interpreter(packs, params, naive=naive).run(facts)
