"""History across rule-set changes: a finding that appears or disappears because a rule was
added, retired, skipped or changed never reads as a change of the map (issue 8, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

from audit_engine.audit import RuleSet, audit_file
from audit_engine.diff import diff_findings
from audit_engine.rulechange import MAP, RULE_ADDED, RULE_CHANGED, RULE_REMOVED, RULE_RETIRED, compare
from audit_engine.store import open_store, record_results

from conftest import run_cli
from conftest_store import V1, store_url, pg_server, pg_session_db  # noqa: F401  (fixtures)


def test_compare_rule_sets() -> None:
    old = {"A-001": "x", "B-001": "y", "C-001": "z"}
    new = {"A-001": "x", "B-001": "changed", "D-001": "w"}
    change = compare("d1", old, "d2", new, retired={"C-001": ("D-001",)})
    assert change.changed and change.known
    assert (change.added, change.removed, change.modified) == (("D-001",), ("C-001",), ("B-001",))
    assert [change.cause(r) for r in ("A-001", "B-001", "C-001", "D-001")] == [MAP, RULE_CHANGED, RULE_RETIRED,
                                                                              RULE_ADDED]
    assert compare("d", old, "d", old).changed is False
    unknown = compare("d1", None, "d2", new)
    assert unknown.changed and not unknown.known and unknown.cause("A-001") == "rule_set_changed"
    assert compare("same", None, "same", None).cause("A-001") == MAP


def _stored_diff(url: str) -> dict:
    with open_store(url) as store:
        change = store.rule_change("patient-portal", "1.0.0", "1.0.0-b")
        old = store.version_findings("patient-portal", "1.0.0")
        new = store.version_findings("patient-portal", "1.0.0-b")
    return diff_findings("patient-portal", "1.0.0", old, "1.0.0-b", new, change).to_dict()


def test_skipped_and_changed_rules_are_not_map_changes(store_url, tmp_path: Path) -> None:
    base = audit_file(V1, RuleSet.load())
    record_results(store_url, [base])
    # the same map content under another label, audited with a different rule set: CRED-005 skipped,
    # CRED-003 with another parameter (its digest changes), everything else the same
    v = tmp_path / "v.yaml"
    v.write_text(V1.read_text().replace('version: "1.0.0"', 'version: "1.0.0-b"'))
    other = RuleSet.load(skip=["CRED-005"], params={"max_auto_logoff_minutes": 30})
    record_results(store_url, [audit_file(v, other)])
    doc = _stored_diff(store_url)
    assert doc["rule_set"]["changed"] and doc["rule_set"]["removed"] == ["CRED-005"]
    assert "CRED-003" in doc["rule_set"]["modified"]
    resolved = {(f["rule_id"], f["subject"]): f["cause"] for f in doc["resolved"]}
    assert resolved == {("CRED-005", "pcp"): RULE_REMOVED}  # not "resolved by the map"
    assert doc["summary"]["resolved_by_rule_set"] == 1 and doc["new"] == []
    with open_store(store_url) as store:
        trend = store.trend("patient-portal")["versions"]
    assert [(t["resolved"], t["resolved_by_rule_set"], t["rule_set_changed"]) for t in trend] == [
        (0, 0, False), (1, 1, True)]


def test_a_retired_rule_says_what_replaces_it(store_url, tmp_path: Path) -> None:
    pack = tmp_path / "mine.yaml"
    pack.write_text(_MY_PACK.format(rules=_MY_RULE, retired="[]"))
    m = tmp_path / "m.yaml"
    m.write_text(V1.read_text())
    record_results(store_url, [audit_file(m, RuleSet.load(extra_packs=[pack], only=["my-pack"]))])
    pack.write_text(_MY_PACK.format(rules="[]", retired=_RETIRED))
    m.write_text(V1.read_text().replace('version: "1.0.0"', 'version: "1.0.0-b"'))
    later = RuleSet.load(extra_packs=[pack], only=["my-pack"])
    record_results(store_url, [audit_file(m, later)])
    with open_store(store_url) as store:
        from audit_engine.rulechange import retired_rules

        change = store.rule_change("patient-portal", "1.0.0", "1.0.0-b", retired_rules(later.packs))
        old = store.version_findings("patient-portal", "1.0.0")
        new = store.version_findings("patient-portal", "1.0.0-b")
    doc = diff_findings("patient-portal", "1.0.0", old, "1.0.0-b", new, change).to_dict()
    assert {f["cause"] for f in doc["resolved"]} == {RULE_RETIRED} and doc["resolved"]
    assert doc["rule_set"]["retired"] == {"MY-001": ["MY-002"]}


def test_file_diff_is_always_the_map(cli) -> None:
    out = json.loads(cli("diff", str(V1), str(V1.parent / "patient-portal.v2.yaml"), "--format", "json").stdout)
    assert {f["cause"] for f in out["new"] + out["resolved"]} == {MAP}
    assert out["rule_set"] == {"changed": False, "known": True}


def test_stored_diff_cli_reports_causes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert run_cli("audit", str(V1), "--db", db, "--fail-on", "none").returncode == 0
    v = tmp_path / "v.yaml"
    v.write_text(V1.read_text().replace('version: "1.0.0"', 'version: "1.0.0-b"'))
    assert run_cli("audit", str(v), "--db", db, "--fail-on", "none", "--skip", "COMP-004").returncode == 0
    p = run_cli("diff", "patient-portal@1.0.0", "patient-portal@1.0.0-b", "--db", db, "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [(f["rule_id"], f["cause"]) for f in doc["resolved"]] == [("COMP-004", RULE_REMOVED)]
    table = run_cli("diff", "patient-portal@1.0.0", "patient-portal@1.0.0-b", "--db", db).stdout
    assert "the rule set changed between the two runs (not run: COMP-004); 0 new and 1 resolved findings" in table
    assert "resolved (rule not run)" in table
    markdown = run_cli("diff", "patient-portal@1.0.0", "patient-portal@1.0.0-b", "--db", db, "--format", "markdown")
    assert "COMP-004 | " in markdown.stdout and "(rule not run)" in markdown.stdout
    trend = run_cli("trend", "patient-portal", "--db", db).stdout
    assert "1.0.0-b *" in trend and "(1 by rules)" in trend and "audited with another rule set" in trend


_MY_PACK = """\
pack: my-pack
version: 1.0.0
title: A pack whose rule gets retired
rules: {rules}
retired: {retired}
"""
_MY_RULE = """
  - id: MY-001
    title: Every stakeholder is named in a test
    severity: low
    basis: good_practice
    subject: s.id
    subject_kind: stakeholder
    citations: [{framework: good-practice, text: "a test rule"}]
    rationale: A rule for the tests of retired rules in history.
    remediation: Nothing to do.
    when:
      - {fact: stakeholder, as: s, where: {group: compliance}}
    message: "{s.id}"
    examples:
      fires: [{name: one, subjects: [po], map: {stakeholders: [{id: po, name: PO, group: compliance}]}}]
      passes: [{name: none, map: {}}]
"""
_RETIRED = """
  - {id: MY-001, retired_in: "2", replaced_by: [MY-002], reason: Replaced by a better rule in a test.}
"""


def test_a_stored_version_against_a_map_file_compares_the_rule_sets(tmp_path: Path) -> None:
    """One side stored, the other a file audited now: the file's side uses today's rules."""
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert run_cli("audit", str(V1), "--db", db, "--fail-on", "none").returncode == 0
    v = tmp_path / "v.yaml"
    v.write_text(V1.read_text().replace('version: "1.0.0"', 'version: "1.0.0-b"'))
    p = run_cli("diff", "patient-portal@1.0.0", str(v), "--db", db, "--format", "json", "--skip", "COMP-004")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [(f["rule_id"], f["cause"]) for f in doc["resolved"]] == [("COMP-004", RULE_REMOVED)]
    assert doc["rule_set"]["removed"] == ["COMP-004"] and doc["summary"]["resolved_by_rule_set"] == 1
    p = run_cli("diff", str(v), "patient-portal@1.0.0", "--db", db, "--format", "json", "--skip", "COMP-004")
    doc = json.loads(p.stdout)
    assert [(f["rule_id"], f["cause"]) for f in doc["new"]] == [("COMP-004", "rule_added")]
