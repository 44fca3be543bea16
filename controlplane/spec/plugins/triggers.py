"""Core triggers (Schedule, ScheduleOnDates, Webhook, Flow) and the conditions that gate them."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field

from controlplane.spec.fields import Duration, Labels, Spec, Text
from controlplane.spec.flow import State
from controlplane.spec.registry import condition, trigger
from controlplane.spec.tasks import ConditionRef, LogLevel, WorkerGroup

_TRIGGER = "io.kestra.plugin.core.trigger"
_CONDITION = "io.kestra.plugin.core.condition"


class TriggerSpec(Spec):
    id: Annotated[str, Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$", max_length=100)]
    type: str
    description: str | None = None
    disabled: bool = False
    conditions: list[ConditionRef] = Field(default_factory=list)
    labels: Labels = Field(default_factory=dict)
    stopAfter: list[State] = Field(default_factory=list)
    logLevel: LogLevel | None = None
    logToFile: bool = False
    workerGroup: WorkerGroup | None = None
    allowConcurrent: bool = False


class Backfill(Spec):
    start: Text
    end: Text | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: Labels = Field(default_factory=dict)
    currentDate: Text | None = None
    nextExecutionDate: Text | None = None
    paused: bool = False


@trigger(f"{_TRIGGER}.Schedule")
class Schedule(TriggerSpec):
    cron: str
    withSeconds: bool = False
    timezone: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    scheduleConditions: list[ConditionRef] = Field(
        default_factory=list, description="Deprecated: use conditions."
    )
    lateMaximumDelay: Duration | None = None
    backfill: Backfill | None = None
    recoverMissedSchedules: Literal["ALL", "LAST", "NONE"] | None = None
    interval: Duration | None = None


@trigger(f"{_TRIGGER}.ScheduleOnDates")
class ScheduleOnDates(TriggerSpec):
    """Fires once at each of ``dates`` (ISO 8601 date-times, or an expression of a list of
    them), through the same scheduler as Schedule: the same firing keys, catch-up policy,
    conditions, inputs and labels."""

    dates: list[Text] | Text
    timezone: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    recoverMissedSchedules: Literal["ALL", "LAST", "NONE"] | None = None
    # What a Schedule has and ScheduleOnDates has not, for the scheduler that serves both.
    withSeconds: ClassVar[bool] = False
    lateMaximumDelay: ClassVar[None] = None
    backfill: ClassVar[None] = None
    scheduleConditions: ClassVar[list[BaseModel]] = []


@trigger(f"{_TRIGGER}.Webhook")
class Webhook(TriggerSpec):
    key: Text = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)
    wait: bool = False
    returnOutputs: bool = False
    responseContentType: str | None = None


class UpstreamFlow(Spec):
    namespace: Text
    flowId: Text | None = None
    states: list[State] = Field(default_factory=list)
    labels: Labels = Field(default_factory=dict)


class Filter(Spec):
    field: Literal["FLOW_ID", "NAMESPACE", "STATE", "EXPRESSION"]
    type: Literal[
        "EQUAL_TO", "NOT_EQUAL_TO", "IN", "NOT_IN", "IS_TRUE", "IS_FALSE", "IS_NULL",
        "IS_NOT_NULL", "STARTS_WITH", "ENDS_WITH", "REGEX", "CONTAINS",
    ]  # fmt: skip
    value: Text | None = None
    values: list[Text] = Field(default_factory=list)


class Where(Spec):
    id: str
    operand: Literal["AND", "OR"] = "AND"
    filters: list[Filter] = Field(min_length=1)


class TimeWindow(Spec):
    type: Literal[
        "DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW"
    ] = "DURATION_WINDOW"
    window: Duration | None = None
    windowAdvance: Duration | None = None
    deadline: str | None = None
    startTime: str | None = None
    endTime: str | None = None


class Preconditions(Spec):
    id: str | None = None
    flows: list[UpstreamFlow] = Field(default_factory=list)
    where: list[Where] = Field(default_factory=list)
    timeWindow: TimeWindow = Field(default_factory=TimeWindow)
    resetOnSuccess: bool = True


@trigger(f"{_TRIGGER}.Flow")
class FlowTrigger(TriggerSpec):
    inputs: dict[str, Any] = Field(default_factory=dict)
    states: list[State] = Field(default_factory=list)
    preconditions: Preconditions | None = None


class ConditionSpec(Spec):
    type: str


@condition(f"{_CONDITION}.ExecutionStatus")
class ExecutionStatus(ConditionSpec):
    in_: list[State] = Field(default_factory=list, alias="in")
    notIn: list[State] = Field(default_factory=list)


@condition(f"{_CONDITION}.ExecutionFlow")
class ExecutionFlow(ConditionSpec):
    namespace: Text
    flowId: Text


@condition(f"{_CONDITION}.ExecutionNamespace")
class ExecutionNamespace(ConditionSpec):
    namespace: Text
    comparison: Literal["EQUALS", "PREFIX", "SUFFIX"] | None = None
    prefix: bool = False


@condition(f"{_CONDITION}.FlowCondition", "io.kestra.core.models.conditions.types.FlowCondition")
class FlowCondition(ConditionSpec):
    """Deprecated in Kestra: holds for the trigger's own flow (``ExecutionFlow`` replaces it)."""

    namespace: str
    flowId: str


@condition(
    f"{_CONDITION}.FlowNamespaceCondition",
    "io.kestra.core.models.conditions.types.FlowNamespaceCondition",
)
class FlowNamespaceCondition(ConditionSpec):
    """Deprecated in Kestra: holds for the trigger's own flow's namespace, or one it starts
    with (``prefix``)."""

    namespace: str
    prefix: bool = False


@condition(f"{_CONDITION}.ExecutionLabels")
class ExecutionLabels(ConditionSpec):
    labels: Labels


@condition(f"{_CONDITION}.ExecutionOutputs")
class ExecutionOutputs(ConditionSpec):
    expression: Text


@condition(f"{_CONDITION}.Expression")
class Expression(ConditionSpec):
    expression: Text


@condition(f"{_CONDITION}.HasRetryAttempt")
class HasRetryAttempt(ConditionSpec):
    in_: list[State] = Field(default_factory=list, alias="in")
    notIn: list[State] = Field(default_factory=list)


@condition(f"{_CONDITION}.Not")
class Not(ConditionSpec):
    conditions: list[ConditionRef] = Field(min_length=1)


@condition(f"{_CONDITION}.Or")
class Or(ConditionSpec):
    conditions: list[ConditionRef] = Field(min_length=1)


@condition(f"{_CONDITION}.MultipleCondition")
class MultipleCondition(ConditionSpec):
    id: str
    window: Duration | None = None
    windowAdvance: Duration | None = None
    conditions: dict[str, ConditionRef] = Field(min_length=1)
    resetOnSuccess: bool = True
    timeWindow: TimeWindow | None = None


class _DateCondition(ConditionSpec):
    date: Text = "{{ trigger.date }}"


@condition(f"{_CONDITION}.DateTimeBetween")
class DateTimeBetween(_DateCondition):
    after: Text | None = None
    before: Text | None = None


@condition(f"{_CONDITION}.TimeBetween")
class TimeBetween(_DateCondition):
    after: Text | None = None
    before: Text | None = None


DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


@condition(f"{_CONDITION}.DayWeek")
class DayWeek(_DateCondition):
    dayOfWeek: DayOfWeek


@condition(f"{_CONDITION}.DayWeekInMonth")
class DayWeekInMonth(_DateCondition):
    dayOfWeek: DayOfWeek
    dayInMonth: Literal["FIRST", "LAST", "SECOND", "THIRD", "FOURTH"]


@condition(f"{_CONDITION}.Weekend")
class Weekend(_DateCondition):
    pass


@condition(f"{_CONDITION}.PublicHoliday")
class PublicHoliday(_DateCondition):
    """Holds on a public holiday of ``country`` (ISO 3166 code), and ``subDivision`` if set."""

    country: str | None = None
    subDivision: str | None = None
