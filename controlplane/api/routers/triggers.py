"""Trigger states and the backfills of Schedule triggers.

``GET /triggers`` lists what the schedulers remember of each trigger (next and last slot,
whether it is disabled, a backfill's progress).
``PUT /triggers/{namespace}/{flow_id}/{trigger_id}/backfill`` asks the schedulers to replay the
slots of ``[start, end)`` of a Schedule trigger: ``start`` included, ``end`` excluded, ``end``
now when left out, a time without an offset read in the trigger's time zone. A slot that fired
already (live, or in an earlier backfill) does not fire again. ``DELETE`` of the same path
cancels it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from controlplane.api.auth import Caller, reaches
from controlplane.api.deps import ApiModel, FlowIdPath, NamespacePath, StoreDep
from controlplane.api.errors import BadRequest, Conflict, NotFound, Unprocessable
from controlplane.engine.cron import Cron, CronError
from controlplane.engine.flowcache import flow_cache
from controlplane.engine.model import now
from controlplane.engine.ports import Store, TriggerStateRecord
from controlplane.engine.schedule_state import (
    POLL_TYPE,
    SCHEDULE_TYPE,
    BackfillState,
    ScheduleState,
    new_backfill,
)
from controlplane.spec.plugins.triggers import Schedule

router = APIRouter(prefix="/triggers", tags=["triggers"])

TriggerIdPath = Annotated[
    str, Path(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$", max_length=100, description="The id.")
]


class BackfillIn(ApiModel):
    start: datetime = Field(description="The first instant replayed (included).")
    end: datetime | None = Field(None, description="Where the replay ends (excluded); now.")
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="Inputs of the replayed executions, over the trigger's."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels of the replayed executions."
    )


class BackfillOut(BaseModel):
    id: str
    start: datetime
    end: datetime
    requested: datetime
    inputs: dict[str, Any]
    labels: dict[str, str]
    cursor: datetime = Field(description="No slot before this instant is left to replay.")
    handled: int = Field(description="Slots replayed so far, fired or skipped by conditions.")
    created: int = Field(description="Executions the backfill created.")
    total: int | None = Field(description="Slots in the range; None when above 10,000.")
    done: bool
    paused: bool
    source: str = Field(description="'api', or 'flow' for the trigger's backfill block.")

    @classmethod
    def of(cls, backfill: BackfillState) -> BackfillOut:
        return cls(
            id=backfill.id,
            start=backfill.start,
            end=backfill.end,
            requested=backfill.requested,
            inputs=backfill.inputs,
            labels=backfill.labels,
            cursor=backfill.position,
            handled=backfill.handled,
            created=backfill.created,
            total=backfill.total,
            done=backfill.done,
            paused=backfill.paused,
            source=backfill.source,
        )


class TriggerStateOut(BaseModel):
    namespace: str
    flowId: str
    triggerId: str
    type: str | None
    next: datetime | None = Field(description="The next slot to handle.")
    last: datetime | None = Field(description="The last slot that fired.")
    lastExecutionId: str | None
    disabled: bool = Field(description="Stopped by stopAfter, or disabled in the flow.")
    stoppedBy: dict[str, str] | None = Field(
        description="The execution whose end stopped the trigger (stopAfter), and its state."
    )
    error: str | None
    backfill: BackfillOut | None
    updated: datetime

    @classmethod
    def of(cls, namespace: str, flow_id: str, trigger_id: str, doc: dict[str, Any],
           updated: datetime) -> TriggerStateOut:  # fmt: skip
        # Other triggers keep documents of their own; what they say of a kind and of being
        # disabled is shown as is.
        kind = doc.get("type") or doc.get("kind")
        known = kind in (SCHEDULE_TYPE, POLL_TYPE)  # a polling trigger keeps the same fields
        state = ScheduleState.from_doc(doc) if known else ScheduleState()
        return cls(
            namespace=namespace,
            flowId=flow_id,
            triggerId=trigger_id,
            type=kind if isinstance(kind, str) else None,
            next=state.next,
            last=state.last,
            lastExecutionId=state.last_execution_id,
            disabled=state.disabled or doc.get("disabled") is True,
            stoppedBy=state.stopped_by,
            error=state.error,
            backfill=BackfillOut.of(state.backfill) if state.backfill is not None else None,
            updated=updated,
        )

    @classmethod
    def of_record(cls, record: TriggerStateRecord) -> TriggerStateOut:
        return cls.of(
            record.namespace, record.flow_id, record.trigger_id, record.document, record.updated
        )


@router.get("", summary="List trigger states")
def list_triggers(
    caller: Caller,
    store: StoreDep,
    namespace: Annotated[
        str | None, Query(max_length=150, description="This namespace and those below it.")
    ] = None,
) -> list[TriggerStateOut]:
    caller.require("read")
    with store.unit(read_only=True) as repos:
        records = repos.triggers.list_trigger_states()
    return [
        TriggerStateOut.of_record(r)
        for r in records
        if caller.sees(r.namespace) and (namespace is None or reaches([namespace], r.namespace))
    ]


@router.get("/{namespace}/{flow_id}/{trigger_id}", summary="Read a trigger's state")
def read_trigger(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    trigger_id: TriggerIdPath,
    caller: Caller,
    store: StoreDep,
) -> TriggerStateOut:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        found = [
            r
            for r in repos.triggers.list_trigger_states(namespace)
            if (r.flow_id, r.trigger_id) == (flow_id, trigger_id)
        ]
    if not found:
        raise NotFound(
            f"trigger {trigger_id} of flow {namespace}/{flow_id} has no state yet: no scheduler "
            "has evaluated it and no backfill was asked for"
        )
    return TriggerStateOut.of_record(found[0])


@router.put("/{namespace}/{flow_id}/{trigger_id}/backfill", summary="Backfill a Schedule trigger")
def put_backfill(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    trigger_id: TriggerIdPath,
    body: BackfillIn,
    caller: Caller,
    store: StoreDep,
) -> TriggerStateOut:
    caller.require("write", namespace)
    schedule = _schedule(store, namespace, flow_id, trigger_id)
    where = f"trigger '{trigger_id}' of flow {namespace}/{flow_id}"
    try:
        cron = Cron.parse(schedule.cron, schedule.timezone, schedule.withSeconds, where=where)
    except CronError as exc:
        raise Unprocessable(exc.message) from None
    requested = now()
    start = _aware(body.start, cron)
    end = _aware(body.end, cron) if body.end is not None else requested
    if start >= end:
        raise Unprocessable(
            f"start ({start.isoformat()}) must be before end ({end.isoformat()}); the end is "
            "now when left out",
            {"problems": [{"location": ["body", "start"], "message": "must be before end"}]},
        )
    backfill = new_backfill(cron, start, end, requested, body.inputs, body.labels)
    with store.unit() as repos:
        state = ScheduleState.from_doc(
            repos.triggers.read_trigger_state(namespace, flow_id, trigger_id, for_update=True)
        )
        if state.backfill is not None and not state.backfill.done:
            raise Conflict(
                f"{where} has a backfill under way (from {state.backfill.start.isoformat()}); "
                "cancel it with DELETE first"
            )
        state.backfill = backfill
        doc = state.to_doc()
        repos.triggers.update_trigger_state(namespace, flow_id, trigger_id, doc)
    return TriggerStateOut.of(namespace, flow_id, trigger_id, doc, requested)


@router.delete(
    "/{namespace}/{flow_id}/{trigger_id}/backfill",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Cancel a trigger's backfill",
)
def delete_backfill(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    trigger_id: TriggerIdPath,
    caller: Caller,
    store: StoreDep,
) -> None:
    caller.require("write", namespace)
    with store.unit() as repos:
        doc = repos.triggers.read_trigger_state(namespace, flow_id, trigger_id, for_update=True)
        state = ScheduleState.from_doc(doc)
        if doc is None or doc.get("type") != SCHEDULE_TYPE or state.backfill is None:
            raise NotFound(f"trigger {trigger_id} of flow {namespace}/{flow_id} has no backfill")
        state.backfill = None
        repos.triggers.update_trigger_state(namespace, flow_id, trigger_id, state.to_doc())


def _schedule(store: Store, namespace: str, flow_id: str, trigger_id: str) -> Schedule:
    """The Schedule trigger ``trigger_id`` of the latest revision of the flow."""
    with store.unit(read_only=True) as repos:
        record = repos.flows.read_flow(namespace, flow_id)
    if record is None:
        raise NotFound(f"flow {namespace}/{flow_id} does not exist")
    for trigger in flow_cache(store).parse(record).triggers:
        if getattr(trigger, "id", None) != trigger_id:
            continue
        if not isinstance(trigger, Schedule):
            raise BadRequest(
                f"trigger {trigger_id} of flow {namespace}/{flow_id} is a "
                f"{getattr(trigger, 'type', '?')}; only a Schedule trigger can be backfilled"
            )
        return trigger
    raise NotFound(f"flow {namespace}/{flow_id} has no trigger {trigger_id}")


def _aware(moment: datetime, cron: Cron) -> datetime:
    return moment.replace(tzinfo=cron.zone) if moment.tzinfo is None else moment
