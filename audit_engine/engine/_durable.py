"""The only module that touches durable-rules (its C engine, ``durable_rules_engine``).

It drives the engine synchronously: no ``durable.engine.Host`` is ever created, so no
timer thread can run actions after a call has returned or read freed state. Each
session is one state (sid) of a ruleset, deleted when the session closes; sessions are
serialised by one lock (the C engine is not thread-safe), so at most one state is live
per ruleset and the 1,024-state limit cannot be reached. Every error code becomes an
:class:`EngineError`; nothing is returned from a session that failed.

durable-rules' ``createStateNode`` leaves a state's action context uninitialised and
``deleteStateNode`` frees whatever it holds, so deleting a state in which no action
ever started frees garbage (a crash that depends on heap contents). Every ruleset
therefore gets a sentinel rule, and every session fires it first.
"""

from __future__ import annotations

import itertools
import json
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import durable_rules_engine as _dre

from ..errors import CapacityError, EngineError

_NOT_HANDLED, _OBSERVED = 1, 2
_MAX_LIVE_STATES = 1000
_CREATE_ATTEMPTS = 5  # durable-rules fails at 1,024 live states per ruleset

# durable-rules keeps rulesets in process-global tables; mirror that here, once.
_LOCK = threading.RLock()
_HANDLES: dict[str, int] = {}
_LIVE: dict[int, int] = {}
_SIDS = itertools.count(1)

OPEN_RULE = "$open"
OPEN_FACT_ID = "OPEN"  # never handed out as a fact id (run.py reserves its hash)
_OPEN_TYPE = "$OPEN"

_ERRORS = {
    302: "a fact has more than 252 properties",
    303: "a fact matches more than about 64 conditions of the rule set at once",
    304: "a rule joins more than 16 facts",
    113: "a condition has too many join tests",
    106: "the rule set has more than 4,096 rules",
    107: "too many rules share the engine's internal tables (error 107)",
    108: "more than 256 rules share an identical condition",
}


def _engine_error(exc: Exception, what: str) -> EngineError:
    if isinstance(exc, MemoryError):
        return CapacityError.out_of_memory()
    text = str(exc)
    code = next((c for c in _ERRORS if f"error code: {c}" in text), None)
    detail = _ERRORS.get(code, text) if code else text
    cls = CapacityError if code in (302, 303, 304, 106, 107, 108) else EngineError
    return cls(f"the rule engine could not {what}: {detail} (durable-rules: {text}); no findings were produced")


def ruleset_handle(name: str, definition: dict[str, Any]) -> int:
    """Create the ruleset once per process (rulesets are global by name) and return its handle."""
    with _LOCK:
        handle = _HANDLES.get(name)
        if handle is None:
            full = json.dumps({**definition, OPEN_RULE: {"all": [{"x7": {"T": _OPEN_TYPE}}]}})
            for attempt in range(_CREATE_ATTEMPTS):
                try:
                    handle = _dre.create_ruleset(name, full)
                    break
                except Exception as exc:  # the C engine raises its own error type
                    # durable-rules intermittently reports error 102 for a valid ruleset once a
                    # process has created several (it reads uninitialised memory); a retry helps.
                    if "error code: 102" not in str(exc) or attempt == _CREATE_ATTEMPTS - 1:
                        raise _engine_error(exc, "compile the rule packs") from None
            _HANDLES[name] = handle
            _LIVE[handle] = 0
        return handle


def fragment(fact: dict[str, Any]) -> str:
    """A fact as JSON without its opening brace: a session prefixes its own ``sid`` (and flags)."""
    return json.dumps(fact, separators=(",", ":"))[1:]


class Session:
    """One audit's state in a ruleset. Use via :func:`session`."""

    def __init__(self, handle: int, sid: str, flags: tuple[str, ...] = ()):
        self._handle = handle
        self.sid = sid
        # every fact of the session starts with its sid and these fields (value 1)
        self._head = '{"sid":"' + sid + '",' + "".join(f'"{f}":1,' for f in flags)

    def assert_fragments(self, fragments: list[str]) -> list[str]:
        """Assert facts serialised by :func:`fragment` and run every activation they cause;
        returns each activation's raw JSON (``{rule_name: [frame, ...]}``)."""
        if not fragments:
            return []
        head = self._head
        try:
            code, state = _dre.assert_facts(self._handle, "[" + head + ("," + head).join(fragments) + "]")
        except Exception as exc:
            raise _engine_error(exc, "accept the map's facts") from None
        if code == _OBSERVED:
            raise EngineError("the rule engine dropped a fact as a duplicate; no findings were produced "
                              "(this is a bug in audit-engine: please report it with the map)")
        fired: list[str] = []
        try:
            result = _dre.start_action_for_state(self._handle, state)
            if result:
                fired.append(result[1])
                nxt = _dre.complete_and_start_action(self._handle, state)
                while nxt:
                    fired.append(nxt)
                    nxt = _dre.complete_and_start_action(self._handle, state)
        except Exception as exc:
            raise _engine_error(exc, "run the rules") from None
        return fired

    def open(self) -> None:
        """Fire the sentinel rule once, so the state's action context is initialised."""
        raw = self.assert_fragments([fragment({"id": OPEN_FACT_ID, "T": _OPEN_TYPE})])
        if not any(OPEN_RULE in json.loads(a) for a in raw):
            raise EngineError("the rule engine did not start an audit session; no findings were produced")


@contextmanager
def session(handle: int, flags: tuple[str, ...] = ()) -> Iterator[Session]:
    """A fresh state, exclusive for its lifetime, deleted afterwards whatever happens;
    every fact asserted into it carries the fields ``flags`` (value 1)."""
    with _LOCK:
        if _LIVE.get(handle, 0) >= _MAX_LIVE_STATES:
            raise CapacityError("too many audits are open at once in this process")
        sid = f"a{next(_SIDS)}"
        _LIVE[handle] = _LIVE.get(handle, 0) + 1
        try:
            s = Session(handle, sid, flags)
            s.open()
            yield s
        finally:
            _LIVE[handle] -= 1
            try:
                _dre.delete_state(handle, sid)
            except Exception:
                pass  # the state may never have been created (no fact asserted)


def engine_version() -> str:
    """The installed durable-rules version (for cache keys and reports)."""
    from ..version import dist_version

    return dist_version("durable-rules") or "unknown"


def live_states(handle: int) -> int:
    return _LIVE.get(handle, 0)
