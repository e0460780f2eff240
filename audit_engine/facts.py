"""Step 3 of the pipeline: a validated journey map becomes base facts.

The fact vocabulary is read off the models (``model.py`` is the one table): each
entity becomes one fact of its kind with its scalar fields (absent optional values are
left out, never null; fields marked ``NOT_A_FACT`` are never facts); each list of
references becomes one small relation fact per item (``Ref.relation``), so that rules
join on equality (which the engine hashes) instead of scanning lists; lists of enum
values stay on the fact (``has`` / ``has_any`` tests) and, where the model says so
(``ListRelation``), are also relations. Nothing here decides what is compliant:
derived facts (PHI, effective controls...) are asserted by the rules in the engine.

:func:`fact_builder` builds only the fact types and fields a rule program reads.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal, get_args, get_origin

from pydantic import BaseModel

from .model import ENTITIES, NOT_A_FACT, FailureMode, JourneyMap, ListRelation, Ref, Touchpoint

FieldKind = Literal["id", "str", "int", "bool", "list"]


@dataclass(frozen=True)
class FactType:
    """The shape of one kind of fact: its fields and their kinds."""

    name: str
    fields: dict[str, FieldKind]
    entity: str | None = None  # the subject kind whose `id` this fact carries
    derived: bool = False
    doc: str = ""
    required: frozenset[str] = frozenset()  # fields every fact of this type has


@dataclass(frozen=True)
class _Column:
    """How one fact field is read from a model instance."""

    name: str  # fact field
    attr: str  # model attribute
    kind: FieldKind
    required: bool


@dataclass(frozen=True)
class _Relation:
    """A relation fact read from a list field: ``{owner: id, item: value}`` per value."""

    name: str
    owner: str
    item: str
    attr: str
    item_kind: FieldKind
    lists: tuple[str, ...] = ()


@dataclass
class _Plan:
    """How facts are read from one model: its entity fact, relations, nested facts."""

    fact: str
    columns: list[_Column]
    relations: list[_Relation] = field(default_factory=list)
    nested: list[tuple[str, "_Plan"]] = field(default_factory=list)  # (attribute, plan of each item)


def _unwrap(tp: Any) -> tuple[Any, tuple[Any, ...], bool]:
    """(bare type, metadata, optional?) of an annotation."""
    meta: tuple[Any, ...] = ()
    optional = False
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            meta += tuple(tp.__metadata__)
            tp = get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            optional = True
            tp = args[0]
        else:
            return tp, meta, optional


def _kind(tp: Any, meta: tuple[Any, ...], attr: str) -> FieldKind:
    if attr == "id" or any(isinstance(m, Ref) for m in meta):
        return "id"
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if get_origin(tp) is list:
        return "list"
    return "str"


def _plan(model: type[BaseModel], fact: str, owner_field: str | None = None,
          nested_of: dict[str, str] | None = None) -> _Plan:
    plan = _Plan(fact, [])
    if owner_field:
        plan.columns.append(_Column(owner_field, "", "id", True))
    for attr, info in model.model_fields.items():
        tp, meta, _ = _unwrap(info.annotation)
        meta = meta + tuple(info.metadata)
        if NOT_A_FACT in meta and not (model is FailureMode and attr == "description"):
            continue
        name = info.alias or attr
        ref = next((m for m in meta if isinstance(m, Ref)), None)
        if get_origin(tp) is list:
            item_tp, _, _ = _unwrap(get_args(tp)[0])
            if isinstance(item_tp, type) and issubclass(item_tp, BaseModel):
                sub_fact = (nested_of or {}).get(attr, attr)
                plan.nested.append((attr, _plan(item_tp, sub_fact, owner_field=fact)))
                continue
            if ref is not None:
                plan.relations.append(_Relation(ref.relation or f"{fact}_{attr}", fact, ref.item or attr, attr, "id",
                                                ref.lists))
                continue
            rel = next((m for m in meta if isinstance(m, ListRelation)), None)
            if rel is not None:
                plan.relations.append(_Relation(rel.relation, fact, rel.item, attr, "str"))
        default = info.get_default(call_default_factory=True)
        required = info.is_required() or (default is not None and default != [] and not callable(default))
        plan.columns.append(_Column(name, attr, _kind(tp, meta, attr), required))
    return plan


_NESTED = {"data_access": "access", "failure_modes": "failure_mode"}
PLANS: dict[str, _Plan] = {e.key: _plan(e.model, e.kind, nested_of=_NESTED) for e in ENTITIES}
# Facts that belong to one touchpoint, and the field that names it. The engine keeps
# each group of touchpoints in its own state (see engine/_plan.py).
ANCHOR = "touchpoint"
ANCHOR_FIELDS: dict[str, str] = {"touchpoint": "id"}


def _register(types_: dict[str, FactType], plan: _Plan, entity: str | None, anchor: str | None) -> None:
    fields = {c.name: c.kind for c in plan.columns}
    if plan.fact == "stage":
        fields["index"] = "int"
    required = frozenset(c.name for c in plan.columns if c.required) | ({"index"} if plan.fact == "stage" else set())
    types_[plan.fact] = FactType(plan.fact, fields, entity, doc=_DOCS.get(plan.fact, ""), required=required)
    if anchor:
        ANCHOR_FIELDS.setdefault(plan.fact, anchor)
    for r in plan.relations:
        rel_fields: dict[str, FieldKind] = {r.owner: "id", r.item: r.item_kind}
        if anchor and r.owner != anchor:
            rel_fields[anchor] = "id"
        types_[r.name] = FactType(r.name, rel_fields, None, doc=_DOCS.get(r.name, ""), required=frozenset(rel_fields))
        if anchor:
            ANCHOR_FIELDS.setdefault(r.name, anchor)
        elif r.lists == ("touchpoints",):  # e.g. training_covers: each fact names one touchpoint
            ANCHOR_FIELDS.setdefault(r.name, r.item)
    for _, sub in plan.nested:
        sub_entity = sub.fact if any(c.name == "id" for c in sub.columns) else None
        _register(types_, sub, sub_entity, anchor)


_DOCS: dict[str, str] = {
    "map": "the map itself",
    "stage": "index is the journey order, from 0",
    "access": "one data_access entry",
    "data_source": "one derived_from edge: data is derived from source",
    "flow": "a data flow; from and to are system or touchpoint ids",
    "checkpoint_scope": "one applies_to entry",
    "recipient": "one recipients entry of a touchpoint",
    "touchpoint_system": "one entry of a touchpoint's systems list (its system field is on the touchpoint)",
    "data_sensitivity": "one sensitivity category of a data asset (its own, not inherited)",
    "checkpoint_sensitivity": "one sensitivity category a consent or authorization covers",
}

BASE_FACT_TYPES: dict[str, FactType] = {
    "map": FactType("map", {"id": "id", "name": "str", "version": "str", "organization": "str"}, "map",
                    doc=_DOCS["map"], required=frozenset({"id", "name", "version"})),
}
for _e in ENTITIES:
    _register(BASE_FACT_TYPES, PLANS[_e.key], _e.kind, ANCHOR if _e.kind == ANCHOR else None)


@dataclass(frozen=True)
class Fact:
    """One fact: its type and its field values (absent values are not keys)."""

    type: str
    values: dict[str, Any] = field(hash=False)

    def key(self) -> tuple[Any, ...]:
        """Identity by content. Values are built in a fixed field order and lists are
        tuples, so no sorting is needed."""
        return (self.type, tuple(self.values.items()))


def _value(v: Any) -> Any:
    if type(v) is list:
        return tuple(sorted(set(v))) if v else None
    if v == "":
        return None
    return v


def _compile_plan(plan: _Plan, types_: frozenset[str] | None) -> Callable[..., Iterator[Fact]]:
    """A function yielding the facts of one model instance (and its nested items)."""
    cols = [(c.name, c.attr) for c in plan.columns if c.attr]
    owner = next((c.name for c in plan.columns if not c.attr), None)
    rels = [(r.name, r.owner, r.item, r.attr) for r in plan.relations if types_ is None or r.name in types_]
    anchor_rel = plan.fact in ANCHOR_FIELDS and plan.fact != ANCHOR
    nested = [(attr, _compile_plan(sub, types_)) for attr, sub in plan.nested]
    fact_type = plan.fact
    emit_own = types_ is None or fact_type in types_

    def build(obj: Any, owner_id: Any = None) -> Iterator[Fact]:
        fields = obj.__dict__  # a model's field values (read directly: 500,000 reads in a large map)
        if emit_own:
            values: dict[str, Any] = {owner: owner_id} if owner else {}
            for name, attr in cols:
                v = fields[attr]
                if v is not None:
                    v = _value(v)
                    if v is not None:
                        values[name] = v
            yield Fact(fact_type, values)
        ident = fields.get("id")
        for rname, rowner, item, attr in rels:
            for v in fields[attr]:
                vals = {rowner: ident, item: v}
                if anchor_rel:
                    vals[ANCHOR] = owner_id
                yield Fact(rname, vals)
        for attr, sub in nested:
            for item in fields[attr]:
                yield from sub(item, ident if fact_type == ANCHOR else owner_id)
    return build


def base_facts(m: JourneyMap, types_: Iterable[str] | None = None) -> Iterator[Fact]:
    """Every base fact of the map, in map order; with ``types_``, only facts of those types."""
    wanted = None if types_ is None else frozenset(types_)
    builders = [(e.key, _compile_plan(PLANS[e.key], wanted)) for e in ENTITIES]
    if wanted is None or "map" in wanted:
        yield Fact("map", {k: v for k, v in (("id", m.id), ("name", m.name), ("version", m.version),
                                              ("organization", m.organization)) if v is not None})
    for key, build in builders:
        items: Iterable[Any] = getattr(m, key)
        if key == "stages":
            for i, st in enumerate(items):
                for f in build(st):
                    if f.type == "stage":
                        f.values["index"] = i
                    yield f
            continue
        for obj in items:
            yield from build(obj)


def journey_content(tp: Touchpoint) -> dict[str, Any]:
    """A touchpoint's journey content (format 1.1), for reports: only what is set."""
    out: dict[str, Any] = {}
    if tp.emotion:
        out["emotion"] = tp.emotion
    if tp.pain_points:
        out["pain_points"] = list(tp.pain_points)
    if tp.moment_that_matters:
        out["moment_that_matters"] = True
    if tp.duration:
        out["duration"] = tp.duration
    if tp.description:
        out["description"] = tp.description
    return out


__all__ = ["ANCHOR", "ANCHOR_FIELDS", "BASE_FACT_TYPES", "Fact", "FactType", "base_facts", "journey_content"]
