"""Summaries of a campaign store: the status payload, its text form, CSV rows."""

from __future__ import annotations

from typing import Any

import yaml

from .ledger import Ledger
from .runner import best_experiment
from .spec import CampaignSpec

__all__ = ["status_payload", "summary_text", "experiment_rows"]


def _campaign(ledger: Ledger) -> CampaignSpec:
    return CampaignSpec.model_validate(yaml.safe_load(ledger.meta("campaign_yaml")))


def status_payload(ledger: Ledger) -> dict[str, Any]:
    campaign = _campaign(ledger)
    exps = ledger.experiments()
    best = best_experiment(exps, campaign)
    counts = ledger.counts()
    counts["completed"] = counts["done"] + counts["failed"]
    return {
        "campaign": campaign.name,
        "directory": str(ledger.directory),
        "state": _state(ledger, counts),
        "budget": ledger.meta("budget"),
        "seed": ledger.meta("seed"),
        "counts": counts,
        "objectives": [{"name": o.name, "goal": o.goal} for o in campaign.objectives],
        "best": None if best is None else {
            "experiment": best.id,
            "parameters": best.parameters,
            "objectives": best.objectives,
            "run_uid": best.run_uid,
        },
        "stop_reason": ledger.meta("stop_reason"),
    }


def _state(ledger: Ledger, counts: dict[str, int]) -> str:
    if ledger.meta("stop_reason"):
        return "finished"
    if counts["running"]:
        return "running or interrupted"
    return "paused" if counts["completed"] or counts["proposed"] else "new"


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def summary_text(p: dict[str, Any]) -> str:
    c = p["counts"]
    lines = [f"campaign {p['campaign']} ({p['state']}) in {p['directory']}"]
    if p.get("stop_reason"):
        lines.append(f"stopped: {p['stop_reason']}")
    shown = ", ".join(f"{k} {v}" for k, v in c.items() if v and k != "completed")
    lines.append(f"experiments: {c['completed']} completed of {p['budget']} ({shown or 'none'})")
    b = p["best"]
    if b is None:
        lines.append("best: none yet")
    else:
        lines.append(f"best: experiment {b['experiment']}")
        for k, v in b["objectives"].items():
            goal = next((o["goal"] for o in p["objectives"] if o["name"] == k), "")
            lines.append(f"  {k} = {_fmt(v)}  ({goal})")
        lines.append("  parameters:")
        for k, v in b["parameters"].items():
            lines.append(f"    {k} = {_fmt(v)}")
    return "\n".join(lines)


def experiment_rows(ledger: Ledger) -> list[dict[str, Any]]:
    """One flat row per experiment: id, status, parameters, objectives, readings, ..."""
    rows = []
    for e in ledger.experiments():
        row: dict[str, Any] = {
            "experiment": e.id,
            "status": e.status,
            "origin": e.origin,
            "run_uid": e.run_uid or "",
            "proposed_at": e.proposed_at,
            "started_at": e.started_at or "",
            "finished_at": e.finished_at or "",
            "attempts": e.attempts,
            "acquisition": "" if e.acquisition is None else e.acquisition,
            "error": e.error or "",
        }
        row.update({f"param.{k}": v for k, v in e.parameters.items()})
        row.update({f"objective.{k}": ("" if v is None else v) for k, v in e.objectives.items()})
        row.update({f"reading.{k}": ("" if v is None else v) for k, v in e.readings.items()})
        rows.append(row)
    return rows
