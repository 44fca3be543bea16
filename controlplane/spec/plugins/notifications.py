"""Chat and webhook notifications: Slack, Discord, Microsoft Teams, Google Chat, and Weir's own
generic execution webhook.

Each service has two types, as in Kestra: ``*IncomingWebhook`` posts a message the flow writes
(``payload``, a JSON text rendered at run time), and ``*Execution`` posts a summary of an
execution (by default the current one) in the service's own message shape. Every type is
registered under its current Kestra name, with the ``io.kestra.plugin.notifications.*`` name
of the older notifications plugin as an alias.

``templateUri`` and ``templateRenderMap`` are accepted on the ``*Execution`` types because Kestra
declares them, but they have no effect there: Kestra replaces both with its built-in template,
and so does Weir with its built-in summary. ``payload`` and ``messageText`` of SlackExecution are
replaced the same way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynDuration, DynInt, DynMap, Spec, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_OLD = "io.kestra.plugin.notifications"
_SLACK = "io.kestra.plugin.slack.notifications"
_DISCORD = "io.kestra.plugin.discord"
_TEAMS = "io.kestra.plugin.microsoft365.teams"
_GOOGLE = "io.kestra.plugin.googleworkspace.chat"
_WEIR = "io.weir.plugin.notifications.webhook"

EXECUTION_ID = "{{ execution.id }}"


class RequestOptions(Spec):
    """HTTP client options. Weir applies ``connectTimeout``, ``readTimeout``, ``defaultCharset``
    and ``headers``; the pool and size limits of Kestra's client are accepted and not needed."""

    connectTimeout: DynDuration | None = None
    readTimeout: DynDuration = timedelta(seconds=10)
    readIdleTimeout: DynDuration = timedelta(minutes=5)
    connectionPoolIdleTimeout: DynDuration = timedelta(0)
    maxContentLength: DynInt = 10 * 1024 * 1024
    defaultCharset: Text = "UTF-8"
    headers: DynMap | None = None


class Proxy(Spec):
    """An outbound proxy for the Slack webhook call (HTTP proxies; DIRECT means none)."""

    type: Literal["DIRECT", "HTTP", "SOCKS"] = "HTTP"
    address: Text | None = None
    port: DynInt | None = None
    username: Text | None = None
    password: Text | None = None


class SlackRequestOptions(RequestOptions):
    proxy: Proxy | None = None


class _ExecutionFields(Spec):
    """What every ``*Execution`` notification adds: which execution, and what to add to it."""

    executionId: Text = EXECUTION_ID
    customFields: DynMap | None = None
    customMessage: Text | None = None


class _Template(Spec):
    templateUri: Text | None = None
    templateRenderMap: DynMap | None = None


# -- Slack --------------------------------------------------------------------------------------


@task(
    f"{_SLACK}.SlackIncomingWebhook",
    f"{_OLD}.slack.SlackIncomingWebhook",
    "io.kestra.plugin.slack.SlackIncomingWebhook",
)
class SlackIncomingWebhook(TaskSpec):
    """POST ``payload`` (JSON) or ``messageText`` (text, or a JSON object) to a Slack webhook.

    ``messageText`` that is not a JSON object is sent as ``{"text": ...}`` with Markdown bold,
    italics and links turned into Slack's mrkdwn.
    """

    url: Text = Field(min_length=1)
    payload: Text | None = None
    messageText: Text | None = None
    options: SlackRequestOptions | None = None


@task(
    f"{_SLACK}.SlackExecution",
    f"{_OLD}.slack.SlackExecution",
    "io.kestra.plugin.slack.SlackExecution",
)
class SlackExecution(SlackIncomingWebhook, _Template, _ExecutionFields):
    """A Slack message about an execution: a colored attachment (green success, red failure,
    orange warning) with its namespace, flow, id, state, duration and failed task.

    ``channel``, ``username``, ``iconUrl`` and ``iconEmoji`` only work with Slack's legacy
    webhooks; current webhooks are tied to one channel and identity.
    """

    channel: Text | None = None
    username: Text | None = None
    iconUrl: Text | None = None
    iconEmoji: Text | None = None


# -- Discord ------------------------------------------------------------------------------------


@task(f"{_DISCORD}.DiscordIncomingWebhook", f"{_OLD}.discord.DiscordIncomingWebhook")
class DiscordIncomingWebhook(TaskSpec):
    url: Text = Field(min_length=1)
    payload: Text | None = None
    options: RequestOptions | None = None


class DiscordEmbed(Spec):
    title: Text | None = None
    websiteUrl: Text | None = None
    description: Text | None = None
    thumbnail: Text | None = None
    authorName: Text | None = None
    color: list[int] | None = None
    """RGB, e.g. [255, 255, 255]."""
    footer: Text | None = None


@task(f"{_DISCORD}.DiscordExecution", f"{_OLD}.discord.DiscordExecution")
class DiscordExecution(DiscordIncomingWebhook, _Template, _ExecutionFields):
    """A Discord message about an execution: one embed with its facts, colored by state.

    A non-blank ``payload`` is sent as it is instead, as Kestra does. The first entry of
    ``embedList`` is merged into the summary embed (its keys win, the facts stay); further
    entries follow it.
    """

    username: Text | None = None
    avatarUrl: Text | None = None
    embedList: list[DiscordEmbed] | None = None
    content: Text | None = None


# -- Microsoft Teams ----------------------------------------------------------------------------


@task(f"{_TEAMS}.TeamsIncomingWebhook", f"{_OLD}.teams.TeamsIncomingWebhook")
class TeamsIncomingWebhook(TaskSpec):
    """POST ``payload`` (a MessageCard or an Adaptive Card message) to a Teams webhook."""

    url: Text = Field(min_length=1)
    payload: Text | None = None
    options: RequestOptions | None = None


@task(f"{_TEAMS}.TeamsExecution", f"{_OLD}.teams.TeamsExecution")
class TeamsExecution(TeamsIncomingWebhook, _Template, _ExecutionFields):
    """A Teams MessageCard about an execution, its facts in one section."""

    themeColor: Text = "0076D7"
    activityTitle: Text | None = None
    activitySubtitle: Text | None = None


# -- Google Chat --------------------------------------------------------------------------------


@task(f"{_GOOGLE}.GoogleChatIncomingWebhook", f"{_OLD}.google.GoogleChatIncomingWebhook")
class GoogleChatIncomingWebhook(TaskSpec):
    url: Text = Field(min_length=1)
    payload: Text | None = None
    options: RequestOptions | None = None


@task(f"{_GOOGLE}.GoogleChatExecution", f"{_OLD}.google.GoogleChatExecution")
class GoogleChatExecution(GoogleChatIncomingWebhook, _Template, _ExecutionFields):
    """A Google Chat text message about an execution; ``text`` replaces it, as in Kestra."""

    text: Text | None = None


# -- Weir's generic webhook ---------------------------------------------------------------------


@task(f"{_WEIR}.WebhookExecution")
class WebhookExecution(TaskSpec, _ExecutionFields):
    """POST the summary of an execution as JSON to any URL, with ``headers`` added.

    The body (``Content-Type: application/json``)::

        {
          "namespace": "company.team",
          "flowId": "etl",
          "executionId": "4wjtkzwVGBM9yKnjm3yv8r",
          "state": "FAILED",              # FAILED while an errors branch runs after a failure
          "startDate": "2024-05-01T10:00:00+00:00",
          "endDate": null,                # null while the execution has not ended
          "duration": "PT12.5S",          # ISO-8601, up to now when not ended
          "durationSeconds": 12.5,
          "failedTasks": [                # earliest failure first
            {"taskId": "load", "taskRunId": "...", "value": null, "state": "FAILED"}
          ],
          "error": null,                  # the execution's error message, when it has one
          "labels": {"team": "data"},
          "link": "https://weir.example.com/api/v1/executions/4wjtkzwVGBM9yKnjm3yv8r",
          "customMessage": "on call: @data",
          "customFields": {"env": "prod"}
        }

    ``link`` is null unless the server sets ``WEIR_PUBLIC_URL``; ``customMessage`` is null and
    ``customFields`` empty when not given. Any 2xx answer is success.
    """

    url: Text = Field(min_length=1)
    headers: DynMap | None = None
