"""`audit-engine audit MAP...`"""

from __future__ import annotations

import click

from ..report import formats
from . import cli
from ._common import Choice, default_db, fail_on_option, note, ruleset_options, run_info, threshold_reached
from ._output import pack_inputs, refuse_overwrite, sqlite_file, terminal_options, write_output
from ._perf import jobs_option, maps_argument, phase, progress, timings_option


@cli.command()
@maps_argument
@click.option("--format", "fmt", type=Choice(formats("audit")), default="table", show_default=True)
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

    MAPS are map files, folders (every journey map in them), quoted globs ("maps/**/*.yaml")
    or - (a map on standard input). The report is written first; the run is recorded only
    once it is out.

    Exit status: 0 nothing at or above --fail-on, 1 findings at or above it, 2 could not run.
    """
    from ..batch import audit_maps
    from ..report import render
    from ..waivers import default_waiver_file

    info = run_info(ruleset, config, fail_on or config.fail_on or "high", fail_on is not None)
    db = db or default_db()
    waivers = waivers_file or config.waivers_path()
    refuse_overwrite(output, [*(("map", m) for m in maps), ("configuration", config.file),
                              *(("waiver file", str(waivers or default_waiver_file(m) or "")) for m in maps),
                              *pack_inputs(ruleset), ("findings store", sqlite_file(db))])
    with progress(len(maps)) as bar:
        results = audit_maps(maps, ruleset, jobs, waivers, progress=bar.advance, limits=config.limits_obj(),
                             max_waiver_days=config.waiver_max_days)
    options = terminal_options(fmt, output, fail_on=info.fail_on, run_info=info)
    if fmt == "html" and not no_store:  # the page's diff and trend: the stored history and this run
        from dataclasses import replace

        from ..report.history import read_histories

        options = replace(options, history=read_histories(db, results))
    with phase("report"):
        write_output(render("audit", fmt, results, options), output)
    if not no_store:
        with phase("store"):
            from ..store import record_results

            for warning in record_results(db, results).warnings:
                note(f"warning: {warning}")
    if any(threshold_reached(r.findings, info.fail_on) for r in results):
        raise SystemExit(1)
