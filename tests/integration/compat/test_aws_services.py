"""DynamoDB, EventBridge, Kinesis and SNS against moto in server mode on 127.0.0.1, on the shape
of kestra-io/blueprints' ``scan-dynamodb-table``, ``aws-event-bridge``, ``aws-kinesis-json`` and
``aws-s3-fanout`` flows (entries given inline and as an Ion file from a JSON conversion)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from controlplane.engine.model import State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows


def _aws(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _defaults(endpoint: str) -> str:
    return f"""
pluginDefaults:
  - type: io.kestra.plugin.aws
    values:
      endpointOverride: {endpoint}
      region: us-east-1
      accessKeyId: testing
      secretKeyId: testing
"""


def test_dynamodb_items_are_put_read_scanned_queried_and_deleted(
    flows: Flows, s3_endpoint: str
) -> None:
    dynamodb = _aws("dynamodb", s3_endpoint)
    dynamodb.create_table(
        TableName="demo",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName="demo", Item={"id": {"S": "b"}, "amount": {"N": "7"}, "tags": {"SS": ["x"]}}
    )
    final = flows.run(
        """
id: scan-dynamodb-table
namespace: company.team
tasks:
  - id: put
    type: io.kestra.plugin.aws.dynamodb.PutItem
    tableName: demo
    item:
      id: a
      amount: "{{ 40 + 2 }}"
      active: true
      address: {city: Paris}
  - id: put_json
    type: io.kestra.plugin.aws.dynamodb.PutItem
    tableName: demo
    item: '{"id": "c", "amount": 1}'
  - id: get
    type: io.kestra.plugin.aws.dynamodb.GetItem
    tableName: demo
    key: {id: a}
  - id: extract_data
    type: io.kestra.plugin.aws.dynamodb.Scan
    tableName: demo
    fetchType: FETCH
  - id: filtered
    type: io.kestra.plugin.aws.dynamodb.Scan
    tableName: demo
    filterExpression: "active = :yes"
    expressionAttributeValues: {":yes": true}
    fetchType: FETCH_ONE
  - id: query
    type: io.kestra.plugin.aws.dynamodb.Query
    tableName: demo
    keyConditionExpression: "id = :id"
    expressionAttributeValues: {":id": b}
  - id: delete
    type: io.kestra.plugin.aws.dynamodb.DeleteItem
    tableName: demo
    key: {id: c}
  - id: process_data
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.extract_data.size }} rows"
"""
        + _defaults(s3_endpoint)
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["get"]["row"] == {
        "id": "a",
        "amount": "42",
        "active": True,
        "address": {"city": "Paris"},
    }
    rows = {row["id"]: row for row in outputs["extract_data"]["rows"]}
    assert set(rows) == {"a", "b", "c"} and outputs["extract_data"]["size"] == 3
    assert rows["b"] == {"id": "b", "amount": 7, "tags": ["x"]}
    assert outputs["filtered"]["row"]["id"] == "a"
    assert outputs["query"]["size"] == 1 and outputs["query"]["uri"].startswith("kestra://")
    assert "3 rows" in flows.logs(final)
    left = dynamodb.scan(TableName="demo")["Items"]
    assert sorted(item["id"]["S"] for item in left) == ["a", "b"]


def test_events_records_and_messages_are_sent_from_lists_and_ion_files(
    flows: Flows, s3_endpoint: str, serve: Callable[[dict[str, bytes]], str]
) -> None:
    kinesis, sns, sqs = (_aws(s, s3_endpoint) for s in ("kinesis", "sns", "sqs"))
    kinesis.create_stream(StreamName="kestra", ShardCount=1)
    topic = sns.create_topic(Name="objects")["TopicArn"]
    queue = sqs.create_queue(QueueName="fanout")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    base = serve(
        {
            "/user_events.json": b'{"partitionKey": "user2", "data": "sign-in"}\n'
            b'{"PartitionKey": "user2", "Data": "checkout"}\n',
            "/events.json": b'[{"source": "kestra", "eventBusName": "default",'
            b' "detailType": "from-file", "detail": {"n": 1}}]',
        }
    )
    final = flows.run(
        f"""
id: aws-streams
namespace: company.team
tasks:
  - id: put_records_simple_map
    type: io.kestra.plugin.aws.kinesis.PutRecords
    streamName: kestra
    records:
      - data: sign-in
        partitionKey: user1
      - data: sign-out
        partitionKey: user1
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: {base}/user_events.json
  - id: json_to_ion
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{{{ outputs.extract.uri }}}}"
  - id: put_records
    type: io.kestra.plugin.aws.kinesis.PutRecords
    streamName: kestra
    records: "{{{{ outputs.json_to_ion.uri }}}}"
  - id: send_events
    type: io.kestra.plugin.aws.eventbridge.PutEvents
    entries:
      - source: kestra
        eventBusName: default
        detailType: my-custom-app
        detail:
          message: a user sign-in event
  - id: extract_events
    type: io.kestra.plugin.core.http.Download
    uri: {base}/events.json
  - id: events_to_ion
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{{{ outputs.extract_events.uri }}}}"
  - id: send_events_json
    type: io.kestra.plugin.aws.eventbridge.PutEvents
    entries: "{{{{ outputs.events_to_ion.uri }}}}"
  - id: announce_object
    type: io.kestra.plugin.aws.sns.Publish
    topicArn: {topic}
    from:
      data: "New object landed: data/orders.csv"
      subject: new object
  - id: read_results
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ read(outputs.put_records.uri) }}}}"
"""
        + _defaults(s3_endpoint)
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["put_records_simple_map"]["recordCount"] == 2
    assert outputs["put_records"]["recordCount"] == 2
    assert outputs["put_records"]["failedRecordsCount"] == 0
    assert outputs["send_events"] == {
        "uri": outputs["send_events"]["uri"],
        "entryCount": 1,
        "failedEntryCount": 0,
    }
    assert outputs["send_events_json"]["entryCount"] == 1
    assert outputs["announce_object"]["messagesCount"] == 1

    shard = kinesis.describe_stream(StreamName="kestra")["StreamDescription"]["Shards"][0]
    iterator = kinesis.get_shard_iterator(
        StreamName="kestra", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [(r["PartitionKey"], r["Data"]) for r in records] == [
        ("user1", b"sign-in"),
        ("user1", b"sign-out"),
        ("user2", b"sign-in"),
        ("user2", b"checkout"),
    ]
    (logged,) = [line for line in flows.logs(final) if "sequenceNumber" in line]
    results = list(read_values(logged))
    assert [r["record"]["data"] for r in results] == ["sign-in", "checkout"]
    assert all(r["shardId"] == shard["ShardId"] and r["sequenceNumber"] for r in results)

    (message,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert message["Body"] == "New object landed: data/orders.csv"


def test_a_missing_table_fails_with_the_service_error(flows: Flows, s3_endpoint: str) -> None:
    final = flows.run(
        """
id: missing
namespace: company.team
tasks:
  - id: scan
    type: io.kestra.plugin.aws.dynamodb.Scan
    tableName: nowhere
"""
        + _defaults(s3_endpoint)
    )
    assert final.state is State.FAILED
    assert any(
        "dynamodb:scan failed: ResourceNotFoundException" in line
        for line in flows.logs(final, "ERROR")
    )
