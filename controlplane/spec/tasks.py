"""What every task has in common, and how a task, trigger or condition finds its model.

A list of tasks in a flow is validated item by item through the registry: the ``type`` names the
model, plugin defaults of the flow are merged into the item, and the model validates the result.
Nested task lists (``Sequential.tasks``, ``If.then``...) use the same :data:`Task` type, so a flow
is validated in one pass and every error keeps its full YAML path.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from controlplane.spec.families import family_of
from controlplane.spec.fields import Duration, DynBool, Spec, TaskId, Text, build
from controlplane.spec.problems import YamlPath
from controlplane.spec.registry import Kind, registry

SCHEMA_REF = "x-weir-kind"

LogLevel = Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]


class _RetryBase(Spec):
    maxAttempts: int | None = Field(
        None, ge=1, validation_alias=AliasChoices("maxAttempts", "maxAttempt")
    )
    maxDuration: Duration | None = None
    warningOnRetry: bool = False
    behavior: Literal["RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"] = "RETRY_FAILED_TASK"


class ConstantRetry(_RetryBase):
    type: Literal["constant"]
    interval: Duration

    def delay(self, attempt: int) -> timedelta:
        return self.interval


class ExponentialRetry(_RetryBase):
    type: Literal["exponential"]
    interval: Duration
    maxInterval: Duration
    delayFactor: float | None = None

    def delay(self, attempt: int) -> timedelta:
        factor = self.delayFactor if self.delayFactor is not None else 2.0
        grown = self.interval * (factor ** max(attempt - 1, 0))
        return min(grown, self.maxInterval)


class RandomRetry(_RetryBase):
    type: Literal["random"]
    minInterval: Duration
    maxInterval: Duration


Retry = Annotated[ConstantRetry | ExponentialRetry | RandomRetry, Field(discriminator="type")]


class WorkerGroup(Spec):
    key: Text
    fallback: Literal["FAIL", "WAIT", "CANCEL"] | None = None


class TaskCache(Spec):
    enabled: bool = False
    ttl: Duration | None = None


class TaskSpec(Spec):
    """Properties every task has. Subclasses add their own and are registered by type."""

    flowable: ClassVar[bool] = False
    """Resolved by the executor (containers, branches, loops) rather than run by a worker."""

    id: TaskId
    type: str
    """The current name of the type (legacy names and aliases are resolved)."""
    description: str | None = None
    disabled: bool = False
    runIf: DynBool | None = None
    allowFailure: bool = False
    allowWarning: bool = False
    timeout: Duration | None = None
    retry: Retry | None = None
    logLevel: LogLevel | None = None
    logToFile: bool = False
    workerGroup: WorkerGroup | None = None
    taskCache: TaskCache | None = None

    _written_type: str = PrivateAttr(default="")

    @property
    def written_type(self) -> str:
        """The type as the flow wrote it: older names keep older defaults (WaitFor)."""
        return self._written_type or self.type

    def children(self) -> Iterator[tuple[YamlPath, TaskSpec]]:
        """Nested tasks with their path relative to this task, in document order."""
        for name, key in _task_list_fields(type(self)):
            for index, child in enumerate(getattr(self, name)):
                yield (key, index), child


def _task_list_fields(model: type[TaskSpec]) -> list[tuple[str, str]]:
    """(attribute, YAML key) of the fields of ``model`` that hold lists of tasks, cached."""
    cached = _TASK_LIST_FIELDS.get(model)
    if cached is None:
        cached = [
            (name, field.alias or name)
            for name, field in model.model_fields.items()
            if _holds_tasks(field.annotation)
        ]
        _TASK_LIST_FIELDS[model] = cached
    return cached


def _holds_tasks(annotation: Any) -> bool:
    """``list[Task]``: a list whose items are validated as tasks."""
    if typing.get_origin(annotation) is not list:
        return False
    (item,) = typing.get_args(annotation)
    return any(isinstance(m, type) and issubclass(m, _TaskDispatch) for m in _metadata(item))


def _metadata(annotation: Any) -> tuple[Any, ...]:
    return getattr(annotation, "__metadata__", ())


_TASK_LIST_FIELDS: dict[type[TaskSpec], list[tuple[str, str]]] = {}


class FlowableSpec(TaskSpec):
    """A task resolved by the executor; may declare its own error and finally branches."""

    flowable: ClassVar[bool] = True

    errors: list[Task] = Field(default_factory=list)
    finally_: list[Task] = Field(default_factory=list, alias="finally")


_NESTED_TASK_KEYS = ("tasks", "errors", "finally", "then", "else", "defaults")


def _unknown_type(kind: Kind, value: dict[str, Any], context: Any) -> ValidationError:
    """The unknown-type error, with the errors of the task lists nested in the unknown item.

    Reporting nested items too means one run names every type a flow needs, not just the first.
    """
    type_name = value["type"]
    suggestions = registry.closest(kind, type_name)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    error = PydanticCustomError(
        "unknown_type",
        "unknown {kind} type '{type}': Weir does not implement it ({family}){hint}",
        {"kind": kind.value, "type": type_name, "family": family_of(type_name), "hint": hint},
    )
    details: list[InitErrorDetails] = [{"type": error, "loc": ("type",), "input": type_name}]
    if kind is Kind.TASK:
        for key in _NESTED_TASK_KEYS:
            nested = value.get(key)
            if isinstance(nested, list) and all(isinstance(item, dict) for item in nested):
                details.extend(_nested_errors(key, nested, context))
    return ValidationError.from_exception_data(kind.value, details)


def _nested_errors(key: str, items: list[Any], context: Any) -> list[InitErrorDetails]:
    try:
        _TASK_LIST.validate_python(items, context=context)
    except ValidationError as exc:
        return [
            {
                "type": PydanticCustomError(
                    err["type"], err["msg"].replace("{", "{{").replace("}", "}}")
                ),
                "loc": (key, *err["loc"]),
                "input": err["input"],
            }
            for err in exc.errors(include_url=False)
        ]
    return []


def _missing_type(kind: Kind) -> ValidationError:
    error = PydanticCustomError(
        "missing", "a {kind} needs a 'type' naming what it is", {"kind": kind.value}
    )
    details: list[InitErrorDetails] = [{"type": error, "loc": ("type",), "input": None}]
    return ValidationError.from_exception_data(kind.value, details)


def merge_defaults(
    value: Mapping[str, Any], defaults: Mapping[str, Any], forced: bool
) -> dict[str, Any]:
    """Merge plugin defaults into a task: maps merge recursively; the task wins unless forced."""
    merged = dict(value)
    for key, default in defaults.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(default, Mapping):
            merged[key] = (
                merge_defaults(default, current, False)
                if forced
                else merge_defaults(current, default, False)
            )
        elif key not in merged or forced:
            merged[key] = default
    return merged


def _apply_defaults(
    value: dict[str, Any], type_name: str, original: str, model: type[BaseModel], context: Any
) -> dict[str, Any]:
    """Merge the plugin defaults that target this type. A default naming the exact type gives
    every value (an unknown one is reported); a default naming a package gives only the
    properties this type has, as Kestra does: one ``io.kestra.plugin.gcp`` default may carry a
    BigQuery ``location`` that GCS tasks do not take."""
    defaults = context.get("plugin_defaults", ()) if isinstance(context, Mapping) else ()
    known: set[str] | None = None
    for default in defaults:
        target = default.type
        values = default.values
        if target not in (type_name, original):
            if not (type_name.startswith(target + ".") or original.startswith(target + ".")):
                continue
            known = _properties(model) if known is None else known
            values = {key: item for key, item in values.items() if key in known}
        value = merge_defaults(value, values, default.forced)
    return value


def _properties(model: type[BaseModel]) -> set[str]:
    """The property names a model accepts: its fields and their aliases."""
    names = set(model.model_fields)
    names.update(field.alias for field in model.model_fields.values() if field.alias)
    return names


class _Dispatch:
    """A field type validated by the registry's model for the item's ``type``."""

    kind: ClassVar[Kind]

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        kind = cls.kind

        def validate(value: Any, info: core_schema.ValidationInfo) -> Any:
            if isinstance(value, BaseModel):
                return value
            if not isinstance(value, dict):
                raise PydanticCustomError(
                    "shape", "expected a {kind}: a mapping with 'type'", {"kind": kind.value}
                )
            type_name = value.get("type")
            if not isinstance(type_name, str) or not type_name:
                raise _missing_type(kind)
            found = registry.resolve(kind, type_name)
            if found is None:
                raise _unknown_type(kind, value, info.context)
            item = {**value, "type": found.name}
            if kind in (Kind.TASK, Kind.TRIGGER):
                item = _apply_defaults(item, found.name, type_name, found.model, info.context)
            if not found.model.__pydantic_complete__:
                build(found.model)
            model = found.model.model_validate(item, context=info.context)
            if isinstance(model, TaskSpec) and type_name != found.name:
                model._written_type = type_name
            return model

        return core_schema.with_info_plain_validator_function(validate)


class _TaskDispatch(_Dispatch):
    kind = Kind.TASK


class _TriggerDispatch(_Dispatch):
    kind = Kind.TRIGGER


class _ConditionDispatch(_Dispatch):
    kind = Kind.CONDITION


class _RunnerDispatch(_Dispatch):
    kind = Kind.RUNNER


def _ref(kind: Kind) -> WithJsonSchema:
    # Resolved to a "$ref" by spec.schema once every registered model has its definition.
    return WithJsonSchema({SCHEMA_REF: kind.value})


Task = Annotated[TaskSpec, _TaskDispatch, _ref(Kind.TASK)]
TriggerRef = Annotated[BaseModel, _TriggerDispatch, _ref(Kind.TRIGGER)]
ConditionRef = Annotated[BaseModel, _ConditionDispatch, _ref(Kind.CONDITION)]
RunnerRef = Annotated[BaseModel, _RunnerDispatch, _ref(Kind.RUNNER)]

FlowableSpec.model_rebuild()
_TASK_LIST: TypeAdapter[list[TaskSpec]] = TypeAdapter(list[Task])
