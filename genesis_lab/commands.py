"""The implementations behind each ``genesis-lab`` sub-command."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from .cli import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, default_out, write_csv, write_json
from .errors import StoreError
from .ledger import Ledger
from .progress import ProgressDisplay
from .report import experiment_rows, status_payload, summary_text
from .runner import CampaignInterrupted, CampaignRunner
from .session import CampaignFiles


def cmd_run(args: argparse.Namespace) -> int:
    files = CampaignFiles.load(args.campaign)
    if args.seed is not None:
        files.campaign = files.campaign.model_copy(update={"seed": args.seed})
    lab = files.build_lab(time_scale=args.time_scale)
    out = args.out or default_out(files.campaign.name)
    budget = args.max_experiments or files.campaign.budget.experiments
    ledger = Ledger.create(
        out, name=files.campaign.name, campaign_text=files.campaign_text, lab_text=files.lab_text,
        extra={
            "budget": budget,
            "seed": files.campaign.seed,
            "time_scale": lab.time_scale,
            "campaign_path": str(args.campaign),
            "lab_dir": str(files.lab_dir) if files.lab_dir else None,
        },
    )
    return _drive(files, lab, ledger, budget, args, resumed=False)


def cmd_resume(args: argparse.Namespace) -> int:
    ledger = Ledger.open(args.dir, readonly=False)
    files = CampaignFiles.from_store(ledger)
    seed = ledger.meta("seed")
    if seed is not None:
        files.campaign = files.campaign.model_copy(update={"seed": seed})
    ts = args.time_scale if args.time_scale is not None else ledger.meta("time_scale")
    lab = files.build_lab(time_scale=ts)
    return _drive(files, lab, ledger, ledger.meta("budget"), args, resumed=True)


def _drive(files: CampaignFiles, lab: Any, ledger: Ledger, budget: int,
           args: argparse.Namespace, *, resumed: bool) -> int:
    display: ProgressDisplay | None = None
    try:
        runner = CampaignRunner(files.campaign, lab, ledger, budget=budget)
        runner.replay()
        if resumed:
            if getattr(args, "interrupted", None):
                runner.campaign = runner.campaign.model_copy(
                    update={"interrupted": args.interrupted}
                )
            for note in runner.settle_interrupted():
                print(f"genesis-lab resume: {note}", file=sys.stderr)
            if runner.restore_devices():
                print("genesis-lab resume: simulated instruments restored to their last "
                      "recorded state", file=sys.stderr)
            ledger.note("resumed")
        display = ProgressDisplay(files.campaign.name, files.campaign.objectives[0].name,
                                  runner.budget, runner.completed(), quiet=args.quiet)
        runner.on_progress = display
        try:
            reason = runner.run()
        except CampaignInterrupted:
            display.close()
            ledger.note("interrupted")
            print(f"\ngenesis-lab: interrupted; the ledger is consistent. Continue with:\n"
                  f"  genesis-lab resume {ledger.directory}", file=sys.stderr)
            return EXIT_INTERRUPTED
        display.close()
        payload = status_payload(ledger)
        payload["stop_reason"] = reason
        if args.json:
            write_json(payload)
        else:
            print(summary_text(payload))
        return EXIT_OK if payload["counts"]["done"] else EXIT_FAIL
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
        print(f"wrote {len(rows)} experiments to {args.csv}", file=sys.stderr)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    with Ledger.open(args.dir) as ledger:
        e = ledger.experiment(args.experiment)
        if e is None:
            n = len(ledger.experiments())
            raise StoreError(f"{args.dir} has no experiment {args.experiment}; it has 1..{n}")
        uids = sorted({u for u in [e.run_uid] if u} | _runs_of(ledger, e.id))
        record = {
            **e.as_dict(),
            "history": list(ledger.log(e.id)),
            "runs": {uid: [{"name": n, "doc": d} for n, d in ledger.documents(uid)] for uid in uids},
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
    return EXIT_OK if ok else EXIT_FAIL


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench.suite import print_table, run_suite

    def progress(msg: str) -> None:
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    result = run_suite(args.suite, progress, only=args.only)
    print_table(result)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
        print(f"wrote {args.json}", file=sys.stderr)
    return EXIT_OK
