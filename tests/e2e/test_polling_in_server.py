"""A polling trigger in the real ``weir server standalone``: an object put in moto's S3 starts
the flow whose S3 trigger watches the bucket, the flow reads the file the trigger downloaded,
and the trigger's state is read through the API, all through the client as a user would."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from controlplane.client import WeirClient
from tests.standalone import standalone
from tests.waiting import ended_through, wait_until

NS = "e2e.polling"
FLOW = """id: landing
namespace: e2e.polling
tasks:
  - id: content
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ read(trigger.objects[0].uri) }}}}"
triggers:
  - id: watch
    type: io.kestra.plugin.aws.s3.Trigger
    interval: PT1S
    bucket: landing
    prefix: in/
    action: DELETE
    region: us-east-1
    accessKeyId: key-id-for-moto
    secretKeyId: "{{{{ secret('MOTO_SECRET') }}}}"
    endpointOverride: {endpoint}
    forcePathStyle: true
"""


@pytest.fixture
def s3() -> Iterator[tuple[str, Any]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="key-id-for-moto", aws_secret_access_key="moto-secret-value",
    )  # fmt: skip
    yield endpoint, client
    server.stop()


def test_an_object_landing_in_s3_starts_the_flow_in_a_standalone_server(
    tmp_path_factory: pytest.TempPathFactory, s3: tuple[str, Any]
) -> None:
    endpoint, bucket_client = s3
    home = tmp_path_factory.mktemp("polling")
    env = {**os.environ, "WEIR_HOME": str(home)}
    env.pop("WEIR_DATABASE_URL", None)
    bucket_client.create_bucket(Bucket="landing")
    bucket_client.put_object(Bucket="landing", Key="in/order.csv", Body=b"id\n42\n")
    with standalone(env, home) as (url, _output), WeirClient(url, manager=None) as client:
        client.namespaces.put(NS)
        client.secrets.set(NS, "MOTO_SECRET", "moto-secret-value")
        client.flows.put(FLOW.format(endpoint=endpoint))

        def started() -> list[Any]:
            assert [s.error for s in client.triggers.list(NS) if s.error] == []
            return client.executions.search(NS, "landing").results

        found = wait_until(
            started, bool, "the execution the S3 trigger starts",
            progress=lambda: client.triggers.list(NS),
        )  # fmt: skip
        done = ended_through(client.executions, found[0].id)
        assert done.state == "SUCCESS"
        (run,) = done.task_runs
        assert run["outputs"] == {"value": "id\n42\n"}
        assert done.raw["trigger"]["objects"][0]["key"] == "in/order.csv"
        listed = bucket_client.list_objects_v2(Bucket="landing")
        assert listed.get("KeyCount") == 0
        (state,) = wait_until(
            lambda: client.triggers.list(NS),
            lambda states: [s.last_execution_id for s in states] == [done.id],
            "the trigger's state naming the execution",
        )
        assert (state.trigger_id, state.type, state.error) == ("watch", "poll", None)
        assert state.next is not None and state.last is not None
