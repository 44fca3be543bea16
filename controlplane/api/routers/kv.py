"""KV pairs of a namespace: typed values with an optional time to live.

A value arrives as JSON; its type is given or inferred from it, and the answer shows it in JSON
form again (DATETIME and DATE as ISO 8601 text, DURATION as an ISO 8601 duration). An expired
pair is gone: it is neither read nor listed. Keys follow Kestra's rule, so a key a flow uses in
Kestra can be set here.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import AfterValidator, BaseModel, Field

from controlplane.api.auth import Caller
from controlplane.api.control import Intent, check_write, tag
from controlplane.api.deps import ApiModel, NamespacePath, StoreDep
from controlplane.api.errors import NotFound, Unprocessable
from controlplane.engine.model import now
from controlplane.engine.ports import KvEntry
from controlplane.spec.durations import format_duration, parse_duration
from controlplane.spec.kvtypes import KvType, inferred_type
from controlplane.spec.names import KV_KEY_MAX, KV_KEY_PATTERN
from controlplane.store import KvValueError

router = APIRouter(prefix="/namespaces/{namespace}/kv", tags=["kv"])

MAX_JSON_DEPTH = 64
MAX_TTL = timedelta(days=365_000)

KvKeyPath = Annotated[
    str,
    Path(
        pattern=KV_KEY_PATTERN,
        max_length=KV_KEY_MAX,
        description="Letters, digits, '.', '_' and '-', starting with a letter or digit.",
    ),
]

EXPECTED: dict[KvType, str] = {
    "STRING": "a string",
    "NUMBER": "a finite number",
    "BOOLEAN": "true or false",
    "DATETIME": "an ISO 8601 date and time with its offset, such as '2025-01-31T08:00:00Z'",
    "DATE": "an ISO 8601 date such as '2025-01-31'",
    "DURATION": "an ISO 8601 duration such as 'PT1H30M' or 'P2D'",
    "JSON": "any JSON value but null",
}
"""What a value of each type looks like in a request, for the messages that refuse one."""


def _storable(value: Any) -> Any:
    """Refuse what no type can hold: null, non-finite numbers, text the database cannot keep
    (NUL, lone surrogates) and deep nesting. Messages never repeat the value."""
    if value is None:
        raise ValueError("a KV value cannot be null; delete the pair instead")
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"the value nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        elif isinstance(item, dict):
            for key, inner in item.items():
                _check_text(key)
                pending.append((inner, depth + 1))
        elif isinstance(item, list):
            pending.extend((inner, depth + 1) for inner in item)
    return value


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("text in the value cannot hold NUL characters")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("text in the value must be Unicode (it holds a lone surrogate)") from None


def _ttl(text: str) -> str:
    try:
        lifetime = parse_duration(text)
    except (ValueError, OverflowError):
        raise ValueError(
            "ttl must be an ISO 8601 duration such as 'PT30M', 'PT12H' or 'P7D'"
        ) from None
    if not timedelta(0) < lifetime <= MAX_TTL:
        raise ValueError(f"ttl must be positive and at most {MAX_TTL.days} days")
    return text


class KvIn(ApiModel):
    value: Annotated[
        Any,
        Field(
            description="The value as JSON; DATETIME and DATE as ISO 8601 text, "
            "DURATION as an ISO 8601 duration.",
            json_schema_extra={"not": {"type": "null"}},
        ),
        AfterValidator(_storable),
    ]
    type: KvType | None = Field(
        None,
        description="Inferred from the value when absent: a string is a STRING, true or false "
        "a BOOLEAN, a number a NUMBER, an object or array JSON.",
    )
    ttl: Annotated[str, Field(max_length=100), AfterValidator(_ttl)] | None = Field(
        None,
        description="How long the pair lives, as an ISO 8601 duration ('PT1H', 'P30D'); "
        "forever when absent.",
    )


class KvMeta(BaseModel):
    namespace: str
    key: str
    type: KvType
    expires: datetime | None
    managed_by: str | None
    revision: int
    updated: datetime

    @classmethod
    def of(cls, entry: KvEntry) -> KvMeta:
        return cls(
            namespace=entry.namespace,
            key=entry.key,
            type=entry.type,
            expires=entry.expires,
            managed_by=entry.managed_by,
            revision=entry.revision,
            updated=entry.updated,
        )


class KvPair(KvMeta):
    value: Any = Field(description="The value in JSON form, as it is sent.")

    @classmethod
    def of(cls, entry: KvEntry) -> KvPair:
        return cls(**KvMeta.of(entry).model_dump(), value=_json_form(entry.value))


def _json_form(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    return value


@router.get("", summary="List a namespace's KV pairs, without values")
def list_kv(namespace: NamespacePath, caller: Caller, store: StoreDep) -> list[KvMeta]:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        entries = repos.kv.list_kv(namespace)
    return [KvMeta.of(e) for e in entries]


@router.get("/{key}", summary="Read a KV pair")
async def read_kv(
    namespace: NamespacePath, key: KvKeyPath, caller: Caller, store: StoreDep, response: Response
) -> KvPair:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        entry = repos.kv.read_kv(namespace, key)
    if entry is None:
        raise NotFound(f"KV pair {key} does not exist in namespace {namespace} (or has expired)")
    tag(response, entry.revision)
    return KvPair.of(entry)


@router.put(
    "/{key}",
    summary="Set a KV pair",
    responses={201: {"model": KvPair, "description": "Created"}},
)
def put_kv(
    namespace: NamespacePath,
    key: KvKeyPath,
    body: KvIn,
    caller: Caller,
    intent: Intent,
    store: StoreDep,
    response: Response,
) -> KvPair:
    caller.require("write", namespace)
    kind = body.type or inferred_type(body.value)
    expires = now() + parse_duration(body.ttl) if body.ttl is not None else None
    with store.unit() as repos:
        stored = repos.kv.read_kv(namespace, key)
        check_write("KV pair", f"{key} of namespace {namespace}", stored, intent)
        try:
            saved = repos.kv.update_kv(namespace, key, body.value, kind, expires, intent.manager)
        except KvValueError:
            raise Unprocessable(
                f"value: a {kind} must be {EXPECTED[kind]}",
                {"problems": [{"location": ["body", "value"], "message": EXPECTED[kind]}]},
            ) from None
    if stored is None:
        response.status_code = status.HTTP_201_CREATED
    tag(response, saved.revision)
    return KvPair.of(saved)


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a KV pair")
def delete_kv(
    namespace: NamespacePath, key: KvKeyPath, caller: Caller, intent: Intent, store: StoreDep
) -> None:
    caller.require("write", namespace)
    with store.unit() as repos:
        stored = repos.kv.read_kv(namespace, key)
        if stored is None:
            raise NotFound(f"KV pair {key} does not exist in namespace {namespace}")
        check_write("KV pair", f"{key} of namespace {namespace}", stored, intent)
        repos.kv.delete_kv(namespace, key)
