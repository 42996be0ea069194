"""Behaviour every simulator must have (parametrised over simulators.SIMULATORS)."""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pytest

from simulators import FAULT_KINDS, SIMULATORS, Clock, Input, Output, Simulator


def random_point(cls, rng):
    return {n: float(rng.uniform(i.low, i.high)) for n, i in cls.INPUTS.items()}


def random_points(cls, rng, n):
    return {name: rng.uniform(i.low, i.high, n) for name, i in cls.INPUTS.items()}


def apply(sim, point):
    for name, value in point.items():
        sim.set(name, value)


def test_registry_and_declarations(sim_cls):
    assert issubclass(sim_cls, Simulator)
    assert sim_cls in SIMULATORS.values()
    assert sim_cls.INPUTS and sim_cls.OUTPUTS
    assert all(isinstance(i, Input) and i.low < i.high for i in sim_cls.INPUTS.values())
    assert all(isinstance(o, Output) and o.units for o in sim_cls.OUTPUTS.values())
    assert sim_cls.MEASUREMENT_TIME > 0
    assert sim_cls.__doc__ and sys.modules[sim_cls.__module__].__doc__


def test_initial_state(sim_cls):
    sim = sim_cls()
    assert dict(sim.setpoints) == {n: i.default for n, i in sim_cls.INPUTS.items()}
    assert sim.experiment == 0 and sim.connected and sim.clock.now() == 0.0
    assert sim.consumables() == {n: amount for n, (_, amount) in sim_cls.CONSUMABLES.items()}
    with pytest.raises(TypeError):
        sim.setpoints[next(iter(sim_cls.INPUTS))] = 0.0  # read-only view


def measure_sequence(sim, rng, n=6):
    readings = []
    for _ in range(n):
        apply(sim, random_point(type(sim), rng))
        readings.append(sim.measure())
    return readings


def test_determinism_under_seed(sim_cls):
    a = measure_sequence(sim_cls(seed=3), np.random.default_rng(0))
    b = measure_sequence(sim_cls(seed=3), np.random.default_rng(0))
    c = measure_sequence(sim_cls(seed=4), np.random.default_rng(0))
    assert a == b
    assert a != c


def test_noise_free_measure_equals_truth(sim_cls):
    rng = np.random.default_rng(1)
    sim = sim_cls(seed=5, noise=0.0, drift=0.0)
    for _ in range(5):
        apply(sim, random_point(sim_cls, rng))
        assert sim.measure() == sim.truth(**sim.setpoints)


def test_noise_level_matches_declaration(sim_cls):
    sim = sim_cls(seed=11, noise=2.0, drift=0.0)
    truth = sim.truth(**sim.setpoints)
    expected = sim._noise_std(truth)
    n = 400
    data = {k: [] for k in sim_cls.OUTPUTS}
    for _ in range(n):
        sim.refill()
        for k, v in sim.measure().items():
            data[k].append(v)
    for name, out in sim_cls.OUTPUTS.items():
        x = np.array(data[name])
        if out.noise > 0:
            assert expected[name] > 0
        if expected[name] == 0:
            assert np.all(x == truth[name])
            continue
        if truth[name] + 4 * expected[name] >= out.saturation:
            continue  # clipped at saturation, std not comparable
        assert 0.8 < x.std(ddof=1) / expected[name] < 1.2, name
        assert abs(x.mean() - truth[name]) < 5 * expected[name] / math.sqrt(n), name
    quiet = sim_cls(seed=11, noise=0.5, drift=0.0)._noise_std(truth)
    assert all(math.isclose(quiet[k], expected[k] / 4) for k in expected)


def test_drift_is_slow_deterministic_and_scaled(sim_cls):
    sims = [
        sim_cls(seed=2, noise=0.0),
        sim_cls(seed=2, noise=0.0),
        sim_cls(seed=2, noise=0.0, drift=0.0),
    ]
    first = [s.measure() for s in sims]
    for s in sims:
        s.clock.advance(2 * 3600.0)
    later = [s.measure() for s in sims]
    assert first[0] == first[1] and later[0] == later[1]
    assert later[2] == first[2] == sims[2].truth(**sims[2].setpoints)
    truth = sims[0].truth(**sims[0].setpoints)
    offset = sims[0].drift_offset()
    assert later[0] != first[0]
    for name, out in sim_cls.OUTPUTS.items():
        if out.drift > 0 and truth[name] < out.saturation:
            assert later[0][name] == pytest.approx(
                min(truth[name] + offset[name], out.saturation), rel=1e-12, abs=1e-12
            )
            assert (
                abs(offset[name]) < 3 * 2 * out.drift
            )  # at most ~1.5 x drift per hour, over 2 hours
    other = sim_cls(seed=9, noise=0.0)
    other.clock.advance(2 * 3600.0 + 2 * sim_cls.MEASUREMENT_TIME)
    assert other.drift_offset() != sims[0].drift_offset()
    assert all(v == 0.0 for v in sim_cls(seed=9).drift_offset().values())  # zero at t = 0


def test_latency_on_lab_clock(sim_cls):
    sim = sim_cls(time_scale=0.0)
    start = time.perf_counter()
    expected = 0.0
    for name, inp in sim_cls.INPUTS.items():
        target = inp.high
        expected += abs(target - inp.default) / inp.max_rate + sim_cls.SETTLE_TIME
        sim.set(name, target)
        assert sim.clock.now() == pytest.approx(expected)
    sim.set(name, target)  # no move: settle time only
    expected += sim_cls.SETTLE_TIME
    sim.measure()
    expected += sim_cls.MEASUREMENT_TIME
    assert sim.clock.now() == pytest.approx(expected)
    assert time.perf_counter() - start < 1.0  # time_scale=0 never sleeps


def test_clock_sleeps_scaled_wall_time():
    clock = Clock(time_scale=0.001)
    start = time.perf_counter()
    clock.advance(200.0)
    elapsed = time.perf_counter() - start
    assert clock.now() == 200.0
    assert 0.19 <= elapsed < 2.0
    with pytest.raises(ValueError):
        clock.advance(-1.0)
    with pytest.raises(ValueError):
        Clock(time_scale=-1.0)


def test_shared_clock(sim_cls):
    clock = Clock(start=100.0)
    a, b = sim_cls(clock=clock), sim_cls(clock=clock, seed=1)
    a.measure()
    b.measure()
    assert clock.now() == pytest.approx(100.0 + 2 * sim_cls.MEASUREMENT_TIME)


def test_set_validation(sim_cls):
    sim = sim_cls()
    with pytest.raises(KeyError) as err:
        sim.set("no_such_input", 1.0)
    assert all(name in str(err.value) for name in sim_cls.INPUTS)
    name, inp = next(iter(sim_cls.INPUTS.items()))
    for bad in (inp.low - 1e-6 * (inp.high - inp.low) - 1e-9, inp.high + 1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            sim.set(name, bad)
    assert sim.setpoints[name] == inp.default and sim.clock.now() == 0.0
    sim.set(name, inp.low)
    sim.set(name, inp.high)  # both ends of the range are valid
    with pytest.raises(KeyError):
        sim.truth(no_such_input=1.0)


def test_truth_is_vectorised(sim_cls):
    sim = sim_cls(seed=4)
    rng = np.random.default_rng(2)
    pts = random_points(sim_cls, rng, 7)
    out = sim.truth(**pts)
    assert set(out) == set(sim_cls.OUTPUTS)
    for v in out.values():
        assert isinstance(v, np.ndarray) and v.shape == (7,)
    for i in range(7):
        single = sim.truth(**{n: float(v[i]) for n, v in pts.items()})
        assert all(isinstance(v, float) for v in single.values())
        for k in out:
            assert single[k] == pytest.approx(out[k][i], rel=1e-9, abs=1e-12)
    # broadcasting + defaults for missing inputs
    first, second = list(sim_cls.INPUTS)[:2]
    grid = sim.truth(**{first: pts[first][:, None], second: pts[second][None, :]})
    assert all(v.shape == (7, 7) for v in grid.values())
    assert sim.truth() == sim.truth(**{n: i.default for n, i in sim_cls.INPUTS.items()})


def test_optimum_beats_random_points(sim_cls):
    rng = np.random.default_rng(123)
    pts = random_points(sim_cls, rng, 2000)
    sim = sim_cls()
    values = sim.truth(**pts)
    assert sim_cls.OBJECTIVES and set(sim_cls.OBJECTIVES) <= set(sim_cls.OUTPUTS)
    for output, goal in sim_cls.OBJECTIVES.items():
        x, best = sim_cls.optimum(output, goal)
        assert set(x) == set(sim_cls.INPUTS)
        for name, inp in sim_cls.INPUTS.items():
            assert inp.low - 1e-9 <= x[name] <= inp.high + 1e-9
        assert sim.truth(**x)[output] == pytest.approx(best, rel=1e-9, abs=1e-9)
        finite = values[output][np.isfinite(values[output])]
        tol = 1e-7 * (1 + abs(best))
        if goal == "maximize":
            assert best >= finite.max() - tol, output
        else:
            assert best <= finite.min() + tol, output
    assert sim_cls.optimum(output, goal) == sim_cls.optimum(output, goal)
    with pytest.raises(KeyError):
        sim_cls.optimum("nope", "maximize")
    with pytest.raises(ValueError):
        sim_cls.optimum(output, "maximise")


def test_consumables_are_used_and_exhaust(sim_cls):
    sim = sim_cls(noise=0.0)
    if not sim_cls.CONSUMABLES:
        assert sim.consumables() == {}
        sim.refill()
        return
    before = sim.consumables()
    sim.measure()
    after = sim.consumables()
    used = {k: before[k] - after[k] for k in before}
    assert all(u > 0 for u in used.values())
    need = sim._consumption()
    assert all(used[k] == pytest.approx(need[k]) for k in used)
    name = next(iter(sim_cls.CONSUMABLES))
    sim._remaining[name] = 0.5 * used[name]
    n, t = sim.experiment, sim.clock.now()
    from simulators import InstrumentFault

    with pytest.raises(InstrumentFault) as err:
        sim.measure()
    assert not err.value.retryable and err.value.kind == "consumable"
    assert str(err.value).startswith(f"out of {name}; refill")
    assert sim.experiment == n and sim.clock.now() == t
    sim.refill(name)
    assert sim.consumables()[name] == sim_cls.CONSUMABLES[name][1]
    sim.measure()
    with pytest.raises(KeyError):
        sim.refill("no_such_consumable")


def test_consumables_last_long_enough(sim_cls):
    """Initial stocks last for a realistic campaign at the default point."""
    sim = sim_cls()
    for name, (_, amount) in sim_cls.CONSUMABLES.items():
        per_run = sim._consumption()[name]
        assert 100 <= amount / per_run <= 20000, name


def test_fault_kinds_manifest(sim_cls):
    from simulators import InstrumentDisconnected, InstrumentFault, InstrumentTimeout

    name, inp = next(iter(sim_cls.INPUTS.items()))
    at = {
        0: "set_error",
        1: "timeout",
        2: "trigger_error",
        3: "nan",
        4: "saturate",
        5: "disconnect",
    }
    assert set(at.values()) == set(FAULT_KINDS)
    sim = sim_cls(noise=0.0, drift=0.0, faults={"at": at, "timeout_after": 42.0})

    with pytest.raises(InstrumentFault) as err:  # experiment 0: set_error
        sim.set(name, inp.high)
    assert err.value.kind == "set_error" and err.value.retryable
    assert sim.setpoints[name] == inp.default
    sim.set(name, inp.high)  # retry succeeds
    assert sim.measure() and sim.experiment == 1

    t = sim.clock.now()  # experiment 1: timeout
    with pytest.raises(InstrumentTimeout) as err:
        sim.measure()
    assert isinstance(err.value, TimeoutError) and err.value.retryable
    assert sim.clock.now() - t == pytest.approx(42.0) and sim.experiment == 1
    sim.measure()

    with pytest.raises(InstrumentFault) as err:  # experiment 2: trigger_error
        sim.measure()
    assert err.value.kind == "trigger_error" and err.value.retryable and sim.experiment == 2
    sim.measure()

    reading = sim.measure()  # experiment 3: nan
    assert set(reading) == set(sim_cls.OUTPUTS) and all(math.isnan(v) for v in reading.values())
    assert sim.experiment == 4

    reading = sim.measure()  # experiment 4: saturate
    for k, o in sim_cls.OUTPUTS.items():
        assert reading[k] == (o.saturation if math.isfinite(o.saturation) else 1e30)

    with pytest.raises(InstrumentDisconnected) as err:  # experiment 5: disconnect
        sim.measure()
    assert isinstance(err.value, ConnectionError) and err.value.retryable
    assert not sim.connected and sim.experiment == 5
    good = sim.measure()
    assert sim.connected and sim.experiment == 6
    assert good == sim.truth(**sim.setpoints)


def test_random_fault_rate_and_retry(sim_cls):
    from simulators import InstrumentFault

    sim = sim_cls(seed=1, noise=0.0, drift=0.0, faults={"rate": 0.2})
    rng = np.random.default_rng(0)
    faulted_experiments, retries, kinds = 0, 0, set()
    for _ in range(200):
        point = random_point(sim_cls, rng)
        faulted = False
        for _attempt in range(10):
            try:
                apply(sim, point)
                reading = sim.measure()
            except InstrumentFault as exc:
                assert exc.retryable
                kinds.add(exc.kind)
                faulted = True
                retries += 1
                continue
            if reading != sim.truth(**sim.setpoints):  # nan / saturate
                faulted = True
            break
        else:  # pragma: no cover
            pytest.fail("retries never succeeded")
        sim.refill()
        faulted_experiments += faulted
    assert sim.experiment == 200
    # P(first attempt faulted) = 0.2, plus faulted retries: ~0.2 + 0.2*0.2*(4/6)
    assert 0.12 <= faulted_experiments / 200 <= 0.35
    assert retries > 0 and kinds == {"set_error", "timeout", "trigger_error", "disconnect"}


def test_state_snapshot_round_trip(sim_cls):
    import json

    rng = np.random.default_rng(8)
    sim = sim_cls(seed=6, faults={"rate": 0.3, "kinds": ["nan", "saturate"]})
    measure_sequence(sim, rng, n=3)
    snapshot = json.loads(json.dumps(sim.get_state()))
    expected = measure_sequence(sim, np.random.default_rng(1), n=3)
    fresh = sim_cls(seed=6, faults={"rate": 0.3, "kinds": ["nan", "saturate"]})
    fresh.set_state(snapshot)
    assert measure_sequence(fresh, np.random.default_rng(1), n=3) == expected
    assert fresh.clock.now() == sim.clock.now() and fresh.experiment == sim.experiment
    assert fresh.consumables() == sim.consumables()
