"""HTTP tasks: Request, Download and SseRequest (``io.kestra.plugin.core.http.*``) with
``requests``.

``options`` uses Kestra's names: ``connectTimeout`` / ``readTimeout`` (ISO durations),
``followRedirects`` (default true), ``basicAuthUser`` / ``basicAuthPassword``, ``auth`` ({type:
BASIC, username, password} or {type: BEARER, token}) and ``allowFailed``. Error messages name the
URL without its user-info, so no credential of the URL ends up in a log.
"""

from __future__ import annotations

import json
import re
import tempfile
import urllib.parse
from collections.abc import Mapping
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import jq
import requests

from controlplane.engine.attempt_functions import default_renderer
from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled, runs
from controlplane.expr import ExpressionError, is_truthy
from controlplane.masking import Masker
from controlplane.spec.durations import parse_duration
from controlplane.spec.plugins.core import HttpDownload, HttpRequest, HttpSseRequest, _HttpTask
from controlplane.spec.plugins.polling import HttpTrigger
from controlplane.tasks import props
from controlplane.tasks.polled import as_task

_EXCERPT = 200
_CHUNK = 64 * 1024
_DEFAULT_CONNECT = 30.0
_DEFAULT_READ = 300.0


class _Call:
    """A rendered request: what ``requests`` needs, plus how to talk about it safely."""

    def __init__(self, task: _HttpTask, ctx: RunContext) -> None:
        self.url = props.text(ctx, task.uri)
        self.method = props.text(ctx, task.method).upper()
        self.safe_url = _without_userinfo(self.url)
        self.secrets = _url_secrets(self.url)
        options = ctx.render_typed(task.options or {})
        self.options: Mapping[str, Any] = options if isinstance(options, Mapping) else {}
        self.allow_failed = props.boolean(ctx, task.allowFailed) or props.boolean(
            ctx, self.options.get("allowFailed", False)
        )
        self.headers = {
            str(k): _header_value(v) for k, v in props.mapping(ctx, task.headers, "headers").items()
        }
        self.kwargs: dict[str, Any] = {
            "headers": self.headers,
            "timeout": (
                _seconds(self.options.get("connectTimeout"), _DEFAULT_CONNECT),
                _seconds(self.options.get("readTimeout"), _DEFAULT_READ),
            ),
            "allow_redirects": props.boolean(ctx, self.options.get("followRedirects", True)),
            "verify": not _insecure(ctx.render_typed(task.sslOptions or {})),
        }
        self._auth(self.options)
        self._body(task, ctx)

    def _auth(self, options: Mapping[str, Any]) -> None:
        auth = options.get("auth")
        user, password = options.get("basicAuthUser"), options.get("basicAuthPassword")
        if isinstance(auth, Mapping) and str(auth.get("type", "")).upper() == "BEARER":
            self.headers["Authorization"] = f"Bearer {auth.get('token', '')}"
            self.secrets.append(str(auth.get("token", "")))
            return
        if isinstance(auth, Mapping):
            user, password = auth.get("username"), auth.get("password")
        if user is not None:
            self.kwargs["auth"] = (str(user), str(password or ""))
            self.secrets.append(str(password or ""))

    def _body(self, task: _HttpTask, ctx: RunContext) -> None:
        content_type = props.optional_text(ctx, task.contentType)
        has_type = any(k.lower() == "content-type" for k in self.headers)
        if task.formData is not None:
            form = props.mapping(ctx, task.formData, "formData")
            if content_type and "multipart" in content_type.lower():
                self.kwargs["files"] = {k: _form_part(ctx, v) for k, v in form.items()}
            else:
                self.kwargs["data"] = {k: _form_text(v) for k, v in form.items()}
            return
        if task.body is not None:
            self.kwargs["data"] = props.text(ctx, task.body).encode("utf-8")
            if not has_type:
                self.headers["Content-Type"] = content_type or "application/json"

    def send(self, ctx: RunContext, stream: bool = False) -> requests.Response:
        if ctx.cancelled.is_set():
            raise TaskKilled("stopped before the request was sent")
        try:
            return requests.request(self.method, self.url, stream=stream, **self.kwargs)
        except requests.RequestException as exc:
            raise TaskFailed(
                f"HTTP {self.method} {self.safe_url} failed: {self.scrub(str(exc))}"
            ) from None

    def check(self, response: requests.Response, body: str | None) -> None:
        if response.status_code < 400 or self.allow_failed:
            return
        excerpt = (body or "").strip()[:_EXCERPT]
        raise TaskFailed(
            f"Failed http request with response code '{response.status_code}' from "
            f"{self.method} {self.safe_url}" + (f": {self.scrub(excerpt)}" if excerpt else "")
        )

    def scrub(self, text: str) -> str:
        return Masker(self.secrets, shortest=1).mask(text.replace(self.url, self.safe_url))


@runs(HttpRequest)
def run_request(task: HttpRequest, ctx: RunContext) -> dict[str, Any]:
    call = _Call(task, ctx)
    with call.send(ctx) as response:
        body = response.text
        call.check(response, body)
        return {"code": response.status_code, "headers": _headers(response), "body": body}


@runs(HttpDownload)
def run_download(task: HttpDownload, ctx: RunContext) -> dict[str, Any]:
    call = _Call(task, ctx)
    with call.send(ctx, stream=True) as response:
        if response.status_code >= 400 and not call.allow_failed:
            call.check(response, response.text)
        with tempfile.TemporaryDirectory(prefix="weir-download-") as folder:
            target = Path(folder) / "body"
            length = _save(response, target, ctx)
            if length == 0 and props.boolean(ctx, task.failOnEmptyResponse):
                raise TaskFailed(f"No response body from {call.method} {call.safe_url}")
            name = props.optional_text(ctx, task.saveAs) or _file_name(response, call.url)
            uri = ctx.put_file(name, target)
    return {
        "uri": uri,
        "code": response.status_code,
        "length": length,
        "headers": _headers(response),
    }


@runs(HttpSseRequest)
def run_sse_request(task: HttpSseRequest, ctx: RunContext) -> dict[str, Any]:
    call = _Call(task, ctx)
    call.headers.setdefault("Accept", "text/event-stream")
    with call.send(ctx, stream=True) as response:
        if response.status_code >= 400:
            call.check(response, response.text)
        events = list(_events(response.iter_lines(decode_unicode=True), ctx))
    ctx.metric("size", len(events))
    outputs: dict[str, Any] = {"uri": call.safe_url, "size": len(events)}
    expression = props.optional_text(ctx, task.concatJqExpression)
    if expression is None:
        return {**outputs, "events": events}
    try:
        program = jq.compile(expression)
    except ValueError as exc:
        raise TaskFailed(f"'concatJqExpression' is not a jq program: {exc}") from None
    strict = props.boolean(ctx, task.failedOnMissingJq)
    texts = []
    for event in events:
        try:
            found = program.input_value(event).all()
        except ValueError:
            found = []
        value = found[0] if found else None
        if isinstance(value, str | int | float):
            texts.append(_scalar_text(value))
        elif strict:
            raise TaskFailed(f"'{expression}' gives no text for the event {event!r}")
    return {**outputs, "result": "".join(texts)}


def _scalar_text(value: str | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _events(lines: Any, ctx: RunContext) -> Any:
    """The events of a ``text/event-stream`` body: ``data`` lines joined (JSON when it parses),
    ``event``, ``id`` and ``retry`` as sent; comments skipped."""
    fields: dict[str, Any] = {}
    data: list[str] = []
    for line in lines:
        if ctx.cancelled.is_set():
            raise TaskKilled("stopped while reading the event stream")
        if not line:
            if data or fields:
                yield _event(fields, data)
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name in ("event", "id"):
            fields[name] = value
        elif name == "retry" and value.isdigit():
            fields["retry"] = int(value)
    if data or fields:
        yield _event(fields, data)


def _event(fields: dict[str, Any], data: list[str]) -> dict[str, Any]:
    text = "\n".join(data)
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = text
    return {**fields, "data": parsed}


@runs(HttpTrigger)
def poll_http(trigger: HttpTrigger, ctx: RunContext) -> dict[str, Any] | None:
    """The answer, when ``responseCondition`` holds for it (a failed status is an answer)."""
    call = _Call(as_task(HttpRequest, trigger, allowFailed=True), ctx)
    with call.send(ctx) as response:
        answer = {
            "uri": call.safe_url,
            "code": response.status_code,
            "headers": _headers(response),
            "body": response.text,
        }
    seen = {"statusCode": answer["code"], "body": answer["body"], "headers": answer["headers"]}
    scope = {**ctx.variables(), "response": seen}
    try:
        holds = is_truthy(default_renderer().render_typed(trigger.responseCondition, scope))
    except ExpressionError as exc:
        raise TaskFailed(f"'responseCondition' does not render: {exc}") from None
    return answer if holds else None


def _save(response: requests.Response, target: Path, ctx: RunContext) -> int:
    length = 0
    with target.open("wb") as out:
        for chunk in response.iter_content(_CHUNK):
            if ctx.cancelled.is_set():
                raise TaskKilled("stopped during the download")
            out.write(chunk)
            length += len(chunk)
    return length


def _headers(response: requests.Response) -> dict[str, list[str]]:
    """Every header as a list of values (a header may repeat), keyed by lower-case name."""
    raw = getattr(response.raw, "headers", None)
    result: dict[str, list[str]] = {}
    if raw is not None and hasattr(raw, "getlist"):
        for name in raw:
            result.setdefault(name.lower(), []).extend(raw.getlist(name))
        return result
    return {name.lower(): [value] for name, value in response.headers.items()}


def _file_name(response: requests.Response, url: str) -> str:
    disposition = response.headers.get("Content-Disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()
        if name:
            return Path(name).name or "download"
    path = urllib.parse.urlsplit(url).path
    return Path(path).name or "download"


def _header_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _form_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _form_part(ctx: RunContext, value: Any) -> tuple[str | None, bytes | str]:
    if isinstance(value, str) and value.startswith("kestra://"):
        with ctx.open_file(value) as stream:
            return Path(urllib.parse.urlsplit(value).path).name, stream.read()
    return None, _form_text(value)


def _seconds(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_duration(str(value)).total_seconds()
    except ValueError:
        raise TaskFailed(f"a timeout option must be an ISO-8601 duration, got {value!r}") from None


def _insecure(ssl_options: Any) -> bool:
    return isinstance(ssl_options, Mapping) and bool(
        ssl_options.get("insecureTrustAllCertificates")
    )


def _without_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=host))


def _url_secrets(url: str) -> list[str]:
    parts = urllib.parse.urlsplit(url)
    found = [parts.password or "", urllib.parse.unquote(parts.password or "")]
    userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    return [s for s in (*found, userinfo) if s and not re.fullmatch(r"\W*", s)]
