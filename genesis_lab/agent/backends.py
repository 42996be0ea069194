"""Optimizer back-ends: scikit-optimize (default) and random search (baseline)."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np

from .base import Backend, Capabilities, Proposal

__all__ = ["RandomBackend", "SkoptBackend", "BACKENDS", "make_backend"]


class RandomBackend(Backend):
    """Uniform random search: the baseline every model must beat."""

    name: ClassVar[str] = "random"

    def config(self) -> dict[str, Any]:
        return {"backend": self.name}

    def propose(self, X, y, n, pending, rng):
        return [Proposal(self.space.random(rng), origin="random") for _ in range(n)]


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


BACKENDS: dict[str, type[Backend]] = {"random": RandomBackend, "skopt": SkoptBackend}


def make_backend(space, settings, seed) -> Backend:
    name = "random" if settings.model == "random" else "skopt"
    return BACKENDS[name](space, settings, seed)
