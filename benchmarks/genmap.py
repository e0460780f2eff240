"""A deterministic, realistic-looking large journey map for benchmarks."""

from __future__ import annotations

import random


def big_map(n_touchpoints: int, seed: int = 7) -> dict:
    rnd = random.Random(seed)
    n_sh = max(6, n_touchpoints // 50)
    groups = ["patient", "clinical", "administrative", "it", "compliance", "vendor"]
    stakeholders = [{"id": f"sh{i}", "name": f"Stakeholder {i}", "group": groups[i % 6]} for i in range(n_sh)]
    stages = [{"id": f"st{i}", "name": f"Stage {i}"} for i in range(max(3, n_touchpoints // 100))]
    ctypes = ["audit_logging", "mfa", "sso", "badge_tap", "rbac", "break_glass", "break_glass_review",
              "minimum_necessary", "two_identifier_check", "read_back"]
    controls = [{"id": f"c{i}", "name": f"Control {i}", "type": ctypes[i % len(ctypes)]} for i in range(40)]
    n_sys = max(5, n_touchpoints // 30)
    systems = [{"id": f"sys{i}", "name": f"System {i}", "operator": "vendor" if i % 7 == 0 else "internal",
                "baa": i % 14 == 0, "ehr": i % 5 == 0, "shared_workstation": i % 9 == 0,
                **({"auto_logoff_minutes": 10 + i % 20} if i % 2 else {}),
                **({"interop": ["fhir-r4"]} if i % 3 else {}),
                "controls": [f"c{(i + k) % 40}" for k in range(2)]} for i in range(n_sys)]
    classes = ["phi", "pii", "internal", "deidentified", "public"]
    n_data = max(10, n_touchpoints // 5)
    data = []
    for i in range(n_data):
        d = {"id": f"d{i}", "name": f"Data {i}", "classification": classes[rnd.randrange(5)]}
        if i and rnd.random() < 0.5:
            d["derived_from"] = [f"d{rnd.randrange(i)}"]
        if rnd.random() < 0.7:
            d["retention"] = "6y"
        data.append(d)
    touchpoints = []
    for i in range(n_touchpoints):
        tp = {"id": f"tp{i}", "name": f"Touchpoint {i}", "stage": f"st{i % len(stages)}",
              "stakeholder": f"sh{rnd.randrange(n_sh)}", "system": f"sys{rnd.randrange(n_sys)}",
              "context": rnd.choice(["patient_care", "documentation", "administrative", "self_service"]),
              "time_pressure": rnd.choice(["low", "medium", "high"]),
              "authentication": rnd.choice(["unique", "sso", "badge", "shared", "none", "unique", "sso"]),
              "controls": [f"c{rnd.randrange(40)}" for _ in range(rnd.randrange(3))],
              "clinical_decision": rnd.random() < 0.2, "verification": rnd.random() < 0.5,
              "safety_critical": rnd.random() < 0.1,
              "data_access": [{"data": f"d{rnd.randrange(n_data)}",
                               "actions": rnd.sample(["view", "create", "modify", "share", "export", "print"], 2)}
                              for _ in range(1 + rnd.randrange(2))]}
        tp["controls"] = sorted(set(tp["controls"]))
        if rnd.random() < 0.15:
            tp["failure_modes"] = [{"id": f"fm{i}", "description": "x",
                                    "harm": rnd.choice(["none", "minor", "moderate", "severe", "death"]),
                                    "safeguards": [f"c{rnd.randrange(40)}"] if rnd.random() < 0.5 else []}]
        touchpoints.append(tp)
    ends = [s["id"] for s in systems] + [t["id"] for t in touchpoints[: n_touchpoints // 4]]
    flows = [{"id": f"fl{i}", "from": rnd.choice(ends), "to": rnd.choice(ends),
              "data": [f"d{rnd.randrange(n_data)}"], "encrypted": rnd.random() < 0.8,
              "purpose": rnd.choice(["treatment", "payment", "operations", "research", "marketing"]),
              **({"interop": "fhir-r4"} if rnd.random() < 0.5 else {})} for i in range(n_touchpoints // 3)]
    checkpoints = [{"id": f"cp{i}", "name": f"Checkpoint {i}",
                    "type": rnd.choice(["consent", "authorization", "breach_notification", "access_review"]),
                    "stage": f"st{rnd.randrange(len(stages))}", "owner": f"sh{rnd.randrange(n_sh)}",
                    **({"timeline_days": rnd.choice([30, 60, 90])} if rnd.random() < 0.7 else {})}
                   for i in range(max(2, n_touchpoints // 100))]
    trainings = [{"id": f"tr{i}", "name": f"Training {i}", "audience": [f"sh{rnd.randrange(n_sh)}" for _ in range(3)],
                  "covers": [f"tp{rnd.randrange(n_touchpoints)}" for _ in range(20)],
                  "topics": rnd.sample(["product", "clinical", "security", "privacy"], 2),
                  "competency_check": rnd.random() < 0.5, "mentoring": rnd.random() < 0.3,
                  **({"refresher_days": 365} if rnd.random() < 0.5 else {})} for i in range(max(2, n_touchpoints // 60))]
    for t in trainings:
        t["audience"] = sorted(set(t["audience"]))
        t["covers"] = sorted(set(t["covers"]))
    channels = [{"id": f"ch{i}", "name": f"Channel {i}", "audience": sorted({f"sh{rnd.randrange(n_sh)}" for _ in range(4)}),
                 "captures": rnd.sample(["near_miss", "adverse_event", "unsafe_condition", "usability"], 2),
                 "timing": rnd.choice(["during_care", "between_tasks", "end_of_shift", "async"]),
                 "closes_loop": rnd.random() < 0.5, **({"investigation_sla_days": 30} if rnd.random() < 0.5 else {})}
                for i in range(max(2, n_touchpoints // 200))]
    return {"format": 1, "id": f"bench-{n_touchpoints}", "name": "Benchmark map", "version": "1.0.0",
            "stakeholders": stakeholders, "stages": stages, "systems": systems, "data": data,
            "controls": controls, "touchpoints": touchpoints, "data_flows": flows, "checkpoints": checkpoints,
            "trainings": trainings, "feedback_channels": channels}
