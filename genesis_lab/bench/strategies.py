"""The strategies a benchmark compares, each run on a :class:`Problem` for one seed.

- ``genesis``: Genesis Lab's agent (the fast GP engine, Sobol initial design);
- ``skopt``: plain scikit-optimize, ``Optimizer(base_estimator="GP")`` with its
  defaults (10 random initial points, ``gp_hedge``), ask/tell;
- ``random``: uniform random search (without repeats on finite spaces).

Each returns the score of every experiment in order and the seconds spent in
each proposal (suggest after ingesting the previous result).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from ..agent import Agent, Observation
from ..spec import CampaignSpec
from .problems import Problem

__all__ = ["Trace", "run_strategy", "STRATEGIES"]


@dataclass
class Trace:
    scores: list[float]
    propose_seconds: list[float]


def _campaign(problem: Problem, seed: int, model: str) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "name": problem.name,
            "lab": "-",
            "seed": seed,
            "parameters": problem.parameters,
            "measure": ["f"],
            "objectives": [{"name": "score", "expression": "f.score", "goal": "minimize"}],
            "budget": {"experiments": problem.budget},
            "optimizer": {
                "model": model,
                "initial_points": problem.initial_points,
                "initial_design": "sobol",
            },
        }
    )


def _score(problem: Problem, params: dict) -> float | None:
    try:
        return float(problem.score(params))
    except Exception as exc:  # an infeasible point (a dataset without that row)
        if getattr(exc, "infeasible", False):
            return None
        raise


def run_agent(problem: Problem, seed: int, model: str = "GP") -> Trace:
    agent = Agent(_campaign(problem, seed, model))
    scores, seconds = [], []
    for _ in range(problem.budget):
        t0 = time.perf_counter()
        (prop,) = agent.suggest(1)
        seconds.append(time.perf_counter() - t0)
        value = _score(problem, prop.parameters)
        feasible = value is not None
        agent.ingest([Observation(prop.parameters, {"score": value} if feasible else {}, feasible)])
        scores.append(value if feasible else float("inf"))
    return Trace(scores, seconds)


def run_random(problem: Problem, seed: int) -> Trace:
    rng = np.random.default_rng([seed, 4242])
    agent = Agent(_campaign(problem, seed, "random"))
    space = agent.space
    seen: set[str] = set()
    scores, seconds = [], []
    for _ in range(problem.budget):
        t0 = time.perf_counter()
        while True:
            params = space.random(rng)
            key = repr(sorted(params.items()))
            if not space.is_finite or key not in seen:
                break
        seen.add(key)
        seconds.append(time.perf_counter() - t0)
        value = _score(problem, params)
        scores.append(float("inf") if value is None else value)
    return Trace(scores, seconds)


def run_skopt(problem: Problem, seed: int) -> Trace:
    """Plain scikit-optimize: its ``tell`` refits the GP and searches the next
    point, so one proposal costs ``tell(previous) + ask()``."""
    from skopt import Optimizer

    from ..agent import Space

    space = Space(_campaign(problem, seed, "GP").parameters)
    opt = Optimizer(space.skopt_dimensions(), base_estimator="GP", random_state=seed)
    scores: list[float] = []
    seconds: list[float] = []
    pending_tell: tuple[list, float] | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skopt warns about repeated points
        for _ in range(problem.budget):
            t0 = time.perf_counter()
            if pending_tell is not None:
                opt.tell(*pending_tell)
            x = opt.ask()
            seconds.append(time.perf_counter() - t0)
            value = _score(problem, space.from_list(x))
            if value is None:  # infeasible: tell it as worse than anything seen
                worst = max([v for v in scores if np.isfinite(v)], default=0.0)
                value_told = worst + 1.0
            else:
                value_told = value
            pending_tell = (x, value_told)
            scores.append(float("inf") if value is None else value)
    return Trace(scores, seconds)


STRATEGIES = {"genesis": run_agent, "skopt": run_skopt, "random": run_random}


def run_strategy(name: str, problem: Problem, seed: int) -> Trace:
    return STRATEGIES[name](problem, seed)
