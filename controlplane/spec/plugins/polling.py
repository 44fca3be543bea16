"""Polling triggers: every ``interval`` a scheduler looks at a bucket, a queue or a table, and
starts one execution for what it finds there (``io.kestra.plugin.aws.s3.Trigger``,
``io.kestra.plugin.gcp.gcs.Trigger``, ``io.kestra.plugin.aws.sqs.Trigger``,
``io.kestra.plugin.jdbc.postgresql.Trigger``, ``io.kestra.plugin.core.http.Trigger``).

The properties are Kestra's; a trigger's connection and listing properties are those of the
task it runs to look (S3 ``List``, GCS ``List``, PostgreSQL ``Query``), so plugin defaults given
for a package reach the trigger too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from controlplane.spec.fields import Duration, DynBool, DynInt, DynMap, DynStrList, Text
from controlplane.spec.plugins.aws import ListFilter, MoveTo
from controlplane.spec.plugins.core import HttpCall
from controlplane.spec.plugins.gcp import CLOUD_PLATFORM
from controlplane.spec.plugins.jdbc import FetchType, SslMode
from controlplane.spec.plugins.triggers import TriggerSpec
from controlplane.spec.registry import trigger

Action = Literal["MOVE", "DELETE", "NONE"]
On = Literal["CREATE", "UPDATE", "CREATE_OR_UPDATE"]
"""Which changes of an object fire: a new one, a changed one (another version), or both."""


class PollingTrigger(TriggerSpec):
    """What every polling trigger has: how often it looks."""

    interval: Duration = timedelta(seconds=60)


class _ObjectState(PollingTrigger):
    """Triggers that remember the objects they fired for, so that one fires once per version."""

    on: On = "CREATE_OR_UPDATE"
    stateKey: Text | None = None
    stateTtl: Duration | None = None
    maxFiles: DynInt = 25


class _AwsConnection(PollingTrigger):
    accessKeyId: Text | None = None
    secretKeyId: Text | None = None
    sessionToken: Text | None = None
    region: Text | None = None
    endpointOverride: Text | None = None
    stsRoleArn: Text | None = None
    stsRoleExternalId: Text | None = None
    stsRoleSessionName: Text | None = None
    stsRoleSessionDuration: Text | None = None
    stsEndpointOverride: Text | None = None


@trigger("io.kestra.plugin.aws.s3.Trigger")
class S3Trigger(_AwsConnection, _ObjectState):
    """The objects of ``bucket`` that the listing selects and that are new or changed (``on``),
    downloaded to internal storage as ``trigger.objects``; then moved or deleted (``action``)."""

    bucket: Text
    prefix: Text | None = None
    delimiter: Text | None = None
    marker: Text | None = None
    encodingType: Text | None = None
    maxKeys: DynInt = 1000
    expectedBucketOwner: Text | None = None
    requestPayer: Text | None = None
    regexp: Text | None = None
    filter: ListFilter = "BOTH"
    action: Action | None = None
    moveTo: MoveTo | None = None
    forcePathStyle: DynBool | None = None
    compatibilityMode: DynBool = False


@trigger("io.kestra.plugin.gcp.gcs.Trigger")
class GcsTrigger(_ObjectState):
    """The files under ``from`` that are new or changed (``on``), downloaded to internal
    storage as ``trigger.blobs``; then moved to ``moveDirectory`` or deleted (``action``)."""

    projectId: Text | None = None
    serviceAccount: Text | None = None
    impersonatedServiceAccount: Text | None = None
    scopes: DynStrList = Field(default_factory=lambda: [CLOUD_PLATFORM])
    endpointOverride: Text | None = None
    """Weir's, as on the GCS tasks: the API root to call instead of Google's."""
    from_: Text = Field(alias="from")
    action: Action = "NONE"
    moveDirectory: Text | None = None
    listingType: Literal["DIRECTORY", "RECURSIVE"] = "DIRECTORY"
    regExp: Text | None = None


@trigger("io.kestra.plugin.aws.sqs.Trigger")
class SqsTrigger(_AwsConnection):
    """The messages waiting in ``queueUrl`` (at most ``maxRecords``), written to an Ion file
    ``trigger.uri`` with their ``trigger.count``, and deleted from the queue (``autoDelete``)."""

    queueUrl: Text
    maxRecords: DynInt | None = None
    maxDuration: Duration | None = None
    serdeType: Literal["STRING", "JSON"] = "STRING"
    autoDelete: DynBool = True
    visibilityTimeout: DynInt = 30
    maxConcurrency: DynInt = 50
    connectionAcquisitionTimeout: Duration | None = None


@trigger("io.kestra.plugin.jdbc.postgresql.Trigger")
class PostgresTrigger(PollingTrigger):
    """The rows ``sql`` returns, when there is at least one: ``trigger.rows`` (FETCH, the
    default), ``trigger.row`` (FETCH_ONE) or the Ion file ``trigger.uri`` (STORE), and
    ``trigger.size``."""

    url: Text
    username: Text | None = None
    password: Text | None = None
    timeZoneId: Text | None = None
    sql: Text
    afterSQL: Text | None = None
    fetchType: FetchType = "FETCH"
    fetchSize: DynInt = 10000
    parameters: DynMap | None = None
    connectionPooling: DynBool = True
    connectionPoolSize: DynInt = 10
    store: bool = False
    """Deprecated: ``fetchType: STORE``."""
    fetchOne: bool = False
    """Deprecated: ``fetchType: FETCH_ONE``."""
    fetch: bool = False
    """Deprecated: ``fetchType: FETCH``."""
    ssl: DynBool = False
    sslMode: SslMode | None = None
    sslRootCert: Text | None = None
    sslCert: Text | None = None
    sslKey: Text | None = None
    sslKeyPassword: Text | None = None


@trigger("io.kestra.plugin.core.http.Trigger")
class HttpTrigger(PollingTrigger, HttpCall):
    """The answer of one HTTP request, when ``responseCondition`` holds for it (``response``:
    ``statusCode``, ``body``, ``headers``): ``trigger.code``, ``trigger.headers``,
    ``trigger.body`` and ``trigger.uri``. The request is ``http.Request``'s, failed statuses
    allowed."""

    responseCondition: Text = "{{ response.statusCode < 400 }}"
