"""The findings diff of two versions of one map (``audit-engine diff``): table, JSON, Markdown.

With ``options.changed_only`` the unchanged findings are left out (the table says how
many; JSON keeps ``"unchanged": []`` and its count in ``summary`` and sets
``"unchanged_omitted": true``). The CLI's table leaves them out unless asked.
"""

from __future__ import annotations

from typing import Any

from ..diff import FindingsDiff
from ..findings import Finding
from . import _table
from ._options import RenderOptions
from ._text import dump_json, one_line
from .markdown import esc

COLUMNS = (_table.Column("change"), _table.Column("severity"), _table.Column("rule"), _table.Column("subject"),
           _table.Column("message", wrap=True))
_STYLE = {"new": "red", "reopened": "red", "resolved": "green", "unchanged": None}


def _counts(d: FindingsDiff) -> str:
    return (f"{len(d.new)} new, {len(d.resolved)} resolved, {len(d.unchanged)} unchanged"
            + (f", {len(d.reopened)} reopened" if d.reopened else ""))


def _severity(f: Finding) -> str:
    return f.severity + (f" (was {f.previous_severity})" if f.previous_severity else "")


def render_json(d: FindingsDiff, options: RenderOptions) -> str:
    doc: dict[str, Any] = d.to_dict()
    if options.changed_only:
        doc["unchanged"] = []
        doc["unchanged_omitted"] = True
    return dump_json(doc)


def render_markdown(d: FindingsDiff, options: RenderOptions) -> str:
    lines = [f"## Findings diff: {esc(d.map_id)} {esc(d.old_version)} → {esc(d.new_version)}", "",
             f"**{len(d.new)} new**, {len(d.resolved)} resolved, {len(d.unchanged)} unchanged"
             + (f", {len(d.reopened)} reopened" if d.reopened else ""), ""]
    sections = [("New", d.new), ("Resolved", d.resolved)] + ([] if options.changed_only else [("Unchanged", d.unchanged)])
    for title, items in sections:
        if not items:
            continue
        lines += [f"### {title}", "", "| severity | rule | subject | message |", "|---|---|---|---|"]
        for f in items:
            tag = " (reopened)" if f.fingerprint in d.reopened else ""
            lines.append(f"| {_severity(f)} | {esc(f.rule_id)} | {esc(f.subject)}{tag} | {esc(f.message)} |")
        lines.append("")
    if options.changed_only and d.unchanged:
        lines += [f"_{len(d.unchanged)} unchanged findings not listed._", ""]
    return "\n".join(lines)


def render_table(d: FindingsDiff, options: RenderOptions) -> str:
    out = [one_line(f"map {d.map_id}: {d.old_version} -> {d.new_version}: {_counts(d)}")]
    rows = []
    groups = [("new", d.new), ("resolved", d.resolved)] + ([] if options.changed_only else [("unchanged", d.unchanged)])
    for label, items in groups:
        for f in items:
            tag = "reopened" if f.fingerprint in d.reopened else label
            rows.append([(tag, _STYLE[tag]), (_severity(f), f.severity), f.rule_id, f.subject, f.message])
    if rows:
        out += _table.render(COLUMNS, rows, options.width, options.color)
    if options.changed_only and d.unchanged:
        out.append(f"{len(d.unchanged)} unchanged finding{'s' if len(d.unchanged) != 1 else ''} not shown "
                   "(--with-unchanged lists them)")
    return "\n".join(out) + "\n"
