"""n8n's Webhook node: a workflow started by an HTTP call to its webhook URL.

The call goes to ``uri`` as written, with ``queryParameters`` added to its query. ``body`` is
sent as JSON; ``from`` sends a stored file instead, its ``Content-Type`` from ``contentType``
(``application/octet-stream`` for BINARY). With ``wait`` the answer's body is the output
``body``: parsed when n8n answers JSON (an object or a list), the text otherwise. An answer
other than a 2xx fails the task with n8n's ``message``. The webhook's path works as its
password, so it is scrubbed from logs and errors like the credentials.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.n8n import N8nTriggerWorkflow
from controlplane.tasks import props
from controlplane.tasks.remote import RemoteApi, options_auth, required

_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")
_CONTENT_TYPES = {
    "BINARY": "application/octet-stream",
    "JSON": "application/json",
    "XML": "application/xml",
    "TEXT": "text/plain",
}


def _choice(ctx: RunContext, value: str, name: str, allowed: tuple[str, ...]) -> str:
    rendered = props.text(ctx, value).strip().upper()
    if rendered not in allowed:
        raise TaskFailed(f"'{name}' must be one of {', '.join(allowed)}, got {rendered!r}")
    return rendered


def _answer(response: Any) -> Any:
    if "json" in response.headers.get("Content-Type", "") and response.content.strip():
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


def _hidden(path: str) -> list[str]:
    """The webhook's path, and its part after ``/webhook/`` that n8n's errors quote."""
    hook = path.strip("/").split("/", 1)[-1]
    return [part for part in (path, hook) if len(part) > 1]


@runs(N8nTriggerWorkflow)
def run_trigger_workflow(task: N8nTriggerWorkflow, ctx: RunContext) -> dict[str, Any]:
    uri = required(ctx, task.uri, "uri")
    split = urllib.parse.urlsplit(uri)
    if split.scheme not in ("http", "https") or not split.netloc:
        raise TaskFailed("'uri' must be the webhook's http(s) URL")
    method = _choice(ctx, task.method, "method", _METHODS)
    kind = _choice(ctx, task.contentType, "contentType", tuple(_CONTENT_TYPES))
    body = props.mapping(ctx, task.body, "body")
    source = props.optional_text(ctx, task.from_)
    if source and body:
        raise TaskFailed("Give 'body' or 'from', not both")
    query = urllib.parse.parse_qsl(split.query) + [
        (key, value if isinstance(value, str) else str(value))
        for key, value in props.mapping(ctx, task.queryParameters, "queryParameters").items()
    ]
    headers = {k: str(v) for k, v in props.mapping(ctx, task.headers, "headers").items()}
    auth_headers, secrets = options_auth(ctx, task.options)
    data = None
    if source:
        with ctx.open_file(source) as stream:
            data = stream.read()
        headers.setdefault("Content-Type", _CONTENT_TYPES[kind])
    path = split.path or "/"
    with RemoteApi(
        ctx,
        "n8n",
        f"{split.scheme}://{split.netloc}",
        headers=auth_headers,
        secrets=[*secrets, *_hidden(path)],
    ) as api:
        api.info(f"Triggering the n8n workflow at {split.netloc}")
        response = api.send(
            method,
            path,
            body=body or None,
            params=dict(query) if query else None,
            data=data,
            headers=headers or None,
        )
        api.info(f"n8n answered {response.status_code}")
        answer = _answer(response) if props.boolean(ctx, task.wait) else None
    return {"statusCode": response.status_code, "body": answer}
