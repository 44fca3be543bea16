"""What the remote-job tasks share: a JSON session on a SaaS API and a poll loop.

    TaskFailed
     ├── ApiError           the service answered with an error status (``status``, ``detail``)
     └── WaitTimedOut       the job did not end within ``maxDuration``
    TaskKilled              the attempt was stopped (kill, timeout) while waiting

A :class:`RemoteApi` sends authenticated JSON requests with timeouts. Transient failures (no
connection could be made, 429 after its ``Retry-After``, 502, 503, 504) are retried with
exponential backoff (Weir's one HTTP retry policy, controlplane.retrying); a failure after which
the service may have acted on a request (a read timeout, a 504) is retried only for requests that
are safe to repeat, so a trigger never starts two jobs. Any other error status becomes an
:class:`ApiError` naming the service, the status and the service's own error text. Every text is
scrubbed of the credentials before it is logged or raised, whether or not they came from a
secret.

:meth:`RemoteApi.poll` runs a check every ``pollFrequency`` until it returns a result, sleeping
on the attempt's cancel event so that a kill stops it at once; ``maxDuration`` bounds the wait,
retries included.
"""

from __future__ import annotations

import base64
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled
from controlplane.masking import Masker
from controlplane.retrying import (
    GaveUp,
    Retry,
    RetryPolicy,
    call_with_retries,
    never_sent,
    retry_after,
)
from controlplane.spec.durations import format_duration
from controlplane.tasks import props

TRANSIENT = frozenset({429, 502, 503, 504})
"""Statuses that say "try again later"."""

_EXCERPT = 300

T = TypeVar("T")
ErrorText = Callable[[Any], str | None]
"""Finds the service's error message in a parsed error body (None when it has none)."""


class ApiError(TaskFailed):
    """The service answered with an error status."""

    def __init__(self, message: str, status: int, detail: str) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class WaitTimedOut(TaskFailed):
    """The remote job did not end within ``maxDuration``."""


@dataclass(frozen=True)
class _Waiting:
    """What :meth:`RemoteApi.poll` is waiting for: requests meanwhile retry within it."""

    deadline: float
    timed_out: str
    retry: RetryPolicy


def default_error_text(body: Any) -> str | None:
    """The ``message`` (or ``detail``, ``error``, ``title``) of a JSON error body."""
    if not isinstance(body, Mapping):
        return None
    for key in ("message", "detail", "error", "title"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class RemoteApi:
    """JSON requests to one service, authenticated, with timeouts, retries and scrubbed errors."""

    def __init__(
        self,
        ctx: RunContext,
        service: str,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeout: tuple[float, float] = (10.0, 60.0),
        retry: RetryPolicy | None = None,
        error_text: ErrorText = default_error_text,
        verify: bool | str = True,
    ) -> None:
        self.ctx = ctx
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.error_text = error_text
        self._masker = Masker((*secrets, auth[1] if auth else None), shortest=1)
        self._session = requests.Session()
        self._session.headers.update({"Accept": "application/json", **(headers or {})})
        self._session.auth = auth
        self._session.verify = verify  # False, or the path of a CA bundle to trust
        self._waiting: _Waiting | None = None

    def __enter__(self) -> RemoteApi:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._session.close()

    def add_secret(self, value: str | None) -> None:
        """Scrub ``value`` from every text from now on (a token obtained at run time)."""
        self._masker.add(value)

    def set_header(self, name: str, value: str) -> None:
        self._session.headers[name] = value

    def scrub(self, text: str) -> str:
        return self._masker.mask(text)

    def info(self, message: str) -> None:
        self.ctx.info(self.scrub(message))

    def warning(self, message: str) -> None:
        self.ctx.warning(self.scrub(message))

    def error(self, message: str) -> None:
        self.ctx.error(self.scrub(message))

    def debug(self, message: str) -> None:
        self.ctx.debug(self.scrub(message))

    def fail(self, message: str, outputs: Mapping[str, Any] | None = None) -> TaskFailed:
        """A TaskFailed with ``message`` scrubbed, to raise."""
        return TaskFailed(self.scrub(message), outputs)

    # -- waiting --------------------------------------------------------------------------------
    def poll(
        self, check: Callable[[], T | None], *, every: timedelta, limit: timedelta, what: str
    ) -> T:
        """Call ``check`` until it returns a result, every ``every``, for at most ``limit``.

        Raises WaitTimedOut ("<what> did not finish within <limit>") when time is up, also when
        a retry of a request would wait past it, and TaskKilled as soon as the attempt is
        cancelled. Requests made by ``check`` retry sooner: at most ``every`` after a failure.
        """
        deadline = time.monotonic() + limit.total_seconds()
        timed_out = f"{what} did not finish within {format_duration(limit)}"
        self._waiting = _Waiting(deadline, timed_out, self.retry.starting_at(every.total_seconds()))
        try:
            while True:
                result = check()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimedOut(timed_out)
                if self.ctx.cancelled.wait(min(every.total_seconds(), remaining)):
                    raise TaskKilled(f"stopped while waiting for {what}")
        finally:
            self._waiting = None

    # -- requests -------------------------------------------------------------------------------
    def json(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        repeatable: bool | None = None,
    ) -> Any:
        """Send a request and return its parsed JSON body (None when the body is empty)."""
        response = self.send(
            method, path, body=body, params=params, retry=retry, repeatable=repeatable
        )
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            raise self.fail(
                f"{self.service} answered {_where(method, response.url)} with a body that is not "
                f"JSON: {_excerpt(response.text)}"
            ) from None

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        repeatable: bool | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send a request, retrying transient failures; an error status raises ApiError.

        ``repeatable`` says whether the request may be sent again after the service may have
        acted on it; by default only GET and HEAD may. ``data`` is a body sent as it is (instead
        of ``body`` as JSON), ``headers`` are added to this request's.
        """
        url = path if "://" in path else self.base_url + path
        where = _where(method, url)
        policy = retry or (self._waiting.retry if self._waiting else self.retry)
        safe = method.upper() in ("GET", "HEAD") if repeatable is None else repeatable

        def attempt(number: int) -> requests.Response:
            if self.ctx.cancelled.is_set():
                raise TaskKilled(f"stopped before {where}")
            try:
                response = self._session.request(
                    method,
                    url,
                    json=body if data is None else None,
                    data=data,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                why = f"{self.service} request {where} failed: {exc}"
                if never_sent(exc) or safe:
                    raise Retry(why) from None
                raise self.fail(f"{why} (gave up after {number} call(s))") from None
            if response.status_code in TRANSIENT:
                why = f"{self.service} answered {response.status_code} on {where}"
                if safe or response.status_code != 504:
                    raise Retry(why, retry_after(response.headers.get("Retry-After")))
                raise self.fail(f"{why} (gave up after {number} call(s))")
            if response.status_code >= 400:
                raise self._api_error(response, where)
            return response

        try:
            return call_with_retries(policy, attempt, sleep=self._sleep, before_sleep=self._pause)
        except GaveUp as gave_up:
            raise self.fail(f"{gave_up.last.why} (gave up after {gave_up.calls} call(s))") from None

    def _pause(self, retry: Retry, delay: float, number: int) -> None:
        waiting = self._waiting
        if waiting is not None and time.monotonic() + delay >= waiting.deadline:
            raise WaitTimedOut(self.scrub(f"{waiting.timed_out} ({retry.why})"))
        self.warning(f"{retry.why}; retrying in {delay:g}s")

    def _sleep(self, delay: float) -> None:
        if self.ctx.cancelled.wait(delay):
            raise TaskKilled(f"stopped while retrying a call to {self.service}")

    def _api_error(self, response: requests.Response, where: str) -> ApiError:
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        detail = self.error_text(parsed) if parsed is not None else None
        detail = detail or _excerpt(response.text) or response.reason or "no message"
        detail = self.scrub(detail)
        message = f"{self.service} API error {response.status_code} on {where}: {detail}"
        return ApiError(self.scrub(message), response.status_code, detail)


# -- properties -----------------------------------------------------------------------------------
def required(ctx: RunContext, value: Any, name: str) -> str:
    """A text property that must not render to an empty string."""
    text = props.text(ctx, value).strip()
    if not text:
        raise TaskFailed(f"'{name}' rendered to an empty value; give the {name} to use")
    return text


def optional(ctx: RunContext, value: Any) -> str | None:
    """A text property; None when absent or empty."""
    text = props.optional_text(ctx, value)
    return text if text else None


def positive(ctx: RunContext, value: timedelta | str, name: str) -> timedelta:
    """A duration property that must be greater than zero."""
    duration = props.duration(ctx, value, name)
    if duration <= timedelta(0):
        raise TaskFailed(f"'{name}' must be a positive duration, got {format_duration(duration)}")
    return duration


def timeouts(
    ctx: RunContext, options: Mapping[str, Any] | None, default: float
) -> tuple[float, float]:
    """(connect, read) seconds from Kestra's HTTP ``options``; ``default`` for what is unset."""
    rendered = ctx.render_typed(dict(options or {}))
    if not isinstance(rendered, Mapping):
        raise TaskFailed("'options' must be a map")
    nested = rendered.get("timeout")
    nested = nested if isinstance(nested, Mapping) else {}
    connect = nested.get("connectTimeout", rendered.get("connectTimeout"))
    read = nested.get("readIdleTimeout", rendered.get("readTimeout"))
    return (
        _seconds(ctx, connect, default, "options.connectTimeout"),
        _seconds(ctx, read, default, "options.readTimeout"),
    )


def options_auth(
    ctx: RunContext, options: Mapping[str, Any] | None
) -> tuple[dict[str, str], list[str]]:
    """The ``Authorization`` header that Kestra's HTTP ``options`` ask for, and its secrets:
    ``auth`` (``BASIC`` with ``username``/``password``, ``BEARER`` with ``token``) or the older
    ``basicAuthUser``/``basicAuthPassword``. Nothing when they ask for none."""
    rendered = ctx.render(dict(options or {}))
    auth = rendered.get("auth") if isinstance(rendered.get("auth"), Mapping) else {}
    kind = str(auth.get("type") or "").upper()
    user, password = auth.get("username"), auth.get("password")
    if not kind and rendered.get("basicAuthUser") is not None:
        kind, user, password = "BASIC", rendered["basicAuthUser"], rendered.get("basicAuthPassword")
    if not kind:
        return {}, []
    if kind == "BASIC":
        pair = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}, [str(password or ""), pair]
    if kind == "BEARER":
        token = str(auth.get("token") or "")
        return {"Authorization": f"Bearer {token}"}, [token]
    raise TaskFailed(f"'options.auth.type' must be BASIC or BEARER, got {kind!r}")


def segment(value: str) -> str:
    """``value`` quoted as one URL path segment."""
    return urllib.parse.quote(value, safe="")


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp of an API (``Z`` accepted); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _seconds(ctx: RunContext, value: Any, default: float, name: str) -> float:
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return positive(
        ctx, value if isinstance(value, timedelta) else str(value), name
    ).total_seconds()


def _where(method: str, url: str) -> str:
    return f"{method.upper()} {urllib.parse.urlsplit(url).path or '/'}"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."
