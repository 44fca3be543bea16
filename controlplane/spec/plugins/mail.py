"""Email (``io.kestra.plugin.email.MailSend``, formerly ``notifications.mail.MailSend``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynStrList, Spec, Text
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
