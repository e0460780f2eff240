"""The progress bar of an audit of many maps: on standard error, only on a terminal and
for more than one map (rich), nothing otherwise. ``advance(n)`` is None when no bar is
shown, so callers pass it straight on as an optional callback."""

from __future__ import annotations

import sys
from typing import Any, Callable


class ProgressBar:
    def __init__(self, total: int, what: str = "auditing") -> None:
        self.total, self.what = total, what
        self._bar: Any = None
        self.advance: Callable[[int], None] | None = None

    def __enter__(self) -> "ProgressBar":
        stream = sys.stderr
        if self.total > 1 and stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn(self.what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=Console(file=stream), transient=True)
            self._bar.start()
            task = self._bar.add_task(self.what, total=self.total)
            self.advance = lambda n: self._bar.advance(task, n)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
