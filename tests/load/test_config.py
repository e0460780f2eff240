"""Run configuration: audit-engine.yaml beside the map, or --config FILE."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import CONFORMANCE

MED = CONFORMANCE / "medication-administration.yaml"


def _rules(stdout: str) -> set[str]:
    return {f"{f['rule_id']} {f['subject']}" for f in json.loads(stdout)["findings"]}


def test_config_beside_the_map_sets_params_and_skip(cli, tmp_path: Path) -> None:
    shutil.copy(MED, tmp_path / "med.yaml")
    (tmp_path / "audit-engine.yaml").write_text(
        "params: {max_auto_logoff_minutes: 30, max_investigation_sla_days: 90}\nskip: [CLIN-003]\n")
    p = cli("audit", str(tmp_path / "med.yaml"), "--format", "json", "--no-store", "--fail-on", "none")
    got = _rules(p.stdout)
    assert "CRED-003 wow" not in got and "SAFE-004 incident-report" not in got
    assert not any(r.startswith("CLIN-003") for r in got)
    assert "CLIN-001 scan-administer" in got


def test_command_line_params_win_over_the_config(cli, tmp_path: Path) -> None:
    shutil.copy(MED, tmp_path / "med.yaml")
    (tmp_path / "audit-engine.yaml").write_text("params: {max_auto_logoff_minutes: 30}\n")
    p = cli("audit", str(tmp_path / "med.yaml"), "--format", "json", "--no-store", "--fail-on", "none",
            "--param", "max_auto_logoff_minutes=15")
    assert "CRED-003 wow" in _rules(p.stdout)


def test_explicit_config_with_a_user_pack_and_fail_on(cli, tmp_path: Path) -> None:
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    (cfg_dir / "team.yaml").write_text(
        "pack: team\nversion: 1.0.0\ntitle: Team rules\nrules:\n"
        "  - id: TEAM-001\n    title: Every stage has a description\n    severity: low\n"
        "    subject: s.id\n    subject_kind: stage\n    citation: team handbook\n"
        "    rationale: Stage descriptions help reviewers follow the journey.\n"
        "    remediation: Add a description.\n"
        "    when: [{fact: stage, as: s}]\n    message: 'Stage {s.id} is listed.'\n"
        "    examples:\n      fires: [{name: one stage, subjects: [visit], map: {}}]\n"
        "      passes: [{name: none, map: {stages: []}}]\n")
    (cfg_dir / "run.yaml").write_text("packs: [team.yaml]\nonly: [team]\nfail_on: low\n")
    p = cli("audit", str(MED), "--config", str(cfg_dir / "run.yaml"), "--no-store", "--format", "json")
    assert p.returncode == 1, p.stderr  # fail_on low from the config
    assert {f["rule_id"] for f in json.loads(p.stdout)["findings"]} == {"TEAM-001"}


def test_bad_config_is_exit_2_with_position(cli, tmp_path: Path) -> None:
    shutil.copy(MED, tmp_path / "med.yaml")
    (tmp_path / "audit-engine.yaml").write_text("params:\n  max_auto_logoff_minutes: thirty\nskipp: []\n")
    p = cli("audit", str(tmp_path / "med.yaml"), "--no-store")
    assert p.returncode == 2
    assert "audit-engine.yaml:2:" in p.stderr and "audit-engine.yaml:3:" in p.stderr
    assert "Traceback" not in p.stderr
