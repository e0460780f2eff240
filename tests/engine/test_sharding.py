"""Touchpoint shards: which bodies may run inside a shard, and that splitting a map over
many engine states never changes a finding, its message or its evidence."""

from __future__ import annotations

import sys

import pytest
import yaml

from audit_engine.audit import RuleSet
from audit_engine.engine.run import evaluate
from audit_engine.facts import base_facts
from audit_engine.findings import build_findings
from audit_engine.loader import load_map, load_map_text

from conftest import CONFORMANCE, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from genmap import big_map  # noqa: E402

RULESET = RuleSet.load()


def _findings(lm, size: int) -> tuple[list[tuple], int]:
    ev = evaluate(RULESET.program, base_facts(lm.map), shard_touchpoints=size)
    fs = build_findings(RULESET.program, ev, lm.map.id, lm.location_of)
    return [(f.rule_id, f.subject, f.severity, f.message, tuple(f.evidence), f.fingerprint) for f in fs], ev.states


def _local(owner: str) -> list[bool]:
    plan = RULESET.engine.plan
    return [plan.local[b.name] for b in RULESET.program.bodies_of(owner)]


def test_locality_analysis() -> None:
    plan = RULESET.engine.plan
    assert plan.anchored["phi_touchpoint"] == "touchpoint" and plan.anchored["effective_control"] == "touchpoint"
    assert "phi_data" not in plan.anchored and "holds_phi" not in plan.anchored  # reach beyond one touchpoint
    assert all(_local("HDF-003"))  # one touchpoint, negation tied to it
    assert all(_local("SAFE-001"))  # the safeguard negation is tied to the failure mode's touchpoint
    assert not any(_local("STK-002"))  # "takes part nowhere": needs every shard's touchpoints
    assert all(_local("STK-003"))  # the receiving touchpoint anchors it; the flow is routed by its `to`
    assert all(_local("core/holds-phi-used"))  # local body deriving a global fact
    assert not any(_local("hipaa-data-flows/fed-by-patient-authenticated-touchpoint"))  # reads what every shard found
    # a global body negating a type the shards derive waits for the late phases
    assert all(plan.late[b.name] for b in RULESET.program.bodies_of("STK-002"))
    assert "flow" in plan.routes and plan.routes["flow"] == frozenset({"from", "to"})  # routed, not broadcast


MAPS = [CONFORMANCE / "patient-portal.v1.yaml", CONFORMANCE / "patient-portal.v2.yaml",
        CONFORMANCE / "medication-administration.yaml", ROOT / "fixtures/maps/ed-sepsis-pathway.yaml"]


@pytest.mark.parametrize("path", MAPS, ids=lambda p: p.name)
def test_shards_change_nothing_on_real_maps(path) -> None:
    lm = load_map(path)
    single, states = _findings(lm, 10**6)
    assert states == 1
    for size in (1, 2, 3):
        sharded, states = _findings(lm, size)
        assert states > 1
        assert sharded == single


@pytest.mark.parametrize("n,seed", [(40, 1), (150, 2), (400, 3)])
def test_shards_change_nothing_on_generated_maps(n: int, seed: int) -> None:
    lm = load_map_text(yaml.safe_dump(big_map(n, seed=seed)), "gen.yaml")
    single, _ = _findings(lm, 10**6)
    assert single  # the generated maps do produce findings
    for size in (1, 7, 64):
        assert _findings(lm, size)[0] == single
