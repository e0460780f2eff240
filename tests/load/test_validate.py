"""References between entities: duplicates, shared namespace, dangling ids, cycles."""

from __future__ import annotations

import pytest

from audit_engine._yaml import Document, parse_bytes
from audit_engine.errors import MapError
from audit_engine.loader import load_map_text
from audit_engine.model import JourneyMap
from audit_engine.validate import LISTS, check_data, check_references

# Every kind of entity once, every reference resolving. Line numbers matter below.
FULL = """\
format: 1
id: full
name: Full
version: "1"
stakeholders:
  - {id: nurse, name: Nurse, group: clinical}
  - {id: officer, name: Officer, group: compliance}
stages:
  - {id: bedside, name: Bedside}
systems:
  - {id: ehr, name: EHR, controls: [audit]}
  - {id: cloud, name: Cloud, operator: vendor}
data:
  - {id: orders, name: Orders, classification: phi}
  - {id: mar, name: MAR, classification: phi, derived_from: [orders]}
controls:
  - {id: audit, name: Audit, type: audit_logging}
touchpoints:
  - id: scan
    name: Scan
    stage: bedside
    stakeholder: nurse
    system: ehr
    controls: [audit]
    data_access: [{data: mar, actions: [view]}]
    failure_modes: [{id: wrong-patient, description: d, harm: severe, safeguards: [audit]}]
data_flows:
  - {id: sync, from: ehr, to: scan, data: [mar], consent: consent}
checkpoints:
  - {id: consent, name: Consent, type: consent, stage: bedside, owner: officer, applies_to: [mar, sync, scan, ehr]}
trainings:
  - {id: course, name: Course, audience: [nurse], covers: [scan]}
feedback_channels:
  - {id: report, name: Report, audience: [nurse]}
"""


def doc_of(text: str) -> Document:
    return parse_bytes(text.encode(), "map.yaml")


def problems(text: str) -> list[str]:
    doc = doc_of(text)
    return [str(d) for d in check_data(doc.data, doc)]


def edit(old: str, new: str) -> str:
    assert old in FULL, old
    return FULL.replace(old, new, 1)


def test_a_valid_map_has_no_problems() -> None:
    doc = doc_of(FULL)
    assert check_references(JourneyMap.model_validate(doc.data), doc) == []
    assert load_map_text(FULL).map.id == "full"


# (what to change, into what, the bad id as written, the expected message). The
# expected position is where the bad id is written in the edited map.
DANGLING = [
    ("controls: [audit]}", "controls: [audti]}", "audti",
     "systems[0].controls[0]: unknown control 'audti' (did you mean 'audit'?)"),
    ("derived_from: [orders]", "derived_from: [order]", "order]",
     "data[1].derived_from[0]: unknown data asset 'order' (did you mean 'orders'?)"),
    ("stage: bedside\n", "stage: bedsde\n", "bedsde",
     "touchpoints[0].stage: unknown stage 'bedsde' (did you mean 'bedside'?)"),
    ("stakeholder: nurse", "stakeholder: nures", "nures",
     "touchpoints[0].stakeholder: unknown stakeholder 'nures' (did you mean 'nurse'?)"),
    ("system: ehr", "system: emr", "emr", "touchpoints[0].system: unknown system 'emr' (did you mean 'ehr'?)"),
    ("    controls: [audit]\n", "    controls: [audio]\n", "audio",
     "touchpoints[0].controls[0]: unknown control 'audio' (did you mean 'audit'?)"),
    ("{data: mar, actions", "{data: mars, actions", "mars",
     "touchpoints[0].data_access[0].data: unknown data asset 'mars' (did you mean 'mar'?)"),
    ("safeguards: [audit]", "safeguards: [audits]", "audits",
     "touchpoints[0].failure_modes[0].safeguards[0]: unknown control 'audits' (did you mean 'audit'?)"),
    ("from: ehr", "from: ehrr", "ehrr",
     "data_flows[0].from: 'ehrr' is not the id of any system or touchpoint (did you mean 'ehr'?)"),
    ("to: scan", "to: scna", "scna",
     "data_flows[0].to: 'scna' is not the id of any system or touchpoint (did you mean 'scan'?)"),
    ("data: [mar], consent", "data: [marr], consent", "marr",
     "data_flows[0].data[0]: unknown data asset 'marr' (did you mean 'mar'?)"),
    ("consent: consent}", "consent: consnt}", "consnt",
     "data_flows[0].consent: unknown checkpoint 'consnt' (did you mean 'consent'?)"),
    ("type: consent, stage: bedside", "type: consent, stage: bedsid", "bedsid,",
     "checkpoints[0].stage: unknown stage 'bedsid' (did you mean 'bedside'?)"),
    ("owner: officer", "owner: oficer", "oficer",
     "checkpoints[0].owner: unknown stakeholder 'oficer' (did you mean 'officer'?)"),
    ("applies_to: [mar, sync, scan, ehr]", "applies_to: [mar, synk, scan, ehr]", "synk",
     "checkpoints[0].applies_to[1]: 'synk' is not the id of any data asset, data flow, touchpoint or system"
     " (did you mean 'sync'?)"),
    ("audience: [nurse], covers", "audience: [nurs], covers", "nurs]",
     "trainings[0].audience[0]: unknown stakeholder 'nurs' (did you mean 'nurse'?)"),
    ("covers: [scan]", "covers: [scam]", "scam",
     "trainings[0].covers[0]: unknown touchpoint 'scam' (did you mean 'scan'?)"),
    ("audience: [nurse]}\n", "audience: [nurze]}\n", "nurze",
     "feedback_channels[0].audience[0]: unknown stakeholder 'nurze' (did you mean 'nurse'?)"),
]


def where(text: str, token: str) -> str:
    """``line:column`` of the only occurrence of ``token`` in ``text``."""
    assert text.count(token) == 1, token
    before = text[: text.index(token)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


@pytest.mark.parametrize(("old", "new", "token", "message"), DANGLING, ids=[d[3].split(":")[0] for d in DANGLING])
def test_every_reference_is_checked(old: str, new: str, token: str, message: str) -> None:
    text = edit(old, new)
    expected = [f"map.yaml:{where(text, token)}: {message}"]
    assert problems(text) == expected
    with pytest.raises(MapError) as info:  # and the loader reports it
        load_map_text(text, "map.yaml")
    assert [str(d) for d in info.value.diagnostics] == expected


def test_positions_of_a_few_references_by_hand() -> None:
    assert problems(edit("system: ehr", "system: emr")) == [
        "map.yaml:23:13: touchpoints[0].system: unknown system 'emr' (did you mean 'ehr'?)"
    ]
    assert problems(edit("controls: [audit]}", "controls: [audti]}"))[0].startswith("map.yaml:11:37: ")
    assert problems(edit("covers: [scan]", "covers: [scam]"))[0].startswith("map.yaml:32:60: ")


def test_unknown_id_without_a_close_match_has_no_suggestion() -> None:
    assert problems(edit("system: ehr", "system: mainframe")) == [
        "map.yaml:23:13: touchpoints[0].system: unknown system 'mainframe'"
    ]


@pytest.mark.parametrize("key", sorted(LISTS))
def test_duplicate_ids_in_every_list(key: str) -> None:
    doc = doc_of(FULL)
    item = {k: v for k, v in doc.data[key][0].items() if k != "failure_modes"}
    data = {**doc.data, key: [*doc.data[key], item]}
    found = [d.message for d in check_data(data, doc)]
    assert found == [f"{key}[{len(data[key]) - 1}].id: duplicate {LISTS[key]} id {item['id']!r} "
                     f"(first at line {doc.position((key, 0)).line}); ids must be unique"]


def test_failure_mode_ids_are_unique_across_the_map() -> None:
    text = FULL.replace("data_flows:", "  - {id: t2, name: T, stage: bedside, stakeholder: nurse, "
                                       "failure_modes: [{id: wrong-patient, description: x}]}\ndata_flows:")
    assert problems(text) == [
        "map.yaml:27:80: touchpoints[1].failure_modes[0].id: duplicate failure mode id 'wrong-patient' "
        "(first at line 26); ids must be unique"
    ]


def test_systems_and_touchpoints_share_one_namespace() -> None:
    text = edit("  - id: scan\n", "  - id: cloud\n").replace("to: scan", "to: cloud").replace(
        "covers: [scan]", "covers: [cloud]").replace("sync, scan, ehr", "sync, ehr")
    assert problems(text) == [
        "map.yaml:19:9: touchpoints[0].id: 'cloud' is both a system (line 12) and a touchpoint; "
        "systems and touchpoints share one namespace, rename one"
    ]


def _data_map(derived: dict[str, list[str]]) -> str:
    items = "".join(f"  - {{id: {k}, name: X, classification: phi, derived_from: [{', '.join(v)}]}}\n"
                    for k, v in derived.items())
    return FULL[: FULL.index("systems:\n")] + "data:\n" + items


def test_derived_from_cycle_reports_its_path() -> None:
    assert problems(_data_map({"a": ["b"], "b": ["c"], "c": ["a"]})) == [
        "map.yaml:13:58: data[2].derived_from[0]: derived_from cycle: a -> b -> c -> a"
    ]


def test_self_derivation_is_a_cycle() -> None:
    assert problems(_data_map({"a": ["a"]})) == ["map.yaml:11:58: data[0].derived_from[0]: derived_from cycle: a -> a"]


def test_each_cycle_is_reported_and_a_diamond_is_not_a_cycle() -> None:
    found = problems(_data_map({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": [], "x": ["y"], "y": ["x"]}))
    assert [f.split(": ", 2)[2] for f in found] == ["derived_from cycle: x -> y -> x"]


def test_long_derivation_chains_need_no_recursion() -> None:
    n = 20_000
    chain = {f"d{i}": [f"d{i + 1}"] if i + 1 < n else [] for i in range(n)}
    assert problems(_data_map(chain)) == []
    chain[f"d{n - 1}"] = ["d0"]
    (found,) = problems(_data_map(chain))
    assert found.endswith("derived_from cycle: d0 -> d1 -> d2 -> d3 -> d4 -> d5 -> ... (19,991 more) "
                          "-> d19997 -> d19998 -> d19999 -> d0")


def test_unsupported_format() -> None:
    doc = doc_of(FULL)
    jm = JourneyMap.model_validate(doc.data).model_copy(update={"format": 2})
    assert [str(d) for d in check_references(jm, doc)] == [
        "map.yaml:1:9: format: unsupported format 2: this engine reads format 1"
    ]


def test_checks_tolerate_data_of_the_wrong_shape() -> None:
    text = (FULL.replace("controls: [audit]}", "controls: audit}")
            .replace("  - {id: orders,", "  - 5\n  - {id: 7,")
            .replace("stage: bedside\n", "stage: [bedside]\n")
            + "data_flows2: 3\n")
    doc = doc_of(text)
    assert [d.message for d in check_data(doc.data, doc)] == ["data[2].derived_from[0]: unknown data asset 'orders'"]
    assert check_data({"touchpoints": "x", "data": [None, 3, {"derived_from": 5}]}, doc) == []


def test_many_dangling_references_stay_fast_enough() -> None:
    refs = ", ".join(f"x{i}" for i in range(900))
    found = problems(edit("covers: [scan]", f"covers: [{refs}]"))
    assert len(found) == 900
