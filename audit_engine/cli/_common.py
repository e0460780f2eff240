"""Shared CLI plumbing: errors and exit codes, did-you-mean, options for rule selection."""

from __future__ import annotations

import functools
import os
import traceback
from typing import TYPE_CHECKING, Any, Callable

import click

from ..errors import AuditEngineError, InputError, did_you_mean
from ..report._text import one_line, safe
from ..severity import THRESHOLDS

if TYPE_CHECKING:  # pragma: no cover
    from ..audit import RuleSet
    from ..config import RunConfig
    from ..report import RunInfo

INTERRUPTED = 130  # the shell's code for a run stopped by Ctrl-C


def default_db() -> str:
    return os.environ.get("AUDIT_ENGINE_DB") or "sqlite:///audit-engine.db"


def note(message: str) -> None:
    """One line on standard error (never into a report)."""
    click.echo(one_line(message), err=True)


class Choice(click.Choice):
    """A choice that suggests the closest valid value."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            hints = did_you_mean(str(value), [str(c) for c in self.choices], n=1)
            hint = f" Did you mean '{hints[0]}'?" if hints else ""
            self.fail(f"'{value}' is not one of {', '.join(map(str, self.choices))}.{hint}", param, ctx)


def _error_lines(exc: AuditEngineError) -> list[str]:
    """The error as it is printed: map content in it is data, so every line is made safe."""
    if isinstance(exc, InputError):
        n = len(exc.diagnostics)
        head = f"error: {n} problem{'s' if n != 1 else ''} in {exc.kind}:"
        return [head, *(f"  {one_line(d)}" for d in exc.diagnostics)]
    lines = safe(exc).splitlines() or [type(exc).__name__]
    return ["error: " + lines[0], *lines[1:]]


class AuditEngineGroup(click.Group):
    """A group that suggests close command names and turns every failure to run into exit 2.

    ``AuditEngineError`` prints its message; any other exception prints one line (its
    traceback too with ``--debug``); Ctrl-C exits 130. Commands write their report before
    they record a run, so a failure never leaves a stored run without its report.
    """

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            hints = did_you_mean(name, self.list_commands(ctx))
            hint = f" Did you mean '{hints[0]}'?" if hints else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug")) or os.environ.get("AUDIT_ENGINE_DEBUG", "") not in ("", "0")
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except AuditEngineError as exc:
            if debug:
                traceback.print_exc()
            for line in _error_lines(exc):
                click.echo(line, err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("\nerror: interrupted (a run is recorded only after its report is written)", err=True)
            ctx.exit(INTERRUPTED)
        except MemoryError:
            click.echo("error: out of memory (the map may be too large for this machine)", err=True)
            ctx.exit(2)
        except Exception as exc:  # a bug: one line, the traceback only when asked for
            if debug:
                traceback.print_exc()
            hint = "" if debug else "run with --debug for the traceback; "
            click.echo(one_line(f"error: internal error: {type(exc).__name__}: {exc} ({hint}please report it)"),
                       err=True)
            ctx.exit(2)


def fail_on_option(default: str | None = "high") -> Callable:
    return click.option("--fail-on", type=Choice(list(THRESHOLDS)), default=default, show_default=True,
                        help="Exit 1 when an unwaived finding is at or above this severity.")


def parse_params(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"expected KEY=VALUE, got '{v}'", param_hint="--param")
        k, _, val = v.partition("=")
        out[k.strip()] = val.strip()
    return out


def run_note(ruleset: "RuleSet", config: "RunConfig") -> None:
    """``note: using config FILE; skipped rules: ...`` whenever a config is used or rules are skipped."""
    skipped = ruleset.skipped_rules()
    for text in ruleset.notices():
        note("note: " + text)
    if not config.file and not skipped:
        return
    parts = [f"using config {config.file}" if config.file else "no config file"]
    if skipped:
        parts.append("skipped rules: " + ", ".join(skipped))
    note("note: " + "; ".join(parts))


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
        from ..limits import cap_memory

        # the map files of the command (diff: OLD and NEW, when they are files): the config is found beside the first
        maps = [m for m in kwargs.get("maps", ()) or ()] or [kwargs[k] for k in ("map_file", "old", "new")
                                                             if kwargs.get(k) and os.path.isfile(kwargs[k])]
        cfg = find_config(config_file, [str(m) for m in maps])
        cap_memory(cfg.limits_obj())
        merged = {**cfg.params, **parse_params(params)}
        ruleset = RuleSet.load(extra_packs=[*cfg.pack_paths(), *packs], only=[*cfg.only, *only],
                               skip=[*cfg.skip, *skip], params=merged, cache=True)
        run_note(ruleset, cfg)
        return fn(*args, ruleset=ruleset, config=cfg, **kwargs)

    return wrapper


def run_info(ruleset: "RuleSet", config: "RunConfig", fail_on: str, from_option: bool,
             policy_file: str | None = None, policy_sets: bool = False) -> "RunInfo":
    """How this run is configured, and where its threshold came from."""
    from ..report import RunInfo

    if policy_sets:
        source = f"policy {policy_file}"
    elif from_option:
        source = "--fail-on"
    elif config.fail_on:
        source = f"config {config.file}"
    else:
        source = "default"
    return RunInfo.of(ruleset, config.file, fail_on, source)


def threshold_reached(findings: Any, fail_on: str) -> bool:
    from ..severity import at_or_above

    return any(not f.waived and at_or_above(f.severity, fail_on) for f in findings)
