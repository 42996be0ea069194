"""``genesis-lab devices``: connect each instrument of a lab, read it once, report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bluesky.protocols import Triggerable

from .lab import Lab
from .spec import load_lab

__all__ = ["inventory", "print_inventory"]


def inventory(lab_path: str, timeout: float = 5.0) -> tuple[list[dict[str, Any]], bool]:
    spec, _ = load_lab(Path(lab_path))
    lab = Lab(spec, f"lab file {lab_path}", base_dir=Path(lab_path).resolve().parent)
    rows, ok = [], True
    try:
        for name, dev in lab.devices.items():
            row: dict[str, Any] = {
                "name": name,
                "class": spec.devices[name].class_,
                "simulated": bool(getattr(dev, "simulated", False)),
                "connected": False,
                "settables": {
                    t.split(".", 1)[1]: _envelope(lim)
                    for t, lim in lab.envelope.limits.items()
                    if t.startswith(name + ".")
                },
                "readings": {},
                "read_latency_ms": None,
                "triggered": isinstance(dev, Triggerable),
                "error": None,
            }
            step = "connect"
            try:
                if hasattr(dev, "wait_for_connection"):
                    dev.wait_for_connection(timeout=timeout)
                row["connected"] = True
                step = "describe"
                desc = dev.describe()
                t0 = time.perf_counter()
                if isinstance(dev, Triggerable):
                    step = "trigger"
                    dev.trigger().wait(timeout=timeout)
                step = "read"
                reading = dev.read()
                row["read_latency_ms"] = round((time.perf_counter() - t0) * 1000, 3)
                for key, d in desc.items():
                    row["readings"][key] = {
                        "value": reading.get(key, {}).get("value"),
                        "units": d.get("units", ""),
                    }
                wider = lab.reported_range_problems([name])
                if wider:
                    ok = False
                    row["error"] = "; ".join(wider)
            except Exception as exc:
                ok = False
                timed_out = isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
                detail = str(exc) or (
                    f"did not finish within {timeout:g} s" if timed_out else "(no message)"
                )
                row["error"] = f"{step} failed: {type(exc).__name__}: {detail}"
            rows.append(row)
    finally:
        lab.close()
    return rows, ok


def _envelope(lim: Any) -> dict[str, Any]:
    """The whole safety envelope of one settable, as JSON."""
    if lim.choices is not None:
        return {"choices": list(lim.choices)}
    return {
        "min": lim.low,
        "max": lim.high,
        "max_step": lim.max_step,
        "forbidden": [list(f) for f in lim.forbidden],
    }


def _envelope_text(name: str, v: dict[str, Any]) -> str:
    if "choices" in v:
        return f"{name} one of {v['choices']}"
    text = f"{name} [{v['min']:g}, {v['max']:g}]"
    if v.get("max_step") is not None:
        text += f" step <= {v['max_step']:g}"
    for lo, hi in v.get("forbidden") or []:
        text += f" not [{lo:g}, {hi:g}]"
    return text


def print_inventory(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="instruments")
    for col in (
        "name",
        "class",
        "kind",
        "connected",
        "settables [limits]",
        "readings",
        "trigger+read ms",
    ):
        t.add_column(col)
    for r in rows:
        sets = "\n".join(_envelope_text(k, v) for k, v in r["settables"].items())
        reads = "\n".join(
            f"{k} = {v['value']:.4g}{_unit_text(v['units'])}"
            if isinstance(v["value"], float)
            else f"{k} = {v['value']}{_unit_text(v['units'])}"
            for k, v in r["readings"].items()
        )
        t.add_row(
            r["name"],
            r["class"],
            "simulated" if r["simulated"] else "real",
            ("yes" if r["connected"] else "NO") + (f": {r['error']}" if r["error"] else ""),
            sets,
            reads,
            "" if r["read_latency_ms"] is None else f"{r['read_latency_ms']:.2f}",
        )
    Console(width=160).print(t)


def _unit_text(units: str | None) -> str:
    """Units after a value in the table: none for a dimensionless reading ("1" by convention)."""
    return "" if units in (None, "", "1") else f" {units}"
