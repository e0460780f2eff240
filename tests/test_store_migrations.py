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

Revision ID: 0002_test
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_test"
down_revision = "0001"
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
    assert migrate.head_revision(migrate.alembic_config()) == "0001"
    assert (here / "migrations" / "versions" / "0001_initial.py").is_file()


def test_new_store_is_created_by_migrations(fresh_url):
    open_store(fresh_url).close()
    assert _revision(fresh_url) == "0001"
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
        assert "'0099_future'" in msg and "upgrade audit-engine" in msg and "newest is '0001'" in msg
        assert "\n" not in msg
    assert table_rows(fresh_url) == before


def test_store_behind_is_upgraded_on_open_keeping_data(fresh_url, portal, tmp_path, monkeypatch):
    v1, v2 = portal
    record_results(fresh_url, [v1])
    before = table_rows(fresh_url)
    newer = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__"))
    (newer / "versions" / "0002_test.py").write_text(EXTRA)

    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", newer)
    with open_store(fresh_url, create=False) as store:
        assert len(store.version_findings("patient-portal", "1.0.0")) == len(v1.findings)
    assert _revision(fresh_url) == "0002_test"
    after = table_rows(fresh_url)
    assert after["findings"] == before["findings"] and after["maps"] == before["maps"]
    assert [r + (None,) for r in before["audit_runs"]] == after["audit_runs"]  # the new column, empty
    if fresh_url.startswith("sqlite"):
        db = fresh_url[len("sqlite:///"):]
        assert Path(f"{db}.before-0001").is_file()  # the file as it was, kept beside it

    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", migrate.HERE / "migrations")
    with pytest.raises(StoreError, match="'0002_test'"):  # this code is now behind the store
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
