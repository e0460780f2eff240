"""Shared CLI plumbing: error handling, did-you-mean, options for rule selection."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import click

from ..errors import AuditEngineError, did_you_mean

SEVERITIES = ["critical", "high", "medium", "low", "none"]


class Choice(click.Choice):
    """A choice that suggests the closest valid value."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            hints = did_you_mean(str(value), [str(c) for c in self.choices], n=1)
            hint = f" Did you mean '{hints[0]}'?" if hints else ""
            self.fail(f"'{value}' is not one of {', '.join(map(str, self.choices))}.{hint}", param, ctx)


class AuditEngineGroup(click.Group):
    """A group that suggests close command names and turns library errors into exit 2."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            hints = did_you_mean(name, self.list_commands(ctx))
            hint = f" Did you mean '{hints[0]}'?" if hints else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AuditEngineError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def fail_on_option(default: str | None = "high") -> Callable:
    return click.option("--fail-on", type=Choice(SEVERITIES), default=default, show_default=True,
                        help="Exit 1 when an unwaived finding is at or above this severity.")


def parse_params(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"expected KEY=VALUE, got '{v}'", param_hint="--param")
        k, _, val = v.partition("=")
        out[k.strip()] = val.strip()
    return out


def ruleset_options(fn: Callable) -> Callable:
    """--pack/--only/--skip/--param/--config, resolved into ``ruleset`` and ``config`` kwargs."""

    @click.option("--pack", "packs", multiple=True, type=click.Path(), help="Add a rule pack file or folder.")
    @click.option("--only", multiple=True, help="Run only these packs or rules (repeatable).")
    @click.option("--skip", multiple=True, help="Skip these packs or rules (repeatable).")
    @click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Override a pack parameter.")
    @click.option("--config", "config_file", type=click.Path(), default=None,
                  help="Run configuration (default: audit-engine.yaml beside the map).")
    @functools.wraps(fn)
    def wrapper(*args: Any, packs: tuple[str, ...], only: tuple[str, ...], skip: tuple[str, ...],
                params: tuple[str, ...], config_file: str | None, **kwargs: Any) -> Any:
        from ..audit import RuleSet
        from ..config import find_config

        maps = [m for m in kwargs.get("maps", ()) or ()] or [kwargs[k] for k in ("map_file",) if kwargs.get(k)]
        cfg = find_config(config_file, [str(m) for m in maps])
        merged = {**cfg.params, **parse_params(params)}
        ruleset = RuleSet.load(extra_packs=[*cfg.pack_paths(), *packs], only=[*cfg.only, *only],
                               skip=[*cfg.skip, *skip], params=merged, cache=True)
        return fn(*args, ruleset=ruleset, config=cfg, **kwargs)

    return wrapper


def write_output(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def threshold_reached(findings: Any, fail_on: str) -> bool:
    from ..findings import SEVERITY_ORDER

    if fail_on == "none":
        return False
    limit = SEVERITY_ORDER[fail_on]
    return any(not f.waived and SEVERITY_ORDER[f.severity] <= limit for f in findings)
