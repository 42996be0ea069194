"""Injected instrument faults.

Real instruments fail: motors stall, triggers are missed, detectors saturate,
serial links drop.  A :class:`FaultPlan` describes *which* experiments of a
simulator misbehave, deterministically, so that controller error handling can be
tested reproducibly.

Two sources of faults are combined:

* ``at`` -- an explicit ``{experiment_index: kind}`` table.  These fire only on
  the *first attempt* of that experiment, so a retry succeeds.
* ``rate`` -- each attempt of each experiment independently gets a random fault
  with probability ``rate``; the kind is drawn uniformly from ``kinds``.  The draw
  uses ``np.random.default_rng([seed, experiment, attempt])``: it is a pure
  function of ``(seed, experiment, attempt)`` and never of call order, so runs
  are reproducible and a retried attempt gets a fresh, independent draw.

A third, ``broken_after``, models an instrument that dies and stays dead: once
that many measurements have completed, every ``measure()`` raises a
non-retryable :class:`InstrumentFault` (kind ``"broken"``) until the plan is
changed, i.e. until a person repairs it.

The experiment index is the simulator's ``experiment`` counter (number of
completed ``measure()`` calls); see :class:`simulators.base.Simulator` for how
each kind manifests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = [
    "FAULT_KINDS",
    "FaultPlan",
    "InstrumentDisconnected",
    "InstrumentFault",
    "InstrumentTimeout",
]

FAULT_KINDS: tuple[str, ...] = (
    "timeout",
    "set_error",
    "trigger_error",
    "nan",
    "saturate",
    "disconnect",
)


class InstrumentFault(Exception):
    """An instrument-level failure.

    ``kind`` names the failure (one of :data:`FAULT_KINDS`, or ``"consumable"`` for
    an exhausted consumable).  ``retryable`` tells a controller whether repeating
    the same operation can succeed (transient glitch) or whether a human / a
    different action is needed (e.g. refilling a reagent bottle).
    """

    kind: str = "fault"
    retryable: bool = False

    def __init__(
        self, message: str = "", *, kind: str | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        if retryable is not None:
            self.retryable = retryable


class InstrumentTimeout(InstrumentFault, TimeoutError):
    """The instrument did not answer within its timeout (transient, retryable)."""

    kind = "timeout"
    retryable = True


class InstrumentDisconnected(InstrumentFault, ConnectionError):
    """The link to the instrument dropped (transient; it reconnects on the next call)."""

    kind = "disconnect"
    retryable = True


def _validate_kinds(kinds: Any, what: str) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in FAULT_KINDS]
    if bad:
        raise ValueError(
            f"unknown fault kind(s) {bad} in {what}; allowed kinds: {', '.join(FAULT_KINDS)}"
        )
    return kinds


@dataclass
class FaultPlan:
    """Which experiments fail, and how.

    Attributes
    ----------
    rate:
        Probability in [0, 1] that an attempt of an experiment gets a random fault.
    kinds:
        Fault kinds the random faults are drawn from (uniformly).
    at:
        ``{experiment index (0-based count of completed measure() calls): kind}``;
        deterministic faults that fire on the first attempt only.
    seed:
        Seed of the random fault draws.
    timeout_after:
        Lab seconds a ``"timeout"`` hangs inside ``measure()`` before raising.
    broken_after:
        None, or the number of completed measurements after which every
        ``measure()`` fails with a non-retryable ``"broken"`` fault.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    at: dict[int, str] = field(default_factory=dict)
    seed: int = 0
    timeout_after: float = 30.0
    broken_after: int | None = None

    def __post_init__(self) -> None:
        rate = float(self.rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate must be in [0, 1], got {self.rate!r}")
        self.rate = rate
        self.kinds = _validate_kinds(self.kinds, "kinds")
        if self.rate > 0 and not self.kinds:
            raise ValueError("fault rate > 0 needs at least one kind")
        at: dict[int, str] = {}
        for key, kind in dict(self.at).items():
            index = int(key)
            if index < 0:
                raise ValueError(f"fault experiment index must be >= 0, got {key!r}")
            at[index] = _validate_kinds((kind,), f"at[{key!r}]")[0]
        self.at = at
        self.seed = int(self.seed)
        if self.seed < 0:
            raise ValueError(f"fault seed must be >= 0, got {self.seed}")
        if self.broken_after is not None:
            self.broken_after = int(self.broken_after)
            if self.broken_after < 0:
                raise ValueError(f"broken_after must be >= 0, got {self.broken_after}")
        self.timeout_after = float(self.timeout_after)
        if not self.timeout_after >= 0.0:
            raise ValueError(f"timeout_after must be >= 0 lab seconds, got {self.timeout_after!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> FaultPlan:
        """Build from a plain mapping (e.g. parsed YAML/JSON).

        Keys of ``at`` may be strings (``{"3": "nan"}``).  Unknown keys, unknown
        kinds and a rate outside [0, 1] raise ``ValueError``.
        """
        if d is None:
            return cls()
        if isinstance(d, FaultPlan):
            return d
        allowed = {f.name for f in fields(cls)}
        unknown = set(d) - allowed
        if unknown:
            raise ValueError(
                f"unknown FaultPlan key(s) {sorted(unknown)}; allowed keys: {', '.join(sorted(allowed))}"
            )
        return cls(**dict(d))

    def draw(self, experiment: int, attempt: int = 0) -> str | None:
        """The fault kind (or None) for ``attempt`` (0-based) of ``experiment``.

        Pure function of ``(seed, experiment, attempt)``; ``at`` entries apply to
        attempt 0 only.
        """
        experiment, attempt = int(experiment), int(attempt)
        if attempt == 0 and experiment in self.at:
            return self.at[experiment]
        if self.rate <= 0.0:
            return None
        rng = np.random.default_rng([self.seed, experiment, attempt])
        if rng.random() >= self.rate:
            return None
        return self.kinds[int(rng.integers(len(self.kinds)))]
