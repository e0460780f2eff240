"""Where each rule body runs when a map is split into touchpoint shards.

durable-rules indexes a state's facts and join frames in fixed-size hash tables, so
the cost per fact grows with the number of facts in one state. The engine therefore
splits a large map into several states ("shards"), each holding a group of
touchpoints, plus one *global* state. This module decides, from the rules alone, what
may run where without changing any result:

* A fact type is **anchored** when each fact belongs to one touchpoint (base types in
  ``facts.ANCHOR_FIELDS``; a derived type whose every derivation is local and asserts
  the anchor under one field).
* A body is **local** when all its anchored positive conditions are joined on the same
  touchpoint by equality, and every anchored negated condition is tied to that same
  touchpoint: all facts it can match or be blocked by are then in one shard, given
  that facts of non-anchored types are copied into every shard that needs them.
* Every other body is **global**: it runs only in the global state, which receives
  every fact of every type a global body uses.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..facts import ANCHOR_FIELDS
from .schema import Derivation, Not, Op, Ref


class _Terms:
    """Union-find over `alias.field` terms joined by equality."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, t: tuple[str, str]) -> tuple[str, str]:
        self.parent.setdefault(t, t)
        while self.parent[t] != t:
            self.parent[t] = self.parent[self.parent[t]]
            t = self.parent[t]
        return t

    def union(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        self.parent[self.find(a)] = self.find(b)


def _eq_ref(test: Any) -> Ref | None:
    if isinstance(test, Ref):
        return test
    if isinstance(test, Op) and test.name == "eq" and isinstance(test.operand, Ref):
        return test.operand
    return None


def anchor_class(body: list, anchored: dict[str, str]) -> tuple[bool, _Terms, tuple[str, str] | None]:
    """(is the body local?, its equality terms, the anchor term) under ``anchored``."""
    terms = _Terms()
    anchors: list[tuple[str, str]] = []
    for i, c in enumerate(body):
        if isinstance(c, Not):
            continue
        alias = c.as_ or f"_{i}"
        for field, test in c.where.items():
            ref = _eq_ref(test)
            if ref is not None:
                terms.union((alias, field), (ref.alias, ref.field))
        if c.fact in anchored:
            anchors.append((alias, anchored[c.fact]))
    if not anchors:
        return False, terms, None
    root = terms.find(anchors[0])
    if any(terms.find(a) != root for a in anchors[1:]):
        return False, terms, None
    for c in body:
        if isinstance(c, Not) and c.not_.fact in anchored:
            ref = _eq_ref(c.not_.where.get(anchored[c.not_.fact]))
            if ref is None or terms.find((ref.alias, ref.field)) != root:
                return False, terms, None
    return True, terms, anchors[0]


def _derived_anchor(d: Derivation, anchored: dict[str, str]) -> str | None:
    """The asserted field carrying the touchpoint, if every body of ``d`` is local."""
    fields = set()
    for body in d.bodies():
        local, terms, anchor = anchor_class(body, anchored)
        if not local or anchor is None:
            return None
        root = terms.find(anchor)
        hits = [k for k, v in d.assert_.items() if isinstance(v, Ref) and terms.find((v.alias, v.field)) == root]
        if not hits:
            return None
        fields.add(sorted(hits)[0])
    return fields.pop() if len(fields) == 1 else None


def plan(derivations: Iterable[Derivation], bodies: dict[int, list]) -> tuple[dict[str, str], dict[int, bool]]:
    """Anchored types and, per body key, whether it is local.

    A derived type is anchored when every one of its derivations is local and asserts the
    anchor under the same field, *given the anchored set itself*. Anchoring one type can
    make a body that joins it on another field non-local, so the set is grown from the
    base types and re-checked; a type that fails the check is excluded for good and the
    set is grown again (the exclusions only grow, so this ends).
    """
    by_type: dict[str, list[Derivation]] = {}
    for d in derivations:
        by_type.setdefault(d.fact, []).append(d)
    excluded: set[str] = set()

    def field_of(t: str, anchored: dict[str, str]) -> str | None:
        fields = {_derived_anchor(d, anchored) for d in by_type[t]}
        return fields.pop() if len(fields) == 1 and None not in fields else None

    while True:
        anchored = dict(ANCHOR_FIELDS)
        grown = True
        while grown:
            grown = False
            for t in by_type:
                if t not in anchored and t not in excluded:
                    f = field_of(t, anchored)
                    if f is not None:
                        anchored[t] = f
                        grown = True
        bad = {t for t in by_type if t in anchored and field_of(t, anchored) != anchored[t]}
        if not bad:
            break
        excluded |= bad
    local = {key: anchor_class(body, anchored)[0] for key, body in bodies.items()}
    return anchored, local


def conditions_types(body: list) -> set[str]:
    return {(c.not_.fact if isinstance(c, Not) else c.fact) for c in body}


__all__ = ["plan", "anchor_class", "conditions_types"]
