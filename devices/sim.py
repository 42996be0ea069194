"""Simulated twins: ophyd devices that wrap a simulator from :mod:`simulators`.

The simulator is the physics (a blocking "driver" with latency on a scalable
clock); this module is only wiring. Each input of the simulator becomes a
:class:`SimSetpoint` component (``Movable``: its ``set()`` returns a Status
that finishes when the simulated actuation does). Each output becomes a
:class:`SimReading` component (``Readable`` only). ``trigger()`` on the device
runs one measurement in a worker thread and publishes the outputs.

Simulator faults surface as failed Status objects carrying the simulator's
exception, so they reach the plan as they would from real hardware.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from ophyd import Component as Cpt
from ophyd import Device, Kind
from ophyd.signal import Signal, SignalRO
from ophyd.status import DeviceStatus, Status

import simulators
from simulators import Simulator

__all__ = [
    "SimSetpoint",
    "SimReading",
    "SimulatedInstrument",
    "sim_device_class",
    "FlowReactor",
    "ThinFilmDeposition",
    "XraySampleAlignment",
    "ElectrolyteFormulation",
    "RareEarthExtraction",
]


def _in_thread(status: Status, work: Callable[[], None]) -> Status:
    def run() -> None:
        try:
            work()
        except Exception as exc:  # a fault of the instrument: the Status carries it
            status.set_exception(exc)
        else:
            status.set_finished()

    threading.Thread(target=run, daemon=True, name="sim-device").start()
    return status


class SimSetpoint(Signal):
    """A settable input of a simulated instrument (``Movable``)."""

    def __init__(self, *args: Any, input_name: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.input_name = input_name

    @property
    def _sim(self) -> Simulator:
        return self.parent.simulator

    def get(self, **kwargs: Any) -> float:
        return float(self._sim.setpoints[self.input_name])

    def set(self, value: float, *, timeout: float | None = None, settle_time: float = 0) -> Status:
        status = Status(obj=self, timeout=timeout, settle_time=settle_time)

        def work() -> None:
            old = self.get()
            self._sim.set(self.input_name, float(value))
            Signal.put(self, float(value), force=True)
            self._run_subs(sub_type=self.SUB_VALUE, old_value=old, value=float(value))

        return _in_thread(status, work)

    def put(self, value: float, **kwargs: Any) -> None:
        self.set(value).wait()

    def describe(self) -> dict[str, dict[str, Any]]:
        d = super().describe()
        spec = self._sim.INPUTS[self.input_name]
        d[self.name].update(
            units=spec.units,
            lower_ctrl_limit=spec.low,
            upper_ctrl_limit=spec.high,
            dtype="number",
            shape=[],
            source=f"SIM:{type(self._sim).__name__}.{self.input_name}",
        )
        return d

    def read(self) -> dict[str, dict[str, Any]]:
        return {self.name: {"value": self.get(), "timestamp": self.timestamp}}


class SimReading(SignalRO):
    """A reading of a simulated instrument, refreshed by the device's ``trigger()``."""

    # SignalRO inherits a set() that only raises; without it the reading is not
    # (structurally) Movable, so bluesky and the controller never try to move it
    set = None  # type: ignore[assignment]

    def __init__(self, *args: Any, output_name: str, **kwargs: Any):
        kwargs.setdefault("value", float("nan"))
        super().__init__(*args, **kwargs)
        self.output_name = output_name

    def _publish(self, value: float) -> None:
        Signal.put(self, float(value), force=True)

    def describe(self) -> dict[str, dict[str, Any]]:
        d = super().describe()
        spec = self.parent.simulator.OUTPUTS[self.output_name]
        d[self.name].update(
            units=spec.units,
            dtype="number",
            shape=[],
            source=f"SIM:{type(self.parent.simulator).__name__}.{self.output_name}",
        )
        if math.isfinite(spec.saturation):  # a reading at this limit is saturated
            d[self.name]["upper_ctrl_limit"] = spec.saturation
        return d


class SimulatedInstrument(Device):
    """Base of every simulated twin: owns one simulator instance.

    Keyword arguments that the simulator takes (``seed``, ``noise``, ``drift``,
    ``time_scale``, ``faults``) go to it; the rest go to :class:`ophyd.Device`.
    """

    simulator_class: ClassVar[type[Simulator]]
    settables: ClassVar[tuple[str, ...]] = ()
    simulated: ClassVar[bool] = True
    _SIM_KWARGS = ("seed", "noise", "drift", "time_scale", "faults", "clock")

    def __init__(self, prefix: str = "", *, name: str, **kwargs: Any):
        sim_kwargs = {k: kwargs.pop(k) for k in self._SIM_KWARGS if k in kwargs}
        super().__init__(prefix, name=name, **kwargs)
        self.simulator: Simulator = self.simulator_class(**sim_kwargs)
        self._trigger_lock = threading.Lock()

    def trigger(self) -> DeviceStatus:
        status = DeviceStatus(self)

        def work() -> None:
            with self._trigger_lock:
                values = self.simulator.measure()
            for out in self.simulator_class.OUTPUTS:
                getattr(self, out)._publish(values[out])

        return _in_thread(status, work)

    def consumables(self) -> dict[str, float]:
        return dict(self.simulator.consumables())

    def get_state(self) -> dict[str, Any]:
        """A JSON snapshot of the simulator (clock, random state, setpoints, consumables)."""
        return self.simulator.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue exactly where a snapshot left off (used by ``genesis-lab resume``)."""
        self.simulator.set_state(state)
        for name in self.simulator_class.INPUTS:
            Signal.put(getattr(self, name), float(self.simulator.setpoints[name]), force=True)


def sim_device_class(
    sim_cls: type[Simulator], name: str | None = None
) -> type[SimulatedInstrument]:
    """Build the ophyd device class for a simulator: one component per input and output."""
    components: dict[str, Cpt] = {}
    for inp in sim_cls.INPUTS:
        components[inp] = Cpt(SimSetpoint, input_name=inp, kind=Kind.hinted)
    for out in sim_cls.OUTPUTS:
        components[out] = Cpt(SimReading, output_name=out, kind=Kind.hinted)
    cls_name = name or sim_cls.__name__
    attrs: dict[str, Any] = {
        "simulator_class": sim_cls,
        "settables": tuple(sim_cls.INPUTS),
        "__doc__": f"Simulated twin of :class:`simulators.{sim_cls.__name__}`.\n\n"
        + (sim_cls.__doc__ or ""),
        "__module__": __name__,
        **components,
    }
    return type(cls_name, (SimulatedInstrument,), attrs)


FlowReactor = sim_device_class(simulators.FlowReactor)
ThinFilmDeposition = sim_device_class(simulators.ThinFilmDeposition)
XraySampleAlignment = sim_device_class(simulators.XraySampleAlignment)
ElectrolyteFormulation = sim_device_class(simulators.ElectrolyteFormulation)
RareEarthExtraction = sim_device_class(simulators.RareEarthExtraction)
