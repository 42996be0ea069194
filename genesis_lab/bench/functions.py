"""Synthetic test functions with known global minima, all defined on the unit hypercube.

Every function takes an ``(n, d)`` array (or a single ``(d,)`` point) of unit-cube coordinates and
returns an ``(n,)`` array (a float for a single point).  The ``*_MIN`` constants are the global
minima and ``*_ARGMIN`` one (unit-cube) minimizer.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "branin",
    "hartmann6",
    "hartmann3",
    "ackley",
    "levy",
    "BRANIN_MIN",
    "HARTMANN6_MIN",
    "HARTMANN3_MIN",
    "ACKLEY_MIN",
    "LEVY_MIN",
    "BRANIN_ARGMIN",
    "HARTMANN6_ARGMIN",
    "FUNCTIONS",
]

BRANIN_MIN = 0.397887357729738
# three minimizers in (x1, x2) = (-pi, 12.275), (pi, 2.275), (9.42478, 2.475)
BRANIN_ARGMIN = np.array(
    [
        [(-np.pi + 5) / 15, 12.275 / 15],
        [(np.pi + 5) / 15, 2.275 / 15],
        [(9.42478 + 5) / 15, 2.475 / 15],
    ]
)
HARTMANN6_MIN = -3.322368011391339
HARTMANN6_ARGMIN = np.array(
    [0.20168952, 0.15001069, 0.47687398, 0.27533243, 0.31165162, 0.65730054]
)
HARTMANN3_MIN = -3.862779787332660
ACKLEY_MIN = 0.0
LEVY_MIN = 0.0

_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ],
    dtype=float,
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ],
    dtype=float,
)
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]], dtype=float
)


def _as2d(x, d: int | None = None) -> tuple[np.ndarray, bool]:
    x = np.asarray(x, dtype=float)
    single = x.ndim == 1
    x = np.atleast_2d(x)
    if d is not None and x.shape[1] != d:
        raise ValueError(f"expected {d} columns, got {x.shape[1]}")
    return x, single


def _out(v: np.ndarray, single: bool):
    return float(v[0]) if single else v


def branin(x_unit) -> np.ndarray:
    """Branin-Hoo on [0,1]^2 (rescaled from [-5,10] x [0,15]); minimum ``BRANIN_MIN``."""
    x, single = _as2d(x_unit, 2)
    x1 = 15.0 * x[:, 0] - 5.0
    x2 = 15.0 * x[:, 1]
    b, c, t = 5.1 / (4 * np.pi**2), 5.0 / np.pi, 1.0 / (8 * np.pi)
    v = (x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1 - t) * np.cos(x1) + 10.0
    return _out(v, single)


def _hartmann(x, A, P) -> np.ndarray:
    r = np.sum(A[None, :, :] * (x[:, None, :] - P[None, :, :]) ** 2, axis=2)
    return -np.exp(-r) @ _H_ALPHA


def hartmann6(x) -> np.ndarray:
    """Hartmann-6 on [0,1]^6; minimum ``HARTMANN6_MIN`` = -3.32237."""
    x, single = _as2d(x, 6)
    return _out(_hartmann(x, _H6_A, _H6_P), single)


def hartmann3(x) -> np.ndarray:
    """Hartmann-3 on [0,1]^3; minimum ``HARTMANN3_MIN`` = -3.86278."""
    x, single = _as2d(x, 3)
    return _out(_hartmann(x, _H3_A, _H3_P), single)


def ackley(x_unit) -> np.ndarray:
    """Ackley on [0,1]^d (rescaled from [-32.768, 32.768]^d); minimum 0 at x = 0.5."""
    x, single = _as2d(x_unit)
    z = (2.0 * x - 1.0) * 32.768
    d = z.shape[1]
    v = (
        -20.0 * np.exp(-0.2 * np.sqrt(np.sum(z * z, 1) / d))
        - np.exp(np.sum(np.cos(2 * np.pi * z), 1) / d)
        + 20.0
        + np.e
    )
    return _out(np.maximum(v, 0.0), single)


def levy(x_unit) -> np.ndarray:
    """Levy on [0,1]^d (rescaled from [-10, 10]^d); minimum 0 at x = 0.55."""
    x, single = _as2d(x_unit)
    w = 1.0 + ((20.0 * x - 10.0) - 1.0) / 4.0
    v = (
        np.sin(np.pi * w[:, 0]) ** 2
        + np.sum((w[:, :-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:, :-1] + 1) ** 2), 1)
        + (w[:, -1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[:, -1]) ** 2)
    )
    return _out(v, single)


#: name -> (function, dimension or None for any, minimum)
FUNCTIONS = {
    "branin": (branin, 2, BRANIN_MIN),
    "hartmann6": (hartmann6, 6, HARTMANN6_MIN),
    "hartmann3": (hartmann3, 3, HARTMANN3_MIN),
    "ackley": (ackley, None, ACKLEY_MIN),
    "levy": (levy, None, LEVY_MIN),
}
