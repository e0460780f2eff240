"""The HTML report: its view-model (swimlane, marks, history), escaping, no network,
size at 15,000 touchpoints, the CLI wiring, and the page in a real browser.

The browser tests drive Debian's Chromium (/usr/bin/chromium, installed by .ci/run)
with Playwright for Python; no browser is downloaded. Without Chromium or Playwright
they skip with the reason, or fail when $CI is set (as the PostgreSQL tests do).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from audit_engine.audit import RuleSet, audit, audit_file
from audit_engine.findings import SEVERITY_ORDER
from audit_engine.loader import load_map, load_map_text
from audit_engine.report import html_view, render_format, swimlane
from audit_engine.report.history import read_histories
from audit_engine.report.html import MAX_PAGE_BYTES, script_json
from audit_engine.store import record_results
from audit_engine.waivers import apply_waivers
from conftest import HOSTILE_MAP, ROOT

MAP = ROOT / "fixtures" / "maps" / "ed-sepsis-pathway.yaml"
OLD = ROOT / "fixtures" / "history" / "ed-sepsis-pathway.2.2.0.yaml"
BEHAVIORAL = ROOT / "fixtures" / "conformance" / "behavioral-health-intake.yaml"
CHROMIUM = Path(os.environ.get("AUDIT_ENGINE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT = ROOT / "reports" / "ed-sepsis-pathway.history.html.png"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]



class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag) -> None:
        self._in_script = False

    def handle_data(self, data) -> None:
        if self._in_script:
            self.scripts.append(data)


def _audited(ruleset, path: Path):
    result = audit_file(path, ruleset)
    return apply_waivers(result, None)


@pytest.fixture(scope="module")
def sepsis(ruleset, tmp_path_factory):
    """The demo map audited after its previous version, both recorded in a fresh store."""
    tmp = tmp_path_factory.mktemp("html")
    url = f"sqlite:///{tmp / 'store.db'}"
    here = os.getcwd()
    os.chdir(ROOT)  # map paths as in reports/: relative to the repository
    try:
        old, new = _audited(ruleset, OLD.relative_to(ROOT)), _audited(ruleset, MAP.relative_to(ROOT))
    finally:
        os.chdir(here)
    record_results(url, [old])
    record_results(url, [new])
    history = read_histories(url, [new])[0]
    assert history is not None
    page = render_format("html", [new], fail_on="none", history=[history])
    path = tmp / "ed-sepsis-pathway.history.html"
    path.write_text(page, encoding="utf-8")
    return SimpleNamespace(result=new, history=history, page=page, path=path, url=url,
                           view=html_view.build(new, 0, None, history))


@pytest.fixture(scope="module")
def hostile(ruleset, tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "hostile.yaml"
    path.write_text(HOSTILE_MAP, encoding="utf-8")
    return _audited(ruleset, path)


def _cards(view) -> dict[str, swimlane.Card]:
    return {c.tp.id: c for ln in view.lane.lanes for cell in ln.cells for c in cell}


# --------------------------------------------------------------------------- view-model


def test_cards_are_coloured_by_their_worst_unwaived_finding(sepsis) -> None:
    m = sepsis.result.loaded.map
    cards = _cards(sepsis.view)
    assert set(cards) == {t.id for t in m.touchpoints}
    for tp in m.touchpoints:
        mine = {tp.id} | {fm.id for fm in tp.failure_modes}
        about = [f for f in sepsis.result.findings if f.subject in mine and f.subject_kind in ("touchpoint",
                                                                                              "failure_mode")]
        open_ = sorted((f.severity for f in about if not f.waived), key=SEVERITY_ORDER.get)
        want = open_[0] if open_ else ("waived" if about else "ok")
        assert cards[tp.id].mark.tone == want, tp.id
        assert cards[tp.id].mark.count == len(about)
    assert cards["sepsis-alert"].mark.tone == "critical"  # SAFE-001 on its failure mode alert-fatigue
    assert cards["bed-request"].mark.tone == "waived"  # CRED-001, waived in fixtures/maps/audit-waivers.yaml


def test_lanes_columns_systems_and_parallel_lanes(sepsis) -> None:
    lane = sepsis.view.lane
    assert [s.id for s in lane.stages] == ["arrival", "screening", "treatment", "escalation", "follow-up"]
    assert [ln.stakeholder.id for ln in lane.lanes] == ["patient", "triage-nurse", "ed-physician", "rrt-nurse",
                                                        "unit-clerk"]
    assert [s.id for s in lane.idle] == ["informatics", "privacy-office", "ews-vendor"]
    placed = {chip.id: i for i, cell in enumerate(lane.systems) for chip in cell}
    # first stage using it; ews-cloud and lab only exchange data with systems placed before them
    assert placed == {"triage-wow": 0, "ehr": 1, "ews-cloud": 0, "lab": 1, "telehealth": 4}
    bands = {b.title: b for b in lane.bands}
    assert {i.id: (i.start, i.end) for i in bands["Checkpoints"].items} == {
        "breach-plan": (4, 4), "ews-baa": (1, 1), "access-review": (3, 3)}
    assert {i.id: (i.start, i.end) for i in bands["Trainings"].items} == {"sepsis-sim": (0, 0),
                                                                         "hipaa-annual": (0, 4)}
    for band in lane.bands:  # items sharing a row never overlap
        for a in band.items:
            for b in band.items:
                if a is not b and a.row == b.row:
                    assert a.end < b.start or b.end < a.start


def test_pack_rows_is_greedy_interval_packing() -> None:
    mark = swimlane.Mark("x")
    items = [swimlane.BandItem(f"d{i}", f"n{i}", f"i{i}", "", s, e, mark) for i, (s, e) in
             enumerate([(0, 4), (0, 0), (1, 2), (3, 3), (2, 3)])]
    rows = {i.id: i.row for i in swimlane._pack_rows(items)}
    assert rows == {"i0": 0, "i1": 1, "i2": 1, "i3": 1, "i4": 2}
    assert swimlane.Band("t", items).rows == 3


def test_flows_hand_offs_and_script_data(sepsis) -> None:
    lane = sepsis.view.lane
    flows = {f.id: f for f in lane.flows}
    assert {f.id for f in lane.flows if f.handoff} == {"triage-to-icu"}  # triage nurse -> rapid response nurse
    assert (flows["vitals-to-ews"].src, flows["vitals-to-ews"].dst) == ("m0-sys-triage-wow", "m0-sys-ews-cloud")
    assert (flows["triage-to-icu"].src, flows["triage-to-icu"].dst) == ("m0-tp-triage-intake", "m0-tp-icu-handoff")
    cards = _cards(sepsis.view)
    assert cards["triage-intake"].handoffs == ["to Rapid response nurse"]
    assert cards["icu-handoff"].handoffs == ["from Triage nurse"]
    data = sepsis.view.script_data()
    assert [f["id"] for f in data["flows"]] == [f"m0-fl-{f.id}" for f in lane.flows]
    rows = {r.dom for r in sepsis.view.rows}
    assert all(set(ids) <= rows for ids in data["marks"].values())
    placed = sum(len(ids) for ids in data["marks"].values())
    assert placed + sepsis.view.unplaced == len(sepsis.result.findings)


def test_findings_concern_stakeholders(sepsis) -> None:
    rows = {(r.f.rule_id, r.f.subject): r for r in sepsis.view.rows}
    assert rows[("HDF-002", "telehealth")].stakeholders == ["patient"]  # the system the patient uses
    assert rows[("SAFE-001", "alert-fatigue")].stakeholders == ["ed-physician"]  # the failure mode's touchpoint
    assert rows[("SAFE-001", "alert-fatigue")].element == "m0-tp-sepsis-alert"
    assert rows[("HDF-008", "breach-plan")].stakeholders == ["privacy-office"]  # the checkpoint's owner


def test_history_diff_and_trend(sepsis) -> None:
    h = sepsis.history
    assert (h.previous, h.current) == ("2.2.0", "2.3.0")
    assert [v["version"] for v in h.versions] == ["2.2.0", "2.3.0"]
    assert {f.rule_id for f in h.diff.new} == {"HDF-001", "HDF-002", "HDF-008"}
    assert {f.rule_id for f in h.diff.resolved} == {"HDF-011", "HDF-018"}
    assert h.diff.reopened == [] and h.ruleset_changed is False and h.rule_changes == []
    chart = sepsis.view.chart
    assert [b.label for b in chart.bars] == ["2.2.0", "2.3.0"] and [b.current for b in chart.bars] == [False, True]
    assert [b.total for b in chart.bars] == [v["total"] for v in h.versions]
    for b in chart.bars:
        assert sum(n for *_, n in b.segments) == b.total
        assert b.top >= chart.plot_top - 0.01
    assert {r.f.rule_id for r in sepsis.view.rows if r.new} == {"HDF-001", "HDF-002", "HDF-008"}
    assert "Changes since 2.2.0" in sepsis.page and 'class="trend-chart"' in sepsis.page


def test_findings_a_change_of_rules_explains_are_listed_apart(ruleset, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    record_results(url, [_audited(ruleset, OLD)])
    fewer = RuleSet.load(skip=["HDF-011"])  # 2.3.0 audited without HDF-011: its finding is not the map's doing
    current = audit(load_map(MAP), fewer)
    [h] = read_histories(url, [current])
    assert {f.rule_id for f in h.rule_changes} == {"HDF-011"}
    assert {f.rule_id for f in h.diff.resolved} == {"HDF-011", "HDF-018"}
    page = render_format("html", [current], fail_on="none", history=[h])
    assert "New or resolved because the rule set changed, not the map" in page
    assert "New or resolved because the rule set changed" not in render_format("html", [current], fail_on="none")


def test_reopened_findings_are_marked(ruleset, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    record_results(url, [_audited(ruleset, OLD)])
    record_results(url, [_audited(ruleset, MAP)])
    text = OLD.read_text(encoding="utf-8").replace('version: "2.2.0"', 'version: "2.4.0"')
    again = audit(load_map_text(text, str(OLD)), ruleset)
    record_results(url, [again])
    h = read_histories(url, [again])[0]
    assert h.previous == "2.3.0"
    assert {f.rule_id for f in h.diff.new} == {"HDF-011", "HDF-018"}
    assert set(h.diff.reopened) == {f.fingerprint for f in h.diff.new}  # seen in 2.2.0, gone in 2.3.0
    page = render_format("html", [again], fail_on="none", history=[h])
    assert page.count('<span class="tag reopened">reopened</span>') == 2 * 2  # diff list and findings table
    assert "2 reopened" in page


def test_large_maps_collapse_to_counts(sepsis, monkeypatch) -> None:
    monkeypatch.setattr(swimlane, "SWIMLANE_MAX_TOUCHPOINTS", 5)
    view = html_view.build(sepsis.result, 0, None, None)
    assert view.compact
    compact = view.lane.compact
    assert sum(r.touchpoints for r in compact.stages) == sum(r.touchpoints for r in compact.stakeholders) == 6
    assert sum(sum(r.tones.values()) for r in compact.stages) == 6
    page = render_format("html", [sepsis.result], fail_on="none")
    assert 'class="counts-by"' in page and 'class="card ' not in page
    assert 'id="m0-rule-HDF-002"' in page and 'href="#m0-rule-HDF-002"' in page  # how to fix, once per rule
    assert page.count("How to fix:") == len({f.rule_id for f in sepsis.result.findings})


def test_journey_content_on_the_cards(ruleset) -> None:
    page = render_format("html", [_audited(ruleset, BEHAVIORAL)], fail_on="none")
    assert "feels negative" in page and "<li>form only in English</li>" in page
    assert 'title="Moment that matters">★</span> Intake interview with an interpreter' in page
    assert "⇄ hand-off to County mobile crisis clinician" in page  # warm-handoff, counselor -> county clinician


# --------------------------------------------------------------------------- escaping, no network


def test_script_json_is_safe_in_a_script_element() -> None:
    nasty = {"a": "</script><script>alert(1)</script>", "b": "<!-- -->", "c": "\u2028\u2029", "d": "\x00\x1f\x7f",
             "e": "& &amp;", "</script>": [1, "é"]}
    text = str(script_json(nasty))
    assert not re.search("[<>&\u2028\u2029\x00-\x1f\x7f]", text)
    assert json.loads(text) == nasty


def test_hostile_map_cannot_inject_markup_or_script(hostile) -> None:
    page = render_format("html", [hostile], fail_on="high")
    parser = _Tags()
    parser.feed(page)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "class": "map-data"}, {}]  # the page's own two
    assert page.count("</script") == 2
    assert not {t for t, _ in parser.tags} & {"img", "iframe", "link", "object", "embed", "i"}
    assert "<b>pool" not in page and "<i>now" not in page and "&lt;b&gt;pool&lt;/b&gt;" in page
    assert not any(k.startswith("on") for _, attrs in parser.tags for k in attrs)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", page)
    assert "&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in page  # a pain point, shown as text
    assert "Desk &#34; onclick=&#34;alert(4)" in page
    data_text = parser.scripts[0]
    assert "\u2028" not in data_text and "\u2029" not in data_text and "<" not in data_text
    data = json.loads(data_text)
    assert data["flows"][0]["label"] == "</script><!-- \u2028\u2029 & <b>" and data["flows"][0]["handoff"]


def test_page_needs_no_network(sepsis) -> None:
    page = sepsis.page
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", page, re.I)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    code = page.rsplit("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp  # only the page's own script may run
    assert "@media print" in page


# --------------------------------------------------------------------------- CLI


def test_cli_audit_html_shows_history_only_with_a_store(cli, tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert cli("audit", str(OLD), "--db", db, "--fail-on", "none").returncode == 0
    out = tmp_path / "report.html"
    p = cli("audit", str(MAP), "--db", db, "--fail-on", "none", "--format", "html", "-o", str(out))
    assert p.returncode == 0, p.stderr
    page = out.read_text(encoding="utf-8")
    assert "History: 2 stored versions" in page and "Changes since 2.2.0" in page
    p = cli("audit", str(MAP), "--no-store", "--fail-on", "none", "--format", "html", "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert 'class="history"' not in out.read_text(encoding="utf-8")


def test_cli_gate_html_shows_the_gate(cli, tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert cli("audit", str(OLD), "--db", db, "--fail-on", "none").returncode == 0
    out = tmp_path / "gate.html"
    p = cli("gate", str(MAP), "--policy", str(ROOT / "fixtures/policies/release-gate.yaml"), "--db", db,
            "--format", "html", "-o", str(out))
    assert p.returncode == 1, p.stderr  # a new critical finding
    page = out.read_text(encoding="utf-8")
    assert "<strong>Gate failed</strong>" in page and "baseline 2.2.0" in page and "Changes since 2.2.0" in page


# --------------------------------------------------------------------------- size


@pytest.mark.slow
def test_page_size_at_15000_touchpoints(ruleset, tmp_path) -> None:
    """Measured: 14,134,967 bytes for 18,320 findings (swimlane as counts, each rule's
    remediation and sources once); the bound is html.MAX_PAGE_BYTES (15 MB)."""
    import yaml

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from genmap import big_map

    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(big_map(15000), sort_keys=False), encoding="utf-8")
    result = audit(load_map(path), ruleset)
    page = render_format("html", [result], fail_on="none")
    size = len(page.encode("utf-8"))
    print(f"15,000 touchpoints, {len(result.findings)} findings: {size:,} bytes")
    assert 'class="counts-by"' in page and 'class="card ' not in page
    assert page.count("<tr id=\"m0-f-") == len(result.findings)
    assert size < MAX_PAGE_BYTES, f"{size:,} bytes"


# --------------------------------------------------------------------------- in a real browser


@pytest.fixture(scope="session")
def browser():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        reason = f"Playwright for Python is not installed ({exc}); pip install -e '.[test]'"
    if reason is None and not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run installs it)"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set, so the browser tests must run)")
        pytest.skip(reason)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield b
        b.close()


def _open(browser, path: Path, js: bool = True):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, java_script_enabled=js)
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page, problems, requests


def _visible_rows(page) -> int:
    return page.locator(".findings-section table.findings > tbody > tr:visible").count()


def test_browser_swimlane_panel_filters_and_screenshot(browser, sepsis) -> None:
    from playwright.sync_api import expect

    context, page, problems, requests = _open(browser, sepsis.path)
    try:
        findings = sepsis.result.findings
        cards = _cards(sepsis.view)
        assert page.locator(".swimlane .card").count() == len(cards)
        for tp_id, card in cards.items():
            assert f"t-{card.mark.tone}" in page.locator(f"#m0-tp-{tp_id}").get_attribute("class")
        colour = page.locator("#m0-tp-sepsis-alert").evaluate("e => getComputedStyle(e).borderLeftColor")
        assert colour == "rgb(164, 22, 26)"  # --critical
        assert page.locator("#m0-tp-video-visit").evaluate("e => getComputedStyle(e).borderLeftColor") \
            == "rgb(217, 72, 15)"  # --high
        assert page.locator(".swimlane svg.flowlines g.flow").count() == len(sepsis.view.lane.flows)
        assert page.locator(".swimlane svg.flowlines path.flow.handoff").count() == 1
        assert page.locator(".trend-chart rect").count() > 0

        # clicking a card shows its findings
        page.locator("#m0-tp-icu-handoff").click()
        panel = page.locator("section.map aside.panel")
        assert panel.is_visible()
        assert panel.locator(".panel-title").inner_text() == "Rapid response nurse takes the hand-off to ICU"
        assert panel.locator("tbody tr").count() == cards["icu-handoff"].mark.count
        assert "CRED-004" in panel.inner_text()
        page.keyboard.press("Escape")
        assert not panel.is_visible()

        # filters: severity, pack, stakeholder
        assert page.locator("form.filters").is_visible()
        assert _visible_rows(page) == len(findings)
        for sev in ("high", "medium", "low"):
            page.locator(f"form.filters input[name=sev][value={sev}]").uncheck()
        critical = sum(f.severity == "critical" for f in findings)
        assert _visible_rows(page) == critical
        assert page.locator("form.filters .shown").inner_text() == f"{critical} of {len(findings)} shown"
        page.locator("form.filters button[type=reset]").click()
        expect(page.locator("form.filters .shown")).to_have_text(f"{len(findings)} of {len(findings)} shown")
        page.locator("form.filters select[name=pack]").select_option("hipaa-data-flows")
        assert _visible_rows(page) == sum(f.pack == "hipaa-data-flows" for f in findings)
        page.locator("form.filters select[name=pack]").select_option("")
        page.locator("form.filters select[name=stakeholder]").select_option("triage-nurse")
        want = sum("triage-nurse" in r.stakeholders for r in sepsis.view.rows)
        assert 0 < _visible_rows(page) == want < len(findings)
        page.locator("form.filters input[name=waived]").uncheck()
        page.locator("form.filters select[name=stakeholder]").select_option("")
        assert _visible_rows(page) == sum(not f.waived for f in findings)
        page.locator("form.filters button[type=reset]").click()
        expect(page.locator("form.filters .shown")).to_have_text(f"{len(findings)} of {len(findings)} shown")

        # the committed screenshot changes only when the page does: mask the generation time
        page.locator("header.page p.muted").evaluate(
            "e => { e.textContent = e.textContent.replace(/generated [^\u00b7]*UTC/, 'generated YYYY-MM-DD hh:mm UTC'); }")
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert SCREENSHOT.stat().st_size > 50_000

        page.emulate_media(media="print")  # printing drops the interactive parts
        assert not page.locator("form.filters").is_visible()
        assert page.locator(".swimlane .card").first.is_visible()
        assert not problems, problems
        assert all(u.startswith("file:") for u in requests), requests
    finally:
        context.close()


def test_browser_without_javascript_shows_everything(browser, sepsis) -> None:
    context, page, problems, requests = _open(browser, sepsis.path, js=False)
    try:
        assert _visible_rows(page) == len(sepsis.result.findings)
        assert not page.locator("form.filters").is_visible()  # only filtering needs script
        assert page.locator(".swimlane .card").count() == len(_cards(sepsis.view))
        card = page.locator("#m0-tp-icu-handoff")
        assert card.locator("ul.el-findings li").count() == 3 and card.locator("ul.el-findings").is_visible()
        assert page.locator("table.flow-table > tbody > tr").count() == len(sepsis.view.lane.flows)
        assert page.locator(".trend-chart").is_visible()
        assert "Changes since 2.2.0" in page.inner_text("body")
        assert all(u.startswith("file:") for u in requests), requests
    finally:
        context.close()
