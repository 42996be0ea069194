"""ThinFilmDeposition physics."""

from __future__ import annotations

import numpy as np
import pytest

from simulators import ThinFilmDeposition
from simulators import thin_film as tf


@pytest.fixture
def sim():
    return ThinFilmDeposition(noise=0.0, drift=0.0)


def test_rate_linear_in_power_and_scattered_by_gas(sim):
    power = np.array([50.0, 100.0, 200.0, 400.0])
    rate = sim.truth(power=power, pressure=5.0)["deposition_rate"]
    assert np.allclose(rate / power, rate[0] / power[0])
    rate_p = sim.truth(pressure=np.linspace(1, 20, 10))["deposition_rate"]
    assert np.all(np.diff(rate_p) < 0)
    out = sim.truth(time=np.array([10.0, 100.0, 600.0]))
    assert np.allclose(out["thickness"], out["deposition_rate"] * np.array([10.0, 100.0, 600.0]))


def test_resistivity_size_effects(sim):
    rng = np.random.default_rng(0)
    pts = {n: rng.uniform(i.low, i.high, 1000) for n, i in ThinFilmDeposition.INPUTS.items()}
    out = sim.truth(**pts)
    assert np.all(out["resistivity"] > tf.RHO0)  # never below bulk copper
    assert np.all(out["roughness"] > 0)
    # thicker continuous films conduct better (surface + grain-boundary scattering)
    rho_t = sim.truth(
        power=300.0, pressure=4.0, substrate_temperature=200.0, time=np.linspace(30, 600, 8)
    )["resistivity"]
    assert np.all(np.diff(rho_t) < 0)
    # Mayadas-Shatzkes: small grains -> large resistivity
    assert tf._ms_factor(np.array([0.01]))[0] == pytest.approx(1 - 1.5 * 0.01, abs=1e-3)
    assert tf._ms_factor(np.array([10.0]))[0] < 0.1


def test_temperature_tradeoff_and_dewetting(sim):
    temps = np.linspace(25, 500, 20)
    thick = sim.truth(power=300.0, pressure=4.0, time=600.0, substrate_temperature=temps)
    i = int(np.argmin(thick["resistivity"]))
    assert 0 < i < len(temps) - 1  # grain growth helps, oxidation / agglomeration hurt
    thin = sim.truth(power=100.0, pressure=4.0, time=60.0, substrate_temperature=temps)
    # a thin film dewets at high temperature: rough and resistive
    assert thin["roughness"][-1] > 3 * thin["roughness"][0]
    assert thin["resistivity"][-1] > 2 * thin["resistivity"][:10].min()


def test_island_films_are_resistive_and_clipped():
    sim = ThinFilmDeposition(noise=0.0, drift=0.0)
    for name, value in (("power", 50.0), ("pressure", 20.0), ("time", 10.0)):
        sim.set(name, value)
    true = sim.truth(**sim.setpoints)
    assert true["thickness"] < 1.0 and true["resistivity"] > 1e3
    reading = sim.measure()
    assert reading["resistivity"] == min(true["resistivity"], 1e5)


def test_resistivity_optimum_documented():
    x, best = ThinFilmDeposition.optimum("resistivity", "minimize")
    assert best == pytest.approx(2.445, abs=0.002)
    assert x["power"] == pytest.approx(500.0) and x["time"] == pytest.approx(600.0)
    assert 2.0 < x["pressure"] < 5.0 and 200.0 < x["substrate_temperature"] < 400.0
    assert ThinFilmDeposition().truth()["resistivity"] > 3 * best


def test_target_erosion_budget(sim):
    sim.set("power", 400.0)
    sim.set("time", 300.0)
    sim.measure()
    assert 10.0 - sim.consumables()["target"] == pytest.approx(400.0 * 300.0 / 3.6e6)
