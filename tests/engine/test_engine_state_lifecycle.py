"""Regression: durable-rules frees an uninitialised action context when a state in
which no action ever started is deleted (createStateNode does not initialise it).
MALLOC_PERTURB_ fills fresh heap memory with garbage, which made this crash every
time; the engine wrapper fires a sentinel rule in every session to prevent it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from conftest import ROOT

NOTHING_FIRES = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from audit_engine.audit import RuleSet, audit
    from audit_engine.loader import load_map_text
    text = '''format: 1
    id: quiet
    name: Nothing fires
    version: "1"
    stakeholders: [{{id: p, name: P, group: patient}}]
    stages: [{{id: s, name: S}}]
    checkpoints: [{{id: plan, name: Plan, type: breach_notification, timeline_days: 30}}]
    '''
    for i in range(30):
        r = audit(load_map_text(text, "quiet.yaml"), RuleSet.load(only=["HDF-008"]))
        assert r.findings == (), r.findings
    print("ok")
""")


def test_deleting_a_state_where_nothing_fired_does_not_crash() -> None:
    env = {**os.environ, "MALLOC_PERTURB_": "165"}
    p = subprocess.run([sys.executable, "-c", NOTHING_FIRES.format(root=str(ROOT))], capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "ok"


def test_raw_engine_still_has_the_bug_we_guard_against() -> None:
    """Pins the upstream behaviour: if this starts passing, the sentinel may be removed."""
    code = textwrap.dedent("""
        import json
        import durable_rules_engine as E
        h = E.create_ruleset("pin", json.dumps({"r": {"all": [{"m": {"t": "x"}}]}}))
        code, off = E.assert_facts(h, json.dumps([{"id": "1", "t": "y", "sid": "s"}]))
        E.delete_state(h, "s")
        print("survived")
    """)
    env = {**os.environ, "MALLOC_PERTURB_": "165"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode != 0, "durable-rules no longer crashes here: the sentinel rule may be unnecessary"
