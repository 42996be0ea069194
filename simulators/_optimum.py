"""Global optimisation of a cheap, vectorised, box-bounded model.

Used by :meth:`simulators.base.Simulator.optimum` to compute (not guess) the
ground-truth optimum of an instrument's noise-free model:

1. global stage: a scrambled Sobol set (plus the box corners) evaluated in one
   vectorised call;
2. zoom stage: around the best few well-separated candidates, repeatedly sample a
   shrinking box (vectorised), keeping the best point;
3. polish: L-BFGS-B with a batched central-difference gradient, in unit-box
   coordinates.

Everything is seeded, so the result is deterministic.
"""

from __future__ import annotations

import functools
import itertools
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize
from scipy.stats import qmc

__all__ = ["cached_optimum", "find_optimum", "seeded_classmethod"]

Objective = Callable[[np.ndarray], np.ndarray]


def find_optimum(
    f: Objective,
    low: np.ndarray,
    high: np.ndarray,
    *,
    maximize: bool,
    n_global: int = 2**13,
    n_starts: int = 4,
    n_zoom: int = 16,
    n_local: int = 256,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Optimise ``f`` over the box ``[low, high]``.

    ``f`` maps an ``(n, d)`` array of points to ``n`` values; NaN counts as the
    worst value.  Returns ``(x_best, f(x_best))``.
    """
    low = np.asarray(low, dtype=float)
    high = np.asarray(high, dtype=float)
    d = low.size
    span = high - low
    sign = -1.0 if maximize else 1.0

    def cost(z: np.ndarray) -> np.ndarray:  # z in the unit box, shape (n, d)
        v = sign * np.asarray(f(low + np.clip(z, 0.0, 1.0) * span), dtype=float)
        return np.where(np.isfinite(v), v, np.inf)

    # 1. global Sobol stage (+ corners of the box)
    z = qmc.Sobol(d, scramble=True, seed=seed).random(n_global)
    if d <= 8:
        z = np.vstack([z, np.array(list(itertools.product((0.0, 1.0), repeat=d)))])
    v = cost(z)
    best_z, best_v = z[np.argmin(v)].copy(), float(np.min(v))

    starts: list[np.ndarray] = []
    for i in np.argsort(v, kind="stable"):
        if not np.isfinite(v[i]):
            break
        if all(np.max(np.abs(z[i] - s)) > 0.1 for s in starts):
            starts.append(z[i])
            if len(starts) == n_starts:
                break
    if not starts:
        raise ValueError("objective is NaN everywhere on the sampled box")

    # 2. zoom stage, all starts batched together
    centers = np.array(starts)
    center_v = cost(centers)
    local = qmc.Sobol(d, scramble=True, seed=seed + 1).random(n_local) * 2.0 - 1.0
    radius = 0.1
    for _ in range(n_zoom):
        pts = np.clip(centers[:, None, :] + radius * local[None, :, :], 0.0, 1.0)
        vals = cost(pts.reshape(-1, d)).reshape(len(centers), n_local)
        j = np.argmin(vals, axis=1)
        rows = np.arange(len(centers))
        better = vals[rows, j] < center_v
        centers[better] = pts[rows[better], j[better]]
        center_v[better] = vals[rows[better], j[better]]
        radius *= 0.6

    # 3. L-BFGS-B polish with a batched central-difference gradient
    h = 1e-7

    def fun_and_grad(zc: np.ndarray) -> tuple[float, np.ndarray]:
        zp = np.clip(zc + h * np.eye(d), 0.0, 1.0)
        zm = np.clip(zc - h * np.eye(d), 0.0, 1.0)
        vals = cost(np.vstack([zc[None, :], zp, zm]))
        if not np.all(np.isfinite(vals)):
            return float(vals[0]), np.zeros(d)
        denom = np.diag(zp - zm)
        grad = np.where(
            denom > 0, (vals[1 : d + 1] - vals[d + 1 :]) / np.where(denom > 0, denom, 1.0), 0.0
        )
        return float(vals[0]), grad

    for zc, vc in zip(centers, center_v, strict=True):
        if vc < best_v:
            best_z, best_v = zc.copy(), float(vc)
        if not np.isfinite(vc):
            continue
        res = optimize.minimize(
            fun_and_grad,
            zc,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * d,
            options={"maxiter": 200},
        )
        rz = np.clip(res.x, 0.0, 1.0)
        rv = float(cost(rz[None, :])[0])
        if rv < best_v:
            best_z, best_v = rz, rv

    x = low + best_z * span
    return x, float(np.asarray(f(x[None, :]), dtype=float)[0])


class seeded_classmethod:
    """Like ``classmethod``, but when called on an instance the ``seed`` keyword
    defaults to that instance's seed (so instruments with seeded hidden
    parameters report *their* optimum)."""

    def __init__(self, func: Any) -> None:
        self.__func__ = func
        functools.update_wrapper(self, func)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None:
            return types.MethodType(self.__func__, cls)
        return functools.partial(self.__func__, type(obj), seed=obj.seed)


@functools.lru_cache(maxsize=256)
def cached_optimum(cls: Any, output: str, goal: str, seed: int) -> tuple[tuple[float, ...], float]:
    """Optimum of ``cls``'s noise-free model for ``output`` (cached per class, output, goal, seed)."""
    names = list(cls.INPUTS)
    low = np.array([cls.INPUTS[n].low for n in names], dtype=float)
    high = np.array([cls.INPUTS[n].high for n in names], dtype=float)
    hidden = cls._hidden_params(seed)

    def f(x: np.ndarray) -> np.ndarray:
        return np.asarray(
            cls._evaluate(hidden, dict(zip(names, x.T, strict=True)))[output], dtype=float
        )

    x, value = find_optimum(f, low, high, maximize=(goal == "maximize"))
    return tuple(float(v) for v in x), value
