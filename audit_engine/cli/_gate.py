"""`audit-engine gate MAP --policy FILE`: audit a map and apply a release-gate policy."""

from __future__ import annotations

import os

import click

from ..report import formats
from . import cli
from ._common import Choice, default_db, note, ruleset_options, run_info
from ._output import pack_inputs, refuse_overwrite, sqlite_file, terminal_options, write_output


def _baseline(arg: str | None, map_id: str, version: str, db: str, no_store: bool):
    """(label, findings) of the baseline, or (None, None) when there is none."""
    from ..errors import UsageError
    from ..store import open_store

    if arg is not None:
        base_id, sep, label = arg.partition("@")
        if not sep or not base_id or not label:
            raise UsageError(f"--baseline takes MAP_ID@VERSION, e.g. {map_id}@1.0.0; got '{arg}'")
        if base_id != map_id:
            raise UsageError(f"the baseline '{arg}' is another map than '{map_id}'; "
                             "a gate compares versions of one map")
        with open_store(db, create=False) as store:
            return label, store.version_findings(map_id, label)
    if no_store:
        # Do not create a store just to find it empty: --no-store leaves no file behind.
        from ..store.engine import parse_url, sqlite_path

        path = sqlite_path(parse_url(db))
        if path is not None and not os.path.exists(path):
            return None, None
    with open_store(db, create=True) as store:
        label = store.baseline_version(map_id, exclude_version=version)
        if label is None:
            return None, None
        return label, store.version_findings(map_id, label)


@cli.command()
@click.argument("map_file", metavar="MAP", type=click.Path(dir_okay=False))
@click.option("--policy", "policy_file", required=True, type=click.Path(dir_okay=False),
              help="Gate policy file (fail_on, max_new, max_total, expired_waivers).")
@click.option("--baseline", metavar="MAP_ID@VERSION",
              help="Compare with this stored version [default: the latest stored version other than this one].")
@click.option("--waivers", "waivers_file", type=click.Path(dir_okay=False),
              help="Waiver file (default: audit-waivers.yaml beside the map, if present).")
@click.option("--db", help="SQLAlchemy URL of the findings store "
                           "[default: $AUDIT_ENGINE_DB or sqlite:///audit-engine.db].")
@click.option("--no-store", is_flag=True, help="Do not record this run in the findings store.")
@click.option("--format", "fmt", type=Choice(formats("gate")), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
@ruleset_options
def gate(map_file: str, policy_file: str, baseline: str | None, waivers_file: str | None, db: str | None,
         no_store: bool, fmt: str, output: str | None, ruleset, config) -> None:
    """Audit MAP and apply a release-gate policy.

    The report is written first; the run is recorded only once it is out.
    Exit status: 0 the gate passed, 1 it failed (every failed condition is printed), 2 could not run.
    """
    from dataclasses import replace

    from ..audit import run_audits
    from ..gate import evaluate_gate, load_policy
    from ..report import render
    from ..report.gate import GateReport
    from ..waivers import default_waiver_file

    db = db or default_db()
    waivers = waivers_file or config.waivers_path()
    refuse_overwrite(output, [("map", map_file), ("gate policy", policy_file), ("configuration", config.file),
                              ("waiver file", str(waivers or default_waiver_file(map_file) or "")),
                              *pack_inputs(ruleset), ("findings store", sqlite_file(db))])
    policy = load_policy(policy_file)
    fail_on = policy.fail_on or config.fail_on or "high"
    info = run_info(ruleset, config, fail_on, False, policy_file, policy_sets=policy.fail_on is not None)
    [result] = run_audits([map_file], ruleset, waivers, limits=config.limits_obj(),
                          max_waiver_days=config.waiver_max_days)
    label, base_findings = _baseline(baseline, result.map_id, result.version, db, no_store)
    outcome = evaluate_gate(result, policy, base_findings, label)
    options = terminal_options(fmt, output, fail_on=fail_on, run_info=info)
    if fmt == "html" and not no_store:
        from ..report.history import read_histories

        options = replace(options, history=read_histories(db, [result]))
    write_output(render("gate", fmt, GateReport([result], [outcome]), options), output)
    if not no_store:
        from ..store import record_results

        for warning in record_results(db, [result]).warnings:
            note(f"warning: {warning}")
    if not outcome.passed:
        raise SystemExit(1)
