"""Where the files shipped with the package are: the built-in rule packs.

The packs live in the repository's top-level ``rules/`` folder. A wheel carries a copy as
``audit_engine/rules`` (setup.py's build step); a checkout, installed editable or not,
finds the folder beside the package.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def rules_dir() -> Path:
    """The folder of the built-in rule packs."""
    for candidate in (_HERE / "rules", _HERE.parent / "rules"):
        if (candidate / "core.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"the built-in rule packs are missing (looked in {_HERE / 'rules'} and "
                            f"{_HERE.parent / 'rules'}): reinstall audit-engine")
