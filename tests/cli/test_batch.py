"""Many maps at once: folders and globs, --jobs (each map's findings as audited alone,
results in input order, errors as one process would raise them), --timings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from audit_engine.audit import run_audits
from audit_engine.batch import audit_maps, expand_maps, is_journey_map
from audit_engine.errors import MapError, UsageError
from audit_engine.timings import PHASES, recording

from conftest import CONFORMANCE, FIXTURES

MAPS = sorted(CONFORMANCE.glob("*.yaml")) + [FIXTURES / "maps" / "ed-sepsis-pathway.yaml"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Maps with the files that live beside maps: waivers, a config, a policy, a JSON map."""
    for m in MAPS:
        shutil.copy(m, tmp_path / m.name)
    shutil.copy(FIXTURES / "maps" / "audit-waivers.yaml", tmp_path / "audit-waivers.yaml")
    shutil.copy(FIXTURES / "policies" / "release-gate.yaml", tmp_path / "release-gate.yaml")
    (tmp_path / "audit-engine.yaml").write_text("fail_on: critical\n")
    (tmp_path / "notes.txt").write_text("format: 1\n")
    (tmp_path / "sub").mkdir()
    shutil.copy(MAPS[0], tmp_path / "sub" / "nested.yaml")
    import yaml

    (tmp_path / "as-json.json").write_text(json.dumps(yaml.safe_load(MAPS[1].read_text())))
    (tmp_path / "other.json").write_text(json.dumps({"waivers": []}))
    return tmp_path


def test_is_journey_map(folder: Path) -> None:
    assert is_journey_map(folder / MAPS[0].name) and is_journey_map(folder / "as-json.json")
    for name in ("audit-waivers.yaml", "release-gate.yaml", "audit-engine.yaml", "other.json", "missing.yaml"):
        assert not is_journey_map(folder / name), name


def test_a_folder_gives_its_journey_maps_sorted(folder: Path) -> None:
    got = [Path(p).name for p in expand_maps([str(folder)])]
    assert got == sorted([m.name for m in MAPS] + ["as-json.json"])  # not sub/, not waivers, config, policy


def test_globs_files_and_duplicates(folder: Path) -> None:
    got = expand_maps([str(folder / MAPS[2].name), str(folder / "*.yaml"), str(folder / "**" / "nested.yaml")])
    assert Path(got[0]).name == MAPS[2].name
    assert len(got) == len(set(got)) == len(MAPS) + 1  # every yaml map once, plus the nested one
    assert Path(got[-1]).name == "nested.yaml"


def test_a_file_stays_even_if_it_is_not_a_map(folder: Path) -> None:
    assert expand_maps([str(folder / "audit-waivers.yaml")]) == [str(folder / "audit-waivers.yaml")]


def test_nothing_to_audit_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no journey maps in folder"):
        expand_maps([str(tmp_path)])
    with pytest.raises(UsageError, match="no journey maps match"):
        expand_maps([str(tmp_path / "*.yaml")])


def _rows(results) -> list:
    return [(r.map_id, r.loaded.file, [(f.rule_id, f.subject, f.severity, f.message, tuple(f.evidence), f.fingerprint,
                                         f.waived) for f in r.findings], r.waivers is None) for r in results]


def test_jobs_give_each_map_its_own_findings_in_input_order(ruleset, folder: Path) -> None:
    maps = expand_maps([str(folder)]) + [str(folder / "sub" / "nested.yaml")]
    alone = [run_audits([m], ruleset)[0] for m in maps]
    ticks: list[int] = []
    with recording() as t:
        parallel = audit_maps(maps, ruleset, jobs=3, progress=ticks.append)
    assert _rows(parallel) == _rows(alone)
    assert sum(ticks) == len(maps)
    assert t.seconds["engine"] > 0 and t.seconds["load"] > 0  # the workers' phases are added up
    assert all(r.ruleset is ruleset for r in parallel)


def test_jobs_raise_the_first_invalid_map_like_one_process(ruleset, folder: Path) -> None:
    (folder / "zz-bad.yaml").write_text("format: 1\nid: x\n")
    maps = expand_maps([str(folder)])
    with pytest.raises(MapError) as one:
        run_audits(maps, ruleset)
    with pytest.raises(MapError) as many:
        audit_maps(maps, ruleset, jobs=2)
    assert many.value.diagnostics == one.value.diagnostics


def test_cli_folder_jobs_and_timings(cli, folder: Path) -> None:
    one = cli("audit", str(folder), "--no-store", "--format", "json", "--fail-on", "none")
    two = cli("audit", str(folder), "--no-store", "--format", "json", "--fail-on", "none", "--jobs", "2", "--timings")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert one.stdout == two.stdout
    assert len(json.loads(one.stdout)["runs"]) == len(MAPS) + 1
    timings = json.loads(two.stderr.strip().splitlines()[-1])
    assert set(PHASES) <= set(timings) and timings["peak_rss_mb"] > 0 and timings["engine"] > 0


def test_cli_validate_takes_folders_and_globs(cli, folder: Path) -> None:
    p = cli("validate", str(folder), str(folder / "sub" / "*.yaml"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.count(": ok (map") == len(MAPS) + 2
    bad = cli("validate", str(folder / "nothing-*.yaml"))
    assert bad.returncode == 2 and "no journey maps match" in bad.stderr


def test_the_progress_bar_shows_only_on_a_terminal_for_several_maps(monkeypatch) -> None:
    import io

    from audit_engine.report.progress import ProgressBar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Tty())
    with ProgressBar(3) as bar:
        assert bar.advance is not None
        bar.advance(3)
    with ProgressBar(1) as bar:
        assert bar.advance is None
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with ProgressBar(3) as bar:
        assert bar.advance is None
