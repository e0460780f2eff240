"""The one exception hierarchy of audit-engine.

Every error a user can cause derives from :class:`AuditEngineError`; its message is
written for the person who has to fix the input (a compliance analyst, a pack author,
the owner of a CI job), not for a Python programmer. The CLI catches the base class in
one place, prints the message and exits with status 2.

    AuditEngineError                  anything the user can fix; exit status 2
    ├── InputError                    a file the user gave us is unusable
    │   ├── MapError                  a journey map is unreadable or invalid (has .diagnostics)
    │   ├── PackError                 a rule pack is unreadable or invalid (has .diagnostics)
    │   ├── ConfigError               a config, policy or waiver file is invalid (has .diagnostics)
    ├── UsageError                    an unknown option value, rule id or pack ("did you mean")
    ├── EngineError                   the rule engine refused or failed; no partial result is returned
    │   └── CapacityError             the map exceeds a hard limit of the engine
    ├── StoreError                    the findings store is unreachable, read-only or out of date
    └── OutputError                   the report could not be written (nothing was stored)

Each ``diagnostics`` entry is a :class:`Diagnostic` carrying file, line and column.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True, order=True)
class Location:
    """A place in a source file; line and column are 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column}


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in an input file."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class AuditEngineError(Exception):
    """Base of every error a user can act on."""

    exit_code = 2


class InputError(AuditEngineError):
    """A file given to the engine cannot be used; ``diagnostics`` says where and why."""

    kind = "input"

    def __init__(self, diagnostics: Sequence[Diagnostic] | Diagnostic | str, file: str | None = None,
                 note: str | None = None):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(Location(file or "<input>", 1, 1), diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = sorted(_unquoted(d) for d in diagnostics)
        self.note = note  # e.g. how many more problems were not shown
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.diagnostics)
        head = f"{n} problem{'s' if n != 1 else ''} in {self.kind}"
        tail = f"\n  ({self.note})" if self.note else ""
        return head + ":\n" + "\n".join(f"  {d}" for d in self.diagnostics) + tail


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`")
_BARE = re.compile(r"\bthe number [^\s;,)]+|[^\s(]+(?= \(which YAML reads as)")  # values the loader names unquoted
SYMLINK_NOTE = "(not quoted: the file is reached through a symbolic link)"


@functools.lru_cache(maxsize=256)
def through_symlink(file: str) -> bool:
    """Is ``file`` reached through a symbolic link (itself or a folder on its path)?"""
    try:
        return os.path.exists(file) and os.path.realpath(file) != os.path.abspath(file)
    except (OSError, ValueError):
        return False


def _unquoted(d: Diagnostic) -> Diagnostic:
    """A diagnostic about a file reached through a symbolic link quotes none of its content:
    the link may point at a secret (``map.yaml -> ~/.pgpass``) and CI logs are widely read."""
    if not through_symlink(d.location.file):
        return d
    message = _BARE.sub(lambda m: "a number" if m.group().startswith("the number") else "a value", d.message)
    return Diagnostic(d.location, _QUOTED.sub("'…'", message) + " " + SYMLINK_NOTE)


class MapError(InputError):
    """A journey map could not be read or failed validation."""

    kind = "journey map"


class PackError(InputError):
    """A rule pack could not be read or failed validation."""

    kind = "rule pack"


class ConfigError(InputError):
    """A configuration, gate policy or waiver file is invalid."""

    kind = "configuration"


class UsageError(AuditEngineError):
    """The command line names something that does not exist."""

    def __init__(self, message: str, suggestions: Iterable[str] = ()):
        suggestions = list(suggestions)
        if suggestions:
            message += f" (did you mean {' or '.join(repr(s) for s in suggestions)}?)"
        super().__init__(message)


class EngineError(AuditEngineError):
    """The rule engine failed; the audit produced no result rather than a partial one."""


class CapacityError(EngineError):
    """The map is larger than a hard limit of the rule engine allows."""

    @classmethod
    def out_of_memory(cls) -> "CapacityError":
        return cls("the audit ran out of memory (limits.max_memory_mb): a rule joins too many facts with each other "
                   "(a pack with a weakly joined condition?), or the map is larger than the limit allows; no findings "
                   "were produced")


class StoreError(AuditEngineError):
    """The findings store cannot be used (unreachable, read-only, schema out of date)."""


class OutputError(AuditEngineError):
    """A report or chart could not be written (an unwritable ``-o``, a full disk, a closed pipe)."""


def did_you_mean(word: str, choices: Iterable[str], n: int = 2) -> list[str]:
    """Close matches for ``word`` among ``choices`` (case-insensitive), best first."""
    import difflib

    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]
