"""email.MailSend against a local SMTP server (aiosmtpd): the HTML alert that 19 of
kestra-io/blueprints' flows send, with an attachment from internal storage and an embedded image;
email.MailExecution's summary of a failed execution; SendGrid's API against a local double."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from controlplane.engine.model import State
from tests.doubles import Received, Reply, ServiceDouble
from tests.integration.compat.conftest import Flows


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd connects to its own port to see it is up
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


# The shape of the blueprints' failure alerts (e.g. kestra-io/blueprints flows that end with an
# email.MailSend of the report they built), on a plain SMTP server.
REPORT = """
id: report-by-email
namespace: company.team
tasks:
  - id: report
    type: io.kestra.plugin.core.storage.Write
    content: "region,total\\nnorth,12\\n"
    extension: .csv
  - id: logo
    type: io.kestra.plugin.core.storage.Write
    content: "not really a png"
    extension: .png
  - id: send_email
    type: io.kestra.plugin.email.MailSend
    from: hello@kestra.io
    to: "ops@example.com; data@example.com"
    cc: boss@example.com
    host: 127.0.0.1
    port: {port}
    transportStrategy: SMTP
    subject: "Report of {{{{ flow.id }}}}"
    htmlTextContent: "<p>Report of execution {{{{ execution.id }}}}</p><img src='cid:logo.png'>"
    attachments:
      - name: report.csv
        uri: "{{{{ outputs.report.uri }}}}"
        contentType: text/csv
    embeddedImages:
      - name: logo.png
        uri: "{{{{ outputs.logo.uri }}}}"
        contentType: image/png
"""


def test_mail_send_delivers_html_with_attachment_and_embedded_image(
    flows: Flows, smtp: tuple[int, _Inbox]
) -> None:
    port, inbox = smtp
    final = flows.run(REPORT.format(port=port))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    ((sender, recipients, message),) = inbox.messages
    assert sender == "hello@kestra.io"
    assert sorted(recipients) == ["boss@example.com", "data@example.com", "ops@example.com"]
    assert message["Subject"] == "Report of report-by-email"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and final.id in html.get_content()
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert text.get_content().strip() == "Please view this email in a modern email client"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report.csv"
    assert attachment.get_content() == "region,total\nnorth,12\n"
    images = [p for p in message.walk() if p.get("Content-ID") == "<logo.png>"]
    assert [p.get_content_type() for p in images] == ["image/png"]


def test_an_unreachable_server_fails_the_task_naming_it(flows: Flows) -> None:
    final = flows.run(REPORT.format(port=1))
    assert final.state is State.FAILED
    assert any("Could not send the email through 127.0.0.1:1" in m for m in flows.logs(final))


def test_mail_execution_sends_the_summary_of_the_failed_execution(
    flows: Flows, smtp: tuple[int, _Inbox]
) -> None:
    port, inbox = smtp
    final = flows.run(
        f"""
id: failure-alert-email
namespace: company.team
tasks:
  - id: load
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: warehouse unreachable
errors:
  - id: send_email
    type: io.kestra.plugin.email.MailExecution
    to: john.doe@kestra.io
    from: hello@kestra.io
    subject: "The workflow execution {{{{ execution.id }}}} failed"
    host: 127.0.0.1
    port: {port}
    transportStrategy: SMTP
    customMessage: Please look at the warehouse.
"""
    )
    assert final.state is State.FAILED
    (mail,) = [r for r in final.task_runs if r.task_id == "send_email"]
    assert mail.state is State.SUCCESS, flows.logs(final, "ERROR")
    ((sender, recipients, message),) = inbox.messages
    assert (sender, recipients) == ("hello@kestra.io", ["john.doe@kestra.io"])
    assert message["Subject"] == f"The workflow execution {final.id} failed"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Please look at the warehouse." in text.get_content()
    assert "Failed on task `load`" in text.get_content()
    assert "<th align='left'>Execution ID</th>" in html.get_content()


class SendGridDouble(ServiceDouble):
    """``POST /v3/mail/send``: 202 with an empty body for a bearer key, else 401."""

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != "Bearer SG.test-key-0123":
            return Reply(
                401, {"errors": [{"message": "The provided authorization grant is invalid"}]}
            )
        return Reply(202, b"", headers={"X-Message-Id": "msg-1"})


def test_sendgrid_posts_the_message_and_its_attachment(
    flows: Flows, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SendGridDouble() as sendgrid:
        monkeypatch.setenv("SENDGRID_BASE_URL", sendgrid.url)
        final = flows.run(
            """
id: sendgrid-report
namespace: company.team
tasks:
  - id: report
    type: io.kestra.plugin.core.storage.Write
    content: "region,total\\nnorth,12\\n"
    extension: .csv
  - id: send
    type: io.kestra.plugin.notifications.sendgrid.SendGridMailSend
    sendgridApiKey: SG.test-key-0123
    from: hello@kestra.io
    to: [ops@example.com]
    cc: [boss@example.com]
    subject: Weekly report
    htmlContent: "<p>See the attachment</p>"
    attachments:
      - name: report.csv
        uri: "{{ outputs.report.uri }}"
        contentType: text/csv
"""
        )
        assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
        (sent,) = sendgrid.requests_to("POST", "/v3/mail/send")
    body = sent.body
    assert body["personalizations"] == [
        {"to": [{"email": "ops@example.com"}], "cc": [{"email": "boss@example.com"}],
         "subject": "Weekly report"}
    ]  # fmt: skip
    assert body["content"] == [{"type": "text/html", "value": "<p>See the attachment</p>"}]
    (attachment,) = body["attachments"]
    assert base64.b64decode(attachment["content"]) == b"region,total\nnorth,12\n"
    assert attachment["disposition"] == "attachment"
    (run,) = [r for r in final.task_runs if r.task_id == "send"]
    assert run.outputs["statusCode"] == 202
    assert run.outputs["headers"]["X-Message-Id"] == "msg-1"
