"""`explain` walks a rule's compiled conditions itself to say why it did not fire. That walk
is pinned here to the independent reference interpreter (tests/reference.py): on random
maps, for every rule and every id of the map, the walk finds a full match exactly when the
reference reports the finding, and `explain` gives a reason in words for every miss."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings

import mapgen
import reference
from audit_engine.audit import RuleSet, audit
from audit_engine.explain import _Facts, explain, why_not
from audit_engine.facts import base_facts
from audit_engine.loader import load_map_text

SHIPPED = reference.shipped_packs()
PARAMS = reference.default_params(SHIPPED)
RULESET = RuleSet.load()


def _ids(m: dict[str, Any]) -> set[str]:
    """Every id in the map: the candidates for a subject."""
    out: set[str] = {m["id"]}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("id"), str):
                out.add(value["id"])
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    visit(m)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mapgen.journey_maps())
def test_the_walk_matches_exactly_when_the_reference_reports(m: dict[str, Any]) -> None:
    lm = load_map_text(yaml.safe_dump(m, sort_keys=False), "generated.yaml")
    result = audit(lm, RULESET)
    expected = reference.evaluate(SHIPPED, PARAMS, base_facts(lm.map)).findings
    program = RULESET.program
    facts = _Facts(result.evaluation.facts)
    wrong = []
    for rule_id, (_, rule) in program.rules.items():
        alias, field = rule.subject.split(".", 1)
        bodies = program.bodies_of(rule_id)
        for subject in sorted(_ids(m)):
            walked = any(why_not(program, body, alias, field, subject, facts)[0] for body in bodies)
            if walked != ((rule_id, subject) in expected):
                wrong.append((rule_id, subject, walked))
    assert not wrong, f"explain's walk and the reference disagree: {wrong[:10]}\n{yaml.safe_dump(m)[:4000]}"
    found = {(f.rule_id, f.subject) for f in result.findings}
    for rule_id in program.rules:
        for subject in sorted(_ids(m))[:8]:
            e = explain(result, rule_id, subject)
            assert e.fired == ((rule_id, subject) in found)
            assert e.fired or (e.reasons and all(r.strip() for r in e.reasons))
