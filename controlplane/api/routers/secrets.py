"""Secrets of a namespace: values go in and never come out.

The store encrypts each value; the API answers only what may be said of a secret, its
``SecretMeta``, whose fingerprint changes when the value does. A value is never logged nor
repeated in an error: the checks below name what is wrong with it, never what it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import AfterValidator, BaseModel, Field

from controlplane.api.auth import Caller
from controlplane.api.control import Intent, check_write, tag
from controlplane.api.deps import ApiModel, NamespacePath, StoreDep
from controlplane.api.errors import NotFound
from controlplane.engine.ports import SecretMeta as SecretRecord
from controlplane.spec.names import SECRET_NAME_MAX, SECRET_NAME_PATTERN

router = APIRouter(prefix="/namespaces/{namespace}/secrets", tags=["secrets"])

MAX_VALUE_BYTES = 64 * 1024

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


class SecretIn(ApiModel):
    value: Annotated[
        str,
        Field(max_length=MAX_VALUE_BYTES, description="The secret; never returned."),
        AfterValidator(_within_limit),
    ]


class SecretMeta(BaseModel):
    """What may be said of a secret; ``fingerprint`` is a keyed hash of its value."""

    namespace: str
    name: str
    fingerprint: str
    managed_by: str | None
    revision: int
    updated: datetime

    @classmethod
    def of(cls, record: SecretRecord) -> SecretMeta:
        return cls(
            namespace=record.namespace,
            name=record.name,
            fingerprint=record.fingerprint,
            managed_by=record.managed_by,
            revision=record.revision,
            updated=record.updated,
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
        saved = repos.secrets.update_secret(namespace, name, body.value, intent.manager)
    if stored is None:
        response.status_code = status.HTTP_201_CREATED
    tag(response, saved.revision)
    return SecretMeta.of(saved)


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
