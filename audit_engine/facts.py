"""Step 3 of the pipeline: a validated journey map becomes base facts.

Each entity becomes one fact of its kind with its scalar attributes (absent optional
values are left out, never null); each list of references becomes one small relation
fact per item, so that rules join on equality (which the engine hashes) instead of
scanning lists. Lists of enum values stay on the fact (``has`` / ``has_any`` tests).
Nothing here decides what is compliant: derived facts (PHI, effective controls...)
are asserted by the rules in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Literal

from .model import JourneyMap

FieldKind = Literal["id", "str", "int", "bool", "list"]


@dataclass(frozen=True)
class FactType:
    """The shape of one kind of fact: its fields, and how to describe one in evidence."""

    name: str
    fields: dict[str, FieldKind]
    describe: str
    entity: str | None = None  # the map entity kind whose `id` this fact carries
    derived: bool = False
    doc: str = ""
    required: frozenset[str] = frozenset()  # fields every fact of this type has


def _t(name: str, describe: str, entity: str | None = None, doc: str = "", /, **fields: FieldKind) -> FactType:
    return FactType(name, dict(fields), describe, entity, False, doc)


BASE_FACT_TYPES: dict[str, FactType] = {
    t.name: t
    for t in (
        _t("map", "map {map.id} ({map.name}, version {map.version})", "map", "the map itself",
           id="id", name="str", version="str", organization="str"),
        _t("stakeholder", "stakeholder {stakeholder.id}: group {stakeholder.group}", "stakeholder", "",
           id="id", name="str", group="str", role="str"),
        _t("stage", "stage {stage.id} ({stage.name})", "stage", "index is the journey order, from 0",
           id="id", name="str", index="int"),
        _t("system", "system {system.id} ({system.name}): operator {system.operator}", "system", "",
           id="id", name="str", operator="str", baa="bool", ehr="bool", interop="list",
           shared_workstation="bool", auto_logoff_minutes="int"),
        _t("system_control", "system {system_control.system} applies control {system_control.control}", None, "",
           system="id", control="id"),
        _t("data", "data {data.id} ({data.name}): classification {data.classification}", "data", "",
           id="id", name="str", classification="str", retention="str"),
        _t("data_source", "{data_source.data} is derived from {data_source.source}", None, "one derived_from edge",
           data="id", source="id"),
        _t("control", "control {control.id} ({control.name}) of type {control.type}", "control", "",
           id="id", name="str", type="str"),
        _t("touchpoint", "touchpoint {touchpoint.id} ({touchpoint.name}): stakeholder {touchpoint.stakeholder}, stage {touchpoint.stage}",
           "touchpoint", "",
           id="id", name="str", stage="id", stakeholder="id", system="id", channel="str", context="str",
           time_pressure="str", authentication="str", clinical_decision="bool", safety_critical="bool",
           verification="bool"),
        _t("touchpoint_control", "touchpoint {touchpoint_control.touchpoint} applies control {touchpoint_control.control}", None, "",
           touchpoint="id", control="id"),
        _t("access", "touchpoint {access.touchpoint} can {access.actions} {access.data}", None, "one data_access entry",
           touchpoint="id", data="id", actions="list"),
        _t("failure_mode", "failure mode {failure_mode.id} at {failure_mode.touchpoint}: harm {failure_mode.harm}", "failure_mode", "",
           id="id", touchpoint="id", description="str", harm="str"),
        _t("safeguard", "failure mode {safeguard.failure_mode} is safeguarded by {safeguard.control}", None, "",
           failure_mode="id", control="id", touchpoint="id"),
        _t("flow", "flow {flow.id} carries data from {flow.from} to {flow.to}", "flow", "",
           id="id", **{"from": "id"}, to="id", encrypted="bool", purpose="str", consent="id", interop="str"),
        _t("flow_data", "flow {flow_data.flow} carries {flow_data.data}", None, "", flow="id", data="id"),
        _t("checkpoint", "checkpoint {checkpoint.id} ({checkpoint.name}) of type {checkpoint.type}", "checkpoint", "",
           id="id", name="str", type="str", stage="id", owner="id", timeline_days="int"),
        _t("checkpoint_scope", "checkpoint {checkpoint_scope.checkpoint} applies to {checkpoint_scope.target}", None, "",
           checkpoint="id", target="id"),
        _t("training", "training {training.id} ({training.name})", "training", "",
           id="id", name="str", topics="list", competency_check="bool", refresher_days="int", mentoring="bool"),
        _t("training_audience", "{training_audience.stakeholder} attends training {training_audience.training}", None, "",
           training="id", stakeholder="id"),
        _t("training_covers", "training {training_covers.training} covers {training_covers.touchpoint}", None, "",
           training="id", touchpoint="id"),
        _t("channel", "feedback channel {channel.id} ({channel.name})", "channel", "",
           id="id", name="str", captures="list", timing="str", investigation_sla_days="int", closes_loop="bool"),
        _t("channel_audience", "{channel_audience.stakeholder} can report through {channel_audience.channel}", None, "",
           channel="id", stakeholder="id"),
    )
}


# Fields every fact of a type has: ids, references the format requires, booleans and
# values with defaults. The rest may be absent.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "map": ("id", "name", "version"), "stakeholder": ("id", "name", "group"), "stage": ("id", "name", "index"),
    "system": ("id", "name", "operator", "baa", "ehr", "shared_workstation"),
    "data": ("id", "name", "classification"), "control": ("id", "name", "type"),
    "touchpoint": ("id", "name", "stage", "stakeholder", "clinical_decision", "safety_critical", "verification"),
    "failure_mode": ("id", "touchpoint"), "flow": ("id", "from", "to", "encrypted"),
    "checkpoint": ("id", "name", "type"), "training": ("id", "name", "competency_check", "mentoring"),
    "channel": ("id", "name", "closes_loop"), "access": ("touchpoint", "data"),
}
BASE_FACT_TYPES = {
    name: FactType(t.name, t.fields, t.describe, t.entity, t.derived, t.doc,
                   frozenset(_REQUIRED.get(name, tuple(t.fields))))  # relation facts: every field
    for name, t in BASE_FACT_TYPES.items()
}

# Facts that belong to one touchpoint, and the field that names it. The engine keeps
# each group of touchpoints in its own state (see packs/_shards.py).
ANCHOR = "touchpoint"
ANCHOR_FIELDS: dict[str, str] = {
    "touchpoint": "id", "touchpoint_control": "touchpoint", "access": "touchpoint",
    "failure_mode": "touchpoint", "safeguard": "touchpoint", "training_covers": "touchpoint",
}


@dataclass(frozen=True)
class Fact:
    """One fact: its type and its field values (absent values are not keys)."""

    type: str
    values: dict[str, Any] = field(hash=False)

    def key(self) -> tuple[Any, ...]:
        """Identity by content. Values are built in a fixed field order and lists are
        tuples, so no sorting is needed."""
        return (self.type, tuple(self.values.items()))


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()
            if v is not None and v != [] and v != ""}


def base_facts(m: JourneyMap) -> Iterator[Fact]:
    """Every base fact of the map, in map order."""
    yield Fact("map", _clean({"id": m.id, "name": m.name, "version": m.version, "organization": m.organization}))
    for s in m.stakeholders:
        yield Fact("stakeholder", _clean({"id": s.id, "name": s.name, "group": s.group, "role": s.role}))
    for i, st in enumerate(m.stages):
        yield Fact("stage", _clean({"id": st.id, "name": st.name, "index": i}))
    for c in m.controls:
        yield Fact("control", _clean({"id": c.id, "name": c.name, "type": c.type}))
    for sy in m.systems:
        yield Fact("system", _clean({
            "id": sy.id, "name": sy.name, "operator": sy.operator, "baa": sy.baa, "ehr": sy.ehr,
            "interop": list(sy.interop), "shared_workstation": sy.shared_workstation,
            "auto_logoff_minutes": sy.auto_logoff_minutes,
        }))
        for c_id in sy.controls:
            yield Fact("system_control", {"system": sy.id, "control": c_id})
    for d in m.data:
        yield Fact("data", _clean({"id": d.id, "name": d.name, "classification": d.classification,
                                   "retention": (d.retention or "").strip() or None}))
        for src in d.derived_from:
            yield Fact("data_source", {"data": d.id, "source": src})
    for tp in m.touchpoints:
        yield Fact("touchpoint", _clean({
            "id": tp.id, "name": tp.name, "stage": tp.stage, "stakeholder": tp.stakeholder, "system": tp.system,
            "channel": tp.channel, "context": tp.context, "time_pressure": tp.time_pressure,
            "authentication": tp.authentication, "clinical_decision": tp.clinical_decision,
            "safety_critical": tp.safety_critical, "verification": tp.verification,
        }))
        for c_id in tp.controls:
            yield Fact("touchpoint_control", {"touchpoint": tp.id, "control": c_id})
        for a in tp.data_access:
            yield Fact("access", _clean({"touchpoint": tp.id, "data": a.data, "actions": sorted(set(a.actions))}))
        for fm in tp.failure_modes:
            yield Fact("failure_mode", _clean({"id": fm.id, "touchpoint": tp.id, "description": fm.description,
                                               "harm": fm.harm}))
            for c_id in fm.safeguards:
                yield Fact("safeguard", {"failure_mode": fm.id, "control": c_id, "touchpoint": tp.id})
    for f in m.data_flows:
        yield Fact("flow", _clean({"id": f.id, "from": f.from_, "to": f.to, "encrypted": f.encrypted,
                                   "purpose": f.purpose, "consent": f.consent, "interop": f.interop}))
        for d_id in f.data:
            yield Fact("flow_data", {"flow": f.id, "data": d_id})
    for cp in m.checkpoints:
        yield Fact("checkpoint", _clean({"id": cp.id, "name": cp.name, "type": cp.type, "stage": cp.stage,
                                         "owner": cp.owner, "timeline_days": cp.timeline_days}))
        for target in cp.applies_to:
            yield Fact("checkpoint_scope", {"checkpoint": cp.id, "target": target})
    for t in m.trainings:
        yield Fact("training", _clean({"id": t.id, "name": t.name, "topics": sorted(set(t.topics)),
                                       "competency_check": t.competency_check, "refresher_days": t.refresher_days,
                                       "mentoring": t.mentoring}))
        for s_id in t.audience:
            yield Fact("training_audience", {"training": t.id, "stakeholder": s_id})
        for tp_id in t.covers:
            yield Fact("training_covers", {"training": t.id, "touchpoint": tp_id})
    for ch in m.feedback_channels:
        yield Fact("channel", _clean({"id": ch.id, "name": ch.name, "captures": sorted(set(ch.captures)),
                                      "timing": ch.timing, "investigation_sla_days": ch.investigation_sla_days,
                                      "closes_loop": ch.closes_loop}))
        for s_id in ch.audience:
            yield Fact("channel_audience", {"channel": ch.id, "stakeholder": s_id})
