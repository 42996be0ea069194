"""Engine check of the fast GP back-end through the agent (as ``run_strategy("genesis", ...)``).

* ``buchwald``: Olympus Buchwald-Hartwig a..e (4 categoricals, 792 combinations): experiments until
  a top-1% yield, per seed and median, and ms per model proposal.  A run stops at its first success
  (the proposals are deterministic, so the count equals that of a full ``run_strategy`` trace).
* ``synthetic``: Hartmann-6 (40 evaluations, 4 Sobol points) regret and Branin (30 evaluations)
  within 0.01, per seed.
* ``latency``: ms per proposal (tell one, ask one) at 100 and 300 observations in 6-D.

``--descriptors FILE --describe PARAM:MODE`` encodes the named categoricals by numeric
descriptors (e.g. the RDKit ones written by ``rdkit_descriptors.py``) instead of one-hot.

``--groups`` makes the back-end pass ``groups`` (one list of one-hot column indices per categorical
parameter without descriptors) to GPBO, exactly as GPBackend should; ``--opt key=value`` passes any
other GPBO option (values parsed as Python literals).  Both work by wrapping ``GPBO`` (no change to
the back-end); without them the current back-end is measured as is.

Usage: PYTHONPATH=. python benchmarks/engine_check.py buchwald [--letters abcde] [--seeds 0-9]
       [--groups] [--opt k=v ...] [--jobs 2]
       [--descriptors buchwald_descriptors.json --describe additive:raw ligand:pca2 ...]
       PYTHONPATH=. python benchmarks/engine_check.py synthetic [--seeds 0-9] [--problems ...]
       PYTHONPATH=. python benchmarks/engine_check.py latency
"""

from __future__ import annotations

import argparse
import ast
import math
import shlex
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

warnings.filterwarnings("ignore")

_EXTRA: dict[str, Any] = {}


def groups_from_space(space) -> list[list[int]]:
    """One group per categorical parameter encoded one-hot (no descriptors): its columns."""
    from genesis_lab.spec import CategoricalParameter

    out = []
    for p, cols in zip(space.parameters, space._columns, strict=True):
        if isinstance(p, CategoricalParameter) and not p.descriptors:
            out.append(list(range(cols.start, cols.stop)))
    return out


def _install(extra: dict[str, Any], groups: bool) -> None:
    """Wrap gpbo.GPBO so the back-end constructs it with extra options (benchmark only)."""
    import genesis_lab.agent.backends as be
    import genesis_lab.agent.gpbo as g

    base = g.GPBO
    if getattr(base, "_engine_check_wrapped", False):
        base = base.__bases__[0]
    if not extra and not groups:
        g.GPBO = base
        return

    class Wrapped(base):  # type: ignore[misc, valid-type]
        _engine_check_wrapped = True

        def __init__(self, dim, **kw):
            super().__init__(dim, **{**kw, **_EXTRA})

    g.GPBO = Wrapped
    _EXTRA.clear()
    _EXTRA.update(extra)
    if groups:
        orig = be.GPBackend.__init__
        if not getattr(orig, "_engine_check_wrapped", False):

            def init(self, space, *args, **kwargs):
                orig(self, space, *args, **kwargs)
                gr = groups_from_space(space)
                if gr:
                    _EXTRA["groups"] = gr

            init._engine_check_wrapped = True  # type: ignore[attr-defined]
            be.GPBackend.__init__ = init


def run_agent_until(problem, seed: int, stop_at_success: bool = True):
    """Same loop as genesis_lab.bench.strategies.run_agent, optionally stopping at success."""
    from genesis_lab.agent import Agent, Observation
    from genesis_lab.bench.strategies import _campaign, _score

    agent = Agent(_campaign(problem, seed, "GP"))
    scores, seconds, model_s = [], [], []
    for _ in range(problem.budget):
        t0 = time.perf_counter()
        (prop,) = agent.suggest(1)
        dt = time.perf_counter() - t0
        seconds.append(dt)
        if prop.origin == "model":
            model_s.append(dt)
        value = _score(problem, prop.parameters)
        feasible = value is not None
        agent.ingest([Observation(prop.parameters, {"score": value} if feasible else {}, feasible)])
        scores.append(value if feasible else float("inf"))
        if (
            stop_at_success
            and problem.success is not None
            and scores[-1] <= problem.success + 1e-12
        ):
            break
    return scores, model_s


def _job(args: tuple) -> tuple:
    kind, name, seed, extra, groups, full, initial_points, descriptors = args
    from threadpoolctl import threadpool_limits

    from genesis_lab.bench import problems as pb

    _install(extra, groups)
    with threadpool_limits(1, user_api="blas"):
        if kind == "buchwald":
            problem = pb.buchwald(name)
            if descriptors:
                attach_descriptors(problem, *descriptors)
            if initial_points is not None:
                problem.initial_points = initial_points
            scores, ms = run_agent_until(problem, seed, stop_at_success=not full)
            return (name, seed, pb.first_success(scores, problem.success), ms)
        problem = pb.synthetic(name)
        if initial_points is not None:
            problem.initial_points = initial_points
        scores, ms = run_agent_until(problem, seed, stop_at_success=False)
        return (name, seed, min(scores) - problem.optimum, ms)


def attach_descriptors(problem, path: str, modes: dict[str, str]) -> None:
    """Give categorical parameters numeric descriptors from a JSON file {choice: {name: value}}
    (written by ``rdkit_descriptors.py``).  ``modes``: parameter -> "raw" (every descriptor that
    varies, standardized) or "pcaK" (the first K principal components of those)."""
    import json

    table = json.loads(Path(path).read_text())
    for q in problem.parameters:
        mode = modes.get(q["name"])
        if mode is None:
            continue
        names = sorted(table[q["choices"][0]])
        M = np.array([[table[c][n] for n in names] for c in q["choices"]], float)
        M = M[:, M.std(0) > 1e-9]
        M = (M - M.mean(0)) / M.std(0)
        if mode.startswith("pca"):
            U, S, _ = np.linalg.svd(M, full_matrices=False)
            k = int(mode[3:])
            M = U[:, :k] * S[:k]
        elif mode != "raw":
            raise SystemExit(f"--describe: unknown mode {mode!r}; use raw or pcaK")
        q["descriptors"] = {
            c: [float(v) for v in row] for c, row in zip(q["choices"], M, strict=True)
        }


def _desc(args) -> tuple[str, dict[str, str]] | None:
    if not args.describe:
        return None
    if not args.descriptors:
        raise SystemExit("--describe needs --descriptors FILE")
    return args.descriptors, dict(item.split(":", 1) for item in args.describe)


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def _parse_opts(items: list[str]) -> dict[str, Any]:
    out = {}
    for it in items:
        k, v = it.split("=", 1)
        try:
            out[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            out[k] = v
    return out


def _map(jobs: list[tuple], n_jobs: int):
    if n_jobs <= 1:
        return [_job(j) for j in jobs]
    with ProcessPoolExecutor(n_jobs) as ex:
        return list(ex.map(_job, jobs))


def bench_buchwald(args, extra) -> None:
    from genesis_lab.bench import problems as pb

    seeds = _seeds(args.seeds)
    jobs = [
        ("buchwald", L, s, extra, args.groups, args.full, args.initial_points, _desc(args))
        for L in args.letters
        for s in seeds
    ]
    t0 = time.perf_counter()
    res = _map(jobs, args.jobs)
    meds = []
    all_ms: list[float] = []
    all_counts: list[float] = []
    for L in args.letters:
        rows = [r for r in res if r[0] == L]
        counts = [r[2] for r in rows]
        ms = [1e3 * t for r in rows for t in r[3]]
        all_ms += ms
        med = float(np.median(counts))
        meds.append(med)
        all_counts += counts
        rnd = pb.buchwald(L).extra["random_expected"]
        c = " ".join("inf" if math.isinf(v) else str(int(v)) for v in counts)
        print(
            f"buchwald_{L}: median {med:5.1f} (random {rnd:.1f})  per seed [{c}]  "
            f"ms/proposal median {np.median(ms):.0f} mean {np.mean(ms):.0f} max {np.max(ms):.0f}"
        )
    capped = np.minimum(np.array(all_counts), 61.0)  # failures (inf) count as budget + 1
    print(
        f"worst median over datasets {max(meds):.1f}; mean of medians {np.mean(meds):.1f}; "
        f"geometric mean of all runs {np.exp(np.mean(np.log(capped))):.1f}; <= 22: "
        f"{int(np.sum(capped <= 22))}/{len(capped)}; all proposals: median "
        f"{np.median(all_ms):.0f} ms; {time.perf_counter() - t0:.0f} s"
    )


def bench_synthetic(args, extra) -> None:
    seeds = _seeds(args.seeds)
    t0 = time.perf_counter()
    for name in args.problems:
        jobs = [
            ("synthetic", name, s, extra, False, True, args.initial_points, None) for s in seeds
        ]
        res = _map(jobs, args.jobs)
        reg = np.array([r[2] for r in res])
        ms = [1e3 * t for r in res for t in r[3]]
        thr = 0.05 if name == "hartmann6" else 0.01
        print(
            f"{name}: median regret {np.median(reg):.4f}  <= {thr}: {int(np.sum(reg <= thr))}/"
            f"{len(reg)}  ms/proposal median {np.median(ms):.0f}  per seed "
            f"[{' '.join(f'{r:.3f}' for r in reg)}]"
        )
    print(f"{time.perf_counter() - t0:.0f} s")


def bench_latency(args, extra) -> None:
    from threadpoolctl import threadpool_limits

    from genesis_lab.agent.gpbo import GPBO
    from genesis_lab.bench.functions import hartmann6

    with threadpool_limits(1, user_api="blas"):
        for n_obs in (100, 300):
            rng = np.random.default_rng(0)
            X = rng.random((n_obs - 1, 6))
            bo = GPBO(6, **extra)
            bo.tell(X, hartmann6(X))
            bo.ask(1, rng=rng)
            times = []
            for _ in range(15):
                x = rng.random((1, 6))
                t0 = time.perf_counter()
                bo.tell(x, hartmann6(x))
                bo.ask(1, rng=rng)
                times.append(time.perf_counter() - t0)
            print(f"6-D latency @{n_obs}: {1e3 * np.median(times):.1f} ms/proposal")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["buchwald", "synthetic", "latency"])
    ap.add_argument("--letters", default="abcde")
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--problems", nargs="+", default=["hartmann6", "branin"])
    ap.add_argument("--groups", action="store_true", help="pass one-hot groups to GPBO")
    ap.add_argument("--opt", nargs="*", default=[], help="extra GPBO options key=value")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--descriptors", help="JSON of descriptors per choice (from rdkit_descriptors.py)"
    )
    ap.add_argument(
        "--describe",
        nargs="*",
        default=[],
        help="buchwald: PARAM:raw or PARAM:pcaK, the parameters encoded by descriptors",
    )
    ap.add_argument(
        "--initial-points",
        type=int,
        default=None,
        help="random/Sobol points before the model (default: the problem's own)",
    )
    ap.add_argument(
        "--full",
        action="store_true",
        help="run the whole budget (for timing) instead of stopping at success",
    )
    args = ap.parse_args(argv)
    extra = _parse_opts(args.opt)
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    {"buchwald": bench_buchwald, "synthetic": bench_synthetic, "latency": bench_latency}[args.what](
        args, extra
    )


if __name__ == "__main__":
    main()
