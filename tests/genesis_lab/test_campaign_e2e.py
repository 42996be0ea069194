"""A whole campaign through the CLI on the simulated lab, and what it leaves on disk."""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from datetime import datetime

import pytest

from genesis_lab.ledger import Ledger
from tests.conftest import run_cli


@pytest.fixture
def finished(examples, tmp_path, capsys):
    out = tmp_path / "campaign"
    code, stdout, err = run_cli(
        capsys,
        "run",
        examples / "reactor_campaign.yaml",
        "--out",
        out,
        "--max-experiments",
        12,
        "--time-scale",
        0,
    )
    assert code == 0, err
    return out, stdout, err


def test_run_prints_the_best_experiment_and_counts(finished):
    out, stdout, err = finished
    assert "best: experiment" in stdout and "yield =" in stdout
    assert "12 completed of 12" in stdout
    assert "budget of 12 experiments reached" in stdout
    assert "Traceback" not in err


def test_ledger_has_one_row_per_experiment_with_documents(finished):
    out, _, _ = finished
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
        assert [e.status for e in exps] == ["done"] * 12
        assert [e.origin for e in exps] == ["initial"] * 8 + ["model"] * 4
        for e in exps:
            assert e.run_uid and -5 <= e.objectives["yield"] <= 105  # noisy HPLC
            assert e.readings["reactor_yield_pct"] == e.objectives["yield"]
            names = [n for n, _ in ledger.documents(e.run_uid)]
            assert names == ["start", "descriptor", "event", "stop"]
            start = ledger.documents(e.run_uid)[0][1]
            assert start["campaign"] == "reactor-yield" and start["experiment"] == e.id
            assert start["proposal"] == e.parameters
            assert e.proposed_at <= e.started_at <= e.finished_at
            assert e.provenance["optimizer"] == "gp" and e.provenance["seed"] == 7
            assert e.provenance["lab_hash"] and e.provenance["software"]["bluesky"]
        # a model proposal records the fitted model behind it; 4 inputs and 8-11 observations:
        # fewer than 3 per lengthscale, so the numeric inputs still share one lengthscale
        for e in exps[8:]:
            state = e.provenance["model_state"]
            assert set(state["lengthscales"]) == set(e.parameters)
            assert state["shared_lengthscale"] is True
            assert len(set(state["lengthscales"].values())) == 1
            assert state["fitted_at_n"] == e.provenance["observations"]
        assert all("model_state" not in e.provenance for e in exps[:8])
    # the manifest: the files exactly as run
    assert (out / "campaign.yaml").read_text().startswith("# The README's demo")
    assert "FlowReactor" in (out / "lab.yaml").read_text()
    # WAL mode
    conn = sqlite3.connect(out / "ledger.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_status_json_and_csv_agree_with_the_ledger(finished, tmp_path, capsys):
    out, _, _ = finished
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    assert code == 0
    status = json.loads(stdout)
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    done = [e for e in exps if e.status == "done"]
    # the best is chosen among the campaign's experiments, not the replicates of it
    best = max((e for e in done if e.origin != "confirm"), key=lambda e: e.objectives["yield"])
    assert status["campaign"] == "reactor-yield"
    assert status["counts"]["done"] == len(done) == status["counts"]["completed"] == 12
    assert status["counts"]["failed"] == 0
    assert status["best"]["experiment"] == best.id
    assert status["best"]["parameters"] == best.parameters
    assert status["best"]["objectives"] == best.objectives
    # when it ran, for a person and a script: ISO times with their offset
    timing = status["timing"]
    last = max(exps, key=lambda e: e.finished_at)
    assert timing["last_result_experiment"] == last.id
    assert datetime.fromisoformat(timing["last_result"]).timestamp() == pytest.approx(
        last.finished_at, abs=1
    )
    assert datetime.fromisoformat(timing["created"]) <= datetime.fromisoformat(
        timing["last_result"]
    )
    assert timing["driven_s"] > 0
    assert timing["estimated_left_s"] is None  # finished: nothing left to estimate

    csv_path = tmp_path / "x.csv"
    code, _, _ = run_cli(capsys, "export", out, "--csv", csv_path)
    assert code == 0
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(exps)
    for row, e in zip(rows, exps, strict=True):
        assert int(row["experiment"]) == e.id and row["status"] == e.status
        assert row["run_uid"] == e.run_uid
        assert float(row["objective.yield"]) == pytest.approx(e.objectives["yield"])
        for k, v in e.parameters.items():
            assert float(row[f"param.{k}"]) == pytest.approx(v)
        finished_at = datetime.fromisoformat(row["finished_at"])
        assert finished_at.tzinfo is not None
        assert finished_at.timestamp() == pytest.approx(e.finished_at, abs=1e-3)


def test_show_prints_the_record_and_documents(finished, capsys):
    out, _, _ = finished
    code, stdout, _ = run_cli(capsys, "show", out, 3, "--json")
    assert code == 0
    rec = json.loads(stdout)
    assert rec["id"] == 3 and rec["status"] == "done"
    (docs,) = rec["runs"].values()
    assert [d["name"] for d in docs] == ["start", "descriptor", "event", "stop"]
    assert [h["event"] for h in rec["history"]] == ["proposed", "running", "done"]
    code, _, err = run_cli(capsys, "show", out, 99)
    assert code == 2 and "has no experiment 99" in err


def test_python_dash_m_entry_point(examples, tmp_path):
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "genesis_lab", "status", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "does not exist" in res.stderr


def test_manual_experiments_are_run_and_learned(finished, capsys):
    out, _, _ = finished
    args = [
        "--param",
        "residence_time=8.6",
        "--param",
        "temperature=86",
        "--param",
        "equivalents=2.8",
        "--param",
        "concentration=1.0",
    ]
    code, stdout, _ = run_cli(capsys, "suggest", out, *args)
    assert code == 0 and "queued" in stdout
    code, stdout, _ = run_cli(capsys, "suggest", out, *args, "--result", "yield=91.5", "--json")
    reply = json.loads(stdout)
    assert code == 0 and reply["status"] == "recorded" and reply["feasible"] is True
    # bad manual input: exit 2 naming every problem, nothing recorded
    code, _, err = run_cli(capsys, "suggest", out, "--param", "temperature=hot")
    assert code == 2 and "'hot' is not a number" in err and "residence_time: missing" in err
    nan = [a if a != "temperature=86" else "temperature=nan" for a in args]
    code, _, err = run_cli(capsys, "suggest", out, *nan)
    assert code == 2 and "temperature: " in err and "is not a finite number" in err, err
    code, _, err = run_cli(capsys, "suggest", out, *args, "--result", "purity=3")
    assert code == 2 and "unknown ['purity']" in err
    code, _, err = run_cli(capsys, "resume", out, "--time-scale", 0, "--quiet")
    assert code == 0
    with Ledger.open(out) as ledger:
        manual = [e for e in ledger.experiments() if e.origin == "manual"]
    assert [e.status for e in manual] == ["done", "done"]
    assert manual[0].run_uid and manual[0].readings["reactor_temperature"] == pytest.approx(86)
    # the one the lab ran has the lab's provenance; the one measured elsewhere says so
    assert manual[0].provenance["entered_by"] == "user"
    assert {"lab_hash", "software", "host"} <= set(manual[0].provenance)
    assert "lab_hash" not in manual[1].provenance and "software" in manual[1].provenance
    # the agent learns them like any other experiment
    from genesis_lab.runner import CampaignRunner
    from genesis_lab.session import CampaignFiles

    with Ledger.open(out) as ledger:
        files = CampaignFiles.from_store(ledger)
        lab = files.build_lab(time_scale=0)
        runner = CampaignRunner(files.campaign, lab, ledger)
        runner.replay()
        lab.close()
    learned = [o.parameters for o in runner.agent.observations]
    assert manual[0].parameters in learned and manual[1].parameters in learned
    assert runner.agent.n_suggested == 12  # manual ones do not shift the agent's proposals


def test_batches_are_recorded_ahead_and_confirmation_replicates_the_best(
    examples, tmp_path, capsys
):
    from tests.conftest import edit_yaml

    def batch_and_confirm(d):
        d["optimizer"]["batch_size"] = 3
        d["confirm"] = {"replicates": 3}

    edit_yaml(examples / "reactor_campaign.yaml", batch_and_confirm)
    out = tmp_path / "batch"
    code, stdout, _ = run_cli(
        capsys,
        "run",
        examples / "reactor_campaign.yaml",
        "--out",
        out,
        "--max-experiments",
        14,
        "--time-scale",
        0,
        "--quiet",
        "--json",
    )
    assert code == 0
    status = json.loads(stdout)
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    model = [e for e in exps if e.origin == "model"]
    sizes = {e.provenance["batch"]["size"] for e in model}
    assert sizes <= {1, 2, 3} and 3 in sizes
    params = [tuple(e.parameters.values()) for e in exps if e.origin != "confirm"]
    assert len(set(params)) == len(params) == 14
    # the confirmation stage: 3 replicates of the best, with a confidence interval
    reps = [e for e in exps if e.origin == "confirm"]
    c = status["confirmation"]
    assert len(reps) == 3 and all(r.parameters == status["best"]["parameters"] for r in reps)
    # a replicate is the campaign's re-measurement, not a model proposal
    for k, r in enumerate(reps, 1):
        assert r.provenance["replicate_of"] == c["experiment"] and r.provenance["replicate"] == k
        assert {"lab_hash", "software", "host"} <= set(r.provenance)
        assert not {"acquisition", "model_state", "optimizer"} & set(r.provenance)
    assert c["experiment"] == status["best"]["experiment"]
    assert c["ci"][0] <= c["mean"] <= c["ci"][1]
    assert c["mean"] == pytest.approx(sum(r.objectives["yield"] for r in reps) / 3)
    assert status["counts"]["completed"] == 14 and status["counts"]["confirmation_replicates"] == 3
    code, stdout, _ = run_cli(capsys, "status", out)
    assert "14 completed of 14 + 3 confirmation replicates" in stdout
    assert "confirmed: yield =" in stdout and "95% CI" in stdout


def test_resume_refuses_an_edited_copy_of_the_lab_file_and_restores_a_deleted_one(finished, capsys):
    out, _, _ = finished
    lab = out / "lab.yaml"
    original = lab.read_text()
    with Ledger.open(out) as ledger:
        before = [(e.id, e.status) for e in ledger.experiments()]
    lab.write_text(original + "\n# repaired the reactor\n")
    code, _, err = run_cli(capsys, "resume", out, "--time-scale", 0, "--quiet")
    assert code == 2 and f"{lab} was edited after the campaign started" in err
    assert "Traceback" not in err
    with Ledger.open(out) as ledger:
        assert [(e.id, e.status) for e in ledger.experiments()] == before, "nothing changed"
    lab.write_text(original)
    campaign = out / "campaign.yaml"
    kept = campaign.read_text()
    campaign.write_text(kept.replace("experiments: 30", "experiments: 40"))
    code, _, err = run_cli(capsys, "resume", out, "--time-scale", 0, "--quiet")
    assert code == 2 and f"{campaign} was edited" in err
    campaign.write_text("\ufeff" + kept)  # an editor's byte-order mark is not an edit
    lab.unlink()
    code, _, err = run_cli(capsys, "resume", out, "--time-scale", 0, "--quiet")
    assert code == 0, err
    assert lab.read_text() == original, "the deleted copy was written back"


def test_status_says_when_the_campaign_ran_and_how_long_the_rest_would_take(finished, capsys):
    out, _, _ = finished
    with Ledger.open(out, readonly=False) as ledger:  # as if a raised budget was cut short
        ledger.set_meta("budget", 20)
        ledger.set_meta("stop_reason", None)
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    timing = json.loads(stdout)["timing"]
    assert json.loads(stdout)["state"] == "paused"
    pace = timing["driven_s"] / 12
    assert timing["seconds_per_experiment"] == pytest.approx(pace, rel=1e-2)
    assert timing["estimated_left_s"] == pytest.approx(8 * pace, rel=1e-2, abs=0.1)
    code, stdout, _ = run_cli(capsys, "status", out)
    assert code == 0
    assert "started: " in stdout and "(pauses not counted)" in stdout
    assert "last result: experiment 12 at " in stdout and " ago)" in stdout
    assert "per experiment; the rest of the budget would take about" in stdout
    # a result typed in later took none of the lab's time
    time.sleep(1.0)
    params = ["residence_time=5", "temperature=60", "equivalents=2", "concentration=0.5"]
    argv = [a for p in params for a in ("--param", p)]
    code, _, err = run_cli(capsys, "suggest", out, *argv, "--result", "yield=10")
    assert code == 0, err
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    later = json.loads(stdout)["timing"]
    assert later["driven_s"] == pytest.approx(timing["driven_s"], abs=0.05)
    assert later["seconds_per_experiment"] == pytest.approx(pace, rel=1e-2)
