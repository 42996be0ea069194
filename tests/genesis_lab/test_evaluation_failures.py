"""The campaign's own expressions and functions can break on real readings: such an
experiment is an ``evaluation`` failure with its readings kept, learned as infeasible, and
a campaign whose expressions break every time stops after ``max_consecutive_failures``
instead of spending its budget."""

from __future__ import annotations

import csv
import json

from genesis_lab.ledger import Ledger
from tests.conftest import edit_yaml, run_cli

QUICK = ("--time-scale", 0, "--quiet")


def _constraint(expression: str):
    def change(d):
        d["constraints"][-1] = {"kind": "outcome", "expression": expression, "max": 6.0}
        d["budget"]["experiments"] = 12

    return change


def test_a_constraint_that_always_raises_stops_the_campaign_with_the_fix(
    examples, tmp_path, capsys
):
    # a constant divisor of zero is refused when the file is loaded; this one is zero at run time
    v = "electrolyte.viscosity"
    campaign = edit_yaml(examples / "electrolyte_campaign.yaml", _constraint(f"{v} / ({v} - {v})"))
    out = tmp_path / "e"
    code, stdout, err = run_cli(capsys, "run", campaign, "--out", out, *QUICK)
    assert code == 1 and "Traceback" not in err, err
    assert "could not be evaluated" in stdout and "fix the campaign file" in stdout, stdout
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    assert [e.status for e in exps] == ["failed"] * 5  # the breaker, not the budget of 12
    assert all(e.failure_kind == "evaluation" for e in exps)
    assert all("ZeroDivisionError" in e.error for e in exps)
    assert all(e.readings for e in exps)  # the readings are kept
    # resuming does not crash and does not spend more of the budget
    code, stdout, err = run_cli(capsys, "resume", out, *QUICK)
    assert code == 1 and "Traceback" not in err and "could not be evaluated" in stdout, err
    with Ledger.open(out) as ledger:
        assert len(ledger.experiments()) == 5


def test_a_constraint_that_breaks_on_some_readings_marks_those_points_infeasible(
    examples, tmp_path, capsys
):
    # viscosity ranges over roughly 1.5-8 cP in the simulated electrolyte: log(v - 3)
    # raises for the thinner mixtures only
    campaign = edit_yaml(
        examples / "electrolyte_campaign.yaml", _constraint("log(electrolyte.viscosity - 3)")
    )
    out = tmp_path / "e"
    code, _, err = run_cli(capsys, "run", campaign, "--out", out, *QUICK)
    assert code == 0 and "Traceback" not in err, err
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    broken = [e for e in exps if e.failure_kind == "evaluation"]
    fine = [e for e in exps if e.status == "done"]
    assert fine and broken, (len(fine), len(broken))
    for e in broken:
        assert "math domain error" in e.error and e.readings["electrolyte_viscosity"] <= 3
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    assert json.loads(stdout)["counts"]["failed"] == len(broken)
    # the export says which experiments count and why the others do not
    code, _, _ = run_cli(capsys, "export", out, "--csv", tmp_path / "x.csv")
    with open(tmp_path / "x.csv", newline="") as fh:
        rows = {int(r["experiment"]): r for r in csv.DictReader(fh)}
    for e in broken:
        assert rows[e.id]["feasible"] == "false" and rows[e.id]["failure_kind"] == "evaluation"
    for e in fine:
        assert rows[e.id]["feasible"] == ("true" if e.feasible else "false")


def test_an_objective_function_sees_readings_under_both_names(
    examples, tmp_path, capsys, monkeypatch
):
    (tmp_path / "my_objectives.py").write_text(
        "def dotted(r):\n    return r['reactor.yield_pct']\n\n"
        "def data_key(r):\n    return r['reactor_yield_pct']\n\n"
        "def broken(r):\n    return r['reactor.no_such_reading']\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def objectives(*names):
        def change(d):
            d["objectives"] = [
                {"name": n, "function": f"my_objectives:{n}", "goal": "maximize"} for n in names
            ]

        return change

    campaign = edit_yaml(examples / "reactor_campaign.yaml", objectives("dotted", "data_key"))
    out = tmp_path / "r"
    code, _, err = run_cli(capsys, "run", campaign, "--out", out, "--max-experiments", 3, *QUICK)
    assert code == 0, err
    with Ledger.open(out) as ledger:
        for e in ledger.experiments():
            assert e.status == "done"
            assert e.objectives["dotted"] == e.objectives["data_key"]

    campaign = edit_yaml(examples / "reactor_campaign.yaml", objectives("broken"))
    code, stdout, err = run_cli(capsys, "run", campaign, "--out", tmp_path / "b", *QUICK)
    assert code == 1 and "Traceback" not in err
    assert "objective broken could not be evaluated: KeyError" in stdout, stdout


def test_an_objective_function_that_calls_sys_exit_is_an_evaluation_failure(
    examples, tmp_path, capsys, monkeypatch
):
    (tmp_path / "exiting.py").write_text("import sys\n\ndef f(r):\n    sys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d.update(objectives=[{"name": "f", "function": "exiting:f", "goal": "maximize"}]),
    )
    out = tmp_path / "r"
    code, stdout, err = run_cli(capsys, "run", campaign, "--out", out, *QUICK)
    # the controller keeps control: the breaker stops the campaign, nothing is left running
    assert code == 1 and "Traceback" not in err, err
    assert "sys.exit(3)" in stdout, stdout
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    assert exps and all(e.status == "failed" and e.failure_kind == "evaluation" for e in exps)
