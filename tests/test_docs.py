"""docs/ stays true: generated pages match the code, the format reference covers every
field of the models, the schema describes every property, the tutorial's commands do
what the tutorial says."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT

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
             if name.isupper() and isinstance(values, tuple) and values and all(isinstance(v, str) for v in values)
             and name != "SUBJECT_KINDS"}
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
    import json

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
