"""Google Cloud (``io.kestra.plugin.gcp.*``): GCS objects and BigQuery datasets, tables and jobs.

Every task takes Kestra's connection properties (``projectId``, ``serviceAccount``, ``scopes``,
``impersonatedServiceAccount``) and Weir's ``endpointOverride``, which points the client at
another API root (an emulator, a private endpoint); see docs/tasks.md, "Google Cloud".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynMap, DynStrList, Spec, Text
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_GCS = "io.kestra.plugin.gcp.gcs"
_BQ = "io.kestra.plugin.gcp.bigquery"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


class GcpConnection(TaskSpec):
    """How every GCP task reaches Google Cloud (or an emulator)."""

    projectId: Text | None = None
    serviceAccount: Text | None = None
    impersonatedServiceAccount: Text | None = None
    scopes: DynStrList = Field(default_factory=lambda: [CLOUD_PLATFORM])
    endpointOverride: Text | None = None
    """Weir's: the API root to call instead of Google's (emulators, private endpoints)."""


@task(f"{_GCS}.Upload")
class GcsUpload(GcpConnection):
    from_: Text = Field(alias="from")
    to: Text
    contentType: Text | None = None
    contentEncoding: Text | None = None
    contentDisposition: Text | None = None
    cacheControl: Text | None = None


@task(f"{_GCS}.Download")
class GcsDownload(GcpConnection):
    from_: Text = Field(alias="from")


class GcsListing(GcpConnection):
    from_: Text = Field(alias="from")
    allVersions: DynBool | None = None
    filter: Literal["FILES", "DIRECTORY", "BOTH"] = "BOTH"
    listingType: Literal["DIRECTORY", "RECURSIVE"] = "DIRECTORY"
    regExp: Text | None = None
    maxFiles: DynInt = 25


@task(f"{_GCS}.List")
class GcsList(GcsListing):
    pass


@task(f"{_GCS}.Downloads")
class GcsDownloads(GcsListing):
    action: Literal["MOVE", "DELETE", "NONE"]
    moveDirectory: Text | None = None


@task(f"{_GCS}.Delete")
class GcsDelete(GcpConnection):
    uri: Text
    errorOnMissing: DynBool = False


@task(f"{_GCS}.Copy")
class GcsCopy(GcpConnection):
    from_: Text = Field(alias="from")
    to: Text
    delete: DynBool = False


@task(f"{_GCS}.CreateBucket")
class GcsCreateBucket(GcpConnection):
    name: Text
    ifExists: Literal["ERROR", "UPDATE", "SKIP"] = "ERROR"
    location: Text | None = None
    storageClass: Text | None = None
    labels: DynMap | None = None
    versioningEnabled: DynBool | None = None
    requesterPays: DynBool | None = None
    defaultKmsKeyName: Text | None = None
    defaultEventBasedHold: DynBool | None = None
    indexPage: Text | None = None
    notFoundPage: Text | None = None
    retentionPeriod: DynInt | None = None


Disposition = Literal["WRITE_TRUNCATE", "WRITE_APPEND", "WRITE_EMPTY"]
Creation = Literal["CREATE_IF_NEEDED", "CREATE_NEVER"]


class BigQueryTask(GcpConnection):
    location: Text | None = None
    retryAuto: Any = None
    retryReasons: DynStrList | None = None
    retryMessages: DynStrList | None = None


@task(f"{_BQ}.Query")
class BigQueryQuery(BigQueryTask):
    sql: Text
    legacySql: DynBool = False
    fetchType: FetchType = "NONE"
    fetch: bool = False
    """Deprecated: ``fetchType: FETCH``."""
    fetchOne: bool = False
    """Deprecated: ``fetchType: FETCH_ONE``."""
    store: bool = False
    """Deprecated: ``fetchType: STORE``."""
    destinationTable: Text | None = None
    writeDisposition: Disposition | None = None
    createDisposition: Creation | None = None
    defaultDataset: Text | None = None
    allowLargeResults: DynBool | None = None
    flattenResults: DynBool | None = None
    useQueryCache: DynBool | None = None
    dryRun: DynBool = False
    priority: Literal["INTERACTIVE", "BATCH"] = "INTERACTIVE"
    labels: DynMap | None = None
    maximumBytesBilled: DynInt | None = None
    clusteringFields: DynStrList | None = None
    timePartitioningField: Text | None = None
    schemaUpdateOptions: list[Literal["ALLOW_FIELD_ADDITION", "ALLOW_FIELD_RELAXATION"]] | None = (
        None
    )
    jobTimeout: Text | None = None


class CsvOptions(Spec):
    allowJaggedRows: DynBool | None = None
    allowQuotedNewLines: DynBool | None = None
    encoding: Text | None = None
    fieldDelimiter: Text | None = None
    quote: Text | None = None
    skipLeadingRows: DynInt | None = None


class AvroOptions(Spec):
    useAvroLogicalTypes: DynBool | None = None


class BigQueryLoading(BigQueryTask):
    """What Kestra's load tasks share (``AbstractLoad``)."""

    destinationTable: Text
    format: Literal["CSV", "JSON", "AVRO", "PARQUET", "ORC"] | None = None
    csvOptions: CsvOptions | None = None
    avroOptions: AvroOptions | None = None
    schema_: DynMap | None = Field(default=None, alias="schema")
    autodetect: DynBool | None = None
    writeDisposition: Disposition | None = None
    createDisposition: Creation | None = None
    ignoreUnknownValues: DynBool | None = None
    maxBadRecords: DynInt | None = None
    clusteringFields: DynStrList | None = None
    timePartitioningField: Text | None = None
    timePartitioningType: Literal["DAY", "HOUR", "MONTH", "YEAR"] = "DAY"
    schemaUpdateOptions: list[Literal["ALLOW_FIELD_ADDITION", "ALLOW_FIELD_RELAXATION"]] | None = (
        None
    )


@task(f"{_BQ}.Load")
class BigQueryLoad(BigQueryLoading):
    """An internal-storage file loaded into a table."""

    from_: Text = Field(alias="from")


@task(f"{_BQ}.LoadFromGcs")
class BigQueryLoadFromGcs(BigQueryLoading):
    """GCS objects (``gs://bucket/path``, one ``*`` wildcard each) loaded into a table."""

    from_: DynStrList = Field(alias="from")


@task(f"{_BQ}.CreateDataset")
class BigQueryCreateDataset(BigQueryTask):
    name: Text
    ifExists: Literal["ERROR", "UPDATE", "SKIP"] = "ERROR"
    description: Text | None = None
    friendlyName: Text | None = None
    labels: DynMap | None = None
    defaultTableLifetime: DynInt | None = None
    defaultPartitionExpirationMs: DynInt | None = None


@task(f"{_BQ}.DeleteTable")
class BigQueryDeleteTable(BigQueryTask):
    dataset: Text
    table: Text


class EncryptionConfiguration(Spec):
    kmsKeyName: Text | None = None


@task(f"{_BQ}.CreateTable")
class BigQueryCreateTable(BigQueryTask):
    dataset: Text
    table: Text
    tableDefinition: DynMap | None = None
    friendlyName: Text | None = None
    description: Text | None = None
    labels: DynMap | None = None
    requirePartitionFilter: DynBool | None = None
    expirationDuration: Text | None = None
    encryptionConfiguration: EncryptionConfiguration | None = None
