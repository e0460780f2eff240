"""The standard-library SQLite writer (store/_sqlite_fast.py) writes exactly the rows of the
SQLAlchemy writer, is used only for an existing store at the shipped revision, and leaves
everything else (and every error) to the SQLAlchemy path."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import sqlite3
import subprocess
import sys
from pathlib import Path


from audit_engine import store as store_pkg
from audit_engine.store import _sqlite_fast, _store, migrate, open_store, record_results

from conftest_store import V1, portal, ruleset, variant  # noqa: F401  (fixtures)

TABLES = ("maps", "map_versions", "audit_runs", "findings", "alembic_version")
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
STAMPS = {"maps": (2,), "map_versions": (5,), "audit_runs": (2,)}  # columns that hold the recording time


def _rows(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        out = {}
        for t in TABLES:
            rows = [list(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")]
            for r in rows:
                for i in STAMPS.get(t, ()):
                    assert STAMP.match(r[i]), (t, r[i])
                    r[i] = "<time>"
            out[t] = [tuple(r) for r in rows]
        return out
    finally:
        conn.close()


def _empty_store(path: Path) -> str:
    url = f"sqlite:///{path}"
    open_store(url).close()
    return url


def _results(portal):  # noqa: F811
    v1, v2 = portal
    return [v1, v2, variant(v1, version="1.0.1"), variant(v2, map_id="other-map"),
            variant(v1, content_hash="0" * 64)]  # same version label, other content: a warning


def test_both_writers_store_the_same_rows(tmp_path: Path, portal) -> None:  # noqa: F811
    results = _results(portal)
    fast_url, slow_url = _empty_store(tmp_path / "fast.db"), _empty_store(tmp_path / "slow.db")
    fast = _sqlite_fast.record(fast_url, results)
    assert fast is not None
    with open_store(slow_url) as s:
        slow = s.record_many(results)
    assert fast.run_ids == slow.run_ids and fast.warnings == slow.warnings and len(fast.warnings) == 1
    again = _sqlite_fast.record(fast_url, results[:1])  # a second run of a version: its rules are compared
    with open_store(slow_url) as s:
        assert again is not None and again.warnings == s.record_many(results[:1]).warnings
    assert _rows(tmp_path / "fast.db") == _rows(tmp_path / "slow.db")
    with open_store(fast_url) as s:  # and the SQLAlchemy side reads what the fast one wrote
        assert [f.to_dict() for f in s.version_findings("patient-portal", "1.0.0")] == \
            [f.to_dict() for f in results[0].findings]


def test_both_writers_store_the_same_rows_of_unusual_findings(tmp_path: Path, portal) -> None:  # noqa: F811
    """Waived findings, previous severities, extra keys (one named like a column), text
    that is not ASCII and values JSON cannot hold: the fast writer builds its rows itself."""
    v1, _ = portal
    odd = [dataclasses.replace(f, message=f"{f.message} — naïve ✓", waived=i % 2 == 0,
                               waiver={"reason": "tracked in ‘TICKET-1’", "expires": _dt.date(2027, 1, 31)} if i % 2 == 0
                               else None, previous_severity="low" if i % 3 == 0 else None,
                               extra={"x-note": "ümlaut", "rule_id": "shadowed", "when": _dt.date(2026, 12, 1)})
           for i, f in enumerate(v1.findings)]
    results = [v1.with_findings(odd)]
    fast_url, slow_url = _empty_store(tmp_path / "fast.db"), _empty_store(tmp_path / "slow.db")
    assert _sqlite_fast.record(fast_url, results) is not None
    with open_store(slow_url) as s:
        s.record_many(results)
    assert _rows(tmp_path / "fast.db") == _rows(tmp_path / "slow.db")


def test_extra_data_is_to_dict_beyond_the_columns(portal) -> None:  # noqa: F811
    from audit_engine.store._records import IN_COLUMNS, extra_data

    for f in portal[0].findings[:3]:
        for g in (f, dataclasses.replace(f, waiver={"reason": "r"}, previous_severity="low",
                                         extra={"citations": ["own"], "severity": "x", "z": 1, "a": 2})):
            want = {k: v for k, v in g.to_dict().items() if k not in IN_COLUMNS}
            assert list(extra_data(g).items()) == list(want.items())


def test_the_shipped_head_revision_is_the_fast_writers(tmp_path: Path) -> None:
    assert _sqlite_fast.HEAD_REVISION == migrate.head_revision(migrate.alembic_config())


def test_record_results_uses_it_only_for_an_up_to_date_file(tmp_path: Path, portal, monkeypatch) -> None:  # noqa: F811
    v1, _ = portal
    calls = []
    real = _store.record_results
    monkeypatch.setattr(_store, "record_results", lambda url, rs: calls.append(url) or real(url, rs))
    new = f"sqlite:///{tmp_path / 'new.db'}"
    record_results(new, [v1])  # a new store: created by the migrations
    assert calls == [new]
    record_results(new, [v1])  # up to date: the fast writer
    assert calls == [new]
    with sqlite3.connect(tmp_path / "new.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    monkeypatch.setattr(_store, "record_results", lambda url, rs: calls.append(url) or store_pkg.RecordOutcome())
    record_results(new, [v1])  # an older revision: the SQLAlchemy way (which would upgrade it)
    assert calls == [new, new]
    for url in (f"sqlite:///{tmp_path / 'new.db'}?timeout=5", "postgresql://u@127.0.0.1:1/x", "sqlite://"):
        assert _sqlite_fast.record(url, [v1]) is None


def test_recording_into_an_existing_store_imports_no_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert subprocess.run([sys.executable, "-m", "audit_engine", "audit", str(V1), "--db", url, "--fail-on", "none"],
                          capture_output=True, timeout=120).returncode == 0
    code = ("import sys\nfrom audit_engine.audit import RuleSet, audit_file\nfrom audit_engine.store import "
            "record_results\nout = record_results(sys.argv[1], [audit_file(sys.argv[2], RuleSet.load())])\n"
            "print(out.run_ids, sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', "
            "'alembic')))")
    p = subprocess.run([sys.executable, "-c", code, url, str(V1)], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "[2] []", p.stderr[-2000:]


def test_the_command_imports_no_sqlalchemy_unless_it_must(tmp_path: Path) -> None:
    """``audit`` of a small map into an up-to-date SQLite file, or with ``--no-store``, with
    or without ``-o``, never imports SQLAlchemy (a quarter of such a run's time)."""
    url = f"sqlite:///{tmp_path / 's.db'}"

    def imported(*args: str) -> set[str]:
        p = subprocess.run([sys.executable, "-X", "importtime", "-m", "audit_engine", "audit", str(V1), "--db", url,
                            "--fail-on", "none", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert p.returncode == 0, p.stderr[-2000:]
        return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in p.stderr.splitlines() if "|" in line}

    assert "sqlalchemy" in imported()  # the store is created: migrations need it (and the test can fail)
    for args in ((), ("--no-store",), ("-o", "out.json", "--format", "json"), ("--no-store", "-o", "out.txt")):
        assert not {"sqlalchemy", "sqlmodel", "alembic"} & imported(*args), args


def test_a_failure_halfway_leaves_the_store_as_it_was(tmp_path: Path, portal, monkeypatch) -> None:  # noqa: F811
    url = _empty_store(tmp_path / "s.db")
    before = _rows(tmp_path / "s.db")
    v1, v2 = portal
    broken = variant(v2, version="9")
    real = _sqlite_fast.finding_values
    monkeypatch.setattr(_sqlite_fast, "finding_values", lambda pk, f: (pk, None, *real(pk, f)[2:]))  # NOT NULL fails
    assert _sqlite_fast.record(url, [v1, broken]) is None  # nothing written: the other path will report
    assert _rows(tmp_path / "s.db") == before
