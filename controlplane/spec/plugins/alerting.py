"""Alerting and messaging services of Kestra's notifications plugins: LINE, Zulip, Zenduty,
Telegram, Sentry, PagerDuty, Opsgenie, Twilio and WhatsApp; and Zapier's webhook.

As for Slack and the other chat services (:mod:`controlplane.spec.plugins.notifications`), each
service has a type that sends what the flow writes (``payload``) and an ``*Execution`` type that
describes an execution (by default the current one). Each is registered under its current
Kestra name (``io.kestra.plugin.<service>.*``) with the name of the older notifications plugin
(``io.kestra.plugin.notifications.<service>.*``) as an alias.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynMap, DynStrList, Text
from controlplane.spec.plugins.notifications import RequestOptions, _ExecutionFields, _Template
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_OLD = "io.kestra.plugin.notifications"
_NEW = "io.kestra.plugin"

LINE_BROADCAST = "https://api.line.me/v2/bot/message/broadcast"
TELEGRAM_API = "https://api.telegram.org"


def _names(service: str, name: str) -> tuple[str, str]:
    return f"{_NEW}.{service}.{name}", f"{_OLD}.{service}.{name}"


class _Http(TaskSpec):
    options: RequestOptions | None = None


# -- LINE ---------------------------------------------------------------------------------------


@task(*_names("line", "LineExecution"))
class LineExecution(_Http, _Template, _ExecutionFields):
    """Broadcast a text message about an execution to the followers of a LINE Official Account
    (``POST`` to the Messaging API's broadcast endpoint, or ``url``). ``textBody`` replaces the
    summary."""

    url: Text = LINE_BROADCAST
    channelAccessToken: Text
    textBody: Text | None = None


# -- Zulip --------------------------------------------------------------------------------------


@task(*_names("zulip", "ZulipIncomingWebhook"))
class ZulipIncomingWebhook(_Http):
    """POST ``payload`` (JSON) to a Zulip incoming webhook (``.../api/v1/external/slack_incoming``
    takes Slack's message shape)."""

    url: Text = Field(min_length=1)
    payload: Text | None = None


@task(*_names("zulip", "ZulipExecution"))
class ZulipExecution(ZulipIncomingWebhook, _Template, _ExecutionFields):
    """A Zulip message about an execution, in the Slack-compatible shape Zulip's Slack incoming
    webhook reads; ``channel``, ``username``, ``iconUrl`` and ``iconEmoji`` are added to it."""

    channel: Text | None = None
    username: Text | None = None
    iconUrl: Text | None = None
    iconEmoji: Text | None = None


# -- Zenduty ------------------------------------------------------------------------------------


@task(*_names("zenduty", "ZendutyAlert"))
class ZendutyAlert(_Http):
    """POST ``payload`` (JSON) to a Zenduty integration's events URL."""

    url: Text = Field(min_length=1)
    payload: Text | None = None


@task(*_names("zenduty", "ZendutyExecution"))
class ZendutyExecution(ZendutyAlert, _Template, _ExecutionFields):
    """A Zenduty event about an execution: ``alert_type`` ``error`` when a task failed,
    ``resolved`` otherwise, unless ``alertType`` says; the execution's facts as its payload."""

    message: Text | None = None
    summary: Text | None = None
    alertType: Text | None = None
    """CRITICAL, ACKNOWLEDGED, RESOLVED, ERROR, WARNING or INFO."""
    entityId: Text | None = None
    urls: DynStrList | None = None


# -- Telegram -----------------------------------------------------------------------------------


@task(*_names("telegram", "TelegramSend"))
class TelegramSend(_Http):
    """Send ``payload`` as a text message to a chat or channel through the Bot API
    (``POST {endpointOverride}/bot{token}/sendMessage``)."""

    token: Text
    channel: Text
    payload: Text | None = None
    parseMode: Text | None = None
    """HTML or MARKDOWNV2."""
    endpointOverride: Text | None = None


@task(*_names("telegram", "TelegramExecution"))
class TelegramExecution(TelegramSend, _Template, _ExecutionFields):
    """A Telegram message about an execution."""


# -- Sentry -------------------------------------------------------------------------------------


@task(*_names("sentry", "SentryAlert"))
class SentryAlert(_Http):
    """Send an event to Sentry: ``payload`` (a JSON event; by default one saying the execution
    failed) goes to the project's envelope endpoint (or its store endpoint), read from ``dsn``."""

    dsn: Text = Field(min_length=1)
    endpointType: Literal["ENVELOPE", "STORE"] = "ENVELOPE"
    payload: Text | None = None


@task(*_names("sentry", "SentryExecution"))
class SentryExecution(SentryAlert, _Template, _ExecutionFields):
    """A Sentry event about an execution: an exception naming the failed task, and the
    execution's facts as ``extra``."""

    eventId: Text | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    platform: Text = "JAVA"
    level: Text = "ERROR"
    """FATAL, ERROR, WARNING, INFO or DEBUG."""
    transaction: Text | None = None
    serverName: Text | None = None
    extra: DynMap | None = None
    errors: DynMap | None = None


# -- PagerDuty ----------------------------------------------------------------------------------


@task(*_names("pagerduty", "PagerDutyAlert"))
class PagerDutyAlert(_Http):
    """POST ``payload`` (a PagerDuty Events API v2 event) to ``url``."""

    url: Text = Field(min_length=1)
    payload: Text | None = None


@task(*_names("pagerduty", "PagerDutyExecution"))
class PagerDutyExecution(PagerDutyAlert, _Template, _ExecutionFields):
    """A PagerDuty Events API v2 event about an execution: severity ``error`` when a task
    failed, ``info`` otherwise."""

    routingKey: Text | None = None
    deduplicationKey: Text | None = None
    eventAction: Text | None = None
    payloadSummary: Text | None = Field(default=None, max_length=1024)


# -- Opsgenie -----------------------------------------------------------------------------------


@task(*_names("opsgenie", "OpsgenieAlert"))
class OpsgenieAlert(_Http):
    """POST ``payload`` (an Opsgenie alert) to ``url``, with ``authorizationToken`` as the
    ``Authorization`` header (``GenieKey <key>``)."""

    url: Text = Field(min_length=1)
    payload: Text | None = None
    authorizationToken: Text | None = None


@task(*_names("opsgenie", "OpsgenieExecution"))
class OpsgenieExecution(OpsgenieAlert, _Template, _ExecutionFields):
    """An Opsgenie alert about an execution. ``responders`` and ``visibleTo`` map an id to its
    type (``team``, ``user``, ``escalation``, ``schedule``)."""

    message: Text | None = None
    alias: Text | None = None
    responders: DynMap | None = None
    visibleTo: DynMap | None = None
    tags: DynStrList | None = None
    priority: Text | None = None


# -- Twilio -------------------------------------------------------------------------------------


@task("io.kestra.plugin.twilio.notify.TwilioAlert", f"{_OLD}.twilio.TwilioAlert")
class TwilioAlert(_Http):
    """POST ``payload`` (a JSON object, sent form-encoded) to a Twilio Notify URL, with
    ``accountSID`` and ``authToken`` as basic authentication."""

    url: Text = Field(min_length=1)
    payload: Text | None = None
    accountSID: Text = Field(min_length=1)
    authToken: Text = Field(min_length=1)


@task("io.kestra.plugin.twilio.notify.TwilioExecution", f"{_OLD}.twilio.TwilioExecution")
class TwilioExecution(TwilioAlert, _Template, _ExecutionFields):
    """A Twilio Notify notification about an execution: ``Body`` (the summary, or ``body``),
    ``Identity`` and ``Tag``."""

    body: Text | None = None
    identity: Text | None = None
    tag: Text | None = None


# -- Zapier -------------------------------------------------------------------------------------


@task("io.kestra.plugin.zapier.TriggerZap")
class TriggerZap(TaskSpec):
    """Call a Zapier Catch Hook: ``content`` as JSON with POST or PUT (none with GET), and
    ``headers``. Outputs ``status``, ``body`` and ``attemptId`` (Zapier's ``X-Attempt-Id`` or
    ``X-Request-Id``); a non-2xx answer fails the task unless ``allowFailed``. The task's
    ``timeout`` (30 seconds when unset) bounds the connection too."""

    url: Text = Field(min_length=1)
    content: DynMap | None = None
    method: Literal["POST", "PUT", "GET"] = "POST"
    headers: DynMap | None = None
    allowFailed: DynBool = False


# -- WhatsApp -----------------------------------------------------------------------------------


@task(
    "io.kestra.plugin.meta.whatsapp.WhatsAppIncomingWebhook",
    f"{_OLD}.whatsapp.WhatsAppIncomingWebhook",
)
class WhatsAppIncomingWebhook(_Http):
    """POST ``payload`` (JSON) to a WhatsApp webhook."""

    url: Text = Field(min_length=1)
    payload: Text | None = None


@task("io.kestra.plugin.meta.whatsapp.WhatsAppExecution", f"{_OLD}.whatsapp.WhatsAppExecution")
class WhatsAppExecution(WhatsAppIncomingWebhook, _Template, _ExecutionFields):
    """A WhatsApp webhook message about an execution: ``contacts`` from ``profileName`` and
    ``whatsAppIds``, one text message ``from`` (its body ``textBody``, else the summary), and
    ``recipient_id``. A ``payload`` given is ignored, as in Kestra."""

    profileName: Text | None = None
    whatsAppIds: DynStrList | None = None
    from_: Text | None = Field(default=None, alias="from")
    messageId: Text | None = None
    textBody: Text | None = None
    recipientId: Text | None = None
