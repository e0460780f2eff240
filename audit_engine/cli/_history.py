"""`audit-engine history`, `trend` and `prune` (findings store)."""

from __future__ import annotations

import click

from ..report import formats
from . import cli
from ._common import Choice, default_db, note
from ._output import refuse_overwrite, sqlite_file, terminal_options, write_output

_DB_HELP = "SQLAlchemy URL of the findings store [default: $AUDIT_ENGINE_DB or sqlite:///audit-engine.db]."


def _open(db: str):
    from ..store import open_store

    return open_store(db, create=False)


@cli.command()
@click.argument("map_id", required=False)
@click.option("--db", help=_DB_HELP)
@click.option("--format", "fmt", type=Choice(formats("history")), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
def history(map_id: str | None, db: str | None, fmt: str, output: str | None) -> None:
    """List the latest stored run of each map version (of MAP_ID, or of every map)."""
    from ..report import render

    db = db or default_db()
    refuse_overwrite(output, [("findings store", sqlite_file(db))])
    with _open(db) as store:
        rows = store.history(map_id)
    write_output(render("history", fmt, rows, terminal_options(fmt, output)), output)


@cli.command()
@click.argument("map_id")
@click.option("--db", help=_DB_HELP)
@click.option("--format", "fmt", type=Choice(formats("trend")), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of stdout (required for png/svg).")
def trend(map_id: str, db: str | None, fmt: str, output: str | None) -> None:
    """Findings per stored version of MAP_ID, oldest first, with new and resolved counts."""
    from ..report import render

    if fmt in ("png", "svg") and not output:
        raise click.UsageError(f"--format {fmt} writes a chart: give the file with -o FILE")
    db = db or default_db()
    refuse_overwrite(output, [("findings store", sqlite_file(db))])
    with _open(db) as store:
        data = store.trend(map_id)
    write_output(render("trend", fmt, data, terminal_options(fmt, output)), output)
    if fmt in ("png", "svg"):
        note(f"wrote {output}")


@cli.command()
@click.argument("map_id", required=False)
@click.option("--keep-runs", type=click.IntRange(min=1), required=True,
              help="Runs to keep per map version (the latest ones).")
@click.option("--db", help=_DB_HELP)
@click.option("--dry-run", is_flag=True, help="Only say how many runs would be deleted.")
def prune(map_id: str | None, keep_runs: int, db: str | None, dry_run: bool) -> None:
    """Delete old runs (and their findings), keeping the latest runs of every version."""
    with _open(db or default_db()) as store:
        out = store.prune(map_id, keep_runs, dry_run=dry_run)
    scope = f"map {map_id}" if map_id else "all maps"
    verb, kept = ("would delete", "would keep") if dry_run else ("deleted", "kept")
    click.echo(f"{verb} {out.runs} run{'s' if out.runs != 1 else ''} and {out.findings} finding"
               f"{'s' if out.findings != 1 else ''} of {scope}; {kept} the latest {keep_runs} of each version"
               + ("; nothing was changed" if dry_run else ""))
