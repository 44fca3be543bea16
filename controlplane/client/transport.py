"""One request path for every call: headers, timeouts, retries with backoff, and error mapping.

Retries follow Weir's one HTTP retry policy (controlplane.retrying): ``retries`` more calls at most,
``backoff`` seconds after the first failure and doubled after each next one, or what a
``Retry-After`` header asks (at most 30 seconds).

A call is repeated only when repeating it cannot do something twice: after a connection that was
refused or never established, or a 503 (the server did not take the request), for any method; after
a broken connection, a timeout waiting for the answer, or a 502/504 from a gateway, only for the
idempotent methods (GET, PUT, DELETE), since a POST may already have been carried out. 4xx and 500
answers are never repeated: they would come back the same.

Nothing here logs or raises the bearer token, and error messages built from an answer's body have
the token and any value the caller marks as sensitive blanked out.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from controlplane import __version__
from controlplane.client.errors import ClientError, Unreachable, error_for
from controlplane.masking import Masker
from controlplane.retrying import (
    GaveUp,
    Retry,
    RetryPolicy,
    call_with_retries,
    caused_by,
    never_sent,
    retry_after,
)

log = logging.getLogger(__name__)

API = "/api/v1"
RETRY_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
MAX_RETRY_AFTER = 30.0
"""The longest a ``Retry-After`` header may make a retry wait, in seconds."""

Params = Mapping[str, str | int | Sequence[str] | None]


def endpoint(*parts: str) -> str:
    """``endpoint("flows", namespace, flow_id)`` -> ``/flows/<namespace>/<flow_id>``, each part
    percent-encoded so that a name can never step into another path."""
    return "".join("/" + quote(part, safe="") for part in parts)


def display_url(url: str) -> str:
    """The URL without any ``user:password@`` part, for messages."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class Transport:
    """A ``requests.Session`` on one server, and the rules every call follows."""

    def __init__(
        self,
        url: str,
        token: str | None,
        manager: str | None,
        timeout: float,
        retries: int,
        backoff: float,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(
                f"the Weir server URL must start with http:// or https://, not {display_url(url)!r}"
            )
        self.url = url.rstrip("/")
        self.manager = manager
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self._policy = RetryPolicy(
            first_delay=backoff,
            max_delay=None,
            max_attempts=self.retries + 1,
            max_elapsed=None,
            max_retry_after=MAX_RETRY_AFTER,
        )
        self._token = token
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"weir-client/{__version__}"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        files: Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        if_match: int | None = None,
        force: bool = False,
        stream: bool = False,
        accept: Collection[int] = (),
        sensitive: Collection[str] = (),
        api: bool = True,
        idempotent: bool = False,
    ) -> requests.Response:
        """Send a request to ``path`` (under ``/api/v1`` unless ``api`` is false) and return the
        answer when it is a success or its status is in ``accept``; raise a
        :class:`~controlplane.client.errors.ClientError` otherwise.

        Writes carry ``X-Weir-Manager`` when the client has a manager, ``If-Match: "<n>"`` when
        ``if_match`` is given, and ``force=true`` when ``force``. ``sensitive`` values (a secret
        being set) are kept out of error messages. ``idempotent`` marks a POST that only reads
        (validation), so that it is repeated like a GET when the connection breaks.
        """
        url = f"{self.url}{API if api else ''}{path}"
        sent = dict(headers or {})
        if method != "GET" and self.manager:
            sent["X-Weir-Manager"] = self.manager
        if if_match is not None:
            sent["If-Match"] = f'"{if_match}"'
        if content_type is not None:
            sent["Content-Type"] = content_type
        query = {key: value for key, value in (params or {}).items() if value is not None}
        if force:
            query["force"] = "true"
        safe = idempotent or method in IDEMPOTENT

        def attempt(number: int) -> requests.Response:
            try:
                response = self.session.request(
                    method,
                    url,
                    params=query,
                    json=json,
                    data=body,
                    files=files,
                    headers=sent,
                    timeout=self.timeout,
                    stream=stream,
                )
            except TRANSPORT_ERRORS as error:
                reason = self._reason(error)
                if safe or never_sent(error):
                    raise Retry(reason) from None
                reason += "; the request may have been carried out, so it was not repeated"
                raise Unreachable(display_url(self.url), number, reason) from None
            status = response.status_code
            if status in RETRY_STATUSES and status not in accept and (safe or status == 503):
                asked = retry_after(response.headers.get("Retry-After"))
                raise Retry(str(status), asked, response)
            return response

        def pause(retry: Retry, delay: float, number: int) -> None:
            if isinstance(retry.result, requests.Response):
                retry.result.close()
            attempts = self._policy.max_attempts
            why = f"{method} {path}: {retry.why}"
            log.info("%s; retrying in %.2gs (attempt %d of %d)", why, delay, number + 1, attempts)

        try:
            response = call_with_retries(self._policy, attempt, before_sleep=pause)
        except GaveUp as gave_up:
            if not isinstance(gave_up.last.result, requests.Response):
                raise Unreachable(display_url(self.url), gave_up.calls, gave_up.last.why) from None
            response = gave_up.last.result  # the last answer is the error to show
        if response.ok or response.status_code in accept:
            return response
        raise self._error(response, sensitive)

    def _reason(self, error: requests.RequestException) -> str:
        if isinstance(error, requests.ConnectTimeout):
            return f"no connection within {self.timeout:g}s"
        if isinstance(error, requests.Timeout):
            return f"no answer within {self.timeout:g}s"
        if caused_by(error, ConnectionRefusedError):
            return "connection refused"
        if caused_by(error, socket.gaierror):
            return f"cannot resolve the host {urlsplit(self.url).hostname}"
        return "the connection broke"

    def _error(self, response: requests.Response, sensitive: Collection[str]) -> ClientError:
        """The error for an unsuccessful answer: the server's ``{code, message, details}``, or,
        for a body that is not that (a proxy's page), the status and the start of the body."""
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            code = str(payload.get("code") or f"http_{status}")
            message = payload["message"]
            details = payload.get("details")
        else:
            code = f"http_{status}"
            text = " ".join(response.text.split())
            snippet = text if len(text) <= 200 else text[:200] + "…"
            message = f"the server answered {status} {response.reason}" + (
                f": {snippet}" if snippet else ""
            )
            details = None
        message = Masker((self._token, *sensitive), shortest=1).mask(message)
        return error_for(status, code, message, details if isinstance(details, dict) else None)
