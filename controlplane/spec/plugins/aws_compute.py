"""Amazon Athena queries and AWS Lambda invocations (``io.kestra.plugin.aws.athena.Query``,
``io.kestra.plugin.aws.lambda.Invoke``), with the connection properties every AWS task shares."""

from __future__ import annotations

from controlplane.spec.fields import DynBool, DynMap, Text
from controlplane.spec.plugins.aws import AwsConnection
from controlplane.spec.plugins.jdbc import FetchType
from controlplane.spec.registry import task

_AWS = "io.kestra.plugin.aws"


@task(f"{_AWS}.athena.Query")
class AthenaQuery(AwsConnection):
    """Run ``query`` in ``database`` (and ``catalog``), Athena writing its result files to
    ``outputLocation``; wait for it to end and give its rows as ``fetchType`` says (NONE only
    starts it). Outputs ``queryExecutionId``, ``rows`` / ``row`` / ``uri`` and ``size``; the
    query's statistics become metrics."""

    database: Text
    catalog: Text | None = None
    outputLocation: Text
    query: Text
    fetchType: FetchType = "STORE"
    skipHeader: DynBool = True


@task(f"{_AWS}.lambda.Invoke")
class LambdaInvoke(AwsConnection):
    """Invoke a function (name or ARN, with a version or alias) and wait for its answer, with
    ``functionPayload`` as its JSON event. Outputs ``uri`` (the answer stored),
    ``contentLength`` and ``contentType``; an answer that is a function error fails the task."""

    functionArn: Text
    functionPayload: DynMap | None = None
