"""`make bench` takes minutes and is run by hand, so its report is checked here on made-up
measurements: every row of issue 12 gets its verdict from the numbers, and the notes on
the rows not met say what the numbers say."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench  # noqa: E402

PHASES = ("rules", "load", "validate", "facts", "engine", "findings", "waivers", "store", "report", "startup", "total")


def _timings(engine: float, findings: float, report: float = 0.4, rss: float = 700.0, group: float = 750.0) -> dict:
    t = {k: 0.1 for k in PHASES}
    t.update(engine=engine, findings=findings, report=report, peak_rss_mb=rss, group_peak_mb=group)
    return t


def _data(fast: bool) -> dict:
    """Three rounds of every row: all targets met when ``fast``, none of the timed ones otherwise."""
    k = 1.0 if fast else 1.5
    rounds = range(3)
    return {
        "machine": {"CPU": "test", "cores": 2},
        "load_before": "0.1 0.1 0.1", "load_after": "0.2 0.2 0.2", "runs": 3, "big_runs": 3, "many_runs": 6,
        "small": {"stored": [0.25 * k] * 3, "nostore": [0.2 * k] * 3,
                  "phases": {**{p: 0.01 for p in PHASES}, "peak_rss_mb": 50.0}},
        "big": {
            "parse_gc": [{"wall": 7.0, "parse": 6.9} for _ in rounds],
            "parse_nogc": [{"wall": 3.1, "parse": 3.0} for _ in rounds],
            "json15": [(10.0 * k, _timings(5.0 * k, 0.8)) for _ in rounds],
            "table15": [(10.2 * k * k, _timings(5.0 * k, 0.8, report=0.3)) for _ in rounds],
            "single15": [(12.0, _timings(7.0, 0.8, group=900.0 if fast else 1500.0)) for _ in rounds],
            "json1500": [(1.3 * k, _timings(0.5, 0.1)) for _ in rounds],
            "clips": [{"assert": 0.7, "run": 0.3, "collect": 0.1, "rss": 468.0, "findings": 21868} for _ in rounds],
        },
        "many": {"j1 stored": [3.0] * 6, "j2 stored": [1.7 * k] * 6, "j1 nostore": [2.8] * 6,
                 "j2 nostore": [1.6 * k] * 6},
        "parallel_calibration": 1.9,
    }


def _verdicts(text: str) -> dict[str, str]:
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| ") and "**" in line]
    return {cells[0].lstrip("| "): cells[-1].rstrip(" |") for cells in rows}


def test_every_row_is_met_when_the_numbers_meet_it() -> None:
    text = bench.report(_data(fast=True))
    verdicts = _verdicts(text)
    assert len(verdicts) == 7
    assert all("not met" not in v for v in verdicts.values()), verdicts
    assert "## What stands between" not in text
    assert "Runs: 3 per small-map row (half first, half last), 3 per 15,000-touchpoint row" in text
    assert "Runs: 9 per small-map row" in bench.report({**_data(fast=True), "small_runs": 9})


def test_rows_not_met_say_so_and_why() -> None:
    text = bench.report(_data(fast=False))
    verdicts = _verdicts(text)
    assert [name for name, v in verdicts.items() if "not met" in v] == [
        "small map (conformance portal map), default SQLite store, whole process",
        "15,000-touchpoint map, JSON report, stored, whole process",
        "engine + findings at 15,000 touchpoints",
        "peak memory at 15,000 touchpoints",
        "table output of the 15k audit",
        "200 small maps, `--jobs 2` vs `--jobs 1`",
    ]
    assert verdicts["growth from 1,500 to 15,000 touchpoints (JSON, stored, whole process)"] == "**met**"
    notes = text.split("## What stands between a row and its target", 1)[1].split("##", 1)[0]
    assert "Small map:" in notes and "Engine + findings:" in notes and "`--jobs 2`: 0.85x" in notes
    assert "Amdahl's law at 1.90x" in notes


@pytest.mark.parametrize(("t1", "t2", "speedup", "serial", "need"), [
    (3.0, 1.8, 2.0, "600 ms of the one-process run's 3.00 s (20%)", "under 20.0%"),
    (3.0, 1.5, 2.0, "0 ms of the one-process run's 3.00 s (0%)", "under 20.0%"),
    (2.0, 1.5, 1.8, "875 ms of the one-process run's 2.00 s (44%)", "under 10.0%"),
    (2.42, 1.75, 1.67, "of the one-process run's 2.42 s (31%)", "under 0.3%"),  # a share too small for whole %
])
def test_amdahl_reads_the_serial_part_from_the_two_times(t1, t2, speedup, serial, need) -> None:
    """t2 = s + (t1 - s) / speedup, solved for s; 0.6x needs s / t1 <= (0.6 - 1/speedup) / (1 - 1/speedup)."""
    text = bench.amdahl(t1, t2, speedup)
    assert serial in text and need in text


@pytest.mark.parametrize("speedup", [0.9, 1.0, 1.6])
def test_amdahl_says_when_two_processes_cannot_reach_the_target(speedup) -> None:
    assert "out of reach" in bench.amdahl(3.0, 2.5, speedup)
