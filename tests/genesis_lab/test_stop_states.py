"""How a campaign ends: finished (budget or stop rule) or stopped for a person to act."""

from __future__ import annotations

import json

import yaml

from genesis_lab.ledger import Ledger
from tests.conftest import edit_yaml, run_cli


def _status(capsys, out) -> dict:
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    assert code == 0
    return json.loads(stdout)


def test_a_breaker_stop_is_stopped_not_finished_and_keeps_the_confirmation(
    examples, tmp_path, capsys
):
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["kwargs"].update(
            faults={"rate": 1.0, "kinds": ["trigger_error"]}
        ),
    )
    edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d.update(confirm={"replicates": 2}, budget={"experiments": 12}),
    )
    out = tmp_path / "r"
    args = ("--time-scale", 0, "--quiet")
    code, stdout, _ = run_cli(
        capsys, "run", examples / "reactor_campaign.yaml", "--out", out, *args
    )
    assert code == 1 and "5 instrument failures in a row" in stdout
    assert _status(capsys, out)["state"] == "stopped"

    # a result measured elsewhere: the campaign now has a successful experiment
    code, _, err = run_cli(
        capsys,
        "suggest",
        out,
        *("--param", "residence_time=10", "--param", "temperature=80"),
        *("--param", "equivalents=2", "--param", "concentration=0.5"),
        *("--result", "yield=70"),
    )
    assert code == 0, err

    # still broken: a second breaker stop is exit 1 despite that success, and the
    # confirmation stage is not spent on the broken instrument
    code, stdout, _ = run_cli(capsys, "resume", out, *args)
    assert code == 1 and "5 instrument failures in a row" in stdout
    status = _status(capsys, out)
    assert status["state"] == "stopped" and status["counts"]["done"] == 1
    assert status["confirmation"] is None
    with Ledger.open(out) as ledger:
        assert not [e for e in ledger.experiments() if e.origin == "confirm"]

    # the engineer fixes the instrument (here: its stored configuration); resuming
    # finishes the budget, then confirms the best point
    with Ledger.open(out, readonly=False) as ledger:
        lab = yaml.safe_load(ledger.meta("lab_yaml"))
        del lab["devices"]["reactor"]["kwargs"]["faults"]
        ledger.set_meta("lab_yaml", yaml.safe_dump(lab))
    code, stdout, err = run_cli(capsys, "resume", out, *args)
    assert code == 0, stdout + err
    status = _status(capsys, out)
    assert status["state"] == "finished"
    assert status["stop_reason"] == "budget of 12 experiments reached"
    assert status["counts"]["confirmation_replicates"] == 2
    assert status["confirmation"] is not None


def test_too_many_refusals_is_a_stop_that_needs_a_person(examples, tmp_path, capsys):
    # the lab forbids every temperature but 30 degC, which random proposals never hit
    # (bounds wholly inside a forbidden region are refused when the campaign loads)
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["limits"].update(
            temperature={"min": 30, "max": 140, "forbidden": [[30.001, 140]]}
        ),
    )
    out = tmp_path / "r"
    code, stdout, _ = run_cli(
        capsys,
        "run",
        examples / "reactor_random.yaml",
        *("--out", out, "--time-scale", 0, "--quiet"),
    )
    assert code == 1 and "refused by the safety envelope" in stdout
    status = _status(capsys, out)
    assert status["state"] == "stopped" and status["counts"]["refused"] == 25
