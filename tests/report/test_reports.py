"""SARIF (against the official schema), JUnit (read back by junitparser), Markdown and HTML."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from junitparser import Failure, JUnitXml

from audit_engine.audit import audit_file
from audit_engine.errors import UsageError
from audit_engine.gate import GatePolicy, evaluate_gate
from audit_engine.report import render_format
from audit_engine.report.sarif import SECURITY_SEVERITY
from audit_engine.waivers import apply_waivers
from conftest import CONFORMANCE, HOSTILE_MAP, ROOT

SARIF_SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"  # the official OASIS schema, vendored
PORTAL_V1 = CONFORMANCE / "patient-portal.v1.yaml"
PORTAL_V2 = CONFORMANCE / "patient-portal.v2.yaml"
MED = CONFORMANCE / "medication-administration.yaml"
TODAY = dt.date(2026, 6, 1)



@pytest.fixture
def portal(ruleset, tmp_path):
    """patient-portal v2 with CRED-001 waived and an expired waiver on HDF-018."""
    path = tmp_path / "portal.yaml"
    shutil.copy(PORTAL_V2, path)
    result = audit_file(path, ruleset)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n"
                       "  - {map: patient-portal, rule_id: CRED-001, subject: triage-inbox,"
                       " reason: 'Inbox <retired> Q3', owner: ciso@example.org, expires: 2026-12-31}\n"
                       "  - {map: patient-portal, rule_id: HDF-018, subject: patient-portal, reason: old,"
                       " owner: privacy@example.org, expires: 2026-01-01}\n")
    result = apply_waivers(result, str(waivers), today=TODAY)
    return result


@pytest.fixture
def hostile(ruleset, tmp_path):
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE_MAP, encoding="utf-8")
    result = audit_file(path, ruleset)
    result = apply_waivers(result, None)
    return result


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def assert_valid(validator, doc) -> None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


# --------------------------------------------------------------------------- SARIF


def test_sarif_is_valid_and_complete(portal, sarif_validator) -> None:
    doc = json.loads(render_format("sarif", [portal], fail_on="high"))
    assert_valid(sarif_validator, doc)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "audit-engine" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted(portal.ruleset.program.rules)
    by_id = {r["id"]: r for r in rules}
    cred = by_id["CRED-001"]
    assert cred["shortDescription"]["text"] == portal.ruleset.program.rules["CRED-001"][1].title
    assert cred["fullDescription"]["text"].startswith("Unique user identification")
    assert "45 CFR 164.312(a)(2)(i)" in cred["help"]["text"] and "**Remediation:**" in cred["help"]["markdown"]
    assert cred["properties"]["security-severity"] == "8.0"
    assert by_id["HDF-008"]["help"]["text"].count("at most 60.") == 1 and "{param." not in json.dumps(rules)
    assert "security" in cred["properties"]["tags"] and "credential-sharing" in cred["properties"]["tags"]
    for r in rules:
        sev = r["properties"]["security-severity"]
        assert isinstance(sev, str) and re.fullmatch(r"\d+\.\d", sev) and 0.0 <= float(sev) <= 10.0

    results = run["results"]
    assert len(results) == len(portal.findings)
    for res, f in zip(results, portal.findings):
        assert res["ruleId"] == f.rule_id and rules[res["ruleIndex"]]["id"] == f.rule_id
        assert res["level"] == {"critical": "error", "high": "error", "medium": "warning", "low": "note",
                                "info": "note"}[f.severity]
        assert res["message"]["text"] == f.message
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == Path(portal.loaded.file).as_uri()  # absolute path -> file URI
        assert loc["region"] == {"startLine": f.location.line, "startColumn": f.location.column}
        assert res["partialFingerprints"] == {"auditEngine/v1": f.fingerprint}
        assert by_id[f.rule_id]["properties"]["security-severity"] == SECURITY_SEVERITY[f.severity]
    broken = json.loads(json.dumps(doc))
    broken["runs"][0]["results"][0]["level"] = "critical"
    assert any("'critical' is not one of" in e.message for e in sarif_validator.iter_errors(broken))  # schema bites
    waived = [r for r in results if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"]) for r in waived] == [
        ("CRED-001", [{"kind": "external", "status": "accepted", "justification": "Inbox <retired> Q3",
                       "properties": {"owner": "ciso@example.org", "expires": "2026-12-31",
                                      "file": portal.waivers.file, "line": 2}}])]
    expired = next(r for r in results if r["ruleId"] == "HDF-018")
    assert "suppressions" not in expired and expired["properties"]["waiverExpired"]["expires"] == "2026-01-01"


def test_sarif_several_maps_relative_paths(ruleset, sarif_validator, monkeypatch) -> None:
    monkeypatch.chdir(CONFORMANCE.parent)
    results = [audit_file("conformance/patient-portal.v1.yaml", ruleset),
               audit_file("conformance/medication-administration.yaml", ruleset)]
    doc = json.loads(render_format("sarif", results, fail_on="high"))
    assert_valid(sarif_validator, doc)
    assert [r["properties"]["map"]["id"] for r in doc["runs"]] == ["patient-portal", "med-administration"]
    assert len({r["automationDetails"]["id"] for r in doc["runs"]}) == 2
    uris = {res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for res in doc["runs"][0]["results"]}
    assert uris == {"conformance/patient-portal.v1.yaml"}  # relative, as given


def test_sarif_of_a_hostile_map_is_valid(hostile, sarif_validator) -> None:
    doc = json.loads(render_format("sarif", [hostile], fail_on="high"))
    assert_valid(sarif_validator, doc)
    assert any("<script>" in r["message"]["text"] for r in doc["runs"][0]["results"])  # JSON needs no escaping


# --------------------------------------------------------------------------- JUnit


def test_junit_reads_back_with_junitparser(portal, tmp_path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(render_format("junit", [portal], fail_on="high"), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert suite.name == "patient-portal 1.1.0"
    cases = list(suite)
    rules = portal.ruleset.program.rules
    unwaived_high = [f for f in portal.findings if not f.waived and f.severity in ("critical", "high")]
    failing_rules = {f.rule_id for f in unwaived_high}
    assert len(cases) == suite.tests == len(rules) - len(failing_rules) + len(unwaived_high)
    assert {c.name.split(" ", 1)[0] for c in cases} == set(rules)
    by_rule = {c.name.split(" ", 1)[0]: c for c in cases}
    assert by_rule["CRED-001"].classname == "credential-sharing"
    assert by_rule["CRED-001"].name == "CRED-001 " + rules["CRED-001"][1].title

    # CRED-001 is high but waived: a passing case, the waiver in system-out
    assert by_rule["CRED-001"].is_passed
    assert "waived by ciso@example.org until 2026-12-31" in by_rule["CRED-001"].system_out
    # HDF-008 (high) fails; HDF-018 (medium, its waiver expired) is below the threshold
    assert by_rule["HDF-008"].name == "HDF-008 breach-runbook"
    failures = [r for r in by_rule["HDF-008"].result if isinstance(r, Failure)]
    assert len(failures) == 1 and failures[0].type == "high"
    [hdf8] = [f for f in unwaived_high if f.rule_id == "HDF-008"]
    assert failures[0].message == hdf8.message
    assert "fingerprint:" in failures[0].text
    assert by_rule["HDF-018"].is_passed and "waiver expired 2026-01-01" in by_rule["HDF-018"].system_out

    unwaived_high = [f for f in portal.findings if not f.waived and f.severity in ("critical", "high")]
    assert suite.failures == len(unwaived_high)  # one failing case per failing finding
    before = (suite.tests, suite.failures, suite.errors, suite.skipped)
    xml.update_statistics()
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == before  # our counts are junitparser's


def test_junit_threshold_and_several_maps(ruleset, tmp_path) -> None:
    results = [audit_file(PORTAL_V1, ruleset), audit_file(MED, ruleset)]
    for fail_on, expect in (("none", 0), ("critical", 2), ("low", None)):
        path = tmp_path / f"{fail_on}.xml"
        path.write_text(render_format("junit", results, fail_on=fail_on))
        xml = JUnitXml.fromfile(str(path))
        assert [s.name for s in xml] == ["patient-portal 1.0.0", "med-administration 3.0.0"]
        total = sum(s.failures for s in xml)
        if expect is None:  # low: every finding other than info fails
            assert total == sum(len([f for f in r.findings if f.severity != "info"]) for r in results)
        else:
            assert total == expect


def test_junit_escapes_hostile_text(hostile, tmp_path) -> None:
    path = tmp_path / "h.xml"
    path.write_text(render_format("junit", [hostile], fail_on="high"), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))  # parses: markup and control characters are escaped or replaced
    case = next(c for s in xml for c in s if c.name.startswith("CRED-001"))
    assert "<img src=x onerror=alert(1)>" in case.result[0].message
    assert "]]>" in case.result[0].text


# --------------------------------------------------------------------------- Markdown


def test_markdown_summary_links_and_limit(ruleset, portal) -> None:
    md = render_format("markdown", [portal], fail_on="high")
    assert md.startswith("## audit-engine report")
    file = portal.loaded.file
    f = next(f for f in portal.findings if f.rule_id == "HDF-008")
    assert f"]({file}#L{f.location.line})" in md  # the target is the file and its line
    assert f"[{file.replace('_', chr(92) + '_')}#L{f.location.line}]" in md  # the link text is escaped Markdown
    lines = md.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("| 🟥 critical | 🟧 high"))
    s = portal.summary()
    waived = sum(f.waived for f in portal.findings)
    assert lines[head + 2] == ("| " + " | ".join(str(s[k]) for k in ("critical", "high", "medium", "low", "info"))
                               + f" | {s['total']} | {waived} |")
    assert s["high"] == 2 and waived == 1  # CRED-001 is waived: counted as waived, not as high
    assert "expired waiver: HDF-018 patient-portal" in md
    rows = [line for line in lines if line.startswith("| ") and "#L" in line]
    assert 0 < len(rows) <= 10
    assert rows[0].startswith("| 🟧 high | HDF-008 | breach-runbook |")  # highest unwaived first
    assert "_(waived)_" not in md  # CRED-001 would be listed after the ten unwaived ones: not shown

    many = audit_file(MED, ruleset)
    many = many.with_findings(many.findings * 3)  # more than ten findings
    md = render_format("markdown", [many], fail_on="high")
    table = [l for l in md.splitlines() if l.startswith("| ") and "#L" in l]
    assert len(table) == 10 and f"…and {len(many.findings) - 10} more." in md


def test_markdown_with_gate_and_link_base(ruleset, portal) -> None:
    baseline = audit_file(PORTAL_V1, ruleset).findings
    outcome = evaluate_gate(portal, GatePolicy(max_new={"high": 0}), baseline, "1.0.0")
    md = render_format("markdown", [portal], fail_on="high", gates=[outcome],
                       link_base="https://github.com/o/r/blob/abc123/")
    assert "❌ **Gate failed** (baseline 1.0.0;" in md
    assert "- ❌ 2 new findings vs 1.0.0 at high or above \\(limit 0\\)" not in md  # parentheses are not escaped
    assert ("- ❌ 2 new findings vs 1.0.0 at high or above (limit 0): HDF-008 breach-runbook, "
            "HDF-013 engagement-events") in md
    assert "New since the baseline" in md
    assert "(https://github.com/o/r/blob/abc123/" in md and "#L" in md


def test_markdown_escapes_hostile_text(hostile) -> None:
    md = render_format("markdown", [hostile], fail_on="high")
    assert "<img" not in md and "<script>" not in md and "<b>" not in md
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "\\[link\\](javascript:alert(1))" in md  # no link can form
    assert "\\| " in md  # a pipe cannot break the table
    assert "\x01" not in md
    for line in md.splitlines():
        if line.startswith("| ") and "#L" in line:
            assert len(re.findall(r"(?<!\\)\|", line)) == 6  # 5 columns


def test_markdown_several_maps(ruleset) -> None:
    md = render_format("markdown", [audit_file(PORTAL_V1, ruleset), audit_file(MED, ruleset)], fail_on="high")
    assert md.count("\n### ") == 2 and "2 maps," in md


# --------------------------------------------------------------------------- HTML


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_html_escapes_a_hostile_map(hostile) -> None:
    page = render_format("html", [hostile], fail_on="high")
    assert page.count("<script") == 2 and "<img" not in page and "<b>pool" not in page  # the page's own scripts
    assert "&lt;script&gt;alert(&#39;map&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "\x01" not in page
    parser = _Tags()
    parser.feed(page)
    tags = {t for t, _ in parser.tags}
    assert not tags & {"img", "iframe", "link", "object", "embed"}
    assert [a for t, a in parser.tags if t == "script"] == [{"type": "application/json", "class": "map-data"}, {}]
    assert not any(k.startswith("on") for _, attrs in parser.tags for k in attrs)
    assert "<script>alert('map')</script>" in "".join(parser.text)  # shown as text


def test_html_is_standalone_and_grouped(portal) -> None:
    page = render_format("html", [portal], fail_on="high")
    assert page.lstrip().startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no external assets
    assert "Content-Security-Policy" in page
    positions = [page.find(f'<span class="sev sev-{s}">{s}</span> ') for s in ("high", "medium", "low")]
    assert all(p > 0 for p in positions) and positions == sorted(positions)
    assert '<span class="tag waived">waived</span>' in page
    assert "Waived</strong> by ciso@example.org until 2026-12-31: Inbox &lt;retired&gt; Q3" in page
    assert "waiver expired 2026-01-01" in page
    assert "Evidence (" in page and "<li>triage-inbox: authentication shared</li>" in page
    assert "How to fix:" in page and "{param." not in page
    assert "Set `timeline_days` on the checkpoint to at most 60." in page  # HDF-008, parameter filled in


def test_html_with_gate_and_several_maps(ruleset, portal) -> None:
    outcome = evaluate_gate(portal, GatePolicy(max_new={"high": 0}), None, None)
    med = audit_file(MED, ruleset)
    page = render_format("html", [portal, med], fail_on="high", gates=[outcome, None])
    assert page.count('<section class="map" id="m') == 2
    assert "<strong>Gate failed</strong>" in page and "no baseline" in page
    assert '<span class="tag new">new</span>' in page


# --------------------------------------------------------------------------- dispatch and CLI


def test_render_format_rejects_unknown_formats(portal) -> None:
    with pytest.raises(UsageError, match="did you mean 'sarif'"):
        render_format("sarfi", [portal], fail_on="high")


@pytest.mark.parametrize("fmt", ["sarif", "junit", "markdown", "html"])
def test_audit_cli_formats(cli, fmt: str, tmp_path, sarif_validator) -> None:
    out = tmp_path / f"report.{fmt}"
    p = cli("audit", str(PORTAL_V1), str(MED), "--format", fmt, "--no-store", "-o", str(out))
    assert p.returncode == 1, p.stderr  # HDF-002 is critical
    text = out.read_text(encoding="utf-8")
    if fmt == "sarif":
        doc = json.loads(text)
        assert_valid(sarif_validator, doc)
        assert len(doc["runs"]) == 2
    elif fmt == "junit":
        assert len(list(JUnitXml.fromfile(str(out)))) == 2
    elif fmt == "markdown":
        assert f"({PORTAL_V1}#L" in text
    else:
        assert "<!DOCTYPE html>" in text


def test_json_carries_the_journey_content(ruleset) -> None:
    """Format 1.1 journey content (emotion, pain points, moments that matter, duration) reaches the JSON report."""
    from conftest import CONFORMANCE

    result = audit_file(CONFORMANCE / "behavioral-health-intake.yaml", ruleset)
    journey = json.loads(render_format("json", [result], fail_on="high"))["journey"]
    m = result.loaded.map
    assert [s["id"] for s in journey["stages"]] == [s.id for s in m.stages if s.duration or s.description]
    by_id = {t["id"]: t for t in journey["touchpoints"]}
    for t in m.touchpoints:
        if t.emotion or t.pain_points or t.moment_that_matters or t.duration or t.description:
            got = by_id.pop(t.id)
            assert got.get("emotion") == t.emotion and got.get("pain_points", []) == list(t.pain_points)
            assert got.get("moment_that_matters", False) == t.moment_that_matters
            assert got.get("duration") == t.duration and got["stage"] == t.stage
    assert by_id == {}  # nothing without journey content
    assert any(t.get("emotion") for t in journey["touchpoints"])
    assert "journey" not in json.loads(render_format("json", [audit_file(PORTAL_V1, ruleset)], fail_on="high"))
