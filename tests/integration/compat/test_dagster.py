"""Dagster's TriggerRun against a local double of Dagster's GraphQL API, with
kestra-io/blueprints' ``dagster-trigger-job`` flow run as written (its secrets in the store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.dagster import DagsterDouble
from tests.integration.compat.conftest import Flows

TOKEN = "dagster-user-token-8c1f"

# kestra-io/blueprints flows/dagster-trigger-job.yaml without its documentation.
TRIGGER_JOB = """
id: dagster-trigger-job
namespace: company.team

inputs:
  - id: job_name
    type: STRING
    description: The Dagster job name to trigger
    defaults: example_job

tasks:
  - id: trigger_job
    type: io.kestra.plugin.dagster.TriggerRun
    description: Trigger a Dagster job and wait for completion.
    baseUrl: "{{ secret('DAGSTER_BASE_URL') }}"
    jobName: "{{ inputs.job_name }}"
    repository: __repository__
    location: "{{ secret('DAGSTER_LOCATION') }}"
    wait: true
    pollFrequency: PT5S
    maxDuration: PT30M
    body:
      tags:
        source: kestra
        namespace: "{{ flow.namespace }}"
        flow: "{{ flow.id }}"
        execution: "{{ execution.id }}"
    options:
      headers:
        Authorization: "Bearer {{ secret('DAGSTER_TOKEN') }}"
"""


@pytest.fixture
def dagster(flows: Flows) -> Iterator[DagsterDouble]:
    with DagsterDouble(token=TOKEN) as double:
        double.polls = 0
        double.jobs[("quickstart", "__repository__", "example_job")] = []
        double.jobs[("quickstart", "__repository__", "configured_job")] = ["load"]
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "DAGSTER_BASE_URL", double.url + "/graphql")
            repos.secrets.update_secret("company.team", "DAGSTER_LOCATION", "quickstart")
            repos.secrets.update_secret("company.team", "DAGSTER_TOKEN", TOKEN)
        yield double


def test_the_trigger_job_blueprint_launches_the_run_with_its_tags_and_waits(
    flows: Flows, dagster: DagsterDouble
) -> None:
    final = flows.run(TRIGGER_JOB)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (launch,) = dagster.launches
    assert launch["jobName"] == "example_job"
    assert launch["repositoryName"] == "__repository__"
    assert launch["runConfigData"] == {}
    assert launch["tags"] == [
        {"key": "source", "value": "kestra"},
        {"key": "namespace", "value": "company.team"},
        {"key": "flow", "value": "dagster-trigger-job"},
        {"key": "execution", "value": final.id},
    ]
    outputs = final.task_runs[0].outputs
    assert outputs["runId"] in dagster.runs
    assert (outputs["status"], outputs["jobName"]) == ("SUCCESS", "example_job")
    assert outputs["startTime"].endswith("+00:00") and outputs["endTime"]
    assert all(TOKEN not in line for line in flows.logs(final))


def test_a_failed_run_fails_the_task_and_run_config_is_sent(
    flows: Flows, dagster: DagsterDouble
) -> None:
    dagster.outcomes = ["FAILURE"]
    final = flows.run(
        """
id: dagster-failure
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.dagster.TriggerRun
    baseUrl: "{{ secret('DAGSTER_BASE_URL') }}"
    location: quickstart
    repository: __repository__
    jobName: configured_job
    wait: true
    pollFrequency: PT0.05S
    body:
      runConfig:
        ops:
          load:
            config:
              table: orders
    options:
      headers:
        Authorization: "Bearer {{ secret('DAGSTER_TOKEN') }}"
"""
    )
    assert final.state is State.FAILED
    assert dagster.launches[0]["runConfigData"] == {
        "ops": {"load": {"config": {"table": "orders"}}}
    }
    assert final.task_runs[0].outputs["status"] == "FAILURE"
    errors = flows.logs(final, "ERROR")
    assert any("of job 'configured_job' ended FAILURE" in e for e in errors), errors


def test_a_refused_launch_names_dagsters_error(flows: Flows, dagster: DagsterDouble) -> None:
    final = flows.run(
        """
id: dagster-refusals
namespace: company.team
tasks:
  - id: no_config
    type: io.kestra.plugin.dagster.TriggerRun
    allowFailure: true
    baseUrl: "{{ secret('DAGSTER_BASE_URL') }}"
    location: quickstart
    repository: __repository__
    jobName: configured_job
    options:
      headers:
        Authorization: "Bearer {{ secret('DAGSTER_TOKEN') }}"
  - id: unknown_job
    type: io.kestra.plugin.dagster.TriggerRun
    baseUrl: "{{ secret('DAGSTER_BASE_URL') }}"
    location: quickstart
    repository: __repository__
    jobName: nope
    options:
      headers:
        Authorization: "Bearer {{ secret('DAGSTER_TOKEN') }}"
"""
    )
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any(
        "Dagster did not launch job 'configured_job': RunConfigValidationInvalid: Missing "
        'required config entry "load"' in e
        for e in errors
    ), errors
    assert any(
        "PipelineNotFoundError: Could not find Pipeline quickstart.__repository__.nope" in e
        for e in errors
    ), errors
    assert dagster.launches == []
