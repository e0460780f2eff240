"""Issue 11, item 4: a user pack cannot exhaust memory with a cross product, nor switch
built-in rules off by deriving a built-in fact type without saying so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit_engine.audit import RuleSet, run_audits
from audit_engine.errors import CapacityError, PackError
from audit_engine.limits import Limits
from audit_engine.packs._guards import bounded_types

from conftest import CONFORMANCE, run_cli, write_pack

TP = {"fact": "touchpoint", "as": "a"}


def _refused(tmp_path: Path, pack: dict) -> str:
    with pytest.raises(PackError) as info:
        RuleSet.load(extra_packs=[write_pack(tmp_path, {"pack": "user", **pack})])
    return str(info.value)


def test_an_unjoined_pair_of_touchpoints_is_refused_at_its_position(tmp_path: Path) -> None:
    msg = _refused(tmp_path, {"rules": [{"id": "USR-001", "subject": "a.id", "subject_kind": "touchpoint",
                                         "when": [TP, {"fact": "touchpoint", "as": "b"}]}]})
    assert "pack.yaml:" in msg
    assert "'a' (touchpoint) and 'b' (touchpoint) are joined by no equality test" in msg


def test_a_non_equality_join_is_still_a_cross_product(tmp_path: Path) -> None:
    msg = _refused(tmp_path, {"derive": [{"id": "pairs", "fact": "pair", "assert": {"a": {"ref": "a.id"}},
                                          "when": [TP, {"fact": "touchpoint", "as": "b",
                                                        "where": {"id": {"ne": {"ref": "a.id"}}}}]}]})
    assert "cross product" in msg


def test_a_pack_may_allow_cross_products_for_small_types(tmp_path: Path) -> None:
    rule = {"id": "USR-001", "subject": "a.id", "subject_kind": "touchpoint",
            "when": [TP, {"fact": "touchpoint", "as": "b"}]}
    RuleSet.load(extra_packs=[write_pack(tmp_path, {"pack": "user", "allow_cross_products": True, "rules": [rule]})])


def test_a_six_way_chain_joined_by_equality_is_accepted(tmp_path: Path) -> None:
    chain = [TP] + [{"fact": "touchpoint", "as": f"t{i}", "where": {"stage": {"ref": f"{'a' if i == 0 else f't{i - 1}'}.stage"}}}
                    for i in range(5)]
    RuleSet.load(extra_packs=[write_pack(tmp_path, {"pack": "user", "rules": [
        {"id": "USR-001", "subject": "a.id", "subject_kind": "touchpoint", "when": chain}]})])


def _stage_chain(tmp_path: Path, n_joined: int, n_touchpoints: int) -> tuple[str, Path]:
    chain = [TP] + [{"fact": "touchpoint", "as": f"t{i}", "where": {"stage": {"ref": "a.stage"}}}
                    for i in range(n_joined)]
    pack = write_pack(tmp_path, {"pack": "user", "rules": [
        {"id": "USR-001", "subject": "a.id", "subject_kind": "touchpoint", "when": chain}]})
    doc = {"format": 1, "id": "m", "name": "M", "version": "1", "stages": [{"id": "s", "name": "S"}],
           "stakeholders": [{"id": "p", "name": "P", "group": "patient"}],
           "touchpoints": [{"id": f"t{i}", "name": "T", "stage": "s", "stakeholder": "p"}
                           for i in range(n_touchpoints)]}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    return pack, path


def test_a_weak_join_stops_at_the_activation_limit(tmp_path: Path) -> None:
    """Joined, so accepted; with many touchpoints per stage the run-time limit stops it."""
    pack, path = _stage_chain(tmp_path, 1, 200)
    rs = RuleSet.load(extra_packs=[pack], only=["user"])
    with pytest.raises(CapacityError, match="limits.max_activations"):
        run_audits([path], rs, limits=Limits(max_activations=10_000))
    assert len(run_audits([path], rs)[0].findings) == 200  # 40,000 activations are within the default


def test_a_weak_six_way_join_stops_at_the_memory_limit(tmp_path: Path) -> None:
    """40 touchpoints in one stage joined six ways: 4 billion matches, built inside one call
    into the engine. The CLI caps its address space, and says which limit stopped it."""
    pack, path = _stage_chain(tmp_path, 5, 40)
    (tmp_path / "audit-engine.yaml").write_text("limits: {max_memory_mb: 1500}\n")
    p = run_cli("audit", str(path), "--pack", pack, "--only", "user", "--no-store")
    assert p.returncode == 2, p.stderr[-2000:]
    assert "ran out of memory (limits.max_memory_mb)" in p.stderr and "Traceback" not in p.stderr


def test_the_map_and_flags_derived_from_it_may_stand_apart(tmp_path: Path) -> None:
    pack = {"derive": [{"id": "flag", "fact": "big_map", "assert": {"map": {"ref": "m.id"}},
                        "when": [{"fact": "map", "as": "m"}]}],
            "rules": [{"id": "USR-001", "subject": "a.id", "subject_kind": "touchpoint",
                       "when": [TP, {"fact": "big_map", "as": "f"}, {"fact": "map", "as": "m"}]}]}
    rs = RuleSet.load(extra_packs=[write_pack(tmp_path, {"pack": "user", **pack})])
    assert {"map", "big_map"} <= bounded_types(rs.program.bodies.values())


def test_a_flag_that_carries_a_touchpoint_is_not_bounded(tmp_path: Path) -> None:
    msg = _refused(tmp_path, {"derive": [{"id": "flag", "fact": "seen", "assert": {"tp": {"ref": "a.id"}},
                                          "when": [TP]}],
                              "rules": [{"id": "USR-001", "subject": "a.id", "subject_kind": "touchpoint",
                                         "when": [TP, {"fact": "seen", "as": "f"}]}]})
    assert "'f' (seen)" in msg


def test_the_built_in_packs_have_no_cross_product(ruleset) -> None:
    assert ruleset.program.rules  # compiled: the guard found nothing to refuse


EXTRA_LOGGING = {"id": "log-everything", "fact": "effective_control",
                 "assert": {"touchpoint": {"ref": "a.id"}, "type": "audit_logging"}, "when": [TP]}


def _effective_control_fields(ruleset: RuleSet) -> dict:
    return dict(ruleset.program.fact_types["effective_control"].fields)


def test_deriving_a_built_in_fact_type_is_refused_without_extends(tmp_path: Path, ruleset) -> None:
    assert "type" in _effective_control_fields(ruleset) and "touchpoint" in _effective_control_fields(ruleset)
    msg = _refused(tmp_path, {"derive": [EXTRA_LOGGING]})
    assert "'effective_control' is a built-in fact type" in msg and "extends:" in msg


def test_extends_opts_in_and_the_run_says_so(tmp_path: Path) -> None:
    rs = RuleSet.load(extra_packs=[write_pack(tmp_path, {"pack": "user", "extends": ["effective_control"],
                                                         "derive": [EXTRA_LOGGING]})])
    assert rs.program.core_extensions == {"user": ("effective_control",)}
    assert any("user" in n and "effective_control" in n for n in rs.notices())


def test_extends_names_a_built_in_type_with_did_you_mean(tmp_path: Path) -> None:
    msg = _refused(tmp_path, {"extends": ["effective_controls"], "derive": []})
    assert "'effective_controls' is not a built-in derived fact type (did you mean 'effective_control'?)" in msg


def test_an_extension_switches_a_built_in_rule_off_visibly(tmp_path: Path) -> None:
    """The reason for the opt-in: with every touchpoint 'logged', HDF rules on missing audit logging stop firing."""
    path = write_pack(tmp_path, {"pack": "user", "extends": ["effective_control"], "derive": [EXTRA_LOGGING]})
    maps = sorted(CONFORMANCE.glob("*.yaml"))
    before = {f.fingerprint for r in run_audits(maps, RuleSet.load()) for f in r.findings}
    after = {f.fingerprint for r in run_audits(maps, RuleSet.load(extra_packs=[path])) for f in r.findings}
    assert after < before
    p = run_cli("audit", str(maps[0]), "--pack", path, "--no-store", "--format", "json")
    assert "pack 'user' adds its own derivations of the built-in fact type effective_control" in p.stderr
    assert json.loads(p.stdout)["invocation"]["notices"] == [p.stderr.split("note: ", 1)[1].splitlines()[0]]
    for fmt in ("table", "markdown", "sarif", "junit", "html"):
        out = run_cli("audit", str(maps[0]), "--pack", path, "--no-store", "--format", fmt).stdout
        assert "effective_control" in out.replace("\\_", "_"), fmt  # markdown escapes _
