"""The experiment plan, as messages (no RunEngine) and on simulated devices."""

import bluesky.plan_stubs as bps
import pytest
from bluesky import RunEngine
from bluesky.utils import Msg
from ophyd.sim import SynAxis, SynGauss

from plans import experiment


@pytest.fixture
def motor():
    return SynAxis(name="motor")


@pytest.fixture
def det(motor):
    return SynGauss("det", motor, "motor", center=0, Imax=1, sigma=1)


def _strip(msgs):
    return [
        (m.command, m.obj, m.args, {k: v for k, v in m.kwargs.items() if k != "group"})
        for m in msgs
    ]


def test_messages_move_together_then_trigger_and_read_in_one_run(motor, det):
    msgs = list(experiment({motor: 1.5}, [det], md={"campaign": "c", "experiment": 3}))
    commands = [m.command for m in msgs]
    assert commands[:2] == ["stage", "open_run"]
    assert commands[-2:] == ["close_run", "unstage"]
    # the moves: one 'set' per movable, then one 'wait' for the group
    set_idx = commands.index("set")
    assert msgs[set_idx].obj is motor and msgs[set_idx].args == (1.5,)
    assert commands[set_idx + 1] == "wait"
    # trigger and read come after the wait, inside one event
    tail = commands[set_idx + 2 : -2]
    assert tail[0] == "trigger" and "create" in tail and "save" in tail
    expected_tail = list(bps.trigger_and_read([det, motor]))
    assert [m.command for m in expected_tail] == tail
    open_run = msgs[1]
    assert open_run.kwargs["campaign"] == "c" and open_run.kwargs["experiment"] == 3
    assert open_run.kwargs["plan_name"] == "experiment"


def test_settle_time_adds_a_sleep(motor, det):
    msgs = list(experiment({motor: 0.0}, [det], settle_time=2.5))
    sleeps = [m for m in msgs if m.command == "sleep"]
    assert sleeps == [Msg("sleep", None, 2.5)]


def test_refuses_objects_that_do_not_conform(det):
    with pytest.raises(TypeError, match="not Movable"):
        list(experiment({object(): 1}, [det]))
    with pytest.raises(TypeError, match="not Readable"):
        list(experiment({}, [object()]))


def test_one_run_with_the_proposal_in_the_start_document(motor, det):
    RE = RunEngine({}, context_managers=[])
    docs = []
    RE(
        experiment(
            {motor: 0.25}, [det], md={"campaign": "c", "experiment": 1, "proposal": {"x": 0.25}}
        ),
        lambda n, d: docs.append((n, d)),
    )
    names = [n for n, _ in docs]
    assert names.count("start") == 1 and names.count("stop") == 1
    assert names.count("event") == 1
    start = docs[0][1]
    assert start["proposal"] == {"x": 0.25} and start["experiment"] == 1
    event = next(d for n, d in docs if n == "event")
    assert event["data"]["motor"] == pytest.approx(0.25)
    assert "det" in event["data"]


def test_waypoints_are_moved_in_order_before_the_target(motor, det):
    msgs = list(experiment({motor: 3.0}, [det], waypoints=[{motor: 1.0}, {motor: 2.0}]))
    sets = [m.args[0] for m in msgs if m.command == "set"]
    assert sets == [1.0, 2.0, 3.0]
    commands = [m.command for m in msgs]
    # every set is awaited before the next one
    for i, c in enumerate(commands):
        if c == "set":
            assert commands[i + 1] == "wait"
