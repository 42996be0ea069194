"""Genesis Lab instrument simulators: pure numpy/scipy models of laboratory
instruments with a virtual clock, noise, drift, consumables and injected faults.

Only numpy and scipy are used; the control-system device layer wraps these models.
"""

from .base import SATURATED_VALUE, Clock, Input, Output, Simulator
from .electrolyte import ElectrolyteFormulation
from .extraction import RareEarthExtraction
from .faults import (
    FAULT_KINDS,
    FaultPlan,
    InstrumentDisconnected,
    InstrumentFault,
    InstrumentTimeout,
)
from .reactor import FlowReactor
from .thin_film import ThinFilmDeposition
from .xray import XraySampleAlignment

SIMULATORS: dict[str, type[Simulator]] = {
    "flow_reactor": FlowReactor,
    "thin_film": ThinFilmDeposition,
    "xray_alignment": XraySampleAlignment,
    "electrolyte": ElectrolyteFormulation,
    "rare_earth_extraction": RareEarthExtraction,
}

__all__ = [
    "FAULT_KINDS",
    "SATURATED_VALUE",
    "SIMULATORS",
    "Clock",
    "ElectrolyteFormulation",
    "FaultPlan",
    "FlowReactor",
    "Input",
    "InstrumentDisconnected",
    "InstrumentFault",
    "InstrumentTimeout",
    "Output",
    "RareEarthExtraction",
    "Simulator",
    "ThinFilmDeposition",
    "XraySampleAlignment",
]
