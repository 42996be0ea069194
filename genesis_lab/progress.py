"""Progress on stderr: a rich bar on a terminal, one line per experiment otherwise."""

from __future__ import annotations

import sys
from typing import Any

from .runner import Progress

__all__ = ["ProgressDisplay"]


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class ProgressDisplay:
    def __init__(self, name: str, objective: str, budget: int, done: int, quiet: bool = False):
        self.objective = objective
        self.quiet = quiet
        self._bar = None
        if quiet:
            return
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("best {task.fields[best]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task(name, total=budget, completed=done, best="–")
            self._bar.start()

    def __call__(self, p: Progress) -> None:
        if self.quiet:
            return
        best = "–" if p.best is None else _fmt(p.best.objectives.get(self.objective))
        if self._bar is not None:
            self._bar.update(self._task, completed=p.completed, total=p.budget, best=best)
            return
        e = p.experiment
        if e.status == "done":
            what = ", ".join(f"{k}={_fmt(v)}" for k, v in e.objectives.items())
            if not e.feasible:  # e.g. an outcome constraint broken: not a candidate for best
                what += f" infeasible ({e.error})" if e.error else " infeasible"
        else:
            what = e.error or ""
        kind = ""
        if e.origin == "confirm":  # a re-measurement of the best: never the best itself
            of = e.provenance.get("replicate_of")
            kind = f" (replicate {e.provenance.get('replicate', '?')} of experiment {of})"
        elif e.origin == "manual":
            kind = " (yours)"
        print(
            f"[{p.completed}/{p.budget}] experiment {e.id}{kind} {e.status}: {what} (best {best})",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
