"""An execution as the API answers it, who may see it, and the flow revision a start uses.

Shared by the routers of executions: their reads, starts and commands, their webhooks and their
logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict

from controlplane.api.auth import Principal
from controlplane.api.errors import Conflict, Forbidden, NotFound
from controlplane.api.secretinputs import masked, secret_input_ids
from controlplane.engine import model
from controlplane.engine.flowcache import flow_cache
from controlplane.engine.model import State
from controlplane.engine.ports import Store
from controlplane.spec.flow import Flow
from controlplane.store.serverports import Scope

ExecutionIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]+$", max_length=100)]


class FlowDisabled(Conflict):
    code = "flow_disabled"


class Transition(BaseModel):
    state: State
    date: datetime


class StateHistory(BaseModel):
    current: State
    histories: list[Transition]


class TaskRun(BaseModel):
    """A task run as the engine keeps it, its state as ``{current, histories}``."""

    model_config = ConfigDict(extra="allow")

    id: str
    taskId: str
    state: StateHistory
    outputs: dict[str, Any]


class Execution(BaseModel):
    """An execution as the engine keeps it, in Kestra's shape: ``state: {current, histories}``,
    ``taskRunList``, ``parentId``."""

    model_config = ConfigDict(extra="allow")

    id: str
    namespace: str
    flowId: str
    flowRevision: int
    state: StateHistory
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    labels: dict[str, str]
    taskRunList: list[TaskRun]
    trigger: dict[str, Any] | None
    parentId: str | None

    @classmethod
    def of(cls, execution: model.Execution, secret_ids: set[str]) -> Execution:
        data = with_state_history(execution.to_dict())
        data["inputs"] = masked(data["inputs"], secret_ids)
        data["taskRunList"] = [with_state_history(run) for run in data.pop("taskRuns")]
        data["parentId"] = execution.parent.execution_id if execution.parent else None
        return cls.model_validate(data)


def shown(store: Store, execution: model.Execution) -> Execution:
    """The execution as answered, its SECRET inputs masked."""
    (secret_ids,) = secret_input_ids(store, [execution]).values()
    return Execution.of(execution, secret_ids)


def with_state_history(data: dict[str, Any]) -> dict[str, Any]:
    history = data.pop("history")
    return {**data, "state": {"current": data["state"], "histories": history}}


def visible(store: Store, caller: Principal, execution_id: str, scope: Scope) -> model.Execution:
    """The execution, once the caller may act on it with ``scope``."""
    caller.require(scope)
    with store.unit(read_only=True) as repos:
        execution = repos.executions.read_execution(execution_id)
    if execution is not None and caller.sees(execution.namespace):
        return execution
    if caller.unrestricted:
        raise NotFound(f"execution {execution_id} does not exist")
    raise Forbidden(
        f"the token does not reach execution {execution_id}",
        {"namespaces": list(caller.namespaces)},
    )


def latest_flow(store: Store, namespace: str, flow_id: str) -> tuple[int, Flow]:
    """The latest revision of a flow and its model; 404 when there is none."""
    with store.unit(read_only=True) as repos:
        record = repos.flows.read_flow(namespace, flow_id)
    if record is None:
        raise NotFound(f"flow {namespace}/{flow_id} does not exist")
    return record.revision, flow_cache(store).parse(record)


def require_enabled(flow: Flow) -> None:
    if flow.disabled:
        raise FlowDisabled(
            f"flow {flow.ref} is disabled; set 'disabled: false' in it to start executions"
        )
