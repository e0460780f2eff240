"""Memory for the rule engine: huge pages, and freed memory kept for reuse (Linux, glibc 2.35+).

durable-rules keeps every fact in a node of about 8.8 KB and finds a fact by walking a
chain of such nodes (512 chains per state), so a large audit spends much of its time on
TLB misses and page faults. Two glibc tunables help:

* ``glibc.malloc.hugetlb=1``: malloc asks for transparent huge pages (where the kernel
  gives them only on request, ``madvise`` mode, the common default). The engine's C time
  drops 25 to 35% (measured at 1,500 and 15,000 touchpoints) for about 3% more memory.
* ``glibc.malloc.mmap_threshold`` (256 MB) and ``glibc.malloc.trim_threshold`` (4 GB):
  a state's pools come from the heap and what a deleted state frees is reused by the next
  one, instead of being unmapped and faulted in (and zeroed) again: about 10% less time at
  15,000 touchpoints, for a higher peak (600 -> 810 MB there).

A tunable is read once, when the process starts, so the command line restarts itself with
them, and only when a map is large enough for the restart (about 20 ms) to pay.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

TUNABLES = ("glibc.malloc.hugetlb=1", "glibc.malloc.mmap_threshold=268435456",
            "glibc.malloc.trim_threshold=4294967295")
TUNABLE = TUNABLES[0]
MARK = "AUDIT_ENGINE_HUGEPAGES"  # set in the restarted process (and to 0 by a user: never restart)
MIN_MAP_BYTES = 256 * 1024
_SUFFIXES = (".yaml", ".yml", ".json")


def _largest_map(args: Sequence[str]) -> int:
    """The size of the largest file named in ``args`` (or directly in a folder named there)."""
    largest = 0
    for a in args:
        if a.startswith("-"):
            continue
        try:
            p = Path(a)
            if p.is_file():
                largest = max(largest, p.stat().st_size)
            elif p.is_dir():
                for child in p.iterdir():
                    if child.suffix in _SUFFIXES and child.is_file():
                        largest = max(largest, child.stat().st_size)
        except OSError:
            continue
    return largest


def worthwhile(args: Sequence[str], environ: dict[str, str] | None = None) -> bool:
    """Would restarting with the tunable help a command run with ``args``?"""
    env = os.environ if environ is None else environ
    if sys.platform != "linux" or MARK in env:
        return False
    given = env.get("GLIBC_TUNABLES", "")
    if any(t.split("=")[0] in given for t in TUNABLES):  # the user's own choice stands
        return False
    if _largest_map(args) < MIN_MAP_BYTES:
        return False
    import platform

    libc, version = platform.libc_ver()
    try:
        if libc != "glibc" or tuple(int(x) for x in version.split(".")[:2]) < (2, 35):
            return False
    except ValueError:
        return False
    return True


def restart_with_hugepages(args: Sequence[str]) -> None:
    """Replace this process by the same command with huge pages on, if that helps; else return."""
    if not worthwhile(args):
        return
    env = dict(os.environ)
    ours = ":".join(TUNABLES)
    env["GLIBC_TUNABLES"] = f"{env['GLIBC_TUNABLES']}:{ours}" if env.get("GLIBC_TUNABLES") else ours
    env[MARK] = "1"
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, argv, env)
    except OSError:
        return  # carry on without
