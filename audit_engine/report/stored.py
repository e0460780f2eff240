"""What the findings store holds: ``audit-engine history`` (the latest run of every
stored version) and ``audit-engine trend`` (counts per version of one map) as tables
and JSON. Version labels and map ids come from the store and are shown as data."""

from __future__ import annotations

from typing import Any

from ..severity import SEVERITIES
from . import _table
from ._options import RenderOptions
from ._text import dump_json, one_line

_NUMBERS = (*SEVERITIES, "total")


def _when(iso: str) -> str:
    return iso[:19].replace("T", " ")


def render_history_json(rows: list[dict[str, Any]], options: RenderOptions) -> str:
    return dump_json({"history": rows})


def render_history_table(rows: list[dict[str, Any]], options: RenderOptions) -> str:
    if not rows:
        return "no audits stored yet\n"
    columns = [_table.Column("map"), _table.Column("version"), _table.Column("audited (UTC)"),
               _table.Column("runs", "right"), _table.Column("content"), _table.Column("rules"),
               *(_table.Column(n, "right") for n in (*_NUMBERS, "waived"))]
    body = [[r["map"], r["version"], _when(r["audited_at"]), str(r["runs"]), r["content_hash"][:8],
             r["ruleset_digest"][:8], *(str(r[s]) for s in (*_NUMBERS, "waived"))] for r in rows]
    return "\n".join(_table.render(columns, body, options.width, options.color)) + "\n"


def render_trend_json(data: dict[str, Any], options: RenderOptions) -> str:
    return dump_json(data)


def render_trend_table(data: dict[str, Any], options: RenderOptions) -> str:
    head = one_line(f"map {data['map']}: {len(data['versions'])} stored version(s), oldest first; unwaived findings")
    columns = [_table.Column("version"), _table.Column("audited (UTC)"),
               *(_table.Column(n, "right") for n in (*_NUMBERS, "new", "resolved"))]
    body = [[v["version"] + (" *" if v.get("rule_set_changed") else ""), _when(v["audited_at"]),
             *(str(v[s]) for s in _NUMBERS), f"+{v['new']}" + _by_rules(v.get("new_by_rule_set", 0)),
             f"-{v['resolved']}" + _by_rules(v.get("resolved_by_rule_set", 0))] for v in data["versions"]]
    out = [head, *_table.render(columns, body, options.width, options.color)]
    if any(v.get("rule_set_changed") for v in data["versions"]):
        out.append("* audited with another rule set than the version before; (n by rules): new or resolved "
                   "findings that the change of rules explains, not the map")
    return "\n".join(out) + "\n"


def _by_rules(n: int) -> str:
    return f" ({n} by rules)" if n else ""
