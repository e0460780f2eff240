"""Fixtures of the store tests (imported by tests/store/test_store*.py).

The store suite runs against SQLite and PostgreSQL. PostgreSQL comes from
$AUDIT_ENGINE_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres, an admin
connection); each test session creates its own database with a random name and drops
it at the end. When the server is unreachable the PostgreSQL tests skip with the
reason, or fail when $CI is set.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from typing import Iterator

import pytest

ADMIN_URL = os.environ.get("AUDIT_ENGINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MAPS = Path(__file__).resolve().parents[2] / "fixtures" / "conformance"
V1, V2, MED = MAPS / "patient-portal.v1.yaml", MAPS / "patient-portal.v2.yaml", MAPS / "medication-administration.yaml"
TABLES = ["findings", "audit_runs", "map_versions", "maps"]


def _admin_conninfo() -> str:
    from sqlalchemy.engine import make_url

    u = make_url(ADMIN_URL)
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}", f"user={u.username or 'postgres'}",
             f"dbname={u.database or 'postgres'}", "connect_timeout=5"]
    if u.password:
        parts.append(f"password={u.password}")
    return " ".join(parts)


def _with_db(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        conn.execute(sql)


def create_pg_database() -> str:
    """A new empty database with a random name; returns its URL."""
    name = "ae_test_" + secrets.token_hex(6)
    pg_admin(f'CREATE DATABASE "{name}"')
    return _with_db(name)


def drop_pg_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    pg_admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of a reachable PostgreSQL, or skip (fail under CI) with the reason."""
    try:
        import psycopg

        with psycopg.connect(_admin_conninfo()) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any reason is worth showing
        reason = f"PostgreSQL unreachable at {ADMIN_URL}: {' '.join(str(exc).split())[:200]}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set, so the PostgreSQL tests must run)")
        pytest.skip(reason)
    return ADMIN_URL


@pytest.fixture(scope="session")
def pg_session_db(pg_server: str) -> Iterator[str]:
    """One database for this test session (tables emptied between tests)."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture
def fresh_pg_url(pg_server: str) -> Iterator[str]:
    """A database of its own for one test (schema not created yet)."""
    url = create_pg_database()
    yield url
    drop_pg_database(url)


def _empty_pg(url: str) -> None:
    from sqlalchemy import create_engine, inspect, text

    from audit_engine.store import normalize_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            if inspect(conn).has_table("findings"):
                conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store URL: an SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("pg_session_db")
    _empty_pg(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL where no store exists yet (new SQLite file, new PostgreSQL database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("fresh_pg_url")


@pytest.fixture(scope="session")
def ruleset():
    from audit_engine.audit import RuleSet

    return RuleSet.load()


@pytest.fixture(scope="session")
def portal(ruleset):
    """(v1 result, v2 result) of the conformance patient-portal map."""
    from audit_engine.audit import audit_file

    return audit_file(V1, ruleset), audit_file(V2, ruleset)


def variant(result, version: str | None = None, map_id: str | None = None, content_hash: str | None = None,
            findings=None):
    """A copy of an AuditResult as if another version / map / content had been audited."""
    from audit_engine.findings import fingerprint

    jm = result.loaded.map.model_copy(update={k: v for k, v in (("version", version), ("id", map_id)) if v})
    loaded = dataclasses.replace(result.loaded, map=jm, content_hash=content_hash or result.loaded.content_hash)
    fs = [dataclasses.replace(f, fingerprint=fingerprint(map_id, f.rule_id, f.subject)) if map_id else f
          for f in (result.findings if findings is None else findings)]
    return dataclasses.replace(result, loaded=loaded, findings=tuple(fs))


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every store table, ordered by id (to compare whole databases)."""
    from sqlalchemy import create_engine, inspect, text

    from audit_engine.store import normalize_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            names = [t for t in [*TABLES, "alembic_version"] if inspect(conn).has_table(t)]
            return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))] for t in names}
    finally:
        engine.dispose()
