"""Hardening of the command line (issue 11): every failure to run is exit 2 with one line
and stores nothing; configuration is never silent; outputs never overwrite inputs; only
regular files are read."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from junitparser import JUnitXml

from conftest import CONFORMANCE, ROOT, run_cli

PORTAL_V1 = CONFORMANCE / "patient-portal.v1.yaml"
PORTAL_V2 = CONFORMANCE / "patient-portal.v2.yaml"
SARIF_SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"


def runs_stored(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        return con.execute("select count(*) from audit_runs").fetchone()[0] if "audit_runs" in tables else 0


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# --------------------------------------------------------------------------- 1. exit codes, half-done runs


@pytest.mark.parametrize("output", ["{tmp}/no/such/folder/report.json", "/dev/full"])
def test_an_unwritable_report_is_exit_2_and_stores_nothing(tmp_path: Path, output: str) -> None:
    db = tmp_path / "store.db"
    out = output.format(tmp=tmp_path)
    p = run_cli("audit", str(PORTAL_V1), "--db", f"sqlite:///{db}", "--format", "json", "-o", out)
    assert p.returncode == 2, p.stderr
    assert one_error_line(p.stderr).startswith(f"error: cannot write {out}")
    assert runs_stored(db) == 0


def test_a_full_stdout_is_exit_2_and_stores_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "store.db"
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "audit_engine", "audit", str(PORTAL_V1), "--db", f"sqlite:///{db}",
                            "--format", "json"], stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert p.returncode == 2
    assert one_error_line(p.stderr).startswith("error: cannot write the report to standard output")
    assert runs_stored(db) == 0


def test_the_report_is_written_before_the_run_is_stored(tmp_path: Path) -> None:
    db, out = tmp_path / "store.db", tmp_path / "r.json"
    p = run_cli("audit", str(PORTAL_V1), "--db", f"sqlite:///{db}", "--format", "json", "-o", str(out),
                "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text())["map"]["id"] == "patient-portal" and runs_stored(db) == 1
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]  # no temporary file left behind


@pytest.mark.parametrize("text", ["*a\n", "!!map\n", "!!python/object:os.system\n", "&x\n"])
def test_a_top_level_alias_or_tag_is_exit_2(tmp_path: Path, text: str) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(text)
    for command in (["validate", str(f)], ["audit", str(f), "--no-store"]):
        p = run_cli(*command)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert f"{f}:1:1: " in p.stderr


def _invoke(*args: str):
    from audit_engine.cli import _register, cli

    _register()
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("exc, code, line", [
    (RuntimeError("boom"), 2,
     "error: internal error: RuntimeError: boom (run with --debug for the traceback; please report it)"),
    (MemoryError(), 2, "error: out of memory (the map may be too large for this machine)"),
    (KeyboardInterrupt(), 130, "error: interrupted (a run is recorded only after its report is written)"),
])
def test_unexpected_failures_exit_with_one_line(monkeypatch, tmp_path: Path, exc, code: int, line: str) -> None:
    import audit_engine.audit

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(audit_engine.audit, "run_audits", fail)
    db = tmp_path / "store.db"
    res = _invoke("audit", str(PORTAL_V1), "--db", f"sqlite:///{db}")
    assert res.exit_code == code
    assert one_error_line(res.stderr) == line
    assert runs_stored(db) == 0


def test_debug_shows_the_traceback(monkeypatch) -> None:
    import audit_engine.audit

    monkeypatch.setattr(audit_engine.audit, "run_audits", lambda *a, **k: 1 / 0)
    res = _invoke("--debug", "audit", str(PORTAL_V1), "--no-store")
    assert res.exit_code == 2
    assert "Traceback" in res.stderr and res.stderr.rstrip().endswith(
        "error: internal error: ZeroDivisionError: division by zero (please report it)")


def test_click_errors_from_main_are_exit_2() -> None:
    from audit_engine.cli import main

    assert main(["audit", str(PORTAL_V1), "--no-store", "--format", "jsn"]) == 2
    assert main(["--version"]) == 0


# --------------------------------------------------------------------------- 5. configuration is never silent

CONFIG = "skip: [HDF-002, CRED-001]\nfail_on: none\nparams: {max_auto_logoff_minutes: 30}\n"


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    shutil.copy(PORTAL_V1, tmp_path / "portal.yaml")
    (tmp_path / "audit-engine.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def test_config_and_skipped_rules_are_said_on_stderr(configured: Path) -> None:
    p = run_cli("audit", str(configured / "portal.yaml"), "--no-store", "--format", "json")
    assert p.returncode == 0  # fail_on: none from the config
    assert (f"note: using config {configured / 'audit-engine.yaml'}; skipped rules: CRED-001, HDF-002"
            in p.stderr.splitlines())
    inv = json.loads(p.stdout)["invocation"]
    assert inv == {"config": str(configured / "audit-engine.yaml"), "skipped_rules": ["CRED-001", "HDF-002"],
                   "params": {"max_auto_logoff_minutes": 30}, "fail_on": "none",
                   "fail_on_from": f"config {configured / 'audit-engine.yaml'}", "notices": []}
    p = run_cli("audit", str(PORTAL_V1), "--no-store", "--format", "json", "--fail-on", "none")
    assert "note:" not in p.stderr
    assert json.loads(p.stdout)["invocation"]["fail_on_from"] == "--fail-on"


def test_every_format_says_how_the_run_was_configured(configured: Path) -> None:
    cfg = str(configured / "audit-engine.yaml")
    portal = str(configured / "portal.yaml")

    def report(fmt: str) -> str:
        p = run_cli("audit", portal, "--no-store", "--format", fmt)
        assert p.returncode == 0, p.stderr
        return p.stdout

    sarif = json.loads(report("sarif"))
    validator = jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    assert not list(validator.iter_errors(sarif))
    [inv] = sarif["runs"][0]["invocations"]
    assert inv["executionSuccessful"] is True and inv["properties"]["config"] == cfg
    assert inv["properties"]["skippedRules"] == ["CRED-001", "HDF-002"]
    assert {o["descriptor"]["id"] for o in inv["ruleConfigurationOverrides"]} == {"CRED-001", "HDF-002"}

    junit = configured / "j.xml"
    junit.write_text(report("junit"), encoding="utf-8")
    [suite] = list(JUnitXml.fromfile(str(junit)))
    props = {p.name: p.value for p in suite.properties()}
    assert props["config.file"] == cfg and props["rules.skipped"] == "CRED-001,HDF-002"
    assert props["param.max_auto_logoff_minutes"] == "30" and props["fail_on"] == "none"
    assert suite.skipped == 2

    line = (f"config {cfg}; skipped rules: CRED-001, HDF-002; params: max_auto_logoff_minutes=30; "
            f"fail on none (from config {cfg})")
    assert line in report("table")
    assert "_Run: " in report("markdown") and "skipped rules: CRED-001, HDF-002" in report("markdown")
    assert f'<p class="run-info">Run: {line}</p>' in report("html")


# --------------------------------------------------------------------------- 6. outputs never overwrite inputs


def test_output_may_not_name_an_input(configured: Path) -> None:
    portal = configured / "portal.yaml"
    waivers = configured / "audit-waivers.yaml"
    waivers.write_text("waivers: []\n")
    pack = configured / "pack.yaml"
    shutil.copy(ROOT / "rules" / "core.yaml", pack)
    db = configured / "store.db"
    before = {p: p.read_bytes() for p in (portal, waivers, configured / "audit-engine.yaml")}
    for target in (portal, waivers, configured / "audit-engine.yaml"):
        p = run_cli("audit", str(portal), "--db", f"sqlite:///{db}", "-o", str(target))
        assert p.returncode == 2 and "a report never overwrites an input" in p.stderr, p.stderr
    assert {p: p.read_bytes() for p in before} == before
    assert runs_stored(db) == 0
    run_cli("audit", str(portal), "--db", f"sqlite:///{db}")
    assert runs_stored(db) == 1
    for args in (["audit", str(portal), "--db", f"sqlite:///{db}", "-o", str(db)],
                 ["history", "--db", f"sqlite:///{db}", "-o", str(db)],
                 ["diff", str(PORTAL_V1), str(portal), "-o", str(portal)],
                 ["gate", str(portal), "--policy", str(ROOT / "fixtures/policies/release-gate.yaml"), "--no-store",
                  "-o", str(ROOT / "fixtures/policies/release-gate.yaml")]):
        p = run_cli(*args)
        assert p.returncode == 2 and "a report never overwrites an input" in p.stderr, (args, p.stderr)
    link = configured / "link.json"
    link.symlink_to(portal)
    p = run_cli("audit", str(portal), "--no-store", "-o", str(link))
    assert p.returncode == 2 and f"-o {link} is the map {portal}" in p.stderr
    assert runs_stored(db) == 1 and portal.read_bytes() == before[portal]


def test_diff_says_when_a_file_is_named_like_a_stored_version(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    for path in (PORTAL_V1, PORTAL_V2):
        assert run_cli("audit", str(path), "--db", db, "--fail-on", "none").returncode == 0
    shutil.copy(PORTAL_V2, tmp_path / "patient-portal@1.0.0")
    p = run_cli("diff", "patient-portal@1.0.0", "patient-portal@1.1.0", "--db", db, "--format", "json",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert ("note: 'patient-portal@1.0.0' is a file, so the file is compared; to compare the stored version "
            "patient-portal@1.0.0 instead, add --stored") in p.stderr
    assert json.loads(p.stdout)["from"] == "1.1.0"  # the file holds version 1.1.0
    p = run_cli("diff", "patient-portal@1.0.0", "patient-portal@1.1.0", "--db", db, "--format", "json", "--stored",
                cwd=tmp_path)
    assert p.returncode == 0 and "note:" not in p.stderr
    assert json.loads(p.stdout)["from"] == "1.0.0"


@pytest.mark.parametrize("role", ["map", "pack", "waivers", "policy", "config", "pack folder", "config beside the map",
                                  "waivers beside the map"])
def test_only_regular_files_are_read(tmp_path: Path, role: str) -> None:
    maps, packs = tmp_path / "maps", tmp_path / "packs"
    maps.mkdir()
    packs.mkdir()
    portal = maps / "portal.yaml"
    shutil.copy(PORTAL_V1, portal)
    fifo = {"pack folder": packs / "input.yaml", "config beside the map": maps / "audit-engine.yaml",
            "waivers beside the map": maps / "audit-waivers.yaml"}.get(role, tmp_path / "input.yaml")
    os.mkfifo(fifo)
    args = {
        "map": ["audit", str(fifo), "--no-store"],
        "pack": ["audit", str(portal), "--no-store", "--pack", str(fifo)],
        "pack folder": ["audit", str(portal), "--no-store", "--pack", str(packs)],
        "waivers": ["audit", str(portal), "--no-store", "--waivers", str(fifo)],
        "policy": ["gate", str(portal), "--no-store", "--policy", str(fifo)],
        "config": ["audit", str(portal), "--no-store", "--config", str(fifo)],
        "config beside the map": ["audit", str(portal), "--no-store"],
        "waivers beside the map": ["audit", str(portal), "--no-store"],
    }[role]
    p = run_cli(*args)  # a FIFO with no writer: reading it would block forever
    assert p.returncode == 2, p.stderr
    assert "not a regular file" in p.stderr and "Traceback" not in p.stderr
    assert str(fifo) in p.stderr
