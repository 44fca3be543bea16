"""Flow triggers: an execution that ends starts the flows whose Flow trigger listens for it.

Each ``tick`` takes the ended executions the engine recorded (``repos.triggers.take_ends``; on
PostgreSQL they stay locked while the tick looks at them, so another scheduler skips them),
matches each against every enabled Flow trigger of every latest, enabled flow, starts what
matches with ``engine.fire``, then deletes the rows. A firing's key is
``flow:<namespace>/<flow>/<trigger>@<upstream execution>`` (``#<n>`` appended for the n-th end
of a restarted execution): if the process dies between firing and deleting, the next tick looks
again and the key makes the firing a no-op. Everything a tick does is idempotent, so two
schedulers that happen to look at the same end (SQLite, or between a tick's end and its delete)
start one execution. The flows' triggers are read again at most every ``index_ttl`` seconds and
parsed once per revision.

Matching follows Kestra: a flow never triggers itself; the execution's state must be one of the
trigger's ``states`` (all terminal states by default), its ``conditions`` (except
MultipleCondition) must hold, then each precondition group (``preconditions``, legacy
MultipleConditions; see ``preconditions.py``) must be complete. A group of several conditions
is remembered in the trigger's state document between executions, under a lock, with the ends
already counted (so an end seen twice counts once) and the firings decided but not yet made.

The new execution gets ``trigger`` = the upstream execution's facts (``executionId``,
``namespace``, ``flowId``, ``flowRevision``, ``state``, ``labels``, ``outputs``), the trigger's
``inputs`` rendered with the upstream context (``trigger``, ``outputs`` of its tasks,
``inputs``, ``labels``, ``execution``) over the trigger context every trigger type shares
(``flow``, ``envs``, ``globals``; see ``triggercontext.py``) and its ``labels``. A trigger
with ``stopAfter`` is disabled (in its state document) once an execution it started ends in
one of those states.

Only ended executions are seen: a trigger listening for RUNNING or PAUSED never fires.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from controlplane.engine.commands import Commands
from controlplane.engine.conditions import (
    DEFAULT_STATES,
    NotEvaluable,
    attempt_states,
    execution_facts,
    holds,
)
from controlplane.engine.flowcache import FlowCache, flow_cache
from controlplane.engine.model import Execution, now
from controlplane.engine.ports import FlowRecord, Repositories, Store
from controlplane.engine.preconditions import Group, groups_of, remember, reset
from controlplane.engine.reach import may_reach
from controlplane.engine.triggercontext import trigger_context
from controlplane.engine.variables import Lineage, nest_dotted, outputs_tree
from controlplane.errors import WeirError
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.triggers import FlowTrigger, MultipleCondition
from controlplane.spec.problems import FlowInvalid
from controlplane.spec.tasks import TaskSpec

log = logging.getLogger(__name__)

FLOW_TYPE = "io.kestra.plugin.core.trigger.Flow"
_KEEP = 1000
"""How many counted ends a trigger's state remembers."""
_RESTARTS = 5
"""How many ends of a restarted upstream execution ``stopAfter`` recognises."""


@dataclass(frozen=True)
class Listener:
    """One enabled Flow trigger of the latest revision of an enabled flow."""

    flow: Flow
    revision: int
    trigger: FlowTrigger
    conditions: list[BaseModel]
    groups: list[Group]

    @property
    def name(self) -> str:
        return f"flow {self.flow.ref} trigger {self.trigger.id}"

    @property
    def remembers(self) -> bool:
        """Whether a group must remember conditions between executions."""
        return any(len(group.checks) > 1 or not group.reset for group in self.groups)


@dataclass
class _Index:
    """Listeners of every latest flow revision, parsed once per revision."""

    parsed: dict[tuple[str, str, int], list[Listener]] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)
    read_at: float = -math.inf


class FlowTriggers:
    def __init__(
        self,
        store: Store,
        engine: Commands,
        clock: Callable[[], datetime] = now,
        interval: float = 0.25,
        batch: int = 100,
        index_ttl: float = 1.0,
    ) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.interval = interval
        self.batch = batch
        self.index_ttl = index_ttl
        """Seconds a list of the flows' Flow triggers is used before it is read again."""
        self._index = _Index()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._full = False

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="weir-flow-triggers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.wait(0 if self._full else self.interval):
            try:
                self.tick()
            except Exception:  # the database may be away for a while; the ends stay for later
                self._full = False
                log.exception("flow triggers: a pass failed; retrying")

    # -- one pass -----------------------------------------------------------------------------
    def tick(self) -> list[Execution]:
        """Look at up to ``batch`` ended executions; returns the executions started."""
        started: list[Execution] = []
        with self.store.unit(read_only=True) as repos:
            taken = repos.triggers.take_ends(self.batch)
            self._full = len(taken) >= self.batch
            if not taken:
                return started
            self._refresh(repos)
            disabled = self._disabled(repos)
            read = functools.lru_cache(maxsize=None)(repos.namespaces.read_namespace)
            for _, execution_id in taken:
                execution = repos.executions.read_execution(execution_id)
                if execution is None:
                    continue
                context = self._upstream_context(repos, execution)
                self._watch_ends(execution, disabled)
                for listener in self._index.listeners:
                    if (listener.flow.namespace, listener.flow.id, listener.trigger.id) in disabled:
                        continue
                    if not may_reach(read, listener.flow.namespace, execution.namespace):
                        continue  # another namespace's executions, which it does not share
                    made = self._consider(listener, execution, context)
                    if made is not None:
                        started.append(made)
        with self.store.unit() as repos:
            repos.triggers.delete_ends([seq for seq, _ in taken])
        return started

    def _consider(
        self, listener: Listener, execution: Execution, context: Mapping[str, Any]
    ) -> Execution | None:
        flow, trigger = listener.flow, listener.trigger
        if (flow.namespace, flow.id) == (execution.namespace, execution.flow_id):
            return None
        if execution.state.value not in (trigger.states or DEFAULT_STATES):
            return None
        variables = trigger_context(
            self.engine.settings, listener.flow, listener.revision, upstream=context
        )
        if not holds(listener.conditions, variables, self.engine.renderer, where=listener.name):
            return None
        if not listener.remembers:
            if not all(self._met_now(listener, g, variables) for g in listener.groups):
                return None
            return self._fire(listener, execution, variables)
        if not self._remember(listener, execution, variables):
            return None
        made = self._fire(listener, execution, variables)
        self._settle(listener, execution)
        return made

    def _met_now(self, listener: Listener, group: Group, variables: Mapping[str, Any]) -> bool:
        """A one-condition group that forgets once it fires: met when its condition is, now."""
        outcome = remember(
            group, None, variables, self.engine.renderer, self.clock(), listener.name
        )
        return outcome.complete

    # -- remembered preconditions ---------------------------------------------------------------
    def _remember(
        self, listener: Listener, execution: Execution, variables: Mapping[str, Any]
    ) -> bool:
        """Count the execution in the trigger's groups; whether a firing for it is due (decided
        now or by an earlier pass that did not finish)."""
        token = end_token(execution)
        moment = self.clock()
        with self.store.unit() as repos:
            state = _locked_state(repos, listener)
            if token in state["counted"]:
                return any(item["token"] == token for item in state["pending"])
            outcomes = {
                group.key: remember(
                    group, state["groups"].get(group.key), variables, self.engine.renderer,
                    moment, listener.name,
                )
                for group in listener.groups
            }  # fmt: skip
            if not any(outcome.matched for outcome in outcomes.values()):
                return False
            groups = {key: outcome.memory for key, outcome in outcomes.items()}
            due = all(outcome.complete for outcome in outcomes.values())
            if due:
                state["pending"].append({"token": token, "executionId": execution.id})
                for group in listener.groups:
                    if group.reset:
                        groups[group.key] = reset(groups[group.key])
            state["groups"] = groups
            state["counted"] = [*state["counted"], token][-_KEEP:]
            _save_state(repos, listener, state)
        return due

    def _settle(self, listener: Listener, execution: Execution) -> None:
        """Forget the firing decided for the execution, now that it was made."""
        token = end_token(execution)
        with self.store.unit() as repos:
            state = _locked_state(repos, listener)
            state["pending"] = [item for item in state["pending"] if item["token"] != token]
            _save_state(repos, listener, state)

    # -- firing -------------------------------------------------------------------------------
    def _fire(
        self, listener: Listener, execution: Execution, variables: Mapping[str, Any]
    ) -> Execution | None:
        flow, trigger = listener.flow, listener.trigger
        key = f"flow:{flow.namespace}/{flow.id}/{trigger.id}@{end_token(execution)}"
        renderer = self.engine.renderer
        try:
            inputs = renderer.render_value(trigger.inputs, variables, typed=True)
            labels = {k: str(renderer.render(v, variables)) for k, v in trigger.labels.items()}
            return self.engine.fire(
                key, flow.namespace, flow.id, inputs, labels, variables["trigger"]
            )
        except WeirError as exc:
            log.warning(
                "%s: no execution for the end of execution %s: %s",
                listener.name, execution.id, exc,
            )  # fmt: skip
            return None

    def _watch_ends(self, execution: Execution, disabled: set[tuple[str, str, str]]) -> None:
        """Disable a trigger with ``stopAfter`` once an execution it started ends so: the
        firing key of its upstream execution names the execution it started."""
        upstream = (execution.trigger or {}).get("executionId")
        if not isinstance(upstream, str):
            return
        for listener in self._index.listeners:
            flow, trigger = listener.flow, listener.trigger
            if (flow.namespace, flow.id) != (execution.namespace, execution.flow_id):
                continue
            if execution.state.value not in trigger.stopAfter:
                continue
            prefix = f"flow:{flow.namespace}/{flow.id}/{trigger.id}@{upstream}"
            keys = [prefix, *(f"{prefix}#{n}" for n in range(2, _RESTARTS + 2))]
            with self.store.unit() as repos:
                if all(repos.triggers.read_fire(key) != execution.id for key in keys):
                    continue
                state = _locked_state(repos, listener)
                stopped = {"executionId": execution.id, "state": execution.state.value}
                state.update(disabled=True, stoppedBy=stopped)
                _save_state(repos, listener, state)
            disabled.add((flow.namespace, flow.id, trigger.id))
            log.info(
                "%s is disabled: execution %s ended %s (stopAfter)",
                listener.name, execution.id, execution.state.value,
            )  # fmt: skip

    # -- what is known ------------------------------------------------------------------------
    def _refresh(self, repos: Repositories) -> None:
        if time.monotonic() < self._index.read_at + self.index_ttl:
            return
        parsed: dict[tuple[str, str, int], list[Listener]] = {}
        for record in repos.flows.list_flows():
            key = (record.namespace, record.flow_id, record.revision)
            found = self._index.parsed.get(key)
            parsed[key] = found if found is not None else _listeners(record, flow_cache(self.store))
        listening = [item for items in parsed.values() for item in items]
        self._index = _Index(parsed, listening, time.monotonic())

    def _disabled(self, repos: Repositories) -> set[tuple[str, str, str]]:
        return {
            (record.namespace, record.flow_id, record.trigger_id)
            for record in repos.triggers.list_trigger_states()
            if record.document.get("disabled") is True
        }

    def _upstream_context(self, repos: Repositories, execution: Execution) -> dict[str, Any]:
        """What the trigger's conditions and inputs see of the execution that ended."""
        tasks = self._upstream_tasks(repos, execution)
        return {
            "trigger": execution_facts(execution),
            "execution": {
                "id": execution.id,
                "startDate": execution.started.isoformat(),
                "state": execution.state.value,
                "originalId": execution.original_id or execution.id,
                "taskRuns": attempt_states(execution),
            },
            "inputs": execution.inputs,
            "outputs": outputs_tree(execution, Lineage(execution, tasks)),
            "labels": nest_dotted(execution.labels),
        }

    def _upstream_tasks(self, repos: Repositories, execution: Execution) -> dict[str, TaskSpec]:
        flows = flow_cache(self.store)
        revision = execution.flow_revision
        try:
            flow = flows.read(repos, execution.namespace, execution.flow_id, revision)
        except FlowInvalid:
            return {}
        return flows.plan(flow, revision).tasks if flow is not None else {}


def end_token(execution: Execution) -> str:
    """The execution's id, with ``#<n>`` from its second end on (a restarted execution)."""
    ends = sum(1 for transition in execution.history if transition.state.terminal)
    return execution.id if ends <= 1 else f"{execution.id}#{ends}"


def _listeners(record: FlowRecord, flows: FlowCache) -> list[Listener]:
    if ".Flow" not in record.source:
        return []
    flow = _parse(record, flows)
    if flow is None or flow.disabled:
        return []
    found: list[Listener] = []
    for trigger in flow.triggers:
        if not isinstance(trigger, FlowTrigger) or trigger.disabled:
            continue
        conditions = [c for c in trigger.conditions if not isinstance(c, MultipleCondition)]
        try:
            groups = groups_of(trigger)
        except NotEvaluable as exc:
            log.warning("flow %s trigger %s never fires: %s", flow.ref, trigger.id, exc)
            continue
        found.append(Listener(flow, record.revision, trigger, conditions, groups))
    return found


def _parse(record: FlowRecord, flows: FlowCache) -> Flow | None:
    try:
        return flows.parse(record)
    except FlowInvalid:
        log.warning(
            "flow %s/%s revision %d is not valid; its Flow triggers are not looked at",
            record.namespace, record.flow_id, record.revision,
        )  # fmt: skip
        return None


# -- the trigger's state document -----------------------------------------------------------------


def _locked_state(repos: Repositories, listener: Listener) -> dict[str, Any]:
    """The trigger's state, locked until the unit ends (PostgreSQL; SQLite serializes units).

    A state that does not exist yet cannot be locked: the first scheduler to create one claims
    a marker firing and writes an empty state in the same transaction; one that claims it
    second waits for the first's commit, then reads and locks what it wrote."""
    flow, trigger = listener.flow, listener.trigger
    where = (flow.namespace, flow.id, trigger.id)
    document = repos.triggers.read_trigger_state(*where, for_update=True)
    if document is not None:
        return _normal(document)
    marker = f"state:flow:{flow.namespace}/{flow.id}/{trigger.id}"
    if repos.triggers.claim_fire(marker, "-"):
        state = _normal(None)
        _save_state(repos, listener, state)
        return state
    return _normal(repos.triggers.read_trigger_state(*where, for_update=True))


def _normal(document: Mapping[str, Any] | None) -> dict[str, Any]:
    if document is None or document.get("type") != FLOW_TYPE:
        document = {}
    return {
        "type": FLOW_TYPE,
        "groups": dict(document.get("groups") or {}),
        "counted": list(document.get("counted") or []),
        "pending": list(document.get("pending") or []),
        **{k: v for k, v in document.items() if k in ("disabled", "stoppedBy")},
    }


def _save_state(repos: Repositories, listener: Listener, state: dict[str, Any]) -> None:
    flow = listener.flow
    repos.triggers.update_trigger_state(flow.namespace, flow.id, listener.trigger.id, state)
