"""Airflow's stable REST API (``/api/v1``): a DAG run started, then followed.

``POST /api/v1/dags/{dag_id}/dagRuns`` with the DAG run's body starts it and answers the run
(``dag_run_id``, ``state``, ...); with ``wait``, ``GET /api/v1/dags/{dag_id}/dagRuns/{id}``
is read until the state is ``success`` or ``failed``. A ``failed`` run fails the task (its
outputs kept), where Kestra's plugin succeeds and reports the state. Without a ``body`` the
run gets a ``conf`` naming the flow, task and execution; Kestra's plugin sends those fields as
the body itself, which Airflow's API does not take. Errors carry Airflow's ``title`` and
``detail``.
"""

from __future__ import annotations

from typing import Any

from controlplane.engine.runnable import RunContext, runs
from controlplane.spec.plugins.airflow import AirflowTriggerDagRun
from controlplane.tasks import props
from controlplane.tasks.remote import (
    RemoteApi,
    WaitTimedOut,
    options_auth,
    positive,
    required,
    segment,
    timeouts,
)

_ENDED = frozenset({"success", "failed"})


def _error_text(body: Any) -> str | None:
    """Airflow's problem details: ``title`` and ``detail``."""
    if not isinstance(body, dict):
        return None
    title, detail = body.get("title"), body.get("detail")
    if title and detail and title != detail:
        return f"{title}: {detail}"
    return str(detail or title or "") or None


def _body(task: AirflowTriggerDagRun, ctx: RunContext) -> dict[str, Any]:
    body = props.mapping(ctx, task.body, "body")
    if body:
        return body
    variables = ctx.variables()
    flow = variables.get("flow") or {}
    execution = variables.get("execution") or {}
    conf = {
        "source": "kestra",
        "flow": flow.get("id"),
        "namespace": flow.get("namespace"),
        "task": task.id,
        "execution": execution.get("id"),
    }
    return {"conf": conf}


@runs(AirflowTriggerDagRun)
def run_trigger_dag_run(task: AirflowTriggerDagRun, ctx: RunContext) -> dict[str, Any]:
    dag = required(ctx, task.dagId, "dagId")
    headers = {k: str(v) for k, v in props.mapping(ctx, task.headers, "headers").items()}
    auth, secrets = options_auth(ctx, task.options)
    secrets += [v for k, v in headers.items() if k.lower() in ("authorization", "cookie")]
    runs_path = f"/api/v1/dags/{segment(dag)}/dagRuns"
    with RemoteApi(
        ctx,
        "Airflow",
        required(ctx, task.baseUrl, "baseUrl"),
        headers={**auth, **headers},
        secrets=secrets,
        timeout=timeouts(ctx, task.options, 30.0),
        error_text=_error_text,
    ) as api:
        started = api.json("POST", runs_path, body=_body(task, ctx))
        run_id = started.get("dag_run_id") if isinstance(started, dict) else None
        if not run_id:
            raise api.fail(f"Airflow answered the run of DAG {dag} without a dag_run_id")
        outputs: dict[str, Any] = {"dagId": dag, "dagRunId": run_id, "state": started.get("state")}
        api.info(f"Airflow DAG {dag}: run {run_id} is {outputs['state']}")
        if not props.boolean(ctx, task.wait):
            return outputs
        seen = [outputs["state"]]

        def check() -> dict[str, Any] | None:
            run = api.json("GET", f"{runs_path}/{segment(run_id)}")
            state = run.get("state") if isinstance(run, dict) else None
            if state != seen[-1]:
                api.info(f"Airflow DAG {dag}: run {run_id} is now {state}")
                seen.append(state)
            return run if state in _ENDED else None

        try:
            run = api.poll(
                check,
                every=positive(ctx, task.pollFrequency, "pollFrequency"),
                limit=positive(ctx, task.maxDuration, "maxDuration"),
                what=f"Airflow DAG run {run_id}",
            )
        except WaitTimedOut as exc:
            exc.outputs.update(outputs)
            raise
    outputs.update(state=run["state"], started=run.get("start_date"), ended=run.get("end_date"))
    if run["state"] != "success":
        raise api.fail(f"Airflow DAG run {run_id} of {dag} ended {run['state']}", outputs)
    return outputs
