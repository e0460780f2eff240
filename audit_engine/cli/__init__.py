"""The command line: the only place that prints or exits.

Every command parses its arguments, runs the pipeline through the library, renders a
report (:mod:`audit_engine.report`) and writes it; only then is a run recorded. Exit
status: 0 clean, 1 findings or a failed gate, 2 could not run (any error: an
:class:`~audit_engine.errors.AuditEngineError` prints its message, anything else one
line, with the traceback under ``--debug``), 130 interrupted.
"""

from __future__ import annotations

import sys

import click

from ._common import INTERRUPTED, AuditEngineGroup


@click.group(cls=AuditEngineGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="audit-engine", prog_name="audit-engine")
@click.option("--debug", is_flag=True, help="On an error, also print the Python traceback (or set AUDIT_ENGINE_DEBUG=1).")
def cli(debug: bool) -> None:
    """Audit healthcare journey maps for HIPAA, patient-safety and workflow risks."""


def _register() -> None:
    from . import _audit, _diff, _gate, _history, _maps, _rules  # noqa: F401  (commands attach to `cli`)


def command_tree() -> click.Group:
    """The root command with every command attached (for generated documentation)."""
    _register()
    return cli


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (click's own usage errors included: 2).

    Without ``argv`` this is the process's own command (the console script and
    ``python -m audit_engine`` enter through ``_command``, which restarts a command on a
    large map with huge pages first): there is no cycle collection (35 ms of a small
    audit: the pipeline makes almost no cyclic garbage), and the process ends as soon as
    its output is flushed, skipping the interpreter's teardown.
    """
    if argv is not None:  # called from Python
        return _run(argv)
    import gc

    gc.disable()
    from ._perf import exit_now

    try:
        status = _run(None)
    except SystemExit as done:
        exit_now(done.code)
    exit_now(status)
    return status  # pragma: no cover - exit_now does not return


def _run(argv: list[str] | None) -> int:
    _register()
    try:
        rv = cli.main(args=argv, prog_name="audit-engine", standalone_mode=False)
    except click.ClickException as exc:  # usage errors (and any other click error) cannot run: 2
        exc.show()
        return 2
    except click.Abort:  # Ctrl-C while click itself was working
        click.echo("\nerror: interrupted", err=True)
        return INTERRUPTED
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
