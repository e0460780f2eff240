"""Regenerate the generated pages of docs/ (run `make docs`): docs/cli.md from the
command-line code and docs/rules.md from the rule packs. tests/project/test_docs.py checks the
committed pages are what the code produces today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def cli_reference() -> str:
    from audit_engine.cli import command_tree
    from audit_engine.report.cli_docs import render

    return render(command_tree())


def rule_reference() -> str:
    """What `audit-engine rules doc` prints (the command is the one source of docs/rules.md)."""
    p = subprocess.run([sys.executable, "-m", "audit_engine", "rules", "doc"], capture_output=True, text=True,
                       cwd=ROOT, check=False)
    if p.returncode != 0:
        raise SystemExit(f"audit-engine rules doc failed ({p.returncode}): {p.stderr}")
    return p.stdout


def main() -> None:
    for name, text in (("cli.md", cli_reference()), ("rules.md", rule_reference())):
        path = DOCS / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        path.write_text(text, encoding="utf-8")
        print(f"docs/{name}: {'unchanged' if old == text else 'written'}")


if __name__ == "__main__":
    main()
