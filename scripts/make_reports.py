"""Regenerate reports/ from fixtures/ (run `make reports`); tests/test_reports_current.py
checks the committed reports are what the code produces today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = "fixtures/maps/ed-sepsis-pathway.yaml"
OLD = "fixtures/history/ed-sepsis-pathway.2.2.0.yaml"
AS_OF = "2026-12-01"  # the reports are audits as of this day (waiver expiry), so they never go stale by themselves

JOBS: list[tuple[str, list[str]]] = [
    ("ed-sepsis-pathway.txt", ["audit", MAP, "--no-store", "--fail-on", "none"]),
    ("ed-sepsis-pathway.json", ["audit", MAP, "--no-store", "--fail-on", "none", "--format", "json"]),
    ("ed-sepsis-pathway.sarif", ["audit", MAP, "--no-store", "--fail-on", "none", "--format", "sarif"]),
    ("ed-sepsis-pathway.junit.xml", ["audit", MAP, "--no-store", "--fail-on", "high", "--format", "junit"]),
    ("ed-sepsis-pathway.md", ["audit", MAP, "--no-store", "--fail-on", "none", "--format", "markdown"]),
    ("ed-sepsis-pathway.html", ["audit", MAP, "--no-store", "--fail-on", "none", "--format", "html"]),
    ("ed-sepsis-pathway.checklist.json", ["checklist", MAP, "--format", "json"]),
    ("ed-sepsis-pathway.diff.md", ["diff", OLD, MAP, "--format", "markdown"]),
    ("ed-sepsis-pathway.diff.json", ["diff", OLD, MAP, "--format", "json"]),
    ("rules-coverage.txt", ["rules", "coverage"]),
]


def generate(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, args in JOBS:
        p = subprocess.run([sys.executable, "-m", "audit_engine", *args], capture_output=True, text=True, cwd=ROOT,
                           env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "TZ": "UTC",
                                "AUDIT_ENGINE_TODAY": AS_OF})
        if p.returncode not in (0, 1):
            raise SystemExit(f"audit-engine {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        (out_dir / name).write_text(p.stdout, encoding="utf-8")
        written.append(out_dir / name)
    return written


if __name__ == "__main__":
    for path in generate(ROOT / "reports"):
        print(path.relative_to(ROOT))
