"""`genesis-lab bench` prints a table and writes JSON (a tiny row only: the real
suites are benchmarks, not tests)."""

import json

from genesis_lab.cli import main
from genesis_lab.ledger import to_json


def _refuse(constant: str):
    raise AssertionError(f"{constant} is not JSON")


def test_numbers_json_cannot_hold_are_written_as_null():
    # e.g. the experiments-to-target of a strategy that never reached the target
    text = to_json({"median_experiments_to_target": float("inf"), "x": [float("nan"), 1.5]}, 2)
    assert json.loads(text, parse_constant=_refuse) == {
        "median_experiments_to_target": None,
        "x": [None, 1.5],
    }


def test_bench_writes_json_and_a_table(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "quick", "--only", "overhead", "--json", out]) == 0
    table = capsys.readouterr().out
    assert "loop_overhead" in table and "ms/experiment" in table
    result = json.loads(out.read_text(), parse_constant=_refuse)  # standard JSON only
    # the recorded command reproduces the file
    assert result["command"] == "genesis-lab bench quick --only overhead"
    assert result["suite"] == "quick" and result["command"] in table
    short, long = result["rows"]
    assert short["problem"] == "loop_overhead" and short["ms_per_experiment"] > 0
    # the 1000-experiment campaign reports its last hundred against its first
    assert long["problem"] == "loop_overhead_at_1000" and long["ms_per_experiment"] > 0
    assert "first 100:" in long["note"]


def test_bench_rejects_an_unknown_suite(capsys):
    assert main(["bench", "huge"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bench_runs_the_seeds_asked_for_and_records_them(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "branin", "--seeds", "7-8", "--json", out]) == 0
    result = json.loads(out.read_text(), parse_constant=_refuse)
    assert result["command"] == "genesis-lab bench quick --only branin --seeds 7-8"
    assert result["seed_range"] == [7, 8]
    assert [(r["strategy"], r["seeds"]) for r in result["rows"]] == [
        ("genesis", 2),
        ("skopt", 2),
        ("random", 2),
    ]
    err = capsys.readouterr().err
    assert "branin: genesis seed 7 (1/2)" in err and "seed 8 (2/2)" in err


def test_bench_refuses_a_bad_seed_range(capsys):
    for bad in ("9-3", "0", "ten"):
        assert main(["bench", "--seeds", bad]) == 2
        err = capsys.readouterr().err
        assert "--seeds" in err and "Traceback" not in err
