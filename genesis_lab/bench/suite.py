"""``genesis-lab bench``: run the benchmark suites and print a table.

Suites:
- ``quick`` (< 5 min on 2 cores): every group (Branin, Hartmann-6, Buchwald A only of the five
  datasets, the simulated reactor, the Pareto case, proposal latency at 100 and 300
  observations and ours at 1000, loop overhead); 5 seeds (reactor 3, latency 3 repetitions).
- ``full``: every Buchwald dataset and more seeds (tens of minutes).

Every row compares Genesis Lab's agent with plain scikit-optimize defaults and
random search, measured in the same run with the same seeds.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .problems import Problem, buchwald, first_success, synthetic
from .strategies import Trace, run_skopt, run_strategy

__all__ = ["SUITES", "run_suite", "print_table"]

Row = dict[str, Any]


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else math.nan


def _fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, float):
        if math.isinf(v):
            return "not reached"
        if math.isnan(v):
            return "–"
        return f"{v:.{digits}g}"
    return str(v)


def optimization_rows(
    problem: Problem,
    seeds: Sequence[int],
    strategies: list[str],
    progress: Callable[[str], None] = lambda s: None,
) -> list[Row]:
    rows = []
    for strat in strategies:
        n = len(seeds)
        traces: list[Trace] = []
        for i, seed in enumerate(seeds):
            progress(f"{problem.name}: {strat} seed {seed} ({i + 1}/{n})")
            traces.append(run_strategy(strat, problem, seed))
        best = [min(t.scores) for t in traces]
        regret = [b - problem.optimum for b in best]
        to_target = [first_success(t.scores, problem.success) for t in traces]
        ms = [1000 * s for t in traces for s in t.propose_seconds]
        rows.append(
            {
                "problem": problem.name,
                "strategy": strat,
                "seeds": n,
                "budget": problem.budget,
                "median_best": _median(best),
                "median_regret": _median(regret),
                "successes": sum(math.isfinite(x) for x in to_target),
                "median_experiments_to_target": _median(to_target),
                "ms_per_proposal": _median(ms),
                "ms_per_proposal_max": max(ms) if ms else math.nan,
                "note": problem.note,
                **(
                    {"random_expected": problem.extra["random_expected"]}
                    if "random_expected" in problem.extra
                    else {}
                ),
            }
        )
    return rows


def latency_rows(
    sizes: tuple[int, ...],
    reps: int,
    strategies: list[str],
    progress: Callable[[str], None] = lambda s: None,
) -> list[Row]:
    """Milliseconds for one proposal (ingest one new observation, suggest one)
    after ``n`` observations, 6-D continuous, GP."""
    from ..agent import Agent, Observation
    from . import functions as fn
    from .strategies import _campaign

    problem = synthetic("hartmann6")
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        X = rng.random((n + reps + 1, 6))
        y = fn.hartmann6(X)
        for strat in strategies:
            progress(f"latency at {n}: {strat}")
            times = []
            if strat == "genesis":
                agent = Agent(_campaign(problem, 0, "GP"))
                agent.n_suggested = problem.initial_points  # past the initial design
                obs = [
                    Observation({f"x{i}": float(v) for i, v in enumerate(x)}, {"score": float(t)})
                    for x, t in zip(X, y, strict=True)
                ]
                agent.ingest(obs[:n])
                agent.suggest(1)  # warm: the engine has fitted the first n
                for k in range(reps):
                    t0 = time.perf_counter()
                    agent.ingest([obs[n + k]])
                    agent.suggest(1)
                    times.append(time.perf_counter() - t0)
            elif strat == "skopt":
                import warnings

                from skopt import Optimizer

                opt = Optimizer([(0.0, 1.0)] * 6, base_estimator="GP", random_state=0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    opt.tell(X[:n].tolist(), y[:n].tolist())
                    for k in range(reps):
                        t0 = time.perf_counter()
                        opt.tell(X[n + k].tolist(), float(y[n + k]))
                        opt.ask()
                        times.append(time.perf_counter() - t0)
            else:
                continue
            rows.append(
                {
                    "problem": f"latency_6d_{n}obs",
                    "strategy": strat,
                    "seeds": reps,
                    "observations": n,
                    "ms_per_proposal": 1000 * _median(times),
                    "ms_per_proposal_max": 1000 * max(times),
                }
            )
    return rows


def reactor_rows(
    seeds: Sequence[int], strategies: list[str], progress: Callable[[str], None] = lambda s: None
) -> list[Row]:
    """The closed loop on the simulated reactor (RunEngine, devices, ledger), scored
    on the true (noise- and drift-free) yield at the experiment reported as best."""
    import contextlib
    import io
    import tempfile
    from pathlib import Path

    import yaml

    from simulators import FlowReactor

    from ..cli import main

    examples = Path(__file__).resolve().parents[2] / "examples"
    optimum = FlowReactor.optimum("yield_pct", "maximize")[1]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for strat in strategies:
            camp = yaml.safe_load((examples / "reactor_campaign.yaml").read_text())
            camp["lab"] = str(examples / "sim_lab.yaml")
            camp["optimizer"] = (
                {"model": "random"}
                if strat == "random"
                else {
                    "model": "GP",
                    "engine": "skopt" if strat == "skopt" else "fast",
                    "initial_points": 8,
                }
            )
            path = Path(tmp) / f"{strat}.yaml"
            path.write_text(yaml.safe_dump(camp))
            true, wall = [], []
            for i, seed in enumerate(seeds):
                progress(f"reactor: {strat} seed {seed} ({i + 1}/{len(seeds)})")
                buf = io.StringIO()
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(buf):
                    code = main(
                        [
                            "run",
                            str(path),
                            "--out",
                            f"{tmp}/{strat}-{seed}",
                            "--seed",
                            str(seed),
                            "--time-scale",
                            "0",
                            "--quiet",
                            "--json",
                        ]
                    )
                wall.append(time.perf_counter() - t0)
                if code != 0:
                    raise RuntimeError(f"reactor benchmark campaign failed ({strat}, {seed})")
                best = json.loads(buf.getvalue())["best"]["parameters"]
                true.append(float(FlowReactor().truth(**best)["yield_pct"]))
            budget = camp["budget"]["experiments"]
            rows.append(
                {
                    "problem": "reactor_yield",
                    "strategy": strat,
                    "seeds": seeds,
                    "budget": budget,
                    "median_best": _median(true),
                    "median_regret": optimum - _median(true),
                    "seconds_per_campaign": _median(wall),
                    "loop_overhead_ms_per_experiment": None,
                    "note": f"true yield at the reported best; optimum {optimum:.2f}%",
                }
            )
    return rows


def pareto_rows(
    seeds: Sequence[int], progress: Callable[[str], None] = lambda s: None
) -> list[Row]:
    """Two objectives on the reactor's true model (maximize yield and space-time
    yield): hypervolume after 30 experiments.

    - genesis: the agent's ParEGO (a new random Chebyshev weighting per proposal);
    - skopt: plain scikit-optimize has no multi-objective mode, so it gets what a
      user of it would write: ``Optimizer(GP)`` defaults on the equal-weight sum
      of the two objectives, each divided by its single-objective optimum;
    - random: uniform random search.
    """
    from simulators import FlowReactor

    from ..agent import Agent, Observation
    from ..pareto import hypervolume
    from ..spec import load_campaign

    examples = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples"
    spec, _ = load_campaign(examples / "reactor_pareto.yaml")
    model = FlowReactor()
    ref = np.array([0.0, 0.0])
    rows = []
    for strat in ("genesis", "skopt", "random"):
        hvs, ms = [], []
        for i, seed in enumerate(seeds):
            progress(f"reactor pareto: {strat} seed {seed} ({i + 1}/{len(seeds)})")
            if strat == "skopt":
                pts, trace = _pareto_skopt(spec, model, seed)
                hvs.append(hypervolume(np.array(pts), ref))
                ms += [1000 * t for t in trace.propose_seconds]
                continue
            opt = (
                {"model": "GP", "initial_points": 8} if strat == "genesis" else {"model": "random"}
            )
            agent = Agent(
                spec.model_copy(
                    update={"seed": seed, "optimizer": spec.optimizer.model_copy(update=opt)}
                )
            )
            pts = []
            for _ in range(spec.budget.experiments):
                t0 = time.perf_counter()
                (p,) = agent.suggest(1)
                ms.append(1000 * (time.perf_counter() - t0))
                t = model.truth(**p.parameters)
                obj = {"yield": float(t["yield_pct"]), "sty": float(t["space_time_yield"])}
                agent.ingest([Observation(p.parameters, obj)])
                pts.append([-obj["yield"], -obj["sty"]])
            hvs.append(hypervolume(np.array(pts), ref))
        rows.append(
            {
                "problem": "reactor_pareto_hv",
                "strategy": strat,
                "seeds": len(seeds),
                "budget": spec.budget.experiments,
                "median_best": _median(hvs),
                "ms_per_proposal": _median(ms),
                "ms_per_proposal_max": max(ms),
                "note": "hypervolume of (yield %, space-time yield) vs reference (0, 0); "
                "larger is better",
            }
        )
    return rows


def _pareto_skopt(spec: Any, model: Any, seed: int) -> tuple[list[list[float]], Trace]:
    """Plain scikit-optimize (:func:`run_skopt`) on a fixed equal-weight sum of the
    two objectives, each divided by its single-objective optimum; returns every
    experiment's (negated) objectives and the trace."""

    y_max = type(model).optimum("yield_pct", "maximize")[1]
    sty_max = type(model).optimum("space_time_yield", "maximize")[1]
    pts: list[list[float]] = []

    def score(params: dict[str, Any]) -> float:
        t = model.truth(**params)
        y, sty = float(t["yield_pct"]), float(t["space_time_yield"])
        pts.append([-y, -sty])
        return -(0.5 * y / y_max + 0.5 * sty / sty_max)

    problem = Problem(
        "reactor_pareto",
        [p.model_dump(exclude_none=True) for p in spec.parameters],
        score,
        budget=spec.budget.experiments,
        optimum=-1.0,
    )
    return pts, run_skopt(problem, seed)


_XRAY_RANDOM = """\
name: xray-random-long
lab: {lab}
seed: 1
parameters:
  - {{name: x, type: float, device: xray.x, bounds: [-5, 5]}}
  - {{name: y, type: float, device: xray.y, bounds: [-5, 5]}}
  - {{name: theta, type: float, device: xray.theta, bounds: [-3, 3]}}
measure: [xray]
objectives:
  - {{name: intensity, expression: xray.intensity, goal: maximize}}
budget: {{experiments: {n}}}
optimizer: {{model: random}}
"""


def _timed_run(campaign: Path, out: Path, experiments: int) -> float:
    """Wall seconds of a whole quiet ``genesis-lab run`` at time scale 0."""
    import contextlib
    import io

    from ..cli import main

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(
            ["run", str(campaign), "--out", str(out), "--max-experiments", str(experiments)]
            + ["--time-scale", "0", "--quiet"]
        )
    if code != 0:
        raise RuntimeError(f"overhead benchmark campaign {campaign.name} failed")
    return time.perf_counter() - t0


def overhead_rows(experiments: int = 30, long: int = 1000) -> list[Row]:
    """Closed-loop overhead per experiment: RunEngine, plan, ledger writes and
    documents, with random proposals and instant simulated instruments.

    The second row runs ``long`` experiments (an X-ray stage, which uses no consumables)
    and compares the first and the last hundred: the loop must not slow down as the
    ledger grows."""
    import tempfile

    from ..lab import import_object
    from ..ledger import Ledger

    examples = Path(__file__).resolve().parents[2] / "examples"
    # module imports are a one-off of the process, not of the loop: load what the lab's
    # devices import (the simulators, scipy.stats) before the clock starts, whichever rows
    # ran before this one
    import_object("devices.sim.FlowReactor")
    with tempfile.TemporaryDirectory() as tmp:
        wall = _timed_run(examples / "reactor_random.yaml", Path(tmp) / "o", experiments)
        campaign = Path(tmp) / "xray.yaml"
        campaign.write_text(_XRAY_RANDOM.format(lab=examples / "sim_lab.yaml", n=long))
        _timed_run(campaign, Path(tmp) / "long", long)
        with Ledger.open(Path(tmp) / "long") as ledger:
            t = np.array([e.proposed_at for e in ledger.experiments()])
    first, last = np.diff(t[:101]).mean(), np.diff(t[-101:]).mean()
    return [
        {
            "problem": "loop_overhead",
            "strategy": "random",
            "seeds": 1,
            "budget": experiments,
            "ms_per_experiment": 1000 * wall / experiments,
            "note": "wall time per experiment of a whole `genesis-lab run` (incl. its set-up, "
            "not module imports), time scale 0",
        },
        {
            "problem": f"loop_overhead_at_{long}",
            "strategy": "random",
            "seeds": 1,
            "budget": long,
            "ms_per_experiment": 1000 * last,
            "ms_per_experiment_first_100": 1000 * first,
            "note": f"mean time between proposals over the last 100 of {long} experiments "
            f"(first 100: {1000 * first:.1f} ms), time scale 0",
        },
    ]


SUITES: dict[str, dict[str, Any]] = {
    # quick: < 5 min on 2 cores
    "quick": {
        "seeds": 5,
        "datasets": ["a"],
        "reactor_seeds": 3,
        "latency": (100, 300),
        "latency_reps": 3,
    },
    # full: every Buchwald dataset, 10 seeds for every strategy (about 25 min)
    "full": {
        "seeds": 10,
        "datasets": list("abcde"),
        "reactor_seeds": 10,
        "latency": (100, 300),
        "latency_reps": 10,
    },
}


def run_suite(
    name: str,
    progress: Callable[[str], None] = lambda s: None,
    only: list[str] | None = None,
    seeds: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Run a suite with one BLAS thread for every strategy.

    The matrices are small (a few hundred rows at most), where a multi-threaded BLAS
    only adds overhead; on a 2-core machine its spinning threads made scikit-optimize
    about 50 times slower (minutes per Buchwald campaign instead of seconds).  Every
    strategy, ours included, is timed under the same limit.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return _run_suite(name, progress, only, seeds)


def _run_suite(
    name: str,
    progress: Callable[[str], None],
    only: list[str] | None,
    seeds: tuple[int, int] | None,
) -> dict[str, Any]:
    """``seeds`` (first, last), inclusive: replaces the suite's seeds 0..n-1 for every row that
    has seeds (the latency rows have repetitions instead)."""
    cfg = SUITES[name]
    chosen = None if seeds is None else list(range(seeds[0], seeds[1] + 1))
    many = chosen or list(range(cfg["seeds"]))
    reactor = chosen or list(range(cfg["reactor_seeds"]))
    strategies = ["genesis", "skopt", "random"]
    t0 = time.time()
    rows: list[Row] = []

    def want(key: str) -> bool:
        return only is None or key in only

    if want("latency"):
        rows += latency_rows(cfg["latency"], cfg["latency_reps"], ["genesis", "skopt"], progress)
        # a campaign that runs for days: ours only (scikit-optimize takes minutes per step there)
        rows += latency_rows((1000,), cfg["latency_reps"], ["genesis"], progress)
    for fname in ("branin", "hartmann6"):
        if want(fname):
            rows += optimization_rows(synthetic(fname), many, strategies, progress)
    for letter in cfg["datasets"]:
        if want("buchwald") or want(f"buchwald_{letter}"):
            rows += optimization_rows(buchwald(letter), many, strategies, progress)
    if want("reactor"):
        rows += reactor_rows(reactor, strategies, progress)
    if want("pareto"):
        rows += pareto_rows(many, progress)
    if want("overhead"):
        rows += overhead_rows()
    return {
        "suite": name,
        "command": " ".join(
            [
                "genesis-lab bench",
                name,
                *(f"--only {k}" for k in (only or [])),
                *([] if seeds is None else [f"--seeds {seeds[0]}-{seeds[1]}"]),
            ]
        ),
        "seed_range": None if seeds is None else list(seeds),
        "seconds": round(time.time() - t0, 1),
        "machine": {
            "python": platform.python_version(),
            "cpus": _cpus(),
            "platform": platform.platform(),
        },
        "rows": rows,
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _loop_ms(r: Row, unit: str, whole: str) -> str:
    """An overhead row's figure: the whole loop, or the last 100 against the first 100."""
    if "ms_per_experiment_first_100" in r:
        first = _fmt(r["ms_per_experiment_first_100"])
        return f"{_fmt(r['ms_per_experiment'])} {unit} (last 100; first 100: {first})"
    return f"{_fmt(r['ms_per_experiment'])} {unit} ({whole})"


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{result['command']} ({result['seconds']} s)")
    for col in (
        "problem",
        "strategy",
        "seeds",
        "budget",
        "median best",
        "median regret",
        "reached target",
        "median exps to target",
        "ms/proposal (median, max)",
    ):
        t.add_column(col)
    for r in result["rows"]:
        reached = f"{r['successes']}/{r['seeds']}" if "successes" in r else "–"
        ms = r.get("ms_per_proposal")
        ms_txt = "–" if ms is None else f"{_fmt(ms)}, {_fmt(r.get('ms_per_proposal_max'))}"
        if "seconds_per_campaign" in r:
            ms_txt = f"{_fmt(r['seconds_per_campaign'])} s/campaign"
        if "ms_per_experiment" in r:
            ms_txt = _loop_ms(r, "ms/experiment", "loop")
        to_target = _fmt(r.get("median_experiments_to_target", math.nan))
        if "random_expected" in r and r["strategy"] == "random":
            to_target += f" (analytic {r['random_expected']:.1f})"
        t.add_row(
            r["problem"],
            r["strategy"],
            str(r["seeds"]),
            _fmt(r.get("budget", "–")),
            _fmt(r.get("median_best", math.nan), 5),
            _fmt(r.get("median_regret", math.nan)),
            reached,
            to_target,
            ms_txt,
        )
    Console(width=180).print(t)


def markdown_table(result: dict[str, Any]) -> str:
    """The rows of a run as a Markdown table (for BENCHMARKS.md)."""
    head = (
        "| problem | strategy | seeds | budget | median best | median regret | reached target "
        "| median experiments to target | ms per proposal (median / max) |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in result["rows"]:
        reached = f"{r['successes']}/{r['seeds']}" if "successes" in r else "–"
        to_target = _fmt(r.get("median_experiments_to_target", math.nan))
        if "random_expected" in r and r["strategy"] == "random":
            to_target += f" (analytic {r['random_expected']:.1f})"
        if "ms_per_experiment" in r:
            ms = _loop_ms(r, "ms per experiment", "whole loop")
        elif "seconds_per_campaign" in r:
            ms = f"{_fmt(r['seconds_per_campaign'])} s per campaign"
        elif r.get("ms_per_proposal") is not None:
            ms = f"{_fmt(r['ms_per_proposal'])} / {_fmt(r.get('ms_per_proposal_max'))}"
        else:
            ms = "–"
        lines.append(
            f"| {r['problem']} | {r['strategy']} | {r['seeds']} | {_fmt(r.get('budget', '–'))} "
            f"| {_fmt(r.get('median_best', math.nan), 5)} "
            f"| {_fmt(r.get('median_regret', math.nan))} "
            f"| {reached} | {to_target} | {ms} |"
        )
    return "\n".join(lines) + "\n"
