"""CloudWatch metrics with boto3: Query reads a metric's statistics over a window, Push publishes
datapoints; the client configured from the task's connection properties as S3's is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.aws_services import CloudWatchPush, CloudWatchQuery
from controlplane.tasks import props
from controlplane.tasks.aws_s3 import aws_client
from controlplane.tasks.aws_services import _call


def _instant(value: datetime) -> str:
    """An instant as Java prints it: UTC with ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@runs(CloudWatchQuery)
def run_cloudwatch_query(task: CloudWatchQuery, ctx: RunContext) -> dict[str, Any]:
    metric = props.text(ctx, task.metricName)
    namespace = props.optional_text(ctx, task.namespace)
    # The API takes whole seconds: the window ends at the next one, so that a datapoint of
    # the current second counts (a time cut down to its second would leave it out).
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    start = end - props.duration(ctx, task.window, "window")
    request: dict[str, Any] = {
        "MetricName": metric,
        "Period": props.integer(ctx, task.periodSeconds, "periodSeconds"),
        "StartTime": start,
        "EndTime": end,
        "Statistics": [props.text(ctx, task.statistic)],
    }
    if namespace is not None:
        request["Namespace"] = namespace
    if task.dimensions:
        request["Dimensions"] = [
            {"Name": props.text(ctx, d.name), "Value": props.text(ctx, d.value)}
            for d in task.dimensions
        ]
    cloudwatch = aws_client(task, ctx, "cloudwatch")
    answer = _call(
        "cloudwatch:GetMetricStatistics", lambda: cloudwatch.get_metric_statistics(**request)
    )
    points = sorted(answer.get("Datapoints") or [], key=lambda point: point["Timestamp"])
    series = [
        {k: _instant(v) if isinstance(v, datetime) else v for k, v in point.items()}
        for point in points
    ]
    ctx.info(f"Fetched {len(series)} datapoints for {namespace}:{metric}")
    return {"count": len(series), "series": series}


@runs(CloudWatchPush)
def run_cloudwatch_push(task: CloudWatchPush, ctx: RunContext) -> dict[str, Any]:
    namespace = props.text(ctx, task.namespace)
    now = datetime.now(UTC)
    data: list[dict[str, Any]] = []
    for metric in task.metrics:
        datum: dict[str, Any] = {"MetricName": props.text(ctx, metric.metricName), "Timestamp": now}
        if metric.value is not None:
            rendered = (
                ctx.render_typed(metric.value) if isinstance(metric.value, str) else metric.value
            )
            try:
                datum["Value"] = float(rendered)
            except (TypeError, ValueError):
                raise TaskFailed(
                    f"the value of metric {datum['MetricName']} is not a number: {rendered!r}"
                ) from None
        if metric.unit is not None:
            datum["Unit"] = props.text(ctx, metric.unit)
        dimensions = props.mapping(ctx, metric.dimensions, "dimensions")
        if dimensions:
            datum["Dimensions"] = [{"Name": k, "Value": str(v)} for k, v in dimensions.items()]
        data.append(datum)
    cloudwatch = aws_client(task, ctx, "cloudwatch")
    _call(
        "cloudwatch:PutMetricData",
        lambda: cloudwatch.put_metric_data(Namespace=namespace, MetricData=data),
    )
    ctx.info(f"Pushed {len(data)} datapoints to CloudWatch namespace {namespace}")
    return {"count": len(data)}
