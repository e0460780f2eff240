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
    DEIDENTIFICATIONS,
    EMOTIONS,
    HARMS,
    INTEROP_STANDARDS,
    MEDIA,
    OPERATORS,
    PURPOSES,
    SENSITIVITIES,
    STAKEHOLDER_GROUPS,
    TIME_PRESSURES,
    TIMINGS,
    TRAINING_TOPICS,
)

# Entity contents come from a ``random.Random`` seeded by hypothesis, and only the list
# sizes and the seed are hypothesis choices: drawing every field through hypothesis
# made generation ten times slower than auditing the map. Shrinking still makes maps
# smaller (sizes shrink towards 0), and a failing example is reproducible from its seed.

_TAILS = ["", "", "", "a", "x.y", "-", "_9", "abc-d", "0", "q.r_s-t"]
_NAMES = ["", "Nurse", "Lab results", "yes", "null", "1.0", "Zoë's {t.id}", "a: b", "# not a comment",
          "  spaced  ", "Name"]
_DAYS = [0, 1, 14, 15, 16, 29, 30, 31, 59, 60, 61, 90, 365, 2**31 + 5]


class _Gen:
    def __init__(self, rng: random.Random):
        self.r = rng

    def coin(self, p: float = 0.5) -> bool:
        return self.r.random() < p

    def ids(self, prefix: str, n: int) -> list[str]:
        # the digits end where "_" starts, so ids never collide whatever the tail is
        out = []
        for i in range(n):
            tail = self.r.choice(_TAILS)
            out.append(f"{prefix}{i}" + (f"_{tail}" if tail else ""))
        return out

    def name(self) -> str:
        return self.r.choice(_NAMES)

    def days(self) -> int:
        return self.r.choice(_DAYS) if self.coin() else self.r.randint(0, 130)

    def opt(self, d: dict[str, Any], key: str, make: Callable[[], Any]) -> None:
        """Maybe set ``d[key]`` (an optional field is absent about half the time)."""
        if self.coin():
            d[key] = make()

    def flag(self, d: dict[str, Any], key: str) -> None:
        """A boolean that is absent, false or true."""
        v = self.r.choice([None, False, True])
        if v is not None:
            d[key] = v

    def refs(self, pool: list[str], max_size: int = 3, min_size: int = 0) -> list[str]:
        """A list of references into ``pool`` (duplicates allowed, as the format allows)."""
        if not pool:
            return []
        return [self.r.choice(pool) for _ in range(self.r.randint(min_size, max_size))]

    def extension(self, d: dict[str, Any]) -> None:
        """Sometimes an ``x-`` extension key (kept, never validated, ignored by rules)."""
        if self.coin(0.1):
            d[self.r.choice(["x-lane", "x-uxpressia-id", "x-notes"])] = self.r.choice([1, "a", [1, {"b": None}], None])

    def enums(self, values: tuple[str, ...], max_size: int = 3) -> list[str]:
        return [self.r.choice(values) for _ in range(self.r.randint(0, max_size))]


def random_map(rng: random.Random, sizes: dict[str, int]) -> dict[str, Any]:
    """A random valid map with the given list sizes (``stakeholders`` and ``stages`` >= 1)."""
    g, r = _Gen(rng), rng
    stakeholder_ids = g.ids("sh", max(1, sizes.get("stakeholders", 1)))
    stage_ids = g.ids("st", max(1, sizes.get("stages", 1)))
    system_ids = g.ids("sy", sizes.get("systems", 0))
    data_ids = g.ids("d", sizes.get("data", 0))
    control_ids = g.ids("c", sizes.get("controls", 0))
    touchpoint_ids = g.ids("tp", sizes.get("touchpoints", 0))
    flow_ids = g.ids("f", sizes.get("flows", 0) if (data_ids and (system_ids or touchpoint_ids)) else 0)
    checkpoint_ids = g.ids("cp", sizes.get("checkpoints", 0))
    training_ids = g.ids("tr", sizes.get("trainings", 0))
    channel_ids = g.ids("ch", sizes.get("channels", 0))

    m: dict[str, Any] = {"format": 1, "id": g.ids("m", 1)[0], "name": g.name(), "version": r.choice(["1", "1.0.0", "2.1"])}
    g.opt(m, "organization", g.name)
    g.opt(m, "description", g.name)
    g.extension(m)

    stakeholders = []
    for i, sid in enumerate(stakeholder_ids):
        # the first stakeholders cycle through every group, the rest are random
        group = STAKEHOLDER_GROUPS[i] if i < len(STAKEHOLDER_GROUPS) and g.coin() else r.choice(STAKEHOLDER_GROUPS)
        s: dict[str, Any] = {"id": sid, "name": g.name(), "group": group}
        g.opt(s, "role", g.name)
        g.opt(s, "concerns", lambda: [g.name() for _ in range(r.randint(0, 2))])
        if g.coin(0.3):
            g.flag(s, "external")
            g.flag(s, "privileged")
        if g.coin(0.2):
            g.flag(s, "limited_english")
            g.opt(s, "language", lambda: r.choice(["es", "zh-Hant", "vi"]))
        g.extension(s)
        stakeholders.append(s)
    patients = [s["id"] for s in stakeholders if s["group"] == "patient"]
    for s in stakeholders:  # personal representatives of a patient (never of themselves)
        others = [p for p in patients if p != s["id"]]
        if others and g.coin(0.25):
            s["represents"] = r.choice(others)
    m["stakeholders"] = stakeholders

    stages = []
    for sid in stage_ids:
        st_: dict[str, Any] = {"id": sid, "name": g.name()}
        g.opt(st_, "description", g.name)
        g.opt(st_, "duration", lambda: r.choice(["2d", "15m", "1h"]))
        g.extension(st_)
        stages.append(st_)
    m["stages"] = stages

    controls = []
    for i, cid in enumerate(control_ids):
        # the first controls cover the commonest types, the rest are random
        ctype = r.choice(CONTROL_TYPES) if g.coin(0.7) else ("audit_logging", "sso", "badge_tap", "break_glass",
                                                               "break_glass_review", "minimum_necessary")[i % 6]
        c: dict[str, Any] = {"id": cid, "name": g.name(), "type": ctype}
        g.opt(c, "description", g.name)
        controls.append(c)

    systems = []
    for sid in system_ids:
        s = {"id": sid, "name": g.name()}
        g.opt(s, "operator", lambda: r.choice(OPERATORS))
        g.flag(s, "baa")
        for flag in ("tracking", "conduit", "single_patient"):
            if g.coin(0.3):
                g.flag(s, flag)
        g.flag(s, "ehr")
        g.opt(s, "interop", lambda: g.enums(INTEROP_STANDARDS))
        g.flag(s, "shared_workstation")
        g.opt(s, "auto_logoff_minutes", g.days)
        g.opt(s, "controls", lambda: g.refs(control_ids))
        systems.append(s)

    data = []
    for i, did in enumerate(data_ids):
        d: dict[str, Any] = {"id": did, "name": g.name(), "classification": r.choice(CLASSIFICATIONS)}
        if i and g.coin(0.6):
            d["derived_from"] = g.refs(data_ids[:i])  # only earlier ids: a DAG
        g.opt(d, "retention", lambda: r.choice(["6y", "90d", " ", "10y"]))
        if g.coin(0.4):
            d["sensitivity"] = g.enums(SENSITIVITIES, 2)
        if d["classification"] == "deidentified" or g.coin(0.1):
            g.opt(d, "deidentification", lambda: r.choice(DEIDENTIFICATIONS))
        for flag in ("transient", "standard_transaction", "controlled_substance"):
            if g.coin(0.3):
                g.flag(d, flag)
        g.extension(d)
        data.append(d)
    r.shuffle(data)  # list order is not the DAG order

    touchpoints = []
    fm_count = 0
    for tid in touchpoint_ids:
        t: dict[str, Any] = {"id": tid, "name": g.name(), "stage": r.choice(stage_ids),
                             "stakeholder": r.choice(stakeholder_ids)}
        if system_ids:
            g.opt(t, "system", lambda: r.choice(system_ids))
            if g.coin(0.3):
                t["systems"] = g.refs(system_ids, 2)
        g.opt(t, "channel", lambda: r.choice(CHANNELS))
        g.opt(t, "context", lambda: r.choice(CONTEXTS))
        g.opt(t, "time_pressure", lambda: r.choice(TIME_PRESSURES))
        g.opt(t, "authentication", lambda: r.choice(AUTHENTICATIONS))
        if data_ids and g.coin(0.7):
            access = []
            for _ in range(r.randint(0, 3)):
                a: dict[str, Any] = {"data": r.choice(data_ids)}
                g.opt(a, "actions", lambda: g.enums(ACTIONS, 4))
                if g.coin(0.3):
                    g.flag(a, "automatic")
                access.append(a)
            t["data_access"] = access
        g.opt(t, "controls", lambda: g.refs(control_ids))
        if g.coin(0.25):  # a bedside archetype, so that rules needing several rare values at once fire
            t.update(context="patient_care", time_pressure="high", authentication=r.choice(["unique", "unique", "sso"]))
            clinical = [s["id"] for s in stakeholders if s["group"] == "clinical"]
            if clinical:
                t["stakeholder"] = r.choice(clinical)
            if data_ids:
                t.setdefault("data_access", []).append({"data": r.choice(data_ids), "actions": ["create", "modify"][: r.randint(1, 2)]})
        g.flag(t, "clinical_decision")
        g.flag(t, "safety_critical")
        g.flag(t, "verification")
        if g.coin(0.4):
            t["recipients"] = g.refs(stakeholder_ids, 2)
        g.opt(t, "purpose", lambda: r.choice(PURPOSES))
        if g.coin(0.2):
            g.flag(t, "objected")
        if g.coin(0.2):  # journey content, never read by rules
            g.opt(t, "emotion", lambda: r.choice(EMOTIONS))
            g.opt(t, "pain_points", lambda: [g.name() for _ in range(r.randint(0, 2))])
            g.flag(t, "moment_that_matters")
            g.opt(t, "duration", lambda: r.choice(["15m", "2h"]))
            g.opt(t, "description", g.name)
        g.extension(t)
        if g.coin():
            fms = []
            for _ in range(r.randint(0, 3)):
                fm: dict[str, Any] = {"id": g.ids(f"fm{fm_count}_", 1)[0], "description": g.name()}
                fm_count += 1
                g.opt(fm, "harm", lambda: r.choice(HARMS))
                g.opt(fm, "safeguards", lambda: g.refs(control_ids))
                if g.coin(0.3):
                    g.flag(fm, "privacy")
                fms.append(fm)
            t["failure_modes"] = fms
        touchpoints.append(t)

    endpoints = system_ids + touchpoint_ids
    flows = []
    for fid in flow_ids:
        f: dict[str, Any] = {"id": fid, "from": r.choice(endpoints), "to": r.choice(endpoints),
                             "data": g.refs(data_ids, min_size=1)}
        g.flag(f, "encrypted")
        g.opt(f, "purpose", lambda: r.choice(PURPOSES))
        if checkpoint_ids:
            g.opt(f, "consent", lambda: r.choice(checkpoint_ids))
        g.opt(f, "interop", lambda: r.choice(INTEROP_STANDARDS))
        if g.coin(0.3):
            f["medium"] = r.choice(MEDIA)
        flows.append(f)

    checkpoints = []
    targets = data_ids + flow_ids + touchpoint_ids + system_ids
    for cid in checkpoint_ids:
        c = {"id": cid, "name": g.name(), "type": r.choice(CHECKPOINT_TYPES)}
        g.opt(c, "stage", lambda: r.choice(stage_ids))
        g.opt(c, "owner", lambda: r.choice(stakeholder_ids))
        g.opt(c, "timeline_days", g.days)
        if targets:
            g.opt(c, "applies_to", lambda: g.refs(targets))
        if g.coin(0.3):
            c["sensitivity"] = g.enums(SENSITIVITIES, 2)
        checkpoints.append(c)

    trainings = []
    for tid in training_ids:
        tr: dict[str, Any] = {"id": tid, "name": g.name(), "audience": g.refs(stakeholder_ids, min_size=1)}
        g.opt(tr, "covers", lambda: g.refs(touchpoint_ids))
        g.opt(tr, "topics", lambda: g.enums(TRAINING_TOPICS))
        g.flag(tr, "competency_check")
        g.opt(tr, "refresher_days", g.days)
        g.flag(tr, "mentoring")
        trainings.append(tr)

    channels = []
    for cid in channel_ids:
        ch: dict[str, Any] = {"id": cid, "name": g.name(), "audience": g.refs(stakeholder_ids, min_size=1)}
        g.opt(ch, "captures", lambda: g.enums(CAPTURES))
        g.opt(ch, "timing", lambda: r.choice(TIMINGS))
        g.opt(ch, "investigation_sla_days", g.days)
        g.flag(ch, "closes_loop")
        channels.append(ch)

    _archetypes(g, stakeholders, stage_ids[0], systems, data, controls, touchpoints, flows, checkpoints)
    for key, items in (("systems", systems), ("data", data), ("controls", controls), ("touchpoints", touchpoints),
                       ("data_flows", flows), ("checkpoints", checkpoints), ("trainings", trainings),
                       ("feedback_channels", channels)):
        if items or g.coin():  # an empty list is the same as an absent one
            m[key] = items
    return m


def _archetypes(g: _Gen, stakeholders: list, stage: str, systems: list, data: list, controls: list,
                touchpoints: list, flows: list, checkpoints: list) -> None:
    """Now and then, a small self-contained pattern (fresh ``ax*`` ids) that needs several
    rare values at once, each varied so that it sometimes fires and sometimes does not."""
    r = g.r
    patient = next((s["id"] for s in stakeholders if s["group"] == "patient"), None)
    if patient and g.coin(0.15):  # a tracking technology fed from pages where patients sign in
        systems += [{"id": "axa-portal", "name": "Portal", "operator": r.choice(["internal", "vendor"]), "baa": True},
                    {"id": "axa-pixel", "name": "Pixel", "operator": r.choice(["vendor", "vendor", "third_party"]),
                     "tracking": g.coin(0.8), "baa": g.coin(0.3)}]
        data.append({"id": "axa-events", "name": "Events", "classification": r.choice(["internal", "public", "phi"])})
        touchpoints.append({"id": "axa-login", "name": "Sign in", "stage": stage, "stakeholder": patient,
                            "system": "axa-portal", "authentication": r.choice(["unique", "one_time_link", "none"])})
        f = {"id": "axa-beacon", "from": r.choice(["axa-portal", "axa-login"]), "to": "axa-pixel",
             "data": ["axa-events"], "encrypted": True}
        if g.coin():
            f["purpose"] = "marketing"
        if g.coin(0.3):
            checkpoints.append({"id": "axa-auth", "name": "Authorization", "type": r.choice(["authorization", "consent"])})
            f["consent"] = "axa-auth"
        flows.append(f)
    if g.coin(0.15):  # an agreed restriction and a payment or operations disclosure
        systems += [{"id": "axb-ehr", "name": "EHR"},
                    {"id": "axb-plan", "name": "Plan", "operator": r.choice(["covered_entity", "third_party", "vendor"])}]
        data.append({"id": "axb-visit", "name": "Self-pay visit", "classification": r.choice(["phi", "phi", "pii"])})
        checkpoints.append({"id": "axb-restriction", "name": "Restriction",
                            "type": r.choice(["restriction", "restriction", "consent"]), "applies_to": ["axb-visit"]})
        flows.append({"id": "axb-claim", "from": "axb-ehr", "to": "axb-plan", "data": ["axb-visit"], "encrypted": True,
                      "purpose": r.choice(["payment", "operations", "treatment"])})
    if g.coin(0.15):  # a longer idle timeout documented in a risk assessment
        controls.append({"id": "axc-lock", "name": "Tap-out lock", "type": r.choice(["auto_logoff", "other"])})
        systems += [{"id": "axc-ehr", "name": "EHR"},
                    {"id": "axc-or", "name": "OR station", "shared_workstation": True,
                     "auto_logoff_minutes": r.choice([10, 60]), "controls": ["axc-lock"]}]
        data.append({"id": "axc-orders", "name": "Orders", "classification": "phi"})
        checkpoints.append({"id": "axc-ra", "name": "Risk assessment", "type": "risk_assessment",
                            **({"applies_to": ["axc-or"]} if g.coin(0.7) else {})})
        flows.append({"id": "axc-feed", "from": "axc-ehr", "to": "axc-or", "data": ["axc-orders"], "encrypted": True})
    if g.coin(0.15):  # a standard claim carrying sensitive data to a plan
        systems += [{"id": "axd-ehr", "name": "EHR"},
                    {"id": "axd-payer", "name": "Payer", "operator": r.choice(["covered_entity", "third_party"])}]
        data.append({"id": "axd-claim", "name": "Claim", "classification": "phi", "sensitivity": [r.choice(["hiv", "genetic"])],
                     "standard_transaction": g.coin(0.7)})
        flows.append({"id": "axd-837", "from": "axd-ehr", "to": "axd-payer", "data": ["axd-claim"], "encrypted": True,
                      "purpose": r.choice(["payment", "payment", "operations"])})


SIZE_KEYS = ("stakeholders", "stages", "systems", "data", "controls", "touchpoints", "flows", "checkpoints",
             "trainings", "channels")


@st.composite
def journey_maps(draw: Callable, max_n: int = 15) -> dict[str, Any]:
    """A small random valid map: 0..max_n entities per list (1.. for stakeholders and stages)."""
    sizes = {k: draw(st.integers(1 if k in ("stakeholders", "stages") else 0, max_n)) for k in SIZE_KEYS}
    seed = draw(st.integers(0, 2**32 - 1))
    return random_map(random.Random(seed), sizes)


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
