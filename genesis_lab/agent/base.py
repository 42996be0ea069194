"""The agent's vocabulary and the optimizer back-end contract."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .space import Space

__all__ = ["Proposal", "Observation", "Capabilities", "Backend"]


@dataclass(frozen=True)
class Proposal:
    """A point the agent asks to be measured."""

    parameters: dict[str, Any]
    origin: str = "model"  # initial | model | random | manual | replicate
    acquisition: float | None = None


@dataclass(frozen=True)
class Observation:
    """The outcome of one experiment, as the agent learns it.

    ``feasible=False`` marks a scientific failure or an infeasible outcome: the
    model learns to avoid the point. Infrastructure failures are never
    observations.
    """

    parameters: dict[str, Any]
    objectives: dict[str, float] = field(default_factory=dict)
    feasible: bool = True


@dataclass(frozen=True)
class Capabilities:
    batch: bool = True
    categorical: bool = True
    multi_objective: bool = False
    input_constraints: bool = False


class Backend(ABC):
    """An optimizer back-end: proposes points from the full data, minimizing ``y``.

    Back-ends see the whole (replayed) data at every call, so their output is a
    function of the observation log, the pending points and the generator:
    nothing has to be saved to resume a campaign.
    """

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, space: Space, settings: Any, seed: int, constraints: Any = ()):
        self.space = space
        self.settings = settings
        self.seed = seed
        self.constraints = list(constraints)
        self.A_ub, self.b_ub, self.A_eq, self.b_eq = space.linear_constraints(self.constraints)

    @property
    def constrained(self) -> bool:
        return self.A_ub is not None or self.A_eq is not None

    def feasible_random(self, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
        """``n`` random points that satisfy the linear input constraints."""
        if not self.constrained:
            return [self.space.random(rng) for _ in range(n)]
        from .gpbo import GPBO

        pts, _ = GPBO(self.space.unit_dim, seed=self.seed).ask(
            n, rng=rng, A_ub=self.A_ub, b_ub=self.b_ub, A_eq=self.A_eq, b_eq=self.b_eq
        )
        return [self.space.from_unit(u) for u in pts]

    def feasible_design(self, n: int, seed: int, center: bool) -> list[dict[str, Any]]:
        """An initial design of ``n`` points that satisfy the linear input constraints.

        A Sobol or Latin-hypercube design fills the box and ignores the constraints, so this
        fills the feasible set instead: a greedy maximin subset (each point as far as possible,
        in the numeric parameters, from those chosen before it) of hit-and-run samples of the
        set.  ``center``: the last point is the set's analytic center (the middle of every
        range no constraint cuts; decision 17), and the others are spread away from it too.
        Categorical parameters, which no linear constraint involves, take each choice once
        before any twice (which ones, and their order, drawn from the seed).
        """
        from ._gp_space import Polytope
        from .space import CategoricalParameter

        space = self.space
        poly = Polytope(space.unit_dim, self.A_ub, self.b_ub, self.A_eq, self.b_eq)
        rng = np.random.default_rng([seed, 7919])
        mid_z = poly.analytic_center()
        pool = poly.to_x(poly.sample_z(max(256, 64 * n), rng, start=mid_z))
        numeric = space.numeric_columns()
        P = pool[:, numeric]
        mid = poly.to_x(mid_z[None, :]) if center and n >= 1 else pool[:0]
        chosen: list[int] = []
        if len(mid):
            gap = np.linalg.norm(P - mid[0, numeric], axis=1)
        else:
            chosen.append(int(rng.integers(len(pool))))
            gap = np.linalg.norm(P - P[chosen[0]], axis=1)
        while len(chosen) < n - len(mid):
            nxt = int(np.argmax(gap))
            chosen.append(nxt)
            gap = np.minimum(gap, np.linalg.norm(P - P[nxt], axis=1))
        points = [space.from_unit(u) for u in np.vstack([pool[chosen[:n]], mid])]
        for p in space.parameters:
            if isinstance(p, CategoricalParameter):
                # every choice once before any twice; which ones (and their order) by the seed
                order = rng.permutation(np.resize(rng.permutation(len(p.choices)), len(points)))
                for point, level in zip(points, order, strict=True):
                    point[p.name] = p.choices[int(level)]
        return points

    @property
    def version(self) -> str:
        from .. import __version__

        return __version__

    def config(self) -> dict[str, Any]:
        return {"backend": self.name}

    def model_state(self) -> dict[str, Any] | None:
        """A JSON-able summary of the fitted model behind the last model proposal (recorded in
        its provenance), or None when the back-end has none to give."""
        return None

    @abstractmethod
    def propose(
        self,
        X: list[dict[str, Any]],
        y: np.ndarray,
        n: int,
        pending: list[dict[str, Any]],
        rng: np.random.Generator,
    ) -> list[Proposal]:
        """``n`` new points given observations ``X``/``y`` (minimized) and pending points."""
