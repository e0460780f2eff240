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
        assert store.prune(None, keep_runs=1, dry_run=True) == 2
        assert table_rows(fresh_url) == before  # a dry run changes nothing
        assert store.prune("patient-portal", keep_runs=2) == 1
        assert store.prune("patient-portal", keep_runs=1) == 1
        assert store.prune(None, keep_runs=1) == 0
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
