"""Run a piece of the engine's work in a forked child process and read its result back.

A large map's touchpoint shards are independent once its global state has run (see
``_plan``), so ``run.py`` may run some of them in children forked at that point: a child
starts with the parent's whole evaluation (the same fact numbering, the same compiled
rule set) and sends back only what it added. The result travels as a pickle over a
pipe that only this process and the child it forked can reach.

A child never returns into the caller's code: it ends with ``os._exit`` once its result
is written, so nothing of the parent (buffered output, an open store, ``atexit``
handlers) runs twice. An error in the child comes back as the same
:class:`~audit_engine.errors.EngineError` (or :class:`~audit_engine.errors.CapacityError`)
the work would have raised in the parent; a child that dies without a result (killed,
crashed) is an :class:`EngineError`. Nothing is returned from a failed child, so no
partial evaluation can turn into findings.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from typing import Any, Callable

from ..errors import CapacityError, EngineError

_RESULT, _ERROR = b"R", b"E"


def available() -> bool:
    """Can work be forked here? (POSIX only, and never from a process with other threads:
    a lock another thread holds would stay held in the child for ever.)"""
    return hasattr(os, "fork") and threading.active_count() == 1


def _portable(exc: BaseException) -> tuple[type[EngineError], str]:
    """An error of the child as (class, message), raised again in the parent."""
    if isinstance(exc, MemoryError):
        return CapacityError, str(CapacityError.out_of_memory())
    if isinstance(exc, EngineError) and type(exc).__init__ is Exception.__init__:
        return type(exc), str(exc)
    return EngineError, (f"a worker process of the rule engine failed ({type(exc).__name__}: {exc}); "
                         "no findings were produced")


class Child:
    """A forked child running one piece of work; :meth:`result` waits for it."""

    def __init__(self, pid: int, fd: int):
        self.pid: int | None = pid
        self.fd: int | None = fd

    def result(self) -> Any:
        """The child's result (blocks until it has finished), or its error raised here."""
        assert self.fd is not None and self.pid is not None
        with os.fdopen(self.fd, "rb") as pipe:
            self.fd = None
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if data[:1] == _RESULT:
            return pickle.loads(data[1:])  # written by our own child (see ``start``)
        if data[:1] == _ERROR:
            cls, message = pickle.loads(data[1:])
            raise cls(message)
        how = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.WEXITSTATUS(status)}")
        raise EngineError(f"a worker process of the rule engine ended without a result ({how}); "
                          "no findings were produced")

    def stop(self) -> None:
        """Kill the child if it is still running and reap it (after an error in the parent)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None


def release_free_memory() -> None:
    """Give the memory this process has freed but kept (see ``_hugepages``) back to the
    system before forking: otherwise parent and child each reuse it for their next engine
    state, and each write to it copies a page both still share (measured at 15,000
    touchpoints: 520 MB more at the peak of the two processes together)."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing was kept
        pass


def start(work: Callable[[], Any]) -> Child:
    """Fork a child that runs ``work()`` and sends its (picklable) result back."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            try:
                payload = _RESULT + pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # noqa: BLE001 - every error goes back to the parent
                payload = _ERROR + pickle.dumps(_portable(exc), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        except BaseException:  # noqa: BLE001 - the parent sees an empty pipe and reports it
            status = 70
        finally:
            os._exit(status)
    os.close(write_end)
    return Child(pid, read_end)
