"""The pipeline in one place: load -> validate -> facts -> engine -> findings -> waivers.

``RuleSet`` is the compiled selection of packs with resolved parameters (compile once,
audit many maps); :func:`audit` runs it over one loaded map; :func:`run_audits` is what
every command that needs an audit calls (``audit``, ``gate``, ``diff``, ``explain``,
``checklist``): every map is loaded and validated before anything runs, and waivers are
applied. Results are immutable. Storing and reporting are the callers' business (see
``store`` and ``report``).
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from . import _gc
from .engine.run import Engine, Evaluation
from .errors import CapacityError
from .facts import base_facts
from .findings import Finding, build_findings, summarize
from .limits import DEFAULT, Limits
from .loader import LoadedMap, load_map
from .packs.load import LoadedPack, build_program, load_packs, pack_error, resolve_params, select
from .packs.program import CompileProblems, Program
from .timings import phase
from .version import VERSION

if TYPE_CHECKING:  # pragma: no cover
    from .waivers import Waiver, WaiverReport

ENGINE_VERSION = VERSION  # kept for callers of 0.1


@dataclass
class RuleSet:
    """Selected packs, their parameters, the compiled program and its engine."""

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
             params: Mapping[str, object] | None = None, builtin: bool = True, cache: bool = False) -> "RuleSet":
        """Read, select and compile packs; with ``cache``, reuse the rule set compiled from
        the same files and options before (see ``_rulecache``)."""
        with phase("rules"):
            extra_packs, only, skip = list(extra_packs), list(only), list(skip)
            folder = key = None
            if cache:
                from . import _rulecache as _cache
                from .packs.load import builtin_pack_files, pack_files

                folder = _cache.cache_dir()
                if folder is not None:
                    files = [*(builtin_pack_files() if builtin else []), *pack_files(extra_packs)]
                    key = _cache.key(files, only, skip, params or {}, builtin)
                    hit = _cache.load(key, folder)
                    if hit is not None:
                        return hit
            packs = select(load_packs(extra_packs, builtin=builtin), only, skip)
            resolved = resolve_params(packs, params or {})
            ruleset = cls(packs, resolved, build_program(packs, resolved))
            if folder is not None and key is not None:
                ruleset.engine.prepare()  # so that the entry carries the engine's compiled code
                _cache.store(key, folder, ruleset)
            return ruleset

    @property
    def digest(self) -> str:
        return self.program.digest

    def rule_ids(self) -> list[str]:
        return sorted(self.program.rules)

    def skipped_rules(self) -> list[str]:
        """Rules of the loaded packs that --only/--skip (or a config) left out."""
        return sorted(i for lp in self.packs for i in lp.skipped)

    def notices(self) -> list[str]:
        """What every report must say about this rule set: user packs that derive
        built-in fact types (``extends:``), which can switch built-in rules off."""
        return [f"pack '{pack}' adds its own derivations of the built-in fact type{'s' if len(types) > 1 else ''} "
                f"{', '.join(types)} (extends:): built-in rules that look for the absence of "
                f"{'these facts' if len(types) > 1 else 'this fact'} may not fire"
                for pack, types in sorted(self.program.core_extensions.items())]

    def pack_versions(self) -> dict[str, str]:
        return {lp.pack.pack: lp.pack.version for lp in self.packs}


@dataclass(frozen=True)
class AuditResult:
    """One map audited with one rule set: its findings (sorted), how they were derived,
    and, once waivers were applied, what they did."""

    loaded: LoadedMap
    ruleset: RuleSet
    findings: tuple[Finding, ...]
    evaluation: Evaluation = field(repr=False, compare=False)
    seconds: float = 0.0
    waivers: "WaiverReport | None" = None
    other_map_waivers: tuple["Waiver", ...] = field(default=(), repr=False)  # waivers of the file for other maps

    @property
    def map_id(self) -> str:
        return self.loaded.map.id

    @property
    def version(self) -> str:
        return self.loaded.map.version

    def summary(self) -> dict[str, int]:
        return summarize(self.findings)

    def with_findings(self, findings: Sequence[Finding]) -> "AuditResult":
        return replace(self, findings=tuple(findings))


def audit(loaded: LoadedMap, ruleset: RuleSet, limits: Limits = DEFAULT, workers: int = 1) -> AuditResult:
    """Audit one loaded (already validated) map; a large map may use up to ``workers``
    processes for its engine run (see ``Engine.evaluate``), with the same result."""
    start = time.perf_counter()
    with _gc.paused():
        with phase("facts"):
            facts = list(base_facts(loaded.map, ruleset.program.read_types()))
        with phase("engine"):
            ev = ruleset.engine.evaluate(facts, limits=limits, workers=workers)
        with phase("findings"):
            findings = build_findings(ruleset.program, ev, loaded.map.id, loaded.location_of)
    return AuditResult(loaded, ruleset, tuple(findings), ev, time.perf_counter() - start)


def audit_file(path: str | Path, ruleset: RuleSet) -> AuditResult:
    return audit(load_map(path), ruleset)


def run_audits(maps: Sequence[str | Path], ruleset: RuleSet, waivers: str | Path | None = None,
               use_waivers: bool = True, today: _dt.date | None = None,
               max_waiver_days: int | None = None, limits: Limits = DEFAULT,
               on_done: Callable[[AuditResult], None] | None = None,
               across_maps: bool = True, workers: int = 1) -> list[AuditResult]:
    """Load and validate every map, then audit each and apply its waivers.

    ``waivers`` names the waiver file (default: ``audit-waivers.yaml`` beside each map,
    if present); ``use_waivers=False`` leaves every finding unwaived. ``on_done`` is called
    with each result as it is ready; ``workers`` is handed to :func:`audit`. (Many maps in
    parallel processes: ``batch.audit_maps``.)
    """
    from .waivers import MAX_LIFETIME_DAYS, apply_waivers, with_map_mismatches

    loaded = [load_map(m, limits) for m in maps]  # every map valid before anything runs
    out = []
    for lm in loaded:
        try:
            result = audit(lm, ruleset, limits, workers)
        except MemoryError:
            raise CapacityError.out_of_memory() from None
        if use_waivers:
            with phase("waivers"):
                result = apply_waivers(result, waivers, today=today, max_lifetime_days=MAX_LIFETIME_DAYS
                                       if max_waiver_days is None else max_waiver_days)
        out.append(result)
        if on_done is not None:
            on_done(result)
    # a waiver naming none of the maps audited together is stale (a worker of batch.audit_maps,
    # which sees one map, leaves that to its parent: across_maps=False)
    return with_map_mismatches(out, today) if use_waivers and across_maps else out
