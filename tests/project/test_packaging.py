"""The package installs from its sdist and wheel alone: built from the repository, installed
into a fresh virtual environment outside it, it finds its rule packs, templates and
migrations and audits a map (issue 10, item 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import CONFORMANCE, ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # the default build makes the sdist, then the wheel *from the sdist*: both are checked
    p = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return out


def test_no_symlink_stands_for_a_folder_of_the_package() -> None:
    assert not [p for p in (ROOT / "audit_engine").rglob("*") if p.is_symlink()]


def test_the_sdist_and_the_wheel_carry_the_rule_packs(dist: Path) -> None:
    packs = sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
    frameworks = sorted(p.name for p in (ROOT / "rules" / "frameworks").glob("*.yaml"))
    [wheel] = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("audit_engine/rules/") and n.count("/") == 2
                  and n.endswith(".yaml")) == packs
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("audit_engine/rules/frameworks/")) == frameworks
    for needed in ("audit_engine/report/templates/report.html.j2", "audit_engine/store/alembic.ini",
                   "audit_engine/store/migrations/versions/0002_rule_digests.py", "audit_engine/py.typed"):
        assert needed in names
    [sdist] = dist.glob("*.tar.gz")
    members = tarfile.open(sdist).getnames()
    assert any(m.endswith("/rules/core.yaml") for m in members)
    assert not any("__pycache__" in m for m in members)


def test_the_wheel_installed_in_a_fresh_environment_audits_a_map(dist: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    [wheel] = dist.glob("*.whl")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    p = subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True, text=True,
                       timeout=600, env=clean)
    assert p.returncode == 0, p.stderr[-2000:]
    work = tmp_path / "elsewhere"  # not the repository: nothing may come from it
    work.mkdir()
    the_map = work / "portal.yaml"
    the_map.write_text((CONFORMANCE / "patient-portal.v1.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    cli = env_dir / "bin" / "audit-engine"
    p = subprocess.run([str(cli), "audit", str(the_map), "--format", "json", "--fail-on", "none"],
                       capture_output=True, text=True, timeout=300, cwd=work, env=clean)
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads(p.stdout)
    assert doc["summary"]["total"] > 0 and (work / "audit-engine.db").is_file()  # audited, and stored (migrations)
    p = subprocess.run([str(py), "-c", "import audit_engine._resources as r; print(r.rules_dir())"],
                       capture_output=True, text=True, cwd=work, env=clean)
    assert str(env_dir) in p.stdout  # the installed copy of the packs, not the repository's
    p = subprocess.run([str(cli), "audit", str(the_map), "--format", "html", "-o", str(work / "r.html"),
                        "--no-store"], capture_output=True, text=True, timeout=300, cwd=work, env=clean)
    assert p.returncode in (0, 1) and "<svg" in (work / "r.html").read_text(encoding="utf-8")  # templates shipped
