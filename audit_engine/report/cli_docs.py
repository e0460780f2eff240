"""The command-line reference (``docs/cli.md``), rendered from the click command tree.

Every command and subcommand with its usage line, help text, arguments and options
(help and default), so the page cannot drift from the code: ``make docs`` rewrites it
and a test fails when the committed copy is stale.
"""

from __future__ import annotations

import inspect
import re

import click

from ._options import RenderOptions

EXIT_CODES = (
    ("0", "The command ran, and nothing reached the threshold: no unwaived finding at or above `--fail-on` "
          "(for `audit`), the gate passed (for `gate`), every example behaved (for `rules test`)."),
    ("1", "The command ran, and something reached it: unwaived findings at or above `--fail-on`, a failed "
          "gate (every failed condition is listed), a failing rule example."),
    ("2", "The command could not run: an invalid map, rule pack, configuration, policy or waiver file (the "
          "message names the file, line and column), an unknown option, rule or id (with a \"did you mean\" "
          "suggestion), an unreachable database, a report that cannot be written, or an internal error (one "
          "line; `--debug` adds the traceback). Nothing is stored: a run is recorded only after its report "
          "is written."),
    ("130", "Interrupted (Ctrl-C); the run under way is not stored."),
)
# Help for options the code leaves without any, by parameter name.
_FALLBACK_HELP = {"fmt": "Output format.", "output": "Write the output here instead of stdout."}
_UNSET = getattr(click.core, "UNSET", None)  # click >= 8.3 marks a missing default with a sentinel
_DEFAULT_IN_HELP = re.compile(r"\s*[\[(]default: ([^\])]*)[\])]")


def render_view(root: click.Group, options: RenderOptions) -> str:
    return render(root)


def render(root: click.Group, prog_name: str = "audit-engine") -> str:
    """The whole reference as Markdown."""
    ctx = click.Context(root, info_name=prog_name)
    commands = [ctx, *_walk(root, ctx)]
    out = [
        "# Command-line reference",
        "",
        "<!-- Generated from the command-line code by scripts/make_docs.py; do not edit by hand: "
        "run `make docs`. -->",
        "",
        f"`{prog_name}` is installed as a console script; `python -m audit_engine` is the same program. "
        "Every command accepts `-h` / `--help`. Reports go to standard output unless `-o FILE` is given; "
        "warnings and errors go to standard error, never into a report.",
        "",
        "Commands with a `--config` option read a run configuration: that file, or else "
        "`audit-engine.yaml` in the folder of the (first) map. Its `params`, `packs`, `only` and `skip` "
        "add to the options of the same names; its `fail_on` is the threshold of `audit` when `--fail-on` "
        "is not given (else `high`); its `waivers` names the waiver file when `--waivers` is not given "
        "(else `audit-waivers.yaml` in the map's folder, if there is one).",
        "",
        "## Exit status",
        "",
        "The same for every command:",
        "",
        "| status | meaning |",
        "|---|---|",
        *(f"| {code} | {text} |" for code, text in EXIT_CODES),
        "",
        "## Commands",
        "",
        *(f"- [`{c.command_path}`](#{_anchor(c.command_path)}): {c.command.get_short_help_str(200)}"
          for c in commands[1:]),
        "",
    ]
    for c in commands:
        out += _command(c)
    return "\n".join(out).rstrip("\n") + "\n"


def _walk(group: click.Group, ctx: click.Context):
    """Every command below ``group`` (depth first, names in order), as contexts."""
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        sub = click.Context(cmd, info_name=name, parent=ctx)
        yield sub
        if isinstance(cmd, click.Group):
            yield from _walk(cmd, sub)


def _anchor(text: str) -> str:
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _command(ctx: click.Context) -> list[str]:
    cmd = ctx.command
    level = "#" * max(2, 1 + ctx.command_path.count(" "))
    out = [f"{level} {ctx.command_path}", "", "```", " ".join([ctx.command_path, *cmd.collect_usage_pieces(ctx)]),
           "```", ""]
    for p in inspect.cleandoc(cmd.help or "").split("\n\n"):
        if p.strip():
            out += [_paragraph(p), ""]
    if isinstance(cmd, click.Group) and ctx.parent is not None:  # the root's commands are listed above
        out += ["Subcommands:", ""]
        out += [f"- [`{ctx.command_path} {name}`](#{_anchor(ctx.command_path + ' ' + name)}): "
                f"{sub.get_short_help_str(200)}"
                for name in cmd.list_commands(ctx) if (sub := cmd.get_command(ctx, name)) and not sub.hidden]
        out.append("")
    args = [p for p in cmd.get_params(ctx) if isinstance(p, click.Argument)]
    if args:
        out += ["Arguments:", ""] + [f"- `{_metavar(a, ctx)}`: {_argument(a)}" for a in args] + [""]
    opts = [p for p in cmd.get_params(ctx) if isinstance(p, click.Option) and not p.hidden
            and "--help" not in p.opts]
    if opts:
        out += ["| option | meaning | default |", "|---|---|---|"]
        out += [_option(o, ctx) for o in opts]
        out.append("")
    return out


def _paragraph(text: str) -> str:
    return " ".join(text.split())


def _metavar(p: click.Parameter, ctx: click.Context) -> str:
    try:
        return p.make_metavar(ctx)
    except TypeError:  # click < 8.2 takes no context
        return p.make_metavar()  # type: ignore[call-arg]


def _argument(a: click.Argument) -> str:
    if a.nargs == -1:
        return "one or more" if a.required else "any number (optional)"
    return "required" if a.required else "optional"


def _option(o: click.Option, ctx: click.Context) -> str:
    names = ", ".join(f"`{n}`" for n in [*o.opts, *o.secondary_opts])
    help_text = _paragraph(o.help or _FALLBACK_HELP.get(o.name or "", ""))
    if isinstance(o.type, click.Choice):
        names += " `CHOICE`"
        help_text = f"{help_text} One of: {', '.join(f'`{c}`' for c in o.type.choices)}.".strip()
    elif not o.is_flag:
        names += f" `{_metavar(o, ctx).replace(' RANGE', '')}`"
    default = _default(o, ctx)
    m = _DEFAULT_IN_HELP.search(help_text)
    if m:
        help_text = (help_text[:m.start()] + help_text[m.end():]).strip()
        default = default if default != "not set" else m.group(1)
    notes = [n for n in ("required" if o.required else "", "repeatable" if o.multiple else "",
                         _range(o.type)) if n and n not in help_text]
    if notes:
        help_text = f"{help_text} ({', '.join(notes)})" if help_text else ", ".join(notes).capitalize()
    return f"| {names} | {help_text.replace('|', chr(92) + '|')} | {default.replace('|', chr(92) + '|')} |"


def _range(t: click.ParamType) -> str:
    if isinstance(t, click.IntRange) and t.min is not None and t.max is None:
        return f"at least {t.min}"
    return ""


def _default(o: click.Option, ctx: click.Context) -> str:
    if o.is_flag and not o.is_bool_flag:
        return "not set"
    value = o.get_default(ctx, call=False)
    if value is _UNSET:
        value = None
    if o.is_flag:
        return "on" if value else ("off" if value is False or not o.is_bool_flag else "not set")
    if o.multiple:
        return ", ".join(f"`{v}`" for v in value or ()) or "none"
    if value is None or callable(value):
        return "not set"
    return f"`{value}`"
