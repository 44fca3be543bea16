"""The polling triggers against real services, each on the shape of a Kestra blueprint: an
object put in moto's S3 (``s3-trigger``, ``aws-s3-fanout``), files in fake-gcs-server (the GCS
Trigger's documented example), messages in moto's SQS (``react-to-sqs-trigger``) and rows in
PostgreSQL (``hubspot-postgres-sync``). The polling loop runs in its thread as in a server; each
test waits for the execution a trigger starts and reads the file it handed over."""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest

from controlplane.engine.model import Execution, State
from controlplane.engine.polling import PollingSettings, PollingTriggers
from tests.integration.compat.conftest import Flows
from tests.integration.compat.test_gcp_gcs import _client, gcs_endpoint  # noqa: F401
from tests.waiting import ended, wait_until

NS = "company.team"


class Polling:
    """The polling loop of a server, on the engine the flows run on."""

    def __init__(self, flows: Flows) -> None:
        self.flows = flows
        self.loop = PollingTriggers(flows.store, flows.engine, PollingSettings(interval=0.1))

    def executions(self, flow_id: str) -> list[Execution]:
        with self.flows.store.unit(read_only=True) as repos:
            found = repos.executions.list_executions(NS, flow_id, limit=100)
        return sorted(found, key=lambda e: e.id)  # ids begin with their time

    def state(self, flow_id: str, trigger_id: str) -> dict[str, Any]:
        with self.flows.store.unit(read_only=True) as repos:
            return repos.triggers.read_trigger_state(NS, flow_id, trigger_id) or {}

    def fired(self, flow_id: str, trigger_id: str, count: int) -> list[Execution]:
        """The first ``count`` executions the trigger started, once ended; each evaluation
        (its state document changes) counts as progress, and a failed one fails the wait."""

        def started() -> list[Execution]:
            error = self.state(flow_id, trigger_id).get("error")
            assert error is None, error
            return self.executions(flow_id)

        found = wait_until(
            started,
            lambda executions: len(executions) >= count,
            f"{count} execution(s) of {flow_id}",
            progress=lambda: self.state(flow_id, trigger_id),
        )
        executions = [ended(self.flows.engine, e.id) for e in found[:count]]
        wait_until(  # the evaluation is over once it recorded its execution (after its action)
            lambda: self.state(flow_id, trigger_id).get("lastExecutionId"),
            lambda last: last == executions[-1].id,
            f"the evaluation that started {executions[-1].id}",
        )
        return executions

    def evaluated_again(self, flow_id: str, trigger_id: str, seen: str) -> None:
        """Wait for an evaluation that ended after the one that remembered ``seen``."""
        wait_until(
            lambda: self.state(flow_id, trigger_id).get("memory", {}).get("objects", {}),
            lambda objects: any(entry["lastSeenAt"] != seen for entry in objects.values()),
            f"another evaluation of {flow_id}",
            progress=lambda: self.state(flow_id, trigger_id),
        )


@pytest.fixture
def polling(flows: Flows) -> Iterator[Polling]:
    found = Polling(flows)
    found.loop.start()
    yield found
    found.loop.stop()


@pytest.fixture
def aws_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The secrets the blueprints read, as Kestra's open edition takes them (base64 env)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "key-id-for-moto",
        "AWS_SECRET_ACCESS_KEY": "secret-key-for-moto",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(f"SECRET_{name}", base64.b64encode(value.encode()).decode())


def _outputs(execution: Execution, task_id: str) -> list[Any]:
    return [r.outputs.get("value") for r in execution.task_runs if r.task_id == task_id]


def fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` replaced (its expressions keep their braces)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _aws(endpoint: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="key-id-for-moto", aws_secret_access_key="secret-key-for-moto",
    )  # fmt: skip


AWS_DEFAULTS = """
pluginDefaults:
  - type: io.kestra.plugin.aws
    values:
      endpointOverride: {endpoint}
      forcePathStyle: true
"""

S3_TRIGGER = (
    """
id: s3-trigger
namespace: company.team

tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    concurrencyLimit: 0
    values: "{{ trigger.objects | jq('.[].uri') }}"
    tasks:
      - id: s3_object
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
      - id: content
        type: io.kestra.plugin.core.debug.Return
        format: "{{ read(taskrun.value) }}"

triggers:
  - id: wait_for_s3_object
    type: io.kestra.plugin.aws.s3.Trigger
    bucket: declarative-orchestration
    prefix: demo
    interval: PT1S
    filter: FILES
    action: MOVE
    moveTo:
      key: archive/demo/
    region: "{{ secret('AWS_DEFAULT_REGION') }}"
    accessKeyId: "{{ secret('AWS_ACCESS_KEY_ID') }}"
    secretKeyId: "{{ secret('AWS_SECRET_ACCESS_KEY') }}"
"""
    + AWS_DEFAULTS
)


def test_s3_objects_start_one_execution_and_are_moved_to_the_archive(
    flows: Flows, s3_endpoint: str, aws_secrets: None, polling: Polling
) -> None:
    s3 = _aws(s3_endpoint, "s3")
    s3.create_bucket(Bucket="declarative-orchestration")
    s3.put_object(Bucket="declarative-orchestration", Key="demo/orders.csv", Body=b"id\n1\n")
    s3.put_object(Bucket="declarative-orchestration", Key="demo/notes.txt", Body=b"hello\n")
    flows.save(fill(S3_TRIGGER, endpoint=s3_endpoint))

    (execution,) = polling.fired("s3-trigger", "wait_for_s3_object", 1)
    assert execution.state is State.SUCCESS, flows.logs(execution)
    objects = (execution.trigger or {})["objects"]
    assert sorted(o["key"] for o in objects) == ["demo/notes.txt", "demo/orders.csv"]
    assert {o["changeType"] for o in objects} == {"CREATE"}
    assert all(
        o["uri"].startswith("kestra:///company/team/s3-trigger/executions/") for o in objects
    )
    assert sorted(_outputs(execution, "content")) == ["hello\n", "id\n1\n"]
    listed = s3.list_objects_v2(Bucket="declarative-orchestration")["Contents"]
    assert sorted(o["Key"] for o in listed) == ["archive/demo/notes.txt", "archive/demo/orders.csv"]


S3_IN_PLACE = (
    """
id: aws-s3-fanout
namespace: company.team
tasks:
  - id: content
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.objects[0].changeType }} {{ read(trigger.objects[0].uri) }}"
triggers:
  - id: object_landed
    type: io.kestra.plugin.aws.s3.Trigger
    accessKeyId: "{{ secret('AWS_ACCESS_KEY_ID') }}"
    secretKeyId: "{{ secret('AWS_SECRET_ACCESS_KEY') }}"
    region: "{{ secret('AWS_DEFAULT_REGION') }}"
    bucket: my-landing-bucket
    prefix: incoming/
    interval: PT1S
    action: NONE
"""
    + AWS_DEFAULTS
)


def test_an_s3_object_left_in_place_fires_again_only_when_it_changes(
    flows: Flows, s3_endpoint: str, aws_secrets: None, polling: Polling
) -> None:
    s3 = _aws(s3_endpoint, "s3")
    s3.create_bucket(Bucket="my-landing-bucket")
    s3.put_object(Bucket="my-landing-bucket", Key="incoming/data.json", Body=b'{"v": 1}')
    flows.save(fill(S3_IN_PLACE, endpoint=s3_endpoint))

    (first,) = polling.fired("aws-s3-fanout", "object_landed", 1)
    assert _outputs(first, "content") == ['CREATE {"v": 1}']
    s3.put_object(Bucket="my-landing-bucket", Key="incoming/data.json", Body=b'{"v": 2}')
    second = polling.fired("aws-s3-fanout", "object_landed", 2)[1]
    assert _outputs(second, "content") == ['UPDATE {"v": 2}']

    objects = polling.state("aws-s3-fanout", "object_landed")["memory"]["objects"]
    (seen,) = [entry["lastSeenAt"] for entry in objects.values()]
    polling.evaluated_again("aws-s3-fanout", "object_landed", seen)
    assert len(polling.executions("aws-s3-fanout")) == 2
    assert s3.get_object(Bucket="my-landing-bucket", Key="incoming/data.json")["Body"].read()


SQS_TRIGGER = (
    """
id: react-to-sqs-trigger
namespace: company.team

tasks:
  - id: print_message
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.count }}: {{ read(trigger.uri) }}"

triggers:
  - id: sqs
    type: io.kestra.plugin.aws.sqs.Trigger
    accessKeyId: "{{ secret('AWS_ACCESS_KEY_ID') }}"
    secretKeyId: "{{ secret('AWS_SECRET_ACCESS_KEY') }}"
    region: "{{ secret('AWS_DEFAULT_REGION') }}"
    queueUrl: {queue}
    maxRecords: 1
    interval: PT1S
"""
    + AWS_DEFAULTS
)


def test_sqs_messages_start_an_execution_each_and_leave_the_queue(
    flows: Flows, s3_endpoint: str, aws_secrets: None, polling: Polling
) -> None:
    sqs = _aws(s3_endpoint, "sqs")
    queue = sqs.create_queue(QueueName="kestra")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="first order")
    sqs.send_message(QueueUrl=queue, MessageBody="second order")
    flows.save(fill(SQS_TRIGGER, queue=queue, endpoint=s3_endpoint))

    executions = polling.fired("react-to-sqs-trigger", "sqs", 2)
    assert all(e.state is State.SUCCESS for e in executions), flows.logs(executions[0])
    printed = sorted(value for e in executions for value in _outputs(e, "print_message"))
    assert printed == ['1: "first order"\n', '1: "second order"\n']
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


GCS_TRIGGER = """
id: gcs_listen
namespace: company.team

tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ trigger.blobs | jq('.[].uri') }}}}"
    tasks:
      - id: return
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ read(taskrun.value) }}}}"

triggers:
  - id: watch
    type: io.kestra.plugin.gcp.gcs.Trigger
    interval: PT1S
    from: gs://my-bucket/kestra/listen/
    action: MOVE
    moveDirectory: gs://my-bucket/kestra/archive/

pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      projectId: test-project
      endpointOverride: {endpoint}
"""


def test_gcs_files_start_one_execution_and_are_moved(
    flows: Flows,
    gcs_endpoint: str,  # noqa: F811
    polling: Polling,
) -> None:
    gcs = _client(gcs_endpoint)
    bucket = gcs.create_bucket("my-bucket")
    bucket.blob("kestra/listen/a.csv").upload_from_string(b"a,1\n")
    bucket.blob("kestra/listen/b.csv").upload_from_string(b"b,2\n")
    flows.save(GCS_TRIGGER.format(endpoint=gcs_endpoint))

    (execution,) = polling.fired("gcs_listen", "watch", 1)
    assert execution.state is State.SUCCESS, flows.logs(execution)
    blobs = (execution.trigger or {})["blobs"]
    assert sorted(b["name"] for b in blobs) == ["kestra/listen/a.csv", "kestra/listen/b.csv"]
    assert {b["changeType"] for b in blobs} == {"CREATE"}
    assert sorted(_outputs(execution, "return")) == ["a,1\n", "b,2\n"]
    names = sorted(blob.name for blob in gcs.list_blobs("my-bucket"))
    assert names == ["kestra/archive/a.csv", "kestra/archive/b.csv"]


POSTGRES_TRIGGER = """
id: hubspot-postgres-sync
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ trigger.rows }}}}"
    tasks:
      - id: mark_processed
        type: io.kestra.plugin.jdbc.postgresql.Query
        sql: |
          UPDATE customers SET processed_at = now()
          WHERE email = '{{{{ json(taskrun.value).Email }}}}'

triggers:
  - id: postgres_trigger
    type: io.kestra.plugin.jdbc.postgresql.Trigger
    sql: |
      SELECT
        first_name as "FirstName",
        email as "Email"
      FROM customers
      WHERE updated_at > CURRENT_DATE - INTERVAL '1 day'
      AND (processed_at IS NULL OR processed_at < updated_at)
    interval: PT1S
    fetchType: FETCH

pluginDefaults:
  - type: io.kestra.plugin.jdbc.postgresql
    values:
      url: "{url}"
      username: "{username}"
"""


def test_postgres_rows_start_an_execution_that_marks_them_processed(
    flows: Flows, postgres_url: str, polling: Polling
) -> None:
    parts = urllib.parse.urlsplit(postgres_url)
    url = f"jdbc:postgresql://{parts.hostname}:{parts.port}{parts.path}?{parts.query}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(
            "CREATE TABLE customers (first_name text, email text PRIMARY KEY, "
            "updated_at timestamptz DEFAULT now(), processed_at timestamptz)"
        )
        db.execute("INSERT INTO customers VALUES ('Ada', 'ada@example.com'), "
                   "('Alan', 'alan@example.com')")  # fmt: skip
        flows.save(POSTGRES_TRIGGER.format(url=url, username=parts.username))

        (first,) = polling.fired("hubspot-postgres-sync", "postgres_trigger", 1)
        assert first.state is State.SUCCESS, flows.logs(first)
        rows = (first.trigger or {})["rows"]
        assert sorted(r["Email"] for r in rows) == ["ada@example.com", "alan@example.com"]
        assert (first.trigger or {})["size"] == 2
        unprocessed = db.execute("SELECT count(*) FROM customers WHERE processed_at IS NULL")
        assert unprocessed.fetchone() == (0,)

        db.execute("INSERT INTO customers VALUES ('Grace', 'grace@example.com')")
        second = polling.fired("hubspot-postgres-sync", "postgres_trigger", 2)[1]
        assert (second.trigger or {})["rows"] == [
            {"FirstName": "Grace", "Email": "grace@example.com"}
        ]
