"""ophyd devices: simulated twins of :mod:`simulators` and the safety envelope."""

from .safety import EnvelopeViolation, Limit, SafetyEnvelope, guard
from .sim import (
    ElectrolyteFormulation,
    FlowReactor,
    RareEarthExtraction,
    SimReading,
    SimSetpoint,
    SimulatedInstrument,
    ThinFilmDeposition,
    XraySampleAlignment,
    sim_device_class,
)

__all__ = [
    "ElectrolyteFormulation",
    "EnvelopeViolation",
    "FlowReactor",
    "RareEarthExtraction",
    "Limit",
    "SafetyEnvelope",
    "SimReading",
    "SimSetpoint",
    "SimulatedInstrument",
    "ThinFilmDeposition",
    "XraySampleAlignment",
    "guard",
    "sim_device_class",
]
