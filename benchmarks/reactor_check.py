"""True yield of the reported best on the simulated reactor, over any range of seeds.

Runs ``genesis-lab run examples/reactor_campaign.yaml`` (30 experiments, time scale 0) for each
seed, exactly as ``tests/genesis_lab/test_bo_beats_random.py`` does for seeds 0-19, and scores
the experiment each campaign reports as best on the reactor's noise- and drift-free model
(decision 8).  Used to compare engine changes on seeds the reported figures do not use; run it
in a scratch copy of the old code for the "before" column.

Usage: PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python benchmarks/reactor_check.py --seeds 20-199
       [--campaign examples/reactor_campaign.yaml] [--budget 30] [--jobs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def true_best(args: tuple[str, int, int]) -> float:
    from genesis_lab.cli import main
    from simulators import FlowReactor

    campaign, budget, seed = args
    with tempfile.TemporaryDirectory() as tmp:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(
                [
                    "run",
                    campaign,
                    "--out",
                    str(Path(tmp) / "run"),
                    "--seed",
                    str(seed),
                    "--max-experiments",
                    str(budget),
                    "--time-scale",
                    "0",
                    "--quiet",
                    "--json",
                ]
            )
        if code != 0:
            raise SystemExit(f"seed {seed}: genesis-lab run exited with {code}")
        best = json.loads(out.getvalue())["best"]["parameters"]
    return float(FlowReactor().truth(**best)["yield_pct"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="20-199", help="first-last")
    ap.add_argument("--campaign", default=str(ROOT / "examples" / "reactor_campaign.yaml"))
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    first, last = (int(v) for v in a.seeds.split("-"))
    jobs = [(a.campaign, a.budget, s) for s in range(first, last + 1)]
    with ProcessPoolExecutor(a.jobs) as ex:
        vals = list(ex.map(true_best, jobs))
    print(
        f"true yield at the reported best, seeds {a.seeds}: median {statistics.median(vals):.3f} %"
        f", mean {statistics.mean(vals):.3f} %"
    )
    print("per seed: " + " ".join(f"{v:.2f}" for v in vals))


if __name__ == "__main__":
    main()
