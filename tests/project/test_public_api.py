"""The public API is exactly what __all__ lists, and every name resolves."""

from __future__ import annotations

import re
import subprocess
import sys

import audit_engine


def test_every_exported_name_resolves() -> None:
    for name in audit_engine.__all__:
        assert getattr(audit_engine, name) is not None, name


def test_all_is_the_documented_surface() -> None:
    assert set(audit_engine.__all__) == {
        "AuditEngineError", "AuditResult", "CapacityError", "ConfigError", "Diagnostic", "EngineError",
        "Finding", "FindingsDiff", "InputError", "JourneyMap", "LoadedMap", "Location", "MapError", "PackError",
        "RuleSet", "StoreError", "UsageError", "__version__", "apply_waivers", "audit", "audit_file", "checklist",
        "diff_findings", "evaluate_gate", "explain", "fingerprint", "load_map", "load_map_text", "load_policy",
        "map_json_schema", "open_store", "record_results", "run_audits", "WaiverReport", "Severity", "SEVERITIES",
    }


def test_errors_form_one_hierarchy() -> None:
    for name in ("InputError", "MapError", "PackError", "ConfigError", "UsageError", "EngineError",
                 "CapacityError", "StoreError"):
        assert issubclass(getattr(audit_engine, name), audit_engine.AuditEngineError)


def test_only_the_engine_module_imports_durable_rules() -> None:
    import pathlib

    root = pathlib.Path(audit_engine.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                   if "durable" in p.read_text() and "import durable" in p.read_text())
    assert users == ["engine/_durable.py"]


DURABLE_WORDS = ("$neq", "$iany", "$iall", "$ex", "$nex", "$lte", "$gte", "$and", "$or", "$not", "$i\"",
                 "durable_rules", "durable.engine", "create_ruleset", "assert_facts", "error code: ", "311")


def test_nothing_outside_engine_names_durable_rules() -> None:
    """The engine is behind one door: only engine/ speaks durable-rules (its operators, calls,
    error codes); packs/ compiles to an engine-neutral program and imports nothing from engine/."""
    import pathlib
    import re

    root = pathlib.Path(audit_engine.__file__).parent
    offenders = []
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith("engine/"):
            continue
        text = p.read_text()
        for word in DURABLE_WORDS:
            if word in text:
                offenders.append(f"{rel}: {word}")
        if rel.startswith("packs/") and re.search(r"from \.\.engine|import audit_engine\.engine|from audit_engine\.engine",
                                                 text):
            offenders.append(f"{rel}: imports engine/")
    assert offenders == []


def test_the_layout_is_the_pipeline() -> None:
    """The README's layout section names real modules, one per pipeline step."""
    import pathlib

    root = pathlib.Path(audit_engine.__file__).parent
    for step in ("loader.py", "validate.py", "facts.py", "packs/compile.py", "packs/program.py", "engine/run.py",
                 "engine/_translate.py", "engine/_plan.py", "findings.py", "waivers.py", "store/__init__.py",
                 "report/__init__.py", "cli/__init__.py", "severity.py", "errors.py"):
        assert (root / step).is_file(), step
    readme = (root.parent / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    for step in ("loader.py", "validate.py", "facts.py", "packs/", "engine/", "findings.py", "store/", "report/",
                 "cli/"):
        assert step in layout, step
    # every path the section names exists, and every folder of tests/ is named
    for name in re.findall(r"`((?:tests/)?[a-z_/]+(?:\.py|/))`", layout):
        base = root.parent if name.startswith("tests/") else root
        assert (base / name.rstrip("/")).exists(), name
    tests = root.parent / "tests"
    folders = sorted(p.name for p in tests.iterdir() if p.is_dir() and any(p.glob("test_*.py")))
    assert folders and all(f"`tests/{f}/`" in layout for f in folders), folders
    assert not list(tests.glob("test_*.py")), "tests are grouped by pipeline step, in tests/<step>/"


def test_import_is_lazy() -> None:
    code = "import sys, audit_engine; print('pydantic' in sys.modules, 'durable_rules_engine' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()
    assert out == ["False", "False"]
