"""Apache Airflow (``io.kestra.plugin.airflow.dags.TriggerDagRun``): start a DAG run over
Airflow's stable REST API and, with ``wait``, follow it until it ends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from controlplane.spec.fields import DynBool, DynDuration, DynMap, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


@task("io.kestra.plugin.airflow.dags.TriggerDagRun")
class AirflowTriggerDagRun(TaskSpec):
    """Trigger DAG ``dagId`` on the Airflow at ``baseUrl`` with ``body`` (a DAG run: ``conf``,
    ``logical_date``, ``note``, ...; by default a ``conf`` naming the flow, task and
    execution). ``headers`` are added to each call, ``options.auth`` (or ``basicAuthUser`` /
    ``basicAuthPassword``) authenticates. With ``wait`` the run is read every
    ``pollFrequency`` for at most ``maxDuration``. Outputs ``dagId``, ``dagRunId``, ``state``
    and, after a wait, ``started`` and ``ended``."""

    baseUrl: Text
    dagId: Text
    headers: DynMap | None = None
    options: dict[str, Any] | None = None
    body: DynMap | None = None
    wait: DynBool = False
    pollFrequency: DynDuration = timedelta(seconds=1)
    maxDuration: DynDuration = timedelta(minutes=60)
