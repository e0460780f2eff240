"""What a field test means, in Python: the semantics ``rules/README.md`` documents.

The engine evaluates conditions itself; this is used where Python must decide a test
on facts the engine produced: grading a finding's severity (``severity_when``) and
explaining why a rule did not fire. The test suite pins it to the reference interpreter.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from .schema import Op, Param, Ref

Resolve = Callable[[Ref], Any]


def _absent(v: Any) -> bool:
    return v is None or (isinstance(v, (list, tuple)) and len(v) == 0)


def operand_value(operand: Any, params: Mapping[str, int], resolve: Resolve | None = None) -> Any:
    if isinstance(operand, Ref):
        return resolve(operand) if resolve else None
    if isinstance(operand, Param):
        return params[operand.param]
    return operand


def _same(a: Any, b: Any) -> bool:
    # booleans are not numbers here (the engine is kept from coercing them by the compiler)
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def holds(actual: Any, test: Any, params: Mapping[str, int], resolve: Resolve | None = None) -> bool:
    """Does a field whose value is ``actual`` (None when absent) pass ``test``?"""
    if not isinstance(test, Op):
        test = Op(eq=test)
    name, v = test.name, test.operand
    if _absent(actual):
        actual = None
    if name == "any_of":
        return any(holds(actual, t, params, resolve) for t in v)
    if name == "all_of":
        return all(holds(actual, t, params, resolve) for t in v)
    if name == "present":
        return (actual is not None) == v
    if name == "not_in":
        return actual is None or not any(_same(actual, x) for x in v)
    if name == "ne":
        want = operand_value(v, params, resolve)
        if isinstance(v, Ref):  # a non-equality join holds only when both sides are set
            return actual is not None and not _absent(want) and not _same(actual, want)
        return actual is None or not _same(actual, want)
    if actual is None:
        return False
    if name == "in":
        return any(_same(actual, x) for x in v)
    if name == "has":
        return any(_same(x, v) for x in actual)
    if name == "has_any":
        return any(_same(x, y) for x in actual for y in v)
    want = operand_value(v, params, resolve)
    if _absent(want):
        return False
    if name == "eq":
        return _same(actual, want)
    if isinstance(actual, bool) or isinstance(want, bool):
        return False
    return {"lt": actual < want, "le": actual <= want, "gt": actual > want, "ge": actual >= want}[name]
