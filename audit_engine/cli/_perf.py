"""CLI hooks for speed: ``--timings`` (and, for many maps, ``--jobs``)."""

from __future__ import annotations

from typing import Any, Callable

import click


def timings_option(fn: Callable) -> Callable:
    """``--timings``: one JSON object on standard error, each phase's seconds and the peak RSS.

    The option is eager, so the recording opens before the rule packs are compiled; it is
    printed when the command ends, whatever its exit status.
    """

    def start(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value and not ctx.resilient_parsing:
            from ..timings import recording

            t = ctx.with_resource(recording())
            ctx.call_on_close(lambda: click.echo(t.to_json(), err=True))

    return click.option("--timings", is_flag=True, expose_value=False, is_eager=True, callback=start,
                        help="Print each phase's seconds and the peak memory as JSON on standard error.")(fn)


def phase(name: str) -> Any:
    from ..timings import phase as _phase

    return _phase(name)


def _expand(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    if not value or ctx.resilient_parsing:
        return value
    from ..batch import expand_maps

    return tuple(expand_maps(value))


def maps_argument(fn: Callable) -> Callable:
    """``MAPS...``: map files, folders of maps and globs (see ``batch.expand_maps``)."""
    return click.argument("maps", nargs=-1, required=True, type=click.Path(), callback=_expand)(fn)


def jobs_option(fn: Callable) -> Callable:
    return click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, show_default=True,
                        help="Processes to use (0: one per CPU): maps are audited in parallel, and a large "
                             "map's touchpoint shards too; 1 runs everything in this process.")(fn)


def progress(total: int, what: str = "auditing") -> Any:
    """A progress bar on standard error for ``total`` maps (see ``report.progress``)."""
    from ..report.progress import ProgressBar

    return ProgressBar(total, what)


def exit_now(code: object) -> None:
    """End the process with ``code`` once the output is flushed, skipping the interpreter's
    teardown (freeing every object and module one by one: 60 to 110 ms after an audit).
    Everything the CLI writes is written and flushed by then; the store has committed."""
    import os
    import sys

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # SystemExit("message"): printed, status 1, as Python does
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the report did not get out
        status = 2
    os._exit(status)
