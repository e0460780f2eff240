"""What each engine state is given (``engine/_plan.routing``), the bodies the driver applies
itself, the shape of the translated rules, and the small speed helpers (timings, huge
pages). That none of it changes a result is checked by test_sharding, test_differential
and test_scale."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from audit_engine import _hugepages
from audit_engine.engine._plan import direct_bodies, possible_types
from audit_engine.engine._translate import CAP, _gate_first, role, role_flag
from audit_engine.facts import BASE_FACT_TYPES
from audit_engine.timings import Timings, phase, recording


def test_bodies_that_cannot_match_get_no_facts(ruleset) -> None:
    engine = ruleset.engine
    present = frozenset(BASE_FACT_TYPES) - {"data_sensitivity", "checkpoint_sensitivity", "recipient"}
    r = engine.routing(present)
    assert "sensitive" not in possible_types(ruleset.program, present)
    dead = set(ruleset.program.bodies) - r.live - engine.direct
    assert {b.name for b in ruleset.program.bodies_of("SENS-001")} <= dead
    everything = engine.routing(frozenset(BASE_FACT_TYPES))
    assert r.shard_types < everything.shard_types or r.global_types < everything.global_types


def test_copies_are_demanded_by_joins_or_tied_to_touchpoints(ruleset) -> None:
    r = ruleset.engine.routing(frozenset(BASE_FACT_TYPES))
    assert r.static["flow"] == frozenset({"from", "to"})  # a flow goes where its ends are
    needed = {(src, field, t, f) for src, edges in r.demand.items() for field, t, f, _ in edges}
    assert ("access", "data", "data", "id") in needed  # the data a shard's touchpoints access
    assert ("uses", "system", "system_control_type", "system") in needed
    for edges in r.demand.values():
        for _, t, _, _ in edges:
            assert r.static.get(t, ()) is not None  # never demanded when every shard gets them anyway


def test_the_driver_applies_join_free_single_condition_bodies(ruleset) -> None:
    direct = direct_bodies(ruleset.program)
    assert {b.name for b in ruleset.program.bodies_of("core/uses-system")} <= direct
    assert not direct & {b.name for b in ruleset.program.bodies_of("core/effective-control-system")}
    assert not direct & set(ruleset.engine.ruleset)


def test_translated_rules_hand_over_batches_and_test_their_role(ruleset) -> None:
    plan = ruleset.engine.plan
    for name, rule in ruleset.engine.ruleset.items():
        body = ruleset.program.bodies[name]
        assert rule["cap"] == CAP and rule["dist"] == 0
        flag = role_flag(role(plan, name))
        tested = [c for c in rule["all"] if f"'{flag}': 1" in str(c)]
        assert len(tested) == len(body.conditions), name  # every condition of the body tests its flag
        first_alias = next(iter(rule["all"][0]))
        gate_first = _gate_first(body.conditions[0])
        assert ("ROLE" in str(rule["all"][0])) == gate_first, name
        assert first_alias.endswith("$not") == body.conditions[0].negated


def test_phases_are_timed_once_even_when_nested() -> None:
    with phase("engine"):
        pass  # nothing records: a no-op
    with recording() as t:
        with phase("validate"):
            time.sleep(0.02)
            with phase("load"):
                time.sleep(0.03)
        with phase("engine"):
            pass
    assert 0.025 <= t.seconds["load"] < 0.2
    assert 0.015 <= t.seconds["validate"] < 0.025 + 0.1  # its clock stopped while "load" ran
    d = Timings().as_dict()
    assert list(d)[:9] == ["rules", "load", "validate", "facts", "engine", "findings", "waivers", "store", "report"]
    assert d["peak_rss_mb"] > 0


def test_huge_pages_only_for_large_maps_and_only_once(tmp_path: Path) -> None:
    small, large = tmp_path / "small.yaml", tmp_path / "large.yaml"
    small.write_text("x" * 1000)
    large.write_text("x" * (_hugepages.MIN_MAP_BYTES + 1))
    env = {k: v for k, v in os.environ.items() if k not in (_hugepages.MARK, "GLIBC_TUNABLES")}
    assert not _hugepages.worthwhile([str(small)], env)
    assert not _hugepages.worthwhile([str(large)], {**env, _hugepages.MARK: "0"})
    assert not _hugepages.worthwhile([str(large)], {**env, "GLIBC_TUNABLES": _hugepages.TUNABLE})
    if _hugepages.worthwhile([str(large)], env):
        assert _hugepages.worthwhile([str(tmp_path)], env)  # a folder holding a large map
    else:
        pytest.skip("no madvise-mode transparent huge pages or no glibc 2.35 here")


def test_the_command_restarts_for_a_large_map_before_importing_itself(tmp_path: Path) -> None:
    """``python -m audit_engine`` (as the console script, through ``_command``) restarts with
    huge pages before click or the pipeline is imported, and collects no cycles."""
    import subprocess
    import sys

    large = tmp_path / "large.yaml"
    large.write_text("format: 1\n" + "# padding\n" * (_hugepages.MIN_MAP_BYTES // 10 + 1))
    env = {k: v for k, v in os.environ.items() if k not in (_hugepages.MARK, "GLIBC_TUNABLES")}
    if not _hugepages.worthwhile([str(large)], env):
        pytest.skip("no glibc 2.35 here")
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "audit_engine", "validate", str(large)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 2, p.stderr[-2000:]  # an invalid map, but validated: the command ran
    imported = [line.rsplit("|", 1)[1].strip() for line in p.stderr.splitlines() if line.startswith("import time:")]
    starts = [i for i, name in enumerate(imported) if name == "site"]
    assert len(starts) == 2, "one restart"
    first = imported[:starts[1]]
    assert "audit_engine._hugepages" in first and not {"click", "pydantic", "audit_engine.cli"} & set(first)
    assert "click" in imported[starts[1]:]
    code = "import gc, sys; import audit_engine.cli; print(gc.isenabled())"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"


def test_the_drivers_written_out_tests_mean_what_holds_means() -> None:
    from audit_engine.engine.run import _predicate
    from audit_engine.packs.program import Test, holds

    values = [None, (), [], "", "x", "y", "phi", 0, 1, 2, True, False, ("x",), ("x", "y"), 1.0]
    literals = {"eq": ["x", "phi", True, False, 1, 0], "in": [("x", "y"), ("phi",), (1, 2), (True,)],
                "present": [True, False], "ne": ["x", True, 1], "not_in": [("x",), (1,)],
                "any_of": [(Test("f", "eq", "x", "str"), Test("f", "present", False, "str"))]}
    for op, operands in literals.items():
        for operand in operands:
            t = Test("f", op, operand, "str")
            predicate = _predicate(t)
            for v in values:
                assert predicate(v) == holds(t, v), (op, operand, v)
