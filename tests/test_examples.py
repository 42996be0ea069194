"""Every example campaign runs as it is (briefly, at time scale 0); the EPICS one
needs its IOC and is run by tests/devices/test_epics.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesis_lab.bench.problems import DATASETS_DIR
from genesis_lab.cli import main
from genesis_lab.ledger import Ledger

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CAMPAIGNS = sorted(
    p for p in EXAMPLES.rglob("*.yaml") if not p.name.endswith("lab.yaml") and "epics" not in p.name
)


def test_every_example_is_listed():
    names = {p.name for p in CAMPAIGNS}
    assert {
        "reactor_campaign.yaml",
        "thin_film_campaign.yaml",
        "electrolyte_campaign.yaml",
        "reactor_pareto.yaml",
        "reactor_random.yaml",
        "buchwald_a.yaml",
    } <= names


@pytest.mark.parametrize("campaign", CAMPAIGNS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_campaign_runs(campaign, tmp_path, capsys):
    if "olympus" in campaign.parts and not DATASETS_DIR.is_dir():
        pytest.skip("shared/benchmarks is not beside the repository")
    out = tmp_path / "out"
    code = main(
        ["run", campaign, "--out", out, "--max-experiments", 4, "--time-scale", 0, "--quiet"]
    )
    assert code == 0, capsys.readouterr().err
    with Ledger.open(out) as ledger:
        assert ledger.counts()["done"] + ledger.counts()["failed"] >= 4


@pytest.mark.parametrize("lab", ["sim_lab.yaml", "olympus/olympus_lab.yaml"])
def test_example_labs_connect(lab, capsys):
    if lab.startswith("olympus") and not DATASETS_DIR.is_dir():
        pytest.skip("shared/benchmarks is not beside the repository")
    assert main(["devices", EXAMPLES / lab, "--json"]) == 0
