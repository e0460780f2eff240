"""Waiver files: format checks with positions, matching, expiry, stale waivers."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from audit_engine.audit import RuleSet, audit_file
from audit_engine.errors import ConfigError
from audit_engine.waivers import WAIVER_FILE, _WaiverModel, apply_waivers, load_waivers
from conftest import CONFORMANCE

PORTAL_V2 = CONFORMANCE / "patient-portal.v2.yaml"
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def portal(ruleset, tmp_path):
    """A fresh audit of patient-portal v2 (copied to tmp_path, so no waiver file sits beside it)."""
    path = tmp_path / "portal.yaml"
    shutil.copy(PORTAL_V2, path)
    return audit_file(path, ruleset)


def write(tmp_path: Path, text: str, name: str = "waivers.yaml") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def waiver(rule: str = "CRED-001", subject: str | None = "triage-inbox", expires: str = "2027-03-31",
           map_id: str = "patient-portal", fingerprint: str | None = None) -> str:
    target = f"    subject: {subject}\n" if subject is not None else f"    fingerprint: {fingerprint}\n"
    return (f"  - map: {map_id}\n    rule_id: {rule}\n{target}"
            f"    reason: Shared inbox is being replaced; reviewed with the privacy office.\n"
            f"    owner: privacy-officer@example.org\n    expires: {expires}\n")


def find(result, rule: str, subject: str):
    return next(f for f in result.findings if f.rule_id == rule and f.subject == subject)


def test_active_waiver_marks_the_finding(portal, tmp_path) -> None:
    path = write(tmp_path, "waivers:\n" + waiver())
    portal = apply_waivers(portal, path, today=TODAY)
    f = find(portal, "CRED-001", "triage-inbox")
    assert f.waived is True
    assert f.waiver == {"reason": "Shared inbox is being replaced; reviewed with the privacy office.",
                        "owner": "privacy-officer@example.org", "expires": "2027-03-31", "file": path, "line": 2}
    assert f.to_dict()["waived"] is True
    rep = portal.waivers
    assert rep.file == path
    assert [(e.rule_id, e.subject, e.owner, e.expires, e.line) for e in rep.applied] == [
        ("CRED-001", "triage-inbox", "privacy-officer@example.org", "2027-03-31", 2)]
    assert rep.expired == () and rep.stale == ()
    assert sum(f.waived for f in portal.findings) == 1


def test_waiver_by_fingerprint(portal, tmp_path) -> None:
    target = find(portal, "HDF-018", "patient-portal")
    path = write(tmp_path, "waivers:\n" + waiver("HDF-018", None, fingerprint=target.fingerprint))
    waived = apply_waivers(portal, path, today=TODAY)
    assert find(waived, "HDF-018", "patient-portal").waived and not target.waived  # a new result; the old is unchanged
    entry = waived.waivers.applied[0]
    assert entry.fingerprint == target.fingerprint and entry.subject == "patient-portal"


def test_fingerprint_of_another_rule_is_an_error(portal, tmp_path) -> None:
    target = find(portal, "HDF-018", "patient-portal")
    path = write(tmp_path, "waivers:\n" + waiver("CRED-001", None, fingerprint=target.fingerprint))
    with pytest.raises(ConfigError, match="is the finding HDF-018 patient-portal, not rule CRED-001"):
        portal = apply_waivers(portal, path, today=TODAY)


def test_expiry_day_is_the_last_active_day(portal, tmp_path) -> None:
    path = write(tmp_path, "waivers:\n" + waiver(expires="2026-06-01"))
    portal = apply_waivers(portal, path, today=dt.date(2026, 6, 1))
    assert find(portal, "CRED-001", "triage-inbox").waived
    portal = apply_waivers(portal, path, today=dt.date(2026, 6, 2))
    f = find(portal, "CRED-001", "triage-inbox")
    assert f.waived is False
    assert f.waiver is not None and f.waiver["expired"] is True and f.waiver["expires"] == "2026-06-01"
    rep = portal.waivers
    assert rep.applied == () and rep.stale == ()
    assert [(e.rule_id, e.subject, e.expired) for e in rep.expired] == [("CRED-001", "triage-inbox", True)]


def test_waiver_dated_in_the_past_has_expired_today(portal, tmp_path) -> None:
    path = write(tmp_path, "waivers:\n" + waiver(expires="2001-01-01"))
    portal = apply_waivers(portal, path)  # real today
    assert not find(portal, "CRED-001", "triage-inbox").waived
    assert len(portal.waivers.expired) == 1


def test_stale_waivers_are_reported_and_other_maps_ignored(portal, tmp_path) -> None:
    text = ("waivers:\n" + waiver("HDF-002", "analytics")  # fixed in v2
            + waiver("HDF-002", "analytics", expires="2001-01-01", map_id="other-map")  # another map
            + waiver("CRED-005", "no-such-stakeholder", expires="2001-01-01"))
    path = write(tmp_path, text)
    portal = apply_waivers(portal, path, today=TODAY)
    rep = portal.waivers
    assert rep.applied == () and rep.expired == ()
    assert [(e.rule_id, e.subject, e.line, e.expired) for e in rep.stale] == [
        ("HDF-002", "analytics", 2, False), ("CRED-005", "no-such-stakeholder", 14, True)]
    assert [w.map for w in portal.other_map_waivers] == ["other-map"]
    assert not any(f.waived for f in portal.findings)


def test_default_file_beside_the_map(portal, tmp_path) -> None:
    portal = apply_waivers(portal, None, today=TODAY)
    assert portal.waivers is None
    write(tmp_path, "waivers:\n" + waiver(), name=WAIVER_FILE)
    portal = apply_waivers(portal, None, today=TODAY)
    assert portal.waivers.file == str(tmp_path / WAIVER_FILE)
    assert find(portal, "CRED-001", "triage-inbox").waived


def test_applying_twice_starts_from_scratch(portal, tmp_path) -> None:
    portal = apply_waivers(portal, write(tmp_path, "waivers:\n" + waiver()), today=TODAY)
    portal = apply_waivers(portal, write(tmp_path, "waivers: []\n", name="empty.yaml"), today=TODAY)
    assert not any(f.waived or f.waiver for f in portal.findings)
    assert portal.waivers.applied == ()


def test_rule_ids_are_case_insensitive_and_unknown_ones_suggest(portal, tmp_path) -> None:
    portal = apply_waivers(portal, write(tmp_path, "waivers:\n" + waiver("cred-001")), today=TODAY)
    assert portal.waivers.applied[0].rule_id == "CRED-001"
    path = write(tmp_path, "waivers:\n" + waiver("CRED-01"))
    with pytest.raises(ConfigError) as exc:
        portal = apply_waivers(portal, path, today=TODAY)
    d = exc.value.diagnostics[0]
    assert (d.location.file, d.location.line, d.location.column) == (path, 2, 5)
    assert "unknown rule id 'CRED-01'" in d.message and "did you mean 'CRED-001'" in d.message


def test_waiver_for_a_rule_not_run_is_not_stale(ruleset, tmp_path) -> None:
    only = RuleSet.load(only=["hipaa-data-flows"])
    path_map = tmp_path / "portal.yaml"
    shutil.copy(PORTAL_V2, path_map)
    result = audit_file(path_map, only)
    result = apply_waivers(result, write(tmp_path, "waivers:\n" + waiver()), today=TODAY)
    rep = result.waivers
    assert rep.stale == () and rep.applied == ()
    assert [e.rule_id for e in rep.not_checked] == ["CRED-001"]


def test_invalid_file_reports_every_problem_with_positions(portal, tmp_path) -> None:
    path = write(tmp_path, """\
waivers:
  - map: patient-portal
    rule_id: CRED-001
    subject: triage-inbox
    reasn: typo
    owner: ""
    expires: 2027-02-30
  - {map: patient-portal, rule_id: HDF-009, subject: view-results, fingerprint: zz, reason: r, owner: o, expires: 2027-01-01}
  - just a string
extra: 1
""")
    with pytest.raises(ConfigError) as exc:
        load_waivers(path)
    got = {(d.location.line, d.location.column): d.message for d in exc.value.diagnostics}
    assert "waivers[0]: 'reason' is required" in got[(2, 5)]
    assert "unknown key 'reasn' (did you mean 'reason'?)" in got[(5, 5)]
    assert "waivers[0].owner: must be non-empty text" in got[(6, 12)]
    assert "waivers[0].expires: must be a date written YYYY-MM-DD" in got[(7, 14)]
    assert "either 'subject' (with rule_id) or 'fingerprint'" in got[(8, 5)]
    assert "fingerprint: must be the hexadecimal fingerprint" in got[(8, 81)]
    assert "waivers[2]: a waiver is a mapping" in got[(9, 5)]
    assert "unknown key 'extra'" in got[(10, 1)]
    assert str(exc.value).count(f"{path}:") == len(exc.value.diagnostics) == 8
    assert exc.value.exit_code == 2


def test_missing_fields_and_duplicates(tmp_path) -> None:
    path = write(tmp_path, "waivers:\n  - {map: m, rule_id: CRED-001}\n" + waiver() + waiver())
    with pytest.raises(ConfigError) as exc:
        load_waivers(path)
    msgs = [str(d) for d in exc.value.diagnostics]
    for key in ("reason", "owner", "expires"):
        assert any(f":2:5: waivers[0]: '{key}' is required" in m for m in msgs)
    assert any("or 'fingerprint'; one of them is required" in m for m in msgs)
    assert any(":9:5: this waiver duplicates the one at line 3" in m for m in msgs)


def test_yaml_syntax_error_is_a_config_error(tmp_path) -> None:
    path = write(tmp_path, "waivers:\n  - map: [unclosed\n")
    with pytest.raises(ConfigError) as exc:
        load_waivers(path)
    assert exc.value.diagnostics[0].location.file == path


def test_empty_file_and_json_file(tmp_path, portal) -> None:
    assert load_waivers(write(tmp_path, "# no waivers yet\n")) == []
    doc = {"waivers": [{"map": "patient-portal", "rule_id": "CRED-001", "subject": "triage-inbox",
                        "reason": "r", "owner": "o", "expires": "2027-01-01"}]}
    path = write(tmp_path, json.dumps(doc), name="waivers.json")
    portal = apply_waivers(portal, path, today=TODAY)
    assert find(portal, "CRED-001", "triage-inbox").waived


def _expires(value) -> dt.date | None:
    try:
        return _WaiverModel(map="m", rule_id="R-001", subject="s", reason="r", owner="o", expires=value).expires
    except ValueError:
        return None


def test_expires_accepts_date_objects_and_iso_strings() -> None:
    assert _expires(dt.date(2027, 3, 31)) == dt.date(2027, 3, 31)
    assert _expires(dt.datetime(2027, 3, 31, 12, 0)) == dt.date(2027, 3, 31)
    assert _expires("2027-03-31") == dt.date(2027, 3, 31)
    assert _expires("2027-3-31") is None and _expires("31/03/2027") is None and _expires(20270331) is None


def test_a_waiver_may_not_run_longer_than_the_maximum_lifetime(portal, tmp_path) -> None:
    path = write(tmp_path, "waivers:\n" + waiver(expires="2027-06-02"))
    with pytest.raises(ConfigError, match="more than 365 days from today"):
        apply_waivers(portal, path, today=TODAY)
    assert apply_waivers(portal, path, today=TODAY, max_lifetime_days=400).waivers.applied
    assert apply_waivers(portal, write(tmp_path, "waivers:\n" + waiver(expires="2027-06-01")), today=TODAY).waivers


def test_a_waiver_for_a_map_audited_with_no_other_is_stale_with_did_you_mean(ruleset, tmp_path) -> None:
    from audit_engine.audit import run_audits

    path = tmp_path / "portal.yaml"
    shutil.copy(PORTAL_V2, path)
    text = "waivers:\n" + waiver(map_id="patient-portl") + waiver(map_id="billing")
    [result] = run_audits([path], ruleset, write(tmp_path, text), today=TODAY)
    notes = {e.map: e.note for e in result.waivers.stale}
    assert notes == {"patient-portl": "map 'patient-portl' is none of the maps audited (patient-portal); "
                                      "did you mean 'patient-portal'?",
                     "billing": "map 'billing' is none of the maps audited (patient-portal)"}
    assert result.waivers.to_dict()["stale"][0]["note"].startswith("map 'patient-portl'")


def test_a_waiver_for_another_map_audited_together_is_not_stale(ruleset, tmp_path) -> None:
    from audit_engine.audit import run_audits

    shutil.copy(PORTAL_V2, tmp_path / "portal.yaml")
    other = CONFORMANCE / "behavioral-health-intake.yaml"
    shutil.copy(other, tmp_path / "bh.yaml")
    text = "waivers:\n" + waiver(map_id="bh-intake-telepsych", rule="HDF-002", subject="nowhere")
    results = run_audits([tmp_path / "portal.yaml", tmp_path / "bh.yaml"], ruleset, write(tmp_path, text), today=TODAY)
    assert [e.note for e in results[0].waivers.stale] == []
    assert [(e.map, e.note) for e in results[1].waivers.stale] == [("bh-intake-telepsych", None)]


def test_the_maximum_lifetime_comes_from_the_run_configuration(tmp_path) -> None:
    from conftest import run_cli

    shutil.copy(PORTAL_V2, tmp_path / "portal.yaml")
    (tmp_path / "audit-waivers.yaml").write_text("waivers:\n" + waiver(expires="2027-11-01"))
    p = run_cli("audit", str(tmp_path / "portal.yaml"), "--no-store", env={"AUDIT_ENGINE_TODAY": "2026-12-01"})
    assert p.returncode in (0, 1), p.stderr  # 335 days: within a year
    (tmp_path / "audit-engine.yaml").write_text("waiver_max_days: 90\n")
    p = run_cli("audit", str(tmp_path / "portal.yaml"), "--no-store", env={"AUDIT_ENGINE_TODAY": "2026-12-01"})
    assert p.returncode == 2 and "more than 90 days from today (waiver_max_days)" in p.stderr


def test_a_waiver_may_give_a_fingerprint_prefix(portal, tmp_path) -> None:
    target = find(portal, "HDF-018", "patient-portal")
    short = write(tmp_path, "waivers:\n" + waiver("HDF-018", None, fingerprint=target.fingerprint[:8].upper()))
    waived = apply_waivers(portal, short, today=TODAY)
    assert find(waived, "HDF-018", "patient-portal").waived and waived.waivers.stale == ()
    with pytest.raises(ConfigError, match="or at least its first 8 digits"):
        apply_waivers(portal, write(tmp_path, "waivers:\n" + waiver("HDF-018", None, fingerprint="0000abc")), today=TODAY)


def test_a_fingerprint_prefix_that_fits_several_findings_is_an_error(portal, tmp_path) -> None:
    from dataclasses import replace

    a, b = portal.findings[0], portal.findings[1]
    twins = replace(portal, findings=(replace(a, fingerprint="abcdef01" + "0" * 24),
                                      replace(b, rule_id=a.rule_id, fingerprint="abcdef01" + "1" * 24)))
    path = write(tmp_path, "waivers:\n" + waiver(a.rule_id, None, fingerprint="abcdef01"))
    with pytest.raises(ConfigError, match="fingerprint abcdef01 fits 2 findings .*give more of its digits"):
        apply_waivers(twins, path, today=TODAY)


def test_every_format_says_why_a_waiver_for_another_map_is_stale(ruleset, tmp_path) -> None:
    from audit_engine.audit import run_audits
    from audit_engine.report import render_format

    shutil.copy(PORTAL_V2, tmp_path / "portal.yaml")
    [result] = run_audits([tmp_path / "portal.yaml"], ruleset, write(tmp_path, "waivers:\n" + waiver(map_id="patient-portl")),
                          today=TODAY)
    for fmt in ("table", "markdown", "html", "json"):
        assert "did you mean" in render_format(fmt, [result], fail_on="high"), fmt
