"""Differential tests: the engine (durable-rules, stratified phases, touchpoint shards)
against ``tests/reference.py`` (plain nested loops to a fixpoint), on random valid maps
from ``tests/mapgen.py``; plus order independence and fingerprint stability.

Engine and reference must agree exactly on the set of derived facts and on the set of
(rule id, subject) findings. A disagreement prints both differences and the map.
"""

from __future__ import annotations

import json
import random
from typing import Any, Iterable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mapgen  # noqa: E402
import reference  # noqa: E402
from audit_engine.audit import RuleSet, audit  # noqa: E402
from audit_engine.engine.run import evaluate  # noqa: E402
from audit_engine.facts import Fact, base_facts  # noqa: E402
from audit_engine.findings import build_findings  # noqa: E402
from audit_engine.loader import LoadedMap, load_map_text  # noqa: E402

MANY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SOME = settings(MANY, max_examples=120)

SHIPPED = reference.shipped_packs()
SHIPPED_PARAMS = reference.default_params(SHIPPED)
_RULESETS: dict[tuple, RuleSet] = {}


def ruleset(extra: tuple[str, ...] = (), params: dict[str, int] | None = None) -> RuleSet:
    """Compiled once per (packs, parameters): compiling is the slow part of a small audit."""
    key = (extra, tuple(sorted((params or {}).items())))
    if key not in _RULESETS:
        _RULESETS[key] = RuleSet.load(extra_packs=list(extra), params=params or {})
    return _RULESETS[key]


def load(m: dict[str, Any], **dump: Any) -> LoadedMap:
    return load_map_text(yaml.safe_dump(m, sort_keys=False, **dump), "generated.yaml")


def _show(m: dict[str, Any]) -> str:
    text = yaml.safe_dump(m, sort_keys=False)
    return text if len(text) < 6000 else text[:6000] + "\n... (truncated)"


def assert_agree(lm: LoadedMap, ev: Any, findings: Iterable[Any], packs: list, params: dict[str, int],
                 m: dict[str, Any], what: str = "") -> reference.Result:
    ref = reference.evaluate(packs, params, base_facts(lm.map))
    derived = {ev.facts[i].key() for i in ev.justifications}
    found = {(f.rule_id, f.subject) for f in findings}
    problems = []
    if derived != ref.derived:
        problems.append(f"derived facts only in the engine: {sorted(derived - ref.derived)[:20]}\n"
                        f"derived facts only in the reference: {sorted(ref.derived - derived)[:20]}")
    if found != ref.findings:
        problems.append(f"findings only in the engine: {sorted(found - ref.findings)[:20]}\n"
                        f"findings only in the reference: {sorted(ref.findings - found)[:20]}")
    else:
        graded = {(f.rule_id, f.subject): f.severity for f in findings}
        if graded != ref.severities:
            problems.append(f"severities differ: {sorted(set(graded.items()) ^ set(ref.severities.items()))[:20]}")
    assert not problems, f"engine and reference disagree {what}(params {params}):\n" + "\n".join(problems) + \
        "\nmap:\n" + _show(m)
    return ref


def check_map(m: dict[str, Any], extra: tuple[str, ...] = (), overrides: dict[str, int] | None = None,
              naive: bool = False) -> None:
    packs = SHIPPED + [reference.load_pack_file(p) for p in extra]
    params = reference.default_params(packs, overrides)
    rs = ruleset(extra, overrides)
    lm = load(m)
    result = audit(lm, rs)
    ref = assert_agree(lm, result.evaluation, result.findings, packs, params, m)
    if naive:  # the reference's index and early visibility change nothing
        slow = reference.evaluate(packs, params, base_facts(lm.map), naive=True)
        assert (slow.derived, slow.findings) == (ref.derived, ref.findings)


# --- (a) random maps, shipped packs ------------------------------------------------------


@MANY
@given(mapgen.journey_maps())
def test_shipped_packs_agree_with_the_reference(m: dict[str, Any]) -> None:
    check_map(m, naive=True)


def _param_overrides() -> st.SearchStrategy[dict[str, int]]:
    # A handful of override sets: each one is a new rule set in the C engine, and
    # durable-rules' create_ruleset fails now and then (error 102) once a process has
    # created many (reported; see the module docstring of test_engine_regressions.py).
    names = sorted(SHIPPED_PARAMS)
    sets = [{n: 1 for n in names}, {n: 90 for n in names}, {n: SHIPPED_PARAMS[n] + 1 for n in names},
            {n: max(1, SHIPPED_PARAMS[n] // 2) for n in names}, {names[0]: 7}]
    return st.sampled_from(sets)


@SOME
@given(mapgen.journey_maps(), _param_overrides())
def test_shipped_packs_agree_with_parameter_overrides(m: dict[str, Any], overrides: dict[str, int]) -> None:
    check_map(m, overrides=overrides)


@SOME
@given(mapgen.journey_maps(), st.integers(1, 4))
def test_touchpoint_shards_agree_with_the_reference(m: dict[str, Any], shard: int) -> None:
    """Small shards force the multi-state path (one state per few touchpoints)."""
    rs = ruleset()
    lm = load(m)
    ev = evaluate(rs.program, base_facts(lm.map), shard_touchpoints=shard)
    findings = build_findings(rs.program, ev, lm.map.id, lm.location_of)
    assert_agree(lm, ev, findings, SHIPPED, SHIPPED_PARAMS, m, f"with {shard} touchpoints per shard ")


# --- a synthetic user pack exercising every operator -----------------------------------
#
# Rules carry only what the test needs; `_pack_yaml` adds the required prose fields.
# Two upstream durable-rules bugs are kept out of this pack on purpose (each has its own
# regression test in test_engine_regressions.py, marked xfail until the compiler works
# around it): a non-equality join whose operand is absent (error 311), and a join test
# written after an `ne`/`not_in`/`in`/`any_of` test in the same condition (silently
# ignored). So joins come first in each `where`, and `ne`/`lt`... joins only compare
# fields that are always present on both sides.

SYNTHETIC = r"""
pack: synthetic-ops
allow_cross_products: true  # checkpoints x trainings compared with lt: an operator test on small maps
version: 1.0.0
title: Every operator of the pack language, for differential tests
parameters:
  lo: {default: 15, minimum: 0, description: a low bound}
  hi: {default: 60, minimum: 0, description: a high bound}
derive:
  # recursion (flows may form cycles): which endpoint reaches which
  - id: reach-direct
    fact: reaches
    when:
      - {fact: flow, as: f}
    assert: {src: {ref: f.from}, dst: {ref: f.to}}
  - id: reach-step
    fact: reaches
    when:
      - {fact: reaches, as: r}
      - {fact: flow, as: f, where: {from: {ref: r.dst}}}
    assert: {src: {ref: r.src}, dst: {ref: f.to}}
  # stratum 1: negation of a core derived type; alternatives; a literal in assert
  - id: unlogged
    fact: unlogged
    when_any:
      - - {fact: touchpoint, as: t, where: {system: {present: false}}}
        - not: {fact: effective_control, where: {touchpoint: {ref: t.id}, type: audit_logging}}
      - - {fact: touchpoint, as: t, where: {authentication: {in: [shared, none]}}}
    assert: {touchpoint: {ref: t.id}, why: literal}
  # stratum 2: negation of a stratum-1 type, over a recursive type
  - id: exposed
    fact: exposed
    when:
      - {fact: reaches, as: r}
      - {fact: touchpoint, as: t, where: {id: {ref: r.dst}}}
      - not: {fact: unlogged, where: {touchpoint: {ref: r.src}}}
    assert: {touchpoint: {ref: t.id}, source: {ref: r.src}}
  # a ref to an optional field: the derived fact leaves it out when absent
  - id: runs-on
    fact: runs_on
    when:
      - {fact: touchpoint, as: t}
    assert: {touchpoint: {ref: t.id}, system: {ref: t.system}}
  # joins of two facts of one type, and on a derived type's optional field
  - id: same-system
    fact: same_system
    when:
      - {fact: touchpoint, as: ta}
      - {fact: touchpoint, as: tb, where: {stage: {ref: ta.stage}, system: {ref: ta.system}, stakeholder: {ref: ta.stakeholder}}}
      - {fact: runs_on, as: a, where: {touchpoint: {ref: ta.id}}}
      - {fact: runs_on, as: b, where: {touchpoint: {ref: tb.id}, system: {ref: a.system}}}
    assert: {left: {ref: a.touchpoint}, right: {ref: b.touchpoint}}
rules:
  - id: OPS-001  # ne: literal on absent fields, ref; one fact may bind t and u
    subject: t.id
    subject_kind: touchpoint
    when:
      - {fact: touchpoint, as: t, where: {authentication: {ne: unique}}}
      - {fact: system, as: s, where: {id: {ref: t.system}, operator: {ne: vendor}}}
      - {fact: touchpoint, as: u, where: {stage: {ref: t.stage}, system: {ref: s.id}, stakeholder: {ne: {ref: t.stakeholder}}, channel: {ne: web}}}
  - id: OPS-002  # not_in on present and absent fields
    subject: t.id
    subject_kind: touchpoint
    when:
      - {fact: touchpoint, as: t, where: {context: {not_in: [patient_care, training]}}}
      - {fact: stakeholder, as: s, where: {id: {ref: t.stakeholder}, group: {not_in: [patient]}, role: {not_in: [Nurse]}}}
  - id: OPS-003  # lt with a parameter, ge with a ref
    subject: c.id
    subject_kind: checkpoint
    when:
      - {fact: checkpoint, as: c, where: {timeline_days: {lt: {param: hi}}}}
      - {fact: training, as: tr, where: {refresher_days: {ge: {ref: c.timeline_days}}}}
  - id: OPS-004  # le with a parameter, gt with a ref
    subject: s.id
    subject_kind: system
    when:
      - {fact: system, as: s, where: {auto_logoff_minutes: {le: {param: lo}}}}
      - {fact: channel, as: ch, where: {investigation_sla_days: {gt: {ref: s.auto_logoff_minutes}}}}
  - id: OPS-006  # present true and false
    subject: t.id
    subject_kind: touchpoint
    when:
      - {fact: touchpoint, as: t, where: {system: {present: true}, authentication: {present: false}, clinical_decision: {present: true}}}
  - id: OPS-007  # has and has_any on list fields
    subject: tr.id
    subject_kind: training
    when:
      - {fact: training, as: tr, where: {topics: {has: security}}}
      - {fact: training_audience, as: ta, where: {training: {ref: tr.id}}}
      - {fact: channel_audience, as: ca, where: {stakeholder: {ref: ta.stakeholder}}}
      - {fact: channel, as: ch, where: {id: {ref: ca.channel}, captures: {has_any: [near_miss, adverse_event]}}}
  - id: OPS-008  # any_of mixing eq, present, comparisons, has
    subject: s.id
    subject_kind: system
    when:
      - fact: system
        as: s
        where:
          auto_logoff_minutes: {any_of: [{present: false}, {eq: 0}, {ge: {param: hi}}]}
          interop: {any_of: [{has: fhir-r4}, {has_any: [hl7v2, csv]}, {present: false}]}
          operator: {any_of: [{eq: vendor}, {ne: internal}]}
  - id: OPS-009  # when_any, one alternative negated, eq joins to an absent field
    subject: f.id
    subject_kind: flow
    when_any:
      - - {fact: flow, as: f, where: {encrypted: false, interop: {in: [csv, hl7v2]}}}
      - - {fact: flow, as: f, where: {purpose: research}}
        - not: {fact: checkpoint, where: {id: {ref: f.consent}, type: consent}}
      - - {fact: flow, as: f}
        - {fact: checkpoint, as: c, where: {id: {ref: f.consent}, owner: {present: false}}}
  - id: OPS-010  # a negation joined to two earlier aliases (one ref maybe absent)
    subject: t.id
    subject_kind: touchpoint
    when:
      - {fact: touchpoint, as: t}
      - {fact: control, as: c, where: {type: {in: [audit_logging, mfa]}}}
      - not: {fact: touchpoint_control, where: {touchpoint: {ref: t.id}, control: {ref: c.id}}}
      - not: {fact: system_control, where: {system: {ref: t.system}, control: {ref: c.id}}}
  - id: OPS-011  # derived types of strata 1 and 2 under negation (stratum 3)
    subject: t.id
    subject_kind: touchpoint
    when:
      - {fact: reaches, as: r}
      - {fact: touchpoint, as: t, where: {id: {ref: r.src}}}
      - not: {fact: exposed, where: {touchpoint: {ref: t.id}}}
      - not: {fact: unlogged, where: {touchpoint: {ref: r.dst}, why: literal}}
  - id: OPS-012  # joins over the recursive type
    subject: r.src
    subject_kind: touchpoint
    when:
      - {fact: reaches, as: r}
      - {fact: reaches, as: q, where: {src: {ref: r.dst}, dst: {ref: r.src}}}
  - id: OPS-013  # absent fields of derived facts; booleans
    subject: ro.touchpoint
    subject_kind: touchpoint
    when_any:
      - - {fact: runs_on, as: ro, where: {system: {present: false}}}
        - {fact: touchpoint, as: t, where: {id: {ref: ro.touchpoint}, safety_critical: true, verification: {ne: true}}}
      - - {fact: runs_on, as: ro}
        - {fact: system, as: s, where: {id: {ref: ro.system}, baa: false, ehr: {eq: true}}}
  - id: OPS-014  # ne joins inside negations
    subject: t.id
    subject_kind: touchpoint
    when:
      - {fact: touchpoint, as: t}
      - not: {fact: touchpoint, where: {stakeholder: {ref: t.stakeholder}, id: {ne: {ref: t.id}}}}
      - not: {fact: same_system, where: {left: {ref: t.id}, right: {ne: {ref: t.id}}}}
  - id: OPS-015  # eq with parameters; not_in and any_of inside negations
    subject: c.id
    subject_kind: checkpoint
    when:
      - {fact: checkpoint, as: c, where: {timeline_days: {any_of: [{eq: {param: lo}}, {eq: {param: hi}}, {lt: 2}]}}}
      - not: {fact: stakeholder, where: {id: {ref: c.owner}, group: {not_in: [patient, vendor]}}}
      - not: {fact: stage, where: {id: {ref: c.stage}, index: {any_of: [{eq: 0}, {gt: 3}]}}}
"""


def pack_yaml(text: str) -> str:
    """Complete a terse pack: the prose and examples every rule and derivation needs."""
    pack = yaml.safe_load(text)
    for d in pack.get("derive", []):
        d.setdefault("because", f"derived by {d['id']}")
    for r in pack.get("rules", []):
        r.update({"title": f"synthetic rule {r['id']}", "severity": "info", "citation": "none",
                  "rationale": "exercises the pack language in differential tests",
                  "remediation": "nothing to do", "message": f"{{{r['subject']}}} matched",
                  "examples": {"fires": [{"name": "x", "subjects": ["x"], "map": {}}], "passes": [{"name": "y", "map": {}}]}})
    return yaml.safe_dump(pack, sort_keys=False)


@pytest.fixture(scope="module")
def synthetic_pack(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("packs") / "synthetic.yaml"
    path.write_text(pack_yaml(SYNTHETIC), encoding="utf-8")
    return str(path)


def test_the_synthetic_pack_has_the_strata_it_is_meant_to_have(synthetic_pack: str) -> None:
    program = ruleset((synthetic_pack,)).program
    strata = reference.strata_of(SHIPPED + [reference.load_pack_file(synthetic_pack)])
    assert strata["unlogged"] == 1 and strata["exposed"] == 2 and strata["reaches"] == 0
    assert {t: s for t, s in program.strata.items() if s} == {t: s for t, s in strata.items() if s}
    assert program.max_stratum == 3  # OPS-011 negates `exposed`


@MANY
@given(m=mapgen.journey_maps(), lo=st.sampled_from([0, 15, 60]), hi=st.sampled_from([2, 60]),
       shard=st.sampled_from([None, 1, 3]))
def test_synthetic_pack_agrees_with_the_reference(synthetic_pack: str, m: dict[str, Any], lo: int, hi: int,
                                                  shard: int | None) -> None:
    extra = (synthetic_pack,)
    packs = SHIPPED + [reference.load_pack_file(synthetic_pack)]
    params = reference.default_params(packs, {"lo": lo, "hi": hi})
    rs = ruleset(extra, {"lo": lo, "hi": hi})
    lm = load(m)
    if shard is None:
        result = audit(lm, rs)
        ev, findings = result.evaluation, result.findings
    else:
        ev = evaluate(rs.program, base_facts(lm.map), shard_touchpoints=shard)
        findings = build_findings(rs.program, ev, lm.map.id, lm.location_of)
    assert_agree(lm, ev, findings, packs, params, m, f"(synthetic pack, shard {shard}) ")


def test_generated_maps_make_every_rule_fire(synthetic_pack: str) -> None:
    """The differential tests are only as good as the maps: over 200 generated maps every
    shipped and synthetic rule fires, and every derived type is derived, at least once."""
    rs = ruleset((synthetic_pack,))
    fired: set[str] = set()
    derived: set[str] = set()
    for seed in range(200):
        rng = random.Random(seed)
        sizes = {k: rng.randint(1 if k in ("stakeholders", "stages") else 0, 15) for k in mapgen.SIZE_KEYS}
        result = audit(load_map_text(json.dumps(mapgen.random_map(rng, sizes)), "m.json"), rs)
        fired |= {f.rule_id for f in result.findings}
        derived |= {result.evaluation.facts[i].type for i in result.evaluation.justifications}
    assert set(rs.rule_ids()) - fired == set()
    assert {d.fact for lp in rs.packs for d in lp.pack.derive} - derived == set()


# --- (b) order never matters ---------------------------------------------------------------


def finding_rows(findings: Iterable[Any]) -> list[tuple]:
    return sorted((f.rule_id, f.subject, f.fingerprint, f.message, tuple(f.evidence), f.severity) for f in findings)


@SOME
@given(mapgen.journey_maps(), st.integers(0, 2**32 - 1))
def test_shuffling_every_list_never_changes_findings(m: dict[str, Any], seed: int) -> None:
    # Stage order is journey order (stage facts' `index`), but no shipped rule reads it,
    # so the stages are shuffled too.
    rs = ruleset()
    before = finding_rows(audit(load(m), rs).findings)
    moved = mapgen.shuffled(m, random.Random(seed))
    after = finding_rows(audit(load(moved), rs).findings)
    assert before == after, "shuffled map:\n" + _show(moved)


# --- (d) fingerprints -------------------------------------------------------------------------


def _renamed(v: Any, rng: random.Random) -> Any:
    if isinstance(v, dict):
        return {k: (f"renamed {rng.randint(0, 10**6)}" if k == "name" else _renamed(x, rng)) for k, x in v.items()}
    if isinstance(v, list):
        return [_renamed(x, rng) for x in v]
    return v


def _padded(m: dict[str, Any], rng: random.Random) -> str:
    """The same map written differently: comments, blank lines, descriptions, flow style."""
    m = json.loads(json.dumps(m))
    for s in m["stages"]:
        s["description"] = "moved\nover\nseveral lines"
    for c in m.get("controls", []):
        c["description"] = "x" * rng.randint(0, 200)
    text = yaml.safe_dump(m, sort_keys=False, default_flow_style=rng.choice([False, None]), width=rng.choice([40, 200]))
    return "# a comment\n" * rng.randint(1, 30) + "\n" * rng.randint(0, 5) + text


def fingerprints(findings: Iterable[Any]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for f in findings:
        assert (f.rule_id, f.subject) not in out, f"two findings of {f.rule_id} about {f.subject}"
        out[(f.rule_id, f.subject)] = f.fingerprint
    assert len(set(out.values())) == len(out), "two findings of one run share a fingerprint"
    return out


@SOME
@given(mapgen.journey_maps(), st.integers(0, 2**32 - 1))
def test_fingerprints_survive_renames_moves_and_reformatting(m: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed)
    rs = ruleset()
    first = audit(load(m), rs)
    before = fingerprints(first.findings)
    changed = mapgen.shuffled(_renamed(m, rng), rng)
    lm = load_map_text(_padded(changed, rng), "elsewhere.yaml")
    second = audit(lm, rs)
    assert fingerprints(second.findings) == before
    lines = {(f.rule_id, f.subject): f.location.line for f in first.findings}
    assert not lines or any(lines[(f.rule_id, f.subject)] != f.location.line for f in second.findings)  # lines moved


# --- (c) scale ------------------------------------------------------------------------------------


def _load_big(m: dict[str, Any]) -> LoadedMap:
    return load_map_text(json.dumps(m), "big.json")  # JSON is YAML, and much faster to write


@pytest.mark.slow
def test_big_map_agrees_with_the_reference() -> None:
    m = mapgen.big_map(5000, seed=1)
    lm = _load_big(m)
    facts = list(base_facts(lm.map))
    assert len(facts) >= 20_000
    chain = [d for d in lm.map.data if d.id.startswith("chain-a")]
    assert len(chain) >= 200
    result = audit(lm, ruleset())
    ref = assert_agree(lm, result.evaluation, result.findings, SHIPPED, SHIPPED_PARAMS, {"big_map": [5000, 1]})
    assert Fact("phi_data", {"data": "chain-a249"}).key() in ref.derived  # the whole chain was followed
    assert Fact("phi_data", {"data": "chain-b249"}).key() not in ref.derived  # cut by de-identified data
    assert result.evaluation.states > 1  # the sharded path ran


@pytest.mark.slow
def test_big_map_in_reverse_order_gives_the_same_findings() -> None:
    """Adversarial order at scale: every list reversed (blockers before or after what
    they block, chains listed from their ends)."""
    m = mapgen.big_map(5000, seed=3)
    reversed_map = {k: (list(reversed(v)) if isinstance(v, list) and k != "stages" else v) for k, v in m.items()}
    a = audit(_load_big(m), ruleset())
    b = audit(_load_big(reversed_map), ruleset())
    assert finding_rows(a.findings) == finding_rows(b.findings)
    assert len(a.findings) > 1000


@pytest.mark.slow
def test_big_map_with_the_synthetic_pack_agrees(synthetic_pack: str) -> None:
    m = mapgen.big_map(5000, seed=2)
    lm = _load_big(m)
    packs = SHIPPED + [reference.load_pack_file(synthetic_pack)]
    result = audit(lm, ruleset((synthetic_pack,)))
    ref = assert_agree(lm, result.evaluation, result.findings, packs, reference.default_params(packs),
                       {"big_map": [5000, 2]}, "(synthetic pack) ")
    kinds = {k[0] for k in ref.derived}
    assert {"reaches", "unlogged", "exposed", "same_system"} <= kinds
