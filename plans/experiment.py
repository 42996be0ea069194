"""One experiment as one bluesky run.

The plan moves every parameter's device to its proposed value together, waits,
optionally settles, then triggers and reads the measured devices (and the moved
ones, so the run records where they really went) in one event of the
``primary`` stream. The start document carries ``campaign``, ``experiment`` and
``proposal``. Plans know nothing of optimizers: the controller closes the loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp
from bluesky.protocols import Movable, Readable
from bluesky.utils import MsgGenerator

__all__ = ["experiment", "check_movable", "check_readable"]


def check_movable(obj: Any) -> Movable:
    if not isinstance(obj, Movable):
        raise TypeError(
            f"{getattr(obj, 'name', obj)!r} is not Movable: it needs a set(value) -> Status method"
        )
    return obj


def check_readable(obj: Any) -> Readable:
    if not isinstance(obj, Readable):
        missing = [m for m in ("read", "describe", "name") if not hasattr(obj, m)]
        raise TypeError(
            f"{getattr(obj, 'name', obj)!r} is not Readable: it lacks {', '.join(missing)}"
        )
    return obj


def experiment(
    moves: Mapping[Movable, Any],
    detectors: Sequence[Readable],
    *,
    md: Mapping[str, Any] | None = None,
    settle_time: float = 0.0,
    waypoints: Sequence[Mapping[Movable, Any]] = (),
) -> MsgGenerator[None]:
    """Run one experiment as one run (the controller takes its uid from the start document).

    Parameters
    ----------
    moves:
        settable -> target value. All are set together, then awaited.
    detectors:
        devices to trigger and read once the moves are done.
    md:
        start-document metadata; the controller passes ``campaign``,
        ``experiment`` and ``proposal``.
    settle_time:
        seconds to wait between the end of the moves and the trigger.
    waypoints:
        intermediate moves, each done together and awaited in order before
        ``moves`` (the controller uses them to respect a maximum step).
    """
    for obj in moves:
        check_movable(obj)
    for point in waypoints:
        for obj in point:
            check_movable(obj)
    for det in detectors:
        check_readable(det)
    det_list = list(detectors)
    to_read = det_list + [m for m in moves if not _is_within(m, det_list)]
    _md = {
        "plan_name": "experiment",
        "detectors": [d.name for d in det_list],
        "motors": [m.name for m in moves],
        **(md or {}),
    }

    def flat(point: Mapping[Movable, Any]) -> list[Any]:
        out: list[Any] = []
        for obj, value in point.items():
            out += [obj, value]
        return out

    @bpp.stage_decorator(det_list)
    @bpp.run_decorator(md=_md)
    def inner() -> MsgGenerator[None]:
        for point in [*waypoints, moves]:
            if point:
                yield from bps.mv(*flat(point))
        if settle_time > 0:
            yield from bps.sleep(settle_time)
        yield from bps.trigger_and_read(to_read)

    yield from inner()


def _is_within(obj: Any, devices: Sequence[Any]) -> bool:
    """True if ``obj`` is one of ``devices`` or a component of one (read with it)."""
    parent = obj
    while parent is not None:
        if any(parent is d for d in devices):
            return True
        parent = getattr(parent, "parent", None)
    return False
