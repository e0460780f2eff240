"""The package version, from the installed distribution's metadata (one source: pyproject.toml)."""

from __future__ import annotations

from importlib import metadata

try:
    VERSION = metadata.version("audit-engine")
except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    VERSION = "0+unknown"
