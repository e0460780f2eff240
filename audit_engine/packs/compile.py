"""Compile rule packs into one durable-rules ruleset (plain JSON-able data).

What the compiler guarantees, so that the engine's silent failure modes cannot bite:

* **Stratified negation.** Every fact type gets a stratum (base facts 0; a derived type
  sits above everything its derivations use, and strictly above what they negate).
  A body with a ``not`` is *gated* by a phase fact of its stratum: it can only activate
  once every fact it negates has been asserted, so no activation ever needs cancelling
  (durable-rules' ``none()`` fails to cancel for most alias names). Packs whose
  negations go through recursion are rejected.
* **Logical joins.** Rules are compiled with ``dist: 0`` so one fact may bind two
  conditions, as in logic; every alias is chosen to hash into slot 0 of durable's
  frame table (defence in depth for the cancellation bug).
* **Absent means absent.** Facts never carry nulls; tests on absent fields follow the
  documented semantics (``ne``/``not_in``/``present: false`` hold, all others fail),
  which the reference interpreter in the test suite implements independently.
* **Limits checked at compile time** (facts per body, tests per condition, rule count),
  instead of surfacing as error codes, crashes or hangs at run time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..engine._fnv import slot0_aliases
from ..errors import did_you_mean
from ..facts import BASE_FACT_TYPES, FactType
from . import _shards
from .schema import Condition, Derivation, Not, Op, Pack, Param, Ref, Rule

ROLE_TYPE = "ROLE"  # which bodies a state runs: "tp" (touchpoint shards), "global", or both
TYPE_FIELD = "T"  # the fact type inside the engine
KEY_FIELD = "K"  # an entity's `id` inside the engine (`id` is the engine's own fact id)
PHASE_TYPE = "PHASE"
MAX_FACTS_PER_BODY = 14  # durable-rules: 16 frames; the role and phase gates take two
MAX_TESTS_PER_CONDITION = 24  # durable-rules: about 30 join tests fail at create time
MAX_BODIES = 4000  # durable-rules: 4,096 rules per ruleset


def engine_field(name: str) -> str:
    return KEY_FIELD if name == "id" else name


@dataclass(frozen=True)
class Problem:
    """A semantic problem in a pack, at a path inside the pack file."""

    pack: str
    path: tuple[str | int, ...]
    message: str


@dataclass(frozen=True)
class Body:
    """One alternative of one derivation or rule, as compiled."""

    name: str  # durable rule name
    kind: str  # "derive" or "check"
    owner: str  # derivation id or rule id
    pack: str
    alternative: int
    conditions: tuple[Condition | Not, ...]
    aliases: dict[str, str]  # user alias -> engine alias, positive conditions only
    alias_types: dict[str, str]  # user alias -> fact type
    stratum: int
    gated: bool
    local: bool = False  # runs in touchpoint shards (see _shards.py); else in the global state


@dataclass
class Program:
    """Everything the engine needs to run a set of packs with given parameters."""

    packs: tuple[Pack, ...]
    params: dict[str, int]
    fact_types: dict[str, FactType]
    strata: dict[str, int]
    bodies: dict[str, Body]
    rules: dict[str, tuple[Pack, Rule]]
    derivations: dict[str, tuple[Pack, Derivation]]
    ruleset: dict[str, Any]
    engine_fields: dict[str, frozenset[str]]  # fact type -> engine fields tests use
    max_stratum: int
    digest: str = ""
    checks_by_rule: dict[str, list[str]] = field(default_factory=dict)
    anchored: dict[str, str] = field(default_factory=dict)  # fact type -> field naming its touchpoint
    types_in_shards: frozenset[str] = frozenset()
    types_in_global: frozenset[str] = frozenset()


class CompileProblems(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def _derived_types(packs: Iterable[Pack], problems: list[Problem]) -> dict[str, FactType]:
    types: dict[str, FactType] = {}
    for pack in packs:
        for i, d in enumerate(pack.derive):
            if d.fact in BASE_FACT_TYPES:
                problems.append(Problem(pack.pack, ("derive", i, "fact"),
                                        f"'{d.fact}' is a base fact type; a derivation must assert a new type"))
                continue
            fields = {k: "id" for k in d.assert_}
            prev = types.get(d.fact)
            if prev and set(prev.fields) != set(fields):
                problems.append(Problem(pack.pack, ("derive", i, "assert"),
                                        f"derived fact '{d.fact}' is asserted with fields {sorted(fields)} here but "
                                        f"{sorted(prev.fields)} elsewhere"))
                continue
            types[d.fact] = FactType(d.fact, fields, None, True, d.because, frozenset(fields))
    # a derived field is always set when every derivation asserts a literal or an always-set field
    changed = True
    while changed:
        changed = False
        for pack in packs:
            for d in pack.derive:
                t = types.get(d.fact)
                if t is None:
                    continue
                for body in d.bodies():
                    alias_type = {(c.as_ or f"_{i}"): c.fact for i, c in enumerate(body) if isinstance(c, Condition)}
                    for k, v in d.assert_.items():
                        if isinstance(v, Ref) and k in t.required:
                            src = types.get(alias_type.get(v.alias, "")) or BASE_FACT_TYPES.get(alias_type.get(v.alias, ""))
                            if src is None or v.field not in src.required:
                                t = types[d.fact] = dataclasses.replace(t, required=t.required - {k})
                                changed = True
    return types


def derivation_key(pack: Pack, d: Derivation) -> str:
    """Derivation ids are unique within their pack."""
    return f"{pack.pack}/{d.id}"


def _iter_bodies(pack: Pack) -> Iterable[tuple[str, str, Any, int, list, tuple]]:
    for i, d in enumerate(pack.derive):
        key = "when" if d.when is not None else "when_any"
        for j, body in enumerate(d.bodies()):
            path = ("derive", i, key) if d.when is not None else ("derive", i, key, j)
            yield "derive", derivation_key(pack, d), d, j, body, path
    for i, r in enumerate(pack.rules):
        key = "when" if r.when is not None else "when_any"
        for j, body in enumerate(r.bodies()):
            path = ("rules", i, key) if r.when is not None else ("rules", i, key, j)
            yield "check", r.id, r, j, body, path


def _stratify(packs: list[Pack], types: dict[str, FactType], problems: list[Problem]) -> dict[str, int]:
    strata = {t: 0 for t in BASE_FACT_TYPES}
    strata.update({t: 0 for t in types})
    limit = len(types) + 1
    changed = True
    while changed:
        changed = False
        for pack in packs:
            for d in pack.derive:
                if d.fact not in strata:
                    continue
                need = max((_body_stratum(b, strata) for b in d.bodies()), default=0)
                if need > strata[d.fact]:
                    if need > limit:
                        problems.append(Problem(pack.pack, ("derive",),
                                                f"derived fact '{d.fact}' depends on its own negation "
                                                "(negation through recursion cannot be evaluated)"))
                        return strata
                    strata[d.fact] = need
                    changed = True
    return strata


def _body_stratum(body: list, strata: dict[str, int]) -> int:
    s = 0
    for c in body:
        if isinstance(c, Not):
            s = max(s, strata.get(c.not_.fact, 0) + 1)
        else:
            s = max(s, strata.get(c.fact, 0))
    return s


class _BodyCompiler:
    def __init__(self, pack: Pack, types: dict[str, FactType], params: dict[str, int], path: tuple,
                 problems: list[Problem], used: dict[str, set[str]]):
        self.pack, self.types, self.params, self.path = pack, types, params, path
        self.problems, self.used = problems, used
        self.aliases: dict[str, str] = {}
        self.alias_types: dict[str, str] = {}
        self._names = iter(slot0_aliases())

    def problem(self, sub: tuple, message: str) -> None:
        self.problems.append(Problem(self.pack.pack, self.path + sub, message))

    def compile(self, body: list) -> list[dict[str, Any]] | None:
        out: list[tuple[str, list[dict[str, Any]]]] = []
        tests_of: dict[str, list[dict[str, Any]]] = {}
        self.required: dict[str, set[str]] = {}  # alias -> fields a non-equality join reads
        self._negated = False
        n_pos = 0
        before = len(self.problems)
        for i, cond in enumerate(body):
            if isinstance(cond, Not):
                self._negated = True
                inner = self._condition(cond.not_, (i, "not"))
                self._negated = False
                if inner is not None:
                    out.append((next(self._names) + "$not", inner))
            else:
                n_pos += 1
                inner = self._condition(cond, (i,))
                alias = cond.as_ or f"_{i}"
                if cond.as_ in self.aliases:
                    self.problem((i, "as"), f"alias '{cond.as_}' is used twice in one body")
                engine_alias = next(self._names)
                self.aliases[alias] = engine_alias
                self.alias_types[alias] = cond.fact
                if inner is not None:
                    tests_of[alias] = inner
                    out.append((engine_alias, inner))
        for alias, fields in self.required.items():  # facts without them can never match
            tests_of.get(alias, []).extend({"$ex": {f: 1}} for f in sorted(fields))
        if n_pos > MAX_FACTS_PER_BODY:
            self.problem((), f"a body joins {n_pos} facts; the engine allows at most {MAX_FACTS_PER_BODY}")
        if len(self.problems) != before:
            return None
        return [{name: tests[0] if len(tests) == 1 else {"$and": tests}} for name, tests in out]

    def _condition(self, cond: Condition, sub: tuple) -> list[dict[str, Any]] | None:
        """The condition's tests: the type, then every join, then the other tests (durable-rules
        ignores a join test written after an alpha ``$or`` in the same condition)."""
        ftype = self.types.get(cond.fact) or BASE_FACT_TYPES.get(cond.fact)
        if ftype is None:
            hint = did_you_mean(cond.fact, list(BASE_FACT_TYPES) + list(self.types))
            self.problem(sub + ("fact",), f"unknown fact type '{cond.fact}'"
                         + (f" (did you mean '{hint[0]}'?)" if hint else ""))
            return None
        joins: list[dict[str, Any]] = []
        alphas: list[dict[str, Any]] = []
        self._guards: set[str] = set()  # fields of this fact a non-equality join reads
        for fname, test in cond.where.items():
            if fname not in ftype.fields:
                hint = did_you_mean(fname, ftype.fields)
                self.problem(sub + ("where", fname), f"fact '{cond.fact}' has no field '{fname}'"
                             + (f" (did you mean '{hint[0]}'?)" if hint else "")
                             + f"; its fields are {', '.join(ftype.fields)}")
                continue
            self.used.setdefault(cond.fact, set()).add(engine_field(fname))
            compiled = self._test(engine_field(fname), test, ftype.fields[fname], sub + ("where", fname))
            for is_join, expr in (compiled if isinstance(compiled, list) else [compiled] if compiled else []):
                (joins if is_join else alphas).append(expr)
        alphas.extend({"$ex": {f: 1}} for f in sorted(self._guards))
        tests = [{TYPE_FIELD: cond.fact}] + joins + alphas
        if len(tests) > MAX_TESTS_PER_CONDITION:
            self.problem(sub, f"a condition has {len(tests)} tests; the engine allows at most {MAX_TESTS_PER_CONDITION}")
        self.used.setdefault(cond.fact, set())
        return tests

    def _operand(self, value: Any, sub: tuple) -> tuple[Any, str] | None:
        """(compiled operand, its kind), or None after reporting a problem."""
        if isinstance(value, Ref):
            if value.alias not in self.aliases:
                self.problem(sub, f"'{value.ref}' refers to alias '{value.alias}', which no earlier positive "
                                  "condition of this body defines")
                return None
            ftype = self.alias_types[value.alias]
            fields = (self.types.get(ftype) or BASE_FACT_TYPES[ftype]).fields
            if value.field not in fields:
                self.problem(sub, f"'{value.ref}': fact '{ftype}' has no field '{value.field}'")
                return None
            self.used.setdefault(ftype, set()).add(engine_field(value.field))
            return {self.aliases[value.alias]: engine_field(value.field)}, fields[value.field]
        if isinstance(value, Param):
            if value.param not in self.params:
                self.problem(sub, f"unknown parameter '{value.param}' (declare it under 'parameters')")
                return None
            return self.params[value.param], "int"
        return value, _literal_kind(value)

    def _kind_ok(self, field_kind: str, operand_kind: str, sub: tuple, what: str) -> bool:
        """durable-rules coerces types in comparisons (false == 0, "0" == 0): refuse mixed kinds."""
        if _KIND_CLASS.get(field_kind) == _KIND_CLASS.get(operand_kind):
            return True
        self.problem(sub, f"{what} compares a {_KIND_NAME[field_kind]} field with a {_KIND_NAME[operand_kind]}")
        return False

    def _test(self, f: str, test: Any, kind: str, sub: tuple) -> tuple[bool, dict[str, Any]] | None:
        """(is it a join?, the compiled test)."""
        if not isinstance(test, Op):
            test = Op(eq=test)
        name, operand = test.name, test.operand
        absent = {"$nex": {f: 1}}
        if name == "any_of":
            if any(isinstance(t.operand, Ref) or t.name == "all_of" for t in operand):
                self.problem(sub, "any_of cannot hold a {ref: ...} or an all_of: write the alternatives with when_any")
                return None
            parts = [self._test(f, t, kind, sub + ("any_of", k)) for k, t in enumerate(operand)]
            return None if any(p is None for p in parts) else (False, {"$or": [p[1] for p in parts if p]})
        if name == "all_of":
            parts = [self._test(f, t, kind, sub + ("all_of", k)) for k, t in enumerate(operand)]
            if any(p is None for p in parts):
                return None
            return [p for p in parts if p]  # type: ignore[return-value]
        if name == "present":
            return False, ({"$ex": {f: 1}} if operand else absent)
        if name in ("in", "not_in", "has", "has_any"):
            items = operand if isinstance(operand, list) else [operand]
            item_kind = "str" if name in ("has", "has_any") else kind
            if name in ("has", "has_any") and kind != "list":
                self.problem(sub, f"'{name}' tests a list field; this field is a single value (use eq or in)")
                return None
            if name in ("in", "not_in") and kind == "list":
                self.problem(sub, f"'{name}' compares a single value; this field is a list (use has or has_any)")
                return None
            if not all(self._kind_ok(item_kind, _literal_kind(v), sub, f"'{name}'") for v in items):
                return None
            if name in ("has", "has_any"):
                inner = [{"$i": v} for v in items]
                # one $iany per value: an $or inside $iany makes create_ruleset read an uninitialised
                # node (createForwardAlpha leaves expression.right.type unset) and fail now and
                # then with error 102
                anys = [{"$iany": {f: i}} for i in inner]
                return False, anys[0] if len(anys) == 1 else {"$or": anys}
            if name == "in":
                eqs = [{f: v} for v in items]
                return False, (eqs[0] if len(eqs) == 1 else {"$or": eqs})
            neqs = [{"$neq": {f: v}} for v in items]
            return False, {"$or": [absent, neqs[0] if len(neqs) == 1 else {"$and": neqs}]}
        got = self._operand(operand, sub + (name,))
        if got is None:
            return None
        v, operand_kind = got
        if kind == "list":
            self.problem(sub, f"'{name}' compares a single value; this field is a list (use has or has_any)")
            return None
        if name in ("lt", "le", "gt", "ge") and kind != "int":
            self.problem(sub, f"'{name}' compares numbers; this field is a {_KIND_NAME[kind]}")
            return None
        if not self._kind_ok(kind, operand_kind, sub, f"'{name}'"):
            return None
        is_join = isinstance(operand, Ref)
        if name == "eq":
            return is_join, {f: v}
        op = {"ne": "$neq", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}[name]
        if is_join:
            # durable-rules fails (error 311) when either side of a non-equality join is absent:
            # such a test holds only when both fields are set, so facts without them are kept
            # out by alpha tests (flat ones: a join nested in an `$and` has crashed the engine).
            ref_type = self.alias_types[operand.alias]
            ref_required = (self.types.get(ref_type) or BASE_FACT_TYPES[ref_type]).required
            if operand.field not in ref_required:
                if self._negated:
                    self.problem(sub, f"inside 'not', '{name}' can only compare with a field every "
                                      f"'{ref_type}' fact has; '{operand.field}' may be absent (test it with "
                                      "present: true in a derived fact and negate that)")
                    return None
                self.required.setdefault(operand.alias, set()).add(engine_field(operand.field))
            self._guards.add(f)
            return True, {"$or": [{op: {f: v}}]}
        if name == "ne":
            return False, {"$or": [absent, {"$neq": {f: v}}]}
        return False, {op: {f: v}}


_KIND_CLASS = {"id": "text", "str": "text", "int": "int", "bool": "bool", "list": "list"}
_KIND_NAME = {"id": "text", "str": "text", "int": "number", "bool": "true/false", "list": "list"}


def _has_ref(test: Any) -> bool:
    if isinstance(test, Ref):
        return True
    if isinstance(test, Op):
        v = test.operand
        return any(_has_ref(t) for t in v) if test.name in ("any_of", "all_of") else isinstance(v, Ref)
    return False


def _literal_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "str"


def compile_packs(packs: list[Pack], params: dict[str, int]) -> Program:
    """Compile ``packs`` with resolved ``params`` (defaults already applied).

    Raises :class:`CompileProblems` listing every semantic problem found.
    """
    problems: list[Problem] = []
    types = _derived_types(packs, problems)
    strata = _stratify(packs, types, problems)
    all_types = {**BASE_FACT_TYPES, **types}
    used: dict[str, set[str]] = {}
    bodies: dict[str, Body] = {}
    ruleset: dict[str, Any] = {}
    rules: dict[str, tuple[Pack, Rule]] = {}
    derivations: dict[str, tuple[Pack, Derivation]] = {}
    checks_by_rule: dict[str, list[str]] = {}
    pending: list[tuple[str, list]] = []
    retired = {r.id: pack.pack for pack in packs for r in pack.retired}
    for pack in packs:
        for i, r in enumerate(pack.rules):
            if r.id in retired:
                problems.append(Problem(pack.pack, ("rules", i, "id"), f"rule id {r.id} was retired (pack "
                                        f"'{retired[r.id]}'); a retired id is never reused: choose a new one"))
            if r.id in rules:
                problems.append(Problem(pack.pack, ("rules",), f"rule {r.id} is defined by packs "
                                        f"'{rules[r.id][0].pack}' and '{pack.pack}'"))
            rules[r.id] = (pack, r)
        for i, d in enumerate(pack.derive):
            if derivation_key(pack, d) in derivations:
                problems.append(Problem(pack.pack, ("derive", i, "id"), f"derivation '{d.id}' is defined twice "
                                        "in this pack"))
            derivations[derivation_key(pack, d)] = (pack, d)
        for kind, owner, item, j, body, path in _iter_bodies(pack):
            bc = _BodyCompiler(pack, types, params, path, problems, used)
            conds = bc.compile(body)
            if conds is None:
                continue
            _check_outputs(kind, item, bc, path, pack, problems)
            stratum = _body_stratum(body, strata)
            gated = any(isinstance(c, Not) for c in body)
            name = f"{'d' if kind == 'derive' else 'c'}{len(bodies)}"
            pending.append((name, conds))
            bodies[name] = Body(name, kind, owner, pack.pack, j, tuple(body), dict(bc.aliases),
                                dict(bc.alias_types), stratum, gated)
            if kind == "check":
                checks_by_rule.setdefault(owner, []).append(name)
    anchored, local = _shards.plan([d for _, d in derivations.values()],
                                   {name: list(b.conditions) for name, b in bodies.items()})
    in_shards: set[str] = set()
    in_global: set[str] = set()
    role_alias, gate_alias = slot0_aliases()[-2], slot0_aliases()[-1]
    for name, conds in pending:
        b = bodies[name]
        b = bodies[name] = dataclasses.replace(b, local=local[name])
        (in_shards if b.local else in_global).update(_shards.conditions_types(list(b.conditions)))
        front = [{role_alias: {"$and": [{TYPE_FIELD: ROLE_TYPE}, {"r": "tp" if b.local else "global"}]}}]
        if b.gated:
            front.append({gate_alias: {"$and": [{TYPE_FIELD: PHASE_TYPE}, {"n": b.stratum}]}})
        ruleset[name] = {"all": front + conds, "dist": 0}
    if len(bodies) > MAX_BODIES:
        problems.append(Problem(packs[0].pack if packs else "", (), f"{len(bodies)} rule bodies; the engine allows {MAX_BODIES}"))
    if problems:
        raise CompileProblems(problems)
    max_stratum = max((b.stratum for b in bodies.values() if b.gated), default=0)
    engine_fields = {t: frozenset(f) for t, f in used.items()}
    # a derived type nobody matches is still needed for evidence of findings? no: not asserted.
    digest = hashlib.sha256(json.dumps(
        {"ruleset": ruleset, "params": params, "packs": [(p.pack, p.version) for p in packs]},
        sort_keys=True).encode()).hexdigest()
    return Program(tuple(packs), dict(params), all_types, strata, bodies, rules, derivations, ruleset,
                   engine_fields, max_stratum, digest, checks_by_rule, anchored,
                   frozenset(in_shards), frozenset(in_global))


def _check_outputs(kind: str, item: Any, bc: _BodyCompiler, path: tuple, pack: Pack, problems: list[Problem]) -> None:
    from .._template import placeholders

    top = path[:2]
    if kind == "derive":
        for k, v in item.assert_.items():
            if isinstance(v, Ref):
                bc._operand(v, ("assert", k))
        texts = [("because", item.because)]
    else:
        alias, fld = item.subject.split(".", 1)
        if alias not in bc.aliases:
            problems.append(Problem(pack.pack, top + ("subject",), f"subject '{item.subject}' names alias '{alias}', "
                                    "which no positive condition of the body defines"))
        else:
            ftype = bc.types.get(bc.alias_types[alias]) or BASE_FACT_TYPES[bc.alias_types[alias]]
            if fld not in ftype.fields:
                problems.append(Problem(pack.pack, top + ("subject",), f"subject '{item.subject}': fact "
                                        f"'{ftype.name}' has no field '{fld}'"))
            elif ftype.entity and fld == "id" and ftype.entity not in item.subject_kinds:
                problems.append(Problem(pack.pack, top + ("subject_kind",), f"the subject is a {ftype.entity} here, "
                                        f"but subject_kind says {', '.join(item.subject_kinds)}"))
        for k, grade in enumerate(item.severity_when):
            for g_alias, tests in grade.where.items():
                where = top + ("severity_when", k, "where", g_alias)
                if g_alias not in bc.aliases:
                    problems.append(Problem(pack.pack, where, f"severity_when names alias '{g_alias}', which no "
                                            "positive condition of the body defines"))
                    continue
                ftype = bc.types.get(bc.alias_types[g_alias]) or BASE_FACT_TYPES[bc.alias_types[g_alias]]
                for fname, test in tests.items():
                    if fname not in ftype.fields:
                        problems.append(Problem(pack.pack, where + (fname,), f"fact '{ftype.name}' has no field '{fname}'"))
                    elif _has_ref(test):
                        problems.append(Problem(pack.pack, where + (fname,), "severity_when tests literals and "
                                                "parameters only, not {ref: ...}"))
        texts = [("message", item.message)] + [(("evidence", i)) + (t,) for i, t in enumerate(item.evidence)]
    for entry in texts:
        where, text = entry[:-1], entry[-1]
        for alias, fld in placeholders(text):
            if alias == "param":
                if fld not in bc.params:
                    problems.append(Problem(pack.pack, top + where, f"template names unknown parameter '{fld}'"))
            elif alias not in bc.aliases:
                problems.append(Problem(pack.pack, top + where, f"template placeholder '{{{alias}.{fld}}}' names "
                                        f"alias '{alias}', which no positive condition of the body defines"))
            else:
                ftype = bc.alias_types[alias]
                if fld not in (bc.types.get(ftype) or BASE_FACT_TYPES[ftype]).fields:
                    problems.append(Problem(pack.pack, top + where, f"template placeholder '{{{alias}.{fld}}}': "
                                            f"fact '{ftype}' has no field '{fld}'"))
