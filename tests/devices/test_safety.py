"""The safety envelope: refusals before motion, maximum steps, forbidden regions."""

from __future__ import annotations

import pytest

from devices.safety import EnvelopeViolation, Limit, SafetyEnvelope, guard
from devices.sim import FlowReactor


@pytest.fixture
def reactor():
    dev = FlowReactor(name="reactor", seed=0, time_scale=0)
    yield dev
    dev.destroy()


def test_check_refuses_outside_limits_and_forbidden_regions():
    env = SafetyEnvelope(
        {"r.t": Limit(30, 140, forbidden=((99, 101),)), "r.s": Limit(choices=("a", "b"))}
    )
    assert env.check({"r.t": 50, "r.s": "a"}) == []
    assert "outside the hard limits [30, 140]" in env.check({"r.t": 150})[0]
    assert "forbidden region [99, 101]" in env.check({"r.t": 100})[0]
    assert "pass through the forbidden region" in env.check({"r.t": 120}, {"r.t": 60})[0]
    assert "not one of the allowed values" in env.check({"r.s": "c"})[0]
    assert "no limits in the lab file" in env.check({"r.x": 1})[0]


def test_path_respects_max_step_on_every_axis():
    env = SafetyEnvelope({"a": Limit(0, 100, max_step=10), "b": Limit(0, 100)})
    path = env.path({"a": 95, "b": 0}, {"a": 10, "b": 50})
    assert path[-1] == {"a": 95, "b": 0}
    a = [10] + [p["a"] for p in path]
    assert all(abs(y - x) <= 10 + 1e-9 for x, y in zip(a, a[1:], strict=False))
    assert len(path) == 9
    assert env.path({"a": 15}, {"a": 10}) == [{"a": 15}]


def test_guard_refuses_before_the_device_moves(reactor):
    sig = guard(reactor.temperature, "reactor.temperature", Limit(30, 140, max_step=20))
    before = reactor.simulator.setpoints["temperature"]
    with pytest.raises(EnvelopeViolation, match="outside the hard limits"):
        sig.set(200)
    with pytest.raises(EnvelopeViolation, match="maximum step 20"):
        sig.set(before + 30)
    assert reactor.simulator.setpoints["temperature"] == before
    sig.set(before + 15).wait(timeout=5)
    assert reactor.simulator.setpoints["temperature"] == before + 15


def test_guard_also_covers_put_and_move():
    from ophyd import Signal
    from ophyd.positioner import SoftPositioner

    sig = Signal(name="valve", value=25.0)
    guard(sig, "rig.valve", Limit(20, 120))
    with pytest.raises(EnvelopeViolation, match="outside the hard limits"):
        sig.put(130)
    assert sig.get() == 25.0
    sig.put(30)
    assert sig.get() == 30

    axis = SoftPositioner(name="axis", init_pos=25.0)
    guard(axis, "stage.axis", Limit(20, 120, max_step=15))
    with pytest.raises(EnvelopeViolation, match="outside the hard limits"):
        axis.move(130)
    with pytest.raises(EnvelopeViolation, match="maximum step 15"):
        axis.move(90)
    assert axis.position == 25.0
    axis.move(35)
    assert axis.position == 35.0


def test_guard_refuses_to_step_from_an_unknown_position():
    from ophyd.positioner import SoftPositioner

    axis = SoftPositioner(name="axis", init_pos=float("nan"))
    guard(axis, "stage.axis", Limit(20, 120, max_step=15))
    with pytest.raises(EnvelopeViolation, match="current position is unknown"):
        axis.set(30)


def test_a_settable_that_arrives_within_a_tolerance_may_step_that_much_further():
    # a controller that settles within 0.5 of its setpoint: from a readback of 59.6 after a
    # move to 60, the next 20-wide waypoint (80) is allowed, a longer step is not
    from ophyd import Signal

    sig = Signal(name="temperature", value=59.6)
    sig.arrival_tolerance = 0.5
    guard(sig, "reactor.temperature", Limit(30, 140, max_step=20))
    sig.set(80).wait(timeout=5)
    assert sig.get() == 80
    sig.put(59.6)
    with pytest.raises(EnvelopeViolation, match="maximum step 20"):
        sig.set(80.2)
    assert sig.get() == 59.6
