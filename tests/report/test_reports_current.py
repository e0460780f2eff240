"""reports/ holds example reports generated from fixtures/: they must match what the
code produces today (regenerate with `make reports`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import make_reports  # noqa: E402

_VOLATILE = re.compile(r'time="[0-9.]+"|\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC')  # durations, generation time


def test_committed_reports_are_current(tmp_path: Path) -> None:
    for fresh in make_reports.generate(tmp_path):
        committed = ROOT / "reports" / fresh.name
        assert committed.exists(), f"reports/{fresh.name} is missing: run `make reports`"
        want = _VOLATILE.sub("X", committed.read_text(encoding="utf-8"))
        got = _VOLATILE.sub("X", fresh.read_text(encoding="utf-8"))
        assert got == want, f"reports/{fresh.name} is out of date: run `make reports`"
