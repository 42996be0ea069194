"""The safety envelope: hard limits, maximum step and forbidden regions.

Enforced by the controller *before* any ``set()`` is issued, whatever the
instrument itself reports (EPICS motors commonly report no limits at all).
:meth:`SafetyEnvelope.check` vets a whole proposal before anything moves;
:func:`guard` wraps a settable's ``set`` so that a direct call that breaks the
envelope is refused as well.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Limit", "SafetyEnvelope", "EnvelopeViolation", "guard"]


class EnvelopeViolation(ValueError):
    """A requested setpoint is outside the envelope. Nothing was moved."""


@dataclass(frozen=True)
class Limit:
    low: float
    high: float
    max_step: float | None = None
    forbidden: tuple[tuple[float, float], ...] = field(default_factory=tuple)

    def violation(self, value: Any, current: float | None = None) -> str | None:
        """Why ``value`` may not be set (from ``current``), or None if it may."""
        if isinstance(value, str):
            return None  # categorical setpoints are checked against their choices
        try:
            v = float(value)
        except (TypeError, ValueError):
            return f"{value!r} is not a number"
        if not math.isfinite(v):
            return f"{v} is not finite"
        if not self.low <= v <= self.high:
            return f"{v:g} is outside the hard limits [{self.low:g}, {self.high:g}]"
        for lo, hi in self.forbidden:
            if lo <= v <= hi:
                return f"{v:g} is inside the forbidden region [{lo:g}, {hi:g}]"
        if self.max_step is not None and current is not None and math.isfinite(current):
            if abs(v - current) > self.max_step * (1 + 1e-12):
                return (
                    f"a move from {current:g} to {v:g} exceeds the maximum step "
                    f"{self.max_step:g}"
                )
        return None


class SafetyEnvelope:
    """Limits keyed by settable, written ``device.component``."""

    def __init__(self, limits: Mapping[str, Limit]):
        self.limits = dict(limits)

    def __contains__(self, target: str) -> bool:
        return target in self.limits

    def check(
        self, targets: Mapping[str, Any], current: Mapping[str, float] | None = None
    ) -> list[str]:
        """Every reason the move to ``targets`` is refused (empty: allowed)."""
        reasons = []
        current = current or {}
        for target, value in targets.items():
            limit = self.limits.get(target)
            if limit is None:
                reasons.append(f"{target} has no limits in the lab file; nothing may move it")
                continue
            why = limit.violation(value, current.get(target))
            if why:
                reasons.append(f"{target}: {why}")
        return reasons


def guard(settable: Any, target: str, limit: Limit) -> Any:
    """Wrap ``settable.set`` so that it refuses values outside ``limit``.

    The refusal raises :class:`EnvelopeViolation` before the wrapped ``set``
    runs, so nothing moves. Returns the settable.
    """
    original = settable.set
    if getattr(original, "_genesis_guarded", False):
        return settable

    @functools.wraps(original)
    def guarded_set(value: Any, *args: Any, **kwargs: Any) -> Any:
        current = None
        try:
            current = float(settable.position if hasattr(settable, "position") else settable.get())
        except Exception:
            current = None
        why = limit.violation(value, current)
        if why:
            raise EnvelopeViolation(f"{target}: {why}; refused before moving")
        return original(value, *args, **kwargs)

    guarded_set._genesis_guarded = True  # type: ignore[attr-defined]
    settable.set = guarded_set
    return settable
