"""Compile rule packs into a :class:`~audit_engine.packs.program.Program` (engine-neutral).

What the compiler checks, so that a pack means exactly one thing:

* **Names.** Every fact type, field, alias, parameter and template placeholder exists
  (with "did you mean"); aliases are defined before they are referred to.
* **Types.** A literal has the field's type (``baa: 1`` is an error, not ``true``);
  ``lt``/``le``/``gt``/``ge`` compare numbers; ``has``/``has_any`` test list fields.
* **Stratified negation.** Every fact type gets a stratum (base facts 0; a derived type
  sits at or above everything its derivations use, and strictly above what they
  negate); packs whose negations go through recursion are rejected.
* **No cross products, no silent changes to built-in facts** (``_guards``).
* **Joins that can be evaluated.** A test against ``{ref: a.f}`` other than equality
  holds only when both fields are set; inside ``not:`` such a ref must name a field
  every fact of its type has (docs/packs.md, "Negation").

Engine limits (facts per body, tests per condition, number of bodies) are the engine's
business: ``engine.translate`` reports them as problems at the same pack positions.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable

from .._template import placeholders
from ..errors import did_you_mean
from ..facts import BASE_FACT_TYPES, FactType
from ._guards import core_extensions, cross_products
from .program import (
    Body,
    CompileProblems,
    Condition,
    FieldRef,
    Grade,
    Problem,
    Program,
    Test,
    body_signature,
    digest_of,
)
from .schema import Condition as CondSpec
from .schema import Derivation, FactDoc, Not, Op, Pack, Param, Ref, Rule

__all__ = ["compile_packs", "derivation_key", "CompileProblems", "Problem"]

_FIELD_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_KIND_CLASS = {"id": "text", "str": "text", "int": "int", "bool": "bool", "list": "list"}
_KIND_NAME = {"id": "text", "str": "text", "int": "number", "bool": "true/false", "list": "list"}


def derivation_key(pack: Pack, d: Derivation) -> str:
    """Derivation ids are unique within their pack."""
    return f"{pack.pack}/{d.id}"


# --- derived types and strata --------------------------------------------------------------


def _derived_types(packs: Iterable[Pack], problems: list[Problem]) -> dict[str, FactType]:
    types: dict[str, FactType] = {}
    for pack in packs:
        for i, d in enumerate(pack.derive):
            if d.fact in BASE_FACT_TYPES:
                problems.append(Problem(pack.pack, ("derive", i, "fact"),
                                        f"'{d.fact}' is a base fact type; a derivation must assert a new type"))
                continue
            fields = {k: "id" for k in d.assert_}
            prev = types.get(d.fact)
            if prev and set(prev.fields) != set(fields):
                problems.append(Problem(pack.pack, ("derive", i, "assert"),
                                        f"derived fact '{d.fact}' is asserted with fields {sorted(fields)} here but "
                                        f"{sorted(prev.fields)} elsewhere"))
                continue
            types[d.fact] = FactType(d.fact, fields, None, True, prev.doc if prev else d.because, frozenset(fields))
    # a derived field is always set when every derivation asserts a literal or an always-set field
    changed = True
    while changed:
        changed = False
        for pack in packs:
            for d in pack.derive:
                t = types.get(d.fact)
                if t is None:
                    continue
                for body in d.bodies():
                    alias_type = {(c.as_ or f"_{i}"): c.fact for i, c in enumerate(body) if isinstance(c, CondSpec)}
                    for k, v in d.assert_.items():
                        if isinstance(v, Ref) and k in t.required:
                            src_name = alias_type.get(v.alias, "")
                            src = types.get(src_name) or BASE_FACT_TYPES.get(src_name)
                            if src is None or v.field not in src.required:
                                t = types[d.fact] = dataclasses.replace(t, required=t.required - {k})
                                changed = True
    return types


def _body_stratum(body: list, strata: dict[str, int]) -> int:
    s = 0
    for c in body:
        if isinstance(c, Not):
            s = max(s, strata.get(c.not_.fact, 0) + 1)
        else:
            s = max(s, strata.get(c.fact, 0))
    return s


def _stratify(packs: list[Pack], types: dict[str, FactType], problems: list[Problem]) -> dict[str, int]:
    strata = {t: 0 for t in BASE_FACT_TYPES}
    strata.update({t: 0 for t in types})
    limit = len(types) + 1
    changed = True
    while changed:
        changed = False
        for pack in packs:
            for d in pack.derive:
                if d.fact not in strata:
                    continue
                need = max((_body_stratum(b, strata) for b in d.bodies()), default=0)
                if need > strata[d.fact]:
                    if need > limit:
                        problems.append(Problem(pack.pack, ("derive",),
                                                f"derived fact '{d.fact}' depends on its own negation "
                                                "(negation through recursion cannot be evaluated)"))
                        return strata
                    strata[d.fact] = need
                    changed = True
    return strata


# --- one body ------------------------------------------------------------------------------


def _literal_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "str"


class _BodyCompiler:
    """Compiles the conditions of one body, reporting problems at their pack paths."""

    def __init__(self, pack: Pack, types: dict[str, FactType], params: dict[str, int], path: tuple,
                 problems: list[Problem]):
        self.pack, self.types, self.params, self.path, self.problems = pack, types, params, path, problems
        self.alias_types: dict[str, str] = {}

    def problem(self, sub: tuple, message: str) -> None:
        self.problems.append(Problem(self.pack.pack, self.path + sub, message))

    def fact_type(self, name: str) -> FactType | None:
        return self.types.get(name) or BASE_FACT_TYPES.get(name)

    def compile(self, body: list) -> tuple[Condition, ...] | None:
        before = len(self.problems)
        out: list[Condition] = []
        for i, cond in enumerate(body):
            if isinstance(cond, Not):
                tests = self._tests(cond.not_, (i, "not"), negated=True)
                if tests is not None:
                    out.append(Condition(cond.not_.fact, f"_{i}", True, tests))
                continue
            tests = self._tests(cond, (i,), negated=False)
            alias = cond.as_ or f"_{i}"
            if alias in self.alias_types:
                self.problem((i, "as"), f"alias '{alias}' is used twice in one body")
            self.alias_types[alias] = cond.fact
            if tests is not None:
                out.append(Condition(cond.fact, alias, False, tests))
        return None if len(self.problems) != before else tuple(out)

    def _tests(self, cond: CondSpec, sub: tuple, negated: bool) -> tuple[Test, ...] | None:
        ftype = self.fact_type(cond.fact)
        if ftype is None:
            hint = did_you_mean(cond.fact, list(BASE_FACT_TYPES) + list(self.types))
            self.problem(sub + ("fact",), f"unknown fact type '{cond.fact}'"
                         + (f" (did you mean '{hint[0]}'?)" if hint else ""))
            return None
        out: list[Test] = []
        ok = True
        for fname, spec in cond.where.items():
            if fname not in ftype.fields:
                hint = did_you_mean(fname, ftype.fields)
                self.problem(sub + ("where", fname), f"fact '{cond.fact}' has no field '{fname}'"
                             + (f" (did you mean '{hint[0]}'?)" if hint else "")
                             + f"; its fields are {', '.join(ftype.fields)}")
                ok = False
                continue
            tests = self._test(fname, spec, ftype.fields[fname], sub + ("where", fname), negated)
            if tests is None:
                ok = False
            else:
                out.extend(tests)
        return tuple(out) if ok else None

    def _operand(self, value: Any, sub: tuple) -> tuple[Any, str] | None:
        """(operand, its kind), or None after reporting a problem."""
        if isinstance(value, Ref):
            if value.alias not in self.alias_types:
                self.problem(sub, f"'{value.ref}' refers to alias '{value.alias}', which no earlier positive "
                                  "condition of this body defines")
                return None
            ftype = self.fact_type(self.alias_types[value.alias])
            if ftype is None:
                return None  # its unknown fact type is reported already
            if value.field not in ftype.fields:
                self.problem(sub, f"'{value.ref}': fact '{ftype.name}' has no field '{value.field}'")
                return None
            return FieldRef(value.alias, value.field), ftype.fields[value.field]
        if isinstance(value, Param):
            if value.param not in self.params:
                self.problem(sub, f"unknown parameter '{value.param}' (declare it under 'parameters')")
                return None
            return self.params[value.param], "int"
        return value, _literal_kind(value)

    def _kind_ok(self, field_kind: str, operand_kind: str, sub: tuple, what: str) -> bool:
        if _KIND_CLASS.get(field_kind) == _KIND_CLASS.get(operand_kind):
            return True
        self.problem(sub, f"{what} compares a {_KIND_NAME[field_kind]} field with a {_KIND_NAME[operand_kind]}")
        return False

    def _test(self, f: str, spec: Any, kind: str, sub: tuple, negated: bool) -> list[Test] | None:
        """The tests a field's spec stands for (``all_of`` stands for several)."""
        op = spec if isinstance(spec, Op) else Op(eq=spec)
        name, operand = op.name, op.operand
        if name == "all_of":
            parts = [self._test(f, t, kind, sub + ("all_of", k), negated) for k, t in enumerate(operand)]
            return None if any(p is None for p in parts) else [t for p in parts for t in p]  # type: ignore[union-attr]
        if name == "any_of":
            if any(isinstance(t.operand, Ref) or t.name in ("all_of", "any_of") for t in operand):
                self.problem(sub, "any_of holds plain tests only (no {ref: ...}, any_of or all_of): "
                                  "write the alternatives with when_any")
                return None
            parts = [self._test(f, t, kind, sub + ("any_of", k), negated) for k, t in enumerate(operand)]
            if any(p is None for p in parts):
                return None
            return [Test(f, "any_of", tuple(p[0] for p in parts if p), kind)]
        if name == "present":
            return [Test(f, "present", bool(operand), kind)]
        if name in ("in", "not_in", "has", "has_any"):
            items = operand if isinstance(operand, list) else [operand]
            if name in ("has", "has_any") and kind != "list":
                self.problem(sub, f"'{name}' tests a list field; this field is a single value (use eq or in)")
                return None
            if name in ("in", "not_in") and kind == "list":
                self.problem(sub, f"'{name}' compares a single value; this field is a list (use has or has_any)")
                return None
            item_kind = "str" if name in ("has", "has_any") else kind
            if not all(self._kind_ok(item_kind, _literal_kind(v), sub, f"'{name}'") for v in items):
                return None
            return [Test(f, name, operand if name == "has" else tuple(items), kind)]
        got = self._operand(operand, sub + (name,))
        if got is None:
            return None
        value, operand_kind = got
        if kind == "list":
            self.problem(sub, f"'{name}' compares a single value; this field is a list (use has or has_any)")
            return None
        if name in ("lt", "le", "gt", "ge") and kind != "int":
            self.problem(sub, f"'{name}' compares numbers; this field is a {_KIND_NAME[kind]}")
            return None
        if not self._kind_ok(kind, operand_kind, sub, f"'{name}'"):
            return None
        if isinstance(value, FieldRef) and name != "eq" and negated:
            ref_type = self.fact_type(self.alias_types[value.alias])
            if ref_type is None:
                return None
            if value.field not in ref_type.required:
                self.problem(sub, f"inside 'not', '{name}' can only compare with a field every "
                                  f"'{ref_type.name}' fact has; '{value.field}' may be absent (test it with "
                                  "present: true in a derived fact and negate that)")
                return None
        return [Test(f, name, value, kind)]


# --- outputs: asserted fields, subjects, grades, templates ----------------------------------


def _check_outputs(kind: str, item: Any, bc: _BodyCompiler, path: tuple, problems: list[Problem]) -> tuple:
    """Problems with what a body produces; returns the derive asserts."""
    pack = bc.pack
    top = path[:2]
    asserts: list[tuple[str, Any]] = []
    if kind == "derive":
        for k, v in item.assert_.items():
            if isinstance(v, Ref):
                got = bc._operand(v, ("assert", k))
                if got is not None:
                    asserts.append((k, got[0]))
            else:
                asserts.append((k, v))
        texts = [("because", item.because)]
    else:
        alias, fld = item.subject.split(".", 1)
        if alias not in bc.alias_types:
            problems.append(Problem(pack.pack, top + ("subject",), f"subject '{item.subject}' names alias '{alias}', "
                                    "which no positive condition of the body defines"))
        else:
            ftype = bc.fact_type(bc.alias_types[alias])
            if ftype is None:
                pass  # its unknown fact type is reported already
            elif fld not in ftype.fields:
                problems.append(Problem(pack.pack, top + ("subject",), f"subject '{item.subject}': fact "
                                        f"'{ftype.name}' has no field '{fld}'"))
            elif ftype.entity and fld == "id" and ftype.entity not in item.subject_kinds:
                problems.append(Problem(pack.pack, top + ("subject_kind",), f"the subject is a {ftype.entity} here, "
                                        f"but subject_kind says {', '.join(item.subject_kinds)}"))
        texts = [("message", item.message)] + [("evidence", i, t) for i, t in enumerate(item.evidence)]
    for entry in texts:
        where, text = entry[:-1], entry[-1]
        for alias, fld in placeholders(text):
            if alias == "param":
                if fld not in bc.params:
                    problems.append(Problem(pack.pack, top + where, f"template names unknown parameter '{fld}'"))
            elif alias not in bc.alias_types:
                problems.append(Problem(pack.pack, top + where, f"template placeholder '{{{alias}.{fld}}}' names "
                                        f"alias '{alias}', which no positive condition of the body defines"))
            else:
                ftype = bc.fact_type(bc.alias_types[alias])
                if ftype is not None and fld not in ftype.fields:
                    problems.append(Problem(pack.pack, top + where, f"template placeholder '{{{alias}.{fld}}}': "
                                            f"fact '{ftype.name}' has no field '{fld}'"))
    return tuple(asserts)


def _grades(rule: Rule, pack: Pack, path: tuple, bodies: list[_BodyCompiler],
            problems: list[Problem]) -> tuple[Grade, ...]:
    """``severity_when`` as tests; every body of the rule must define the aliases it names."""
    out: list[Grade] = []
    for k, g in enumerate(rule.severity_when):
        tests: list[tuple[str, Test]] = []
        for alias, specs in g.where.items():
            where = path + ("severity_when", k, "where", alias)
            missing = [bc for bc in bodies if alias not in bc.alias_types]
            if missing:
                problems.append(Problem(pack.pack, where, f"severity_when names alias '{alias}', which not every "
                                        "alternative of the rule defines"))
                continue
            bc = bodies[0]
            ftype = bc.fact_type(bc.alias_types[alias])
            if ftype is None:
                continue  # its unknown fact type is reported already
            for fname, spec in specs.items():
                if fname not in ftype.fields:
                    problems.append(Problem(pack.pack, where + (fname,), f"fact '{ftype.name}' has no field '{fname}'"))
                    continue
                compiled = bc._test(fname, spec, ftype.fields[fname], where + (fname,), negated=False)
                if compiled and any(t.is_join for t in compiled):
                    problems.append(Problem(pack.pack, where + (fname,), "severity_when tests literals and "
                                            "parameters only, not {ref: ...}"))
                elif compiled:
                    tests.extend((alias, t) for t in compiled)
        out.append(Grade(g.severity, tuple(tests)))
    return tuple(out)


# --- the program ---------------------------------------------------------------------------


def _iter_bodies(pack: Pack) -> Iterable[tuple[str, str, Any, int, list, tuple]]:
    for i, d in enumerate(pack.derive):
        key = "when" if d.when is not None else "when_any"
        for j, body in enumerate(d.bodies()):
            yield "derive", derivation_key(pack, d), d, j, body, ("derive", i, key) + ((j,) if d.when is None else ())
    for i, r in enumerate(pack.rules):
        key = "when" if r.when is not None else "when_any"
        for j, body in enumerate(r.bodies()):
            yield "check", r.id, r, j, body, ("rules", i, key) + ((j,) if r.when is None else ())


def compile_packs(packs: list[Pack], params: dict[str, int], builtin: frozenset[str] = frozenset()) -> Program:
    """Compile ``packs`` with resolved ``params`` (defaults already applied); ``builtin``
    names the built-in packs (whose derived types user packs may only extend explicitly).

    Raises :class:`CompileProblems` listing every semantic problem found.
    """
    problems: list[Problem] = []
    types = _derived_types(packs, problems)
    strata = _stratify(packs, types, problems)
    bodies: dict[str, Body] = {}
    rules: dict[str, tuple[Pack, Rule]] = {}
    derivations: dict[str, tuple[Pack, Derivation]] = {}
    grades: dict[str, tuple[Grade, ...]] = {}
    retired = {r.id: pack.pack for pack in packs for r in pack.retired}
    for pack in packs:
        for i, r in enumerate(pack.rules):
            if r.id in retired:
                problems.append(Problem(pack.pack, ("rules", i, "id"), f"rule id {r.id} was retired (pack "
                                        f"'{retired[r.id]}'); a retired id is never reused: choose a new one"))
            if r.id in rules:
                problems.append(Problem(pack.pack, ("rules", i, "id"), f"rule {r.id} is defined by packs "
                                        f"'{rules[r.id][0].pack}' and '{pack.pack}'"))
            rules[r.id] = (pack, r)
        for i, d in enumerate(pack.derive):
            if derivation_key(pack, d) in derivations:
                problems.append(Problem(pack.pack, ("derive", i, "id"), f"derivation '{d.id}' is defined twice "
                                        "in this pack"))
            derivations[derivation_key(pack, d)] = (pack, d)
        compilers: dict[str, list[_BodyCompiler]] = {}
        for kind, owner, item, j, body, path in _iter_bodies(pack):
            bc = _BodyCompiler(pack, types, params, path, problems)
            conditions = bc.compile(body)
            asserts = _check_outputs(kind, item, bc, path, problems)
            compilers.setdefault(owner, []).append(bc)
            if conditions is None:
                continue
            name = f"{'d' if kind == 'derive' else 'c'}{len(bodies)}"
            bodies[name] = Body(name, kind, owner, pack.pack, path, j, conditions, _body_stratum(body, strata),
                                item.fact if kind == "derive" else None, asserts)
        for i, r in enumerate(pack.rules):
            if r.severity_when:
                grades[r.id] = _grades(r, pack, ("rules", i), compilers.get(r.id, []), problems)
    fact_docs: dict[str, FactDoc] = {}
    for pack in packs:
        for name, doc in pack.facts.items():
            ftype = types.get(name)
            if ftype is None:
                hint = did_you_mean(name, list(types))
                problems.append(Problem(pack.pack, ("facts", name), f"'{name}' is not a derived fact type"
                                        + (f" (did you mean '{hint[0]}'?)" if hint else "")))
                continue
            for field_name in _FIELD_PLACEHOLDER.findall(doc.missing or ""):
                if field_name not in ftype.fields:
                    problems.append(Problem(pack.pack, ("facts", name, "missing"), f"'{{{field_name}}}': fact "
                                            f"'{name}' has no field '{field_name}'"))
            fact_docs[name] = doc
            types[name] = dataclasses.replace(ftype, doc=doc.doc)
    problems += cross_products(bodies, frozenset(p.pack for p in packs if p.allow_cross_products))
    extensions, extension_problems = core_extensions(packs, builtin)
    problems += extension_problems
    if problems:
        raise CompileProblems(problems)
    program = Program(tuple(packs), dict(params), {**BASE_FACT_TYPES, **types}, strata, bodies, rules, derivations,
                      grades, fact_docs=fact_docs, core_extensions=extensions)
    program.rule_digests = _rule_digests(program)
    program.digest = digest_of({"rules": program.rule_digests, "params": params,
                                "packs": [(p.pack, p.version) for p in packs],
                                "derivations": sorted(digest_of(body_signature(b)) for b in bodies.values()
                                                      if b.kind == "derive")})
    return program


def _rule_digests(p: Program) -> dict[str, str]:
    """Per rule, a digest of everything its findings depend on: its bodies, severity,
    grades and subject, the parameters it reads and every derivation of every type it
    reads, transitively. Equal digests in two runs: the rule cannot explain a difference."""
    derive_sigs: dict[str, list[Any]] = {}
    derive_reads: dict[str, set[str]] = {}
    for b in p.bodies.values():
        if b.kind == "derive" and b.fact:
            derive_sigs.setdefault(b.fact, []).append(body_signature(b))
            derive_reads.setdefault(b.fact, set()).update(b.reads)
    out: dict[str, str] = {}
    for rule_id, (_, rule) in p.rules.items():
        own = [b for b in p.bodies.values() if b.owner == rule_id]
        seen: set[str] = set()
        todo = [t for b in own for t in b.reads]
        while todo:
            t = todo.pop()
            if t not in seen:
                seen.add(t)
                todo.extend(derive_reads.get(t, ()))
        out[rule_id] = digest_of({
            "bodies": [body_signature(b) for b in own], "severity": rule.severity,
            "grades": [[g.severity, [[a, t.field, t.op, repr(t.value)] for a, t in g.tests]]
                       for g in p.grades.get(rule_id, ())],
            "subject": rule.subject, "derivations": {t: sorted(map(repr, derive_sigs.get(t, []))) for t in sorted(seen)},
        })
    return out
