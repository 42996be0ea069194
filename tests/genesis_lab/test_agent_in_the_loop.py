"""What a researcher gets from the agent inside a running campaign: finite spaces measured
once each, results added by hand learned at once, honest confirmations and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from genesis_lab.ledger import Ledger
from genesis_lab.report import _confirmation_text
from genesis_lab.runner import confirmation_summary
from genesis_lab.spec import load_campaign
from tests.conftest import ROOT, edit_yaml, run_cli

ARGS = ("--time-scale", 0, "--quiet")


def _grid_campaign(tmp_path: Path, table: dict[tuple[str, str], float], model: str, budget: int):
    """A dataset instrument over a grid of two categoricals, and a campaign on it."""
    a = sorted({k[0] for k in table})
    b = sorted({k[1] for k in table})
    rows = "\n".join(f"{x},{y},{v}" for (x, y), v in table.items())
    (tmp_path / "grid.csv").write_text(f"a,b,score\n{rows}\n")
    lab = {
        "name": "grid-lab",
        "time_scale": 0,
        "devices": {
            "grid": {
                "class": "devices.dataset.DatasetInstrument",
                "kwargs": {"csv": "grid.csv", "parameters": ["a", "b"], "measurements": ["score"]},
            }
        },
    }
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(lab))
    campaign = {
        "name": "grid",
        "lab": "lab.yaml",
        "seed": 3,
        "parameters": [
            {"name": "a", "type": "categorical", "device": "grid.a", "choices": a},
            {"name": "b", "type": "categorical", "device": "grid.b", "choices": b},
        ],
        "measure": ["grid"],
        "objectives": [{"name": "score", "expression": "grid.score", "goal": "maximize"}],
        "budget": {"experiments": budget},
        "optimizer": {"model": model, "initial_points": 3},
    }
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(campaign, sort_keys=False))
    return path


def _points(out) -> list[tuple]:
    with Ledger.open(out) as ledger:
        return [tuple(sorted(e.parameters.items())) for e in ledger.experiments()]


@pytest.mark.parametrize("model", ["GP", "random", "RF"])
def test_a_finite_space_smaller_than_the_budget_finishes_once_every_point_is_measured(
    model, tmp_path, capsys
):
    table = {(x, y): float(i) for i, (x, y) in enumerate((x, y) for x in "ABC" for y in "XY")}
    campaign = _grid_campaign(tmp_path, table, model, budget=9)
    code, out, err = run_cli(capsys, "run", campaign, "--out", tmp_path / "r", *ARGS)
    assert code == 0, err
    assert "only 6 distinct points, fewer than the budget (9" in err  # said up front
    assert "finished: every one of the 6 points" in out
    points = _points(tmp_path / "r")
    assert len(points) == 6 and len(set(points)) == 6


def test_no_point_is_measured_twice_even_while_the_agent_has_nothing_to_model(tmp_path, capsys):
    # every score is equal, so the GP agent falls back to random proposals throughout
    table = {(x, y): 0.0 for x in "ABCD" for y in "WXYZ"}
    campaign = _grid_campaign(tmp_path, table, "GP", budget=14)
    code, _, err = run_cli(capsys, "run", campaign, "--out", tmp_path / "r", *ARGS)
    assert code == 0, err
    points = _points(tmp_path / "r")
    assert len(points) == 14 and len(set(points)) == 14


@pytest.mark.system
def test_a_result_recorded_while_the_campaign_runs_is_learned_before_the_next_proposal(
    examples, tmp_path
):
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml", lambda d: d["budget"].update(experiments=14)
    )
    out = tmp_path / "r"
    cmd = [sys.executable, "-m", "genesis_lab.cli", "run", str(campaign), "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--time-scale", "0.002", "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if Ledger.is_campaign(out):
                with Ledger.open(out) as ledger:
                    if ledger.counts()["done"] >= 9:
                        break
            time.sleep(0.1)
        manual = subprocess.run(
            [sys.executable, "-m", "genesis_lab.cli", "suggest", str(out), "--json"]
            + ["--param", "residence_time=25", "--param", "temperature=35"]
            + ["--param", "equivalents=4.5", "--param", "concentration=0.2"]
            + ["--result", "yield=99"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        m = json.loads(manual.stdout)["experiment"]
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    after = [e for e in exps if e.id > m and e.origin in ("model", "random")]
    assert after, "the campaign made proposals after the manual result"
    first = after[0]
    learned_before = [e for e in exps if e.id < first.id and e.status in ("done", "failed")]
    # the proposal after the manual result was made with it (and everything else) learned
    assert first.provenance["observations"] == len(learned_before)
    assert any(e.id == m for e in learned_before)


def test_a_result_measured_elsewhere_must_say_whether_it_met_the_outcome_constraints(
    examples, tmp_path, capsys
):
    campaign = edit_yaml(
        examples / "electrolyte_campaign.yaml", lambda d: d["budget"].update(experiments=2)
    )
    out = tmp_path / "r"
    assert run_cli(capsys, "run", campaign, "--out", out, *ARGS)[0] == 0
    point = ["--param", "salt=2.9", "--param", "frac_ec=0.5"]
    point += ["--param", "frac_emc=0.25", "--param", "frac_dmc=0.25"]
    code, _, err = run_cli(capsys, "suggest", out, *point, "--result", "conductivity=14")
    assert code == 2 and "electrolyte.viscosity <= 6" in err and "--infeasible" in err
    with Ledger.open(out) as ledger:
        assert len(ledger.experiments()) == 2, "nothing recorded for the refused result"
    code, stdout, _ = run_cli(
        capsys, "suggest", out, *point, "--result", "conductivity=14", "--infeasible"
    )
    assert code == 0 and "recorded as infeasible" in stdout
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    best = json.loads(stdout)["best"]
    assert best["experiment"] != 3, "an infeasible result is never the best"


def test_a_campaign_without_a_feasible_result_exits_1_and_spreads_its_proposals(
    examples, tmp_path, capsys
):
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d.update(
            budget={"experiments": 10},
            constraints=[{"kind": "outcome", "expression": "reactor.yield_pct", "min": 1000}],
        ),
    )
    code, out, err = run_cli(capsys, "run", campaign, "--out", tmp_path / "r", *ARGS)
    assert code == 1 and "without a feasible result" in err
    assert "best: none\n" in out


def _confirm_store(tmp_path, examples, replicates: list[tuple[str, float, bool]]):
    """A store whose experiment 1 (yield 80) was replicated: (status, yield, feasible)."""
    campaign, text = load_campaign(
        edit_yaml(examples / "reactor_campaign.yaml", lambda d: d.update(confirm={}))
    )
    ledger = Ledger.create(tmp_path / "c", name="c", campaign_text=text, lab_text="")
    for value, origin, status, feasible in [
        (80.0, "model", "done", True),
        (70.0, "model", "done", True),
        *[(v, "confirm", s, f) for s, v, f in replicates],
    ]:
        eid = ledger.propose({"temperature": 80}, origin=origin)
        ledger.start(eid)
        if status == "done":
            ledger.finish(eid, "done", objectives={"yield": value}, feasible=feasible)
        else:
            ledger.finish(eid, "failed", feasible=False, failure_kind="scientific", error="NaN")
    exps = ledger.experiments()
    ledger.close()
    return confirmation_summary(exps, campaign, 1, 0.95)


def test_a_confirmation_counts_only_feasible_replicates_and_says_when_some_were_not(
    examples, tmp_path
):
    good = _confirm_store(tmp_path / "a", examples, [("done", v, True) for v in (79, 81, 80)])
    assert good["mean"] == pytest.approx(80.0) and good["unusable"] == []
    text = _confirmation_text(good)
    assert text.startswith("confirmed: yield = 80 ± ") and "3 replicates of experiment 1" in text
    # the other experiment (70) is beaten; the confirmed point itself is not counted
    assert "better than 100% of the experiments before the confirmation" in text

    mixed = _confirm_store(
        tmp_path / "b",
        examples,
        [("done", 79, True), ("done", 60, False), ("done", 81, True)],
    )
    assert mixed["replicates"] == [79, 81] and len(mixed["unusable"]) == 1
    assert _confirmation_text(mixed).startswith("not confirmed: 1 of 3 replicates")

    lost = _confirm_store(
        tmp_path / "c", examples, [("failed", 0, False), ("failed", 0, False), ("done", 80, True)]
    )
    assert lost.get("mean") is None
    assert _confirmation_text(lost).startswith(
        "not confirmed: 1 of 3 replicates of experiment 1 gave a feasible result"
    )


def test_replicates_that_contradict_the_first_measurement_do_not_confirm_it(examples, tmp_path):
    # experiment 1 measured 80 once; three replicates say 61 +- 1: the 80 was luck (or a typo)
    lucky = _confirm_store(tmp_path, examples, [("done", v, True) for v in (60, 62, 61)])
    assert lucky["agrees_with_original"] is False
    lo, hi = lucky["prediction_interval"]
    assert lo < 61 < hi < 80
    text = _confirmation_text(lucky)
    assert text.startswith("not confirmed: 3 replicates of experiment 1 give yield = 61 ± ")
    assert "below the first measurement 80" in text and "not reproducible" in text


def test_status_flags_a_best_value_that_its_replicates_did_not_reproduce(
    examples, tmp_path, capsys
):
    lucky = _confirm_store(tmp_path, examples, [("done", v, True) for v in (60, 62, 61)])
    with Ledger.open(tmp_path / "c", readonly=False) as ledger:
        ledger.set_meta("confirmation_queued", 1)
        ledger.set_meta("confirmation", lucky)
    code, out, _ = run_cli(capsys, "status", tmp_path / "c")
    assert code == 0
    assert "best: experiment 1 (not confirmed: see the confirmation line above)" in out
    good = _confirm_store(tmp_path / "g", examples, [("done", v, True) for v in (79, 81, 80)])
    with Ledger.open(tmp_path / "g" / "c", readonly=False) as ledger:
        ledger.set_meta("confirmation_queued", 1)
        ledger.set_meta("confirmation", good)
    code, out, _ = run_cli(capsys, "status", tmp_path / "g" / "c")
    assert "best: experiment 1\n" in out


def test_the_progress_line_says_which_experiments_are_replicates_or_yours(tmp_path, capsys):
    from genesis_lab.progress import ProgressDisplay
    from genesis_lab.runner import Progress

    ledger = Ledger.create(tmp_path / "p", name="p", campaign_text="", lab_text="")
    rows = [("model", {}), ("confirm", {"replicate_of": 1, "replicate": 2}), ("manual", {})]
    for origin, prov in rows:
        eid = ledger.propose({"x": 1}, origin=origin, provenance=prov)
        ledger.start(eid)
        ledger.finish(eid, "done", objectives={"yield": 80.0 + eid}, feasible=True)
    exps = ledger.experiments()
    ledger.close()
    show = ProgressDisplay("p", "yield", 3, 0)
    for e in exps:
        show(Progress(1, 3, e, exps[0]))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "[1/3] experiment 1 done: yield=81 (best 81)"
    assert lines[1] == "[1/3] experiment 2 (replicate 2 of experiment 1) done: yield=82 (best 81)"
    assert lines[2] == "[1/3] experiment 3 (yours) done: yield=83 (best 81)"
