"""``aws.cli.AwsCLI``: shell commands with the AWS CLI, the task's connection given to it as
the environment variables the CLI reads (``AWS_ACCESS_KEY_ID``, ``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL``...). On Weir's default Process runner the ``aws`` command must be on the
worker's PATH; the Docker task runner uses the task's image (``amazon/aws-cli`` by default)."""

from __future__ import annotations

import shutil
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.aws import AwsCLI
from controlplane.tasks import props
from controlplane.tasks.docker_runner import ContainerScriptRun
from controlplane.tasks.scripts import prepare

_ENV = {
    "accessKeyId": "AWS_ACCESS_KEY_ID",
    "secretKeyId": "AWS_SECRET_ACCESS_KEY",
    "sessionToken": "AWS_SESSION_TOKEN",
    "region": "AWS_DEFAULT_REGION",
    "endpointOverride": "AWS_ENDPOINT_URL",
}


@runs(AwsCLI)
def run_aws_cli(task: AwsCLI, ctx: RunContext) -> dict[str, Any]:
    script = prepare(task, ctx)
    for name, variable in _ENV.items():
        value = props.optional_text(ctx, getattr(task, name))
        if value:
            script.env[variable] = value
    if (
        not isinstance(script, ContainerScriptRun)
        and shutil.which("aws", path=script.env.get("PATH")) is None
    ):
        raise TaskFailed(
            "the aws CLI is not on this worker's PATH: install it (pip install awscli) or run "
            "the task on the Docker task runner, whose image brings it"
        )
    return script.run(task, ctx, props.string_list(ctx, task.commands, "commands"))
