"""The webhook a notification is sent to, and the sending: JSON POST, retries on 429 (Weir's one
HTTP retry policy: the wait the service asks, else a second), and errors that never reveal the
URL's secrets."""

from __future__ import annotations

import codecs
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled
from controlplane.masking import MASK, Masker
from controlplane.retrying import GaveUp, Retry, RetryPolicy, call_with_retries, retry_after
from controlplane.spec.plugins.notifications import Proxy, RequestOptions, SlackRequestOptions
from controlplane.tasks import props

RETRIES_ON_429 = 3
_RETRY = RetryPolicy(
    first_delay=1.0,
    max_delay=1.0,
    max_attempts=RETRIES_ON_429 + 1,
    max_elapsed=None,
    max_retry_after=300.0,
)
"""A second between two calls unless the service asks otherwise (its wait at most 5 minutes)."""
_DEFAULT_CONNECT = 30.0
_EXCERPT = 300


@dataclass
class Webhook:
    """Where a message goes, and how to speak of it without revealing the URL's secrets."""

    service: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: tuple[float, float] = (_DEFAULT_CONNECT, 10.0)
    charset: str = "utf-8"
    proxies: dict[str, str] | None = None
    secrets: list[str] = field(default_factory=list)
    host: str = field(init=False)
    safe_url: str = field(init=False)

    def __post_init__(self) -> None:
        try:
            parts = urllib.parse.urlsplit(self.url)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise TaskFailed(f"'url' of the {self.service} webhook must be an http(s) URL")
        self.host = parts.hostname + (f":{port}" if port else "")
        self.safe_url = f"{parts.scheme}://{self.host}/{MASK}"
        query = [value for _, value in urllib.parse.parse_qsl(parts.query)]
        whole = [self.url, parts.path, parts.query, parts.password or "", *query]
        self.secrets += [s for s in whole if len(s) >= 4]
        self.secrets += [s for s in parts.path.split("/") if _looks_secret(s)]

    def scrub(self, text: str) -> str:
        return Masker(self.secrets, shortest=1).mask(text)


def _looks_secret(segment: str) -> bool:
    """A path segment that may be a token or an id (not a word such as ``services``)."""
    return len(segment) >= 16 or (len(segment) >= 8 and any(c.isdigit() for c in segment))


def webhook_for(ctx: RunContext, service: str, url: str, options: RequestOptions | None) -> Webhook:
    webhook = Webhook(service, props.text(ctx, url).strip())
    if options is None:
        return webhook
    headers = props.mapping(ctx, options.headers, "options.headers")
    webhook.headers = {str(k): str(v) for k, v in headers.items()}
    webhook.secrets += [v for v in webhook.headers.values() if len(v) >= 4]
    connect = options.connectTimeout
    webhook.timeout = (
        props.duration(ctx, connect, "options.connectTimeout").total_seconds()
        if connect is not None
        else _DEFAULT_CONNECT,
        props.duration(ctx, options.readTimeout, "options.readTimeout").total_seconds(),
    )
    charset = props.text(ctx, options.defaultCharset)
    try:
        webhook.charset = codecs.lookup(charset).name
    except LookupError:
        raise TaskFailed(f"'options.defaultCharset' names no known charset: {charset!r}") from None
    if isinstance(options, SlackRequestOptions) and options.proxy is not None:
        webhook.proxies = _proxies(ctx, options.proxy, webhook)
    return webhook


def _proxies(ctx: RunContext, proxy: Proxy, webhook: Webhook) -> dict[str, str]:
    if proxy.type == "DIRECT":
        return {}
    if proxy.type != "HTTP":
        raise TaskFailed(f"'options.proxy.type' {proxy.type} is not supported; use HTTP or DIRECT")
    address = props.optional_text(ctx, proxy.address)
    if not address or proxy.port is None:
        raise TaskFailed("'options.proxy' needs an 'address' and a 'port'")
    try:
        port = int(props.text(ctx, proxy.port))
    except ValueError:
        raise TaskFailed("'options.proxy.port' must be a port number") from None
    user = props.optional_text(ctx, proxy.username)
    password = props.optional_text(ctx, proxy.password) or ""
    credentials = ""
    if user:
        quote = urllib.parse.quote
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        webhook.secrets += [s for s in (password, quote(password, safe="")) if len(s) >= 4]
    url = f"http://{credentials}{address}:{port}"
    return {"http": url, "https": url}


def deliver(ctx: RunContext, webhook: Webhook, body: Any) -> dict[str, Any]:
    """POST ``body`` as JSON, retrying on 429; the task's outputs (none, as in Kestra)."""
    data = json.dumps(body, ensure_ascii=False).encode(webhook.charset)
    headers = {"Content-Type": "application/json", **webhook.headers}
    ctx.debug(f"{webhook.service} message: {json.dumps(body, ensure_ascii=False)}")

    def attempt(_: int) -> requests.Response:
        response = _send(ctx, webhook, data, headers)
        if response.status_code == 429:
            raise Retry("429", _retry_after(response), response)
        return response

    def announce(_: Retry, delay: float, number: int) -> None:
        ctx.warning(
            f"{webhook.service} webhook {webhook.safe_url} is rate limiting (429); "
            f"retry {number}/{RETRIES_ON_429} in {delay:g}s"
        )

    def sleep(delay: float) -> None:
        if ctx.cancelled.wait(delay):
            raise TaskKilled(f"stopped while waiting to retry the {webhook.service} webhook")

    calls = 1
    try:
        response = call_with_retries(_RETRY, attempt, sleep=sleep, before_sleep=announce)
    except GaveUp as gave_up:
        response, calls = gave_up.last.result, gave_up.calls
    if not 200 <= response.status_code < 300:
        tries = f" after {calls} attempts" if calls > 1 else ""
        detail = webhook.scrub(_error_text(response))
        raise TaskFailed(
            f"{webhook.service} webhook {webhook.safe_url} answered {response.status_code}"
            f"{' ' + response.reason if response.reason else ''}{tries}"
            + (f": {detail}" if detail else "")
        )
    ctx.info(f"{webhook.service} webhook {webhook.safe_url} accepted the message")
    return {}


def _send(
    ctx: RunContext, webhook: Webhook, data: bytes, headers: Mapping[str, str]
) -> requests.Response:
    if ctx.cancelled.is_set():
        raise TaskKilled(f"stopped before the {webhook.service} webhook was called")
    try:
        return requests.post(
            webhook.url,
            data=data,
            headers=dict(headers),
            timeout=webhook.timeout,
            proxies=webhook.proxies,
            allow_redirects=False,
        )
    except requests.Timeout:
        raise TaskFailed(
            f"the {webhook.service} webhook at {webhook.host} did not answer in time"
        ) from None
    except requests.RequestException as exc:
        raise TaskFailed(
            f"could not reach the {webhook.service} webhook at {webhook.host}: {_reason(exc)}"
        ) from None


def _reason(exc: requests.RequestException) -> str:
    """Why a connection failed, without the URL that ``requests`` puts in its messages."""
    text = str(exc)
    for pattern in (r"\[Errno -?\d+\] [^'\")\]]+", r"Name or service not known", r"SSLError"):
        match = re.search(pattern, text)
        if match:
            return match.group(0).strip()
    return type(exc).__name__


def _retry_after(response: requests.Response) -> float | None:
    """Seconds the service asks to wait: its ``Retry-After``, or Discord's JSON ``retry_after``."""
    seconds = retry_after(response.headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    try:
        return max(float(response.json().get("retry_after")), 0.0)
    except (ValueError, TypeError, AttributeError):
        return None


def _error_text(response: requests.Response) -> str:
    """The service's own error: Slack's plain text, Discord's and Google's JSON message."""
    text = response.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        return text[:_EXCERPT]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"]).strip()[:_EXCERPT]
        if body.get("message"):
            code = f" (code {body['code']})" if body.get("code") is not None else ""
            return f"{body['message']}{code}"[:_EXCERPT]
        if isinstance(error, str):
            return error[:_EXCERPT]
    return text[:_EXCERPT]


def json_payload(ctx: RunContext, value: str | None, name: str) -> Any:
    if value is None:
        raise TaskFailed(f"'{name}' is required: the JSON message to send")
    rendered = props.text(ctx, value)
    try:
        return json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise TaskFailed(
            f"'{name}' is not valid JSON after rendering: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from None
