"""Connections to the findings store: URL handling, engines, and one-line errors.

Every database problem that a user can fix (bad URL, missing driver, unreachable server,
read-only file) becomes a :class:`~audit_engine.errors.StoreError` with a message that
names the store (password hidden) and says what to do.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from ..errors import StoreError

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
CONNECT_TIMEOUT = 10  # seconds


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3; anything else is kept."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def parse_url(url: str) -> URL:
    try:
        return make_url(normalize_url(url))
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"'{url}' is not a database URL (expected e.g. sqlite:///audit-engine.db or "
                         f"postgresql://user@host/dbname): {exc}") from None


_SECRET_KEYS = ("password", "passwd", "pwd", "secret", "token", "key", "passfile")


def describe(url: URL) -> str:
    """The URL for messages, password hidden (also one given as a query parameter)."""
    query = {k: ("***" if any(s in k.lower() for s in _SECRET_KEYS) else v) for k, v in url.query.items()}
    return url.set(query=query).render_as_string(hide_password=True)


def sqlite_path(url: URL) -> str | None:
    """The file of an SQLite URL, or None (not SQLite, or in memory)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") in ("true", "1") and url.database.startswith("file:"):  # sqlite:///file:PATH?uri=true
        path = url.database[len("file:"):]
        return None if url.query.get("mode") == "memory" or path.startswith(":memory:") else path
    return url.database


def make_engine(url: URL) -> Engine:
    """An engine for ``url``; SQLite gets a busy timeout and explicit BEGIN (IMMEDIATE for writes)."""
    backend = url.get_backend_name()
    kwargs: dict = {}
    if backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT, "application_name": "audit-engine"}
    elif backend == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise StoreError(f"audit-engine cannot use databases of kind '{url.drivername}' ({describe(url)}); "
                         "use sqlite:///FILE or postgresql://USER@HOST/DBNAME") from None
    except ImportError as exc:
        hint = " (pip install 'audit-engine[postgres]')" if backend == "postgresql" else ""
        raise StoreError(f"the database driver for {describe(url)} is not installed: {exc}{hint}") from None
    except (ArgumentError, TypeError, ValueError) as exc:
        raise StoreError(f"invalid database URL {describe(url)}: {exc}") from None
    if backend == "sqlite":
        _sqlite_transactions(engine)
    return engine


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLite run transactional DDL and take the write lock up front when writing."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_retryable(exc: BaseException) -> bool:
    """A conflict with another writer that the same transaction may win if run again.

    Unique-key races are settled inside the transaction (``writer._insert_or_get``); an
    IntegrityError that escapes is a real error and is not retried.
    """
    if isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError):
        if sqlstate(exc) in RETRYABLE_SQLSTATES:
            return True
        return "database is locked" in str(getattr(exc, "orig", exc))
    return False


def with_retry(fn: Callable[[], T], attempts: int = 8) -> T:
    """Run ``fn`` (one whole transaction) again after a conflict with a concurrent writer."""
    for attempt in range(attempts):
        try:
            return fn()
        except SQLAlchemyError as exc:
            if attempt == attempts - 1 or not is_retryable(exc):
                raise
            time.sleep(min(2.0, 0.02 * 2 ** attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def explain(exc: BaseException, url: URL) -> str:
    """One line saying what went wrong with the store at ``url`` and what to do."""
    where = describe(url)
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split()) or type(orig).__name__
    low = text.lower()
    path = sqlite_path(url)
    if path is not None:
        if "readonly" in low or "read-only" in low:
            return f"cannot write to the findings store {path}: the file or its folder is read-only ({text})"
        if "unable to open database file" in low:
            folder = os.path.dirname(os.path.abspath(path))
            why = "its folder does not exist" if not os.path.isdir(folder) else "the file or its folder is not accessible"
            return f"cannot open the findings store {path}: {why}"
        if "not a database" in low or "malformed" in low:
            return f"{path} is not an audit-engine findings store (SQLite says: {text}); use another --db"
    if url.get_backend_name() == "postgresql":
        if "does not exist" in low and "database" in low:
            return (f"the database '{url.database}' does not exist on the server of {where}; "
                    f"create it (createdb {url.database}) or use another --db")
        if isinstance(exc, DBAPIError) and exc.connection_invalidated or "connection" in low or "timeout" in low:
            return f"cannot reach the findings store {where}: {text}"
        if "permission denied" in low or sqlstate(exc) == "42501":
            return f"the findings store {where} refused access: {text}"
    return f"findings store {where}: {text}"


@contextlib.contextmanager
def translate(url: URL) -> Iterator[None]:
    """Turn database errors inside the block into a one-line StoreError."""
    try:
        yield
    except StoreError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(explain(exc, url)) from exc
