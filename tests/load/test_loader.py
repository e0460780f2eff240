"""Loading journey maps: conformance maps, positions, and malformed or hostile input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit_engine import model as m
from audit_engine._yaml import MAX_BYTES, read_document
from audit_engine.errors import Location, MapError, PackError
from audit_engine.loader import LoadedMap, load_map, load_map_text
from audit_engine.model import JourneyMap, map_json_schema


from conftest import FIXTURES, ROOT  # noqa: E402


MAPS = sorted([*(FIXTURES / "conformance").glob("*.yaml"), *(FIXTURES / "maps").glob("ed-*.yaml")])
MED = FIXTURES / "conformance" / "medication-administration.yaml"
DOCS = ROOT / "docs"

SPEC_MINIMAL = """\
format: 1
id: lab-results-portal
name: Patient views lab results
version: "1.0.0"
stakeholders:
  - {id: patient, name: Patient, group: patient}
stages:
  - {id: access, name: Access results}
systems:
  - {id: portal, name: Patient portal, controls: [audit-log]}
data:
  - {id: lab-results, name: Lab results, classification: phi, retention: "6y"}
controls:
  - {id: audit-log, name: Access audit log, type: audit_logging}
touchpoints:
  - id: view-results
    name: Patient opens a result
    stage: access
    stakeholder: patient
    system: portal
    authentication: unique
    data_access: [{data: lab-results, actions: [view]}]
"""

# A small valid map; malformed cases below edit one line of it. Line numbers matter.
BASE = """\
format: 1
id: m
name: M
version: "1.0.0"
stakeholders:
  - {id: nurse, name: Nurse, group: clinical}
stages:
  - {id: bedside, name: Bedside}
systems:
  - {id: ehr, name: EHR, controls: [audit-log]}
controls:
  - {id: audit-log, name: Audit log, type: audit_logging}
data:
  - {id: mar, name: MAR, classification: phi}
touchpoints:
  - id: scan
    name: Scan
    stage: bedside
    stakeholder: nurse
    system: ehr
    authentication: unique
"""


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def errors_of(text: str, file: str = "map.yaml") -> list[str]:
    with pytest.raises(MapError) as info:
        load_map_text(text, file)
    return [str(d) for d in info.value.diagnostics]


# --- valid maps ---------------------------------------------------------------------


@pytest.mark.parametrize("path", MAPS, ids=lambda p: p.name)
def test_conformance_maps_load(path: Path) -> None:
    loaded = load_map(path)
    assert isinstance(loaded, LoadedMap)
    assert loaded.file == str(path)
    assert loaded.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.map.format == 1
    assert ("map", loaded.map.id) in loaded.locations
    for tp in loaded.map.touchpoints:
        assert loaded.location_of("touchpoint", tp.id).line > 1


@pytest.mark.parametrize("path", MAPS, ids=lambda p: p.name)
def test_conformance_maps_match_the_json_schema(path: Path) -> None:
    jsonschema.Draft202012Validator(map_json_schema()).validate(yaml.safe_load(path.read_text()))


def test_spec_minimal_map_loads_with_defaults() -> None:
    loaded = load_map_text(SPEC_MINIMAL, "minimal.yaml")
    jm = loaded.map
    assert jm.id == "lab-results-portal" and jm.version == "1.0.0"
    assert jm.systems[0].operator == "internal" and jm.systems[0].baa is False
    assert jm.systems[0].auto_logoff_minutes is None and jm.systems[0].interop == []
    tp = jm.touchpoints[0]
    assert tp.channel is None and tp.controls == [] and tp.safety_critical is False
    assert tp.data_access[0].data == "lab-results" and tp.data_access[0].actions == ["view"]
    assert jm.data_flows == [] and jm.checkpoints == [] and jm.feedback_channels == []
    assert loaded.content_hash == hashlib.sha256(SPEC_MINIMAL.encode()).hexdigest()


@pytest.mark.parametrize(
    ("kind", "id_", "line", "column"),
    [
        ("map", "med-administration", 2, 5),
        ("stakeholder", "nurse", 10, 5),  # a flow mapping: where `{` is
        ("stage", "verify-order", 17, 5),
        ("system", "ehr", 22, 5),  # a block mapping: where its first key is
        ("control", "ehr-audit", 39, 5),
        ("data", "med-orders", 45, 5),
        ("touchpoint", "scan-administer", 62, 5),
        ("failure_mode", "wrong-patient", 75, 9),
        ("flow", "orders-to-wow", 106, 5),
        ("checkpoint", "breach-plan", 110, 5),
        ("training", "bcma-course", 113, 5),
        ("channel", "bedside-popup", 132, 5),
    ],
)
def test_locations_point_at_entries(kind: str, id_: str, line: int, column: int) -> None:
    loaded = load_map(str(MED))
    assert loaded.location_of(kind, id_) == Location(str(MED), line, column)
    assert loaded.locations[(kind, id_)] == Location(str(MED), line, column)


def test_the_minimal_map_in_the_format_reference_loads() -> None:
    spec = (DOCS / "map-format.md").read_text()
    block = spec.split("## A minimal map", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block == SPEC_MINIMAL
    assert load_map_text(block, "spec.yaml").map.touchpoints[0].id == "view-results"


def test_read_document_raises_the_error_class_it_is_given(tmp_path: Path) -> None:
    p = tmp_path / "pack.yaml"
    p.write_text("a: 1\na: 2\n")
    with pytest.raises(PackError, match=r"pack.yaml:2:1: duplicate key 'a'"):
        read_document(p, error=PackError)


def test_location_of_unknown_entity_falls_back_to_the_map() -> None:
    loaded = load_map_text(BASE, "x.yaml")
    assert loaded.location_of("touchpoint", "nope") == Location("x.yaml", 2, 5)


def test_document_positions_and_ancestor_fallback(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text(SPEC_MINIMAL)
    doc = read_document(p)
    assert doc.position(("touchpoints", 0, "data_access", 0, "data")) == Location(str(p), 22, 26)
    assert doc.key_position(("touchpoints", 0, "stage")) == Location(str(p), 18, 5)
    assert doc.position(("touchpoints", 0, "stage")) == Location(str(p), 18, 12)
    # missing keys and indexes fall back to the nearest ancestor with a position
    assert doc.position(("touchpoints", 0, "nope", 3)) == Location(str(p), 16, 5)
    assert doc.position(("touchpoints", 7)) == Location(str(p), 16, 3)
    assert doc.position(()) == Location(str(p), 1, 1)


def test_json_map_loads_with_positions() -> None:
    text = json.dumps(yaml.safe_load(SPEC_MINIMAL), indent=2)
    loaded = load_map_text(text, "m.json")
    assert loaded.map == load_map_text(SPEC_MINIMAL).map
    assert loaded.location_of("touchpoint", "view-results").line > 1


def test_json_that_libyaml_rejects_falls_back_to_the_json_module() -> None:
    data = yaml.safe_load(SPEC_MINIMAL)
    text = json.dumps(data).replace("Patient portal", "Portal \\ud83d\\ude00")
    loaded = load_map_text(text, "m.json")
    assert loaded.map.systems[0].name == "Portal \U0001f600"
    assert errors_of('{"format": 1,\n "id": [1, }', "bad.json") == ["bad.json:2:12: invalid JSON: Expecting value"]


def test_bare_dates_stay_strings() -> None:
    loaded = load_map_text(edit("classification: phi}", "classification: phi, retention: 2027-03-31}"))
    assert loaded.map.data[0].retention == "2027-03-31"


def test_file_over_50_mb_is_refused_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "huge.yaml"
    with open(p, "wb") as f:
        f.truncate(MAX_BYTES + 1)
    with pytest.raises(MapError, match=r"huge.yaml:1:1: the file is 52,428,801 bytes"):
        load_map(p)


def test_missing_file_is_a_map_error(tmp_path: Path) -> None:
    with pytest.raises(MapError, match="cannot read the file"):
        load_map(tmp_path / "absent.yaml")


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    p.write_bytes(BASE.replace("name: Scan", "name: Caf\xe9").encode("latin-1"))
    with pytest.raises(MapError) as info:
        load_map(p)
    assert [str(d) for d in info.value.diagnostics] == [
        f"{p}:17:14: the file is not UTF-8 text: byte 0xe9 cannot be decoded; save it as UTF-8"
    ]


# --- malformed maps: (case, text, "line:column", message fragment) ----------------------

MALFORMED = [
    ("broken-yaml", edit("Bedside}", "Bedside"), "9:8", "invalid YAML: did not find expected ',' or '}'"),
    ("tab-indent", edit("    name: Scan", "\tname: Scan"), "17:1", "a tab character; YAML indents with spaces only"),
    ("unknown-key", edit("    stakeholder: nurse", "    stakholder: nurse"), "19:5",
     "touchpoints[0]: unknown key 'stakholder' (did you mean 'stakeholder'?)"),
    ("unknown-top-level-key", BASE + "descripton: x\n", "22:1",
     "unknown key 'descripton' (did you mean 'description'?)"),
    ("missing-required-key", edit("    stage: bedside\n", ""), "16:5", "touchpoints[0]: missing required key 'stage'"),
    ("wrong-type-int", edit("controls: [audit-log]}", "controls: [audit-log], auto_logoff_minutes: \"5\"}"), "10:70",
     'systems[0].auto_logoff_minutes: expected an integer, got the string "5"'),
    ("wrong-type-bool", BASE + "    safety_critical: 'yes'\n", "22:22",
     'touchpoints[0].safety_critical: expected true or false, got the string "yes"'),
    ("wrong-type-list", BASE + "    controls: audit-log\n", "22:15",
     'touchpoints[0].controls: expected a list, got the string "audit-log"'),
    ("bool-for-string", edit("name: Scan", "name: yes"), "17:11",
     "touchpoints[0].name: expected a string, got yes (which YAML reads as a boolean); quote it"),
    ("float-version", edit('version: "1.0.0"', "version: 1.0"), "4:10",
     'version: expected a string, got the number 1.0; quote it ("1.0")'),
    ("enum-with-suggestion", edit("authentication: unique", "authentication: uniqe"), "21:21",
     "touchpoints[0].authentication: 'uniqe' is not one of unique, sso, badge, shared, none, one_time_link (did you mean 'unique'?)"),
    ("enum-in-list", BASE + "    data_access: [{data: mar, actions: [veiw]}]\n", "22:41",
     "touchpoints[0].data_access[0].actions[0]: 'veiw' is not one of view, create"),
    ("enum-not-a-string", BASE + "    failure_modes: [{id: f, description: d, harm: no}]\n", "22:51",
     "harm: expected one of none, minor, moderate, severe, death, got no (which YAML reads as a boolean)"),
    ("bad-slug", edit("  - id: scan", "  - id: Scan Step"), "16:9", "touchpoints[0].id: 'Scan Step' is not a valid id"),
    ("negative-int", BASE + "checkpoints: [{id: c, name: C, type: consent, timeline_days: -1}]\n", "22:62",
     "checkpoints[0].timeline_days: must be 0 or more, got the number -1"),
    ("empty-required-list", edit("stages:\n  - {id: bedside, name: Bedside}\n", "stages: []\n"), "7:9",
     "stages: needs at least 1 entry"),
    ("empty-flow-data", BASE + "data_flows: [{id: f, from: ehr, to: scan, data: []}]\n", "22:49",
     "data_flows[0].data: needs at least 1 entry"),
    ("item-not-a-mapping", edit("  - {id: nurse, name: Nurse, group: clinical}", "  - nurse"), "6:5",
     'stakeholders[0]: expected a mapping (key: value pairs), got the string "nurse"'),
    ("format-2", edit("format: 1", "format: 2"), "1:9", "format: unsupported format 2: this engine reads format 1"),
    ("format-string", edit("format: 1", "format: '1'"), "1:9", 'format: expected the integer 1, got the string "1"'),
    ("format-1.0", edit("format: 1", "format: 1.0"), "1:9", "format: unsupported format 1.0: this engine reads format 1, "
     "written as the whole number 1"),
    ("format-1.1", edit("format: 1", "format: 1.1"), "1:9", "format: unsupported format 1.1"),
    ("version-empty", edit('version: "1.0.0"', 'version: ""'), "4:10", "version: must not be empty"),
    ("duplicate-id", BASE + "  - {id: scan, name: Again, stage: bedside, stakeholder: nurse}\n", "22:10",
     "touchpoints[1].id: duplicate touchpoint id 'scan' (first at line 16)"),
    ("duplicate-failure-mode-id",
     BASE + "    failure_modes: [{id: f, description: d}]\n"
     "  - {id: t2, name: T, stage: bedside, stakeholder: nurse, failure_modes: [{id: f, description: e}]}\n",
     "23:80", "touchpoints[1].failure_modes[0].id: duplicate failure mode id 'f' (first at line 22)"),
    ("duplicate-key", BASE + "    name: Again\n", "22:5", "duplicate key 'name' (first at line 17)"),
    ("dangling-ref-with-suggestion", edit("stage: bedside", "stage: bedsid"), "18:12",
     "touchpoints[0].stage: unknown stage 'bedsid' (did you mean 'bedside'?)"),
    ("dangling-data-access", BASE + "    data_access: [{data: mars}]\n", "22:26",
     "touchpoints[0].data_access[0].data: unknown data asset 'mars' (did you mean 'mar'?)"),
    ("derived-from-cycle",
     edit("  - {id: mar, name: MAR, classification: phi}",
          "  - {id: a, name: A, classification: phi, derived_from: [b]}\n"
          "  - {id: b, name: B, classification: phi, derived_from: [a]}"),
     "15:58", "data[1].derived_from[0]: derived_from cycle: a -> b -> a"),
    ("flow-endpoint-neither", BASE + "data_flows: [{id: f, from: ehr, to: printer, data: [mar]}]\n", "22:37",
     "data_flows[0].to: 'printer' is not the id of any system or touchpoint"),
    ("id-both-system-and-touchpoint", edit("  - id: scan", "  - id: ehr"), "16:9",
     "touchpoints[0].id: 'ehr' is both a system (line 10) and a touchpoint"),
    ("anchor", edit("  - {id: nurse,", "  - &n {id: nurse,"), "6:5", "YAML anchors (&name) are not allowed"),
    ("alias", BASE + "  - *x\n", "22:5", "YAML aliases (*name) are not allowed"),
    ("python-tag", edit("name: M", "name: !!python/object/apply:os.system [ls]"), "3:7",
     "the YAML tag '!!python/object/apply:os.system' is not allowed"),
    ("empty-file", "", "1:1", "the file is empty"),
    ("only-comments", "# a map\n\n", "1:1", "the file is empty"),
    ("list-at-top-level", "- format: 1\n", "1:1", "the top level must be a mapping (key: value pairs), not a list"),
    ("too-deep", BASE + "extra: " + "[" * 80 + "]" * 80 + "\n", "22:71", "nested more than 64 levels deep"),
    ("non-string-key", BASE + "1: one\n", "22:1", "keys must be strings: YAML reads 1 as a number; quote it"),
    ("two-documents", BASE + "---\nformat: 1\n", "22:1", "more than one YAML document"),
    ("control-character", edit("name: M", "name: M\x07"), "3:8", "the character U+0007, which YAML does not allow"),
]


@pytest.mark.parametrize(("case", "text", "where", "fragment"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_map(case: str, text: str, where: str, fragment: str) -> None:
    found = errors_of(text)
    prefix = f"map.yaml:{where}: "
    assert any(d.startswith(prefix) and fragment in d for d in found), "\n".join(found)


def test_several_errors_are_all_reported_together() -> None:
    text = (BASE.replace('version: "1.0.0"', "version: 2.0")
            .replace("authentication: unique", "authentication: pasword")
            .replace("stage: bedside", "stage: bedsid")
            + "  - id: scan\n    name: Again\n    stage: bedside\n    stakeholder: nurse\n    name: Twice\n")
    assert errors_of(text) == [
        'map.yaml:4:10: version: expected a string, got the number 2.0; quote it ("2.0") so that YAML keeps it as text',
        "map.yaml:18:12: touchpoints[0].stage: unknown stage 'bedsid' (did you mean 'bedside'?)",
        "map.yaml:21:21: touchpoints[0].authentication: 'pasword' is not one of unique, sso, badge, shared, none, one_time_link",
        "map.yaml:22:9: touchpoints[1].id: duplicate touchpoint id 'scan' (first at line 16); ids must be unique",
        "map.yaml:26:5: duplicate key 'name' (first at line 23); each key may appear once",
    ]


def test_unsupported_format_is_reported_alone() -> None:
    assert errors_of(edit("format: 1", "format: 2") + "whatever: 1\nstages2: 5\n") == [
        "map.yaml:1:9: format: unsupported format 2: this engine reads format 1"
    ]


def test_billion_laughs_is_rejected_quickly() -> None:
    lol = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 10):
        lol += f"l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 9) + "]\n"
    found = errors_of(BASE + lol)
    assert found[0] == "map.yaml:22:4: YAML anchors (&name) are not allowed in these files"
    assert len(found) <= 100


def test_hostile_volume_of_errors_is_capped() -> None:
    with pytest.raises(MapError) as info:
        load_map_text(BASE + "".join(f"k{i}: 1\n" for i in range(3000)), "map.yaml")
    assert len(info.value.diagnostics) == 1000
    assert info.value.note == "2,000 more problems not shown (limits.max_problems)"
    assert str(info.value).endswith("(2,000 more problems not shown (limits.max_problems))")


# --- round trip ------------------------------------------------------------------------

_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
    st.sampled_from(["yes", "no", "on", "null", "~", "1.0", "0x1F", "2027-03-31", "", " x ", "a: b", "- c",
                     "#", "&a", "*a", "!!str", "tab\there", "two\nlines", "'q'", '"q"']),
)
_SLUG = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True)


@st.composite
def valid_maps(draw: st.DrawFn) -> dict:
    ids = draw(st.lists(_SLUG, min_size=10, max_size=30, unique=True))
    pick = iter(ids)
    sh = [next(pick) for _ in range(2)]
    stages = [next(pick)]
    systems = [next(pick) for _ in range(draw(st.integers(0, 2)))]
    data = [next(pick) for _ in range(draw(st.integers(0, 2)))]
    controls = [next(pick) for _ in range(draw(st.integers(0, 2)))]
    tps = [next(pick)]
    opt = lambda s: st.one_of(st.none(), s)  # noqa: E731
    some = lambda pool: st.lists(st.sampled_from(pool), max_size=3) if pool else st.just([])  # noqa: E731
    nonneg = st.integers(0, 10**12)

    def drop_none(d: dict) -> dict:
        return {k: v for k, v in d.items() if v is not None}

    out = {
        "format": 1, "id": draw(_SLUG), "name": draw(_TEXT), "version": draw(_TEXT.filter(bool)),
        "organization": draw(opt(_TEXT)), "description": draw(opt(_TEXT)),
        "stakeholders": [drop_none({"id": i, "name": draw(_TEXT),
                                    "group": draw(st.sampled_from(m.STAKEHOLDER_GROUPS)), "role": draw(opt(_TEXT)),
                                    "concerns": draw(st.lists(_TEXT, max_size=2))}) for i in sh],
        "stages": [drop_none({"id": i, "name": draw(_TEXT), "description": draw(opt(_TEXT))}) for i in stages],
        "systems": [drop_none({"id": i, "name": draw(_TEXT), "operator": draw(st.sampled_from(m.OPERATORS)),
                               "baa": draw(st.booleans()), "ehr": draw(st.booleans()),
                               "interop": draw(st.lists(st.sampled_from(m.INTEROP_STANDARDS), max_size=2)),
                               "auto_logoff_minutes": draw(opt(nonneg)), "controls": draw(some(controls))})
                    for i in systems],
        "data": [drop_none({"id": i, "name": draw(_TEXT), "classification": draw(st.sampled_from(m.CLASSIFICATIONS)),
                            "derived_from": data[:k], "retention": draw(opt(_TEXT))})
                 for k, i in enumerate(data)],
        "controls": [drop_none({"id": i, "name": draw(_TEXT), "type": draw(st.sampled_from(m.CONTROL_TYPES)),
                                "description": draw(opt(_TEXT))}) for i in controls],
        "touchpoints": [drop_none({
            "id": i, "name": draw(_TEXT), "stage": stages[0], "stakeholder": draw(st.sampled_from(sh)),
            "system": draw(opt(st.sampled_from(systems))) if systems else None,
            "channel": draw(opt(st.sampled_from(m.CHANNELS))), "context": draw(opt(st.sampled_from(m.CONTEXTS))),
            "time_pressure": draw(opt(st.sampled_from(m.TIME_PRESSURES))),
            "authentication": draw(opt(st.sampled_from(m.AUTHENTICATIONS))),
            "data_access": [{"data": d, "actions": draw(st.lists(st.sampled_from(m.ACTIONS), max_size=3))}
                            for d in draw(some(data))],
            "controls": draw(some(controls)), "clinical_decision": draw(st.booleans()),
            "safety_critical": draw(st.booleans()), "verification": draw(st.booleans()),
            "failure_modes": [drop_none({"id": f"fm-{k}", "description": draw(_TEXT),
                                         "harm": draw(opt(st.sampled_from(m.HARMS))),
                                         "safeguards": draw(some(controls))}) for k in range(draw(st.integers(0, 2)))],
        }) for i in tps],
        "data_flows": [drop_none({"id": "flow-1", "from": tps[0], "to": draw(st.sampled_from(tps + systems)),
                                  "data": [data[0]], "encrypted": draw(st.booleans()),
                                  "purpose": draw(opt(st.sampled_from(m.PURPOSES))), "consent": "cp-1",
                                  "interop": draw(opt(st.sampled_from(m.INTEROP_STANDARDS)))})] if data else [],
        "checkpoints": [drop_none({"id": "cp-1", "name": draw(_TEXT), "type": draw(st.sampled_from(m.CHECKPOINT_TYPES)),
                                   "stage": stages[0], "owner": sh[0], "timeline_days": draw(opt(nonneg)),
                                   "applies_to": draw(some(data + systems + tps))})],
        "trainings": [{"id": "tr-1", "name": draw(_TEXT), "audience": sh, "covers": tps,
                       "topics": draw(st.lists(st.sampled_from(m.TRAINING_TOPICS), max_size=2)),
                       "competency_check": draw(st.booleans()), "mentoring": draw(st.booleans())}],
        "feedback_channels": [drop_none({"id": "fb-1", "name": draw(_TEXT), "audience": [sh[1]],
                                         "captures": draw(st.lists(st.sampled_from(m.CAPTURES), max_size=2)),
                                         "timing": draw(opt(st.sampled_from(m.TIMINGS))),
                                         "investigation_sla_days": draw(opt(nonneg)),
                                         "closes_loop": draw(st.booleans())})],
    }
    return drop_none(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_maps())
def test_random_valid_maps_round_trip(data: dict) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    assert load_map_text(text, "rt.yaml").map == JourneyMap.model_validate(data)
    assert load_map_text(json.dumps(data, ensure_ascii=False), "rt.json").map == JourneyMap.model_validate(data)


# --- scale ---------------------------------------------------------------------------


def big_map(touchpoints: int) -> dict:
    """A generated map with ``touchpoints`` touchpoints, each like the conformance maps'."""
    return {
        "format": 1, "id": "big", "name": "Big", "version": "1.0.0",
        "stakeholders": [{"id": f"person-{i}", "name": f"P {i}", "group": "clinical", "role": "RN"} for i in range(10)],
        "stages": [{"id": f"stage-{i}", "name": f"Stage {i}"} for i in range(10)],
        "systems": [{"id": f"sys-{i}", "name": f"S {i}", "interop": ["fhir-r4"], "auto_logoff_minutes": 15,
                     "controls": ["ctl-1"]} for i in range(50)],
        "data": [{"id": f"data-{i}", "name": f"D {i}", "classification": "phi", "retention": "6y",
                  **({"derived_from": [f"data-{i - 1}"]} if i else {})} for i in range(100)],
        "controls": [{"id": f"ctl-{i}", "name": f"C {i}", "type": "audit_logging"} for i in range(20)],
        "touchpoints": [{
            "id": f"tp-{i}", "name": f"Touchpoint number {i}", "stage": f"stage-{i % 10}",
            "stakeholder": f"person-{i % 10}", "system": f"sys-{i % 50}", "channel": "ehr",
            "context": "documentation", "time_pressure": "high", "authentication": "unique",
            "data_access": [{"data": f"data-{i % 100}", "actions": ["view", "modify"]}], "controls": ["ctl-3"],
            "safety_critical": i % 2 == 0,
            "failure_modes": [{"id": f"fm-{i}", "description": "Wrong patient", "harm": "severe",
                               "safeguards": ["ctl-4"]}] if i % 3 == 0 else [],
        } for i in range(touchpoints)],
        "data_flows": [{"id": f"flow-{i}", "from": f"tp-{i}", "to": f"sys-{i % 50}", "data": [f"data-{i % 100}"],
                        "encrypted": True, "purpose": "treatment"} for i in range(min(touchpoints, 1000))],
    }


def as_yaml(data: dict) -> str:
    """Block style at the top, one flow mapping (JSON is YAML) per list item: fast to write."""
    out = []
    for key, value in data.items():
        if isinstance(value, list):
            out.append(f"{key}:\n" + "".join(f"  - {json.dumps(item)}\n" for item in value))
        else:
            out.append(f"{key}: {json.dumps(value)}\n")
    return "".join(out)


@pytest.mark.slow
def test_a_15000_touchpoint_map_loads(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    p.write_text(as_yaml(big_map(15_000)))
    loaded = load_map(p)
    assert len(loaded.map.touchpoints) == 15_000
    assert loaded.location_of("touchpoint", "tp-14999").line > 1
    assert ("failure_mode", "fm-14997") in loaded.locations


def test_errors_never_quote_a_file_reached_through_a_symlink(tmp_path: Path) -> None:
    """A pull request may add `map.yaml -> ~/.pgpass`: the CI log must not show what it points at."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text('format: 1\nid: m\nname: yes\nversion: 987654321\nhunter2: "s3cr3t-token"\n'
                      "stakeholders: [{id: p, name: P, group: patient-s3cr3t}]\nstages: [{id: s, name: S}]\n")
    (tmp_path / "repo").mkdir()
    link = tmp_path / "repo" / "map.yaml"
    link.symlink_to(secret)
    folder_link = tmp_path / "repo" / "maps"
    folder_link.symlink_to(secret.parent)
    direct = "\n".join(str(d) for d in _refused_load(secret))
    assert "hunter2" in direct and "987654321" in direct and "patient-s3cr3t" in direct  # quoted when direct
    for path in (link, folder_link / "secret.txt"):
        diagnostics = _refused_load(path)
        assert len(diagnostics) == 4
        for d in diagnostics:
            text = str(d)
            assert not any(s in text for s in ("hunter2", "s3cr3t", "987654321", "yes")), text
            assert text.endswith("(not quoted: the file is reached through a symbolic link)")


def _refused_load(path: Path) -> list:
    with pytest.raises(MapError) as info:
        load_map(path)
    return info.value.diagnostics
