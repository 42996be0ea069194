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
                    t.split(".", 1)[1]: {"min": lim.low, "max": lim.high, "max_step": lim.max_step}
                    for t, lim in lab.envelope.limits.items()
                    if t.startswith(name + ".")
                },
                "readings": {},
                "read_latency_ms": None,
                "error": None,
            }
            try:
                if hasattr(dev, "wait_for_connection"):
                    dev.wait_for_connection(timeout=timeout)
                row["connected"] = True
                desc = dev.describe()
                t0 = time.perf_counter()
                if isinstance(dev, Triggerable):
                    dev.trigger().wait(timeout=timeout)
                reading = dev.read()
                row["read_latency_ms"] = round((time.perf_counter() - t0) * 1000, 3)
                row["triggered"] = isinstance(dev, Triggerable)
                for key, d in desc.items():
                    row["readings"][key] = {
                        "value": reading.get(key, {}).get("value"),
                        "units": d.get("units", ""),
                    }
            except Exception as exc:
                ok = False
                row["error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
    finally:
        lab.close()
    return rows, ok


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
        sets = "\n".join(f"{k} [{v['min']:g}, {v['max']:g}]" for k, v in r["settables"].items())
        reads = "\n".join(
            f"{k} = {v['value']:.4g} {v['units']}"
            if isinstance(v["value"], float)
            else f"{k} = {v['value']} {v['units']}"
            for k, v in r["readings"].items()
        )
        t.add_row(
            r["name"],
            r["class"],
            "simulated" if r["simulated"] else "real",
            "yes" if r["connected"] else f"NO: {r['error']}",
            sets,
            reads,
            "" if r["read_latency_ms"] is None else f"{r['read_latency_ms']:.2f}",
        )
    Console(width=160).print(t)
