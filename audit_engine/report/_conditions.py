"""Rule and derivation bodies in words, for the rule reference.

A body is a list of conditions (``rules/README.md``); each becomes one line such as
"a touchpoint t whose authentication is shared" or "and there is no
`effective_control` fact whose touchpoint is t and type is audit_logging". Entity facts
are named by their noun ("data flow"), every other fact by its name in code, linked to
its definition. Good enough to read; the pack file stays the exact statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence, get_args, get_origin

from pydantic import BaseModel

from ..facts import BASE_FACT_TYPES
from ..model import ENTITIES, ListRelation, Ref as ModelRef
from ..packs.schema import Condition, Not, Op, Pack, Param, Ref, Rule

_NESTED = {"data_access": ("access", "data_access entry"), "failure_modes": ("failure_mode", "failure mode")}
_KIND_NOUN = {e.kind: e.noun for e in ENTITIES} | {"map": "map", "failure_mode": "failure mode"}
_FIELD_WORDS = {"from": "from end", "to": "to end"}  # "the to of f" reads badly
_COMPARE = {"lt": "is less than", "le": "is at most", "gt": "is more than", "ge": "is at least"}


@dataclass(frozen=True)
class Vocabulary:
    """What the reference knows about fact names: base facts (fields and meaning) and
    the fact types the given packs derive."""

    base: dict[str, tuple[tuple[str, ...], str]]
    derived: frozenset[str]

    @classmethod
    def of(cls, packs: Sequence[Pack]) -> "Vocabulary":
        meanings = _base_meanings()
        base = {name: (tuple(ft.fields), meanings.get(name, ft.doc)) for name, ft in BASE_FACT_TYPES.items()}
        return cls(base, frozenset(d.fact for p in packs for d in p.derive))

    def noun(self, fact: str) -> str:
        """"touchpoint", "data flow", or "`uses` fact" (linked to its definition)."""
        ft = BASE_FACT_TYPES.get(fact)
        if ft is not None and ft.entity is not None:
            return _KIND_NOUN.get(ft.entity, ft.entity)
        if fact in self.derived:
            return f"[`{fact}`](#{fact}) fact"
        if fact in self.base:
            return f"[`{fact}`](#base-facts) fact"
        return f"`{fact}` fact"


def _base_meanings() -> dict[str, str]:
    """What each base fact is, read off the models: one per entry, or one per list item."""
    out: dict[str, str] = {"map": "the map itself (its id, name, version and organization)"}
    for e in ENTITIES:
        out[e.kind] = f"one per entry of `{e.key}`"
        _walk(e.model, e.noun, e.kind, out)
    for name, ft in BASE_FACT_TYPES.items():  # entity facts' notes; relations' notes repeat the above
        if ft.doc and (name not in out or (ft.entity is not None and name != "map")):
            out[name] = f"{out[name]}; {ft.doc}" if name in out else ft.doc
    return out


def _walk(model: type[BaseModel], noun: str, fact: str, out: dict[str, str]) -> None:
    for attr, info in model.model_fields.items():
        key = info.alias or attr
        for m in info.metadata:
            if isinstance(m, ModelRef) and m.relation:
                out.setdefault(m.relation, f"one per id in the `{key}` list of a {noun}")
            elif isinstance(m, ListRelation):
                out.setdefault(m.relation, f"one per value in the `{key}` list of a {noun}")
        args = get_args(info.annotation) if get_origin(info.annotation) is list else ()
        if args and isinstance(args[0], type) and issubclass(args[0], BaseModel) and attr in _NESTED:
            sub_fact, sub_noun = _NESTED[attr]
            out.setdefault(sub_fact, f"one per {sub_noun} of a {noun} (with the {noun}'s id)")
            _walk(args[0], sub_noun, sub_fact, out)


# --------------------------------------------------------------------------- values and tests


def value_words(v: Any) -> str:
    if isinstance(v, Ref):
        return v.alias if v.field == "id" else f"the {_FIELD_WORDS.get(v.field, v.field)} of {v.alias}"
    if isinstance(v, Param):
        return f"`{v.param}` (a parameter)"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _choices(values: Sequence[Any], joiner: str) -> str:
    words = [value_words(v) for v in values]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + f" {joiner} " + words[-1]


def test_words(test: Any) -> str:
    """A predicate on one field: "is shared", "is not set", "includes near_miss"."""
    if not isinstance(test, Op):
        return f"is {value_words(test)}"
    name, arg = test.name, test.operand
    if name == "eq":
        return f"is {value_words(arg)}"
    if name == "ne":
        return f"is not {value_words(arg)}"
    if name in _COMPARE:
        return f"{_COMPARE[name]} {value_words(arg)}"
    if name == "in":
        return f"is {_choices(arg, 'or')}"
    if name == "not_in":
        if len(arg) <= 2:
            return f"is not {value_words(arg[0])}" if len(arg) == 1 else \
                f"is neither {value_words(arg[0])} nor {value_words(arg[1])}"
        return f"is none of {_choices(arg, 'or')}"
    if name == "present":
        return "is set" if arg else "is not set"
    if name == "has":
        return f"includes {value_words(arg)}"
    if name == "has_any":
        return f"includes {_choices(arg, 'or')}"
    if name == "any_of":
        return " or ".join(test_words(t) for t in arg)
    if name == "all_of":
        return " and ".join(test_words(t) for t in arg)
    raise ValueError(f"unknown field test '{name}'")  # pragma: no cover (schema.Op lists them all)


def field_words(field: str, test: Any) -> str:
    """"authentication is shared"; for a test on a list, "actions list includes share"."""
    pred = test_words(test)
    return f"{field} list {pred}" if pred.startswith("includes ") else f"{field} {pred}"


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# --------------------------------------------------------------------------- conditions


def condition_words(cond: Condition | Not, vocab: Vocabulary) -> str:
    negated = isinstance(cond, Not)
    c = cond.not_ if isinstance(cond, Not) else cond
    is_entity = BASE_FACT_TYPES.get(c.fact) is not None and BASE_FACT_TYPES[c.fact].entity is not None
    noun = vocab.noun(c.fact)
    same = ""
    tests = []
    for fld, test in c.where.items():
        if is_entity and fld == "id" and isinstance(test, Ref):
            same = f" that is {value_words(test)}"
        else:
            tests.append(field_words(fld, test))
    clauses = same + (f"{',' if same else ''} whose {_join(tests)}" if tests else "")
    if negated:
        return f"there is no {noun}{clauses}"
    if c.fact == "map":
        return f"the map{' ' + c.as_ if c.as_ else ''}{clauses}"
    article = "an" if noun.lstrip("[`")[:1] in "aeio" else "a"  # not "an uses fact"
    return f"{article} {noun}{' ' + c.as_ if c.as_ else ''}{clauses}"


def body_words(body: Sequence[Condition | Not], vocab: Vocabulary) -> list[str]:
    """One line per condition; every line after the first starts with "and"."""
    return [("and " if i else "") + condition_words(c, vocab) for i, c in enumerate(body)]


def severity_words(rule: Rule, vocab: Vocabulary) -> str:
    """"high", or graded: "high; critical when the harm of failure mode fm is death"."""
    nouns: dict[str, str] = {}
    for body in rule.bodies():
        for c in body:
            if isinstance(c, Condition) and c.as_:
                nouns.setdefault(c.as_, vocab.noun(c.fact))
    parts = [rule.severity]
    for w in rule.severity_when:
        tests = []
        for alias, fields in w.where.items():
            who = f"{nouns[alias]} {alias}" if alias in nouns else alias
            for fld, t in fields.items():
                pred = test_words(t)
                key = f"{fld} list" if pred.startswith("includes ") else fld
                tests.append(f"the {key} of {who} {pred}")
        parts.append(f"{w.severity} when {_join(tests)}")
    return "; ".join(parts)
