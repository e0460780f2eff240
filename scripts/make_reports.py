"""Regenerate reports/ from fixtures/ (run `make reports`); tests/report/test_reports_current.py
checks the committed reports are what the code produces today.

Besides the reports of the demo map, reports/ holds an HTML page per fixture map
(fixtures/maps/ and fixtures/conformance/) and one with history: the demo map audited
after its previous version (fixtures/history/), both recorded in a temporary store.
tests/report/test_html_report.py adds a screenshot of that page (reports/*.html.png).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = "fixtures/maps/ed-sepsis-pathway.yaml"
OLD = "fixtures/history/ed-sepsis-pathway.2.2.0.yaml"
DB = "{db}"  # replaced by a temporary SQLite store, one per job
AS_OF = "2026-12-01"  # the reports are audits as of this day (waiver expiry), so they never go stale by themselves

Command = list[str]
JOBS: list[tuple[str, Command | list[Command]]] = [
    ("ed-sepsis-pathway.txt", ["audit", MAP, "--no-store", "--fail-on", "none"]),
    ("ed-sepsis-pathway.json", ["audit", MAP, "--no-store", "--fail-on", "none", "--format", "json"]),
    ("ed-sepsis-pathway.sarif", ["audit", MAP, "--no-store", "--fail-on", "none", "--format", "sarif"]),
    ("ed-sepsis-pathway.junit.xml", ["audit", MAP, "--no-store", "--fail-on", "high", "--format", "junit"]),
    ("ed-sepsis-pathway.md", ["audit", MAP, "--no-store", "--fail-on", "none", "--format", "markdown"]),
    ("ed-sepsis-pathway.html", ["audit", MAP, "--no-store", "--fail-on", "none", "--format", "html"]),
    ("ed-sepsis-pathway.history.html", [  # the last command's output is the report
        ["audit", OLD, "--db", DB, "--fail-on", "none", "--format", "json"],
        ["audit", MAP, "--db", DB, "--fail-on", "none", "--format", "html"],
    ]),
    ("ed-sepsis-pathway.checklist.json", ["checklist", MAP, "--format", "json"]),
    ("ed-sepsis-pathway.diff.md", ["diff", OLD, MAP, "--format", "markdown"]),
    ("ed-sepsis-pathway.diff.json", ["diff", OLD, MAP, "--format", "json"]),
    ("rules-coverage.txt", ["rules", "coverage"]),
    *((f"{p.stem}.html", ["audit", f"fixtures/conformance/{p.name}", "--no-store", "--fail-on", "none",
                          "--format", "html"]) for p in sorted((ROOT / "fixtures/conformance").glob("*.yaml"))),
]


def _run(args: Command) -> str:
    p = subprocess.run([sys.executable, "-m", "audit_engine", *args], capture_output=True, text=True, cwd=ROOT,
                       env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "TZ": "UTC", "AUDIT_ENGINE_TODAY": AS_OF})
    if p.returncode not in (0, 1):
        raise SystemExit(f"audit-engine {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p.stdout


def generate(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in JOBS:
        commands: list[Command] = spec if isinstance(spec[0], list) else [spec]  # type: ignore[assignment,list-item]
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{Path(tmp) / 'store.db'}"
            for args in commands:
                text = _run([db if a == DB else a for a in args])
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    return written


if __name__ == "__main__":
    for path in generate(ROOT / "reports"):
        print(path.relative_to(ROOT))
