"""Rerunnable scale benchmark: audit generated maps of growing size, print time and memory.

    .venv/bin/python benchmarks/bench_scale.py [SIZES...]   (default 1000 5000 15000)

Each size runs in a fresh process (peak RSS is per process). Targets (brief): a small
map as a whole process well under 0.5 s; close to linear growth up to 15,000 touchpoints.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
import yaml
from genmap import big_map
from audit_engine.audit import RuleSet, audit
from audit_engine.loader import load_map
path = sys.argv[1]
t0 = time.perf_counter(); lm = load_map(path); t1 = time.perf_counter()
rs = RuleSet.load(); t2 = time.perf_counter()
r = audit(lm, rs); t3 = time.perf_counter()
print(json.dumps({{"load": t1 - t0, "compile": t2 - t1, "audit": t3 - t2, "facts": len(r.evaluation.facts),
                  "findings": len(r.findings), "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main(sizes: list[int]) -> None:
    sys.path.insert(0, str(HERE))
    import yaml
    from genmap import big_map

    print(f"{'touchpoints':>11} {'facts':>8} {'load s':>7} {'audit s':>8} {'µs/fact':>8} {'findings':>8} {'RSS MB':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"map-{n}.yaml"
            path.write_text(yaml.safe_dump(big_map(n), sort_keys=False))
            out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), here=str(HERE)), str(path)],
                                 capture_output=True, text=True, check=True)
            m = json.loads(out.stdout)
            print(f"{n:>11} {m['facts']:>8} {m['load']:>7.2f} {m['audit']:>8.2f} "
                  f"{1e6 * m['audit'] / m['facts']:>8.1f} {m['findings']:>8} {m['rss_mb']:>7.0f}")
    # whole process, small map
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "audit_engine", "audit", str(ROOT / "fixtures/maps/ed-sepsis-pathway.yaml"),
                    "--no-store", "--fail-on", "none", "--format", "json"], capture_output=True, check=True, cwd=ROOT)
    print(f"whole process, small map (audit --no-store): {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 5000, 15000])
