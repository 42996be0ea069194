"""Reading results out of event-model documents, and replaying stored runs.

One code path serves every executor: results are taken from the run's
documents, whether they came from an in-process RunEngine or a remote one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["readings_from_documents", "invalid_readings", "run_completed", "replay"]

Doc = tuple[str, dict[str, Any]]


def readings_from_documents(docs: Iterable[Doc], stream: str = "primary") -> dict[str, Any]:
    """The data of the last event of ``stream`` (one experiment = one event)."""
    streams: dict[str, str] = {}
    data: dict[str, Any] = {}
    for name, doc in docs:
        if name == "descriptor":
            streams[doc["uid"]] = doc.get("name", "primary")
        elif name == "event" and streams.get(doc["descriptor"]) == stream:
            data = dict(doc["data"])
        elif name == "event_page" and streams.get(doc["descriptor"]) == stream:
            data = {k: v[-1] for k, v in doc["data"].items()}
    return data


def invalid_readings(docs: Iterable[Doc], stream: str = "primary") -> list[str]:
    """Readings that cannot be trusted: not finite, or outside the valid range
    the device declares (``lower_ctrl_limit``/``upper_ctrl_limit`` of a
    read-only reading; a detector at its upper limit is saturated)."""
    docs = list(docs)
    keys: dict[str, dict[str, Any]] = {}
    moved: set[str] = set()
    for name, doc in docs:
        if name == "start":
            moved = set(doc.get("motors", []))
        if name == "descriptor" and doc.get("name", "primary") == stream:
            keys.update(doc.get("data_keys", {}))
    problems = []
    for key, value in readings_from_documents(docs, stream).items():
        if isinstance(value, bool) or not isinstance(value, int | float | type(None)):
            continue
        if value is None or not math.isfinite(value):
            problems.append(f"{key} is not a finite number ({value})")
            continue
        dk = keys.get(key, {})
        if key in moved:  # a setpoint: its limits are the instrument's range, guarded anyway
            continue
        lo, hi = dk.get("lower_ctrl_limit"), dk.get("upper_ctrl_limit")
        if hi is not None and value >= hi:
            problems.append(f"{key} = {value:g} is saturated (the detector's limit is {hi:g})")
        elif lo is not None and value < lo:
            problems.append(f"{key} = {value:g} is below its valid range (>= {lo:g})")
    return problems


def run_completed(docs: Iterable[Doc]) -> bool:
    """True when the run has a successful stop document and at least one event."""
    has_event = False
    for name, doc in docs:
        if name in ("event", "event_page"):
            has_event = True
        if name == "stop":
            return has_event and doc.get("exit_status") == "success"
    return False


def replay(docs: Iterable[Doc], callback: Callable[[str, dict[str, Any]], Any]) -> int:
    """Send stored documents through any bluesky callback (e.g. LiveTable, a
    serializer, a plotting callback). Returns how many were sent."""
    n = 0
    for name, doc in docs:
        callback(name, doc)
        n += 1
    return n
