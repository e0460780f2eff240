"""The findings diff of two versions of one map (``audit-engine diff``): table, JSON, Markdown.

With ``options.changed_only`` the unchanged findings are left out (the table says how
many; JSON keeps ``"unchanged": []`` and its count in ``summary`` and sets
``"unchanged_omitted": true``). The CLI's table leaves them out unless asked.
"""

from __future__ import annotations

from typing import Any

from ..diff import FindingsDiff
from ..findings import Finding
from ..rulechange import MAP, RULE_ADDED, RULE_CHANGED, RULE_REMOVED, RULE_RETIRED, RULE_SET_CHANGED
from . import _table
from ._options import RenderOptions
from ._text import dump_json, one_line
from .markdown import esc

COLUMNS = (_table.Column("change"), _table.Column("severity"), _table.Column("rule"), _table.Column("subject"),
           _table.Column("message", wrap=True))
_STYLE = {"new": "red", "reopened": "red", "resolved": "green", "unchanged": None}


_CAUSE = {RULE_ADDED: "rule added", RULE_REMOVED: "rule not run", RULE_RETIRED: "rule retired",
          RULE_CHANGED: "rule changed", RULE_SET_CHANGED: "rule set changed"}


def _cause(d: FindingsDiff, f: Finding) -> str:
    """`` (rule retired)`` when the change of rules, not the map, explains a new or resolved finding."""
    cause = d.cause(f)
    return "" if cause == MAP else f" ({_CAUSE.get(cause, cause)})"


def _rules_line(d: FindingsDiff) -> list[str]:
    r = d.rules
    if not r.changed:
        return []
    if not r.known:
        return ["the two versions were audited with different rule sets (an old run recorded no rule digests): "
                "new and resolved findings may come from the rules, not the map"]
    parts = [f"{label}: {', '.join(ids)}" for label, ids in
             (("added", r.added), ("changed", r.modified),
              ("retired", [f"{i} (replaced by {', '.join(r.retired[i]) or 'nothing'})" for i in r.removed
                           if i in r.retired]),
              ("not run", [i for i in r.removed if i not in r.retired])) if ids]
    return [f"the rule set changed between the two runs ({'; '.join(parts)}); "
            f"{len(d.by_rules(d.new))} new and {len(d.by_rules(d.resolved))} resolved findings come from that"]


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
    lines += [f"_{esc(text)}._" for text in _rules_line(d)] + ([""] if d.rules.changed else [])
    sections = [("New", d.new), ("Resolved", d.resolved)] + ([] if options.changed_only else [("Unchanged", d.unchanged)])
    for title, items in sections:
        if not items:
            continue
        lines += [f"### {title}", "", "| severity | rule | subject | message |", "|---|---|---|---|"]
        for f in items:
            tag = (" (reopened)" if f.fingerprint in d.reopened else "") + (_cause(d, f) if title != "Unchanged" else "")
            lines.append(f"| {_severity(f)} | {esc(f.rule_id)} | {esc(f.subject)}{tag} | {esc(f.message)} |")
        lines.append("")
    if options.changed_only and d.unchanged:
        lines += [f"_{len(d.unchanged)} unchanged findings not listed._", ""]
    return "\n".join(lines)


def render_table(d: FindingsDiff, options: RenderOptions) -> str:
    out = [one_line(f"map {d.map_id}: {d.old_version} -> {d.new_version}: {_counts(d)}")]
    out += [one_line(text) for text in _rules_line(d)]
    rows = []
    groups = [("new", d.new), ("resolved", d.resolved)] + ([] if options.changed_only else [("unchanged", d.unchanged)])
    for label, items in groups:
        for f in items:
            tag = "reopened" if f.fingerprint in d.reopened else label
            why = _cause(d, f) if label != "unchanged" else ""
            rows.append([(tag + why, _STYLE[tag]), (_severity(f), f.severity), f.rule_id, f.subject, f.message])
    if rows:
        out += _table.render(COLUMNS, rows, options.width, options.color)
    if options.changed_only and d.unchanged:
        out.append(f"{len(d.unchanged)} unchanged finding{'s' if len(d.unchanged) != 1 else ''} not shown "
                   "(--with-unchanged lists them)")
    return "\n".join(out) + "\n"
