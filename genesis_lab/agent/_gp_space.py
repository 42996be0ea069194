"""Feasible-region helpers for :mod:`genesis_lab.agent.gpbo`: the polytope

    P = {x in [0,1]^d : A_ub x <= b_ub, A_eq x = b_eq}

is re-parametrized as ``x = x0 + N z`` with ``N`` an orthonormal basis of null(A_eq) and ``x0`` a
point with ``A_eq x0 = b_eq`` to machine precision, so that every ``z`` gives exact equalities and
all remaining constraints are inequalities ``G z <= h``.  ``x0 + N c`` with ``c`` the Chebyshev
centre of the z-polytope is a strictly interior point, used to repair points by shrinking them
towards it.  Sampling is vectorized hit-and-run over many parallel chains.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import null_space
from scipy.optimize import linprog

INEQ_MARGIN = 1e-12


class Polytope:
    """Feasible set in the unit cube with optional linear inequality/equality constraints."""

    def __init__(
        self, dim: int, A_ub=None, b_ub=None, A_eq=None, b_eq=None, _detect_implicit: bool = True
    ):
        self.dim = d = dim
        self.A_ub = None if A_ub is None else np.atleast_2d(np.asarray(A_ub, float))
        self.b_ub = None if b_ub is None else np.atleast_1d(np.asarray(b_ub, float))
        self.A_eq = None if A_eq is None else np.atleast_2d(np.asarray(A_eq, float))
        self.b_eq = None if b_eq is None else np.atleast_1d(np.asarray(b_eq, float))
        for A, b, name in ((self.A_ub, self.b_ub, "ub"), (self.A_eq, self.b_eq, "eq")):
            if (A is None) != (b is None):
                raise ValueError(f"A_{name} and b_{name} must be given together")
            if A is not None and (A.shape[1] != d or A.shape[0] != b.shape[0]):
                raise ValueError(f"A_{name}/b_{name} have inconsistent shapes")
            if A is not None and not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
                raise ValueError(f"A_{name}/b_{name} must be finite")
        self.is_box = self.A_ub is None and self.A_eq is None
        if self.is_box:
            self.x0 = np.zeros(d)
            self.N = np.eye(d)
            self.G = np.vstack([np.eye(d), -np.eye(d)])
            self.h = np.concatenate([np.ones(d), np.zeros(d)])
            self.center = np.full(d, 0.5)
            self.radius = 0.5
            return
        # particular solution of the equalities + null-space basis
        if self.A_eq is not None:
            res = self._lp_in_cube(np.zeros(d))
            if res.status != 0:
                raise ValueError("linear constraints are infeasible in the unit cube")
            x0 = res.x
            x0 = x0 - np.linalg.lstsq(self.A_eq, self.A_eq @ x0 - self.b_eq, rcond=None)[0]
            N = null_space(self.A_eq)
        else:
            x0 = np.zeros(d)
            N = np.eye(d)
        self.x0, self.N = x0, N
        G = [N, -N]
        h = [1.0 - x0, x0]
        if self.A_ub is not None:
            G.append(self.A_ub @ N)
            h.append(self.b_ub - self.A_ub @ x0)
        self.G = np.vstack(G)
        self.h = np.concatenate(h)
        k = N.shape[1]
        if k == 0:
            if np.any(self.h < -1e-9):
                raise ValueError("linear constraints are infeasible in the unit cube")
            self.center = np.zeros(0)
            self.radius = 0.0
            return
        # Chebyshev centre: max r s.t. G z + r |G_i| <= h
        norms = np.linalg.norm(self.G, axis=1)
        keep = norms > 1e-14
        if np.any(self.h[~keep] < -1e-9):
            raise ValueError("linear constraints are infeasible in the unit cube")
        c = np.zeros(k + 1)
        c[-1] = -1.0
        A = np.hstack([self.G[keep], norms[keep, None]])
        res = linprog(
            c, A_ub=A, b_ub=self.h[keep], bounds=[(None, None)] * k + [(0.0, 1.0)], method="highs"
        )
        if res.status != 0:
            raise ValueError("linear constraints are infeasible in the unit cube")
        self.center = res.x[:k]
        self.radius = float(res.x[-1])
        self.G, self.h = self.G[keep], self.h[keep]
        if self.radius < 1e-9 and _detect_implicit:
            self._promote_implicit_equalities()

    def _lp_in_cube(self, c: np.ndarray):
        """min c.x over the original constraints within the unit cube."""
        return linprog(
            c,
            A_ub=self.A_ub,
            b_ub=self.b_ub,
            A_eq=self.A_eq,
            b_eq=self.b_eq,
            bounds=[(0.0, 1.0)] * len(c),
            method="highs",
        )

    def _promote_implicit_equalities(self) -> None:
        """Zero-volume polytope: find inequalities that hold with equality everywhere (e.g.
        ``x0 <= 0``) and re-parametrize with them as equalities so sampling can move."""
        d = self.dim
        Gx = np.vstack([np.eye(d), -np.eye(d)] + ([self.A_ub] if self.A_ub is not None else []))
        hx = np.concatenate(
            [np.ones(d), np.zeros(d)] + ([self.b_ub] if self.b_ub is not None else [])
        )
        tight = []
        for i in range(len(Gx)):
            res = self._lp_in_cube(-Gx[i])
            if res.status == 0 and hx[i] + res.fun >= -1e-9:  # max of Gx_i x reaches h_i ...
                res2 = self._lp_in_cube(Gx[i])
                if res2.status == 0 and hx[i] - res2.fun <= 1e-9:  # ... and so does its min
                    tight.append(i)
        if not tight:
            return
        A_eq = np.vstack(([self.A_eq] if self.A_eq is not None else []) + [Gx[tight]])
        b_eq = np.concatenate(([self.b_eq] if self.b_eq is not None else []) + [hx[tight]])
        A_ub, b_ub = self.A_ub, self.b_ub
        self.__init__(d, A_ub, b_ub, A_eq, b_eq, _detect_implicit=False)

    # ----------------------------------------------------------------- conversions
    @property
    def zdim(self) -> int:
        return self.N.shape[1]

    def to_x(self, Z: np.ndarray) -> np.ndarray:
        """Map z-coordinates to the unit cube (clipped against rounding)."""
        X = self.x0 + Z @ self.N.T
        return np.clip(X, 0.0, 1.0)

    def to_z(self, X: np.ndarray) -> np.ndarray:
        """Orthogonal projection onto the equality affine set, in z-coordinates."""
        return (X - self.x0) @ self.N

    def repair(self, Z: np.ndarray) -> np.ndarray:
        """Shrink infeasible rows of Z towards the Chebyshev centre until ``G z <= h - margin``."""
        Z = np.atleast_2d(Z)
        if self.zdim == 0:
            return Z
        c = self.center
        hm = self.h - INEQ_MARGIN * (1.0 + np.abs(self.h))
        Gc = self.G @ c
        D = (Z - c) @ self.G.T  # (B, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(D > 0, (hm - Gc)[None, :] / D, np.inf)
        t = np.clip(np.min(t, axis=1), 0.0, 1.0)
        return c + t[:, None] * (Z - c)

    def contains(self, X: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Boolean mask of rows of X satisfying all constraints within ``tol``."""
        X = np.atleast_2d(X)
        ok = np.all((X >= -tol) & (X <= 1.0 + tol), axis=1)
        if self.A_ub is not None:
            ok &= np.all(X @ self.A_ub.T <= self.b_ub + tol, axis=1)
        if self.A_eq is not None:
            ok &= np.all(np.abs(X @ self.A_eq.T - self.b_eq) <= tol, axis=1)
        return ok

    def analytic_center(self, iters: int = 100) -> np.ndarray:
        """The point (z-coordinates) that maximizes the sum of the logs of all slacks, the box's
        included: unique and strictly inside, unlike the Chebyshev centre, which a linear
        program may return at one end of a set of equally deep points.  It is the middle of
        every range that no constraint cuts, and the middle of a thin band along its length.
        Damped Newton from the Chebyshev centre."""
        z = self.center.copy()
        if self.zdim == 0 or self.radius <= 0.0:
            return z
        f = -float(np.sum(np.log(self.h - self.G @ z)))
        for _ in range(iters):
            s = self.h - self.G @ z
            Gs = self.G / s[:, None]
            g = Gs.sum(axis=0)  # gradient of -sum(log(s))
            step = -np.linalg.solve(Gs.T @ Gs + 1e-12 * np.eye(len(z)), g)
            decrement = -float(g @ step)
            if decrement < 1e-16:
                break
            t = 1.0
            while t > 1e-12:
                zn = z + t * step
                sn = self.h - self.G @ zn
                if np.all(sn > 0):
                    fn = -float(np.sum(np.log(sn)))
                    if fn <= f - 0.25 * t * decrement:
                        break
                t *= 0.5
            else:
                break
            z, f = zn, fn
        return z

    # ----------------------------------------------------------------- sampling
    def sample_z(
        self,
        n: int,
        rng: np.random.Generator,
        n_chains: int = 64,
        burn: int = 20,
        thin: int = 3,
        start: np.ndarray | None = None,
    ) -> np.ndarray:
        """Approximately uniform samples (z-coordinates) by parallel hit-and-run chains, which
        start at ``start`` (an interior point; default the Chebyshev centre)."""
        k = self.zdim
        if k == 0 or self.radius <= 0.0:
            return np.tile(self.center, (n, 1))
        if self.is_box:
            return rng.random((n, k))
        n_chains = min(n_chains, n)
        Z = np.tile(self.center if start is None else start, (n_chains, 1))
        out = []
        steps = burn + thin * int(np.ceil(n / n_chains))
        for s in range(steps):
            U = rng.standard_normal((n_chains, k))
            U /= np.linalg.norm(U, axis=1, keepdims=True)
            slack = self.h[None, :] - Z @ self.G.T  # >= 0
            GU = U @ self.G.T
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = slack / GU
            tmax = np.min(np.where(GU > 1e-14, ratio, np.inf), axis=1)
            tmin = np.max(np.where(GU < -1e-14, ratio, -np.inf), axis=1)
            tmax = np.minimum(tmax, 10.0)
            tmin = np.maximum(tmin, -10.0)
            t = tmin + (tmax - tmin) * rng.random(n_chains)
            Z = Z + t[:, None] * U
            if s >= burn and (s - burn) % thin == thin - 1:
                out.append(Z)
        Z = np.vstack(out)[:n]
        return self.repair(Z)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Feasible points in x-coordinates."""
        return self.to_x(self.sample_z(n, rng))
