"""The BigQuery tasks against crucible's BigQuery emulator (``crucible serve --dialect bigquery``)
on 127.0.0.1: a dataset created, a CSV loaded into a table, the tutorial's CREATE TABLE AS and
MERGE steps, rows fetched, fetched one and stored as Ion, then a table deleted; connection
settings in pluginDefaults. LoadFromGcs sends its load job beside fake-gcs-server, where the
object is, and gets crucible's answer to a load job from GCS; a pass-through on 127.0.0.1 in
front of crucible keeps the job the client sent, to check its configuration."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from google.api_core.client_options import ClientOptions
from google.api_core.exceptions import NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from controlplane.engine.model import Execution, State
from tests.integration.compat.conftest import Flows
from tests.integration.compat.test_gcp_gcs import gcs_endpoint  # noqa: F401
from tests.waiting import wait_while_advancing

CSV = "vendor_id,trips\n1,10\n2,20\n3,30\n"

FLOW = """
id: bigquery-taxi
namespace: company.team
tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: "{base}/trips.csv"
  - id: create_dataset
    type: io.kestra.plugin.gcp.bigquery.CreateDataset
    name: zoomcamp
    ifExists: SKIP
  - id: create_again
    type: io.kestra.plugin.gcp.bigquery.CreateDataset
    name: zoomcamp
    ifExists: SKIP
  - id: load
    type: io.kestra.plugin.gcp.bigquery.Load
    from: "{{ outputs.extract.uri }}"
    destinationTable: test-project.zoomcamp.trips_ext
    format: CSV
    csvOptions:
      fieldDelimiter: ","
      skipLeadingRows: 1
    schema:
      fields:
        - name: vendor_id
          type: INTEGER
        - name: trips
          type: INTEGER
  - id: bq_tmp
    type: io.kestra.plugin.gcp.bigquery.Query
    sql: |
      CREATE OR REPLACE TABLE `test-project.zoomcamp.trips_tmp` AS
      SELECT MD5(CAST(vendor_id AS STRING)) AS unique_row_id, vendor_id, trips
      FROM `test-project.zoomcamp.trips_ext`
  - id: bq_table
    type: io.kestra.plugin.gcp.bigquery.CreateTable
    dataset: zoomcamp
    table: trips
    tableDefinition:
      type: TABLE
      schema:
        fields:
          - name: unique_row_id
            type: BYTES
          - name: vendor_id
            type: INT64
          - name: trips
            type: INT64
  - id: bq_merge
    type: io.kestra.plugin.gcp.bigquery.Query
    sql: |
      MERGE INTO `test-project.zoomcamp.trips` T
      USING `test-project.zoomcamp.trips_tmp` S
      ON T.unique_row_id = S.unique_row_id
      WHEN NOT MATCHED THEN
        INSERT (unique_row_id, vendor_id, trips) VALUES (S.unique_row_id, S.vendor_id, S.trips)
  - id: fetch
    type: io.kestra.plugin.gcp.bigquery.Query
    fetchType: FETCH
    sql: SELECT vendor_id, trips FROM zoomcamp.trips ORDER BY vendor_id
  - id: fetch_one
    type: io.kestra.plugin.gcp.bigquery.Query
    fetchOne: true
    sql: SELECT SUM(trips) AS total FROM zoomcamp.trips
  - id: store
    type: io.kestra.plugin.gcp.bigquery.Query
    fetchType: STORE
    sql: SELECT vendor_id FROM zoomcamp.trips WHERE trips > 10 ORDER BY vendor_id
  - id: drop_tmp
    type: io.kestra.plugin.gcp.bigquery.DeleteTable
    dataset: zoomcamp
    table: trips_tmp
pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      projectId: test-project
      endpointOverride: {endpoint}
"""


@pytest.fixture
def bigquery_endpoint() -> Iterator[str]:
    crucible = shutil.which("crucible", path=str(Path(sys.executable).parent))
    assert crucible, "crucible is not installed: pip install 'crucible-emulator[server]'"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [crucible, "serve", "--dialect", "bigquery", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        wait_while_advancing(
            lambda: _listens(port, server), bool, "crucible starts", stall=30, poll=0.05
        )
        yield f"http://127.0.0.1:{port}"
        server.terminate()


def _listens(port: int, server: subprocess.Popen[bytes]) -> bool:
    assert server.poll() is None, f"crucible exited with {server.returncode}"
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _client(endpoint: str) -> bigquery.Client:
    return bigquery.Client(
        project="test-project",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def _outputs(execution: Execution, task_id: str) -> dict[str, object]:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id]
    return run.outputs


def test_a_csv_is_loaded_merged_queried_and_its_temporary_table_dropped(
    flows: Flows, serve: Callable[[dict[str, bytes]], str], bigquery_endpoint: str
) -> None:
    base = serve({"/trips.csv": CSV.encode()})
    final = flows.run(FLOW.replace("{endpoint}", bigquery_endpoint).replace("{base}", base))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")

    assert _outputs(final, "create_dataset")["dataset"] == "zoomcamp"
    assert _outputs(final, "create_again")["project"] == "test-project"
    load = _outputs(final, "load")
    assert load["rows"] == 3
    assert load["destinationTable"] == "test-project.zoomcamp.trips_ext"
    assert _outputs(final, "fetch")["rows"] == [
        {"vendor_id": 1, "trips": 10},
        {"vendor_id": 2, "trips": 20},
        {"vendor_id": 3, "trips": 30},
    ]
    assert _outputs(final, "fetch_one")["row"] == {"total": 60}
    stored = _outputs(final, "store")
    assert stored["size"] == 2
    with flows.store.files.open(str(stored["uri"])) as stream:
        assert stream.read().decode().split() == ["{vendor_id:2}", "{vendor_id:3}"]
    table = _outputs(final, "bq_table")
    assert (table["projectId"], table["datasetId"], table["table"]) == (
        "test-project",
        "zoomcamp",
        "trips",
    )
    assert _outputs(final, "drop_tmp")["table"] == "trips_tmp"

    bq = _client(bigquery_endpoint)
    rows = bq.query("SELECT vendor_id FROM zoomcamp.trips ORDER BY vendor_id").result()
    assert [row["vendor_id"] for row in rows] == [1, 2, 3]
    with pytest.raises(NotFound):
        bq.get_table("test-project.zoomcamp.trips_tmp")


DESTINATION = """
id: bigquery-destination
namespace: company.team
tasks:
  - id: create_dataset
    type: io.kestra.plugin.gcp.bigquery.CreateDataset
    name: zoomcamp
  - id: create_dataset_twice
    type: io.kestra.plugin.gcp.bigquery.CreateDataset
    name: zoomcamp
    allowFailure: true
  - id: query
    type: io.kestra.plugin.gcp.bigquery.Query
    destinationTable: test-project.zoomcamp.totals
    writeDisposition: WRITE_APPEND
    sql: SELECT 1 AS total
pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      projectId: test-project
      endpointOverride: {endpoint}
"""


def test_destination_table_and_an_existing_dataset_reach_the_api(
    flows: Flows, bigquery_endpoint: str
) -> None:
    """crucible refuses a query job's destinationTable, so the job the task sends must carry it;
    a dataset that exists fails CreateDataset under ifExists ERROR (the default)."""
    final = flows.run(DESTINATION.replace("{endpoint}", bigquery_endpoint))
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any("dataset zoomcamp already exists" in line for line in errors), errors
    assert any("destinationTable" in line and "query of task 'query'" in line for line in errors)


FROM_GCS = """
id: bigquery-from-gcs
namespace: company.team
tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: "{base}/trips.csv"
  - id: bucket
    type: io.kestra.plugin.gcp.gcs.CreateBucket
    name: taxi
    endpointOverride: {gcs}
  - id: upload_to_gcs
    type: io.kestra.plugin.gcp.gcs.Upload
    from: "{{{{ outputs.extract.uri }}}}"
    to: gs://taxi/raw/trips.csv
    endpointOverride: {gcs}
  - id: create_dataset
    type: io.kestra.plugin.gcp.bigquery.CreateDataset
    name: zoomcamp
  - id: load_from_gcs
    type: io.kestra.plugin.gcp.bigquery.LoadFromGcs
    from:
      - "{{{{ outputs.upload_to_gcs.uri }}}}"
    destinationTable: test-project.zoomcamp.trips
    format: CSV
    csvOptions:
      skipLeadingRows: 1
    timePartitioningField: day
    timePartitioningType: MONTH
    writeDisposition: WRITE_TRUNCATE
    schema:
      fields:
        - name: vendor_id
          type: INTEGER
        - name: trips
          type: INTEGER
pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      projectId: test-project
      endpointOverride: {bigquery}
"""


class _PassThrough(BaseHTTPRequestHandler):
    """Forwards each request to ``target`` unchanged and keeps the JSON bodies posted to jobs."""

    target: str
    jobs: list[dict[str, Any]]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        if self.command == "POST" and self.path.split("?")[0].endswith("/jobs") and body:
            self.jobs.append(json.loads(body))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        request = urllib.request.Request(
            self.target + self.path, data=body, headers=headers, method=self.command
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, payload, kind = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            status, payload, kind = error.code, error.read(), error.headers
        self.send_response(status)
        self.send_header("Content-Type", kind.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


@pytest.fixture
def recorded_bigquery(bigquery_endpoint: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """crucible behind a pass-through: its URL and the job resources posted so far."""
    jobs: list[dict[str, Any]] = []
    handler = type("PassThrough", (_PassThrough,), {"target": bigquery_endpoint, "jobs": jobs})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", jobs
    server.shutdown()
    server.server_close()


def test_a_load_from_gcs_reaches_the_api_as_a_load_job(
    flows: Flows,
    serve: Callable[[dict[str, bytes]], str],
    recorded_bigquery: tuple[str, list[dict[str, Any]]],
    gcs_endpoint: str,  # noqa: F811
) -> None:
    """crucible (0.1.0a2) runs only the load jobs that upload their data; a jobs.insert whose
    configuration is a load from gs:// URIs gets 400 invalidQuery, which the task reports with
    the URIs and the table. The job sent carries the task's settings."""
    bigquery_url, jobs = recorded_bigquery
    base = serve({"/trips.csv": CSV.encode()})
    source = FROM_GCS.format(base=base, gcs=gcs_endpoint, bigquery=bigquery_url)
    final = flows.run(source)
    assert final.state is State.FAILED
    states = {r.task_id: r.state for r in final.task_runs}
    assert states["upload_to_gcs"] is State.SUCCESS and states["load_from_gcs"] is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any(
        "BigQuery load of gs://taxi/raw/trips.csv into test-project.zoomcamp.trips failed: 400"
        in line
        and "Not supported by Crucible: jobs.insert of a load job" in line
        for line in errors
    ), errors
    (job,) = jobs
    assert job["configuration"]["load"] == {
        "sourceUris": ["gs://taxi/raw/trips.csv"],
        "destinationTable": {
            "projectId": "test-project",
            "datasetId": "zoomcamp",
            "tableId": "trips",
        },
        "sourceFormat": "CSV",
        "skipLeadingRows": "1",
        "writeDisposition": "WRITE_TRUNCATE",
        "timePartitioning": {"type": "MONTH", "field": "day"},
        "schema": {
            "fields": [
                {"name": "vendor_id", "type": "INTEGER", "mode": "NULLABLE"},
                {"name": "trips", "type": "INTEGER", "mode": "NULLABLE"},
            ]
        },
    }


def test_a_source_that_is_not_a_gcs_uri_is_refused(flows: Flows) -> None:
    flow = """
id: bigquery-not-gcs
namespace: company.team
tasks:
  - id: load
    type: io.kestra.plugin.gcp.bigquery.LoadFromGcs
    from: ["s3://taxi/trips.csv"]
    destinationTable: zoomcamp.trips
    projectId: test-project
    endpointOverride: http://127.0.0.1:9
"""
    final = flows.run(flow)
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any("'from' must be a gs://bucket/path URI" in line for line in errors), errors
