"""One mapping from the package's errors to HTTP answers ``{code, message, details}``.

::

    WeirError
    └── ApiError                 carries its own status
        ├── BadRequest           400 malformed body, bad path
        ├── Unauthorized         401
        ├── Forbidden            403
        ├── NotFound             404
        ├── Conflict             409 (RevisionMismatch, ManagedElsewhere, NotEmpty)
        ├── PayloadTooLarge      413
        └── Unprocessable        422

Errors of the other layers are mapped in ``STATUS``, among them a command the engine's transition
rules refuse (TransitionRefused: 409, its code naming the rule's reason). Anything else is a 500
whose body says only that the server failed, with an id to find the traceback in the server's log.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from controlplane.engine.engine import ExecutionNotFound, FlowNotFound
from controlplane.engine.inputs import InputError
from controlplane.engine.rules import TransitionRefused
from controlplane.errors import WeirError
from controlplane.expr import ExpressionError
from controlplane.spec.problems import FlowInvalid
from controlplane.store import (
    KvValueError,
    MissingRecordError,
    SecretDecryptionError,
    StoragePathError,
    StoreConfigError,
)

log = logging.getLogger(__name__)


class ApiError(WeirError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class RevisionMismatch(Conflict):
    code = "revision_mismatch"


class ManagedElsewhere(Conflict):
    code = "managed_elsewhere"


class NotEmpty(Conflict):
    code = "namespace_not_empty"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class Unprocessable(ApiError):
    status = 422
    code = "invalid"


STATUS: dict[type[WeirError], int] = {
    FlowInvalid: 422,
    InputError: 422,
    KvValueError: 422,
    ExpressionError: 422,
    StoragePathError: 400,
    FlowNotFound: 404,
    ExecutionNotFound: 404,
    MissingRecordError: 404,
    TransitionRefused: 409,
    SecretDecryptionError: 500,
    StoreConfigError: 500,
}


def status_of(error: WeirError) -> int:
    if isinstance(error, ApiError):
        return error.status
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def details_of(error: WeirError) -> dict[str, Any]:
    if isinstance(error, ApiError):
        return error.details
    if isinstance(error, FlowInvalid):
        return {"problems": [p.as_dict() for p in error.problems]}
    return {}


class ErrorBody(BaseModel):
    """The body of every error answer."""

    code: str
    message: str
    details: dict[str, Any]


RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Malformed request"),
        (401, "No valid token"),
        (403, "Not allowed"),
        (404, "Not found"),
        (409, "Conflict: revision, manager, or state"),
        (413, "Body too large"),
        (422, "Invalid request"),
        (503, "Not ready, or the database is away"),
    )
}
"""The errors every operation may answer, for the OpenAPI document."""


def body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def install(app: FastAPI) -> None:
    """Route every error through the mapping above."""

    @app.exception_handler(WeirError)
    async def weir_error(_request: Request, error: WeirError) -> JSONResponse:
        status = status_of(error)
        if status >= 500:
            return _internal(error)
        return JSONResponse(body(error.code, str(error), details_of(error)), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        # The offending values are left out: they may be secrets.
        problems = [
            {"location": [str(part) for part in e.get("loc", ())], "message": e.get("msg", "")}
            for e in error.errors()
        ]
        first = problems[0] if problems else {"location": [], "message": "invalid request"}
        where = ".".join(first["location"])
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            return JSONResponse(
                body("malformed", f"the body is not valid JSON: {first['message']}"),
                status_code=400,
            )
        return JSONResponse(
            body("invalid", f"{where}: {first['message']}", {"problems": problems}),
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(
            body(codes.get(error.status_code, "http_error"), str(error.detail)),
            status_code=error.status_code,
            headers=headers,
        )

    @app.exception_handler(IntegrityError)
    async def concurrent_write(_request: Request, _error: IntegrityError) -> JSONResponse:
        return JSONResponse(
            body(
                "concurrent_write",
                "the object was changed by another request at the same time; read it and retry",
            ),
            status_code=409,
        )

    @app.exception_handler(OperationalError)
    async def database_down(_request: Request, error: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", error.orig)
        return JSONResponse(
            body("unavailable", "the database is not answering; retry shortly"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        return _internal(error)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _internal(error: BaseException) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.error("request failed (incident %s)", incident, exc_info=error)
    return JSONResponse(
        body(
            "internal",
            f"the server failed to answer; its log has the details under incident {incident}",
            {"incident": incident},
        ),
        status_code=500,
    )
