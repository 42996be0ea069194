"""Declarations shared by all simulators: :class:`Input`, :class:`Output` and the
virtual lab :class:`Clock` (re-exported by :mod:`simulators.base`)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

__all__ = ["Clock", "Input", "Output"]


@dataclass(frozen=True)
class Input:
    """A settable of the instrument.

    ``low``/``high`` is the instrument's own physical range (the model is valid
    there); ``max_rate`` is the actuation speed in units per lab second (used for
    the latency of ``set()``).
    """

    units: str
    low: float
    high: float
    default: float
    description: str = ""
    max_rate: float = math.inf

    def __post_init__(self) -> None:
        if not (self.low <= self.default <= self.high):
            raise ValueError(f"default {self.default} outside [{self.low}, {self.high}]")
        if not self.max_rate > 0:
            raise ValueError("max_rate must be > 0")


@dataclass(frozen=True)
class Output:
    """A reading of the instrument.

    ``noise``: nominal *absolute* measurement noise standard deviation, in the
    output's units, multiplied by the simulator's noise factor (an instrument may
    document a different law, e.g. Poisson counting).  ``saturation``: the
    detector saturates (readings are clipped) here.  ``drift``: typical size of
    the slow drift, in output units per lab hour, multiplied by the drift factor.
    ``minimum``: the smallest value the quantity can physically have (readings are
    clipped there, e.g. a rate is never negative).
    """

    units: str
    description: str = ""
    noise: float = 0.0
    saturation: float = math.inf
    drift: float = 0.0
    minimum: float = -math.inf


class Clock:
    """Virtual lab clock.

    ``now()`` is lab time in seconds (deterministic, advanced only by
    ``advance()``).  ``advance(lab_seconds)`` adds to lab time and really sleeps
    ``lab_seconds * time_scale`` wall seconds (``time_scale=0`` -> no sleeping,
    for CI; 1 -> realistic).
    """

    def __init__(self, time_scale: float = 0.0, start: float = 0.0) -> None:
        if not (time_scale >= 0 and math.isfinite(time_scale)):
            raise ValueError(f"time_scale must be a finite number >= 0, got {time_scale!r}")
        self.time_scale = float(time_scale)
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current lab time in seconds."""
        return self._now

    def advance(self, lab_seconds: float) -> None:
        """Let ``lab_seconds`` (>= 0) of lab time pass (sleeping ``lab_seconds * time_scale`` wall s)."""
        lab_seconds = float(lab_seconds)
        if not (lab_seconds >= 0 and math.isfinite(lab_seconds)):
            raise ValueError(f"lab_seconds must be a finite number >= 0, got {lab_seconds!r}")
        with self._lock:
            self._now += lab_seconds
        if self.time_scale > 0 and lab_seconds > 0:
            time.sleep(lab_seconds * self.time_scale)

    def reset(self, now: float) -> None:
        """Set lab time to ``now`` without sleeping (restoring a snapshot)."""
        now = float(now)
        if not math.isfinite(now):
            raise ValueError(f"lab time must be finite, got {now!r}")
        with self._lock:
            self._now = now

    def __repr__(self) -> str:
        return f"Clock(now={self._now:.3f}, time_scale={self.time_scale})"
