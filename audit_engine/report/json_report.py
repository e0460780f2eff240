"""The JSON report of the output contract (``--format json``)."""

from __future__ import annotations

from typing import Any, Sequence

from ..audit import ENGINE_VERSION, AuditResult
from ..facts import journey_content
from ..findings import summarize
from ._options import RenderOptions, RunInfo
from ._text import dump_json


def run_object(result: AuditResult, info: RunInfo | None = None) -> dict[str, Any]:
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
        **({"journey": journey} if (journey := journey_of(result)) else {}),
        **({"waivers": result.waivers.to_dict()} if result.waivers else {}),
        **({"invocation": info.to_dict()} if info is not None else {}),
    }


def journey_of(result: AuditResult) -> dict[str, Any]:
    """The map's journey content (format 1.1), for joining findings to the experience: the
    stages with a duration or description, the touchpoints with an emotion, pain points, a
    moment that matters, a duration or a description (empty lists left out)."""
    m = result.loaded.map
    stages = [{"id": s.id, "name": s.name, **({"duration": s.duration} if s.duration else {}),
               **({"description": s.description} if s.description else {})}
              for s in m.stages if s.duration or s.description]
    touchpoints = [{"id": t.id, "name": t.name, "stage": t.stage, "stakeholder": t.stakeholder, **content}
                   for t in m.touchpoints if (content := journey_content(t))]
    return {k: v for k, v in (("stages", stages), ("touchpoints", touchpoints)) if v}


def render(results: Sequence[AuditResult], options: RenderOptions) -> str:
    """One run object, or ``{"runs": [...]}`` for several maps; each with its ``invocation``
    (config file, skipped rules, changed parameters, threshold) when the CLI ran it."""
    if len(results) == 1:
        doc: Any = run_object(results[0], options.run_info)
    else:
        doc = {"runs": [run_object(r, options.run_info) for r in results]}
    return dump_json(doc)
