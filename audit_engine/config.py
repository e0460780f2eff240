"""Run configuration: ``audit-engine.yaml`` beside the map, or ``--config FILE``.

```yaml
params: {max_auto_logoff_minutes: 30}
packs: [../team-rules]        # extra packs, relative to this file
only: []                      # pack ids or rule ids
skip: [CLIN-003]
fail_on: high
```
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    from .limits import Limits

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from . import _yaml
from .errors import ConfigError, did_you_mean

CONFIG_NAME = "audit-engine.yaml"


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    params: dict[str, StrictInt] = Field(default_factory=dict)
    packs: list[StrictStr] = Field(default_factory=list)
    only: list[StrictStr] = Field(default_factory=list)
    skip: list[StrictStr] = Field(default_factory=list)
    fail_on: Literal["critical", "high", "medium", "low", "none"] | None = None
    waivers: StrictStr | None = None
    limits: dict[StrictStr, StrictInt] = Field(default_factory=dict)
    waiver_max_days: StrictInt = Field(365, ge=1, le=3650, description="The longest a waiver may run from today.")
    file: StrictStr | None = None

    @field_validator("limits")
    @classmethod
    def _known_limits(cls, v: dict[str, int]) -> dict[str, int]:
        from .limits import Limits

        for name, value in v.items():
            if name not in Limits.names():
                hints = did_you_mean(name, Limits.names())
                hint = f" (did you mean '{hints[0]}'?)" if hints else f"; the limits are {', '.join(Limits.names())}"
                raise ValueError(f"unknown limit '{name}'{hint}")
            lowest = 0 if name == "max_memory_mb" else 1  # 0: no memory cap
            if value < lowest:
                raise ValueError(f"limit '{name}' must be at least {lowest}, got {value}")
        return v

    def limits_obj(self) -> "Limits":
        from .limits import DEFAULT

        return DEFAULT.with_overrides(self.limits)

    def pack_paths(self) -> list[str]:
        base = Path(self.file).parent if self.file else Path(".")
        return [str(base / p) for p in self.packs]

    def waivers_path(self) -> str | None:
        """``waivers`` resolved against the folder of this config file."""
        if not self.waivers:
            return None
        base = Path(self.file).parent if self.file else Path(".")
        return str(base / self.waivers)


def read_config(path: str | Path) -> RunConfig:
    doc = _yaml.read_settings(path, ConfigError)
    if doc is None or doc.data is None:
        return RunConfig(file=str(path))
    try:
        cfg = RunConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(_yaml.pydantic_problems(exc, doc)) from None
    return cfg.model_copy(update={"file": str(path)})


def find_config(explicit: str | None, maps: list[str]) -> RunConfig:
    """``--config`` if given, else ``audit-engine.yaml`` beside the first map, else defaults."""
    if explicit:
        return read_config(explicit)
    if maps and maps[0] != "-":  # a map on standard input has no folder
        candidate = Path(maps[0]).parent / CONFIG_NAME
        if candidate.exists():  # anything but a regular file is refused when read, not skipped
            return read_config(candidate)
    return RunConfig()
