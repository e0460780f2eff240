"""The compiled rule-set cache of the command line (_rulecache.py): a hit gives the same
audit as a fresh compile; another pack file, option or parameter is another entry; a
damaged entry is a miss, never an error; the cache can be turned off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from audit_engine.audit import RuleSet, audit
from audit_engine.loader import load_map
from audit_engine import _rulecache as cache

from conftest import CONFORMANCE, ROOT

MAP = CONFORMANCE / "patient-portal.v1.yaml"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _rows(rs: RuleSet) -> list:
    return [(f.rule_id, f.subject, f.severity, f.message, tuple(f.evidence), f.fingerprint)
            for f in audit(load_map(MAP), rs).findings]


def test_a_hit_audits_like_a_fresh_compile(folder: Path) -> None:
    fresh = RuleSet.load(cache=True)
    assert len(list(folder.glob("*.pickle"))) == 1
    hit = RuleSet.load(cache=True)
    assert hit is not fresh and hit.digest == fresh.digest
    assert _rows(hit) == _rows(fresh) == _rows(RuleSet.load())
    assert hit.pack_versions() == fresh.pack_versions()


def test_a_hit_carries_the_engines_compiled_code(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fact writers and derivation makers are compiled when the entry is written; a hit
    runs them without compiling anything, and they write the same facts."""
    from audit_engine.engine import run

    fresh = RuleSet.load(cache=True)
    assert fresh.engine.code
    hit = RuleSet.load(cache=True)
    assert set(hit.engine.code) == set(fresh.engine.code)

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(run, "compile", no_compiling, raising=False)
    assert _rows(hit) == _rows(fresh)
    values = {"id": "tp-1", "name": "ä \"q\"", "phi": True, "n": 3, "tags": ("a", "b")}
    for fact_type in fresh.engine.translation.fields:
        assert hit.engine.encoder(fact_type)(values, "f1") == fresh.engine.encoder(fact_type)(values, "f1")


def test_inputs_make_the_key(folder: Path, tmp_path: Path) -> None:
    RuleSet.load(cache=True)
    RuleSet.load(only=["core", "hipaa-data-flows"], cache=True)
    RuleSet.load(params={"max_auto_logoff_minutes": 30}, cache=True)
    assert len(list(folder.glob("*.pickle"))) == 3
    pack = tmp_path / "extra.yaml"
    shutil.copy(ROOT / "rules" / "core.yaml", pack)
    text = pack.read_text().replace("pack: core", "pack: core-copy")
    pack.write_text(text)
    # the copy redefines the shipped derivations: built without the built-ins
    a = RuleSet.load(extra_packs=[pack], builtin=False, cache=True)
    pack.write_text(text.replace("version: ", "version: 9", 1))
    b = RuleSet.load(extra_packs=[pack], builtin=False, cache=True)
    assert a.pack_versions() != b.pack_versions()
    assert len(list(folder.glob("*.pickle"))) == 5


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_damaged_entry_is_a_miss(folder: Path, damage: str) -> None:
    fresh = RuleSet.load(cache=True)
    (entry,) = folder.glob("*.pickle")
    raw = entry.read_bytes()
    entry.write_bytes({"truncate": raw[: len(raw) // 2], "flip": raw[:-10] + bytes(10), "garbage": b"\x80\x04junk",
                       "empty": b""}[damage])
    again = RuleSet.load(cache=True)
    assert _rows(again) == _rows(fresh)
    assert cache.load(entry.stem, folder) is not None  # rewritten whole


def test_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENV, "off")
    assert cache.cache_dir() is None
    RuleSet.load(cache=True)
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "audit-engine"


def test_positions_are_read_again_when_a_message_needs_one(folder: Path) -> None:
    RuleSet.load(cache=True)
    hit = RuleSet.load(cache=True)
    lp = next(lp for lp in hit.packs if lp.pack.pack == "core")
    assert lp.document is None
    loc = lp.position(("derive", 0, "id"))
    assert loc.line > 1 and loc.file == lp.file


def test_an_unwritable_cache_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.ENV, str(blocker / "cache"))
    assert _rows(RuleSet.load(cache=True)) == _rows(RuleSet.load())


def test_entries_others_may_write_are_never_unpickled(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unpickling runs code: a folder or entry that someone else may write is ignored."""
    import os
    import pickle

    RuleSet.load(cache=True)
    [entry] = folder.glob("*.pickle")
    assert oct(folder.stat().st_mode & 0o777) == "0o700" and entry.stat().st_mode & 0o077 == 0
    loads = []
    monkeypatch.setattr(pickle, "loads", lambda raw: loads.append(1) or (_ for _ in ()).throw(AssertionError))
    key = entry.stem
    os.chmod(entry, 0o666)
    assert cache.load(key, folder) is None and loads == []
    os.chmod(entry, 0o600)
    os.chmod(folder, 0o777)
    assert cache.load(key, folder) is None and loads == []
    cache.store("other", folder, RuleSet.load())  # nor written into such a folder
    assert not (folder / "other.pickle").exists()
    os.chmod(folder, 0o700)
