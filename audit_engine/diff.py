"""Diff two sets of findings of one map by fingerprint: new, resolved, unchanged
(with ``previous_severity`` where a rule's severity changed between versions)."""

from __future__ import annotations

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
