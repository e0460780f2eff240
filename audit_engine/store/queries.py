"""Reading the store: versions of a map, the findings of a version, history, trend.

"The latest run of a version" is the latest run of that version label (whatever its
content hash); versions are ordered by the time they were first audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, col, select

from ..errors import UsageError, did_you_mean
from ..findings import SEVERITY_ORDER, Finding
from .models import FindingRow, MapRow, MapVersionRow, RunRow
from .writer import finding_of
from ..rulechange import MAP, RuleSetChange, compare

COUNTS = [*SEVERITY_ORDER, "total"]


def utc(ts: datetime) -> datetime:
    """Timestamps are stored in UTC; SQLite hands them back without a zone."""
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


@dataclass
class RunInfo:
    """One stored run with its map and version."""

    run: RunRow
    version: MapVersionRow
    map_id: str

    @property
    def at(self) -> datetime:
        return utc(self.run.audited_at)


def _unknown(what: str, word: str, choices: list[str]) -> UsageError:
    hints = did_you_mean(word, choices)
    if not hints and 0 < len(choices) <= 10:
        what += f" (stored: {', '.join(choices)})"
    elif not choices:
        what += " (the store is empty: run `audit-engine audit` first)"
    return UsageError(what, hints)


def map_pk(s: Session, map_id: str) -> int:
    pk = s.exec(select(MapRow.id).where(MapRow.map_id == map_id)).first()
    if pk is None:
        ids = list(s.exec(select(MapRow.map_id).order_by(MapRow.map_id)).all())
        raise _unknown(f"no stored map '{map_id}'", map_id, ids)
    return pk


def runs(s: Session, map_id: str | None = None) -> list[RunInfo]:
    """Every stored run (of one map), oldest first."""
    q = (select(RunRow, MapVersionRow, MapRow.map_id)
         .join(MapVersionRow, col(RunRow.map_version_pk) == MapVersionRow.id)
         .join(MapRow, col(MapVersionRow.map_pk) == MapRow.id))
    if map_id is not None:
        q = q.where(MapRow.id == map_pk(s, map_id))
    q = q.order_by(col(RunRow.audited_at), col(RunRow.id))
    return [RunInfo(r, v, m) for r, v, m in s.exec(q).all()]


def latest_by_label(all_runs: list[RunInfo]) -> dict[str, RunInfo]:
    """Version label -> its latest run, in the order the labels were first audited."""
    first: dict[str, RunInfo] = {}
    latest: dict[str, RunInfo] = {}
    for ri in all_runs:  # oldest first
        first.setdefault(ri.version.version, ri)
        latest[ri.version.version] = ri
    return {label: latest[label] for label in first}


def latest_run_of(s: Session, map_id: str, version: str) -> RunInfo:
    by_label = latest_by_label(runs(s, map_id))
    if version not in by_label:
        raise _unknown(f"map '{map_id}' has no stored version '{version}'", version, list(by_label))
    return by_label[version]


def findings_of(s: Session, run_pk: int) -> list[Finding]:
    rows = s.exec(select(FindingRow).where(FindingRow.run_pk == run_pk)).all()
    return sorted((finding_of(r) for r in rows), key=Finding.sort_key)


def fingerprints_of(s: Session, run_pks: list[int], unwaived_only: bool = False) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {pk: set() for pk in run_pks}
    if not run_pks:
        return out
    q = select(FindingRow.run_pk, FindingRow.fingerprint).where(col(FindingRow.run_pk).in_(run_pks))
    if unwaived_only:
        q = q.where(col(FindingRow.waived).is_(False))
    for pk, fp in s.exec(q).all():
        out[pk].add(fp)
    return out


def baseline_version(s: Session, map_id: str, exclude_version: str) -> str | None:
    pk = s.exec(select(MapRow.id).where(MapRow.map_id == map_id)).first()
    if pk is None:
        return None
    labels = [v for v in latest_by_label(runs(s, map_id)) if v != exclude_version]
    return labels[-1] if labels else None


def reopened(s: Session, map_id: str, old_version: str, new_version: str, fingerprints: list[str]) -> list[str]:
    by_label = latest_by_label(runs(s, map_id))
    for v in (old_version, new_version):
        if v not in by_label:
            raise _unknown(f"map '{map_id}' has no stored version '{v}'", v, list(by_label))
    labels = list(by_label)
    earlier = [by_label[v].run.id for v in labels[:labels.index(old_version)]]
    old_pk = by_label[old_version].run.id
    fps = fingerprints_of(s, [*earlier, old_pk])
    seen = set().union(*(fps[pk] for pk in earlier)) if earlier else set()
    return [fp for fp in fingerprints if fp in seen and fp not in fps[old_pk]]


def _counts(run: RunRow) -> dict[str, int]:
    return {k: getattr(run, k) for k in COUNTS}


def history(s: Session, map_id: str | None = None) -> list[dict[str, Any]]:
    """The latest run of each stored (map, version, content), by map then first audit."""
    all_runs = runs(s, map_id)
    groups: dict[tuple[str, int], list[RunInfo]] = {}
    for ri in all_runs:
        groups.setdefault((ri.map_id, ri.version.id), []).append(ri)
    out = []
    for (mid, _), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[1][0].at, kv[1][0].run.id)):
        ri = items[-1]
        r, v = ri.run, ri.version
        out.append({
            "map": mid, "version": v.version, "content_hash": v.content_hash, "file": r.source_path,
            "run_id": r.id, "audited_at": ri.at.isoformat(), "first_audited_at": items[0].at.isoformat(),
            "runs": len(items), "engine_version": r.engine_version, "ruleset_digest": r.ruleset_digest,
            "packs": r.packs, "params": r.params, "waivers": r.waivers, "status": r.status,
            **_counts(r), "waived": r.waived,
        })
    return out


def rule_change(before: RunRow, after: RunRow, retired: dict[str, tuple[str, ...]] | None = None) -> RuleSetChange:
    return compare(before.ruleset_digest, before.rules, after.ruleset_digest, after.rules, retired)


def run_of(s: Session, map_id: str, version: str) -> RunRow:
    return latest_run_of(s, map_id, version).run


def trend(s: Session, map_id: str, retired: dict[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """The contract's trend JSON: unwaived counts per version, new/resolved vs the previous one;
    beside them, how many of those came from a change of the rule set rather than the map."""
    by_label = latest_by_label(runs(s, map_id))
    pks = [ri.run.id for ri in by_label.values()]
    fps = fingerprints_of(s, pks, unwaived_only=True)
    rule_of = rules_of(s, pks)
    versions = []
    prev: set[str] = set()
    prev_run: RunRow | None = None
    for label, ri in by_label.items():
        cur = fps[ri.run.id]
        change = rule_change(prev_run, ri.run, retired) if prev_run is not None else None
        new, resolved = cur - prev, prev - cur

        def by_rules(fs: set[str], change=change) -> int:
            return sum(1 for fp in fs if change.cause(rule_of[fp]) != MAP) if change else 0

        versions.append({"version": label, "audited_at": ri.at.isoformat(), **_counts(ri.run),
                         "new": len(new), "resolved": len(resolved),
                         "new_by_rule_set": by_rules(new), "resolved_by_rule_set": by_rules(resolved),
                         "rule_set_changed": bool(change and change.changed)})
        prev, prev_run = cur, ri.run
    return {"map": map_id, "versions": versions}


def rules_of(s: Session, run_pks: list[int]) -> dict[str, str]:
    """Fingerprint -> rule id, for the findings of these runs."""
    if not run_pks:
        return {}
    q = select(FindingRow.fingerprint, FindingRow.rule_id).where(col(FindingRow.run_pk).in_(run_pks))
    return {fp: rule for fp, rule in s.exec(q).all()}


def prunable_runs(s: Session, map_id: str | None, keep: int) -> list[int]:
    """Ids of the runs older than the ``keep`` latest runs of each stored version."""
    by_version: dict[int, list[RunInfo]] = {}
    for ri in runs(s, map_id):  # oldest first
        by_version.setdefault(ri.version.id, []).append(ri)  # type: ignore[arg-type]
    return [ri.run.id for group in by_version.values() for ri in group[: max(0, len(group) - keep)]]  # type: ignore[misc]


def count_findings(s: Session, run_pks: list[int]) -> int:
    from sqlalchemy import func

    if not run_pks:
        return 0
    return int(s.exec(select(func.count()).select_from(FindingRow).where(col(FindingRow.run_pk).in_(run_pks))).one())
