"""Core tasks that read or clean the control plane: logs, executions, namespace files, KV,
and the task whose definition is itself a template (``TemplatedTask``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from controlplane.spec.fields import DynBool, DynStrList, Spec, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import LogLevel, Task, TaskSpec

_CORE = "io.kestra.plugin.core"

ExecutionStateName = Literal[
    "CREATED", "QUEUED", "RUNNING", "PAUSED", "RETRYING", "SUCCESS", "WARNING", "FAILED",
    "KILLING", "KILLED", "CANCELLED", "RETRIED", "SKIPPED", "RESTARTED",
]  # fmt: skip


@task(f"{_CORE}.log.Fetch")
class LogFetch(TaskSpec):
    namespace: Text | None = None
    flowId: Text | None = None
    executionId: Text | None = None
    tasksId: DynStrList | None = None
    level: LogLevel = "INFO"


@task(f"{_CORE}.log.PurgeLogs")
class PurgeLogs(TaskSpec):
    namespace: Text | None = None
    flowId: Text | None = None
    executionId: Text | None = None
    logLevels: list[LogLevel] | None = None
    startDate: Text | None = None
    endDate: Text


@task(f"{_CORE}.execution.PurgeExecutions")
class PurgeExecutions(TaskSpec):
    namespace: Text | None = None
    flowId: Text | None = None
    startDate: Text | None = None
    endDate: Text
    states: list[ExecutionStateName] | None = None
    purgeExecution: DynBool = True
    purgeLog: DynBool = True
    purgeMetric: DynBool = True
    purgeStorage: DynBool = True
    batchSize: int = Field(100, ge=1)


@task(f"{_CORE}.namespace.UploadFiles")
class UploadFiles(TaskSpec):
    namespace: Text | None = None
    files: DynStrList | None = None
    filesMap: dict[str, Any] | Text | None = None
    destination: Text = "/"
    conflict: Literal["OVERWRITE", "ERROR", "SKIP"] = "OVERWRITE"

    @model_validator(mode="after")
    def _one_source(self) -> UploadFiles:
        if self.files is None and self.filesMap is None:
            raise PydanticCustomError("missing", "UploadFiles needs 'files' or 'filesMap'")
        return self


@task(f"{_CORE}.namespace.DownloadFiles")
class DownloadFiles(TaskSpec):
    namespace: Text
    files: DynStrList
    destination: Text = ""


@task(f"{_CORE}.namespace.DeleteFiles")
class DeleteFiles(TaskSpec):
    namespace: Text
    files: list[Text] | Text  # a glob, a list of them, or an expression or JSON text of a list
    deleteParentFolder: DynBool = False


@task(f"{_CORE}.kv.PurgeKV")
class PurgeKV(TaskSpec):
    namespaces: DynStrList | None = None
    namespacePattern: Text | None = None
    includeChildNamespaces: DynBool = True
    keyPattern: Text | None = None
    expiredOnly: DynBool = True


@task(f"{_CORE}.templating.TemplatedTask")
class TemplatedTask(TaskSpec):
    """A runnable task whose definition is rendered from ``spec`` when it runs."""

    spec: Text


@task(f"{_CORE}.flow.Template")
class Template(TaskSpec):
    """Kestra's templates, deprecated since 0.11 and removed from its open edition: Weir has
    no template store, so a flow using one is refused with the replacement to use."""

    namespace: Text | None = None
    templateId: Text | None = None
    tenantId: Text | None = None
    args: dict[str, Any] | None = None
    errors: list[Task] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refused(self) -> Template:
        raise PydanticCustomError(
            "unsupported",
            "flow.Template cannot run on Weir: templates were removed from Kestra (deprecated "
            "in 0.11); put the template's tasks in a subflow and call it with "
            "io.kestra.plugin.core.flow.Subflow",
        )


class _State(TaskSpec):
    """Deprecated in Kestra for the KV store: a named map of values kept per flow."""

    name: Text = "default"
    namespace: bool = False
    taskrunValue: DynBool = True


@task(f"{_CORE}.state.Set")
class StateSet(_State):
    data: dict[str, Any] | Text


@task(f"{_CORE}.state.Get")
class StateGet(_State):
    errorOnMissing: DynBool = False


@task(f"{_CORE}.state.Delete")
class StateDelete(_State):
    errorOnMissing: DynBool = False


class PublishedMetric(Spec):
    """One metric of ``metric.Publish``: a counter's number, or a timer's duration."""

    type: Literal["counter", "timer"]
    name: Text
    value: float | Text
    tags: dict[str, Text] | None = None


@task(f"{_CORE}.metric.Publish")
class PublishMetrics(TaskSpec):
    metrics: list[PublishedMetric] | Text


@task(f"{_CORE}.metric.PurgeMetrics")
class PurgeMetrics(TaskSpec):
    namespace: Text | None = None
    flowId: Text | None = None
    startDate: Text | None = None
    endDate: Text


class RevisionsKept(Spec):
    """Which revisions of a flow ``PurgeFlows`` keeps."""

    type: Literal["version"] = "version"
    keepAmount: int | None = Field(None, ge=1)
    before: Text | None = None


@task(f"{_CORE}.flow.PurgeFlows")
class PurgeFlows(TaskSpec):
    flowPattern: Text | None = None
    namespaces: DynStrList | None = None
    namespacePattern: Text | None = None
    behavior: RevisionsKept = Field(default_factory=lambda: RevisionsKept(keepAmount=1))
    includeChildNamespaces: DynBool = True

    @model_validator(mode="after")
    def _one_selection(self) -> PurgeFlows:
        if self.namespaces is not None and self.namespacePattern is not None:
            raise PydanticCustomError(
                "exclusive", "PurgeFlows takes 'namespaces' or 'namespacePattern', not both"
            )
        return self
