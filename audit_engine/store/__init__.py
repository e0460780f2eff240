"""Step 6 of the pipeline: the findings store (SQLite or PostgreSQL, via sqlmodel).

Every audit run is recorded with its map version, rule set and findings, in one
transaction; history, trends and stored diffs read it back. The schema is managed by
Alembic migrations shipped in this package and applied on open (``migrate``).

    open_store(url, create=True) -> Store
    record_results(url, results) -> RecordOutcome

Importing this package is cheap: SQLAlchemy, SQLModel and Alembic are imported when a
store is opened. Recording into an existing, up-to-date SQLite file needs none of them
(``_sqlite_fast``); everything else goes through ``_store``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ._records import PruneOutcome, RecordOutcome

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult
    from ._store import Store, open_store
    from .engine import normalize_url

__all__ = ["PruneOutcome", "RecordOutcome", "Store", "normalize_url", "open_store", "record_results"]
_LAZY = {"Store": "._store", "open_store": "._store", "normalize_url": ".engine"}


def record_results(url: str, results: Sequence["AuditResult"]) -> RecordOutcome:
    """Open the store at ``url`` (creating or upgrading it), record every result in one
    transaction, close it."""
    from ._sqlite_fast import record

    done = record(url, results)
    if done is not None:
        return done
    from ._store import record_results as through_sqlalchemy

    return through_sqlalchemy(url, results)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
