"""Core runnable tasks: log, debug, execution, output, KV store, storage and HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from controlplane.spec.fields import DynBool, DynDuration, DynMap, Labels, Spec, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import LogLevel, TaskSpec

_CORE = "io.kestra.plugin.core"


@task(f"{_CORE}.log.Log")
class Log(TaskSpec):
    message: Text | list[Text]
    level: LogLevel = "INFO"


@task(f"{_CORE}.debug.Return")
class Return(TaskSpec):
    format: Text | None = None


@task(f"{_CORE}.debug.Echo")
class Echo(TaskSpec):
    """Deprecated: logs ``format`` like Log does."""

    format: Text
    level: LogLevel = "INFO"


@task(f"{_CORE}.output.OutputValues")
class OutputValues(TaskSpec):
    values: dict[str, Any] = Field(default_factory=dict)


@task(f"{_CORE}.execution.Labels")
class SetLabels(TaskSpec):
    labels: Labels | str


@task(f"{_CORE}.execution.Fail")
class Fail(TaskSpec):
    condition: DynBool | None = None
    errorMessage: Text = "Task failure"


@task(f"{_CORE}.execution.Exit")
class Exit(TaskSpec):
    state: Literal["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELED", "CANCELLED"] = "SUCCESS"


@task(f"{_CORE}.execution.Assert")
class Assert(TaskSpec):
    conditions: list[DynBool] = Field(min_length=1)
    errorMessage: Text | None = None


@task(f"{_CORE}.flow.Sleep")
class Sleep(TaskSpec):
    duration: DynDuration


KvType = Literal["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"]


@task(f"{_CORE}.kv.Set")
class KvSet(TaskSpec):
    key: Text
    value: Any
    namespace: Text | None = None
    overwrite: DynBool = True
    ttl: DynDuration | None = None
    kvType: KvType | None = None


@task(f"{_CORE}.kv.Get")
class KvGet(TaskSpec):
    key: Text
    namespace: Text | None = None
    errorOnMissing: DynBool = False


@task(f"{_CORE}.kv.Delete")
class KvDelete(TaskSpec):
    key: Text
    namespace: Text | None = None
    errorOnMissing: DynBool = False


@task(f"{_CORE}.kv.GetKeys")
class KvGetKeys(TaskSpec):
    prefix: Text | None = None
    namespace: Text | None = None


@task(f"{_CORE}.storage.PurgeCurrentExecutionFiles", f"{_CORE}.storage.PurgeExecution")
class PurgeCurrentExecutionFiles(TaskSpec):
    pass


def _no_encrypted_outputs(value: bool) -> bool:
    if value:
        raise ValueError(
            "encryptBody is not supported by Weir: it has no encrypted outputs, so the body "
            "would be stored in clear; keep the answer out of the outputs instead"
        )
    return value


Unencrypted = Annotated[bool, AfterValidator(_no_encrypted_outputs)]
"""``encryptBody``: Weir has no encrypted outputs, so only ``false`` is accepted."""


class HttpCall(Spec):
    """The request of the HTTP tasks and of ``http.Trigger``."""

    uri: Text
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] | str = "GET"
    body: Text | None = None
    formData: DynMap | None = None
    contentType: Text | None = None
    headers: DynMap | None = None
    options: dict[str, Any] | None = None
    sslOptions: dict[str, Any] | None = None
    encryptBody: Unencrypted = False


class _HttpTask(TaskSpec, HttpCall):
    allowFailed: DynBool = False


@task(f"{_CORE}.http.Request")
class HttpRequest(_HttpTask):
    pass


@task(f"{_CORE}.http.Download")
class HttpDownload(_HttpTask):
    failOnEmptyResponse: DynBool = True
    saveAs: Text | None = None
    """The file name in internal storage (default: from the response or the URL)."""


@task(f"{_CORE}.http.SseRequest")
class HttpSseRequest(_HttpTask):
    """Server-sent events read to the end of the stream; ``concatJqExpression`` picks a text
    from each event and joins them."""

    concatJqExpression: Text | None = None
    failedOnMissingJq: DynBool = True


@task(f"{_CORE}.kv.Put")
class KvPut(TaskSpec):
    """Update a pair: maps deep-merged into the stored map, ``[{key, value}]`` entries set
    (dotted) fields of it, ``[{value}]`` replaces it; its TTL is kept."""

    key: Text
    value: Any
    namespace: Text | None = None
    errorOnMissing: DynBool = False
