"""Message templates of rule packs: ``{alias.field}`` placeholders, nothing else.

No format specs, no attribute access, no expressions: a pack is data and a template
can only read values of the facts a rule matched (and ``{param.name}``).
"""

from __future__ import annotations

import re
from functools import lru_cache
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


@lru_cache(maxsize=4096)
def _parts(text: str) -> tuple[str, ...]:
    """``text`` split at its placeholders: literal, alias, field, literal, alias, field, ..., literal."""
    return tuple(_PLACEHOLDER.split(text))


def render(text: str, values: Mapping[str, Mapping[str, Any]]) -> str:
    """Fill ``{alias.field}`` from ``values[alias][field]``; absent values read "(none)"."""
    parts = _parts(text)
    if len(parts) == 1:
        return text
    out = [parts[0]]
    for k in range(1, len(parts), 3):
        v = values.get(parts[k], _EMPTY).get(parts[k + 1])
        out.append(v if type(v) is str else _show(v))
        out.append(parts[k + 2])
    return "".join(out)


_EMPTY: Mapping[str, Any] = {}
