"""What a trigger's ``conditions``, ``inputs`` and ``labels`` see: one context for every trigger.

Schedule, Flow and Webhook triggers all render against the same base::

    flow     {id, namespace, revision, tenantId}   the flow the trigger belongs to
    trigger  what fired it: the slot (Schedule), the ended execution (Flow), the request (Webhook)
    envs     the server's environment variables (``envs.*``)
    globals  the server's global variables (``globals.*``)

A Flow trigger adds what it knows of the execution that ended (``execution``, ``inputs``,
``outputs``, ``labels``) as ``upstream``; the base keys win over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Environment(Protocol):
    """Where the server's ``envs`` and ``globals`` come from (the engine's settings)."""

    @property
    def envs(self) -> Mapping[str, str]: ...

    @property
    def globals(self) -> Mapping[str, Any]: ...


class FlowName(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def namespace(self) -> str: ...


def trigger_context(
    environment: Environment,
    flow: FlowName,
    revision: int | None,
    trigger: Mapping[str, Any] | None = None,
    upstream: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables a trigger of ``flow`` at ``revision`` renders with."""
    context: dict[str, Any] = dict(upstream or {})
    context["flow"] = {
        "id": flow.id,
        "namespace": flow.namespace,
        "revision": revision,
        "tenantId": None,
    }
    if trigger is not None:
        context["trigger"] = trigger
    context["envs"] = environment.envs
    context["globals"] = environment.globals
    return context
