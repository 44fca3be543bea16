"""LINE, Zulip, Zenduty, Telegram, Sentry, PagerDuty, Opsgenie, Twilio and WhatsApp: the message
each service takes, sent through the notifications' webhook
(:mod:`controlplane.tasks.notifications.webhook`: JSON POST, retries on 429, URLs and tokens
kept out of logs and errors).

An ``*Execution`` type builds its message from the execution summary, as the Slack and Discord
ones do; where Kestra's template of a service names fields (Zenduty's ``alert_type`` and
``entity_id``, PagerDuty's ``severity`` and ``custom_details``, Sentry's ``exception`` and
``extra``), Weir fills the same ones.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.alerting import (
    LineExecution,
    OpsgenieAlert,
    OpsgenieExecution,
    PagerDutyAlert,
    PagerDutyExecution,
    SentryAlert,
    SentryExecution,
    TelegramExecution,
    TelegramSend,
    TriggerZap,
    TwilioAlert,
    TwilioExecution,
    WhatsAppExecution,
    WhatsAppIncomingWebhook,
    ZendutyAlert,
    ZendutyExecution,
    ZulipExecution,
    ZulipIncomingWebhook,
)
from controlplane.tasks import props
from controlplane.tasks.notifications.services import slack_execution_message
from controlplane.tasks.notifications.summary import Summary, fact_text, summarize
from controlplane.tasks.notifications.webhook import Webhook, deliver, json_payload, webhook_for

# -- payloads written by the flow ---------------------------------------------------------------


_Payload = ZulipIncomingWebhook | ZendutyAlert | PagerDutyAlert | WhatsAppIncomingWebhook


def _payload(service: str) -> Callable[[_Payload, RunContext], dict[str, Any]]:
    def run(task: _Payload, ctx: RunContext) -> dict[str, Any]:
        webhook = webhook_for(ctx, service, task.url, task.options)
        return deliver(ctx, webhook, json_payload(ctx, task.payload, "payload"))

    return run


runs(ZulipIncomingWebhook)(_payload("Zulip"))
runs(ZendutyAlert)(_payload("Zenduty"))
runs(PagerDutyAlert)(_payload("PagerDuty"))
runs(WhatsAppIncomingWebhook)(_payload("WhatsApp"))


@runs(OpsgenieAlert)
def run_opsgenie_alert(task: OpsgenieAlert, ctx: RunContext) -> dict[str, Any]:
    return deliver(ctx, _opsgenie(task, ctx), json_payload(ctx, task.payload, "payload"))


def _opsgenie(task: OpsgenieAlert, ctx: RunContext) -> Webhook:
    webhook = webhook_for(ctx, "Opsgenie", task.url, task.options)
    token = props.optional_text(ctx, task.authorizationToken)
    if token:
        webhook.headers["Authorization"] = token
        webhook.secrets += [token, token.split(" ")[-1]]
    return webhook


# -- LINE ---------------------------------------------------------------------------------------


@runs(LineExecution)
def run_line_execution(task: LineExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "LINE", task.url, task.options)
    token = props.text(ctx, task.channelAccessToken)
    webhook.headers["Authorization"] = f"Bearer {token}"
    webhook.secrets.append(token)
    text = props.optional_text(ctx, task.textBody) or _plain_text(summarize(task, ctx))
    return deliver(ctx, webhook, {"messages": [{"type": "text", "text": text[:5000]}]})


def _plain_text(summary: Summary) -> str:
    lines = [summary.title, summary.outcome]
    if summary.custom_message:
        lines.insert(0, summary.custom_message)
    lines += [f"{k}: {v}" for k, v in summary.facts()]
    if summary.link:
        lines.append(summary.link)
    return "\n".join(lines)


# -- Zulip --------------------------------------------------------------------------------------


@runs(ZulipExecution)
def run_zulip_execution(task: ZulipExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Zulip", task.url, task.options)
    return deliver(ctx, webhook, slack_execution_message(task, ctx))


# -- Zenduty ------------------------------------------------------------------------------------

_ZENDUTY_TYPES = {"critical", "acknowledged", "resolved", "error", "warning", "info"}


@runs(ZendutyExecution)
def run_zenduty_execution(task: ZendutyExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Zenduty", task.url, task.options)
    summary = summarize(task, ctx)
    alert_type = (props.optional_text(ctx, task.alertType) or "").lower()
    if alert_type and alert_type not in _ZENDUTY_TYPES:
        raise TaskFailed(f"'alertType' must be one of {', '.join(sorted(_ZENDUTY_TYPES))}")
    urls = [{"link_url": summary.link, "link_text": "Execution link"}] if summary.link else []
    urls += [{"link_url": u} for u in props.string_list(ctx, task.urls, "urls")]
    body = {
        "message": props.optional_text(ctx, task.message) or "Kestra workflow execution",
        "alert_type": alert_type or ("error" if summary.failed else "resolved"),
        "entity_id": props.optional_text(ctx, task.entityId) or summary.execution_id,
        "urls": urls,
        "payload": dict(summary.facts()),
        "summary": props.optional_text(ctx, task.summary)
        or (
            f"Kestra workflow execution {summary.execution_id} of a flow {summary.flow_id} in "
            f"the namespace {summary.namespace} changed status to {summary.state.value}"
        ),
    }
    return deliver(ctx, webhook, body)


# -- Telegram -----------------------------------------------------------------------------------

_PARSE_MODES = {"HTML": "HTML", "MARKDOWNV2": "MarkdownV2"}


def _telegram(task: TelegramSend, ctx: RunContext, text: str) -> dict[str, Any]:
    base = props.optional_text(ctx, task.endpointOverride) or "https://api.telegram.org"
    token = props.text(ctx, task.token).strip()
    if not token:
        raise TaskFailed("'token' rendered to an empty text; it is the bot's token")
    webhook = webhook_for(
        ctx, "Telegram", f"{base.rstrip('/')}/bot{token}/sendMessage", task.options
    )
    webhook.secrets.append(token)
    body: dict[str, Any] = {"chat_id": props.text(ctx, task.channel), "text": text}
    mode = props.optional_text(ctx, task.parseMode)
    if mode:
        if mode.upper() not in _PARSE_MODES:
            raise TaskFailed("'parseMode' must be HTML or MARKDOWNV2")
        body["parse_mode"] = _PARSE_MODES[mode.upper()]
    return deliver(ctx, webhook, body)


@runs(TelegramSend)
def run_telegram_send(task: TelegramSend, ctx: RunContext) -> dict[str, Any]:
    text = props.optional_text(ctx, task.payload)
    if not text:
        raise TaskFailed("'payload' is required: the text of the message")
    return _telegram(task, ctx, text)


@runs(TelegramExecution)
def run_telegram_execution(task: TelegramExecution, ctx: RunContext) -> dict[str, Any]:
    text = _plain_text(summarize(task, ctx))
    payload = props.optional_text(ctx, task.payload)
    return _telegram(task, ctx, f"{payload}\n\n{text}" if payload else text)


# -- Sentry -------------------------------------------------------------------------------------


def _sentry_endpoint(dsn: str, kind: str) -> tuple[str, str]:
    """The envelope or store URL of a DSN (``scheme://key@host/project``), and its key. A DSN
    that is not of that shape is taken as the URL itself, as Kestra does."""
    parts = urllib.parse.urlsplit(dsn)
    project = parts.path.strip("/").rsplit("/", 1)[-1]
    if not (parts.username and parts.hostname and project):
        return dsn, ""
    prefix = parts.path.strip("/").rsplit("/", 1)[0] if "/" in parts.path.strip("/") else ""
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    root = f"{parts.scheme}://{host}/" + (f"{prefix}/" if prefix else "")
    query = f"sentry_version=7&sentry_client=java&sentry_key={parts.username}"
    return f"{root}api/{project}/{kind.lower()}/?{query}", parts.username


def _send_sentry(task: SentryAlert, ctx: RunContext, event: dict[str, Any]) -> dict[str, Any]:
    dsn = props.text(ctx, task.dsn).strip()
    url, key = _sentry_endpoint(dsn, task.endpointType)
    webhook = webhook_for(ctx, "Sentry", url, task.options)
    webhook.secrets += [s for s in (dsn, key) if s]
    if task.endpointType == "STORE":
        return deliver(ctx, webhook, event)
    payload = json.dumps(event, ensure_ascii=False)
    head = {
        "event_id": event.get("event_id") or uuid.uuid4().hex,
        "dsn": dsn,
        "sdk": {"name": "java", "version": "7"},
        "sent_at": _now(),
    }
    item = {"type": "event", "length": len(payload.encode()), "content_type": "application/json"}
    envelope = "\n".join(json.dumps(part) for part in (head, item)) + f"\n{payload}\n"
    _post_raw(webhook, envelope.encode(), "application/x-sentry-envelope")
    ctx.info(f"Sentry at {webhook.host} accepted event {head['event_id']}")
    return {}


def _post_raw(webhook: Webhook, data: bytes, content_type: str) -> requests.Response:
    """POST a body that is not JSON; a non-2xx answer fails, the URL's secrets scrubbed."""
    try:
        response = requests.post(
            webhook.url,
            data=data,
            headers={"Content-Type": content_type, **webhook.headers},
            timeout=webhook.timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise TaskFailed(f"could not reach {webhook.service} at {webhook.host}: {reason}") from None
    if not 200 <= response.status_code < 300:
        detail = webhook.scrub(response.text.strip()[:300])
        raise TaskFailed(
            f"{webhook.service} at {webhook.host} answered {response.status_code}: {detail}"
        )
    return response


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@runs(SentryAlert)
def run_sentry_alert(task: SentryAlert, ctx: RunContext) -> dict[str, Any]:
    if task.payload is not None:
        event = json_payload(ctx, task.payload, "payload")
    else:
        execution = ctx.render("{{ execution.id }}")
        event = {
            "timestamp": _now(),
            "platform": "java",
            "level": "error",
            "message": {"message": f"Execution {execution} failed"},
            "extra": {
                "Namespace": ctx.render("{{ flow.namespace }}"),
                "Flow ID": ctx.render("{{ flow.id }}"),
                "Execution ID": execution,
            },
        }
    if not isinstance(event, dict):
        raise TaskFailed("'payload' must be a JSON object: a Sentry event")
    event.setdefault("event_id", uuid.uuid4().hex)
    return _send_sentry(task, ctx, event)


@runs(SentryExecution)
def run_sentry_execution(task: SentryExecution, ctx: RunContext) -> dict[str, Any]:
    summary = summarize(task, ctx)
    level = props.text(ctx, task.level).lower()
    if level not in {"fatal", "error", "warning", "info", "debug"}:
        raise TaskFailed("'level' must be FATAL, ERROR, WARNING, INFO or DEBUG")
    event: dict[str, Any] = {
        "event_id": props.optional_text(ctx, task.eventId) or uuid.uuid4().hex,
        "timestamp": _now(),
        "platform": props.text(ctx, task.platform).lower(),
        "level": level,
        "exception": {
            "values": [
                {"type": summary.title, "value": summary.outcome, "module": summary.namespace}
            ]
        },
        "extra": {**dict(summary.facts()), **props.mapping(ctx, task.extra, "extra")},
    }
    if summary.link:
        event["extra"]["Link"] = summary.link
    if summary.custom_message:
        event["message"] = {"message": summary.custom_message}
    for key, value in (("transaction", task.transaction), ("server_name", task.serverName)):
        if value is not None:
            event[key] = props.text(ctx, value)
    errors = props.mapping(ctx, task.errors, "errors")
    if errors:
        event["errors"] = [
            {"type": "unknown_error", "path": k, "details": fact_text(v)} for k, v in errors.items()
        ]
    return _send_sentry(task, ctx, event)


# -- PagerDuty ----------------------------------------------------------------------------------


@runs(PagerDutyExecution)
def run_pagerduty_execution(task: PagerDutyExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "PagerDuty", task.url, task.options)
    summary = summarize(task, ctx)
    routing = props.optional_text(ctx, task.routingKey)
    dedup = props.optional_text(ctx, task.deduplicationKey)
    action = props.optional_text(ctx, task.eventAction) or ("acknowledge" if dedup else "trigger")
    body: dict[str, Any] = {
        "event_action": action,
        "payload": {
            "summary": (props.optional_text(ctx, task.payloadSummary) or summary.title)[:1024],
            "source": f"{summary.namespace} {summary.execution_id}",
            "severity": "error" if summary.failed else "info",
            "timestamp": summary.started.astimezone(UTC).isoformat(),
            "custom_details": dict(summary.facts()),
        },
    }
    if routing:
        body["routing_key"] = routing
        webhook.secrets.append(routing)
    if dedup:
        body["dedup_key"] = dedup
    if summary.link:
        body["links"] = [{"href": summary.link, "text": summary.outcome}]
    return deliver(ctx, webhook, body)


# -- Opsgenie -----------------------------------------------------------------------------------


@runs(OpsgenieExecution)
def run_opsgenie_execution(task: OpsgenieExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = _opsgenie(task, ctx)
    summary = summarize(task, ctx)
    description = f"{summary.title}\n{summary.outcome}"
    if summary.link:
        description += f"\n{summary.link}"
    body: dict[str, Any] = {
        "message": (props.optional_text(ctx, task.message) or summary.title)[:130],
        "description": description,
        "details": dict(summary.facts()),
    }
    for key, text in (("alias", task.alias), ("priority", task.priority)):
        if text is not None:
            body[key] = props.text(ctx, text)
    for key, value in (("responders", task.responders), ("visibleTo", task.visibleTo)):
        entries = props.mapping(ctx, value, key)
        if entries:
            body[key] = [{"id": k, "type": fact_text(v)} for k, v in entries.items()]
    tags = props.string_list(ctx, task.tags, "tags")
    if tags:
        body["tags"] = tags
    return deliver(ctx, webhook, body)


# -- Twilio -------------------------------------------------------------------------------------


def _twilio(task: TwilioAlert, ctx: RunContext, fields: dict[str, Any]) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Twilio", task.url, task.options)
    sid, token = props.text(ctx, task.accountSID), props.text(ctx, task.authToken)
    basic = base64.b64encode(f"{sid}:{token}".encode()).decode()
    webhook.headers["Authorization"] = f"Basic {basic}"
    webhook.secrets += [token, basic]
    form = urllib.parse.urlencode({k: fact_text(v) for k, v in fields.items()}).encode()
    _post_raw(webhook, form, "application/x-www-form-urlencoded")
    ctx.info(f"Twilio at {webhook.host} accepted the notification")
    return {}


@runs(TwilioAlert)
def run_twilio_alert(task: TwilioAlert, ctx: RunContext) -> dict[str, Any]:
    fields = json_payload(ctx, task.payload, "payload")
    if not isinstance(fields, dict):
        raise TaskFailed("'payload' must be a JSON object: the notification's fields")
    return _twilio(task, ctx, fields)


@runs(TwilioExecution)
def run_twilio_execution(task: TwilioExecution, ctx: RunContext) -> dict[str, Any]:
    summary = summarize(task, ctx)
    fields: dict[str, Any] = {"Body": props.optional_text(ctx, task.body) or _plain_text(summary)}
    for key, value in (("Identity", task.identity), ("Tag", task.tag)):
        if value is not None:
            fields[key] = props.text(ctx, value)
    return _twilio(task, ctx, fields)


# -- Zapier -------------------------------------------------------------------------------------


@runs(TriggerZap)
def run_trigger_zap(task: TriggerZap, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Zapier", task.url, None)
    headers = {str(k): fact_text(v) for k, v in props.mapping(ctx, task.headers, "headers").items()}
    content = props.mapping(ctx, task.content, "content") if task.content is not None else None
    kwargs: dict[str, Any] = {}
    if content is not None and task.method in ("POST", "PUT"):
        kwargs["json"] = content
    timeout = task.timeout.total_seconds() if task.timeout is not None else 30.0
    try:
        response = requests.request(
            task.method, webhook.url, headers=headers, timeout=(timeout, 120), **kwargs
        )
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise TaskFailed(f"could not reach Zapier at {webhook.host}: {reason}") from None
    attempt = response.headers.get("X-Attempt-Id") or response.headers.get("X-Request-Id")
    ok = 200 <= response.status_code < 300
    if not ok and not props.boolean(ctx, task.allowFailed):
        detail = webhook.scrub(response.text.strip()[:300])
        raise TaskFailed(
            f"Zapier webhook request failed with status {response.status_code}: {detail}"
        )
    if not ok:
        ctx.warning(f"Zapier answered {response.status_code}; allowFailed keeps the task going")
    ctx.info(f"Zapier responded with status {response.status_code}")
    return {"status": response.status_code, "body": response.text, "attemptId": attempt}


# -- WhatsApp -----------------------------------------------------------------------------------


@runs(WhatsAppExecution)
def run_whatsapp_execution(task: WhatsAppExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "WhatsApp", task.url, task.options)
    summary = summarize(task, ctx)
    body: dict[str, Any] = {}
    profile = props.optional_text(ctx, task.profileName)
    ids = props.string_list(ctx, task.whatsAppIds, "whatsAppIds")
    if profile and ids:
        body["contacts"] = [{"profile": {"name": profile}, "wa_id": wa_id} for wa_id in ids]
    message: dict[str, Any] = {
        "text": {"body": props.optional_text(ctx, task.textBody) or _plain_text(summary)},
        "type": "text",
    }
    for key, value in (("from", task.from_), ("id", task.messageId)):
        if value is not None:
            message[key] = props.text(ctx, value)
    body["messages"] = [message]
    if task.recipientId is not None:
        body["recipient_id"] = props.text(ctx, task.recipientId)
    return deliver(ctx, webhook, body)
