"""Instrument faults and safety refusals inside whole campaigns."""

from __future__ import annotations

import json

import pytest

from genesis_lab.cli import main
from genesis_lab.ledger import Ledger
from tests.conftest import edit_yaml


def test_campaign_with_20_percent_faults_completes_its_budget(examples, tmp_path, capsys):
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["kwargs"].update(faults={"rate": 0.2, "seed": 3}),
    )
    out = tmp_path / "faulty"
    code = main(
        [
            "run",
            examples / "reactor_campaign.yaml",
            "--out",
            out,
            "--max-experiments",
            30,
            "--time-scale",
            0,
            "--quiet",
            "--json",
        ]
    )
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
        log = list(ledger.log())
    finished = [e for e in exps if e.status in ("done", "failed")]
    failed = [e for e in exps if e.status == "failed"]
    assert len(finished) == 30
    assert failed, "a 20% fault rate over 30 experiments gives failures"
    for e in failed:
        assert e.error and e.failure_kind in ("infrastructure", "instrument", "scientific")
    # NaN or saturated readings are scientific failures and never the best
    sci = [e for e in failed if e.failure_kind == "scientific"]
    assert all("finite" in e.error or "saturated" in e.error for e in sci)
    # retryable faults were retried (the log shows it) before any was marked failed
    assert any(entry["event"] == "retry" for entry in log)
    done = [e for e in exps if e.status == "done"]
    best = max(done, key=lambda e: e.objectives["yield"])
    assert payload["best"]["experiment"] == best.id
    assert best.objectives["yield"] < 100  # a saturated 120 % never wins


def test_refused_proposal_is_recorded_and_moves_nothing(examples, tmp_path, capsys):
    # a forbidden temperature band the optimizer does not know about
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["limits"].update(
            temperature={"min": 30, "max": 140, "forbidden": [[70, 100]]}
        ),
    )
    out = tmp_path / "refusals"
    code = main(
        [
            "run",
            examples / "reactor_campaign.yaml",
            "--out",
            out,
            "--max-experiments",
            10,
            "--time-scale",
            0,
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
        refused = [e for e in exps if e.status == "refused"]
        assert refused
        for e in refused:
            assert "forbidden region [70, 100]" in e.error
            # the progress shows every refusal, not only finished experiments
            assert f"experiment {e.id} refused: " in err, err
            assert e.run_uid is None  # no run: nothing moved
        for e in exps:
            if e.status == "done":
                assert not 70 <= e.readings["reactor_temperature"] <= 100
        assert ledger.counts()["done"] + ledger.counts()["failed"] == 10


def test_max_step_moves_in_waypoints(examples, tmp_path):
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["limits"].update(
            temperature={"min": 30, "max": 140, "max_step": 10}
        ),
    )
    out = tmp_path / "steps"
    assert (
        main(
            [
                "run",
                examples / "reactor_campaign.yaml",
                "--out",
                out,
                "--max-experiments",
                4,
                "--time-scale",
                0,
                "--quiet",
            ]
        )
        == 0
    )
    with Ledger.open(out) as ledger:
        assert ledger.counts()["done"] == 4
        e = ledger.experiment(1)
        start = ledger.documents(e.run_uid)[0][1]
        assert start["proposal"]["temperature"] == pytest.approx(e.readings["reactor_temperature"])
