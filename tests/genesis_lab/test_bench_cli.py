"""`genesis-lab bench` prints a table and writes JSON (a tiny row only: the real
suites are benchmarks, not tests)."""

import json

from genesis_lab.cli import main


def test_bench_writes_json_and_a_table(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "quick", "--only", "overhead", "--json", out]) == 0
    table = capsys.readouterr().out
    assert "loop_overhead" in table and "ms/experiment" in table
    result = json.loads(out.read_text())
    assert result["suite"] == "quick" and result["command"] == "genesis-lab bench quick"
    (row,) = result["rows"]
    assert row["problem"] == "loop_overhead" and row["ms_per_experiment"] > 0


def test_bench_rejects_an_unknown_suite(capsys):
    assert main(["bench", "huge"]) == 2
    assert "invalid choice" in capsys.readouterr().err
