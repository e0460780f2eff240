"""Pruning history keeps the latest runs of every version and deletes the rest whole."""

from __future__ import annotations

import pytest

from audit_engine.errors import StoreError
from audit_engine.store import open_store

from conftest_store import (  # noqa: F401  (fixtures)
    fresh_pg_url, fresh_url, pg_server, pg_session_db, portal, ruleset, store_url, table_rows, variant,
)


def test_prune_keeps_latest_runs_of_each_version(fresh_url: str, portal) -> None:
    v1, v2 = portal
    with open_store(fresh_url) as store:
        for _ in range(3):
            store.record(v1)
        store.record(v2)
        store.record(variant(v1, map_id="other-map"))
        before = table_rows(fresh_url)
        would = store.prune(None, keep_runs=1, dry_run=True)
        assert (would.runs, would.findings, would.dry_run) == (2, 28, True)
        assert table_rows(fresh_url) == before  # a dry run changes nothing
        first = store.prune("patient-portal", keep_runs=2)
        assert (first.runs, first.findings) == (1, 14)  # what the database deleted
        assert (store.prune("patient-portal", keep_runs=1).runs, store.prune(None, keep_runs=1).runs) == (1, 0)
        history = store.history("patient-portal")
        assert [(h["version"], h["runs"]) for h in history] == [("1.0.0", 1), ("1.1.0", 1)]
        assert len(store.version_findings("patient-portal", "1.0.0")) == 14
        trend = store.trend("patient-portal")
        assert [v["total"] for v in trend["versions"]] == [14, 11]
        rows = table_rows(fresh_url)
        assert len(rows["audit_runs"]) == 3  # two versions of patient-portal, one of other-map
        assert len(rows["findings"]) == 14 + 11 + 14  # no finding of a deleted run is left behind


def test_prune_refuses_to_delete_everything(fresh_url: str, portal) -> None:
    with open_store(fresh_url) as store:
        store.record(portal[0])
        with pytest.raises(StoreError):
            store.prune(None, keep_runs=0)


def test_a_new_store_is_not_added_to_a_database_holding_other_tables(fresh_url: str, portal, monkeypatch) -> None:
    from sqlalchemy import create_engine, text

    from audit_engine.store import normalize_url

    engine = create_engine(normalize_url(fresh_url))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE payroll (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    monkeypatch.delenv("AUDIT_ENGINE_DB_SHARED", raising=False)
    with pytest.raises(StoreError, match=r"already holds other tables \(payroll\).*AUDIT_ENGINE_DB_SHARED=1"):
        open_store(fresh_url)
    assert table_rows(fresh_url) == {}  # none of our tables was created
    monkeypatch.setenv("AUDIT_ENGINE_DB_SHARED", "1")
    with open_store(fresh_url) as store:
        store.record(portal[0])  # asked: shared


def test_passwords_never_show_in_messages() -> None:
    from audit_engine.store.engine import describe, parse_url

    shown = describe(parse_url("postgresql://u:pw1@db/x?password=pw2&sslpassword=pw3&application_name=a"))
    assert "pw1" not in shown and "pw2" not in shown and "pw3" not in shown and "application_name=a" in shown


def test_prune_command_says_what_it_did_or_would_do(tmp_path) -> None:
    from conftest import run_cli
    from conftest_store import V1

    db = f"sqlite:///{tmp_path / 's.db'}"
    for _ in range(3):
        assert run_cli("audit", str(V1), "--db", db, "--fail-on", "none").returncode == 0
    p = run_cli("prune", "--keep-runs", "1", "--dry-run", "--db", db)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("would delete 2 runs and ") and "would keep the latest 1" in p.stdout
    assert "nothing was changed" in p.stdout
    p = run_cli("prune", "--keep-runs", "1", "--db", db)
    assert p.stdout.startswith("deleted 2 runs and ") and "; kept the latest 1 of each version" in p.stdout
    assert run_cli("prune", "--keep-runs", "1", "--db", db).stdout.startswith("deleted 0 runs and 0 findings")
