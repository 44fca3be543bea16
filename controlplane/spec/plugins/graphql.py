"""GraphQL (``io.kestra.plugin.graphql.Request``): a query sent to a GraphQL endpoint."""

from __future__ import annotations

from typing import Any

from controlplane.spec.fields import DynBool, DynMap, Text
from controlplane.spec.plugins.core import Unencrypted
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


@task("io.kestra.plugin.graphql.Request")
class GraphQLRequest(TaskSpec):
    """POST (or ``method``) ``{query, variables, operationName}`` as JSON to ``uri``. Outputs
    ``uri``, ``code``, ``headers``, ``body`` (the answer's ``data``) and ``error`` (its
    ``errors``); ``failOnGraphQLErrors`` fails the task when there are errors."""

    uri: Text
    query: Text
    variables: DynMap | None = None
    operationName: Text | None = None
    method: Text = "POST"
    headers: DynMap | None = None
    options: dict[str, Any] | None = None
    failOnGraphQLErrors: DynBool = False
    encryptBody: Unencrypted = False
