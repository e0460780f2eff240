"""The JSON report of the output contract (``--format json``)."""

from __future__ import annotations

import json
from typing import Any, Sequence

from ..audit import ENGINE_VERSION, AuditResult
from ..findings import summarize


def run_object(result: AuditResult) -> dict[str, Any]:
    findings = result.findings
    summary = summarize(findings)
    waived = sum(1 for f in findings if f.waived)
    return {
        "map": {"id": result.map_id, "version": result.version, "file": result.loaded.file},
        "summary": {**summary, "waived": waived},
        "findings": [f.to_dict() for f in findings],
        "engine": {
            "version": ENGINE_VERSION,
            "rules_digest": result.ruleset.digest,
            "packs": result.ruleset.pack_versions(),
            "params": dict(result.ruleset.params),
        },
        **({"waivers": result.waivers.to_dict()} if result.waivers else {}),
    }


def render(results: Sequence[AuditResult]) -> str:
    if len(results) == 1:
        doc: Any = run_object(results[0])
    else:
        doc = {"runs": [run_object(r) for r in results]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
