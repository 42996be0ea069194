"""Optimizer back-ends: scikit-optimize (default) and random search (baseline)."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from .base import Backend, Capabilities, Proposal

__all__ = ["RandomBackend", "SkoptBackend", "GPBackend", "BACKENDS", "make_backend"]


class RandomBackend(Backend):
    """Uniform random search: the baseline every model must beat."""

    name: ClassVar[str] = "random"

    def config(self) -> dict[str, Any]:
        return {"backend": self.name}

    def propose(self, X, y, n, pending, rng):
        return [Proposal(p, origin="random") for p in self.feasible_random(n, rng)]


class SkoptBackend(Backend):
    """scikit-optimize's ``Optimizer``, rebuilt from the data at every proposal.

    Rebuilding costs one model fit, which scikit-optimize does at every ``tell``
    anyway, and makes the proposal a pure function of the data and the seed.
    Pending points and the rest of a batch are handled by the constant liar
    (the lie is the best value seen).
    """

    name: ClassVar[str] = "skopt"
    capabilities: ClassVar[Capabilities] = Capabilities(batch=True, categorical=True)

    @property
    def version(self) -> str:
        import skopt

        return skopt.__version__

    def _acq_kwargs(self) -> dict[str, float]:
        e = self.settings.exploration
        return {"xi": 0.01 + e, "kappa": 1.96 + e}

    def config(self) -> dict[str, Any]:
        s = self.settings
        return {
            "backend": self.name,
            "base_estimator": s.model,
            "acq_func": s.acquisition,
            "acq_func_kwargs": self._acq_kwargs(),
        }

    def propose(self, X, y, n, pending, rng):
        # one BLAS thread, as for the fast engine: on a 2-core machine a
        # multi-threaded BLAS made each scikit-optimize step up to 50x slower
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            return self._propose(X, y, n, pending, rng)

    def _propose(self, X, y, n, pending, rng):
        from skopt import Optimizer

        opt = Optimizer(
            self.space.skopt_dimensions(),
            base_estimator=self.settings.model,
            acq_func=self.settings.acquisition,
            acq_func_kwargs=self._acq_kwargs(),
            n_initial_points=0,
            random_state=int(rng.integers(2**31 - 1)),
        )
        lie = float(np.min(y))
        xs = [self.space.to_list(p) for p in X] + [self.space.to_list(p) for p in pending]
        ys = [float(v) for v in y] + [lie] * len(pending)
        out: list[Proposal] = []
        with warnings.catch_warnings():
            # skopt warns when a point is proposed twice; the agent handles duplicates
            warnings.simplefilter("ignore")
            opt.tell(xs, ys)
            for _ in range(n):
                x = opt.ask()
                params = self.space.from_list(x)
                out.append(Proposal(params, origin="model", acquisition=self._acq(opt, x, lie)))
                if len(out) < n:
                    opt.tell(x, lie)
        return out

    def _acq(self, opt: Any, x: list[Any], y_opt: float) -> float | None:
        """Expected improvement (or the chosen acquisition) at x, larger = better."""
        try:
            from skopt.acquisition import _gaussian_acquisition

            acq = self.settings.acquisition
            acq = "EI" if acq == "gp_hedge" else acq
            value = _gaussian_acquisition(
                np.asarray(opt.space.transform([x])),
                opt.models[-1],
                y_opt=y_opt,
                acq_func=acq,
                acq_func_kwargs=self._acq_kwargs(),
            )
            return float(-value[0])  # skopt minimizes the negative acquisition
        except Exception:
            return None


class GPBackend(Backend):
    """Genesis Lab's fast GP engine (:mod:`genesis_lab.agent.gpbo`).

    A Matern-5/2 ARD GP whose hyperparameters are warm-started and refitted on
    a schedule, with a vectorized acquisition search plus local polish. Until
    there are 3 observations per lengthscale, the numeric inputs share one
    lengthscale (decision 16). The
    engine is kept between proposals while the data only grows (the common
    case), and rebuilt when earlier values change (a new worst value moves the
    penalty of infeasible points); it is deterministic either way.

    Finite spaces (all categorical or integer, up to ``MAX_CANDIDATES`` points)
    are scored candidate by candidate; a measured point is never proposed again.
    """

    name: ClassVar[str] = "gp"
    capabilities: ClassVar[Capabilities] = Capabilities(batch=True, categorical=True)
    MAX_CANDIDATES: ClassVar[int] = 100_000
    DISTINCT: ClassVar[float] = 1e-2

    def __init__(self, space, settings, seed, constraints=()):
        super().__init__(space, settings, seed, constraints)
        self._engine: Any = None
        self._told = 0
        self._told_y = np.zeros(0)
        self._candidates: np.ndarray | None = None
        self._candidate_params: list[dict[str, Any]] | None = None
        self._model: str | None = None
        if space.is_finite and space.size <= self.MAX_CANDIDATES:
            self._candidate_params = space.points()
            self._candidates = np.array([space.to_unit(p) for p in self._candidate_params])

    def _acq_name(self) -> str:
        a = self.settings.acquisition
        return {"EI": "ei", "PI": "pi", "LCB": "lcb"}[a]  # gp_hedge is refused at load

    def config(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self._model_text(),
            "acquisition": self._acq_name(),
            "exploration": self.settings.exploration,
            "finite_candidates": None if self._candidates is None else len(self._candidates),
            **{k: v for k, v in self._kernel_options().items() if k != "groups"},
        }

    def model_state(self) -> dict[str, Any] | None:
        """The GP's hyperparameters as last fitted, lengthscales per parameter (unit range)."""
        if self._engine is None or self._engine.n_observations < 2:
            return None
        h = self._engine.hyperparameters
        ls = h["lengthscales"]
        per_param: dict[str, Any] = {}
        for p, cols in zip(self.space.parameters, self.space._columns, strict=True):
            vals = [float(f"{v:.4g}") for v in ls[cols]]
            per_param[p.name] = vals[0] if len(set(vals)) == 1 else vals
        return {
            "lengthscales": per_param,
            "shared_lengthscale": h["shared_lengthscale"],
            "signal_variance_standardized": float(f"{h['signal_variance_standardized']:.4g}"),
            "noise_variance_standardized": float(f"{h['noise_variance_standardized']:.4g}"),
            "fitted_at_n": h["fitted_at_n"],
        }

    def _model_text(self) -> str:
        if self._model is None:  # the engine's own rule, asked once (config() runs per proposal)
            from .gpbo import GPBO

            early = GPBO(self.space.unit_dim, **self._kernel_options()).shares_lengthscales_early
            self._model = (
                "GP (Matern 5/2 ARD, "
                + ("one shared lengthscale for the numeric inputs until 3 observations per "
                   "lengthscale, " if early else "")
                + "MAP hyperparameters, scheduled refits)"
            )  # fmt: skip
        return self._model

    def _kernel_options(self) -> dict[str, Any]:
        """One lengthscale per one-hot categorical; for finite one-hot spaces also
        additive main effects and a rank (copula) output warping, which made the
        Buchwald benchmarks robust to the order of the choices, and the bonus of
        untried choices (``novelty``, decision 19)."""
        groups = self.space.one_hot_groups()
        if not groups:
            return {}
        opts: dict[str, Any] = {"groups": groups}
        if self._candidates is not None:
            opts.update(additive=True, output_warp="copula")
            if self._acq_name() != "lcb":  # a bonus in log units: EI and PI only
                opts["novelty"] = self.settings.novelty
        return opts

    def _engine_for(self, U: np.ndarray, y: np.ndarray) -> Any:
        from .gpbo import GPBO

        grows = (
            self._engine is not None
            and len(y) >= self._told
            and np.array_equal(self._told_y, y[: self._told])
        )
        if not grows:
            self._engine = GPBO(
                self.space.unit_dim,
                seed=self.seed,
                acquisition=self._acq_name(),
                exploration=self.settings.exploration,
                # points of one batch (and pending ones) at least 1% of the range apart
                distinct_tol=self.DISTINCT,
                **self._kernel_options(),
            )
            self._told = 0
        if len(y) > self._told:
            self._engine.tell(U[self._told :], y[self._told :])
            self._told = len(y)
            self._told_y = y.copy()
        return self._engine

    def propose(self, X, y, n, pending, rng):
        # one BLAS thread: multi-threaded BLAS makes small GP solves many times
        # slower on a loaded machine, and proposals differ between thread counts
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, user_api="blas"):
            return self._propose(X, y, n, pending, rng)

    def _propose(self, X, y, n, pending, rng):
        U = np.array([self.space.to_unit(p) for p in X]).reshape(len(X), self.space.unit_dim)
        engine = self._engine_for(U, np.asarray(y, dtype=float))
        P = np.array([self.space.to_unit(p) for p in pending]) if pending else None
        kwargs: dict[str, Any] = {
            "rng": rng,
            "pending": P,
            "A_ub": self.A_ub,
            "b_ub": self.b_ub,
            "A_eq": self.A_eq,
            "b_eq": self.b_eq,
        }
        if self._candidates is not None:
            key = self.space.key
            seen = {key(p) for p in X} | {key(p) for p in pending}
            exclude = np.array([key(p) in seen for p in self._candidate_params])
            free = int((~exclude).sum())
            if free == 0:
                return []
            n = min(n, free)
            kwargs.update(candidates=self._candidates, exclude=exclude)
        points, acq = engine.ask(n, **kwargs)
        out = []
        for u, a in zip(points, acq, strict=True):
            params = self.space.from_unit(u)
            out.append(
                Proposal(params, origin="model", acquisition=float(a) if np.isfinite(a) else None)
            )
        return out


BACKENDS: dict[str, type[Backend]] = {
    "random": RandomBackend,
    "skopt": SkoptBackend,
    "gp": GPBackend,
}


def make_backend(space, settings, seed, constraints=()) -> Backend:
    """random -> RandomBackend; GP -> the fast engine unless engine: skopt; RF/ET/GBRT -> skopt."""
    if settings.model == "random":
        name = "random"
    elif settings.model == "GP" and settings.engine == "fast":
        name = "gp"
    else:
        name = "skopt"
    return BACKENDS[name](space, settings, seed, constraints)
