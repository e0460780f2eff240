"""Where an audit's time goes: seconds per pipeline phase, and the peak memory.

Recording is off unless a caller opens :func:`recording`; the pipeline marks its phases
with :func:`phase`, which costs one context-variable read when nothing records::

    with recording() as t:
        results = run_audits(maps, ruleset)
    print(t.to_json())   # {"load": 0.41, "validate": 0.12, ..., "peak_rss_mb": 312.5}

Phases (in pipeline order, summed over the maps of a run): ``rules`` (reading and
compiling the packs), ``load`` (reading and parsing a map), ``validate`` (its shape and
references), ``facts``, ``engine``, ``findings``, ``waivers``, ``store``, ``report``.
A phase nested in another is not counted twice: the outer one stops its clock.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

PHASES = ("rules", "load", "validate", "facts", "engine", "findings", "waivers", "store", "report")


class Timings:
    """Seconds per phase (wall clock), recorded by :func:`phase` while this is current."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()
        self._stack: list[list] = []  # [name, started, paused seconds] of the open phases

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def merge(self, other: dict[str, float]) -> None:
        """Add the phases another process recorded (``--jobs``)."""
        for name, seconds in other.items():
            self.add(name, seconds)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        now = time.perf_counter()
        if self._stack:  # the enclosing phase stops its clock meanwhile
            outer = self._stack[-1]
            self.add(outer[0], now - outer[1])
        self._stack.append([name, now])
        try:
            yield
        finally:
            end = time.perf_counter()
            _, begun = self._stack.pop()
            self.add(name, end - begun)
            if self._stack:
                self._stack[-1][1] = end

    def as_dict(self) -> dict[str, float]:
        """Every phase (known ones first, in pipeline order), the total, and the peak RSS in MB."""
        out = {name: round(self.seconds.get(name, 0.0), 4) for name in PHASES}
        out.update({k: round(v, 4) for k, v in sorted(self.seconds.items()) if k not in out})
        out["total"] = round(time.perf_counter() - self.started, 4)
        startup = _process_age()
        if startup is not None:  # from the process start to the recording's (interpreter, imports)
            out["startup"] = round(max(0.0, startup - out["total"]), 4)
        out["peak_rss_mb"] = peak_rss_mb()
        children = peak_rss_mb(resource.RUSAGE_CHILDREN)
        if children:
            out["peak_rss_children_mb"] = children
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict())


_CURRENT: ContextVar[Timings | None] = ContextVar("audit_engine_timings", default=None)


@contextmanager
def recording(timings: Timings | None = None) -> Iterator[Timings]:
    """Record the phases run inside the block (in this thread or task)."""
    t = timings or Timings()
    token = _CURRENT.set(t)
    try:
        yield t
    finally:
        _CURRENT.reset(token)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def phase(name: str):  # type: ignore[no-untyped-def]
    """A context manager timing ``name`` if something records, else doing nothing."""
    t = _CURRENT.get()
    return _nothing() if t is None else t.phase(name)


def current() -> Timings | None:
    return _CURRENT.get()


def _process_age() -> float | None:
    """Seconds since this process started (Linux), else None."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            started = int(fh.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - started / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory in MB (of this process, or of its largest waited-for child).

    For this process, Linux's ``VmHWM``: ``ru_maxrss`` also counts the peak of the process
    that forked this one (a benchmark or a test runner), which exec does not reset."""
    if who == resource.RUSAGE_SELF:
        try:
            with open("/proc/self/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return round(int(line.split()[1]) / 1024, 1)
        except (OSError, ValueError, IndexError):
            pass
    kb = resource.getrusage(who).ru_maxrss
    return round(kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024, 1)
