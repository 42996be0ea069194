"""Speed and sample-efficiency check of GPBO against scikit-optimize defaults and random search.

Prints one table:
* latency: median ms of one proposal (tell one observation, then ask(1)) at 100 and 300
  observations in 6-D, for GPBO and for ``skopt.Optimizer(base_estimator="GP")`` (defaults; at 300
  only a few steps are timed because it is slow);
* Hartmann-6, 40 evaluations: median and IQR of the regret over seeds;
* Branin (unit square), 30 evaluations: number of seeds within 0.01 of the minimum.

GPBO and random search start from the first ``k`` points of a scrambled Sobol sequence seeded with
the seed (k = 4 for Hartmann-6, 5 for Branin); skopt uses its own defaults (``gp_minimize``).

Usage: PYTHONPATH=. python benchmarks/gpbo_check.py [--seeds N] [--quick] [--no-skopt]
       [--blas-threads N] [--init-h6 K] [--init-branin K]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import qmc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genesis_lab.agent.gpbo import GPBO  # noqa: E402
from genesis_lab.bench.functions import (  # noqa: E402
    BRANIN_MIN,
    HARTMANN6_MIN,
    branin,
    hartmann6,
)

warnings.filterwarnings("ignore")


def sobol_init(d: int, k: int, seed: int) -> np.ndarray:
    return qmc.Sobol(d, scramble=True, seed=seed).random(k)


# --------------------------------------------------------------------------- optimizers


def run_gpbo(f, d: int, budget: int, n_init: int, seed: int) -> float:
    X = sobol_init(d, n_init, seed)
    bo = GPBO(d, seed=seed)
    bo.tell(X, f(X))
    rng = np.random.default_rng(seed)
    for _ in range(budget - n_init):
        x, _ = bo.ask(1, rng=rng)
        bo.tell(x, f(x))
    return float(np.min(bo.y))


def run_random(f, d: int, budget: int, n_init: int, seed: int) -> float:
    X = np.vstack(
        [sobol_init(d, n_init, seed), np.random.default_rng(seed).random((budget - n_init, d))]
    )
    return float(np.min(f(X)))


def run_skopt(f, d: int, budget: int, n_init: int, seed: int) -> float:
    from skopt import gp_minimize

    res = gp_minimize(
        lambda x: float(f(np.asarray(x))), [(0.0, 1.0)] * d, n_calls=budget, random_state=seed
    )
    return float(res.fun)


METHODS = {"GPBO": run_gpbo, "skopt gp_minimize": run_skopt, "random search": run_random}


# --------------------------------------------------------------------------- latency


def latency_gpbo(n_obs: int, steps: int) -> float:
    rng = np.random.default_rng(0)
    X = rng.random((n_obs - 1, 6))
    bo = GPBO(6)
    bo.tell(X, hartmann6(X))
    bo.ask(1, rng=rng)  # builds the hyperparameter chain once (crash-recovery cost, not timed)
    times = []
    for _ in range(steps):
        x = rng.random((1, 6))
        t0 = time.perf_counter()
        bo.tell(x, hartmann6(x))
        bo.ask(1, rng=rng)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def recovery_gpbo(n_obs: int) -> float:
    rng = np.random.default_rng(0)
    X = rng.random((n_obs, 6))
    bo = GPBO(6)
    t0 = time.perf_counter()
    bo.tell(X, hartmann6(X))
    bo.ask(1, rng=rng)
    return 1e3 * (time.perf_counter() - t0)


def latency_skopt(n_obs: int, steps: int) -> float:
    from skopt import Optimizer

    rng = np.random.default_rng(0)
    X = rng.random((n_obs - 1, 6))
    opt = Optimizer([(0.0, 1.0)] * 6, base_estimator="GP", random_state=0)
    opt.tell(X.tolist(), hartmann6(X).tolist())
    times = []
    for _ in range(steps):
        x = rng.random((1, 6))
        t0 = time.perf_counter()
        opt.tell(x[0].tolist(), float(hartmann6(x)[0]))
        opt.ask()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10, help="number of seeds (0..N-1)")
    ap.add_argument("--quick", action="store_true", help="3 seeds and fewer latency steps")
    ap.add_argument("--no-skopt", action="store_true", help="skip scikit-optimize (slow)")
    ap.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads for all methods via threadpoolctl (0 = leave as is)",
    )
    ap.add_argument("--init-h6", type=int, default=4, help="Sobol initial points, Hartmann-6")
    ap.add_argument("--init-branin", type=int, default=5, help="Sobol initial points, Branin")
    args = ap.parse_args(argv)
    if args.blas_threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads, user_api="blas")
    seeds = range(3 if args.quick and args.seeds == 10 else args.seeds)
    steps = 5 if args.quick else 15
    methods = {k: v for k, v in METHODS.items() if not (args.no_skopt and "skopt" in k)}

    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"cpus: {os.cpu_count()}  load average (1 min) at start: {load:.1f}  BLAS threads: "
        f"{args.blas_threads or 'default'}  seeds: 0..{len(seeds) - 1}"
    )

    rows: dict[str, dict[str, str]] = {m: {} for m in methods}
    t_all = time.perf_counter()
    rows["GPBO"]["lat100"] = f"{latency_gpbo(100, steps):.1f}"
    rows["GPBO"]["lat300"] = f"{latency_gpbo(300, steps):.1f}"
    rec = (recovery_gpbo(100), recovery_gpbo(300))
    if "skopt gp_minimize" in rows:
        rows["skopt gp_minimize"]["lat100"] = f"{latency_skopt(100, 3 if args.quick else 5):.0f}"
        rows["skopt gp_minimize"]["lat300"] = f"{latency_skopt(300, 2 if args.quick else 3):.0f}"

    for name, fn in methods.items():
        t0 = time.perf_counter()
        reg = np.array([fn(hartmann6, 6, 40, args.init_h6, s) - HARTMANN6_MIN for s in seeds])
        q1, med, q3 = np.quantile(reg, [0.25, 0.5, 0.75])
        rows[name]["h6"] = f"{med:.4f} [{q1:.4f}, {q3:.4f}]"
        rows[name]["h6n"] = f"{int(np.sum(reg <= 0.05))}/{len(reg)}"
        rows[name]["h6all"] = " ".join(f"{r:.3f}" for r in reg)
        reg_b = np.array([fn(branin, 2, 30, args.init_branin, s) - BRANIN_MIN for s in seeds])
        rows[name]["br"] = f"{int(np.sum(reg_b <= 0.01))}/{len(reg_b)}"
        rows[name]["brall"] = " ".join(f"{r:.3f}" for r in reg_b)
        rows[name]["time"] = f"{time.perf_counter() - t0:.0f}"

    hdr = [
        "method",
        "ms/step @100",
        "ms/step @300",
        "Hartmann-6 regret @40: median [IQR]",
        "H6 <=0.05",
        "Branin @30 within 0.01",
        "bench s",
    ]
    keys = ["lat100", "lat300", "h6", "h6n", "br", "time"]
    table = [hdr] + [[m] + [rows[m].get(k, "-") for k in keys] for m in methods]
    widths = [max(len(r[i]) for r in table) for i in range(len(hdr))]
    for i, r in enumerate(table):
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    print(
        f"\nGPBO crash recovery (tell n at once + first ask): {rec[0]:.0f} ms @100, "
        f"{rec[1]:.0f} ms @300"
    )
    for m in methods:
        print(f"{m} per-seed regrets: H6 [{rows[m]['h6all']}]  Branin [{rows[m]['brall']}]")
    print(f"total {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
