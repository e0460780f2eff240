"""Release gates: policy files, evaluation against a baseline, waivers with expiry, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit_engine.audit import RuleSet, audit_file
from audit_engine.errors import ConfigError
from audit_engine.findings import Finding
from audit_engine.gate import GatePolicy, at_or_above, evaluate_gate, load_policy
from audit_engine.report import RenderOptions, render
from audit_engine.report.gate import GateReport
from audit_engine.waivers import apply_waivers
from conftest import CONFORMANCE, run_cli

PORTAL_V1 = CONFORMANCE / "patient-portal.v1.yaml"
PORTAL_V2 = CONFORMANCE / "patient-portal.v2.yaml"
MED = CONFORMANCE / "medication-administration.yaml"
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return RuleSet.load()


@pytest.fixture(scope="module")
def baseline(ruleset) -> list[Finding]:
    return audit_file(PORTAL_V1, ruleset).findings


@pytest.fixture
def v2(ruleset, tmp_path):
    path = tmp_path / "portal.yaml"
    shutil.copy(PORTAL_V2, path)
    return audit_file(path, ruleset)


def waivers_file(tmp_path: Path, *entries: tuple[str, str, str]) -> str:
    text = "waivers:\n"
    for rule, subject, expires in entries:
        text += (f"  - map: patient-portal\n    rule_id: {rule}\n    subject: {subject}\n"
                 f"    reason: Accepted until the replacement ships.\n    owner: ciso@example.org\n"
                 f"    expires: {expires}\n")
    p = tmp_path / "waivers.yaml"
    p.write_text(text)
    return str(p)


def policy_file(tmp_path: Path, text: str) -> str:
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    return str(p)


# --------------------------------------------------------------------------- the release scenario


def test_new_high_fails_then_waived_passes_then_expired_fails(v2, baseline, tmp_path) -> None:
    policy = GatePolicy(max_new={"high": 0}, expired_waivers="warn")

    v2 = apply_waivers(v2, None, today=TODAY)
    out = evaluate_gate(v2, policy, baseline, "1.0.0")
    assert not out.passed
    assert out.failures == ["3 new findings vs 1.0.0 at high or above (limit 0): CRED-001 triage-inbox, "
                            "HDF-008 breach-runbook, HDF-013 engagement-events"]
    assert {(f.rule_id, f.subject) for f in out.new} >= {("CRED-001", "triage-inbox"), ("HDF-008", "breach-runbook")}
    assert ("SAFE-006", "release-results") not in {(f.rule_id, f.subject) for f in out.new}  # it was in the baseline

    path = waivers_file(tmp_path, ("CRED-001", "triage-inbox", "2026-12-31"), ("HDF-008", "breach-runbook", "2027-01-01"),
                        ("HDF-013", "engagement-events", "2027-01-01"))
    v2 = apply_waivers(v2, path, today=TODAY)
    out = evaluate_gate(v2, policy, baseline, "1.0.0")
    assert out.passed, out.failures
    assert out.failures == []

    v2 = apply_waivers(v2, path, today=dt.date(2027, 1, 1))  # the day after the first one expires
    out = evaluate_gate(v2, policy, baseline, "1.0.0")
    assert not out.passed
    assert out.failures == ["1 new finding vs 1.0.0 at high or above (limit 0): CRED-001 triage-inbox"]
    assert any("waiver for CRED-001 triage-inbox expired on 2026-12-31" in w for w in out.warnings)


def test_at_or_above_counts_more_severe_findings(v2, baseline, ruleset) -> None:
    v2 = apply_waivers(v2, None)
    out = evaluate_gate(v2, GatePolicy(max_new={"medium": 3}), baseline, "1.0.0")
    assert out.failures == ["4 new findings vs 1.0.0 at medium or above (limit 3): "
                            "CRED-001 triage-inbox, HDF-008 breach-runbook, HDF-013 engagement-events, "
                            "CRED-005 triage-nurse"]
    assert evaluate_gate(v2, GatePolicy(max_new={"medium": 4}), baseline, "1.0.0").passed
    med = audit_file(MED, ruleset)
    assert [f.severity for f in at_or_above(med.findings, "high")] == ["critical", "high", "high", "high"]


@pytest.mark.parametrize("mode,passed", [("warn", True), ("fail", False)])
def test_expired_waivers_fail_or_warn(v2, baseline, tmp_path, mode: str, passed: bool) -> None:
    path = waivers_file(tmp_path, ("CRED-001", "triage-inbox", "2027-01-01"),   # active
                        ("HDF-018", "patient-portal", "2026-01-31"))             # expired, on a medium finding
    v2 = apply_waivers(v2, path, today=TODAY)
    out = evaluate_gate(v2, GatePolicy(fail_on="critical", expired_waivers=mode), baseline, "1.0.0")
    text = f"waiver for HDF-018 patient-portal expired on 2026-01-31 (owner ciso@example.org, {path}:8)"
    assert out.passed is passed
    bucket, other = (out.warnings, out.failures) if mode == "warn" else (out.failures, out.warnings)
    assert any(t.startswith(text) for t in bucket)
    assert not any(t.startswith(text) for t in other)
    assert not next(f for f in v2.findings if f.rule_id == "HDF-018").waived


def test_stale_waivers_are_warnings(v2, baseline, tmp_path) -> None:
    path = waivers_file(tmp_path, ("HDF-002", "analytics", "2027-01-01"))  # fixed in v2
    v2 = apply_waivers(v2, path, today=TODAY)
    out = evaluate_gate(v2, GatePolicy(fail_on="critical"), baseline, "1.0.0")
    assert [w for w in out.warnings if w.startswith("stale waiver for HDF-002 analytics")]
    assert v2.waivers.stale[0].subject == "analytics"


def test_fail_on_and_max_total(v2, baseline) -> None:
    v2 = apply_waivers(v2, None)
    out = evaluate_gate(v2, GatePolicy(fail_on="high", max_total={"medium": 1}), baseline, "1.0.0")
    assert out.failures[0] == ("3 unwaived findings at high or above (fail_on: high): CRED-001 triage-inbox, "
                               "HDF-008 breach-runbook, HDF-013 engagement-events")
    n = len(at_or_above(v2.findings, "medium"))
    assert out.failures[1].startswith(f"{n} unwaived findings at medium or above (limit 1): CRED-001 triage-inbox, "
                                      "HDF-008 breach-runbook")
    assert evaluate_gate(v2, GatePolicy(fail_on="critical", max_total={"medium": n}), baseline, "1.0.0").passed


def test_waived_findings_never_fail(v2, baseline, tmp_path) -> None:
    path = waivers_file(tmp_path, ("CRED-001", "triage-inbox", "2027-01-01"),
                        ("HDF-008", "breach-runbook", "2027-01-01"), ("HDF-013", "engagement-events", "2027-01-01"))
    v2 = apply_waivers(v2, path, today=TODAY)
    out = evaluate_gate(v2, GatePolicy(fail_on="high", max_new={"high": 0}, max_total={"high": 0}), baseline, "1.0.0")
    assert out.passed, out.failures


def test_without_baseline_every_finding_is_new(v2, monkeypatch) -> None:
    import audit_engine.gate

    monkeypatch.setattr(audit_engine.gate, "MAX_LISTED", 3)
    v2 = apply_waivers(v2, None)
    out = evaluate_gate(v2, GatePolicy(max_new={"info": 0}), None, None)
    assert len(out.new) == len(v2.findings)
    assert any("no baseline" in w and "every finding counts as new" in w for w in out.warnings)
    assert out.failures[0].startswith(f"{len(v2.findings)} new findings (no baseline) at info or above (limit 0): ")
    assert out.failures[0].endswith(f"HDF-008 breach-runbook, HDF-013 engagement-events and {len(v2.findings) - 3} more")


def test_renderers(v2, baseline) -> None:
    v2 = apply_waivers(v2, None)
    out = evaluate_gate(v2, GatePolicy(max_new={"high": 0}), baseline, "1.0.0")
    text = render("gate", "text", GateReport([v2], [out]), RenderOptions())
    assert text.startswith("gate FAILED: map patient-portal version 1.1.0 (baseline 1.0.0;")
    assert ("  FAIL 3 new findings vs 1.0.0 at high or above (limit 0): CRED-001 triage-inbox, HDF-008 breach-runbook, "
            "HDF-013 engagement-events") in text
    doc = json.loads(render("gate", "json", GateReport([v2], [out]), RenderOptions()))
    assert doc["passed"] is False and doc["baseline"] == "1.0.0"
    assert doc["policy"]["max_new"] == {"high": 0}
    assert {f["rule_id"] for f in doc["new"]} >= {"CRED-001", "HDF-008"}


# --------------------------------------------------------------------------- policy files


def test_policy_file_from_the_contract(tmp_path) -> None:
    p = load_policy(policy_file(tmp_path, "fail_on: critical\nmax_new: {high: 0}\nmax_total: {medium: 10}\n"
                                          "expired_waivers: fail\n"))
    assert p == GatePolicy(fail_on="critical", max_new={"high": 0}, max_total={"medium": 10}, expired_waivers="fail")
    assert load_policy(policy_file(tmp_path, "max_new:\n  critical: 0\n")).expired_waivers == "warn"


def test_policy_errors_have_positions(tmp_path) -> None:
    path = policy_file(tmp_path, "fail_on: severe\nmax_new: {hgh: 0, low: -1, medium: yes}\nmax_totl: 3\n"
                                 "expired_waivers: maybe\n")
    with pytest.raises(ConfigError) as exc:
        load_policy(path)
    got = {(d.location.line, d.location.column): d.message for d in exc.value.diagnostics}
    assert "fail_on: must be one of critical, high, medium, low, info, none; got 'severe'" == got[(1, 10)]
    assert "'hgh' is not a severity (did you mean 'high'?)" in got[(2, 11)]
    assert "max_new.low: must be a whole number" in got[(2, 24)]
    assert "max_new.medium: must be a whole number" in got[(2, 36)]
    assert got[(3, 1)] == "unknown key 'max_totl' (did you mean 'max_total'?)"
    assert "expired_waivers: must be 'fail' or 'warn'" in got[(4, 18)]
    assert str(exc.value).count(path + ":") == 6


@pytest.mark.parametrize("text,msg", [("", "the gate policy file is empty"), ("# nothing\n", "is empty"),
                                      ("- fail_on: high\n", "must be a mapping"),
                                      ("fail_on: [high\n", r"policy\.yaml:\d+:\d+: ")])
def test_unusable_policy_files(tmp_path, text: str, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        load_policy(policy_file(tmp_path, text))


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def gate_cli():
    from audit_engine.cli import _gate, cli  # noqa: F401  (registers `gate` on the group)

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["gate", *map(str, args)], catch_exceptions=False)

    return run


def test_gate_cli_uses_the_stored_baseline_and_records_the_run(ruleset, gate_cli, tmp_path) -> None:
    from audit_engine.store import open_store, record_results

    db = f"sqlite:///{tmp_path / 'store.db'}"
    record_results(db, [audit_file(PORTAL_V1, ruleset)])
    policy = policy_file(tmp_path, "max_new: {high: 0}\n")

    r = gate_cli(PORTAL_V2, "--policy", policy, "--db", db)
    assert r.exit_code == 1, r.output
    assert "gate FAILED: map patient-portal version 1.1.0 (baseline 1.0.0;" in r.stdout
    assert ("FAIL 3 new findings vs 1.0.0 at high or above (limit 0): CRED-001 triage-inbox, HDF-008 breach-runbook, "
            "HDF-013 engagement-events" in r.stdout)
    with open_store(db, create=False) as store:
        assert store.baseline_version("patient-portal", exclude_version="1.0.0") == "1.1.0"  # the gate recorded v2

    r = gate_cli(PORTAL_V2, "--policy", policy, "--db", db, "--baseline", "patient-portal@1.1.0", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["passed"] is True and doc["baseline"] == "1.1.0" and doc["new"] == []

    waivers = waivers_file(tmp_path, ("CRED-001", "triage-inbox", "2027-06-01"),
                           ("HDF-008", "breach-runbook", "2027-06-01"), ("HDF-013", "engagement-events", "2027-06-01"))
    r = gate_cli(PORTAL_V2, "--policy", policy, "--db", db, "--baseline", "patient-portal@1.0.0",
                 "--waivers", waivers, "--no-store")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("gate PASSED")


def test_gate_cli_markdown(ruleset, gate_cli, tmp_path) -> None:
    policy = policy_file(tmp_path, "fail_on: high\n")
    r = gate_cli(PORTAL_V2, "--policy", policy, "--db", f"sqlite:///{tmp_path / 'none.db'}", "--no-store",
                 "--format", "markdown")
    assert r.exit_code == 1
    assert "❌ **Gate failed** (no baseline;" in r.stdout
    assert f"({PORTAL_V2}#L" in r.stdout
    assert not (tmp_path / "none.db").exists()  # --no-store leaves no store behind


def test_gate_cli_errors_exit_2(gate_cli, tmp_path) -> None:
    db = tmp_path / "store.db"
    bad = policy_file(tmp_path, "fail_on: high\nmax_nwe: {high: 0}\n")
    r = gate_cli(PORTAL_V2, "--policy", bad, "--db", f"sqlite:///{db}")
    assert r.exit_code == 2
    assert f"{bad}:2:1: unknown key 'max_nwe' (did you mean 'max_new'?)" in r.stderr
    assert r.stdout == "" and not db.exists()

    good = policy_file(tmp_path, "fail_on: high\n")
    r = gate_cli(PORTAL_V2, "--policy", good, "--db", f"sqlite:///{db}", "--baseline", "med-administration@3.0.0")
    assert r.exit_code == 2 and "another map" in r.stderr

    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - {map: patient-portal, rule_id: CRED-01, subject: x, reason: r, owner: o, "
                       "expires: 2027-01-01}\n")
    r = gate_cli(PORTAL_V2, "--policy", good, "--db", f"sqlite:///{db}", "--waivers", str(waivers))
    assert r.exit_code == 2 and f"{waivers}:2:5: unknown rule id 'CRED-01'" in r.stderr
    assert "did you mean 'CRED-001'" in r.stderr


def test_gate_command_in_a_subprocess(tmp_path) -> None:
    if "gate" not in run_cli("--help").stdout:
        pytest.skip("`gate` is not registered in audit_engine.cli._register yet")
    policy = policy_file(tmp_path, "fail_on: high\n")
    p = run_cli("gate", str(PORTAL_V2), "--policy", policy, "--no-store", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert p.returncode == 1 and "CRED-001 triage-inbox" in p.stdout


def test_pre_commit_hooks_file() -> None:
    import re

    import yaml

    from conftest import ROOT

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["audit-engine-validate"]["entry"] == "audit-engine validate"
    assert hooks["audit-engine-audit"]["entry"] == "audit-engine audit --no-store"
    for h in hooks.values():
        assert re.search(h["files"], "maps/portal.yaml") and re.search(h["files"], "maps/portal.json")
        assert re.search(h["exclude"], "maps/audit-waivers.yaml") and not re.search(h["exclude"], "maps/portal.yaml")


def test_a_policy_that_cannot_fail_with_the_rules_run_is_warned_about(tmp_path) -> None:
    """clinical-workflow rules are all low: `fail_on: high` over them alone can never fail."""
    path = tmp_path / "portal.yaml"
    shutil.copy(PORTAL_V2, path)
    low_only = RuleSet.load(only=["clinical-workflow"])
    outcome = evaluate_gate(audit_file(path, low_only), GatePolicy(fail_on="high", max_new={"medium": 0}), [])
    assert outcome.passed
    assert ("the gate cannot fail: it looks for findings at medium or above, and the most severe finding the rules "
            "of this run can report is low (check --only/--skip)") in outcome.warnings
    # a threshold the rules can reach, or failing on expired waivers, can fail: no warning
    for policy in (GatePolicy(fail_on="low"), GatePolicy(fail_on="high", expired_waivers="fail")):
        assert not any("cannot fail" in w for w in evaluate_gate(audit_file(path, low_only), policy, []).warnings)


def test_a_graded_rule_counts_at_its_most_severe_grade() -> None:
    """HDF-015 is low, graded high when (severity_when): `fail_on: high` over it alone can fail."""
    from audit_engine.gate import cannot_fail

    program = RuleSet.load(only=["HDF-015"]).program
    assert [rule.severity for _, rule in program.rules.values()] == ["low"]
    assert cannot_fail(GatePolicy(fail_on="high"), program) is None
    assert "cannot fail" in (cannot_fail(GatePolicy(fail_on="critical"), program) or "")
