"""What every renderer is given besides its data: :class:`RenderOptions`, and the
:class:`RunInfo` of the run being reported (which configuration, which rules were
skipped, which parameters and threshold), so that no setting changes a run silently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import RuleSet
    from ..gate import GateOutcome
    from .history import History


@dataclass(frozen=True)
class RunInfo:
    """How a run was configured, as every report format shows it."""

    config_file: str | None = None  # the run configuration used, if any
    skipped_rules: tuple[str, ...] = ()  # left out by --only/--skip or the configuration
    params: Mapping[str, object] = field(default_factory=dict)  # parameters that differ from the packs' defaults
    fail_on: str = "high"
    fail_on_from: str = "default"  # "--fail-on", "config FILE", "policy FILE" or "default"
    notices: tuple[str, ...] = ()  # user packs that extend built-in fact types (RuleSet.notices)

    @classmethod
    def of(cls, ruleset: "RuleSet", config_file: str | None, fail_on: str, fail_on_from: str) -> "RunInfo":
        defaults = {name: p.default for lp in ruleset.packs for name, p in lp.pack.parameters.items()}
        changed = {k: v for k, v in sorted(ruleset.params.items()) if k in defaults and defaults[k] != v}
        return cls(config_file, tuple(ruleset.skipped_rules()), changed, fail_on, fail_on_from,
                   tuple(ruleset.notices()))

    def noteworthy(self) -> bool:
        """Does anything here change what a plain run would report?"""
        return bool(self.config_file or self.skipped_rules or self.params or self.notices)

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config_file, "skipped_rules": list(self.skipped_rules), "params": dict(self.params),
                "fail_on": self.fail_on, "fail_on_from": self.fail_on_from, "notices": list(self.notices)}

    def summary(self) -> str:
        """One line: ``config maps/audit-engine.yaml; skipped rules: CLIN-003; params: a=30; fail on none (config ...)``."""
        parts = [f"config {self.config_file}" if self.config_file else "no config file"]
        if self.skipped_rules:
            parts.append("skipped rules: " + ", ".join(self.skipped_rules))
        if self.params:
            parts.append("params: " + ", ".join(f"{k}={v}" for k, v in self.params.items()))
        parts.append(f"fail on {self.fail_on} (from {self.fail_on_from})")
        parts.extend(self.notices)
        return "; ".join(parts)


@dataclass(frozen=True)
class RenderOptions:
    """Everything a renderer may need besides its data; each uses what applies to it."""

    fail_on: str = "high"  # the threshold findings are reported against
    width: int = 100  # tables: the width to fit (the terminal's)
    color: bool = False  # tables: ANSI colour (only when writing to a terminal)
    run_info: RunInfo | None = None  # audit and gate reports: how the run was configured
    gates: Sequence["GateOutcome | None"] = ()  # audit markdown/html: one per result
    history: Sequence["History | None"] = ()  # html: the stored versions, one per result
    link_base: str = ""  # markdown: prefix of the links to map lines
    title: str | None = None  # html: the page title
    changed_only: bool = False  # diff: leave unchanged findings out
    verbose: bool = False  # rules test: list passing examples too
