"""The initial design of campaigns with linear input constraints (decision 17).

Drives the agent (GP model, default settings) on test functions restricted by linear
constraints, and prints per design the runs that reach the target, the median regret and the
mean best value.  ``--design maximin`` is the agent as it is (a greedy maximin design over the
feasible set, its last point the set's analytic center); ``--design random`` gives it the
behaviour before session 9 (random feasible points until the model takes over).

Problems (the global optimum is feasible in each):
* ``branin``: Branin on the unit square with x0 + x1 <= 1.2; 30 experiments, 5 initial points,
  target within 0.01 of 0.397887.
* ``hartmann6``: Hartmann-6 with sum(x) <= 3; 40 experiments, 4 initial points, target regret
  <= 0.05.
* ``hartmann6_slice``: Hartmann-6 with x0 + x1 + x2 <= 0.9 and x3 + x4 >= 0.5; as above.
* ``hartmann3_mixture``: Hartmann-3 of x0..x2 with the equality x0 + x1 + x2 + x3 = 2 (x3 takes
  up the rest, like the last component of a mixture); 30 experiments, 5 initial points, target
  regret <= 0.05.

Usage: PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python benchmarks/constrained_check.py
       [--design maximin|random] [--problems branin hartmann6 hartmann6_slice hartmann3_mixture]
       [--seeds 10-109] [--jobs 2] [--no-center]
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genesis_lab.bench import functions as fn  # noqa: E402

_H6_MIN = -3.32237
_PROBLEMS = {
    # name: (dim, function, budget, initial points, optimum, tolerance, constraints)
    "branin": (
        2,
        fn.branin,
        30,
        5,
        0.397887,
        0.01,
        [{"kind": "linear", "terms": {"x0": 1, "x1": 1}, "max": 1.2}],
    ),
    "hartmann6": (
        6,
        fn.hartmann6,
        40,
        4,
        _H6_MIN,
        0.05,
        [{"kind": "linear", "terms": {f"x{i}": 1 for i in range(6)}, "max": 3.0}],
    ),
    "hartmann6_slice": (
        6,
        fn.hartmann6,
        40,
        4,
        _H6_MIN,
        0.05,
        [
            {"kind": "linear", "terms": {"x0": 1, "x1": 1, "x2": 1}, "max": 0.9},
            {"kind": "linear", "terms": {"x3": 1, "x4": 1}, "min": 0.5},
        ],
    ),
    "hartmann3_mixture": (
        4,
        lambda x: fn.hartmann3(x[:3]),
        30,
        5,
        -3.86278,
        0.05,
        [{"kind": "linear", "terms": {f"x{i}": 1 for i in range(4)}, "equals": 2}],
    ),
}


def _run(args: tuple[str, str, int, bool]) -> float:
    design, name, seed, center = args
    warnings.filterwarnings("ignore")
    from genesis_lab.agent import Agent, Observation, base
    from genesis_lab.spec import CampaignSpec

    if not hasattr(base, "_maximin_design"):
        base._maximin_design = base.Backend.feasible_design  # type: ignore[attr-defined]
    base.Backend.feasible_design = (  # type: ignore[method-assign]
        base._maximin_design  # type: ignore[attr-defined]
        if design == "maximin"
        else (lambda self, n, seed, center: [])  # the agent then draws random feasible points
    )
    d, f, budget, initial, _, _, constraints = _PROBLEMS[name]
    spec = CampaignSpec.model_validate(
        {
            "name": name,
            "lab": "-",
            "seed": seed,
            "parameters": [
                {"name": f"x{i}", "type": "float", "device": f"d.x{i}", "bounds": [0, 1]}
                for i in range(d)
            ],
            "measure": ["d"],
            "objectives": [{"name": "score", "expression": "d.score", "goal": "minimize"}],
            "budget": {"experiments": budget},
            "constraints": constraints,
            "optimizer": {"model": "GP", "initial_points": initial, "center_point": center},
        }
    )
    agent = Agent(spec)
    best = math.inf
    for _ in range(budget):
        (p,) = agent.suggest(1)
        value = float(f(np.array([p.parameters[f"x{i}"] for i in range(d)])))
        best = min(best, value)
        agent.ingest([Observation(p.parameters, {"score": value}, True)])
    return best


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", choices=["maximin", "random"], default="maximin")
    ap.add_argument("--problems", nargs="+", choices=sorted(_PROBLEMS), default=list(_PROBLEMS))
    ap.add_argument("--seeds", default="10-109", help="an inclusive range, e.g. 10-109")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--no-center", action="store_true", help="center_point: false (no center point)"
    )
    args = ap.parse_args(argv)
    seeds = _seeds(args.seeds)
    center = "without" if args.no_center else "with"
    print(f"design: {args.design}, {center} the center point; seeds {seeds[0]}-{seeds[-1]}")
    with ProcessPoolExecutor(args.jobs) as ex:
        for name in args.problems:
            best = np.array(
                list(ex.map(_run, [(args.design, name, s, not args.no_center) for s in seeds]))
            )
            _, _, _, _, optimum, tol, _ = _PROBLEMS[name]
            regret = best - optimum
            print(
                f"{name:16s} within {tol:g}: {int((regret <= tol).sum())}/{len(seeds)}  "
                f"median regret {np.median(regret):.3g}  mean best {best.mean():.5g}",
                flush=True,
            )


if __name__ == "__main__":
    main()
