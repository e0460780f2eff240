"""What a recorded run is made of, without SQLAlchemy: the values of its rows, the warnings
recording gives, and the outcome. Shared by the SQLAlchemy writer (``writer``) and the
standard-library SQLite writer (``_sqlite_fast``), so both store exactly the same rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..findings import Finding, summarize
from ..version import VERSION

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult


@dataclass
class RecordOutcome:
    """What recording produced: warnings for the user and the ids of the stored runs."""

    warnings: list[str] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PruneOutcome:
    """Rows deleted by a prune (or that a dry run would delete)."""

    runs: int
    findings: int
    dry_run: bool = False


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (dates and other objects become strings)."""
    return json.loads(json.dumps(value, default=str))


# keys of Finding.to_dict() that have a column of their own: stored once, in the column
IN_COLUMNS = ("rule_id", "severity", "subject", "fingerprint", "title", "message", "citation", "location",
              "evidence", "waived", "pack", "subject_kind")


def finding_row(run_pk: int, f: Finding, data: Any = None) -> dict[str, Any]:
    """The columns of a finding's row; ``data`` (what ``to_dict`` holds beyond them) as
    plain JSON types, unless the caller gives it already serialised."""
    return {
        "run_pk": run_pk, "rule_id": f.rule_id, "severity": f.severity, "subject": f.subject,
        "fingerprint": f.fingerprint, "title": f.title, "message": f.message, "citation": f.citation,
        "file": f.location.file, "line": f.location.line, "column": f.location.column,
        "evidence": list(f.evidence), "waived": f.waived, "pack": f.pack, "subject_kind": f.subject_kind,
        "data": jsonable(extra_data(f)) if data is None else data,
    }


def extra_data(f: Finding) -> dict[str, Any]:
    """What ``Finding.to_dict()`` holds beyond the columns, in its order (without building
    the rest of it: a test compares the two)."""
    out: dict[str, Any] = {"citations": [dict(c) for c in f.citations]}
    if f.waiver is not None:
        out["waiver"] = f.waiver
    if f.previous_severity is not None:
        out["previous_severity"] = f.previous_severity
    for k, v in f.extra.items():
        if k not in IN_COLUMNS:
            out[k] = v
    return out


def run_values(result: "AuditResult", map_version_pk: int, now: datetime) -> dict[str, Any]:
    """The columns of a run's row (``audit_runs``), its id aside."""
    return dict(
        map_version_pk=map_version_pk, audited_at=now, engine_version=VERSION, ruleset_digest=result.ruleset.digest,
        packs=jsonable(result.ruleset.pack_versions()), params=jsonable(result.ruleset.params),
        rules=dict(result.ruleset.program.rule_digests),
        waivers=None if result.waivers is None else jsonable(result.waivers.to_dict()), status="complete",
        source_path=result.loaded.file, seconds=float(result.seconds),
        waived=sum(1 for f in result.findings if f.waived), **summarize(result.findings))


def _short(h: str) -> str:
    return h[:12] + "…"


def content_warning(result: "AuditResult", other_hash: str) -> str:
    return (f"map {result.map_id} version {result.version} was audited before with different content "
            f"(hash {_short(other_hash)} vs {_short(result.loaded.content_hash)}); both runs are kept")


def ruleset_warning(result: "AuditResult", last_digest: str) -> str:
    return (f"map {result.map_id} version {result.version} was audited before with a different rule set "
            f"(digest {_short(last_digest)} vs {_short(result.ruleset.digest)}); findings may differ because the "
            "rules changed")
