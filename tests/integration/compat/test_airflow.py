"""Airflow's TriggerDagRun against a local double of Airflow's stable REST API, with
kestra-io/blueprints' ``airflow-trigger-dag`` flow run as written (its secrets in the store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.airflow import AirflowDouble
from tests.integration.compat.conftest import Flows

PASSWORD = "airflow-Pw-31415"

# kestra-io/blueprints flows/airflow-trigger-dag.yaml without its documentation.
TRIGGER_DAG = """
id: airflow-trigger-dag
namespace: company.team

inputs:
  - id: dag_id
    type: STRING
    description: The Airflow DAG ID to trigger
    defaults: example_astronauts

tasks:
  - id: trigger_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    description: Trigger an Airflow DAG run and wait for completion.
    baseUrl: "{{ secret('AIRFLOW_BASE_URL') }}"
    dagId: "{{ inputs.dag_id }}"
    wait: true
    pollFrequency: PT1S
    options:
      basicAuthUser: "{{ secret('AIRFLOW_USERNAME') }}"
      basicAuthPassword: "{{ secret('AIRFLOW_PASSWORD') }}"
    body:
      conf:
        source: kestra
        namespace: "{{ flow.namespace }}"
        flow: "{{ flow.id }}"
        task: "{{ task.id }}"
        execution: "{{ execution.id }}"
"""


@pytest.fixture
def airflow(flows: Flows) -> Iterator[AirflowDouble]:
    with AirflowDouble(user="kestra", password=PASSWORD, dags=("example_astronauts",)) as double:
        double.polls = 2
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "AIRFLOW_BASE_URL", double.url)
            repos.secrets.update_secret("company.team", "AIRFLOW_USERNAME", "kestra")
            repos.secrets.update_secret("company.team", "AIRFLOW_PASSWORD", PASSWORD)
        yield double


def test_the_trigger_dag_blueprint_starts_the_run_and_waits_for_it(
    flows: Flows, airflow: AirflowDouble
) -> None:
    final = flows.run(TRIGGER_DAG)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert airflow.bodies == [
        {
            "conf": {
                "source": "kestra",
                "namespace": "company.team",
                "flow": "airflow-trigger-dag",
                "task": "trigger_dag",
                "execution": final.id,
            }
        }
    ]
    outputs = final.task_runs[0].outputs
    ((_, run_id),) = airflow.runs
    assert outputs["dagId"] == "example_astronauts"
    assert outputs["dagRunId"] == run_id
    assert outputs["state"] == "success"
    assert outputs["started"] and outputs["ended"]
    reads = [r for r in airflow.received if r.method == "GET"]
    assert len(reads) == 3  # running, running, then success
    assert all(PASSWORD not in line for line in flows.logs(final))


def test_a_failed_run_fails_the_task_and_no_wait_returns_at_once(
    flows: Flows, airflow: AirflowDouble
) -> None:
    airflow.outcomes = ["failed"]
    final = flows.run(
        """
id: airflow-runs
namespace: company.team
tasks:
  - id: fire_and_forget
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: "{{ secret('AIRFLOW_BASE_URL') }}"
    dagId: example_astronauts
    options:
      auth:
        type: BASIC
        username: kestra
        password: "{{ secret('AIRFLOW_PASSWORD') }}"
  - id: waited
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: "{{ secret('AIRFLOW_BASE_URL') }}"
    dagId: example_astronauts
    wait: true
    pollFrequency: PT0.05S
    headers:
      Authorization: "Basic {{ ('kestra:' ~ secret('AIRFLOW_PASSWORD')) | base64encode }}"
    body:
      dag_run_id: nightly-42
      conf:
        day: "2026-12-07"
"""
    )
    assert final.state is State.FAILED
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["fire_and_forget"]["state"] == "queued"
    assert "started" not in outputs["fire_and_forget"]
    assert outputs["waited"]["dagRunId"] == "nightly-42"
    assert outputs["waited"]["state"] == "failed"
    errors = flows.logs(final, "ERROR")
    assert any("Airflow DAG run nightly-42 of example_astronauts ended failed" in e for e in errors)


def test_airflow_refusals_carry_its_problem_details(flows: Flows, airflow: AirflowDouble) -> None:
    final = flows.run(
        """
id: airflow-errors
namespace: company.team
tasks:
  - id: unknown_field
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    allowFailure: true
    baseUrl: "{{ secret('AIRFLOW_BASE_URL') }}"
    dagId: example_astronauts
    options:
      basicAuthUser: kestra
      basicAuthPassword: "{{ secret('AIRFLOW_PASSWORD') }}"
    body:
      source: kestra
  - id: unknown_dag
    type: io.kestra.plugin.airflow.dags.TriggerDagRun
    baseUrl: "{{ secret('AIRFLOW_BASE_URL') }}"
    dagId: nope
    options:
      basicAuthUser: kestra
      basicAuthPassword: "{{ secret('AIRFLOW_PASSWORD') }}"
"""
    )
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any(
        "Airflow API error 400 on POST /api/v1/dags/example_astronauts/dagRuns: Bad Request: "
        "{'source': ['Unknown field.']}" in e
        for e in errors
    ), errors
    assert any(
        "404" in e and "DAG not found: DAG with dag_id: 'nope' not found" in e for e in errors
    )
