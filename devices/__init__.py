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


_SUBMODULES = ("dataset", "epics", "epics_ioc", "safety", "sim")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # ``import devices; devices.sim.FlowReactor``
        return importlib.import_module(f".{name}", __name__)
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBMODULES])


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
