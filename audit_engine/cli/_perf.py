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
