"""Hartmann-6 with BoTorch, for comparing Genesis Lab's agent with Ax/BoTorch on the same task.

Issue 5 quotes Ax (BoTorch) at a median regret of about 0.03 after 40 Hartmann-6 evaluations.
This script measures two BoTorch set-ups on this machine, 40 evaluations per seed, minimization of
Hartmann-6 on [0, 1]^6 (optimum -3.32237):

* ``current``: what BoTorch does today out of the box: ``SingleTaskGP`` with its defaults (RBF
  kernel with the dimension-scaled lengthscale prior), outcomes standardized, qLogNEI;
* ``legacy``: Ax's long-time default model: Matern-5/2 ARD kernel with a Gamma(3, 6) lengthscale
  prior and a Gamma(2, 0.15) outputscale prior, Gamma(1.1, 0.05) noise prior, qLogNEI.

Both start from ``--initial-points`` scrambled Sobol points (Ax's default for 6 parameters is 12)
and optimize the acquisition with 20 restarts from 1024 raw samples, as Ax does.  One torch thread.

BoTorch is not a dependency of Genesis Lab; run this in its own environment:

    python3 -m venv /tmp/botorch && /tmp/botorch/bin/pip install torch botorch
    /tmp/botorch/bin/python benchmarks/botorch_hartmann6.py --config legacy --seeds 0-9

It prints one JSON line per seed and a summary line (median regret, runs within 0.05).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def run(seed: int, config: str, initial_points: int, budget: int) -> float:
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from botorch.test_functions import Hartmann
    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import MaternKernel, ScaleKernel
    from gpytorch.likelihoods import GaussianLikelihood
    from gpytorch.mlls import ExactMarginalLogLikelihood
    from gpytorch.priors import GammaPrior
    from torch.quasirandom import SobolEngine

    f = Hartmann(dim=6)  # minimization, optimum -3.32237
    torch.manual_seed(seed)
    bounds = torch.stack([torch.zeros(6), torch.ones(6)]).double()
    X = SobolEngine(6, scramble=True, seed=seed).draw(initial_points).double()
    Y = -f(X).unsqueeze(-1)  # BoTorch maximizes
    while len(X) < budget:
        if config == "legacy":
            covar = ScaleKernel(
                MaternKernel(nu=2.5, ard_num_dims=6, lengthscale_prior=GammaPrior(3.0, 6.0)),
                outputscale_prior=GammaPrior(2.0, 0.15),
            )
            lik = GaussianLikelihood(
                noise_prior=GammaPrior(1.1, 0.05), noise_constraint=GreaterThan(1e-6)
            )
            model = SingleTaskGP(
                X, Y, covar_module=covar, likelihood=lik, outcome_transform=Standardize(1)
            )
        else:
            model = SingleTaskGP(X, Y, outcome_transform=Standardize(1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        acq = qLogNoisyExpectedImprovement(model, X_baseline=X, prune_baseline=True)
        x, _ = optimize_acqf(acq, bounds, q=1, num_restarts=20, raw_samples=1024)
        X = torch.cat([X, x])
        Y = torch.cat([Y, -f(x).unsqueeze(-1)])
    return float(-Y.max()) - f.optimal_value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", choices=["current", "legacy"], default="legacy")
    ap.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 10-209")
    ap.add_argument("--initial-points", type=int, default=12)
    ap.add_argument("--budget", type=int, default=40)
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    warnings.filterwarnings("ignore")
    regrets = []
    t0 = time.perf_counter()
    for seed in _seeds(args.seeds):
        ts = time.perf_counter()
        r = run(seed, args.config, args.initial_points, args.budget)
        regrets.append(r)
        print(json.dumps({"seed": seed, "regret": r, "seconds": time.perf_counter() - ts}))
    reg = np.array(regrets)
    print(
        f"botorch {args.config}, {args.initial_points} Sobol points, {args.budget} evaluations, "
        f"{len(reg)} seeds: median regret {np.median(reg):.4f}, within 0.05: "
        f"{int(np.sum(reg <= 0.05))}/{len(reg)}, {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
