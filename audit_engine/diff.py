"""Diff two sets of findings of one map by fingerprint: new, resolved, unchanged
(with ``previous_severity`` where a rule's severity changed between versions)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from .findings import Finding
from .rulechange import MAP, UNCHANGED, RuleSetChange


@dataclass
class FindingsDiff:
    map_id: str
    old_version: str
    new_version: str
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    unchanged: list[Finding] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)  # fingerprints of `new` findings seen before `old`
    rules: RuleSetChange = UNCHANGED  # how the two runs' rule sets differ

    def cause(self, f: Finding) -> str:
        """Why a new or resolved finding changed: ``map``, or a change of the rule set."""
        return self.rules.cause(f.rule_id)

    def by_rules(self, findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if self.cause(f) != MAP]

    def to_dict(self) -> dict[str, Any]:
        return {
            "map": self.map_id, "from": self.old_version, "to": self.new_version,
            "new": [self._tag(f) for f in self.new],
            "resolved": [self._tag(f) for f in self.resolved],
            "unchanged": [f.to_dict() for f in self.unchanged],
            "summary": {"new": len(self.new), "resolved": len(self.resolved), "unchanged": len(self.unchanged),
                        "reopened": len(self.reopened), "new_by_rule_set": len(self.by_rules(self.new)),
                        "resolved_by_rule_set": len(self.by_rules(self.resolved))},
            "rule_set": self.rules.to_dict(),
        }

    def _tag(self, f: Finding) -> dict[str, Any]:
        d = f.to_dict()
        if f.fingerprint in self.reopened:
            d["reopened"] = True
        d["cause"] = self.cause(f)
        return d


def diff_findings(map_id: str, old_version: str, old: list[Finding], new_version: str,
                  new: list[Finding], rules: RuleSetChange = UNCHANGED) -> FindingsDiff:
    """``rules``: how the rule sets of the two audits differ (nothing, for two files audited now)."""
    before = {f.fingerprint: f for f in old}
    after = {f.fingerprint: f for f in new}
    d = FindingsDiff(map_id, old_version, new_version, rules=rules)
    for fp, f in after.items():
        if fp not in before:
            d.new.append(f)
        else:
            changed = before[fp].severity != f.severity
            d.unchanged.append(replace(f, previous_severity=before[fp].severity) if changed else f)
    d.resolved = [f for fp, f in before.items() if fp not in after]
    for lst in (d.new, d.resolved, d.unchanged):
        lst.sort(key=Finding.sort_key)
    return d


def render_json(d: FindingsDiff) -> str:
    return json.dumps(d.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_markdown(d: FindingsDiff) -> str:
    lines = [f"## Findings diff: {d.map_id} {d.old_version} → {d.new_version}", "",
             f"**{len(d.new)} new**, {len(d.resolved)} resolved, {len(d.unchanged)} unchanged"
             + (f", {len(d.reopened)} reopened" if d.reopened else ""), ""]
    for title, items in (("New", d.new), ("Resolved", d.resolved), ("Unchanged", d.unchanged)):
        if not items:
            continue
        lines += [f"### {title}", "", "| severity | rule | subject | message |", "|---|---|---|---|"]
        for f in items:
            sev = f.severity + (f" (was {f.previous_severity})" if f.previous_severity else "")
            tag = " (reopened)" if f.fingerprint in d.reopened else ""
            msg = f.message.replace("|", "\\|")
            lines.append(f"| {sev} | {f.rule_id} | `{f.subject}`{tag} | {msg} |")
        lines.append("")
    return "\n".join(lines)


def render_table(d: FindingsDiff) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(record=True, width=120, file=open("/dev/null", "w"))
    console.print(f"map {d.map_id}: {d.old_version} -> {d.new_version}: {len(d.new)} new, "
                  f"{len(d.resolved)} resolved, {len(d.unchanged)} unchanged"
                  + (f", {len(d.reopened)} reopened" if d.reopened else ""))
    table = Table()
    for col in ("change", "severity", "rule", "subject", "message"):
        table.add_column(col, overflow="fold")
    for label, items in (("new", d.new), ("resolved", d.resolved), ("unchanged", d.unchanged)):
        for f in items:
            sev = f.severity + (f" (was {f.previous_severity})" if f.previous_severity else "")
            tag = "reopened" if f.fingerprint in d.reopened else label
            table.add_row(tag, sev, f.rule_id, f.subject, f.message)
    if d.new or d.resolved or d.unchanged:
        console.print(table)
    return console.export_text()
