"""`rules list|show|test|coverage|doc`, `explain` and `checklist`."""

from __future__ import annotations

import json
import textwrap

import click

from . import cli
from ._common import Choice, ruleset_options, write_output


@cli.group()
def rules() -> None:
    """List, document and test rules."""


def _all_rules(ruleset):
    return sorted(ruleset.program.rules.values(), key=lambda pr: pr[1].id)


@rules.command("list")
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True)
@ruleset_options
def rules_list(fmt: str, ruleset, config) -> None:
    """Every rule: id, pack, severity, title."""
    rows = [{"id": r.id, "pack": p.pack, "severity": r.severity, "title": r.title, "subject": r.subject_kind,
             "citation": r.citation} for p, r in _all_rules(ruleset)]
    if fmt == "json":
        write_output(json.dumps(rows, indent=2) + "\n", None)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in ("id", "pack", "severity", "title"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["id"], r["pack"], r["severity"], r["title"])
    console = Console(record=True, width=120, file=open("/dev/null", "w"))
    console.print(table)
    console.print(f"{len(rows)} rules")
    write_output(console.export_text(), None)


@rules.command("show")
@click.argument("rule_id")
@ruleset_options
def rules_show(rule_id: str, ruleset, config) -> None:
    """Everything about one rule: what it checks, why, citation, how to fix, examples."""
    import yaml

    from ..errors import UsageError, did_you_mean
    from ..packs.examples import example_map

    rid = rule_id.upper()
    if rid not in ruleset.program.rules:
        raise UsageError(f"no rule '{rule_id}'", did_you_mean(rule_id, ruleset.program.rules))
    pack, r = ruleset.program.rules[rid]
    fill = lambda t: textwrap.fill(" ".join(t.split()), 88)  # noqa: E731
    out = [f"{r.id}: {r.title}", "",
           f"pack: {pack.pack} {pack.version}    severity: {r.severity}    subject: {r.subject_kind}"
           + (f"    checklist item: {r.checklist}" if r.checklist else ""),
           f"citation: {r.citation}", "",
           "## What it checks", fill(r.message), "",
           "## Why it matters", fill(r.rationale), "",
           "## How to fix it", fill(r.remediation), ""]
    params = [p for p in pack.parameters.items()]
    if params:
        out += ["## Parameters"] + [f"{k} = {ruleset.params.get(k, v.default)} (default {v.default}): "
                                    f"{v.description}" for k, v in params] + [""]
    for kind, label in (("fires", "Example: reported"), ("passes", "Example: not reported")):
        ex = getattr(r.examples, kind)[0]
        frag = {k: v for k, v in example_map(ex.map).items() if k in ex.map}
        out += [f"## {label} ({ex.name})" + (f": subjects {', '.join(ex.subjects)}" if ex.subjects else ""),
                textwrap.indent(yaml.safe_dump(frag, sort_keys=False, width=100).rstrip(), "    "), ""]
    write_output("\n".join(out) + "\n", None)


@rules.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-v", "--verbose", is_flag=True, help="Show passing examples too.")
def rules_test(paths: tuple[str, ...], verbose: bool) -> None:
    """Run rules' firing and non-firing examples (shipped packs, or the packs at PATHS)."""
    from ..packs.examples import run_examples
    from ..packs.load import load_packs, pack_files, read_pack

    packs = load_packs(paths)
    only = {read_pack(p).pack.pack for p in pack_files(paths)} if paths else None
    outcomes = run_examples(packs, only)
    failed = [o for o in outcomes if not o.ok]
    lines = []
    by_rule: dict[str, list] = {}
    for o in outcomes:
        by_rule.setdefault(o.rule_id, []).append(o)
    for rule_id, items in sorted(by_rule.items()):
        bad = [o for o in items if not o.ok]
        lines.append(f"{'FAIL' if bad else 'ok  '}  {rule_id:<10} {len(items) - len(bad)}/{len(items)} examples")
        for o in items if verbose else bad:
            lines.append(f"        {o.kind:<6} {o.name}")
            if o.error:
                lines.append(textwrap.indent(o.error, "          "))
            elif not o.ok:
                lines.append(f"          {o.where}: expected {o.want or 'no finding'}, got {o.got or 'no finding'}")
    lines.append(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    write_output("\n".join(lines) + "\n", None)
    if not outcomes:
        click.echo("no examples found", err=True)
        raise SystemExit(2)
    if failed:
        raise SystemExit(1)


@rules.command("coverage")
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True)
@ruleset_options
def rules_coverage(fmt: str, ruleset, config) -> None:
    """Which cited requirements the rules check, and which need a manual review."""
    from ..coverage import coverage

    report = coverage(ruleset)
    if fmt == "json":
        write_output(json.dumps(report, indent=2) + "\n", None)
        return
    lines = []
    for fw in report["frameworks"]:
        lines += [f"{fw['title']}", ""]
        for req in fw["requirements"]:
            who = ", ".join(req["rules"]) if req["rules"] else "MANUAL: no rule checks this"
            lines.append(f"  {req['id']:<28} {req['title'][:60]:<60} {who}")
        lines += [f"  {fw['automated']} of {len(fw['requirements'])} requirements have a rule; "
                  f"{fw['manual']} need a manual review", ""]
    lines.append("A clean audit means no rule found a problem; it is not a certification of compliance.")
    write_output("\n".join(lines) + "\n", None)


@rules.command("doc")
@click.option("--pack", "packs", multiple=True, type=click.Path(), help="Also document this rule pack file or folder.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the reference here instead of stdout.")
def rules_doc(packs: tuple[str, ...], output: str | None) -> None:
    """The rule reference in Markdown, generated from the packs (this is docs/rules.md)."""
    from ..checklist import ITEMS
    from ..coverage import frameworks
    from ..packs.load import load_packs
    from ..report.rule_docs import packs_in_order, render

    loaded = packs_in_order(lp.pack for lp in load_packs(packs))
    titles = {fw["framework"]: fw["title"] for fw in frameworks()}
    write_output(render(loaded, titles, [(i.number, i.title, i.requirement) for i in ITEMS]), output)


@cli.command()
@click.argument("map_file", type=click.Path(dir_okay=False))
@click.argument("rule_id")
@click.argument("subject")
@click.option("--format", "fmt", type=Choice(["text", "json"]), default="text", show_default=True)
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
    ex = run_explain(result, rid, subject)
    if fmt == "json":
        write_output(json.dumps(ex.to_dict(), indent=2) + "\n", None)
        return
    if ex.fired:
        f = ex.finding
        lines = [f"{rid} fired for {subject} ({f.severity}){' [waived]' if f.waived else ''}: {f.message}",
                 "because:"] + [f"  - {e}" for e in f.evidence] + [f"at {f.location}"]
    else:
        lines = [f"{rid} did not fire for {subject}:"] + [f"  - {r}" for r in ex.reasons]
    write_output("\n".join(lines) + "\n", None)


@cli.command()
@click.argument("map_file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True)
@ruleset_options
def checklist(map_file: str, fmt: str, ruleset, config) -> None:
    """Score a map against the source guide's seven-item quick-start checklist."""
    from ..audit import run_audits
    from ..checklist import checklist as run_checklist, score

    [result] = run_audits([map_file], ruleset, config.waivers_path(), limits=config.limits_obj(),
                          max_waiver_days=config.waiver_max_days)
    items = run_checklist(result)
    if fmt == "json":
        doc = {"map": {"id": result.map_id, "version": result.version, "file": result.loaded.file},
               "score": score(items), "passed": sum(i.passed for i in items), "items": [i.to_dict() for i in items]}
        write_output(json.dumps(doc, indent=2) + "\n", None)
        return
    lines = [f"Quick-start checklist for {result.map_id} {result.version}", ""]
    for i in items:
        mark = "PASS" if i.passed else "FAIL"
        lines.append(f"  [{mark}] {i.item.number}. {i.item.title}")
        if not i.has_entities:
            lines.append(f"         needs {i.item.requirement}")
        for f in i.findings:
            lines.append(f"         {f.rule_id} {f.subject}: {f.message}")
    lines += ["", f"score: {sum(i.passed for i in items)}/7 ({score(items)}%)"]
    write_output("\n".join(lines) + "\n", None)
