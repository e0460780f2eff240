"""The findings store through SQLAlchemy (sqlmodel) and Alembic: opening, creating or
upgrading, recording, pruning and reading back. See the package docstring."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlmodel import Session

from ..audit import AuditResult
from ..errors import StoreError
from ..findings import Finding
from ..rulechange import RuleSetChange
from . import queries
from .engine import describe, make_engine, parse_url, sqlite_path, translate, with_retry
from .migrate import current_revision, ensure_schema
from ._records import PruneOutcome, RecordOutcome
from .writer import BatchHook, write_run


class Store:
    """An open findings store. Use :func:`open_store` to get one; ``close()`` when done."""

    def __init__(self, engine: Engine, url: URL):
        self.engine, self.url = engine, url
        self.after_batch: BatchHook | None = None  # test seam: called between batches of findings

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({describe(self.url)!r})"

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------------
    def record(self, result: AuditResult) -> RecordOutcome:
        """Store one run of ``result`` (map version, run, findings) in one transaction."""
        return self.record_many([result])

    def record_many(self, results: Sequence[AuditResult]) -> RecordOutcome:
        """Store one run per result, all in one transaction: all are stored or none."""

        def attempt() -> RecordOutcome:
            out = RecordOutcome()
            now = datetime.now(timezone.utc)
            with Session(self.engine) as s:
                s.connection(execution_options={"write": True})
                for r in results:
                    out.run_ids.append(write_run(s, r, now, out.warnings, self.after_batch))
                s.commit()
            return out

        with translate(self.url):
            return with_retry(attempt)

    def prune(self, map_id: str | None, keep_runs: int, dry_run: bool = False) -> "PruneOutcome":
        """Delete all but the ``keep_runs`` latest runs of each version (with their findings),
        in one transaction; the latest run of a version is always kept. Returns what was
        (with ``dry_run``: what would be) deleted, as the database counted it."""
        if keep_runs < 1:
            raise StoreError("--keep-runs must be at least 1: the latest run of each version is always kept")
        from sqlmodel import col, delete

        from .models import FindingRow, RunRow

        def attempt() -> PruneOutcome:
            with Session(self.engine) as s:
                s.connection(execution_options={"write": True})
                ids = queries.prunable_runs(s, map_id, keep_runs)
                if dry_run or not ids:
                    return PruneOutcome(len(ids), queries.count_findings(s, ids), dry_run=dry_run)
                runs = findings = 0
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    findings += s.exec(delete(FindingRow).where(col(FindingRow.run_pk).in_(chunk))).rowcount  # type: ignore[call-overload]
                    runs += s.exec(delete(RunRow).where(col(RunRow.id).in_(chunk))).rowcount  # type: ignore[call-overload]
                s.commit()
                return PruneOutcome(runs, findings)

        with translate(self.url):
            return with_retry(attempt)

    # -- reading ---------------------------------------------------------------------------
    def _read(self, fn: Any, *args: Any) -> Any:
        with translate(self.url), Session(self.engine) as s:
            return fn(s, *args)

    def version_findings(self, map_id: str, version: str) -> list[Finding]:
        """Findings of the latest run of ``map_id`` at ``version`` (UsageError if unknown)."""
        return self._read(lambda s: queries.findings_of(s, queries.latest_run_of(s, map_id, version).run.id))

    def baseline_version(self, map_id: str, exclude_version: str) -> str | None:
        """The latest stored version of the map (by first audit) other than ``exclude_version``."""
        return self._read(queries.baseline_version, map_id, exclude_version)

    def reopened(self, map_id: str, old_version: str, new_version: str, fingerprints: list[str]) -> list[str]:
        """Those of ``fingerprints`` seen in a version audited before ``old_version`` but not in it."""
        return self._read(queries.reopened, map_id, old_version, new_version, list(fingerprints))

    def history(self, map_id: str | None = None) -> list[dict]:
        """The latest run of each stored version (of one map, or of all maps)."""
        return self._read(queries.history, map_id)

    def trend(self, map_id: str, retired: dict[str, tuple[str, ...]] | None = None) -> dict:
        """Unwaived counts per stored version, oldest first, with new/resolved (contract JSON),
        and how many of those a change of the rule set explains (``retired``: id -> replacements)."""
        return self._read(queries.trend, map_id, retired)

    def rule_change(self, map_id: str, old_version: str, new_version: str,
                    retired: dict[str, tuple[str, ...]] | None = None) -> RuleSetChange:
        """How the rule sets of the latest runs of two stored versions differ."""
        return self._read(lambda s: queries.rule_change(queries.run_of(s, map_id, old_version),
                                                        queries.run_of(s, map_id, new_version), retired))

    def ruleset_of(self, map_id: str, version: str) -> tuple[str, dict[str, str] | None]:
        """The rule set of the latest run of a stored version: its digest and per-rule digests
        (None for a run stored before revision 0002), for ``rulechange.compare``."""
        def read(s):  # type: ignore[no-untyped-def]
            run = queries.run_of(s, map_id, version)
            return run.ruleset_digest, run.rules

        return self._read(read)


def open_store(url: str, create: bool = True) -> Store:
    """Open (and if needed create or upgrade) the store at SQLAlchemy ``url``.

    With ``create=False`` a store that does not exist yet is a StoreError.
    """
    parsed = parse_url(url)
    path = sqlite_path(parsed)
    if not create and path is not None and not os.path.exists(path):
        raise StoreError(f"no findings store at {path}; run `audit-engine audit` first")
    engine = make_engine(parsed)
    try:
        with translate(parsed):
            if not create:
                with engine.connect() as conn:
                    empty = current_revision(conn) is None
                if empty:
                    raise StoreError(f"no findings store at {describe(parsed)}; run `audit-engine audit` first")
            ensure_schema(engine, parsed)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, parsed)


def record_results(url: str, results: Sequence[AuditResult]) -> RecordOutcome:
    """Open the store at ``url`` (creating or upgrading it), record every result in one
    transaction, close it."""
    with open_store(url) as store:
        return store.record_many(results)
