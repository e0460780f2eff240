"""The pipeline in one place: load -> validate -> facts -> engine -> findings.

``RuleSet`` is the compiled selection of packs with resolved parameters (compile once,
audit many maps); ``audit`` runs it over one loaded map. Storing and reporting are the
callers' business (see ``store`` and ``report``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from . import _gc
from .engine.run import Engine, Evaluation
from .facts import base_facts
from .findings import Finding, build_findings, summarize
from .loader import LoadedMap, load_map
from .packs.load import LoadedPack, build_program, load_packs, pack_error, resolve_params, select
from .packs.program import CompileProblems, Program

ENGINE_VERSION = "0.1.0"


@dataclass
class RuleSet:
    """Selected packs, their parameters and the compiled program."""

    packs: list[LoadedPack]
    params: dict[str, int]
    program: Program
    engine: Engine = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self.engine = Engine(self.program)
        except CompileProblems as exc:  # past a limit of the engine: reported in the packs
            raise pack_error(self.packs, exc.problems) from None

    @classmethod
    def load(cls, extra_packs: Iterable[str | Path] = (), only: Iterable[str] = (), skip: Iterable[str] = (),
             params: Mapping[str, object] | None = None, builtin: bool = True) -> "RuleSet":
        packs = select(load_packs(extra_packs, builtin=builtin), only, skip)
        resolved = resolve_params(packs, params or {})
        return cls(packs, resolved, build_program(packs, resolved))

    @property
    def digest(self) -> str:
        return self.program.digest

    def rule_ids(self) -> list[str]:
        return sorted(self.program.rules)

    def pack_versions(self) -> dict[str, str]:
        return {lp.pack.pack: lp.pack.version for lp in self.packs}


@dataclass
class AuditResult:
    loaded: LoadedMap
    ruleset: RuleSet
    findings: list[Finding]
    evaluation: Evaluation = field(repr=False)
    seconds: float = 0.0
    waiver_report: dict | None = None  # set by waivers.apply_waivers: applied / expired / stale

    @property
    def map_id(self) -> str:
        return self.loaded.map.id

    @property
    def version(self) -> str:
        return self.loaded.map.version

    def summary(self) -> dict[str, int]:
        return summarize(self.findings)


def audit(loaded: LoadedMap, ruleset: RuleSet) -> AuditResult:
    """Audit one loaded (already validated) map."""
    start = time.perf_counter()
    with _gc.paused():
        ev = ruleset.engine.evaluate(base_facts(loaded.map, ruleset.program.read_types()))
        findings = build_findings(ruleset.program, ev, loaded.map.id, loaded.location_of)
    return AuditResult(loaded, ruleset, findings, ev, time.perf_counter() - start)


def audit_file(path: str | Path, ruleset: RuleSet) -> AuditResult:
    return audit(load_map(path), ruleset)
