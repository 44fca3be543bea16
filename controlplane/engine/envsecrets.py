"""Secrets from the environment, the way Kestra's open edition takes them.

Kestra's open-source edition reads a secret ``NAME`` from the environment variable
``SECRET_NAME``, base64-encoded (``SECRET_POSTGRES_URL=$(printf %s "$URL" | base64 -w0)``).
Weir reads a stored secret first (the namespace, then its parents) and this one last, so a flow
written for Kestra runs with the environment it was given there.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from controlplane.errors import WeirError

PREFIX = "SECRET_"


class EnvSecretInvalid(WeirError):
    """A ``SECRET_*`` variable is not base64 text; the message names the variable only."""

    code = "secret_env_invalid"


def env_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The decoded value of ``SECRET_<name>``, or None when the variable is not set."""
    variable = PREFIX + name
    raw = (os.environ if environ is None else environ).get(variable)
    if raw is None:
        return None
    try:
        return base64.b64decode(raw.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise EnvSecretInvalid(
            f"the environment variable {variable} is not base64-encoded UTF-8 text: encode "
            f'the value, e.g. {variable}=$(printf %s "$VALUE" | base64 -w0)'
        ) from None
