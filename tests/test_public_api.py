"""The public API is exactly what __all__ lists, and every name resolves."""

from __future__ import annotations

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
        "map_json_schema", "open_store", "record_results",
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


def test_import_is_lazy() -> None:
    code = "import sys, audit_engine; print('pydantic' in sys.modules, 'durable_rules_engine' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()
    assert out == ["False", "False"]
