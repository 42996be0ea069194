"""ElectrolyteFormulation physics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulators import ElectrolyteFormulation


@pytest.fixture
def sim():
    return ElectrolyteFormulation(noise=0.0, drift=0.0)


def test_fractions_are_normalised(sim):
    a = sim.truth(frac_ec=0.3, frac_emc=0.5, frac_dmc=0.2)
    b = sim.truth(frac_ec=0.6, frac_emc=1.0, frac_dmc=0.4)
    c = sim.truth(frac_ec=0.03, frac_emc=0.05, frac_dmc=0.02)
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-12) == pytest.approx(c[k], rel=1e-12)
    zero = sim.truth(frac_ec=0.0, frac_emc=0.0, frac_dmc=0.0)
    assert all(math.isnan(v) for v in zero.values())


def test_conductivity_maximum_in_salt_concentration(sim):
    m = np.linspace(0.2, 3.0, 57)
    kappa = sim.truth(salt_concentration=m)["conductivity"]
    i = int(np.argmax(kappa))
    assert 0.7 < m[i] < 1.3 and 7.0 < kappa[i] < 12.0
    eta = sim.truth(salt_concentration=m)["viscosity"]
    assert np.all(np.diff(eta) > 0)  # salt thickens the electrolyte


def test_temperature_vtf_and_freezing(sim):
    temps = np.linspace(-20, 60, 17)
    out = sim.truth(temperature=temps)
    assert np.all(np.diff(out["conductivity"]) > 0) and np.all(np.diff(out["viscosity"]) < 0)
    # VTF, not Arrhenius: the apparent activation energy grows on cooling
    ln_k = np.log(out["conductivity"])
    inv_t = 1.0 / (temps + 273.15)
    slopes = np.diff(ln_k) / np.diff(inv_t)
    assert abs(slopes[0]) > abs(slopes[-1])
    # EC-rich electrolyte freezes in the cold
    frozen = sim.truth(frac_ec=0.9, frac_emc=0.1, frac_dmc=0.0, temperature=-20.0)
    assert frozen["conductivity"] < 0.01 and frozen["viscosity"] > 1000.0
    sim.set("frac_ec", 0.9)
    sim.set("frac_emc", 0.1)
    sim.set("temperature", -20.0)
    assert sim.measure()["viscosity"] == 1000.0  # viscometer saturates


def test_ec_needed_for_dissociation(sim):
    linear_only = sim.truth(frac_ec=0.0, frac_emc=0.5, frac_dmc=0.5)["conductivity"]
    with_ec = sim.truth(frac_ec=0.3, frac_emc=0.35, frac_dmc=0.35)["conductivity"]
    assert with_ec > 3 * linear_only


def test_optimum_reports_normalised_mixture():
    x, best = ElectrolyteFormulation.optimum("conductivity", "maximize")
    fractions = [x["frac_ec"], x["frac_emc"], x["frac_dmc"]]
    assert sum(fractions) == pytest.approx(1.0)
    assert all(0.05 < f < 0.95 for f in fractions)  # a genuine ternary optimum
    assert best == pytest.approx(21.04, abs=0.01)
    assert 0.7 < x["salt_concentration"] < 1.5 and x["temperature"] == pytest.approx(60.0)
    assert ElectrolyteFormulation().truth()["conductivity"] < 0.5 * best


def test_salt_consumption(sim):
    sim.set("salt_concentration", 2.0)
    sim.measure()
    assert 400.0 - sim.consumables()["salt"] == pytest.approx(2.0 * 0.005 * 151.9)
