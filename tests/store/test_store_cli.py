"""`audit-engine history`, `trend` and stored `diff`, end to end through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest_store import (  # noqa: F401  (fixtures)
    V1, V2, fresh_pg_url, pg_server, pg_session_db, portal, ruleset, store_url, variant,
)

SEVERITIES = ["critical", "high", "medium", "low", "info"]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m audit_engine ARGS` in a subprocess (what a user or CI runs)."""
    return subprocess.run([sys.executable, "-m", "audit_engine", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def invoke(*args: str):
    from audit_engine.cli import _register, cli

    _register()
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.postgres
def test_acceptance_portal_history_in_postgresql(fresh_pg_url, tmp_path):
    """Issue #4: audit v1 then v2 into PostgreSQL; stored diff 4/8/6; trend 14 then 10."""
    for path in (V1, V2):
        p = run_cli("audit", str(path), "--db", fresh_pg_url, "--format", "json", "--fail-on", "none")
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["map"]["id"] == "patient-portal"
    p = run_cli("diff", "patient-portal@1.0.0", "patient-portal@1.1.0", "--db", fresh_pg_url, "--format", "json")
    assert p.returncode == 0, p.stderr
    diff = json.loads(p.stdout)
    assert (diff["map"], diff["from"], diff["to"]) == ("patient-portal", "1.0.0", "1.1.0")
    assert (len(diff["new"]), len(diff["resolved"]), len(diff["unchanged"])) == (5, 8, 6)
    p = run_cli("trend", "patient-portal", "--db", fresh_pg_url, "--format", "json")
    assert p.returncode == 0, p.stderr
    trend = json.loads(p.stdout)
    assert trend["map"] == "patient-portal"
    assert [(v["version"], v["total"], v["new"], v["resolved"]) for v in trend["versions"]] == [
        ("1.0.0", 14, 14, 0), ("1.1.0", 11, 5, 8)]
    for v in trend["versions"]:
        assert sum(v[s] for s in SEVERITIES) == v["total"]


def test_history_and_trend_commands(store_url, portal, tmp_path):
    from audit_engine.store import record_results

    v1, v2 = portal
    record_results(store_url, [v1])
    record_results(store_url, [v2])

    res = invoke("history", "--db", store_url, "--format", "json")
    assert res.exit_code == 0
    rows = json.loads(res.output)["history"]
    assert [(r["map"], r["version"], r["total"]) for r in rows] == [
        ("patient-portal", "1.0.0", v1.summary()["total"]), ("patient-portal", "1.1.0", v2.summary()["total"])]

    res = invoke("history", "patient-portal", "--db", store_url)
    assert res.exit_code == 0 and "1.0.0" in res.output and "1.1.0" in res.output and "patient-portal" in res.output

    res = invoke("trend", "patient-portal", "--db", store_url, "--format", "json")
    assert res.exit_code == 0
    assert [v["version"] for v in json.loads(res.output)["versions"]] == ["1.0.0", "1.1.0"]

    res = invoke("trend", "patient-portal", "--db", store_url)
    assert res.exit_code == 0
    assert "1.0.0" in res.output and f"+{len(v1.findings)}" in res.output

    out = tmp_path / "trend.json"
    assert invoke("trend", "patient-portal", "--db", store_url, "--format", "json", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text())["map"] == "patient-portal"


def test_stored_diff_marks_reopened(store_url, portal):
    from audit_engine.store import record_results

    v1, _ = portal
    gone = v1.findings[0]
    record_results(store_url, [variant(v1, "1.0.0")])
    record_results(store_url, [variant(v1, "1.1.0", findings=v1.findings[1:])])
    record_results(store_url, [variant(v1, "1.2.0")])
    res = invoke("diff", "patient-portal@1.1.0", "patient-portal@1.2.0", "--db", store_url, "--format", "json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert [f["fingerprint"] for f in d["new"]] == [gone.fingerprint] and d["new"][0]["reopened"] is True


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<svg")])
def test_trend_charts(tmp_path, portal, fmt, magic):
    from audit_engine.store import record_results

    url = f"sqlite:///{tmp_path / 'store.db'}"
    record_results(url, list(portal))
    out = tmp_path / f"trend.{fmt}"
    res = invoke("trend", "patient-portal", "--db", url, "--format", fmt, "-o", str(out))
    assert res.exit_code == 0
    assert magic in out.read_bytes()[:400]


def test_chart_needs_output_file(tmp_path):
    res = invoke("trend", "patient-portal", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--format", "png")
    assert res.exit_code == 2 and "-o FILE" in res.output


def test_errors_exit_2_in_one_line(tmp_path, portal):
    from audit_engine.store import record_results

    url = f"sqlite:///{tmp_path / 'store.db'}"
    p = run_cli("trend", "patient-portal", "--db", url)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == f"error: no findings store at {tmp_path / 'store.db'}; run `audit-engine audit` first"
    assert not (tmp_path / "store.db").exists()

    record_results(url, [portal[0]])
    p = run_cli("trend", "patient-portl", "--db", url)
    assert p.returncode == 2 and "did you mean 'patient-portal'" in p.stderr

    p = run_cli("history", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith("error: cannot reach the findings store") and p.stderr.count("\n") == 1

    p = run_cli("audit", str(V1), "--db", f"sqlite:///{tmp_path}/missing/dir/x.db", "--fail-on", "none")
    assert p.returncode == 2 and "Traceback" not in p.stderr and "its folder does not exist" in p.stderr


def test_audit_warns_about_changed_content(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    changed = tmp_path / "portal.yaml"
    changed.write_text(V1.read_text(encoding="utf-8") + "\n# edited without a new version\n", encoding="utf-8")
    assert run_cli("audit", str(V1), "--db", url, "--fail-on", "none", "--format", "json").returncode == 0
    p = run_cli("audit", str(changed), "--db", url, "--fail-on", "none", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert "warning: map patient-portal version 1.0.0 was audited before with different content" in p.stderr
    assert "both runs are kept" in p.stderr
    json.loads(p.stdout)  # the warning stays out of the report
    rows = json.loads(run_cli("history", "--db", url, "--format", "json").stdout)["history"]
    assert [r["version"] for r in rows] == ["1.0.0", "1.0.0"]


def test_default_db_from_environment(tmp_path):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    assert run_cli("audit", str(V1), "--fail-on", "none", env={"AUDIT_ENGINE_DB": url}).returncode == 0
    p = run_cli("history", "--format", "json", env={"AUDIT_ENGINE_DB": url})
    assert p.returncode == 0 and json.loads(p.stdout)["history"][0]["map"] == "patient-portal"
