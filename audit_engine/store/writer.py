"""Writing one audit run: map and version rows (insert-or-get), the run, its findings.

Everything here runs inside the caller's transaction; nothing commits. Concurrent
writers meet on the unique constraints: an insert that loses the race rolls back to
its savepoint and reads the winner's row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Sequence

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ..audit import AuditResult
from ..findings import Finding
from ._records import content_warning, finding_row, ruleset_warning, run_values
from .models import FindingRow, MapRow, MapVersionRow, RunRow

BATCH = 500
BatchHook = Callable[[int, int], None]  # (run id, findings written so far)


def _insert_or_get(s: Session, query: Any, make: Callable[[], Any], attempts: int = 5) -> int:
    """The id of the row ``query`` finds, inserted by ``make`` first if there is none."""
    for attempt in range(attempts):
        found = s.exec(query).first()
        if found is not None:
            return found.id
        try:
            with s.begin_nested():
                row = make()
                s.add(row)
                s.flush()
                return row.id
        except IntegrityError:  # a concurrent writer inserted it first: read its row next time round
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _warnings(s: Session, result: AuditResult, map_pk: int) -> list[str]:
    """Same version label seen with other content, or audited before with other rules."""
    out: list[str] = []
    ver, digest = result.version, result.ruleset.digest
    others = s.exec(select(MapVersionRow.content_hash).where(
        MapVersionRow.map_pk == map_pk, MapVersionRow.version == ver,
        MapVersionRow.content_hash != result.loaded.content_hash).order_by(col(MapVersionRow.id))).all()
    out.extend(content_warning(result, h) for h in others)
    last = s.exec(select(RunRow.ruleset_digest).join(MapVersionRow, col(RunRow.map_version_pk) == MapVersionRow.id)
                  .where(MapVersionRow.map_pk == map_pk, MapVersionRow.version == ver)
                  .order_by(col(RunRow.audited_at).desc(), col(RunRow.id).desc()).limit(1)).first()
    if last is not None and last != digest:
        out.append(ruleset_warning(result, last))
    return out


def finding_of(row: Any) -> Finding:
    """The finding a row holds (``row`` has the columns of FindingRow)."""
    data = dict(row.data or {})
    if "message" not in data:  # since revision 0002 the text lives in the columns only
        data.update(rule_id=row.rule_id, severity=row.severity, subject=row.subject, fingerprint=row.fingerprint,
                    title=row.title, message=row.message, citation=row.citation, evidence=row.evidence,
                    waived=row.waived, pack=row.pack, subject_kind=row.subject_kind,
                    location={"file": row.file, "line": row.line, "column": row.column})
    return Finding.from_dict(data)


def write_run(s: Session, result: AuditResult, now: datetime, warnings: list[str],
              after_batch: BatchHook | None = None) -> int:
    """Add one run of ``result`` to the open transaction of ``s``; return the run's id."""
    mid, ver, chash = result.map_id, result.version, result.loaded.content_hash
    map_pk = _insert_or_get(s, select(MapRow).where(MapRow.map_id == mid),
                            lambda: MapRow(map_id=mid, created_at=now))
    warnings.extend(_warnings(s, result, map_pk))
    mv_pk = _insert_or_get(
        s, select(MapVersionRow).where(MapVersionRow.map_pk == map_pk, MapVersionRow.version == ver,
                                       MapVersionRow.content_hash == chash),
        lambda: MapVersionRow(map_pk=map_pk, version=ver, content_hash=chash, source_path=result.loaded.file,
                              first_audited_at=now))
    run = RunRow(**run_values(result, mv_pk, now))
    s.add(run)
    s.flush()
    assert run.id is not None
    _write_findings(s, run.id, result.findings, after_batch)
    return run.id


def _write_findings(s: Session, run_pk: int, findings: Sequence[Finding], after_batch: BatchHook | None) -> None:
    table = FindingRow.__table__
    for start in range(0, len(findings), BATCH):
        s.execute(insert(table), [finding_row(run_pk, f) for f in findings[start:start + BATCH]])
        if after_batch is not None:
            after_batch(run_pk, min(start + BATCH, len(findings)))
