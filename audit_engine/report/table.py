"""Terminal tables (rich), grouped by severity. Returns text; the CLI prints it."""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..audit import AuditResult
from ..findings import SEVERITY_ORDER, Finding, summarize

STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _console(width: int | None, color: bool) -> Console:
    return Console(record=True, width=width or 120, force_terminal=color, no_color=not color,
                   color_system="standard" if color else None, file=open("/dev/null", "w"))


def findings_table(findings: Sequence[Finding], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, expand=False, title_justify="left")
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("subject", overflow="fold")
    table.add_column("message", overflow="fold", ratio=1)
    table.add_column("line", justify="right", no_wrap=True)
    previous = None
    for f in sorted(findings, key=Finding.sort_key):
        if previous is not None and f.severity != previous:
            table.add_section()  # one group per severity
        previous = f.severity
        sev = Text(f.severity, style=STYLE[f.severity])
        msg = f.message + (" [waived]" if f.waived else "")
        table.add_row(sev, f.rule_id, f.subject, msg, str(f.location.line))
    return table


def summary_line(findings: Sequence[Finding]) -> str:
    s = summarize(findings)
    parts = [f"{s[k]} {k}" for k in SEVERITY_ORDER if s[k]]
    waived = sum(1 for f in findings if f.waived)
    if not findings:
        return "no findings"
    text = f"{s['total']} open finding{'s' if s['total'] != 1 else ''}" + (f" ({', '.join(parts)})" if parts else "")
    return text + (f"; {waived} waived" if waived else "")


def render(results: Sequence[AuditResult], width: int | None = None, color: bool = False) -> str:
    console = _console(width, color)
    for r in results:
        console.print(Text(f"{r.loaded.file}: map {r.map_id} version {r.version}", style="bold"))
        if r.findings:
            console.print(findings_table(r.findings))
        console.print(summary_line(r.findings))
        console.print()
    return console.export_text(styles=color)
