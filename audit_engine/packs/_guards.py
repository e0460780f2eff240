"""Two things a user pack must not do by accident (checked at compile time).

* **Cross products.** A body whose positive conditions fall into two groups that no
  equality test joins (``touchpoint a`` and ``touchpoint b`` with nothing tying them)
  matches every pair of facts: 15,000 touchpoints make 225 million matches, and the
  engine runs out of memory before a run-time limit could stop it. Such a body is
  refused (unless the pack says ``allow_cross_products: true``: the run-time limits
  then apply). Facts of *bounded* types may stand apart: ``map`` (one per map) and derived
  types whose every derivation asserts only literals and fields of bounded facts (a flag
  such as ``map_has_ephi``). Weakly joined bodies (``a.stage == b.stage``) are caught
  at run time by ``limits.max_activations``.
* **Derivations of built-in fact types.** A user pack that derives, say,
  ``effective_control`` adds facts the built-in rules negate, which silently switches
  them off. It is refused unless the pack lists the type under ``extends:``; the run
  then says so in every report (:attr:`Program.core_extensions`).
"""

from __future__ import annotations

from typing import Iterable

from ..errors import did_you_mean
from .program import Body, FieldRef, Problem
from .schema import Pack


def bounded_types(bodies: Iterable[Body]) -> frozenset[str]:
    """Fact types with at most a handful of facts whatever the map's size."""
    derive: dict[str, list[Body]] = {}
    for b in bodies:
        if b.kind == "derive" and b.fact:
            derive.setdefault(b.fact, []).append(b)
    bounded = {"map"}
    grown = True
    while grown:
        grown = False
        for t, bs in derive.items():
            if t not in bounded and all(not isinstance(v, FieldRef) or b.alias_types.get(v.alias) in bounded
                                        for b in bs for _, v in b.asserts):
                bounded.add(t)
                grown = True
    return frozenset(bounded)


def cross_products(bodies: dict[str, Body], allowed: frozenset[str] = frozenset()) -> list[Problem]:
    """A problem for every body that matches unjoined groups of unbounded facts (except
    in the ``allowed`` packs: ``allow_cross_products: true``)."""
    bounded = bounded_types(bodies.values())
    problems: list[Problem] = []
    for b in bodies.values():
        if b.pack in allowed:
            continue
        parent = {a: a for a in b.aliases}

        def find(a: str, parent: dict[str, str] = parent) -> str:
            while parent[a] != a:
                a = parent[a]
            return a

        for c in b.conditions:
            if c.negated:
                continue
            for t in c.tests:  # only top-level equality joins are hashed joins
                if t.op == "eq" and isinstance(t.value, FieldRef) and t.value.alias in parent:
                    parent[find(c.alias)] = find(t.value.alias)
        groups: dict[str, list[str]] = {}
        for c in b.conditions:
            if not c.negated and c.fact not in bounded:
                groups.setdefault(find(c.alias), []).append(f"'{c.alias}' ({c.fact})")
        if len(groups) > 1:
            listed = " and ".join(", ".join(g) for g in groups.values())
            problems.append(Problem(b.pack, b.path, f"the conditions {listed} are joined by no equality test, so "
                                    "every combination of their facts would match (a cross product that exhausts "
                                    "memory on a large map); tie them with `field: {ref: alias.field}`, or set "
                                    "`allow_cross_products: true` in the pack if the fact types are known to stay small"))
    return problems


def core_extensions(packs: list[Pack], builtin: frozenset[str]) -> tuple[dict[str, tuple[str, ...]], list[Problem]]:
    """Per user pack, the built-in derived types it adds derivations to (each listed under
    ``extends:``), and a problem for every derivation of one it does not list."""
    core = {d.fact for p in packs if p.pack in builtin for d in p.derive}
    out: dict[str, tuple[str, ...]] = {}
    problems: list[Problem] = []
    for p in packs:
        if p.pack in builtin:
            continue
        for i, name in enumerate(p.extends):
            if name not in core:
                hint = did_you_mean(name, sorted(core))
                problems.append(Problem(p.pack, ("extends", i), f"'{name}' is not a built-in derived fact type"
                                        + (f" (did you mean '{hint[0]}'?)" if hint else "")))
        extended = set()
        for i, d in enumerate(p.derive):
            if d.fact not in core:
                continue
            if d.fact in p.extends:
                extended.add(d.fact)
            else:
                problems.append(Problem(p.pack, ("derive", i, "fact"), f"'{d.fact}' is a built-in fact type: "
                                        "deriving more of it can switch built-in rules off (a fact they look for "
                                        f"the absence of now exists); if that is intended, list it under "
                                        f"`extends:` in this pack, and every report will say so"))
        if extended:
            out[p.pack] = tuple(sorted(extended))
    return out, problems
