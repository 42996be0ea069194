"""The agent: configuration plus an append-only observation log.

Its whole state is the campaign spec and the observations it ingested, so a
crashed campaign rebuilds it by replaying the ledger; nothing is pickled.
Proposal number ``k`` draws its randomness from ``default_rng([seed, k])``, so
the same log gives the same proposals, whether the campaign ran in one go or
was interrupted and resumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..spec import CampaignSpec
from .backends import make_backend
from .base import Backend, Observation, Proposal
from .space import Space

__all__ = ["Agent"]

# finite spaces up to this many points are tracked so that no point is proposed twice
MAX_TRACKED = 100_000


class Agent:
    def __init__(self, campaign: CampaignSpec):
        self.campaign = campaign
        self.settings = campaign.optimizer
        self.seed = campaign.seed
        self.space = Space(campaign.parameters)
        self.backend: Backend = make_backend(
            self.space, self.settings, self.seed, campaign.constraints
        )
        self.observations: list[Observation] = []
        self.n_suggested = 0
        self._design: list[dict[str, Any]] | None = None
        self._all_points: dict[tuple[str, ...], dict[str, Any]] | None = None

    # ------------------------------------------------------------- state
    def ingest(self, observations: Iterable[Observation]) -> None:
        """Learn from finished experiments (in the order they finished)."""
        self.observations.extend(observations)

    def usable(self, obs: Observation) -> bool:
        """A feasible observation with a finite number for every objective.

        Anything else (a missing, null or non-finite value, e.g. from a store
        written by hand or by an older version) is learned as infeasible rather
        than crashing the campaign."""
        if not (obs.feasible and obs.objectives):
            return False
        for o in self.campaign.objectives:
            v = obs.objectives.get(o.name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                return False
        return True

    def minimized(self, objectives: dict[str, float]) -> np.ndarray:
        """Every objective in minimized form (maximized ones negated)."""
        return np.array(
            [
                -float(objectives[o.name]) if o.goal == "maximize" else float(objectives[o.name])
                for o in self.campaign.objectives
            ]
        )

    def weights(self, k: int) -> np.ndarray | None:
        """ParEGO: random Chebyshev weights for proposal ``k`` (None for one objective)."""
        m = len(self.campaign.objectives)
        if m == 1:
            return None
        return np.random.default_rng([self.seed, k, 7]).dirichlet(np.ones(m))

    def scalar(
        self,
        objectives: dict[str, float],
        weights: np.ndarray | None = None,
        scale: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> float:
        """The value the back-end minimizes.

        One objective: itself, sign-flipped to minimize. Several: the augmented
        Chebyshev scalarization of the objectives normalized to [0, 1] by the
        observed range (ParEGO): ``max(w * f) + 0.05 * sum(w * f)``.
        """
        if weights is None:  # the hot path of every proposal: no arrays
            first = self.campaign.objectives[0]
            v = float(objectives[first.name])
            return -v if first.goal == "maximize" else v
        f = self.minimized(objectives)
        lo, span = scale if scale is not None else (np.zeros_like(f), np.ones_like(f))
        z = (f - lo) / span
        return float(np.max(weights * z) + 0.05 * np.sum(weights * z))

    def _scale(self) -> tuple[np.ndarray, np.ndarray]:
        F = np.array([self.minimized(o.objectives) for o in self.observations if self.usable(o)])
        if len(F) == 0:
            m = len(self.campaign.objectives)
            return np.zeros(m), np.ones(m)
        lo, hi = F.min(axis=0), F.max(axis=0)
        return lo, np.where(hi > lo, hi - lo, 1.0)

    def training_data(
        self, weights: np.ndarray | None = None
    ) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Observed points and minimized values; infeasible points get a penalty.

        A scientific failure is learned as "worse than anything seen so far":
        its value is fixed when it is ingested (the worst feasible value then,
        plus half the range then), so the data only ever grows at the end and
        an incremental model never has to refit from scratch. Failures before
        the first feasible result wait until there is a scale to penalize on.
        """
        X: list[dict[str, Any]] = []
        y: list[float] = []
        feasible: list[float] = []
        waiting: list[dict[str, Any]] = []
        scale = self._scale() if weights is not None else None
        for obs in self.observations:
            v = self.scalar(obs.objectives, weights, scale) if self.usable(obs) else math.nan
            if math.isfinite(v):
                X.append(obs.parameters)
                y.append(v)
                feasible.append(v)
                if waiting:
                    X += waiting
                    y += [self._penalty(feasible)] * len(waiting)
                    waiting = []
            elif feasible:
                X.append(obs.parameters)
                y.append(self._penalty(feasible))
            else:
                waiting.append(obs.parameters)
        return X, np.asarray(y, dtype=float)

    @staticmethod
    def _penalty(y: list[float]) -> float:
        worst, span = max(y), max(y) - min(y)
        return worst + (0.5 * span if span > 0 else max(1.0, 0.1 * abs(worst)))

    # ------------------------------------------------------------- proposing
    @property
    def _feasible_set_design(self) -> bool:
        """A box design (Sobol, LHS) would ignore linear constraints: such campaigns start from
        a design over the feasible set instead (decision 17)."""
        return self.backend.constrained and self.settings.model != "random"

    @property
    def design(self) -> list[dict[str, Any]]:
        if self._design is None:
            if self.settings.model == "random":
                self._design = []
            elif self._feasible_set_design:
                self._design = self.backend.feasible_design(
                    self.settings.initial_points, self.seed, self.settings.center_point
                )
            else:
                self._design = self.space.design(
                    self.settings.initial_points,
                    self.settings.initial_design,
                    self.seed,
                    center=self.settings.center_point,
                )
        return self._design

    def suggest(self, n: int = 1, pending: Sequence[dict[str, Any]] = ()) -> list[Proposal]:
        """``n`` proposals, avoiding the ``pending`` points still being measured.

        In a finite space (every parameter categorical or integer) no point is proposed twice,
        whichever back-end or fallback proposed it: a repeat is replaced by a random point not
        yet tried, and fewer than ``n`` proposals (none at all) come back once every point has
        been tried or is pending.
        """
        out: list[Proposal] = []
        tried = self._tried(pending)
        n_initial = 0 if self.settings.model == "random" else self.settings.initial_points
        while len(out) < n:
            k = self.n_suggested
            rng = np.random.default_rng([self.seed, k])
            if k < len(self.design):
                new = [Proposal(self.design[k], origin="initial")]
            else:
                X, y = self.training_data(self.weights(k))
                busy = [*pending, *(p.parameters for p in out)]
                flat = len(y) >= 2 and np.ptp(y) == 0 and self.backend.name != "random"
                if k < n_initial or len(y) < 2 or flat:
                    origin = "initial" if k < n_initial else "random"
                    if len(y) == 0 and self.observations:
                        new = [Proposal(self._far_from_tried(busy, rng), origin="random")]
                    else:
                        points = self.backend.feasible_random(1, rng)
                        new = [Proposal(p, origin=origin) for p in points]
                else:
                    new = self.backend.propose(X, y, n - len(out), busy, rng)
            if tried is not None:
                new = self._without_repeats(new, tried, rng)
            if not new:
                break
            out.extend(new)
            self.n_suggested += len(new)
        return out[:n]

    def _far_from_tried(
        self, busy: Sequence[dict[str, Any]], rng: np.random.Generator, n: int = 64
    ) -> dict[str, Any]:
        """Before the first feasible result there is nothing to model: spread out instead, with
        the one of ``n`` random feasible points that lies farthest from every point tried."""
        cands = self.backend.feasible_random(n, rng)
        to_unit = self.space.to_unit
        tried = [o.parameters for o in self.observations] + list(busy)
        T = np.array([to_unit(p) for p in tried])
        C = np.array([to_unit(p) for p in cands])
        d2 = ((C[:, None, :] - T[None, :, :]) ** 2).sum(-1).min(axis=1)
        return cands[int(np.argmax(d2))]

    def _tried(self, pending: Sequence[dict[str, Any]]) -> set[tuple[str, ...]] | None:
        """Keys of the points observed or pending, in a finite space of up to ``MAX_TRACKED``
        points; None for other spaces (no point is ever repeated there by chance)."""
        if not self.space.is_finite or self.space.size > MAX_TRACKED:
            return None
        key = self.space.key
        return {key(o.parameters) for o in self.observations} | {key(p) for p in pending}

    def _without_repeats(
        self, new: list[Proposal], tried: set[tuple[str, ...]], rng: np.random.Generator
    ) -> list[Proposal]:
        """Replace proposals of points already tried by random untried ones (``tried`` gains
        every point returned); stop when no untried point is left."""
        out = []
        for p in new:
            k = self.space.key(p.parameters)
            if k in tried:
                left = [q for q in self._points() if q not in tried]
                if not left:
                    break
                k = left[int(rng.integers(len(left)))]
                origin = "initial" if p.origin == "initial" else "random"
                p = Proposal(self._points()[k], origin=origin)
            tried.add(k)
            out.append(p)
        return out

    def _points(self) -> dict[tuple[str, ...], dict[str, Any]]:
        """Every point of the finite space that keeps the linear input constraints, by key."""
        if self._all_points is None:
            points = self.space.points()
            if self.backend.constrained:
                from ._gp_space import Polytope

                b = self.backend
                U = np.array([self.space.to_unit(p) for p in points])
                ok = Polytope(self.space.unit_dim, b.A_ub, b.b_ub, b.A_eq, b.b_eq).contains(U)
                points = [p for p, keep in zip(points, ok, strict=True) if keep]
            self._all_points = {self.space.key(p): p for p in points}
        return self._all_points

    def model_state(self) -> dict[str, Any] | None:
        """The back-end's fitted model behind its last proposal (None if it has no summary)."""
        return self.backend.model_state()

    def provenance(self) -> dict[str, Any]:
        """What produced the next proposal: back-end, its version and configuration, seed."""
        return {
            "optimizer": self.backend.name,
            "optimizer_version": self.backend.version,
            "optimizer_config": {
                **self.backend.config(),
                "initial_points": self.settings.initial_points,
                "initial_design": (
                    "maximin in the feasible set"
                    if self._feasible_set_design
                    else self.settings.initial_design
                ),
                "center_point": self.settings.center_point,
            },
            "seed": self.seed,
        }
