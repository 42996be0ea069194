"""Reading results out of event-model documents, and replaying stored runs.

One code path serves every executor: results are taken from the run's
documents, whether they came from an in-process RunEngine or a remote one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["readings_from_documents", "run_completed", "replay"]

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
