"""`audit-engine explain`: why a rule fired for a subject (its evidence chain), or why it
did not (in each alternative, the first condition no fact satisfies, in plain words).

Findings always come from the engine. To explain a miss, this module walks the rule's
compiled conditions over the facts the engine ended with (base and derived), using the
program's own meaning of a test (``packs.program.holds``); a property test pins the
walk to the independent reference interpreter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .audit import AuditResult
from .facts import Fact
from .findings import Explainer, Finding
from .packs.program import Body, Condition, FieldRef, Program, Test, holds

_OPS = {"eq": "is", "ne": "is not", "lt": "is below", "le": "is at most", "gt": "is above", "ge": "is at least",
        "in": "is one of", "not_in": "is none of", "has": "includes", "has_any": "includes any of"}


@dataclass(frozen=True)
class Explanation:
    rule_id: str
    subject: str
    fired: bool
    finding: Finding | None = None
    reasons: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "subject": self.subject, "fired": self.fired,
                "finding": self.finding.to_dict() if self.finding else None, "reasons": list(self.reasons)}


def describe_test(t: Test) -> str:
    """A test in words: ``authentication is none``, ``captures includes near_miss``."""
    name = t.field.replace("_", " ")
    v = t.value
    if t.op == "any_of":
        return " or ".join(describe_test(x) for x in v)
    if t.op == "present":
        return f"{name} is set" if v else f"{name} is not set"
    shown = (f"that of {v}" if isinstance(v, FieldRef) else
             ", ".join(map(_lit, v)) if isinstance(v, tuple) else _lit(v))
    return f"{name} {_OPS[t.op]} {shown}"


def _lit(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def describe_condition(c: Condition) -> str:
    kind = c.fact.replace("_", " ")
    tests = [describe_test(t) for t in c.tests]
    return f"a {kind}" + (f" whose {' and '.join(tests)}" if tests else "")


class _Facts:
    """The evaluation's facts by type, with equality indexes built on demand."""

    def __init__(self, facts: list[Fact]):
        self.by_type: dict[str, list[int]] = {}
        for i, f in enumerate(facts):
            self.by_type.setdefault(f.type, []).append(i)
        self.facts = facts
        self._index: dict[tuple[str, str], dict[Any, list[int]]] = {}

    def with_value(self, fact: str, field_name: str, value: Any) -> list[int]:
        key = (fact, field_name)
        idx = self._index.get(key)
        if idx is None:
            idx = self._index[key] = {}
            for i in self.by_type.get(fact, []):
                v = self.facts[i].values.get(field_name)
                if v is not None and not isinstance(v, tuple):
                    idx.setdefault((type(v) is bool, v), []).append(i)
        return idx.get((type(value) is bool, value), [])


def _ready(t: Test, bound: dict[str, dict[str, Any]]) -> bool:
    return not isinstance(t.value, FieldRef) or t.value.alias in bound


def _passes(tests: Any, values: dict[str, Any], bound: dict[str, dict[str, Any]]) -> bool:
    return all(holds(t, values.get(t.field), lambda r: bound[r.alias].get(r.field)) for t in tests)


class _Walk:
    """Matches a body with the subject's condition first, so that a miss is explained
    from the subject's side ("analytics holds no PHI"), not from an unrelated fact."""

    def __init__(self, program: Program, body: Body, subject_alias: str, subject_field: str, subject: str,
                 facts: _Facts, because: Callable[[int], list[str]] | None):
        self.p, self.facts, self.because = program, facts, because
        self.subject_alias, self.subject_field, self.subject = subject_alias, subject_field, subject
        conds = list(body.conditions)
        first = [c for c in conds if c.alias == subject_alias and not c.negated]
        self.order = first + [c for c in conds if c not in first]
        self.best: tuple[int, str] = (-1, "")

    def fail(self, i: int, why: str) -> None:
        if i > self.best[0]:
            self.best = (i, why)

    def known(self, c: Condition, bound: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Field values a fact for ``c`` would need, from the bindings so far."""
        out: dict[str, Any] = {}
        for t in c.tests:
            if t.op == "eq":
                v = bound[t.value.alias].get(t.value.field) if isinstance(t.value, FieldRef) and \
                    t.value.alias in bound else (None if isinstance(t.value, FieldRef) else t.value)
                if v is not None:
                    out[t.field] = v
        for d in self.order:  # tests of conditions already bound that point at this one
            if d.alias in bound and not d.negated:
                for t in d.tests:
                    if t.op == "eq" and isinstance(t.value, FieldRef) and t.value.alias == c.alias:
                        v = bound[d.alias].get(t.field)
                        if v is not None:
                            out[t.value.field] = v
        if c.alias == self.subject_alias:
            out[self.subject_field] = self.subject
        return out

    def missing(self, c: Condition, bound: dict[str, dict[str, Any]]) -> str:
        doc = self.p.fact_docs.get(c.fact)
        known = self.known(c, bound)
        if doc is not None and doc.missing:
            return re.sub(r"\{([a-z][a-z0-9_]*)\}", lambda m: str(known.get(m.group(1), "any")), doc.missing)
        shown = ", ".join(f"{k} {_lit(v)}" for k, v in known.items())
        return f"there is no {describe_condition(c)[2:]}" + (f" ({shown})" if shown else "")

    def candidates(self, c: Condition, bound: dict[str, dict[str, Any]]) -> list[int]:
        known = self.known(c, bound)
        for name, value in known.items():
            return self.facts.with_value(c.fact, name, value)
        return self.facts.by_type.get(c.fact, [])

    def back_tests_hold(self, c: Condition, values: dict[str, Any], bound: dict[str, dict[str, Any]]) -> bool:
        """Tests of conditions bound earlier that refer to ``c``, now that ``c`` has a fact."""
        now = {**bound, c.alias: values}
        for d in self.order:
            if d.alias in bound and d is not c and not d.negated:
                late = [t for t in d.tests if isinstance(t.value, FieldRef) and t.value.alias == c.alias]
                if late and not _passes(late, bound[d.alias], now):
                    return False
        return True

    def walk(self, i: int, bound: dict[str, dict[str, Any]]) -> bool:
        if i == len(self.order):
            return True
        c = self.order[i]
        ready = tuple(t for t in c.tests if _ready(t, bound))
        if c.negated:
            blockers = [j for j in self.candidates(c, bound) if _passes(ready, self.facts.facts[j].values, bound)]
            if not blockers:
                return self.walk(i + 1, bound)
            f = self.facts.facts[blockers[0]]
            shown = ", ".join(f"{k} {_lit(v)}" for k, v in sorted(f.values.items()) if k != "name")
            why = self.because(blockers[0]) if self.because else []
            self.fail(i, f"it requires that there is no {describe_condition(c)[2:]}, but there is one ({shown})"
                         + (f", because {'; '.join(why)}" if why else ""))
            return False
        found = False
        near: list[tuple[dict[str, Any], Test]] = []
        for j in self.candidates(c, bound):
            values = self.facts.facts[j].values
            if c.alias == self.subject_alias and str(values.get(self.subject_field)) != self.subject:
                continue
            bad = next((t for t in ready if not holds(t, values.get(t.field), lambda r: bound[r.alias].get(r.field))),
                       None)
            if bad is not None:
                near.append((values, bad))
                continue
            if not self.back_tests_hold(c, values, bound):
                continue
            found = True
            if self.walk(i + 1, {**bound, c.alias: values}):
                return True
        if not found:
            if near and c.alias == self.subject_alias:
                values, t = near[0]
                actual = values.get(t.field)
                self.fail(i, f"{self.subject} does not qualify: its {t.field.replace('_', ' ')} is "
                             f"{_lit(actual) if actual is not None else 'not set'}, and the rule needs "
                             f"{describe_test(t)}")
            else:
                self.fail(i, self.missing(c, bound))
        return False


def why_not(program: Program, body: Body, subject_alias: str, subject_field: str, subject: str, facts: _Facts,
            because: Callable[[int], list[str]] | None = None) -> tuple[bool, str]:
    """(does the body match for ``subject``?, the furthest condition that fails, in words)."""
    w = _Walk(program, body, subject_alias, subject_field, subject, facts, because)
    matched = w.walk(0, {})
    return matched, w.best[1]


def explain(result: AuditResult, rule_id: str, subject: str) -> Explanation:
    program = result.ruleset.program
    _, rule = program.rules[rule_id]
    found = next((f for f in result.findings if f.rule_id == rule_id and f.subject == subject), None)
    if found:
        return Explanation(rule_id, subject, True, found)
    ev = result.evaluation
    facts = _Facts(ev.facts)
    explainer = Explainer(program, ev)
    s_alias, s_field = rule.subject.split(".", 1)

    def because(idx: int) -> list[str]:
        return explainer.chain(idx)[0] if idx in ev.justifications else []

    bodies = program.bodies_of(rule_id)
    reasons = []
    for k, body in enumerate(bodies):
        prefix = f"alternative {k + 1}: " if len(bodies) > 1 else ""
        matched, why = why_not(program, body, s_alias, s_field, subject, facts, because)
        reasons.append(prefix + (why if not matched else "every condition holds, yet no finding was reported"))
    return Explanation(rule_id, subject, False, None, tuple(reasons))
