"""How a campaign ends: finished (budget or stop rule) or stopped for a person to act."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing

import yaml

from genesis_lab.ledger import Ledger
from tests.conftest import edit_yaml, run_cli


def _status(capsys, out) -> dict:
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    assert code == 0
    return json.loads(stdout)


ARGS = ("--time-scale", 0, "--quiet")


def _campaign(examples, *, broken_after: int, budget: int, replicates: int = 3):
    """The reactor campaign, whose reactor dies after ``broken_after`` measurements."""
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["kwargs"].update(faults={"broken_after": broken_after}),
    )
    return edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d.update(confirm={"replicates": replicates}, budget={"experiments": budget}),
    )


def _repair(out) -> None:
    """The engineer fixes the reactor (here: drops the fault from the stored lab and its copy
    beside the ledger, which resume checks against each other)."""
    with Ledger.open(out, readonly=False) as ledger:
        lab = yaml.safe_load(ledger.meta("lab_yaml"))
        del lab["devices"]["reactor"]["kwargs"]["faults"]
        ledger.set_meta("lab_yaml", yaml.safe_dump(lab))
    (out / "lab.yaml").write_text(yaml.safe_dump(lab))


def _confirm_rows(out) -> list:
    with Ledger.open(out) as ledger:
        return [e for e in ledger.experiments() if e.origin == "confirm"]


def test_a_breaker_stop_is_stopped_not_finished_and_keeps_the_confirmation(
    examples, tmp_path, capsys
):
    # the instrument dies after 7 experiments: the budget of 12 runs out during the
    # failure streak, which must still be a stop for a person, not the end
    campaign = _campaign(examples, broken_after=7, budget=12)
    out = tmp_path / "r"
    code, stdout, _ = run_cli(capsys, "run", campaign, "--out", out, *ARGS)
    assert code == 1, "a stop for failures is exit 1 even after 7 good experiments"
    assert stdout.splitlines()[1].startswith("stopped after 5 instrument failures in a row")
    status = _status(capsys, out)
    assert status["state"] == "stopped" and status["counts"]["done"] == 7
    assert status["confirmation"] is None and not _confirm_rows(out)

    # not repaired after all: resuming (the budget is spent) starts the confirmation,
    # whose replicates fail until the breaker stops it again; none is counted
    code, _, _ = run_cli(capsys, "resume", out, *ARGS)
    assert code == 1 and _status(capsys, out)["state"] == "stopped"
    assert [e.status for e in _confirm_rows(out)] == ["failed"] * 5 + ["proposed"]
    assert _status(capsys, out)["confirmation"] is None

    _repair(out)
    code, stdout, err = run_cli(capsys, "resume", out, *ARGS)
    assert code == 0, stdout + err
    assert stdout.splitlines()[1] == "finished: budget of 12 experiments reached"
    status = _status(capsys, out)
    assert status["state"] == "finished"
    assert len(status["confirmation"]["replicates"]) == 3


def test_replicates_lost_to_a_failure_are_replaced_after_the_repair(examples, tmp_path, capsys):
    # 8 experiments and the first replicate work, then the reactor dies
    campaign = _campaign(examples, broken_after=9, budget=8)
    out = tmp_path / "r"
    code, _, _ = run_cli(capsys, "run", campaign, "--out", out, *ARGS)
    assert code == 1 and _status(capsys, out)["state"] == "stopped"
    reps = _confirm_rows(out)
    # the breaker stops the replacements too; the last one waits for the repair
    assert [e.status for e in reps] == ["done"] + ["failed"] * 5 + ["proposed"]
    assert _status(capsys, out)["confirmation"] is None

    _repair(out)
    code, _, err = run_cli(capsys, "resume", out, *ARGS)
    assert code == 0, err
    status = _status(capsys, out)
    assert status["state"] == "finished" and status["counts"]["completed"] == 8
    assert len(status["confirmation"]["replicates"]) == 3
    assert sum(e.status == "done" for e in _confirm_rows(out)) == 3


def test_a_closed_stdout_does_not_hide_a_stop(examples, tmp_path):
    campaign = _campaign(examples, broken_after=3, budget=12)
    proc = subprocess.Popen(
        [sys.executable, "-m", "genesis_lab", "run", str(campaign), "--out", str(tmp_path / "r")]
        + ["--time-scale", "0", "--quiet", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # like `| head -0`: nobody reads the result
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err.decode()
    assert b"Traceback" not in err


def test_a_folder_from_before_stop_kinds_were_recorded_shows_the_right_state(
    examples, tmp_path, capsys
):
    campaign = _campaign(examples, broken_after=0, budget=12)
    out = tmp_path / "r"
    assert run_cli(capsys, "run", campaign, "--out", out, *ARGS)[0] == 1
    with closing(sqlite3.connect(out / "ledger.sqlite")) as db, db:
        db.execute("DELETE FROM meta WHERE key='stop_finished'")
    assert _status(capsys, out)["state"] == "stopped"


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
    code, stdout, _ = run_cli(capsys, "run", examples / "reactor_random.yaml", "--out", out, *ARGS)
    assert code == 1 and "refused by the safety envelope" in stdout
    status = _status(capsys, out)
    assert status["state"] == "stopped" and status["counts"]["refused"] == 25


def test_an_interrupted_replicate_is_requeued_as_a_replicate(tmp_path):
    with Ledger.create(tmp_path / "c", name="x", campaign_text="", lab_text="") as ledger:
        eid = ledger.propose({"x": 1.0}, origin="confirm", provenance={"replicate_of": 3})
        ledger.start(eid)
        new = ledger.abort(eid, "interrupted", run_uid=None, requeue=True)
        again = ledger.experiment(new)
        # still a replicate: it does not count against the budget, and the confirmation
        # summary includes it
        assert again.origin == "confirm" and again.provenance["replicate_of"] == 3
        assert ledger.count_completed() == 0


def test_a_finished_campaign_goes_on_with_a_larger_budget_and_confirms_again(
    examples, tmp_path, capsys
):
    camp = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d.update(confirm={"replicates": 2}, budget={"experiments": 6}),
    )
    out = tmp_path / "c"
    assert run_cli(capsys, "run", camp, "--out", out, *ARGS)[0] == 0
    first = _status(capsys, out)
    assert first["confirmation"]["experiment"] == first["best"]["experiment"]

    # nothing left to run: resume says so and how to go on, and changes nothing
    code, _, err = run_cli(capsys, "resume", out, "--quiet")
    assert code == 0 and "nothing to do" in err and "--max-experiments" in err, err
    assert _status(capsys, out)["counts"] == first["counts"]

    # a budget below what is done is refused, and nothing changes
    code, _, err = run_cli(capsys, "resume", out, "--max-experiments", 5, "--quiet")
    assert code == 2 and "at least 6" in err and "Traceback" not in err, err
    assert _status(capsys, out)["counts"] == first["counts"]

    code, _, err = run_cli(capsys, "resume", out, "--max-experiments", 14, *ARGS)
    assert code == 0 and "budget 6 -> 14" in err, err
    after = _status(capsys, out)
    assert after["counts"]["completed"] == 14 and after["budget"] == 14
    # the confirmation is of the best point at the new end, with its own 2 replicates;
    # the replicates of the earlier best stay on record
    c, best = after["confirmation"], after["best"]["experiment"]
    assert c["experiment"] == best and len(c["replicates"]) == 2
    reps = _confirm_rows(out)
    assert {e.provenance["replicate_of"] for e in reps} == {first["best"]["experiment"], best}
    assert sum(e.provenance["replicate_of"] == best for e in reps) == 2
