"""Many writers at once, and an audit killed in the middle of storing its run."""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from audit_engine.store import normalize_url, open_store, record_results

from conftest_store import (  # noqa: F401  (fixtures)
    MED, V1, V2, fresh_pg_url, fresh_url, pg_server, pg_session_db, portal, ruleset, store_url, table_rows,
)

WRITERS = 8
MAP_IDS = ["alpha", "bravo", "charlie", "delta"]
VERSIONS = ["1.0.0", "1.1.0", "2.0.0"]


def _map_variants(folder: Path) -> list[str]:
    """One map file per (map id, version), each built from a conformance map."""
    sources = [V1, V2, MED]
    out = []
    for i, mid in enumerate(MAP_IDS):
        for j, ver in enumerate(VERSIONS):
            src = sources[(i + j) % len(sources)].read_text(encoding="utf-8")
            src = re.sub(r"(?m)^id: .*$", f"id: {mid}", src, count=1)
            src = re.sub(r"(?m)^version: .*$", f'version: "{ver}"', src, count=1)
            path = folder / f"{mid}-{ver}.yaml"
            path.write_text(src, encoding="utf-8")
            out.append(str(path))
    return out


def _writer(url: str, files: list[str], seed: int, barrier, results) -> None:  # runs in a spawned process
    from audit_engine.audit import RuleSet, audit_file
    from audit_engine.store import open_store

    rs = RuleSet.load()
    audits = [audit_file(f, rs) for f in files]
    random.Random(seed).shuffle(audits)
    barrier.wait(timeout=120)
    ids: list[int] = []
    i, size = 0, 1
    while i < len(audits):  # alternately one run, then two runs in one transaction
        with open_store(url) as store:  # every open races the others (the first one migrates)
            ids += store.record_many(audits[i:i + size]).run_ids
        i, size = i + size, 3 - size
    results.put((seed, ids))


@pytest.mark.slow
def test_many_writers_store_every_run_once(fresh_url, tmp_path):
    files = _map_variants(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(fresh_url, files, seed, barrier, results)) for seed in range(WRITERS)]
    for p in procs:
        p.start()
    got: dict[int, list[int]] = {}
    deadline = time.monotonic() + 300
    try:
        while len(got) < WRITERS and time.monotonic() < deadline:
            if any(p.exitcode not in (None, 0) for p in procs):
                break
            try:
                seed, ids = results.get(timeout=1)
                got[seed] = ids
            except Exception:  # queue.Empty
                continue
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * WRITERS, "a writer failed or hung (deadlock?)"
    assert len(got) == WRITERS

    all_ids = [i for ids in got.values() for i in ids]
    assert all(len(ids) == len(files) for ids in got.values())
    assert len(all_ids) == len(set(all_ids)) == WRITERS * len(files)

    engine = create_engine(normalize_url(fresh_url))
    try:
        with engine.connect() as conn:
            run_ids = [r[0] for r in conn.execute(text("SELECT id FROM audit_runs"))]
            assert sorted(run_ids) == sorted(all_ids)  # every run stored exactly once
            assert sorted(r[0] for r in conn.execute(text("SELECT map_id FROM maps"))) == MAP_IDS
            pairs = [tuple(r) for r in conn.execute(text(
                "SELECT m.map_id, v.version FROM map_versions v JOIN maps m ON m.id = v.map_pk"))]
            assert sorted(pairs) == sorted((m, v) for m in MAP_IDS for v in VERSIONS)  # none duplicated
            bad = conn.execute(text(
                "SELECT r.id FROM audit_runs r LEFT JOIN findings f ON f.run_pk = r.id "
                "GROUP BY r.id, r.total, r.waived HAVING COUNT(f.id) <> r.total + r.waived")).all()
            assert bad == []  # every run complete
    finally:
        engine.dispose()
    with open_store(fresh_url, create=False) as store:
        rows = store.history()
        assert len(rows) == len(files) and {r["runs"] for r in rows} == {WRITERS}


KILLED = textwrap.dedent("""
    import dataclasses, sys, time
    sys.path.insert(0, sys.argv[3])
    from audit_engine.audit import RuleSet, audit_file
    from audit_engine.store import open_store
    from conftest_store import variant

    url, marker = sys.argv[1], sys.argv[2]
    r = audit_file(sys.argv[4], RuleSet.load())
    many = [dataclasses.replace(r.findings[0], fingerprint=f"{i:032x}", subject=f"s{i}") for i in range(3000)]
    big = variant(r, "9.9.9", map_id="killed-map", findings=many)
    store = open_store(url)

    def pause(run_id, written):
        with open(marker, "w") as fh:
            fh.write(f"{run_id} {written}")
        time.sleep(600)

    store.after_batch = pause
    store.record(big)
    print("stored: the test should have killed this process", flush=True)
""")


def _no_open_transaction(url: str) -> bool:
    from sqlalchemy.engine import make_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND state LIKE 'idle in transaction%'"),
                {"db": make_url(url).database}).scalar() == 0
    finally:
        engine.dispose()


def test_audit_killed_mid_store_leaves_database_as_before(store_url, portal, tmp_path):
    v1, v2 = portal
    record_results(store_url, [v1, v2])
    before = table_rows(store_url)
    marker = tmp_path / "paused"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, store_url, str(marker), str(Path(__file__).parent),
                             str(V1)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the store never reached the pause"
            time.sleep(0.05)
        run_id, written = map(int, marker.read_text().split())
        assert run_id > 0 and 0 < written < 3000  # killed with part of the findings inserted
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    if store_url.startswith("postgresql"):
        deadline = time.monotonic() + 30
        while not _no_open_transaction(store_url):
            assert time.monotonic() < deadline, "the killed writer's transaction is still open"
            time.sleep(0.1)
    assert table_rows(store_url) == before
    with open_store(store_url, create=False) as store:
        assert [r["version"] for r in store.history()] == ["1.0.0", "1.1.0"]
        # the store is usable, and nothing of the killed run is left to collide with
        from conftest_store import variant

        store.record(variant(v1, "9.9.9", map_id="killed-map"))
        assert [r["map"] for r in store.history()] == ["killed-map", "patient-portal", "patient-portal"]
