"""The agent: replay, determinism, failures as data, finite spaces."""

from __future__ import annotations

import numpy as np
import pytest

from genesis_lab.agent import Agent, Observation
from genesis_lab.spec import CampaignSpec


def campaign(**optimizer) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "name": "t",
            "lab": "lab.yaml",
            "seed": 3,
            "parameters": [
                {"name": "x", "type": "float", "device": "d.x", "bounds": [0, 1]},
                {"name": "y", "type": "float", "device": "d.y", "bounds": [-2, 2]},
            ],
            "measure": ["d"],
            "objectives": [{"name": "f", "expression": "d.f", "goal": "minimize"}],
            "budget": {"experiments": 20},
            "optimizer": {"initial_points": 4, **optimizer},
        }
    )


def f(p):
    return (p["x"] - 0.3) ** 2 + (p["y"] - 0.5) ** 2


def drive(agent: Agent, n: int, fail=lambda i: False) -> list[dict]:
    out = []
    for i in range(n):
        (prop,) = agent.suggest(1)
        out.append(prop.parameters)
        ok = not fail(i)
        agent.ingest([Observation(prop.parameters, {"f": f(prop.parameters)} if ok else {}, ok)])
    return out


@pytest.mark.parametrize("model", ["GP", "random", "RF"])
def test_replaying_the_log_gives_the_same_next_proposals(model):
    a = Agent(campaign(model=model))
    drive(a, 9, fail=lambda i: i == 5)
    b = Agent(campaign(model=model))
    b.ingest(a.observations)
    b.n_suggested = a.n_suggested
    assert a.suggest(2) == b.suggest(2)


def test_scientific_failures_get_a_fixed_penalty_worse_than_any_result():
    a = Agent(campaign())
    drive(a, 12, fail=lambda i: i in (0, 6, 7))
    X, y = a.training_data()
    assert len(y) == 12
    feasible = [f(o.parameters) for o in a.observations if o.feasible]
    failed = [o.parameters for o in a.observations if not o.feasible]
    penalties = [v for p, v in zip(X, y, strict=True) if p in failed]
    assert len(penalties) == 3 and min(penalties) > max(feasible)
    # append-only: the data seen at 10 observations is a prefix of the data at 12
    b = Agent(campaign())
    b.ingest(a.observations[:10])
    X10, y10 = b.training_data()
    assert X10 == X[: len(X10)] and np.array_equal(y10, y[: len(y10)])


def test_gp_agent_converges_on_a_smooth_bowl():
    a = Agent(campaign())
    drive(a, 20)
    best = min(f(o.parameters) for o in a.observations)
    assert best < 0.01


@pytest.mark.parametrize("model", ["GP", "RF", "random"])
@pytest.mark.parametrize("seed", range(4))
def test_batches_are_distinct_and_avoid_pending_points(model, seed):
    spec = campaign(model=model).model_copy(update={"seed": seed})
    a = Agent(spec)
    drive(a, 8)
    pending = [{"x": 0.3, "y": 0.5}]
    batch = a.suggest(4, pending=pending)
    pts = np.array([[p.parameters["x"], p.parameters["y"]] for p in batch])
    assert len(batch) == 4
    gaps = [np.linalg.norm(pts[i] - pts[j]) for i in range(4) for j in range(i)]
    assert min(gaps) > 1e-3, pts
    if model != "random":
        assert all(np.linalg.norm(p - [0.3, 0.5]) > 1e-3 for p in pts)
        # useful: the batch stays in the promising half of the space (f < the median seen)
        seen = sorted(f(o.parameters) for o in a.observations)
        assert np.mean([f(b.parameters) for b in batch]) < seen[len(seen) // 2] * 2


def test_categorical_descriptors_replace_one_hot_in_the_model_encoding():
    from genesis_lab.agent import Space
    from genesis_lab.spec import CategoricalParameter

    p = CategoricalParameter(
        name="solvent",
        type="categorical",
        device="d.s",
        choices=["water", "ethanol", "hexane"],
        descriptors={"water": [80.1, 100], "ethanol": [24.5, 78], "hexane": [1.9, 69]},
    )
    space = Space([p])
    assert space.unit_dim == 2  # two descriptors, not three one-hot columns
    u = space.to_unit({"solvent": "ethanol"})
    assert u == pytest.approx([(24.5 - 1.9) / (80.1 - 1.9), (78 - 69) / (100 - 69)])
    # a point between choices decodes to the nearest one in descriptor space
    assert space.from_unit(np.array([0.95, 0.9]))["solvent"] == "water"
    plain = Space(
        [CategoricalParameter(name="s", type="categorical", device="d.s", choices=["a", "b", "c"])]
    )
    assert plain.unit_dim == 3
