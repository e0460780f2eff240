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
