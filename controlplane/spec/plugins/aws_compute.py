"""Amazon Athena queries, AWS Lambda invocations, AWS Glue and EMR Serverless job runs
(``io.kestra.plugin.aws.athena.Query``, ``lambda.Invoke``, ``glue.StartJobRun``,
``glue.GetJobRun`` and ``emr.StartServerlessJobRun``), with the connection properties every AWS
task shares."""

from __future__ import annotations

from datetime import timedelta

from controlplane.spec.fields import DynBool, DynDuration, DynMap, Text
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


class _GlueJob(AwsConnection):
    jobName: Text


@task(f"{_AWS}.glue.StartJobRun")
class GlueStartJobRun(_GlueJob):
    """Start a run of job ``jobName`` with ``arguments`` (and ``maxDuration`` as its timeout, in
    whole minutes); with ``wait``, read it every ``interval`` until it has ended. A run that
    ended other than SUCCEEDED fails the task. Outputs the run: ``jobName``, ``jobRunId``,
    ``state``, ``startedOn``, ``completedOn``, ``lastModifiedOn``, ``executionTime``,
    ``timeout``, ``attempt``, ``errorMessage``."""

    arguments: DynMap | None = None
    wait: DynBool = True
    maxDuration: DynDuration | None = None
    interval: DynDuration = timedelta(seconds=1)


@task(f"{_AWS}.glue.GetJobRun")
class GlueGetJobRun(_GlueJob):
    """The run ``runId`` of job ``jobName`` (its latest run without one), as StartJobRun gives
    it."""

    runId: Text | None = None


@task(f"{_AWS}.emr.StartServerlessJobRun")
class EmrStartServerlessJobRun(AwsConnection):
    """Submit a Spark job (``entryPoint`` given to spark-submit) to the EMR Serverless
    application ``applicationId``, run as ``executionRoleArn``. Output ``jobRunId``."""

    applicationId: Text
    executionRoleArn: Text
    jobName: Text
    entryPoint: Text
