"""What a client call raises when it does not succeed.

::

    WeirError
    └── ClientError              status, code, message, details
        ├── Unauthorized         401
        ├── Forbidden            403
        ├── NotFound             404
        ├── Conflict             409 (``managed_by``, ``revision``)
        ├── Invalid              400, 422 (``problems``)
        ├── ServerError          5xx
        └── Unreachable          no answer: the server is down, away or too slow

``message`` is the server's own message, which says what went wrong and how to fix it; ``str()``
of an error is that message. Programs branch on the class or on ``code``.
"""

from __future__ import annotations

from typing import Any

from controlplane.errors import WeirError


class ClientError(WeirError):
    """A call to a Weir server failed; ``status`` is ``None`` when no answer came."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "client_error",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"


class Unauthorized(ClientError):
    """401: no token, or one the server does not accept (unknown, revoked, expired)."""


class Forbidden(ClientError):
    """403: the token lacks the scope, or does not reach the namespace."""


class NotFound(ClientError):
    """404: no such object."""


class Conflict(ClientError):
    """409: a stale ``If-Match``, an object managed by someone else, a name already taken."""

    @property
    def managed_by(self) -> str | None:
        """Who manages the object, when the write was refused as ``managed_elsewhere``, or as
        ``revision_mismatch`` over an object that exists (``None`` there: nobody does)."""
        value = self.details.get("managed_by")
        return str(value) if value is not None else None

    @property
    def revision(self) -> int | None:
        """The object's current revision, when the server said it."""
        value = self.details.get("revision")
        return value if isinstance(value, int) else None


class Invalid(ClientError):
    """400 or 422: a malformed or invalid request, such as a flow with errors."""

    @property
    def problems(self) -> list[dict[str, Any]]:
        """Every problem the server found; for a flow, each with its line and column."""
        found = self.details.get("problems")
        return list(found) if isinstance(found, list) else []


class ServerError(ClientError):
    """5xx: the server failed, or is not ready."""


class Unreachable(ClientError):
    """No answer from the server: refused connections, timeouts, broken connections."""

    def __init__(self, url: str, attempts: int, reason: str) -> None:
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        super().__init__(
            f"cannot reach the Weir server at {url}: {reason} (after {tries}); "
            "check WEIR_URL and that the server runs",
            code="unreachable",
        )
        self.url = url
        self.attempts = attempts
        self.reason = reason


_BY_STATUS: dict[int, type[ClientError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Invalid,
}


def error_for(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> ClientError:
    """The error of the class for ``status``."""
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ClientError)
    return kind(message, status=status, code=code, details=details)
