"""Every shipped rule's firing and non-firing examples, each run in isolation."""

from __future__ import annotations

import pytest

from audit_engine.packs.examples import run_examples
from audit_engine.packs.load import load_packs

PACKS = load_packs()
OUTCOMES = run_examples(PACKS)


def test_every_rule_has_both_kinds_of_example() -> None:
    for lp in PACKS:
        for rule in lp.pack.rules:
            assert rule.examples.fires and rule.examples.passes, rule.id


@pytest.mark.parametrize("outcome", OUTCOMES, ids=lambda o: f"{o.rule_id}-{o.kind}-{o.name[:40]}")
def test_example(outcome) -> None:
    assert outcome.error is None, outcome.error
    assert outcome.got == outcome.want, f"{outcome.where}: expected {outcome.want}, got {outcome.got}"


def test_catalog_is_complete() -> None:
    ids = {r.id for lp in PACKS for r in lp.pack.rules}
    expected = {f"HDF-{i:03d}" for i in range(1, 20)} | {f"SENS-{i:03d}" for i in range(1, 6)} | \
        {f"CRED-{i:03d}" for i in range(1, 7)} | {f"SAFE-{i:03d}" for i in (1, 3, 4, 5, 6, 7, 8)} | \
        {f"COMP-{i:03d}" for i in range(1, 5)} | {f"STK-{i:03d}" for i in range(1, 5)} | \
        {f"CLIN-{i:03d}" for i in range(1, 4)}
    assert ids == expected
    retired = {r.id: r for lp in PACKS for r in lp.pack.retired}
    assert set(retired) == {"SAFE-002"} and retired["SAFE-002"].replaced_by == ["SAFE-007", "SAFE-008"]
