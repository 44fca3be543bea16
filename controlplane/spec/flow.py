"""The flow document: top-level properties of Kestra's flow language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import AliasChoices, Field

from controlplane.spec.fields import Duration, FlowId, Labels, NamespaceName, Spec, Text
from controlplane.spec.inputs import Input, InputId
from controlplane.spec.problems import YamlPath
from controlplane.spec.tasks import ConditionRef, Retry, Task, TaskSpec, TriggerRef

State = Literal[
    "CREATED", "QUEUED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING",
    "FAILED", "KILLED", "CANCELLED", "RETRYING", "RETRIED", "SKIPPED",
]  # fmt: skip


class PluginDefault(Spec):
    """Default property values for every plugin whose type is, or starts with, ``type``."""

    type: str
    values: dict[str, Any] = Field(default_factory=dict)
    forced: bool = False


class Concurrency(Spec):
    limit: int = Field(ge=1)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] = "QUEUE"


class FlowOutput(Spec):
    id: InputId
    type: str = "STRING"
    value: Any = None
    description: str | None = None
    displayName: str | None = None
    required: bool = True


class Sla(Spec):
    id: str
    type: Literal["MAX_DURATION", "EXECUTION_ASSERTION"]
    behavior: Literal["FAIL", "CANCEL", "NONE"] = "FAIL"
    duration: Duration | None = None
    assert_: str | None = Field(None, alias="assert")
    labels: Labels = Field(default_factory=dict)


class Check(Spec):
    condition: str = Field(validation_alias=AliasChoices("condition", "when"))
    message: Text
    style: Literal["INFO", "SUCCESS", "WARNING", "ERROR"] = "INFO"
    behavior: Literal["BLOCK_EXECUTION", "FAIL_EXECUTION", "CREATE_EXECUTION"] = "BLOCK_EXECUTION"


class Listener(Spec):
    """Deprecated since Kestra 0.12 in favour of Flow triggers; still accepted."""

    description: str | None = None
    conditions: list[ConditionRef] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)


class Flow(Spec):
    id: FlowId
    namespace: NamespaceName
    revision: int | None = Field(None, ge=1, description="Managed by the server; ignored.")
    description: str | None = None
    labels: Labels = Field(default_factory=dict)
    inputs: list[Input] = Field(default_factory=list)
    variables: dict[str, Any] = Field(default_factory=dict)
    tasks: list[Task] = Field(min_length=1)
    errors: list[Task] = Field(default_factory=list)
    finally_: list[Task] = Field(default_factory=list, alias="finally")
    afterExecution: list[Task] = Field(default_factory=list)
    triggers: list[TriggerRef] = Field(default_factory=list)
    pluginDefaults: list[PluginDefault] = Field(
        default_factory=list, validation_alias=AliasChoices("pluginDefaults", "taskDefaults")
    )
    concurrency: Concurrency | None = None
    retry: Retry | None = None
    sla: list[Sla] = Field(default_factory=list)
    outputs: list[FlowOutput] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    disabled: bool = False
    listeners: list[Listener] = Field(default_factory=list)
    extend: dict[str, Any] | None = Field(
        None, description="Blueprint metadata; accepted and ignored."
    )

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.id}"

    def all_tasks(self) -> Iterator[tuple[YamlPath, TaskSpec]]:
        """Every task of the flow with its YAML path, depth first in document order."""
        roots: list[tuple[YamlPath, list[Any]]] = [
            (("tasks",), self.tasks),
            (("errors",), self.errors),
            (("finally",), self.finally_),
            (("afterExecution",), self.afterExecution),
        ]
        roots += [(("listeners", i, "tasks"), item.tasks) for i, item in enumerate(self.listeners)]
        for path, tasks in roots:
            for index, task in enumerate(tasks):
                yield from walk_task(task, (*path, index))


def walk_task(task: TaskSpec, path: YamlPath) -> Iterator[tuple[YamlPath, TaskSpec]]:
    """``task`` and everything nested in it, with YAML paths."""
    yield path, task
    for relative, child in task.children():
        yield from walk_task(child, (*path, *relative))
