"""Several objectives: Pareto set, hypervolume, ParEGO scalarization."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genesis_lab.cli import main
from genesis_lab.ledger import Ledger
from genesis_lab.pareto import hypervolume, non_dominated


def test_non_dominated_and_hypervolume_on_known_fronts():
    P = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0], [2.5, 2.5]])
    assert non_dominated(P).tolist() == [True, True, True, False, False]
    # staircase under reference (4, 4): 3x1 + 2x1 + 1x1 = 6
    assert hypervolume(P, np.array([4.0, 4.0])) == pytest.approx(6.0)
    # points beyond the reference add nothing
    assert hypervolume(np.array([[5.0, 0.0]]), np.array([4.0, 4.0])) == 0.0
    # 3-D: a unit cube corner at the origin with reference (1,1,1)
    assert hypervolume(np.zeros((1, 3)), np.ones(3)) == pytest.approx(1.0)
    cube = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]], dtype=float)
    # inclusion-exclusion: 3 * 0.25 - 3 * 0.125 + 0.125
    assert hypervolume(cube, np.ones(3)) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    Q = rng.random((40, 3))
    mc = rng.random((200_000, 3))
    dominated = (Q[None, :, :] <= mc[:, None, :]).all(axis=2).any(axis=1).mean()
    assert hypervolume(Q, np.ones(3)) == pytest.approx(dominated, abs=0.01)


@pytest.mark.parametrize("seed", [0, 1])
def test_pareto_campaign_reports_a_non_dominated_set_and_growing_hypervolume(
    examples, tmp_path, capsys, seed
):
    out = tmp_path / f"mo{seed}"
    assert (
        main(
            [
                "run",
                examples / "reactor_pareto.yaml",
                "--out",
                out,
                "--seed",
                seed,
                "--max-experiments",
                20,
                "--time-scale",
                0,
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["status", out, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    with Ledger.open(out) as ledger:
        done = [e for e in ledger.experiments("done") if e.feasible]
    pts = {e.id: np.array([e.objectives["yield"], e.objectives["sty"]]) for e in done}
    pareto = [p["experiment"] for p in status["pareto"]]
    assert pareto
    for i in pareto:  # nobody dominates a member (both maximized)
        assert not any(np.all(pts[j] >= pts[i]) and np.any(pts[j] > pts[i]) for j in pts)
    for j in set(pts) - set(pareto):  # every other point is dominated by a member
        assert any(np.all(pts[i] >= pts[j]) and np.any(pts[i] > pts[j]) for i in pareto)
    hv = [t["hypervolume"] for t in status["hypervolume_trace"]]
    assert len(hv) == 20 and hv == sorted(hv) and hv[-1] == status["hypervolume"] > 0


def test_parego_weights_are_deterministic_per_proposal():
    from genesis_lab.agent import Agent
    from genesis_lab.spec import load_campaign

    spec, _ = load_campaign("examples/reactor_pareto.yaml")
    a, b = Agent(spec), Agent(spec)
    assert np.array_equal(a.weights(12), b.weights(12))
    assert not np.array_equal(a.weights(12), a.weights(13))
    assert a.weights(12).sum() == pytest.approx(1.0)


def test_without_a_reference_point_the_hypervolume_keys_are_null():
    from genesis_lab.report import _pareto
    from genesis_lab.spec import load_campaign

    spec, _ = load_campaign("examples/reactor_pareto.yaml")
    objs = [o.model_copy(update={"reference": None}) for o in spec.objectives]
    out = _pareto(spec.model_copy(update={"objectives": objs}), [])
    assert out == {"pareto": [], "reference": None, "hypervolume": None, "hypervolume_trace": None}
