"""EPICS Channel Access devices: what a lab engineer points at real hardware.

Each class talks to one instrument IOC through PVs named ``$(P)NAME``, where
``P`` is the ``prefix`` (e.g. ``SIM:R1:``, giving ``SIM:R1:temperature``):

==================  =========================================================
``$(P)IN``          setpoint of input ``IN`` (written with put-completion)
``$(P)IN_RBV``      its readback (what :meth:`get` and :meth:`read` return)
``$(P)OUT``         reading ``OUT``, refreshed by a measurement; its control
                    limits, if any, are its valid range (the upper one: the
                    detector's saturation)
``$(P)ACQUIRE``     write 1 to measure; the put completes when it is done
``$(P)STATUS``      enum ``OK`` / ``FAULT`` / ``TRANSIENT`` of the last fault
``$(P)ERROR``       char waveform: the last fault's message ('' if none)
``$(P)BUSY``        1 while anything runs (for operator screens)
==================  =========================================================

``IN`` and ``OUT`` are the input and output names of the matching simulator in
:mod:`simulators`, so readings (``reactor_yield_pct``...) have the same keys as
the simulated twin's of :mod:`devices.sim` and a campaign runs unchanged on
either.  :mod:`devices.epics_ioc` serves exactly these PVs from a simulator;
an IOC for real hardware has to serve the same names (or subclass and rename
the components).

Moves (``Movable``): :meth:`EpicsSetpoint.set` writes the setpoint with
put-completion; its Status finishes when the IOC reports the put complete,
i.e. the actuation is over.  An IOC whose put completes before the readback
has arrived (a controller that only takes the new setpoint) needs the
``tolerance`` keyword: the move then also waits until the readback is within
it, bounded by ``move_timeout``.  A move the instrument refused leaves the readback
in ``WRITE`` alarm; the Status then fails with the IOC's ``ERROR`` message.
Control limits of the setpoint PV are checked before writing.

Measurement (``Triggerable``): :meth:`EpicsInstrument.trigger` writes
``ACQUIRE=1`` with put-completion; its Status finishes when ACQUIRE is back to
0, or fails with :class:`EpicsInstrumentError` (the ``ERROR`` message;
``retryable`` when ``STATUS`` is ``TRANSIENT``) if the measurement faulted.
Losing the IOC while waiting fails the Status with :class:`ConnectionError`.

Limits enforced by the controller come from the lab file, never from here
(see ``docs/decisions/0003``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import ophyd
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO, Kind
from ophyd.status import DeviceStatus, Status, StatusBase
from ophyd.utils import InvalidState
from ophyd.utils.epics_pvs import AlarmStatus

import simulators
from simulators import Simulator

__all__ = [
    "EpicsInstrumentError",
    "EpicsSetpoint",
    "EpicsReading",
    "EpicsInstrument",
    "epics_device_class",
    "EpicsFlowReactor",
    "EpicsThinFilmDeposition",
    "EpicsXraySampleAlignment",
    "EpicsElectrolyteFormulation",
    "EpicsRareEarthExtraction",
]

#: seconds between checks of the connection while waiting for a put to complete
_POLL = 0.05
_DISCONNECT_GRACE = 2.0  # s to wait for libca to report a dropped circuit after a failed read


class EpicsInstrumentError(RuntimeError):
    """The IOC reported that an operation failed (message from its ``ERROR`` PV).

    ``retryable`` is True when the IOC called the fault transient (``STATUS`` =
    ``TRANSIENT``): repeating the operation may succeed.  ``refused`` is True when
    the instrument refused a setpoint for good (not transient): the controller
    records the experiment as refused and its agent learns to avoid the point.
    """

    def __init__(
        self, message: str, *, retryable: bool = False, kind: str = "epics", refused: bool = False
    ):
        super().__init__(message)
        self.retryable = retryable
        self.kind = kind
        self.refused = refused


def _settle(status: StatusBase, exc: BaseException | None = None) -> None:
    """Finish ``status`` (or fail it with ``exc``) unless it is already done (timed out)."""
    if status.done:
        return
    try:
        if exc is None:
            status.set_finished()
        else:
            status.set_exception(exc)
    except InvalidState:
        pass


def _in_ca_thread(status: StatusBase, work: Callable[[], None], name: str) -> StatusBase:
    """Run ``work`` in a thread that shares the control layer's CA context; settle ``status``."""

    def run() -> None:
        try:
            work()
        except Exception as exc:
            _settle(status, exc)
        else:
            _settle(status)

    ophyd.cl.thread_class(target=run, daemon=True, name=name).start()
    return status


def _put_and_wait(
    signal: EpicsSignal, value: Any, *, timeout: float | None, abandon: StatusBase
) -> None:
    """Write ``value`` with put-completion and block until the IOC reports completion.

    Raises ``ConnectionError`` if the IOC goes away meanwhile, ``TimeoutError``
    after ``timeout`` seconds; returns early (silently) if ``abandon`` is done.
    """
    done = threading.Event()
    _resync_write_access(signal)
    signal.put(value, use_complete=True, callback=lambda *a, **kw: done.set())
    deadline = None if timeout is None else time.monotonic() + timeout
    while not done.wait(_POLL):
        if abandon.done:
            return
        if not signal.connected:
            raise _lost(signal, value)
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(
                f"{signal.setpoint_pvname}: the write of {value!r} did not complete "
                f"within {timeout:g} s"
            )
    # libca also "completes" a put whose circuit dropped: tell that apart below


def _resync_write_access(signal: EpicsSignal) -> None:
    """Work around ophyd keeping ``write_access`` False after a lost and re-established
    circuit when the setpoint and readback are separate PVs: the access-rights callback of
    the setpoint PV does not always come again, and every later put raised ReadOnlyError
    although the PV itself reported write access.  The control layer is the authority."""
    pv = getattr(signal, "_write_pv", None)
    if (
        pv is not None
        and not signal.write_access
        and signal.connected
        and getattr(pv, "connected", False)
        and getattr(pv, "write_access", False)
    ):
        signal._metadata["write_access"] = True
        signal._run_metadata_callbacks()  # subscribers (GUIs) see it writable again


def _lost(signal: EpicsSignal, value: Any) -> ConnectionError:
    return ConnectionError(
        f"{signal.setpoint_pvname}: lost the connection to the IOC before the write of "
        f"{value!r} completed"
    )


def _after_put(signal: EpicsSignal, value: Any, read: Callable[[], Any]) -> Any:
    """``read()`` once a put completed; a failure because the IOC went away is a ConnectionError."""
    if not signal.connected:
        raise _lost(signal, value)
    try:
        return read()
    except Exception as exc:
        # a read that fails because the circuit just dropped can fail before libca has
        # reported the disconnect: give it a moment to tell the two apart
        deadline = time.monotonic() + _DISCONNECT_GRACE
        while signal.connected and time.monotonic() < deadline:
            time.sleep(_POLL)
        if not signal.connected:
            raise _lost(signal, value) from exc
        raise


class EpicsSetpoint(EpicsSignal):
    """A settable input: setpoint PV ``PREFIX``, readback PV ``PREFIX_RBV`` (``Movable``).

    :meth:`get` and :meth:`read` give the readback.  ``move_timeout`` (s, None =
    wait as long as the instrument needs) bounds one move.

    ``tolerance`` (and ophyd's ``rtolerance``): a move is over only once the
    readback is within ``tolerance + rtolerance * |readback|`` of the setpoint,
    after the put completed.  Give it for an IOC whose put completes as soon as
    it has taken the new setpoint while the readback is still on its way (a
    temperature controller): without it the measurement would start early.  Only
    an explicitly given value counts (:attr:`arrival_tolerance`), not the one
    ophyd derives from the PV's precision.
    """

    def __init__(
        self,
        prefix: str,
        *,
        readback_suffix: str = "_RBV",
        move_timeout: float | None = None,
        **kwargs: Any,
    ):
        kwargs.setdefault("put_complete", True)
        kwargs.setdefault("limits", True)
        super().__init__(prefix + readback_suffix, write_pv=prefix, **kwargs)
        self.move_timeout = move_timeout

    @property
    def arrival_tolerance(self) -> float | None:
        """How far the readback may end from the setpoint (the absolute ``tolerance``), or
        None when moves end at put completion.  The safety envelope allows a next step this
        much longer than ``max_step``; an ``rtolerance`` alone gives no such slack."""
        if self._tolerance is None and self.rtolerance is None:
            return None
        return float(self._tolerance or 0.0)

    def _arrived(self, value: float, readback: float) -> bool:
        tol = float(self._tolerance or 0.0) + float(self.rtolerance or 0.0) * abs(readback)
        return abs(readback - value) <= tol

    def _check_after_put(self, value: Any, status: StatusBase, deadline: float | None) -> None:
        """After put completion: fail if the IOC refused ``value`` (readback in WRITE alarm);
        with a tolerance, also wait until the readback is within it (see the class doc)."""
        settle = self.arrival_tolerance is not None and not isinstance(value, str)
        while True:
            info = _after_put(
                self,
                value,
                lambda: self._read_pv.get_with_metadata(
                    form="time", use_monitor=False, timeout=self.timeout
                ),
            )
            if info is None:
                raise TimeoutError(f"{self.pvname}: no readback after the move")
            readback = info.get("value")
            if info.get("status") == AlarmStatus.WRITE:
                raise self._refused(value, readback)  # also a controller giving up on the way
            if not settle or status.done:
                return
            if readback is not None and self._arrived(float(value), float(readback)):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.pvname}: the readback {readback!r} did not come within the "
                    f"tolerance {self.arrival_tolerance:g} of the setpoint {float(value):g} "
                    f"within move_timeout {self.move_timeout:g} s; raise move_timeout or "
                    "tolerance in the lab file if the instrument needs longer"
                )
            time.sleep(_POLL)

    def set(
        self,
        value: Any,
        *,
        timeout: float | None = None,
        settle_time: float | None = None,
        **kwargs: Any,
    ) -> Status:
        """Move to ``value``; the Status finishes when the IOC reports the move done."""
        status = Status(self, timeout=timeout, settle_time=settle_time)

        def work() -> None:
            start = time.monotonic()
            _put_and_wait(self, value, timeout=self.move_timeout, abandon=status)
            if status.done:
                return
            deadline = None if self.move_timeout is None else start + self.move_timeout
            self._check_after_put(value, status, deadline)
            self.get(use_monitor=False)  # refresh the cached readback

        return _in_ca_thread(status, work, name=f"move-{self.name}")

    def _refused(self, value: Any, readback: Any) -> EpicsInstrumentError:
        parent = self.parent
        message, retryable = ("", False)
        if isinstance(parent, EpicsInstrument):
            message, retryable = parent.last_fault()
        return EpicsInstrumentError(
            message
            or f"{self.setpoint_pvname}: the IOC refused {value!r} "
            f"(readback {readback!r}, in WRITE alarm)",
            retryable=retryable,
            kind="set_error",
            refused=not retryable,
        )


class EpicsReading(EpicsSignalRO):
    """A reading PV (read-only; refreshed by the instrument's measurement).

    ``describe()`` gives the PV's control limits as the reading's valid range,
    except when they are equal (EPICS for "no limits"): then there are none.
    """

    # EpicsSignalRO.set() only raises; without one the reading is not (structurally)
    # Movable, so nothing tries to move it (as for the simulated twins' readings)
    set = None  # type: ignore[assignment]

    def describe(self) -> dict[str, dict[str, Any]]:
        d = super().describe()
        desc = d[self.name]
        lo, hi = desc.get("lower_ctrl_limit"), desc.get("upper_ctrl_limit")
        if lo is not None and hi is not None and lo == hi:
            desc.pop("lower_ctrl_limit")
            desc.pop("upper_ctrl_limit")
        return d


class EpicsInstrument(Device):
    """An instrument IOC (see the module docstring for the PVs).

    Keyword arguments: ``prefix`` (e.g. ``"SIM:R1:"``), ``move_timeout`` and
    ``acquire_timeout`` (seconds; None = no limit), ``tolerance`` (how close the
    readback must come to the setpoint before a move is over: one number for
    every settable or ``{settable: number}``; None = a move is over when the IOC
    completes the put, see :class:`EpicsSetpoint`), the rest as for
    :class:`ophyd.Device`.
    """

    settables: ClassVar[tuple[str, ...]] = ()
    readings: ClassVar[tuple[str, ...]] = ()
    simulated: ClassVar[bool] = False

    acquire = Cpt(EpicsSignal, "ACQUIRE", put_complete=True, kind=Kind.omitted)
    fault_status = Cpt(EpicsSignalRO, "STATUS", string=True, kind=Kind.omitted)
    fault_message = Cpt(EpicsSignalRO, "ERROR", string=True, kind=Kind.omitted)
    busy = Cpt(EpicsSignalRO, "BUSY", kind=Kind.omitted)

    def __init__(
        self,
        prefix: str = "",
        *,
        name: str,
        move_timeout: float | None = None,
        acquire_timeout: float | None = None,
        tolerance: float | dict[str, float] | None = None,
        **kwargs: Any,
    ):
        tolerances = self._tolerances(tolerance)
        if tolerances and move_timeout is None:
            raise ValueError(
                "tolerance needs a move_timeout: without one, a readback that never comes "
                "within the tolerance would hold the campaign for ever"
            )
        for label, value in (("move_timeout", move_timeout), ("acquire_timeout", acquire_timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{label} must be a number of seconds > 0 (or None), not {value}")
        super().__init__(prefix, name=name, **kwargs)
        self.acquire_timeout = acquire_timeout
        for attr in self.settables:
            getattr(self, attr).move_timeout = move_timeout
            if attr in tolerances:
                getattr(self, attr).tolerance = tolerances[attr]

    @classmethod
    def _tolerances(cls, tolerance: float | dict[str, float] | None) -> dict[str, float]:
        """``tolerance`` as ``{settable: value}``; a bad name or value raises ValueError."""
        if tolerance is None:
            return {}
        if isinstance(tolerance, dict):
            given = dict(tolerance)
        else:
            given = dict.fromkeys(cls.settables, tolerance)
        unknown = sorted(set(given) - set(cls.settables))
        if unknown:
            raise ValueError(
                f"tolerance for {', '.join(map(repr, unknown))}: not a settable of "
                f"{cls.__name__} (its settables: {', '.join(cls.settables)})"
            )
        out = {}
        for attr, value in given.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(
                    f"tolerance of {attr!r} must be a number >= 0 in its units, not {value!r}"
                )
            out[attr] = float(value)
        return out

    def last_fault(self) -> tuple[str, bool]:
        """(message of the IOC's last fault, whether it is transient), read fresh."""
        state = str(self.fault_status.get(use_monitor=False))
        message = str(self.fault_message.get(use_monitor=False) or "").strip()
        return message, state == "TRANSIENT"

    def trigger(self) -> DeviceStatus:
        """Take one measurement: ACQUIRE=1 with put-completion, then check STATUS."""
        status = DeviceStatus(self, timeout=self.acquire_timeout)

        def work() -> None:
            _put_and_wait(self.acquire, 1, timeout=self.acquire_timeout, abandon=status)
            if status.done:
                return
            state = str(
                _after_put(self.acquire, 1, lambda: self.fault_status.get(use_monitor=False))
            )
            if state != "OK":
                message, retryable = self.last_fault()
                raise EpicsInstrumentError(
                    message or f"{self.prefix}ACQUIRE: the measurement failed ({state})",
                    retryable=retryable,
                    kind="trigger_error",
                )

        return _in_ca_thread(status, work, name=f"trigger-{self.name}")


def epics_device_class(sim_cls: type[Simulator], name: str | None = None) -> type[EpicsInstrument]:
    """The EPICS device class with one component per input and output of ``sim_cls``."""
    components: dict[str, Cpt] = {}
    for inp in sim_cls.INPUTS:
        components[inp] = Cpt(EpicsSetpoint, inp, kind=Kind.hinted)
    for out in sim_cls.OUTPUTS:
        components[out] = Cpt(EpicsReading, out, kind=Kind.hinted)
    cls_name = name or f"Epics{sim_cls.__name__}"
    doc = (
        f"{sim_cls.__name__} over EPICS Channel Access (PVs under ``prefix``).\n\n"
        f"Setpoints: {', '.join(sim_cls.INPUTS)}.  Readings: {', '.join(sim_cls.OUTPUTS)}.\n"
        f"Serve a simulated one with ``python -m devices.epics_ioc``."
    )
    attrs: dict[str, Any] = {
        "settables": tuple(sim_cls.INPUTS),
        "readings": tuple(sim_cls.OUTPUTS),
        "__doc__": doc,
        "__module__": __name__,
        **components,
    }
    return type(cls_name, (EpicsInstrument,), attrs)


EpicsFlowReactor = epics_device_class(simulators.FlowReactor)
EpicsThinFilmDeposition = epics_device_class(simulators.ThinFilmDeposition)
EpicsXraySampleAlignment = epics_device_class(simulators.XraySampleAlignment)
EpicsElectrolyteFormulation = epics_device_class(simulators.ElectrolyteFormulation)
EpicsRareEarthExtraction = epics_device_class(simulators.RareEarthExtraction)
