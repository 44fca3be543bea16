"""aws.cli.AwsCLI runs the aws CLI with the task's connection in its environment, against moto's
S3 server: the blueprint that archives an S3 prefix with ``aws s3 mv --recursive``."""

from __future__ import annotations

import boto3

from controlplane.engine.model import State
from tests.integration.compat.conftest import Flows

ARCHIVE = """
id: s3-archive-prefix
namespace: company.team
variables:
  bucket: landing
  prefix: "2026-01"
tasks:
  - id: archive
    type: io.kestra.plugin.aws.cli.AwsCLI
    accessKeyId: "{{{{ secret('AWS_ACCESS_KEY_ID') }}}}"
    secretKeyId: "{{{{ secret('AWS_SECRET_ACCESS_KEY') }}}}"
    region: "{{{{ secret('AWS_DEFAULT_REGION') }}}}"
    endpointOverride: {endpoint}
    outputFiles:
      - listing.txt
    commands:
      - aws s3 mv s3://{{{{ vars.bucket }}}}/{{{{ vars.prefix }}}}/ s3://{{{{ vars.bucket }}}}/archive/{{{{ vars.prefix }}}}/ --recursive
      - aws s3 ls s3://{{{{ vars.bucket }}}} --recursive > listing.txt
"""


def test_aws_cli_moves_a_prefix_with_the_task_credentials(flows: Flows, s3_endpoint: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="landing")
    for name in ("a.csv", "b.csv"):
        s3.put_object(Bucket="landing", Key=f"2026-01/{name}", Body=b"x")
    with flows.store.unit() as repos:
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                            ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
            repos.secrets.update_secret("company.team", name, value)
    final = flows.run(ARCHIVE.format(endpoint=s3_endpoint))
    assert final.state is State.SUCCESS, flows.logs(final)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="landing")["Contents"])
    assert keys == ["archive/2026-01/a.csv", "archive/2026-01/b.csv"]
    (run,) = final.task_runs
    with flows.store.files.open(run.outputs["outputFiles"]["listing.txt"]) as stream:
        assert "archive/2026-01/a.csv" in stream.read().decode()
