"""Athena queries, Lambda invocations and Glue job runs against moto in server mode on 127.0.0.1,
on the shape of kestra-io/blueprints' ``ingest-to-datalake-git``, ``aws-glue-athena-dynamodb``
and ``aws-lambda`` flows.

moto runs no query: the rows a query answers are queued beforehand through its
``/moto-api/static/athena/query-results`` endpoint, and each query takes the next result when its
rows are first read. moto's Lambda runs without Docker (``lambda: use_docker: false``, set through
``/moto-api/config``): an invocation answers the payload it was sent, or the next answer queued
through ``/moto-api/static/lambda-simple/response``. A Glue job run goes STARTING, RUNNING,
SUCCEEDED, one step each time it is read once moto's state manager is told so.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import moto.athena.urls
import pytest
import requests
from moto.athena.responses import AthenaResponse

from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows

REGION = "eu-central-1"


def _aws(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _defaults(endpoint: str) -> str:
    return f"""
pluginDefaults:
  - type: io.kestra.plugin.aws
    values:
      endpointOverride: {endpoint}
      region: {REGION}
      accessKeyId: testing
      secretKeyId: testing
"""


@pytest.fixture
def athena(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's Athena, also answering the paths of Athena's REST-JSON protocol, which botocore
    now speaks for it (moto 5.2 routes only the JSON protocol's ``POST /``; its handlers read
    either)."""
    monkeypatch.setitem(moto.athena.urls.url_paths, "{0}/(?P<path>.+)$", AthenaResponse.dispatch)
    return s3_endpoint


def _queue_result(endpoint: str, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    header = [name for name, _ in columns]
    result = {
        "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in [header, *rows]],
        "column_info": [{"Name": name, "Type": kind} for name, kind in columns],
    }
    answer = requests.post(
        f"{endpoint}/moto-api/static/athena/query-results",
        json={"region": REGION, "results": [result]},
        timeout=10,
    )
    assert answer.status_code == 201


def test_athena_queries_wait_and_give_their_rows_as_fetch_type_says(
    flows: Flows, athena: str
) -> None:
    _queue_result(athena, [("row_count", "bigint"), ("total_amount", "decimal")], [["3", "42.5"]])
    fruits = [("id", "int"), ("fruit", "varchar"), ("berry", "boolean"), ("day", "date")]
    _queue_result(
        athena,
        fruits,
        [["1", "cherry", "true", "2024-05-01"], ["2", "kiwi", "false", "2024-05-02"]],
    )
    _queue_result(
        athena, [("fruit", "varchar"), ("at", "timestamp")], [["apple", "2024-05-01 10:11:12.123"]]
    )
    final = flows.run(
        """
id: ingest-to-datalake-git
namespace: company.team
variables:
  bucket: kestraio
  database: default
tasks:
  - id: validate_with_athena
    type: io.kestra.plugin.aws.athena.Query
    database: "{{ vars.database }}"
    outputLocation: s3://{{ vars.bucket }}/query_results/
    fetchType: FETCH_ONE
    query: SELECT count(*) AS row_count, sum(amount) AS total_amount FROM curated_sales
  - id: fruits
    type: io.kestra.plugin.aws.athena.Query
    database: "{{ vars.database }}"
    catalog: AwsDataCatalog
    outputLocation: s3://{{ vars.bucket }}/query_results/
    fetchType: FETCH
    query: SELECT * FROM fruits
  - id: stored
    type: io.kestra.plugin.aws.athena.Query
    database: "{{ vars.database }}"
    outputLocation: s3://{{ vars.bucket }}/query_results/
    query: SELECT fruit, at FROM raw_fruits
  - id: merge_query
    type: io.kestra.plugin.aws.athena.Query
    database: "{{ vars.database }}"
    outputLocation: s3://{{ vars.bucket }}/query_results/
    query: |
      MERGE INTO fruits f USING raw_fruits r ON f.fruit = r.fruit
      WHEN MATCHED THEN UPDATE SET id = r.id
  - id: optimize
    type: io.kestra.plugin.aws.athena.Query
    database: "{{ vars.database }}"
    outputLocation: s3://{{ vars.bucket }}/query_results/
    fetchType: NONE
    query: OPTIMIZE fruits REWRITE DATA USING BIN_PACK;
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.validate_with_athena.row.row_count }} rows, {{ outputs.fruits.rows[1].fruit }}"
"""
        + _defaults(athena)
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    one = outputs["validate_with_athena"]
    assert one["row"] == {"row_count": 3, "total_amount": 42.5} and one["size"] == 1
    assert outputs["fruits"]["rows"] == [
        {"id": 1, "fruit": "cherry", "berry": True, "day": "2024-05-01"},
        {"id": 2, "fruit": "kiwi", "berry": False, "day": "2024-05-02"},
    ]
    assert outputs["stored"]["size"] == 1
    with flows.store.files.open(outputs["stored"]["uri"]) as stream:
        (stored,) = read_values(stream.read().decode())
    assert stored["fruit"] == "apple"
    assert stored["at"].isoformat().startswith("2024-05-01T10:11:12.123")
    assert outputs["merge_query"] == {
        "queryExecutionId": outputs["merge_query"]["queryExecutionId"],
        "size": 0,
    }
    assert set(outputs["optimize"]) == {"queryExecutionId"}
    assert "3 rows, kiwi" in flows.logs(final)

    executions = _aws("athena", athena)
    athena_seen = executions.get_query_execution(
        QueryExecutionId=outputs["fruits"]["queryExecutionId"]
    )["QueryExecution"]
    assert athena_seen["Query"] == "SELECT * FROM fruits"
    assert athena_seen["QueryExecutionContext"] == {
        "Database": "default",
        "Catalog": "AwsDataCatalog",
    }
    assert athena_seen["ResultConfiguration"]["OutputLocation"].startswith(
        "s3://kestraio/query_results/"
    )


@pytest.fixture
def lambda_endpoint(s3_endpoint: str) -> Iterator[str]:
    """moto's Lambda answering invocations without Docker."""
    config = f"{s3_endpoint}/moto-api/config"
    assert requests.post(config, json={"lambda": {"use_docker": False}}, timeout=10).ok
    yield s3_endpoint
    requests.post(config, json={"lambda": {"use_docker": True}}, timeout=10)


def _function(endpoint: str, name: str) -> str:
    iam = _aws("iam", endpoint)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    functions = _aws("lambda", endpoint)
    arn = functions.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    version = functions.publish_version(FunctionName=name)["Version"]
    functions.create_alias(FunctionName=name, Name="kestra", FunctionVersion=version)
    return str(arn)


def test_lambda_functions_are_invoked_with_their_payload_and_the_answer_is_stored(
    flows: Flows, lambda_endpoint: str
) -> None:
    arn = _function(lambda_endpoint, "ResultHandler")
    answer = json.dumps({"statusCode": 200, "body": json.dumps("Hello from Lambda!")})
    queued = requests.post(
        f"{lambda_endpoint}/moto-api/static/lambda-simple/response",
        json={"results": [answer], "region": REGION},
        timeout=10,
    )
    assert queued.status_code == 201
    final = flows.run(
        f"""
id: aws-lambda
namespace: company.team
tasks:
  - id: lambda
    type: io.kestra.plugin.aws.lambda.Invoke
    functionArn: {arn}
  - id: lambda_version
    type: io.kestra.plugin.aws.lambda.Invoke
    functionArn: {arn}:1
    functionPayload:
      your_event_input: hello
  - id: lambda_alias
    type: io.kestra.plugin.aws.lambda.Invoke
    functionArn: {arn}:kestra
    functionPayload:
      your_event_input: "{{{{ 'hey' ~ ' there' }}}}"
      n: 2
  - id: lambda_result
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ read(outputs.lambda.uri) | jq('.body') | first }}}}"
"""
        + _defaults(lambda_endpoint)
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["lambda"]["contentType"] == "application/json"
    assert outputs["lambda"]["contentLength"] == len(answer)
    with flows.store.files.open(outputs["lambda"]["uri"]) as stream:
        assert stream.read().decode() == answer
    with flows.store.files.open(outputs["lambda_alias"]["uri"]) as stream:
        assert json.loads(stream.read()) == {"your_event_input": "hey there", "n": 2}
    with flows.store.files.open(outputs["lambda_version"]["uri"]) as stream:
        assert json.loads(stream.read()) == {"your_event_input": "hello"}
    assert '"Hello from Lambda!"' in flows.logs(final)


@pytest.fixture
def glue_steps(athena: str) -> Iterator[str]:
    """moto's Glue job runs move one state each time they are read (none is skipped)."""
    manager = f"{athena}/moto-api/state-manager"
    step = {"model_name": "glue::job_run", "transition": {"progression": "manual", "times": 1}}
    assert requests.post(f"{manager}/set-transition", json=step, timeout=10).ok
    yield athena
    requests.post(f"{manager}/unset-transition", json={"model_name": "glue::job_run"}, timeout=10)


def test_a_glue_job_run_is_waited_for_and_its_figures_feed_dynamodb(
    flows: Flows, glue_steps: str
) -> None:
    endpoint = glue_steps
    glue, dynamodb = _aws("glue", endpoint), _aws("dynamodb", endpoint)
    glue.create_job(
        Name="curate-sales",
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/curate.py"},
    )
    dynamodb.create_table(
        TableName="kpis",
        KeySchema=[{"AttributeName": "kpi_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kpi_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    _queue_result(endpoint, [("row_count", "bigint"), ("total_amount", "double")], [["12", "99.5"]])
    final = flows.run(
        """
id: aws-glue-athena-dynamodb
namespace: company.team
inputs:
  - id: glue_job_name
    type: STRING
    defaults: curate-sales
tasks:
  - id: run_glue_job
    type: io.kestra.plugin.aws.glue.StartJobRun
    jobName: "{{ inputs.glue_job_name }}"
    arguments:
      --day: "2024-05-01"
    maxDuration: PT90S
    interval: PT0.1S
    wait: true
  - id: last_run
    type: io.kestra.plugin.aws.glue.GetJobRun
    jobName: "{{ inputs.glue_job_name }}"
  - id: validate_with_athena
    type: io.kestra.plugin.aws.athena.Query
    database: analytics
    outputLocation: s3://athena-results/
    fetchType: FETCH_ONE
    query: SELECT count(*) AS row_count, sum(amount) AS total_amount FROM curated_sales
  - id: write_kpi
    type: io.kestra.plugin.aws.dynamodb.PutItem
    tableName: kpis
    item:
      kpi_id: daily-sales
      row_count: "{{ outputs.validate_with_athena.row.row_count }}"
      glue_state: "{{ outputs.run_glue_job.state }}"
"""
        + _defaults(endpoint)
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    run = outputs["run_glue_job"]
    assert run["state"] == "SUCCEEDED" and run["jobName"] == "curate-sales"
    assert run["timeout"] == 2 and run["startedOn"]
    assert outputs["last_run"]["jobRunId"] == run["jobRunId"]
    seen = [
        line for line in flows.logs(final) if line.startswith(("Initial job state", "Job state"))
    ]
    states = [line.split(",")[0].split(": ")[1] for line in seen]
    assert states[0] in ("STARTING", "RUNNING") and states[-1] == "SUCCEEDED", states
    (stored,) = glue.get_job_runs(JobName="curate-sales")["JobRuns"]
    assert stored["Arguments"] == {"--day": "2024-05-01"}
    item = dynamodb.get_item(TableName="kpis", Key={"kpi_id": {"S": "daily-sales"}})["Item"]
    assert item["row_count"] == {"S": "12"} and item["glue_state"] == {"S": "SUCCEEDED"}


def test_a_cloudwatch_backlog_submits_an_emr_serverless_job(flows: Flows, s3_endpoint: str) -> None:
    emr = _aws("emr-serverless", s3_endpoint)
    application = emr.create_application(name="spark", releaseLabel="emr-6.6.0", type="SPARK")
    final = flows.run(
        f"""
id: aws-emr-serverless-spark
namespace: company.team
inputs:
  - id: application_id
    type: STRING
    defaults: {application["applicationId"]}
  - id: backlog_metric
    type: STRING
    defaults: ApproximateNumberOfMessagesVisible
tasks:
  - id: publish_backlog
    type: io.kestra.plugin.aws.cloudwatch.Push
    namespace: AWS/SQS
    metrics:
      - metricName: "{{{{ inputs.backlog_metric }}}}"
        value: "{{{{ 40 + 2 }}}}"
        unit: Count
        dimensions:
          QueueName: jobs
      - metricName: "{{{{ inputs.backlog_metric }}}}"
        value: 7
        unit: Count
        dimensions:
          QueueName: other
  - id: read_backlog
    type: io.kestra.plugin.aws.cloudwatch.Query
    namespace: AWS/SQS
    metricName: "{{{{ inputs.backlog_metric }}}}"
    dimensions:
      - name: QueueName
        value: jobs
    statistic: Maximum
    periodSeconds: 300
    window: PT15M
  - id: scale_if_backlog
    type: io.kestra.plugin.core.flow.If
    condition: "{{{{ outputs.read_backlog.count > 0 }}}}"
    then:
      - id: start_spark_job
        type: io.kestra.plugin.aws.emr.StartServerlessJobRun
        applicationId: "{{{{ inputs.application_id }}}}"
        executionRoleArn: arn:aws:iam::123456789012:role/emr
        jobName: "kestra-backlog-{{{{ execution.id }}}}"
        entryPoint: s3://my-bucket/scripts/spark-app.py
"""
        + _defaults(s3_endpoint)
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["publish_backlog"] == {"count": 2}
    backlog = outputs["read_backlog"]
    assert backlog["count"] == 1
    (point,) = backlog["series"]
    assert point["Maximum"] == 42.0 and point["Unit"] == "Count"
    assert point["Timestamp"].endswith("Z")
    run_id = outputs["start_spark_job"]["jobRunId"]
    run = emr.get_job_run(applicationId=application["applicationId"], jobRunId=run_id)["jobRun"]
    assert run["name"] == f"kestra-backlog-{final.id}"
    assert run["executionRole"] == "arn:aws:iam::123456789012:role/emr"
    assert run["jobDriver"] == {
        "sparkSubmit": {"entryPoint": "s3://my-bucket/scripts/spark-app.py"}
    }
