"""The lab file: which instruments exist and how far each may move.

Written by the lab engineer::

    name: sim-lab
    time_scale: 0.002          # simulated latencies x this (0 = instant, 1 = real time)
    devices:
      reactor:
        class: devices.sim.FlowReactor
        kwargs: {seed: 1}
        limits:
          temperature: {min: 30, max: 140, max_step: 60}
          residence_time: [0.5, 30]          # short form: [min, max]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from ._common import Choice, Number, SpecError, Strict, load_yaml, validate

__all__ = ["LimitSpec", "DeviceSpec", "LabSpec", "load_lab"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class LimitSpec(Strict):
    """Hard limits of one settable, enforced by the controller before any motion.

    A numeric settable has ``min`` and ``max`` (and optionally ``max_step`` and
    ``forbidden`` intervals); a settable that takes one of a set of values
    (a reagent, a sample slot) has ``choices`` instead.
    """

    min: Number | None = None
    max: Number | None = None
    max_step: Number | None = Field(default=None, gt=0, description="largest move per set()")
    forbidden: list[tuple[Number, Number]] = Field(
        default_factory=list, description="closed intervals the setpoint may never enter"
    )
    choices: list[Choice] | None = Field(
        default=None, min_length=1, description="the only values a categorical settable may take"
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if len(data) != 2:
                raise ValueError("a limit written as a list must be [min, max]")
            return {"min": data[0], "max": data[1]}
        if not isinstance(data, dict):
            raise ValueError(
                "write a limit as [min, max], or as a mapping with min and max (and optionally "
                "max_step, forbidden), or with choices: [...]"
            )
        return data

    @model_validator(mode="after")
    def _ordered(self) -> LimitSpec:
        if self.choices is not None:
            if self.min is not None or self.max is not None or self.max_step or self.forbidden:
                raise ValueError("give either choices or min/max (with max_step, forbidden)")
            return self
        if self.min is None or self.max is None:
            raise ValueError("give min and max (or [min, max]), or choices: [...]")
        if not self.min < self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        for lo, hi in self.forbidden:
            if not lo <= hi:
                raise ValueError(f"forbidden interval [{lo}, {hi}] must be written [low, high]")
        return self


class DeviceSpec(Strict):
    class_: str = Field(alias="class", description="import path, e.g. devices.sim.FlowReactor")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    limits: dict[str, LimitSpec] = Field(default_factory=dict)
    description: str = ""

    @field_validator("class_")
    @classmethod
    def _import_path(cls, v: str) -> str:
        if "." not in v.replace(":", "."):
            raise ValueError("give the class by import path, e.g. devices.sim.FlowReactor")
        return v


class LabSpec(Strict):
    name: str
    description: str = ""
    time_scale: Number = Field(
        default=1.0, ge=0, description="simulated latencies are multiplied by this"
    )
    reconnect_timeout: Number = Field(
        default=30.0,
        ge=0,
        description="seconds to wait for an instrument that lost its connection before the "
        "campaign stops (resumable) instead of spending experiments on it",
    )
    devices: dict[str, DeviceSpec] = Field(min_length=1)

    @field_validator("devices")
    @classmethod
    def _names(cls, v: dict[str, DeviceSpec]) -> dict[str, DeviceSpec]:
        for name in v:
            if not _NAME.match(name):
                raise ValueError(
                    f"device name {name!r} must be a Python identifier (letters, digits, _)"
                )
        return v


def load_lab(path: str | Path) -> tuple[LabSpec, str]:
    """Load and validate a lab file. Returns the spec and the exact file text."""
    p = Path(path)
    data, text = load_yaml(p, "lab")
    if "parameters" in data and "devices" not in data:
        raise SpecError(
            f"lab file {p}",
            "this looks like a campaign file (it has 'parameters' and no 'devices'); give the "
            f"lab file that its 'lab:' key names ({data.get('lab', '?')})",
        )
    return validate(LabSpec, data, f"lab file {p}"), text
