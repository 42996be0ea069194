"""Bad campaign files, lab files and arguments: exit 2, a message naming the
field and the fix, no traceback, and nothing already recorded is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import edit_yaml, run_cli


def _campaign(examples: Path) -> Path:
    return examples / "reactor_campaign.yaml"


def _lab(examples: Path) -> Path:
    return examples / "sim_lab.yaml"


CAMPAIGN_CASES = {
    "unknown top-level key": (
        lambda d: d.update(budjet={"experiments": 3}),
        ["budjet", "unknown key", "allowed keys"],
    ),
    "unknown key in a parameter": (
        lambda d: d["parameters"][0].update(bound=[1, 2]),
        ["parameters[0]", "bound", "unknown key"],
    ),
    "bound outside the device limits": (
        lambda d: d["parameters"][1].update(bounds=[30, 400]),
        ["parameters[1]", "bounds", "hard limits", "reactor.temperature", "narrow"],
    ),
    "unknown device": (
        lambda d: d["parameters"][0].update(device="reacter.residence_time"),
        ["parameters[0]", "unknown device 'reacter'", "reactor"],
    ),
    "unknown component": (
        lambda d: d["parameters"][0].update(device="reactor.flow"),
        ["parameters[0]", "reactor.flow", "settable"],
    ),
    "categorical with no choices": (
        lambda d: d["parameters"].append(
            {"name": "solvent", "type": "categorical", "device": "reactor.x", "choices": []}
        ),
        ["parameters[4]", "choices", "at least 1"],
    ),
    "non-numeric bound": (
        lambda d: d["parameters"][2].update(bounds=["one", 5]),
        ["parameters[2]", "bounds", "number", "one"],
    ),
    "missing objectives": (lambda d: d.pop("objectives"), ["objectives", "missing", "add it"]),
    "empty objectives": (lambda d: d.update(objectives=[]), ["objectives", "at least 1"]),
    "objective on an unknown reading": (
        lambda d: d["objectives"][0].update(expression="reactor.yeild_pct"),
        ["objectives[yield]", "unknown reading", "reactor.yield_pct"],
    ),
    "objective with a disallowed expression": (
        lambda d: d["objectives"][0].update(expression="__import__('os').system('true')"),
        ["objectives[yield]", "not allowed"],
    ),
    "unknown optimizer model": (
        lambda d: d["optimizer"].update(model="GPX"),
        ["optimizer.model", "GP", "random"],
    ),
    "unknown parameter type": (
        lambda d: d["parameters"][0].update(type="real"),
        ["parameters[0]", "real", "float"],
    ),
    "reversed bounds": (
        lambda d: d["parameters"][0].update(bounds=[30, 0.5]),
        ["parameters[0]", "low < high"],
    ),
    "zero budget": (lambda d: d["budget"].update(experiments=0), ["budget.experiments"]),
    "bad wall time": (lambda d: d["budget"].update(wall_time="soon"), ["budget.wall_time", "2h"]),
    "unknown measured device": (lambda d: d.update(measure=["spectrometer"]), ["measure[0]"]),
    "missing lab file": (lambda d: d.update(lab="nowhere.yaml"), ["lab", "nowhere.yaml"]),
    "duplicate parameter names": (
        lambda d: d["parameters"][1].update(name="residence_time"),
        ["parameters", "unique", "residence_time"],
    ),
    "a target that is not a number": (
        lambda d: d.update(stop={"target": float("nan")}),
        ["stop.target", "finite number"],
    ),
    "linear constraints that cannot hold": (
        lambda d: d.update(
            constraints=[
                {"kind": "linear", "terms": {"temperature": 1, "residence_time": 1}, "min": 500}
            ]
        ),
        ["constraints", "cannot all hold", "widen the bounds"],
    ),
    "linear constraints that leave one point": (
        lambda d: d.update(
            constraints=[
                {"kind": "linear", "terms": {p["name"]: 1}, "equals": p["bounds"][0]}
                for p in d["parameters"]
            ]
        ),
        ["constraints", "single point", "nothing to optimize"],
    ),
    "a linear constraint with min above max": (
        lambda d: d.update(
            constraints=[{"kind": "linear", "terms": {"temperature": 1}, "min": 90, "max": 50}]
        ),
        ["constraints[0]", "above max", "swap"],
    ),
    "an outcome constraint no experiment can meet": (
        lambda d: d.update(
            constraints=[
                {"kind": "outcome", "expression": "reactor.yield_pct", "min": 10, "max": 5}
            ]
        ),
        ["constraints[0]", "every experiment would be infeasible"],
    ),
    "an outcome constraint on an unknown reading": (
        lambda d: d.update(
            constraints=[{"kind": "outcome", "expression": "reactor.yeild_pct", "min": 5}]
        ),
        ["constraints[0].expression", "unknown reading 'reactor.yeild_pct'"],
    ),
    "a reference point on some objectives only": (
        lambda d: (
            d["objectives"].extend(
                [{"name": "sty", "expression": "reactor.space_time_yield", "goal": "maximize"}]
            )
            or d["objectives"][0].update(reference=0)
        ),
        ["objectives", "every objective or for none", "sty"],
    ),
    "an empty objective function": (
        lambda d: d["objectives"][0].update(expression=None, function=""),
        ["objectives[0] (yield).function", "at least 1 character"],
    ),
    "choices with identical descriptors": (
        lambda d: (
            d["parameters"][1].update(
                type="categorical",
                bounds=None,
                choices=[40, 80],
                descriptors={40: [1.0], 80: [1.0]},
            )
            or d["parameters"][1].pop("bounds")
        ),
        ["parameters[1] (temperature)", "'40' and '80' have the same descriptors"],
    ),
    "an initial design too large to make": (
        lambda d: d["optimizer"].update(initial_points=10**11),
        ["optimizer.initial_points", "100000"],
    ),
    "an exploration setting far out of range": (
        lambda d: d["optimizer"].update(exploration=1e308),
        ["optimizer.exploration", "100"],
    ),
    "an objective that divides by a constant zero": (
        lambda d: d["objectives"][0].update(expression="reactor.yield_pct / (1 - 1)"),
        ["objectives[yield].expression", "'reactor.yield_pct / (1 - 1)' divides by zero"],
    ),
    "an outcome constraint with a part that cannot be computed": (
        lambda d: d.update(
            constraints=[
                {"kind": "outcome", "expression": "reactor.yield_pct + log(-2)", "max": 90}
            ]
        ),
        ["constraints[0].expression", "'log(-2)' cannot be computed (math domain error)"],
    ),
    "an objective that uses no reading": (
        lambda d: d["objectives"][0].update(expression="2 * pi"),
        ["objectives[yield].expression", "uses no reading", "e.g. reactor."],
    ),
    "a function given the wrong number of arguments": (
        lambda d: d["objectives"][0].update(expression="max(reactor.yield_pct)"),
        ["'max(reactor.yield_pct)': max takes 2 or more arguments, not 1"],
    ),
    "a boolean where a number belongs (exploration: yes)": (
        lambda d: d["optimizer"].update(exploration=True),
        ["optimizer.exploration", "a boolean", "write a number"],
    ),
    "yes/no choices, which YAML reads as booleans": (
        lambda d: d["parameters"].append(
            {
                "name": "stir",
                "type": "categorical",
                "device": "reactor.stir",
                "choices": [True, False],
            }
        ),
        ["parameters[4] (stir).choices[0]", "a boolean", "quote the word"],
    ),
}


@pytest.mark.parametrize("case", sorted(CAMPAIGN_CASES))
def test_bad_campaign_file(case, examples, tmp_path, capsys):
    change, needles = CAMPAIGN_CASES[case]
    path = edit_yaml(_campaign(examples), change)
    code, out, err = run_cli(capsys, "run", path, "--out", tmp_path / "out", "--time-scale", 0)
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    assert str(path) in err
    for needle in needles:
        assert needle in err, f"{needle!r} missing from:\n{err}"
    assert not (tmp_path / "out").exists(), "nothing may be written for a bad file"


LAB_CASES = {
    "forbidden regions that together cover a parameter's bounds": (
        lambda d: d["devices"]["reactor"]["limits"].update(
            temperature={"min": 30, "max": 140, "forbidden": [[85, 140], [30, 90]]}
        ),
        ["parameters[1] (temperature).bounds", "[30, 140]", "every proposal would be refused"],
    ),
    "missing limit for a settable": (
        lambda d: d["devices"]["reactor"]["limits"].pop("equivalents"),
        ["devices.reactor.limits", "equivalents", "add limits.equivalents: [min, max]"],
    ),
    "limit on a component that does not exist": (
        lambda d: d["devices"]["reactor"]["limits"].update(flow=[0, 1]),
        ["devices.reactor.limits.flow", "no settable"],
    ),
    "unimportable class": (
        lambda d: d["devices"]["reactor"].update({"class": "devices.sim.FluxCapacitor"}),
        ["devices.reactor.class", "cannot import", "FluxCapacitor"],
    ),
    "min above max": (
        lambda d: d["devices"]["reactor"]["limits"].update(temperature={"min": 140, "max": 30}),
        ["devices.reactor.limits.temperature", "must be below"],
    ),
    "limit wider than the instrument": (
        lambda d: d["devices"]["reactor"]["limits"].update(temperature=[-50, 900]),
        ["devices.reactor.limits.temperature", "beyond what the instrument can do"],
    ),
    "unknown device key": (
        lambda d: d["devices"]["reactor"].update(limit={}),
        ["devices.reactor.limit", "unknown key", "limits"],
    ),
    "bad kwargs": (
        lambda d: d["devices"]["reactor"]["kwargs"].update(colour="red"),
        ["devices.reactor.kwargs", "colour"],
    ),
    "a kwarg of the wrong type": (
        lambda d: d["devices"]["reactor"]["kwargs"].update(noise="high", seed=1.5),
        [
            "devices.reactor.kwargs.noise: FlowReactor expects float, not 'high'",
            "devices.reactor.kwargs.seed: FlowReactor expects int, not 1.5",
        ],
    ),
    "no devices": (lambda d: d.update(devices={}), ["devices", "at least 1"]),
    "negative time scale": (lambda d: d.update(time_scale=-1), ["time_scale"]),
    "a limit on a reading": (
        lambda d: d["devices"]["reactor"]["limits"].update(yield_pct=[0, 100]),
        ["devices.reactor.limits.yield_pct", "not among the settables", "residence_time"],
    ),
    "a limit on an internal attribute that happens to have set()": (
        lambda d: d["devices"]["reactor"]["limits"].update(simulator=[1, 2]),
        ["devices.reactor.limits.simulator", "not among the settables"],
    ),
    "choices a numeric instrument cannot take": (
        lambda d: d["devices"]["reactor"]["limits"].update(
            temperature={"choices": [40, 500, "hot"]}
        ),
        ["devices.reactor.limits.temperature", "choices [500, 'hot']", "[30, 140]"],
    ),
    "a boolean limit": (
        lambda d: d["devices"]["reactor"]["limits"].update(temperature={"min": 30, "max": True}),
        ["devices.reactor.limits.temperature.max", "a boolean"],
    ),
}


@pytest.mark.parametrize("case", sorted(LAB_CASES))
def test_bad_lab_file(case, examples, tmp_path, capsys):
    change, needles = LAB_CASES[case]
    lab = edit_yaml(_lab(examples), change)
    code, out, err = run_cli(capsys, "run", _campaign(examples), "--out", tmp_path / "out")
    assert code == 2, err
    assert "Traceback" not in err
    assert str(lab) in err
    for needle in needles:
        assert needle in err, f"{needle!r} missing from:\n{err}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content, needle",
    [
        ("", "is empty"),
        ("name: [unclosed\n", "not valid YAML at line"),
        ("- a\n- b\n", "mapping"),
        ("\x00\xff", "not valid YAML"),
    ],
)
def test_unreadable_campaign_and_lab_files(content, needle, examples, tmp_path, capsys):
    for target in (_campaign(examples), _lab(examples)):
        saved = target.read_bytes()
        target.write_text(content)
        code, _, err = run_cli(capsys, "run", _campaign(examples), "--out", tmp_path / "o")
        assert code == 2 and needle in err and "Traceback" not in err, err
        assert str(target) in err
        target.write_bytes(saved)


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["run"], "the following arguments are required: campaign"),
        (["run", "c.yaml", "--max-experiments", "0"], "must be 1 or more"),
        (["run", "c.yaml", "--max-experiments", "lots"], "not a whole number"),
        (["run", "c.yaml", "--time-scale", "-2"], "must be a finite number, 0 or more"),
        (["resume", "d", "--time-scale", "inf"], "--time-scale: inf must be a finite number"),
        (["fly"], "invalid choice"),
        (["run", "does/not/exist.yaml"], "does not exist"),
        (["status", "no/such/dir"], "does not exist"),
        (["show", "no/such/dir", "99999999999999999999999"], "is too large"),
        (["bench", "quick", "--only", "buchwald_b"], "genesis-lab bench full --only buchwald_b"),
        (["bench", "quick", "--json", ""], "--json: give a file name"),
        (["bench", "quick", "--json", "-"], "--json -: give a file name"),
        (["bench", "quick", "--markdown", "/proc/table.md"], "cannot be written"),
    ],
)
def test_bad_arguments(argv, needle, capsys):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and needle in err and "Traceback" not in err, err


def test_existing_campaign_is_never_overwritten(examples, tmp_path, capsys):
    out = tmp_path / "camp"
    code, _, err = run_cli(
        capsys,
        "run",
        _campaign(examples),
        "--out",
        out,
        "--max-experiments",
        2,
        "--time-scale",
        0,
        "--quiet",
    )
    assert code == 0, err
    before = (out / "ledger.sqlite").read_bytes()
    code, _, err = run_cli(capsys, "run", _campaign(examples), "--out", out, "--time-scale", 0)
    assert code == 2 and "already holds a campaign" in err and "resume" in err
    assert (out / "ledger.sqlite").read_bytes() == before


def test_foreign_and_corrupt_directories(tmp_path, capsys):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    for cmd in ("status", "export", "resume"):
        extra = ["--csv", str(tmp_path / "x.csv")] if cmd == "export" else []
        code, _, err = run_cli(capsys, cmd, foreign, *extra)
        assert code == 2 and "not a Genesis Lab campaign" in err, err
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "ledger.sqlite").write_bytes(b"this is not sqlite" * 100)
    saved = (corrupt / "ledger.sqlite").read_bytes()
    for cmd in ("status", "resume"):
        code, _, err = run_cli(capsys, cmd, corrupt)
        assert code == 2 and "corrupt" in err and "Traceback" not in err, err
    assert (corrupt / "ledger.sqlite").read_bytes() == saved
    # a store in a non-empty foreign folder is refused too
    code, _, err = run_cli(
        capsys,
        "run",
        Path(__file__).parents[2] / "examples" / "reactor_campaign.yaml",
        "--out",
        foreign,
        "--time-scale",
        0,
    )
    assert code == 2 and "not an empty directory" in err
    assert sorted(p.name for p in foreign.iterdir()) == ["cat.jpg"]


def test_truncated_store_is_refused_and_left_untouched(examples, tmp_path, capsys):
    out = tmp_path / "camp"
    code, _, err = run_cli(
        capsys,
        "run",
        _campaign(examples),
        "--out",
        out,
        "--max-experiments",
        3,
        "--time-scale",
        0,
        "--quiet",
    )
    assert code == 0, err
    store = out / "ledger.sqlite"
    whole = store.read_bytes()
    store.write_bytes(whole[: len(whole) // 2])  # a copy cut short, a disk that filled up
    cut = store.read_bytes()
    for argv in (
        ["status", out],
        ["resume", out, "--time-scale", 0],
        ["show", out, 1],
        ["export", out, "--csv", tmp_path / "x.csv"],
    ):
        code, _, err = run_cli(capsys, *argv)
        assert code == 2, (argv, err)
        assert "Traceback" not in err and ("corrupt" in err or "integrity" in err), err
    assert store.read_bytes() == cut


def test_bench_refuses_one_file_for_both_json_and_markdown(tmp_path, capsys):
    same = tmp_path / "bench.out"
    code, _, err = run_cli(capsys, "bench", "--json", same, "--markdown", same)
    assert code == 2 and "give them different files" in err and "Traceback" not in err
    assert not same.exists()


def test_bench_output_paths_are_named_precisely(tmp_path, capsys):
    afile = tmp_path / "results.json"
    afile.write_text("{}")
    code, _, err = run_cli(capsys, "bench", "--json", afile / "x.json")
    assert code == 2 and f"{afile} is a file, not a directory" in err
    code, _, err = run_cli(capsys, "bench", "--json", tmp_path)
    assert code == 2 and f"is a directory; give a file name, e.g. {tmp_path / 'out.json'}" in err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("10 sec", 10),
        ("30 mins", 1800),
        ("1 minute", 60),
        ("2h", 7200),
        ("2 hours", 7200),
        ("1h30m", 5400),
        ("1 h 30 min", 5400),
        ("2 days", 172800),
        ("1.5 d", 129600),
    ],
)
def test_a_wall_time_reads_the_usual_ways_of_writing_a_duration(text, seconds):
    from genesis_lab.spec import parse_duration

    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "1h30", "2 weeks", "h", ""])
def test_a_duration_that_is_not_one_is_named(text):
    from genesis_lab.spec import parse_duration

    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_a_lab_file_given_as_the_campaign_and_the_reverse_are_named(examples, capsys):
    code, _, err = run_cli(capsys, "check", examples / "sim_lab.yaml")
    assert code == 2 and "looks like a lab file" in err and "Traceback" not in err, err
    assert err.count("unknown key") == 0
    code, _, err = run_cli(capsys, "devices", examples / "reactor_campaign.yaml")
    assert code == 2 and "looks like a campaign file" in err and "sim_lab.yaml" in err, err
