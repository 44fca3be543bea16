"""The message of each service (Slack, Discord, Teams, Google Chat, Weir's generic webhook), and
the tasks that send it: a payload written by the flow, or one built from the execution summary."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.alerting import ZulipExecution
from controlplane.spec.plugins.notifications import (
    DiscordEmbed,
    DiscordExecution,
    DiscordIncomingWebhook,
    GoogleChatExecution,
    GoogleChatIncomingWebhook,
    SlackExecution,
    SlackIncomingWebhook,
    TeamsExecution,
    TeamsIncomingWebhook,
    WebhookExecution,
)
from controlplane.tasks import props
from controlplane.tasks.notifications.summary import Summary, fact_text, severity, summarize
from controlplane.tasks.notifications.webhook import deliver, json_payload, webhook_for

# -- payloads written by the flow ---------------------------------------------------------------

_Incoming = DiscordIncomingWebhook | TeamsIncomingWebhook | GoogleChatIncomingWebhook


def _incoming(service: str) -> Callable[[_Incoming, RunContext], dict[str, Any]]:
    def run(task: _Incoming, ctx: RunContext) -> dict[str, Any]:
        webhook = webhook_for(ctx, service, task.url, task.options)
        return deliver(ctx, webhook, json_payload(ctx, task.payload, "payload"))

    return run


runs(DiscordIncomingWebhook)(_incoming("Discord"))
runs(TeamsIncomingWebhook)(_incoming("Teams"))
runs(GoogleChatIncomingWebhook)(_incoming("Google Chat"))


# -- Slack --------------------------------------------------------------------------------------

_SLACK_COLORS = {"success": "#2eb886", "warning": "#daa038", "failure": "#a30200"}


@runs(SlackIncomingWebhook)
def run_slack_incoming_webhook(task: SlackIncomingWebhook, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Slack", task.url, task.options)
    if task.payload is not None:
        return deliver(ctx, webhook, json_payload(ctx, task.payload, "payload"))
    if task.messageText is None:
        raise TaskFailed("SlackIncomingWebhook needs 'payload' or 'messageText'")
    text = props.text(ctx, task.messageText)
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"text": slack_mrkdwn(text)}
    return deliver(ctx, webhook, body)


def slack_mrkdwn(text: str) -> str:
    """Markdown bold, italics and links as Slack writes them."""
    text = re.sub(r"\*\*(.*?)\*\*", r"*\1*", text)
    text = re.sub(r"__(.*?)__", r"_\1_", text)
    return re.sub(r"\[(.*?)\]\((.*?)\)", r"<\2|\1>", text)


@runs(SlackExecution)
def run_slack_execution(task: SlackExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Slack", task.url, task.options)
    return deliver(ctx, webhook, slack_execution_message(task, ctx))


def slack_execution_message(
    task: SlackExecution | ZulipExecution, ctx: RunContext
) -> dict[str, Any]:
    """The Slack message about the task's execution, with the channel and identity it sets
    (also what Zulip's Slack-compatible webhook takes)."""
    body = slack_message(summarize(task, ctx))
    extras = {
        "channel": task.channel,
        "username": task.username,
        "icon_url": task.iconUrl,
        "icon_emoji": task.iconEmoji,
    }
    body.update({k: props.text(ctx, v) for k, v in extras.items() if v is not None})
    return body


def slack_message(summary: Summary) -> dict[str, Any]:
    title = f"<{summary.link}|{summary.title}>" if summary.link else summary.title
    text = f"*{title}*\n> {summary.outcome}"
    section: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if summary.link:
        section["accessory"] = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Details"},
            "url": summary.link,
        }
    blocks = [section]
    if summary.custom_message:
        blocks.insert(
            0, {"type": "section", "text": {"type": "mrkdwn", "text": summary.custom_message}}
        )
    attachment = {
        "color": _SLACK_COLORS.get(severity(summary.state), "#808080"),
        "fields": [{"title": k, "value": v, "short": len(v) < 40} for k, v in summary.facts()],
        "ts": int(summary.started.timestamp()),
    }
    return {"text": text, "blocks": blocks, "attachments": [attachment]}


# -- Discord ------------------------------------------------------------------------------------

_DISCORD_COLORS = {"success": 0x43B581, "warning": 0xFAA61A, "failure": 0xF04747}


@runs(DiscordExecution)
def run_discord_execution(task: DiscordExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Discord", task.url, task.options)
    if task.payload is not None and props.text(ctx, task.payload).strip():
        return deliver(ctx, webhook, json_payload(ctx, task.payload, "payload"))
    body: dict[str, Any] = {"tts": False}
    for key, value in (("username", task.username), ("avatar_url", task.avatarUrl)):
        if value is not None:
            body[key] = props.text(ctx, value)
    if task.content is not None:
        body["content"] = props.text(ctx, task.content)
    summary_embed = discord_embed(summarize(task, ctx))
    own = [_discord_user_embed(ctx, embed, task.avatarUrl) for embed in task.embedList or []]
    if own:
        summary_embed = {**summary_embed, **own[0], "fields": summary_embed["fields"]}
    body["embeds"] = [summary_embed, *own[1:]]
    return deliver(ctx, webhook, body)


def discord_embed(summary: Summary) -> dict[str, Any]:
    description = summary.outcome
    if summary.custom_message:
        description = f"{summary.custom_message}\n\n{description}"
    embed: dict[str, Any] = {
        "title": summary.title,
        "description": description[:4096],
        "color": _DISCORD_COLORS.get(severity(summary.state), 0x99AAB5),
        "fields": [
            {"name": k[:256], "value": (v or "-")[:1024], "inline": len(v) < 40}
            for k, v in summary.facts()[:25]
        ],
        "timestamp": summary.started.astimezone(UTC).isoformat(),
        "footer": {"text": summary.outcome},
    }
    if summary.link:
        embed["url"] = summary.link
    return embed


def _discord_user_embed(ctx: RunContext, embed: DiscordEmbed, avatar: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in (
        ("title", embed.title),
        ("description", embed.description),
        ("url", embed.websiteUrl),
    ):
        if value is not None:
            result[key] = props.text(ctx, value)
    if embed.thumbnail is not None:
        result["thumbnail"] = {"url": props.text(ctx, embed.thumbnail)}
    if embed.authorName is not None:
        author = {"name": props.text(ctx, embed.authorName)}
        if embed.websiteUrl is not None:
            author["url"] = props.text(ctx, embed.websiteUrl)
        if avatar is not None:
            author["icon_url"] = props.text(ctx, avatar)
        result["author"] = author
    if embed.color is not None:
        if len(embed.color) < 3 or not all(0 <= c <= 255 for c in embed.color[:3]):
            raise TaskFailed("'embedList[].color' must be three numbers from 0 to 255 (RGB)")
        red, green, blue = embed.color[:3]
        result["color"] = (red << 16) + (green << 8) + blue
    if embed.footer is not None:
        result["footer"] = {"text": props.text(ctx, embed.footer)}
    return result


# -- Microsoft Teams ----------------------------------------------------------------------------


@runs(TeamsExecution)
def run_teams_execution(task: TeamsExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Teams", task.url, task.options)
    summary = summarize(task, ctx)
    section: dict[str, Any] = {
        "text": summary.outcome,
        "facts": [{"name": k, "value": v} for k, v in summary.facts()],
        "markdown": True,
    }
    for key, value in (
        ("activityTitle", task.activityTitle),
        ("activitySubtitle", task.activitySubtitle),
    ):
        if value is not None:
            section[key] = props.text(ctx, value)
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "themeColor": props.text(ctx, task.themeColor),
        "summary": f"{summary.title}: {summary.outcome}",
        "title": summary.title,
        "sections": [section],
    }
    if summary.custom_message:
        card["text"] = summary.custom_message
    if summary.link:
        target = {"os": "default", "uri": summary.link}
        card["potentialAction"] = [
            {"@type": "OpenUri", "name": "Open the execution", "targets": [target]}
        ]
    return deliver(ctx, webhook, card)


# -- Google Chat --------------------------------------------------------------------------------


@runs(GoogleChatExecution)
def run_google_chat_execution(task: GoogleChatExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "Google Chat", task.url, task.options)
    summary = summarize(task, ctx)
    if task.text is not None:
        return deliver(ctx, webhook, {"text": props.text(ctx, task.text)})
    title = f"<{summary.link}|{summary.title}>" if summary.link else summary.title
    lines = [f"*{title}*", summary.outcome]
    if summary.custom_message:
        lines.insert(0, summary.custom_message)
    lines += [f"{k}: {v}" for k, v in summary.facts()]
    return deliver(ctx, webhook, {"text": "\n".join(lines)})


# -- Weir's generic webhook ---------------------------------------------------------------------


@runs(WebhookExecution)
def run_webhook_execution(task: WebhookExecution, ctx: RunContext) -> dict[str, Any]:
    webhook = webhook_for(ctx, "HTTP", task.url, None)
    headers = props.mapping(ctx, task.headers, "headers")
    webhook.headers = {str(k): fact_text(v) for k, v in headers.items()}
    webhook.secrets += [v for v in webhook.headers.values() if len(v) >= 4]
    return deliver(ctx, webhook, summarize(task, ctx).to_json())
