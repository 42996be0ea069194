"""The closed loop: propose → record → check safety → run → extract → learn.

:class:`CampaignRunner` drives one campaign against its ledger. ``run`` and
``resume`` are the same loop; resume first settles what a crash left behind
and rebuilds the agent by replaying the ledger.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from plans import experiment

from .agent import Agent, Observation
from .documents import invalid_readings, readings_from_documents, run_completed
from .errors import GenesisError, counted, storage_problem, store_failure_text
from .executor import EmbeddedExecutor, RunOutcome, StopRequest
from .lab import Lab
from .ledger import Experiment, Ledger, to_json
from .objectives import compile_objectives, compile_outcome_constraints
from .provenance import static_provenance
from .spec import CampaignSpec

__all__ = [
    "CampaignRunner",
    "Stop",
    "CampaignInterrupted",
    "StoreFailure",
    "best_experiment",
    "MODEL_ORIGINS",
]

MODEL_ORIGINS = ("initial", "model", "random")
MAX_CONSECUTIVE_REFUSALS = 25
#: attempts of one experiment cut short by a connection that came back, retried without
#: spending one of the campaign's ``retries`` (a flapping link still ends as a failure)
MAX_RECONNECT_RETRIES = 3
# failures the model learns as "do not go there": the sample or the point itself was bad
# (a scientific failure, a refusal by the safety envelope, or readings on which the campaign's
# own expressions break); infrastructure and instrument failures say nothing about the point
LEARNED_FAILURES = ("scientific", "refused", "evaluation")


def _measured(e: Experiment) -> bool:
    """A real measurement of the point: done, or a failure the model learns from."""
    return e.status == "done" or (e.status == "failed" and e.failure_kind in LEARNED_FAILURES)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Stop(NamedTuple):
    """Why the loop ended.  ``finished``: a budget or stop rule was met.  Otherwise it stopped
    for a person to act (repeated failures or refusals); the reason says what to do."""

    reason: str
    finished: bool


class InstrumentLost(Exception):
    """An instrument the campaign uses lost its connection and did not come back in time;
    the message says what happened to the experiment and what to do."""


class CampaignInterrupted(Exception):
    """Ctrl-C: the ledger is consistent and the campaign can be resumed."""


class StoreFailure(GenesisError):
    """The ledger could not record a document: the campaign must stop, not go on blind."""


@dataclass
class Progress:
    """What the CLI shows after each experiment."""

    completed: int
    budget: int
    experiment: Experiment
    best: Experiment | None


def best_experiment(experiments: list[Experiment], campaign: CampaignSpec) -> Experiment | None:
    """The best feasible done experiment by the first objective (replicates excluded)."""
    obj = campaign.objectives[0]
    done = [
        e
        for e in experiments
        if e.status == "done"
        and e.feasible is not False
        and e.origin != "confirm"
        and isinstance(e.objectives.get(obj.name), int | float)
    ]
    if not done:
        return None

    def key(e: Experiment) -> float:
        return e.objectives[obj.name]

    return max(done, key=key) if obj.goal == "maximize" else min(done, key=key)


class CampaignRunner:
    def __init__(
        self,
        campaign: CampaignSpec,
        lab: Lab,
        ledger: Ledger,
        *,
        budget: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        stop: StopRequest | None = None,
    ):
        self.campaign = campaign
        self.lab = lab
        self.ledger = ledger
        self.budget = budget or ledger.meta("budget") or campaign.budget.experiments
        self.on_progress = on_progress
        self.stop = stop or StopRequest()
        self.executor = EmbeddedExecutor(self.stop)
        self.agent = Agent(campaign)
        self.objectives = compile_objectives(campaign, lab, f"campaign {campaign.name}")
        self.outcome_constraints = compile_outcome_constraints(
            campaign, lab, f"campaign {campaign.name}"
        )
        self.detectors = [lab.devices[d] for d in campaign.measure]
        self._static = static_provenance(lab)
        self._refusals = 0
        self._breaker_from = 0  # failures of experiments up to this id no longer count
        self._observations: dict[int, tuple[Experiment, Observation | None]] = {}
        self._sessions: tuple[float, float] | None = None  # see _time_driven

    # ------------------------------------------------------------ state
    def completed(self) -> int:
        """Finished experiments that count against the budget (replicates do not)."""
        return self.ledger.count_completed()

    def replay(self) -> None:
        """Rebuild the agent from the ledger (no pickle: configuration + log)."""
        exps = self.ledger.experiments()
        self.agent.n_suggested = sum(e.origin in MODEL_ORIGINS for e in exps)
        self._sync_agent(exps)
        # scan ids go on from the runs already stored (bluesky's next one is this + 1), so a
        # resumed campaign's raw documents number their runs as an uninterrupted one's do
        self.executor.RE.md["scan_id"] = len(self.ledger.run_uids())

    def _sync_agent(self, exps: list[Experiment]) -> None:
        """Give the agent the ledger's whole observation log, in experiment order.

        Done before every proposal, so that a result recorded by another process while the
        campaign runs (``genesis-lab suggest --result``) is learned, and so that a running and
        a resumed campaign always see the same log in the same order."""
        cache = self._observations
        log = []
        for e in exps:
            hit = cache.get(e.id)
            if hit is None or hit[0] is not e:  # the ledger hands out a new object on change
                hit = cache[e.id] = (e, self._observation(e))
            if hit[1] is not None:
                log.append(hit[1])
        self.agent.observations[:] = log

    def _observation(self, e: Experiment) -> Observation | None:
        if e.status == "done":
            return Observation(
                e.parameters, {k: v for k, v in e.objectives.items()}, feasible=bool(e.feasible)
            )
        if e.status in ("failed", "refused") and e.failure_kind in LEARNED_FAILURES:
            return Observation(e.parameters, {}, feasible=False)
        return None

    def settle_interrupted(self, mode: str | None = None) -> list[str]:
        """After a crash: recover or requeue experiments left 'running'.

        ``mode`` (``requeue`` or ``drop``) overrides the campaign's ``interrupted`` setting
        for these experiments only.  A recovered result is stored without a device snapshot:
        the instruments' state after that run was never recorded."""
        mode = mode or self.campaign.interrupted
        notes = []
        by_experiment: dict[int, list[str]] = {}
        for uid in self.ledger.run_uids():
            docs = self.ledger.documents(uid)
            start = next((d for n, d in docs if n == "start"), {})
            if start.get("campaign") == self.campaign.name and "experiment" in start:
                by_experiment.setdefault(int(start["experiment"]), []).append(uid)
        for e in self.ledger.experiments("running"):
            uid = (by_experiment.get(e.id) or [None])[-1]
            docs = self.ledger.documents(uid) if uid else []
            if uid and run_completed(docs):
                self._settle_success(e, uid, docs, recovered=True)
                notes.append(
                    f"experiment {e.id}: its run {uid[:8]} had completed; result recovered"
                )
            else:
                reason = "interrupted (process stopped mid-run)"
                self._abort_and_requeue(e, uid, reason, requeue=mode == "requeue")
                then = "re-queued" if mode == "requeue" else "dropped"
                notes.append(f"experiment {e.id}: interrupted mid-run; aborted and {then}")
        return notes

    def _abort_and_requeue(
        self, e: Experiment, uid: str | None, reason: str, requeue: bool | None = None
    ) -> None:
        if requeue is None:
            requeue = self.campaign.interrupted == "requeue"
        self.ledger.abort(e.id, reason, run_uid=uid, requeue=requeue)

    def device_state(self) -> dict[str, Any]:
        """JSON snapshots of every device that can give one (simulated twins)."""
        return {
            name: dev.get_state()
            for name, dev in self.lab.devices.items()
            if callable(getattr(dev, "get_state", None))
        }

    def restore_devices(self) -> bool:
        """Put simulated instruments back where the last finished experiment left them."""
        state = self.ledger.last_device_state()
        if not state:
            return False
        for name, snap in state.items():
            dev = self.lab.devices.get(name)
            if dev is not None and callable(getattr(dev, "set_state", None)):
                dev.set_state(snap)
        return True

    def optimizer_changes(self) -> str | None:
        """On resume: how the optimizer differs from the one behind the campaign's last
        proposal (another version of Genesis Lab, whose defaults may differ), or None."""
        last = next(
            (
                e
                for e in reversed(self.ledger.experiments())
                if e.origin in MODEL_ORIGINS and "optimizer_config" in e.provenance
            ),
            None,
        )
        if last is None:
            return None
        now = json.loads(to_json(self.agent.provenance()))  # as it would be stored
        was = {k: last.provenance.get(k) for k in ("optimizer", "optimizer_version")}
        was.update(last.provenance["optimizer_config"])
        cur = {k: now.get(k) for k in ("optimizer", "optimizer_version")}
        cur.update(now["optimizer_config"])
        diff = [
            f"{k} {_shown(was.get(k))} -> {_shown(cur.get(k))}"
            for k in sorted(set(was) | set(cur))
            if was.get(k) != cur.get(k)
        ]
        if not diff:
            return None
        return (
            f"the optimizer differs from the one that proposed experiment {last.id}: "
            f"{'; '.join(diff)}. Recorded experiments stay as they are; new proposals come "
            "from the optimizer as it is now"
        )

    def reset_breaker(self) -> None:
        """On resume: failures so far no longer count towards ``max_consecutive_failures``
        (the breaker stopped the campaign for a person to look; resuming says they did)."""
        exps = self.ledger.experiments()
        last = next((e for e in reversed(exps) if e.status in ("done", "failed")), None)
        if last is not None and last.failure_kind == "evaluation":
            return  # the campaign's expressions are stored with it: resuming cannot fix them
        self._breaker_from = max((e.id for e in exps), default=0)

    # ------------------------------------------------------------ the loop
    def _needs_person(self, exps: list[Experiment]) -> Stop | None:
        """Repeated failures or refusals.  Checked before the finishing rules, so a budget
        that runs out during a failure streak still stops for a person (and keeps the
        confirmation stage for after the repair), and before every queued experiment."""
        streak = 0
        for e in reversed(exps):
            if e.id <= self._breaker_from:
                break
            if e.status not in ("done", "failed"):
                continue
            if e.status == "done" or e.failure_kind == "scientific":
                break
            streak += 1
        if streak >= self.campaign.max_consecutive_failures:
            last = next(e for e in reversed(exps) if e.status == "failed")
            if last.failure_kind == "evaluation":
                return Stop(
                    f"stopped after {streak} failures in a row: the campaign's objectives or "
                    f"outcome constraints could not be evaluated (last: {last.error}); the "
                    "readings are in the ledger ('genesis-lab export'); fix the campaign file "
                    "and start a new campaign with it",
                    False,
                )
            return Stop(
                f"stopped after {streak} instrument failures in a row (last: {last.error}); "
                "check the instruments, then 'genesis-lab resume'",
                False,
            )
        if self._refusals >= MAX_CONSECUTIVE_REFUSALS:
            return Stop(
                f"stopped: {self._refusals} proposals in a row were refused by the safety "
                "envelope (see 'genesis-lab export' for the reasons); widen the limits in the "
                "lab file or narrow the parameter bounds, and start a new campaign with the "
                "corrected files (resume runs with the files stored with the campaign)",
                False,
            )
        return None

    def _finished(self, exps: list[Experiment]) -> Stop | None:
        if self.completed() >= self.budget:
            return Stop(f"budget of {counted(self.budget, 'experiment')} reached", True)
        wall = self.campaign.budget.wall_time
        if wall is not None and self._time_driven() >= wall:
            return Stop(f"wall-time budget of {wall:g} s reached (time spent running)", True)
        rules = self.campaign.stop
        best = best_experiment(exps, self.campaign)
        obj = self.campaign.objectives[0]
        if rules.target is not None and best is not None:
            v = best.objectives[obj.name]
            if (v >= rules.target) if obj.goal == "maximize" else (v <= rules.target):
                return Stop(
                    f"target {obj.name} {rules.target:g} reached by experiment {best.id}", True
                )
        if rules.no_improvement and best is not None:
            # measurements only: an instrument that fails says nothing about improvement
            since = sum(1 for e in exps if e.id > best.id and _measured(e))
            if since >= rules.no_improvement:
                return Stop(f"no improvement in {counted(since, 'experiment')}", True)
        return None

    def _time_driven(self) -> float:
        """Seconds this campaign has been driven; earlier sessions are read once per process
        (only this process, the one driver, starts a session), not at every experiment."""
        if self._sessions is None:
            self._sessions = self.ledger.driven_sessions()
        before, start = self._sessions
        return before + max(0.0, time.time() - start)

    def run(self) -> Stop:
        """Run until a stop rule holds, and say why. Raises CampaignInterrupted.

        The confirmation stage starts only when the campaign finished, never at a stop for
        failures, and the failure breaker also guards queued experiments (replicates, manual
        and re-queued ones), so replicates are not spent on a broken instrument.
        """
        self.ledger.set_meta("stop_reason", None)  # running again: an earlier stop no longer holds
        with self.stop:
            while True:
                if self.stop.requested:
                    raise CampaignInterrupted()
                exps = self.ledger.experiments()
                stop = self._needs_person(exps)
                if stop is None:
                    try:
                        stop = self._advance(exps)
                    except InstrumentLost as lost:
                        stop = Stop(str(lost), False)
                    if stop is None:
                        continue
                    if stop.finished:
                        if self._queue_confirmation(exps):
                            continue
                        self._summarize_confirmation()
                self.ledger.set_meta("stop_reason", stop.reason)
                self.ledger.set_meta("stop_finished", stop.finished)
                self.ledger.note("stopped", {"reason": stop.reason, "finished": stop.finished})
                return stop

    def _advance(self, exps: list[Experiment]) -> Stop | None:
        """Run the next experiment (a queued one first: manual and re-queued experiments run
        whatever the budget) and return None, or return why the campaign is finished."""
        queued = [e for e in exps if e.status == "proposed"]
        if queued:
            self.execute(queued[0])
            return None
        stop = self._finished(exps)
        if stop is not None:
            return stop
        nxt = self._next_experiment(exps)
        if nxt is not None:
            self.execute(nxt)
            return None
        return Stop(
            f"every one of the {self.agent.space.size:.0f} points of the campaign's finite "
            "space has been measured",
            True,
        )

    def _next_experiment(self, exps: list[Experiment]) -> Experiment | None:
        """Ask the agent for the next batch, record every proposal, return the first (None
        when a finite space has no point left to measure)."""
        self._sync_agent(exps)
        n = min(self.campaign.optimizer.batch_size, max(1, self.budget - self.completed()))
        first = self.agent.n_suggested
        ids = []
        proposals = self.agent.suggest(n)
        state = self.agent.model_state()  # one fitted model behind the whole batch
        for i, proposal in enumerate(proposals):
            prov = {
                **self._static,
                **self.agent.provenance(),
                "acquisition": proposal.acquisition,
                "proposal_index": first + i,
                "observations": len(self.agent.observations),  # what the agent had learned
                "batch": {"size": n, "position": i},
            }
            if proposal.origin == "model" and state is not None:
                prov["model_state"] = state
            ids.append(
                self.ledger.propose(
                    proposal.parameters,
                    origin=proposal.origin,
                    acquisition=proposal.acquisition,
                    provenance=prov,
                )
            )
        return self.ledger.experiment(ids[0]) if ids else None

    # ------------------------------------------------------------ confirmation
    def _queue_confirmation(self, exps: list[Experiment]) -> bool:
        """Once the campaign finished, queue the replicates of the best point; later, queue
        replacements for replicates that an instrument or infrastructure failure lost (the
        failure breaker bounds this).  True if anything was queued."""
        spec = self.campaign.confirm
        if spec is None:
            return False
        of = self.ledger.meta("confirmation_queued")
        if of is None:
            best = best_experiment(exps, self.campaign)
            if best is None:
                return False
        else:
            best = next(e for e in exps if e.id == of)
        reps = _replicates_of(exps, best.id)
        kept = sum(_measured(e) or e.status in ("proposed", "running", "refused") for e in reps)
        for k in range(len(reps), len(reps) + spec.replicates - kept):
            self.ledger.propose(
                best.parameters,
                origin="confirm",
                provenance={**self._static, "replicate_of": best.id, "replicate": k + 1},
            )
        self.ledger.set_meta("confirmation_queued", best.id)
        return kept < spec.replicates

    def _summarize_confirmation(self) -> None:
        spec = self.campaign.confirm
        of = self.ledger.meta("confirmation_queued")
        if spec is None or of is None or self.ledger.meta("confirmation"):
            return
        self.ledger.set_meta(
            "confirmation",
            confirmation_summary(self.ledger.experiments(), self.campaign, int(of), spec.level),
        )

    def execute(self, e: Experiment) -> None:
        # this process and this lab run it, whoever queued it ('suggest', an earlier process);
        # the runner's own proposals already say so (no extra write in the loop)
        if any(e.provenance.get(k) != v for k, v in self._static.items()):
            self.ledger.stamp_provenance(e.id, self._static)
        lost, _ = self._instruments_lost()
        if lost:
            raise InstrumentLost(
                f"{lost}; experiment {e.id} has not started and runs first on "
                f"'genesis-lab resume {self.ledger.directory}' once the instrument is back"
            )
        targets = {p.device: e.parameters[p.name] for p in self.campaign.parameters}
        current = self.lab.positions(targets)
        unknown = self.lab.envelope.unknown_positions(targets, current)
        if unknown:  # the instrument's state, not the proposal: not learned, breaker counts
            self.ledger.finish(e.id, "failed", error="; ".join(unknown), failure_kind="instrument")
            self._report(e.id)
            return
        reasons = self.lab.envelope.check(targets, current)
        if reasons:
            self._refusals += 1
            self.ledger.finish(
                e.id, "refused", error="; ".join(reasons), failure_kind="refused", feasible=False
            )
            self._report(e.id)
            return
        refusals, self._refusals = self._refusals, 0
        attempt = reconnects = 0  # failed attempts; attempts cut short by a lost connection
        while True:
            if self.stop.requested:
                raise CampaignInterrupted()
            self.ledger.start(e.id)
            self._store_error: BaseException | None = None
            outcome = self.executor.run(self._plan(e, targets), self._store_document)
            if self._store_error is not None:
                err = self._store_error
                problem = storage_problem(err)
                if problem is not None:
                    text = store_failure_text(self.ledger.directory, *problem, err, resumable=True)
                else:
                    text = (
                        f"could not record a document of experiment {e.id} in "
                        f"{self.ledger.directory}: {type(err).__name__}: {err}"
                    )
                raise StoreFailure(text) from err
            if outcome.status == "interrupted":
                self._abort_and_requeue(e, outcome.uid, outcome.error or "interrupted")
                raise CampaignInterrupted()
            if outcome.status == "success":
                assert outcome.uid is not None
                self._settle_success(e, outcome.uid, outcome.documents)
                break
            try:
                lost, came_back = self._instruments_lost()
            except CampaignInterrupted:  # Ctrl-C while waiting for the instrument
                self._abort_and_requeue(e, outcome.uid, outcome.error or "interrupted")
                raise
            if lost:  # not the experiment's failure: nothing counted, queued again
                self._abort_and_requeue(e, outcome.uid, f"{lost} ({outcome.error})", True)
                raise InstrumentLost(
                    f"{lost}; experiment {e.id} was aborted and queued again; it runs first on "
                    f"'genesis-lab resume {self.ledger.directory}' once the instrument is back"
                )
            if came_back and reconnects < MAX_RECONNECT_RETRIES:  # the outage, not the point
                reconnects += 1
                self.ledger.note(
                    "retry",
                    {"after": "connection back", "error": outcome.error, "run_uid": outcome.uid},
                    experiment=e.id,
                )
                continue
            attempt += 1
            if outcome.retryable and attempt <= self.campaign.retries:
                self.ledger.note(
                    "retry",
                    {"attempt": attempt, "error": outcome.error, "run_uid": outcome.uid},
                    experiment=e.id,
                )
                continue
            self._settle_failure(e, outcome)
            if outcome.failure_kind == "refused":  # the instrument refused the target
                self._refusals = refusals + 1
            break
        self._report(e.id)

    def _instruments_lost(self) -> tuple[str | None, bool]:
        """(None when every instrument the campaign uses is connected, else what is lost as
        the start of a stop reason; whether one was lost and came back), waiting up to the
        lab's ``reconnect_timeout`` for one that lost its connection (an IOC restarting)."""
        names = self.campaign.devices
        lost = self.lab.disconnected(names)
        if not lost:
            return None, False
        wait = float(self.lab.spec.reconnect_timeout)
        self.ledger.note("connection_lost", {"devices": lost, "waiting_s": wait})
        deadline = time.monotonic() + wait
        while lost and time.monotonic() < deadline:
            if self.stop.requested:
                raise CampaignInterrupted()
            time.sleep(0.2)
            lost = self.lab.disconnected(names)
        if not lost:
            self.ledger.note("connection_back", {"devices": names})
            return None, True
        return (
            f"stopped: lost the connection to {', '.join(lost)}, which did not come back "
            f"within {wait:g} s (reconnect_timeout in the lab file)"
        ), False

    def _plan(self, e: Experiment, targets: dict[str, Any]) -> Any:
        path = self.lab.envelope.path(targets, self.lab.positions(targets))
        objects = [{self.lab.component(t): v for t, v in point.items()} for point in path]
        md = {
            "campaign": self.campaign.name,
            "experiment": e.id,
            "proposal": e.parameters,
            "origin": e.origin,
        }
        return experiment(
            objects[-1],
            self.detectors,
            md=md,
            waypoints=objects[:-1],
            settle_time=self.campaign.settle_time,
        )

    def _store_document(self, name: str, doc: dict[str, Any]) -> None:
        # one run at a time: every document belongs to the latest start
        if name == "start":
            self._run_uid = doc["uid"]
        try:
            self.ledger.add_document(self._run_uid, name, doc)
        except BaseException as exc:
            self._store_error = exc
            raise

    def _settle_success(
        self,
        e: Experiment,
        uid: str,
        docs: list[tuple[str, dict[str, Any]]],
        *,
        recovered: bool = False,
    ) -> None:
        # a result recovered after a crash gets no snapshot: the devices' state after its
        # run was never recorded, and the one in memory now is an earlier experiment's
        state = None if recovered else self.device_state()
        readings = readings_from_documents(docs)
        objectives: dict[str, float] = {}
        problems = invalid_readings(docs)
        broken: list[str] = []  # the campaign's own expressions or functions raised
        for ev in self.objectives:
            try:
                v = ev(readings)
            except Exception as exc:  # user code (function:) may raise anything
                v = math.nan
                broken.append(f"objective {ev.name} could not be evaluated: {_describe(exc)}")
            else:
                if not math.isfinite(v):
                    problems.append(f"{ev.name} is {v} (readings not finite or out of range)")
            objectives[ev.name] = v
        constraint_values = []
        if not problems and not broken:
            for ev, c in self.outcome_constraints:
                try:
                    constraint_values.append((c, ev(readings)))
                except Exception as exc:
                    broken.append(
                        f"outcome constraint {c.expression!r} could not be evaluated: "
                        f"{_describe(exc)}"
                    )
        if problems or broken:
            self.ledger.finish(
                e.id,
                "failed",
                objectives=objectives,
                readings=readings,
                feasible=False,
                run_uid=uid,
                error="; ".join(broken + problems),
                # readings already known bad (NaN, saturated) are the sample's fault even when
                # an expression also breaks on them; only good readings blame the campaign file
                failure_kind="scientific" if problems else "evaluation",
                device_state=state,
            )
            return
        violated = []
        for c, v in constraint_values:
            too_low = c.min is not None and not v >= c.min
            too_high = c.max is not None and not v <= c.max
            if too_low or too_high:
                bound = f">= {c.min:g}" if too_low else f"<= {c.max:g}"
                violated.append(f"outcome constraint {c.expression} {bound} violated ({v:.4g})")
        feasible = not violated
        self.ledger.finish(
            e.id,
            "done",
            objectives=objectives,
            readings=readings,
            feasible=feasible,
            run_uid=uid,
            error="; ".join(violated) or None,
            failure_kind=None if feasible else "infeasible",
            device_state=state,
        )

    def _settle_failure(self, e: Experiment, outcome: RunOutcome) -> None:
        kind = outcome.failure_kind or "instrument"
        self.ledger.finish(
            e.id,
            "refused" if kind == "refused" else "failed",
            run_uid=outcome.uid,
            error=outcome.error,
            failure_kind=kind,
            feasible=False if kind == "refused" else None,
            device_state=self.device_state(),
        )

    def _report(self, eid: int) -> None:
        if self.on_progress is None:
            return
        exps = self.ledger.experiments()
        e = next(x for x in exps if x.id == eid)
        self.on_progress(
            Progress(self.completed(), self.budget, e, best_experiment(exps, self.campaign))
        )


def _replicates_of(exps: list[Experiment], of: int) -> list[Experiment]:
    """The confirmation replicates of experiment ``of`` (a campaign whose budget was raised
    after a confirmation can hold replicates of an earlier best too)."""
    return [e for e in exps if e.origin == "confirm" and e.provenance.get("replicate_of", of) == of]


def confirmation_summary(
    exps: list[Experiment], campaign: CampaignSpec, of: int, level: float
) -> dict[str, Any]:
    """Mean and confidence interval of the replicates of experiment ``of``, for every
    objective, against the campaign's other experiments.

    Only feasible replicates with a finite value for every objective enter the statistics;
    the others (infeasible, or failed scientifically) are listed with their reason, and then
    the point is not reported as reproduced."""
    from scipy import stats

    names = [o.name for o in campaign.objectives]
    obj = campaign.objectives[0]

    def values(e: Experiment) -> list[float] | None:
        vs = [e.objectives.get(n) for n in names]
        ok = all(isinstance(v, int | float) and math.isfinite(v) for v in vs)
        return [float(v) for v in vs] if ok else None  # type: ignore[arg-type]

    measured = [e for e in _replicates_of(exps, of) if _measured(e)]
    usable = [e for e in measured if e.status == "done" and e.feasible and values(e)]
    others = [
        e.objectives[obj.name]
        for e in exps
        if e.origin != "confirm"
        and e.id != of
        and e.status == "done"
        and e.feasible
        and isinstance(e.objectives.get(obj.name), int | float)
    ]
    original = next((e.objectives.get(obj.name) for e in exps if e.id == of), None)
    out: dict[str, Any] = {
        "objective": obj.name,
        "experiment": of,
        "original": original,
        "replicates": [e.objectives[obj.name] for e in usable],
        "measured": len(measured),
        "unusable": [
            {"experiment": e.id, "reason": e.error or e.failure_kind or "infeasible"}
            for e in measured
            if e not in usable
        ],
        "level": level,
    }
    if len(usable) < 2:
        return out
    n = len(usable)
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    table = np.array([values(e) for e in usable])  # replicates x objectives
    sd = table.std(axis=0, ddof=1)
    per: dict[str, Any] = {}
    for k, name in enumerate(names):
        mean, half = float(table[:, k].mean()), t * float(sd[k]) / math.sqrt(n)
        per[name] = {"mean": mean, "ci": [mean - half, mean + half], "half_width": half}
    mean = per[obj.name]["mean"]
    better = [v for v in others if (v > mean if obj.goal == "maximize" else v < mean)]
    # the range one more measurement of the point would fall in (t prediction interval): a
    # first measurement outside it was luck (or a typo) that the replicates do not reproduce
    first = names.index(obj.name)
    spread = max(t * float(sd[first]) * math.sqrt(1 + 1 / n), 1e-9 * max(1.0, abs(mean)))
    agrees = None
    if isinstance(original, int | float) and math.isfinite(original):
        agrees = bool(abs(original - mean) <= spread)
    out.update(
        per[obj.name],
        objectives=per,
        share_of_earlier_beaten=1 - len(better) / len(others) if others else None,
        prediction_interval=[mean - spread, mean + spread],
        agrees_with_original=agrees,
    )
    return out


def _shown(value: Any) -> str:
    return "(not set)" if value is None else str(value)
