"""What a polling trigger sees while it looks: a :class:`RunContext` of one evaluation.

A polling trigger is implemented like a runnable task (``@runs(S3Trigger)``): a function of the
trigger's properties and a context, that answers the ``trigger.*`` variables of the execution to
start, or None when it found nothing. Its context is a :class:`PollContext`:

* expressions see ``flow``, ``vars`` (the flow's variables), ``envs``, ``globals`` and
  ``trigger.date`` (when the evaluation began), with ``secret()`` and ``kv()``;
* ``put_file`` stores under the folder of the execution the evaluation would start
  (``<namespace>/<flow>/executions/<id>/trigger/<trigger id>/``), so that its tasks may read the
  files and nothing else may;
* ``memory`` is what the trigger remembers between evaluations (the objects it fired for), saved
  once the evaluation is over;
* log lines go to the scheduler's log, masked of the secrets the evaluation read.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from controlplane.engine.attempt_context import AttemptContext, WorkerSettings, _safe_relative
from controlplane.engine.model import new_id
from controlplane.engine.ports import LogLevel, Store, execution_storage_path
from controlplane.engine.runnable import RunContext
from controlplane.engine.work import WorkItem
from controlplane.expr import Renderer
from controlplane.spec.flow import Flow
from controlplane.spec.plugins.triggers import TriggerSpec
from controlplane.spec.tasks import TaskSpec

_log = logging.getLogger("controlplane.engine.polling")
_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO,
           "WARN": logging.WARNING, "WARNING": logging.WARNING, "ERROR": logging.ERROR}  # fmt: skip


class PollContext(AttemptContext):
    """One evaluation of one polling trigger; see the module's docstring."""

    def __init__(
        self,
        flow: Flow,
        revision: int,
        spec: TriggerSpec,
        variables: Mapping[str, Any],
        store: Store,
        work_root: Path,
        renderer: Renderer,
        memory: dict[str, Any],
    ) -> None:
        placeholder = TaskSpec.model_construct(id=spec.id, type=spec.type, logLevel=spec.logLevel)
        item = WorkItem(
            execution_id=new_id(),
            namespace=flow.namespace,
            flow_id=flow.id,
            flow_revision=revision,
            task_run_id=f"trigger-{spec.id}",
            task=placeholder,
            attempt=1,
            variables=variables,
        )
        super().__init__(item, store, WorkerSettings(temp_root=work_root), renderer)
        self.where = f"trigger '{spec.id}' of flow {flow.namespace}/{flow.id}"
        self.memory = memory

    # -- logs, metrics and files ----------------------------------------------------------------

    def log(self, level: LogLevel, message: str) -> None:
        _log.log(_LEVELS.get(level, logging.INFO), "%s: %s", self.where, self.mask(message))

    def metric(self, name: str, value: float, kind: str = "counter", **tags: str) -> None:
        """Evaluations record no metrics: there is no execution to hold them."""

    def flush(self) -> None:
        """Nothing is buffered: log lines go to the scheduler's log as they come."""

    def put_file(self, name: str, data: bytes | BinaryIO | Path) -> str:
        folder = execution_storage_path(self.namespace, self.flow_id, self.execution_id)
        path = f"{folder}trigger/{self.task_id}/{_safe_relative(name)}"
        if isinstance(data, Path):
            with data.open("rb") as stream:
                return self.store.files.put(path, stream)
        return self.store.files.put(path, data)

    def discard(self) -> None:
        """Forget the files of an evaluation that started nothing, and its working directory."""
        self.store.files.delete_prefix(
            execution_storage_path(self.namespace, self.flow_id, self.execution_id)
        )
        self.close()

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        for path in self._scratch:
            shutil.rmtree(path, ignore_errors=True)


def poll_context(ctx: RunContext) -> PollContext:
    """The context of a polling trigger's evaluation (what its implementation is given)."""
    if not isinstance(ctx, PollContext):
        raise TypeError("a polling trigger is evaluated by the polling loop, not run as a task")
    return ctx
