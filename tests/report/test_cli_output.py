"""Everyday output: the report registry, tables, waivers in tables, diff, rules show and
list --retired, JUnit failures per case, the trend chart, and a hint for a common YAML slip."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from junitparser import Failure, JUnitXml

from audit_engine.audit import audit_file
from audit_engine.errors import MapError, UsageError
from audit_engine.loader import load_map_text
from audit_engine.report import RENDERERS, RenderOptions, formats, render, render_format, renderer
from audit_engine.report import _table
from audit_engine.waivers import apply_waivers
from conftest import CONFORMANCE, ROOT

PORTAL_V1 = CONFORMANCE / "patient-portal.v1.yaml"
PORTAL_V2 = CONFORMANCE / "patient-portal.v2.yaml"
CLI_DIR = ROOT / "audit_engine" / "cli"


def invoke(*args: str, env: dict | None = None):
    from audit_engine.cli import _register, cli

    _register()
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, env=env)


# --------------------------------------------------------------------------- one registry


def test_every_view_and_format_has_a_renderer_with_one_signature() -> None:
    for view, fmt in RENDERERS:
        fn = renderer(view, fmt)
        params = list(inspect.signature(fn).parameters)
        assert len(params) == 2 and params[1] == "options", f"{view}/{fmt}: {params}"
    assert formats("audit") == ["table", "json", "sarif", "junit", "markdown", "html"]
    assert formats("trend") == ["table", "json", "svg", "png"]


def test_unknown_views_and_formats_are_usage_errors_with_a_hint() -> None:
    with pytest.raises(UsageError, match="did you mean 'markdown'"):
        renderer("diff", "markdwn")
    with pytest.raises(UsageError, match="did you mean 'trend'"):
        formats("trnd")


def test_cli_modules_parse_run_and_write_only() -> None:
    """No report text in cli/: no rich, no JSON or text layout, --format choices from the registry."""
    for path in sorted(CLI_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for word in ("rich", "json.dumps", "import textwrap", "Table(", "ljust(", ":<"):
            assert word not in text, f"{path.name} has {word!r}: rendering belongs in report/"
        for choice in re.findall(r'"--format", "fmt", type=Choice\(([^)]*\)?)', text):
            assert choice.startswith("formats("), f"{path.name}: --format choices must come from report.formats"


# --------------------------------------------------------------------------- tables

MARKUP = """\
format: 1
id: markup
name: "Markup [bold red]map[/]"
version: "1.0[/]"
stakeholders:
  - {id: nurse, name: "[bold red]x[/] and [link=https://example.org]y[/link]", group: clinical}
stages:
  - {id: care, name: Care}
systems:
  - {id: ehr, name: EHR, ehr: true}
data:
  - {id: chart, name: Chart, classification: phi}
touchpoints:
  - {id: shared-login, name: "[/bold] x", stage: care, stakeholder: nurse, system: ehr,
     authentication: shared, data_access: [{data: chart, actions: [view]}]}
"""


def test_tables_show_map_text_as_written_and_the_waived_marker(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MARKUP, encoding="utf-8")
    (tmp_path / "audit-waivers.yaml").write_text(
        "waivers:\n  - {map: markup, rule_id: CRED-001, subject: shared-login, reason: '[b]ok[/b]',"
        " owner: a@example.org, expires: 2027-01-31}\n", encoding="utf-8")
    res = invoke("audit", tmp_path / "m.yaml", "--no-store", "--fail-on", "none", env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "version 1.0[/]" in out
    row = next(line for line in out.splitlines() if line.startswith("high") and "CRED-001" in line)
    assert "'[/bold] x'" in row and row.endswith("[waived]") is False and "[waived]" in row


def test_tables_list_expired_and_stale_waivers(tmp_path: Path) -> None:
    shutil.copy(PORTAL_V2, tmp_path / "portal.yaml")
    (tmp_path / "audit-waivers.yaml").write_text(
        "waivers:\n"
        "  - {map: patient-portal, rule_id: HDF-018, subject: patient-portal, reason: old, owner: p@example.org,"
        " expires: 2026-01-01}\n"
        "  - {map: patient-portal, rule_id: CRED-001, subject: gone-touchpoint, reason: fixed long ago,"
        " owner: s@example.org, expires: 2027-01-31}\n", encoding="utf-8")
    res = invoke("audit", tmp_path / "portal.yaml", "--no-store", "--fail-on", "none", env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "[waiver expired 2026-01-01]" in res.stdout
    assert (f"expired waiver: HDF-018 patient-portal (owner p@example.org, expired 2026-01-01, "
            f"{tmp_path / 'audit-waivers.yaml'}:2): the finding counts again") in res.stdout
    assert "stale waiver: CRED-001 gone-touchpoint (owner s@example.org" in res.stdout
    assert "matches no finding; remove it" in res.stdout


def test_tables_fit_the_terminal_and_never_break_ids(ruleset) -> None:
    result = apply_waivers(audit_file(PORTAL_V2, ruleset), None)
    for width in (60, 100, 160):
        text = render("audit", "table", [result], RenderOptions(width=width))
        lines = text.splitlines()[1:-2]  # the table: between the heading and the summary
        fixed = max(len(f.rule_id) for f in result.findings) + max(len(f.subject) for f in result.findings)
        assert all(len(line) <= max(width, fixed + 40) for line in lines)
        for f in result.findings:
            assert any(f.rule_id in line and f.subject in line for line in lines), (width, f.rule_id, f.subject)
        if width >= 160:
            assert max(len(line) for line in lines) > 100  # the width is used, not a fixed 120 or 80


def test_table_writer_is_fast_for_22000_rows() -> None:
    columns = (_table.Column("severity"), _table.Column("rule"), _table.Column("subject"),
               _table.Column("message", wrap=True), _table.Column("line", align="right"))
    rows = [["high", f"HDF-{i % 20:03d}", f"touchpoint-{i}", "word " * (8 + i % 30), str(i)] for i in range(22_000)]
    start = time.perf_counter()
    lines = _table.render(columns, rows, 120)
    assert time.perf_counter() - start < 3.0
    assert len(lines) > 22_000 and all(len(line) <= 120 for line in lines)


def test_colour_only_when_asked(ruleset) -> None:
    result = apply_waivers(audit_file(PORTAL_V2, ruleset), None)
    assert "\x1b[" not in render("audit", "table", [result], RenderOptions())
    coloured = render("audit", "table", [result], RenderOptions(color=True))
    assert "\x1b[1;31mhigh\x1b[0m" in coloured


# --------------------------------------------------------------------------- a comma in a flow value


def test_a_comma_in_an_unquoted_flow_value_suggests_quoting() -> None:
    text = (PORTAL_V1.read_text(encoding="utf-8")
            .replace("{id: patient, name: Patient,", "{id: patient, name: Patient (adult, minor),"))
    assert "Patient (adult, minor)" in text
    with pytest.raises(MapError) as exc:
        load_map_text(text, "m.yaml")
    [d] = exc.value.diagnostics
    assert d.message == ("stakeholders[0]: unknown key 'minor)': a comma inside an unquoted value ends it: "
                         'quote the value, e.g. name: "Patient (adult, minor)"')


# --------------------------------------------------------------------------- diff


def test_diff_shows_what_changed() -> None:
    res = invoke("diff", PORTAL_V1, PORTAL_V2)
    assert res.exit_code == 0, res.output
    assert "unchanged  " not in res.stdout and "6 unchanged findings not shown (--with-unchanged lists them)" in res.stdout
    res = invoke("diff", PORTAL_V1, PORTAL_V2, "--with-unchanged")
    assert res.stdout.count("\nunchanged  ") == 6
    doc = json.loads(invoke("diff", PORTAL_V1, PORTAL_V2, "--format", "json").stdout)
    assert len(doc["unchanged"]) == 6  # JSON lists everything unless asked
    doc = json.loads(invoke("diff", PORTAL_V1, PORTAL_V2, "--format", "json", "--changed-only").stdout)
    assert doc["unchanged"] == [] and doc["unchanged_omitted"] is True and doc["summary"]["unchanged"] == 6
    md = invoke("diff", PORTAL_V1, PORTAL_V2, "--format", "markdown", "--changed-only").stdout
    assert "### Unchanged" not in md and "_6 unchanged findings not listed._" in md


# --------------------------------------------------------------------------- rules


def test_rules_show_says_the_condition_and_only_the_parameters_it_uses() -> None:
    shown = invoke("rules", "show", "CRED-003").stdout
    words = " ".join(shown.split())  # wrapped to the terminal's width
    assert "## What it checks" in shown and "shared_workstation is true" in words
    assert "max_auto_logoff_minutes (a parameter)" in words
    assert "{param." not in shown and "{s." not in shown  # no message template
    params = shown.split("## Parameters\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert params == ["max_auto_logoff_minutes = 15 (default 15): Longest allowed idle time, in minutes, before a "
                      "shared workstation that holds PHI logs its user off."]
    assert "## Parameters" not in invoke("rules", "show", "HDF-001").stdout  # uses none
    assert "max_breach_notification_days" not in shown


def test_rules_list_retired() -> None:
    res = invoke("rules", "list", "--retired")
    assert res.exit_code == 0
    row = next(line for line in res.stdout.splitlines() if line.startswith("SAFE-002"))
    assert re.search(r"SAFE-002\s+near-miss\s+2\s+SAFE-007, SAFE-008\s+Reported one finding", row)
    doc = json.loads(invoke("rules", "list", "--retired", "--format", "json").stdout)
    assert doc == [{"id": "SAFE-002", "pack": "near-miss", "retired_in": "2", "replaced_by": ["SAFE-007", "SAFE-008"],
                    "reason": doc[0]["reason"]}] and doc[0]["reason"].startswith("Reported one finding")
    res = invoke("rules", "show", "SAFE-002")
    assert res.exit_code == 2 and "retired in release 2; see SAFE-007 and SAFE-008" in res.stderr


# --------------------------------------------------------------------------- JUnit


def test_junit_has_one_failure_per_failing_case(ruleset, tmp_path: Path) -> None:
    result = apply_waivers(audit_file(ROOT / "fixtures" / "maps" / "ed-sepsis-pathway.yaml", ruleset), None)
    path = tmp_path / "j.xml"
    path.write_text(render_format("junit", [result], fail_on="high"), encoding="utf-8")
    [suite] = list(JUnitXml.fromfile(str(path)))
    failing = [c for c in suite if any(isinstance(r, Failure) for r in c.result)]
    assert all(sum(isinstance(r, Failure) for r in c.result) == 1 for c in failing)
    failing_findings = [f for f in result.findings if not f.waived and f.severity in ("critical", "high")]
    assert suite.failures == len(failing) == len(failing_findings)  # one case, one failure, per failing finding
    assert sorted(c.name for c in failing) == sorted(f"{f.rule_id} {f.subject}" for f in failing_findings)
    comp = [c for c in failing if c.name.startswith("COMP-001")]
    assert [c.name for c in comp] == ["COMP-001 icu-handoff", "COMP-001 sepsis-alert"]
    [failure] = [r for r in comp[0].result if isinstance(r, Failure)]
    assert failure.message.startswith("Touchpoint 'Rapid response nurse takes the hand-off to ICU' (icu-handoff)")
    assert failure.text.startswith("HIGH COMP-001 icu-handoff:") and "COMP-001 sepsis-alert" not in failure.text
    passing = {c.name.split(" ", 1)[0] for c in suite if not any(isinstance(r, Failure) for r in c.result)}
    assert passing == set(result.ruleset.program.rules) - {f.rule_id for f in failing_findings}


# --------------------------------------------------------------------------- the trend chart

TREND = {"map": "portal", "versions": [
    {"version": "1.0.0", "audited_at": "2026-01-01T00:00:00+00:00", "critical": 2, "high": 9, "medium": 0, "low": 4,
     "info": 0, "total": 15, "new": 15, "resolved": 0},
    {"version": "1.1.0", "audited_at": "2026-02-01T00:00:00+00:00", "critical": 0, "high": 12, "medium": 0, "low": 3,
     "info": 0, "total": 15, "new": 4, "resolved": 4},
    {"version": "$\\frac{$ [/]", "audited_at": "2026-03-01T00:00:00+00:00", "critical": 1, "high": 14, "medium": 0,
     "low": 1, "info": 0, "total": 16, "new": 3, "resolved": 2}]}


def test_trend_svg_legend_beside_the_bars_counts_and_present_severities_only() -> None:
    svg = render("trend", "svg", TREND, RenderOptions())
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg)
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "+4 / \u22124" in texts and "+3 / \u22122" in texts and "$\\frac{$ [/]" in texts
    bars = [r for g in root.iterfind(".//s:g/s:g", ns) for r in g.iterfind("s:rect", ns)]
    right_of_bars = max(float(r.get("x")) + float(r.get("width")) for r in bars)
    legend = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text in ("critical", "high", "medium",
                                                                                    "low", "info")]
    assert sorted(t.text for t in legend) == ["critical", "high", "low"]  # no medium, no info anywhere
    assert all(float(t.get("x")) > right_of_bars for t in legend)


def test_trend_png_with_a_mathtext_version_label(tmp_path: Path) -> None:
    png = render("trend", "png", TREND, RenderOptions())
    assert isinstance(png, bytes) and png[:4] == b"\x89PNG"


# --------------------------------------------------------------------------- make demo and the README


def test_editable_install_has_nothing_to_warn_about() -> None:
    """setuptools warns about an editable install of a flat layout found by package discovery
    (the meta-path finder); saying where the package lives makes it a plain .pth entry."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^package-dir = \{"" = "\."\}', text, re.M)
    assert "ids may\nnot" in (ROOT / "README.md").read_text(encoding="utf-8")
