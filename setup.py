"""Build step: ship the repository's top-level ``rules/`` folder (the built-in rule packs)
inside the package, as ``audit_engine/rules``, in wheels built from a checkout or an sdist.

Everything else is configured in pyproject.toml. An editable install needs no copy: the
package finds ``rules/`` beside it (``audit_engine/_resources.py``).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithRules(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            self.copy_tree("rules", str(Path(self.build_lib) / "audit_engine" / "rules"))


setup(cmdclass={"build_py": BuildWithRules})
