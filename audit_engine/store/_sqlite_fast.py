"""Recording runs in an existing, up-to-date SQLite store with the standard library alone.

A small audit takes about 0.2 s as a whole process; importing SQLAlchemy, SQLModel and
Alembic to record it took as long again. When the store is a plain ``sqlite:///FILE``
that exists and whose schema is the revision this package ships (one query), the run is
written here, through ``sqlite3``, with exactly the rows the SQLAlchemy writer
(``writer.write_run``) writes: the same values (``_records``), and the same text for
dates, JSON and booleans (a test records the same results both ways and compares every
row). Anything else returns None before anything is written, and the caller records
through SQLAlchemy: a new store (created by the migrations), an older schema (upgraded),
PostgreSQL, a URL with options, and any database error, which the SQLAlchemy path then
reports in its own words.

The write lock is taken up front (``BEGIN IMMEDIATE``, waiting up to 30 s for another
writer), so the map and version rows read here cannot be inserted concurrently; all the
runs are one transaction, rolled back on any error.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from ._records import RecordOutcome, content_warning, extra_data, ruleset_warning, run_values

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult
    from ..findings import Finding

HEAD_REVISION = "0002"  # the newest migration (a test checks it against migrations/versions)
_PREFIX = "sqlite:///"
_RUN_COLUMNS = ("map_version_pk", "audited_at", "engine_version", "ruleset_digest", "packs", "params", "rules",
                "waivers", "status", "source_path", "seconds", "critical", "high", "medium", "low", "info", "total",
                "waived")
_FINDING_COLUMNS = ("run_pk", "rule_id", "severity", "subject", "fingerprint", "title", "message", "citation",
                    "file", "line", "column", "evidence", "waived", "pack", "subject_kind", "data")
_JSON = {"packs", "params", "rules", "waivers", "evidence", "data"}


def sqlite_file(url: str) -> str | None:
    """The file of a plain ``sqlite:///FILE`` URL (no options), else None."""
    if not url.startswith(_PREFIX) or "?" in url:
        return None
    path = url[len(_PREFIX):]
    return path if path and path != ":memory:" else None


def _when(t: datetime) -> str:
    """As SQLAlchemy's SQLite dialect stores a DateTime."""
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def _value(column: str, v: Any) -> Any:
    if column in _JSON:
        return json.dumps(v)  # SQLAlchemy's JSON type: json.dumps with its defaults; None is 'null'
    if isinstance(v, datetime):
        return _when(v)
    if isinstance(v, bool):
        return int(v)
    return v


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO {table} ({names}) VALUES ({", ".join("?" * len(columns))})'


def _insert(conn: sqlite3.Connection, table: str, columns: Sequence[str], row: dict[str, Any]) -> int:
    """Insert one row; its id."""
    return conn.execute(_insert_sql(table, columns), tuple(_value(c, row[c]) for c in columns)).lastrowid or 0


def record(url: str, results: Sequence["AuditResult"]) -> RecordOutcome | None:
    """Record every result in one transaction, or return None (nothing written) when this
    store is for the SQLAlchemy path."""
    path = sqlite_file(url)
    if path is None or not os.path.isfile(path):
        return None
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        try:
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or (None,)
        except sqlite3.Error:
            return None
        if revision != HEAD_REVISION:
            return None
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = RecordOutcome()
            now = datetime.now(timezone.utc)
            for r in results:
                out.run_ids.append(_write_run(conn, r, now, out.warnings))
            conn.execute("COMMIT")
            return out
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error:
        return None  # rolled back: the SQLAlchemy path runs, and says what is wrong
    finally:
        conn.close()


def _write_run(conn: sqlite3.Connection, result: "AuditResult", now: datetime, warnings: list[str]) -> int:
    mid, ver, chash = result.map_id, result.version, result.loaded.content_hash
    row = conn.execute("SELECT id FROM maps WHERE map_id = ?", (mid,)).fetchone()
    map_pk = row[0] if row else _insert(conn, "maps", ("map_id", "created_at"), {"map_id": mid, "created_at": now})
    others = conn.execute("SELECT content_hash FROM map_versions WHERE map_pk = ? AND version = ? AND "
                          "content_hash != ? ORDER BY id", (map_pk, ver, chash)).fetchall()
    warnings.extend(content_warning(result, h) for (h,) in others)
    last = conn.execute("SELECT audit_runs.ruleset_digest FROM audit_runs JOIN map_versions ON "
                        "audit_runs.map_version_pk = map_versions.id WHERE map_versions.map_pk = ? AND "
                        "map_versions.version = ? ORDER BY audit_runs.audited_at DESC, audit_runs.id DESC LIMIT 1",
                        (map_pk, ver)).fetchone()
    if last is not None and last[0] != result.ruleset.digest:
        warnings.append(ruleset_warning(result, last[0]))
    row = conn.execute("SELECT id FROM map_versions WHERE map_pk = ? AND version = ? AND content_hash = ?",
                       (map_pk, ver, chash)).fetchone()
    mv_pk = row[0] if row else _insert(
        conn, "map_versions", ("map_pk", "version", "content_hash", "source_path", "first_audited_at"),
        {"map_pk": map_pk, "version": ver, "content_hash": chash, "source_path": result.loaded.file,
         "first_audited_at": now})
    run_pk = _insert(conn, "audit_runs", _RUN_COLUMNS, run_values(result, mv_pk, now))
    if result.findings:
        conn.executemany(_FINDINGS_SQL, [finding_values(run_pk, f) for f in result.findings])
    return run_pk


_FINDINGS_SQL = _insert_sql("findings", _FINDING_COLUMNS)
_DUMPS_ANY = json.JSONEncoder(default=str).encode  # json.dumps(value, default=str), made once


def finding_values(run_pk: int, f: "Finding") -> tuple:
    """A finding's row in ``_FINDING_COLUMNS`` order, as ``_value`` would make it from
    ``_records.finding_row`` (its data serialised once: the same text as ``jsonable``'s round
    trip, then ``json.dumps``); built directly, as a large map has tens of thousands."""
    loc = f.location
    return (run_pk, f.rule_id, f.severity, f.subject, f.fingerprint, f.title, f.message, f.citation, loc.file,
            loc.line, loc.column, json.dumps(list(f.evidence)), int(f.waived), f.pack, f.subject_kind,
            _DUMPS_ANY(extra_data(f)))
