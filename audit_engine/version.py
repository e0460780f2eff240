"""The package version, from the installed distribution's metadata (one source: pyproject.toml).

Read from the ``METADATA`` file of the first ``audit_engine-*.dist-info`` folder on
``sys.path`` (the one ``importlib.metadata`` would find): importing ``importlib.metadata``
costs 15 to 25 ms at every start of the command line. ``importlib.metadata`` remains the
fallback for any other layout (eggs, zips).
"""

from __future__ import annotations

import os
import sys

def dist_version(dist: str) -> str | None:
    """The version of installed distribution ``dist`` from its ``*.dist-info/METADATA``
    (the first on ``sys.path``), or None if there is none."""
    wanted = dist.lower().replace("-", "_").replace(".", "_")
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except (OSError, TypeError):
            continue
        for name in names:
            if name.endswith(".dist-info") and name.split("-", 1)[0].lower().replace(".", "_") == wanted:
                try:
                    with open(os.path.join(entry or ".", name, "METADATA"), encoding="utf-8") as fh:
                        for line in fh:
                            if line.startswith("Version:"):
                                return line.split(":", 1)[1].strip()
                            if not line.strip():
                                break  # the headers ended
                except OSError:
                    pass
    return None


def _version() -> str:
    found = dist_version("audit-engine")
    if found:
        return found
    from importlib import metadata

    try:
        return metadata.version("audit-engine")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "0+unknown"


VERSION = _version()
