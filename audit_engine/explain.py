"""`audit-engine explain`: why a rule fired for a subject (its evidence chain), or why
it did not (the first condition of each alternative that no fact satisfies).

Findings always come from the engine; this module only reads the facts the engine
ended with (base and derived) to describe a failed match in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .audit import AuditResult
from .facts import Fact
from .findings import Explainer
from .packs.schema import Condition, Not, Op, Param, Ref, Rule


@dataclass
class Explanation:
    rule_id: str
    subject: str
    fired: bool
    finding: Any = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "subject": self.subject, "fired": self.fired,
                "finding": self.finding.to_dict() if self.finding else None, "reasons": self.reasons}


def _describe(cond: Condition) -> str:
    parts = []
    for k, t in cond.where.items():
        parts.append(f"{k} {_describe_test(t)}")
    return f"a {cond.fact} fact" + (f" with {', '.join(parts)}" if parts else "")


def _describe_test(t: Any) -> str:
    if isinstance(t, Ref):
        return f"= {t.ref}"
    if isinstance(t, Param):
        return f"= parameter {t.param}"
    if isinstance(t, Op):
        v = t.operand
        if t.name == "any_of":
            return " or ".join(_describe_test(x) for x in v)
        if t.name == "present":
            return "set" if v else "not set"
        return f"{t.name.replace('_', ' ')} {_describe_test(v) if isinstance(v, (Ref, Param)) else v}"
    return f"= {t}"


class _Matcher:
    def __init__(self, facts: list[Fact], params: dict[str, int]):
        self.by_type: dict[str, list[Fact]] = {}
        self._index: dict[tuple[str, str], dict[Any, list[Fact]]] = {}
        for f in facts:
            self.by_type.setdefault(f.type, []).append(f)
        self.params = params

    def _indexed(self, ftype: str, field: str, value: Any) -> list[Fact]:
        idx = self._index.get((ftype, field))
        if idx is None:
            idx = self._index[(ftype, field)] = {}
            for f in self.by_type.get(ftype, []):
                v = f.values.get(field)
                if v is not None and not isinstance(v, tuple):
                    idx.setdefault(v, []).append(f)
        return idx.get(value, [])

    def value(self, operand: Any, env: dict[str, Fact]) -> Any:
        if isinstance(operand, Ref):
            return env[operand.alias].values.get(operand.field)
        if isinstance(operand, Param):
            return self.params[operand.param]
        return operand

    def test(self, actual: Any, t: Any, env: dict[str, Fact]) -> bool:
        if not isinstance(t, Op):
            want = self.value(t, env)
            return actual is not None and want is not None and actual == want
        name, v = t.name, t.operand
        if name == "any_of":
            return any(self.test(actual, x, env) for x in v)
        if name == "present":
            return (actual is not None) == v
        if name == "not_in":
            return actual is None or actual not in v
        if name == "ne":
            want = self.value(v, env)
            return actual is None or actual != want
        if actual is None:
            return False
        if name == "in":
            return actual in v
        if name == "has":
            return v in actual
        if name == "has_any":
            return any(x in actual for x in v)
        want = self.value(v, env)
        if want is None:
            return False
        if name == "eq":
            return actual == want
        return {"lt": actual < want, "le": actual <= want, "gt": actual > want, "ge": actual >= want}[name]

    def matching(self, cond: Condition, env: dict[str, Fact]) -> list[Fact]:
        candidates = self.by_type.get(cond.fact, [])
        for k, t in cond.where.items():  # an equality test narrows the candidates through an index
            if not isinstance(t, Op) or t.name == "eq":
                want = self.value(t.operand if isinstance(t, Op) else t, env)
                if want is None:
                    return []
                candidates = self._indexed(cond.fact, k, want)
                break
        return [f for f in candidates if all(self.test(f.values.get(k), t, env) for k, t in cond.where.items())]


def _why_not(rule: Rule, body: list, subject: str, m: _Matcher, because: Any = None) -> str:
    s_alias, s_field = rule.subject.split(".", 1)
    best: tuple[int, str] = (-1, "")

    def walk(i: int, env: dict[str, Fact]) -> bool:
        nonlocal best
        if i == len(body):
            return True
        cond = body[i]
        if isinstance(cond, Not):
            blockers = m.matching(cond.not_, env)
            if blockers:
                if i > best[0]:
                    f = blockers[0]
                    shown = ", ".join(f"{k} {v}" for k, v in sorted(f.values.items()) if k != "name")
                    why = because(f) if because else []
                    best = (i, f"condition {i + 1} requires that there is no {_describe(cond.not_)[2:]}, "
                               f"but there is: {f.type} ({shown})" + (f", because {'; '.join(why)}" if why else ""))
                return False
            return walk(i + 1, env)
        alias = cond.as_ or f"_{i}"
        found = False
        for f in m.matching(cond, env):
            if alias == s_alias and str(f.values.get(s_field)) != subject:
                continue
            found = True
            if walk(i + 1, {**env, alias: f}):
                return True
        if not found and i > best[0]:
            extra = f" for {s_field} {subject}" if alias == s_alias else ""
            best = (i, f"condition {i + 1} fails: there is no {_describe(cond)[2:]}{extra}")
        return False

    walk(0, {})
    return best[1] or "every condition holds, yet no finding: the finding may be waived or filtered"


def explain(result: AuditResult, rule_id: str, subject: str) -> Explanation:
    program = result.ruleset.program
    _, rule = program.rules[rule_id]
    found = next((f for f in result.findings if f.rule_id == rule_id and f.subject == subject), None)
    if found:
        return Explanation(rule_id, subject, True, found)
    ev = result.evaluation
    m = _Matcher(ev.facts, program.params)
    position = {id(f): i for i, f in enumerate(ev.facts)}
    explainer = Explainer(program, ev)

    def because(fact: Fact) -> list[str]:
        idx = position.get(id(fact))
        return explainer.chain(idx)[0] if idx in ev.justifications else []

    bodies = rule.bodies()
    reasons = []
    for k, body in enumerate(bodies):
        prefix = f"alternative {k + 1}: " if len(bodies) > 1 else ""
        reasons.append(prefix + _why_not(rule, body, subject, m, because))
    return Explanation(rule_id, subject, False, None, reasons)
