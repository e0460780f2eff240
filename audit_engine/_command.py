"""The ``audit-engine`` console script and ``python -m audit_engine``: the process itself.

Two things happen here, before the command line (click, the pipeline, pydantic) is
imported: cycle collection is switched off for the whole process (see :func:`cli.main`),
and a command on a large map restarts the interpreter with huge pages
(:mod:`audit_engine._hugepages`), so that the restart costs a bare interpreter rather than
the command's imports as well. Importing ``audit_engine`` or ``audit_engine.cli`` from
Python does neither.
"""

import gc
import sys


def main() -> int:
    gc.disable()
    from ._hugepages import restart_with_hugepages

    restart_with_hugepages(sys.argv[1:])
    from .cli import main as run

    return run()
