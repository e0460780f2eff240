"""Limits (issue 11, item 3): hostile sizes are refused early, with a clear message, exit
status 2, and well under 1 GB of memory, whatever the file holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from audit_engine.errors import MapError
from audit_engine.limits import DEFAULT, Limits
from audit_engine.loader import load_map_text

from conftest import ROOT

HEAD = {"format": 1, "id": "m", "name": "M", "version": "1",
        "stakeholders": [{"id": "p", "name": "P", "group": "patient"}], "stages": [{"id": "s", "name": "S"}]}


def _map(**lists) -> str:
    return json.dumps({**HEAD, **lists})


def _refused(text: str, limits: Limits) -> MapError:
    with pytest.raises(MapError) as info:
        load_map_text(text, "m.json", limits)
    return info.value


def test_entities_per_list() -> None:
    err = _refused(_map(touchpoints=[{"id": f"t{i}", "name": "T", "stage": "s", "stakeholder": "p"}
                                     for i in range(11)]), Limits(max_entities=10))
    assert [d.message for d in err.diagnostics] == ["touchpoints: 11 entries; the limit is 10 (limits.max_entities)"]


def test_references_per_list() -> None:
    err = _refused(_map(controls=[{"id": "c", "name": "C", "type": "other"}],
                        systems=[{"id": "big", "name": "B", "controls": ["c"] * 6}]), Limits(max_references=5))
    assert [d.message for d in err.diagnostics] == [
        "systems[0].controls: 6 entries; the limit is 5 (limits.max_references)"]


def test_values_per_file_stop_the_reader() -> None:
    err = _refused("format: 1\nid: m\nzeros:\n" + "- 0\n" * 500, Limits(max_values=100))
    assert "holds more than 100 values; the limit is 100 (limits.max_values)" in err.diagnostics[0].message


def test_depth() -> None:
    err = _refused("a: " + "[" * 12 + "]" * 12, Limits(max_depth=10))
    assert "nested more than 10 levels deep (limits.max_depth)" in err.diagnostics[0].message


def test_problems_per_file_stop_at_the_limit() -> None:
    touchpoints = [{"id": f"t{i}", "name": "T", "stage": "s", "stakeholder": "p", "controls": [f"nope{i}"]}
                   for i in range(50)]
    err = _refused(_map(touchpoints=touchpoints), Limits(max_problems=10))
    assert len(err.diagnostics) == 10 and "at most 10 (limits.max_problems)" in (err.note or "")


def test_no_suggestions_among_very_many_ids() -> None:
    stakeholders = [{"id": f"person-{i}", "name": "P", "group": "patient"} for i in range(30)]
    text = json.dumps({**HEAD, "stakeholders": stakeholders,
                       "touchpoints": [{"id": "t", "name": "T", "stage": "s", "stakeholder": "person-x1"}]})
    assert "did you mean" in str(_refused(text, DEFAULT))
    assert "did you mean" not in str(_refused(text, Limits(max_suggestion_candidates=20)))


def test_limits_come_from_the_run_configuration(tmp_path: Path) -> None:
    from conftest import run_cli

    m = tmp_path / "m.json"
    m.write_text(_map(touchpoints=[{"id": f"t{i}", "name": "T", "stage": "s", "stakeholder": "p"} for i in range(3)]))
    (tmp_path / "audit-engine.yaml").write_text("limits: {max_entities: 2}\n")
    p = run_cli("audit", str(m), "--no-store")
    assert p.returncode == 2 and "touchpoints: 3 entries; the limit is 2 (limits.max_entities)" in p.stderr
    (tmp_path / "audit-engine.yaml").write_text("limits: {max_entites: 2}\n")
    p = run_cli("audit", str(m), "--no-store")
    assert p.returncode == 2 and "did you mean 'max_entities'" in p.stderr


def test_engine_caps_derived_facts_and_activations() -> None:
    from audit_engine.audit import RuleSet, audit
    from audit_engine.errors import CapacityError

    text = _map(touchpoints=[{"id": f"t{i}", "name": "T", "stage": "s", "stakeholder": "p"} for i in range(30)])
    rs = RuleSet.load()
    with pytest.raises(CapacityError, match=r"limits.max_derived_facts"):
        audit(load_map_text(text, "m.json"), rs, Limits(max_derived_facts=20))
    with pytest.raises(CapacityError, match=r"limits.max_activations"):
        audit(load_map_text(text, "m.json"), rs, Limits(max_activations=20))


HOSTILE = {
    # the cases of the hostile-input review, at their real sizes
    "120k-touchpoints.json": lambda: _map(touchpoints=[{"id": f"tp{i}", "name": "T", "stage": "s", "stakeholder": "p"}
                                                       for i in range(120_000)]),
    "20k-controls.json": lambda: _map(controls=[{"id": f"c{i}", "name": "C", "type": "other"} for i in range(20_000)],
                                      systems=[{"id": "big", "name": "B", "controls": [f"c{i}" for i in range(20_000)]}]),
    "48mb-of-zeros.yaml": lambda: "format: 1\nid: z\nname: Z\nversion: '1'\nzeros:\n" + "- 0\n" * 11_990_000,
    "60k-near-misses.json": lambda: _map(
        controls=[{"id": f"c{i}", "name": "C", "type": "other"} for i in range(20_000)],
        touchpoints=[{"id": f"t{i}", "name": "T", "stage": "s", "stakeholder": "p", "controls": [f"c{i}x"]}
                     for i in range(20_000)],
        feedback_channels=[{"id": f"ch{i}", "name": "C", "audience": ["p"]} for i in range(20_000)]),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_sizes_are_refused_early_under_1_gb(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(HOSTILE[name]())
    code = ("import sys\nsys.path.insert(0, sys.argv[1])\nfrom audit_engine.cli import main\n"
            "try:\n    main(['validate', sys.argv[2]])\nexcept SystemExit as e:\n    code = e.code\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
            "print(code, hwm)")  # ru_maxrss would include the forking pytest process's peak
    p = subprocess.run([sys.executable, "-c", code, str(ROOT), str(path)], capture_output=True, text=True, timeout=300)
    exit_code, rss_kb = p.stdout.split()
    assert exit_code == "2", p.stderr[-500:]
    assert int(rss_kb) < 1024 * 1024, f"{int(rss_kb) // 1024} MB"
    assert "limits." in p.stderr or "unknown control" in p.stderr
    assert len(p.stderr.splitlines()) <= 1003
