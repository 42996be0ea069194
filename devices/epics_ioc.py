"""Serve one instrument simulator over EPICS Channel Access (a caproto IOC).

The simulated twins in :mod:`devices.sim` skip the control system entirely.
This IOC puts it back: one simulator instance behind real Channel Access PVs,
so that the EPICS devices of :mod:`devices.epics` -- the classes a lab engineer
points at real hardware -- can be exercised end to end on one machine::

    python -m devices.epics_ioc --instrument flow_reactor --prefix SIM:R1: --time-scale 0.001

PVs
---
Every PV name is the prefix ``P`` followed by a name: ``$(P)temperature`` is
``SIM:R1:temperature`` for the prefix ``SIM:R1:``.  For every simulator input
``IN`` (e.g. ``temperature``):

``$(P)IN``
    setpoint (double; units, precision, control limits = the instrument's
    physical range).  A put runs ``simulator.set()`` in a worker thread; with
    put-completion (``ca_put_callback``, ophyd ``put_complete=True``) the put
    completes when the simulated actuation has finished.
``$(P)IN_RBV``
    readback (double), updated when the move has finished.  With
    ``--readback-lag S`` the put completes at once instead, and the readback
    ramps to the setpoint over ``S`` seconds (the simulator moves at the end),
    like a controller whose put only hands over a new setpoint.  A move the
    instrument refused leaves the readback where it was, in ``WRITE`` alarm
    (severity ``MAJOR``); a good move clears the alarm.
``$(P)IN_DMOV``
    done moving: 0 while the actuation runs, 1 otherwise.

For every simulator output ``OUT`` (e.g. ``yield_pct``):

``$(P)OUT``
    the reading (double, read-only, with units).  Where the detector
    saturates, the upper control (and display) limit is the saturation and the
    lower control limit ``-1e30`` (none), and a saturated reading is in
    ``HIHI`` alarm; otherwise no limits (0, 0).

Instrument-wide:

``$(P)ACQUIRE``
    write 1 to take one measurement.  It reads 1 while the measurement runs
    and returns to 0 when it is over; the put completes at that moment (after
    the outputs, ``STATUS`` and ``ERROR`` have been updated).
``$(P)STATUS``
    enum ``OK`` / ``FAULT`` / ``TRANSIENT``: outcome of the last failed
    operation (``TRANSIENT``: a retry may succeed).  Reset to ``OK`` when a
    measurement starts.
``$(P)ERROR``
    char waveform (read it as a string): message of the last fault, ``''`` if
    none.  Reset when a measurement starts.
``$(P)BUSY``
    1 while any actuation or measurement runs.
``$(P)EXPERIMENT``
    number of completed measurements.

Units are the simulator's, shortened where they exceed the 8 bytes Channel
Access allows (:func:`ca_units`: ``kg m^-3 h^-1`` is served as ``kg/m3/h``).

Only loopback (127.0.0.1) is served unless ``--interfaces`` says otherwise;
beacons then go to loopback only as well.  The line ``IOC ready ...`` on
stdout tells a supervising process that the server is listening.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from caproto import AlarmSeverity, AlarmStatus, ChannelType
from caproto.server import PVGroup, pvproperty, run

import simulators
from simulators import SATURATED_VALUE, FaultPlan, Simulator

__all__ = [
    "STATUS_STRINGS",
    "ca_units",
    "SimulatorIOC",
    "ioc_class",
    "make_ioc",
    "parse_fault_at",
    "parse_refuse",
    "main",
]

log = logging.getLogger("devices.epics_ioc")

#: values of the ``STATUS`` enum PV
STATUS_STRINGS = ("OK", "FAULT", "TRANSIENT")
OK, FAULT, TRANSIENT = range(3)
#: longest ``ERROR`` message served (characters)
ERROR_LENGTH = 256
LOOPBACK = "127.0.0.1"
#: Channel Access carries at most 8 bytes of engineering units
CA_UNITS_LENGTH = 8
_SHORT_UNITS = {"kg m^-3 h^-1": "kg/m3/h"}


def ca_units(units: str) -> str:
    """``units`` as they fit in a CA ``units`` field (8 bytes): known abbreviations, else cut."""
    if len(units.encode()) <= CA_UNITS_LENGTH:
        return units
    short = _SHORT_UNITS.get(units, units)
    return short.encode()[:CA_UNITS_LENGTH].decode(errors="ignore")


class SimulatorIOC(PVGroup):
    """The PVs every instrument has; :func:`ioc_class` adds its inputs and outputs."""

    simulator_class: ClassVar[type[Simulator]]
    input_attrs: ClassVar[dict[str, tuple[str, str, str]]] = {}
    output_attrs: ClassVar[dict[str, str]] = {}

    acquire = pvproperty(
        name="ACQUIRE",
        value=0,
        dtype=int,
        doc="write 1 to measure; back to 0 (and the put completes) when done",
    )
    status = pvproperty(
        name="STATUS",
        value=STATUS_STRINGS[OK],
        dtype=ChannelType.ENUM,
        enum_strings=STATUS_STRINGS,
        read_only=True,
        doc="outcome of the last failed operation (OK, FAULT or TRANSIENT)",
    )
    error = pvproperty(
        name="ERROR",
        value="",
        dtype=ChannelType.CHAR,
        max_length=ERROR_LENGTH,
        string_encoding="utf-8",
        read_only=True,
        doc="message of the last fault, '' if none",
    )
    busy = pvproperty(
        name="BUSY",
        value=0,
        dtype=int,
        read_only=True,
        doc="1 while an actuation or a measurement runs",
    )
    experiment = pvproperty(
        name="EXPERIMENT", value=0, dtype=int, read_only=True, doc="completed measurements"
    )

    def __init__(
        self, prefix: str, *, simulator: Simulator, readback_lag: float = 0.0, **kwargs: Any
    ):
        super().__init__(prefix, **kwargs)
        self.simulator = simulator
        if not (math.isfinite(readback_lag) and readback_lag >= 0):
            raise ValueError(f"readback_lag must be a number of seconds >= 0, not {readback_lag}")
        self.readback_lag = float(readback_lag)
        #: input -> [(low, high)]: setpoints the instrument refuses for good (a vendor's rule)
        self.refuse: dict[str, list[tuple[float, float]]] = {}
        self._busy_count = 0
        self._ramps: dict[str, asyncio.Task[None]] = {}

    # ------------------------------------------------------------ helpers
    def pv(self, attr: str) -> Any:
        return getattr(self, attr)

    async def _call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking simulator call in a worker thread (it sleeps the scaled latency).

        Daemon threads: stopping the IOC never waits for a long simulated move.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def deliver(result: Any, exc: BaseException | None) -> None:
            if future.done():  # the putter was cancelled (IOC shutting down)
                return
            if exc is None:
                future.set_result(result)
            else:
                future.set_exception(exc)

        def work() -> None:
            result, error = None, None
            try:
                result = func(*args)
            except BaseException as exc:  # handed to the putter, which reports it
                error = exc
            try:
                loop.call_soon_threadsafe(deliver, result, error)
            except RuntimeError:  # the event loop is closed: the IOC stopped
                pass

        threading.Thread(target=work, daemon=True, name="simulator").start()
        return await future

    async def _enter(self) -> None:
        self._busy_count += 1
        if self._busy_count == 1:
            await self.busy.write(1)

    async def _leave(self) -> None:
        self._busy_count -= 1
        if self._busy_count == 0:
            await self.busy.write(0)

    async def _report_fault(self, exc: BaseException) -> None:
        code = TRANSIENT if getattr(exc, "retryable", False) else FAULT
        message = str(exc) or type(exc).__name__
        log.warning("%s: %s", STATUS_STRINGS[code], message)
        await self.status.write(STATUS_STRINGS[code])
        await self.error.write(message[: ERROR_LENGTH - 1])

    # ------------------------------------------------------------ actions
    async def move(self, name: str, value: float) -> float:
        """Putter of the setpoint of input ``name``; returns the value the setpoint keeps.

        With a ``readback_lag`` the put completes at once and the move goes on afterwards,
        as with a temperature controller (see :meth:`_ramp`).
        """
        _, rbv_attr, dmov_attr = self.input_attrs[name]
        rbv, dmov = self.pv(rbv_attr), self.pv(dmov_attr)
        for low, high in self.refuse.get(name, ()):
            if low <= float(value) <= high:
                return await self._refuse(name, value, (low, high), rbv)
        if self.readback_lag > 0:
            running = self._ramps.pop(name, None)
            if running is not None:
                running.cancel()  # a new setpoint supersedes the ramp under way
            # taken: an earlier refusal's WRITE alarm no longer describes this input
            await rbv.write(rbv.value, status=AlarmStatus.NO_ALARM, severity=AlarmSeverity.NO_ALARM)
            self._ramps[name] = asyncio.get_running_loop().create_task(self._ramp(name, value))
            return float(value)
        await self._enter()
        try:
            await dmov.write(0)
            return await self._actuate(name, value, rbv)
        finally:
            await dmov.write(1)
            await self._leave()

    async def _actuate(self, name: str, value: float, rbv: Any) -> float:
        """Move the simulator and show the outcome on the readback: the new value without an
        alarm, or, refused or failed (nothing moved), the value kept in WRITE alarm."""
        try:
            await self._call(self.simulator.set, name, float(value))
        except Exception as exc:
            await self._report_fault(exc)
            kept = float(self.simulator.setpoints[name])
            await self._write_refused(rbv, kept)
            return kept
        now = float(self.simulator.setpoints[name])
        await rbv.write(now, status=AlarmStatus.NO_ALARM, severity=AlarmSeverity.NO_ALARM)
        return now

    @staticmethod
    async def _write_refused(rbv: Any, kept: float) -> None:
        """Put the readback in WRITE alarm.  Without ``verify_value=False`` caproto replaces
        the status with the one its limit check computes whenever that differs from the
        current alarm, so a second refusal in a row read back as NO_ALARM."""
        await rbv.write(
            kept,
            verify_value=False,
            status=AlarmStatus.WRITE,
            severity=AlarmSeverity.MAJOR_ALARM,
        )

    async def _refuse(self, name: str, value: float, band: tuple[float, float], rbv: Any) -> float:
        """Refuse a setpoint as a vendor controller does: FAULT, readback kept, WRITE alarm."""
        low, high = band
        message = f"{name} {value:g} refused: the controller does not accept [{low:g}, {high:g}]"
        log.warning("FAULT: %s", message)
        await self.status.write(STATUS_STRINGS[FAULT])
        await self.error.write(message[: ERROR_LENGTH - 1])
        kept = float(self.simulator.setpoints[name])
        await self._write_refused(rbv, kept)
        return kept

    async def _ramp(self, name: str, value: float) -> None:
        """Ramp the readback of ``name`` to ``value`` over ``readback_lag`` seconds, then move
        the simulator there: a measurement taken meanwhile sees the old state, as a sample
        does before its controller has settled."""
        _, rbv_attr, dmov_attr = self.input_attrs[name]
        rbv, dmov = self.pv(rbv_attr), self.pv(dmov_attr)
        await self._enter()
        try:
            await dmov.write(0)
            start, steps = float(rbv.value), 10
            for k in range(1, steps + 1):
                await asyncio.sleep(self.readback_lag / steps)
                if k < steps:
                    await rbv.write(start + (float(value) - start) * k / steps)
            await self._actuate(name, value, rbv)
        finally:
            await dmov.write(1)
            await self._leave()

    async def measure(self) -> None:
        """Take one measurement; outputs, STATUS and ERROR are updated before it returns."""
        await self._enter()
        try:
            await self.status.write(STATUS_STRINGS[OK])
            await self.error.write("")
            try:
                values = await self._call(self.simulator.measure)
            except Exception as exc:
                await self._report_fault(exc)
                return
            for name, attr in self.output_attrs.items():
                value = float(values[name])
                sat = self.simulator.OUTPUTS[name].saturation
                saturated = math.isfinite(sat) and value >= sat
                await self.pv(attr).write(
                    value,
                    verify_value=False,  # NaN and out-of-range readings are data too
                    status=AlarmStatus.HIHI if saturated else AlarmStatus.NO_ALARM,
                    severity=AlarmSeverity.MAJOR_ALARM if saturated else AlarmSeverity.NO_ALARM,
                )
            await self.experiment.write(int(self.simulator.experiment))
        finally:
            await self._leave()

    @acquire.putter
    async def acquire(self, instance: Any, value: int) -> int:
        if not value:
            return 0
        await instance.write(1, verify_value=False)  # visible to monitors while it runs
        await self.measure()
        return 0

    # ------------------------------------------------------------ listing
    def pv_table(self) -> list[tuple[str, str, str]]:
        """(PV name, type, units) of every PV served."""
        rows = []
        for pvname, channel in self.pvdb.items():
            units = getattr(channel, "units", "") or ""
            rows.append((pvname, channel.data_type.name, units))
        return rows


def _input_putter(name: str) -> Callable[..., Any]:
    async def put(group: SimulatorIOC, instance: Any, value: float) -> float:
        return await group.move(name, value)

    put.__name__ = f"put_{name}"
    return put


def ioc_class(sim_cls: type[Simulator]) -> type[SimulatorIOC]:
    """The PVGroup class of one instrument: the shared PVs plus its inputs and outputs."""
    attrs: dict[str, Any] = {"simulator_class": sim_cls, "__module__": __name__}
    input_attrs: dict[str, tuple[str, str, str]] = {}
    output_attrs: dict[str, str] = {}
    for name, inp in sim_cls.INPUTS.items():
        sp, rbv, dmov = f"in_{name}", f"in_{name}_rbv", f"in_{name}_dmov"
        limits = dict(
            lower_ctrl_limit=float(inp.low),
            upper_ctrl_limit=float(inp.high),
            lower_disp_limit=float(inp.low),
            upper_disp_limit=float(inp.high),
        )
        attrs[sp] = pvproperty(
            put=_input_putter(name),
            name=name,
            alarm_group=f"in:{name}",
            value=float(inp.default),
            dtype=float,
            units=ca_units(inp.units),
            precision=4,
            doc=f"setpoint: {inp.description}".strip(),
            **limits,
        )
        attrs[rbv] = pvproperty(
            name=f"{name}_RBV",
            alarm_group=f"{name}_RBV",
            value=float(inp.default),
            dtype=float,
            read_only=True,
            units=ca_units(inp.units),
            precision=4,
            doc=f"readback of {name}",
            **limits,
        )
        attrs[dmov] = pvproperty(
            name=f"{name}_DMOV",
            alarm_group=f"{name}_DMOV",
            value=1,
            dtype=int,
            read_only=True,
            doc=f"1 when {name} is not moving",
        )
        input_attrs[name] = (sp, rbv, dmov)
    for name, out in sim_cls.OUTPUTS.items():
        attr = f"out_{name}"
        limits = {}  # none declared (EPICS: lower == upper)
        if math.isfinite(out.saturation):  # the detector's limit; no lower limit
            limits = dict(
                upper_ctrl_limit=float(out.saturation),
                lower_ctrl_limit=-SATURATED_VALUE,
                upper_disp_limit=float(out.saturation),
            )
        attrs[attr] = pvproperty(
            name=name,
            alarm_group=f"out:{name}",
            value=math.nan,
            dtype=float,
            read_only=True,
            units=ca_units(out.units),
            precision=6,
            doc=out.description,
            **limits,
        )
        output_attrs[name] = attr
    attrs["input_attrs"] = input_attrs
    attrs["output_attrs"] = output_attrs
    return type(f"{sim_cls.__name__}IOC", (SimulatorIOC,), attrs)


def make_ioc(
    instrument: str, prefix: str, *, readback_lag: float = 0.0, **sim_kwargs: Any
) -> SimulatorIOC:
    """An IOC serving a new ``SIMULATORS[instrument]`` built with ``sim_kwargs``."""
    try:
        sim_cls = simulators.SIMULATORS[instrument]
    except KeyError:
        raise ValueError(
            f"unknown instrument {instrument!r}; choose one of: {', '.join(simulators.SIMULATORS)}"
        ) from None
    return ioc_class(sim_cls)(prefix, simulator=sim_cls(**sim_kwargs), readback_lag=readback_lag)


def parse_fault_at(text: str) -> tuple[int, str]:
    """``"3:trigger_error"`` -> ``(3, "trigger_error")`` (for ``--faults-at``)."""
    index, sep, kind = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: write EXPERIMENT:KIND, e.g. 0:trigger_error")
    try:
        return int(index), kind.strip()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {index!r} is not an experiment index"
        ) from None


def parse_refuse(text: str) -> tuple[str, float, float]:
    """``"temperature=100:140"`` -> ``("temperature", 100.0, 140.0)`` (for ``--refuse``)."""
    name, sep, band = text.partition("=")
    low, sep2, high = band.partition(":")
    try:
        if not (sep and sep2):
            raise ValueError
        lo, hi = float(low), float(high)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write INPUT=LOW:HIGH, e.g. temperature=100:140"
        ) from None
    return name.strip(), min(lo, hi), max(lo, hi)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m devices.epics_ioc",
        description="Serve one Genesis Lab instrument simulator over EPICS Channel Access.",
    )
    p.add_argument(
        "--instrument",
        required=True,
        choices=sorted(simulators.SIMULATORS),
        help="which simulator to serve",
    )
    p.add_argument("--prefix", required=True, help="PV prefix, e.g. SIM:R1:")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=1.0, help="noise factor (0 = noise-free)")
    p.add_argument("--drift", type=float, default=1.0, help="drift factor (0 = no drift)")
    p.add_argument(
        "--time-scale",
        type=float,
        default=0.0,
        metavar="X",
        help="wall seconds per lab second (0 = instant, 1 = real time)",
    )
    p.add_argument(
        "--readback-lag",
        type=float,
        default=0.0,
        metavar="S",
        help="complete setpoint puts at once and ramp the readback over S wall seconds, "
        "as a temperature controller does (0 = the put completes when the move is done)",
    )
    p.add_argument(
        "--refuse",
        type=parse_refuse,
        action="append",
        default=[],
        metavar="IN=LOW:HIGH",
        help="refuse setpoints of input IN in [LOW, HIGH] for good (FAULT, readback kept in "
        "WRITE alarm), as a vendor controller refuses a setting (repeatable)",
    )
    p.add_argument(
        "--faults-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="probability of a random fault per attempt",
    )
    p.add_argument(
        "--faults-kinds",
        default=None,
        metavar="K1,K2",
        help=f"kinds of random faults (default all: {','.join(simulators.FAULT_KINDS)})",
    )
    p.add_argument(
        "--faults-at",
        type=parse_fault_at,
        action="append",
        default=[],
        metavar="N:KIND",
        help="fault KIND on the first attempt of experiment N (repeatable), e.g. 0:trigger_error",
    )
    p.add_argument("--faults-seed", type=int, default=None, help="seed of random faults")
    p.add_argument(
        "--interfaces",
        nargs="+",
        default=[LOOPBACK],
        metavar="ADDR",
        help="interfaces to serve on (default: 127.0.0.1 only)",
    )
    p.add_argument("--list-pvs", action="store_true", help="print the PVs served at startup")
    p.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started this one ends (for test harnesses)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    g.add_argument("-v", "--verbose", action="store_true", help="caproto's own log too")
    return p


class _BeaconNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to send beacon")


def _loopback_only(interfaces: Sequence[str]) -> bool:
    return all(i.startswith("127.") or i in ("localhost", "::1") for i in interfaces)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    logging.getLogger("caproto").setLevel(logging.INFO if args.verbose else logging.WARNING)
    # with nobody listening for beacons (no CA repeater: usual on a workstation) every
    # beacon logs a traceback; they are optional, so keep that out of the log
    logging.getLogger("caproto.ctx").addFilter(_BeaconNoise())

    faults: dict[str, Any] = {"rate": args.faults_rate, "at": dict(args.faults_at)}
    if args.faults_kinds:
        faults["kinds"] = tuple(k.strip() for k in args.faults_kinds.split(",") if k.strip())
    if args.faults_seed is not None:
        faults["seed"] = args.faults_seed
    try:
        plan = FaultPlan.from_dict({"seed": args.seed, **faults})
        ioc = make_ioc(
            args.instrument,
            args.prefix,
            seed=args.seed,
            noise=args.noise,
            drift=args.drift,
            time_scale=args.time_scale,
            faults=plan,
            readback_lag=args.readback_lag,
        )
        for name, low, high in args.refuse:
            if name not in ioc.input_attrs:
                raise ValueError(
                    f"--refuse {name}: not an input of {args.instrument} "
                    f"(its inputs: {', '.join(ioc.input_attrs)})"
                )
            ioc.refuse.setdefault(name, []).append((low, high))
    except ValueError as exc:
        parser.error(str(exc))

    if _loopback_only(args.interfaces):
        # beacons announce the server; keep them on loopback too (caproto reads these at start)
        os.environ.setdefault("EPICS_CAS_AUTO_BEACON_ADDR_LIST", "NO")
        os.environ.setdefault("EPICS_CAS_BEACON_ADDR_LIST", LOOPBACK)
    if "EPICS_CA_REPEATER_PORT" in os.environ:  # as in EPICS base: beacons go to the repeater
        os.environ.setdefault("EPICS_CAS_BEACON_PORT", os.environ["EPICS_CA_REPEATER_PORT"])

    if args.list_pvs:
        for name, dtype, units in ioc.pv_table():
            print(f"{name:40s} {dtype:8s} {units}")

    port = os.environ.get("EPICS_CA_SERVER_PORT", "5064")

    parent = os.getppid()

    async def ready(async_lib: Any) -> None:
        print(
            f"IOC ready: {args.instrument} as {args.prefix}* ({len(ioc.pvdb)} PVs) on "
            f"{' '.join(args.interfaces)}, CA server port {port}",
            flush=True,
        )
        while args.exit_with_parent:
            await asyncio.sleep(0.5)
            if os.getppid() != parent:  # orphaned: whoever started us is gone
                log.warning("the parent process %d ended; stopping", parent)
                os._exit(0)

    run(ioc.pvdb, interfaces=list(args.interfaces), startup_hook=ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
