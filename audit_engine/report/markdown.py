"""A compact Markdown summary for a pull-request comment (``--format markdown``).

Per map: counts by severity, how many findings are waived, the top findings (at most
ten, highest first) with links to their lines in the map file (``file#L<line>``), the
waivers that expired or went stale and, when a gate outcome is given, whether the gate
passed and what is new since the baseline. Text from maps is escaped so that a map
cannot inject Markdown or HTML into the comment.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence
from urllib.parse import quote

from ..audit import AuditResult
from ..findings import SEVERITY_ORDER, Finding, summarize
from ._options import RenderOptions, RunInfo
from ._text import CONTROL as _CONTROL

if TYPE_CHECKING:  # pragma: no cover
    from ..gate import GateOutcome

TOP = 10
ICON = {"critical": "🟥", "high": "🟧", "medium": "🟨", "low": "🟦", "info": "⬜"}
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def esc(text: object) -> str:
    """Plain text safe inside Markdown (and inside a table cell)."""
    s = " ".join(_CONTROL.sub("\ufffd", str(text)).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", s)


def line_link(file: str, line: int, base: str = "") -> str:
    """``[maps/x.yaml#L42](maps/x.yaml#L42)``; ``base`` (e.g. a blob URL ending in '/') is prefixed to the target."""
    path = file.replace("\\", "/")
    if base and path.startswith("./"):
        path = path[2:]
    target = base + quote(path, safe="/:._-~") + f"#L{line}"
    return f"[{esc(file)}#L{line}]({target})"


def _counts_table(findings: Sequence[Finding]) -> list[str]:
    s = summarize(findings)
    waived = sum(1 for f in findings if f.waived)
    head = "| " + " | ".join(f"{ICON[k]} {k}" for k in SEVERITY_ORDER) + " | total | waived |"
    rule = "|" + "---:|" * (len(SEVERITY_ORDER) + 2)
    row = "| " + " | ".join(str(s[k]) for k in SEVERITY_ORDER) + f" | {s['total']} | {waived} |"
    return [head, rule, row]


def _top(findings: Sequence[Finding], link_base: str, new: set[str] | None) -> list[str]:
    ranked = sorted(findings, key=lambda f: (f.waived, *f.sort_key()))
    shown = ranked[:TOP]
    if not shown:
        return []
    out = ["| severity | rule | subject | finding | where |", "|---|---|---|---|---|"]
    for f in shown:
        flags = []
        if f.waived:
            flags.append("waived")
        elif f.waiver and f.waiver.get("expired"):
            flags.append(f"waiver expired {f.waiver.get('expires')}")
        if new is not None and f.fingerprint in new:
            flags.append("new")
        tag = f" _({esc(', '.join(flags))})_" if flags else ""
        out.append(f"| {ICON[f.severity]} {f.severity} | {esc(f.rule_id)} | {esc(f.subject)} | "
                   f"{esc(f.message)}{tag} | {line_link(f.location.file, f.location.line, link_base)} |")
    if len(ranked) > TOP:
        out.append("")
        out.append(f"…and {len(ranked) - TOP} more.")
    return out


def _waivers(result: AuditResult) -> list[str]:
    rep = result.waivers
    out: list[str] = []
    for e in rep.expired if rep else ():
        out.append(f"- ⚠️ expired waiver: {esc(e.rule_id)} {esc(e.subject or e.fingerprint)} "
                   f"(owner {esc(e.owner)}, expired {esc(e.expires)}) — the finding counts again")
    for e in rep.stale if rep else ():
        out.append(f"- stale waiver: {esc(e.rule_id)} {esc(e.subject or e.fingerprint)} "
                   f"(owner {esc(e.owner)}, line {e.line}) {esc(e.note or 'matches no finding')}; remove it")
    return out


def _gate(outcome: "GateOutcome", link_base: str) -> list[str]:
    verdict = "✅ **Gate passed**" if outcome.passed else "❌ **Gate failed**"
    base = f"baseline {esc(outcome.baseline)}" if outcome.baseline else "no baseline"
    out = [f"{verdict} ({base}; {len(outcome.new)} new finding{'s' if len(outcome.new) != 1 else ''})", ""]
    out.extend(f"- ❌ {esc(t)}" for t in outcome.failures)
    out.extend(f"- ⚠️ {esc(t)}" for t in outcome.warnings)
    if outcome.new:
        out += ["", "<details><summary>New since the baseline</summary>", ""]
        for f in outcome.new[:50]:
            waived = " _(waived)_" if f.waived else ""
            out.append(f"- {ICON[f.severity]} {f.severity} {esc(f.rule_id)} {esc(f.subject)}{waived}: "
                       f"{line_link(f.location.file, f.location.line, link_base)}")
        if len(outcome.new) > 50:
            out.append(f"- …and {len(outcome.new) - 50} more")
        out += ["", "</details>"]
    return out


def _section(result: AuditResult, gate: "GateOutcome | None", level: str, link_base: str) -> list[str]:
    out = [f"{level} {esc(result.map_id)} {esc(result.version)} — `{_CONTROL.sub(chr(0xfffd), result.loaded.file).replace('`', '')}`", ""]
    if gate is not None:
        out += _gate(gate, link_base) + [""]
    out += _counts_table(result.findings) + [""]
    new = {f.fingerprint for f in gate.new} if gate is not None else None
    top = _top(result.findings, link_base, new)
    if top:
        out += [f"**Top findings** (of {len(result.findings)})", ""] + top + [""]
    else:
        out += ["No findings.", ""]
    waivers = _waivers(result)
    if waivers:
        out += ["**Waivers**", ""] + waivers + [""]
    return out


def run_info_line(info: RunInfo | None) -> list[str]:
    """``_Run: config `x.yaml`; skipped rules: ...; fail on none (from config)._`` when anything is configured."""
    if info is None or not info.noteworthy():
        return []
    return [f"_Run: {esc(info.summary())}._", ""]


def render(results: Sequence[AuditResult], options: RenderOptions) -> str:
    fail_on, link_base = options.fail_on, options.link_base
    gates = list(options.gates or [])
    gates += [None] * (len(results) - len(gates))
    lines = ["## audit-engine report", ""] + run_info_line(options.run_info)
    if len(results) > 1:
        total = sum(summarize(r.findings)["total"] for r in results)
        lines += [f"{len(results)} maps, {total} unwaived finding{'s' if total != 1 else ''}.", ""]
    for r, g in zip(results, gates):
        lines += _section(r, g, "###", link_base)
    if fail_on != "none":
        hit = sum(1 for r in results for f in r.findings
                  if not f.waived and SEVERITY_ORDER[f.severity] <= SEVERITY_ORDER[fail_on])
        lines.append(f"_{hit} unwaived finding{'s' if hit != 1 else ''} at {fail_on} or above (fail threshold)._")
    return "\n".join(lines).rstrip() + "\n"
