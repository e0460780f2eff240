"""The findings store: one suite, run against SQLite and PostgreSQL (see conftest_store)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import pytest

from audit_engine.errors import StoreError, UsageError
from audit_engine.store import RecordOutcome, normalize_url, open_store, record_results

from conftest_store import (  # noqa: F401  (fixtures)
    fresh_pg_url, fresh_url, pg_server, pg_session_db, portal, ruleset, store_url, table_rows, variant,
)

SEVERITIES = ["critical", "high", "medium", "low", "info"]


def dicts(findings):
    return sorted((f.to_dict() for f in findings), key=lambda d: d["fingerprint"])


def test_record_and_read_back_round_trips_findings(store_url, portal):
    v1, _ = portal
    out = record_results(store_url, [v1])
    assert isinstance(out, RecordOutcome) and out.warnings == [] and len(out.run_ids) == 1
    with open_store(store_url, create=False) as store:
        got = store.version_findings("patient-portal", "1.0.0")
    assert dicts(got) == dicts(v1.findings)
    assert [f.fingerprint for f in got] == [f.fingerprint for f in sorted(v1.findings, key=lambda f: f.sort_key())]


def test_run_metadata_is_stored(store_url, portal, ruleset):
    v1, _ = portal
    from audit_engine.waivers import WaiverEntry, WaiverReport

    first = dataclasses.replace(v1.findings[0], waived=True,
                                waiver={"reason": "reviewed", "owner": "po@example.org", "expires": "2027-03-31"})
    waived = dataclasses.replace(variant(v1, findings=[first, *v1.findings[1:]]), waivers=WaiverReport(
        "w.yaml", applied=(WaiverEntry("patient-portal", first.rule_id, first.subject, None, "po@example.org",
                                       "2027-03-31", "reviewed", 2),)))
    with open_store(store_url) as store:
        store.record(waived)
        [row] = store.history("patient-portal")
        back = store.version_findings("patient-portal", "1.0.0")
    assert row["ruleset_digest"] == ruleset.digest
    assert row["packs"] == ruleset.pack_versions() and row["params"] == ruleset.params
    assert row["engine_version"] and row["status"] == "complete"
    assert row["content_hash"] == v1.loaded.content_hash and row["file"] == v1.loaded.file
    assert row["waivers"]["applied"][0]["expires"] == "2027-03-31"
    assert row["waived"] == 1 and row["total"] == len(v1.findings) - 1
    assert back[0].waived or any(f.waived and f.waiver["owner"] == "po@example.org" for f in back)


def test_history_shows_latest_run_of_each_version(store_url, portal):
    v1, v2 = portal
    first = record_results(store_url, [v1]).run_ids[0]
    record_results(store_url, [v2])
    again = record_results(store_url, [v1]).run_ids[0]
    assert again != first
    with open_store(store_url) as store:
        rows = store.history("patient-portal")
        assert [(r["version"], r["runs"]) for r in rows] == [("1.0.0", 2), ("1.1.0", 1)]
        assert rows[0]["run_id"] == again
        assert store.history() == rows  # one map stored: all maps is the same list
        for r in rows:
            dt.datetime.fromisoformat(r["audited_at"])


def test_history_of_all_maps(store_url, portal, ruleset):
    from audit_engine.audit import audit_file

    from conftest_store import MED

    v1, _ = portal
    record_results(store_url, [v1, audit_file(MED, ruleset)])
    with open_store(store_url) as store:
        assert sorted(r["map"] for r in store.history()) == ["med-administration", "patient-portal"]
        assert [r["map"] for r in store.history("med-administration")] == ["med-administration"]


def test_trend_is_the_contract_json(store_url, portal):
    v1, v2 = portal
    record_results(store_url, [v1])
    record_results(store_url, [v2])
    with open_store(store_url) as store:
        trend = store.trend("patient-portal")
    assert trend["map"] == "patient-portal"
    assert [v["version"] for v in trend["versions"]] == ["1.0.0", "1.1.0"]
    for v, res in zip(trend["versions"], (v1, v2)):
        assert set(v) == {"version", "audited_at", *SEVERITIES, "total", "new", "resolved",  # the contract
                          "new_by_rule_set", "resolved_by_rule_set", "rule_set_changed"}  # additions
        assert dt.datetime.fromisoformat(v["audited_at"]).tzinfo is not None
        assert {k: v[k] for k in (*SEVERITIES, "total")} == res.summary()
    fp1 = {f.fingerprint for f in v1.findings}
    fp2 = {f.fingerprint for f in v2.findings}
    assert (trend["versions"][0]["new"], trend["versions"][0]["resolved"]) == (len(fp1), 0)
    assert (trend["versions"][1]["new"], trend["versions"][1]["resolved"]) == (len(fp2 - fp1), len(fp1 - fp2))


def test_trend_counts_unwaived_findings_only(store_url, portal):
    v1, v2 = portal
    common = dataclasses.replace(next(f for f in v2.findings if f.fingerprint in {g.fingerprint for g in v1.findings}),
                                 waived=True)
    w2 = variant(v2, findings=[common if f.fingerprint == common.fingerprint else f for f in v2.findings])
    record_results(store_url, [v1])
    record_results(store_url, [w2])
    with open_store(store_url) as store:
        t = store.trend("patient-portal")["versions"][1]
    assert t["total"] == len(v2.findings) - 1 and t[common.severity] == v2.summary()[common.severity] - 1
    fp1 = {f.fingerprint for f in v1.findings}
    fp2 = {f.fingerprint for f in w2.findings if not f.waived}
    assert (t["new"], t["resolved"]) == (len(fp2 - fp1), len(fp1 - fp2))


def test_trend_orders_versions_by_first_audit(store_url, portal):
    v1, v2 = portal
    for r in (variant(v1, "2.0.0"), variant(v1, "1.5.0"), variant(v2, "10.0.0"), variant(v1, "2.0.0")):
        record_results(store_url, [r])
    with open_store(store_url) as store:
        assert [v["version"] for v in store.trend("patient-portal")["versions"]] == ["2.0.0", "1.5.0", "10.0.0"]


def test_baseline_version(store_url, portal):
    v1, v2 = portal
    record_results(store_url, [v1])
    record_results(store_url, [v2])
    with open_store(store_url) as store:
        assert store.baseline_version("patient-portal", "1.1.0") == "1.0.0"
        assert store.baseline_version("patient-portal", "1.0.0") == "1.1.0"
        assert store.baseline_version("patient-portal", "9.9.9") == "1.1.0"
        assert store.baseline_version("no-such-map", "1.0.0") is None
    record_results(store_url, [v1])  # re-auditing 1.0.0 does not make it newer than 1.1.0
    with open_store(store_url) as store:
        assert store.baseline_version("patient-portal", "2.0.0") == "1.1.0"


def test_reopened_findings(store_url, portal):
    v1, _ = portal
    gone, kept = v1.findings[0], v1.findings[1:]
    record_results(store_url, [variant(v1, "1.0.0")])
    record_results(store_url, [variant(v1, "1.1.0", findings=kept)])
    record_results(store_url, [variant(v1, "1.2.0")])
    with open_store(store_url) as store:
        assert store.reopened("patient-portal", "1.1.0", "1.2.0", [gone.fingerprint, "f" * 32]) == [gone.fingerprint]
        # seen in the old version itself, or never before: not reopened
        assert store.reopened("patient-portal", "1.0.0", "1.2.0", [gone.fingerprint]) == []
        with pytest.raises(UsageError):
            store.reopened("patient-portal", "1.1.0", "7.0.0", [])


def test_unknown_map_or_version_suggests(store_url, portal):
    v1, _ = portal
    record_results(store_url, [v1])
    with open_store(store_url) as store:
        with pytest.raises(UsageError, match="did you mean 'patient-portal'"):
            store.version_findings("patient-portl", "1.0.0")
        with pytest.raises(UsageError, match="did you mean '1.0.0'"):
            store.version_findings("patient-portal", "1.0.1")
        with pytest.raises(UsageError, match="stored: 1.0.0"):
            store.version_findings("patient-portal", "xyz")
        with pytest.raises(UsageError, match="patient-portal"):
            store.trend("patient-portl")
        with pytest.raises(UsageError):
            store.history("nothing-like-it")


def test_same_version_other_content_warns_and_keeps_both(store_url, portal):
    v1, _ = portal
    record_results(store_url, [v1])
    changed = variant(v1, content_hash="ab" * 32, findings=v1.findings[2:])
    out = record_results(store_url, [changed])
    assert out.warnings == [
        f"map patient-portal version 1.0.0 was audited before with different content "
        f"(hash {v1.loaded.content_hash[:12]}… vs {'ab' * 6}…); both runs are kept"]
    with open_store(store_url) as store:
        rows = store.history("patient-portal")
        assert [(r["version"], r["content_hash"]) for r in rows] == [("1.0.0", v1.loaded.content_hash),
                                                                      ("1.0.0", "ab" * 32)]
        # the latest run of the version is the one read back
        assert len(store.version_findings("patient-portal", "1.0.0")) == len(v1.findings) - 2
        assert len(store.trend("patient-portal")["versions"]) == 1


def test_changed_rules_are_recorded_and_warned(store_url, portal):
    from audit_engine.audit import RuleSet, audit_file

    from conftest_store import V1

    v1, _ = portal
    record_results(store_url, [v1])
    other = RuleSet.load(params={"max_auto_logoff_minutes": 30})
    assert other.digest != v1.ruleset.digest
    out = record_results(store_url, [audit_file(V1, other)])
    assert len(out.warnings) == 1
    assert "findings may differ because the rules changed" in out.warnings[0]
    assert "version 1.0.0" in out.warnings[0]
    with open_store(store_url) as store:
        [row] = store.history("patient-portal")
    assert row["runs"] == 2 and row["ruleset_digest"] == other.digest
    assert row["params"]["max_auto_logoff_minutes"] == 30


def test_record_many_is_one_transaction(store_url, portal):
    v1, v2 = portal
    record_results(store_url, [v1])
    before = table_rows(store_url)
    bad = variant(v2, findings=[*v2.findings, v2.findings[0]])  # same fingerprint twice: the database refuses
    with pytest.raises(StoreError):
        record_results(store_url, [variant(v1, "3.0.0"), bad])
    assert table_rows(store_url) == before


def test_exception_mid_record_leaves_nothing(store_url, portal):
    v1, _ = portal
    record_results(store_url, [v1])
    before = table_rows(store_url)
    big = variant(v1, "2.0.0", findings=[dataclasses.replace(v1.findings[0], fingerprint=f"{i:032x}", subject=f"s{i}")
                                          for i in range(1200)])

    def boom(run_id: int, written: int) -> None:
        raise RuntimeError("crash between batches")

    with open_store(store_url) as store:
        store.after_batch = boom
        with pytest.raises(RuntimeError):
            store.record(big)
    assert table_rows(store_url) == before


def test_large_run(store_url, portal):
    v1, _ = portal
    big = variant(v1, "2.0.0", findings=[dataclasses.replace(v1.findings[0], fingerprint=f"{i:032x}", subject=f"s{i}")
                                          for i in range(2500)])
    with open_store(store_url) as store:
        store.record(big)
        assert len(store.version_findings("patient-portal", "2.0.0")) == 2500


# -- errors: always a one-line StoreError -------------------------------------------------

def test_missing_sqlite_store_without_create(tmp_path):
    path = tmp_path / "none.db"
    with pytest.raises(StoreError, match=r"no findings store at .*none\.db; run `audit-engine audit` first"):
        open_store(f"sqlite:///{path}", create=False)
    assert not path.exists()


def test_empty_postgres_database_without_create(fresh_pg_url):
    with pytest.raises(StoreError, match="no findings store at .*run `audit-engine audit` first"):
        open_store(fresh_pg_url, create=False)


@pytest.mark.parametrize("url, match", [
    ("not a url", "is not a database URL"),
    ("nosuchdb://x/y", "cannot use databases of kind 'nosuchdb'"),
])
def test_bad_urls(url, match):
    with pytest.raises(StoreError, match=match):
        open_store(url)


def test_sqlite_folder_missing(tmp_path):
    with pytest.raises(StoreError, match="its folder does not exist") as info:
        open_store(f"sqlite:///{tmp_path}/no/such/dir/store.db")
    assert "\n" not in str(info.value)


def test_not_a_database_file(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite, just text " * 200)
    with pytest.raises(StoreError, match="not an audit-engine findings store"):
        open_store(f"sqlite:///{junk}")


def test_read_only_sqlite_file(tmp_path, portal):
    v1, v2 = portal
    path = tmp_path / "store.db"
    record_results(f"sqlite:///{path}", [v1])
    before = path.read_bytes()
    ro = f"sqlite:///file:{path}?mode=ro&uri=true"
    with open_store(ro, create=False) as store:  # reading works
        assert len(store.version_findings("patient-portal", "1.0.0")) == len(v1.findings)
        with pytest.raises(StoreError, match="read-only") as info:
            store.record(v2)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == before


def _make_read_only(paths: list[Path]) -> list[str]:
    """Make files and folders unwritable even for root (immutable, when run as root); returns
    the undo command, if any."""
    import subprocess

    if os.geteuid() != 0:
        for p in paths:
            os.chmod(p, 0o555 if p.is_dir() else 0o444)
        return []
    p = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"root writes to read-only files, and chattr +i is not available here: {p.stderr.strip()}")
    return ["chattr", "-i", *map(str, paths)]


def test_read_only_sqlite_folder(tmp_path, portal):
    """A store in a folder nobody may write to: a clear StoreError, and nothing changed."""
    import subprocess

    v1, v2 = portal
    path = tmp_path / "store.db"
    record_results(f"sqlite:///{path}", [v1])
    before = path.read_bytes()
    undo = _make_read_only([path, tmp_path])
    try:
        with pytest.raises(StoreError, match="read-only"):
            record_results(f"sqlite:///{path}", [v2])
    finally:
        if undo:
            subprocess.run(undo, check=True)
        os.chmod(tmp_path, 0o755)
    assert path.read_bytes() == before


def test_unreachable_postgres():
    with pytest.raises(StoreError, match=r"cannot reach the findings store postgresql\+psycopg://u:\*\*\*@127\.0\.0\.1:1/x") as info:
        open_store("postgresql://u:secret@127.0.0.1:1/x")
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_missing_postgres_database(pg_server):
    from sqlalchemy.engine import make_url

    url = make_url(pg_server).set(database="ae_no_such_db_here").render_as_string(hide_password=False)
    with pytest.raises(StoreError, match=r"does not exist .*createdb ae_no_such_db_here"):
        open_store(url)


def test_url_normalization():
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_public_names():
    import audit_engine.store as store

    assert sorted(store.__all__) == ["PruneOutcome", "RecordOutcome", "Store", "normalize_url", "open_store",
                                     "record_results"]
    assert all(hasattr(store, name) for name in store.__all__)
