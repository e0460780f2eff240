"""`audit-engine audit MAP...`"""

from __future__ import annotations

import os

import click

from . import cli
from ._common import Choice, fail_on_option, ruleset_options, threshold_reached, write_output
from ._perf import jobs_option, maps_argument, phase, progress, timings_option

FORMATS = ["table", "json", "sarif", "junit", "markdown", "html"]


def default_db() -> str:
    return os.environ.get("AUDIT_ENGINE_DB") or "sqlite:///audit-engine.db"


def render(fmt: str, results: list, fail_on: str, color: bool = False, **options) -> str:
    if fmt == "json":
        from ..report import json_report

        return json_report.render(results)
    if fmt == "table":
        from ..report import table

        return table.render(results, color=color)
    from ..report import render_format

    return render_format(fmt, results, fail_on=fail_on, **options)


@cli.command()
@maps_argument
@click.option("--format", "fmt", type=Choice(FORMATS), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
@fail_on_option(default=None)
@click.option("--db", help="SQLAlchemy URL of the findings store [default: $AUDIT_ENGINE_DB or sqlite:///audit-engine.db].")
@click.option("--no-store", is_flag=True, help="Do not record this run in the findings store.")
@click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False),
              help="Waiver file (default: audit-waivers.yaml beside the map, if present).")
@jobs_option
@ruleset_options
@timings_option
def audit(maps: tuple[str, ...], fmt: str, output: str | None, fail_on: str | None, db: str | None,
          no_store: bool, waivers_file: str | None, jobs: int, ruleset, config) -> None:
    """Audit journey maps and report findings.

    MAPS are map files, folders (every journey map in them) or quoted globs ("maps/**/*.yaml").

    Exit status: 0 nothing at or above --fail-on, 1 findings at or above it, 2 could not run.
    """
    from ..batch import audit_maps

    fail_on = fail_on or config.fail_on or "high"
    with progress(len(maps)) as bar:
        results = audit_maps(maps, ruleset, jobs, waivers_file or config.waivers_path(), progress=bar.advance)
    options = {}
    if not no_store:
        with phase("store"):
            from ..store import record_results

            stored = record_results(db or default_db(), results)
        for note in stored.warnings:
            click.echo(f"warning: {note}", err=True)
        if fmt == "html":  # the page's diff and trend: the stored history, this run included
            from ..report.history import read_histories

            options["history"] = read_histories(db or default_db(), results)
    color = fmt == "table" and output is None and click.get_text_stream("stdout").isatty()
    with phase("report"):
        write_output(render(fmt, results, fail_on, color=color, **options), output)
    if any(threshold_reached(r.findings, fail_on) for r in results):
        raise SystemExit(1)
