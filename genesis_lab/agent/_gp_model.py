"""Gaussian-process internals for :mod:`genesis_lab.agent.gpbo` (numpy + scipy only).

Model: GP with a constant prior mean (GLS estimate) on standardized targets, Matern-5/2 ARD kernel

    k(x, x') = s2 * (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r),   r^2 = sum_j (x_j - x'_j)^2 / l_j^2

plus homoscedastic Gaussian noise ``sn2`` (floored).  Hyperparameters are kept in log space,
``theta = [log l_1..l_d, log s2, log sn2]`` and fitted by maximum a posteriori (MAP) with
L-BFGS-B on the analytic gradient of the log marginal likelihood plus log prior.  A
:class:`KernelSpec` can tie lengthscales over groups of columns (then theta has one lengthscale
per group) and add per-group main-effect terms (one more entry, the logit of their weight).

Also contains the acquisition functions (log-EI, log-PI, LCB) with analytic input gradients.
Nothing here keeps state between calls: every function is a pure function of its arguments, which
is what makes :class:`~genesis_lab.agent.gpbo.GPBO` independent of its call history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack, solve_triangular
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr, ndtr

SQRT5 = math.sqrt(5.0)
LOG2PI = math.log(2.0 * math.pi)
JITTER = 1e-9

# --------------------------------------------------------------------------- priors


@dataclass(frozen=True)
class Prior:
    """Prior on one positive hyperparameter ``v = exp(t)``, evaluated in log space ``t``.

    kind "normal": ``t ~ N(a, b^2)``.  kind "lognormal": ``v ~ LogNormal(a, b^2)`` and kind "gamma":
    ``v ~ Gamma(shape=a, rate=b)``, both with the density taken in ``v`` without the log-Jacobian
    (as GPyTorch/BoTorch do, so the MAP favours the mode of the density in ``v``).  "none": flat.
    """

    kind: str
    a: float = 0.0
    b: float = 1.0

    def nlp(self, t: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log density (up to a constant) and its derivative w.r.t. ``t``."""
        if self.kind in ("normal", "lognormal"):
            z = (t - self.a) / self.b
            f, g = 0.5 * float(np.sum(z * z)), z / self.b
            if self.kind == "lognormal":
                f, g = f + float(np.sum(t)), g + 1.0
            return f, g
        if self.kind == "gamma":
            v = np.exp(t)
            return float(np.sum(-(self.a - 1.0) * t + self.b * v)), -(self.a - 1.0) + self.b * v
        return 0.0, np.zeros_like(t)


def default_priors(dim: int, name) -> tuple[Prior, Prior, Prior]:
    """(lengthscale, signal variance, noise variance) priors; ``name`` selects the family.

    "dimension_scaled" (default): l ~ LogNormal(sqrt2 + log(d)/2, 3) as in current BoTorch
    (Hvarfner et al. 2024; density in l, so the MAP is pulled towards its mode exp(mu - 3), about
    0.5 for d = 6), log s2 ~ N(0, 1.5^2), log sn2 ~ N(-9, 3^2) (weakly favours low noise; the data
    decide for noisy objectives).  "gamma": the classic BoTorch/GPyTorch set Gamma(3, 6),
    Gamma(2, 0.15), Gamma(1.1, 0.05).  "none": flat (pure type-II maximum likelihood).  A tuple of
    three ``(kind, a, b)`` triples gives explicit :class:`Prior` objects.
    """
    if isinstance(name, (list, tuple)):  # explicit ((kind, a, b), (kind, a, b), (kind, a, b))
        return tuple(Prior(*spec) for spec in name)
    if name == "dimension_scaled":
        return (
            Prior("lognormal", math.sqrt(2.0) + 0.5 * math.log(dim), math.sqrt(3.0)),
            Prior("normal", 0.0, 1.5),
            Prior("normal", -9.0, 3.0),
        )
    if name == "gamma":
        return Prior("gamma", 3.0, 6.0), Prior("gamma", 2.0, 0.15), Prior("gamma", 1.1, 0.05)
    if name == "none":
        return Prior("none"), Prior("none"), Prior("none")
    raise ValueError(f"unknown prior family {name!r}")


# --------------------------------------------------------------------------- kernel


def _matern_from_r2(r2: np.ndarray, s2: float) -> tuple[np.ndarray, np.ndarray]:
    """Return k(r) and g(r) = s2 * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) (so dk/d(r^2) = -g/2)."""
    r = np.sqrt(r2)
    e = np.exp(-SQRT5 * r)
    g = (s2 * 5.0 / 3.0) * (1.0 + SQRT5 * r) * e
    k = s2 * (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * e
    return k, g


def cross_r2(A: np.ndarray, B: np.ndarray, ls: np.ndarray) -> np.ndarray:
    """Scaled squared distances between rows of A (p,d) and B (q,d)."""
    As = A / ls
    Bs = B / ls
    r2 = np.sum(As * As, 1)[:, None] + np.sum(Bs * Bs, 1)[None, :] - 2.0 * (As @ Bs.T)
    np.maximum(r2, 0.0, out=r2)
    return r2


def _chol(K: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor; adds escalating jitter on failure."""
    L, info = lapack.dpotrf(K, lower=1, clean=1, overwrite_a=0)
    jitter = 1e-8
    while info != 0:
        if jitter > 1e-2:
            raise np.linalg.LinAlgError("kernel matrix not positive definite")
        L, info = lapack.dpotrf(K + jitter * np.eye(len(K)), lower=1, clean=1, overwrite_a=0)
        jitter *= 10.0
    return L


class KernelSpec:
    """Structure of the kernel over the d input columns.

    ``tie`` (d,) gives the lengthscale index of each column (None: one lengthscale per column);
    columns sharing an index form a *group* (e.g. the one-hot block of a categorical parameter, so
    that a group contributes ``2 / l^2`` to r^2 when two points differ in that parameter).
    ``additive``: the kernel is ``s2 * ((1 - w) k(r) + w/p sum_g k(r_g))`` (an interaction term on
    all p groups plus first-order main effects, one per group, sharing the lengthscales), with
    ``w = sigmoid(u)`` and ``u`` an extra hyperparameter at the end of theta.

    theta = [log l_1..l_p, log s2, log sn2] (+ [u] when additive).
    """

    def __init__(self, d: int, tie: np.ndarray | None = None, additive: bool = False):
        self.d = int(d)
        self.tie = None if tie is None else np.asarray(tie, int)
        self.p = self.d if self.tie is None else int(self.tie.max()) + 1
        self.additive = bool(additive)
        self.n_theta = self.p + 2 + int(self.additive)
        if self.tie is None:
            self.cols = [np.array([j]) for j in range(self.d)]
        else:
            self.cols = [np.flatnonzero(self.tie == g) for g in range(self.p)]

    def tie_matrix(self) -> np.ndarray:
        """(d, p) 0/1 matrix mapping input columns to their lengthscale index."""
        M = np.zeros((self.d, self.p))
        for g, c in enumerate(self.cols):
            M[c, g] = 1.0
        return M

    def lengthscales(self, theta: np.ndarray) -> np.ndarray:
        """Per-column lengthscales (d,)."""
        ls = np.exp(theta[: self.p])
        return ls if self.tie is None else ls[self.tie]

    def weight(self, theta: np.ndarray) -> float:
        """Additive weight w in (0, 1) (0 when not additive)."""
        if not self.additive:
            return 0.0
        return 1.0 / (1.0 + math.exp(-float(theta[self.p + 2])))


def additive_bounds() -> tuple[float, float]:
    return (-8.0, 8.0)


class MarginalLikelihood:
    """Negative log posterior of the hyperparameters (and gradient) for fixed data."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        priors: tuple[Prior, ...],
        gls_mean: bool = False,
        spec: KernelSpec | None = None,
    ):
        n, d = X.shape
        self.spec = spec if spec is not None else KernelSpec(d)
        self.gls_mean = gls_mean
        self.y = y
        diff = X[:, None, :] - X[None, :, :]
        D2 = (diff * diff).reshape(n * n, d)  # raw squared differences per dimension
        if self.spec.tie is not None:  # sum the squared differences of columns sharing a scale
            D2 = D2 @ self.spec.tie_matrix()
        self.D2 = D2
        self.n, self.d = n, self.spec.p  # d = number of lengthscales
        self.priors = priors

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        n, d = self.n, self.d
        ls = np.exp(theta[:d])
        s2 = math.exp(theta[d])
        sn2 = math.exp(theta[d + 1])
        inv_l2 = 1.0 / (ls * ls)
        additive = self.spec.additive
        if additive:
            w = self.spec.weight(theta)
            R2 = self.D2 * inv_l2  # (n*n, p) per-group scaled squared distances
            Mg, Gg = _matern_from_r2(R2, 1.0)
            Ma, Ga = _matern_from_r2(R2.sum(1), 1.0)
            Kbase = ((1.0 - w) * Ma + (w / d) * Mg.sum(1)).reshape(n, n)
            Kf = s2 * Kbase
        else:
            r2 = (self.D2 @ inv_l2).reshape(n, n)
            Kf, G = _matern_from_r2(r2, s2)
        K = Kf.copy()
        K[np.diag_indices(n)] += sn2 + JITTER
        L, info = lapack.dpotrf(K, lower=1, clean=1, overwrite_a=0)
        if info != 0:
            return 1e25, np.zeros_like(theta)
        Kinv, _ = lapack.dpotri(L, lower=1)
        Kinv = np.tril(Kinv) + np.tril(Kinv, -1).T
        resid = self.y
        if self.gls_mean:  # constant mean profiled out (GLS); envelope theorem keeps the gradient
            c = Kinv.sum(0)
            resid = self.y - float(c @ self.y) / float(c.sum())
        alpha = Kinv @ resid
        nll = 0.5 * float(resid @ alpha) + float(np.sum(np.log(np.diag(L)))) + 0.5 * n * LOG2PI
        W = Kinv - np.outer(alpha, alpha)  # d nll = 0.5 tr(W dK)
        grad = np.empty(len(theta))
        if additive:
            Wr = W.ravel()
            gl = (1.0 - w) * ((Wr * Ga) @ self.D2) + (w / d) * np.sum(
                (Wr[:, None] * Gg) * self.D2, 0
            )
            grad[:d] = 0.5 * s2 * gl * inv_l2
            dK_du = s2 * w * (1.0 - w) * (Mg.sum(1) / d - Ma)
            grad[d + 2] = 0.5 * float(Wr @ dK_du)
        else:
            grad[:d] = 0.5 * ((W * G).ravel() @ self.D2) * inv_l2
        grad[d] = 0.5 * float(np.sum(W * Kf))
        grad[d + 1] = 0.5 * sn2 * float(np.trace(W))
        f_l, g_l = self.priors[0].nlp(theta[:d])
        f_s, g_s = self.priors[1].nlp(theta[d : d + 1])
        f_n, g_n = self.priors[2].nlp(theta[d + 1 : d + 2])
        grad[:d] += g_l
        grad[d] += g_s[0]
        grad[d + 1] += g_n[0]
        f = nll + f_l + f_s + f_n
        if additive:
            f_w, g_w = self.priors[3].nlp(theta[d + 2 : d + 3])
            f += f_w
            grad[d + 2] += g_w[0]
        return f, grad


def hyper_bounds(d: int, noise_floor: float, additive: bool = False) -> list[tuple[float, float]]:
    """Box bounds (log space) for L-BFGS-B."""
    return (
        [(math.log(5e-3), math.log(2e2))] * d
        + [(math.log(1e-2), math.log(1e2)), (math.log(noise_floor), math.log(2.0))]
        + ([additive_bounds()] if additive else [])
    )


def fit_map(
    X: np.ndarray,
    y: np.ndarray,
    starts: list[np.ndarray],
    priors: tuple[Prior, ...],
    noise_floor: float,
    maxiter: int = 200,
    gls_mean: bool = False,
    spec: KernelSpec | None = None,
) -> tuple[np.ndarray, float]:
    """MAP hyperparameters from several deterministic starts; returns (theta, neg log posterior)."""
    obj = MarginalLikelihood(X, y, priors, gls_mean, spec)
    bounds = hyper_bounds(obj.d, noise_floor, obj.spec.additive)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    best_t, best_f = None, np.inf
    for t0 in starts:
        t0 = np.clip(np.asarray(t0, float), lo, hi)
        res = minimize(
            obj,
            t0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter, "ftol": 1e-10, "gtol": 1e-6},
        )
        f = float(res.fun)
        if np.isfinite(f) and f < best_f:
            best_t, best_f = np.clip(res.x, lo, hi), f
    if best_t is None:  # every start failed: fall back to the first start
        best_t = np.clip(np.asarray(starts[0], float), lo, hi)
    return best_t, best_f


# --------------------------------------------------------------------------- posterior


class Posterior:
    """GP posterior for fixed hyperparameters (standardized-y units)."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        theta: np.ndarray,
        const: float | None = 0.0,
        spec: KernelSpec | None = None,
    ):
        """``const``: constant prior mean; None = GLS estimate from (X, y)."""
        n, d = X.shape
        self.spec = spec = spec if spec is not None else KernelSpec(d)
        p = spec.p
        self.X, self.y, self.theta = X, y, theta
        self.ls = spec.lengthscales(theta)
        self.s2 = math.exp(theta[p])
        self.sn2 = math.exp(theta[p + 1])
        self.w = spec.weight(theta)
        Kf = self._cross(X, X)[0]
        Kf[np.diag_indices(n)] += self.sn2 + JITTER
        self.L = _chol(Kf)
        if const is None:
            ones = lapack.dpotrs(self.L, np.ones(n), lower=1)[0]
            const = float(ones @ y) / float(ones.sum())
        self.const = float(const)
        self.alpha, _ = lapack.dpotrs(self.L, y - self.const, lower=1)

    def _cross(self, A: np.ndarray, B: np.ndarray, need_g: bool = False):
        """k(A, B) and, if ``need_g``, factors G with dk/dx_j = -G (x_j - b_j) / l_j^2: one
        (|A|,|B|) array per group (additive kernel, a list) or one array for all columns."""
        if not self.spec.additive:
            K, G = _matern_from_r2(cross_r2(A, B, self.ls), self.s2)
            return K, G
        p, w, s2 = self.spec.p, self.w, self.s2
        R2 = [cross_r2(A[:, c], B[:, c], self.ls[c]) for c in self.spec.cols]
        Ma, Ga = _matern_from_r2(sum(R2), s2 * (1.0 - w))
        K = Ma
        Gs = []
        for r2 in R2:
            Mg, Gg = _matern_from_r2(r2, s2 * w / p)
            K = K + Mg
            if need_g:
                Gs.append(Ga + Gg)
        return K, (Gs if need_g else None)

    def mean_var(self, Xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent posterior mean and variance at rows of Xs."""
        Ks = self._cross(Xs, self.X)[0]
        mu = self.const + Ks @ self.alpha
        V = solve_triangular(self.L, Ks.T, lower=True, check_finite=False)
        var = self.s2 - np.sum(V * V, 0)
        return mu, np.maximum(var, 1e-12)

    def rebuild(self, X: np.ndarray, y: np.ndarray) -> Posterior:
        """Same hyperparameters and prior mean, new data (used for fantasies)."""
        return Posterior(X, y, self.theta, self.const, self.spec)

    def mean_var_grad(self, Xs: np.ndarray):
        """Mean, variance and their gradients w.r.t. the inputs: shapes (B,), (B,), (B,d), (B,d)."""
        Ks, G = self._cross(Xs, self.X, need_g=True)
        mu = self.const + Ks @ self.alpha
        Kinv_k, _ = lapack.dpotrs(self.L, Ks.T, lower=1)  # (n,B)
        var = self.s2 - np.sum(Ks.T * Kinv_k, 0)
        inv_l2 = 1.0 / (self.ls * self.ls)
        # dk(x, x_i)/dx = -G_i (x - x_i) / l^2
        # dmu/dx = sum_i dk_i/dx alpha_i ; dvar/dx = -2 sum_i dk_i/dx (K^-1 k)_i
        if isinstance(G, list):
            dmu = np.empty_like(Xs)
            dvar = np.empty_like(Xs)
            for c, Gc in zip(self.spec.cols, G, strict=True):
                Ga = Gc * self.alpha[None, :]
                dmu[:, c] = -(Xs[:, c] * Ga.sum(1)[:, None] - Ga @ self.X[:, c]) * inv_l2[c]
                Gv = Gc * Kinv_k.T
                dvar[:, c] = 2.0 * (Xs[:, c] * Gv.sum(1)[:, None] - Gv @ self.X[:, c]) * inv_l2[c]
        else:
            Ga = G * self.alpha[None, :]
            dmu = -(Xs * Ga.sum(1)[:, None] - Ga @ self.X) * inv_l2
            Gv = G * Kinv_k.T
            dvar = 2.0 * (Xs * Gv.sum(1)[:, None] - Gv @ self.X) * inv_l2
        small = var < 1e-12
        var = np.maximum(var, 1e-12)
        dvar[small] = 0.0
        return mu, var, dmu, dvar


# --------------------------------------------------------------------------- acquisitions

_C_SQRT_PI_2 = math.sqrt(math.pi / 2.0)


def log_h(z: np.ndarray) -> np.ndarray:
    """log(phi(z) + z Phi(z)), numerically stable for all z (as in BoTorch's LogEI)."""
    z = np.asarray(z, float)
    out = np.empty_like(z)
    logphi = -0.5 * z * z - 0.5 * LOG2PI
    m1 = z > -1.0
    if np.any(m1):
        zz = z[m1]
        out[m1] = np.log(np.exp(logphi[m1]) + zz * ndtr(zz))
    m2 = (~m1) & (z > -40.0)
    if np.any(m2):
        zz = -z[m2]
        out[m2] = logphi[m2] + np.log1p(-zz * _C_SQRT_PI_2 * erfcx(zz / math.sqrt(2.0)))
    m3 = z <= -40.0
    if np.any(m3):
        zi2 = 1.0 / (z[m3] * z[m3])
        out[m3] = logphi[m3] + np.log(zi2) + np.log1p(-3.0 * zi2 + 15.0 * zi2 * zi2)
    return out


def acq_value_grad(
    post: Posterior,
    Xs: np.ndarray,
    kind: str,
    best: float,
    xi: float,
    kappa: float,
    need_grad: bool = True,
):
    """Acquisition (larger = better) and its gradient (B,d) at rows of Xs.

    ei: log EI(x) with EI in standardized units; pi: log PI; lcb: -(mu - kappa sigma) in
    standardized units.
    """
    if need_grad:
        mu, var, dmu, dvar = post.mean_var_grad(Xs)
    else:
        mu, var = post.mean_var(Xs)
    sd = np.sqrt(var)
    if kind == "lcb":
        val = -(mu - kappa * sd)
        if not need_grad:
            return val, None
        return val, -(dmu - kappa * dvar / (2.0 * sd)[:, None])
    z = (best - xi - mu) / sd
    if kind == "ei":
        lh = log_h(z)
        val = np.log(sd) + lh
        if not need_grad:
            return val, None
        ratio = np.exp(log_ndtr(z) - lh)  # Phi(z)/h(z) = d log h / dz
    elif kind == "pi":
        val = log_ndtr(z)
        if not need_grad:
            return val, None
        ratio = np.exp(-0.5 * z * z - 0.5 * LOG2PI - val)  # phi/Phi
    else:
        raise ValueError(kind)
    dsd = dvar / (2.0 * sd)[:, None]
    dz = -(dmu + z[:, None] * dsd) / sd[:, None]
    grad = ratio[:, None] * dz
    if kind == "ei":
        grad = grad + dsd / sd[:, None]
    return val, grad
