"""Secrets of a namespace: values go in and never come out.

The store encrypts each value; the API answers only what may be said of a secret, its
``SecretMeta``, whose fingerprint changes when the value does. A value is never logged nor
repeated in an error: the checks below name what is wrong with it, never what it is.

A value may also arrive sealed (``weir secret seal``, :mod:`controlplane.spec.sealing`) to the
server's public key, which ``GET /secrets/seal-key`` gives: the server opens it for the namespace
and name of the URL, and records the digest of the sealed text as ``sealed_digest``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import AfterValidator, BaseModel, Field, model_validator

from controlplane.api.auth import Caller
from controlplane.api.control import Intent, check_write, tag
from controlplane.api.deps import ApiModel, NamespacePath, StoreDep
from controlplane.api.errors import NotFound, Unprocessable
from controlplane.engine.ports import SecretMeta as SecretRecord
from controlplane.spec.names import SECRET_NAME_MAX, SECRET_NAME_PATTERN
from controlplane.spec.sealing import (
    ALGORITHM,
    SealError,
    key_id,
    sealed_chars,
    sealed_value_bytes,
)
from controlplane.store.serverports import ServerRepositories

router = APIRouter(prefix="/namespaces/{namespace}/secrets", tags=["secrets"])
seal_router = APIRouter(prefix="/secrets", tags=["secrets"])

MAX_VALUE_BYTES = 64 * 1024
MAX_SEALED_CHARS = sealed_chars(MAX_VALUE_BYTES)

SecretNamePath = Annotated[
    str,
    Path(
        pattern=SECRET_NAME_PATTERN,
        max_length=SECRET_NAME_MAX,
        description="Letters, digits, '_', '.' and '-', not starting with '.' or '-'.",
    ),
]


def _within_limit(value: str) -> str:
    """The limit is in bytes, which the schema's ``maxLength`` (in characters) cannot say."""
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise ValueError(f"the value must be at most {MAX_VALUE_BYTES} bytes as UTF-8")
    return value


def _sealed_within_limit(blob: str) -> str:
    try:
        size = sealed_value_bytes(blob)
    except SealError as exc:
        raise ValueError(str(exc)) from None
    if size > MAX_VALUE_BYTES:
        raise ValueError(f"the sealed value must be at most {MAX_VALUE_BYTES} bytes as UTF-8")
    return blob


class SecretIn(ApiModel):
    """Exactly one of ``value`` and ``sealed``."""

    value: (
        Annotated[
            str,
            Field(max_length=MAX_VALUE_BYTES, description="The secret; never returned."),
            AfterValidator(_within_limit),
        ]
        | None
    ) = None
    sealed: (
        Annotated[
            str,
            Field(
                max_length=MAX_SEALED_CHARS,
                description="The secret sealed to this server's key for this namespace and "
                "name (weir secret seal); the server opens it.",
            ),
            AfterValidator(_sealed_within_limit),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _one_of_value_and_sealed(self) -> SecretIn:
        if (self.value is None) == (self.sealed is None):
            raise ValueError(
                "send exactly one of 'value' (the secret) and 'sealed' (the secret sealed "
                "with weir secret seal)"
            )
        return self


class SecretMeta(BaseModel):
    """What may be said of a secret; ``fingerprint`` is a keyed hash of its value."""

    namespace: str
    name: str
    fingerprint: str
    managed_by: str | None
    revision: int
    updated: datetime
    sealed_digest: str | None = Field(
        default=None,
        description="sha256:<hex> of the sealed text the value was last set from; null when "
        "it was set as a plain value.",
    )

    @classmethod
    def of(cls, record: SecretRecord) -> SecretMeta:
        return cls(
            namespace=record.namespace,
            name=record.name,
            fingerprint=record.fingerprint,
            managed_by=record.managed_by,
            revision=record.revision,
            updated=record.updated,
            sealed_digest=record.sealed_digest,
        )


class SealKey(BaseModel):
    """The public key that secrets are sealed to for this server."""

    key_id: str = Field(description="x25519: and the first 16 hex digits of its SHA-256.")
    algorithm: Literal["X25519-HKDF-SHA256-AES256GCM"]
    public_key: str = Field(description="The raw 32-byte X25519 public key, base64.")


@seal_router.get("/seal-key", summary="The public key that secrets are sealed to")
def read_seal_key(caller: Caller, store: StoreDep) -> SealKey:
    caller.require("read")
    with store.unit(read_only=True) as repos:
        public = repos.sealed.read_seal_public_key()
    return SealKey(
        key_id=key_id(public),
        algorithm=ALGORITHM,
        public_key=base64.b64encode(public).decode("ascii"),
    )


@router.get("", summary="List a namespace's secrets")
def list_secrets(namespace: NamespacePath, caller: Caller, store: StoreDep) -> list[SecretMeta]:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        records = repos.secrets.list_secrets(namespace)
    return [SecretMeta.of(r) for r in records]


@router.get("/{name}", summary="Read what may be said of a secret")
async def read_secret(
    namespace: NamespacePath,
    name: SecretNamePath,
    caller: Caller,
    store: StoreDep,
    response: Response,
) -> SecretMeta:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        record = repos.secrets.read_secret_meta(namespace, name)
    if record is None:
        raise NotFound(f"secret {name} does not exist in namespace {namespace}")
    tag(response, record.revision)
    return SecretMeta.of(record)


@router.put(
    "/{name}",
    summary="Set a secret",
    responses={201: {"model": SecretMeta, "description": "Created"}},
)
def put_secret(
    namespace: NamespacePath,
    name: SecretNamePath,
    body: SecretIn,
    caller: Caller,
    intent: Intent,
    store: StoreDep,
    response: Response,
) -> SecretMeta:
    caller.require("write", namespace)
    with store.unit() as repos:
        stored = repos.secrets.read_secret_meta(namespace, name)
        check_write("secret", f"{name} of namespace {namespace}", stored, intent)
        saved = _write(repos, namespace, name, body, intent.manager)
    if stored is None:
        response.status_code = status.HTTP_201_CREATED
    tag(response, saved.revision)
    return SecretMeta.of(saved)


def _write(
    repos: ServerRepositories, namespace: str, name: str, body: SecretIn, manager: str | None
) -> SecretRecord:
    if body.value is not None:
        return repos.secrets.update_secret(namespace, name, body.value, manager)
    assert body.sealed is not None  # SecretIn holds exactly one of the two
    try:
        return repos.sealed.update_sealed_secret(namespace, name, body.sealed, manager)
    except SealError as exc:
        raise Unprocessable(str(exc), {"field": "sealed"}) from None


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a secret")
def delete_secret(
    namespace: NamespacePath, name: SecretNamePath, caller: Caller, intent: Intent, store: StoreDep
) -> None:
    caller.require("write", namespace)
    with store.unit() as repos:
        stored = repos.secrets.read_secret_meta(namespace, name)
        if stored is None:
            raise NotFound(f"secret {name} does not exist in namespace {namespace}")
        check_write("secret", f"{name} of namespace {namespace}", stored, intent)
        repos.secrets.delete_secret(namespace, name)
