"""FaultPlan and the fault/attempt semantics of Simulator."""

from __future__ import annotations

import pytest

from simulators import (
    FAULT_KINDS,
    FaultPlan,
    FlowReactor,
    InstrumentDisconnected,
    InstrumentFault,
    InstrumentTimeout,
)


def test_exception_hierarchy():
    assert issubclass(InstrumentTimeout, InstrumentFault) and issubclass(
        InstrumentTimeout, TimeoutError
    )
    assert issubclass(InstrumentDisconnected, InstrumentFault) and issubclass(
        InstrumentDisconnected, ConnectionError
    )
    assert not InstrumentFault("x").retryable and InstrumentTimeout("x").retryable
    assert (
        InstrumentDisconnected("x").retryable and InstrumentDisconnected("x").kind == "disconnect"
    )
    assert InstrumentFault("x", kind="set_error", retryable=True).retryable
    assert FAULT_KINDS == ("timeout", "set_error", "trigger_error", "nan", "saturate", "disconnect")


def test_from_dict_validation():
    plan = FaultPlan.from_dict(
        {"rate": 0.1, "kinds": ["nan", "timeout"], "at": {"3": "saturate"}, "seed": 4}
    )
    assert plan.kinds == ("nan", "timeout") and plan.at == {3: "saturate"} and plan.seed == 4
    assert FaultPlan.from_dict(None) == FaultPlan()
    with pytest.raises(ValueError) as err:
        FaultPlan.from_dict({"kinds": ["explode"]})
    assert all(kind in str(err.value) for kind in FAULT_KINDS)
    with pytest.raises(ValueError) as err:
        FaultPlan.from_dict({"at": {1: "explode"}})
    assert "timeout" in str(err.value)
    for rate in (-0.1, 1.5):
        with pytest.raises(ValueError):
            FaultPlan.from_dict({"rate": rate})
    with pytest.raises(ValueError):
        FaultPlan.from_dict({"bogus": 1})


def test_draw_is_a_pure_function():
    plan = FaultPlan(rate=0.3, seed=9, at={2: "nan"})
    forward = [plan.draw(i, a) for i in range(50) for a in range(3)]
    backward = [plan.draw(i, a) for i in reversed(range(50)) for a in reversed(range(3))]
    assert forward == list(reversed(backward))
    assert plan.draw(2, 0) == "nan"  # `at` fires on the first attempt only
    assert [plan.draw(2, a) for a in range(1, 4)] == [
        FaultPlan(rate=0.3, seed=9).draw(2, a) for a in range(1, 4)
    ]
    assert (
        FaultPlan(rate=0.0).draw(5) is None
        and FaultPlan(rate=1.0, kinds=("nan",)).draw(5, 7) == "nan"
    )
    draws = [FaultPlan(rate=0.2, seed=1).draw(i) for i in range(5000)]
    assert 0.18 < sum(d is not None for d in draws) / 5000 < 0.22
    assert {d for d in draws if d} == set(FAULT_KINDS)


def test_fault_seed_defaults_to_simulator_seed():
    a = FlowReactor(seed=1, faults={"rate": 0.5})
    b = FlowReactor(seed=2, faults={"rate": 0.5})
    assert a.faults.seed == 1 and b.faults.seed == 2
    assert FlowReactor(seed=2, faults={"rate": 0.5, "seed": 7}).faults.seed == 7


def test_at_fires_exactly_at_given_experiments():
    sim = FlowReactor(noise=0.0, drift=0.0, faults={"at": {2: "nan", 5: "trigger_error"}})
    nan_at, raised_at = [], []
    while sim.experiment < 8:
        try:
            reading = sim.measure()
        except InstrumentFault:
            raised_at.append(sim.experiment)
            continue
        if reading["yield_pct"] != reading["yield_pct"]:
            nan_at.append(sim.experiment - 1)
    assert nan_at == [2] and raised_at == [5]


def test_rate_one_fails_every_attempt():
    """rate=1 with only retryable kinds: every attempt fails, deterministically."""
    sim = FlowReactor(faults={"rate": 1.0, "kinds": ["timeout"], "timeout_after": 5.0})
    for _ in range(3):
        with pytest.raises(InstrumentTimeout):
            sim.measure()
    assert sim.experiment == 0 and sim.clock.now() == pytest.approx(15.0)
    sim.faults = FaultPlan()
    sim.measure()
    assert sim.experiment == 1


def test_retry_uses_next_attempt_draw():
    plan = FaultPlan(rate=0.5, seed=3, kinds=("trigger_error",))
    first_fail = next(i for i in range(100) if plan.draw(i, 0) and not plan.draw(i, 1))
    sim = FlowReactor(faults=plan)
    sim.experiment = first_fail
    with pytest.raises(InstrumentFault):
        sim.measure()
    sim.measure()  # attempt 1 of the same experiment: no fault
    assert sim.experiment == first_fail + 1


def test_set_error_leaves_setpoint_and_counts_as_attempt():
    sim = FlowReactor(faults={"at": {0: "set_error"}})
    with pytest.raises(InstrumentFault) as err:
        sim.set("temperature", 100.0)
    assert err.value.kind == "set_error"
    assert sim.setpoints["temperature"] == 60.0
    sim.set("temperature", 100.0)
    sim.set("residence_time", 10.0)
    assert sim.setpoints["temperature"] == 100.0


def test_broken_after_fails_every_later_measurement_until_repaired():
    sim = FlowReactor(faults={"broken_after": 2})
    sim.measure()
    sim.measure()
    for _ in range(3):  # dead, not flaky: no retry helps
        with pytest.raises(InstrumentFault) as info:
            sim.measure()
        assert info.value.kind == "broken" and not info.value.retryable
    assert sim.experiment == 2
    sim.faults = FaultPlan()  # a person repaired it
    sim.measure()
    assert sim.experiment == 3
    with pytest.raises(ValueError, match="broken_after"):
        FaultPlan(broken_after=-1)
