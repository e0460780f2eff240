"""`audit-engine validate MAP...` and `audit-engine schema`."""

from __future__ import annotations

import json

import click

from . import cli
from ._common import write_output
from ._perf import maps_argument


@cli.command()
@maps_argument
def validate(maps: tuple[str, ...]) -> None:
    """Check journey maps against the format; report every problem with file:line:column.

    MAPS are map files, folders (every journey map in them) or quoted globs ("maps/**/*.yaml").
    """
    from ..errors import MapError
    from ..loader import load_map

    problems: list[str] = []
    for m in maps:
        try:
            lm = load_map(m)
            click.echo(f"{m}: ok (map {lm.map.id} version {lm.map.version}, "
                       f"{len(lm.map.touchpoints)} touchpoints)")
        except MapError as exc:
            problems.extend(str(d) for d in exc.diagnostics)
    if problems:
        for p in problems:
            click.echo(p, err=True)
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", err=True)
        raise SystemExit(2)


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False))
def schema(output: str | None) -> None:
    """Print the JSON Schema of the journey-map format (for editor autocompletion)."""
    from ..model import map_json_schema

    write_output(json.dumps(map_json_schema(), indent=2) + "\n", output)
