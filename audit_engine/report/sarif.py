"""SARIF 2.1.0 (``--format sarif``): one run per map, valid against the OASIS schema.

Code-scanning services (GitHub and others) read ``tool.driver.rules`` for rule help,
``properties.security-severity`` (a number written as a string) for the severity they
show, ``partialFingerprints`` to follow a finding across commits, and
``suppressions`` for findings an active waiver covers.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any, Sequence
from urllib.parse import quote

from .._yaml import STDIN_NAME
from ..audit import ENGINE_VERSION, AuditResult
from ..findings import Finding
from ._options import RenderOptions, RunInfo
from ._text import dump_json

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "auditEngine/v1"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def artifact_uri(file: str) -> str:
    """The map file as a URI reference: relative paths stay relative (as given), with '/' separators."""
    p = Path(file)
    if p.is_absolute():
        return p.as_uri()
    posix = PurePosixPath(*p.parts).as_posix() if p.parts else file
    return quote(posix, safe="/:@!$&'()*+,;=-._~")


_PARAM = re.compile(r"\{param\.([a-z][a-z0-9_]*)\}")


def with_params(text: str, params: dict[str, Any]) -> str:
    """A rule's rationale or remediation, whitespace folded, ``{param.name}`` filled in (as ``rules`` shows it)."""
    text = _PARAM.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), text)
    return " ".join(text.split())


def _camel(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


def _rule_descriptor(rule_id: str, pack: Any, rule: Any, params: dict[str, Any]) -> dict[str, Any]:
    rationale = with_params(rule.rationale, params)
    remediation = with_params(rule.remediation, params)
    refs = list(getattr(rule, "references", []) or [])
    text = f"{rationale}\n\nRemediation: {remediation}\n\nCitation: {rule.citation}"
    md = (f"**{rule.title}**\n\n{rationale}\n\n**Remediation:** {remediation}\n\n**Citation:** {rule.citation}")
    if refs:
        text += "\n\nReferences:\n" + "\n".join(f"- {r}" for r in refs)
        md += "\n\n**References:**\n" + "\n".join(f"- {r}" for r in refs)
    desc: dict[str, Any] = {
        "id": rule_id,
        "name": _camel(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rationale},
        "help": {"text": text, "markdown": md},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "severity": rule.severity,
            "tags": ["security", "compliance", pack.pack, rule.severity, *rule.subject_kinds],
            "pack": pack.pack,
            "packVersion": pack.version,
            "basis": rule.basis,
            "citation": rule.citation,
            "citations": [c.model_dump(exclude_none=True) for c in rule.citations],
        },
    }
    urls = [r for r in refs if re.match(r"^https?://\S+$", r)]
    if urls:
        desc["helpUri"] = urls[0]
    return desc


def _result(f: Finding, index: int, uri: str | None, map_id: str) -> dict[str, Any]:
    region = {"startLine": max(1, f.location.line), "startColumn": max(1, f.location.column)}
    where: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}} if uri else {}
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": LEVEL[f.severity],
        "message": {"text": f.message or f.title},
        "locations": [{
            **where,  # a map read from standard input has no file to point at
            "logicalLocations": [{"name": f.subject, "fullyQualifiedName": f"{map_id}/{f.subject_kind or 'entity'}/"
                                                                           f"{f.subject}"}],
        }],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {
            "severity": f.severity,
            "subject": f.subject,
            "subjectKind": f.subject_kind,
            "citation": f.citation,
            "citations": [dict(c) for c in f.citations],
            "evidence": list(f.evidence),
        },
    }
    if f.waived and f.waiver:
        out["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": str(f.waiver.get("reason", "")),
            "properties": {k: f.waiver[k] for k in ("owner", "expires", "file", "line") if k in f.waiver},
        }]
    elif f.waiver and f.waiver.get("expired"):
        out["properties"]["waiverExpired"] = {k: f.waiver[k] for k in ("owner", "expires", "reason") if k in f.waiver}
    return out


def invocation(info: RunInfo | None) -> dict[str, Any]:
    """The run's ``invocations[0]``: it completed, and how it was configured (config file,
    parameters, threshold; skipped rules also as disabled ``ruleConfigurationOverrides``)."""
    out: dict[str, Any] = {"executionSuccessful": True}
    if info is None:
        return out
    if info.skipped_rules:
        out["ruleConfigurationOverrides"] = [{"descriptor": {"id": rid}, "configuration": {"enabled": False}}
                                             for rid in info.skipped_rules]
    out["properties"] = {"config": info.config_file, "skippedRules": list(info.skipped_rules),
                         "params": dict(info.params), "failOn": info.fail_on, "failOnFrom": info.fail_on_from}
    if info.notices:
        out["toolConfigurationNotifications"] = [{"level": "warning", "message": {"text": text}} for text in info.notices]
    return out


def run_object(result: AuditResult, info: RunInfo | None = None) -> dict[str, Any]:
    rules = result.ruleset.program.rules
    ids = sorted(set(rules))
    index = {rid: i for i, rid in enumerate(ids)}
    params = dict(result.ruleset.params)
    descriptors = [_rule_descriptor(rid, *rules[rid], params) for rid in ids]
    uri = None if result.loaded.file == STDIN_NAME else artifact_uri(result.loaded.file)
    results = []
    for f in result.findings:
        if f.rule_id not in index:  # a finding from a rule that is not in the program (should not happen)
            index[f.rule_id] = len(ids)
            ids.append(f.rule_id)
            descriptors.append({"id": f.rule_id, "shortDescription": {"text": f.title or f.rule_id},
                                "properties": {"security-severity": SECURITY_SEVERITY[f.severity]}})
        results.append(_result(f, index[f.rule_id], uri, result.map_id))
    return {
        "tool": {"driver": {
            "name": "audit-engine",
            "version": ENGINE_VERSION,
            "semanticVersion": ENGINE_VERSION,
            "rules": descriptors,
        }},
        "automationDetails": {"id": f"audit-engine/{result.map_id}/"},
        "invocations": [invocation(info)],
        **({"artifacts": [{"location": {"uri": uri}, "roles": ["analysisTarget"]}]} if uri else {}),
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {
            "map": {"id": result.map_id, "version": result.version, "file": result.loaded.file},
            "rulesDigest": result.ruleset.digest,
            "packs": result.ruleset.pack_versions(),
        },
    }


def to_dict(results: Sequence[AuditResult], info: RunInfo | None = None) -> dict[str, Any]:
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run_object(r, info) for r in results]}


def render(results: Sequence[AuditResult], options: RenderOptions) -> str:
    return dump_json(to_dict(results, options.run_info))
