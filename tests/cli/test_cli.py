"""The command line as a user meets it: exit codes, bad input, did-you-mean, formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import CONFORMANCE, ROOT

PORTAL_V1 = str(CONFORMANCE / "patient-portal.v1.yaml")
PORTAL_V2 = str(CONFORMANCE / "patient-portal.v2.yaml")
MED = str(CONFORMANCE / "medication-administration.yaml")
DEMO = str(ROOT / "fixtures" / "maps" / "ed-sepsis-pathway.yaml")


def test_audit_json_follows_the_contract(cli) -> None:
    p = cli("audit", PORTAL_V1, "--format", "json", "--no-store", "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["map"] == {"id": "patient-portal", "version": "1.0.0", "file": PORTAL_V1}
    assert doc["summary"]["total"] == len(doc["findings"]) == 14
    for key in ("critical", "high", "medium", "low", "info"):
        assert doc["summary"][key] == sum(1 for f in doc["findings"] if f["severity"] == key)
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    keys = [(order[f["severity"]], f["rule_id"], f["subject"]) for f in doc["findings"]]
    assert keys == sorted(keys)
    f = next(f for f in doc["findings"] if f["rule_id"] == "HDF-002")
    assert set(f) >= {"rule_id", "severity", "subject", "title", "message", "citation", "fingerprint",
                      "location", "evidence", "waived"}
    assert f["location"] == {"file": PORTAL_V1, "line": 28, "column": 5}
    assert "lab-results is PHI (classification phi)" in f["evidence"]
    assert len({f["fingerprint"] for f in doc["findings"]}) == 14


def test_several_maps_give_runs(cli) -> None:
    p = cli("audit", PORTAL_V1, MED, "--format", "json", "--no-store", "--fail-on", "none")
    doc = json.loads(p.stdout)
    assert [r["map"]["id"] for r in doc["runs"]] == ["patient-portal", "med-administration"]


@pytest.mark.parametrize("fail_on,code", [("critical", 1), ("none", 0)])
def test_fail_on_sets_the_exit_code(cli, fail_on: str, code: int) -> None:
    assert cli("audit", PORTAL_V1, "--no-store", "--fail-on", fail_on).returncode == code
    assert cli("audit", PORTAL_V2, "--no-store", "--fail-on", "critical").returncode == 0  # no critical finding


def test_default_fail_on_is_high(cli) -> None:
    assert cli("audit", PORTAL_V2, "--no-store").returncode == 1  # CRED-001 and HDF-008 are high


def test_params_override_defaults(cli) -> None:
    base = json.loads(cli("audit", MED, "--format", "json", "--no-store", "--fail-on", "none").stdout)
    over = json.loads(cli("audit", MED, "--format", "json", "--no-store", "--fail-on", "none",
                          "--param", "max_auto_logoff_minutes=30").stdout)
    assert any(f["rule_id"] == "CRED-003" for f in base["findings"])
    assert not any(f["rule_id"] == "CRED-003" for f in over["findings"])


@pytest.mark.parametrize("args,needle", [
    (["audit", PORTAL_V1, "--no-store", "--param", "max_auto_logof_minutes=3"], "did you mean 'max_auto_logoff_minutes'"),
    (["audit", PORTAL_V1, "--no-store", "--param", "max_auto_logoff_minutes=soon"], "whole number"),
    (["audit", PORTAL_V1, "--no-store", "--only", "HDF-0001"], "did you mean"),
    (["audit", PORTAL_V1, "--no-store", "--fromat", "json"], "Did you mean '--format'"),
    (["audti", PORTAL_V1], "Did you mean 'audit'"),
    (["audit", PORTAL_V1, "--no-store", "--format", "jsn"], "Did you mean 'json'"),
    (["audit", PORTAL_V1, "--no-store", "--fail-on", "hihg"], "Did you mean 'high'"),
    (["rules", "show", "HDF-01"], "did you mean"),
    (["audit", "does-not-exist.yaml", "--no-store"], "does-not-exist.yaml"),
])
def test_usage_errors_exit_2_with_a_hint(cli, args: list[str], needle: str) -> None:
    p = cli(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle in p.stderr
    assert "Traceback" not in p.stderr


def test_bad_map_exits_2_with_position_and_stores_nothing(cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(PORTAL_V1).read_text().replace("group: patient,", "group: patients,"))
    db = tmp_path / "store.db"
    p = cli("audit", PORTAL_V1, str(bad), "--db", f"sqlite:///{db}")
    assert p.returncode == 2
    assert f"{bad}:10:41:" in p.stderr and "patients" in p.stderr
    assert "Traceback" not in p.stderr
    assert not db.exists()


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "format: 1\nid: [\n", "\x00\x01garbage", "a: &x 1\nb: *x\n"])
def test_hostile_files_exit_2(cli, tmp_path: Path, text: str) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(text)
    p = cli("validate", str(f))
    assert p.returncode == 2
    assert str(f) in p.stderr and "Traceback" not in p.stderr


def test_validate_ok(cli) -> None:
    p = cli("validate", PORTAL_V1, MED)
    assert p.returncode == 0 and "ok" in p.stdout


def test_schema_is_json_schema(cli) -> None:
    doc = json.loads(cli("schema").stdout)
    assert "properties" in doc and "touchpoints" in doc["properties"]


def test_file_diff(cli) -> None:
    doc = json.loads(cli("diff", PORTAL_V1, PORTAL_V2, "--format", "json").stdout)
    assert (doc["map"], doc["from"], doc["to"]) == ("patient-portal", "1.0.0", "1.1.0")
    assert (len(doc["new"]), len(doc["resolved"]), len(doc["unchanged"])) == (5, 8, 6)
    md = cli("diff", PORTAL_V1, PORTAL_V2, "--format", "markdown").stdout
    assert "5 new" in md and "CRED-001" in md


def test_diff_of_two_different_maps_is_refused(cli) -> None:
    p = cli("diff", PORTAL_V1, MED)
    assert p.returncode == 2 and "two different maps" in p.stderr


def test_rules_list_show_test_coverage(cli) -> None:
    listed = json.loads(cli("rules", "list", "--format", "json").stdout)
    assert len(listed) == 48 and {r["pack"] for r in listed} >= {"hipaa-data-flows", "near-miss", "sensitive-records"}
    shown = cli("rules", "show", "hdf-002").stdout
    for part in ("HDF-002", "critical", "164.504(e)", "Why it matters", "How to fix it", "Example: reported"):
        assert part in shown
    tested = cli("rules", "test")
    assert tested.returncode == 0, tested.stdout[-2000:]
    assert " 0 failed" in tested.stdout
    cov = json.loads(cli("rules", "coverage", "--format", "json").stdout)
    assert cov["unmapped_rules"] == []
    assert any(not r["rules"] for fw in cov["frameworks"] for r in fw["requirements"])  # manual ones listed


def test_rules_test_fails_readably_on_a_wrong_example(cli, tmp_path: Path) -> None:
    pack = (ROOT / "rules" / "hipaa-data-flows.yaml").read_text()
    pack = pack.replace("pack: hipaa-data-flows", "pack: my-hipaa").replace("subjects: [lab-feed, to-crm]",
                                                                            "subjects: [nope]")
    for i in range(1, 20):
        pack = pack.replace(f"id: HDF-{i:03d}", f"id: MYH-{i:03d}")
    derived = sorted({d["fact"] for d in yaml.safe_load(pack).get("derive", [])})  # the copy derives them again
    (tmp_path / "mine.yaml").write_text(pack + f"extends: {derived}\n")
    p = cli("rules", "test", str(tmp_path / "mine.yaml"))
    assert p.returncode == 1
    assert "FAIL  MYH-001" in p.stdout and "expected ['nope'], got ['lab-feed', 'to-crm']" in p.stdout
    assert "1 failed" in p.stdout


def _one_rule_pack(path: Path, when: str = "{fact: touchpoint, as: t}",
                   examples: str = "{fires: [{name: a, subjects: [x], map: {}}], passes: [{name: b, map: {}}]}") -> str:
    """A pack file of one rule (BAD-001) with the given condition and examples."""
    path.write_text(
        "pack: bad\nversion: 1.0.0\ntitle: Bad\nrules:\n  - id: BAD-001\n    title: A bad rule here\n"
        "    severity: high\n    subject: t.id\n    subject_kind: touchpoint\n    citation: none\n"
        "    rationale: because this is a test of errors\n    remediation: fix the pack please\n"
        f"    when:\n      - {when}\n    message: hi\n    examples: {examples}\n")
    return str(path)


def test_broken_user_pack_is_exit_2_with_position(cli, tmp_path: Path) -> None:
    pack = _one_rule_pack(tmp_path / "p.yaml", when="{fact: touchpiont, as: t}")
    p = cli("audit", PORTAL_V1, "--no-store", "--pack", pack)
    assert p.returncode == 2
    assert f"{pack}:14:" in p.stderr and "did you mean 'touchpoint'" in p.stderr


def test_rules_test_refuses_examples_that_cannot_fail(cli, tmp_path: Path) -> None:
    """A fires example without subjects would pass when the rule reports nothing."""
    pack = _one_rule_pack(tmp_path / "p.yaml", examples="\n      fires: [{name: anything, map: {}}]\n"
                          "      passes: [{name: nothing, subjects: [t], map: {}}]")
    p = cli("rules", "test", pack)
    assert p.returncode == 2, p.stdout
    assert f"{pack}:17:" in p.stderr and "the fires example 'anything' lists no subjects" in p.stderr
    assert f"{pack}:18:" in p.stderr and "the passes example 'nothing' lists subjects" in p.stderr


def test_explain_fired_and_not_fired(cli) -> None:
    fired = cli("explain", PORTAL_V1, "HDF-002", "analytics").stdout
    assert "fired" in fired and "engagement-events is PHI" in fired
    not_fired = cli("explain", PORTAL_V1, "HDF-003", "view-results").stdout
    assert "did not fire" in not_fired and "audit_logging" in not_fired
    assert "uses system portal, which applies a control of type audit_logging" in not_fired  # why the blocker exists


def test_checklist(cli) -> None:
    doc = json.loads(cli("checklist", MED, "--format", "json").stdout)
    assert len(doc["items"]) == 7 and 0 <= doc["score"] <= 100
    assert not doc["items"][4]["passed"]  # SAFE-001 fires on the med-admin map


def test_demo_map_audits(cli) -> None:
    p = cli("audit", DEMO, "--no-store", "--fail-on", "none")
    assert p.returncode == 0 and "findings" in p.stdout


def test_a_map_on_standard_input(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    def run(*args: str, text: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "audit_engine", *args], input=text, capture_output=True,
                              text=True, cwd=tmp_path, env=os.environ, timeout=120)

    (tmp_path / "audit-engine.yaml").write_text("skip: [HDF-002]\n")  # the working folder is not the map's folder
    p = run("audit", "-", "--no-store", "--format", "json", text=Path(PORTAL_V1).read_text())
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert doc["map"]["file"] == "<stdin>" and "HDF-002" in {f["rule_id"] for f in doc["findings"]}
    assert doc["findings"][0]["location"]["file"] == "<stdin>"
    p = run("validate", "-", text="format: 1\nid: m\n")
    assert p.returncode == 2 and "<stdin>:1:1: missing required key 'name'" in p.stderr


def test_rules_test_on_a_pack_that_does_not_compile_is_exit_2(cli, tmp_path: Path) -> None:
    p = cli("rules", "test", _one_rule_pack(tmp_path / "p.yaml", when="{fact: touchpiont, as: t}"))
    assert p.returncode == 2 and "did you mean 'touchpoint'" in p.stderr


def test_diff_of_two_files_uses_the_configuration_beside_them(cli, tmp_path: Path) -> None:
    import shutil

    shutil.copy(PORTAL_V1, tmp_path / "v1.yaml")
    shutil.copy(PORTAL_V2, tmp_path / "v2.yaml")
    (tmp_path / "audit-engine.yaml").write_text("skip: [HDF-002]\n")
    p = cli("diff", str(tmp_path / "v1.yaml"), str(tmp_path / "v2.yaml"), "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert "HDF-002" not in {f["rule_id"] for k in ("new", "resolved", "unchanged") for f in doc[k]}
    assert "skipped rules: HDF-002" in p.stderr


def test_sarif_of_a_map_on_standard_input_points_at_no_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    import jsonschema

    from conftest import ROOT

    p = subprocess.run([sys.executable, "-m", "audit_engine", "audit", "-", "--no-store", "--format", "sarif"],
                       input=Path(PORTAL_V1).read_text(), capture_output=True, text=True, timeout=120)
    doc = json.loads(p.stdout)
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(doc)
    run = doc["runs"][0]
    assert "artifacts" not in run and "stdin" not in json.dumps(run["results"])
    assert all(loc["logicalLocations"] and "physicalLocation" not in loc for r in run["results"] for loc in r["locations"])
