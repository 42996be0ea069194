"""XraySampleAlignment physics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulators import XraySampleAlignment, xray


def best_y(h):
    return h["y0"] - xray.ARM * math.sin(math.radians(h["theta0"]))


def test_hidden_position_is_seeded():
    a, b, c = XraySampleAlignment(seed=7), XraySampleAlignment(seed=7), XraySampleAlignment(seed=8)
    assert a.hidden_position == b.hidden_position != c.hidden_position
    for h in (a.hidden_position, c.hidden_position):
        assert abs(h["x0"]) <= 2.5 and abs(h["y0"]) <= 2.5 and abs(h["theta0"]) <= 1.0


@pytest.mark.parametrize("seed", [0, 5])
def test_optimum_finds_hidden_position(seed):
    sim = XraySampleAlignment(seed=seed)
    h = sim.hidden_position
    x, best = sim.optimum("intensity", "maximize")  # instance call -> instance seed
    assert x["x"] == pytest.approx(h["x0"], abs=1e-3)
    assert x["theta"] == pytest.approx(h["theta0"], abs=1e-4)
    assert x["y"] == pytest.approx(best_y(h), abs=1e-3)
    assert best == pytest.approx(
        sim.truth(x=h["x0"], y=best_y(h), theta=h["theta0"])["intensity"], rel=1e-9
    )
    assert XraySampleAlignment.optimum("intensity", "maximize", seed=seed) == (x, best)
    assert sim.truth()["intensity"] < 0.01 * best  # not aligned at the default point


def test_class_optimum_defaults_to_seed_zero():
    assert XraySampleAlignment.optimum("intensity") == XraySampleAlignment(seed=0).optimum(
        "intensity"
    )
    assert (
        XraySampleAlignment.optimum("intensity")[0]
        != XraySampleAlignment(seed=1).optimum("intensity")[0]
    )


def test_rocking_curve_width_and_transmission():
    sim = XraySampleAlignment(seed=3)
    h = sim.hidden_position
    at = dict(x=h["x0"], y=best_y(h))
    peak = sim.truth(theta=h["theta0"], **at)["intensity"] - xray.BACKGROUND
    for sign in (-1, 1):
        half = (
            sim.truth(theta=h["theta0"] + sign * xray.ROCKING_FWHM / 2, **at)["intensity"]
            - xray.BACKGROUND
        )
        assert half / peak == pytest.approx(0.5, abs=0.01)
    assert sim.truth(theta=h["theta0"], **at)["transmission"] < 0.6
    assert sim.truth(x=h["x0"] + 4.0)["transmission"] == pytest.approx(1.0)
    assert sim.truth(x=h["x0"] + 4.0)["intensity"] == pytest.approx(xray.BACKGROUND)


def test_poisson_noise_and_saturation():
    sim = XraySampleAlignment(seed=2, drift=0.0)
    h = sim.hidden_position
    for name, value in (("x", h["x0"]), ("y", best_y(h)), ("theta", h["theta0"])):
        sim.set(name, value)
    true = sim.truth(**sim.setpoints)["intensity"]
    counts = np.array([sim.measure()["intensity"] for _ in range(300)])
    assert counts.std() / math.sqrt(true) == pytest.approx(1.0, abs=0.2)
    loud = XraySampleAlignment(seed=2, drift=0.0, noise=1000.0)
    for name, value in sim.setpoints.items():
        loud.set(name, value)
    readings = np.array([loud.measure()["intensity"] for _ in range(50)])
    assert readings.max() == 1e6 and np.sum(readings == 1e6) > 5


def test_intensity_drift_is_multiplicative():
    sim = XraySampleAlignment(seed=0, noise=0.0)
    sim.clock.advance(3600.0)
    assert abs(sim.drift_offset()["intensity"]) < 1e-6  # nothing to drift off the sample
    h = sim.hidden_position
    sim.set("x", h["x0"])
    sim.set("y", best_y(h))
    sim.set("theta", h["theta0"])
    rel = sim.drift_offset()["intensity"] / sim.truth(**sim.setpoints)["intensity"]
    assert 1e-4 < abs(rel) < 0.05
