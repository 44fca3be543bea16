"""``graphql.Request`` with ``requests``: the query as JSON, the answer's ``data`` and
``errors`` as outputs. An HTTP error status fails the task, as Kestra's HTTP client does."""

from __future__ import annotations

from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.graphql import GraphQLRequest
from controlplane.tasks import props


@runs(GraphQLRequest)
def run_graphql_request(task: GraphQLRequest, ctx: RunContext) -> dict[str, Any]:
    uri = props.text(ctx, task.uri).replace(" ", "%20")
    payload: dict[str, Any] = {"query": props.text(ctx, task.query)}
    if task.variables is not None:
        payload["variables"] = props.mapping(ctx, task.variables, "variables")
    operation = props.optional_text(ctx, task.operationName)
    if operation:
        payload["operationName"] = operation
    headers = {str(k): str(v) for k, v in props.mapping(ctx, task.headers, "headers").items()}
    method = props.text(ctx, task.method).upper()
    try:
        response = requests.request(method, uri, json=payload, headers=headers, timeout=(30, 300))
    except requests.RequestException as exc:
        raise TaskFailed(
            f"the GraphQL endpoint could not be reached: {type(exc).__name__}"
        ) from None
    if response.status_code >= 400:
        raise TaskFailed(
            f"the GraphQL endpoint answered {response.status_code}: {response.text[:300]}"
        )
    try:
        answer = response.json() if response.content else {}
    except ValueError:
        raise TaskFailed("the GraphQL endpoint answered something that is not JSON") from None
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if errors and props.boolean(ctx, task.failOnGraphQLErrors):
        raise TaskFailed(f"GraphQL query failed with errors: {errors}")
    return {
        "uri": uri,
        "code": response.status_code,
        "headers": {k: [v] for k, v in response.headers.items()},
        "body": answer.get("data") if isinstance(answer, dict) else None,
        "error": errors,
    }
