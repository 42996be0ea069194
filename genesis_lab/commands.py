"""The implementations behind each ``genesis-lab`` sub-command."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from .cli import (
    EXIT_FAIL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    check_writable,
    default_out,
    emit,
    write_csv,
    write_json,
)
from .errors import StoreError, counted
from .errors import UserError as UsageError
from .ledger import Ledger, to_json
from .progress import ProgressDisplay
from .provenance import process_provenance
from .report import campaign_state, experiment_rows, status_payload, summary_text
from .runner import CampaignInterrupted, CampaignRunner
from .session import CampaignFiles


def cmd_run(args: argparse.Namespace) -> int:
    files = CampaignFiles.load(args.campaign)
    if args.seed is not None:
        files.campaign = files.campaign.model_copy(update={"seed": args.seed})
    lab = files.build_lab(time_scale=args.time_scale)
    budget = args.max_experiments or files.campaign.budget.experiments
    chosen = args.out is None  # runs/NAME-TIME, made unique: runs started together never collide
    base = args.out or default_out(files.campaign.name)
    try:
        for k in range(1, 1000):
            out = args.out = base if k == 1 or not chosen else f"{base}-{k}"  # messages name it
            if chosen and Path(out).exists():
                continue
            try:
                ledger = Ledger.create(
                    out,
                    name=files.campaign.name,
                    campaign_text=files.campaign_text,
                    lab_text=files.lab_text,
                    extra={
                        "budget": budget,
                        "seed": files.campaign.seed,
                        "time_scale": lab.time_scale,
                        "campaign_path": str(args.campaign),
                        "lab_dir": str(files.lab_dir) if files.lab_dir else None,
                    },
                    claim=True,  # locked before it appears: no resume can slip in
                )
                break
            except StoreError:
                if not chosen or not Path(out).exists():
                    raise
                # another run took this name since the check: take the next one
        else:
            raise StoreError(f"{base}: no free folder name; choose one with --out")
    except BaseException:
        lab.close()
        raise
    for note in campaign_notes(files.campaign, budget) + lab.campaign_notes(files.campaign):
        print(f"genesis-lab run: note: {note}", file=sys.stderr)
    return _drive(files, lab, ledger, budget, args, resumed=False)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a campaign and its lab as 'run' would, without connecting or writing."""
    files = CampaignFiles.load(args.campaign)
    lab = files.build_lab(time_scale=0, connect=False)
    c = files.campaign
    notes = campaign_notes(c, c.budget.experiments) + lab.campaign_notes(c)
    lab.close()
    summary = {
        "campaign": c.name,
        "file": str(args.campaign),
        "lab": str(files.lab_path),
        "parameters": [p.name for p in c.parameters],
        "objectives": [{"name": o.name, "goal": o.goal} for o in c.objectives],
        "constraints": len(c.constraints),
        "devices": list(c.devices),
        "budget": c.budget.experiments,
        "model": c.optimizer.model,
        "notes": notes,
    }
    if args.json:
        write_json(summary)
        return EXIT_OK
    goals = ", ".join(f"{o['name']} ({o['goal']})" for o in summary["objectives"])
    print(f"{args.campaign}: valid, with its lab file {summary['lab']}")
    budget = counted(c.budget.experiments, "experiment")
    print(f"  campaign:    {c.name}, {budget}, model {c.optimizer.model}")
    print(f"  parameters:  {', '.join(summary['parameters'])}")
    print(f"  objectives:  {goals}")
    if c.constraints:
        print(f"  constraints: {len(c.constraints)}")
    print(f"  devices:     {', '.join(summary['devices'])}")
    for note in notes:
        print(f"  note: {note}")
    print(
        "the devices were built but not connected, and nothing was run or written; the "
        "instruments' own ranges are checked when a run connects, or by 'genesis-lab devices "
        "LAB', which also reads each once"
    )
    return EXIT_OK


def campaign_notes(campaign: Any, budget: int) -> list[str]:
    """Warnings about settings that are valid but probably not what the user meant."""
    from .agent.space import Space

    notes = []
    space = Space(campaign.parameters)
    if space.is_finite and space.size < budget:
        notes.append(
            f"the campaign's space has only {space.size:.0f} distinct points, fewer than the "
            f"budget ({counted(budget, 'experiment')}); no point is measured twice, so the "
            "campaign finishes once every point has been measured"
        )
    opt = campaign.optimizer
    if opt.model != "random" and opt.initial_points >= budget:
        notes.append(
            f"optimizer.initial_points ({opt.initial_points}) is not below the budget "
            f"({counted(budget, 'experiment')}), so every experiment comes from the "
            f"{opt.initial_design} initial design and the {opt.model} model never proposes "
            "one; lower initial_points below the budget to let it"
        )
    ignored = {"engine", "novelty"} if opt.model != "GP" else set()
    if opt.model == "random":
        ignored |= {"acquisition", "exploration"}
    unused = sorted(ignored & opt.model_fields_set)
    if unused:
        why = (
            "random search uses no model"
            if opt.model == "random"
            else "engine and novelty are settings of model GP"
        )
        notes.append(
            f"optimizer: {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} ignored with "
            f"model {opt.model} ({why}); remove {'it' if len(unused) == 1 else 'them'}"
        )
    elif "novelty" in opt.model_fields_set and opt.novelty > 0:
        from .agent.backends import GPBackend

        one_hot = any(
            p.type == "categorical" and not p.descriptors and len(p.choices) > 1
            for p in campaign.parameters
        )
        why = None
        if opt.engine != "fast":
            why = f"engine {opt.engine}"
        elif opt.acquisition == "LCB":
            why = "acquisition LCB"
        elif not (space.is_finite and space.size <= GPBackend.MAX_CANDIDATES and one_hot):
            why = (
                f"this space: it applies to finite spaces of at most "
                f"{GPBackend.MAX_CANDIDATES:,} points with a categorical parameter of 2 or more "
                "choices and no descriptors"
            )
        if why:
            notes.append(
                f"optimizer.novelty is ignored with {why} (it favours untried choices of "
                "categorical parameters in finite spaces, with the fast GP engine and EI or PI); "
                "remove it"
            )
    if len(campaign.objectives) == 1 and campaign.objectives[0].reference is not None:
        notes.append(
            "objectives[0].reference is the hypervolume reference point of a campaign with "
            "several objectives; with one objective it is not used"
        )
    if campaign.stop.target is not None and len(campaign.objectives) > 1:
        notes.append(
            f"stop.target ({campaign.stop.target:g}) applies to the first objective "
            f"({campaign.objectives[0].name}) only: the campaign stops when it alone reaches "
            "the target, however the others stand"
        )
    return notes


def cmd_resume(args: argparse.Namespace) -> int:
    ledger = Ledger.open(args.dir, readonly=False)
    try:
        ledger.claim()
        files = CampaignFiles.from_store(ledger)
        _refuse_edited_copies(ledger)
        seed = ledger.meta("seed")
        if seed is not None:
            files.campaign = files.campaign.model_copy(update={"seed": seed})
        if args.max_experiments is not None:
            _change_budget(ledger, args.max_experiments)
        elif done := _finished_and_nothing_queued(ledger):
            print(f"genesis-lab resume: {done}", file=sys.stderr)
            payload = status_payload(ledger)
            ledger.close()
            write_json(payload) if args.json else print(summary_text(payload))
            return EXIT_OK
        ts = args.time_scale if args.time_scale is not None else ledger.meta("time_scale")
        lab = files.build_lab(time_scale=ts)
    except BaseException:
        ledger.close()  # releases the claim: a later resume in this process may try again
        raise
    return _drive(files, lab, ledger, ledger.meta("budget"), args, resumed=True)


def _change_budget(ledger: Ledger, budget: int) -> None:
    """``resume --max-experiments N``: a new budget.  A confirmation stage that already ran
    (or started) at the old end is done again at the new end, for the best point then;
    replicates already measured of that same point still count."""
    done = ledger.count_completed()
    if budget < done:
        raise UsageError(
            f"--max-experiments {budget}: the campaign has already completed "
            f"{counted(done, 'experiment')}; give at least {done}"
        )
    old = ledger.meta("budget")
    if budget == old:
        return
    ledger.set_meta("budget", budget)
    if ledger.meta("confirmation_queued") is not None and budget > done:
        ledger.set_meta("confirmation_queued", None)
        ledger.set_meta("confirmation", None)
    ledger.note("budget", {"from": old, "to": budget})
    print(f"genesis-lab resume: budget {old} -> {budget} experiments", file=sys.stderr)


def _finished_and_nothing_queued(ledger: Ledger) -> str | None:
    """What to tell the user when a finished campaign's budget is spent and nothing is queued
    (resume then starts no lab); None when there is something to do."""
    finished = ledger.meta("stop_reason") and ledger.meta("stop_finished")  # reset by each run
    counts = ledger.counts()
    if not finished or counts.get("proposed", 0) or counts.get("running", 0):
        return None  # queued experiments to run, or one a crash cut short to settle
    if ledger.count_completed() < (ledger.meta("budget") or 0):
        return None  # another stop rule ended it: the runner says whether it still holds
    return (
        f"nothing to do: the campaign finished ({ledger.meta('stop_reason')}). To go on, give "
        f"a larger budget: genesis-lab resume {ledger.directory} --max-experiments N"
    )


def _refuse_edited_copies(ledger: Ledger) -> None:
    """The campaign and lab files beside the ledger are copies of what the campaign runs with;
    an edit to them would be silently ignored by resume, so it is refused instead.  A deleted
    copy is written back."""
    for name, key in (("campaign.yaml", "campaign_yaml"), ("lab.yaml", "lab_yaml")):
        path, text = ledger.directory / name, ledger.meta(key)
        if not isinstance(text, str):
            continue
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            continue
        try:
            copy = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise UsageError(
                f"{path} cannot be read ({exc.strerror or exc}); it is a copy of the file the "
                f"campaign started with: remove it (resume writes the original back)"
            ) from None
        if copy != text:
            raise UsageError(
                f"{path} was edited after the campaign started. A campaign runs to the end "
                "with the files it started with (kept in its ledger), so resume would ignore "
                f"the edit: delete {path} (resume writes the original back) to continue as "
                "started, or make the change in your own campaign or lab file and start a new "
                "campaign (to raise the budget: 'genesis-lab resume DIR --max-experiments N')"
            )


def _drive(
    files: CampaignFiles,
    lab: Any,
    ledger: Ledger,
    budget: int,
    args: argparse.Namespace,
    *,
    resumed: bool,
) -> int:
    display: ProgressDisplay | None = None
    try:
        runner = CampaignRunner(files.campaign, lab, ledger, budget=budget)
        runner.replay()
        if resumed:
            # first: this session starts now (what the crash left is settled in it, so the
            # pause does not count as time driven), and the instruments are back where the
            # last finished experiment left them before any recovered result is recorded
            ledger.note("resumed")
            if runner.restore_devices():
                print(
                    "genesis-lab resume: simulated instruments restored to their last "
                    "recorded state",
                    file=sys.stderr,
                )
            for note in runner.settle_interrupted(getattr(args, "interrupted", None)):
                print(f"genesis-lab resume: {note}", file=sys.stderr)
            if changed := runner.optimizer_changes():
                ledger.note("optimizer_changed", {"text": changed})
                print(f"genesis-lab resume: {changed}", file=sys.stderr)
            runner.reset_breaker()  # the person looked: count failures afresh
        display = ProgressDisplay(
            files.campaign.name,
            files.campaign.objectives[0].name,
            runner.budget,
            runner.completed(),
            quiet=args.quiet,
        )
        runner.on_progress = display
        runner.executor.show_notes = args.verbose  # bluesky's "Pausing..." only on request
        try:
            stop = runner.run()
        except CampaignInterrupted:
            display.close()
            ledger.note("interrupted")
            print(
                f"\ngenesis-lab: interrupted; the ledger is consistent. Continue with:\n"
                f"  genesis-lab resume {ledger.directory}",
                file=sys.stderr,
            )
            if args.json:  # a script still gets the state (paused) to parse
                paused = status_payload(ledger)
                emit(lambda: write_json(paused))
            return EXIT_INTERRUPTED
        display.close()
        payload = status_payload(ledger)
        emit(lambda: write_json(payload) if args.json else print(summary_text(payload)))
        if args.json and not stop.finished:  # the text summary says it; JSON readers need it
            print(f"genesis-lab: {stop.reason}; exit status 1", file=sys.stderr)
        # a stop for failures or refusals is not success, even after some good experiments:
        # a script driving the lab must notice that the campaign needs a person
        if stop.finished and payload["best"] is None:
            print(
                "genesis-lab: the campaign finished without a feasible result (every experiment "
                "failed or broke an outcome constraint; see 'genesis-lab export'); exit status 1",
                file=sys.stderr,
            )
        return EXIT_OK if stop.finished and payload["best"] is not None else EXIT_FAIL
    finally:
        if display is not None:
            display.close()
        lab.close()
        ledger.close()


def cmd_status(args: argparse.Namespace) -> int:
    with Ledger.open(args.dir) as ledger:
        payload = status_payload(ledger)
    if args.json:
        write_json(payload)
    else:
        print(summary_text(payload))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    with Ledger.open(args.dir) as ledger:
        rows = experiment_rows(ledger)
    write_csv(rows, args.csv)
    if args.csv != "-":
        print(f"wrote {counted(len(rows), 'experiment')} to {args.csv}", file=sys.stderr)
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    with Ledger.open(args.dir) as ledger:
        dest = ledger.backup(args.dest)
        n = len(ledger.experiments())
    with Ledger.open(dest) as copy:
        copied = len(copy.experiments())
    print(
        f"copied {args.dir} to {dest} ({counted(copied, 'experiment')}"
        + (f"; {n - copied} more were recorded while copying" if n > copied else "")
        + ")",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    with Ledger.open(args.dir) as ledger:
        e = ledger.experiment(args.experiment)
        if e is None:
            n = len(ledger.experiments())
            has = f"it has 1..{n}" if n else "it has no experiments yet"
            raise StoreError(f"{args.dir} has no experiment {args.experiment}; {has}")
        uids = sorted({u for u in [e.run_uid] if u} | _runs_of(ledger, e.id))
        record = {
            **e.as_dict(),
            "history": list(ledger.log(e.id)),
            "runs": {
                uid: [{"name": n, "doc": d} for n, d in ledger.documents(uid)] for uid in uids
            },
        }
    if args.json:
        write_json(record)
        return EXIT_OK
    print(f"experiment {e.id}: {e.status} ({e.origin})")
    for key in ("parameters", "objectives", "readings", "provenance"):
        print(f"{key}:")
        for k, v in (record[key] or {}).items():
            print(f"  {k}: {json.dumps(v, default=str)}")
    for key in ("error", "failure_kind", "attempts", "acquisition", "run_uid"):
        if record[key] not in (None, ""):
            print(f"{key}: {record[key]}")
    print("history:")
    for h in record["history"]:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(h["time"]))
        print(f"  {stamp} {h['event']} {json.dumps(h['detail']) if h['detail'] else ''}")
    for uid, docs in record["runs"].items():
        print(f"run {uid}: {len(docs)} documents")
        for d in docs:
            print(f"  {d['name']}: {json.dumps(d['doc'], default=str)[:300]}")
    return EXIT_OK


def _runs_of(ledger: Ledger, eid: int) -> set[str]:
    out = set()
    for uid in ledger.run_uids():
        start = next((d for n, d in ledger.documents(uid)[:1] if n == "start"), {})
        if start.get("experiment") == eid:
            out.add(uid)
    return out


def cmd_devices(args: argparse.Namespace) -> int:
    from .inventory import inventory, print_inventory

    rows, ok = inventory(args.lab, timeout=args.timeout)
    if args.json:
        write_json({"lab": args.lab, "ok": ok, "devices": rows})
    else:
        print_inventory(rows)
    if not ok:
        bad = [r["name"] for r in rows if r["error"]]
        print(
            f"genesis-lab devices: {len(bad)} of {len(rows)} instruments failed the check "
            f"({', '.join(bad)}); the reasons are in the table",
            file=sys.stderr,
        )
    return EXIT_OK if ok else EXIT_FAIL


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench.suite import SUITES, markdown_table, print_table, run_suite

    for path, flag in ((args.json, "--json"), (args.markdown, "--markdown")):
        if path is not None:
            check_writable(path, flag)  # before a run that can take many minutes
    if args.json is not None and args.markdown is not None:
        if Path(args.json).resolve() == Path(args.markdown).resolve():
            raise UsageError(
                f"--json and --markdown both name {args.markdown}: the table would overwrite "
                "the JSON; give them different files"
            )
    letters = SUITES[args.suite]["datasets"]
    elsewhere = [k for k in args.only or [] if k.startswith("buchwald_") and k[-1] not in letters]
    if elsewhere:
        raise UsageError(
            f"--only {elsewhere[0]}: the {args.suite} suite has only "
            f"{', '.join(f'buchwald_{c}' for c in letters)}; use 'genesis-lab bench full "
            f"--only {elsewhere[0]}'"
        )

    def progress(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    result = run_suite(args.suite, progress, only=args.only, seeds=args.seeds)
    print_table(result)
    # standard JSON: a strategy that never reached the target has null, not Infinity
    outputs = [(args.json, "--json", lambda: to_json(result, indent=2) + "\n")]
    outputs.append((args.markdown, "--markdown", lambda: markdown_table(result)))
    code = EXIT_OK
    for path, flag, text in outputs:
        if path is None:
            continue
        try:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text())
        except OSError as exc:
            print(
                f"genesis-lab bench: error: {flag} {path}: could not be written "
                f"({exc.strerror or exc}); the table above has the results",
                file=sys.stderr,
            )
            code = EXIT_FAIL
            continue
        print(f"wrote {path}", file=sys.stderr)
    return code


def _pairs(items: list[str], flag: str, example: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{flag} {item!r}: write NAME=VALUE, e.g. {flag} {example}")
        if name.strip() in out:
            raise UsageError(f"{flag}: {name.strip()!r} is given twice; give it once")
        out[name.strip()] = value.strip()
    return out


def _example_value(p: Any) -> str:
    """A valid value of parameter ``p`` for an error message's example."""
    from .spec import CategoricalParameter, IntegerParameter

    if isinstance(p, CategoricalParameter):
        return str(p.choices[0])
    lo, hi = p.bounds
    mid = (lo + hi) / 2
    return str(int(round(mid))) if isinstance(p, IntegerParameter) else f"{mid:g}"


def _manual_results(campaign: Any, results: dict[str, str]) -> dict[str, float]:
    """The objective values of ``--result``: every objective once, finite numbers."""
    names = [o.name for o in campaign.objectives]
    unknown = sorted(set(results) - set(names))
    missing = sorted(set(names) - set(results))
    if unknown or missing:
        raise UsageError(
            f"--result: give every objective once ({names}); unknown {unknown}, missing {missing}"
        )
    try:
        objectives = {k: float(v) for k, v in results.items()}
    except ValueError:
        raise UsageError(f"--result: values must be numbers, got {results}") from None
    bad = [f"{k}={v}" for k, v in results.items() if not math.isfinite(objectives[k])]
    if bad:
        raise UsageError(
            f"--result {' '.join(bad)}: a result must be a finite number. For a measurement "
            "that failed, use --infeasible, or leave --result out and let the campaign run "
            "the experiment."
        )
    return objectives


def cmd_suggest(args: argparse.Namespace) -> int:
    from .agent import Space
    from .spec import CategoricalParameter

    with Ledger.open(args.dir, readonly=False) as ledger:
        files = CampaignFiles.from_store(ledger)
        ledger.experiments()  # a damaged row is named here, before anything is added
        campaign = files.campaign
        space = Space(campaign.parameters)
        p0 = campaign.parameters[0]
        raw = _pairs(args.param, "--param", f"{p0.name}={_example_value(p0)}")
        params: dict[str, Any] = {}
        for p in campaign.parameters:
            if p.name in raw and not isinstance(p, CategoricalParameter):
                try:
                    params[p.name] = float(raw[p.name])
                except ValueError:
                    params[p.name] = raw[p.name]  # reported by validate() below
            elif p.name in raw:
                params[p.name] = raw[p.name]
        params.update({k: v for k, v in raw.items() if k not in params})
        problems = space.validate(params)
        if problems:
            raise UsageError("--param: " + "; ".join(problems))
        params = space.from_list(space.to_list(params))
        broken = space.constraint_problems(params, campaign.constraints)
        if broken:
            raise UsageError(
                "--param: the point breaks the campaign's linear constraints: "
                + "; ".join(broken)
                + ". Change the values so that every constraint holds."
            )
        o0 = campaign.objectives[0].name
        results = _pairs(args.result, "--result", f"{o0}=42.0")
        objectives = _manual_results(campaign, results) if results else {}
        if results and not args.infeasible:
            outcome = [c for c in campaign.constraints if c.kind == "outcome"]
            if outcome and not args.feasible:
                rules = ", ".join(
                    f"{c.expression}"
                    + (f" >= {c.min:g}" if c.min is not None else "")
                    + (f" <= {c.max:g}" if c.max is not None else "")
                    for c in outcome
                )
                raise UsageError(
                    f"--result: this campaign has outcome constraints ({rules}), which a "
                    "result measured elsewhere cannot be checked against; add --feasible if "
                    "the measurement met them, or --infeasible if it did not"
                )
        provenance: dict[str, Any] = {"entered_by": "user"}
        if results or args.infeasible:  # measured elsewhere: say where it was recorded
            provenance.update(process_provenance())
        if args.infeasible:
            eid = ledger.propose(params, origin="manual", provenance=provenance)
            ledger.start(eid)
            if objectives:
                ledger.finish(
                    eid,
                    "done",
                    objectives=objectives,
                    feasible=False,
                    error="recorded by the user as infeasible",
                    failure_kind="infeasible",
                )
            else:
                ledger.finish(
                    eid,
                    "failed",
                    feasible=False,
                    error="recorded by the user as a failed measurement",
                    failure_kind="scientific",
                )
            what, recorded, feasible = "recorded as infeasible", True, False
        elif results:
            eid = ledger.propose(params, origin="manual", provenance=provenance)
            ledger.start(eid)
            ledger.finish(eid, "done", objectives=objectives, feasible=True)
            what, recorded, feasible = "recorded as done", True, True
        else:
            if args.feasible:
                raise UsageError(
                    "--feasible goes with --result (a measurement made elsewhere); leave it "
                    "out to queue the experiment for the campaign to run"
                )
            recorded, feasible = False, None
            ahead = len(ledger.experiments("proposed"))
            eid = ledger.propose(params, origin="manual", provenance=provenance)
            what = (
                "queued: the campaign runs it next (now if running, else on resume)"
                if not ahead
                else f"queued: the campaign runs it after the {ahead} experiment"
                f"{'s' if ahead > 1 else ''} already queued (now if running, else on resume)"
            )
            if campaign_state(ledger)[0] == "finished":
                what = (
                    "queued; the campaign has finished, so it runs only when you "
                    f"'genesis-lab resume {ledger.directory}' (beyond the budget"
                    + ("; the confirmation is not redone)" if campaign.confirm else ")")
                )
        key = space.key(params)
        same = [
            e.id
            for e in ledger.experiments()
            if e.id != eid
            and e.origin != "confirm"
            and set(space.names) <= set(e.parameters)
            and space.key(e.parameters) == key
        ]
        if same:
            print(
                f"genesis-lab suggest: note: the same point is experiment "
                f"{', '.join(map(str, same))} too; experiment {eid} is a repeat of it",
                file=sys.stderr,
            )
    if args.json:
        write_json(
            {
                "experiment": eid,
                "parameters": params,
                "status": "recorded" if recorded else "queued",
                "feasible": feasible,
                "message": what,
            }
        )
    else:
        print(f"experiment {eid} {what}")
    return EXIT_OK
