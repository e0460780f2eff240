"""A map's stored history for the HTML report: the trend over every stored version and
the diff against the previous stored version (new, resolved, reopened, severity changed).

:func:`read_history` reads it from an open store before the current run is recorded and
merges that run in (the trend then ends with, or holds, the current version). The renderer
takes it as optional input
(``history=[History | None, ...]``, one per result); without it the section is left out.

:attr:`History.rule_changes` lists the new and resolved findings that a change of the
rule set explains rather than the map (see ``rulechange``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from ..diff import FindingsDiff, diff_findings
from ..errors import UsageError
from ..findings import SEVERITIES, Finding
from ..severity import counts

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import AuditResult
    from ..store import Store


@dataclass
class History:
    """What the store knows about earlier versions of one map."""

    map_id: str
    current: str  # the version label of the run being reported
    versions: list[dict[str, Any]]  # the trend (store.trend): oldest first, unwaived counts, new, resolved
    previous: str | None = None  # the previous stored version, if any
    diff: FindingsDiff | None = None  # previous -> current
    ruleset_changed: bool | None = None  # the two runs used rule sets of different digests
    rule_changes: list[Finding] | None = None  # new and resolved findings the change of rules explains

    def severity_changed(self) -> list[Finding]:
        return [f for f in self.diff.unchanged if f.previous_severity] if self.diff else []


def _unwaived(findings: Sequence[Finding]) -> set[str]:
    return {f.fingerprint for f in findings if not f.waived}


def read_history(store: "Store", result: "AuditResult") -> History:
    """The history of ``result``'s map from ``store``, with ``result`` as its current run.

    Read before ``result`` is recorded (the CLI records a run only once its report is
    written): the current run is merged in memory, replacing the stored latest run of
    its version label or following the stored versions. Read after recording, it gives
    the same history.
    """
    map_id = result.map_id
    try:
        versions = [dict(v) for v in store.trend(map_id)["versions"]]
        rows = store.history(map_id)
    except UsageError:  # the map is not stored yet
        versions, rows = [], []
    digests: dict[str, str] = {row["version"]: row["ruleset_digest"] for row in rows}  # oldest first: latest wins
    labels = [v["version"] for v in versions]
    current: dict[str, Any] = {"version": result.version,
                               "audited_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               **counts(f.severity for f in result.findings if not f.waived)}
    i = labels.index(result.version) if result.version in labels else len(versions)
    versions[i:i + 1] = [current]
    mine = _unwaived(result.findings)
    before = _unwaived(store.version_findings(map_id, labels[i - 1])) if i > 0 else set()
    current["new"], current["resolved"] = len(mine - before), len(before - mine)
    if i + 1 < len(versions):  # the version after this one is now counted against this run
        after = _unwaived(store.version_findings(map_id, versions[i + 1]["version"]))
        versions[i + 1]["new"], versions[i + 1]["resolved"] = len(after - mine), len(mine - after)
    previous_digest = None
    prev = store.baseline_version(map_id, exclude_version=result.version)
    if prev is not None:
        previous_digest = digests.get(prev)
    digests[result.version] = result.ruleset.digest
    h = History(map_id, result.version, [{**v, "ruleset_digest": digests.get(v["version"], "")} for v in versions])
    if prev is None:
        return h
    h.previous = prev
    from ..rulechange import compare, retired_rules

    change = compare(*store.ruleset_of(map_id, prev), result.ruleset.digest, result.ruleset.program.rule_digests,
                     retired_rules(result.ruleset.packs))
    h.diff = diff_findings(map_id, prev, store.version_findings(map_id, prev), result.version, result.findings,
                           rules=change)
    h.rule_changes = h.diff.by_rules(h.diff.new) + h.diff.by_rules(h.diff.resolved)
    # Seen in a version before `prev` but not in `prev` (the current version need not be stored yet).
    h.diff.reopened = store.reopened(map_id, prev, prev, [f.fingerprint for f in h.diff.new])
    if previous_digest is not None:
        h.ruleset_changed = previous_digest != result.ruleset.digest
    return h


def read_histories(url: str, results: Sequence["AuditResult"]) -> list[History | None]:
    """One :class:`History` per result from the store at ``url``."""
    from ..store import open_store

    with open_store(url) as store:
        return [read_history(store, r) for r in results]


# --------------------------------------------------------------------------- trend chart


@dataclass
class Bar:
    x: float
    width: float
    label: str  # version
    short: str  # version, shortened to fit
    total: int
    new: int
    resolved: int
    when: str
    current: bool
    segments: list[tuple[str, float, float, int]] = field(default_factory=list)  # severity, y, height, count
    top: float = 0.0


@dataclass
class Chart:
    """Geometry of the inline SVG trend chart: stacked bars of unwaived findings per version."""

    width: int
    height: int
    plot_top: int
    plot_bottom: int
    left: int
    ticks: list[tuple[float, int]]  # (y, value)
    bars: list[Bar]
    label_every: int


def _when(iso: str) -> str:
    """Store timestamps as the other report timestamps ('YYYY-MM-DD HH:MM UTC')."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if top / step <= 5:
            return step
    return max(1, top // 5)


def chart(h: History, plot_height: int = 200) -> Chart:
    left, top, bottom_pad = 48, 16, 58
    n = max(1, len(h.versions))
    plot_width = min(720, max(280, 90 * n))
    slot = plot_width / n
    width = min(56.0, slot * 0.7)
    peak = max((v["total"] for v in h.versions), default=0)
    step = _nice_step(max(peak, 1))
    ymax = max(step, -(-max(peak, 1) // step) * step)
    scale = plot_height / ymax
    base = top + plot_height
    bars = []
    for i, v in enumerate(h.versions):
        label = str(v["version"])
        bar = Bar(left + i * slot + (slot - width) / 2, width, label, label if len(label) <= 12 else label[:11] + "…",
                  v["total"], v["new"], v["resolved"], _when(v["audited_at"]), label == h.current)
        y = float(base)
        for sev in SEVERITIES:
            count = int(v.get(sev, 0))
            if count:
                hgt = count * scale
                y -= hgt
                bar.segments.append((sev, round(y, 2), round(hgt, 2), count))
        bar.x, bar.width, bar.top = round(bar.x, 2), round(bar.width, 2), round(y, 2)
        bars.append(bar)
    ticks = [(round(base - k * step * scale, 2), k * step) for k in range(ymax // step + 1)]
    return Chart(int(left + plot_width + 16), int(top + plot_height + bottom_pad), top, base, left, ticks, bars,
                 max(1, -(-n // 24)))
