"""Run each rule's firing and non-firing examples through the real engine, in isolation
(only that rule selected), as Semgrep and KICS do for theirs."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Iterable

import yaml

from ..errors import AuditEngineError
from .load import LoadedPack, build_program, resolve_params, select

BASE_MAP: dict = {
    "format": 1,
    "id": "example",
    "name": "Rule example",
    "version": "1.0.0",
    "stakeholders": [{"id": "patient", "name": "Patient", "group": "patient"}],
    "stages": [{"id": "visit", "name": "Visit"}],
}


@dataclass
class ExampleOutcome:
    rule_id: str
    pack: str
    kind: str  # "fires" or "passes"
    name: str
    want: list[str]
    got: list[str] = field(default_factory=list)
    error: str | None = None
    where: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and self.got == self.want


def example_map(fragment: dict) -> dict:
    doc = copy.deepcopy(BASE_MAP)
    doc.update(copy.deepcopy(fragment))
    return doc


def run_examples(packs: list[LoadedPack], only_packs: Iterable[str] | None = None) -> list[ExampleOutcome]:
    """Outcomes for every example of every rule of ``only_packs`` (all packs when None)."""
    from ..audit import RuleSet, audit
    from ..loader import load_map_text

    wanted = set(only_packs) if only_packs is not None else None
    out: list[ExampleOutcome] = []
    for lp in packs:
        if wanted is not None and lp.pack.pack not in wanted:
            continue
        for r_index, rule in enumerate(lp.pack.rules):
            for kind in ("fires", "passes"):
                for e_index, ex in enumerate(getattr(rule.examples, kind)):
                    pos = lp.position(("rules", r_index, "examples", kind, e_index))
                    outcome = ExampleOutcome(rule.id, lp.pack.pack, kind, ex.name,
                                             sorted(ex.subjects) if kind == "fires" else [], where=str(pos))
                    try:
                        chosen = select(packs, only=[rule.id])
                        params = resolve_params(chosen, ex.params)
                        rs = RuleSet(chosen, params, build_program(chosen, params))
                        text = yaml.safe_dump(example_map(ex.map), sort_keys=False)
                        result = audit(load_map_text(text, f"{lp.file}#{rule.id}/{kind}/{e_index}"), rs)
                        outcome.got = sorted(f.subject for f in result.findings if f.rule_id == rule.id)
                    except AuditEngineError as exc:
                        outcome.error = str(exc)
                    out.append(outcome)
    return out
