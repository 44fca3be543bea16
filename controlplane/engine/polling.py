"""``PollingTriggers``: evaluates the polling triggers of the stored flows (S3, GCS, SQS,
PostgreSQL...) every ``interval`` and starts one execution for each evaluation that finds
something.

Each :meth:`PollingTriggers.tick` is one pass over every enabled polling trigger of every
latest, enabled flow; it only decides which triggers are due and claims them, and hands their
evaluations to a pool of threads: a slow listing delays neither the pass nor the Schedule
triggers, which another thread fires (:mod:`controlplane.engine.scheduler`). A trigger whose
evaluation still runs is not evaluated again meanwhile.

What a trigger remembers is its document in ``repos.triggers`` (type ``poll``): ``next`` (when
it is next due), ``last`` and ``lastExecutionId``, ``pending`` (the executions it started that
had not ended when it last looked), ``stoppedBy`` (``stopAfter``), ``error`` (why the last
evaluation failed) and ``memory`` (what its implementation keeps between evaluations, such as
the objects it fired for).

Rules, in the order a pass applies them to one trigger:

* A trigger seen for the first time is due at once; then every ``interval`` after the moment
  of its last evaluation. One disabled in the flow, or turned off in its document
  (``disabled``, through the API or a ``Toggle`` task), is not evaluated.
* ``allowConcurrent: false`` (the default): while the execution it started last has not ended,
  the trigger is not evaluated.
* ``stopAfter``: an execution the trigger started that ended in one of those states disables it
  for good (``stoppedBy`` in its document).
* A due trigger is claimed by moving its ``next`` one interval ahead under the row's lock:
  of two schedulers that find it due, one claims it and evaluates; the other sees it claimed.
* ``conditions`` are tested with ``trigger.date`` (the evaluation's moment); when they do not
  hold, nothing is looked at.
* The evaluation runs the trigger's implementation (see
  :mod:`controlplane.engine.pollcontext`); when it answers variables, the execution is fired
  under the key ``poll:<namespace>/<flow>/<trigger>@<moment in UTC>``, so that the evaluation
  creates one execution whatever happens, and the trigger's memory is saved. As in Kestra, what
  a trigger does to what it found (move or delete the objects, delete the messages) is done
  before the execution is created, so that its tasks find the objects where the action put
  them. An evaluation that fails is logged and recorded in ``error``; the trigger is evaluated
  again at its next interval.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from controlplane.engine.attempt_functions import default_renderer
from controlplane.engine.commands import Commands, Firing
from controlplane.engine.conditions import holds
from controlplane.engine.cron import iso
from controlplane.engine.flowcache import flow_cache
from controlplane.engine.model import Execution, State, now
from controlplane.engine.passes import Passes
from controlplane.engine.pollcontext import PollContext
from controlplane.engine.ports import FlowRecord, Store
from controlplane.engine.runnable import runner_for
from controlplane.engine.schedule_state import POLL_TYPE
from controlplane.engine.triggercontext import trigger_context
from controlplane.errors import WeirError
from controlplane.spec.flow import Flow
from controlplane.spec.problems import FlowInvalid
from controlplane.spec.registry import imported

if TYPE_CHECKING:
    from controlplane.spec.plugins.polling import PollingTrigger

log = logging.getLogger(__name__)

_MARKER = ".Trigger"
"""What a flow's source holds when it may declare a polling trigger."""

TriggerKey = tuple[str, str, str]


@dataclass(frozen=True)
class PollingSettings:
    interval: float = 1.0
    """Seconds between two passes of the thread started by ``start``."""
    workers: int = 4
    """Evaluations that run at once."""


@dataclass(frozen=True)
class Poller:
    """One enabled polling trigger of the latest revision of an enabled flow."""

    flow: Flow
    revision: int
    spec: PollingTrigger

    @property
    def key(self) -> TriggerKey:
        return (self.flow.namespace, self.flow.id, self.spec.id)

    @property
    def where(self) -> str:
        return f"trigger '{self.spec.id}' of flow {self.flow.namespace}/{self.flow.id}"

    def fire_key(self, moment: datetime) -> str:
        return f"poll:{self.flow.namespace}/{self.flow.id}/{self.spec.id}@{iso(moment)}"


class PollingTriggers(Passes[list[Poller]]):
    thread_name = "weir-polling"

    def __init__(
        self,
        store: Store,
        engine: Commands,
        settings: PollingSettings | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.settings = settings or PollingSettings()
        super().__init__(store, engine, self.settings.interval, clock)
        self._busy: set[TriggerKey] = set()
        self._busy_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)  # a hung query must not hold it
            self._pool = None

    # -- one pass -----------------------------------------------------------------------------
    def tick(self) -> list[Future[Execution | None]]:
        """Claim the polling triggers due now and start their evaluations; returns them (each
        answers the execution it created, or None)."""
        with self._tick_lock:
            moment = self.clock()
            with self.store.unit(read_only=True) as repos:
                flows = self._current(repos.flows)
                docs = {
                    (s.namespace, s.flow_id, s.trigger_id): s.document
                    for s in repos.triggers.list_trigger_states()
                    if s.document.get("type") == POLL_TYPE
                }
                ended = {
                    execution_id: repos.executions.read_execution_state(execution_id)
                    for doc in docs.values()
                    for execution_id in doc.get("pending") or []
                }
            present: set[TriggerKey] = set()
            unreadable: set[tuple[str, str]] = set()
            started: list[Future[Execution | None]] = []
            for key, pollers in flows:
                if pollers is None:
                    unreadable.add(key)
                    continue
                for poller in pollers:
                    present.add(poller.key)
                    if self._due(poller, docs.get(poller.key), moment, ended):
                        started += self._start(poller, moment, ended)
            self._prune([k for k in docs if k not in present and k[:2] not in unreadable])
            return started

    def _due(
        self,
        poller: Poller,
        doc: dict[str, Any] | None,
        moment: datetime,
        ended: dict[str, State | None],
    ) -> bool:
        if poller.spec.disabled or poller.flow.disabled:
            return False
        with self._busy_lock:
            if poller.key in self._busy:
                return False
        if doc is None:
            return True
        if doc.get("disabled") is True or doc.get("stoppedBy"):  # Toggle, API or stopAfter
            return False
        if _not_yet(poller, doc, moment):
            return False
        return poller.spec.allowConcurrent or not _running(doc, ended)

    def _start(
        self, poller: Poller, moment: datetime, ended: dict[str, State | None]
    ) -> list[Future[Execution | None]]:
        doc = self._claim(poller, moment, ended)
        if doc is None:
            return []
        with self._busy_lock:
            self._busy.add(poller.key)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="weir-poll")
        return [self._pool.submit(self._evaluate_safely, poller, moment, doc)]

    def _claim(
        self, poller: Poller, moment: datetime, ended: dict[str, State | None]
    ) -> dict[str, Any] | None:
        """Move the trigger's ``next`` one interval ahead, unless another scheduler did."""
        with self.store.unit() as repos:
            doc = repos.triggers.read_trigger_state(*poller.key, for_update=True) or {}
            if _not_yet(poller, doc, moment):
                return None
            for execution_id in doc.get("pending") or []:
                if execution_id not in ended:
                    ended[execution_id] = repos.executions.read_execution_state(execution_id)
            if not poller.spec.allowConcurrent and _running(doc, ended):
                return None
            running = [i for i in doc.get("pending") or [] if _running({"pending": [i]}, ended)]
            stopped = _stopped(poller, doc, ended)
            if stopped is not None:
                log.info("%s is disabled: execution %s ended %s (stopAfter)",
                         poller.where, stopped["executionId"], stopped["state"])  # fmt: skip
                repos.triggers.update_trigger_state(
                    *poller.key, {**doc, "pending": running, "stoppedBy": stopped}
                )
                return None
            claimed = {**doc, "type": POLL_TYPE, "pending": running}
            claimed["next"] = iso(_next(poller, moment))
            claimed["evaluated"] = iso(moment)
            repos.triggers.update_trigger_state(*poller.key, claimed)
        return claimed

    # -- one evaluation -------------------------------------------------------------------------
    def _evaluate_safely(self, poller: Poller, moment: datetime, doc: dict[str, Any]) -> Any:
        try:
            return self._evaluate(poller, moment, doc)
        except Exception as exc:
            message = exc.message if isinstance(exc, WeirError) else f"{type(exc).__name__}: {exc}"
            log.warning("%s: evaluation failed: %s", poller.where, message)
            self._save(poller, {"error": f"{poller.where}: {message}"})
            return None
        finally:
            with self._busy_lock:
                self._busy.discard(poller.key)

    def _evaluate(self, poller: Poller, moment: datetime, doc: dict[str, Any]) -> Execution | None:
        spec, flow = poller.spec, poller.flow
        variables = trigger_context(
            self.engine.settings, flow, poller.revision, {"date": iso(moment)}
        )
        variables["vars"] = dict(flow.variables)
        if spec.conditions and not holds(
            spec.conditions, variables, self.renderer, where=poller.where
        ):
            return None
        runner = runner_for(type(spec))
        if runner is None:
            raise WeirError(f"{spec.type} has no implementation in this server")
        memory = dict(doc.get("memory") or {})
        ctx = PollContext(flow, poller.revision, spec, variables, self.store,
                          self.engine.settings.work_root, default_renderer(), memory)  # fmt: skip
        try:
            found = runner(spec, ctx)
            answer = None if found is None else self._fire(poller, moment, ctx, found)
        except Exception:
            ctx.discard()  # the files it downloaded belong to no execution
            raise
        finally:
            ctx.close()
        if answer is None:
            ctx.discard()
            if found is None:
                self._save(poller, {"memory": memory, "error": None})
            return None
        change: dict[str, Any] = {"memory": memory, "error": None, "last": iso(moment)}
        change["lastExecutionId"] = answer.id
        self._save(poller, change, started=answer.id)
        log.info("%s: started execution %s", poller.where, answer.id)
        return answer

    def _fire(
        self, poller: Poller, moment: datetime, ctx: PollContext, found: Mapping[str, Any]
    ) -> Execution | None:
        """The execution of what the evaluation found; None when this evaluation's key fired
        already (it cannot, the evaluation being claimed, but the key says so)."""
        flow = poller.flow
        firing = Firing(
            poller.fire_key(moment), flow.namespace, flow.id, {}, dict(poller.spec.labels),
            ctx.mask_value(_plain(dict(found))), ctx.execution_id,
        )  # fmt: skip
        (answer,) = self.engine.fire_all([firing])
        if isinstance(answer, WeirError):
            raise answer
        return answer

    def _save(self, poller: Poller, change: dict[str, Any], started: str | None = None) -> None:
        """Write ``change`` over the trigger's document as stored now (and add the execution
        ``started`` to those it follows)."""
        with self.store.unit() as repos:
            doc = repos.triggers.read_trigger_state(*poller.key, for_update=True) or {}
            doc = {**doc, "type": POLL_TYPE, **change}
            if started is not None:
                doc["pending"] = [*(doc.get("pending") or []), started]
            repos.triggers.update_trigger_state(*poller.key, doc)

    # -- flows --------------------------------------------------------------------------------
    def _parse(self, record: FlowRecord) -> list[Poller] | None:
        if _MARKER not in record.source:
            return []
        try:
            flow = flow_cache(self.store).parse(record)
        except FlowInvalid:
            where = f"{record.namespace}/{record.flow_id}"
            log.warning("flow %s revision %d does not validate; its polling triggers are not "
                        "evaluated", where, record.revision)  # fmt: skip
            return None
        polling = imported("polling")  # a flow holds none while their models are not imported
        if polling is None:
            return []
        return [
            Poller(flow, record.revision, spec)
            for spec in flow.triggers
            if isinstance(spec, polling.PollingTrigger)
        ]

    def _prune(self, gone: list[TriggerKey]) -> None:
        """Forget the state of polling triggers no flow declares any more."""
        if not gone:
            return
        with self.store.unit() as repos:
            for key in gone:
                repos.triggers.delete_trigger_state(*key)


def _next(poller: Poller, moment: datetime) -> datetime:
    interval = poller.spec.interval
    return moment + (interval if interval > timedelta(0) else timedelta(seconds=1))


def _not_yet(poller: Poller, doc: dict[str, Any], moment: datetime) -> bool:
    """Whether the trigger's next evaluation is still to come: ``interval`` after the last one
    (as the flow says now: a shorter interval takes effect at once)."""
    if doc.get("evaluated"):
        return _next(poller, datetime.fromisoformat(doc["evaluated"])) > moment
    return bool(doc.get("next")) and datetime.fromisoformat(doc["next"]) > moment


def _running(doc: dict[str, Any], ended: dict[str, State | None]) -> bool:
    """Whether the execution the trigger started last still runs."""
    for execution_id in doc.get("pending") or []:
        state = ended.get(execution_id)
        if state is not None and not state.terminal:
            return True
    return False


def _stopped(
    poller: Poller, doc: dict[str, Any], ended: dict[str, State | None]
) -> dict[str, str] | None:
    """The execution whose end disables the trigger (``stopAfter``), and its state."""
    for execution_id in doc.get("pending") or []:
        state = ended.get(execution_id)
        if state is not None and state.terminal and state.value in poller.spec.stopAfter:
            return {"executionId": execution_id, "state": state.value}
    return None


def _plain(value: Any) -> Any:
    """``value`` as the execution's ``trigger`` stores it: JSON, dates as ISO text."""
    return json.loads(json.dumps(value, default=str))
