"""``flow.ForEachItem``: a file of items cut into batches, a subflow execution per batch.

Like Kestra, the task unfolds into tasks of its own: ``<id>_split`` cuts ``items`` into batch
files, ``<id>_items`` runs the subflow once per batch (``{{ taskrun.items }}`` is the batch's
URI), and ``<id>_merge`` gathers the subflows' outputs into one file (``subflowOutputs``). Weir
runs each subflow call as a task run ``<id>_call`` inside ``<id>_items`` (one per batch, its value
the batch URI), so an execution holds one task run per batch more than Kestra counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, PrivateAttr

from controlplane.spec.fields import DynInt, Labels, Spec, Text
from controlplane.spec.plugins.flow import ForEach, Subflow
from controlplane.spec.problems import YamlPath
from controlplane.spec.registry import task
from controlplane.spec.tasks import FlowableSpec, TaskSpec

_FLOW = "io.kestra.plugin.core.flow"
SPLIT_TYPE = f"{_FLOW}.ForEachItem$ForEachItemSplit"
MERGE_TYPE = f"{_FLOW}.ForEachItem$ForEachItemMergeOutputs"


class Batch(Spec):
    rows: DynInt | None = None
    bytes: Text | None = None
    partitions: DynInt | None = None
    separator: Text = "\n"


class ForEachItemSplit(TaskSpec):
    """Cuts ``items`` into batch files (outputs ``splits``: their URIs)."""

    items: Text
    batch: Batch = Field(default_factory=Batch)


class ForEachItemMerge(TaskSpec):
    """Writes the outputs of the subflow executions, one Ion line each (``subflowOutputs``)."""

    calls: str
    """The id of the task runs that called the subflows."""


def _batch_uri(value: Any) -> Any:
    """``taskrun.items`` (Kestra's batch URI) is the loop value of a call here."""
    if isinstance(value, str):
        return value.replace("taskrun.items", "taskrun.value")
    if isinstance(value, dict):
        return {k: _batch_uri(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_batch_uri(v) for v in value]
    return value


@task(f"{_FLOW}.ForEachItem", "io.kestra.core.tasks.flows.ForEachItem")
class ForEachItem(FlowableSpec):
    items: Text
    batch: Batch = Field(default_factory=Batch)
    namespace: Text
    flowId: Text
    inputs: dict[str, Any] = Field(default_factory=dict)
    inheritLabels: bool = False
    labels: Labels = Field(default_factory=dict)
    wait: bool = True
    transmitFailed: bool = True
    revision: int | None = Field(None, ge=1)
    scheduleDate: Text | None = None

    _unfolded: list[TaskSpec] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: Any) -> None:
        split = ForEachItemSplit(
            id=f"{self.id}_split", type=SPLIT_TYPE, items=self.items, batch=self.batch
        )
        call = Subflow.model_validate(
            {
                "id": f"{self.id}_call",
                "type": f"{_FLOW}.Subflow",
                "namespace": self.namespace,
                "flowId": self.flowId,
                "inputs": _batch_uri(self.inputs),
                "wait": self.wait,
                "transmitFailed": self.transmitFailed,
                "inheritLabels": self.inheritLabels,
                "labels": self.labels,
                "revision": self.revision,
                "scheduleDate": self.scheduleDate,
            }
        )
        calls = ForEach.model_validate(
            {
                "id": f"{self.id}_items",
                "type": f"{_FLOW}.ForEach",
                "values": f"{{{{ outputs['{self.id}_split'].splits }}}}",
                "concurrencyLimit": 0,
                "tasks": [call],
            }
        )
        merge = ForEachItemMerge(id=f"{self.id}_merge", type=MERGE_TYPE, calls=call.id)
        self._unfolded = [split, calls, merge] if self.wait else [split, calls]

    @property
    def unfolded(self) -> list[TaskSpec]:
        return self._unfolded

    def children(self) -> Iterator[tuple[YamlPath, TaskSpec]]:
        for child in self._unfolded:
            yield (), child
        for index, error in enumerate(self.errors):
            yield ("errors", index), error
        for index, final in enumerate(self.finally_):
            yield ("finally", index), final
