"""Pareto fronts and hypervolume, for campaigns with several objectives.

Everything here takes points already in *minimized* form (maximized
objectives negated) as an ``(n, m)`` array.
"""

from __future__ import annotations

import numpy as np

__all__ = ["non_dominated", "hypervolume"]


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the points no other point dominates (<= everywhere, < somewhere)."""
    P = np.asarray(points, dtype=float)
    n = len(P)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        others = np.delete(P, i, axis=0)
        dominated = np.any(np.all(others <= P[i], axis=1) & np.any(others < P[i], axis=1))
        mask[i] = not dominated
    return mask


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """The volume dominated by ``points`` and bounded by ``reference`` (exact).

    Points that do not strictly dominate the reference add nothing. Uses a
    sweep in 2-D and slicing by the last objective above that (fine for the
    few hundred points of an experimental campaign).
    """
    ref = np.asarray(reference, dtype=float)
    P = np.asarray(points, dtype=float).reshape(-1, len(ref))
    P = P[np.all(P < ref, axis=1)]
    if len(P) == 0:
        return 0.0
    P = P[non_dominated(P)]
    return float(_hv(P, ref))


def _hv(P: np.ndarray, ref: np.ndarray) -> float:
    m = P.shape[1]
    if m == 1:
        return float(ref[0] - P[:, 0].min())
    if m == 2:
        order = np.argsort(P[:, 0])
        vol, best_y = 0.0, ref[1]
        for x, y in P[order]:
            if y < best_y:
                vol += (ref[0] - x) * (best_y - y)
                best_y = y
        return vol
    # slice along the last objective
    order = np.argsort(P[:, -1])
    P = P[order]
    vol = 0.0
    for i in range(len(P)):
        upper = P[i + 1, -1] if i + 1 < len(P) else ref[-1]
        depth = upper - P[i, -1]
        if depth <= 0:
            continue
        front = P[: i + 1, :-1]
        front = front[non_dominated(front)]
        vol += depth * _hv(front, ref[:-1])
    return vol
