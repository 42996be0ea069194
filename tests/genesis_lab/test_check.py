"""`genesis-lab check`: a campaign file and its lab are validated as `run` would, with nothing
connected, run or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import edit_yaml, run_cli

EXAMPLES = sorted(
    p.name
    for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.yaml")
    if "lab" not in p.name and "epics" not in p.name
)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_campaign_checks_out(examples, name, capsys):
    code, out, err = run_cli(capsys, "check", examples / name)
    assert code == 0, err
    assert f"{examples / name}: valid" in out
    assert "the devices were built but not connected, and nothing was run or written" in out


def test_check_summarizes_as_json_and_writes_nothing(examples, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, _ = run_cli(capsys, "check", examples / "reactor_campaign.yaml", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["campaign"] == "reactor-yield"
    assert summary["parameters"] == [
        "residence_time",
        "temperature",
        "equivalents",
        "concentration",
    ]
    assert summary["objectives"] == [{"name": "yield", "goal": "maximize"}]
    assert summary["devices"] == ["reactor"] and summary["budget"] == 30
    assert list(work.iterdir()) == [], "no runs/ folder, no files"


def test_check_names_what_is_wrong_in_either_file(examples, capsys):
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d["objectives"][0].update(expression="reactor.no_such_reading"),
    )
    code, _, err = run_cli(capsys, "check", campaign)
    assert code == 2 and "no_such_reading" in err and "Traceback" not in err
    edit_yaml(examples / "sim_lab.yaml", lambda d: d["devices"].pop("reactor"))
    code, _, err = run_cli(capsys, "check", campaign)
    assert code == 2 and "reactor" in err and "Traceback" not in err


def test_check_reports_what_run_would_warn_about(examples, capsys):
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d.update(budget={"experiments": 5}),
    )
    code, out, _ = run_cli(capsys, "check", campaign)
    assert code == 0 and "note: optimizer.initial_points (8) is not below the budget" in out


def test_a_forbidden_region_inside_a_range_is_noted_by_check_and_run(examples, tmp_path, capsys):
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["limits"].update(
            temperature={"min": 30, "max": 140, "forbidden": [[99, 101]]}
        ),
    )
    camp = examples / "reactor_campaign.yaml"
    code, out, _ = run_cli(capsys, "check", camp, "--json")
    notes = json.loads(out)["notes"]
    assert code == 0 and any("forbidden region [99, 101]" in n for n in notes), notes
    code, _, err = run_cli(
        capsys, "run", camp, "--out", tmp_path / "r", "--max-experiments", 1, "--time-scale", 0
    )
    assert code == 0 and "forbidden region [99, 101] of reactor.temperature" in err, err
    # bounds on one side of it: no note
    edit_yaml(camp, lambda d: d["parameters"][1].update(bounds=[30, 98]))
    code, out, _ = run_cli(capsys, "check", camp, "--json")
    assert not any("forbidden" in n for n in json.loads(out)["notes"])
