"""`audit-engine diff OLD NEW`: two map files, or stored versions `MAP_ID@VERSION`."""

from __future__ import annotations

import os

import click

from . import cli
from ._common import Choice, ruleset_options, write_output


def _side(arg: str, ruleset, db: str | None, config):
    """(map id, version, findings) of a map file (its waivers applied), or of a stored version."""
    if os.path.exists(arg) or "@" not in arg:
        from ..audit import run_audits

        [result] = run_audits([arg], ruleset, config.waivers_path(), limits=config.limits_obj(),
                          max_waiver_days=config.waiver_max_days)
        return result.map_id, result.version, list(result.findings)
    from ..store import open_store
    from ._audit import default_db

    map_id, _, version = arg.partition("@")
    store = open_store(db or default_db(), create=False)
    return map_id, version, store.version_findings(map_id, version)


@cli.command()
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=Choice(["table", "json", "markdown"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False))
@click.option("--db", help="Findings store, for MAP_ID@VERSION arguments.")
@ruleset_options
def diff(old: str, new: str, fmt: str, output: str | None, db: str | None, ruleset, config) -> None:
    """Compare the findings of two versions of one map (files or MAP_ID@VERSION)."""
    from .. import diff as d
    from ..errors import UsageError

    old_id, old_v, old_f = _side(old, ruleset, db, config)
    new_id, new_v, new_f = _side(new, ruleset, db, config)
    if old_id != new_id:
        raise UsageError(f"these are two different maps ('{old_id}' and '{new_id}'); a diff compares versions of one map")
    stored = [arg for arg in (old, new) if "@" in arg and not os.path.exists(arg)]
    rules = None
    if len(stored) == 2:  # two stored runs: their rule sets may differ
        from ..rulechange import retired_rules
        from ..store import open_store
        from ._audit import default_db

        with open_store(db or default_db(), create=False) as store:
            rules = store.rule_change(new_id, old_v, new_v, retired_rules(ruleset.packs))
    result = d.diff_findings(new_id, old_v, old_f, new_v, new_f, **({"rules": rules} if rules else {}))
    if "@" in new and not os.path.exists(new):
        from ..store import open_store
        from ._audit import default_db

        with open_store(db or default_db(), create=False) as store:
            result.reopened = store.reopened(new_id, old_v, new_v, [f.fingerprint for f in result.new])
    text = {"json": d.render_json, "markdown": d.render_markdown, "table": d.render_table}[fmt](result)
    write_output(text, output)
