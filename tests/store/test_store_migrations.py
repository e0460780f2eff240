"""The store's schema comes from its Alembic migrations, upgrades on open, refuses newer stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from audit_engine.errors import StoreError
from audit_engine.store import migrate, normalize_url, open_store, record_results

from conftest_store import (  # noqa: F401  (fixtures)
    fresh_pg_url, fresh_url, pg_server, portal, ruleset, table_rows,
)

EXTRA = '''"""test-only: a second revision adding a column

Revision ID: 0003_test
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_test"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_runs") as batch:
        batch.add_column(sa.Column("note", sa.String(), nullable=True))
'''


def _revision(url: str) -> str | None:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return migrate.current_revision(conn)
    finally:
        engine.dispose()


def test_shipped_migrations_are_package_data():
    here = Path(migrate.__file__).parent
    assert (here / "alembic.ini").is_file() and (here / "migrations" / "env.py").is_file()
    assert migrate.head_revision(migrate.alembic_config()) == "0002"
    assert (here / "migrations" / "versions" / "0001_initial.py").is_file()
    assert (here / "migrations" / "versions" / "0002_rule_digests.py").is_file()


def test_new_store_is_created_by_migrations(fresh_url):
    open_store(fresh_url).close()
    assert _revision(fresh_url) == "0002"
    engine = create_engine(normalize_url(fresh_url))
    try:
        with engine.connect() as conn:
            assert {"maps", "map_versions", "audit_runs", "findings", "alembic_version"} <= set(
                inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_migrations_match_the_models(fresh_url):
    """Nothing in models.py that the migrations do not create (and vice versa)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    open_store(fresh_url).close()
    engine = create_engine(normalize_url(fresh_url))
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_store_ahead_of_code_is_refused_untouched(fresh_url, portal):
    v1, _ = portal
    record_results(fresh_url, [v1])
    engine = create_engine(normalize_url(fresh_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    before = table_rows(fresh_url)
    for create in (True, False):
        with pytest.raises(StoreError) as info:
            open_store(fresh_url, create=create)
        msg = str(info.value)
        assert "'0099_future'" in msg and "upgrade audit-engine" in msg and "newest is '0002'" in msg
        assert "\n" not in msg
    assert table_rows(fresh_url) == before


def test_store_behind_is_upgraded_on_open_keeping_data(fresh_url, portal, tmp_path, monkeypatch):
    v1, v2 = portal
    record_results(fresh_url, [v1])
    before = table_rows(fresh_url)
    newer = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__"))
    (newer / "versions" / "0003_test.py").write_text(EXTRA)

    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", newer)
    with open_store(fresh_url, create=False) as store:
        assert len(store.version_findings("patient-portal", "1.0.0")) == len(v1.findings)
    assert _revision(fresh_url) == "0003_test"
    after = table_rows(fresh_url)
    assert after["findings"] == before["findings"] and after["maps"] == before["maps"]
    assert [r + (None,) for r in before["audit_runs"]] == after["audit_runs"]  # the new column, empty
    if fresh_url.startswith("sqlite"):
        db = fresh_url[len("sqlite:///"):]
        assert Path(f"{db}.before-0002").is_file()  # the file as it was, kept beside it

    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", migrate.HERE / "migrations")
    with pytest.raises(StoreError, match="'0003_test'"):  # this code is now behind the store
        open_store(fresh_url)


def test_opening_an_up_to_date_store_writes_nothing(tmp_path, portal):
    v1, _ = portal
    path = tmp_path / "store.db"
    record_results(f"sqlite:///{path}", [v1])
    before = path.read_bytes()
    with open_store(f"sqlite:///{path}", create=False) as store:
        store.trend("patient-portal")
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.before-*"))


def test_a_0001_store_is_upgraded_to_0002_and_reads_back_the_same(fresh_url, portal, tmp_path, monkeypatch):
    """Revision 0002 adds each run's rule digests and stores a finding's text once; the
    findings recorded under 0001 (text also repeated in `data`) read back unchanged."""
    from sqlalchemy import select

    from audit_engine.store.models import FindingRow

    v1, _ = portal
    only_first = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, only_first, ignore=shutil.ignore_patterns("__pycache__"))
    (only_first / "versions" / "0002_rule_digests.py").unlink()
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", only_first)
    engine = create_engine(normalize_url(fresh_url))
    try:
        migrate.ensure_schema(engine, engine.url)
        from audit_engine.store._records import jsonable

        with engine.begin() as conn:  # a run as 0001 wrote it: the whole finding in `data`
            conn.execute(text("INSERT INTO maps (map_id, created_at) VALUES ('patient-portal', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO map_versions (map_pk, version, content_hash, source_path, first_audited_at) "
                              "VALUES (1, '1.0.0', 'h', 'p.yaml', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO audit_runs (map_version_pk, audited_at, engine_version, ruleset_digest, "
                              "packs, params, status, source_path, seconds, critical, high, medium, low, info, total, "
                              "waived) VALUES (1, CURRENT_TIMESTAMP, '0.1.0', 'd', '{}', '{}', 'complete', 'p.yaml', "
                              "0, 0, 0, 0, 0, 0, 0, 0)"))
            for f in v1.findings:
                d = jsonable(f.to_dict())
                conn.execute(FindingRow.__table__.insert().values(
                    run_pk=1, rule_id=f.rule_id, severity=f.severity, subject=f.subject, fingerprint=f.fingerprint,
                    title=f.title, message=f.message, citation=f.citation, file=f.location.file,
                    line=f.location.line, column=f.location.column, evidence=list(f.evidence), waived=f.waived,
                    pack=f.pack, subject_kind=f.subject_kind, data=d))
    finally:
        engine.dispose()
    assert _revision(fresh_url) == "0001"
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", migrate.HERE / "migrations")
    with open_store(fresh_url) as store:
        got = store.version_findings("patient-portal", "1.0.0")
    assert _revision(fresh_url) == "0002"
    assert [f.to_dict() for f in got] == [f.to_dict() for f in sorted(v1.findings, key=lambda f: f.sort_key())]
    engine = create_engine(normalize_url(fresh_url))
    try:
        with engine.connect() as conn:
            data = [row[0] for row in conn.execute(select(FindingRow.__table__.c.data))]
    finally:
        engine.dispose()
    assert data and all("message" not in (d if isinstance(d, dict) else {}) for d in data)  # stored once now
