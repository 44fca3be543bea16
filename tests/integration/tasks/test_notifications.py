"""Slack, Discord, Teams, Google Chat and generic webhook notifications against local doubles
of the services, run as single tasks and as parts of whole flows on the real engine."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.engine import Engine
from controlplane.engine.model import Execution, State, TaskRun, Transition, new_id, now
from controlplane.engine.ports import Store
from controlplane.engine.work import AttemptResult
from tests.conftest import EngineFactory
from tests.doubles import Received, Reply, ServiceDouble
from tests.doubles.slack import TOKEN, SlackDouble, rate_limited
from tests.integration.tasks.conftest import Runner
from tests.waiting import ended

SLACK = "io.kestra.plugin.slack.notifications.SlackIncomingWebhook"
SLACK_EXECUTION = "io.kestra.plugin.slack.notifications.SlackExecution"
DISCORD = "io.kestra.plugin.discord.DiscordIncomingWebhook"
DISCORD_EXECUTION = "io.kestra.plugin.notifications.discord.DiscordExecution"
TEAMS = "io.kestra.plugin.notifications.teams.TeamsIncomingWebhook"
TEAMS_EXECUTION = "io.kestra.plugin.microsoft365.teams.TeamsExecution"
GOOGLE = "io.kestra.plugin.notifications.google.GoogleChatIncomingWebhook"
GOOGLE_EXECUTION = "io.kestra.plugin.googleworkspace.chat.GoogleChatExecution"
WEBHOOK_EXECUTION = "io.weir.plugin.notifications.webhook.WebhookExecution"

DISCORD_TOKEN = "Zk3mQ9vT1xLp8WcR5nHy2BdF7gJs4AeU6oKi0PlMqNw"
GOOGLE_KEY, GOOGLE_TOKEN = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "t0kEn8Xy2Qw4Er6Ty"


# -- doubles of the other services ---------------------------------------------------------------


class DiscordDouble(ServiceDouble):
    """``POST /api/webhooks/{id}/{token}``: 204 without a body; errors are JSON
    ``{"message", "code"}`` (404 Unknown Webhook 10015, 400 empty message 50006); a rate limit
    is a 429 whose JSON says ``retry_after`` in seconds."""

    path = f"/api/webhooks/1234567890/{DISCORD_TOKEN}"

    def handle(self, request: Received) -> Reply:
        if request.method != "POST" or request.path != self.path:
            return Reply(404, {"message": "Unknown Webhook", "code": 10015})
        fault = self.take(self.trigger_faults)
        if fault is not None:
            return fault
        body = request.body if isinstance(request.body, dict) else {}
        if not (body.get("content") or body.get("embeds")):
            return Reply(400, {"message": "Cannot send an empty message", "code": 50006})
        return Reply(204)


class TeamsDouble(ServiceDouble):
    """An Office 365 connector webhook: ``200 1`` for a card with a summary or text, else
    ``400 Summary or Text is required.``"""

    path = "/webhookb2/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab@tenant/IncomingWebhook/9f8e7d6c5b4a"

    def handle(self, request: Received) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        if request.path != self.path:
            return Reply(404, b"Webhook not found")
        if not (body.get("summary") or body.get("text") or body.get("attachments")):
            return Reply(400, b"Summary or Text is required.")
        return Reply(200, b"1")


class GoogleChatDouble(ServiceDouble):
    """``POST /v1/spaces/{space}/messages?key=&token=``: the created message as JSON; errors
    are ``{"error": {"code", "message", "status"}}``."""

    path = "/v1/spaces/AAAAbCdEfGh/messages"

    def handle(self, request: Received) -> Reply:
        if request.query.get("token") != [GOOGLE_TOKEN]:
            return _google_error(401, "Request had invalid authentication credentials.")
        body = request.body if isinstance(request.body, dict) else {}
        if not (body.get("text") or body.get("cardsV2")):
            return _google_error(400, "Message cannot be empty. Discarded message: '' ")
        return Reply(200, {"name": "spaces/AAAAbCdEfGh/messages/x1.x1", "text": body["text"]})


def _google_error(code: int, message: str) -> Reply:
    status = "UNAUTHENTICATED" if code == 401 else "INVALID_ARGUMENT"
    return Reply(code, {"error": {"code": code, "message": message, "status": status}})


class Receiver(ServiceDouble):
    """Any endpoint that takes an execution summary, behind a bearer token."""

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != "Bearer hook-secret-42":
            return Reply(401, {"error": "unauthorized"})
        return Reply(202, {"accepted": True})


@pytest.fixture
def slack() -> Iterator[SlackDouble]:
    with SlackDouble() as double:
        yield double


# -- helpers --------------------------------------------------------------------------------------


def _messages(runner: Runner, result: AttemptResult) -> str:
    return "\n".join(runner.messages(result))


def _fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["title"]: f["value"] for f in message["attachments"][0]["fields"]}


def _stored_execution(
    store: Store,
    runner: Runner,
    state: State,
    runs: list[tuple[str, State]],
    ended: bool = False,
) -> Execution:
    """An execution of the runner's flow as the engine keeps it, started a minute ago."""
    started = now() - timedelta(seconds=65)
    history = [Transition(State.CREATED, started), Transition(State.RUNNING, started)]
    if ended:
        history.append(Transition(state, started + timedelta(seconds=62)))
    task_runs = [
        TaskRun(
            id=new_id(),
            task_id=task_id,
            state=run_state,
            history=[Transition(State.RUNNING, started), Transition(run_state, started)],
        )
        for task_id, run_state in runs
    ]
    execution = Execution(
        id=new_id(),
        namespace=runner.namespace,
        flow_id=runner.flow_id,
        flow_revision=1,
        state=state,
        history=history,
        labels={"team": "data"},
        task_runs=task_runs,
    )
    with store.unit() as repos:
        repos.executions.create_execution(execution)
    return execution


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- Slack incoming webhook -----------------------------------------------------------------------


def test_slack_payload_is_rendered_and_posted_as_json(runner: Runner, slack: SlackDouble) -> None:
    payload = '{"text": "Flow {{ flow.namespace }}.{{ flow.id }} ran {{ execution.id }}"}'
    result = runner.run({"id": "n", "type": SLACK, "url": slack.webhook_url, "payload": payload})
    assert result.state is State.SUCCESS
    execution_id = runner.execution_of(result)
    assert slack.messages == [{"text": f"Flow company.team.flow ran {execution_id}"}]
    (request,) = slack.received
    assert request.headers["content-type"] == "application/json"
    assert result.outputs == {}
    log = _messages(runner, result)
    assert "accepted the message" in log
    assert TOKEN not in log


def test_slack_message_text_becomes_slack_mrkdwn(runner: Runner, slack: SlackDouble) -> None:
    text = "**Done** in __{{ flow.id }}__, see [the docs](https://example.com/docs)"
    result = runner.run({"id": "n", "type": SLACK, "url": slack.webhook_url, "messageText": text})
    assert result.state is State.SUCCESS
    assert slack.messages == [{"text": "*Done* in _flow_, see <https://example.com/docs|the docs>"}]


def test_slack_message_text_holding_a_json_object_is_sent_as_it_is(
    runner: Runner, slack: SlackDouble
) -> None:
    text = '{"blocks": [{"type": "divider"}], "text": "x"}'
    result = runner.run({"id": "n", "type": SLACK, "url": slack.webhook_url, "messageText": text})
    assert result.state is State.SUCCESS
    assert slack.messages == [{"blocks": [{"type": "divider"}], "text": "x"}]


@pytest.mark.parametrize(
    "type_name",
    [
        "io.kestra.plugin.notifications.slack.SlackIncomingWebhook",
        "io.kestra.plugin.slack.SlackIncomingWebhook",
    ],
)
def test_older_slack_type_names_run_the_same_task(
    runner: Runner, slack: SlackDouble, type_name: str
) -> None:
    result = runner.run({"id": "n", "type": type_name, "url": slack.webhook_url, "payload": "[]"})
    assert result.state is State.FAILED
    assert result.error == (
        f"Slack webhook {slack.url}/******** answered 400 Bad Request: invalid_payload"
    )
    retry = runner.run({"id": "n", "type": type_name, "url": slack.webhook_url, "messageText": "x"})
    assert retry.state is State.SUCCESS
    assert slack.messages == [{"text": "x"}]


def test_slack_error_names_status_and_code_and_masks_the_token(
    runner: Runner, slack: SlackDouble
) -> None:
    wrong = slack.webhook_url.replace(TOKEN, "WrongToken0000000000")
    result = runner.run({"id": "n", "type": SLACK, "url": wrong, "messageText": "hello"})
    assert result.state is State.FAILED
    assert result.error == f"Slack webhook {slack.url}/******** answered 404 Not Found: no_service"
    log = _messages(runner, result)
    assert "WrongToken" not in log and "/services/" not in log


def test_a_payload_that_is_not_json_fails_before_anything_is_sent(
    runner: Runner, slack: SlackDouble
) -> None:
    payload = '{"text": "{{ flow.id }}",'
    result = runner.run({"id": "n", "type": SLACK, "url": slack.webhook_url, "payload": payload})
    assert result.state is State.FAILED
    assert (result.error or "").startswith("'payload' is not valid JSON after rendering")
    assert slack.received == []


def test_slack_without_payload_nor_message_text_fails(runner: Runner, slack: SlackDouble) -> None:
    result = runner.run({"id": "n", "type": SLACK, "url": slack.webhook_url})
    assert result.state is State.FAILED
    assert result.error == "SlackIncomingWebhook needs 'payload' or 'messageText'"


def test_rate_limited_call_is_retried_after_the_delay_slack_asks(
    runner: Runner, slack: SlackDouble
) -> None:
    slack.trigger_faults = [rate_limited("1")]
    result = runner.run(
        {"id": "n", "type": SLACK, "url": slack.webhook_url, "messageText": "hello"}
    )
    assert result.state is State.SUCCESS
    assert len(slack.received) == 2
    assert slack.messages == [{"text": "hello"}]
    assert f"Slack webhook {slack.url}/******** is rate limiting (429); retry 1/3 in 1s" in (
        runner.messages(result)
    )


def test_rate_limiting_that_does_not_end_fails_after_three_retries(
    runner: Runner, slack: SlackDouble
) -> None:
    slack.trigger_faults = [rate_limited("0") for _ in range(5)]
    result = runner.run(
        {"id": "n", "type": SLACK, "url": slack.webhook_url, "messageText": "hello"}
    )
    assert result.state is State.FAILED
    assert len(slack.received) == 4
    assert "answered 429 Too Many Requests after 4 attempts: rate_limited" in (result.error or "")


def test_a_timeout_stops_the_wait_before_a_retry(runner: Runner, slack: SlackDouble) -> None:
    slack.trigger_faults = [rate_limited("120")]
    task = {"id": "n", "type": SLACK, "url": slack.webhook_url, "messageText": "hello"}
    result = runner.run(task, timeout=timedelta(seconds=0.3))
    assert result.state is State.FAILED
    assert result.error == "Timeout after PT0.3S: the task was stopped"
    assert len(slack.received) == 1 and slack.messages == []


def test_a_connection_error_names_the_host_only(runner: Runner) -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}/services/T0AAA0AAA/B0BBB0BBB/{TOKEN}"
    result = runner.run({"id": "n", "type": SLACK, "url": url, "messageText": "hello"})
    assert result.state is State.FAILED
    error = result.error or ""
    assert error.startswith(f"could not reach the Slack webhook at 127.0.0.1:{port}: ")
    assert "Connection refused" in error
    assert TOKEN not in _messages(runner, result) and "/services" not in error


def test_slack_goes_through_the_configured_http_proxy(runner: Runner, slack: SlackDouble) -> None:
    url = f"http://hooks.slack.invalid{slack.path}"
    proxy = {"address": "127.0.0.1", "port": int(slack.url.rsplit(":", 1)[1])}
    proxy |= {"type": "HTTP", "username": "relay", "password": "pr0xy-pass"}
    result = runner.run(
        {"id": "n", "type": SLACK, "url": url, "messageText": "hi", "options": {"proxy": proxy}}
    )
    assert result.state is State.SUCCESS
    (request,) = slack.received
    assert request.headers["host"] == "hooks.slack.invalid"
    expected = "Basic " + base64.b64encode(b"relay:pr0xy-pass").decode()
    assert request.headers["proxy-authorization"] == expected


def test_options_headers_are_sent_and_a_bad_url_is_refused(
    runner: Runner, slack: SlackDouble
) -> None:
    options = {"headers": {"X-Trace": "{{ flow.id }}"}, "readTimeout": "PT5S"}
    ok = runner.run(
        {"id": "n", "type": SLACK, "url": slack.webhook_url, "messageText": "a", "options": options}
    )
    assert ok.state is State.SUCCESS
    assert slack.received[0].headers["x-trace"] == "flow"
    bad = runner.run({"id": "n", "type": SLACK, "url": "hooks.slack.com/x", "messageText": "a"})
    assert bad.error == "'url' of the Slack webhook must be an http(s) URL"


# -- Slack execution summary ----------------------------------------------------------------------


def test_slack_execution_of_a_running_execution_with_a_failed_task_reports_failed(
    runner: Runner, store: Store, slack: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEIR_PUBLIC_URL", "https://weir.example.com/")
    execution = _stored_execution(
        store, runner, State.RUNNING, [("extract", State.SUCCESS), ("load", State.FAILED)]
    )
    task = {
        "id": "alert",
        "type": SLACK_EXECUTION,
        "url": slack.webhook_url,
        "customFields": {"env": "{{ flow.id }}-prod", "attempts": 3},
        "customMessage": "paging <!here>",
        "channel": "#alerts",
        "iconEmoji": ":rotating_light:",
    }
    result = runner.run(task, execution_id=execution.id)
    assert result.state is State.SUCCESS, result.error
    (message,) = slack.messages
    link = f"https://weir.example.com/api/v1/executions/{execution.id}"
    title = f"<{link}|[company.team] flow ➛ FAILED>"
    assert message["text"] == f"*{title}*\n> Failed on task `load` after 1m 5s"
    assert message["channel"] == "#alerts" and message["icon_emoji"] == ":rotating_light:"
    assert message["blocks"][0]["text"]["text"] == "paging <!here>"
    assert message["blocks"][1]["accessory"]["url"] == link
    attachment = message["attachments"][0]
    assert attachment["color"] == "#a30200"
    assert attachment["ts"] == int(execution.started.timestamp())
    assert _fields(message) == {
        "Namespace": "company.team",
        "Flow ID": "flow",
        "Execution ID": execution.id,
        "Execution Status": "FAILED",
        "Duration": "1m 5s",
        "Failed task": "load",
        "env": "flow-prod",
        "attempts": "3",
    }


def test_slack_execution_of_another_ended_execution_uses_its_state(
    runner: Runner, store: Store, slack: SlackDouble
) -> None:
    other = _stored_execution(store, runner, State.WARNING, [("a", State.WARNING)], ended=True)
    task = {"id": "a", "type": SLACK_EXECUTION, "url": slack.webhook_url, "executionId": other.id}
    result = runner.run(task)
    assert result.state is State.SUCCESS, result.error
    (message,) = slack.messages
    assert message["attachments"][0]["color"] == "#daa038"
    assert message["text"] == "*[company.team] flow ➛ WARNING*\n> Warning after 1m 2s"
    assert "Failed task" not in _fields(message)


def test_slack_execution_of_an_unknown_execution_fails(runner: Runner, slack: SlackDouble) -> None:
    task = {"id": "a", "type": SLACK_EXECUTION, "url": slack.webhook_url, "executionId": "nope"}
    result = runner.run(task)
    assert result.state is State.FAILED
    assert result.error == "'executionId': no execution 'nope' exists"
    assert slack.received == []


# -- Discord --------------------------------------------------------------------------------------


def test_discord_payload_is_posted_and_its_error_message_reported(runner: Runner) -> None:
    with DiscordDouble() as discord:
        url = discord.url + discord.path
        payload = '{"content": "Refreshed {{ flow.id }}", "username": "Weir"}'
        ok = runner.run({"id": "d", "type": DISCORD, "url": url, "payload": payload})
        empty = runner.run({"id": "d", "type": DISCORD, "url": url, "payload": '{"content": ""}'})
    assert ok.state is State.SUCCESS
    assert discord.received[0].body == {"content": "Refreshed flow", "username": "Weir"}
    assert empty.error == (
        f"Discord webhook {discord.url}/******** answered 400 Bad Request: "
        "Cannot send an empty message (code 50006)"
    )
    assert DISCORD_TOKEN not in _messages(runner, empty)


def test_discord_rate_limit_waits_for_its_json_retry_after(runner: Runner) -> None:
    limited = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
    with DiscordDouble() as discord:
        discord.trigger_faults = [Reply(429, limited)]
        url = discord.url + discord.path
        result = runner.run({"id": "d", "type": DISCORD, "url": url, "payload": '{"content": "a"}'})
    assert result.state is State.SUCCESS
    assert len(discord.received) == 2
    assert any(line.endswith("retry 1/3 in 0.05s") for line in runner.messages(result))


def test_discord_execution_sends_an_embed_colored_by_state(runner: Runner, store: Store) -> None:
    execution = _stored_execution(store, runner, State.SUCCESS, [("a", State.SUCCESS)], ended=True)
    with DiscordDouble() as discord:
        task = {
            "id": "d",
            "type": DISCORD_EXECUTION,
            "url": discord.url + discord.path,
            "username": "Kestra",
            "avatarUrl": "https://example.com/logo.png",
            "content": "Stars: {{ 40 + 2 }}",
            "embedList": [{"title": "Nightly", "color": [255, 0, 128], "footer": "by Weir"}],
        }
        result = runner.run(task, execution_id=execution.id)
    assert result.state is State.SUCCESS, result.error
    body = discord.received[0].body
    assert {k: body[k] for k in ("username", "avatar_url", "tts", "content")} == {
        "username": "Kestra",
        "avatar_url": "https://example.com/logo.png",
        "tts": False,
        "content": "Stars: 42",
    }
    (embed,) = body["embeds"]
    assert (embed["title"], embed["color"], embed["footer"]) == (
        "Nightly", 0xFF0080, {"text": "by Weir"},
    )  # fmt: skip
    assert embed["description"] == "Succeeded after 1m 2s"
    facts = {f["name"]: f["value"] for f in embed["fields"]}
    assert facts["Execution Status"] == "SUCCESS" and facts["Execution ID"] == execution.id


# -- Microsoft Teams ------------------------------------------------------------------------------


def test_teams_payload_and_execution_card(runner: Runner, store: Store) -> None:
    execution = _stored_execution(store, runner, State.RUNNING, [("load", State.FAILED)])
    with TeamsDouble() as teams:
        url = teams.url + teams.path
        card = '{"type": "message", "attachments": [{"contentType": "x", "content": {}}]}'
        sent = runner.run({"id": "t", "type": TEAMS, "url": url, "payload": card})
        refused = runner.run({"id": "t", "type": TEAMS, "url": url, "payload": "{}"})
        summary = runner.run(
            {"id": "t", "type": TEAMS_EXECUTION, "url": url, "activityTitle": "ETL"},
            execution_id=execution.id,
        )
    assert sent.state is State.SUCCESS
    assert teams.received[0].body["type"] == "message"
    assert refused.error == (
        f"Teams webhook {teams.url}/******** answered 400 Bad Request: Summary or Text is required."
    )
    assert summary.state is State.SUCCESS, summary.error
    body = teams.received[2].body
    assert (body["@type"], body["themeColor"]) == ("MessageCard", "0076D7")
    assert body["summary"] == "[company.team] flow ➛ FAILED: Failed on task `load` after 1m 5s"
    (section,) = body["sections"]
    assert section["activityTitle"] == "ETL"
    facts = {f["name"]: f["value"] for f in section["facts"]}
    assert (facts["Execution Status"], facts["Failed task"]) == ("FAILED", "load")


# -- Google Chat ----------------------------------------------------------------------------------


def test_google_chat_payload_and_execution_text(runner: Runner, store: Store) -> None:
    execution = _stored_execution(store, runner, State.KILLED, [("a", State.KILLED)], ended=True)
    with GoogleChatDouble() as chat:
        url = f"{chat.url}{chat.path}?key={GOOGLE_KEY}&token={GOOGLE_TOKEN}"
        sent = runner.run({"id": "g", "type": GOOGLE, "url": url, "payload": '{"text": "hi"}'})
        empty = runner.run({"id": "g", "type": GOOGLE, "url": url, "payload": '{"text": ""}'})
        summary = runner.run(
            {"id": "g", "type": GOOGLE_EXECUTION, "url": url, "customMessage": "look"},
            execution_id=execution.id,
        )
    assert sent.state is State.SUCCESS
    assert chat.received[0].body == {"text": "hi"}
    assert empty.error == (
        f"Google Chat webhook {chat.url}/******** answered 400 Bad Request: "
        "Message cannot be empty. Discarded message: ''"
    )
    assert GOOGLE_TOKEN not in _messages(runner, empty) and GOOGLE_KEY not in (empty.error or "")
    assert summary.state is State.SUCCESS, summary.error
    text = chat.received[2].body["text"]
    assert text.splitlines()[:3] == [
        "look", "*[company.team] flow ➛ KILLED*", "Failed on task `a` after 1m 2s",
    ]  # fmt: skip
    assert f"Execution ID: {execution.id}" in text.splitlines()


# -- Weir's generic webhook -----------------------------------------------------------------------


def test_webhook_execution_posts_the_documented_summary(
    runner: Runner, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEIR_PUBLIC_URL", "https://weir.example.com")
    execution = _stored_execution(
        store, runner, State.RUNNING, [("extract", State.SUCCESS), ("load", State.FAILED)]
    )
    with Receiver() as receiver:
        task = {
            "id": "w",
            "type": WEBHOOK_EXECUTION,
            "url": receiver.url + "/hooks/weir",
            "headers": {"Authorization": "Bearer hook-secret-42"},
            "customFields": {"env": "prod"},
        }
        result = runner.run(task, execution_id=execution.id)
        refused = runner.run({**task, "headers": {}}, execution_id=execution.id)
    assert result.state is State.SUCCESS, result.error
    body = receiver.received[0].body
    load = execution.task_runs[1]
    assert body == {
        "namespace": "company.team",
        "flowId": "flow",
        "executionId": execution.id,
        "state": "FAILED",
        "startDate": execution.started.isoformat(),
        "endDate": None,
        "duration": body["duration"],
        "durationSeconds": body["durationSeconds"],
        "failedTasks": [{"taskId": "load", "taskRunId": load.id, "value": None, "state": "FAILED"}],
        "error": None,
        "labels": {"team": "data"},
        "link": f"https://weir.example.com/api/v1/executions/{execution.id}",
        "customMessage": None,
        "customFields": {"env": "prod"},
    }
    assert body["duration"].startswith("PT1M") and body["durationSeconds"] >= 65
    assert refused.error == (
        f"HTTP webhook {receiver.url}/******** answered 401 Unauthorized: unauthorized"
    )


# -- whole flows on the engine --------------------------------------------------------------------


@pytest.fixture
def engine(
    store: Store, settings: WorkerSettings, engine_factory: EngineFactory
) -> Iterator[Engine]:
    with engine_factory.running(store, settings.temp_root, worker=settings) as found:
        yield found.engine


def _run_flow(store: Store, engine: Engine, flow_id: str, source: str) -> Execution:
    with store.unit() as repos:
        repos.flows.create_flow_revision("company.team", flow_id, source, None)
    execution = engine.create_execution("company.team", flow_id)
    return ended(engine, execution.id)


ERRORS_FLOW = """\
id: nightly
namespace: company.team
tasks:
  - id: extract
    type: io.kestra.plugin.core.log.Log
    message: extracting
  - id: load
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: the warehouse is down
errors:
  - id: alert
    type: io.kestra.plugin.notifications.slack.SlackExecution
    url: "{{ secret('SLACK_WEBHOOK') }}"
    customMessage: "on call for {{ flow.id }}"
"""

AFTER_FLOW = """\
id: report
namespace: company.team
tasks:
  - id: extract
    type: io.kestra.plugin.core.log.Log
    message: done
afterExecution:
  - id: notify
    type: io.kestra.plugin.slack.notifications.SlackExecution
    url: URL
"""


def test_an_errors_branch_reports_the_failure_to_slack(
    runner: Runner, store: Store, engine: Engine, slack: SlackDouble
) -> None:
    runner.put_secret("company.team", "SLACK_WEBHOOK", slack.webhook_url)
    final = _run_flow(store, engine, "nightly", ERRORS_FLOW)
    assert final.state is State.FAILED
    assert [(r.task_id, r.state) for r in final.task_runs] == [
        ("extract", State.SUCCESS), ("load", State.FAILED), ("alert", State.SUCCESS),
    ]  # fmt: skip
    (message,) = slack.messages
    fields = _fields(message)
    assert (fields["Execution Status"], fields["Failed task"]) == ("FAILED", "load")
    assert fields["Error"] == "the warehouse is down"
    assert fields["Execution ID"] == final.id
    assert message["attachments"][0]["color"] == "#a30200"
    assert message["blocks"][0]["text"]["text"] == "on call for nightly"
    with store.unit() as repos:
        logs = [entry.message for _, entry in repos.logs.list_logs(final.id)]
    assert any("accepted the message" in line for line in logs)
    assert not any(TOKEN in line for line in logs)


def test_after_execution_reports_a_success_to_slack(
    store: Store, engine: Engine, slack: SlackDouble
) -> None:
    final = _run_flow(store, engine, "report", AFTER_FLOW.replace("URL", slack.webhook_url))
    assert final.state is State.SUCCESS
    assert [(r.task_id, r.state) for r in final.task_runs] == [
        ("extract", State.SUCCESS), ("notify", State.SUCCESS),
    ]  # fmt: skip
    (message,) = slack.messages
    fields = _fields(message)
    assert fields["Execution Status"] == "SUCCESS"
    assert "Failed task" not in fields
    assert message["attachments"][0]["color"] == "#2eb886"
    assert message["text"].startswith("*[company.team] report ➛ SUCCESS*\n> Succeeded after ")
