"""The search space of a campaign, and its encodings.

Three views of one point:
- *parameters*: ``{"temperature": 85.0, "base": "DBU"}``, what the ledger and
  the plan see;
- *unit*: a vector in [0, 1]^d for designs and the GP engine, one column per
  float/integer parameter (log-uniform ones on a log scale) and, per
  categorical, one column per descriptor or one-hot column per choice;
- *skopt*: a list in scikit-optimize's dimension order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..spec import CategoricalParameter, FloatParameter, IntegerParameter, Parameter

__all__ = ["Space"]


class Space:
    def __init__(self, parameters: Sequence[Parameter]):
        self.parameters = list(parameters)
        self.names = [p.name for p in self.parameters]
        self._columns: list[slice] = []
        col = 0
        for p in self.parameters:
            width = self._width(p)
            self._columns.append(slice(col, col + width))
            col += width
        self.unit_dim = col

    # ------------------------------------------------------------ structure
    @staticmethod
    def _width(p: Parameter) -> int:
        if isinstance(p, CategoricalParameter):
            if p.descriptors:
                return len(next(iter(p.descriptors.values())))
            return len(p.choices)
        return 1

    def one_hot_groups(self) -> list[list[int]]:
        """Column indices of each one-hot categorical (no descriptors): one group each."""
        return [
            list(range(cols.start, cols.stop))
            for p, cols in zip(self.parameters, self._columns, strict=True)
            if isinstance(p, CategoricalParameter) and not p.descriptors
        ]

    def numeric_columns(self) -> np.ndarray:
        """Boolean mask of the unit-space columns that belong to numeric parameters."""
        mask = np.zeros(self.unit_dim, bool)
        for p, cols in zip(self.parameters, self._columns, strict=True):
            mask[cols] = not isinstance(p, CategoricalParameter)
        return mask

    @property
    def is_finite(self) -> bool:
        """True when every parameter is categorical or integer (a countable grid)."""
        return all(not isinstance(p, FloatParameter) for p in self.parameters)

    @property
    def size(self) -> float:
        """Number of distinct points (inf for a continuous space)."""
        n = 1.0
        for p in self.parameters:
            if isinstance(p, FloatParameter):
                return math.inf
            n *= (
                len(p.choices)
                if isinstance(p, CategoricalParameter)
                else p.bounds[1] - p.bounds[0] + 1
            )
        return n

    def linear_constraints(
        self, constraints: Sequence[Any]
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """(A_ub, b_ub, A_eq, b_eq) in unit coordinates for linear constraints on
        uniform float parameters (x = lo + u (hi - lo))."""
        ub_rows, ub_b, eq_rows, eq_b = [], [], [], []
        index = {
            p.name: (p, cols.start) for p, cols in zip(self.parameters, self._columns, strict=True)
        }
        for c in constraints:
            if getattr(c, "kind", None) != "linear":
                continue
            row = np.zeros(self.unit_dim)
            offset = 0.0
            for name, coef in c.terms.items():
                p, col = index[name]
                lo, hi = p.bounds
                row[col] += coef * (hi - lo)
                offset += coef * lo
            if c.equals is not None:
                eq_rows.append(row)
                eq_b.append(c.equals - offset)
            if c.max is not None:
                ub_rows.append(row)
                ub_b.append(c.max - offset)
            if c.min is not None:
                ub_rows.append(-row)
                ub_b.append(-(c.min - offset))

        def arr(rows: list[np.ndarray], b: list[float]) -> tuple[Any, Any]:
            return (np.array(rows), np.array(b)) if rows else (None, None)

        return (*arr(ub_rows, ub_b), *arr(eq_rows, eq_b))

    def skopt_dimensions(self) -> list[Any]:
        from skopt.space import Categorical, Integer, Real

        dims: list[Any] = []
        for p in self.parameters:
            if isinstance(p, FloatParameter):
                dims.append(Real(*p.bounds, prior=p.prior, name=p.name))
            elif isinstance(p, IntegerParameter):
                dims.append(Integer(*p.bounds, name=p.name))
            else:
                dims.append(Categorical(list(p.choices), name=p.name))
        return dims

    # ------------------------------------------------------------ conversions
    def to_list(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[n] for n in self.names]

    def from_list(self, values: Sequence[Any]) -> dict[str, Any]:
        return {p.name: self.clean(p, v) for p, v in zip(self.parameters, values, strict=True)}

    @staticmethod
    def clean(p: Parameter, v: Any) -> Any:
        """A plain Python value of the parameter's type (no numpy scalars)."""
        if isinstance(p, FloatParameter):
            lo, hi = p.bounds
            return float(min(max(float(v), lo), hi))
        if isinstance(p, IntegerParameter):
            lo, hi = p.bounds
            return int(min(max(round(float(v)), lo), hi))
        for c in p.choices:  # map back to the declared choice (type and all)
            if str(c) == str(v):
                return c
        raise ValueError(f"{v!r} is not a choice of {p.name}: {p.choices}")

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        """Problems with a user-given point (names, types, bounds, choices)."""
        problems = []
        unknown = sorted(set(params) - set(self.names))
        if unknown:
            problems.append(f"unknown parameter(s) {unknown}; the campaign has {self.names}")
        for p in self.parameters:
            if p.name not in params:
                problems.append(f"{p.name}: missing; give a value")
                continue
            v = params[p.name]
            if isinstance(p, CategoricalParameter):
                if str(v) not in map(str, p.choices):
                    problems.append(f"{p.name}: {v!r} is not one of {p.choices}")
                continue
            try:
                f = float(v)
            except (TypeError, ValueError):
                problems.append(f"{p.name}: {v!r} is not a number")
                continue
            lo, hi = p.bounds
            if not math.isfinite(f):
                problems.append(f"{p.name}: {v!r} is not a finite number; give one in [{lo}, {hi}]")
            elif not lo <= f <= hi:
                problems.append(f"{p.name}: {f:g} is outside its bounds [{lo}, {hi}]")
            elif isinstance(p, IntegerParameter) and f != round(f):
                problems.append(f"{p.name}: {f:g} is not a whole number (an integer parameter)")
        return problems

    def constraint_problems(
        self, params: Mapping[str, Any], constraints: Sequence[Any], tol: float = 1e-6
    ) -> list[str]:
        """Linear constraints a (validated) user-given point breaks, one line each."""
        problems = []
        for c in constraints:
            if getattr(c, "kind", None) != "linear":
                continue
            total = sum(coef * float(params[name]) for name, coef in c.terms.items())
            scale = tol * max(1.0, sum(abs(coef) for coef in c.terms.values()))
            expr = " + ".join(f"{coef:g}*{name}" for name, coef in c.terms.items())
            if c.equals is not None and abs(total - c.equals) > scale:
                problems.append(f"{expr} = {total:.6g}, but the campaign requires {c.equals:g}")
            if c.min is not None and total < c.min - scale:
                problems.append(f"{expr} = {total:.6g}, below the campaign's min {c.min:g}")
            if c.max is not None and total > c.max + scale:
                problems.append(f"{expr} = {total:.6g}, above the campaign's max {c.max:g}")
        return problems

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        u = np.zeros(self.unit_dim)
        for p, cols in zip(self.parameters, self._columns, strict=True):
            v = params[p.name]
            if isinstance(p, CategoricalParameter):
                i = [str(c) for c in p.choices].index(str(v))
                if p.descriptors:
                    u[cols] = self._descriptor_matrix(p)[i]
                else:
                    u[cols] = np.eye(len(p.choices))[i]
            else:
                u[cols] = self._scale(p, float(v))
        return u

    def from_unit(self, u: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p, cols in zip(self.parameters, self._columns, strict=True):
            x = np.asarray(u[cols], dtype=float)
            if isinstance(p, CategoricalParameter):
                if p.descriptors:
                    d = self._descriptor_matrix(p)
                    i = int(np.argmin(((d - x) ** 2).sum(axis=1)))
                else:
                    i = int(np.argmax(x))
                out[p.name] = p.choices[i]
            else:
                out[p.name] = self.clean(p, self._unscale(p, float(x[0])))
        return out

    def from_design(self, u: np.ndarray) -> dict[str, Any]:
        """Decode a design point with one column per *parameter* (categoricals by bins)."""
        out: dict[str, Any] = {}
        for p, x in zip(self.parameters, u, strict=True):
            if isinstance(p, CategoricalParameter):
                k = len(p.choices)
                out[p.name] = p.choices[min(int(x * k), k - 1)]
            elif isinstance(p, IntegerParameter):
                lo, hi = p.bounds
                out[p.name] = int(min(lo + int(x * (hi - lo + 1)), hi))
            else:
                out[p.name] = self.clean(p, self._unscale(p, float(x)))
        return out

    def points(self) -> list[dict[str, Any]]:
        """Every point of a finite space, in a fixed order (choices and integers ascending)."""
        import itertools

        if not self.is_finite:
            raise ValueError("a continuous space has no list of points")
        axes = []
        for p in self.parameters:
            if isinstance(p, CategoricalParameter):
                axes.append(list(p.choices))
            else:
                axes.append(list(range(p.bounds[0], p.bounds[1] + 1)))
        return [dict(zip(self.names, combo, strict=True)) for combo in itertools.product(*axes)]

    def key(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """A hashable identity of a point of a finite space (its values as text)."""
        return tuple(str(params[k]) for k in self.names)

    def design(self, n: int, kind: str, seed: int, center: bool = False) -> list[dict[str, Any]]:
        """An initial design of ``n`` points: 'random', 'sobol' or 'lhs'.

        ``center``: the last point sits at the middle of every numeric range (in log space for
        log-uniform parameters); its categorical choices come from the design as usual.  The
        points before it are the first ``n - 1`` of the same design (decision 15).
        """
        from scipy.stats import qmc

        d = len(self.parameters)
        if kind == "sobol":
            m = max(1, math.ceil(math.log2(max(n, 2))))
            u = qmc.Sobol(d, scramble=True, seed=seed).random_base2(m)[:n]
        elif kind == "lhs":
            u = qmc.LatinHypercube(d, seed=seed).random(n)
        else:
            u = np.random.default_rng([seed, 7919]).random((n, d))
        numeric = [not isinstance(p, CategoricalParameter) for p in self.parameters]
        if center and n >= 1 and any(numeric):
            last = u[n - 1].copy()
            last[numeric] = 0.5
            u = np.vstack([u[: n - 1], last])
        return [self.from_design(row) for row in u]

    def random(self, rng: np.random.Generator) -> dict[str, Any]:
        return self.from_design(rng.random(len(self.parameters)))

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _scale(p: FloatParameter | IntegerParameter, v: float) -> float:
        lo, hi = p.bounds
        if isinstance(p, FloatParameter) and p.prior == "log-uniform":
            return (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (v - lo) / (hi - lo)

    @staticmethod
    def _unscale(p: FloatParameter | IntegerParameter, x: float) -> float:
        lo, hi = p.bounds
        x = min(max(x, 0.0), 1.0)
        if isinstance(p, FloatParameter) and p.prior == "log-uniform":
            return math.exp(math.log(lo) + x * (math.log(hi) - math.log(lo)))
        return lo + x * (hi - lo)

    @staticmethod
    def _descriptor_matrix(p: CategoricalParameter) -> np.ndarray:
        assert p.descriptors is not None
        d = np.array([p.descriptors[str(c)] for c in p.choices], dtype=float)
        lo, hi = d.min(axis=0), d.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        return (d - lo) / span
