"""audit-engine: rule-based compliance and patient-safety audits of healthcare journey maps.

The pipeline, one module per step::

    load_map (loader)  ->  validate  ->  base_facts (facts)  ->  RuleSet / evaluate (packs, engine)
        ->  Finding (findings)  ->  open_store (store)  ->  render (report)

Typical use::

    from audit_engine import RuleSet, audit, load_map
    result = audit(load_map("maps/portal.yaml"), RuleSet.load(params={"max_auto_logoff_minutes": 30}))
    for finding in result.findings:
        print(finding.severity, finding.rule_id, finding.subject, finding.message)
"""

from __future__ import annotations

from typing import Any

from .version import VERSION as __version__

# Names resolve lazily so that `import audit_engine` (and the CLI) stays fast.
_EXPORTS: dict[str, str] = {
    "AuditResult": "audit",
    "RuleSet": "audit",
    "audit": "audit",
    "audit_file": "audit",
    "run_audits": "audit",
    "WaiverReport": "waivers",
    "Severity": "severity",
    "SEVERITIES": "severity",
    "load_map": "loader",
    "load_map_text": "loader",
    "LoadedMap": "loader",
    "JourneyMap": "model",
    "map_json_schema": "model",
    "Finding": "findings",
    "fingerprint": "findings",
    "diff_findings": "diff",
    "FindingsDiff": "diff",
    "apply_waivers": "waivers",
    "evaluate_gate": "gate",
    "load_policy": "gate",
    "open_store": "store",
    "record_results": "store",
    "explain": "explain",
    "checklist": "checklist",
    "AuditEngineError": "errors",
    "InputError": "errors",
    "MapError": "errors",
    "PackError": "errors",
    "ConfigError": "errors",
    "UsageError": "errors",
    "EngineError": "errors",
    "CapacityError": "errors",
    "StoreError": "errors",
    "Diagnostic": "errors",
    "Location": "errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'audit_engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
