"""`audit-engine history` and `audit-engine trend` (findings store)."""

from __future__ import annotations

import json
from typing import Any

import click

from . import cli
from ._common import Choice, write_output

SEVERITIES = ["critical", "high", "medium", "low", "info"]
COLORS = {"critical": "#8b0000", "high": "#d62728", "medium": "#ff9f1c", "low": "#1f77b4", "info": "#9e9e9e"}


def _open(db: str | None):
    from ..store import open_store
    from ._audit import default_db

    return open_store(db or default_db(), create=False)


def _console():
    from rich.console import Console

    return Console(record=True, width=140, no_color=True, color_system=None, file=open("/dev/null", "w"))


def _when(iso: str) -> str:
    return iso[:19].replace("T", " ")


def history_table(rows: list[dict[str, Any]]) -> str:
    from rich.table import Table

    console = _console()
    if not rows:
        console.print("no audits stored yet")
        return console.export_text()
    table = Table(title_justify="left")
    for name in ("map", "version", "audited (UTC)", "runs", "content", "rules", *SEVERITIES, "total", "waived"):
        numeric = name in (*SEVERITIES, "total", "waived", "runs")
        table.add_column(name, justify="right" if numeric else "left", no_wrap=name != "map", overflow="fold")
    for r in rows:
        table.add_row(r["map"], r["version"], _when(r["audited_at"]), str(r["runs"]), r["content_hash"][:8],
                      r["ruleset_digest"][:8], *(str(r[s]) for s in SEVERITIES), str(r["total"]), str(r["waived"]))
    console.print(table)
    return console.export_text()


def trend_table(data: dict[str, Any]) -> str:
    from rich.table import Table

    console = _console()
    console.print(f"map {data['map']}: {len(data['versions'])} stored version(s), oldest first; unwaived findings")
    table = Table()
    for name in ("version", "audited (UTC)", *SEVERITIES, "total", "new", "resolved"):
        table.add_column(name, justify="left" if name in ("version", "audited (UTC)") else "right",
                         no_wrap=name != "version", overflow="fold")
    for v in data["versions"]:
        table.add_row(v["version"], _when(v["audited_at"]), *(str(v[s]) for s in SEVERITIES),
                      str(v["total"]), f"+{v['new']}", f"-{v['resolved']}")
    console.print(table)
    return console.export_text()


def trend_chart(data: dict[str, Any], fmt: str, output: str) -> None:
    """Stacked bars of unwaived findings per severity and version (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    versions = [v["version"] for v in data["versions"]]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(versions) + 2), 4.5))
    try:
        bottom = [0] * len(versions)
        for sev in SEVERITIES:
            vals = [v[sev] for v in data["versions"]]
            ax.bar(versions, vals, bottom=bottom, label=sev, color=COLORS[sev])
            bottom = [b + x for b, x in zip(bottom, vals)]
        for x, total in enumerate(bottom):
            ax.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=9)
        ax.set_title(f"Unwaived findings of {data['map']} per version")
        ax.set_xlabel("version (oldest first)")
        ax.set_ylabel("findings")
        ax.set_ylim(0, max(bottom, default=0) * 1.15 + 1)
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        fig.savefig(output, format=fmt)
    finally:
        plt.close(fig)


@cli.command()
@click.argument("map_id", required=False)
@click.option("--db", help="SQLAlchemy URL of the findings store [default: $AUDIT_ENGINE_DB or sqlite:///audit-engine.db].")
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
def history(map_id: str | None, db: str | None, fmt: str, output: str | None) -> None:
    """List the latest stored run of each map version (of MAP_ID, or of every map)."""
    with _open(db) as store:
        rows = store.history(map_id)
    text = json.dumps({"history": rows}, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else history_table(rows)
    write_output(text, output)


@cli.command()
@click.argument("map_id")
@click.option("--db", help="SQLAlchemy URL of the findings store [default: $AUDIT_ENGINE_DB or sqlite:///audit-engine.db].")
@click.option("--format", "fmt", type=Choice(["table", "json", "png", "svg"]), default="table",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout (required for png/svg).")
def trend(map_id: str, db: str | None, fmt: str, output: str | None) -> None:
    """Findings per stored version of MAP_ID, oldest first, with new and resolved counts."""
    if fmt in ("png", "svg") and not output:
        raise click.UsageError(f"--format {fmt} writes a chart: give the file with -o FILE")
    with _open(db) as store:
        data = store.trend(map_id)
    if fmt in ("png", "svg"):
        assert output is not None
        trend_chart(data, fmt, output)
        click.echo(f"wrote {output}", err=True)
        return
    write_output(json.dumps(data, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else trend_table(data), output)


@cli.command()
@click.argument("map_id", required=False)
@click.option("--keep-runs", type=click.IntRange(min=1), required=True,
              help="Runs to keep per map version (the latest ones).")
@click.option("--db", help="SQLAlchemy URL of the findings store [default: $AUDIT_ENGINE_DB or sqlite:///audit-engine.db].")
@click.option("--dry-run", is_flag=True, help="Only say how many runs would be deleted.")
def prune(map_id: str | None, keep_runs: int, db: str | None, dry_run: bool) -> None:
    """Delete old runs (and their findings), keeping the latest runs of every version."""
    with _open(db) as store:
        out = store.prune(map_id, keep_runs, dry_run=dry_run)
    scope = f"map {map_id}" if map_id else "all maps"
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {out.runs} run{'s' if out.runs != 1 else ''} and {out.findings} finding"
               f"{'s' if out.findings != 1 else ''} of {scope}; kept the latest {keep_runs} of each version")
