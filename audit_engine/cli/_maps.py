"""`audit-engine validate MAP...` and `audit-engine schema`."""

from __future__ import annotations

import click

from ..report._text import one_line
from . import cli
from ._common import note
from ._output import write_output
from ._perf import maps_argument


@cli.command()
@maps_argument
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Run configuration (its limits apply); default: audit-engine.yaml beside the first map.")
def validate(maps: tuple[str, ...], config_file: str | None) -> None:
    """Check journey maps against the format; report every problem with file:line:column.

    MAPS are map files, folders (every journey map in them), quoted globs ("maps/**/*.yaml")
    or - (a map on standard input).
    """
    from ..config import find_config
    from ..errors import MapError
    from ..limits import cap_memory
    from ..loader import load_map

    limits = find_config(config_file, list(maps)).limits_obj()
    cap_memory(limits)

    problems: list[str] = []
    for m in maps:
        try:
            lm = load_map(m, limits)
            click.echo(one_line(f"{m}: ok (map {lm.map.id} version {lm.map.version}, "
                                f"{len(lm.map.touchpoints)} touchpoints)"))
        except MapError as exc:
            problems.extend(str(d) for d in exc.diagnostics)
            if exc.note:
                problems.append(f"{m}: {exc.note}")
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
