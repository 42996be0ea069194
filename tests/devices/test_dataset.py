"""Recorded datasets served as instruments."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from devices.dataset import DatasetInstrument
from genesis_lab.bench.problems import DATASETS_DIR
from genesis_lab.cli import main
from genesis_lab.ledger import Ledger
from simulators.dataset import DatasetModel, InfeasibleExperiment

needs_data = pytest.mark.skipif(
    not DATASETS_DIR.is_dir(), reason="shared/benchmarks not beside the repo"
)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A 2 x 3 factorial with one combination never recorded, and a repeat."""
    path = tmp_path / "screen.csv"
    rows = [
        ("Pd", "THF", 40.0, 1.0),
        ("Pd", "DMF", 55.0, 2.0),
        ("Pd", "DMF", 57.0, 2.0),
        ("Ni", "THF", 35.0, 3.0),
        ("Ni", "DMF", 20.0, 4.0),
        ("Ni", "MeCN", 62.0, 5.0),
    ]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["catalyst", "solvent", "yield", "cost"])
        w.writerows(rows)
    return path


def test_csv_categorical_lookup_and_infeasible_combination(table):
    m = DatasetModel.from_csv(table, ["catalyst", "solvent"], ["yield", "cost"])
    assert [p.kind for p in m.parameters] == ["categorical", "categorical"]
    assert m.lookup({"catalyst": "Pd", "solvent": "DMF"}) == {"yield": 56.0, "cost": 2.0}
    with pytest.raises(InfeasibleExperiment, match="catalyst=Pd, solvent=MeCN"):
        m.lookup({"catalyst": "Pd", "solvent": "MeCN"})
    with pytest.raises(ValueError, match="no column"):
        DatasetModel.from_csv(table, ["catalyst", "temperature"], ["yield"])


def test_device_measures_rows_and_reports_infeasible(table):
    dev = DatasetInstrument(
        name="screen",
        csv=str(table),
        parameters=["catalyst", "solvent"],
        measurements=["yield", "cost"],
    )
    assert dev.settables == ("catalyst", "solvent")
    assert dev.default_limits()["solvent"] == {"choices": ["THF", "DMF", "MeCN"]}
    dev.catalyst.set("Ni").wait(5)
    dev.solvent.set("MeCN").wait(5)
    dev.trigger().wait(5)
    r = dev.read()
    assert r["screen_yield_"]["value"] == 62.0 and r["screen_solvent"]["value"] == "MeCN"
    assert set(r) == set(dev.describe())
    dev.catalyst.set("Pd").wait(5)
    st = dev.trigger()
    with pytest.raises(Exception, match="infeasible"):
        st.wait(5)
    assert getattr(st.exception(), "infeasible", False)


def test_continuous_emulator_reproduces_recorded_points_and_adds_noise(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((200, 2))
    y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2
    path = tmp_path / "smooth.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "f"])
        w.writerows(np.column_stack([x, y]).tolist())
    m = DatasetModel.from_csv(path, ["a", "b"], ["f"])
    assert [p.kind for p in m.parameters] == ["continuous", "continuous"]
    pred = [m.lookup({"a": a, "b": b})["f"] for a, b in x[:20]]
    assert np.allclose(pred, y[:20], atol=0.05)
    # in between recorded points the emulator is smooth and close to the truth
    q = np.array([0.5, 0.5])
    assert abs(m.lookup({"a": q[0], "b": q[1]})["f"] - (np.sin(1.5) + 0.25)) < 0.05
    noisy = DatasetModel.from_csv(path, ["a", "b"], ["f"], noise=0.1, seed=1)
    noisy.set("a", 0.5)
    noisy.set("b", 0.5)
    draws = [noisy.measure()["f"] for _ in range(200)]
    assert 0.5 * 0.1 * np.std(y) < np.std(draws) < 2 * 0.1 * np.std(y)


def test_campaign_on_a_csv_dataset_with_no_python(table, tmp_path, capsys):
    lab = tmp_path / "lab.yaml"
    lab.write_text(
        yaml.safe_dump(
            {
                "name": "screening",
                "devices": {
                    "screen": {
                        "class": "devices.dataset.DatasetInstrument",
                        "kwargs": {
                            "csv": table.name,
                            "parameters": ["catalyst", "solvent"],
                            "measurements": ["yield", "cost"],
                        },
                    }
                },
            }
        )
    )
    camp = tmp_path / "campaign.yaml"
    camp.write_text(
        yaml.safe_dump(
            {
                "name": "screen",
                "lab": "lab.yaml",
                "seed": 1,
                "parameters": [
                    {
                        "name": "catalyst",
                        "type": "categorical",
                        "device": "screen.catalyst",
                        "choices": ["Pd", "Ni"],
                    },
                    {
                        "name": "solvent",
                        "type": "categorical",
                        "device": "screen.solvent",
                        "choices": ["THF", "DMF", "MeCN"],
                    },
                ],
                "measure": ["screen"],
                "objectives": [
                    {"name": "yield", "expression": "screen.yield_", "goal": "maximize"}
                ],
                "budget": {"experiments": 6},
                "optimizer": {"initial_points": 2},
            }
        )
    )
    out = tmp_path / "out"
    assert main(["run", camp, "--out", out, "--quiet", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    # six combinations, one infeasible: six experiments cover everything, none twice
    assert len({(e.parameters["catalyst"], e.parameters["solvent"]) for e in exps}) == len(exps)
    infeasible = [e for e in exps if e.status == "failed"]
    for e in infeasible:
        assert e.failure_kind == "scientific" and "infeasible" in e.error
    assert status["best"]["objectives"]["yield"] == 62.0


@needs_data
def test_olympus_dataset_lab_and_campaign_run_as_they_are(tmp_path, capsys):
    root = Path(__file__).resolve().parents[2]
    assert main(["devices", root / "examples/olympus/olympus_lab.yaml", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["devices"]
    assert all(r["connected"] and r["simulated"] for r in rows)
    assert (
        main(
            [
                "run",
                root / "examples/olympus/buchwald_a.yaml",
                "--out",
                tmp_path / "b",
                "--max-experiments",
                12,
                "--quiet",
            ]
        )
        == 0
    )
    with Ledger.open(tmp_path / "b") as ledger:
        done = ledger.experiments("done")
        assert len(done) == 12
        combos = {tuple(sorted(e.parameters.items())) for e in done}
        assert len(combos) == 12  # a finite space: never the same combination twice


@needs_data
def test_the_olympus_example_works_when_copied_elsewhere(tmp_path, capsys, monkeypatch):
    """The example lab file names its datasets (``olympus: buchwald_a``), so a copy of it and a
    campaign in any folder still finds them; an unknown name says where it looked and how to
    point Genesis Lab at the datasets."""
    root = Path(__file__).resolve().parents[2]
    for name in ("olympus_lab.yaml", "buchwald_a.yaml"):
        (tmp_path / name).write_text((root / "examples/olympus" / name).read_text())
    assert main(["check", tmp_path / "buchwald_a.yaml"]) == 0, capsys.readouterr().err
    capsys.readouterr()

    lab = yaml.safe_load((tmp_path / "olympus_lab.yaml").read_text())
    lab["devices"]["buchwald_a"]["kwargs"]["olympus"] = "buchwald_z"
    (tmp_path / "olympus_lab.yaml").write_text(yaml.safe_dump(lab))
    assert main(["check", tmp_path / "buchwald_a.yaml"]) == 2
    err = capsys.readouterr().err
    assert "olympus: 'buchwald_z'" in err and str(DATASETS_DIR / "buchwald_z") in err, err
    assert "GENESIS_DATASETS" in err and "Traceback" not in err, err

    mine = tmp_path / "datasets"
    mine.mkdir()
    for folder in DATASETS_DIR.iterdir():
        (mine / folder.name).symlink_to(folder)
    (mine / "buchwald_z").symlink_to(DATASETS_DIR / "buchwald_a")
    monkeypatch.setenv("GENESIS_DATASETS", str(mine))
    assert main(["check", tmp_path / "buchwald_a.yaml"]) == 0, capsys.readouterr().err
