"""The S3 tasks against moto's S3 in server mode on 127.0.0.1, on the shape of the blueprint
``s3-parallel-uploads`` (a ZIP unpacked, its files uploaded in parallel, connection settings in
pluginDefaults), then listed, downloaded, copied, moved and deleted."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import boto3

from controlplane.engine.model import Execution, State
from tests.integration.compat.conftest import Flows


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("global_power_plant_database.csv", "name,capacity_mw\nA,10\n")
        archive.writestr("RELEASE_NOTES.txt", "v1.3\n")
    return buffer.getvalue()


FLOW = """
id: s3-parallel-uploads
namespace: company.team
tasks:
  - id: bucket
    type: io.kestra.plugin.aws.s3.CreateBucket
    bucket: "{{{{ inputs.bucket }}}}"
  - id: get_zip_file
    type: io.kestra.plugin.core.http.Download
    uri: {base}/global_power_plant_database_v_1_3.zip
  - id: unzip
    type: io.kestra.plugin.compress.ArchiveDecompress
    algorithm: ZIP
    from: "{{{{ outputs.get_zip_file.uri }}}}"
  - id: parallel_upload_to_s3
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: csv
        type: io.kestra.plugin.aws.s3.Upload
        from: "{{{{ outputs.unzip.files['global_power_plant_database.csv'] }}}}"
        key: powerplant/global_power_plant_database.csv
      - id: txt
        type: io.kestra.plugin.aws.s3.Upload
        from: "{{{{ outputs.unzip.files['RELEASE_NOTES.txt'] }}}}"
        key: powerplant/RELEASE_NOTES.txt
        contentType: text/plain
  - id: list
    type: io.kestra.plugin.aws.s3.List
    bucket: "{{{{ inputs.bucket }}}}"
    prefix: powerplant/
    regexp: ".*\\\\.csv"
  - id: download
    type: io.kestra.plugin.aws.s3.Download
    bucket: "{{{{ inputs.bucket }}}}"
    key: powerplant/RELEASE_NOTES.txt
  - id: copy
    type: io.kestra.plugin.aws.s3.Copy
    from:
      bucket: "{{{{ inputs.bucket }}}}"
      key: powerplant/RELEASE_NOTES.txt
    to:
      bucket: "{{{{ inputs.bucket }}}}"
      key: archive/RELEASE_NOTES.txt
  - id: downloads
    type: io.kestra.plugin.aws.s3.Downloads
    bucket: "{{{{ inputs.bucket }}}}"
    prefix: powerplant/
    action: MOVE
    moveTo:
      key: done/
  - id: delete
    type: io.kestra.plugin.aws.s3.Delete
    bucket: "{{{{ inputs.bucket }}}}"
    key: archive/RELEASE_NOTES.txt
inputs:
  - id: bucket
    type: STRING
    defaults: powerplants
pluginDefaults:
  - type: io.kestra.plugin.aws.s3
    values:
      accessKeyId: testing
      secretKeyId: testing
      region: us-east-1
      endpointOverride: {endpoint}
  - type: io.kestra.plugin.aws.s3.Upload
    values:
      bucket: "{{{{ inputs.bucket }}}}"
"""


def _outputs(execution: Execution, task_id: str) -> dict[str, object]:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id]
    return run.outputs


def test_files_go_to_s3_and_back_and_are_listed_copied_moved_and_deleted(
    flows: Flows, serve: Callable[[dict[str, bytes]], str], s3_endpoint: str
) -> None:
    base = serve({"/global_power_plant_database_v_1_3.zip": _zip()})
    final = flows.run(FLOW.format(base=base, endpoint=s3_endpoint))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    listed = _outputs(final, "list")["objects"]
    assert [o["key"] for o in listed] == ["powerplant/global_power_plant_database.csv"]  # type: ignore[attr-defined]
    downloaded = _outputs(final, "download")
    assert downloaded["contentType"] == "text/plain"
    with flows.store.files.open(str(downloaded["uri"])) as stream:
        assert stream.read() == b"v1.3\n"
    moved = _outputs(final, "downloads")["outputFiles"]
    assert sorted(moved) == [  # type: ignore[call-overload]
        "powerplant/RELEASE_NOTES.txt",
        "powerplant/global_power_plant_database.csv",
    ]
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="powerplants")["Contents"])
    assert keys == ["done/RELEASE_NOTES.txt", "done/global_power_plant_database.csv"]
    body = s3.get_object(Bucket="powerplants", Key="done/global_power_plant_database.csv")["Body"]
    assert body.read() == b"name,capacity_mw\nA,10\n"


def test_an_s3_error_fails_the_task_with_the_service_message(
    flows: Flows, s3_endpoint: str
) -> None:
    final = flows.run(
        "id: missing\nnamespace: company.team\ntasks:\n"
        "  - id: get\n    type: io.kestra.plugin.aws.s3.Download\n    bucket: nowhere\n"
        f"    key: a.csv\n    endpointOverride: {s3_endpoint}\n    region: us-east-1\n"
        "    accessKeyId: testing\n    secretKeyId: testing\n"
    )
    assert final.state is State.FAILED
    assert any(
        "Download of s3://nowhere/a.csv failed: NoSuchBucket" in m for m in flows.logs(final)
    )
