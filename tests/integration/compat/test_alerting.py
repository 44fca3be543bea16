"""LINE, Zulip, Zenduty, Telegram, Sentry, PagerDuty and Opsgenie against a local double of
each service's endpoint, on the shape of kestra-io/blueprints' alerting flows: a task fails, and
the ``errors`` branch tells the service about the execution."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles import Received, Reply, ServiceDouble
from tests.integration.compat.conftest import Flows

LINE_TOKEN = "line-channel-token-0123456789"
BOT_TOKEN = "123456789:AAFsecretBotTokenValue42"
SENTRY_KEY = "0123456789abcdef0123456789abcdef"
GENIE_KEY = "GenieKey 5e3a1c9f-8b7d-4c2e-a1f0-9d8c7b6a5e4f"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Services(ServiceDouble):
    """Answers as each service does: LINE ``{}``, Telegram ``{"ok": true, "result": ...}``,
    Sentry ``{"id": ...}``, PagerDuty ``202 {"status": "success"}``, Opsgenie ``202``,
    Zulip and Zenduty ``200``. A wrong credential is a 401."""

    def handle(self, request: Received) -> Reply:
        path, auth = request.path, request.headers.get("authorization")
        if path == "/v2/bot/message/broadcast":
            return (
                Reply(200, {})
                if auth == f"Bearer {LINE_TOKEN}"
                else Reply(401, {"message": "Authentication failed"})
            )
        if path.startswith("/bot"):
            if path != f"/bot{BOT_TOKEN}/sendMessage":
                return Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return Reply(
                200, {"ok": True, "result": {"message_id": 7, "text": request.body["text"]}}
            )
        if path == "/api/42/envelope/":
            if request.query.get("sentry_key") != [SENTRY_KEY]:
                return Reply(401, {"detail": "missing authorization information"})
            return Reply(200, {"id": "x"})
        if path == "/v2/enqueue":
            return Reply(202, {"status": "success", "dedup_key": "k"})
        if path == "/v1/Services/IS0123/Notifications":
            if auth != _basic("AC0123", "twilio-auth-token-42"):
                return Reply(401, {"code": 20003, "message": "Authenticate"})
            return Reply(201, {"sid": "NT0001"})
        if path == "/hooks/catch/123/abc/":
            return Reply(200, {"status": "success"}, headers={"X-Request-Id": "req-77"})
        if path == "/v2/alerts":
            return (
                Reply(202, {"result": "Request will be processed"})
                if auth == GENIE_KEY
                else Reply(422, {"message": "Key format is not valid!"})
            )
        return Reply(200, {})

    def bodies(self, path: str) -> list[object]:
        return [r.body for r in self.received if r.path == path]


@pytest.fixture
def services(flows: Flows) -> Iterator[Services]:
    with Services() as double:
        with flows.store.unit() as repos:
            repos.secrets.update_secret("company.team", "LINE_TOKEN", LINE_TOKEN)
            repos.secrets.update_secret("company.team", "TELEGRAM_TOKEN", BOT_TOKEN)
            repos.secrets.update_secret(
                "company.team", "SENTRY_DSN", f"{double.url.replace('//', f'//{SENTRY_KEY}@')}/42"
            )
        yield double


def _failing(errors: str) -> str:
    return f"""
id: nightly
namespace: company.team
tasks:
  - id: load
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: warehouse unreachable
errors:
{errors}
"""


def test_the_execution_types_describe_the_failed_execution(
    flows: Flows, services: Services
) -> None:
    url = services.url
    final = flows.run(
        _failing(f"""
  - id: line
    type: io.kestra.plugin.line.LineExecution
    url: {url}/v2/bot/message/broadcast
    channelAccessToken: "{{{{ secret('LINE_TOKEN') }}}}"
    customMessage: "On-call, please investigate."
    customFields:
      Team: On-Call
  - id: zulip
    type: io.kestra.plugin.zulip.ZulipExecution
    url: {url}/api/v1/external/slack_incoming?api_key=abcdef0123456789&stream=alerts
    username: Kestra Alerts
    iconEmoji: ":warning:"
  - id: zenduty
    type: io.kestra.plugin.zenduty.ZendutyExecution
    url: {url}/api/events/integration-key-0123456789/
    message: "nightly changed status"
  - id: telegram
    type: io.kestra.plugin.telegram.TelegramExecution
    endpointOverride: {url}
    token: "{{{{ secret('TELEGRAM_TOKEN') }}}}"
    channel: "2072728690"
    payload: "Kestra Workflow Failure: {{{{ execution.id }}}}"
  - id: sentry
    type: io.kestra.plugin.sentry.SentryExecution
    dsn: "{{{{ secret('SENTRY_DSN') }}}}"
    transaction: /execution/id/{{{{ execution.id }}}}
    level: ERROR
  - id: pagerduty
    type: io.kestra.plugin.pagerduty.PagerDutyExecution
    url: {url}/v2/enqueue
    payloadSummary: "nightly failed"
    routingKey: routingkey-0123456789
    eventAction: trigger
  - id: opsgenie
    type: io.kestra.plugin.opsgenie.OpsgenieExecution
    url: {url}/v2/alerts
    authorizationToken: "{GENIE_KEY}"
    message: "nightly failed"
    alias: ExecutionError
    responders:
      4513b7ea-3b91-438f-b7e4-e3e54af9147c: team
    tags: [ETL]
""")
    )
    assert final.state is State.FAILED
    assert {r.task_id: r.state for r in final.task_runs if r.task_id != "load"} == dict.fromkeys(
        ["line", "zulip", "zenduty", "telegram", "sentry", "pagerduty", "opsgenie"], State.SUCCESS
    ), flows.logs(final, "ERROR")

    (line,) = services.bodies("/v2/bot/message/broadcast")
    text = line["messages"][0]["text"]  # type: ignore[index]
    assert text.startswith("On-call, please investigate.")
    assert "Failed on task `load`" in text and "Team: On-Call" in text

    (zulip,) = services.bodies("/api/v1/external/slack_incoming")
    assert zulip["username"] == "Kestra Alerts" and zulip["icon_emoji"] == ":warning:"  # type: ignore[index]
    assert "Failed on task `load`" in zulip["text"]  # type: ignore[index]

    (zenduty,) = services.bodies("/api/events/integration-key-0123456789/")
    assert zenduty["alert_type"] == "error" and zenduty["entity_id"] == final.id  # type: ignore[index]
    assert zenduty["payload"]["Execution Status"] == "FAILED"  # type: ignore[index]

    (telegram,) = services.bodies(f"/bot{BOT_TOKEN}/sendMessage")
    assert telegram["chat_id"] == "2072728690"  # type: ignore[index]
    assert telegram["text"].startswith(f"Kestra Workflow Failure: {final.id}")  # type: ignore[index]

    (envelope,) = services.bodies("/api/42/envelope/")
    header, item, event = (json.loads(part) for part in str(envelope).strip().split("\n"))
    assert header["event_id"] == event["event_id"] and item["type"] == "event"
    assert event["level"] == "error" and event["transaction"] == f"/execution/id/{final.id}"
    assert event["exception"]["values"][0]["value"].startswith("Failed on task `load`")

    (pagerduty,) = services.bodies("/v2/enqueue")
    assert pagerduty["routing_key"] == "routingkey-0123456789"  # type: ignore[index]
    assert pagerduty["payload"]["severity"] == "error"  # type: ignore[index]
    assert pagerduty["payload"]["summary"] == "nightly failed"  # type: ignore[index]

    (opsgenie,) = services.bodies("/v2/alerts")
    assert opsgenie["responders"] == [  # type: ignore[index]
        {"id": "4513b7ea-3b91-438f-b7e4-e3e54af9147c", "type": "team"}
    ]
    assert opsgenie["alias"] == "ExecutionError" and opsgenie["tags"] == ["ETL"]  # type: ignore[index]

    logs = "\n".join(flows.logs(final))
    for secret in (LINE_TOKEN, BOT_TOKEN, SENTRY_KEY, "integration-key-0123456789"):
        assert secret not in logs


def test_the_payload_types_send_what_the_flow_writes(flows: Flows, services: Services) -> None:
    url = services.url
    final = flows.run(f"""
id: digest
namespace: company.team
tasks:
  - id: zulip
    type: io.kestra.plugin.zulip.ZulipIncomingWebhook
    url: {url}/api/v1/external/slack_incoming
    payload: |
      {{"text": {{{{ ('**Daily digest** for ' ~ flow.id) | toJson }}}}}}
  - id: zenduty
    type: io.kestra.plugin.zenduty.ZendutyAlert
    url: {url}/api/events/key/
    payload: '{{"alert_type": "info", "message": "This is info alert"}}'
  - id: telegram
    type: io.kestra.plugin.telegram.TelegramSend
    endpointOverride: {url}
    token: "{{{{ secret('TELEGRAM_TOKEN') }}}}"
    channel: "@team"
    payload: Data has been synced to your platform
  - id: pagerduty
    type: io.kestra.plugin.pagerduty.PagerDutyAlert
    url: {url}/v2/enqueue
    payload: '{{"routing_key": "r", "event_action": "trigger", "payload": {{"summary": "s"}}}}'
  - id: sentry
    type: io.kestra.plugin.sentry.SentryAlert
    dsn: "{{{{ secret('SENTRY_DSN') }}}}"
    payload: '{{"level": "error", "platform": "java", "extra": {{"Flow ID": "{{{{ flow.id }}}}"}}}}'
""")
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert services.bodies("/api/v1/external/slack_incoming") == [
        {"text": "**Daily digest** for digest"}
    ]
    assert services.bodies("/api/events/key/") == [
        {"alert_type": "info", "message": "This is info alert"}
    ]
    (telegram,) = services.bodies(f"/bot{BOT_TOKEN}/sendMessage")
    assert telegram == {"chat_id": "@team", "text": "Data has been synced to your platform"}
    assert services.bodies("/v2/enqueue")[0]["payload"] == {"summary": "s"}  # type: ignore[index]
    (envelope,) = services.bodies("/api/42/envelope/")
    event = json.loads(str(envelope).strip().split("\n")[2])
    assert event["extra"] == {"Flow ID": "digest"}


def test_a_refused_credential_fails_the_task_without_showing_it(
    flows: Flows, services: Services
) -> None:
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "TELEGRAM_TOKEN", "999:WrongBotTokenValue")
    final = flows.run(f"""
id: notify
namespace: company.team
tasks:
  - id: telegram
    type: io.kestra.plugin.telegram.TelegramSend
    endpointOverride: {services.url}
    token: "{{{{ secret('TELEGRAM_TOKEN') }}}}"
    channel: "@team"
    payload: hello
""")
    assert final.state is State.FAILED
    errors = "\n".join(flows.logs(final, "ERROR"))
    assert "answered 401" in errors and "Unauthorized" in errors
    assert "WrongBotTokenValue" not in "\n".join(flows.logs(final))


def test_twilio_and_zapier(flows: Flows, services: Services) -> None:
    url = services.url
    final = flows.run(
        _failing(f"""
  - id: twilio
    type: io.kestra.plugin.twilio.notify.TwilioExecution
    url: {url}/v1/Services/IS0123/Notifications
    identity: "0000001"
    accountSID: AC0123
    authToken: twilio-auth-token-42
    body: "Kestra Workflow Failure: {{{{ execution.id }}}}"
  - id: zap
    type: io.kestra.plugin.zapier.TriggerZap
    url: {url}/hooks/catch/123/abc/
    content:
      event: failure
      execution: "{{{{ execution.id }}}}"
""")
    )
    assert final.state is State.FAILED
    outputs = {r.task_id: (r.state, r.outputs) for r in final.task_runs}
    assert outputs["twilio"][0] is State.SUCCESS, flows.logs(final, "ERROR")
    (notify,) = services.bodies("/v1/Services/IS0123/Notifications")
    form = urllib.parse.parse_qs(str(notify))
    assert form == {"Body": [f"Kestra Workflow Failure: {final.id}"], "Identity": ["0000001"]}
    assert services.bodies("/hooks/catch/123/abc/") == [{"event": "failure", "execution": final.id}]
    assert outputs["zap"] == (
        State.SUCCESS,
        {"status": 200, "body": '{"status": "success"}', "attemptId": "req-77"},
    )
    assert "twilio-auth-token-42" not in "\n".join(flows.logs(final))


def test_whatsapp_execution(flows: Flows, services: Services) -> None:
    final = flows.run(
        _failing(f"""
  - id: send_notification
    type: io.kestra.plugin.meta.whatsapp.WhatsAppExecution
    url: {services.url}/whatsapp/hook
    profileName: MyProfile
    from: "1234567890"
    whatsAppIds: [wa1, wa2]
    payload: "ignored: the execution message replaces it"
""")
    )
    assert final.state is State.FAILED
    (sent,) = services.bodies("/whatsapp/hook")
    assert sent["contacts"] == [  # type: ignore[index]
        {"profile": {"name": "MyProfile"}, "wa_id": "wa1"},
        {"profile": {"name": "MyProfile"}, "wa_id": "wa2"},
    ]
    (message,) = sent["messages"]  # type: ignore[index]
    assert message["from"] == "1234567890" and message["type"] == "text"
    assert "Failed on task `load`" in message["text"]["body"]
