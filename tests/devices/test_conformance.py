"""Every device class in devices/ follows the bluesky protocols, and its read()
and describe() agree."""

from __future__ import annotations

import inspect

import pytest
from bluesky.protocols import Movable, Readable, Triggerable
from ophyd import Device

import devices.sim
from devices.sim import SimulatedInstrument


def _sim_classes():
    return sorted(
        (
            obj
            for _, obj in inspect.getmembers(devices.sim, inspect.isclass)
            if issubclass(obj, SimulatedInstrument) and obj is not SimulatedInstrument
        ),
        key=lambda c: c.__name__,
    )


def _all_device_classes():
    import importlib
    import pkgutil

    found = set()
    for info in pkgutil.iter_modules(devices.__path__):
        if info.name.startswith("_") or info.name.endswith("_ioc"):
            continue
        mod = importlib.import_module(f"devices.{info.name}")
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if (
                issubclass(obj, Device)
                and obj.__module__ == mod.__name__
                and obj.__dict__.get("settables")
            ):
                found.add(obj)
    return sorted(found, key=lambda c: c.__name__)


def test_every_simulator_has_a_twin():
    import simulators

    twins = {c.simulator_class for c in _sim_classes()}
    assert set(simulators.SIMULATORS.values()) <= twins


@pytest.mark.parametrize("cls", _all_device_classes(), ids=lambda c: c.__name__)
def test_protocols(cls):
    dev = cls(name="dev", **({"prefix": "NOBODY:"} if not getattr(cls, "simulated", True) else {}))
    assert isinstance(dev, Readable) and isinstance(dev, Triggerable)
    assert dev.settables, "a device declares its settables for the lab file's limits"
    for comp in dev.settables:
        assert isinstance(getattr(dev, comp), Movable), comp
    dev.destroy()


@pytest.mark.parametrize("cls", _sim_classes(), ids=lambda c: c.__name__)
def test_read_and_describe_agree(cls):
    dev = cls(name="dev", seed=0, time_scale=0)
    dev.trigger().wait(timeout=10)
    reading, desc = dev.read(), dev.describe()
    assert set(reading) == set(desc)
    for key, d in desc.items():
        assert d["dtype"] == "number" and d["shape"] == [] and "units" in d, key
        assert isinstance(reading[key]["value"], float), key
        assert reading[key]["timestamp"] > 0
    assert set(dev.read_configuration()) == set(dev.describe_configuration())
    # outputs are read-only; inputs move and report where they went
    for out in cls.simulator_class.OUTPUTS:
        assert not isinstance(getattr(dev, out), Movable), out
    name = dev.settables[0]
    spec = cls.simulator_class.INPUTS[name]
    target = (spec.low + spec.high) / 2
    getattr(dev, name).set(target).wait(timeout=10)
    assert dev.read()[f"dev_{name}"]["value"] == pytest.approx(target)
    dev.destroy()
