"""Run a piece of the engine's work in a forked child process and read its result back.

A large map's touchpoint shards are independent once its global state has run (see
``_plan``), so ``run.py`` may run some of them in children forked at that point: a child
starts with the parent's whole evaluation (the same fact numbering, the same compiled
rule set) and sends back only what it added, a part per shard as it goes. Parts travel
as pickles over a pipe that only this process and the child it forked can reach; a
thread of the parent drains the pipe as they come, so the child never waits for the
parent, which merges them once its own shards are done.

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
import queue
import signal
import struct
import threading
from typing import Any, Callable, Iterator

from ..errors import CapacityError, EngineError

_PART, _DONE, _ERROR = b"P", b"D", b"E"
_HEAD = struct.Struct("<cQ")  # a message: its tag and its length, then its pickle


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
    """A forked child running one piece of work; :meth:`results` reads what it sends."""

    def __init__(self, pid: int, fd: int):
        self.pid: int | None = pid
        self._fd: int | None = fd  # until listen() hands it to the reader
        self._messages: queue.SimpleQueue[tuple[bytes, bytes] | None] = queue.SimpleQueue()
        # the pipe is drained as the child writes, so that it never waits for this process
        self._reader = threading.Thread(target=self._read, args=(fd,), name="audit-engine-worker-pipe", daemon=True)

    def listen(self) -> None:
        self._fd = None
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            while True:
                head = pipe.read(_HEAD.size)
                if len(head) < _HEAD.size:
                    break
                tag, size = _HEAD.unpack(head)
                payload = pipe.read(size)
                if len(payload) < size:
                    break
                self._messages.put((tag, payload))
                if tag != _PART:
                    break
        self._messages.put(None)

    def results(self) -> Iterator[Any]:
        """Each part the child sent, in order, as it arrives; then the child is reaped. An
        error of the child is raised here, as is a child that ended without finishing."""
        while True:
            message = self._messages.get()
            if message is not None and message[0] == _PART:
                yield pickle.loads(message[1])  # written by our own child (see ``start``)
                continue
            self._reader.join()
            assert self.pid is not None
            _, status = os.waitpid(self.pid, 0)
            self.pid = None
            if message is not None and message[0] == _DONE:
                return
            if message is not None and message[0] == _ERROR:
                cls, text = pickle.loads(message[1])
                raise cls(text)
            how = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                   else f"exit status {os.WEXITSTATUS(status)}")
            raise EngineError(f"a worker process of the rule engine ended without a result ({how}); "
                              "no findings were produced")

    def stop(self) -> None:
        """Kill the child if it is still running and reap it (after an error in the parent)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._reader.is_alive():
            self._reader.join()  # the pipe is closed: its reader ends


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


def start_all(works: list[Callable[[Callable[[Any], None]], None]]) -> list[Child]:
    """Fork a child per work (see :func:`start`), then listen to them: every fork is made
    while this process has no other thread."""
    children: list[Child] = []
    try:
        for work in works:
            children.append(start(work))
    except BaseException:
        for child in children:
            child.stop()
        raise
    for child in children:
        child.listen()
    return children


def start(work: Callable[[Callable[[Any], None]], None]) -> Child:
    """Fork a child that runs ``work(send)``; each ``send(part)`` (picklable) reaches the
    parent's :meth:`Child.results` in order, while the child goes on (once the parent
    called :meth:`Child.listen`)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as pipe:
                def put(tag: bytes, value: Any) -> None:
                    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
                    pipe.write(_HEAD.pack(tag, len(payload)))
                    pipe.write(payload)
                    pipe.flush()

                try:
                    work(lambda part: put(_PART, part))
                    put(_DONE, None)
                except BaseException as exc:  # noqa: BLE001 - every error goes back to the parent
                    put(_ERROR, _portable(exc))
        except BaseException:  # noqa: BLE001 - the parent sees the pipe end early and reports it
            status = 70
        finally:
            os._exit(status)
    os.close(write_end)
    return Child(pid, read_end)
