from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

# Waiver expiry depends on today's date: the suite audits as of a fixed day, whenever it runs.
os.environ.setdefault("AUDIT_ENGINE_TODAY", "2026-12-01")
# The command line caches compiled rule sets (_rulecache.py): in a folder of this run, not the user's.
if "AUDIT_ENGINE_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["AUDIT_ENGINE_CACHE_DIR"] = tempfile.mkdtemp(prefix="audit-engine-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CONFORMANCE = FIXTURES / "conformance"  # the project's reference maps and their expected findings


def run_cli(*args: str, cwd: str | Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (as a user would)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "audit_engine", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=full_env, timeout=300)


@pytest.fixture(autouse=True)
def _uncapped_address_space():
    """A command run in-process (CliRunner, main([...])) caps the address space of its
    process (limits.max_memory_mb), which is this test process: lift it after each test,
    or a later test (Chromium reserves far more address space than it uses) would fail."""
    import resource

    before = resource.getrlimit(resource.RLIMIT_AS)
    yield
    if resource.getrlimit(resource.RLIMIT_AS) != before:
        resource.setrlimit(resource.RLIMIT_AS, before)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def ruleset():
    """The shipped packs with default parameters, compiled once per test session."""
    from audit_engine.audit import RuleSet

    return RuleSet.load()


class _NoAliases(yaml.SafeDumper):
    """Packs refuse YAML aliases: write shared values out."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_pack(tmp_path: Path, pack: dict[str, Any], name: str = "pack.yaml") -> str:
    """Write a terse pack (rules without prose) with the fields the schema requires."""
    for d in pack.get("derive", []):
        d.setdefault("because", f"derived by {d['id']}")
    for r in pack.get("rules", []):
        r.setdefault("title", f"regression rule {r['id']}")
        r.setdefault("severity", "info")
        r.setdefault("citation", "none")
        r.setdefault("rationale", "a regression test of the engine wrapper")
        r.setdefault("remediation", "nothing to do")
        r.setdefault("message", "{" + r["subject"] + "} matched")
        r.setdefault("examples", {"fires": [{"name": "x", "subjects": ["x"], "map": {}}],
                                  "passes": [{"name": "y", "map": {}}]})
    pack = {"version": "1.0.0", "title": "regression pack", **pack}
    path = tmp_path / name
    path.write_text(yaml.dump(pack, Dumper=_NoAliases, sort_keys=False), encoding="utf-8")
    return str(path)


# A map whose every text field is hostile to some output format (HTML, Markdown, XML, terminals).
HOSTILE_MAP = """\
format: 1
id: hostile
name: "<script>alert('map')</script>"
version: "1.0.0"
stakeholders:
  - {id: nurse, name: "Nurse <b>pool</b> | & co \\x01", group: clinical}
  - {id: clerk, name: "</script><script>alert(2)</script>", group: administrative}
stages:
  - {id: care, name: "Care \\u2028 <i>now</i>"}
systems:
  - {id: ehr, name: EHR, ehr: true}
data:
  - {id: chart, name: "</script><!-- \\u2028\\u2029 & <b>", classification: phi}
touchpoints:
  - id: shared-login
    name: "<img src=x onerror=alert(1)> | [link](javascript:alert(1)) *bold* `code` ]]>"
    stage: care
    stakeholder: nurse
    system: ehr
    authentication: shared
    data_access: [{data: chart, actions: [view]}]
    emotion: very_negative
    pain_points: ["</script><script>alert(3)</script>", "tab\\there \\x7f del"]
    moment_that_matters: true
  - id: desk
    name: "Desk \\" onclick=\\"alert(4)"
    stage: care
    stakeholder: clerk
    system: ehr
    authentication: unique
    data_access: [{data: chart, actions: [view]}]
data_flows:
  - {id: handover, from: shared-login, to: desk, data: [chart], encrypted: false, purpose: treatment,
     description: "<svg onload=alert(5)>"}
"""
