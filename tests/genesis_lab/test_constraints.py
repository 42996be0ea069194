"""Constraints: linear input constraints always hold; outcome constraints make
experiments infeasible; both are checked when the campaign is loaded."""

from __future__ import annotations

import json

import pytest

from genesis_lab.cli import main
from genesis_lab.ledger import Ledger
from tests.conftest import edit_yaml


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixture_and_inequality_hold_for_every_proposal(examples, tmp_path, capsys, seed):
    out = tmp_path / f"el{seed}"
    assert (
        main(
            [
                "run",
                examples / "electrolyte_campaign.yaml",
                "--out",
                out,
                "--seed",
                seed,
                "--max-experiments",
                15,
                "--time-scale",
                0,
                "--quiet",
                "--json",
            ]
        )
        == 0
    )
    best = json.loads(capsys.readouterr().out)["best"]
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    assert len(exps) == 15
    for e in exps:
        p = e.parameters
        assert p["frac_ec"] + p["frac_emc"] + p["frac_dmc"] == pytest.approx(1.0, abs=1e-9)
        assert p["frac_ec"] >= 0.1 - 1e-9
        # the device was really set there
        r = e.readings
        assert r["electrolyte_frac_ec"] == pytest.approx(p["frac_ec"])
    # outcome constraint: viscous blends are infeasible and never the best
    for e in exps:
        if e.readings["electrolyte_viscosity"] > 6.0:
            assert e.feasible is False and "viscosity" in e.error
    assert best is not None
    chosen = next(e for e in exps if e.id == best["experiment"])
    assert chosen.feasible and chosen.readings["electrolyte_viscosity"] <= 6.0


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda d: d["constraints"][0]["terms"].update(frac_xx=1), "unknown parameter 'frac_xx'"),
        (lambda d: d["optimizer"].update(model="RF"), "linear input constraints need model: GP"),
        (lambda d: d["constraints"][0].pop("equals"), "give equals:"),
        (
            lambda d: d["constraints"][2].update(expression="electrolyte.colour"),
            "unknown reading 'electrolyte.colour'",
        ),
        (lambda d: d["constraints"][0].update(kind="quadratic"), "quadratic"),
    ],
)
def test_bad_constraints_are_refused_at_load(examples, tmp_path, capsys, change, needle):
    path = edit_yaml(examples / "electrolyte_campaign.yaml", change)
    code = main(["run", path, "--out", tmp_path / "o", "--time-scale", 0])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err, err
    assert not (tmp_path / "o").exists()
