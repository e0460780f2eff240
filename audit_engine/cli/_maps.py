"""`audit-engine validate MAP...` and `audit-engine schema`."""

from __future__ import annotations

import click

from ..report._text import one_line
from . import cli
from ._common import note
from ._output import write_output


@cli.command()
@click.argument("maps", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(maps: tuple[str, ...]) -> None:
    """Check journey maps against the format; report every problem with file:line:column."""
    from ..errors import MapError
    from ..loader import load_map

    problems: list[str] = []
    for m in maps:
        try:
            lm = load_map(m)
            click.echo(one_line(f"{m}: ok (map {lm.map.id} version {lm.map.version}, "
                                f"{len(lm.map.touchpoints)} touchpoints)"))
        except MapError as exc:
            problems.extend(str(d) for d in exc.diagnostics)
    if problems:
        for p in problems:
            note(p)
        note(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
        raise SystemExit(2)


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False))
def schema(output: str | None) -> None:
    """Print the JSON Schema of the journey-map format (for editor autocompletion)."""
    from ..model import map_json_schema
    from ..report._text import dump_json

    write_output(dump_json(map_json_schema()), output)
