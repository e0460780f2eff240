"""Random valid journey maps (format 1) as plain dicts, for tests.

``journey_maps()`` is a hypothesis strategy for small maps (0-15 entities per list)
that reach every part of the format: every stakeholder group, vendors with and
without BAAs, EHR and interop flags, shared workstations and idle timeouts, data with
``derived_from`` DAGs of any classification, controls of every type, touchpoints whose
optional fields are absent, false or set, data access, failure modes with harms and
safeguards, flows between systems and touchpoints, checkpoints of every type with
optional stage/owner/timeline/consent links, trainings and feedback channels.

``big_map(n_touchpoints, seed)`` is a deterministic large map for scale tests (about
5.5 facts per touchpoint, long ``derived_from`` chains). ``shuffled`` reorders every
list of a map. Every map here loads with ``load_map_text(yaml.safe_dump(m))``.
"""

from __future__ import annotations

import copy
import random
from typing import Any, Callable

from hypothesis import strategies as st

from audit_engine.model import (
    ACTIONS,
    AUTHENTICATIONS,
    CAPTURES,
    CHANNELS,
    CHECKPOINT_TYPES,
    CLASSIFICATIONS,
    CONTEXTS,
    CONTROL_TYPES,
    HARMS,
    INTEROP_STANDARDS,
    PURPOSES,
    STAKEHOLDER_GROUPS,
    TIME_PRESSURES,
    TIMINGS,
    TRAINING_TOPICS,
)

# ids: a prefix per kind (systems and touchpoints share one namespace), an index for
# uniqueness and a random tail so that ids vary in length and characters.
_TAIL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", max_size=5)
_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ 0123456789-'.:#{}", max_size=12)
_DAYS = st.one_of(st.integers(0, 130), st.sampled_from([0, 1, 14, 15, 16, 29, 30, 31, 59, 60, 61, 90]))


def _ids(draw: Callable, prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}{draw(_TAIL)}" for i in range(n)]


def _opt(draw: Callable, d: dict[str, Any], key: str, strategy: st.SearchStrategy) -> None:
    """Maybe set ``d[key]`` (an optional field is absent about half the time)."""
    if draw(st.booleans()):
        d[key] = draw(strategy)


def _flag(draw: Callable, d: dict[str, Any], key: str) -> None:
    """A boolean that is absent, false or true."""
    v = draw(st.sampled_from([None, False, True]))
    if v is not None:
        d[key] = v


def _refs(draw: Callable, pool: list[str], max_size: int = 3, min_size: int = 0) -> list[str]:
    """A list of references into ``pool`` (duplicates allowed, as the format allows)."""
    if not pool:
        return []
    return draw(st.lists(st.sampled_from(pool), min_size=min_size, max_size=max_size))


def _count(draw: Callable, max_n: int, min_n: int = 0) -> int:
    return draw(st.integers(min_n, max_n))


@st.composite
def journey_maps(draw: Callable, max_n: int = 15) -> dict[str, Any]:
    """A small random valid map."""
    n = {k: _count(draw, max_n) for k in ("systems", "data", "controls", "touchpoints", "flows",
                                          "checkpoints", "trainings", "channels")}
    stakeholder_ids = _ids(draw, "sh", _count(draw, max_n, 1))
    stage_ids = _ids(draw, "st", _count(draw, max_n, 1))
    system_ids = _ids(draw, "sy", n["systems"])
    data_ids = _ids(draw, "d", n["data"])
    control_ids = _ids(draw, "c", n["controls"])
    touchpoint_ids = _ids(draw, "tp", n["touchpoints"])
    flow_ids = _ids(draw, "f", n["flows"] if (data_ids and (system_ids or touchpoint_ids)) else 0)
    checkpoint_ids = _ids(draw, "cp", n["checkpoints"])
    training_ids = _ids(draw, "tr", n["trainings"])
    channel_ids = _ids(draw, "ch", n["channels"])

    m: dict[str, Any] = {"format": 1, "id": "m" + draw(_TAIL), "name": draw(_NAME), "version": draw(st.sampled_from(["1", "1.0.0", "2.1"]))}
    _opt(draw, m, "organization", _NAME)
    _opt(draw, m, "description", _NAME)

    stakeholders = []
    for i, sid in enumerate(stakeholder_ids):
        # the first stakeholders cycle through every group, the rest are random
        group = STAKEHOLDER_GROUPS[i] if i < len(STAKEHOLDER_GROUPS) and draw(st.booleans()) else draw(st.sampled_from(STAKEHOLDER_GROUPS))
        s = {"id": sid, "name": draw(_NAME), "group": group}
        _opt(draw, s, "role", _NAME)
        _opt(draw, s, "concerns", st.lists(_NAME, max_size=2))
        stakeholders.append(s)
    m["stakeholders"] = stakeholders

    stages = []
    for sid in stage_ids:
        s = {"id": sid, "name": draw(_NAME)}
        _opt(draw, s, "description", _NAME)
        stages.append(s)
    m["stages"] = stages

    controls = []
    for cid in control_ids:
        c = {"id": cid, "name": draw(_NAME), "type": draw(st.sampled_from(CONTROL_TYPES))}
        _opt(draw, c, "description", _NAME)
        controls.append(c)

    systems = []
    for sid in system_ids:
        s: dict[str, Any] = {"id": sid, "name": draw(_NAME)}
        _opt(draw, s, "operator", st.sampled_from(["internal", "vendor"]))
        _flag(draw, s, "baa")
        _flag(draw, s, "ehr")
        _opt(draw, s, "interop", st.lists(st.sampled_from(INTEROP_STANDARDS), max_size=3))
        _flag(draw, s, "shared_workstation")
        _opt(draw, s, "auto_logoff_minutes", _DAYS)
        _opt(draw, s, "controls", st.just(_refs(draw, control_ids)))
        systems.append(s)

    data = []
    for i, did in enumerate(data_ids):
        d: dict[str, Any] = {"id": did, "name": draw(_NAME), "classification": draw(st.sampled_from(CLASSIFICATIONS))}
        if i and draw(st.booleans()):
            d["derived_from"] = _refs(draw, data_ids[:i])  # only earlier ids: a DAG
        _opt(draw, d, "retention", st.sampled_from(["6y", "90d", " ", "10y"]))
        data.append(d)
    data = draw(st.permutations(data))  # list order is not the DAG order

    touchpoints = []
    fm_count = 0
    for tid in touchpoint_ids:
        t: dict[str, Any] = {"id": tid, "name": draw(_NAME), "stage": draw(st.sampled_from(stage_ids)),
                             "stakeholder": draw(st.sampled_from(stakeholder_ids))}
        if system_ids:
            _opt(draw, t, "system", st.sampled_from(system_ids))
        _opt(draw, t, "channel", st.sampled_from(CHANNELS))
        _opt(draw, t, "context", st.sampled_from(CONTEXTS))
        _opt(draw, t, "time_pressure", st.sampled_from(TIME_PRESSURES))
        _opt(draw, t, "authentication", st.sampled_from(AUTHENTICATIONS))
        if data_ids and draw(st.booleans()):
            access = []
            for _ in range(draw(st.integers(0, 3))):
                a: dict[str, Any] = {"data": draw(st.sampled_from(data_ids))}
                _opt(draw, a, "actions", st.lists(st.sampled_from(ACTIONS), max_size=4))
                access.append(a)
            t["data_access"] = access
        _opt(draw, t, "controls", st.just(_refs(draw, control_ids)))
        _flag(draw, t, "clinical_decision")
        _flag(draw, t, "safety_critical")
        _flag(draw, t, "verification")
        if draw(st.booleans()):
            fms = []
            for _ in range(draw(st.integers(0, 3))):
                fm: dict[str, Any] = {"id": f"fm{fm_count}{draw(_TAIL)}", "description": draw(_NAME)}
                fm_count += 1
                _opt(draw, fm, "harm", st.sampled_from(HARMS))
                _opt(draw, fm, "safeguards", st.just(_refs(draw, control_ids)))
                fms.append(fm)
            t["failure_modes"] = fms
        touchpoints.append(t)

    endpoints = system_ids + touchpoint_ids
    flows = []
    for fid in flow_ids:
        f: dict[str, Any] = {"id": fid, "from": draw(st.sampled_from(endpoints)), "to": draw(st.sampled_from(endpoints)),
                             "data": _refs(draw, data_ids, min_size=1)}
        _flag(draw, f, "encrypted")
        _opt(draw, f, "purpose", st.sampled_from(PURPOSES))
        if checkpoint_ids:
            _opt(draw, f, "consent", st.sampled_from(checkpoint_ids))
        _opt(draw, f, "interop", st.sampled_from(INTEROP_STANDARDS))
        flows.append(f)

    checkpoints = []
    targets = data_ids + flow_ids + touchpoint_ids + system_ids
    for cid in checkpoint_ids:
        c = {"id": cid, "name": draw(_NAME), "type": draw(st.sampled_from(CHECKPOINT_TYPES))}
        _opt(draw, c, "stage", st.sampled_from(stage_ids))
        _opt(draw, c, "owner", st.sampled_from(stakeholder_ids))
        _opt(draw, c, "timeline_days", _DAYS)
        if targets:
            _opt(draw, c, "applies_to", st.just(_refs(draw, targets)))
        checkpoints.append(c)

    trainings = []
    for tid in training_ids:
        t = {"id": tid, "name": draw(_NAME), "audience": _refs(draw, stakeholder_ids, min_size=1)}
        _opt(draw, t, "covers", st.just(_refs(draw, touchpoint_ids)))
        _opt(draw, t, "topics", st.lists(st.sampled_from(TRAINING_TOPICS), max_size=3))
        _flag(draw, t, "competency_check")
        _opt(draw, t, "refresher_days", _DAYS)
        _flag(draw, t, "mentoring")
        trainings.append(t)

    channels = []
    for cid in channel_ids:
        c = {"id": cid, "name": draw(_NAME), "audience": _refs(draw, stakeholder_ids, min_size=1)}
        _opt(draw, c, "captures", st.lists(st.sampled_from(CAPTURES), max_size=3))
        _opt(draw, c, "timing", st.sampled_from(TIMINGS))
        _opt(draw, c, "investigation_sla_days", _DAYS)
        _flag(draw, c, "closes_loop")
        channels.append(c)

    for key, items in (("systems", systems), ("data", data), ("controls", controls), ("touchpoints", touchpoints),
                       ("data_flows", flows), ("checkpoints", checkpoints), ("trainings", trainings),
                       ("feedback_channels", channels)):
        if items or draw(st.booleans()):  # an empty list is the same as an absent one
            m[key] = items
    return m


# --- reordering ------------------------------------------------------------------------

_TOP_LISTS = ("stakeholders", "stages", "systems", "data", "controls", "touchpoints", "data_flows",
              "checkpoints", "trainings", "feedback_channels")


def shuffled(m: dict[str, Any], rng: random.Random, stages: bool = True) -> dict[str, Any]:
    """A copy of ``m`` with every list (and every list inside every entry) reordered.

    Stage order is journey order (the ``index`` of stage facts), so ``stages=False``
    keeps it."""
    out = copy.deepcopy(m)

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            for k in list(v):
                v[k] = walk(v[k])
            return v
        if isinstance(v, list):
            items = [walk(x) for x in v]
            rng.shuffle(items)
            return items
        return v

    for key in _TOP_LISTS:
        if key in out and (stages or key != "stages"):
            out[key] = walk(out[key])
    if not stages and "stages" in out:
        out["stages"] = [walk(s) for s in out["stages"]]
    # dict key order too (it changes line numbers, never meaning)
    items = list(out.items())
    rng.shuffle(items)
    return dict(items)


# --- big maps -----------------------------------------------------------------------------


def big_map(n_touchpoints: int = 5000, seed: int = 0, chain: int = 250) -> dict[str, Any]:
    """A deterministic large valid map: ``n_touchpoints`` touchpoints with data access,
    controls, failure modes and flows, and ``derived_from`` chains ``chain`` long (one
    unbroken PHI chain, one interrupted by de-identified data)."""
    rng = random.Random(seed)
    n = n_touchpoints
    stakeholders = [{"id": f"sh{i}", "name": f"Stakeholder {i}", "group": STAKEHOLDER_GROUPS[i % len(STAKEHOLDER_GROUPS)]}
                    for i in range(12)]
    stages = [{"id": f"st{i}", "name": f"Stage {i}"} for i in range(20)]
    controls = [{"id": f"c{i}", "name": f"Control {i}", "type": CONTROL_TYPES[i % len(CONTROL_TYPES)]}
                for i in range(3 * len(CONTROL_TYPES))]
    control_ids = [c["id"] for c in controls]
    systems = []
    for i in range(max(4, n // 50)):
        s: dict[str, Any] = {"id": f"sy{i}", "name": f"System {i}", "operator": rng.choice(["internal", "vendor"]),
                             "baa": rng.random() < 0.5, "ehr": rng.random() < 0.2,
                             "interop": rng.sample(INTEROP_STANDARDS, rng.randint(0, 2)),
                             "shared_workstation": rng.random() < 0.3,
                             "controls": rng.sample(control_ids, rng.randint(0, 3))}
        if rng.random() < 0.6:
            s["auto_logoff_minutes"] = rng.choice([5, 15, 30, 60])
        systems.append(s)
    system_ids = [s["id"] for s in systems]

    data: list[dict[str, Any]] = []
    # an unbroken chain from PHI: every link is PHI, `chain` derivation steps deep
    data.append({"id": "chain-a0", "name": "root", "classification": "phi", "retention": "6y"})
    for i in range(1, chain):
        data.append({"id": f"chain-a{i}", "name": f"A{i}", "classification": "internal", "derived_from": [f"chain-a{i - 1}"]})
    # a chain cut in the middle by de-identified data
    data.append({"id": "chain-b0", "name": "root", "classification": "phi"})
    for i in range(1, chain):
        cls = "deidentified" if i == chain // 2 else rng.choice(["internal", "pii", "public"])
        data.append({"id": f"chain-b{i}", "name": f"B{i}", "classification": cls, "derived_from": [f"chain-b{i - 1}"]})
    for i in range(200):
        d: dict[str, Any] = {"id": f"d{i}", "name": f"Data {i}", "classification": rng.choice(CLASSIFICATIONS)}
        if i and rng.random() < 0.5:
            d["derived_from"] = rng.sample([f"d{j}" for j in range(i)], min(i, rng.randint(1, 2)))
        if rng.random() < 0.5:
            d["retention"] = "6y"
        data.append(d)
    rng.shuffle(data)
    data_ids = [d["id"] for d in data]

    touchpoints = []
    fm = 0
    for i in range(n):
        t: dict[str, Any] = {"id": f"tp{i}", "name": f"Touchpoint {i}", "stage": rng.choice(stages)["id"],
                             "stakeholder": rng.choice(stakeholders)["id"]}
        if rng.random() < 0.8:
            t["system"] = rng.choice(system_ids)
        for key, values in (("channel", CHANNELS), ("context", CONTEXTS), ("time_pressure", TIME_PRESSURES),
                            ("authentication", AUTHENTICATIONS)):
            if rng.random() < 0.8:
                t[key] = rng.choice(values)
        t["data_access"] = [{"data": rng.choice(data_ids), "actions": rng.sample(ACTIONS, rng.randint(1, 3))}
                            for _ in range(rng.randint(1, 2))]
        t["controls"] = rng.sample(control_ids, rng.randint(0, 2))
        for key in ("clinical_decision", "safety_critical", "verification"):
            t[key] = rng.random() < 0.3
        if rng.random() < 0.5:
            t["failure_modes"] = [{"id": f"fm{fm}", "description": "fails", "harm": rng.choice(HARMS),
                                   "safeguards": rng.sample(control_ids, rng.randint(0, 2))}]
            fm += 1
        touchpoints.append(t)
    touchpoint_ids = [t["id"] for t in touchpoints]

    checkpoints = []
    for i, ctype in enumerate(CHECKPOINT_TYPES * 3):
        c: dict[str, Any] = {"id": f"cp{i}", "name": f"Checkpoint {i}", "type": ctype}
        if rng.random() < 0.7:
            c["stage"] = rng.choice(stages)["id"]
        if rng.random() < 0.7:
            c["owner"] = rng.choice(stakeholders)["id"]
        if rng.random() < 0.7:
            c["timeline_days"] = rng.choice([10, 30, 60, 61, 90])
        c["applies_to"] = rng.sample(data_ids + touchpoint_ids, 3)
        checkpoints.append(c)
    checkpoint_ids = [c["id"] for c in checkpoints]

    endpoints = system_ids + touchpoint_ids
    flows = []
    for i in range(n // 5):
        f: dict[str, Any] = {"id": f"f{i}", "from": rng.choice(endpoints), "to": rng.choice(endpoints),
                             "data": rng.sample(data_ids, rng.randint(1, 2)), "encrypted": rng.random() < 0.6,
                             "purpose": rng.choice(PURPOSES)}
        if rng.random() < 0.3:
            f["consent"] = rng.choice(checkpoint_ids)
        flows.append(f)

    trainings = [{"id": f"tr{i}", "name": f"Training {i}",
                  "audience": rng.sample([s["id"] for s in stakeholders], rng.randint(1, 4)),
                  "covers": rng.sample(touchpoint_ids, min(len(touchpoint_ids), 20)),
                  "topics": rng.sample(TRAINING_TOPICS, rng.randint(0, 2)),
                  "mentoring": rng.random() < 0.3} for i in range(15)]
    channels = [{"id": f"ch{i}", "name": f"Channel {i}",
                 "audience": rng.sample([s["id"] for s in stakeholders], rng.randint(1, 4)),
                 "captures": rng.sample(CAPTURES, rng.randint(0, 3))} for i in range(6)]
    return {"format": 1, "id": f"big-{n}-{seed}", "name": "Big map", "version": "1.0.0",
            "stakeholders": stakeholders, "stages": stages, "systems": systems, "data": data,
            "controls": controls, "touchpoints": touchpoints, "data_flows": flows, "checkpoints": checkpoints,
            "trainings": trainings, "feedback_channels": channels}
