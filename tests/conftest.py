from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def ruleset():
    """The shipped packs with default parameters, compiled once per test session."""
    from audit_engine.audit import RuleSet

    return RuleSet.load()
