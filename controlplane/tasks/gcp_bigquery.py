"""BigQuery with google-cloud-bigquery: Query (rows fetched, stored as Ion or written to a
destination table), Load from an internal-storage file, LoadFromGcs from gs:// objects,
CreateDataset, CreateTable and DeleteTable.
``endpointOverride`` (or BIGQUERY_EMULATOR_HOST on the worker) points them at another API root,
such as crucible's BigQuery emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.api_core.exceptions import Conflict, GoogleAPIError, NotFound
from google.cloud import bigquery

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.gcp import (
    BigQueryCreateDataset,
    BigQueryCreateTable,
    BigQueryDeleteTable,
    BigQueryLoad,
    BigQueryLoadFromGcs,
    BigQueryLoading,
    BigQueryQuery,
    BigQueryTask,
)
from controlplane.tasks import props
from controlplane.tasks.gcp import connection, failing, split_gs_uri
from controlplane.tasks.jdbc.results import Collected

_FORMATS = {
    "CSV": "CSV", "JSON": "NEWLINE_DELIMITED_JSON", "AVRO": "AVRO", "PARQUET": "PARQUET",
    "ORC": "ORC",
}  # fmt: skip


def client(task: BigQueryTask, ctx: RunContext) -> bigquery.Client:
    """A BigQuery client configured by the task's connection properties."""
    kwargs = connection(task, ctx, "BIGQUERY_EMULATOR_HOST").client_kwargs()
    return bigquery.Client(location=props.optional_text(ctx, task.location), **kwargs)


def _table(bq: bigquery.Client, name: str, what: str) -> bigquery.TableReference:
    try:
        return bigquery.TableReference.from_string(name, default_project=bq.project)
    except ValueError:
        raise TaskFailed(
            f"'{what}' must be project.dataset.table or dataset.table, got '{name}'"
        ) from None


def _table_output(table: bigquery.TableReference) -> dict[str, str]:
    return {"project": table.project, "dataset": table.dataset_id, "table": table.table_id}


def _dispositions(config: Any, task: BigQueryQuery | BigQueryLoading) -> None:
    """The write and create dispositions and schema update options the task sets (only those: the
    API takes an absent field as its default)."""
    if task.writeDisposition is not None:
        config.write_disposition = task.writeDisposition
    if task.createDisposition is not None:
        config.create_disposition = task.createDisposition
    if task.schemaUpdateOptions is not None:
        config.schema_update_options = task.schemaUpdateOptions


def _fetch_type(task: BigQueryQuery, ctx: RunContext) -> str:
    if task.fetch:
        return "FETCH"
    if task.fetchOne:
        return "FETCH_ONE"
    if task.store:
        return "STORE"
    return props.text(ctx, task.fetchType).upper()


def _query_config(task: BigQueryQuery, ctx: RunContext, bq: bigquery.Client) -> Any:
    config = bigquery.QueryJobConfig(
        use_legacy_sql=props.boolean(ctx, task.legacySql),
        dry_run=props.boolean(ctx, task.dryRun),
        priority=task.priority,
    )
    destination = props.optional_text(ctx, task.destinationTable)
    if destination:
        config.destination = _table(bq, destination, "destinationTable")
    _dispositions(config, task)
    dataset = props.optional_text(ctx, task.defaultDataset)
    if dataset:
        config.default_dataset = bigquery.DatasetReference.from_string(
            dataset, default_project=bq.project
        )
    for name, attribute in (
        ("allowLargeResults", "allow_large_results"),
        ("flattenResults", "flatten_results"),
        ("useQueryCache", "use_query_cache"),
    ):
        value = getattr(task, name)
        if value is not None:
            setattr(config, attribute, props.boolean(ctx, value))
    if task.maximumBytesBilled is not None:
        config.maximum_bytes_billed = props.integer(
            ctx, task.maximumBytesBilled, "maximumBytesBilled"
        )
    if task.labels:
        config.labels = {k: str(v) for k, v in props.mapping(ctx, task.labels, "labels").items()}
    if task.clusteringFields:
        config.clustering_fields = props.string_list(ctx, task.clusteringFields, "clusteringFields")
    if task.timePartitioningField:
        field = props.text(ctx, task.timePartitioningField)
        config.time_partitioning = bigquery.TimePartitioning(field=field)
    return config


@runs(BigQueryQuery)
def run_query(task: BigQueryQuery, ctx: RunContext) -> dict[str, Any]:
    bq = client(task, ctx)
    fetch_type = _fetch_type(task, ctx)
    sql = props.text(ctx, task.sql)
    timeout = (
        props.duration(ctx, task.jobTimeout, "jobTimeout").total_seconds()
        if task.jobTimeout
        else None
    )
    try:
        job = bq.query(sql, job_config=_query_config(task, ctx, bq))
        result = None if job.dry_run else job.result(timeout=timeout)
    except GoogleAPIError as exc:
        raise failing(f"BigQuery query of task '{ctx.task_id}'", exc) from None
    ctx.info(f"BigQuery job {job.job_id} done ({job.statement_type or 'dry run'})")
    if job.num_dml_affected_rows is not None:
        ctx.metric("num.dml.affected.rows", float(job.num_dml_affected_rows))
    outputs: dict[str, Any] = {"jobId": job.job_id}
    if job.destination is not None and task.destinationTable:
        outputs["destinationTable"] = _table_output(job.destination)
    if result is not None and fetch_type != "NONE" and job.statement_type == "SELECT":
        collected = Collected(fetch_type, ctx, "result.ion")
        collected.add(dict(row.items()) for row in result)
        outputs.update(collected.outputs())
    return outputs


def _load_config(task: BigQueryLoading, ctx: RunContext) -> Any:
    config = bigquery.LoadJobConfig(source_format=_FORMATS[task.format or "CSV"])
    _dispositions(config, task)
    if task.schema_ is not None:
        fields = props.mapping(ctx, task.schema_, "schema").get("fields") or []
        config.schema = [bigquery.SchemaField.from_api_repr(field) for field in fields]
    if task.autodetect is not None:
        config.autodetect = props.boolean(ctx, task.autodetect)
    if task.ignoreUnknownValues is not None:
        config.ignore_unknown_values = props.boolean(ctx, task.ignoreUnknownValues)
    if task.maxBadRecords is not None:
        config.max_bad_records = props.integer(ctx, task.maxBadRecords, "maxBadRecords")
    if task.clusteringFields:
        config.clustering_fields = props.string_list(ctx, task.clusteringFields, "clusteringFields")
    if task.timePartitioningField:
        field = props.text(ctx, task.timePartitioningField)
        config.time_partitioning = bigquery.TimePartitioning(
            type_=task.timePartitioningType, field=field
        )
    csv = task.csvOptions
    if csv is not None:
        if csv.fieldDelimiter is not None:
            config.field_delimiter = props.text(ctx, csv.fieldDelimiter)
        if csv.skipLeadingRows is not None:
            config.skip_leading_rows = props.integer(ctx, csv.skipLeadingRows, "skipLeadingRows")
        if csv.quote is not None:
            config.quote_character = props.text(ctx, csv.quote)
        if csv.encoding is not None:
            config.encoding = props.text(ctx, csv.encoding)
        if csv.allowJaggedRows is not None:
            config.allow_jagged_rows = props.boolean(ctx, csv.allowJaggedRows)
        if csv.allowQuotedNewLines is not None:
            config.allow_quoted_newlines = props.boolean(ctx, csv.allowQuotedNewLines)
    if task.avroOptions is not None and task.avroOptions.useAvroLogicalTypes is not None:
        config.use_avro_logical_types = props.boolean(ctx, task.avroOptions.useAvroLogicalTypes)
    return config


@runs(BigQueryLoad)
def run_load(task: BigQueryLoad, ctx: RunContext) -> dict[str, Any]:
    bq = client(task, ctx)
    source = props.text(ctx, task.from_)
    table = _table(bq, props.text(ctx, task.destinationTable), "destinationTable")
    with ctx.open_file(source) as stream:
        try:
            job = bq.load_table_from_file(stream, table, job_config=_load_config(task, ctx))
            job.result()
        except GoogleAPIError as exc:
            raise failing(f"BigQuery load of {source} into {table}", exc) from None
    return _load_outputs(ctx, job, table)


@runs(BigQueryLoadFromGcs)
def run_load_from_gcs(task: BigQueryLoadFromGcs, ctx: RunContext) -> dict[str, Any]:
    sources = props.string_list(ctx, task.from_, "from")
    if not sources:
        raise TaskFailed("'from' names no gs:// URI to load")
    for uri in sources:
        split_gs_uri(uri, "from")
    bq = client(task, ctx)
    table = _table(bq, props.text(ctx, task.destinationTable), "destinationTable")
    what = f"BigQuery load of {', '.join(sources)} into {table}"
    try:
        job = bq.load_table_from_uri(sources, table, job_config=_load_config(task, ctx))
        job.result()
    except GoogleAPIError as exc:
        raise failing(what, exc) from None
    return _load_outputs(ctx, job, table)


def _load_outputs(
    ctx: RunContext, job: bigquery.LoadJob, table: bigquery.TableReference
) -> dict[str, Any]:
    """Kestra's load outputs: the job, the table as ``project.dataset.table`` and the rows;
    the job's statistics as metrics."""
    ctx.info(f"BigQuery job {job.job_id} loaded {job.output_rows} rows into {table}")
    for name, value in (
        ("output.rows", job.output_rows),
        ("output.bytes", job.output_bytes),
        ("input.bytes", job.input_file_bytes),
        ("input.files", job.input_files),
    ):
        if value is not None:
            ctx.metric(name, float(value))
    destination = f"{table.project}.{table.dataset_id}.{table.table_id}"
    return {"jobId": job.job_id, "destinationTable": destination, "rows": job.output_rows}


@runs(BigQueryCreateDataset)
def run_create_dataset(task: BigQueryCreateDataset, ctx: RunContext) -> dict[str, Any]:
    bq = client(task, ctx)
    name = props.text(ctx, task.name)
    dataset = bigquery.Dataset(bigquery.DatasetReference.from_string(name, bq.project))
    dataset.location = props.optional_text(ctx, task.location)
    dataset.description = props.optional_text(ctx, task.description)
    dataset.friendly_name = props.optional_text(ctx, task.friendlyName)
    if task.labels:
        dataset.labels = {k: str(v) for k, v in props.mapping(ctx, task.labels, "labels").items()}
    if task.defaultTableLifetime is not None:
        lifetime = props.integer(ctx, task.defaultTableLifetime, "defaultTableLifetime")
        dataset.default_table_expiration_ms = lifetime * 1000
    if task.defaultPartitionExpirationMs is not None:
        dataset.default_partition_expiration_ms = props.integer(
            ctx, task.defaultPartitionExpirationMs, "defaultPartitionExpirationMs"
        )
    try:
        created = bq.create_dataset(dataset)
    except Conflict:
        if task.ifExists == "ERROR":
            raise TaskFailed(
                f"dataset {name} already exists: set ifExists to SKIP or UPDATE to accept it"
            ) from None
        created = bq.get_dataset(dataset.reference)
        if task.ifExists == "UPDATE":
            created = _update(bq, created, dataset)
    except GoogleAPIError as exc:
        raise failing(f"Creation of dataset {name}", exc) from None
    return {
        "dataset": created.dataset_id,
        "project": created.project,
        "friendlyName": created.friendly_name,
        "description": created.description,
        "location": created.location,
    }


def _update(bq: bigquery.Client, current: Any, wanted: Any) -> Any:
    fields = []
    for field in ("description", "friendly_name", "labels", "default_table_expiration_ms"):
        if getattr(wanted, field):
            setattr(current, field, getattr(wanted, field))
            fields.append(field)
    return bq.update_dataset(current, fields) if fields else current


@runs(BigQueryDeleteTable)
def run_delete_table(task: BigQueryDeleteTable, ctx: RunContext) -> dict[str, Any]:
    bq = client(task, ctx)
    dataset, name = props.text(ctx, task.dataset), props.text(ctx, task.table)
    table = _table(bq, f"{dataset}.{name}", "table")
    try:
        bq.delete_table(table)
    except NotFound:
        raise TaskFailed(f"table {table} does not exist (check 'dataset' and 'table')") from None
    except GoogleAPIError as exc:
        raise failing(f"Deletion of table {table}", exc) from None
    ctx.info(f"Deleted table {table}")
    return _table_output(table)


def _new_table(task: BigQueryCreateTable, ctx: RunContext, bq: bigquery.Client) -> Any:
    name = f"{props.text(ctx, task.dataset)}.{props.text(ctx, task.table)}"
    table = bigquery.Table(_table(bq, name, "table"))
    definition = props.mapping(ctx, task.tableDefinition, "tableDefinition")
    kind = str(definition.get("type") or "TABLE").upper()
    if kind != "TABLE":
        raise TaskFailed(f"tableDefinition type {kind} is not supported yet: only TABLE")
    fields = (definition.get("schema") or {}).get("fields") or []
    table.schema = [bigquery.SchemaField.from_api_repr(field) for field in fields]
    standard = definition.get("standardTableDefinition") or {}
    if standard.get("clustering"):
        table.clustering_fields = list(standard["clustering"])
    if task.friendlyName is not None:
        table.friendly_name = props.text(ctx, task.friendlyName)
    if task.description is not None:
        table.description = props.text(ctx, task.description)
    if task.labels:
        table.labels = {k: str(v) for k, v in props.mapping(ctx, task.labels, "labels").items()}
    if task.requirePartitionFilter is not None:
        table.require_partition_filter = props.boolean(ctx, task.requirePartitionFilter)
    if task.expirationDuration:
        lifetime = props.duration(ctx, task.expirationDuration, "expirationDuration")
        table.expires = datetime.now(UTC) + lifetime
    if task.encryptionConfiguration and task.encryptionConfiguration.kmsKeyName:
        key = props.text(ctx, task.encryptionConfiguration.kmsKeyName)
        table.encryption_configuration = bigquery.EncryptionConfiguration(kms_key_name=key)
    return table


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@runs(BigQueryCreateTable)
def run_create_table(task: BigQueryCreateTable, ctx: RunContext) -> dict[str, Any]:
    bq = client(task, ctx)
    table = _new_table(task, ctx, bq)
    try:
        created = bq.create_table(table)
    except GoogleAPIError as exc:
        raise failing(f"Creation of table {table.reference}", exc) from None
    ctx.info(f"Created table {created.reference}")
    return {
        "projectId": created.project,
        "datasetId": created.dataset_id,
        "table": created.table_id,
        "friendlyName": created.friendly_name,
        "description": created.description,
        "labels": created.labels or {},
        "location": created.location,
        "numRows": created.num_rows,
        "numBytes": created.num_bytes,
        "requirePartitionFilter": created.require_partition_filter,
        "creationTime": _moment(created.created),
        "lastModifiedTime": _moment(created.modified),
        "expirationTime": _moment(created.expires),
    }
