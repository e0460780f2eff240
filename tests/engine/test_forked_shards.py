"""A large map's shards in forked processes (``Engine.evaluate(workers=...)``, ``audit --jobs``):
the evaluation is the one of a single process, fact for fact and derivation for derivation;
a failed or killed worker is an error, never a partial result; no worker outlives a run."""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest
import yaml

from audit_engine.audit import RuleSet
from audit_engine.engine import _fork
from audit_engine.engine import run as engine_run
from audit_engine.errors import CapacityError, EngineError
from audit_engine.facts import base_facts
from audit_engine.findings import build_findings
from audit_engine.limits import DEFAULT
from audit_engine.loader import load_map, load_map_text

from conftest import CONFORMANCE, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from genmap import big_map  # noqa: E402

RULESET = RuleSet.load()
BIG = load_map_text(yaml.safe_dump(big_map(600)), "big.yaml")


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The pids of the workers forked during a test (a test asserting that the forked path ran)."""
    pids: list[int] = []
    start = _fork.start

    def recording(work):
        child = start(work)
        pids.append(child.pid)
        return child

    monkeypatch.setattr(_fork, "start", recording)
    return pids


def _evaluate(lm, shard: int, workers: int, limits=DEFAULT):
    facts = list(base_facts(lm.map, RULESET.program.read_types()))
    return RULESET.engine.evaluate(facts, shard_touchpoints=shard, limits=limits, workers=workers)


def _whole(ev) -> tuple:
    """Everything an evaluation holds, in order."""
    return ([f.key() for f in ev.facts], sorted((k, tuple(v)) for k, v in ev.justifications.items()),
            ev.matches, ev.rounds, ev.states)


def _findings(lm, ev) -> list[tuple]:
    fs = build_findings(RULESET.program, ev, lm.map.id, lm.location_of)
    return [(f.rule_id, f.subject, f.severity, f.message, tuple(f.evidence), f.fingerprint) for f in fs]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_forked_shards_give_the_evaluation_of_one_process(forks, workers: int) -> None:
    one = _evaluate(BIG, 50, 1)
    assert not forks
    many = _evaluate(BIG, 50, workers)
    assert len(forks) == workers - 1 and all(_gone(p) for p in forks)
    assert _whole(many) == _whole(one)
    assert _findings(BIG, many) == _findings(BIG, one)


@pytest.mark.parametrize("path", [CONFORMANCE / "patient-portal.v1.yaml", CONFORMANCE / "medication-administration.yaml"],
                         ids=lambda p: p.name)
def test_a_fact_several_groups_derive_is_merged_once(forks, monkeypatch, path) -> None:
    """With one touchpoint per shard, facts that are not a touchpoint's (a system holds PHI,
    a stakeholder handles it) are derived again in many shards and so in several workers;
    each derivation is kept once, and the driver's bodies apply to such a fact once."""
    lm = load_map(path)
    known = []
    merge = engine_run._Run._merge

    def counting(self, added, place, known_here):
        keys = added[0]
        known.append(sum(1 for k in keys if k in self.seen))
        return merge(self, added, place, known_here)

    monkeypatch.setattr(engine_run._Run, "_merge", counting)
    one = _evaluate(lm, 1, 1)
    many = _evaluate(lm, 1, 3)
    assert forks and sum(known) > 0  # the case this test is about happened
    assert _whole(many) == _whole(one)
    assert _findings(lm, many) == _findings(lm, one)


def test_a_limit_bites_as_in_one_process(forks) -> None:
    """The limits count the whole run, whichever process did the work: one less than the
    run needs fails alike (same error, same message) in one process and in three."""
    one = _evaluate(BIG, 50, 1)
    base = len({f.key() for f in base_facts(BIG.map, RULESET.program.read_types())})
    needs = {"max_activations": sum(len(v) for v in one.justifications.values()) + len(one.matches),
             "max_derived_facts": len(one.facts) - base}
    for limit, total in needs.items():
        tight = DEFAULT.with_overrides({limit: total - 1})
        with pytest.raises(CapacityError) as single:
            _evaluate(BIG, 50, 1, tight)
        with pytest.raises(CapacityError) as forked:
            _evaluate(BIG, 50, 3, tight)
        assert str(forked.value) == str(single.value) and limit in str(forked.value)
        assert _whole(_evaluate(BIG, 50, 3, DEFAULT.with_overrides({limit: total}))) == _whole(one)
    assert forks and all(_gone(p) for p in forks)


def _before_shards(monkeypatch, here=None, in_worker=None) -> None:
    """Run ``here()`` in this process, ``in_worker()`` in a worker, before each run of shards."""
    parent = os.getpid()
    shards = engine_run._Run._shards

    def patched(self, *args):
        act = here if os.getpid() == parent else in_worker
        if act is not None:
            act()
        return shards(self, *args)

    monkeypatch.setattr(engine_run._Run, "_shards", patched)


def _raise(exc: BaseException):
    def act():
        raise exc
    return act


@pytest.mark.parametrize("act, error, message", [
    (lambda: os.kill(os.getpid(), signal.SIGKILL), EngineError, "ended without a result \\(killed by signal 9\\)"),
    (_raise(KeyError("boom")), EngineError, "a worker process of the rule engine failed \\(KeyError: 'boom'\\)"),
    (_raise(MemoryError()), CapacityError, "ran out of memory"),
], ids=["killed", "bug", "out-of-memory"])
def test_a_failed_worker_is_an_error_not_a_partial_result(forks, monkeypatch, act, error, message) -> None:
    _before_shards(monkeypatch, in_worker=act)
    with pytest.raises(error, match=message):
        _evaluate(BIG, 50, 2)
    assert forks and all(_gone(p) for p in forks)


def test_an_error_here_stops_the_workers(forks, monkeypatch) -> None:
    _before_shards(monkeypatch, here=_raise(EngineError("stopped here")))
    with pytest.raises(EngineError, match="stopped here"):
        _evaluate(BIG, 50, 3)
    assert len(forks) == 2 and all(_gone(p) for p in forks)


def test_no_fork_with_other_threads(forks) -> None:
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not _fork.available()
        assert _whole(_evaluate(BIG, 50, 2)) == _whole(_evaluate(BIG, 50, 1))
    finally:
        stop.set()
        t.join()
    assert not forks


def test_cli_jobs_on_one_large_map(cli, tmp_path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(big_map(1200)))
    outs, timings = [], []
    for jobs in ("1", "2", "0"):
        r = cli("audit", str(path), "--no-store", "--format", "json", "--fail-on", "none", "--jobs", jobs, "--timings")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        doc.pop("invocation", None)
        outs.append(doc)
        timings.append(json.loads(r.stderr.strip().splitlines()[-1]))
    assert "peak_rss_children_mb" not in timings[0] and "peak_rss_children_mb" in timings[1]  # a worker ran
    assert outs[0] == outs[1] == outs[2]
