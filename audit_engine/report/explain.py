"""``audit-engine explain``: why a rule fired for a subject (its evidence), or why not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._options import RenderOptions
from ._text import dump_json, one_line

if TYPE_CHECKING:  # pragma: no cover
    from ..explain import Explanation


def render_json(ex: "Explanation", options: RenderOptions) -> str:
    return dump_json(ex.to_dict())


def render_text(ex: "Explanation", options: RenderOptions) -> str:
    if ex.fired and ex.finding is not None:
        f = ex.finding
        lines = [f"{ex.rule_id} fired for {ex.subject} ({f.severity}){' [waived]' if f.waived else ''}: {f.message}",
                 "because:", *(f"  - {e}" for e in f.evidence), f"at {f.location}"]
    else:
        lines = [f"{ex.rule_id} did not fire for {ex.subject}:", *(f"  - {r}" for r in ex.reasons)]
    return "\n".join(one_line(line) for line in lines) + "\n"
