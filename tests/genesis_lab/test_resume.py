"""Campaigns that survive Ctrl-C and kill -9: consistent ledger, exact resume,
the same proposals as an uninterrupted run, and readers that never block."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genesis_lab.cli import main
from genesis_lab.documents import readings_from_documents, replay
from genesis_lab.ledger import Ledger
from tests.conftest import edit_yaml

pytestmark = pytest.mark.system


def cli(*argv: object) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "genesis_lab", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(predicate, timeout: float = 60.0, every: float = 0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def status_of(out: Path, eid: int) -> str | None:
    if not Ledger.is_campaign(out):
        return None
    try:
        with Ledger.open(out) as ledger:
            e = ledger.experiment(eid)
            return None if e is None else e.status
    except Exception:
        return None


def proposals(out: Path) -> list[dict]:
    with Ledger.open(out) as ledger:
        return [e.parameters for e in ledger.experiments("done")]


def test_ctrl_c_during_a_move_leaves_a_consistent_resumable_campaign(examples, tmp_path):
    out = tmp_path / "c"
    # at time scale 0.2 the first move (temperature 60 -> 111 degC at 2 degC/s) takes ~5 s
    proc = cli(
        "run",
        examples / "reactor_campaign.yaml",
        "--out",
        out,
        "--max-experiments",
        3,
        "--time-scale",
        0.2,
    )
    wait_for(lambda: status_of(out, 1) == "running")
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "genesis-lab resume" in err and "Traceback" not in err
    assert stdout.strip() == "", stdout
    with Ledger.open(out) as ledger:
        first = ledger.experiment(1)
        assert first.status == "aborted" and "interrupted" in first.error
        docs = ledger.documents(first.run_uid)
        names = [n for n, _ in docs]
        assert names[0] == "start" and names[-1] == "stop" and "event" not in names
        assert docs[-1][1]["exit_status"] == "abort"
        requeued = ledger.experiment(2)
        assert requeued.status == "proposed" and requeued.origin == "requeue"
        assert requeued.parameters == first.parameters
    # resume finishes the budget, running the interrupted point again first
    code = main(["resume", str(out), "--time-scale", "0", "--quiet"])
    assert code == 0
    with Ledger.open(out) as ledger:
        counts = ledger.counts()
        assert counts["done"] == 3 and counts["aborted"] == 1 and counts["running"] == 0
        assert ledger.experiment(2).status == "done"
        assert ledger.experiment(2).parameters == ledger.experiment(1).parameters


@pytest.mark.parametrize("flag", ["--quiet", None, "--verbose"])
def test_ctrl_c_shows_bluesky_s_own_notes_only_when_verbose(examples, tmp_path, flag):
    out = tmp_path / "c"
    argv = ["run", examples / "reactor_campaign.yaml", "--out", out, "--max-experiments", 3]
    proc = cli(*argv, "--time-scale", 0.2, *([flag] if flag else []))
    wait_for(lambda: status_of(out, 1) == "running")
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert stdout == ""
    # the RunEngine's "Pausing..." and "Aborting..." notes read as if the run could go on;
    # what happened and what to do come from genesis-lab itself
    assert ("Aborting" in err) == (flag == "--verbose"), err
    assert "genesis-lab resume" in err
    if flag != "--verbose":  # --verbose shows bluesky's log, its "Run aborted" traceback too
        assert "Traceback" not in err
    with Ledger.open(out) as ledger:
        assert ledger.experiment(1).status == "aborted"


def test_a_backup_taken_mid_run_is_a_complete_campaign_that_resumes(examples, tmp_path):
    out, copy = tmp_path / "c", tmp_path / "copy"
    # no early stop: a copy taken while an experiment ran recovers it without the simulator's
    # snapshot, so its later readings (and when 'no improvement' would stop it) differ
    campaign = edit_yaml(examples / "reactor_campaign.yaml", lambda d: d.pop("stop"))
    proc = cli(
        "run", campaign, "--out", out,
        "--max-experiments", 40, "--time-scale", 0, "--quiet",
    )  # fmt: skip
    wait_for(lambda: status_of(out, 12) == "done")
    assert main(["backup", str(out), str(copy)]) == 0
    assert proc.wait(timeout=300) == 0
    with Ledger.open(copy) as backup, Ledger.open(out) as original:
        done = backup.experiments("done")
        assert len(done) >= 12  # everything recorded before the copy, WAL included
        for e in done:  # the same records, documents and all
            o = original.experiment(e.id)
            assert (o.parameters, o.objectives, o.run_uid) == (
                e.parameters,
                e.objectives,
                e.run_uid,
            )
            assert backup.documents(e.run_uid) == original.documents(e.run_uid)
    # the copy is a campaign folder like any other: it resumes to the budget
    assert main(["resume", str(copy), "--time-scale", "0", "--quiet"]) == 0
    with Ledger.open(copy) as backup:
        assert backup.counts()["done"] == 40


def test_resume_gives_the_same_proposals_as_an_uninterrupted_run(examples, tmp_path):
    straight = tmp_path / "straight"
    assert (
        main(
            [
                "run",
                str(examples / "reactor_campaign.yaml"),
                "--out",
                str(straight),
                "--max-experiments",
                12,
                "--time-scale",
                "0",
                "--quiet",
            ]
        )
        == 0
    )
    broken = tmp_path / "broken"
    proc = cli(
        "run",
        examples / "reactor_campaign.yaml",
        "--out",
        broken,
        "--max-experiments",
        12,
        "--time-scale",
        0.002,
    )
    wait_for(lambda: status_of(broken, 10) == "running", timeout=120)
    proc.kill()
    proc.communicate(timeout=30)
    assert main(["resume", str(broken), "--time-scale", "0", "--quiet"]) == 0
    assert proposals(broken) == proposals(straight)


def test_sigkill_at_random_moments_loses_nothing_and_repeats_nothing(examples, tmp_path):
    """The crash test: kill -9 at least 15 times, resume each time."""
    out = tmp_path / "crash"
    budget, kills, rng = 40, 0, random.Random(20261124)
    done_before: dict[int, dict] = {}
    for _attempt in range(200):
        if Ledger.is_campaign(out):
            proc = cli("resume", out, "--time-scale", 0.0003, "--quiet")
        else:
            proc = cli(
                "run",
                examples / "reactor_campaign.yaml",
                "--out",
                out,
                "--max-experiments",
                budget,
                "--time-scale",
                0.0003,
                "--quiet",
            )
        if kills < 15:
            try:
                proc.wait(timeout=rng.uniform(0.5, 3.0))
            except subprocess.TimeoutExpired:
                proc.kill()
                kills += 1
        _, err = proc.communicate(timeout=300)
        if Ledger.is_campaign(out):
            with Ledger.open(out) as ledger:
                now_done = {e.id: e.objectives for e in ledger.experiments("done")}
            # no completed result is ever lost or changed
            assert all(now_done.get(k) == v for k, v in done_before.items())
            done_before = now_done
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, err
    print(f"\nsurvived {kills} SIGKILLs")
    assert kills >= 15
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
        done = [e for e in exps if e.status == "done"]
        assert len(done) == budget
        assert not [e for e in exps if e.status in ("running", "proposed")]
        # no experiment recorded twice: run uids and agent proposals are unique
        uids = [e.run_uid for e in done]
        assert len(set(uids)) == len(uids)
        index = [e.provenance["proposal_index"] for e in done]
        assert len(set(index)) == len(index) == budget
        # every done experiment has its complete documents
        for e in done:
            docs = ledger.documents(e.run_uid)
            assert [n for n, _ in docs] == ["start", "descriptor", "event", "stop"]
            assert readings_from_documents(docs)["reactor_yield_pct"] == e.objectives["yield"]
        # every aborted experiment was re-queued once and then done
        for e in exps:
            if e.status == "aborted":
                again = [x for x in exps if x.provenance.get("requeue_of") == e.id]
                assert len(again) == 1 and again[0].parameters == e.parameters


def test_readers_never_block_a_running_campaign(examples, tmp_path, capsys):
    out = tmp_path / "busy"
    proc = cli(
        "run",
        examples / "reactor_campaign.yaml",
        "--out",
        out,
        "--max-experiments",
        15,
        "--time-scale",
        0.001,
        "--quiet",
    )
    wait_for(lambda: Ledger.is_campaign(out) and status_of(out, 2) is not None, timeout=60)
    seen, reads = [], 0
    while proc.poll() is None:
        assert main(["status", str(out), "--json"]) == 0
        payload = json.loads(capsys.readouterr().out)
        seen.append(payload["counts"]["done"])
        assert main(["export", str(out), "--csv", str(tmp_path / "x.csv")]) == 0
        assert main(["show", str(out), "1", "--json"]) == 0
        capsys.readouterr()
        reads += 1
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert reads >= 5 and seen == sorted(seen)
    with Ledger.open(out) as ledger:
        assert ledger.counts()["done"] == 15


def test_stored_documents_replay_through_any_callback(examples, tmp_path, capsys):
    from bluesky.callbacks import CallbackBase

    out = tmp_path / "r"
    assert (
        main(
            [
                "run",
                str(examples / "reactor_campaign.yaml"),
                "--out",
                str(out),
                "--max-experiments",
                3,
                "--time-scale",
                "0",
                "--quiet",
            ]
        )
        == 0
    )

    class Yields(CallbackBase):
        def __init__(self):
            super().__init__()
            self.values, self.stops = [], 0

        def event(self, doc):
            self.values.append(doc["data"]["reactor_yield_pct"])

        def stop(self, doc):
            self.stops += 1

    cb = Yields()
    with Ledger.open(out) as ledger:
        exps = ledger.experiments("done")
        for e in exps:
            assert replay(ledger.documents(e.run_uid), cb) == 4
    assert cb.values == [e.objectives["yield"] for e in exps] and cb.stops == 3


def test_a_running_campaign_cannot_be_driven_twice_and_a_killed_one_is_free(
    examples, tmp_path, capsys
):
    out = tmp_path / "live"
    proc = cli(
        "run",
        examples / "reactor_campaign.yaml",
        "--out",
        out,
        "--max-experiments",
        12,
        "--time-scale",
        0.02,
        "--quiet",
    )
    try:
        wait_for(lambda: status_of(out, 1) is not None)
        # a second driver is refused, and nothing is recorded by it
        code = main(["resume", str(out), "--time-scale", "0", "--quiet"])
        _, err = capsys.readouterr()
        assert code == 2 and "in use by another run or resume" in err, err
        assert f"process {proc.pid}" in err and "Traceback" not in err
        assert main(["status", str(out), "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["state"] == "running" and status["process"] == proc.pid
        # readers and manual suggestions still work beside the driver
        assert main(["status", str(out)]) == 0
        capsys.readouterr()
        # the lock is on the directory: deleting the informational driver.lock changes nothing
        (out / "driver.lock").unlink()
        assert main(["resume", str(out), "--time-scale", "0", "--quiet"]) == 2
        assert "in use by another run or resume" in capsys.readouterr().err
    finally:
        proc.kill()  # SIGKILL: the kernel releases the lock
        proc.communicate(timeout=60)
    assert main(["status", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] in ("interrupted", "paused")
    assert main(["resume", str(out), "--time-scale", "0", "--quiet"]) == 0
    capsys.readouterr()
    with Ledger.open(out) as ledger:
        counts = ledger.counts()
        assert counts["done"] == 12 and counts["running"] == 0
        runs = [e.run_uid for e in ledger.experiments("done")]
        assert len(set(runs)) == len(runs)


def test_runs_started_together_without_out_get_a_folder_each(examples, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "genesis_lab", "run", str(examples / "reactor_campaign.yaml")]
    procs = [
        subprocess.Popen(
            [*argv, "--seed", str(s), "--max-experiments", "2", "--time-scale", "0", "--quiet"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 3
    seeds = set()
    for f in folders:
        with Ledger.open(f) as ledger:
            assert ledger.counts()["done"] == 2
            seeds.add(ledger.meta("seed"))
    assert seeds == {0, 1, 2}


def test_run_into_a_campaign_that_is_running_says_it_is_running(examples, tmp_path):
    out = tmp_path / "c"
    proc = cli(
        "run", examples / "reactor_campaign.yaml", "--out", out,
        "--max-experiments", 3, "--time-scale", 0.2, "--quiet",
    )  # fmt: skip
    try:
        wait_for(lambda: status_of(out, 1) == "running")
        again = cli("run", examples / "reactor_campaign.yaml", "--out", out, "--quiet")
        _, err = again.communicate(timeout=60)
        assert again.returncode == 2, err
        assert "another run is running now" in err and "genesis-lab status" in err, err
        assert "resume" not in err  # resuming a running campaign would be refused
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
