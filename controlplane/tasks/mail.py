"""Sends an email over SMTP (``email.MailSend``): plain SMTP, SMTPS (implicit TLS, Kestra's
default) or SMTP with STARTTLS; HTML and plain-text bodies, attachments and embedded images
read from internal storage. Recipients are separated by ``;`` or ``,`` as in Kestra."""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.mail import Attachment, MailSend
from controlplane.tasks import props
from controlplane.tasks.storage import read_bytes

DEFAULT_TEXT = "Please view this email in a modern email client"
PORTS = {"SMTP": 25, "SMTPS": 465, "SMTP_TLS": 587}


@runs(MailSend)
def run_mail_send(task: MailSend, ctx: RunContext) -> dict[str, Any]:
    if task.transportStrategy == "SMTP_OAUTH2":
        raise TaskFailed(
            "transportStrategy SMTP_OAUTH2 is not supported by Weir: use SMTPS or SMTP_TLS"
        )
    message = _message(task, ctx)
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


def _message(task: MailSend, ctx: RunContext) -> EmailMessage:
    message = EmailMessage()
    message["From"] = props.text(ctx, task.from_)
    message["To"] = _addresses(props.text(ctx, task.to))
    cc = props.optional_text(ctx, task.cc)
    if cc:
        message["Cc"] = _addresses(cc)
    subject = props.optional_text(ctx, task.subject)
    if subject:
        message["Subject"] = subject
    message.set_content(props.optional_text(ctx, task.plainTextContent) or DEFAULT_TEXT)
    html = props.optional_text(ctx, task.htmlTextContent)
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
