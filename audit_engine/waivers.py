"""Waivers: accepted risks on the record (placeholder until the waiver module lands)."""

from __future__ import annotations

from typing import Any


def apply_waivers(result: Any, path: str | None) -> None:
    return None
