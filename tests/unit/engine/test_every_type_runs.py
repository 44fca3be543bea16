"""A task type that `weir validate` accepts is one the engine can run."""

from __future__ import annotations

import controlplane.spec.plugins
import controlplane.tasks  # noqa: F401
from controlplane.engine.executor import Step
from controlplane.engine.flowables import RESOLVERS
from controlplane.engine.runnable import runner_for
from controlplane.spec.plugins.admin import Template
from controlplane.spec.plugins.core import Exit
from controlplane.spec.registry import Kind, registry

# Tasks the executor settles itself rather than a worker or a flowable resolver.
SETTLED_BY_THE_EXECUTOR = {Exit: Step._exit}
# Types validation always refuses, with the reason (they cannot work on Weir).
REFUSED_AT_VALIDATION = {Template}


def test_every_registered_task_type_has_an_implementation() -> None:
    missing = [
        info.name
        for info in registry.types(Kind.TASK)
        if runner_for(info.model) is None
        and info.model not in RESOLVERS
        and info.model not in SETTLED_BY_THE_EXECUTOR
        and info.model not in REFUSED_AT_VALIDATION
    ]
    assert missing == []
