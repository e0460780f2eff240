"""Where reports go: standard output or ``-o FILE``, written completely or not at all.

A file is written to a temporary file beside it and renamed over it, so a failure
(a full disk, a missing folder) never leaves half a report; a device or FIFO named by
``-o`` (``/dev/stdout``) is written directly. ``-o`` may never name one of the run's
inputs (a map, pack, waiver file, configuration, policy or the SQLite store).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from typing import Any, Iterable


from ..errors import OutputError, UsageError
from ..report import RenderOptions


def _stdout(content: str | bytes) -> None:
    try:
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content)
        sys.stdout.flush()
    except OSError as e:
        try:  # nothing more can go to this stdout; keep the interpreter's final flush quiet
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        raise OutputError(f"cannot write the report to standard output: {e.strerror or e}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_output(content: str | bytes, output: str | None) -> None:
    """Write ``content`` to ``output`` (standard output when None), completely or not at all."""
    if output is None:
        _stdout(content)
        return
    data = content.encode("utf-8") if isinstance(content, str) else content
    target = os.path.realpath(output)  # write through a symlink, never replace it
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(f"cannot write {output}: {e.strerror or e}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {output}: it is a folder; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):  # /dev/stdout, a FIFO: write into it
        try:
            with open(target, "wb") as fh:
                fh.write(data)
        except OSError as e:
            raise OutputError(f"cannot write {output}: {e.strerror or e}") from None
        return
    folder = os.path.dirname(target) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise OutputError(f"cannot write {output}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if st is not None:
            shutil.copymode(target, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"cannot write {output}: {e.strerror or e}") from None
        raise


def sqlite_file(db: str | None) -> str | None:
    """The file of an SQLite store URL (None for other databases). A plain
    ``sqlite:///FILE`` is read here, without importing SQLAlchemy (a quarter of a small
    audit's time)."""
    if not db:
        return None
    from ..store._sqlite_fast import sqlite_file as plain_sqlite_file

    path = plain_sqlite_file(db)
    if path is not None and "%" not in path:
        return path
    if not db.lower().startswith("sqlite"):
        return None  # a database server: no file to compare with
    from ..store.engine import parse_url, sqlite_path

    try:
        return sqlite_path(parse_url(db))
    except Exception:  # an invalid URL is reported where the store is opened
        return None


def refuse_overwrite(output: str | None, inputs: Iterable[tuple[str, str | None]]) -> None:
    """UsageError when ``-o`` names one of ``inputs`` ((what, path) pairs), compared as files."""
    if not output or not os.path.exists(output):
        return  # a file that does not exist yet is none of the inputs
    for what, path in inputs:
        if not path:
            continue
        try:
            same = os.path.exists(path) and os.path.samefile(output, path)
        except OSError:
            same = False
        if same:
            raise UsageError(f"-o {output} is the {what} {path}: a report never overwrites an input; "
                             "write it to another file")


def pack_inputs(ruleset: Any) -> list[tuple[str, str | None]]:
    return [("rule pack", lp.file) for lp in ruleset.packs]


def terminal_options(fmt: str, output: str | None, **fields: Any) -> RenderOptions:
    """Render options for this run: tables fit the terminal, in colour only on a terminal."""
    width = shutil.get_terminal_size((100, 24)).columns
    color = (output is None and fmt in ("table", "text") and not os.environ.get("NO_COLOR")
             and sys.stdout.isatty())
    return RenderOptions(width=max(40, width), color=color, **fields)
