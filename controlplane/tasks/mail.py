"""Sends an email over SMTP (``email.MailSend``): plain SMTP, SMTPS (implicit TLS, Kestra's
default) or SMTP with STARTTLS; HTML and plain-text bodies, attachments and embedded images
read from internal storage. Recipients are separated by ``;`` or ``,`` as in Kestra.

``email.MailExecution`` sends the same way a summary of an execution; SendGrid's types post the
message to SendGrid's v3 API (``SENDGRID_BASE_URL`` moves it, for a proxy or a test server)."""

from __future__ import annotations

import base64
import json
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from html import escape
from typing import Any

import requests

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.mail import (
    Attachment,
    MailExecution,
    MailSend,
    SendGridMailExecution,
    SendGridMailSend,
)
from controlplane.tasks import props
from controlplane.tasks.notifications.summary import Summary, summarize
from controlplane.tasks.storage import read_bytes

DEFAULT_TEXT = "Please view this email in a modern email client"
PORTS = {"SMTP": 25, "SMTPS": 465, "SMTP_TLS": 587}


@runs(MailSend)
def run_mail_send(task: MailSend, ctx: RunContext) -> dict[str, Any]:
    return _smtp(task, ctx, _Bodies.of(ctx, task.htmlTextContent, task.plainTextContent))


@runs(MailExecution)
def run_mail_execution(task: MailExecution, ctx: RunContext) -> dict[str, Any]:
    return _smtp(task, ctx, _Bodies.summary(summarize(task, ctx)))


class _Bodies:
    """An email's HTML and plain-text bodies, already rendered."""

    def __init__(self, html: str | None, text: str | None) -> None:
        self.html = html
        self.text = text

    @classmethod
    def of(cls, ctx: RunContext, html: str | None, text: str | None) -> _Bodies:
        return cls(props.optional_text(ctx, html), props.optional_text(ctx, text))

    @classmethod
    def summary(cls, summary: Summary) -> _Bodies:
        facts = summary.facts()
        rows = "".join(
            f"<tr><th align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts
        )
        title = escape(summary.title)
        if summary.link:
            title = f"<a href='{escape(summary.link)}'>{title}</a>"
        intro = f"<p>{escape(summary.custom_message)}</p>" if summary.custom_message else ""
        html = (
            f"<html><body>{intro}<h2>{title}</h2><p>{escape(summary.outcome)}</p>"
            f"<table>{rows}</table></body></html>"
        )
        lines = [summary.title, summary.outcome, *(f"{k}: {v}" for k, v in facts)]
        if summary.custom_message:
            lines.insert(0, summary.custom_message)
        if summary.link:
            lines.append(summary.link)
        return cls(html, "\n".join(lines))


def _smtp(task: MailSend, ctx: RunContext, bodies: _Bodies) -> dict[str, Any]:
    if task.transportStrategy == "SMTP_OAUTH2":
        raise TaskFailed(
            "transportStrategy SMTP_OAUTH2 is not supported by Weir: use SMTPS or SMTP_TLS"
        )
    message = _message(task, ctx, bodies)
    host = props.optional_text(ctx, task.host) or "localhost"
    port = (
        props.integer(ctx, task.port, "port")
        if task.port is not None
        else PORTS[task.transportStrategy]
    )
    timeout = props.integer(ctx, task.sessionTimeout, "sessionTimeout") / 1000
    context = ssl.create_default_context()
    if not props.boolean(ctx, task.verifyServerIdentity):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        _send(task, ctx, message, host, port, timeout, context)
    except (smtplib.SMTPException, OSError) as exc:
        raise TaskFailed(f"Could not send the email through {host}:{port}: {exc}") from None
    recipients = [addr for _, addr in getaddresses([message["To"] or "", message["Cc"] or ""])]
    ctx.info(f"Sent the email '{message['Subject'] or ''}' to {', '.join(recipients)}")
    return {}


def _send(
    task: MailSend,
    ctx: RunContext,
    message: EmailMessage,
    host: str,
    port: int,
    timeout: float,
    context: ssl.SSLContext,
) -> None:
    client: smtplib.SMTP
    if task.transportStrategy == "SMTPS":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if task.transportStrategy == "SMTP_TLS":
            client.starttls(context=context)
        username = props.optional_text(ctx, task.username)
        if username:
            client.login(username, props.optional_text(ctx, task.password) or "")
        client.send_message(message)


def _addresses(text: str) -> str:
    return ", ".join(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


def _message(task: MailSend, ctx: RunContext, bodies: _Bodies) -> EmailMessage:
    message = EmailMessage()
    message["From"] = props.text(ctx, task.from_)
    message["To"] = _addresses(props.text(ctx, task.to))
    cc = props.optional_text(ctx, task.cc)
    if cc:
        message["Cc"] = _addresses(cc)
    subject = props.optional_text(ctx, task.subject)
    if subject:
        message["Subject"] = subject
    message.set_content(bodies.text or DEFAULT_TEXT)
    html = bodies.html
    if html:
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[-1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        for image in _attachments(ctx, task.embeddedImages, "embeddedImages"):
            maintype, _, subtype = image.contentType.partition("/")
            html_part.add_related(
                read_bytes(ctx, props.text(ctx, image.uri)),
                maintype=maintype,
                subtype=subtype or "octet-stream",
                cid=f"<{props.text(ctx, image.name)}>",
                filename=props.text(ctx, image.name),
            )
    for item in _attachments(ctx, task.attachments, "attachments"):
        maintype, _, subtype = props.text(ctx, item.contentType).partition("/")
        message.add_attachment(
            read_bytes(ctx, props.text(ctx, item.uri)),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=props.text(ctx, item.name),
        )
    message["Message-ID"] = make_msgid()
    return message


def _attachments(ctx: RunContext, value: Any, name: str) -> list[Attachment]:
    if value is None:
        return []
    if isinstance(value, str):
        rendered = props.text(ctx, value).strip()
        if not rendered:
            return []
        try:
            value = json.loads(rendered)
        except ValueError:
            raise TaskFailed(f"'{name}' must be a list of {{name, uri, contentType}}") from None
        if isinstance(value, str):
            value = json.loads(value)
    items = value if isinstance(value, list) else [value]
    try:
        return [
            item if isinstance(item, Attachment) else Attachment.model_validate(item)
            for item in items
        ]
    except ValueError as exc:
        raise TaskFailed(f"'{name}' must be a list of {{name, uri, contentType}}: {exc}") from None


# -- SendGrid -----------------------------------------------------------------------------------

SENDGRID_URL = "https://api.sendgrid.com"


def _sendgrid_files(ctx: RunContext, items: list[Attachment] | None, inline: bool) -> list[Any]:
    files = []
    for item in items or []:
        name = props.text(ctx, item.name)
        entry = {
            "content": base64.b64encode(read_bytes(ctx, props.text(ctx, item.uri))).decode(),
            "filename": name,
            "type": props.text(ctx, item.contentType),
            "disposition": "inline" if inline else "attachment",
        }
        if inline:
            entry["content_id"] = name
        files.append(entry)
    return files


def _sendgrid(task: SendGridMailSend, ctx: RunContext, bodies: _Bodies) -> dict[str, Any]:
    personalization: dict[str, Any] = {"to": [{"email": props.text(ctx, t)} for t in task.to]}
    cc = props.string_list(ctx, task.cc, "cc")
    if cc:
        personalization["cc"] = [{"email": address} for address in cc]
    subject = props.optional_text(ctx, task.subject)
    if subject:
        personalization["subject"] = subject
    content = []
    if bodies.text is not None:
        content.append({"type": "text/plain", "value": bodies.text or DEFAULT_TEXT})
    if bodies.html:
        content.append({"type": "text/html", "value": bodies.html})
    body: dict[str, Any] = {
        "personalizations": [personalization],
        "from": {"email": props.text(ctx, task.from_)},
        "content": content,
    }
    files = _sendgrid_files(ctx, task.attachments, False)
    files += _sendgrid_files(ctx, task.embeddedImages, True)
    if files:
        body["attachments"] = files
    base = os.environ.get("SENDGRID_BASE_URL", SENDGRID_URL).rstrip("/")
    key = props.text(ctx, task.sendgridApiKey)
    try:
        response = requests.post(
            f"{base}/v3/mail/send",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=(30, 120),
        )
    except requests.RequestException as exc:
        raise TaskFailed(f"SendGrid could not be reached: {type(exc).__name__}") from None
    if response.status_code // 100 != 2:
        raise TaskFailed(
            f"SendGrid API failed with status code: {response.status_code} and body: "
            f"{response.text[:300]}"
        )
    ctx.info(f"SendGrid accepted the email to {len(task.to)} recipient(s)")
    return {
        "body": response.text,
        "headers": dict(response.headers),
        "statusCode": response.status_code,
    }


@runs(SendGridMailSend)
def run_sendgrid_mail_send(task: SendGridMailSend, ctx: RunContext) -> dict[str, Any]:
    return _sendgrid(task, ctx, _Bodies.of(ctx, task.htmlContent, task.textContent))


@runs(SendGridMailExecution)
def run_sendgrid_mail_execution(task: SendGridMailExecution, ctx: RunContext) -> dict[str, Any]:
    return _sendgrid(task, ctx, _Bodies.summary(summarize(task, ctx)))
