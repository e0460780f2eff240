"""`audit-engine diff OLD NEW`: two map files, or stored versions `MAP_ID@VERSION`."""

from __future__ import annotations

import os

import click

from ..report import formats
from . import cli
from ._common import Choice, default_db, note, ruleset_options
from ._output import refuse_overwrite, sqlite_file, terminal_options, write_output


def _stored(arg: str, stored: bool) -> bool:
    """Is ``arg`` a stored version? A file of that name wins unless --stored, and says so."""
    if "@" not in arg:
        return False
    if not os.path.lexists(arg):
        return True
    if not stored:
        note(f"note: '{arg}' is a file, so the file is compared; to compare the stored version "
             f"{arg} instead, add --stored")
    return stored


def _side(arg: str, is_stored: bool, ruleset, db: str, config):
    """(map id, version, findings) of a map file (its waivers applied), or of a stored version."""
    if not is_stored:
        from ..audit import run_audits

        [result] = run_audits([arg], ruleset, config.waivers_path(), limits=config.limits_obj(),
                          max_waiver_days=config.waiver_max_days)
        return result.map_id, result.version, list(result.findings)
    from ..errors import UsageError
    from ..store import open_store

    map_id, _, version = arg.partition("@")
    if not map_id or not version:
        raise UsageError(f"'{arg}' is neither a map file nor MAP_ID@VERSION")
    with open_store(db, create=False) as store:
        return map_id, version, store.version_findings(map_id, version)


@cli.command()
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=Choice(formats("diff")), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@click.option("--db", help="Findings store, for MAP_ID@VERSION arguments.")
@click.option("--changed-only/--with-unchanged", "changed_only", default=None,
              help="Leave unchanged findings out, or list them [default: left out of the table, listed in "
                   "json and markdown].")
@click.option("--stored", is_flag=True,
              help="Read MAP_ID@VERSION arguments from the store even when a file has that name.")
@ruleset_options
def diff(old: str, new: str, fmt: str, output: str | None, db: str | None, changed_only: bool | None,
         stored: bool, ruleset, config) -> None:
    """Compare the findings of two versions of one map (files or MAP_ID@VERSION).

    An argument that names an existing file is that file (a note says so when it also
    looks like MAP_ID@VERSION); otherwise MAP_ID@VERSION is read from the store.
    """
    from dataclasses import replace

    from .. import diff as d
    from ..errors import UsageError
    from ..report import render

    db = db or default_db()
    old_stored, new_stored = _stored(old, stored), _stored(new, stored)
    refuse_overwrite(output, [*(("map", a) for a, s in ((old, old_stored), (new, new_stored)) if not s),
                              ("findings store", sqlite_file(db))])
    old_id, old_v, old_f = _side(old, old_stored, ruleset, db, config)
    new_id, new_v, new_f = _side(new, new_stored, ruleset, db, config)
    if old_id != new_id:
        raise UsageError(f"these are two different maps ('{old_id}' and '{new_id}'); a diff compares versions of one map")
    result = d.diff_findings(new_id, old_v, old_f, new_v, new_f)
    if old_stored or new_stored:  # a stored run's rule set may differ from the other side's; reopened findings
        from ..rulechange import compare, retired_rules
        from ..store import open_store

        now = (ruleset.digest, ruleset.program.rule_digests)  # the rules a map file is audited with
        with open_store(db, create=False) as store:
            before = store.ruleset_of(old_id, old_v) if old_stored else now
            after = store.ruleset_of(new_id, new_v) if new_stored else now
            result = replace(result, rules=compare(*before, *after, retired_rules(ruleset.packs)))
            if old_stored:  # seen in a version stored before OLD, gone in OLD, back in NEW
                result = replace(result, reopened=store.reopened(new_id, old_v, old_v,
                                                                 [f.fingerprint for f in result.new]))
    hide = changed_only if changed_only is not None else fmt == "table"
    write_output(render("diff", fmt, result, terminal_options(fmt, output, changed_only=hide)), output)
