"""Recorded datasets served as instruments.

A :class:`DatasetModel` answers "what would the experiment at these settings
have measured?" from a table of real experiments:

- **categorical spaces** are exact lookups: a combination that was recorded
  returns its row (the mean, if it was recorded more than once); one that was
  not is *infeasible* and :meth:`DatasetModel.measure` raises
  :class:`InfeasibleExperiment` with the reason;
- **continuous parameters** use an emulator fitted on the rows that share the
  categorical part: a radial-basis-function interpolator with smoothing
  (``emulator="rbf"``) or the nearest recorded neighbour
  (``emulator="nearest"``), on inputs scaled to [0, 1];
- optional Gaussian measurement noise, relative to each measurement's spread.

It reads a CSV file with a header (naming the parameter and measurement
columns) or the Olympus ``config.json`` + ``data.csv`` layout. Like every
simulator it is pure numpy/scipy and deterministic under its seed.
"""

from __future__ import annotations

import csv
import json
import keyword
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import Clock
from .faults import InstrumentFault

__all__ = [
    "DatasetModel",
    "DatasetParameter",
    "InfeasibleExperiment",
    "olympus_datasets_dir",
    "python_name",
]


def olympus_datasets_dir() -> Path:
    """The folder of the Olympus datasets: ``$GENESIS_DATASETS`` if set, else
    ``shared/benchmarks/olympus`` beside the repository (the Genesis Lab workspace)."""
    env = os.environ.get("GENESIS_DATASETS")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "olympus"


class InfeasibleExperiment(InstrumentFault):
    """The dataset has no experiment at these settings: a scientific failure."""

    retryable = False
    infeasible = True


def python_name(name: str) -> str:
    """A column name usable as an attribute (``yield`` -> ``yield_``)."""
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in name.strip())
    if not out or out[0].isdigit():
        out = "c_" + out
    return out + "_" if keyword.iskeyword(out) else out


@dataclass(frozen=True)
class DatasetParameter:
    name: str
    kind: str  # "categorical" | "continuous"
    options: tuple[str, ...] = ()
    low: float = -math.inf
    high: float = math.inf


class DatasetModel:
    """A recorded dataset, served one experiment at a time.

    Use :meth:`from_csv` or :meth:`from_olympus`.
    """

    MEASUREMENT_TIME = 0.0  # a lookup; give measurement_time to emulate an instrument's pace

    def __init__(
        self,
        parameters: list[DatasetParameter],
        measurements: list[str],
        rows: list[list[Any]],
        *,
        source: str = "",
        goal: dict[str, str] | None = None,
        noise: float = 0.0,
        emulator: str = "rbf",
        seed: int = 0,
        time_scale: float = 0.0,
        measurement_time: float | None = None,
    ):
        if emulator not in ("rbf", "nearest"):
            raise ValueError(f"emulator must be 'rbf' or 'nearest', not {emulator!r}")
        self.parameters = parameters
        self.measurements = measurements
        self.source = source
        self.goal = goal or {}
        self.noise = float(noise)
        self.emulator = emulator
        self.seed = int(seed)
        self.rng = np.random.default_rng(seed)
        self.clock = Clock(time_scale)
        self.measurement_time = (
            self.MEASUREMENT_TIME if measurement_time is None else measurement_time
        )
        self.experiment = 0
        self.connected = True
        self._cat = [i for i, p in enumerate(parameters) if p.kind == "categorical"]
        self._num = [i for i, p in enumerate(parameters) if p.kind == "continuous"]
        self._Y = np.array(
            [[float(r[len(parameters) + j]) for j in range(len(measurements))] for r in rows]
        )
        self._keys = [tuple(str(r[i]) for i in self._cat) for r in rows]
        self._Xn = np.array([[float(r[i]) for i in self._num] for r in rows]).reshape(len(rows), -1)
        self._spread = np.nanstd(self._Y, axis=0) if len(rows) else np.ones(len(measurements))
        self._groups: dict[tuple[str, ...], np.ndarray] = {}
        for k, key in enumerate(self._keys):
            self._groups.setdefault(key, []).append(k)  # type: ignore[arg-type]
        self._groups = {k: np.array(v) for k, v in self._groups.items()}
        self._emulators: dict[tuple[str, ...], Any] = {}
        self.setpoints: dict[str, Any] = {
            p.name: (p.options[0] if p.kind == "categorical" else (p.low + p.high) / 2)
            for p in parameters
        }

    # ------------------------------------------------------------ loading
    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        parameters: list[str],
        measurements: list[str],
        categorical: list[str] | None = None,
        **kwargs: Any,
    ) -> DatasetModel:
        """A CSV with a header row. Parameters are continuous unless named in
        ``categorical`` or not numeric."""
        p = Path(path)
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in [*parameters, *measurements] if c not in header]
            if missing:
                raise ValueError(f"{p}: no column(s) {missing}; the header has {header}")
            raw = [[r[c] for c in [*parameters, *measurements]] for r in reader]
        specs = []
        for j, name in enumerate(parameters):
            col = [r[j] for r in raw]
            numeric = all(_is_number(v) for v in col)
            if (categorical and name in categorical) or not numeric:
                specs.append(DatasetParameter(name, "categorical", tuple(dict.fromkeys(col))))
            else:
                vals = [float(v) for v in col]
                specs.append(DatasetParameter(name, "continuous", (), min(vals), max(vals)))
        return cls(specs, list(measurements), raw, source=str(p), **kwargs)

    @classmethod
    def from_olympus(cls, directory: str | Path, **kwargs: Any) -> DatasetModel:
        """An Olympus dataset folder: ``config.json`` plus a header-less ``data.csv``."""
        d = Path(directory)
        config = json.loads((d / "config.json").read_text())
        specs = []
        for p in config["parameters"]:
            if p["type"] == "categorical":
                specs.append(DatasetParameter(p["name"], "categorical", tuple(p["options"])))
            else:
                specs.append(DatasetParameter(p["name"], "continuous", (), p["low"], p["high"]))
        names = [m["name"] for m in config["measurements"]]
        goals = config.get("default_goal")
        goals = goals if isinstance(goals, list) else [goals] * len(names)
        with (d / "data.csv").open(newline="") as fh:
            rows = [r for r in csv.reader(fh) if r]
        return cls(
            specs, names, rows, source=str(d), goal=dict(zip(names, goals, strict=False)), **kwargs
        )

    # ------------------------------------------------------------ instrument
    def set(self, name: str, value: Any) -> None:
        spec = next((p for p in self.parameters if p.name == name), None)
        if spec is None:
            raise KeyError(
                f"unknown parameter {name!r}; the dataset has {[p.name for p in self.parameters]}"
            )
        if spec.kind == "categorical":
            if str(value) not in spec.options:
                raise ValueError(f"{name}: {value!r} is not one of the dataset's options")
            self.setpoints[name] = str(value)
        else:
            v = float(value)
            if not spec.low <= v <= spec.high:
                raise ValueError(
                    f"{name}: {v:g} is outside the dataset's range [{spec.low:g}, {spec.high:g}]"
                )
            self.setpoints[name] = v
        self.clock.advance(0.0)

    def measure(self) -> dict[str, float]:
        self.clock.advance(self.measurement_time)
        values = self.lookup(self.setpoints)
        if self.noise > 0:
            values = {
                k: v + self.noise * s * self.rng.standard_normal()
                for (k, v), s in zip(values.items(), self._spread, strict=True)
            }
        self.experiment += 1
        return values

    def lookup(self, setpoints: dict[str, Any]) -> dict[str, float]:
        """The noise-free answer at ``setpoints`` (raises InfeasibleExperiment)."""
        key = tuple(str(setpoints[self.parameters[i].name]) for i in self._cat)
        rows = self._groups.get(key)
        if rows is None:
            shown = ", ".join(
                f"{self.parameters[i].name}={k}" for i, k in zip(self._cat, key, strict=True)
            )
            raise InfeasibleExperiment(
                f"the dataset has no experiment with {shown}; this combination is infeasible"
            )
        if not self._num:
            y = np.nanmean(self._Y[rows], axis=0)
        else:
            x = np.array([float(setpoints[self.parameters[i].name]) for i in self._num])
            y = self._emulate(key, rows, x)
        return {m: float(v) for m, v in zip(self.measurements, y, strict=True)}

    def _scale(self, X: np.ndarray) -> np.ndarray:
        lo = np.array([self.parameters[i].low for i in self._num])
        hi = np.array([self.parameters[i].high for i in self._num])
        return (X - lo) / np.where(hi > lo, hi - lo, 1.0)

    def _emulate(self, key: tuple[str, ...], rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        Xs, Y = self._scale(self._Xn[rows]), self._Y[rows]
        xs = self._scale(x[None, :])
        if self.emulator == "nearest" or len(rows) < len(self._num) + 2:
            return Y[int(np.argmin(((Xs - xs) ** 2).sum(axis=1)))]
        em = self._emulators.get(key)
        if em is None:
            from scipy.interpolate import RBFInterpolator

            em = RBFInterpolator(
                Xs,
                Y,
                kernel="thin_plate_spline",
                smoothing=1e-3 * len(rows),
                neighbors=min(len(rows), 64),
            )
            self._emulators[key] = em
        return em(xs)[0]

    # ------------------------------------------------------------ facts
    @property
    def size(self) -> int:
        return len(self._Y)

    def best(self, measurement: str, goal: str | None = None) -> float:
        goal = goal or self.goal.get(measurement, "maximize")
        col = self._Y[:, self.measurements.index(measurement)]
        return float(np.nanmax(col) if goal == "maximize" else np.nanmin(col))

    def top_fraction_threshold(
        self, measurement: str, fraction: float = 0.01, goal: str | None = None
    ) -> tuple[float, int]:
        """The value that puts a result in the top ``fraction`` of the recorded
        rows, and how many rows reach it (for the analytic random baseline)."""
        goal = goal or self.goal.get(measurement, "maximize")
        col = self._Y[:, self.measurements.index(measurement)]
        col = col[np.isfinite(col)]
        k = max(1, int(math.ceil(fraction * len(col))))
        ordered = np.sort(col)[::-1] if goal == "maximize" else np.sort(col)
        threshold = float(ordered[k - 1])
        hits = int((col >= threshold).sum() if goal == "maximize" else (col <= threshold).sum())
        return threshold, hits

    def consumables(self) -> dict[str, float]:
        return {}

    def get_state(self) -> dict[str, Any]:
        return {
            "clock": self.clock.now(),
            "experiment": self.experiment,
            "rng": self.rng.bit_generator.state,
            "setpoints": dict(self.setpoints),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.clock = Clock(self.clock.time_scale, start=state["clock"])
        self.experiment = int(state["experiment"])
        self.rng.bit_generator.state = state["rng"]
        self.setpoints.update(state["setpoints"])


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True
