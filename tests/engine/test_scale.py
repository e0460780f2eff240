"""Exact at every size: the engine (global, shard and late states; demand-routed copies;
the driver's own bodies; shards in two processes, as the command runs a large map) against
the reference interpreter on a 15,000-touchpoint map.

The reference runs in its indexed mode (checked against its textbook loops in
test_differential); the cycle collector is paused, as the engine's audit pauses it.
"""

from __future__ import annotations

import gc
import json

import pytest

import mapgen
import reference
from audit_engine.audit import audit
from audit_engine.engine import _fork
from audit_engine.facts import Fact, base_facts
from audit_engine.loader import load_map_text


@pytest.mark.slow
def test_15000_touchpoints_agree_with_the_reference(ruleset, monkeypatch) -> None:
    forked = []
    start = _fork.start
    monkeypatch.setattr(_fork, "start", lambda work: forked.append(1) or start(work))
    m = mapgen.big_map(15000, seed=4)
    lm = load_map_text(json.dumps(m), "big-15000.json")
    assert len(lm.map.touchpoints) == 15000
    result = audit(lm, ruleset, workers=2)
    ev = result.evaluation
    assert ev.states >= 10 and forked  # global, shards (half of them in a worker) and the late state ran
    packs = reference.shipped_packs()
    was = gc.isenabled()
    gc.disable()
    try:
        ref = reference.evaluate(packs, reference.default_params(packs), base_facts(lm.map))
    finally:
        if was:
            gc.enable()
    derived = {ev.facts[i].key() for i in ev.justifications}
    assert len(derived) == len(ref.derived) and derived == ref.derived, (
        f"only in the engine: {sorted(derived - ref.derived)[:10]}; only in the reference: "
        f"{sorted(ref.derived - derived)[:10]}")
    found = {(f.rule_id, f.subject): f.severity for f in result.findings}
    assert set(found) == ref.findings, (f"only in the engine: {sorted(set(found) - ref.findings)[:10]}; only in "
                                        f"the reference: {sorted(ref.findings - set(found))[:10]}")
    assert found == ref.severities
    assert len(found) > 20_000
    assert Fact("phi_data", {"data": "chain-a249"}).key() in derived  # a 250-step chain followed to its end
