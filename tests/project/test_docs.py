"""docs/ stays true: generated pages match the code, the format reference covers every
field of the models, the schema describes every property, the tutorial's commands do
what the tutorial says, the rule-pack language and the run configuration pages cover
every key, fact, limit and environment variable, and their examples work, and the reports
reference documents every key of the JSON the commands write (with its type), the causes,
the exit statuses, the fingerprint and the SARIF levels."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFORMANCE, FIXTURES, ROOT

DOCS = ROOT / "docs"


def _stale(name: str) -> str:
    return f"docs/{name} is out of date: run `make docs` and commit the result"


def test_cli_reference_is_current() -> None:
    from audit_engine.cli import command_tree
    from audit_engine.report.cli_docs import render

    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render(command_tree()), _stale("cli.md")


def test_cli_reference_lists_every_command_and_option() -> None:
    import click

    from audit_engine.cli import command_tree

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    root = command_tree()

    def walk(group: click.Group, path: str):
        for name, cmd in group.commands.items():
            yield f"{path} {name}", cmd
            if isinstance(cmd, click.Group):
                yield from walk(cmd, f"{path} {name}")

    for path, cmd in walk(root, "audit-engine"):
        section = text.split(f"# {path}\n", 1)[1].split("\n#", 1)[0]
        for p in cmd.params:
            if isinstance(p, click.Option) and "--help" not in p.opts:
                assert f"`{p.opts[-1]}`" in section, f"{path}: option {p.opts[-1]} is not documented"
    assert "| 2 | The command could not run" in text


def test_rule_reference_is_current(cli) -> None:
    p = cli("rules", "doc")
    assert p.returncode == 0, p.stderr
    assert (DOCS / "rules.md").read_text(encoding="utf-8") == p.stdout, _stale("rules.md")


def test_rule_reference_covers_every_rule_and_retired_id(ruleset) -> None:
    text = (DOCS / "rules.md").read_text(encoding="utf-8")
    for rule_id, (_, rule) in ruleset.program.rules.items():
        assert f"### {rule_id}: {rule.title}" in text
    assert "| SAFE-002 | near-miss | 2 | SAFE-007, SAFE-008 |" in text
    assert "| 5. Failure modes and safeguards | at least 1 failure mode | [HDF-016](#hdf-016-" in text
    assert "- **Severity**: high; critical when the harm of failure mode fm is death" in text
    assert "good practice: a recommendation, not a legal requirement" in text


def test_rules_doc_writes_a_file_and_documents_user_packs(cli, tmp_path: Path) -> None:
    pack = tmp_path / "team.yaml"
    pack.write_text(_TEAM_PACK, encoding="utf-8")
    out = tmp_path / "rules.md"
    p = cli("rules", "doc", "--pack", str(pack), "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "### TEAM-001: Kiosks never show PHI to an unidentified user" in text
    assert "- a touchpoint t whose channel is kiosk and authentication is none" in text
    assert "- and there is no [`effective_control`](#effective_control) fact whose touchpoint is t and type is " \
           "audit_logging" in text
    assert "[S] internal policy IS-12 (other)" in text


def test_conditions_in_words() -> None:
    from audit_engine.packs.schema import Op, Param, Ref
    from audit_engine.report._conditions import test_words

    ref, param = Ref(ref="t.stakeholder"), Param(param="max_days")
    cases = [
        ("shared", "is shared"), (True, "is true"), (ref, "is the stakeholder of t"),
        (Ref(ref="t.id"), "is t"), (Ref(ref="f.to"), "is the to end of f"),
        (Op(ne="vendor"), "is not vendor"), (Op(gt=param), "is more than `max_days` (a parameter)"),
        (Op(le=5), "is at most 5"), (Op.model_validate({"in": ["a", "b", "c"]}), "is a, b or c"),
        (Op(not_in=["a", "b"]), "is neither a nor b"), (Op(not_in=["a", "b", "c"]), "is none of a, b or c"),
        (Op(present=False), "is not set"), (Op(has="near_miss"), "includes near_miss"),
        (Op(has_any=["share", "print"]), "includes share or print"),
        (Op(any_of=[Op(present=False), Op(gt=param)]), "is not set or is more than `max_days` (a parameter)"),
    ]
    assert [test_words(t) for t, _ in cases] == [w for _, w in cases]


_TEAM_PACK = """\
pack: team
version: 1.0.0
title: Team rules
rules:
  - id: TEAM-001
    title: Kiosks never show PHI to an unidentified user
    severity: medium
    subject: t.id
    subject_kind: touchpoint
    citations: [{framework: other, text: internal policy IS-12, verified: S}]
    rationale: A kiosk in a waiting room is seen by everyone who walks past it.
    remediation: Identify the user before showing anything.
    when:
      - {fact: touchpoint, as: t, where: {channel: kiosk, authentication: none}}
      - not: {fact: effective_control, where: {touchpoint: {ref: t.id}, type: audit_logging}}
    message: "Touchpoint {t.id} is an anonymous kiosk."
    examples:
      fires: [{name: anonymous kiosk, subjects: [k], map: {touchpoints: [{id: k, name: K, stage: visit,
              stakeholder: patient, channel: kiosk, authentication: none}]}}]
      passes: [{name: no kiosk, map: {}}]
"""



# --------------------------------------------------------------------------- links

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6}) +(.+?) *$")


def _prose(md: str) -> list[str]:
    """The lines of ``md`` outside fenced code blocks."""
    out, fenced = [], False
    for line in md.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            out.append(line)
    return out


def _anchors(md: str) -> set[str]:
    """The anchors GitHub gives the headings of ``md`` (duplicates get -1, -2...)."""
    seen: dict[str, int] = {}
    out = set()
    for line in _prose(md):
        m = _HEADING.match(line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_readme_and_docs_link_only_to_files_in_the_repository() -> None:
    pages = [ROOT / "README.md", ROOT / "rules" / "README.md", *sorted(DOCS.glob("*.md"))]
    assert {p.name for p in pages} >= {"README.md", "index.md", "tutorial.md", "map-format.md", "cli.md", "rules.md",
                                       "reports.md"}
    broken = []
    for page in pages:
        md = page.read_text(encoding="utf-8")
        assert "../shared" not in md, f"{page.name} refers to ../shared, which a clone does not have"
        for target in _LINK.findall("\n".join(_prose(md))):
            if re.match(r"^[a-z]+:", target):
                if page.name == "README.md":
                    broken.append(f"README.md: {target} (the README links only to files in the repository)")
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists() or ROOT not in file.parents:
                broken.append(f"{page.name}: {target} (no such file in the repository)")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text(encoding="utf-8")):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


# --------------------------------------------------------------------------- the map format reference

_SECTIONS = {  # model -> the heading of its table in docs/map-format.md
    "JourneyMap": "## Top level", "Stakeholder": "## stakeholders", "Stage": "## stages", "System": "## systems",
    "DataAsset": "## data", "Control": "## controls", "Touchpoint": "## touchpoints",
    "DataAccess": "### data_access entries", "FailureMode": "### failure_modes entries",
    "DataFlow": "## data_flows", "Checkpoint": "## checkpoints", "Training": "## trainings",
    "FeedbackChannel": "## feedback_channels",
}


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    body = text.split(f"\n{heading}\n", 1)[1]
    ends = [i for i in (body.find(f"\n{'#' * n} ") for n in range(1, len(level) + 1)) if i >= 0]
    return body[:min(ends)] if ends else body


def _models() -> list[type]:
    from audit_engine import model

    found, todo = [], list(model._Model.__subclasses__())
    while todo:
        m = todo.pop()
        todo += m.__subclasses__()
        if not m.__name__.startswith("_"):
            found.append(m)
    return found


def test_format_reference_documents_every_field_of_every_model() -> None:
    text = (DOCS / "map-format.md").read_text(encoding="utf-8")
    models = _models()
    assert {m.__name__ for m in models} == set(_SECTIONS), "a model has no section in docs/map-format.md"
    missing = []
    for m in models:
        section = _section(text, _SECTIONS[m.__name__])
        for attr, info in m.model_fields.items():
            key = info.alias or attr
            if attr == "extensions":  # the x- keys, documented once under Conventions
                continue
            if f"\n| `{key}` |" not in section:
                missing.append(f"{m.__name__}.{key} (under '{_SECTIONS[m.__name__]}')")
    assert not missing, "docs/map-format.md does not document: " + ", ".join(missing)
    assert "`x-`" in _section(text, "## Conventions")


def test_format_reference_lists_every_enum_value() -> None:
    from audit_engine import model

    text = (DOCS / "map-format.md").read_text(encoding="utf-8")
    enums = {name: values for name, values in vars(model).items()
             if name.isupper() and isinstance(values, tuple) and values and all(isinstance(v, str) for v in values)}
    assert len(enums) >= 20
    missing = [f"{name}: {v}" for name, values in enums.items() for v in values if f"`{v}`" not in text]
    assert not missing, "docs/map-format.md does not list: " + ", ".join(missing)


def test_format_reference_examples_make_a_valid_map() -> None:
    """The YAML examples of the list sections, put together, are one valid map."""
    import yaml

    from audit_engine.loader import load_map_text

    text = (DOCS / "map-format.md").read_text(encoding="utf-8")
    lists = text.split("\n## stakeholders\n", 1)[1].split("\n## Validation\n", 1)[0]
    merged: dict[str, list] = {}
    for block in lists.split("```yaml\n")[1:]:
        doc = yaml.safe_load(block.split("```", 1)[0])
        if set(doc) <= {"stakeholders", "stages", "systems", "data", "controls", "touchpoints", "data_flows",
                        "checkpoints", "trainings", "feedback_channels"}:
            for key, items in doc.items():
                merged.setdefault(key, []).extend(items)
    assert len(merged) == 10
    header = {"format": 1, "id": "reference-examples", "name": "Examples", "version": "1.0.0"}
    loaded = load_map_text(yaml.safe_dump({**header, **merged}, sort_keys=False), "map-format.md examples")
    assert loaded.map.touchpoints[0].failure_modes[0].harm == "severe"


def test_schema_describes_every_property_at_every_level(cli) -> None:
    p = cli("schema")
    assert p.returncode == 0, p.stderr
    schema = json.loads(p.stdout)
    seen, bare = 0, []

    def walk(node: object, where: str) -> None:
        nonlocal seen
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                seen += 1
                if not (isinstance(prop, dict) and str(prop.get("description", "")).strip()):
                    bare.append(f"{where}.{name}")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(schema, "#")
    fields = sum(1 for m in _models() for attr in m.model_fields if attr != "extensions")
    assert seen == fields, f"the schema has {seen} properties, the models {fields} fields"
    assert not bare, "properties without a description: " + ", ".join(bare)
    assert schema["patternProperties"]["^x-"]["description"]


# --------------------------------------------------------------------------- the tutorial

# The tutorial's commands, in order, with what docs/tutorial.md says they do: the exit
# status, text the output contains, and (for JSON) the findings as (rule, subject).
_TUTORIAL: list[tuple[str, int, list[str]]] = [
    ("mkdir -p maps", 0, []),
    ("cp docs/tutorial/lab-results.v1.0.yaml maps/lab-results.yaml", 0, []),
    ("audit-engine validate maps/lab-results.yaml", 0,
     ["maps/lab-results.yaml: ok (map lab-results version 1.0.0, 3 touchpoints)"]),
    ("audit-engine audit maps/lab-results.yaml", 1, ["3 open findings (1 critical, 1 high, 1 low)"]),
    ("audit-engine audit maps/lab-results.yaml --format json --no-store", 1, []),
    ("audit-engine explain maps/lab-results.yaml HDF-002 analytics", 0,
     ["HDF-002 fired for analytics (critical)",
      "  - usage-events is PHI: it is derived from lab-results and is not de-identified (classification internal)",
      "at maps/lab-results.yaml:22:5"]),
    ("cp docs/tutorial/lab-results.v1.1.yaml maps/lab-results.yaml", 0, []),
    ("audit-engine audit maps/lab-results.yaml", 1, ["2 open findings (1 high, 1 low)"]),
    ("audit-engine gate maps/lab-results.yaml --policy docs/tutorial/release-gate.yaml", 1,
     ["gate FAILED: map lab-results version 1.1.0 (baseline 1.0.0; 0 new findings)",
      "  FAIL 1 unwaived finding at high or above (fail_on: high): CRED-001 print-result"]),
    ("cp docs/tutorial/waivers.yaml maps/audit-waivers.yaml", 0, []),
    ("audit-engine audit maps/lab-results.yaml", 0, ["1 open finding (1 low); 1 waived"]),
    ("audit-engine gate maps/lab-results.yaml --policy docs/tutorial/release-gate.yaml", 0,
     ["gate PASSED: map lab-results version 1.1.0 (baseline 1.0.0; 0 new findings)"]),
    ("audit-engine history", 0, ["lab-results  1.0.0", "lab-results  1.1.0"]),
    ("audit-engine diff lab-results@1.0.0 lab-results@1.1.0", 0,
     ["map lab-results: 1.0.0 -> 1.1.0: 0 new, 1 resolved, 2 unchanged", "resolved  critical  HDF-002  analytics",
      "2 unchanged findings not shown (--with-unchanged lists them)"]),
    ("audit-engine trend lab-results", 0, ["map lab-results: 2 stored version(s), oldest first; unwaived findings",
                                           "1.1.0    ", "+0        -2"]),
]


def _run_step(command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AUDIT_ENGINE_DB"}
    env["COLUMNS"] = "120"
    if command.startswith("audit-engine "):
        argv = [sys.executable, "-m", "audit_engine", *shlex.split(command)[1:]]
        return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    return subprocess.run(command, shell=True, capture_output=True, text=True, cwd=cwd, env=env, timeout=30)


def test_tutorial_commands_do_what_the_tutorial_says(tmp_path: Path) -> None:
    text = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    shutil.copytree(DOCS / "tutorial", tmp_path / "docs" / "tutorial")
    for command, status, expected in _TUTORIAL:
        assert f"\n$ {command}\n" in text, f"docs/tutorial.md no longer shows `{command}`"
        p = _run_step(command, tmp_path)
        assert p.returncode == status, f"`{command}` exited {p.returncode}, the tutorial says {status}:\n{p.stderr}"
        for line in expected:
            assert line in p.stdout, f"`{command}` did not print {line!r}:\n{p.stdout}"
            assert line.strip() in text, f"docs/tutorial.md does not show {line!r}"
        if "--format json" in command:
            findings = {(f["rule_id"], f["subject"]) for f in json.loads(p.stdout)["findings"]}
            assert findings == {("HDF-002", "analytics"), ("CRED-001", "print-result"),
                                ("CLIN-003", "release-result")}
    assert (tmp_path / "audit-engine.db").exists()  # the tutorial's own store, in its working folder


def test_tutorial_shows_real_files_and_output(tmp_path: Path) -> None:
    """The files quoted in the tutorial are its files; the audit tables and the validation
    error it shows are what the engine prints."""
    text = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    for block, name in zip(blocks, ("lab-results.v1.0.yaml", "release-gate.yaml", "waivers.yaml")):
        lines = (DOCS / "tutorial" / name).read_text(encoding="utf-8").splitlines()
        quoted = [line for line in block.splitlines() if not line.lstrip().startswith("#")]
        assert all(line in lines for line in quoted), f"docs/tutorial.md quotes docs/tutorial/{name} wrongly"
    maps = tmp_path / "maps"
    maps.mkdir()
    for name in ("lab-results.v1.0.yaml", "lab-results.v1.1.yaml"):
        shutil.copy(DOCS / "tutorial" / name, maps / "lab-results.yaml")
        p = _run_step("audit-engine audit maps/lab-results.yaml --no-store", tmp_path)
        assert p.stdout.strip() in text, f"the audit of {name} in docs/tutorial.md is out of date:\n{p.stdout}"
    typo = (DOCS / "tutorial" / "lab-results.v1.0.yaml").read_text(encoding="utf-8")
    (maps / "lab-results.yaml").write_text(typo.replace("authentication: unique", "authentication: uniqe"))
    p = _run_step("audit-engine validate maps/lab-results.yaml", tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() in text, f"the validation error in docs/tutorial.md is out of date:\n{p.stderr}"
    v10 = (DOCS / "tutorial" / "lab-results.v1.0.yaml").read_text(encoding="utf-8").splitlines()
    v11 = (DOCS / "tutorial" / "lab-results.v1.1.yaml").read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(v10, v11) if a != b][1:]  # after the header comment
    assert [f"-{a}\n+{b}" for a, b in changed] == [
        '-version: "1.0.0"\n+version: "1.1.0"',
        "-  - {id: analytics, name: Portal usage analytics, operator: vendor}\n"
        "+  - {id: analytics, name: Portal usage analytics, operator: vendor, baa: true}"]
    for a, b in changed:
        assert f"-{a}" in text and f"+{b}" in text


# --------------------------------------------------------------------------- the rule-pack language

PACKS_DOC = DOCS / "packs.md"
EXAMPLE_PACK = DOCS / "packs" / "example-pack.yaml"

_PACK_SECTIONS = {  # model of audit_engine.packs.schema -> the heading of its key table in docs/packs.md
    "Pack": "### Pack keys", "Parameter": "### parameters entries", "FactDoc": "### facts entries",
    "Condition": "### Condition keys", "Not": "### Condition keys", "Ref": "### Operands", "Param": "### Operands",
    "Op": "### Field tests", "Derivation": "### Derivation keys", "Rule": "### Rule keys",
    "SeverityWhen": "#### severity_when entries", "Citation": "#### citations entries",
    "Examples": "### examples: fires and passes", "Example": "### examples: fires and passes",
    "RetiredRule": "### retired entries",
}
_KIND_WORDS = {"id": "id", "str": "text", "int": "number", "bool": "bool", "list": "list"}


def _rows(section: str) -> list[list[str]]:
    """The cells of the table rows of ``section`` whose first cell is `code`."""
    return [[c.strip() for c in line.strip().strip("|").split(" | ")]
            for line in section.splitlines() if line.startswith("| `")]


def _yaml_blocks(md: str) -> list[str]:
    return [b.split("```", 1)[0] for b in md.split("```yaml\n")[1:]]


def _schema_models() -> dict[str, type]:
    from pydantic import BaseModel

    from audit_engine.packs import schema

    return {name: m for name, m in vars(schema).items() if isinstance(m, type) and issubclass(m, BaseModel)
            and m.__module__ == schema.__name__ and not name.startswith("_")}


def test_pack_reference_documents_every_key_of_the_pack_schema() -> None:
    from typing import get_args

    from audit_engine.packs import schema

    text = PACKS_DOC.read_text(encoding="utf-8")
    models = _schema_models()
    assert set(models) == set(_PACK_SECTIONS), "a model of the pack schema has no section in docs/packs.md"
    missing = []
    for name, model in models.items():
        section = _section(text, _PACK_SECTIONS[name])
        for attr, info in model.model_fields.items():
            key = info.alias or attr
            if f"\n| `{key}` |" not in section:
                missing.append(f"{name}.{key} (under '{_PACK_SECTIONS[name]}')")
    rule_keys = _section(text, "### Rule keys")
    if "\n| `citation` |" not in rule_keys:  # the one-string form older packs use (Rule._citation_string)
        missing.append("Rule.citation")
    assert not missing, "docs/packs.md does not document: " + ", ".join(missing)
    for values, where in ((schema.SubjectKind, "### Rule keys"), (schema.Severity, "### Rule keys"),
                          (schema.Basis, "### Basis"), (schema.Verification, "#### citations entries")):
        section = _section(text, where)
        assert all(f"`{v}`" in section or f"**{v}**" in section for v in get_args(values)), (values, where)
    assert set(get_args(schema.Basis)) == {r[0].strip("`") for r in _rows(_section(text, "### Basis"))}


def test_pack_reference_lists_every_base_fact_as_the_code_defines_it() -> None:
    from audit_engine.facts import ANCHOR_FIELDS, BASE_FACT_TYPES

    rows = _rows(_section(PACKS_DOC.read_text(encoding="utf-8"), "### Base facts"))
    documented: dict[str, tuple[dict[str, tuple[str, bool]], str]] = {}
    for fact, _one_per, anchor, fields in rows:
        parsed = re.findall(r"`([a-z_]+)`(\??) (id|text|number|bool|list)", fields)
        assert len(parsed) == len(fields.split(", ")), f"docs/packs.md: cannot read the fields of {fact}: {fields}"
        documented[fact.strip("`")] = ({f: (kind, not optional) for f, optional, kind in parsed}, anchor.strip("`"))
    assert len(documented) == len(rows), "docs/packs.md lists a base fact twice"
    assert set(documented) == set(BASE_FACT_TYPES), (
        f"docs/packs.md lists base facts that do not exist: {sorted(set(documented) - set(BASE_FACT_TYPES))}; "
        f"and misses: {sorted(set(BASE_FACT_TYPES) - set(documented))}")
    for name, ft in BASE_FACT_TYPES.items():
        fields, anchor = documented[name]
        want = {f: (_KIND_WORDS[k], f in ft.required) for f, k in ft.fields.items()}
        assert fields == want, f"docs/packs.md: the fields of base fact {name} are {want} (field: (kind, always set))"
        assert list(fields) == list(ft.fields), f"docs/packs.md: list the fields of {name} in the code's order"
        assert anchor == ANCHOR_FIELDS.get(name, ""), f"docs/packs.md: {name} is tied to a touchpoint by " \
                                                      f"{ANCHOR_FIELDS.get(name)!r}"


def test_pack_reference_lists_the_derived_facts_of_the_core_pack(ruleset) -> None:
    core = next(lp.pack for lp in ruleset.packs if lp.pack.pack == "core")
    rows = _rows(_section(PACKS_DOC.read_text(encoding="utf-8"), "### Derived facts of the core pack"))
    documented = {fact.strip("`"): (fields, meaning) for fact, fields, meaning in rows}
    assert list(documented) == list(core.facts) == list(dict.fromkeys(d.fact for d in core.derive))
    for name, (fields, meaning) in documented.items():
        ft = ruleset.program.fact_types[name]
        want = ", ".join(f"`{f}`" + ("" if f in ft.required else "?") for f in ft.fields)
        assert (fields, meaning) == (want, core.facts[name].doc), f"docs/packs.md: derived fact {name}"


def test_pack_reference_names_every_framework_with_a_requirement_list() -> None:
    import yaml

    section = _section(PACKS_DOC.read_text(encoding="utf-8"), "#### citations entries")
    for path in sorted((ROOT / "rules" / "frameworks").glob("*.yaml")):
        framework = yaml.safe_load(path.read_text(encoding="utf-8"))["framework"]
        assert f"`{framework}`" in section, f"docs/packs.md does not name the framework {framework} ({path.name})"


def test_worked_example_pack_passes_rules_test(cli, tmp_path: Path) -> None:
    from audit_engine.packs.load import read_pack

    text = PACKS_DOC.read_text(encoding="utf-8")
    shown = _yaml_blocks(text.split("\n## Worked example\n", 1)[1])[-1]  # (its YAML comments start with #)
    pack_text = EXAMPLE_PACK.read_text(encoding="utf-8")
    assert shown == pack_text, "docs/packs.md shows another pack than docs/packs/example-pack.yaml"
    p = cli("rules", "test", "docs/packs/example-pack.yaml")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"$ audit-engine rules test docs/packs/example-pack.yaml\n{p.stdout}```" in text, \
        f"docs/packs.md does not show what `rules test` prints:\n{p.stdout}"
    # what the page says the example shows
    pack = read_pack(EXAMPLE_PACK).pack
    rules = {r.id: r for r in pack.rules}
    assert pack.parameters and pack.facts and pack.retired and len(pack.derive) >= 3
    assert rules["RCL-002"].basis == "good_practice" and rules["RCL-002"].severity == "low"
    assert rules["RCL-003"].when_any and rules["RCL-003"].subject_kinds == ("system", "touchpoint")
    assert rules["RCL-004"].severity_when and rules["RCL-004"].checklist
    assert [r.id for r in pack.retired] == ["RCL-001"] and pack.retired[0].replaced_by == ["RCL-004"]
    assert any(ex.params for ex in rules["RCL-002"].examples.passes)
    # the failing run the page shows: the same pack with one example broken
    broken = pack_text.replace("audience: [nurse], competency_check: true}",
                               "audience: [nurse], competency_check: true, refresher_days: 365}", 1)
    assert broken != pack_text
    (tmp_path / "docs" / "packs").mkdir(parents=True)
    (tmp_path / "docs" / "packs" / "example-pack.yaml").write_text(broken, encoding="utf-8")
    p = cli("rules", "test", "docs/packs/example-pack.yaml", cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout in text, f"docs/packs.md does not show what a failing `rules test` prints:\n{p.stdout}"


def test_pack_reference_snippets_compile(cli, tmp_path: Path) -> None:
    """Every complete pack on the page compiles; every rule shown passes its own examples."""
    import yaml

    text = PACKS_DOC.read_text(encoding="utf-8")
    checked = 0
    for i, block in enumerate(_yaml_blocks(text)):
        doc = yaml.safe_load(block)
        if not isinstance(doc, dict) or not {"pack", "derive", "rules"} & set(doc) or doc.get("pack") == "riverside-clinic":
            continue  # a fragment, or the worked example (tested above)
        doc = {"pack": f"snippet-{i}", "version": "1.0.0", "title": "a snippet of docs/packs.md", **doc}
        path = tmp_path / f"snippet-{i}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        p = cli("rules", "test", str(path)) if doc.get("rules") else cli("rules", "list", "--pack", str(path))
        assert p.returncode == 0, f"the YAML example {i} of docs/packs.md does not work:\n{block}\n{p.stdout}{p.stderr}"
        checked += 1
    assert checked >= 4


# --------------------------------------------------------------------------- the run configuration

CONFIG_DOC = DOCS / "configuration.md"


def test_configuration_reference_documents_every_key() -> None:
    from typing import get_args

    from audit_engine.config import RunConfig

    keys = _section(CONFIG_DOC.read_text(encoding="utf-8"), "## Keys")
    rows = {r[0].strip("`"): r for r in _rows(keys)}
    assert set(rows) == set(RunConfig.model_fields), (
        f"docs/configuration.md documents {sorted(rows)}; the run configuration has {sorted(RunConfig.model_fields)}")
    fail_on = get_args(get_args(RunConfig.model_fields["fail_on"].annotation)[0])
    assert all(f"`{v}`" in rows["fail_on"][1] for v in fail_on)
    days = RunConfig.model_fields["waiver_max_days"]
    ge = next(m.ge for m in days.metadata if hasattr(m, "ge"))
    le = next(m.le for m in days.metadata if hasattr(m, "le"))
    assert rows["waiver_max_days"][1:3] == [f"whole number, {ge} to {le}", str(days.default)]


def test_configuration_reference_lists_every_limit_with_its_default() -> None:
    from audit_engine.limits import DEFAULT, Limits

    section = _section(CONFIG_DOC.read_text(encoding="utf-8"), "## Limits")
    rows = {r[0].strip("`"): r for r in _rows(section)}
    assert list(rows) == Limits.names(), f"docs/configuration.md lists the limits {list(rows)}, not {Limits.names()}"
    for name in Limits.names():
        assert rows[name][1].split(" ")[0] == f"{getattr(DEFAULT, name):,}", f"docs/configuration.md: default of {name}"
    assert "`0` means no cap" in rows["max_memory_mb"][2]


def test_configuration_reference_documents_every_environment_variable() -> None:
    section = _section(CONFIG_DOC.read_text(encoding="utf-8"), "## Environment variables")
    used = {name for path in sorted((ROOT / "audit_engine").rglob("*.py"))
            for name in re.findall(r"\bAUDIT_ENGINE_[A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8"))}
    assert used >= {"AUDIT_ENGINE_DB", "AUDIT_ENGINE_DB_SHARED", "AUDIT_ENGINE_TODAY"}
    assert {r[0].strip("`") for r in _rows(section)} == used


def test_configuration_reference_says_which_commands_read_it() -> None:
    import click

    from audit_engine.cli import command_tree

    where = " ".join(_section(CONFIG_DOC.read_text(encoding="utf-8"), "## Where it is found").split())
    none = next(s for s in where.split(". ") if s.endswith("read none"))

    def walk(group: click.Group, path: str):
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                yield from walk(cmd, f"{path}{name} ")
            else:
                yield f"{path}{name}", cmd

    for name, cmd in walk(command_tree(), ""):
        reads = any("--config" in p.opts for p in cmd.params if isinstance(p, click.Option))
        assert f"`{name}`" in where, f"docs/configuration.md does not say whether `{name}` reads a configuration"
        assert (f"`{name}`" in none) != reads, f"docs/configuration.md is wrong about `{name}` and --config"


def test_configuration_reference_examples_are_valid(tmp_path: Path) -> None:
    from audit_engine.config import read_config

    blocks = _yaml_blocks(CONFIG_DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        path = tmp_path / f"example-{i}.yaml"
        path.write_text(block, encoding="utf-8")
        read_config(path).limits_obj()  # raises ConfigError, with the problem's position, for an invalid example
    first = read_config(tmp_path / "example-0.yaml")
    assert first.params and first.packs and first.skip and first.fail_on and first.waivers and first.limits


# --------------------------------------------------------------------------- the reports reference

REPORTS_DOC = DOCS / "reports.md"
_KEY_HEADER = "| key | type | meaning |"

# document -> (the headings of docs/reports.md whose `| key | type | meaning |` tables document it,
#              the parts of it documented elsewhere: path -> (document, path there))
_REPORT_DOCS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, str]]]] = {
    "finding": (("## Findings",), {}),
    "waiver": (("#### Waiver entries",), {}),
    "audit": (("## The audit report (JSON)", "### Journey content", "### The waiver report", "### invocation"),
              {"runs[]": ("audit", ""), "findings[]": ("finding", ""),
               **{f"waivers.{k}[]": ("waiver", "") for k in ("applied", "expired", "stale", "not_checked")}}),
    "diff": (("## The diff (JSON)",), {f"{k}[]": ("finding", "") for k in ("new", "resolved", "unchanged")}),
    "gate": (("## The gate (JSON)",), {"new[]": ("finding", ""), "invocation": ("audit", "invocation")}),
    "history": (("## History (JSON)",), {"history[].waivers": ("audit", "waivers")}),
    "trend": (("## Trend (JSON)",), {}),
    "explain": (("## explain (JSON)",), {"finding": ("finding", "")}),
    "checklist": (("## checklist (JSON)",), {}),
    "rules": (("### rules list",), {}),
    "retired": (("### rules list --retired",), {}),
    "coverage": (("### rules coverage",), {}),
}
_JSON_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "object"}

_BADGE_PACK = """\
pack: badge-controls
version: 1.0.0
title: Badge readers count as identity verification
extends: [effective_control]
derive:
  - id: badge-is-identity-check
    fact: effective_control
    when:
      - {fact: touchpoint, as: t, where: {authentication: badge}}
    assert: {touchpoint: {ref: t.id}, type: identity_verification}
    because: "touchpoint {t.id} identifies the actor by badge"
"""

_RICH_CONFIG = """\
params: {max_auto_logoff_minutes: 10}
packs: [../packs/badge-controls.yaml]
skip: [CLIN-001]
fail_on: medium
"""


def _team_pack(version: str, rule: str, group: str, retired: str = "") -> str:
    return f"""\
pack: team
version: {version}
title: Team rules
{retired}rules:
  - id: {rule}
    title: The {group} group is asked for feedback
    severity: low
    subject: s.id
    subject_kind: stakeholder
    citations: [{{framework: other, text: internal policy CX-3, verified: S}}]
    rationale: Every group of people we serve is asked how the journey went.
    remediation: Add a feedback channel.
    when:
      - {{fact: stakeholder, as: s, where: {{group: {group}}}}}
    message: "Stakeholder {{s.id}} is in group {group}."
    examples:
      fires: [{{name: one, subjects: [x], map: {{stakeholders: [{{id: x, name: X, group: {group}}}]}}}}]
      passes: [{{name: none, map: {{}}}}]
"""


def _waiver(map_id: str, rule_id: str, target: str, expires: str) -> str:
    key = "fingerprint" if re.fullmatch(r"[0-9a-f]{32}", target) else "subject"
    return (f"  - {{map: {map_id}, rule_id: {rule_id}, {key}: {target}, reason: accepted for the test, "
            f"owner: owner@example.org, expires: {expires}}}\n")


def _documented_fingerprint(map_id: str, rule_id: str, subject: str, kind: str | None = None) -> str:
    """The fingerprint as docs/reports.md says it is computed (independently of the code)."""
    import hashlib

    text = f"audit-engine/v1\0{map_id}\0{rule_id}\0{subject}" + (f"\0{kind}" if kind else "")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@pytest.fixture(scope="module")
def report_outputs(tmp_path_factory) -> list[tuple[str, object]]:
    """Real JSON outputs of every command that writes JSON, as (document, parsed JSON): an audit of a
    map with journey content, every kind of waiver, a configuration, a notice and a skipped rule
    (alone and with a second map), gates with and without a baseline, explain, checklist, the rule
    lists and coverage, and history, trend and diffs of a SQLite store whose rule set changed."""
    import yaml

    from conftest import run_cli

    out: list[tuple[str, object]] = []

    def run(doc: str | None, *args: str, cwd: Path, status: tuple[int, ...] = (0,)) -> object:
        p = run_cli(*args, cwd=cwd, env={"COLUMNS": "120"})
        assert p.returncode in status, f"audit-engine {' '.join(args)} exited {p.returncode}:\n{p.stderr}"
        if doc is None:
            return None
        data = json.loads(p.stdout)
        out.append((doc, data))
        return data

    # a map with journey content, waivers (applied by subject and by fingerprint, expired, stale, stale
    # for another map, not checked), a configuration with a parameter, a skipped rule and a pack extending
    # a built-in fact type
    rich = tmp_path_factory.mktemp("rich")
    (rich / "maps").mkdir()
    (rich / "packs").mkdir()
    bh = yaml.safe_load((CONFORMANCE / "behavioral-health-intake.yaml").read_text(encoding="utf-8"))
    bh["stages"][0]["description"] = "Referrals arrive by fax, phone and the web form."
    next(t for t in bh["touchpoints"] if t.get("emotion"))["description"] = "The client fills in the web form."
    (rich / "maps" / "behavioral-health-intake.yaml").write_text(yaml.safe_dump(bh, sort_keys=False),
                                                                  encoding="utf-8")
    shutil.copy(CONFORMANCE / "patient-portal.v1.yaml", rich / "maps" / "patient-portal.yaml")
    (rich / "maps" / "audit-engine.yaml").write_text(_RICH_CONFIG, encoding="utf-8")
    (rich / "packs" / "badge-controls.yaml").write_text(_BADGE_PACK, encoding="utf-8")
    mid = bh["id"]
    (rich / "maps" / "audit-waivers.yaml").write_text("waivers:\n" + "".join([
        _waiver(mid, "CRED-001", "group-attendance", "2027-03-31"),
        _waiver(mid, "STK-004", _documented_fingerprint(mid, "STK-004", "client"), "2027-02-28"),
        _waiver(mid, "HDF-003", "group-attendance", "2026-11-01"),
        _waiver(mid, "HDF-009", "intake-form", "2027-01-31"),
        _waiver("bh-intake", "HDF-016", "summary-misaddressed", "2027-02-28"),
        _waiver(mid, "CLIN-001", "group-attendance", "2027-02-28"),
    ]), encoding="utf-8")
    bh_map = "maps/behavioral-health-intake.yaml"
    policy = str(FIXTURES / "policies" / "release-gate.yaml")
    run("audit", "audit", bh_map, "--no-store", "--format", "json", cwd=rich, status=(1,))
    run("audit", "audit", bh_map, "maps/patient-portal.yaml", "--no-store", "--format", "json", cwd=rich,
        status=(1,))
    run("gate", "gate", bh_map, "--policy", policy, "--db", "sqlite:///none.db", "--no-store", "--format", "json",
        cwd=rich, status=(1,))
    run("explain", "explain", bh_map, "HDF-003", "group-attendance", "--format", "json", cwd=rich)
    run("explain", "explain", bh_map, "HDF-002", "portal", "--format", "json", cwd=rich)
    run("checklist", "checklist", bh_map, "--format", "json", cwd=rich)
    run("rules", "rules", "list", "--format", "json", cwd=rich)
    run("retired", "rules", "list", "--retired", "--format", "json", cwd=rich)
    run("coverage", "rules", "coverage", "--format", "json", cwd=rich)

    # a store: three versions of a map with a waiver file, audited with rule sets that differ (a pack
    # added, then retiring its rule for another; a rule skipped; a parameter changed), the third
    # bringing back what the second fixed
    store = tmp_path_factory.mktemp("store")
    (store / "maps").mkdir()
    (store / "packs").mkdir()
    (store / "packs" / "team-v1.yaml").write_text(_team_pack("1.0.0", "TEAM-001", "patient"), encoding="utf-8")
    (store / "packs" / "team-v2.yaml").write_text(_team_pack(
        "2.0.0", "TEAM-002", "clinical",
        "retired:\n  - {id: TEAM-001, retired_in: '2.0.0', replaced_by: [TEAM-002], reason: now TEAM-002}\n"),
        encoding="utf-8")
    db = ["--db", "sqlite:///audit-engine.db"]
    v1 = (CONFORMANCE / "patient-portal.v1.yaml").read_text(encoding="utf-8")
    versions = [(v1, ["--pack", "packs/team-v1.yaml"]),
                ((CONFORMANCE / "patient-portal.v2.yaml").read_text(encoding="utf-8"),
                 ["--pack", "packs/team-v2.yaml", "--skip", "HDF-011", "--param", "max_breach_notification_days=90"]),
                (v1.replace('version: "1.0.0"', 'version: "1.2.0"', 1), [])]
    for i, (text, extra) in enumerate(versions):
        (store / "maps" / "patient-portal.yaml").write_text(text, encoding="utf-8")
        run(None, "audit", "maps/patient-portal.yaml", *db, *extra, cwd=store, status=(1,))
        if i == 0:  # the first version without waivers, the next ones with
            (store / "maps" / "audit-waivers.yaml").write_text(
                "waivers:\n" + _waiver("patient-portal", "HDF-018", "patient-portal", "2027-06-30"), encoding="utf-8")
    run("history", "history", *db, "--format", "json", cwd=store)
    run("trend", "trend", "patient-portal", *db, "--format", "json", cwd=store)
    run("diff", "diff", "patient-portal@1.0.0", "patient-portal@1.1.0", *db, "--pack", "packs/team-v2.yaml",
        "--format", "json", cwd=store)
    run("diff", "diff", "patient-portal@1.1.0", "patient-portal@1.2.0", *db, "--changed-only", "--format", "json",
        cwd=store)
    run("gate", "gate", "maps/patient-portal.yaml", "--policy", policy, "--baseline", "patient-portal@1.0.0", *db,
        "--no-store", "--format", "json", cwd=store, status=(0, 1))

    # two map files; and a finding whose severity changed between two versions
    run("diff", "diff", "fixtures/conformance/patient-portal.v1.yaml", "fixtures/conformance/patient-portal.v2.yaml",
        "--format", "json", cwd=ROOT)
    graded = tmp_path_factory.mktemp("graded")
    sepsis = (FIXTURES / "maps" / "ed-sepsis-pathway.yaml").read_text(encoding="utf-8")
    old = sepsis.replace("harm: death}", "harm: severe}").replace('version: "2.3.0"', 'version: "2.2.1"')
    assert old.count("harm: severe}") == sepsis.count("harm: severe}") + 1 and "2.2.1" in old
    (graded / "old.yaml").write_text(old, encoding="utf-8")
    (graded / "new.yaml").write_text(sepsis, encoding="utf-8")
    run("diff", "diff", "old.yaml", "new.yaml", "--format", "json", cwd=graded)
    return out


def _key_tables() -> dict[str, dict[str, str]]:
    """Per document of _REPORT_DOCS, key path -> type, from the key tables under its headings."""
    by_heading: dict[str, dict[str, str]] = {}
    heading, in_table = "", False
    for line in _prose(REPORTS_DOC.read_text(encoding="utf-8")):
        if _HEADING.match(line):
            heading, in_table = line.strip(), False
        elif line.strip() == _KEY_HEADER:
            in_table = True
            by_heading.setdefault(heading, {})
        elif in_table and line.startswith("| `"):
            key, kind = [c.strip() for c in line.strip().strip("|").split(" | ")][:2]
            assert key.strip("`") not in by_heading[heading], f"docs/reports.md: `{key}` twice under {heading}"
            by_heading[heading][key.strip("`")] = kind
        elif in_table and not line.startswith("|"):
            in_table = False
    out = {}
    for doc, (headings, _) in _REPORT_DOCS.items():
        missing = [h for h in headings if h not in by_heading]
        assert not missing, f"docs/reports.md has no key table under {missing}"
        out[doc] = {k: v for h in headings for k, v in by_heading[h].items()}
    return out


def _types(kind: str) -> set[str]:
    """`string or null` -> {string, null}; `array of strings` -> {array}; `mapping of ...` -> {mapping}."""
    return {alt.split()[0] for alt in kind.split(" or ")}


def _check_keys(outputs: list[tuple[str, object]]) -> tuple[list[str], set[tuple[str, str]]]:
    """(problems: undocumented keys and wrong types, the documented (document, path) pairs seen)."""
    tables = _key_tables()
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()

    def expand(places: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        todo = list(places)
        while todo:
            place = todo.pop(0)
            if place not in out:
                out.append(place)
                ref = _REPORT_DOCS[place[0]][1].get(place[1])
                if ref:
                    todo.insert(0, ref)
        return out

    def walk(node: object, places: list[tuple[str, str]], implied: str = "object or array") -> None:
        """``implied``: the type of a node no row documents by itself (the top of a document, the
        element of an array, as its array's row says: `array of strings`, or `array` of objects)."""
        places = expand(places)  # the document's own path first, then where a part of it is documented
        kinds = [tables[d][p] for d, p in places if p in tables[d]][:1] or [implied]  # the most specific row
        where = " or ".join(f"`{p}` of the {d}" for d, p in places if p)
        if not any(p in tables[d] for d, p in places) and not any(p == "" or p.endswith("[]") for d, p in places):
            problems.append(f"{where} is not documented")
            return
        seen.update((d, p) for d, p in places if p in tables[d])
        types = set().union(*map(_types, kinds))
        actual = _JSON_TYPES[type(node)]
        allowed = {actual, "number"} if actual == "integer" else {actual, "mapping"} if actual == "object" else {actual}
        if not allowed & types:
            problems.append(f"{where} is {actual}, documented as {' / '.join(kinds)}")
        if isinstance(node, dict) and "mapping" not in types:
            for key, value in node.items():
                walk(value, [(d, f"{p}.{key}" if p else key) for d, p in places])
        elif isinstance(node, list) and "array" in types:
            element = " or ".join(alt.split()[2].removesuffix("s") if alt.startswith("array of ") else "object"
                                  for kind in kinds for alt in kind.split(" or ") if alt.startswith("array"))
            for value in node:
                walk(value, [(d, f"{p}[]") for d, p in places], element)

    for doc, data in outputs:
        walk(data, [(doc, "")])
    return sorted(set(problems)), seen


def test_reports_reference_documents_every_key_of_the_json_outputs(report_outputs) -> None:
    problems, _ = _check_keys(report_outputs)
    assert not problems, "docs/reports.md does not match the JSON the commands write:\n" + "\n".join(problems)


def test_reports_reference_documents_only_keys_the_outputs_have(report_outputs) -> None:
    _, seen = _check_keys(report_outputs)
    unseen = [f"`{path}` of the {doc}" for doc, table in _key_tables().items() for path in table
              if (doc, path) not in seen]
    assert not unseen, "docs/reports.md documents keys no output has: " + ", ".join(unseen)


def test_reports_reference_says_how_fingerprints_are_computed(report_outputs, ruleset) -> None:
    text = REPORTS_DOC.read_text(encoding="utf-8")
    assert "audit-engine/v1\\0{map_id}\\0{rule_id}\\0{subject}" in text and "`\\0{subject_kind}` is appended" in text
    several = {rid for rid, (_, rule) in ruleset.program.rules.items() if len(rule.subject_kinds) > 1}
    assert several == {"SENS-001"} and "only `SENS-001` is such a rule" in text
    checked = kinds = 0
    for doc, data in report_outputs:
        if doc != "audit":
            continue
        for run in data.get("runs", [data]):  # type: ignore[union-attr]
            for f in run["findings"]:
                kind = f["subject_kind"] if f["rule_id"] in several else None
                assert f["fingerprint"] == _documented_fingerprint(run["map"]["id"], f["rule_id"], f["subject"], kind), f
                checked += 1
                kinds += kind is not None
    assert checked >= 40 and kinds >= 1


def test_reports_reference_documents_every_cause() -> None:
    from audit_engine import rulechange

    causes = {v for k, v in vars(rulechange).items() if k.isupper() and isinstance(v, str)}
    assert {"map", "rule_added", "rule_retired"} <= causes
    rows = _table_rows(_section(REPORTS_DOC.read_text(encoding="utf-8"), "### Causes"), "| cause | meaning |")
    assert {r[0].strip("`") for r in rows} == causes, "docs/reports.md: the causes table is not rulechange's causes"


def test_reports_reference_documents_every_exit_status_and_command() -> None:
    import click

    from audit_engine.cli import command_tree

    listed = {r[0] for r in _table_rows(_section((DOCS / "cli.md").read_text(encoding="utf-8"), "## Exit status"),
                                        "| status | meaning |")}
    section = _section(REPORTS_DOC.read_text(encoding="utf-8"), "## Output streams and exit status")
    documented = {r[0] for r in _table_rows(section, "| status | meaning |")}
    assert listed >= {"0", "1", "2", "130"}
    assert documented == listed, f"docs/reports.md documents the exit statuses {sorted(documented)}, " \
                                 f"docs/cli.md lists {sorted(listed)}"

    def leaves(group: click.Group, path: str):
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                yield from leaves(cmd, f"{path}{name} ")
            else:
                yield f"{path}{name}"

    per_command = {r[0].strip("`") for r in _table_rows(section, "| command | exit status 0 | exit status 1 |")}
    assert per_command == set(leaves(command_tree(), "")), "docs/reports.md: the exit statuses by command"


def test_reports_reference_gives_the_sarif_levels() -> None:
    from audit_engine.report.sarif import LEVEL, SECURITY_SEVERITY
    from audit_engine.severity import SEVERITIES

    rows = _table_rows(_section(REPORTS_DOC.read_text(encoding="utf-8"), "## SARIF"),
                       "| severity | level | security-severity |")
    assert {r[0]: (r[1], r[2]) for r in rows} == {s: (LEVEL[s], SECURITY_SEVERITY[s]) for s in SEVERITIES}


def _table_rows(section: str, header: str) -> list[list[str]]:
    """The cells of the rows of the table with this header line in ``section``."""
    rows: list[list[str]] = []
    lines = [line.strip() for line in section.splitlines()]
    assert header in lines, f"no table {header!r}"
    for line in lines[lines.index(header) + 1:]:
        if not line.startswith("|"):
            break
        if not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows
