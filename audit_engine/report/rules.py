"""The rule catalogue on the command line: ``rules list`` (and ``--retired``), ``rules show``,
``rules test`` and ``rules coverage``, as text tables and JSON."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from pydantic import BaseModel

from . import _table
from ._conditions import Vocabulary, body_words, severity_words
from ._options import RenderOptions
from ._text import dump_json, one_line, safe
from .sarif import with_params

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import RuleSet
    from ..packs.examples import ExampleOutcome
    from ..packs.schema import Derivation, Pack, Rule

_PARAM_TEXT = re.compile(r"\{param\.([a-z][a-z0-9_]*)\}")
_MD_LINK = re.compile(r"\[`([^`\]]+)`\]\([^)]*\)")


def _rules(ruleset: "RuleSet") -> list[tuple[Any, Any]]:
    return sorted(ruleset.program.rules.values(), key=lambda pr: pr[1].id)


# --------------------------------------------------------------------------- rules list


def _rows(ruleset: "RuleSet") -> list[dict[str, Any]]:
    # `subject` (the kind, a string or a list) is kept as 0.1 wrote it; `subject_kinds` is always a list
    return [{"id": r.id, "pack": p.pack, "severity": r.severity, "severities": list(r.severities), "title": r.title,
             "subject": r.subject_kind, "subject_kinds": list(r.subject_kinds), "basis": r.basis,
             "citation": r.citation} for p, r in _rules(ruleset)]


def render_list_json(ruleset: "RuleSet", options: RenderOptions) -> str:
    return dump_json(_rows(ruleset))


def render_list(ruleset: "RuleSet", options: RenderOptions) -> str:
    rows = _rows(ruleset)
    columns = (_table.Column("id"), _table.Column("pack"), _table.Column("severity"),
               _table.Column("title", wrap=True))
    body = [[r["id"], r["pack"], (r["severity"], r["severity"]), r["title"]] for r in rows]
    return "\n".join([*_table.render(columns, body, options.width, options.color), f"{len(rows)} rules"]) + "\n"


def _retired(ruleset: "RuleSet") -> list[dict[str, Any]]:
    return [{"id": x.id, "pack": lp.pack.pack, "retired_in": x.retired_in, "replaced_by": list(x.replaced_by),
             "reason": " ".join(x.reason.split())}
            for lp in ruleset.packs for x in lp.pack.retired]


def render_retired_json(ruleset: "RuleSet", options: RenderOptions) -> str:
    return dump_json(sorted(_retired(ruleset), key=lambda r: r["id"]))


def render_retired(ruleset: "RuleSet", options: RenderOptions) -> str:
    rows = sorted(_retired(ruleset), key=lambda r: r["id"])
    if not rows:
        return "no retired rules\n"
    columns = (_table.Column("id"), _table.Column("pack"), _table.Column("retired in"),
               _table.Column("replaced by"), _table.Column("why", wrap=True))
    body = [[r["id"], r["pack"], r["retired_in"], ", ".join(r["replaced_by"]) or "nothing", r["reason"]]
            for r in rows]
    n = len(rows)
    footer = f"{n} retired rule{'s' if n != 1 else ''}: their ids are never reused"
    return "\n".join([*_table.render(columns, body, options.width, options.color), footer]) + "\n"


# --------------------------------------------------------------------------- rules show


@dataclass(frozen=True)
class RuleSheet:
    """One rule with what ``rules show`` needs around it."""

    pack: "Pack"
    rule: "Rule"
    params: dict[str, Any]  # the resolved parameters of this run
    packs: Sequence["Pack"] = ()  # every loaded pack (their derivations and vocabulary)


def _walk_params(value: Any, found: set[str], facts: set[str]) -> None:
    """Parameter names a rule's conditions or texts use, and the fact types its conditions read."""
    from ..packs.schema import Condition, Param

    if isinstance(value, Param):
        found.add(value.param)
    elif isinstance(value, str):
        found.update(_PARAM_TEXT.findall(value))
    elif isinstance(value, BaseModel):
        if isinstance(value, Condition):
            facts.add(value.fact)
        for name in type(value).model_fields:
            if name not in ("examples", "title", "citations", "references", "id"):
                _walk_params(getattr(value, name), found, facts)
    elif isinstance(value, dict):
        for v in value.values():
            _walk_params(v, found, facts)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _walk_params(v, found, facts)


def parameters_used(rule: "Rule", derivations: Iterable["Derivation"]) -> list[str]:
    """The parameters ``rule`` uses: in its conditions, severity grades and texts, and in
    the derivations of every derived fact it reads (transitively)."""
    by_fact: dict[str, list[Any]] = {}
    for d in derivations:
        by_fact.setdefault(d.fact, []).append(d)
    found: set[str] = set()
    facts: set[str] = set()
    _walk_params(rule, found, facts)
    seen: set[str] = set()
    todo = list(facts)
    while todo:
        fact = todo.pop()
        if fact in seen:
            continue
        seen.add(fact)
        for d in by_fact.get(fact, []):
            more: set[str] = set()
            _walk_params(d, found, more)
            todo.extend(more - seen)
    return sorted(found)


def _plain(words: str) -> str:
    """Condition words without the rule reference's Markdown links and code marks."""
    return _MD_LINK.sub(r"\1", words).replace("`", "")


def condition_lines(rule: "Rule", packs: Sequence["Pack"], width: int = 88) -> list[str]:
    """The rule's conditions in words, one bullet each (numbered alternatives for ``when_any``)."""
    vocab = Vocabulary.of(packs)

    def item(head: str, text: str) -> list[str]:
        return textwrap.wrap(_plain(text), width, initial_indent=head, subsequent_indent=" " * len(head),
                             break_long_words=False, break_on_hyphens=False)

    bodies = rule.bodies()
    if len(bodies) == 1:
        return [line for w in body_words(bodies[0], vocab) for line in item("  - ", w)]
    out = []
    for i, body in enumerate(bodies, 1):
        words = body_words(body, vocab)
        out += item(f"  {i}. ", words[0])
        out += [line for w in words[1:] for line in item("     - ", w)]
    return out


def render_rule(sheet: RuleSheet, options: RenderOptions) -> str:
    pack, r = sheet.pack, sheet.rule

    width = min(88, max(40, options.width))

    def fill(t: str) -> str:
        return textwrap.fill(with_params(t, sheet.params), width, break_long_words=False, break_on_hyphens=False)

    vocab = Vocabulary.of(sheet.packs or [pack])
    derivations = [d for p in (sheet.packs or [pack]) for d in p.derive]
    from .rule_docs import SUBJECT_NOUNS

    kinds = " or ".join(SUBJECT_NOUNS.get(k, k) for k in r.subject_kinds)
    alternatives = len(r.bodies()) > 1
    out = [f"{r.id}: {r.title}", "",
           f"pack: {pack.pack} {pack.version}    subject: {kinds}"
           + (f"    checklist item: {r.checklist}" if r.checklist else ""),
           f"severity: {_plain(severity_words(r, vocab))}",
           f"citation: {r.citation}", "",
           "## What it checks",
           f"Reported for each {kinds} {r.subject_alias} when " + ("any of these holds:" if alternatives else "there is:"),
           *condition_lines(r, sheet.packs or [pack], width), "",
           "## Why it matters", fill(r.rationale), "",
           "## How to fix it", fill(r.remediation), ""]
    used = parameters_used(r, derivations)
    declared = {k: v for p in (sheet.packs or [pack]) for k, v in p.parameters.items()}
    if used:
        out += ["## Parameters"]
        out += [f"{k} = {sheet.params.get(k, declared[k].default)} (default {declared[k].default}): "
                f"{declared[k].description}" for k in used if k in declared]
        out.append("")
    out += _examples(r)
    return "\n".join(safe(line) for line in out) + "\n"


def _examples(r: "Rule") -> list[str]:
    """The first firing and the first passing example, as the part of the map they set."""
    import yaml

    from ..packs.examples import example_map

    out: list[str] = []
    for kind, label in (("fires", "Example: reported"), ("passes", "Example: not reported")):
        ex = getattr(r.examples, kind)[0]
        frag = {k: v for k, v in example_map(ex.map).items() if k in ex.map}
        out += [f"## {label} ({ex.name})" + (f": subjects {', '.join(ex.subjects)}" if ex.subjects else ""),
                textwrap.indent(yaml.safe_dump(frag, sort_keys=False, width=100).rstrip(), "    "), ""]
    return out


# --------------------------------------------------------------------------- rules test


def render_examples(outcomes: Sequence["ExampleOutcome"], options: RenderOptions) -> str:
    failed = [o for o in outcomes if not o.ok]
    lines = []
    by_rule: dict[str, list["ExampleOutcome"]] = {}
    for o in outcomes:
        by_rule.setdefault(o.rule_id, []).append(o)
    for rule_id, items in sorted(by_rule.items()):
        bad = [o for o in items if not o.ok]
        lines.append(f"{'FAIL' if bad else 'ok  '}  {rule_id:<10} {len(items) - len(bad)}/{len(items)} examples")
        for o in items if options.verbose else bad:
            lines.append(f"        {o.kind:<6} {one_line(o.name)}")
            if o.error:
                lines.append(textwrap.indent(safe(o.error), "          "))
            elif not o.ok:
                lines.append(f"          {o.where}: expected {o.want or 'no finding'}, got {o.got or 'no finding'}")
    lines.append(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- rules coverage


def render_coverage_json(report: dict[str, Any], options: RenderOptions) -> str:
    return dump_json(report)


def render_coverage(report: dict[str, Any], options: RenderOptions) -> str:
    lines: list[str] = []
    columns = (_table.Column("requirement"), _table.Column("title", wrap=True), _table.Column("rules", wrap=True))
    for fw in report["frameworks"]:
        lines += [one_line(fw["title"]), ""]
        body = [[req["id"], req["title"], ", ".join(req["rules"]) if req["rules"] else "MANUAL: no rule checks this"]
                for req in fw["requirements"]]
        lines += ["  " + line if line else line for line in _table.render(columns, body, options.width - 2)]
        lines += ["", f"  {fw['automated']} of {len(fw['requirements'])} requirements have a rule; "
                      f"{fw['manual']} need a manual review", ""]
    lines.append("A clean audit means no rule found a problem; it is not a certification of compliance.")
    return "\n".join(lines) + "\n"
