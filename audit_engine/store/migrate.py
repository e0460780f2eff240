"""Bring a store's schema to this code's head revision with Alembic, in-process.

A new store is created by the migrations (never by ``create_all``). A store that is
behind is upgraded on open, inside one transaction that holds a lock (PostgreSQL
advisory lock; SQLite's write lock), so concurrent first runs do not race; an SQLite
file that held data is copied to ``FILE.before-REV`` first. A store that is ahead of
this code (a revision it does not know) is refused with instructions, never touched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from ..errors import StoreError
from .engine import describe, sqlite_path

HERE = Path(__file__).resolve().parent
MIGRATIONS_DIR = HERE / "migrations"
LOCK_KEY = 0x41554454  # pg_advisory_xact_lock key of audit-engine migrations ("AUDT")


def alembic_config(migrations_dir: Path | None = None) -> Config:
    """Alembic's Config for the shipped migrations (no alembic CLI needed)."""
    where = Path(migrations_dir or MIGRATIONS_DIR)
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(where))
    cfg.set_main_option("version_locations", str(where / "versions"))
    return cfg


def head_revision(cfg: Config) -> str:
    heads = ScriptDirectory.from_config(cfg).get_heads()
    if len(heads) != 1:  # pragma: no cover - a packaging mistake, not a user error
        raise RuntimeError(f"the store migrations have {len(heads)} heads: {heads}")
    return heads[0]


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _check_known(cfg: Config, current: str | None, url: URL) -> None:
    if current is None:
        return
    script = ScriptDirectory.from_config(cfg)
    try:
        known = script.get_revision(current) is not None
    except Exception:  # alembic raises for unknown revision ids
        known = False
    if not known:
        raise StoreError(
            f"the findings store {describe(url)} has schema revision '{current}', newer than this audit-engine "
            f"knows (its newest is '{head_revision(cfg)}'): upgrade audit-engine (pip install -U audit-engine) "
            "to use this store, or pass another --db; nothing was changed")


OUR_TABLES = {"maps", "map_versions", "audit_runs", "findings", "alembic_version"}
SHARED_ENV = "AUDIT_ENGINE_DB_SHARED"


def _foreign_tables(conn: Connection) -> list[str]:
    from sqlalchemy import inspect

    return sorted(set(inspect(conn).get_table_names()) - OUR_TABLES)


def ensure_schema(engine: Engine, url: URL, migrations_dir: Path | None = None, allow_shared: bool | None = None) -> str:
    """Upgrade the store at ``engine`` to head if it is behind; return the revision it is at.

    A new store is created only in an empty database (or one holding only audit-engine's
    tables), unless ``allow_shared`` (or $AUDIT_ENGINE_DB_SHARED=1) says to share it.
    """
    cfg = alembic_config(migrations_dir)
    head = head_revision(cfg)
    with engine.connect() as conn:
        current = current_revision(conn)
        others = _foreign_tables(conn) if current is None else []
        conn.rollback()
    _check_known(cfg, current, url)
    if allow_shared is None:
        allow_shared = os.environ.get(SHARED_ENV, "").strip().lower() in ("1", "true", "yes")
    if others and not allow_shared:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise StoreError(f"the database {describe(url)} already holds other tables ({shown}): audit-engine adds its "
                         f"tables only to an empty database; use a database of its own, or set {SHARED_ENV}=1 to "
                         "add them here; nothing was changed")
    if current == head:
        return head
    with engine.connect().execution_options(write=True) as conn:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
            current = current_revision(conn)  # another process may have migrated meanwhile
            _check_known(cfg, current, url)
            if current == head:
                return head
            _backup_sqlite(url, conn, current)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return head


def _backup_sqlite(url: URL, conn: Connection, current: str | None) -> None:
    """Copy an SQLite store that already holds data before changing its schema."""
    path = sqlite_path(url)
    if path is None or current is None:
        return
    # we hold the write lock (BEGIN IMMEDIATE) and nothing is written yet: the file is consistent
    shutil.copy2(path, f"{path}.before-{current}")
