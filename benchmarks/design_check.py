"""Does the center point of the initial design help beyond Hartmann-6?  (decision 15)

Runs the fast GP engine exactly as the agent drives it (the agent's Sobol design for the seed,
one generator per proposal, the agent's distinctness tolerance) on several test functions, with
the plain design (``--design plain``) or with its last point moved to the middle of the box
(``--design center``, the default since session 7), and prints per problem the runs that reach
the target, the median regret and the median experiments to the target.

Problems: ``hartmann6``; ``random_bumps`` (Hartmann-6's four bumps, each at a random place, a
new function per seed); ``hartmann6_box`` (Hartmann-6 on a sub-box whose middle is as far from
the global minimum as from the local one); ``hartmann3``; ``branin``; ``styblinski_tang4``;
``rosenbrock4`` (log(1 + f)).

Usage: PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python benchmarks/design_check.py --design center
       [--problems hartmann6 random_bumps ...] [--seeds 10-209] [--initial-points 4] [--jobs 2]
"""

from __future__ import annotations

import argparse
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genesis_lab.bench import functions as fn  # noqa: E402

_G6 = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])
_L6 = np.array([0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381])
_A6 = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ],
    float,
)
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
# a sub-box of width 0.8 centred at 0.3 G + 0.7 L (clipped): its middle is 0.765 from the global
# minimum and 0.769 from the local one, in box units
_LO = np.clip(0.3 * _G6 + 0.7 * _L6 - 0.4, 0.0, 0.2)


def _styblinski_tang(u):
    x = -5.0 + 10.0 * np.atleast_2d(u)
    return 0.5 * np.sum(x**4 - 16 * x**2 + 5 * x, 1)


def _rosenbrock(u):
    x = -2.048 + 4.096 * np.atleast_2d(u)
    return np.log1p(np.sum(100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2, 1))


def _random_bumps(seed: int):
    from scipy.optimize import minimize

    r = np.random.default_rng([seed, 99])
    P, A = r.random((4, 6)), _A6[:, r.permutation(6)]

    def f(u):
        u = np.atleast_2d(u)
        return -np.sum(_ALPHA * np.exp(-np.sum(A[None] * (u[:, None, :] - P[None]) ** 2, 2)), 1)

    best = min(minimize(lambda x: f(x)[0], p, bounds=[(0, 1)] * 6).fun for p in P)
    return f, float(best)


# name: (function or None, dimension, budget, optimum, target regret)
PROBLEMS = {
    "hartmann6": (fn.hartmann6, 6, 40, -3.32237, 0.05),
    "random_bumps": (None, 6, 40, math.nan, 0.05),
    "hartmann6_box": (lambda u: fn.hartmann6(_LO + 0.8 * np.atleast_2d(u)), 6, 40, -3.32237, 0.05),
    "hartmann3": (fn.hartmann3, 3, 30, -3.86278, 0.05),
    "branin": (fn.branin, 2, 30, fn.BRANIN_MIN, 0.01),
    "styblinski_tang4": (_styblinski_tang, 4, 40, -39.16617 * 4, 1.0),
    "rosenbrock4": (_rosenbrock, 4, 40, 0.0, 0.5),
}


def _job(args: tuple) -> tuple[float, int]:
    name, seed, center, k = args
    from scipy.stats import qmc
    from threadpoolctl import threadpool_limits

    from genesis_lab.agent.backends import GPBackend
    from genesis_lab.agent.gpbo import GPBO

    f, d, budget, opt, target = PROBLEMS[name]
    if f is None:
        f, opt = _random_bumps(seed)
    m = max(1, math.ceil(math.log2(max(k, 2))))
    X = qmc.Sobol(d, scramble=True, seed=seed).random_base2(m)[:k]  # as Space.design
    if center:
        X = np.vstack([X[: k - 1], np.full(d, 0.5)])
    bo = GPBO(d, seed=seed, distinct_tol=GPBackend.DISTINCT)
    bo.tell(X, f(X))
    with threadpool_limits(1, user_api="blas"):
        while bo.n_observations < budget:
            x, _ = bo.ask(1, rng=np.random.default_rng([seed, bo.n_observations]))
            bo.tell(x, f(x))
    regret = bo.y - opt
    hit = np.flatnonzero(regret <= target)
    return float(regret.min()), int(hit[0]) + 1 if len(hit) else budget + 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--design", choices=["plain", "center"], default="center")
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    ap.add_argument("--seeds", default="10-209", help="first-last")
    ap.add_argument("--initial-points", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    s0, s1 = (int(v) for v in a.seeds.split("-"))
    for name in a.problems:
        jobs = [(name, s, a.design == "center", a.initial_points) for s in range(s0, s1 + 1)]
        with ProcessPoolExecutor(a.jobs) as ex:
            out = list(ex.map(_job, jobs))
        regret = np.array([o[0] for o in out])
        to_target = np.array([o[1] for o in out])
        budget, target = PROBLEMS[name][2], PROBLEMS[name][4]
        print(
            f"{name:17s} {a.design:6s} within {target}: {int((regret <= target).sum())}/"
            f"{len(regret)}  median regret {np.median(regret):.4f}  median experiments to "
            f"target {np.median(to_target):g} (budget + 1 = not reached: {budget + 1})",
            flush=True,
        )


if __name__ == "__main__":
    main()
