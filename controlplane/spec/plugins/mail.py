"""Email: SMTP (``io.kestra.plugin.email.MailSend`` and ``MailExecution``, formerly
``notifications.mail.*``) and SendGrid's API (``twilio.sendgrid.*``, formerly
``notifications.sendgrid.*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynStrList, Spec, Text
from controlplane.spec.plugins.notifications import _ExecutionFields, _Template
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


class Attachment(Spec):
    name: Text
    uri: Text
    contentType: Text = "application/octet-stream"


@task("io.kestra.plugin.email.MailSend", "io.kestra.plugin.notifications.mail.MailSend")
class MailSend(TaskSpec):
    host: Text | None = None
    port: DynInt | None = None
    username: Text | None = None
    password: Text | None = None
    transportStrategy: Literal["SMTP", "SMTPS", "SMTP_TLS", "SMTP_OAUTH2"] = "SMTPS"
    sessionTimeout: DynInt = 10000
    verifyServerIdentity: DynBool = True
    trustedHosts: DynStrList | None = None
    from_: Text = Field(alias="from")
    to: Text
    cc: Text | None = None
    subject: Text | None = None
    htmlTextContent: Text | None = None
    plainTextContent: Text | None = None
    attachments: list[Attachment] | Text | None = None
    embeddedImages: list[Attachment] | Text | None = None
    """Each as ``{name, uri, contentType}``, or a JSON text of that list (``inputs | toJson``)."""


@task("io.kestra.plugin.email.MailExecution", "io.kestra.plugin.notifications.mail.MailExecution")
class MailExecution(MailSend, _Template, _ExecutionFields):
    """An email about an execution (by default the current one): its facts as an HTML table
    and as plain text, with ``customMessage`` and ``customFields``."""


@task(
    "io.kestra.plugin.twilio.sendgrid.SendGridMailSend",
    "io.kestra.plugin.notifications.sendgrid.SendGridMailSend",
)
class SendGridMailSend(TaskSpec):
    """An email through SendGrid's v3 ``mail/send`` API. Outputs ``body``, ``headers`` and
    ``statusCode`` of SendGrid's answer."""

    sendgridApiKey: Text = Field(min_length=1)
    from_: Text = Field(alias="from", min_length=1)
    to: list[Text] = Field(min_length=1)
    cc: DynStrList | None = None
    subject: Text | None = None
    htmlContent: Text | None = None
    textContent: Text | None = None
    attachments: list[Attachment] | None = None
    embeddedImages: list[Attachment] | None = None


@task(
    "io.kestra.plugin.twilio.sendgrid.SendGridMailExecution",
    "io.kestra.plugin.notifications.sendgrid.SendGridMailExecution",
)
class SendGridMailExecution(SendGridMailSend, _Template, _ExecutionFields):
    """A SendGrid email about an execution, its facts as HTML and plain text."""
