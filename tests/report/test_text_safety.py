"""Map text is data (issue 11 item 2): names, versions and waiver fields with markup,
terminal escapes or mathtext render in every text format without an error, and no raw
control character but newline and tab reaches the output."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit_engine.audit import audit
from audit_engine.diff import diff_findings
from audit_engine.checklist import checklist
from audit_engine.explain import explain
from audit_engine.gate import GatePolicy, evaluate_gate
from audit_engine.loader import load_map_text
from audit_engine.report import RenderOptions, RunInfo, render
from audit_engine.report._text import dump_json, one_line, safe
from audit_engine.report.checklist import ChecklistReport
from audit_engine.report.gate import GateReport
from audit_engine.waivers import apply_waivers

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = ["[/bold] x", "[bold red]x[/]", "9.9[/]", "\x1b[2J\x1b[H", "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
           "a\rb", "$\\frac{$", "$x$ and $", "\x9b31m", "<script>", "]]>", "x\u2028y", "\ttab\nnew"]
text = st.one_of(st.sampled_from(HOSTILE),
                 # NUL is refused in every file (tests/load): the rest of Unicode must render as data
                 st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                         max_size=24),
                 st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=3).map("".join))


def _map(name: str, version: str, stakeholder: str, touchpoint: str) -> str:
    doc = {"format": 1, "id": "hostile", "name": name, "version": version,
           "stakeholders": [{"id": "nurse", "name": stakeholder, "group": "clinical"}],
           "stages": [{"id": "care", "name": "Care"}],
           "systems": [{"id": "ehr", "name": "EHR", "ehr": True}],
           "data": [{"id": "chart", "name": "Chart", "classification": "phi"}],
           "touchpoints": [{"id": "shared-login", "name": touchpoint, "stage": "care", "stakeholder": "nurse",
                            "system": "ehr", "authentication": "shared",
                            "data_access": [{"data": "chart", "actions": ["view"]}]}]}
    return yaml.safe_dump(doc, allow_unicode=False)


def _clean(out: str | bytes, where: str) -> None:
    if isinstance(out, bytes):
        return
    bad = RAW_CONTROL.search(out)
    assert bad is None, f"{where}: raw {bad.group()!r} at {bad.start()}: {out[max(0, bad.start() - 40):bad.start() + 40]!r}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(name=text, version=text, stakeholder=text, touchpoint=text, reason=text, owner=text)
def test_every_text_format_renders_map_text_as_data(ruleset, tmp_path_factory, name, version, stakeholder,
                                                     touchpoint, reason, owner) -> None:
    if not version.strip() or not reason.strip() or not owner.strip():
        return  # the map and waiver formats need non-blank text there
    tmp = tmp_path_factory.mktemp("hostile")
    path = tmp / "m.yaml"
    path.write_text(_map(name, version, stakeholder, touchpoint), encoding="utf-8")
    waivers = tmp / "w.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [
        {"map": "hostile", "rule_id": "CRED-001", "subject": "shared-login", "reason": reason, "owner": owner,
         "expires": "2027-01-31"},
        {"map": "hostile", "rule_id": "HDF-003", "subject": "gone", "reason": reason, "owner": owner,
         "expires": "2026-01-01"}]}, allow_unicode=False), encoding="utf-8")
    result = apply_waivers(audit(load_map_text(path.read_text(encoding="utf-8"), str(path)), ruleset), str(waivers),
                           today=dt.date(2026, 12, 1))
    info = RunInfo(config_file=f"cfg{name}.yaml", skipped_rules=("HDF-002",), params={"x": 1}, fail_on="high",
                   fail_on_from="default")
    opts = RenderOptions(run_info=info, width=80)
    for fmt in ("table", "json", "sarif", "junit", "markdown", "html"):
        _clean(render("audit", fmt, [result], opts), f"audit {fmt}")
    outcome = evaluate_gate(result, GatePolicy(fail_on="high", max_new={"low": 0}), None, version)
    for fmt in ("text", "json", "markdown"):
        _clean(render("gate", fmt, GateReport([result], [outcome]), opts), f"gate {fmt}")
    d = diff_findings("hostile", version, [], name, list(result.findings))
    for fmt in ("table", "json", "markdown"):
        _clean(render("diff", fmt, d, opts), f"diff {fmt}")
    for subject in ("shared-login", "nurse"):
        for fmt in ("text", "json"):
            _clean(render("explain", fmt, explain(result, "CRED-001", subject), opts), f"explain {fmt}")
    for fmt in ("table", "json"):
        _clean(render("checklist", fmt, ChecklistReport(result, checklist(result)), opts), f"checklist {fmt}")
    trend = {"map": "hostile", "versions": [
        {"version": v, "audited_at": "2026-01-01T00:00:00+00:00", "critical": 1, "high": 2, "medium": 0, "low": 0,
         "info": 0, "total": 3, "new": 3, "resolved": 0} for v in dict.fromkeys([version, name, stakeholder])]}
    for fmt in ("table", "json", "svg", "png"):
        _clean(render("trend", fmt, trend, opts), f"trend {fmt}")
    rows = [{"map": "hostile", "version": version, "audited_at": "2026-01-01T00:00:00+00:00", "runs": 1,
             "content_hash": "ab" * 32, "ruleset_digest": "cd" * 32, "critical": 1, "high": 0, "medium": 0, "low": 0,
             "info": 0, "total": 1, "waived": 0}]
    for fmt in ("table", "json"):
        _clean(render("history", fmt, rows, opts), f"history {fmt}")


def test_terminal_text_keeps_only_newline_and_tab() -> None:
    assert safe("a\x1b[2Jb\tc\nd\re\x9b") == "a\\x1b[2Jb\tc\nd\\x0de\\x9b"
    assert one_line("a\tb\n\nc") == "a b c"
    assert safe("[bold]x[/]") == "[bold]x[/]"  # nothing here reads markup: it is shown as written


def test_cli_error_messages_quote_map_content_safely(cli, tmp_path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text('format: 1\nid: m\nname: M\nversion: "1"\nstakeholders: []\nstages: []\n'
                 '"\\e[2J\\e]8;;http://x\\a": 1\n', encoding="utf-8")
    for command in (["validate", str(f)], ["audit", str(f), "--no-store"]):
        p = cli(*command)
        assert p.returncode == 2
        assert "\x1b" not in p.stderr and "\x07" not in p.stderr and "\\x1b[2J" in p.stderr


# JSON as reports hold it: strings (every code point json can write), integers, booleans, null
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
                       st.text(st.characters(blacklist_categories=("Cs",))), st.sampled_from(HOSTILE))
_json_doc = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(doc=_json_doc)
def test_json_reports_are_the_text_json_dumps_writes(doc) -> None:
    """dump_json encodes with orjson: the same text as ``json.dumps(indent=2, ensure_ascii=False)``
    (with C1, DEL, U+2028/9 escaped after), byte for byte."""
    expected = json.dumps(doc, indent=2, ensure_ascii=False)
    expected = re.sub("[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", expected) + "\n"
    assert dump_json(doc) == expected
    assert not RAW_CONTROL.search(expected)


@pytest.mark.parametrize("value", ["plain ascii", "\u00a9 1990 \u00b0C", "a\x85b", "a\x7fb", "x\u2029y", "\u20ac\u2030",
                                   "\u00a9\x9f"])
def test_json_reports_escape_c1_del_and_line_separators_whatever_else_is_there(value: str) -> None:
    """A report with none of them skips the escaping pass (a byte search first); one with
    any, or with characters that share their first UTF-8 byte, is escaped all the same."""
    expected = re.sub("[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}",
                      json.dumps({"v": value}, indent=2, ensure_ascii=False)) + "\n"
    assert dump_json({"v": value}) == expected


@pytest.mark.parametrize("doc", [{1: "a key that is not a string"}, [2**70], {"deep": [[[[]]]] * 2}, {"f": 1e-05}])
def test_json_reports_take_what_json_takes(doc) -> None:
    """What orjson refuses (non-string keys, integers beyond 64 bits) is written by json;
    numbers keep their value either way."""
    assert json.loads(dump_json(doc)) == json.loads(json.dumps(doc))


@pytest.mark.parametrize("value", [dt.date(2026, 12, 1), object()])
def test_json_reports_refuse_what_json_refuses(value) -> None:
    with pytest.raises(TypeError):
        dump_json({"x": value})
