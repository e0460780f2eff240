"""Which findings changed because the rule set changed, not the map.

Every stored run records, per rule, a digest of everything the rule's findings depend on
(its conditions, severity and grades, the parameters and derivations it reads). Two runs
of a map: a rule whose digest is the same in both cannot explain a finding appearing or
disappearing, so the map changed; a rule that is new, gone (retired or not run) or whose
digest differs may. Runs stored before rule digests were recorded only have the digest of
the whole rule set: when those differ, the cause is the rule set as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# the cause of a new or resolved finding
MAP = "map"  # the rule is the same in both runs: the map changed
RULE_ADDED = "rule_added"  # the rule did not run before (new, or not selected then)
RULE_REMOVED = "rule_removed"  # the rule did not run this time (not selected)
RULE_RETIRED = "rule_retired"  # the rule no longer exists: retired in the catalog
RULE_CHANGED = "rule_changed"  # the rule, or something its findings depend on, changed
RULE_SET_CHANGED = "rule_set_changed"  # an old run without rule digests, and another rule set


@dataclass(frozen=True)
class RuleSetChange:
    """How the rule sets of two runs differ."""

    changed: bool = False  # the two runs used different rule sets
    known: bool = True  # both runs recorded each rule's digest
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    retired: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # retired id -> replaced by

    def cause(self, rule_id: str) -> str:
        if not self.changed:
            return MAP
        if not self.known:
            return RULE_SET_CHANGED
        if rule_id in self.added:
            return RULE_ADDED
        if rule_id in self.removed:
            return RULE_RETIRED if rule_id in self.retired else RULE_REMOVED
        if rule_id in self.modified:
            return RULE_CHANGED
        return MAP

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"changed": self.changed, "known": self.known}
        if self.changed:
            out.update(added=list(self.added), removed=list(self.removed), modified=list(self.modified),
                       retired={k: list(v) for k, v in sorted(self.retired.items()) if k in self.removed})
        return out


UNCHANGED = RuleSetChange()


def compare(old_digest: str, old_rules: Mapping[str, str] | None, new_digest: str,
            new_rules: Mapping[str, str] | None, retired: Mapping[str, tuple[str, ...]] | None = None) -> RuleSetChange:
    """Compare the rule sets of two runs (overall digest and per-rule digests, if recorded)."""
    retired = dict(retired or {})
    if old_rules is None or new_rules is None:
        return RuleSetChange(changed=old_digest != new_digest, known=False, retired=retired)
    added = tuple(sorted(set(new_rules) - set(old_rules)))
    removed = tuple(sorted(set(old_rules) - set(new_rules)))
    modified = tuple(sorted(r for r in set(old_rules) & set(new_rules) if old_rules[r] != new_rules[r]))
    return RuleSetChange(bool(added or removed or modified), True, added, removed, modified, retired)


def retired_rules(packs: Any) -> dict[str, tuple[str, ...]]:
    """Retired rule id -> the ids that replace it, from loaded packs (``LoadedPack`` list)."""
    return {r.id: tuple(r.replaced_by) for lp in packs for r in lp.pack.retired}
