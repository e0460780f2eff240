"""Message templates of rule packs: ``{alias.field}`` placeholders, nothing else.

No format specs, no attribute access, no expressions: a pack is data and a template
can only read values of the facts a rule matched (and ``{param.name}``).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\.([a-z][a-z0-9_]*)\}")


def placeholders(text: str) -> list[tuple[str, str]]:
    return _PLACEHOLDER.findall(text)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value) or "(none)"
    return str(value)


def render(text: str, values: Mapping[str, Mapping[str, Any]]) -> str:
    """Fill ``{alias.field}`` from ``values[alias][field]``; absent values read "(none)"."""

    def sub(m: re.Match[str]) -> str:
        return _show(values.get(m.group(1), {}).get(m.group(2)))

    return _PLACEHOLDER.sub(sub, text)
