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
    failed = [o.parameters for o in a.observations if not o.feasible]
    penalties = [v for p, v in zip(X, y, strict=True) if p in failed]
    assert len(penalties) == 3
    # each penalty is worse than every result known when it was fixed: at its own
    # ingestion, or at the first feasible result for a failure that came before any
    seen: list[float] = []
    for obs in a.observations:
        if obs.feasible:
            seen.append(f(obs.parameters))
        else:
            v = y[X.index(obs.parameters)]
            assert v > max(seen or [f(a.observations[1].parameters)])
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


def _batch_after_eight(model: str, seed: int) -> tuple[Agent, np.ndarray, list]:
    spec = campaign(model=model).model_copy(update={"seed": seed})
    a = Agent(spec)
    drive(a, 8)
    batch = a.suggest(4, pending=[{"x": 0.3, "y": 0.5}])
    return a, np.array([[p.parameters["x"], p.parameters["y"]] for p in batch]), batch


@pytest.mark.parametrize("model", ["GP", "RF", "random"])
@pytest.mark.parametrize("seed", range(4))
def test_batches_are_distinct_and_avoid_pending_points(model, seed):
    _, pts, batch = _batch_after_eight(model, seed)
    assert len(batch) == 4
    gaps = [np.linalg.norm(pts[i] - pts[j]) for i in range(4) for j in range(i)]
    assert min(gaps) > 1e-3, pts
    if model != "random":
        assert all(np.linalg.norm(p - [0.3, 0.5]) > 1e-3 for p in pts)


@pytest.mark.parametrize("model", ["GP", "RF"])
def test_batches_are_useful_over_seeds(model):
    # a uniformly random point scores E[f] = 1/12 + 0.04 + 4/3 + 0.25 = 1.71 on average;
    # over 8 seeds the typical batch (median of the batch means) is far better than that
    means = [
        np.mean([f(b.parameters) for b in _batch_after_eight(model, seed)[2]]) for seed in range(8)
    ]
    assert np.median(means) < 0.5 * 1.71, means


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


def _mixed_campaign(parameters=None, **optimizer) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "name": "mixed",
            "lab": "lab.yaml",
            "seed": 5,
            "parameters": parameters
            or [
                {"name": "t", "type": "float", "device": "d.t", "bounds": [20, 80]},
                {
                    "name": "c",
                    "type": "float",
                    "device": "d.c",
                    "bounds": [0.01, 1.0],
                    "prior": "log-uniform",
                },
                {"name": "n", "type": "integer", "device": "d.n", "bounds": [1, 9]},
                {
                    "name": "s",
                    "type": "categorical",
                    "device": "d.s",
                    "choices": ["water", "ethanol", "dmso"],
                },
            ],
            "measure": ["d"],
            "objectives": [{"name": "f", "expression": "d.f", "goal": "minimize"}],
            "budget": {"experiments": 20},
            "optimizer": {"initial_points": 6, **optimizer},
        }
    )


def test_the_initial_design_ends_at_the_center_of_every_numeric_range():
    design = Agent(_mixed_campaign()).design
    plain = Agent(_mixed_campaign(center_point=False)).design
    assert len(design) == 6
    # the other points are those of the plain space-filling design, in the same order
    assert design[:5] == plain[:5]
    center = design[-1]
    assert center["t"] == pytest.approx(50.0)
    assert center["c"] == pytest.approx(0.1)  # log-uniform: the geometric middle
    assert center["n"] == 5
    assert center["s"] in ("water", "ethanol", "dmso")  # from the design, no "middle" choice
    assert plain[-1]["t"] != pytest.approx(50.0)


def test_an_all_categorical_design_has_no_center_point():
    params = [
        {"name": "a", "type": "categorical", "device": "d.a", "choices": ["p", "q", "r"]},
        {"name": "b", "type": "categorical", "device": "d.b", "choices": ["u", "v"]},
    ]
    on = Agent(_mixed_campaign(params)).design
    assert on == Agent(_mixed_campaign(params, center_point=False)).design


def test_center_point_must_be_true_or_false():
    with pytest.raises(ValueError, match="center_point"):
        campaign(center_point=2)


def _mixture_campaign(seed: int, **optimizer) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "name": "mix",
            "lab": "lab.yaml",
            "seed": seed,
            "parameters": [
                {"name": n, "type": "float", "device": f"d.{n}", "bounds": [0, 1]} for n in "abc"
            ],
            "constraints": [{"kind": "linear", "terms": {"a": 1, "b": 1, "c": 1}, "equals": 1}],
            "measure": ["d"],
            "objectives": [{"name": "f", "expression": "d.f", "goal": "minimize"}],
            "budget": {"experiments": 20},
            "optimizer": {"initial_points": 6, **optimizer},
        }
    )


def _closest_pair(points: list[dict]) -> float:
    X = np.array([[p[k] for k in "abc"] for p in points])
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    return float(D[np.triu_indices(len(X), 1)].min())


def test_a_constrained_initial_design_spreads_over_the_feasible_set_and_ends_at_its_center():
    spread, random = [], []
    for seed in range(10):
        agent = Agent(_mixture_campaign(seed))
        design = agent.design
        X = np.array([[p[k] for k in "abc"] for p in design])
        assert len(X) == 6 and np.allclose(X.sum(1), 1.0) and X.min() >= -1e-12
        assert X[-1] == pytest.approx([1 / 3] * 3)  # the point deepest inside the triangle
        assert [p.parameters for p in agent.suggest(6)] == design
        spread.append(_closest_pair(design))
        random.append(_closest_pair(agent.backend.feasible_random(6, np.random.default_rng(seed))))
    # a space-filling design, not six random feasible points
    assert np.median(spread) > 2 * np.median(random)
    config = agent.provenance()["optimizer_config"]
    assert config["initial_design"] == "maximin in the feasible set"
    assert Agent(_mixture_campaign(4)).design == Agent(_mixture_campaign(4)).design
    off = Agent(_mixture_campaign(4, center_point=False)).design
    assert off[-1]["a"] != pytest.approx(1 / 3)


def _constrained(params: list[dict], constraints: list[dict], seed: int = 0) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "name": "c",
            "lab": "lab.yaml",
            "seed": seed,
            "parameters": params,
            "constraints": constraints,
            "measure": ["d"],
            "objectives": [{"name": "f", "expression": "d.f", "goal": "minimize"}],
            "budget": {"experiments": 20},
            "optimizer": {"initial_points": 6},
        }
    )


def _float(name: str, lo: float = 0, hi: float = 1) -> dict:
    return {"name": name, "type": "float", "device": f"d.{name}", "bounds": [lo, hi]}


def test_the_center_of_a_constrained_design_is_the_middle_not_a_corner():
    # a thin band a + b in [0.99, 1.01] and a temperature that no constraint involves
    band = {"kind": "linear", "terms": {"a": 1, "b": 1}, "min": 0.99, "max": 1.01}
    for seed in range(5):
        agent = Agent(_constrained([_float("a"), _float("b"), _float("T", 20, 120)], [band], seed))
        last = agent.design[-1]
        assert last["a"] == pytest.approx(0.5, abs=1e-6) and last["b"] == pytest.approx(
            0.5, abs=1e-6
        )
        assert last["T"] == pytest.approx(70.0)
        for p in agent.design:
            assert 0.99 - 1e-9 <= p["a"] + p["b"] <= 1.01 + 1e-9
        spread = [p["a"] for p in agent.design[:-1]]
        assert max(spread) - min(spread) > 0.5, "the points spread along the band"


def test_a_categorical_takes_turns_and_does_not_crowd_the_numeric_spread():
    cat = {"name": "s", "type": "categorical", "device": "d.s", "choices": list("abcdefghijkl")}
    cap = [{"kind": "linear", "terms": {"x": 1, "y": 1}, "max": 1.2}]
    with_cat, without, used = [], [], set()
    for seed in range(10):
        d = Agent(_constrained([_float("x"), _float("y"), cat], cap, seed)).design
        assert len({p["s"] for p in d}) == 6, "six different choices in six points"
        used |= {p["s"] for p in d}
        with_cat.append(_closest_xy(d))
        without.append(
            _closest_xy(Agent(_constrained([_float("x"), _float("y")], cap, seed)).design)
        )
    assert np.median(with_cat) > 0.8 * np.median(without)
    assert len(used) == 12, "the seed picks which choices a small design uses"


def _closest_xy(points: list[dict]) -> float:
    X = np.array([[p["x"], p["y"]] for p in points])
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    return float(D[np.triu_indices(len(X), 1)].min())
