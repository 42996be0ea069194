"""Campaign quality, statistically: the BO agent beats random search on the
simulated reactor with the same budget, by a clear margin over many seeds."""

from __future__ import annotations

import json
import statistics

import pytest

from genesis_lab.cli import main

SEEDS = range(12)
BUDGET = 30


def best_yield(campaign, seed, tmp_path, capsys) -> float:
    out_dir = tmp_path / f"{campaign.stem}-{seed}"
    code = main(["run", str(campaign), "--out", str(out_dir), "--seed", str(seed),
                 "--max-experiments", str(BUDGET), "--time-scale", "0", "--quiet", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)["best"]["objectives"]["yield"]


@pytest.mark.slow
def test_bo_beats_random_on_the_reactor(examples, tmp_path, capsys):
    bo = [best_yield(examples / "reactor_campaign.yaml", s, tmp_path, capsys) for s in SEEDS]
    rnd = [best_yield(examples / "reactor_random.yaml", s, tmp_path, capsys) for s in SEEDS]
    med_bo, med_rnd = statistics.median(bo), statistics.median(rnd)
    wins = sum(b > r for b, r in zip(bo, rnd, strict=True))
    print(f"median best yield over {len(SEEDS)} seeds: BO {med_bo:.2f}%, random {med_rnd:.2f}%; "
          f"BO better in {wins}/{len(SEEDS)} paired seeds")
    assert med_bo > med_rnd + 3.0, (bo, rnd)
    assert wins >= 0.75 * len(SEEDS), (bo, rnd)
