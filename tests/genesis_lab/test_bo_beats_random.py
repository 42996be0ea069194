"""Campaign quality, statistically: on the simulated reactor, the BO agent beats
random search with the same budget, by a clear margin, over 20 seeds.

Each campaign is scored against ground truth: the experiment the campaign
reports as best is re-evaluated on the noise- and drift-free reactor model.
(The measured best is biased by noise and by the reactor's drift.)
"""

from __future__ import annotations

import json
import statistics

import pytest

from genesis_lab.cli import main
from simulators import FlowReactor

SEEDS = range(20)
BUDGET = 30
OPTIMUM = FlowReactor.optimum("yield_pct", "maximize")[1]


def true_best_yield(campaign, seed, tmp_path, capsys) -> float:
    out_dir = tmp_path / f"{campaign.stem}-{seed}"
    code = main(
        [
            "run",
            str(campaign),
            "--out",
            str(out_dir),
            "--seed",
            str(seed),
            "--max-experiments",
            str(BUDGET),
            "--time-scale",
            "0",
            "--quiet",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    best = json.loads(out)["best"]["parameters"]
    return float(FlowReactor().truth(**best)["yield_pct"])


@pytest.mark.slow
def test_bo_beats_random_on_the_reactor(examples, tmp_path, capsys):
    bo = [true_best_yield(examples / "reactor_campaign.yaml", s, tmp_path, capsys) for s in SEEDS]
    rnd = [true_best_yield(examples / "reactor_random.yaml", s, tmp_path, capsys) for s in SEEDS]
    med_bo, med_rnd = statistics.median(bo), statistics.median(rnd)
    regret_bo, regret_rnd = OPTIMUM - med_bo, OPTIMUM - med_rnd
    wins = sum(b > r for b, r in zip(bo, rnd, strict=True))
    print(
        f"\ntrue yield of the reported best after {BUDGET} experiments, median over "
        f"{len(SEEDS)} seeds (optimum {OPTIMUM:.2f}%): BO {med_bo:.2f}% (regret {regret_bo:.2f}),"
        f" random {med_rnd:.2f}% (regret {regret_rnd:.2f}); BO better in {wins}/{len(SEEDS)}"
    )
    assert med_bo > med_rnd + 0.8, (bo, rnd)
    assert regret_bo < 0.6 * regret_rnd, (bo, rnd)
    assert wins >= 0.65 * len(SEEDS), (bo, rnd)
