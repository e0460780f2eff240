"""A standalone HTML page (``--format html``): inline CSS, no scripts, no external assets.

The page is rendered by Jinja2 from ``templates/report.html.j2`` with autoescaping on,
so nothing from a map (names, ids, messages) can inject markup.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..audit import ENGINE_VERSION, AuditResult
from ..findings import SEVERITY_ORDER, Finding, summarize
from .sarif import with_params

if TYPE_CHECKING:  # pragma: no cover
    from ..gate import GateOutcome

TEMPLATES = Path(__file__).parent / "templates"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _finalize(value: Any) -> Any:
    """Control characters from a map are shown as U+FFFD, never written raw into the page."""
    return _CONTROL.sub("\ufffd", value) if isinstance(value, str) else value


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                       finalize=_finalize, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _finding(f: Finding, rules: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    rule = rules.get(f.rule_id, (None, None))[1]
    return {
        "f": f,
        "remediation": with_params(rule.remediation, params) if rule is not None else "",
        "expired": bool(f.waiver and f.waiver.get("expired")),
    }


def _map(result: AuditResult, gate: "GateOutcome | None") -> dict[str, Any]:
    rules = result.ruleset.program.rules
    params = dict(result.ruleset.params)
    groups = []
    for sev in SEVERITY_ORDER:
        items = [_finding(f, rules, params) for f in sorted(result.findings, key=Finding.sort_key) if f.severity == sev]
        if items:
            groups.append({"severity": sev, "items": items})
    return {
        "r": result,
        "summary": summarize(result.findings),
        "waived": sum(1 for f in result.findings if f.waived),
        "groups": groups,
        "waivers": result.waivers.to_dict() if result.waivers else {},
        "gate": gate,
        "new": {f.fingerprint for f in gate.new} if gate is not None else set(),
    }


def render(results: Sequence[AuditResult], fail_on: str = "high",
           gates: Sequence["GateOutcome | None"] | None = None, title: str | None = None) -> str:
    gates = list(gates or [])
    gates += [None] * (len(results) - len(gates))
    maps = [_map(r, g) for r, g in zip(results, gates)]
    if title is None:
        title = "audit-engine report: " + ", ".join(f"{r.map_id} {r.version}" for r in results)
    template = _env().get_template("report.html.j2")
    return template.render(
        title=title, maps=maps, severities=list(SEVERITY_ORDER), fail_on=fail_on, engine_version=ENGINE_VERSION,
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
