"""Core flowable tasks (``io.kestra.plugin.core.flow.*``): resolved by the executor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import AliasChoices, Field

from controlplane.spec.fields import DynBool, DynDuration, DynInt, DynMap, Labels, Spec, Text
from controlplane.spec.inputs import Input
from controlplane.spec.problems import YamlPath
from controlplane.spec.registry import task
from controlplane.spec.tasks import FlowableSpec, Task, TaskSpec

_FLOW = "io.kestra.plugin.core.flow"


@task(f"{_FLOW}.Sequential")
class Sequential(FlowableSpec):
    tasks: list[Task] = Field(min_length=1)


@task(f"{_FLOW}.Parallel")
class Parallel(FlowableSpec):
    tasks: list[Task] = Field(min_length=1)
    concurrent: int = Field(0, ge=0, description="How many children run at once; 0 = all.")


@task(f"{_FLOW}.AllowFailure")
class AllowFailure(FlowableSpec):
    tasks: list[Task] = Field(min_length=1)


@task(f"{_FLOW}.If")
class If(FlowableSpec):
    condition: DynBool
    then: list[Task] = Field(min_length=1)
    else_: list[Task] = Field(default_factory=list, alias="else")


@task(f"{_FLOW}.Switch")
class Switch(FlowableSpec):
    value: Text
    cases: dict[str, list[Task]] = Field(default_factory=dict)
    defaults: list[Task] = Field(default_factory=list)

    def children(self) -> Iterator[tuple[YamlPath, TaskSpec]]:
        for key, tasks in self.cases.items():
            for index, child in enumerate(tasks):
                yield ("cases", key, index), child
        for index, child in enumerate(self.defaults):
            yield ("defaults", index), child
        yield from _branches(self)


@task(f"{_FLOW}.ForEach")
class ForEach(FlowableSpec):
    values: list[Any] | dict[str, Any] | str
    tasks: list[Task] = Field(min_length=1)
    concurrencyLimit: int = Field(1, ge=0, description="Iterations at once; 0 = all at once.")


@task(f"{_FLOW}.EachSequential")
class EachSequential(FlowableSpec):
    """Deprecated form of ForEach with concurrencyLimit 1."""

    value: list[Any] | str
    tasks: list[Task] = Field(min_length=1)


@task(f"{_FLOW}.EachParallel")
class EachParallel(FlowableSpec):
    """Deprecated form of ForEach with every iteration at once (or ``concurrent``)."""

    value: list[Any] | str
    tasks: list[Task] = Field(min_length=1)
    concurrent: int = Field(0, ge=0)


class DagTask(Spec):
    task: Task
    dependsOn: list[str] = Field(default_factory=list)


@task(f"{_FLOW}.Dag")
class Dag(FlowableSpec):
    tasks: list[DagTask] = Field(min_length=1)
    concurrent: int = Field(0, ge=0)

    def children(self) -> Iterator[tuple[YamlPath, TaskSpec]]:
        for index, item in enumerate(self.tasks):
            yield ("tasks", index, "task"), item.task
        yield from _branches(self)


class NamespaceFiles(Spec):
    enabled: bool = True
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    folderPerNamespace: bool = False
    ifExists: Literal["OVERWRITE", "FAIL", "WARN", "IGNORE"] = "OVERWRITE"


class Cache(Spec):
    patterns: list[str] = Field(min_length=1)
    ttl: DynDuration | None = None


@task(f"{_FLOW}.WorkingDirectory")
class WorkingDirectory(FlowableSpec):
    tasks: list[Task] = Field(min_length=1)
    inputFiles: dict[str, Any] | str | None = None
    outputFiles: list[str] = Field(default_factory=list)
    namespaceFiles: NamespaceFiles | None = None
    cache: Cache | None = None


@task(f"{_FLOW}.Subflow", "io.kestra.core.tasks.flows.Subflow")
class Subflow(FlowableSpec):
    namespace: Text
    flowId: Text
    inputs: dict[str, Any] = Field(default_factory=dict)
    wait: bool = True
    transmitFailed: bool = True
    inheritLabels: bool = False
    labels: Labels = Field(default_factory=dict)
    revision: int | None = Field(None, ge=1)
    scheduleDate: Text | None = None
    outputs: DynMap | None = Field(None, description="Deprecated: declare flow outputs instead.")


@task(f"{_FLOW}.Pause")
class Pause(FlowableSpec):
    pauseDuration: DynDuration | None = Field(
        None, validation_alias=AliasChoices("pauseDuration", "delay")
    )
    behavior: Literal["RESUME", "WARN", "FAIL", "CANCEL"] = "RESUME"
    onResume: list[Input] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)


class CheckFrequency(Spec):
    interval: DynDuration | None = None
    maxIterations: DynInt | None = None
    maxDuration: DynDuration | None = None


@task(f"{_FLOW}.LoopUntil", f"{_FLOW}.WaitFor")
class LoopUntil(FlowableSpec):
    condition: DynBool
    tasks: list[Task] = Field(min_length=1)
    checkFrequency: CheckFrequency = Field(default_factory=CheckFrequency)
    failOnMaxReached: bool = False


def _branches(task: FlowableSpec) -> Iterator[tuple[YamlPath, TaskSpec]]:
    for index, child in enumerate(task.errors):
        yield ("errors", index), child
    for index, child in enumerate(task.finally_):
        yield ("finally", index), child
