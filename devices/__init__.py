"""ophyd devices: simulated twins of :mod:`simulators` and the safety envelope."""

from .safety import EnvelopeViolation, Limit, SafetyEnvelope, guard
from .sim import (
    FlowReactor,
    SimReading,
    SimSetpoint,
    SimulatedInstrument,
    sim_device_class,
)

__all__ = [
    "ElectrolyteFormulation",
    "EnvelopeViolation",
    "FlowReactor",
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
