"""The terminal table of an audit (``--format table``), grouped by severity.

Per map: a heading, how the run was configured when that changes anything (config file,
skipped rules, parameters), the findings (waived ones marked ``[waived]``, those whose
waiver expired ``[waiver expired DATE]``), a summary line, and the waivers that expired
or went stale.
"""

from __future__ import annotations

from typing import Sequence

from ..audit import AuditResult
from ..findings import SEVERITY_ORDER, Finding, summarize
from . import _table
from ._options import RenderOptions, RunInfo
from ._text import one_line, paint

COLUMNS = (_table.Column("severity"), _table.Column("rule"), _table.Column("subject"),
           _table.Column("message", wrap=True), _table.Column("line", align="right"))


def marker(f: Finding) -> str:
    """`` [waived]``, `` [waiver expired 2026-01-01]`` or nothing."""
    if f.waived:
        return " [waived]"
    if f.waiver and f.waiver.get("expired"):
        return f" [waiver expired {f.waiver.get('expires')}]"
    return ""


def findings_lines(findings: Sequence[Finding], options: RenderOptions) -> list[str]:
    rows: list[Sequence[_table.Cell] | None] = []
    previous = None
    for f in sorted(findings, key=Finding.sort_key):
        if previous is not None and f.severity != previous:
            rows.append(None)  # one group per severity
        previous = f.severity
        rows.append([(f.severity, "dim" if f.waived else f.severity), f.rule_id, f.subject, f.message + marker(f),
                     str(f.location.line)])
    return _table.render(COLUMNS, rows, options.width, options.color)


def summary_line(findings: Sequence[Finding]) -> str:
    s = summarize(findings)
    parts = [f"{s[k]} {k}" for k in SEVERITY_ORDER if s[k]]
    waived = sum(1 for f in findings if f.waived)
    if not findings:
        return "no findings"
    text = f"{s['total']} open finding{'s' if s['total'] != 1 else ''}" + (f" ({', '.join(parts)})" if parts else "")
    return text + (f"; {waived} waived" if waived else "")


def waiver_lines(result: AuditResult) -> list[str]:
    """The waivers that need attention: expired (the finding counts again) and stale."""
    rep = result.waivers
    if rep is None:
        return []
    out = [f"expired waiver: {e.rule_id} {e.subject or e.fingerprint} (owner {e.owner}, expired {e.expires}, "
           f"{rep.file}:{e.line}): the finding counts again" for e in rep.expired]
    out += [f"stale waiver: {e.rule_id} {e.subject or e.fingerprint} (owner {e.owner}, {rep.file}:{e.line}) "
            f"{e.note or 'matches no finding'}; remove it" for e in rep.stale]
    return [one_line(line) for line in out]


def run_line(info: RunInfo | None) -> list[str]:
    return [one_line(info.summary())] if info is not None and info.noteworthy() else []


def render(results: Sequence[AuditResult], options: RenderOptions) -> str:
    out: list[str] = []
    for r in results:
        out.append(paint(one_line(f"{r.loaded.file}: map {r.map_id} version {r.version}"), "bold", options.color))
        out += run_line(options.run_info)
        if r.findings:
            out += findings_lines(r.findings, options)
        out.append(summary_line(r.findings))
        out += waiver_lines(r)
        out.append("")
    return "\n".join(out) + "\n"
