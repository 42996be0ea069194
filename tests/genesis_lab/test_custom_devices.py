"""A lab engineer's own devices: the controller keeps its safety promises with instruments
it has never seen, including broken ones (a stuck encoder, an axis that was never homed)."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from genesis_lab.ledger import Ledger
from tests.conftest import run_cli

DEVICES = textwrap.dedent(
    """
    import threading

    from ophyd import Component as Cpt, Device, Kind, Signal
    from ophyd.positioner import SoftPositioner
    from ophyd.status import DeviceStatus


    class Heater(Device):
        settables = ("temperature",)
        temperature = Cpt(SoftPositioner, init_pos=25.0, kind=Kind.hinted)
        power = Cpt(Signal, value=0.0, kind=Kind.hinted)

        def trigger(self):
            st = DeviceStatus(self)
            self.power.put(100 - (self.temperature.position - 70) ** 2 / 10)
            st.set_finished()
            return st


    class UnhomedHeater(Heater):
        # the position is unknown until the axis is homed
        temperature = Cpt(SoftPositioner, init_pos=float("nan"), kind=Kind.hinted)


    class BrokenEncoder(SoftPositioner):
        @property
        def position(self):
            return 500.0  # a readback far outside the limits, whatever the setpoint


    class StuckHeater(Heater):
        temperature = Cpt(BrokenEncoder, init_pos=25.0, kind=Kind.hinted)
    """
)


@pytest.fixture
def lab_dir(tmp_path, monkeypatch):
    (tmp_path / "my_heaters.py").write_text(DEVICES)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _campaign(lab_dir, cls: str, limit: dict, budget: int = 6):
    (lab_dir / "lab.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "heaters",
                "time_scale": 0,
                "devices": {
                    "heater": {"class": f"my_heaters.{cls}", "limits": {"temperature": limit}}
                },
            }
        )
    )
    path = lab_dir / "campaign.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "heat",
                "lab": "lab.yaml",
                "parameters": [
                    {
                        "name": "t",
                        "type": "float",
                        "device": "heater.temperature",
                        "bounds": [20, 120],
                    }
                ],
                "measure": ["heater"],
                "objectives": [{"name": "p", "expression": "heater.power", "goal": "maximize"}],
                "budget": {"experiments": budget},
                "optimizer": {"model": "random"},
            }
        )
    )
    return path


STEPPED = {"min": 20, "max": 120, "max_step": 15}


def _run(lab_dir, capsys, cls: str):
    """Run the heater campaign on ``cls`` (at most 20 experiments): exit code, stdout, stderr
    and the experiments recorded."""
    campaign = _campaign(lab_dir, cls, STEPPED)
    code, stdout, err = run_cli(
        capsys, "run", campaign, "--out", lab_dir / "r", "--quiet", "--max-experiments", 20
    )
    with Ledger.open(lab_dir / "r") as ledger:
        return code, stdout, err, ledger.experiments()


def test_a_custom_heater_with_a_max_step_is_moved_in_steps(lab_dir, capsys):
    code, _, err, exps = _run(lab_dir, capsys, "Heater")
    assert code == 0, err
    assert [e.status for e in exps] == ["done"] * 20


def test_a_move_the_guard_refuses_mid_run_is_an_instrument_failure(lab_dir, capsys):
    # the targets pass the envelope, but the planned steps start from the broken readback
    # (500): the guard on set() refuses them mid-run.  The instrument did not follow, so
    # the failure breaker stops the campaign for a person (before, it looped for ever),
    # and nothing is learned about the targets
    code, stdout, err, exps = _run(lab_dir, capsys, "StuckHeater")
    assert code == 1 and "Traceback" not in err, err
    assert "stopped after 5 instrument failures in a row" in stdout, stdout
    assert len(exps) == 5 and all(e.failure_kind == "instrument" for e in exps)
    assert "refused mid-run by the safety envelope" in exps[0].error


def test_an_axis_whose_position_is_unknown_is_never_moved_with_a_max_step(lab_dir, capsys):
    code, stdout, err, exps = _run(lab_dir, capsys, "UnhomedHeater")
    assert code == 1 and "Traceback" not in err, err
    assert "check the instruments, then 'genesis-lab resume'" in stdout, stdout
    # the instrument's state, not the proposals: failures the model does not learn from
    assert len(exps) == 5 and all(e.failure_kind == "instrument" for e in exps)
    assert "current position is unknown (nan)" in exps[0].error
    assert "home the axis" in exps[0].error
    assert all(e.started_at is None for e in exps)  # nothing was started, nothing moved


def test_failures_are_classified_by_what_the_device_says():
    from ophyd.utils import LimitError

    from genesis_lab.executor import classify

    class LowLevelError(Exception):
        pass

    try:
        try:
            raise LowLevelError("Get failed; status code: 192")
        except LowLevelError as inner:
            raise ConnectionError("reactor: lost the connection to the IOC") from inner
    except ConnectionError as exc:
        # a dropped connection is retried, whatever low-level error lies behind it
        assert classify(exc) == (
            "ConnectionError: reactor: lost the connection to the IOC",
            "infrastructure",
            True,
        )
    # the instrument's own limit: nothing moved, so it is a refusal (learned, not budgeted)
    assert classify(LimitError("value 303.9 outside of range: [30.0, 140.0]"))[1:] == (
        "refused",
        False,
    )
    assert classify(RuntimeError("heater element burnt out"))[1:] == ("instrument", False)


def test_numeric_choices_match_by_value(examples, tmp_path, capsys):
    from tests.conftest import edit_yaml

    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["limits"].update(temperature={"choices": [40.0, 60.0]}),
    )
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: (
            d["parameters"][1].update(type="categorical", choices=[40, 60])
            or d["parameters"][1].pop("bounds")
            or d["parameters"][1].pop("units", None)
        ),
    )
    out = tmp_path / "r"
    code, _, err = run_cli(
        capsys, "run", campaign, "--out", out, "--max-experiments", 3, "--time-scale", 0, "--quiet"
    )
    assert code == 0, err  # 40 is the lab's 40.0
    with Ledger.open(out) as ledger:
        assert all(e.status == "done" for e in ledger.experiments())
