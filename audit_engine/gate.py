"""Release gates: a policy file decides whether an audited map version may ship.

```yaml
fail_on: critical            # any unwaived finding at or above this severity fails
max_new: {high: 0}           # at most this many unwaived new findings (vs baseline) per severity and above
max_total: {medium: 10}      # at most this many unwaived findings per severity and above
expired_waivers: fail        # fail | warn: a waiver past its expiry no longer applies
```

Every key is optional. "At or above" a severity means that severity and every more
severe one: ``max_new: {high: 0}`` counts new unwaived critical and high findings. A
finding is new when its fingerprint is not among the baseline's findings; without a
baseline every finding is new. Waived findings never fail a gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from . import _yaml
from . import severity as _sev
from .errors import ConfigError, Diagnostic, did_you_mean
from .findings import SEVERITY_ORDER, Finding

if TYPE_CHECKING:  # pragma: no cover
    from .packs.program import Program
    from .audit import AuditResult

Severity = Literal["critical", "high", "medium", "low", "info"]
Limit = Annotated[StrictInt, Field(ge=0)]
MAX_LISTED = 10


class GatePolicy(BaseModel):
    """A release-gate policy; see the module docstring."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    fail_on: Literal["critical", "high", "medium", "low", "info", "none"] | None = None
    max_new: dict[Severity, Limit] = Field(default_factory=dict)
    max_total: dict[Severity, Limit] = Field(default_factory=dict)
    expired_waivers: Literal["fail", "warn"] = "warn"

    def is_empty(self) -> bool:
        return (self.fail_on in (None, "none") and not self.max_new and not self.max_total
                and self.expired_waivers == "warn")


@dataclass
class GateOutcome:
    passed: bool
    failures: list[str]
    warnings: list[str]
    new: list[Finding]
    map_id: str = ""
    version: str = ""
    file: str = ""
    baseline: str | None = None
    policy: GatePolicy | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "map": {"id": self.map_id, "version": self.version, "file": self.file},
            "baseline": self.baseline,
            "passed": self.passed,
            "failures": list(self.failures),
            "warnings": list(self.warnings),
            "new": [f.to_dict() for f in self.new],
            "policy": self.policy.model_dump(exclude_none=True) if self.policy else None,
        }


# --------------------------------------------------------------------------- policy file

_KEYS = ("fail_on", "max_new", "max_total", "expired_waivers")
_SEVERITIES = list(SEVERITY_ORDER)


def _message(doc: _yaml.Document, e: dict[str, Any]) -> Diagnostic:
    loc = tuple(x for x in e["loc"] if x != "[key]")
    is_key = "[key]" in e["loc"]
    where = doc.key_position(loc) if is_key else doc.position(loc)
    name = _yaml.path_str(loc) or "policy"
    if e["type"] == "extra_forbidden":
        hints = did_you_mean(str(loc[-1]), _KEYS)
        hint = f" (did you mean '{hints[0]}'?)" if hints else f" (known keys: {', '.join(_KEYS)})"
        return Diagnostic(doc.key_position(loc), f"unknown key '{loc[-1]}'{hint}")
    if is_key:
        hints = did_you_mean(str(loc[-1]), _SEVERITIES)
        hint = f" (did you mean '{hints[0]}'?)" if hints else ""
        return Diagnostic(where, f"{name}: '{loc[-1]}' is not a severity{hint}; use one of {', '.join(_SEVERITIES)}")
    if loc and loc[0] in ("max_new", "max_total") and len(loc) == 2:
        return Diagnostic(where, f"{name}: must be a whole number of findings, 0 or more")
    if loc and loc[0] in ("max_new", "max_total") and len(loc) == 1:
        return Diagnostic(where, f"{name}: must be a mapping of severity to a number, e.g. {{high: 0}}")
    if loc == ("fail_on",):
        return Diagnostic(where, f"fail_on: must be one of {', '.join(_SEVERITIES)}, none; got '{e.get('input')}'")
    if loc == ("expired_waivers",):
        return Diagnostic(where, f"expired_waivers: must be 'fail' or 'warn'; got '{e.get('input')}'")
    return Diagnostic(where, f"{name}: {e['msg']}")


def load_policy(path: str | Path) -> GatePolicy:
    """Read and check a gate policy file; problems raise ConfigError with file, line and column."""
    file = str(path)
    doc = _yaml.read_settings(file, ConfigError)
    if doc is None:
        raise ConfigError("the gate policy file is empty; give at least one of " + ", ".join(_KEYS), file=file)
    if doc.data is None:
        raise ConfigError("the gate policy file holds no settings; give at least one of " + ", ".join(_KEYS),
                          file=file)
    if not isinstance(doc.data, dict):
        raise ConfigError(Diagnostic(doc.start, "a gate policy is a mapping of " + ", ".join(_KEYS)))
    try:
        return GatePolicy.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError([_message(doc, e) for e in exc.errors()]) from None


# --------------------------------------------------------------------------- evaluation


def at_or_above(findings: Sequence[Finding], severity: str) -> list[Finding]:
    """Unwaived findings of ``severity`` or more severe, highest first."""
    limit = SEVERITY_ORDER[severity]
    return sorted((f for f in findings if not f.waived and SEVERITY_ORDER[f.severity] <= limit),
                  key=Finding.sort_key)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _listing(findings: Sequence[Finding]) -> str:
    names = [f"{f.rule_id} {f.subject}" for f in findings[:MAX_LISTED]]
    more = len(findings) - MAX_LISTED
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def evaluate_gate(result: "AuditResult", policy: GatePolicy, baseline_findings: list[Finding] | None,
                  baseline_label: str | None = None) -> GateOutcome:
    """Apply ``policy`` to an audited (and waiver-applied) map against an optional baseline."""
    findings = list(result.findings)
    failures: list[str] = []
    warnings: list[str] = []
    if baseline_findings is None:
        known: set[str] = set()
        warnings.append(f"no baseline version of map {result.map_id} to compare with: every finding counts as new")
    else:
        known = {f.fingerprint for f in baseline_findings}
    new = sorted((f for f in findings if f.fingerprint not in known), key=Finding.sort_key)
    against = f" vs {baseline_label}" if baseline_label else (" (no baseline)" if baseline_findings is None else "")

    if policy.fail_on and policy.fail_on != "none":
        hits = at_or_above(findings, policy.fail_on)
        if hits:
            failures.append(f"{_plural(len(hits), 'unwaived finding')} at {policy.fail_on} or above "
                            f"(fail_on: {policy.fail_on}): {_listing(hits)}")
    for sev, limit in sorted(policy.max_new.items(), key=lambda kv: SEVERITY_ORDER[kv[0]]):
        hits = at_or_above(new, sev)
        if len(hits) > limit:
            failures.append(f"{_plural(len(hits), 'new finding')}{against} at {sev} or above (limit {limit}): "
                            f"{_listing(hits)}")
    for sev, limit in sorted(policy.max_total.items(), key=lambda kv: SEVERITY_ORDER[kv[0]]):
        hits = at_or_above(findings, sev)
        if len(hits) > limit:
            failures.append(f"{_plural(len(hits), 'unwaived finding')} at {sev} or above (limit {limit}): "
                            f"{_listing(hits)}")

    report = result.waivers
    for e in report.expired if report else ():
        text = (f"waiver for {e.rule_id} {e.subject or e.fingerprint} expired on {e.expires} (owner {e.owner}, "
                f"{report.file}:{e.line}); the finding counts again")
        (failures if policy.expired_waivers == "fail" else warnings).append(text)
    for e in report.stale if report else ():
        state = f"expired on {e.expires}" if e.expired else f"expires {e.expires}"
        warnings.append(f"stale waiver for {e.rule_id} {e.subject or e.fingerprint} ({report.file}:{e.line}, "
                        f"{state}): {e.note or 'it matches no finding of this map version'}; remove it")
    if policy.is_empty():
        warnings.append("the gate policy sets no condition, so the gate always passes")
    else:
        blind = cannot_fail(policy, result.ruleset.program)
        if blind:
            warnings.append(blind)
    return GateOutcome(passed=not failures, failures=failures, warnings=warnings, new=new, map_id=result.map_id,
                       version=result.version, file=result.loaded.file, baseline=baseline_label, policy=policy)


def cannot_fail(policy: GatePolicy, program: "Program") -> str | None:
    """Why ``policy`` can never fail with the rules of ``program``, or None."""
    if policy.expired_waivers == "fail":
        return None
    possible = {rule.severity for _, rule in program.rules.values()}
    possible |= {g.severity for grades in program.grades.values() for g in grades}
    thresholds = [s for s in (policy.fail_on, *policy.max_new, *policy.max_total) if s and s != "none"]
    if not thresholds or any(_sev.at_or_above(p, t) for p in possible for t in thresholds):
        return None
    top = _sev.highest(possible)
    lowest = max(thresholds, key=_sev.RANK.__getitem__)
    found = "no rule runs" if top is None else f"the most severe finding the rules of this run can report is {top}"
    return f"the gate cannot fail: it looks for findings at {lowest} or above, and {found} (check --only/--skip)"
