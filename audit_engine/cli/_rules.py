"""`rules list|show|test|coverage|doc`, `explain` and `checklist`."""

from __future__ import annotations

import click

from ..report import formats
from . import cli
from ._common import Choice, note, ruleset_options
from ._output import refuse_overwrite, terminal_options, write_output


def _render(view: str, fmt: str, data, output: str | None = None, **fields) -> None:
    from ..report import render

    write_output(render(view, fmt, data, terminal_options(fmt, output, **fields)), output)


@cli.group()
def rules() -> None:
    """List, document and test rules."""


@rules.command("list")
@click.option("--format", "fmt", type=Choice(formats("rules")), default="table", show_default=True)
@click.option("--retired", is_flag=True,
              help="List retired rule ids instead: when each was retired, its replacements and why.")
@ruleset_options
def rules_list(fmt: str, retired: bool, ruleset, config) -> None:
    """Every rule: id, pack, severity, title."""
    _render("retired" if retired else "rules", fmt, ruleset)


@rules.command("show")
@click.argument("rule_id")
@ruleset_options
def rules_show(rule_id: str, ruleset, config) -> None:
    """Everything about one rule: what it checks (its conditions in words), why, citation, how to fix,
    the parameters it uses, examples."""
    from ..errors import UsageError, did_you_mean
    from ..report.rules import RuleSheet

    rid = rule_id.upper()
    if rid not in ruleset.program.rules:
        retired = {x.id: x for lp in ruleset.packs for x in lp.pack.retired}
        if rid in retired:
            x = retired[rid]
            raise UsageError(f"rule {rid} was retired in release {x.retired_in}"
                             + (f"; see {' and '.join(x.replaced_by)}" if x.replaced_by else ""))
        raise UsageError(f"no rule '{rule_id}'", did_you_mean(rule_id, ruleset.program.rules))
    pack, rule = ruleset.program.rules[rid]
    _render("rule", "text", RuleSheet(pack, rule, dict(ruleset.params), [lp.pack for lp in ruleset.packs]))


@rules.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-v", "--verbose", is_flag=True, help="Show passing examples too.")
def rules_test(paths: tuple[str, ...], verbose: bool) -> None:
    """Run rules' firing and non-firing examples (shipped packs, or the packs at PATHS)."""
    from ..packs.examples import run_examples
    from ..packs.load import build_program, load_packs, pack_files, read_pack, resolve_params

    packs = load_packs(paths)
    build_program(packs, resolve_params(packs, {}))  # a pack that does not compile is bad input: exit 2
    only = {read_pack(p).pack.pack for p in pack_files(paths)} if paths else None
    outcomes = run_examples(packs, only)
    _render("examples", "text", outcomes, verbose=verbose)
    if not outcomes:
        note("no examples found")
        raise SystemExit(2)
    if any(not o.ok for o in outcomes):
        raise SystemExit(1)


@rules.command("coverage")
@click.option("--format", "fmt", type=Choice(formats("coverage")), default="table", show_default=True)
@ruleset_options
def rules_coverage(fmt: str, ruleset, config) -> None:
    """Which cited requirements the rules check, and which need a manual review."""
    from ..coverage import coverage

    _render("coverage", fmt, coverage(ruleset))


@rules.command("doc")
@click.option("--pack", "packs", multiple=True, type=click.Path(), help="Also document this rule pack file or folder.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the reference here instead of stdout.")
def rules_doc(packs: tuple[str, ...], output: str | None) -> None:
    """The rule reference in Markdown, generated from the packs (this is docs/rules.md)."""
    from ..checklist import ITEMS
    from ..coverage import frameworks
    from ..packs.load import load_packs
    from ..report.rule_docs import RuleReference, packs_in_order

    loaded = load_packs(packs)
    refuse_overwrite(output, [("rule pack", lp.file) for lp in loaded])
    titles = {fw["framework"]: fw["title"] for fw in frameworks()}
    ref = RuleReference(packs_in_order(lp.pack for lp in loaded), titles,
                        [(i.number, i.title, i.requirement) for i in ITEMS])
    _render("rule-docs", "markdown", ref, output)


@cli.command()
@click.argument("map_file", type=click.Path(dir_okay=False))
@click.argument("rule_id")
@click.argument("subject")
@click.option("--format", "fmt", type=Choice(formats("explain")), default="text", show_default=True)
@ruleset_options
def explain(map_file: str, rule_id: str, subject: str, fmt: str, ruleset, config) -> None:
    """Why RULE_ID fired for SUBJECT (the derivation chain), or why it did not."""
    from ..audit import run_audits
    from ..errors import UsageError, did_you_mean
    from ..explain import explain as run_explain

    rid = rule_id.upper()
    if rid not in ruleset.program.rules:
        raise UsageError(f"no rule '{rule_id}'", did_you_mean(rule_id, ruleset.program.rules))
    [result] = run_audits([map_file], ruleset, config.waivers_path(), limits=config.limits_obj(),
                          max_waiver_days=config.waiver_max_days)
    ids = {k[1] for k in result.loaded.locations}
    if subject not in ids:
        raise UsageError(f"map {result.map_id} has no entity '{subject}'", did_you_mean(subject, ids))
    _render("explain", fmt, run_explain(result, rid, subject))


@cli.command()
@click.argument("map_file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=Choice(formats("checklist")), default="table", show_default=True)
@ruleset_options
def checklist(map_file: str, fmt: str, ruleset, config) -> None:
    """Score a map against the source guide's seven-item quick-start checklist."""
    from ..audit import run_audits
    from ..checklist import checklist as run_checklist
    from ..report.checklist import ChecklistReport

    [result] = run_audits([map_file], ruleset, config.waivers_path(), limits=config.limits_obj(),
                          max_waiver_days=config.waiver_max_days)
    _render("checklist", fmt, ChecklistReport(result, run_checklist(result)))
