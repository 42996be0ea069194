"""Genesis Lab instrument simulators: pure numpy/scipy models of laboratory
instruments with a virtual clock, noise, drift, consumables and injected faults.

No control-system dependencies (no bluesky/ophyd): the device layer wraps these.
"""

from .base import SATURATED_VALUE, Clock, Input, Output, Simulator
from .faults import FAULT_KINDS, FaultPlan, InstrumentDisconnected, InstrumentFault, InstrumentTimeout
from .reactor import FlowReactor

SIMULATORS: dict[str, type[Simulator]] = {
    "flow_reactor": FlowReactor,
}

__all__ = [
    "FAULT_KINDS",
    "SATURATED_VALUE",
    "SIMULATORS",
    "Clock",
    "FaultPlan",
    "FlowReactor",
    "Input",
    "InstrumentDisconnected",
    "InstrumentFault",
    "InstrumentTimeout",
    "Output",
    "Simulator",
]
