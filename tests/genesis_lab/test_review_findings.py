"""What a user-level review of the agent's features found, each now refused
cleanly or handled: manual experiments that break the campaign's rules,
confirmation replicates in a Pareto set, unwritable output paths, options the
fast engine does not have, and stores holding values the agent cannot learn."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from genesis_lab.agent import Agent, Observation
from genesis_lab.ledger import Ledger
from genesis_lab.pareto import non_dominated
from genesis_lab.spec import CampaignSpec
from tests.conftest import edit_yaml, run_cli


def _store_digest(directory: Path) -> str:
    with Ledger.open(directory) as ledger:
        rows = [e.as_dict() for e in ledger.experiments()]
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def _short_run(capsys, campaign: Path, out: Path, n: int) -> str:
    """Run ``n`` instant experiments; returns what the run wrote to stderr."""
    code, _, err = run_cli(
        capsys, "run", campaign, "--out", out, "--max-experiments", n, "--time-scale", 0, "--quiet"
    )
    assert code == 0, err
    return err


REACTOR = [
    "--param",
    "residence_time=10",
    "--param",
    "temperature=85",
    "--param",
    "equivalents=3",
    "--param",
    "concentration=0.7",
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_manual_result_must_be_finite_and_the_campaign_stays_resumable(
    value, examples, tmp_path, capsys
):
    out = tmp_path / "r"
    _short_run(capsys, examples / "reactor_campaign.yaml", out, 4)
    before = _store_digest(out)
    code, _, err = run_cli(capsys, "suggest", out, *REACTOR, "--result", f"yield={value}")
    assert code == 2 and "finite number" in err and "Traceback" not in err, err
    assert _store_digest(out) == before  # nothing recorded
    code, _, err = run_cli(capsys, "resume", out, "--time-scale", 0, "--quiet")
    assert code == 0, err


def test_a_manual_point_must_satisfy_the_linear_constraints(examples, tmp_path, capsys):
    out = tmp_path / "e"
    _short_run(capsys, examples / "electrolyte_campaign.yaml", out, 3)
    before = _store_digest(out)
    # the fractions sum to 1.5
    code, _, err = run_cli(
        capsys,
        "suggest",
        out,
        *("--param", "salt=1", "--param", "frac_ec=0.5"),
        *("--param", "frac_emc=0.5", "--param", "frac_dmc=0.5"),
    )
    assert code == 2 and "linear constraints" in err and "= 1.5" in err, err
    assert "requires 1" in err and "Traceback" not in err
    # sums to 1 but breaks frac_ec >= 0.1
    code, _, err = run_cli(
        capsys,
        "suggest",
        out,
        *("--param", "salt=1", "--param", "frac_ec=0.05"),
        *("--param", "frac_emc=0.5", "--param", "frac_dmc=0.45"),
    )
    assert code == 2 and "below the campaign's min 0.1" in err, err
    assert _store_digest(out) == before
    # a point that keeps every rule is accepted
    code, stdout, err = run_cli(
        capsys,
        "suggest",
        out,
        *("--param", "salt=1", "--param", "frac_ec=0.3"),
        *("--param", "frac_emc=0.3", "--param", "frac_dmc=0.4"),
    )
    assert code == 0 and "queued" in stdout, err


def test_an_integer_parameter_refuses_a_fraction(examples, tmp_path, capsys):
    out = tmp_path / "f"
    _short_run(capsys, examples / "thin_film_campaign.yaml", out, 2)
    args = ["--param", "power=200", "--param", "pressure=5", "--param", "temperature=100"]
    code, _, err = run_cli(capsys, "suggest", out, *args, "--param", "time=10.5")
    assert code == 2 and "time: 10.5 is not a whole number" in err, err
    code, _, err = run_cli(capsys, "suggest", out, *args, "--param", "time=10")
    assert code == 0, err


def test_a_result_without_a_value_shows_an_objective_in_its_example(examples, tmp_path, capsys):
    out = tmp_path / "r"
    _short_run(capsys, examples / "reactor_campaign.yaml", out, 2)
    code, _, err = run_cli(capsys, "suggest", out, *REACTOR, "--result", "yield")
    assert code == 2 and "--result yield=" in err, err


def test_confirmation_replicates_stay_out_of_the_pareto_set(examples, tmp_path, capsys):
    camp = edit_yaml(
        examples / "reactor_pareto.yaml",
        lambda d: d.update(budget={"experiments": 10}, confirm={"replicates": 3}),
    )
    out = tmp_path / "pc"
    code, _, err = run_cli(capsys, "run", camp, "--out", out, "--time-scale", 0, "--quiet")
    assert code == 0, err
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    status = json.loads(stdout)
    with Ledger.open(out) as ledger:
        exps = ledger.experiments()
    replicates = {e.id for e in exps if e.origin == "confirm"}
    assert len(replicates) == 3
    pareto_ids = {p["experiment"] for p in status["pareto"]}
    assert pareto_ids and not pareto_ids & replicates
    trace = status["hypervolume_trace"]
    assert [t["experiment"] for t in trace] == [e.id for e in exps if e.origin != "confirm"]
    assert status["hypervolume"] == trace[-1]["hypervolume"]
    # still non-dominated among the budgeted experiments
    sign = [-1.0 if o["goal"] == "maximize" else 1.0 for o in status["objectives"]]
    names = [o["name"] for o in status["objectives"]]
    pts = [
        [s * e.objectives[n] for s, n in zip(sign, names, strict=True)]
        for e in exps
        if e.id in pareto_ids
    ]
    assert all(non_dominated(np.array(pts)))


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["bench", "quick", "--only", "brannin"], "invalid choice: 'brannin'"),
        (["bench", "quick", "--only", "Branin"], "invalid choice: 'Branin'"),
        (["bench", "quick", "--json", "/nonexistent/dir/x.json"], "does not exist"),
        (["bench", "quick", "--markdown", "/nonexistent/dir/x.md"], "does not exist"),
    ],
)
def test_bench_refuses_bad_arguments_before_running(argv, needle, capsys):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and needle in err and "Traceback" not in err, err
    assert "[bench]" not in err  # refused before any benchmark started


def test_export_to_an_unwritable_path_is_a_clear_error(examples, tmp_path, capsys):
    out = tmp_path / "r"
    _short_run(capsys, examples / "reactor_campaign.yaml", out, 2)
    code, _, err = run_cli(capsys, "export", out, "--csv", tmp_path / "no" / "such" / "x.csv")
    assert code == 2 and "does not exist" in err and "Traceback" not in err, err
    code, _, err = run_cli(capsys, "export", out, "--csv", tmp_path)
    assert code == 2 and "is a directory" in err, err


def test_export_never_overwrites_the_campaign_or_a_campaign_file(examples, tmp_path, capsys):
    out = tmp_path / "r"
    _short_run(capsys, examples / "reactor_campaign.yaml", out, 2)
    before = _store_digest(out)
    campaign_text = (examples / "reactor_campaign.yaml").read_text()
    for target in (
        out / "ledger.sqlite",
        out / "ledger.sqlite-wal",
        out / "campaign.yaml",
        out / "lab.yaml",
        examples / "reactor_campaign.yaml",
    ):
        code, _, err = run_cli(capsys, "export", out, "--csv", target)
        assert code == 2 and "Traceback" not in err, err
        assert "destroy the campaign" in err or "overwrite" in err, err
    assert _store_digest(out) == before
    assert (examples / "reactor_campaign.yaml").read_text() == campaign_text
    # a new file inside the campaign folder is fine
    code, _, err = run_cli(capsys, "export", out, "--csv", out / "experiments.csv")
    assert code == 0, err


def test_gp_hedge_needs_the_scikit_optimize_engine(examples, tmp_path, capsys):
    camp = edit_yaml(
        examples / "reactor_campaign.yaml",
        lambda d: d["optimizer"].update(acquisition="gp_hedge"),
    )
    code, _, err = run_cli(capsys, "run", camp, "--out", tmp_path / "h", "--time-scale", 0)
    assert code == 2 and "gp_hedge" in err and "engine: skopt" in err, err
    assert not (tmp_path / "h").exists()


def test_the_agent_learns_a_missing_or_non_finite_value_as_infeasible(examples):
    import yaml

    spec = CampaignSpec.model_validate(
        {**yaml.safe_load((examples / "reactor_campaign.yaml").read_text()), "seed": 1}
    )
    agent = Agent(spec)
    p = {"residence_time": 10.0, "temperature": 85.0, "equivalents": 3.0, "concentration": 0.7}
    q = {**p, "temperature": 90.0}
    agent.ingest(
        [
            Observation(p, {"yield": 50.0}),
            Observation(q, {"yield": None}),  # e.g. a store written by an older version
            Observation({**p, "temperature": 95.0}, {"yield": float("nan")}),
        ]
    )
    X, y = agent.training_data()
    assert len(X) == 3 and y[0] == -50.0 and y[1] > y[0] and y[2] > y[0]  # penalized, not lost
    assert len(agent.suggest(1)) == 1


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("optimizer", None, "optimizer: expected a mapping of keys, got nothing (null)"),
        ("optimizer", 3, "or delete the line to use the defaults"),
        ("budget", 30, "budget: expected a mapping of keys, got a number (30)"),
        ("measure", "reactor", "measure: expected a list, got a string ('reactor')"),
    ],
)
def test_a_section_of_the_wrong_shape_names_the_shape_and_the_fix(
    key, value, expected, examples, tmp_path, capsys
):
    campaign = edit_yaml(examples / "reactor_campaign.yaml", lambda d: d.update({key: value}))
    out = tmp_path / "r"
    code, _, err = run_cli(capsys, "run", campaign, "--out", out, "--quiet")
    assert code == 2 and expected in err and "Traceback" not in err, err
    assert not out.exists()
    if key == "budget":  # budget has no default: deleting it is not offered
        assert "delete the line" not in err


def test_an_initial_design_as_large_as_the_budget_is_pointed_out(examples, tmp_path, capsys):
    campaign = examples / "reactor_campaign.yaml"  # initial_points: 8
    err = _short_run(capsys, campaign, tmp_path / "r", 3)
    assert "initial_points (8) is not below the budget (3 experiments)" in err
    assert "initial_points" not in _short_run(capsys, campaign, tmp_path / "r2", 9)


def test_optimizer_settings_the_model_does_not_use_are_pointed_out(examples, tmp_path, capsys):
    original = (examples / "reactor_campaign.yaml").read_text()

    def opt(**settings):  # edit_yaml edits in place: start from the example each time
        (examples / "reactor_campaign.yaml").write_text(original)
        return edit_yaml(
            examples / "reactor_campaign.yaml", lambda d: d["optimizer"].update(settings)
        )

    err = _short_run(capsys, opt(model="RF", engine="skopt"), tmp_path / "rf", 2)
    assert "engine is ignored with model RF" in err, err
    err = _short_run(capsys, opt(model="random", exploration=0.5), tmp_path / "rand", 2)
    assert "acquisition, exploration are ignored with model random" in err, err
    assert "ignored" not in _short_run(capsys, opt(engine="skopt"), tmp_path / "gp", 2)
    err = _short_run(capsys, opt(engine="skopt", novelty=1), tmp_path / "nov-skopt", 2)
    assert "optimizer.novelty is ignored with engine skopt" in err, err
    err = _short_run(capsys, opt(novelty=1), tmp_path / "nov-float", 2)
    assert "novelty is ignored with this space: it applies to finite spaces" in err, err


def test_a_negative_seed_is_refused_before_anything_is_written(examples, tmp_path, capsys):
    out = tmp_path / "r"
    code, _, err = run_cli(capsys, "run", examples / "reactor_campaign.yaml", "--seed", -5)
    assert code == 2 and "--seed: -5 must be 0 or more" in err and "Traceback" not in err
    campaign = edit_yaml(examples / "reactor_campaign.yaml", lambda d: d.update(seed=-3))
    code, _, err = run_cli(capsys, "run", campaign, "--out", out)
    assert code == 2 and "seed: Input should be greater than or equal to 0" in err, err
    assert not out.exists()


def test_a_key_given_twice_in_a_yaml_file_is_refused(examples, tmp_path, capsys):
    campaign = examples / "reactor_campaign.yaml"
    text = campaign.read_text()
    campaign.write_text(text.replace("seed: 7", "seed: 7\nseed: 8", 1))
    code, _, err = run_cli(capsys, "run", campaign, "--out", tmp_path / "r")
    assert code == 2 and "key 'seed' is given twice (lines" in err, err
    lab = examples / "sim_lab.yaml"
    lines = lab.read_text().splitlines()
    top = next(i for i, ln in enumerate(lines) if ln and not ln.startswith((" ", "#")))
    lab.write_text("\n".join([*lines, lines[top]]) + "\n")  # the first top-level key again
    code, _, err = run_cli(capsys, "devices", lab)
    assert code == 2 and "is given twice" in err, err


@pytest.mark.parametrize("kind", ["parent is a file", "parent cannot be written"])
def test_an_out_directory_that_cannot_be_made_is_exit_2(kind, examples, tmp_path, capsys):
    if kind == "parent is a file":
        (tmp_path / "a.csv").write_text("x")
        out = tmp_path / "a.csv" / "sub"
    else:
        out = Path("/proc/genesis-lab-test")
    code, _, err = run_cli(capsys, "run", examples / "reactor_campaign.yaml", "--out", out)
    assert code == 2 and "cannot create the campaign directory" in err, err
    assert "choose another --out" in err and "Traceback" not in err


def test_resume_says_what_it_did_with_an_interrupted_experiment(examples, tmp_path, capsys):
    out = tmp_path / "r"
    _short_run(capsys, examples / "reactor_campaign.yaml", out, 3)
    with Ledger.open(out, readonly=False) as ledger:  # as a crash mid-run leaves it
        eid = ledger.propose(
            {"residence_time": 5.0, "temperature": 80.0, "equivalents": 2.0, "concentration": 0.5},
            origin="manual",
        )
        ledger.start(eid)
    code, _, err = run_cli(
        capsys, "resume", out, "--interrupted", "drop", "--time-scale", 0, "--quiet"
    )
    assert code == 0, err
    assert f"experiment {eid}: interrupted mid-run; aborted and dropped" in err, err


def test_numeric_choices_outside_the_hard_limits_are_refused_at_load(examples, tmp_path, capsys):
    def change(d):
        d["parameters"][2] = {
            "name": "equivalents",
            "type": "categorical",
            "device": "reactor.equivalents",
            "choices": [1, 2, 9],
        }

    campaign = edit_yaml(examples / "reactor_campaign.yaml", change)
    out = tmp_path / "r"
    code, _, err = run_cli(capsys, "run", campaign, "--out", out)
    assert code == 2 and "reactor.equivalents would refuse 9: 9 is outside the hard" in err, err
    assert not out.exists()
    # a choice inside a forbidden region would be refused every time: also caught at load
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["limits"].update(
            equivalents={"min": 1, "max": 5, "forbidden": [[1.5, 2.5]]}
        ),
    )
    edit_yaml(campaign, lambda d: d["parameters"][2].update(choices=[1, 2, 3]))
    code, _, err = run_cli(capsys, "run", campaign, "--out", out)
    assert code == 2 and "inside the forbidden region [1.5, 2.5]" in err, err
    # numbers written as strings are numbers to the device, as at run time
    edit_yaml(campaign, lambda d: d["parameters"][2].update(choices=["1", "3", "4.5"]))
    _short_run(capsys, campaign, out, 2)


def test_messages_name_the_parameter_and_the_form_to_write(examples, tmp_path, capsys):
    campaign = edit_yaml(
        examples / "reactor_campaign.yaml", lambda d: d["parameters"][1].update(bounds=30)
    )
    code, _, err = run_cli(capsys, "run", campaign, "--out", tmp_path / "r")
    assert code == 2, err
    assert "parameters[1] (temperature).bounds: expected a list such as [low, high]" in err
    assert ".float." not in err  # pydantic's union tag is not a path of the file

    def lab_change(d):
        d["devices"]["reactor"]["limits"]["residence_time"] = "thirty"
        d["devices"]["reactor"]["kwargs"] = {"sead": 1}

    lab = edit_yaml(examples / "sim_lab.yaml", lab_change)
    code, _, err = run_cli(capsys, "devices", lab)
    assert code == 2 and "write a limit as [min, max]" in err, err
    edit_yaml(lab, lambda d: d["devices"]["reactor"]["limits"].update(residence_time=[0.5, 30]))
    code, _, err = run_cli(capsys, "devices", lab)
    assert code == 2 and "unexpected keyword argument 'sead'" in err, err
    assert "FlowReactor takes: " in err and "seed" in err

    lab = edit_yaml(
        examples / "olympus" / "olympus_lab.yaml",
        lambda d: d["devices"]["buchwald_a"]["kwargs"].update(olympus="../no/such/folder"),
    )
    code, _, err = run_cli(capsys, "devices", lab)
    assert code == 2 and "olympus: '../no/such/folder'" in err and "does not exist" in err, err
    assert "relative to the lab file or absolute" in err, err


def test_show_on_a_campaign_without_experiments_says_so(examples, tmp_path, capsys):
    out = tmp_path / "r"
    with Ledger.create(out, name="x", campaign_text="", lab_text=""):
        pass
    code, _, err = run_cli(capsys, "show", out, 1)
    assert code == 2 and "has no experiment 1; it has no experiments yet" in err, err


def test_yaml_anchors_and_merge_keys_still_work(examples, tmp_path, capsys):
    lab = examples / "sim_lab.yaml"
    text = lab.read_text()
    # share one limit through an anchor, and override a merged key
    text = text.replace(
        "      residence_time: [0.5, 30]", "      residence_time: &rt {min: 0.5, max: 30}", 1
    )
    text = text.replace(
        "      temperature: {min: 30, max: 140}",
        "      temperature: {<<: *rt, min: 30, max: 140}",
        1,
    )
    assert "<<: *rt" in text and "&rt" in text
    lab.write_text(text)
    code, _, err = run_cli(capsys, "devices", lab, "--json")
    assert code == 0, err


# --- review 4: the session-3 changes themselves ------------------------------------------


def test_resume_after_the_breaker_tries_the_instruments_again(examples, tmp_path, capsys):
    edit_yaml(
        examples / "sim_lab.yaml",
        lambda d: d["devices"]["reactor"]["kwargs"].update(
            faults={"rate": 1.0, "kinds": ["trigger_error"]}
        ),
    )
    out = tmp_path / "r"
    code, stdout, err = run_cli(
        capsys,
        "run",
        examples / "reactor_campaign.yaml",
        "--out",
        out,
        "--time-scale",
        0,
        "--quiet",
    )
    assert code == 1 and "5 instrument failures in a row" in stdout, stdout + err
    code, stdout, _ = run_cli(capsys, "resume", out, "--time-scale", 0, "--quiet")
    assert code == 1 and "5 instrument failures in a row" in stdout
    with Ledger.open(out) as ledger:  # resuming tried 5 more, not 0
        assert ledger.counts()["failed"] == 10


def test_status_of_a_stored_campaign_the_current_rules_refuse_is_exit_2(tmp_path, capsys):
    text = (Path(__file__).resolve().parents[2] / "examples" / "reactor_campaign.yaml").read_text()
    with Ledger.create(
        tmp_path / "old", name="x", campaign_text=text.replace("seed: 7", "seed: -3"), lab_text=""
    ):
        pass
    code, _, err = run_cli(capsys, "status", tmp_path / "old")
    assert code == 2 and "greater than or equal to 0" in err and "Traceback" not in err, err


def test_devices_submodules_are_reachable_as_attributes():
    import subprocess
    import sys

    code = "import devices; print(devices.sim.FlowReactor.__name__, devices.safety.Limit.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.split() == ["FlowReactor", "Limit"], done.stderr


def test_counts_of_one_read_as_one_experiment(examples, tmp_path, capsys):
    campaign = examples / "reactor_campaign.yaml"
    err = _short_run(capsys, campaign, tmp_path / "r", 1)
    assert "the budget (1 experiment)" in err and "1 experiments" not in err
    code, out, _ = run_cli(capsys, "status", tmp_path / "r")
    assert code == 0 and "budget of 1 experiment reached" in out, out
    code, _, err = run_cli(capsys, "export", tmp_path / "r", "--csv", tmp_path / "r.csv")
    assert code == 0 and "wrote 1 experiment to" in err, err


def test_the_devices_table_prints_no_unit_for_a_dimensionless_reading(examples, capsys):
    code, out, _ = run_cli(capsys, "devices", examples / "sim_lab.yaml")
    assert code == 0
    line = next(ln for ln in out.splitlines() if "xray_transmission =" in ln)
    value = line.split("xray_transmission =", 1)[1].split("│")[0].split()
    assert len(value) == 1, line  # the number alone, not "0.97 1"


def test_a_typed_in_result_that_becomes_the_best_is_marked_and_a_repeat_is_named(
    examples, tmp_path, capsys
):
    out = tmp_path / "r"
    _short_run(capsys, examples / "reactor_campaign.yaml", out, 3)
    with Ledger.open(out) as ledger:
        first = ledger.experiment(1).parameters
    params = [x for k, v in first.items() for x in ("--param", f"{k}={v}")]
    code, stdout, err = run_cli(capsys, "suggest", out, *params, "--result", "yield=99.5")
    assert code == 0, err
    assert "experiment 4 recorded as done" in stdout
    assert "the same point is experiment 1 too" in err, err
    code, stdout, _ = run_cli(capsys, "status", out)
    assert "best: experiment 4 (a result entered with 'suggest --result'" in stdout, stdout
    code, stdout, _ = run_cli(capsys, "status", out, "--json")
    best = json.loads(stdout)["best"]
    assert best["experiment"] == 4 and best["entered_by_hand"] is True
    # queued on a finished campaign without a confirmation stage: no word about one
    code, stdout, _ = run_cli(capsys, "suggest", out, *REACTOR)
    assert code == 0 and "beyond the budget)" in stdout and "confirmation" not in stdout, stdout
