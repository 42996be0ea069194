"""ophyd devices: simulated twins of :mod:`simulators` and the safety envelope."""

import importlib
from typing import Any

# Imported on first use (PEP 562), so that ``python -m devices.epics_ioc`` (caproto and the
# simulators only) never loads ophyd, whose EPICS client would open a socket on all interfaces.
_WHERE = {
    "EnvelopeViolation": "safety",
    "Limit": "safety",
    "SafetyEnvelope": "safety",
    "guard": "safety",
    "ElectrolyteFormulation": "sim",
    "FlowReactor": "sim",
    "RareEarthExtraction": "sim",
    "SimReading": "sim",
    "SimSetpoint": "sim",
    "SimulatedInstrument": "sim",
    "ThinFilmDeposition": "sim",
    "XraySampleAlignment": "sim",
    "sim_device_class": "sim",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


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
