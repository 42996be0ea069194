"""Core of the instrument simulators: inputs, outputs, a virtual lab clock and the
:class:`Simulator` base class.

Measurement model
-----------------
A reading of output ``o`` at lab time ``t`` is::

    reading = min(truth_o(setpoints) + drift * drift_o(t) + noise * sigma_o * z, saturation_o)
    reading = max(reading, minimum_o)     # a quantity that cannot be negative is never read so

with ``z`` standard normal (from ``self.rng``), ``sigma_o = OUTPUTS[o].noise`` an
*absolute* standard deviation in the output's units (subclasses may override
:meth:`Simulator._noise_std`, e.g. for Poisson counting noise), and ``drift_o(t)``
a slow seeded function of lab time: a linear trend plus a sinusoid of random
phase and period (1-3 lab hours), zero at ``t = 0``, whose size is about
``OUTPUTS[o].drift`` output units per lab hour.  ``minimum_o = OUTPUTS[o].minimum``
(``-inf`` unless declared; e.g. 0 for a rate).  With ``noise=0`` and ``drift=0``
a reading equals ``truth(**setpoints)`` exactly.

Time
----
All waiting happens on a :class:`Clock`.  ``set()`` takes
``|delta| / max_rate + SETTLE_TIME`` lab seconds, ``measure()`` takes
``MEASUREMENT_TIME`` lab seconds.  The clock really sleeps
``lab_seconds * time_scale`` wall seconds (0 = never sleep, for CI).

Faults
------
See :mod:`simulators.faults`.  An *attempt* of experiment ``n`` (``n`` =
``self.experiment``) starts at the first ``set()``/``measure()`` call after the
previous attempt ended, and ends when ``measure()`` returns or raises, or when a
``set()`` raises an injected fault.  One fault (or none) is drawn per attempt:

* ``set_error``: the first ``set()`` of the attempt raises a retryable
  :class:`InstrumentFault`; the setpoint is unchanged.  (If the attempt makes no
  ``set()`` call, nothing happens.)
* ``timeout``: ``measure()`` hangs ``timeout_after`` lab seconds, then raises
  :class:`InstrumentTimeout`.
* ``trigger_error``: ``measure()`` raises a retryable :class:`InstrumentFault`.
* ``nan``: ``measure()`` returns NaN for every output.
* ``saturate``: ``measure()`` returns every output at its saturation value
  (:data:`SATURATED_VALUE` where the saturation is infinite).
* ``broken_after`` (not a kind): from that experiment on, ``measure()`` raises
  a non-retryable :class:`InstrumentFault` of kind ``"broken"``.
* ``disconnect``: ``measure()`` raises :class:`InstrumentDisconnected` and
  ``connected`` is False until the next call, which reconnects
  (``RECONNECT_TIME`` lab seconds).

Only completed measurements (including ``nan``/``saturate`` ones) increment
``experiment`` and use consumables.  Exhausted consumables raise a
non-retryable ``InstrumentFault("out of <name>; refill ...")`` before anything
else happens.

Thread safety: ``set()`` and ``measure()`` of one simulator are serialised by a
lock.  Simulators sharing one :class:`Clock` add up their waiting times (the
clock is a single sequential timeline).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import numpy as np

from ._optimum import cached_optimum, seeded_classmethod
from .core import Clock, Input, Output
from .faults import FaultPlan, InstrumentDisconnected, InstrumentFault, InstrumentTimeout

__all__ = ["SATURATED_VALUE", "Clock", "Input", "Output", "Simulator"]

#: Reading reported by a ``"saturate"`` fault for an output without a finite saturation.
SATURATED_VALUE: float = 1e30


class Simulator:
    """Base class of all instrument simulators (see the module docstring).

    Subclasses define ``INPUTS``, ``OUTPUTS``, ``CONSUMABLES``,
    ``MEASUREMENT_TIME`` and implement :meth:`_model` (vectorised, noise-free
    physics) and, if they have consumables, :meth:`_consumption`.
    """

    INPUTS: ClassVar[dict[str, Input]] = {}
    OUTPUTS: ClassVar[dict[str, Output]] = {}
    CONSUMABLES: ClassVar[dict[str, tuple[str, float]]] = {}
    MEASUREMENT_TIME: ClassVar[float] = 1.0
    #: lab seconds added to every set() (handshake + settling)
    SETTLE_TIME: ClassVar[float] = 1.0
    #: lab seconds to re-establish a dropped connection
    RECONNECT_TIME: ClassVar[float] = 5.0
    #: main objectives of the instrument, output -> "maximize" | "minimize" (documented optima)
    OBJECTIVES: ClassVar[dict[str, str]] = {}
    #: True if truth() depends on the seed (hidden, seeded instrument parameters)
    SEEDED_TRUTH: ClassVar[bool] = False

    def __init__(
        self,
        *,
        seed: int = 0,
        noise: float = 1.0,
        drift: float = 1.0,
        time_scale: float = 0.0,
        faults: FaultPlan | Mapping[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Create the instrument.

        ``faults`` may be a :class:`FaultPlan`, a mapping for
        :meth:`FaultPlan.from_dict` (whose ``seed`` defaults to this simulator's
        seed) or None (no faults).  ``clock`` may be shared between instruments;
        if given, ``time_scale`` is ignored.
        """
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if not (noise >= 0 and drift >= 0):
            raise ValueError("noise and drift factors must be >= 0")
        self.seed = seed
        self.noise = float(noise)
        self.drift = float(drift)
        self.rng: np.random.Generator = np.random.default_rng(seed)
        self.clock: Clock = clock if clock is not None else Clock(time_scale)
        if faults is None:
            self.faults = FaultPlan()
        elif isinstance(faults, FaultPlan):
            self.faults = faults
        else:
            self.faults = FaultPlan.from_dict({"seed": seed, **dict(faults)})
        self.experiment: int = 0
        self.connected: bool = True
        self._setpoints = {name: float(inp.default) for name, inp in self.INPUTS.items()}
        self._remaining = {name: float(amount) for name, (_, amount) in self.CONSUMABLES.items()}
        self._hidden = self._hidden_params(seed)
        drng = np.random.default_rng([seed, 0xD71F7])
        self._drift_params = {
            name: (
                drng.choice([-1.0, 1.0]),  # sign of the linear trend
                drng.uniform(0.3, 0.7),  # share of the linear trend
                drng.uniform(3600.0, 3 * 3600.0),  # sinusoid period (lab s)
                drng.uniform(0.0, 2 * math.pi),  # sinusoid phase
            )
            for name in self.OUTPUTS
        }
        self._attempts: dict[int, int] = {}
        self._attempt_open = False
        self._attempt_fault: str | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ state
    @property
    def setpoints(self) -> Mapping[str, float]:
        """Current input values (read-only view)."""
        return MappingProxyType(self._setpoints)

    def consumables(self) -> dict[str, float]:
        """Remaining amount of each consumable, in its units."""
        return dict(self._remaining)

    def refill(self, name: str | None = None) -> None:
        """Refill one consumable (or all, if ``name`` is None) to its initial amount."""
        names = list(self.CONSUMABLES) if name is None else [name]
        for n in names:
            if n not in self.CONSUMABLES:
                raise KeyError(
                    f"unknown consumable {n!r}; consumables: {', '.join(self.CONSUMABLES) or 'none'}"
                )
            self._remaining[n] = float(self.CONSUMABLES[n][1])

    def drift_offset(self) -> dict[str, float]:
        """Current additive drift of each output (output units), at ``clock.now()``."""
        t = self.clock.now()
        out = {}
        for name, o in self.OUTPUTS.items():
            sign, lin, period, phase = self._drift_params[name]
            shape = sign * lin * t / 3600.0 + (1 - lin) * (
                math.sin(2 * math.pi * t / period + phase) - math.sin(phase)
            )
            out[name] = self.drift * o.drift * shape
        return out

    # ------------------------------------------------------------------ model
    @classmethod
    def _hidden_params(cls, seed: int) -> dict[str, float]:
        """Seeded hidden instrument parameters used by the model (none by default)."""
        return {}

    @classmethod
    def _model(cls, x: dict[str, np.ndarray], hidden: Mapping[str, float]) -> dict[str, np.ndarray]:
        """Vectorised noise-free physics: broadcast input arrays -> output arrays."""
        raise NotImplementedError

    @classmethod
    def _evaluate(cls, hidden: Mapping[str, float], setpoints: Mapping[str, Any]) -> dict[str, Any]:
        unknown = [k for k in setpoints if k not in cls.INPUTS]
        if unknown:
            raise KeyError(
                f"unknown input(s) {unknown} for {cls.__name__}; valid inputs: {', '.join(cls.INPUTS)}"
            )
        arrays = [
            np.asarray(setpoints.get(n, inp.default), dtype=float) for n, inp in cls.INPUTS.items()
        ]
        arrays = np.broadcast_arrays(*arrays)
        shape = arrays[0].shape
        with np.errstate(all="ignore"):
            out = cls._model(dict(zip(cls.INPUTS, arrays, strict=True)), hidden)
        if shape == ():
            return {k: float(out[k]) for k in cls.OUTPUTS}
        return {k: np.array(np.broadcast_to(out[k], shape), dtype=float) for k in cls.OUTPUTS}

    def truth(self, **setpoints: float | np.ndarray) -> dict[str, float | np.ndarray]:
        """Noise-free, drift-free model.  Missing setpoints take the INPUTS defaults.

        Vectorised: array inputs broadcast against each other and give arrays out.
        No range check (the model is only validated inside the INPUTS box).
        """
        return self._evaluate(self._hidden, setpoints)

    def _noise_std(self, values: Mapping[str, float]) -> dict[str, float]:
        """Noise standard deviation of each output for these true values."""
        return {name: self.noise * o.noise for name, o in self.OUTPUTS.items()}

    def _consumption(self) -> dict[str, float]:
        """Amount of each consumable one measure() at the current setpoints uses."""
        return {}

    @seeded_classmethod
    def optimum(
        cls, output: str, goal: Literal["maximize", "minimize"] = "maximize", *, seed: int = 0
    ) -> tuple[dict[str, float], float]:
        """Ground-truth optimum of ``truth()[output]`` over the INPUTS box.

        Computed by a Sobol search + zoom + L-BFGS-B polish (cached, ~1 s the
        first time).  Returns ``(inputs, value)``.  ``seed`` only matters for
        instruments with ``SEEDED_TRUTH`` (hidden seeded parameters): called on
        the class it defaults to 0, called on an instance to that instance's seed.
        """
        if output not in cls.OUTPUTS:
            raise KeyError(f"unknown output {output!r}; outputs: {', '.join(cls.OUTPUTS)}")
        if goal not in ("maximize", "minimize"):
            raise ValueError(f"goal must be 'maximize' or 'minimize', got {goal!r}")
        x, value = cached_optimum(cls, output, goal, int(seed) if cls.SEEDED_TRUTH else 0)
        return cls._normalise_point(dict(zip(cls.INPUTS, x, strict=True))), value

    @classmethod
    def _normalise_point(cls, point: dict[str, float]) -> dict[str, float]:
        """Canonical form of an input point for reports (identity by default)."""
        return point

    # ---------------------------------------------------------------- faults
    def _reconnect(self) -> None:
        if not self.connected:
            self.clock.advance(self.RECONNECT_TIME)
            self.connected = True

    def _current_fault(self) -> str | None:
        if not self._attempt_open:
            attempt = self._attempts.get(self.experiment, 0)
            self._attempt_fault = self.faults.draw(self.experiment, attempt)
            self._attempt_open = True
        return self._attempt_fault

    def _end_attempt(self, experiment: int) -> None:
        if self._attempt_open:
            self._attempts[experiment] = self._attempts.get(experiment, 0) + 1
        self._attempt_open = False
        self._attempt_fault = None

    # --------------------------------------------------------------- actions
    def set(self, name: str, value: float) -> None:
        """Blocking: move ``name`` to ``value``.

        Takes ``|delta| / max_rate + SETTLE_TIME`` lab seconds.  ``KeyError``
        (naming the valid inputs) for an unknown name, ``ValueError`` if the
        value is outside ``[low, high]`` or not finite.  May raise an injected
        ``set_error`` fault.
        """
        with self._lock:
            self._reconnect()
            if name not in self.INPUTS:
                raise KeyError(
                    f"unknown input {name!r} for {type(self).__name__}; valid inputs: {', '.join(self.INPUTS)}"
                )
            inp = self.INPUTS[name]
            value = float(value)
            if not (math.isfinite(value) and inp.low <= value <= inp.high):
                raise ValueError(
                    f"{name}={value!r} outside the instrument range [{inp.low}, {inp.high}] {inp.units}"
                )
            if self._current_fault() == "set_error":
                self.clock.advance(self.SETTLE_TIME)
                self._end_attempt(self.experiment)
                raise InstrumentFault(
                    f"{type(self).__name__}: failed to set {name} (injected set_error)",
                    kind="set_error",
                    retryable=True,
                )
            delta = abs(value - self._setpoints[name])
            self.clock.advance(delta / inp.max_rate + self.SETTLE_TIME)
            self._setpoints[name] = value

    def measure(self) -> dict[str, float]:
        """Blocking: take one measurement at the current setpoints (``MEASUREMENT_TIME`` lab s).

        Returns every output: truth + drift + noise, clipped at saturation.
        Uses up consumables and increments ``experiment``.  Raises a
        non-retryable :class:`InstrumentFault` if a consumable is exhausted; may
        produce an injected fault (see the module docstring).
        """
        with self._lock:
            self._reconnect()
            need = self._consumption()
            for cname, amount in need.items():
                if amount > self._remaining[cname] + 1e-12:
                    units = self.CONSUMABLES[cname][0]
                    raise InstrumentFault(
                        f"out of {cname}; refill "
                        f"({self._remaining[cname]:.4g} {units} left, {amount:.4g} {units} needed)",
                        kind="consumable",
                        retryable=False,
                    )
            index = self.experiment
            name = type(self).__name__
            broken = self.faults.broken_after
            if broken is not None and index >= broken:
                raise InstrumentFault(
                    f"{name}: broken after {broken} measurements (injected); needs repair",
                    kind="broken",
                    retryable=False,
                )
            fault = self._current_fault()
            try:
                if fault == "disconnect":
                    self.connected = False
                    raise InstrumentDisconnected(f"{name}: connection lost (injected disconnect)")
                if fault == "timeout":
                    self.clock.advance(self.faults.timeout_after)
                    raise InstrumentTimeout(
                        f"{name}: no answer after {self.faults.timeout_after} lab s (injected timeout)"
                    )
                if fault == "trigger_error":
                    self.clock.advance(self.SETTLE_TIME)
                    raise InstrumentFault(
                        f"{name}: trigger failed (injected trigger_error)",
                        kind="trigger_error",
                        retryable=True,
                    )
                self.clock.advance(self.MEASUREMENT_TIME)
                values = self._read()
                if fault == "nan":
                    values = {k: math.nan for k in values}
                elif fault == "saturate":
                    values = {
                        k: (o.saturation if math.isfinite(o.saturation) else SATURATED_VALUE)
                        for k, o in self.OUTPUTS.items()
                    }
                for cname, amount in need.items():
                    self._remaining[cname] = max(0.0, self._remaining[cname] - amount)
                self.experiment += 1
                return values
            finally:
                self._end_attempt(index)

    def _read(self) -> dict[str, float]:
        true = self._evaluate(self._hidden, self._setpoints)
        offset = self.drift_offset()
        std = self._noise_std(true)
        z = self.rng.standard_normal(len(self.OUTPUTS))
        out = {}
        for i, (name, o) in enumerate(self.OUTPUTS.items()):
            value = true[name] + offset[name] + std[name] * z[i]
            out[name] = float(max(min(value, o.saturation), o.minimum))
        return out

    # ------------------------------------------------------------ snapshots
    def get_state(self) -> dict[str, Any]:
        """JSON-serialisable snapshot of everything that evolves (for resuming a campaign).

        Contains the lab time, experiment counter, noise RNG state, setpoints,
        consumables, connection and fault-attempt bookkeeping.  Constructor
        arguments (seed, noise, drift, faults) are not included.
        """
        return {
            "clock": self.clock.now(),
            "experiment": self.experiment,
            "rng": self.rng.bit_generator.state,
            "setpoints": dict(self._setpoints),
            "consumables": dict(self._remaining),
            "connected": self.connected,
            "attempts": {str(k): v for k, v in self._attempts.items()},
            "attempt_open": self._attempt_open,
            "attempt_fault": self._attempt_fault,
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`get_state` snapshot (the clock is set, not slept)."""
        with self._lock:
            self.clock.reset(state["clock"])
            self.experiment = int(state["experiment"])
            self.rng.bit_generator.state = state["rng"]
            unknown = set(state["setpoints"]) - set(self.INPUTS)
            if unknown:
                valid = ", ".join(self.INPUTS)
                raise KeyError(
                    f"unknown input(s) {sorted(unknown)} in snapshot; valid inputs: {valid}"
                )
            self._setpoints.update({k: float(v) for k, v in state["setpoints"].items()})
            self._remaining.update({k: float(v) for k, v in state.get("consumables", {}).items()})
            self.connected = bool(state.get("connected", True))
            self._attempts = {int(k): int(v) for k, v in state.get("attempts", {}).items()}
            self._attempt_open = bool(state.get("attempt_open", False))
            self._attempt_fault = state.get("attempt_fault")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed}, experiment={self.experiment}, t={self.clock.now():.1f} s)"
