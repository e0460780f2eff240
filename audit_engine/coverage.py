"""The compliance coverage view: framework requirements (data files in
``rules/frameworks/``) and the rules that check each; the rest are manual."""

from __future__ import annotations

from ._resources import rules_dir
from typing import Any

import yaml

from .audit import RuleSet


def frameworks() -> list[dict[str, Any]]:
    root = rules_dir() / "frameworks"
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(root.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".yaml")]


def coverage(ruleset: RuleSet) -> dict[str, Any]:
    active = set(ruleset.program.rules)
    out = []
    for fw in frameworks():
        reqs = [{"id": r["id"], "title": r["title"], "rules": [x for x in r.get("rules", []) if x in active]}
                for r in fw["requirements"]]
        automated = sum(1 for r in reqs if r["rules"])
        out.append({"framework": fw["framework"], "title": fw["title"], "requirements": reqs,
                    "automated": automated, "manual": len(reqs) - automated})
    mapped = {x for fw in out for r in fw["requirements"] for x in r["rules"]}
    return {"frameworks": out, "unmapped_rules": sorted(active - mapped)}
