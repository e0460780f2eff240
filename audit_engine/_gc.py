"""Pausing Python's cycle collector around allocation-heavy steps."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused() -> Iterator[None]:
    """Pause the cycle collector: loading a map and running the engine create millions of
    objects and no cycles, and repeated full collections would multiply their time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
