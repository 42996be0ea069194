"""Campaigns that run for days: crashes in awkward places, long pauses, full disks, damaged
stores, stop signals.  Each test is one thing a researcher relies on."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genesis_lab.ledger import Ledger
from tests.conftest import edit_yaml, run_cli

QUICK = ("--time-scale", 0, "--quiet")


def _reactor_run(capsys, examples, out: Path, experiments: int) -> None:
    """A short instant run of the README's reactor campaign into ``out``."""
    code, _, err = run_cli(
        capsys, "run", examples / "reactor_campaign.yaml", "--out", out,
        "--max-experiments", experiments, *QUICK,
    )  # fmt: skip
    assert code == 0, err


def _sql(out: Path, *statements: tuple[str, tuple]) -> None:
    conn = sqlite3.connect(out / "ledger.sqlite")
    with conn:
        for q, args in statements:
            conn.execute(q, args)
    conn.close()


def _run_docs(out: Path, eid: int) -> list[str]:
    conn = sqlite3.connect(f"file:{out / 'ledger.sqlite'}?mode=ro", uri=True)
    uids = [
        u
        for u, doc in conn.execute("SELECT run_uid, doc FROM documents WHERE name='start'")
        if json.loads(doc).get("experiment") == eid
    ]
    conn.close()
    return uids


def test_a_result_recovered_after_a_crash_does_not_reset_the_instruments(
    examples, tmp_path, capsys
):
    out = tmp_path / "r"
    _reactor_run(capsys, examples, out, 8)
    with Ledger.open(out) as ledger:
        before = {e.id: e for e in ledger.experiments()}
    # the state a kill leaves between experiment 6's last document and its result: its run
    # documents are all stored, the row still says running, and 7 and 8 never happened
    later = [u for eid in (7, 8) for u in _run_docs(out, eid)]
    _sql(
        out,
        ("DELETE FROM experiments WHERE id > 6", ()),
        ("DELETE FROM log WHERE experiment > 6 OR event = 'stopped'", ()),
        *[("DELETE FROM documents WHERE run_uid = ?", (u,)) for u in later],
        (
            "UPDATE experiments SET status='running', objectives=NULL, readings=NULL, "
            "feasible=NULL, finished_at=NULL, device_state=NULL WHERE id=6",
            (),
        ),
        ("DELETE FROM meta WHERE key IN ('stop_reason', 'stop_finished')", ()),
    )
    code, _, err = run_cli(capsys, "resume", out, *QUICK)
    assert code == 0, err
    assert "experiment 6: its run" in err and "result recovered" in err
    with Ledger.open(out) as ledger:
        after = {e.id: e for e in ledger.experiments()}
        conn = ledger._conn
        states = {
            i: json.loads(s) if s else None
            for i, s in conn.execute("SELECT id, device_state FROM experiments")
        }
    assert after[6].status == "done" and after[6].objectives == before[6].objectives
    # nobody recorded the instruments' state after the recovered run: no snapshot is invented
    assert states[6] is None
    # the reactor went on from experiment 5's state, not from a fresh one (clock 0, count 0)
    assert states[7]["reactor"]["experiment"] == states[5]["reactor"]["experiment"] + 1
    assert states[7]["reactor"]["clock"] > states[5]["reactor"]["clock"]
    # the agent saw the same data, so it proposes what the uninterrupted run did
    assert after[7].parameters == before[7].parameters


def test_wall_time_counts_the_time_spent_running_not_a_pause(examples, tmp_path, capsys):
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d["budget"].update(experiments=6, wall_time="10min"),
    )
    out = tmp_path / "r"
    code, _, err = run_cli(capsys, "run", campaign, "--out", out, "--max-experiments", 3, *QUICK)
    assert code == 0, err
    # as if those 3 experiments ran two hours ago and the campaign then sat paused
    hours = 2 * 3600
    with Ledger.open(out) as ledger:
        created = ledger.meta("created")
    _sql(
        out,
        ("UPDATE meta SET value = ? WHERE key = 'created'", (json.dumps(created - hours),)),
        ("UPDATE log SET time = time - ?", (hours,)),
        (
            "UPDATE experiments SET proposed_at = proposed_at - ?, started_at = started_at - ?,"
            " finished_at = finished_at - ?",
            (hours, hours, hours),
        ),
        ("UPDATE meta SET value = '6' WHERE key = 'budget'", ()),
    )
    code, stdout, err = run_cli(capsys, "resume", out, *QUICK)
    assert code == 0, err
    assert "finished: budget of 6 experiments reached" in stdout, stdout
    with Ledger.open(out) as ledger:
        assert ledger.count_completed() == 6
        assert ledger.time_driven() < 600


def test_a_damaged_store_is_named_not_a_traceback(examples, tmp_path, capsys):
    out = tmp_path / "r"
    _reactor_run(capsys, examples, out, 2)
    row = tmp_path / "row"
    shutil.copytree(out, row)
    _sql(row, ("UPDATE experiments SET parameters = '{\"residence_time\": 1' WHERE id = 2", ()))
    queue = ["suggest", row, "--param", "residence_time=5", "--param", "temperature=60",
             "--param", "equivalents=2", "--param", "concentration=0.5"]  # fmt: skip
    for argv in (["status", row], ["export", row, "--csv", "-"], ["show", row, 2], queue):
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and "Traceback" not in err, err
        assert "experiment 2 of the ledger is damaged" in err and "backup" in err
    with Ledger.open(out) as ledger:
        assert len(ledger.experiments()) == 2  # the original is untouched
    conn = sqlite3.connect(row / "ledger.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM experiments").fetchone()[0] == 2  # none queued
    conn.close()
    manifest = tmp_path / "manifest"
    shutil.copytree(out, manifest)
    _sql(manifest, ("UPDATE meta SET value = ? WHERE key = 'campaign_yaml'", ('"a: [b"',)))
    for argv in (["status", manifest], ["resume", manifest, *QUICK]):
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and "Traceback" not in err, err
        assert "campaign manifest" in err and "not valid YAML" in err
    for name, statement, argv in [
        ("state", "UPDATE experiments SET device_state = '{' WHERE id = 2", ["resume"]),
        ("doc", "UPDATE documents SET doc = '{' WHERE seq = 0", ["show", None, "1"]),
    ]:
        damaged = tmp_path / name
        shutil.copytree(out, damaged)
        _sql(damaged, (statement, ()))
        args = [damaged if a is None else a for a in argv]
        # (resume with more to do: a finished campaign's resume has nothing to restore)
        args = args + [damaged, "--max-experiments", "3"] if argv == ["resume"] else args
        code, _, err = run_cli(capsys, *args, *(QUICK if argv == ["resume"] else ()))
        assert code == 2 and "Traceback" not in err and "is damaged" in err, (name, err)
    # an empty ledger file is refused, and left as it was (not made into a database)
    empty = tmp_path / "empty"
    shutil.copytree(out, empty)
    (empty / "ledger.sqlite").write_bytes(b"")
    for name in ("ledger.sqlite-wal", "ledger.sqlite-shm"):
        (empty / name).unlink(missing_ok=True)
    code, _, err = run_cli(capsys, "resume", empty, *QUICK)
    assert code == 2 and "left untouched" in err, err
    assert (empty / "ledger.sqlite").stat().st_size == 0


def test_a_confirmation_that_a_later_result_overtook_says_so(examples, tmp_path, capsys):
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d.update(confirm={"replicates": 2}) or d["budget"].update(experiments=4),
    )
    out = tmp_path / "r"
    assert run_cli(capsys, "run", campaign, "--out", out, *QUICK)[0] == 0
    params = [
        "--param", "residence_time=12", "--param", "temperature=91",
        "--param", "equivalents=2", "--param", "concentration=0.7",
    ]  # fmt: skip
    code, stdout, err = run_cli(capsys, "suggest", out, *params)
    assert code == 0 and "the campaign has finished, so it runs only when you" in stdout, err
    code, stdout, err = run_cli(capsys, "suggest", out, *params, "--result", "yield=99.9")
    assert code == 0, err
    code, stdout, _ = run_cli(capsys, "status", out)
    assert "the best is now experiment" in stdout, stdout
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    status = json.loads(stdout)
    assert status["confirmation"]["superseded_by"] == status["best"]["experiment"]
    assert isinstance(status["confirmation"]["confirmed"], bool)
    # the same keys for every campaign: one objective has no Pareto set
    assert status["pareto"] is None and status["hypervolume"] is None
    assert status["state"] == "finished" and status["process"] is None
    code, stdout, err = run_cli(capsys, "suggest", out, *params, "--json")
    assert code == 0 and json.loads(stdout)["status"] == "queued", stdout
    # resume runs the queued points (beyond the budget), as suggest said
    code, _, err = run_cli(capsys, "resume", out, *QUICK)
    assert code == 0, err
    with Ledger.open(out) as ledger:
        manual = [e for e in ledger.experiments() if e.origin == "manual"]
    assert [e.status for e in manual] == ["done"] * 3
    assert [bool(e.run_uid) for e in manual] == [True, False, True]  # the middle: --result


def test_read_only_and_full_disks_get_a_message_and_lose_nothing(examples, tmp_path, capsys):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", disk]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = disk / "r"
        code, _, err = run_cli(
            capsys, "run", examples / "reactor_campaign.yaml", "--out", out, *QUICK
        )
        assert code == 1 and "Traceback" not in err, err
        assert "the disk is full" in err and f"genesis-lab resume {out}" in err, err
        with Ledger.open(out) as ledger:
            kept = [(e.id, e.status, e.objectives) for e in ledger.experiments("done")]
        assert kept, "some experiments were recorded before the disk filled"
        subprocess.run(["mount", "-o", "remount,size=64m", disk], check=True)
        code, _, err = run_cli(capsys, "resume", out, *QUICK)
        assert code == 0, err
        with Ledger.open(out) as ledger:
            assert kept == [
                (e.id, e.status, e.objectives) for e in ledger.experiments("done")[: len(kept)]
            ]
        subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
        code, _, err = run_cli(
            capsys,
            "suggest",
            out,
            "--param",
            "residence_time=12",
            "--param",
            "temperature=91",
            "--param",
            "equivalents=2",
            "--param",
            "concentration=0.7",
        )
        assert code == 1 and "Traceback" not in err and "read-only" in err, err
    finally:
        subprocess.run(["umount", "-l", disk])


def test_a_stop_requested_before_the_run_starts_aborts_it_without_running_the_plan():
    """A signal between marking an experiment running and the RunEngine starting must not let
    the whole run go ahead: it is reported interrupted (the runner aborts and re-queues it)."""
    from genesis_lab.executor import EmbeddedExecutor, StopRequest

    ran = []

    def plan():
        ran.append(True)
        yield from ()

    stop = StopRequest()
    stop.requested = True
    outcome = EmbeddedExecutor(stop).run(plan())
    assert outcome.status == "interrupted" and outcome.uid is None and not outcome.documents
    assert not ran


@pytest.mark.system
def test_sigterm_stops_like_ctrl_c_and_the_campaign_resumes(examples, tmp_path):
    out = tmp_path / "r"
    proc = subprocess.Popen(
        [sys.executable, "-m", "genesis_lab", "run", str(examples / "reactor_campaign.yaml"),
         "--out", str(out), "--max-experiments", "10", "--time-scale", "0.005", "--quiet",
         "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if Ledger.is_campaign(out):
            with Ledger.open(out) as ledger:
                running = ledger.experiments("running")
                # well inside a run (each takes about 5 s here), not at its very start or end
                if ledger.count_completed() >= 2 and running:
                    if time.time() - running[0].started_at > 0.5:
                        break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    stdout, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert json.loads(stdout)["state"] == "paused"  # a script still gets something to parse
    assert f"genesis-lab resume {out}" in err
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    assert not [e for e in exps if e.status == "running"]
    assert [e for e in exps if e.status == "aborted"] and exps[-1].status == "proposed"
    assert exps[-1].origin == "requeue"
    # scan ids go on across the resume, as in an uninterrupted campaign
    from genesis_lab.cli import main

    assert main(["resume", str(out), "--time-scale", "0", "--quiet"]) == 0
    with Ledger.open(out) as ledger:
        starts = [
            json.loads(d)["scan_id"]
            for (d,) in ledger._conn.execute(
                "SELECT doc FROM documents WHERE name='start' ORDER BY rowid"
            )
        ]
    assert starts == list(range(1, len(starts) + 1))


def test_a_reader_that_goes_away_is_not_an_error(examples, tmp_path, capsys):
    # `genesis-lab status DIR --json | head -1`: the pipe closes before the output is written
    out = tmp_path / "r"
    _reactor_run(capsys, examples, out, 2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "genesis_lab", "status", str(out), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    proc.stdout.close()  # long before the command has imported anything
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0 and "Traceback" not in err, err
