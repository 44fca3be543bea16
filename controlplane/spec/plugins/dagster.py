"""Dagster (``io.kestra.plugin.dagster.TriggerRun``): launch a job run over Dagster's GraphQL
API and, with ``wait``, follow it until it ends."""

from __future__ import annotations

from datetime import timedelta

from controlplane.spec.fields import DynBool, DynDuration, DynMap, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


@task("io.kestra.plugin.dagster.TriggerRun")
class DagsterTriggerRun(TaskSpec):
    """Launch job ``jobName`` of repository ``repository`` in code location ``location`` at
    the GraphQL endpoint ``baseUrl``; ``body.runConfig`` is the run's config and ``body.tags``
    its tags; ``options.headers`` are added to each call. With ``wait`` the run is read every
    ``pollFrequency`` for at most ``maxDuration``. Outputs ``runId``, ``status``, ``jobName``
    and, after a wait, ``startTime`` and ``endTime``."""

    baseUrl: Text
    location: Text
    repository: Text
    jobName: Text
    wait: DynBool = False
    maxDuration: DynDuration = timedelta(minutes=30)
    pollFrequency: DynDuration = timedelta(seconds=5)
    body: DynMap | None = None
    options: DynMap | None = None
