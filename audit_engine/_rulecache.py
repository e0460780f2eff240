"""A cache of compiled rule sets, for the command line's start-up.

Reading the shipped packs (YAML with positions, schema checks) and compiling them takes
about 30 ms of the 230 ms a small audit takes; a cached rule set loads in under 10. An
entry is keyed by the sha256 of everything the rule set is made of: each pack file's
path and bytes, ``--only``/``--skip``, the parameters, whether the built-in packs are in,
the versions of audit-engine, durable-rules and Python, and the size and modification time
of every module of audit-engine (a cached rule set is a pickle of its objects). Nothing is
invalidated by hand: another input is another key.

Entries live in ``$AUDIT_ENGINE_CACHE_DIR`` or else ``$XDG_CACHE_HOME/audit-engine`` (by
default ``~/.cache/audit-engine``); ``AUDIT_ENGINE_CACHE_DIR=off`` turns the cache off. An
entry is written to a temporary file and renamed into place (readers never see half an
entry) and carries the sha256 of its payload: an entry that is truncated, corrupt or
unreadable for any reason is a miss (and is removed), never an error.

Entries are pickles of our own objects, and unpickling runs code, so an entry is only
read from a folder that belongs to the user running the command and that nobody else
may write to (the folder is created with mode 0700), and only when the entry itself
belongs to that user and nobody else may write it: a cache on a shared machine or a
planted file is ignored. A CI job that restores its home folder from a cache that
untrusted branches can write should set ``AUDIT_ENGINE_CACHE_DIR=off`` (SECURITY.md).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .audit import RuleSet

ENV = "AUDIT_ENGINE_CACHE_DIR"
_MAGIC = b"audit-engine rule set cache 1\n"
_MAX_ENTRIES = 64  # a folder of user packs edited often: old entries go


def cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    configured = env.get(ENV)
    if configured is not None:
        return None if configured.strip().lower() in ("", "0", "off", "no", "false") else Path(configured)
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "audit-engine"


def key(files: Iterable[Path], only: Iterable[str], skip: Iterable[str], params: Mapping[str, object],
        builtin: bool) -> str:
    from .engine._durable import engine_version
    from .version import VERSION

    h = hashlib.sha256()
    for part in (VERSION, engine_version(), sys.version, repr(builtin), repr(sorted(only)), repr(sorted(skip)),
                 repr(sorted((str(k), str(v)) for k, v in params.items()))):
        h.update(part.encode() + b"\0")
    from ._yaml import read_bytes
    from .errors import PackError

    for f in files:
        h.update(str(Path(f).resolve()).encode() + b"\0")
        # read as the pack reader does: a FIFO or a device is refused, never waited on
        h.update(hashlib.sha256(read_bytes(str(f), PackError)).digest())
    h.update(_code_stamp().encode())
    return h.hexdigest()


def _code_stamp() -> str:
    """Size and mtime of each module of the package (another build is another key)."""
    root = Path(__file__).resolve().parent
    parts = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".py"):
                st = os.stat(os.path.join(dirpath, name))
                parts.append(f"{os.path.relpath(os.path.join(dirpath, name), root)}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)


def _private(path: Path, directory: bool) -> bool:
    """Does ``path`` belong to this user, with no write permission for anyone else?"""
    import stat

    try:
        st = os.lstat(path)
    except OSError:
        return False
    kind = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
    owner = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return kind and owner and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load(k: str, folder: Path) -> "RuleSet | None":
    path = folder / f"{k}.pickle"
    if not (_private(folder, directory=True) and _private(path, directory=False)):
        return None  # not ours alone: never unpickled
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        if not raw.startswith(_MAGIC):
            raise ValueError("not a cache entry")
        digest, payload = raw[len(_MAGIC):len(_MAGIC) + 32], raw[len(_MAGIC) + 32:]
        if hashlib.sha256(payload).digest() != digest:
            raise ValueError("corrupt")
        ruleset = pickle.loads(payload)
        from .audit import RuleSet

        if not isinstance(ruleset, RuleSet):
            raise ValueError("not a rule set")
        return ruleset
    except Exception:  # anything wrong with an entry makes it a miss
        try:
            path.unlink()
        except OSError:
            pass
        return None


def store(k: str, folder: Path, ruleset: "RuleSet") -> None:
    """Write the entry; a cache that cannot be written is simply not used."""
    try:
        payload = pickle.dumps(ruleset, protocol=pickle.HIGHEST_PROTOCOL)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder, directory=True):
            return  # a folder others may write to is never used
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, folder / f"{k}.pickle")
        except BaseException:
            os.unlink(tmp)
            raise
        _prune(folder)
    except Exception:
        pass


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[_MAX_ENTRIES:]:
        try:
            old.unlink()
        except OSError:
            pass
