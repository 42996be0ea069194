"""Executors run one experiment plan and hand back its documents.

:class:`EmbeddedExecutor` runs plans on an in-process bluesky ``RunEngine``.
Every document is forwarded to a callback as it is emitted (the ledger stores
it at once), and the outcome is classified so that the controller can tell an
infrastructure fault (retry) from an instrument error or a refusal.

Ctrl-C: the campaign installs :class:`StopRequest` for its whole life. A
SIGINT sets the stop flag and, if a plan is running, hard-pauses the
RunEngine; the executor then aborts the run (the stop document says
``abort``) and reports ``interrupted``. A plan that has not started yet when
the signal comes is not started, and is reported ``interrupted`` too. A second
SIGINT raises ``KeyboardInterrupt`` as usual.

The stop document of an aborted run has an empty ``reason``: bluesky's
``run_wrapper`` closes an aborted run without the reason given to
``RunEngine.abort`` (blueapi issue #1306 reports the same). The ledger keeps the
reason on the experiment (``genesis-lab show N``).
"""

from __future__ import annotations

import contextlib
import io
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bluesky import RunEngine
from bluesky.utils import FailedStatus, RunEngineInterrupted

from devices.safety import EnvelopeViolation

__all__ = ["EmbeddedExecutor", "RunOutcome", "StopRequest", "classify"]

DocCallback = Callable[[str, dict[str, Any]], None]


@dataclass
class RunOutcome:
    status: str  # "success" | "failed" | "interrupted"
    uid: str | None = None
    documents: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: str | None = None
    failure_kind: str | None = None  # "infrastructure" | "instrument" | "refused"
    retryable: bool = False


# Ctrl-C, and what schedulers, `timeout`, `docker stop` and a closed terminal send
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class StopRequest:
    """Campaign-wide Ctrl-C (SIGINT) handling, also for SIGTERM and SIGHUP: the first signal
    stops cleanly (the running experiment is aborted and re-queued), the second at once."""

    def __init__(self) -> None:
        self.requested = False
        self._RE: RunEngine | None = None
        self._previous: dict[int, Any] = {}

    def attach(self, RE: RunEngine) -> None:
        self._RE = RE

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handler) for s in _STOP_SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, previous in self._previous.items():
            signal.signal(s, previous)
        self._previous = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        RE = self._RE
        if RE is not None and RE.state == "running":
            threading.Thread(target=self._pause, args=(RE,), daemon=True).start()

    @staticmethod
    def _pause(RE: RunEngine) -> None:
        try:
            RE.request_pause(defer=False)
        except Exception:
            pass


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions behind bluesky's wrappers, outermost first: through a
    FailedStatus to its status's exception, and along ``__cause__`` (or an unsuppressed
    ``__context__``)."""
    out = [exc]
    seen = {id(exc)}
    while True:
        cur = out[-1]
        nxt: Any = None
        if isinstance(cur, FailedStatus) and cur.args and hasattr(cur.args[0], "exception"):
            nxt = cur.args[0].exception()
        if not isinstance(nxt, BaseException):
            nxt = cur.__cause__ or (cur.__context__ if not cur.__suppress_context__ else None)
        if nxt is None or id(nxt) in seen:
            return out
        seen.add(id(nxt))
        out.append(nxt)


def _root(exc: BaseException) -> BaseException:
    """The instrument's own exception behind bluesky's wrappers."""
    return _chain(exc)[-1]


def classify(exc: BaseException) -> tuple[str, str, bool]:
    """(message, failure kind, retryable) for an exception raised by a run.

    The instrument's own exception decides, except that a timeout or lost connection
    anywhere in the chain (e.g. a device's ConnectionError raised from a low-level
    Channel Access error) makes the failure a retryable infrastructure one, with the
    device's message."""
    from ophyd.utils import LimitError

    chain = _chain(exc)
    root = chain[-1]
    msg = f"{type(root).__name__}: {root}"
    if isinstance(root, LimitError):
        # the instrument's own range: every waypoint lies between the current position
        # (within range) and the target, so the target is beyond it; learned like a refusal
        return msg, "refused", False
    if isinstance(root, EnvelopeViolation):
        # the targets passed the envelope before the run: a move refused on the way means
        # the instrument did not follow (a readback that lags or is broken)
        return f"refused mid-run by the safety envelope: {root}", "instrument", False
    if getattr(root, "infeasible", False):  # e.g. a combination a dataset never recorded
        return msg, "scientific", False
    if getattr(root, "refused", False):  # the instrument will not take this target
        return msg, "refused", False
    for e in reversed(chain):  # the innermost that says so: the device's own words
        if getattr(e, "retryable", False) or isinstance(e, TimeoutError | ConnectionError):
            return f"{type(e).__name__}: {e}", "infrastructure", True
    return msg, "instrument", False


class EmbeddedExecutor:
    """Runs plans in this process on one RunEngine."""

    kind = "embedded"

    def __init__(self, stop: StopRequest | None = None):
        self.RE = RunEngine({}, context_managers=[])
        self.stop = stop or StopRequest()
        self.stop.attach(self.RE)
        #: print the RunEngine's own notes ("Pausing...", "Aborting...") on stderr; the CLI
        #: shows them only with ``--verbose``
        self.show_notes = True

    def _notes(self) -> contextlib.AbstractContextManager:
        """Where the RunEngine's printed notes go: stderr (stdout is for results such as
        ``--json``), or nowhere."""
        return contextlib.redirect_stdout(sys.stderr if self.show_notes else io.StringIO())

    def run(self, plan: Any, on_document: DocCallback | None = None) -> RunOutcome:
        docs: list[tuple[str, dict[str, Any]]] = []

        def collect(name: str, doc: dict[str, Any]) -> None:
            docs.append((name, doc))
            if on_document is not None:
                on_document(name, doc)

        if self.stop.requested:
            # a stop signal that arrived after the experiment was marked running but before
            # the RunEngine started: abort it like one that arrived mid-run
            return RunOutcome("interrupted", None, [], "interrupted (Ctrl-C or a stop signal)")
        token = self.RE.subscribe(collect)
        try:
            try:
                # the RunEngine prints its own notes ("Pausing...", "Aborting...") to stdout;
                # stdout is for results (--json), so they go to stderr with the progress
                with self._notes():
                    self.RE(plan)
            except RunEngineInterrupted:
                with self._notes():
                    self.RE.abort(reason="interrupted (Ctrl-C or a stop signal)")
                return RunOutcome(
                    "interrupted", _uid(docs), docs, "interrupted (Ctrl-C or a stop signal)"
                )
            except Exception as exc:
                msg, kind, retryable = classify(exc)
                return RunOutcome("failed", _uid(docs), docs, msg, kind, retryable)
            status = _exit_status(docs)
            if status != "success":
                return RunOutcome(
                    "failed", _uid(docs), docs, f"run ended with {status}", "instrument"
                )
            return RunOutcome("success", _uid(docs), docs)
        finally:
            self.RE.unsubscribe(token)


def _uid(docs: list[tuple[str, dict[str, Any]]]) -> str | None:
    return next((d["uid"] for n, d in docs if n == "start"), None)


def _exit_status(docs: list[tuple[str, dict[str, Any]]]) -> str | None:
    return next((d.get("exit_status") for n, d in reversed(docs) if n == "stop"), None)
