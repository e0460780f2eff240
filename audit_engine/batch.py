"""Many maps at once: folders and globs of maps, and audits in parallel processes.

:func:`expand_maps` turns command-line arguments into map files: a file stays as given;
a folder gives every ``*.yaml``, ``*.yml`` and ``*.json`` directly in it that is a
journey map (it has a top-level ``format`` key, so waiver, config and policy files
beside the maps are left out); a glob (``maps/*.yaml``, ``maps/**/*.json``) gives the
journey maps it matches. Files are sorted within a folder or glob, and each is taken once.

:func:`audit_maps` audits them with :func:`audit.run_audits` in this process, or with
``jobs`` worker processes (one map alone: its engine run may use them, see
``Engine.evaluate``). Workers are forked once the rule set is compiled (and handed
to the rule engine), so they start with everything loaded; each audits whole maps, one at
a time, exactly as this process would (each map's findings are those of auditing it
alone) and sends back its findings, never the engine's evaluation. Results come back in
input order; as in a single process, nothing is returned if any map is invalid.
"""

from __future__ import annotations

import datetime as _dt
import glob
import json
import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from .errors import AuditEngineError, EngineError, InputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .limits import Limits
    from .audit import AuditResult, RuleSet

MAP_SUFFIXES = (".yaml", ".yml", ".json")
_GLOB = re.compile(r"[*?\[]")
_YAML_FORMAT_KEY = re.compile(rb"^(?:format|\"format\"|'format')[ \t]*:", re.MULTILINE)
_HEAD_BYTES = 1 << 16


def is_journey_map(path: str | Path) -> bool:
    """Does the file look like a journey map: a mapping with a top-level ``format`` key?

    YAML: a ``format:`` key at the start of a line (block style). JSON: an object whose
    keys include ``format``. Unreadable files are not maps.
    """
    p = Path(path)
    try:
        if p.suffix == ".json":
            doc = json.loads(p.read_bytes())
            return isinstance(doc, dict) and "format" in doc
        with open(p, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            if _YAML_FORMAT_KEY.search(head):
                return True
            rest = fh.read()
        return bool(rest) and _YAML_FORMAT_KEY.search(head[-64:] + rest) is not None
    except (OSError, ValueError):
        return False


def expand_maps(args: Iterable[str]) -> list[str]:
    """The map files named by ``args`` (files, folders, globs), each once, in order.

    Raises UsageError for a folder without journey maps or a glob that matches none.
    """
    out: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)

    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found = sorted(str(c) for c in p.iterdir() if c.suffix in MAP_SUFFIXES and c.is_file() and is_journey_map(c))
            if not found:
                raise UsageError(f"no journey maps in folder '{arg}' (*.yaml, *.yml or *.json with a format key)")
        elif not p.exists() and _GLOB.search(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            found = [m for m in matches if Path(m).suffix in MAP_SUFFIXES and Path(m).is_file() and is_journey_map(m)]
            if not found:
                raise UsageError(f"no journey maps match '{arg}'")
        else:
            found = [arg]  # a file (or a missing one: loading it says so)
        for f in found:
            add(f)
    return out


# --- auditing in worker processes -------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    waivers: str | None
    use_waivers: bool
    today: _dt.date | None
    max_waiver_days: int | None
    limits: Any = None  # limits.Limits


@dataclass(frozen=True)
class _Done:
    """What a worker sends back for one map (no rule set, no evaluation)."""

    index: int
    loaded: Any = None
    findings: tuple = ()
    seconds: float = 0.0
    waivers: Any = None
    other_map_waivers: tuple = ()
    timings: dict[str, float] | None = None
    error: tuple | None = None  # (exception class, diagnostics or message) of an AuditEngineError
    crash: str | None = None  # the traceback of anything else


_WORKER: dict[str, Any] = {}  # in a worker process: its rule set and options (see _start)


def _start(ruleset: "RuleSet", options: _Options, timed: bool) -> None:
    _WORKER.update(ruleset=ruleset, options=options, timed=timed)


def _audit_one(item: tuple[int, str]) -> _Done:
    from .audit import run_audits
    from .timings import recording

    index, path = item
    ruleset, o = _WORKER["ruleset"], _WORKER["options"]
    try:
        with recording() as t:
            (r,) = run_audits([path], ruleset, o.waivers, use_waivers=o.use_waivers, today=o.today,
                              max_waiver_days=o.max_waiver_days, limits=o.limits, across_maps=False)
        return _Done(index, r.loaded, r.findings, r.seconds, r.waivers, r.other_map_waivers,
                     dict(t.seconds) if _WORKER["timed"] else None)
    except InputError as exc:
        return _Done(index, error=(type(exc), list(exc.diagnostics)))
    except AuditEngineError as exc:
        return _Done(index, error=(type(exc), str(exc)))
    except Exception:  # a bug: say where, in the parent
        return _Done(index, crash=traceback.format_exc())


def _raise_first_error(maps: Sequence[str], done: Sequence[_Done]) -> None:
    """Raise what one process would have: the first invalid map (every map is loaded
    before any is audited), else the first other error."""
    from .errors import MapError

    errors = [d for d in done if d.error is not None or d.crash is not None]
    for d in sorted(errors, key=lambda d: (not (d.error and issubclass(d.error[0], MapError)), d.index)):
        if d.error is not None:
            cls, detail = d.error
            raise cls(detail)  # InputErrors take their diagnostics, the others their message
        raise EngineError(f"auditing {maps[d.index]} failed in a worker process:\n{d.crash}")


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def audit_maps(maps: Sequence[str], ruleset: "RuleSet", jobs: int = 1, waivers: str | None = None,
               use_waivers: bool = True, today: _dt.date | None = None, max_waiver_days: int | None = None,
               progress: Callable[[int], None] | None = None, limits: "Limits | None" = None) -> list["AuditResult"]:
    """Audit ``maps`` (in input order) in this process, or in ``jobs`` worker processes
    (``0``: one per CPU); a single map may run its engine's shards in that many processes.

    ``progress(n)`` is called as each map is done. With workers, results carry no
    evaluation (``AuditResult.evaluation`` is empty): run one process to explain findings.
    Processes are forked; where that is unavailable, the maps are audited here.
    """
    from .audit import run_audits
    from .limits import DEFAULT
    from .waivers import with_map_mismatches

    limits = limits or DEFAULT
    jobs = jobs if jobs > 0 else default_jobs()
    if jobs > 1 and len(maps) > 1:
        import multiprocessing

        if "fork" not in multiprocessing.get_all_start_methods():
            jobs = 1
    if jobs <= 1 or len(maps) <= 1:  # one map: its engine run may use the processes (Engine.evaluate)
        return run_audits(maps, ruleset, waivers, use_waivers=use_waivers, today=today, limits=limits,
                          max_waiver_days=max_waiver_days, on_done=(lambda _: progress(1)) if progress else None,
                          workers=jobs)
    jobs = min(jobs, len(maps))
    results = _in_workers(maps, ruleset, jobs, _Options(waivers, use_waivers, today, max_waiver_days, limits),
                          progress)
    return with_map_mismatches(results, today) if use_waivers else results


def _prepare(ruleset: "RuleSet") -> None:
    """Make, once and before forking, what every audit with this rule set makes on first use:
    the engine's rule set, its readers of activations and fact writers, the findings' rule
    views (each worker would otherwise make its own)."""
    from .findings import _rule_views

    ruleset.engine.prepare()
    _rule_views(ruleset.program)


def _in_workers(maps: Sequence[str], ruleset: "RuleSet", jobs: int, options: _Options,
                progress: Callable[[int], None] | None) -> list["AuditResult"]:
    import gc
    import multiprocessing

    from . import waivers as _waivers  # noqa: F401  (imported before forking: workers start with it)
    from .audit import AuditResult
    from .engine.run import Evaluation
    from .timings import current

    recorder = current()
    _prepare(ruleset)
    collecting = gc.isenabled()
    if collecting:  # what the workers inherit is never scanned (nor copied) by their collector
        gc.collect()
        gc.freeze()
    ctx = multiprocessing.get_context("fork")
    done: list[_Done | None] = [None] * len(maps)
    with ctx.Pool(jobs, initializer=_start, initargs=(ruleset, options, recorder is not None)) as pool:
        chunk = max(1, len(maps) // (jobs * 8))  # fewer, larger messages; still balanced
        for d in pool.imap_unordered(_audit_one, list(enumerate(maps)), chunksize=chunk):
            done[d.index] = d
            if progress:
                progress(1)
    if collecting:
        gc.unfreeze()
    finished = [d for d in done if d is not None]
    _raise_first_error(maps, finished)
    results = []
    for d in finished:
        if recorder is not None and d.timings:
            recorder.merge(d.timings)
        results.append(AuditResult(d.loaded, ruleset, d.findings, Evaluation([]), d.seconds, d.waivers,
                                   d.other_map_waivers))
    return results
