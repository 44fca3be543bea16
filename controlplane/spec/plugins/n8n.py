"""n8n (``io.kestra.plugin.n8n.webhook.TriggerWorkflow``, also written
``io.kestra.plugin.n8n.TriggerWorkflow``): start a workflow by calling its Webhook node."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynMap, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_N8N = "io.kestra.plugin.n8n"


@task(f"{_N8N}.webhook.TriggerWorkflow", f"{_N8N}.TriggerWorkflow")
class N8nTriggerWorkflow(TaskSpec):
    """Call the webhook ``uri`` with ``method``, ``queryParameters``, ``headers`` and either
    ``body`` (sent as JSON) or ``from`` (a stored file sent as ``contentType``). With ``wait``
    the answer's body is read (parsed when it is JSON). Outputs ``statusCode`` and ``body``;
    ``options.auth`` (``BASIC`` with ``username``/``password``, or ``BEARER`` with ``token``)
    authenticates the call."""

    uri: Text
    method: Literal["DELETE", "GET", "PATCH", "POST", "PUT"] | Text
    contentType: Literal["BINARY", "JSON", "XML", "TEXT"] | Text = "BINARY"
    body: DynMap | None = None
    queryParameters: DynMap | None = None
    headers: DynMap | None = None
    from_: Text | None = Field(default=None, alias="from")
    wait: DynBool = True
    options: dict[str, Any] | None = None
