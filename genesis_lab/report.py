"""Summaries of a campaign store: the status payload, its text form, CSV rows."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import numpy as np

from .errors import counted
from .ledger import Ledger
from .pareto import hypervolume, non_dominated
from .runner import best_experiment
from .session import stored_campaign
from .spec import CampaignSpec

__all__ = ["campaign_state", "status_payload", "summary_text", "experiment_rows"]


def status_payload(ledger: Ledger) -> dict[str, Any]:
    campaign = stored_campaign(ledger)
    exps = ledger.experiments()
    best = best_experiment(exps, campaign)
    counts = ledger.counts()
    replicates = sum(e.origin == "confirm" and e.status in ("done", "failed") for e in exps)
    counts["completed"] = counts["done"] + counts["failed"] - replicates
    counts["confirmation_replicates"] = replicates
    state, process = campaign_state(ledger, counts)
    return {
        "campaign": campaign.name,
        "directory": str(ledger.directory),
        "state": state,
        "process": process,
        "budget": ledger.meta("budget"),
        "seed": ledger.meta("seed"),
        "counts": counts,
        "objectives": [{"name": o.name, "goal": o.goal} for o in campaign.objectives],
        "best": None
        if best is None
        else {
            "experiment": best.id,
            "parameters": best.parameters,
            "objectives": best.objectives,
            "run_uid": best.run_uid,
            "origin": best.origin,
            # a result typed in with 'suggest --result': the lab never measured it
            "entered_by_hand": best.run_uid is None and best.origin == "manual",
        },
        "stop_reason": ledger.meta("stop_reason"),
        "timing": _timing(ledger, exps, state, counts["completed"]),
        "confirmation": _confirmation(ledger.meta("confirmation"), best),
        **_pareto(campaign, exps),
    }


def _iso(t: float | None, timespec: str = "seconds") -> str | None:
    """A time as local ISO 8601 with its UTC offset (what a person and a parser both read)."""
    if not t:
        return None
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec=timespec)


def _timing(ledger: Ledger, exps: list[Any], state: str, completed: int) -> dict[str, Any]:
    """When the campaign started, how long it has been driven, its last result and, while it
    has budget left, how long the rest would take at its pace so far."""
    driven = ledger.time_driven(running=state == "running")
    finished = [e for e in exps if e.finished_at and e.status in ("done", "failed", "refused")]
    last = max(finished, key=lambda e: e.finished_at, default=None)
    budget = ledger.meta("budget") or 0
    # the pace of the lab: results typed in with 'suggest --result' took none of its time
    ran = sum(
        1
        for e in finished
        if e.run_uid is not None and e.status != "refused" and e.origin != "confirm"
    )
    pace = driven / ran if ran >= 2 and driven > 0 else None
    left = None
    if pace is not None and state in ("running", "paused", "interrupted") and budget > completed:
        left = pace * (budget - completed)
    return {
        "created": _iso(float(ledger.meta("created"))),
        "driven_s": round(driven, 3),
        "last_result": _iso(last.finished_at) if last else None,
        "last_result_experiment": last.id if last else None,
        "seconds_per_experiment": None if pace is None else round(pace, 6),
        "estimated_left_s": None if left is None else round(left, 3),
    }


def human_duration(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 05 min``, ``4 min 12 s``, ``12 s``, ``0.4 s``."""
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.1f} s"
    s = round(s)
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {sec:02d} s"
    return f"{sec} s"


def _shown(iso: str) -> str:
    """``2026-11-25 02:04:22+00:00``: the ISO time with a space for a person to read."""
    return iso.replace("T", " ", 1)


def _ago(iso: str) -> str:
    return human_duration(time.time() - datetime.fromisoformat(iso).timestamp()) + " ago"


_NO_PARETO = {
    "pareto": None,
    "reference": None,
    "hypervolume": None,
    "hypervolume_trace": None,
}


def _confirmation(c: dict[str, Any] | None, best: Any) -> dict[str, Any] | None:
    """The stored confirmation with its verdict (``confirmed``: every replicate feasible,
    at least 2, and the first measurement where one more would fall), marked when a later
    experiment (e.g. one recorded with ``suggest --result`` after the campaign finished) has
    since become the best."""
    if not c:
        return c
    confirmed = (
        c.get("mean") is not None
        and not c.get("unusable")
        and c.get("agrees_with_original") is not False
    )
    superseded = best.id if best is not None and c.get("experiment") != best.id else None
    return {**c, "confirmed": confirmed, "superseded_by": superseded}


def _pareto(campaign: CampaignSpec, exps: list[Any]) -> dict[str, Any]:
    """For several objectives: the Pareto set and the hypervolume after each experiment.

    Confirmation replicates re-measure a point already in the campaign; like the
    single-objective best, the Pareto set and the trace leave them out."""
    objs = campaign.objectives
    if len(objs) < 2:
        return dict(_NO_PARETO)  # the same keys for every campaign
    sign = np.array([-1.0 if o.goal == "maximize" else 1.0 for o in objs])
    rows, trace = [], []
    refs = [o.reference for o in objs]
    ref = None if any(r is None for r in refs) else sign * np.array(refs, dtype=float)
    for e in exps:
        if e.status in ("done", "failed") and e.origin != "confirm":
            vals = [e.objectives.get(o.name) for o in objs]
            if e.status == "done" and e.feasible and all(isinstance(v, int | float) for v in vals):
                rows.append((e, sign * np.array(vals, dtype=float)))
            if ref is not None:
                pts = np.array([r[1] for r in rows]).reshape(-1, len(objs))
                trace.append({"experiment": e.id, "hypervolume": hypervolume(pts, ref)})
    pareto = []
    if rows:
        mask = non_dominated(np.array([r[1] for r in rows]))
        pareto = [
            {"experiment": e.id, "parameters": e.parameters, "objectives": e.objectives}
            for (e, _), keep in zip(rows, mask, strict=True)
            if keep
        ]
    return {
        "pareto": pareto,
        "reference": None if ref is None else dict(zip([o.name for o in objs], refs, strict=True)),
        "hypervolume": trace[-1]["hypervolume"] if trace else None,
        "hypervolume_trace": trace if ref is not None else None,
    }


def campaign_state(ledger: Ledger, counts: dict[str, int] | None = None) -> tuple[str, int | None]:
    """The campaign's state, and the process driving it (when running)."""
    if counts is None:
        counts = ledger.counts()
        counts["completed"] = ledger.count_completed()
    driver = ledger.driver()  # another process (a run, or a resume even of a finished one)
    if driver is not None:
        return "running", driver.get("pid")
    if counts["running"]:
        return ("interrupted" if ledger.tells_driver else "running or interrupted"), None
    reason = ledger.meta("stop_reason")
    if reason:
        # stopped for failures or refusals: a person must act.  Folders from before
        # stop_finished was recorded: every such reason starts with "stopped".
        finished = ledger.meta("stop_finished", not reason.startswith("stopped"))
        return ("finished" if finished else "stopped"), None
    return ("paused" if counts["completed"] or counts["proposed"] else "new"), None


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def summary_text(p: dict[str, Any]) -> str:
    c = p["counts"]
    state = p["state"] + (f" (process {p['process']})" if p.get("process") else "")
    lines = [f"campaign {p['campaign']} ({state}) in {p['directory']}"]
    if p.get("stop_reason"):  # a stop for a person says "stopped ..." itself
        finished = p["state"] == "finished"
        lines.append(f"finished: {p['stop_reason']}" if finished else p["stop_reason"])
    shown = ", ".join(
        f"{k} {v}" for k, v in c.items() if v and k not in ("completed", "confirmation_replicates")
    )
    extra = (
        f" + {c['confirmation_replicates']} confirmation replicates"
        if c.get("confirmation_replicates")
        else ""
    )
    lines.append(
        f"experiments: {c['completed']} completed of {p['budget']}{extra} ({shown or 'none'})"
    )
    t = p.get("timing")
    if t:
        lines.append(
            f"started: {_shown(t['created'])}; running time {human_duration(t['driven_s'])} "
            "(pauses not counted)"
        )
        if t["last_result"]:
            lines.append(
                f"last result: experiment {t['last_result_experiment']} at "
                f"{_shown(t['last_result'])} ({_ago(t['last_result'])})"
            )
        if t["estimated_left_s"] is not None:
            lines.append(
                f"pace: {human_duration(t['seconds_per_experiment'])} per experiment; the rest "
                f"of the budget would take about {human_duration(t['estimated_left_s'])}"
            )
    if p.get("pareto") is not None:
        lines.append(
            f"Pareto set: {counted(len(p['pareto']), 'experiment')} "
            f"({', '.join(str(x['experiment']) for x in p['pareto'])})"
        )
        if p.get("hypervolume") is not None:
            ref = ", ".join(f"{k} {v:g}" for k, v in p["reference"].items())
            lines.append(f"hypervolume: {p['hypervolume']:.6g} (reference point: {ref})")
    if p.get("confirmation"):
        lines.append(_confirmation_text(p["confirmation"]))
    if p["state"] in ("paused", "interrupted"):
        lines.append(f"continue with: genesis-lab resume {p['directory']}")
    b = p["best"]
    if b is None:
        lines.append("best: none" if p["state"] in ("finished", "stopped") else "best: none yet")
    else:
        c = p.get("confirmation") or {}
        doubt = (
            " (not confirmed: see the confirmation line above)"
            if c.get("experiment") == b["experiment"] and c.get("confirmed") is False
            else ""
        )
        if b.get("entered_by_hand"):
            doubt += " (a result entered with 'suggest --result'; the lab did not measure it)"
        lines.append(f"best: experiment {b['experiment']}{doubt}")
        for k, v in b["objectives"].items():
            goal = next((o["goal"] for o in p["objectives"] if o["name"] == k), "")
            lines.append(f"  {k} = {_fmt(v)}  ({goal})")
        lines.append("  parameters:")
        for k, v in b["parameters"].items():
            lines.append(f"    {k} = {_fmt(v)}")
    return "\n".join(lines)


def _confirmation_text(c: dict[str, Any]) -> str:
    """One line on the confirmation replicates, and whether a later experiment has become
    the best since (stores from older versions lack the per-objective statistics and the
    list of unusable replicates)."""
    text = _verdict_text(c)
    if c.get("superseded_by") is not None:
        text += (
            f" [of experiment {c['experiment']}; the best is now experiment "
            f"{c['superseded_by']}, recorded after the confirmation]"
        )
    return text


def _verdict_text(c: dict[str, Any]) -> str:
    usable = len(c["replicates"])
    measured = c.get("measured", usable)
    bad = c.get("unusable") or []
    of = f"replicates of experiment {c['experiment']}"
    first = c.get("original")
    first = f", first measured {first:.4g}" if isinstance(first, int | float) else ""
    why = "; ".join(f"{b['experiment']}: {b['reason']}" for b in bad)
    if c.get("mean") is None:
        return (
            f"not confirmed: {usable} of {measured} {of} gave a feasible result"
            f"{f' ({why})' if why else ''}; a confidence interval needs at least 2"
        )
    per = c.get("objectives") or {c["objective"]: c}
    stats = "; ".join(
        f"{name} = {v['mean']:.4g} ± {v['half_width']:.2g}" for name, v in per.items()
    )
    ci = f"{int(100 * c['level'])}% CI"
    share = c.get("share_of_earlier_beaten")
    beaten = (
        f"; better than {100 * share:.0f}% of the experiments before the confirmation"
        if share is not None
        else ""
    )
    if bad:
        return (
            f"not confirmed: {len(bad)} of {measured} {of} failed or were infeasible ({why}); "
            f"the other {usable}: {stats} ({ci}{first})"
        )
    if c.get("agrees_with_original") is False:
        lo, hi = c["prediction_interval"]
        side = "below" if c["original"] > c["mean"] else "above"
        return (
            f"not confirmed: {usable} {of} give {stats} ({ci}), {side} the first measurement "
            f"{c['original']:.4g}, which lies outside the range one measurement would fall in "
            f"({lo:.4g} to {hi:.4g}); the best value is not reproducible"
        )
    return f"confirmed: {stats} ({ci}, {usable} {of}{first}){beaten}"


def experiment_rows(ledger: Ledger) -> list[dict[str, Any]]:
    """One flat row per experiment: id, status, parameters, objectives, readings, ..."""
    rows = []
    for e in ledger.experiments():
        row: dict[str, Any] = {
            "experiment": e.id,
            "status": e.status,
            "origin": e.origin,
            "run_uid": e.run_uid or "",
            # ISO 8601 with the UTC offset: a person reads it, spreadsheets and pandas parse it
            "proposed_at": _iso(e.proposed_at, "milliseconds") or "",
            "started_at": _iso(e.started_at, "milliseconds") or "",
            "finished_at": _iso(e.finished_at, "milliseconds") or "",
            "attempts": e.attempts,
            "acquisition": "" if e.acquisition is None else e.acquisition,
            # feasible: "true"/"false" once known (a done experiment can be infeasible when an
            # outcome constraint is broken); failure_kind says why (decision 7)
            "feasible": "" if e.feasible is None else str(bool(e.feasible)).lower(),
            "failure_kind": e.failure_kind or "",
            "error": e.error or "",
        }
        row.update({f"param.{k}": v for k, v in e.parameters.items()})
        row.update({f"objective.{k}": ("" if v is None else v) for k, v in e.objectives.items()})
        row.update({f"reading.{k}": ("" if v is None else v) for k, v in e.readings.items()})
        rows.append(row)
    return rows
