"""The safety envelope: hard limits, maximum step, forbidden regions, allowed choices.

Enforced by the controller *before* any ``set()`` is issued, whatever the
instrument itself reports (EPICS motors commonly report no limits at all).

- :meth:`SafetyEnvelope.check` vets a whole proposal before anything moves: a
  target outside the hard limits, inside a forbidden region, not among the
  allowed choices, or reachable only through a forbidden region is refused.
- :meth:`SafetyEnvelope.path` splits a move into waypoints so that no axis
  moves more than its ``max_step`` in one ``set()``.
- :func:`guard` wraps a settable's ``set`` (and ``put`` and ``move``) so that a
  direct call that breaks the envelope (including a step larger than ``max_step``)
  raises :class:`EnvelopeViolation` before the original method runs.  A settable
  with an ``arrival_tolerance`` (a move ends within it of the target, e.g.
  :class:`devices.epics.EpicsSetpoint` with a ``tolerance``) may step that much
  more than ``max_step`` from its readback: the previous waypoint counts as
  reached.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Limit", "SafetyEnvelope", "EnvelopeViolation", "choice_key", "guard"]


class EnvelopeViolation(ValueError):
    """A requested setpoint is outside the envelope. Nothing was moved."""


def choice_key(value: Any) -> Any:
    """What a choice is compared by: numbers by value (40 == 40.0), anything else as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return str(value)


@dataclass(frozen=True)
class Limit:
    low: float = -math.inf
    high: float = math.inf
    max_step: float | None = None
    forbidden: tuple[tuple[float, float], ...] = field(default_factory=tuple)
    choices: tuple[Any, ...] | None = None

    def allows_choice(self, value: Any) -> bool:
        """``value`` is one of ``choices`` (40 and 40.0 are one setting)."""
        return choice_key(value) in {choice_key(c) for c in self.choices or ()}

    def violation(self, value: Any) -> str | None:
        """Why ``value`` may never be set, or None if it may."""
        if self.choices is not None:
            if not self.allows_choice(value):
                return f"{value!r} is not one of the allowed values {list(self.choices)}"
            return None
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
        return None

    def unknown_position(self, current: float | None) -> str | None:
        """With a maximum step or forbidden regions, a move needs a known starting point:
        why not, if ``current`` is unknown (None: unreadable, or NaN)."""
        if (self.max_step is None and not self.forbidden) or self.choices is not None:
            return None
        if current is not None and math.isfinite(current):
            return None
        what = (
            f"the maximum step {self.max_step:g}"
            if self.max_step is not None
            else "the forbidden regions on the way"
        )
        return (
            f"its current position is unknown ({'unreadable' if current is None else current}), "
            f"so {what} cannot be enforced; home the axis or check its readback"
        )

    def forbids_all_of(self, low: float, high: float) -> tuple[float, float] | None:
        """The forbidden region (overlapping ones merged) that covers all of [low, high], if any."""
        merged: list[list[float]] = []
        for lo, hi in sorted(self.forbidden):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        for lo, hi in merged:
            if lo <= low and high <= hi:
                return lo, hi
        return None

    def path_violation(self, current: float | None, value: Any) -> str | None:
        """Why moving from ``current`` to ``value`` would pass a forbidden region (an unknown
        ``current`` is :meth:`unknown_position`'s to refuse)."""
        if self.choices is not None or current is None or not self.forbidden:
            return None
        if not math.isfinite(current):
            return None
        a, b = sorted((float(current), float(value)))
        for lo, hi in self.forbidden:
            if a < lo and hi < b:
                return (
                    f"the move from {float(current):g} to {float(value):g} would pass through the "
                    f"forbidden region [{lo:g}, {hi:g}]"
                )
        return None

    def step_violation(self, current: float | None, value: Any, slack: float = 0.0) -> str | None:
        """Why a step from ``current`` to ``value`` is too long.  ``slack``: how far the
        settable may end a move from its target (its arrival tolerance), so a step from where
        the previous move ended may be that much longer."""
        if self.max_step is None or self.choices is not None:
            return None
        if current is None or not math.isfinite(current):
            return None  # :meth:`unknown_position` refuses it
        if abs(float(value) - current) > (self.max_step + slack) * (1 + 1e-9):
            return (
                f"a step from {current:g} to {float(value):g} exceeds the maximum step "
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
            why = limit.violation(value) or limit.path_violation(current.get(target), value)
            if why:
                reasons.append(f"{target}: {why}")
        return reasons

    def unknown_positions(
        self, targets: Mapping[str, Any], current: Mapping[str, float]
    ) -> list[str]:
        """The settables among ``targets`` that cannot be moved safely because ``current``
        has no finite position for them while their limit has a maximum step or forbidden
        regions: a problem of the instrument (not homed, readback broken), not of the
        targets."""
        out = []
        for target in targets:
            limit = self.limits.get(target)
            why = None if limit is None else limit.unknown_position(current.get(target))
            if why:
                out.append(f"{target}: {why}")
        return out

    def path(
        self, targets: Mapping[str, Any], current: Mapping[str, float] | None = None
    ) -> list[dict[str, Any]]:
        """Waypoints from ``current`` to ``targets``, each within every ``max_step``.

        All axes move together; the last waypoint is ``targets`` itself.
        """
        current = current or {}
        steps = 1
        for target, value in targets.items():
            limit = self.limits.get(target)
            here = current.get(target)
            if limit is None or limit.max_step is None or here is None or limit.choices:
                continue
            if not math.isfinite(here):
                continue  # refused by check(); never divided into NaN steps
            steps = max(steps, math.ceil(abs(float(value) - here) / limit.max_step - 1e-9))
        if steps == 1:
            return [dict(targets)]
        out = []
        for k in range(1, steps + 1):
            point = {}
            for target, value in targets.items():
                here = current.get(target)
                if here is None or isinstance(value, str):
                    point[target] = value
                else:
                    point[target] = here + (float(value) - here) * k / steps
            out.append(point)
        out[-1] = dict(targets)
        return out


def _position(settable: Any) -> float | None:
    try:
        value = settable.position if hasattr(settable, "position") else settable.get()
        return float(value)
    except Exception:
        return None


def guard(settable: Any, target: str, limit: Limit) -> Any:
    """Wrap ``settable.set`` (and ``put`` and ``move``, ophyd's other ways to move it) so
    that they refuse values outside ``limit``.

    The refusal raises :class:`EnvelopeViolation` before the wrapped method runs, so
    nothing moves. Returns the settable.
    """

    def refuse(value: Any) -> None:
        current = None if limit.choices is not None else _position(settable)
        slack = getattr(settable, "arrival_tolerance", None) or 0.0
        why = (
            limit.violation(value)
            or limit.unknown_position(current)
            or limit.path_violation(current, value)
            or limit.step_violation(current, value, slack)
        )
        if why:
            raise EnvelopeViolation(f"{target}: {why}; refused before moving")

    for method in ("set", "put", "move"):
        original = getattr(settable, method, None)
        if not callable(original) or getattr(original, "_genesis_guarded", False):
            continue

        def guarded(value: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            refuse(value)
            return _original(value, *args, **kwargs)

        functools.update_wrapper(guarded, original)
        guarded._genesis_guarded = True  # type: ignore[attr-defined]
        setattr(settable, method, guarded)
    return settable
