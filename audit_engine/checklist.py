"""The source guide's quick-start checklist (rule catalog, "Quick-start checklist").

An item passes when none of its rules has an unwaived finding and the map has the
entities the item needs. Which rules belong to which item is rule metadata
(``checklist:`` in the packs); the items themselves are below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .audit import AuditResult
from .model import JourneyMap


@dataclass(frozen=True)
class Item:
    number: int
    title: str
    requirement: str
    satisfied: Callable[[JourneyMap], bool]


ITEMS: tuple[Item, ...] = (
    Item(1, "Stakeholder sub-maps", "at least 2 stakeholder groups", lambda m: len({s.group for s in m.stakeholders}) >= 2),
    Item(2, "Regulatory checkpoints", "at least 1 checkpoint", lambda m: len(m.checkpoints) >= 1),
    Item(3, "Clinical context at every stage", "", lambda m: True),
    Item(4, "Data access and security verification", "", lambda m: True),
    Item(5, "Failure modes and safeguards", "at least 1 failure mode",
         lambda m: any(tp.failure_modes for tp in m.touchpoints)),
    Item(6, "Training and adoption pathway", "at least 1 training", lambda m: len(m.trainings) >= 1),
    Item(7, "Feedback and safety reporting", "at least 1 feedback channel", lambda m: len(m.feedback_channels) >= 1),
)


@dataclass
class ItemResult:
    item: Item
    rules: list[str]
    findings: list[Any] = field(default_factory=list)
    has_entities: bool = True

    @property
    def passed(self) -> bool:
        return self.has_entities and not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.number, "title": self.item.title, "passed": self.passed, "rules": self.rules,
            "requirement": self.item.requirement or None, "requirement_met": self.has_entities,
            "findings": [{"rule_id": f.rule_id, "subject": f.subject, "severity": f.severity,
                          "fingerprint": f.fingerprint} for f in self.findings],
        }


def checklist(result: AuditResult) -> list[ItemResult]:
    rules_of: dict[int, list[str]] = {i.number: [] for i in ITEMS}
    for rule_id, (_, rule) in sorted(result.ruleset.program.rules.items()):
        if rule.checklist:
            rules_of[rule.checklist].append(rule_id)
    out = []
    for item in ITEMS:
        rules = rules_of[item.number]
        failing = [f for f in result.findings if f.rule_id in rules and not f.waived]
        out.append(ItemResult(item, rules, failing, item.satisfied(result.loaded.map)))
    return out


def score(items: list[ItemResult]) -> float:
    return round(100.0 * sum(i.passed for i in items) / len(items), 1) if items else 0.0
