"""Fast, deterministic Gaussian-process Bayesian optimization on the unit hypercube (minimization).

Model
-----
* Targets are standardized (mean 0, std 1 over the observations told so far).  Constant prior mean,
  set to its generalized-least-squares estimate (profiled out of the marginal likelihood); this
  keeps the model from being optimistic about unexplored corners, which otherwise attract EI.
* Kernel: Matern-5/2 with one lengthscale per input (ARD) times a signal variance, plus
  homoscedastic Gaussian noise with a lower bound (``noise_floor``, default 1e-6 of the
  standardized variance), so noise-free and noisy objectives are both handled.
* Categorical inputs (option ``groups``): the columns of a group share one lengthscale, so a
  one-hot block acts as one parameter (r^2 grows by 2/l^2 when two points differ in it, like an
  exponentiated Hamming/overlap kernel per parameter).  ``additive=True`` makes the kernel
  ``s2 ((1-w) k(r) + w/p sum_g k(r_g))``: the full interaction plus one main-effect term per group
  (p groups; ungrouped columns are their own group), with the weight ``w`` fitted (logit prior
  N(0, 1.5^2)).  ``output_warp="copula"`` models the Gaussian quantiles of the ranks of y instead
  of y (robust to skewed targets such as yields; hurts fine continuous convergence, so use it for
  finite candidate sets).  Recommended for all-categorical campaigns scored on ``candidates``:
  ``groups=<one-hot blocks>, additive=True, output_warp="copula"``.
* Hyperparameters: MAP estimate found by L-BFGS-B on the analytic gradient of the log marginal
  likelihood + log prior.  While there are fewer than ``shared_lengthscale_until`` (3) observations
  per lengthscale, all numeric inputs share one lengthscale (one-hot groups keep theirs; not with
  ``additive``): a per-input lengthscale fitted to a handful of points can declare an input
  irrelevant and stop the search from exploring along it (decision 16).  Default priors:
  lengthscale LogNormal(sqrt2 + log(d)/2, sqrt3) (the dimension-scaled prior of current
  BoTorch), log signal variance ~ N(0, 1.5^2), log noise variance ~ N(-9, 3^2); see
  :func:`_gp_model.default_priors`.
* Acquisition: log expected improvement (default; numerically stable for tiny EI), log
  probability of improvement, or lower confidence bound.  With ``candidates`` every admissible
  row is scored (vectorized, no polish); exact ties (e.g. the untried levels of a categorical,
  which the kernel cannot tell apart) are broken with the ``rng``, not by row order.  Option
  ``novelty`` (log units, default 0) adds a bonus to the log EI/PI of a candidate for each one-hot
  group whose choice no observed, pending or batch point has: the MAP kernel learns how much the
  choices differ from the few tried, and underrates a choice unlike them (decision 19).  The
  incumbent is the smallest posterior mean over the observed inputs (the best observation for
  noise-free data).  Otherwise the acquisition is optimized by scoring
  a scrambled Sobol set (or hit-and-run samples of the constrained polytope) plus Gaussian
  perturbations of the best observed points, then polishing the best few starts with L-BFGS-B
  (box) or SLSQP (linear constraints, in null-space coordinates so that equalities hold to machine
  precision).
* Batches / pending points: kriging believer (default; fantasized value = posterior mean) or
  constant liar; the posterior is conditioned on each fantasy before choosing the next point.

Refit schedule and determinism
------------------------------
The hyperparameters used with ``n`` observations are those fitted at the largest *schedule point*
``s <= n`` on the first ``s`` observations.  Default schedule: every ``n`` up to
``dense_refit_until`` (50), then ``s -> s + ceil(refit_fraction * s)`` (fraction 0.1).  Each fit is
warm-started from the fit at the previous schedule point (a deterministic chain: the first link uses
fixed multi-starts, and links up to ``dense_refit_until`` also try a fixed default start).  Links
are computed lazily and cached, so telling the whole log at once and then asking gives bit-identical
proposals to an uninterrupted tell/ask run.  Everything else (Cholesky factor, acquisition) is
recomputed from scratch from the data, the pending points and the ``rng`` passed to :meth:`ask`.
Bit-identity assumes the same machine and BLAS thread count (summation order differs otherwise).

Performance note
----------------
All matrices are small (n <= a few hundred), where multi-threaded OpenBLAS only adds overhead; on a
loaded 2-core machine its spinning threads made a 300-observation step ~20x slower (0.8 s instead
of 40 ms).  Callers should run GPBO with one BLAS thread, e.g.
``with threadpoolctl.threadpool_limits(1, user_api="blas"): bo.ask(...)`` or
``OPENBLAS_NUM_THREADS=1`` in the environment (this module itself imports only numpy and scipy).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import ndtri
from scipy.stats import qmc, rankdata

from ._gp_model import KernelSpec, Posterior, Prior, acq_value_grad, default_priors, fit_map
from ._gp_space import Polytope

__all__ = ["GPBO"]

_ACQS = ("ei", "logei", "pi", "lcb")
_DEFAULT_OPTIONS: dict[str, Any] = {
    "prior": "dimension_scaled",  # or "gamma"
    "mean": "constant",  # "constant" (GLS estimate) or "zero" (= mean of the data)
    "noise_floor": 1e-6,  # lower bound of the noise variance (standardized units)
    "kappa": 2.0,  # LCB: mu - (kappa + exploration) * sigma
    "batch_strategy": "kb",  # "kb" (kriging believer), "cl_min", "cl_mean", "cl_max"
    "n_restarts": 6,  # local polish starts
    "n_local": 768,  # perturbation candidates around the incumbents
    "local_scales": (0.01, 0.05, 0.2),  # std of the Gaussian perturbations (z-coordinates)
    "n_incumbents": 5,  # best observed points (by posterior mean) perturbed
    "dense_refit_until": 50,
    "refit_fraction": 0.1,
    "fit_restarts": 3,  # starts of the very first hyperparameter fit
    "distinct_tol": 1e-6,  # min distance of a returned point to pending/batch points
    "groups": None,  # lists of columns sharing one lengthscale (e.g. one-hot blocks)
    "additive": False,  # add first-order (per-group) terms to the kernel, weight learned
    "additive_prior": (0.0, 1.5),  # logit of the additive weight ~ N(mean, sd^2)
    "output_warp": None,  # None or "copula" (Gaussian ranks of y before standardizing)
    "shared_lengthscale_until": 3.0,  # numeric inputs share one lengthscale for fits on < this * p
    "novelty": 0.0,  # candidates, EI/PI: log bonus per one-hot group at an untried choice
}


def _tie_from_groups(dim: int, groups: Any) -> np.ndarray | None:
    """Lengthscale index of every column: columns of a group share one; the others get their own.

    Indices are assigned in column order (by the first column of each group), so the result does
    not depend on the order in which the groups are listed.  None when no group has 2+ columns.
    """
    if groups is None:
        return None
    tie = np.full(dim, -1)
    for gi, g in enumerate(groups):
        cols = [int(c) for c in g]
        if any(c < 0 or c >= dim for c in cols):
            raise ValueError(f"groups: column index out of range [0, {dim})")
        if len(set(cols)) != len(cols) or np.any(tie[cols] >= 0):
            raise ValueError("groups must be disjoint lists of distinct column indices")
        tie[cols] = dim + gi  # provisional label
    tie = np.where(tie < 0, np.arange(dim), tie)
    _, first, inv = np.unique(tie, return_index=True, return_inverse=True)
    rank = np.empty(len(first), int)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    out = rank[inv.reshape(-1)]
    return None if int(out.max()) + 1 == dim else out


class GPBO:
    """GP Bayesian optimization on the unit hypercube [0,1]^d, minimization.

    Deterministic: the output of :meth:`ask` is a pure function of (constructor args, the ordered
    sequence of observations told so far, the pending points, the rng passed in); it does not depend
    on how :meth:`tell` and :meth:`ask` calls were interleaved.

    Parameters
    ----------
    dim: input dimension ``d``.
    seed: seeds the extra random restarts of the first hyperparameter fit when
        ``fit_restarts > 3`` (nothing else; all randomness of :meth:`ask` comes from ``rng``).
    acquisition: "ei" (log-EI internally; "logei" is an alias), "pi" or "lcb".
    exploration: xi for EI/PI in standardized y units; added to kappa for LCB.
    n_candidates: raw candidates scored before the local polish (default ``max(1024, 256 d)``
        rounded up to a power of two).
    refit_schedule: None (default schedule, see module docs), an int ``k`` (refit when ``n % k ==
        0``, plus at n=2), a sequence of observation counts, or a pure callable ``n -> bool``.
    **options: see ``_DEFAULT_OPTIONS`` (prior, mean, noise_floor, kappa, batch_strategy,
        n_restarts, n_local, local_scales, n_incumbents, dense_refit_until, refit_fraction,
        fit_restarts, distinct_tol, groups, additive, additive_prior, output_warp,
        shared_lengthscale_until, novelty).  Unknown names raise TypeError.
    groups: None (one lengthscale per column) or disjoint lists of column indices; each list
        shares one lengthscale (pass the one-hot columns of each categorical parameter).  The
        lengthscale prior keeps using ``dim`` (the number of columns).
    additive: add per-group main-effect terms to the kernel (see module docs).
    novelty: with ``candidates`` and EI or PI, each one-hot group (of ``groups``) whose choice in a
        candidate is untried adds this much to its log acquisition (0: off; ignored by LCB).
    output_warp: None or "copula"; with "copula", :meth:`predict` maps back to y units by
        piecewise-linear interpolation through the observations (approximate) and "lcb" values
        are in standardized warped units.

    Acquisition values returned by :meth:`ask` (larger = better): "ei": log EI with EI in
    standardized y units; "pi": log PI; "lcb": ``-(mu - kappa sigma)`` in original y units;
    NaN when fewer than 2 observations exist (points are then random feasible points).
    """

    def __init__(
        self,
        dim: int,
        *,
        seed: int = 0,
        acquisition: str = "ei",
        exploration: float = 0.0,
        n_candidates: int | None = None,
        refit_schedule: None | int | Sequence[int] | Callable[[int], bool] = None,
        **options: Any,
    ) -> None:
        if int(dim) < 1:
            raise ValueError("dim must be >= 1")
        acquisition = acquisition.lower()
        if acquisition not in _ACQS:
            raise ValueError(f"acquisition must be one of {_ACQS}")
        unknown = set(options) - set(_DEFAULT_OPTIONS)
        if unknown:
            raise TypeError(f"unknown options: {sorted(unknown)}")
        self.dim = int(dim)
        self.seed = int(seed)
        self.acquisition = "ei" if acquisition == "logei" else acquisition
        self.exploration = float(exploration)
        if n_candidates is None:
            # at most ~4 M numbers: many one-hot columns must not need gigabytes
            n_candidates = min(max(1024, 256 * self.dim), max(256, 2**22 // self.dim))
        self.n_candidates = int(n_candidates)
        self.options = {**_DEFAULT_OPTIONS, **options}
        if self.options["mean"] not in ("constant", "zero"):
            raise ValueError("mean must be 'constant' or 'zero'")
        if self.options["batch_strategy"] not in ("kb", "cl_min", "cl_mean", "cl_max"):
            raise ValueError("batch_strategy must be 'kb', 'cl_min', 'cl_mean' or 'cl_max'")
        self._tie = _tie_from_groups(self.dim, self.options["groups"])
        if self.options["output_warp"] not in (None, "copula"):
            raise ValueError("output_warp must be None or 'copula'")
        self._warp = self.options["output_warp"] == "copula"
        until = self.options["shared_lengthscale_until"]
        if isinstance(until, bool) or not isinstance(until, numbers.Real) or not until >= 0:
            raise ValueError("shared_lengthscale_until must be a number >= 0 (0 turns it off)")
        self._spec = KernelSpec(self.dim, self._tie, bool(self.options["additive"]))
        self._p = self._spec.p
        self._priors = default_priors(self.dim, self.options["prior"])
        if self._spec.additive:
            self._priors = (*self._priors[:3], Prior("normal", *self.options["additive_prior"]))
        self._shared_map = self._make_shared_map()
        self._schedule = refit_schedule
        self._X = np.zeros((0, self.dim))
        self._y = np.zeros(0)
        self._chain: dict[int, np.ndarray] = {}
        self._post_cache: tuple[int, Posterior, float, float] | None = None

    def _groups(self) -> list[list[int]]:
        """Columns sharing each lengthscale (singletons included), in lengthscale order."""
        assert self._tie is not None
        return [np.flatnonzero(self._tie == k).tolist() for k in range(self._p)]

    # ------------------------------------------------------------------ data
    @property
    def n_observations(self) -> int:
        return len(self._y)

    @property
    def X(self) -> np.ndarray:
        """Copy of the observed inputs (n, d), in the order told."""
        return self._X.copy()

    @property
    def y(self) -> np.ndarray:
        """Copy of the observed values (n,), in the order told."""
        return self._y.copy()

    def tell(self, X: np.ndarray, y: np.ndarray) -> None:
        """Append observations: X (k,d) in [0,1] (tolerance 1e-9, then clipped), y (k,) finite."""
        X = np.array(X, dtype=float, ndmin=2)
        y = np.array(y, dtype=float).reshape(-1)
        if y.size == 0 and np.size(X) == 0:
            return
        if X.shape[1] != self.dim or X.shape[0] != y.shape[0]:
            raise ValueError(f"expected X (k,{self.dim}) and y (k,), got {X.shape} and {y.shape}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError("X and y must be finite")
        if np.any(X < -1e-9) or np.any(X > 1 + 1e-9):
            raise ValueError("X must lie in the unit hypercube")
        self._X = np.vstack([self._X, np.clip(X, 0.0, 1.0)])
        self._y = np.concatenate([self._y, y])

    # ------------------------------------------------------------------ hyperparameters
    def _schedule_points(self, n: int) -> list[int]:
        """Sorted refit points s in [2, n] (always includes 2)."""
        sched = self._schedule
        if sched is None:
            dense = int(self.options["dense_refit_until"])
            pts = list(range(2, min(n, dense) + 1))
            s = dense
            while True:
                s += max(1, math.ceil(self.options["refit_fraction"] * s))
                if s > n:
                    break
                pts.append(s)
            return pts
        if callable(sched):
            return [s for s in range(2, n + 1) if s == 2 or bool(sched(s))]
        if isinstance(sched, (int, np.integer)):
            k = max(1, int(sched))
            return sorted({2} | set(range(k, n + 1, k)) - {0, 1})
        return sorted({2} | {int(v) for v in sched if 2 <= int(v) <= n})

    def _default_theta(self) -> np.ndarray:
        pr = self._priors[0]
        ls0 = {"lognormal": math.exp(pr.a - pr.b**2), "normal": math.exp(pr.a)}.get(pr.kind, 0.5)
        ls0 = min(max(ls0, 0.1), 2.0)
        return self._with_u(
            np.concatenate([np.full(self._p, math.log(ls0)), [0.0, math.log(1e-3)]])
        )

    def _with_u(self, theta: np.ndarray) -> np.ndarray:
        """Append the additive-weight hyperparameter (its prior mean) when the kernel has one."""
        if not self._spec.additive:
            return theta
        return np.concatenate([theta, [float(self.options["additive_prior"][0])]])

    def _theta_at(self, n: int) -> tuple[np.ndarray, int]:
        """Hyperparameters for ``n`` observations and the schedule point they were fitted at."""
        if n < 2:
            return self._default_theta(), 0
        points = self._schedule_points(n)
        k = len(points) - 1
        while k >= 0 and points[k] not in self._chain:
            k -= 1
        for j in range(k + 1, len(points)):
            s = points[j]
            y = self._y[:s]
            ys = self._targets(y)
            default = self._default_theta()
            if j == 0:
                starts = [default]
                rs = np.random.default_rng(self.seed)
                for ls in (0.2, 1.0):
                    starts.append(
                        self._with_u(np.concatenate([np.full(self._p, math.log(ls)), [0.0, -7.0]]))
                    )
                for _ in range(max(0, int(self.options["fit_restarts"]) - 3)):
                    starts.append(
                        self._with_u(
                            np.concatenate(
                                [
                                    rs.uniform(-2.5, 1.5, self._p),
                                    [rs.uniform(-1, 1), rs.uniform(-12, -2)],
                                ]
                            )
                        )
                    )
            else:
                starts = [self._chain[points[j - 1]]]
                if s <= int(self.options["dense_refit_until"]):
                    starts.append(default)
            if self._shared_at(s):
                theta = self._fit_shared(s, ys, starts)
            else:
                theta = self._fit(s, ys, starts, self._spec)
            self._chain[s] = theta
        return self._chain[points[-1]], points[-1]

    def _fit(
        self, s: int, ys: np.ndarray, starts: list[np.ndarray], spec: KernelSpec
    ) -> np.ndarray:
        """MAP hyperparameters of ``spec`` on the first ``s`` observations (targets ``ys``)."""
        theta, _ = fit_map(
            self._X[:s],
            ys,
            starts,
            self._priors,
            self.options["noise_floor"],
            gls_mean=self.options["mean"] == "constant",
            spec=spec,
        )
        return theta

    @property
    def shares_lengthscales_early(self) -> bool:
        """Whether the numeric inputs share one lengthscale while data are few (decision 16)."""
        return self._shared_map is not None and self.options["shared_lengthscale_until"] > 0

    def _make_shared_map(self) -> np.ndarray | None:
        """Lengthscale index -> shared index for the early phase: every single-column
        lengthscale (a numeric input, as the agent encodes spaces) maps to 0, each multi-column
        group (a one-hot categorical) keeps its own.  None when there is nothing to share (fewer
        than two single-column lengthscales, or an additive kernel, whose main-effect terms need
        their own lengthscales)."""
        sizes = np.array([len(c) for c in self._spec.cols])
        single = sizes == 1
        if self._spec.additive or int(single.sum()) < 2:
            return None
        out = np.zeros(self._p, int)
        out[~single] = 1 + np.arange(int((~single).sum()))
        return out

    def _shared_at(self, n: int) -> bool:
        """True when a fit at schedule point ``n`` ties the numeric lengthscales.  A fit stays in
        use until the next schedule point, so with a sparse ``refit_schedule`` a shared fit can
        serve beyond ``shared_lengthscale_until * p`` observations."""
        limit = float(self.options["shared_lengthscale_until"]) * self._p
        return n < limit and self._shared_map is not None

    def _fit_shared(self, s: int, ys: np.ndarray, starts: list[np.ndarray]) -> np.ndarray:
        """MAP fit with one lengthscale for all numeric inputs, returned as a full theta.

        With few observations per lengthscale, a separate lengthscale per input is poorly
        determined: the fit can declare an input irrelevant from the few points of one basin, and
        the acquisition then hardly explores along it any more (decision 16).  The shared
        lengthscale gets the lengthscale prior once (one lengthscale, one prior term), not once
        per input it stands for.
        """
        m = self._shared_map
        assert m is not None
        p, q = self._p, int(m.max()) + 1
        tie = m if self._tie is None else m[self._tie]
        shared = []
        for t in starts:
            ls = np.array([float(np.mean(t[:p][m == k])) for k in range(q)])
            shared.append(np.concatenate([ls, t[p : p + 2]]))
        t = self._fit(s, ys, shared, KernelSpec(self.dim, tie, False))
        return np.concatenate([t[:q][m], t[q : q + 2]])

    def _targets(self, y: np.ndarray) -> np.ndarray:
        """Model targets: y (copula-warped if ``output_warp="copula"``) standardized."""
        if self._warp and len(y) > 1:
            y = ndtri((rankdata(y, method="average") - 0.5) / len(y))
        return self._standardize(y)

    def _unwarp(self, mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map standardized-warped mean/std back to y units: piecewise-linear inverse of the warp
        through the observations (linear extrapolation), std by the local slope."""
        t = self._targets(self._y)
        xp, first = np.unique(t, return_index=True)
        fp = self._y[first]
        if len(xp) < 2:
            return np.full_like(mu, fp[0]), np.zeros_like(sd)
        slopes = np.diff(fp) / np.diff(xp)
        k = np.clip(np.searchsorted(xp, mu) - 1, 0, len(slopes) - 1)
        return fp[k] + slopes[k] * (mu - xp[k]), slopes[k] * sd

    @staticmethod
    def _standardize(y: np.ndarray) -> np.ndarray:
        sd = float(y.std()) if len(y) > 1 else 0.0
        return (y - y.mean()) / (sd if sd > 0 else 1.0)

    def _posterior(self) -> tuple[Posterior, float, float]:
        """Posterior on all observations (cached per n) plus (y_mean, y_std)."""
        n = self.n_observations
        if self._post_cache is not None and self._post_cache[0] == n:
            return self._post_cache[1:]
        mean = float(self._y.mean()) if n else 0.0
        sd = float(self._y.std()) if n > 1 else 0.0
        sd = sd if sd > 0 else 1.0
        theta, _ = self._theta_at(n)
        yw = self._targets(self._y)
        const = None if self.options["mean"] == "constant" else 0.0
        post = Posterior(self._X, yw, theta, const, self._spec)
        self._post_cache = (n, post, mean, sd)
        return post, mean, sd

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """Current hyperparameters (lengthscales in unit-cube units) for provenance."""
        n = self.n_observations
        theta, fitted_at = self._theta_at(n)
        post, mean, sd = self._posterior() if n else (None, 0.0, 1.0)
        const = post.const * sd + mean if post is not None else 0.0
        p = self._p
        s2, sn2 = math.exp(theta[p]), math.exp(theta[p + 1])
        ls = np.exp(theta[:p]) if self._tie is None else np.exp(theta[:p])[self._tie]
        return {
            "kernel": "matern52_ard" + ("_additive" if self._spec.additive else ""),
            "lengthscales": ls.tolist(),
            "groups": None if self._tie is None else [list(g) for g in self._groups()],
            "prior_mean": float(const),
            "signal_variance": s2 * sd * sd,
            "noise_variance": sn2 * sd * sd,
            "signal_variance_standardized": s2,
            "noise_variance_standardized": sn2,
            "y_mean": mean,
            "y_std": sd,
            "fitted_at_n": fitted_at,
            "shared_lengthscale": fitted_at >= 2 and self._shared_at(fitted_at),
            "n_observations": n,
            "prior": self.options["prior"],
            "additive_weight": self._spec.weight(theta) if self._spec.additive else None,
            "output_warp": self.options["output_warp"],
        }

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std of the latent function (noise excluded), original y units."""
        X = np.array(X, dtype=float, ndmin=2)
        if self.n_observations == 0:
            return np.zeros(len(X)), np.ones(len(X))
        post, mean, sd = self._posterior()
        mu, var = post.mean_var(X)
        if self._warp:
            return self._unwarp(mu, np.sqrt(var))
        return mu * sd + mean, np.sqrt(var) * sd

    # ------------------------------------------------------------------ ask
    def ask(
        self,
        n: int = 1,
        *,
        rng: np.random.Generator,
        pending: np.ndarray | None = None,
        candidates: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
        A_ub: np.ndarray | None = None,
        b_ub: np.ndarray | None = None,
        A_eq: np.ndarray | None = None,
        b_eq: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Propose ``n`` points; returns ``(points (n,d), acquisition values (n,))``.

        pending: (m,d) points under evaluation; folded into the model as fantasies (batch strategy)
            and never returned again.
        candidates / exclude: score only the rows of ``candidates`` (minus excluded, infeasible and
            pending rows) and return distinct rows of it.
        A_ub, b_ub, A_eq, b_eq: linear constraints in unit space; every returned point satisfies
            them (inequalities to ~1e-12, equalities to ~1e-15 relative).
        Batches are built sequentially: each chosen point is added as a fantasy before the next.
        The i-th value is the acquisition of the i-th point given the data, the pending points and
        the first i-1 batch points (without the ``novelty`` bonus, which only ranks candidates).
        """
        n = int(n)
        if n < 1:
            raise ValueError("n must be >= 1")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator")
        d = self.dim
        poly = Polytope(d, A_ub, b_ub, A_eq, b_eq)
        if (
            candidates is None
            and poly.zdim == 0
            and n + len(np.atleast_2d(pending if pending is not None else np.zeros((0, d)))) > 1
        ):
            raise ValueError("the feasible set is a single point: cannot return distinct points")
        P = np.zeros((0, d)) if pending is None else np.array(pending, float, ndmin=2)
        if P.size == 0:
            P = np.zeros((0, d))
        if P.shape[1] != d or not np.all(np.isfinite(P)):
            raise ValueError(f"pending must be a finite (m,{d}) array")
        allowed = C = None
        if candidates is not None:
            C = np.array(candidates, float, ndmin=2)
            if C.shape[1] != d or not np.all(np.isfinite(C)):
                raise ValueError(f"candidates must be a finite (N,{d}) array")
            allowed = poly.contains(C)
            if exclude is not None:
                exclude = np.asarray(exclude, bool).reshape(-1)
                if exclude.shape[0] != C.shape[0]:
                    raise ValueError("exclude must have one entry per candidate")
                allowed &= ~exclude
            for p in P:
                allowed &= ~np.all(np.abs(C - p) <= 1e-12, axis=1)
            if int(allowed.sum()) < n:
                raise ValueError(f"only {int(allowed.sum())} admissible candidates for n={n}")
        if self.n_observations < 2:
            if C is not None:
                idx = rng.choice(np.flatnonzero(allowed), size=n, replace=False)
                return C[idx].copy(), np.full(n, np.nan)
            return poly.sample(n, rng), np.full(n, np.nan)

        post, ymean, ysd = self._posterior()
        mu_obs, _ = post.mean_var(self._X)
        best = float(np.min(mu_obs))
        incumbents = self._X[np.argsort(mu_obs, kind="stable")[: int(self.options["n_incumbents"])]]
        strategy = self.options["batch_strategy"]
        y_real = post.y

        def lies(p: Posterior, Xf: np.ndarray) -> np.ndarray:
            if strategy == "kb":
                return p.mean_var(Xf)[0]
            v = {"cl_min": y_real.min(), "cl_mean": y_real.mean(), "cl_max": y_real.max()}[strategy]
            return np.full(len(Xf), v)

        X_aug, y_aug = self._X, y_real
        if len(P):
            fy = lies(post, P)
            X_aug, y_aug = np.vstack([X_aug, P]), np.concatenate([y_aug, fy])
            best = min(best, float(fy.min()))
            post = post.rebuild(X_aug, y_aug)
        out_x, out_v = [], []
        for i in range(n):
            if C is not None:
                vals = self._acq(post, C[allowed], best)
                vals = np.where(np.isfinite(vals), vals, -np.inf)
                score = vals + self._novelty(C[allowed], X_aug)  # chosen by; vals reported
                top = float(np.max(score))
                # ties (e.g. the untried choices of a categorical are exchangeable under the
                # kernel) are broken at random, not by the order of the candidate list
                tied = np.flatnonzero(score >= top - self._tie_tol(top))
                k = int(tied[0]) if len(tied) == 1 else int(rng.choice(tied))
                j = int(np.flatnonzero(allowed)[k])
                x, v = C[j].copy(), float(vals[k])
                allowed[j] = False
            else:
                x, v = self._optimize(
                    post, best, poly, rng, X_aug[self.n_observations :], incumbents
                )
            out_x.append(x)
            out_v.append(v)
            if i + 1 < n:
                fy = lies(post, x[None, :])
                X_aug, y_aug = np.vstack([X_aug, x]), np.concatenate([y_aug, fy])
                best = min(best, float(fy[0]))
                post = post.rebuild(X_aug, y_aug)
        vals = np.array(out_v)
        if self.acquisition == "lcb" and not self._warp:
            vals = vals * ysd - ymean
        return np.array(out_x), vals

    # ------------------------------------------------------------------ acquisition optimization
    def _acq(
        self, post: Posterior, X: np.ndarray, best: float, grad: bool = False, chunk: int = 4096
    ):
        kappa = float(self.options["kappa"]) + self.exploration
        if grad:
            return acq_value_grad(post, X, self.acquisition, best, self.exploration, kappa, True)
        out = [
            acq_value_grad(
                post, X[i : i + chunk], self.acquisition, best, self.exploration, kappa, False
            )[0]
            for i in range(0, len(X), chunk)
        ]
        return np.concatenate(out) if out else np.zeros(0)

    def _optimize(
        self,
        post: Posterior,
        best: float,
        poly: Polytope,
        rng: np.random.Generator,
        avoid: np.ndarray,
        incumbents: np.ndarray,
    ) -> tuple[np.ndarray, float]:
        """Maximize the acquisition over the feasible set; returns (x, value)."""
        d = self.dim
        tol = float(self.options["distinct_tol"])
        # raw candidates (z-coordinates)
        if poly.is_box:
            m = max(1, math.ceil(math.log2(self.n_candidates)))
            Zr = qmc.Sobol(d, scramble=True, rng=rng).random_base2(m)
        else:
            Zr = poly.sample_z(self.n_candidates, rng)
        n_local = int(self.options["n_local"])
        if n_local > 0 and poly.zdim > 0:
            Zi = poly.to_z(incumbents)
            scales = np.asarray(self.options["local_scales"], float)
            reps = math.ceil(n_local / (len(Zi) * len(scales)))
            base = np.repeat(Zi, reps * len(scales), axis=0)
            sig = np.tile(np.repeat(scales, reps), len(Zi))[:, None]
            Zl = base + sig * rng.standard_normal(base.shape)
            if poly.is_box:  # reflect at the faces (clipping would pile candidates on the boundary)
                Zl = np.clip(1.0 - np.abs(1.0 - np.abs(Zl)), 0.0, 1.0)
            else:
                Zl = poly.repair(Zl)
            Zr = np.vstack([Zr, Zl])
        Xr = poly.to_x(Zr)
        vals = self._acq(post, Xr, best)
        vals = np.where(np.isfinite(vals), vals, -np.inf)
        if len(avoid):
            vals[self._too_close(Xr, avoid, tol)] = -np.inf
        order = np.argsort(-vals, kind="stable")
        k = int(self.options["n_restarts"])
        starts = Zr[order[:k]]
        if poly.zdim == 0:
            return Xr[0], float(vals[0])
        if poly.is_box:
            Zp = self._polish_box(post, best, starts)
        else:
            Zp = np.array([self._polish_poly(post, best, poly, z) for z in starts])
            Zp = poly.repair(Zp)
        Xp = poly.to_x(Zp)
        vp = self._acq(post, Xp, best)
        vp = np.where(np.isfinite(vp), vp, -np.inf)
        if len(avoid):
            vp[self._too_close(Xp, avoid, tol)] = -np.inf
        Xall = np.vstack([Xp, Xr[order[:1]]])
        vall = np.concatenate([vp, vals[order[:1]]])
        j = int(np.argmax(vall))
        return Xall[j], float(vall[j])

    def _novelty(self, C: np.ndarray, X_seen: np.ndarray) -> np.ndarray | float:
        """Bonus of each candidate: ``novelty`` times its one-hot groups whose set column no
        observed, pending or batch point has set (an untried choice)."""
        beta = float(self.options["novelty"])
        if beta == 0.0 or self._tie is None or self.acquisition == "lcb":
            return 0.0
        multi = [g for g in self._groups() if len(g) > 1]
        if not multi:
            return 0.0
        cols = np.concatenate(multi)
        untried = ~(X_seen[:, cols] > 0.5).any(axis=0)
        return beta * ((C[:, cols] > 0.5) & untried).sum(axis=1)

    @staticmethod
    def _tie_tol(top: float) -> float:
        """Acquisition values within this of the maximum count as ties (rounding differences)."""
        return 1e-9 * max(1.0, abs(top)) if np.isfinite(top) else 0.0

    @staticmethod
    def _too_close(X: np.ndarray, A: np.ndarray, tol: float) -> np.ndarray:
        d2 = np.sum(X * X, 1)[:, None] + np.sum(A * A, 1)[None, :] - 2.0 * X @ A.T
        return np.any(d2 <= tol * tol, axis=1)

    def _polish_box(self, post: Posterior, best: float, starts: np.ndarray) -> np.ndarray:
        """Batched L-BFGS-B on the sum of the acquisitions of independent starts (separable)."""
        k, d = starts.shape

        def obj(flat: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = self._acq(post, flat.reshape(k, d), best, grad=True)
            if not np.all(np.isfinite(v)):
                bad = ~np.isfinite(v)
                v, g = np.where(bad, -1e6, v), np.where(bad[:, None], 0.0, g)
            return -float(np.sum(v)), -g.ravel()

        res = minimize(
            obj,
            starts.ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * (k * d),
            options={"maxiter": 200},
        )
        return np.clip(res.x.reshape(k, d), 0.0, 1.0)

    def _polish_poly(
        self, post: Posterior, best: float, poly: Polytope, z0: np.ndarray
    ) -> np.ndarray:
        """SLSQP in null-space coordinates with the inequality constraints G z <= h."""
        N, x0, G, h = poly.N, poly.x0, poly.G, poly.h

        def obj(z: np.ndarray) -> tuple[float, np.ndarray]:
            v, g = self._acq(post, (x0 + N @ z)[None, :], best, grad=True)
            if not np.isfinite(v[0]):
                return 1e6, np.zeros_like(z)
            return -float(v[0]), -(N.T @ g[0])

        cons = [{"type": "ineq", "fun": lambda z: h - G @ z, "jac": lambda z: -G}]
        try:
            res = minimize(
                obj,
                z0,
                jac=True,
                method="SLSQP",
                constraints=cons,
                options={"maxiter": 100, "ftol": 1e-9},
            )
            z = res.x if np.all(np.isfinite(res.x)) else z0
        except (ValueError, np.linalg.LinAlgError):
            z = z0
        return z
