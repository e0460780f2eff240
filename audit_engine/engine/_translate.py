"""A rule program as a durable-rules ruleset (plain JSON-able data).

Everything durable-rules needs and nothing else knows: its operators (``$neq``,
``$iany``, ``$ex``...), its alias and frame limits, and the guards that keep its silent
failure modes from biting (each has a regression test in tests/engine/test_engine_regressions.py):

* Every body runs in one *role* of state (the touchpoint shards, the global state or the
  late one, see ``_plan``): each fact asserted into a state carries the flags of the
  state's roles and each condition tests its body's flag, so a fact enters no join memory
  of another role's body. A body with a negation is gated by a *phase* fact of its
  stratum: it can only activate once every fact it negates has been asserted, so no
  activation ever needs cancelling (``none()`` fails to cancel for most alias names). The
  gate comes right after the body's first condition (before every negation): the first
  fact of a rule is then kept in no join memory (see ``_gate_first``); when the first
  condition must not come first, a role fact comes first instead.
* Rules are compiled with ``dist: 0`` so one fact may bind two conditions, as in logic;
  every alias hashes into slot 0 of durable's frame table (defence in depth).
* Facts never carry nulls; ``ne``/``not_in``/``present: false`` hold on absent fields.
* Joins come before alpha tests in a condition (a join written after an ``$or`` is
  silently ignored); a non-equality join reads only fields both sides have, guarded by
  ``$ex`` tests written flat (error 311 otherwise; a join nested in ``$and`` crashed).
* Literals of another type than the field never reach the engine (it coerces
  ``false == 0``); the compiler refuses them.
* ``has_any`` is an ``$or`` of ``$iany`` tests, never an ``$or`` inside ``$iany`` (that
  makes create_ruleset read an uninitialised node and fail at random with error 102).
* Limits are checked here (facts per body, tests per condition, bodies per ruleset)
  instead of surfacing as error codes, crashes or hangs at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..packs.program import Body, CompileProblems, Condition, FieldRef, Problem, Program, Test
from ._fnv import slot0_aliases
from ._plan import Plan

ROLE_TYPE = "ROLE"
TYPE_FIELD = "T"  # the fact type inside the engine
KEY_FIELD = "K"  # an entity's `id` inside the engine (`id` is the engine's own fact id)
PHASE_TYPE = "PHASE"
ROLES = ("tp", "global", "late")  # shards, the global state, the late state (see _plan)


def role_flag(r: str) -> str:
    """The field every fact asserted into a state of role ``r`` carries (value 1)."""
    return "R" + r
MAX_FACTS_PER_BODY = 14  # durable-rules: 16 frames; the role and phase gates take two
MAX_TESTS_PER_CONDITION = 24  # durable-rules: about 30 join tests fail at create time
MAX_BODIES = 4000  # durable-rules: 4,096 rules per ruleset
# activations handed over at once per body: one call and one string for up to this many
# frames instead of one each (``cap`` is an unsigned short in durable-rules)
CAP = 10000


def engine_field(name: str) -> str:
    return KEY_FIELD if name == "id" else name


@dataclass(frozen=True)
class Translation:
    ruleset: dict[str, Any]
    aliases: dict[str, dict[str, str]]  # body name -> user alias -> engine alias
    fields: dict[str, frozenset[str]]  # fact type -> engine fields the ruleset reads


def translate(program: Program, plan: Plan, skip: frozenset[str] = frozenset()) -> Translation:
    """The ruleset; raises CompileProblems (at pack positions) for bodies past the engine's limits."""
    problems: list[Problem] = []
    ruleset: dict[str, Any] = {}
    aliases: dict[str, dict[str, str]] = {}
    role_alias, gate_alias = slot0_aliases()[-2:]  # made here, not at import: a cached rule set never asks
    for name, body in program.bodies.items():
        if name in skip:
            continue  # applied by the driver (see _plan.direct_bodies)
        r = role(plan, name)
        conds, names = _Body(body, problems, role_flag(r)).translate()
        front = []
        first = 0 if _gate_first(body.conditions[0]) else 1
        if not first:
            front.append({role_alias: {"$and": [{TYPE_FIELD: ROLE_TYPE}, {"r": r}]}})
        if body.gated:
            front.append({gate_alias: {"$and": [{TYPE_FIELD: PHASE_TYPE}, {"n": body.stratum}]}})
        ruleset[name] = {"all": conds[:first] + front + conds[first:], "dist": 0, "cap": CAP}
        aliases[name] = names
    if len(program.bodies) > MAX_BODIES:
        first = next(iter(program.bodies.values()), None)
        problems.append(Problem(first.pack if first else "", (), f"{len(program.bodies)} rule bodies; the engine "
                                f"allows {MAX_BODIES}"))
    if problems:
        raise CompileProblems(problems)
    fields = {t: frozenset(engine_field(f) for f in fs)
              for t, fs in program.read_fields([n for n in program.bodies if n not in skip]).items()}
    return Translation(ruleset, aliases, fields)


def role(plan: Plan, body: str) -> str:
    """The state a body runs in: the shards', the global or the late one."""
    return ROLES[0] if plan.local[body] else ROLES[2] if plan.deferred[body] else ROLES[1]


def _gate_first(c: Condition) -> bool:
    """Must a gate (the role fact) come before this first condition?

    A rule's first fact is not stored in a join memory; one that comes after the gates is
    stored in a memory whose frames share one hash, and durable-rules walks all of them on
    every insert (quadratic). So the first condition goes first, unless it is negated or
    one fact may pass two branches of an ``$or`` in it (``has_any``, ``any_of``): the
    engine then delivers the fact twice, and only a joined memory drops the copy.
    """
    return c.negated or any(t.op in ("has_any", "any_of") and len(t.value) > 1 for t in c.tests)


class _Body:
    def __init__(self, body: Body, problems: list[Problem], flag: str):
        self.body, self.problems, self.flag = body, problems, flag
        self.names = iter(slot0_aliases())
        self.engine: dict[str, str] = {}  # user alias -> engine alias
        self.guards: dict[str, set[str]] = {}  # user alias -> engine fields a non-equality join reads

    def problem(self, sub: tuple, message: str) -> None:
        self.problems.append(Problem(self.body.pack, self.body.path + sub, message))

    def translate(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        out: list[tuple[str, str | None, list[dict[str, Any]]]] = []
        positive = 0
        for c in self.body.conditions:
            name = next(self.names)
            if not c.negated:
                positive += 1
                self.engine[c.alias] = name
            out.append((name + "$not" if c.negated else name, None if c.negated else c.alias, self._condition(c)))
        for _, alias, tests in out:  # facts without the fields a comparison join reads never match
            if alias in self.guards:
                tests.extend({"$ex": {f: 1}} for f in sorted(self.guards[alias]))
        if positive > MAX_FACTS_PER_BODY:
            self.problem((), f"a body joins {positive} facts; the engine allows at most {MAX_FACTS_PER_BODY}")
        for _, _, tests in out:
            if len(tests) > MAX_TESTS_PER_CONDITION:
                self.problem((), f"a condition has {len(tests)} tests; the engine allows at most "
                                 f"{MAX_TESTS_PER_CONDITION}")
        return [{name: tests[0] if len(tests) == 1 else {"$and": tests}} for name, _, tests in out], self.engine

    def _condition(self, c: Condition) -> list[dict[str, Any]]:
        joins: list[dict[str, Any]] = []
        alphas: list[dict[str, Any]] = []
        own_guards: set[str] = set()
        for t in c.tests:
            f = engine_field(t.field)
            if isinstance(t.value, FieldRef):
                ref = {self.engine[t.value.alias]: engine_field(t.value.field)}
                if t.op == "eq":
                    joins.append({f: ref})
                    continue
                op = {"ne": "$neq", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}[t.op]
                joins.append({"$or": [{op: {f: ref}}]})
                own_guards.add(f)
                self.guards.setdefault(t.value.alias, set()).add(engine_field(t.value.field))
            else:
                alphas.append(_alpha(f, t))
        alphas.extend({"$ex": {f: 1}} for f in sorted(own_guards))
        return [{TYPE_FIELD: c.fact}, {self.flag: 1}] + joins + alphas


def _alpha(f: str, t: Test) -> dict[str, Any]:
    absent = {"$nex": {f: 1}}
    op, v = t.op, t.value
    if op == "any_of":
        return {"$or": [_alpha(f, x) for x in v]}
    if op == "present":
        return {"$ex": {f: 1}} if v else absent
    if op == "has":
        return {"$iany": {f: {"$i": v}}}
    if op == "has_any":
        anys = [{"$iany": {f: {"$i": x}}} for x in v]
        return anys[0] if len(anys) == 1 else {"$or": anys}
    if op == "in":
        eqs = [{f: x} for x in v]
        return eqs[0] if len(eqs) == 1 else {"$or": eqs}
    if op == "not_in":
        neqs = [{"$neq": {f: x}} for x in v]
        return {"$or": [absent, neqs[0] if len(neqs) == 1 else {"$and": neqs}]}
    if op == "eq":
        return {f: v}
    if op == "ne":
        return {"$or": [absent, {"$neq": {f: v}}]}
    return {{"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}[op]: {f: v}}
