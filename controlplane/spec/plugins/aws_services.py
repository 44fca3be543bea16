"""AWS services besides S3 (``io.kestra.plugin.aws.{cloudwatch,dynamodb,eventbridge,kinesis,
sns}.*``), each reached with the connection properties every AWS task shares."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from controlplane.spec.fields import DynBool, DynDuration, DynFloat, DynInt, DynMap, Spec, Text
from controlplane.spec.plugins.aws import AwsConnection
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task

_AWS = "io.kestra.plugin.aws"


# -- DynamoDB -----------------------------------------------------------------------------------


class _DynamoDb(AwsConnection):
    tableName: Text


@task(f"{_AWS}.dynamodb.PutItem")
class DynamoDbPutItem(_DynamoDb):
    """Write one item: a map, or a JSON text of one."""

    item: dict[str, Any] | Text


@task(f"{_AWS}.dynamodb.GetItem")
class DynamoDbGetItem(_DynamoDb):
    """Read one item by its key (output ``row``)."""

    key: DynMap


@task(f"{_AWS}.dynamodb.DeleteItem")
class DynamoDbDeleteItem(_DynamoDb):
    key: DynMap


class _Fetching(_DynamoDb):
    fetchType: FetchType = "STORE"
    limit: DynInt | None = None
    filterExpression: Text | None = None
    expressionAttributeValues: DynMap | None = None


@task(f"{_AWS}.dynamodb.Scan")
class DynamoDbScan(_Fetching):
    """Every item of the table that ``filterExpression`` keeps (``:name`` placeholders from
    ``expressionAttributeValues``), as ``fetchType`` says: ``rows``, ``row`` or an Ion file."""


@task(f"{_AWS}.dynamodb.Query")
class DynamoDbQuery(_Fetching):
    """The items ``keyConditionExpression`` selects (placeholders from
    ``expressionAttributeValues``), as ``fetchType`` says."""

    keyConditionExpression: Text
    expressionAttributeValues: DynMap


# -- EventBridge and Kinesis --------------------------------------------------------------------


class EventEntry(Spec):
    eventBusName: Text
    source: Text
    detailType: Text
    detail: dict[str, Any] | Text | None = None
    resources: list[Text] | None = None


@task(f"{_AWS}.eventbridge.PutEvents")
class EventBridgePutEvents(AwsConnection):
    """Send events to EventBridge: a list of entries, or the URI of an Ion file of them.
    Outputs ``uri`` (each entry with its ``eventId`` or error), ``entryCount`` and
    ``failedEntryCount``."""

    entries: list[EventEntry] | Text
    failOnUnsuccessfulEvents: DynBool = True


class KinesisRecord(Spec):
    partitionKey: Text
    data: Text
    explicitHashKey: Text | None = None


@task(f"{_AWS}.kinesis.PutRecords")
class KinesisPutRecords(AwsConnection):
    """Put records into a Kinesis data stream (``streamName`` or ``streamArn``): a list, or the
    URI of an Ion file of them. Outputs ``uri`` (each record with its ``sequenceNumber`` and
    ``shardId``, or its error), ``recordCount`` and ``failedRecordsCount``."""

    streamName: Text | None = None
    streamArn: Text | None = None
    records: list[KinesisRecord] | Text
    failOnUnsuccessfulRecords: DynBool = True


# -- SNS ----------------------------------------------------------------------------------------


class SnsMessage(Spec):
    data: Text
    subject: Text | None = None
    groupId: Text | None = None
    deduplicationId: Text | None = None
    phoneNumber: Text | None = None
    structure: Text | None = None


@task(f"{_AWS}.sns.Publish")
class SnsPublish(AwsConnection):
    """Publish messages to an SNS topic: ``from`` is one message, a list of them, or the URI of
    an Ion file of them. Output ``messagesCount``."""

    topicArn: Text
    from_: SnsMessage | list[SnsMessage] | Text = Field(alias="from")


# -- CloudWatch ---------------------------------------------------------------------------------


class MetricDimension(Spec):
    name: Text
    value: Text


@task(f"{_AWS}.cloudwatch.Query")
class CloudWatchQuery(AwsConnection):
    """The datapoints of a metric over the last ``window``, aggregated by ``statistic`` every
    ``periodSeconds``, oldest first. Outputs ``count`` and ``series`` (one map per datapoint:
    ``Timestamp`` and the statistic, as CloudWatch names them)."""

    namespace: Text | None = None
    metricName: Text
    dimensions: list[MetricDimension] | None = None
    statistic: Text = "Average"
    periodSeconds: DynInt = 60
    window: DynDuration = timedelta(minutes=5)


class MetricValue(Spec):
    metricName: Text
    value: DynFloat | None = None
    unit: Text | None = None
    dimensions: DynMap | None = None


@task(f"{_AWS}.cloudwatch.Push")
class CloudWatchPush(AwsConnection):
    """Publish ``metrics`` (now) to ``namespace``. Output ``count``."""

    namespace: Text
    metrics: list[MetricValue]
