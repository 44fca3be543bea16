"""``create_app(settings)``: the FastAPI app, its routers under ``/api/v1``, and its runtime.

The app opens its store and starts its engine when it starts serving (the lifespan) and stops
them when it stops, letting running tasks finish within ``settings.grace_seconds``. Tests and
embedders may pass a store and an engine of their own; the app then leaves their lifecycle to
them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from controlplane import __version__
from controlplane.api import errors
from controlplane.api.errors import body
from controlplane.api.readcache import CachedFlowReads
from controlplane.api.routers import (
    callers,
    contents,
    executions,
    files,
    flows,
    health,
    kv,
    namespaces,
    secrets,
    triggers,
)
from controlplane.api.settings import ApiSettings
from controlplane.engine.commands import Commands
from controlplane.engine.ports import Store

API_PREFIX = "/api/v1"
ROUTERS = (
    namespaces.router,
    contents.router,
    callers.router,
    flows.router,
    flows.namespace_router,
    executions.router,
    secrets.router,
    secrets.seal_router,
    kv.router,
    files.router,
    triggers.router,
    health.router,
)


def create_app(
    settings: ApiSettings | None = None,
    *,
    store: Store | None = None,
    engine: Commands | None = None,
) -> FastAPI:
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if store is not None and engine is not None:
            app.state.store, app.state.engine = store, engine
            yield
            return
        from controlplane.api.runtime import open_runtime

        with open_runtime(settings) as (own_store, own_engine):
            app.state.store, app.state.engine = own_store, own_engine
            yield

    app = FastAPI(
        title="Weir",
        version=__version__,
        description="The orchestration API of Weir: namespaces, flows, executions, secrets, "
        "KV pairs and namespace files. See docs/api.md for the conventions.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=errors.RESPONSES)
    app.include_router(health.root_router)
    from controlplane.ui import mount as mount_ui  # the UI builds on the API: imported late

    mount_ui(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(CachedFlowReads, state=app.state)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the bearer tokens declared (optional on a server without them)."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        document.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "weir token create"}
        }
        document["security"] = [{"bearer": []}, {}]
        for operations in document["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    _not_nullable(parameter)
        app.openapi_schema = document
    return app.openapi_schema


def _not_nullable(parameter: dict[str, Any]) -> None:
    """An optional parameter is left out, never sent as null: say so in its schema.

    (Python spells "optional" ``str | None``, which pydantic writes as ``anyOf [string, null]``.)
    """
    schema = parameter.get("schema", {})
    choices = schema.get("anyOf")
    if not choices:
        return
    kept = [choice for choice in choices if choice.get("type") != "null"]
    if len(kept) == 1 and len(kept) < len(choices):
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        parameter["schema"] = {**kept[0], **rest}


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, by their Content-Length or as they arrive,
    with the API's error body (FastAPI's own ``max_body_size`` answers in plain text)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send, self.limit)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            # Past the limit, answer 413 at once and tell the app the client went away; what
            # the app answers then is dropped.
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    await _too_large(send, self.limit)
            return {"type": "http.disconnect"} if refused else message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)


async def _too_large(send: Send, limit: int) -> None:
    payload: dict[str, Any] = body(
        "payload_too_large", f"the body is over this server's limit of {limit} bytes"
    )
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(data)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
