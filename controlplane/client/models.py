"""What a Weir server answers, as frozen dataclasses built from its JSON by ``from_json``.

The shapes are those of ``docs/api.md``. Times are parsed into timezone-aware ``datetime``; fields
a server may leave out are optional rather than required, so an older or newer server still
parses. :class:`Execution` keeps the engine's document whole in ``raw`` and exposes only what
callers commonly need.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Json = dict[str, Any]

TERMINAL_STATES = frozenset(
    {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED", "SKIPPED"}
)
"""The states an execution or task run ends in: no transition leaves them."""


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset) as a ``datetime``; ``None`` stays ``None``."""
    return datetime.fromisoformat(value) if value else None


def state_of(value: Any) -> str:
    """The current state, whether sent as ``"RUNNING"`` or Kestra's ``{"current": "RUNNING"}``."""
    if isinstance(value, dict):
        return str(value.get("current", ""))
    return str(value or "")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list endpoint: its ``results`` and the ``total`` over every page."""

    results: list[T]
    total: int

    @classmethod
    def from_json(cls, data: Json, item: Callable[[Json], T]) -> Page[T]:
        return cls(results=[item(entry) for entry in data["results"]], total=data["total"])


@dataclass(frozen=True)
class Namespace:
    name: str
    parent: str | None
    description: str | None
    variables: dict[str, Any]
    labels: dict[str, str]
    managed_by: str | None
    revision: int
    updated: datetime | None
    allowed_namespaces: tuple[str, ...] = ()
    """Other namespaces whose flows may reach this one's (an entry allows those below it)."""

    @classmethod
    def from_json(cls, data: Json) -> Namespace:
        return cls(
            name=data["name"],
            parent=data.get("parent"),
            description=data.get("description"),
            variables=data.get("variables") or {},
            labels=data.get("labels") or {},
            managed_by=data.get("managed_by"),
            revision=data["revision"],
            updated=parse_time(data.get("updated")),
            allowed_namespaces=tuple(data.get("allowed_namespaces") or ()),
        )


@dataclass(frozen=True)
class FlowSummary:
    namespace: str
    id: str
    revision: int
    description: str | None
    labels: dict[str, str]
    managed_by: str | None
    updated: datetime | None
    disabled: bool

    @classmethod
    def from_json(cls, data: Json) -> FlowSummary:
        return cls(**_summary_fields(data))


def _summary_fields(data: Json) -> dict[str, Any]:
    return {
        "namespace": data["namespace"],
        "id": data["id"],
        "revision": data["revision"],
        "description": data.get("description"),
        "labels": data.get("labels") or {},
        "managed_by": data.get("managed_by"),
        "updated": parse_time(data.get("updated")),
        "disabled": bool(data.get("disabled", False)),
    }


@dataclass(frozen=True)
class FlowInput:
    id: str
    type: str
    required: bool
    description: str | None

    @classmethod
    def from_json(cls, data: Json) -> FlowInput:
        return cls(
            id=data["id"],
            type=data["type"],
            required=bool(data.get("required", False)),
            description=data.get("description"),
        )


@dataclass(frozen=True)
class FlowOutput:
    id: str
    type: str

    @classmethod
    def from_json(cls, data: Json) -> FlowOutput:
        return cls(id=data["id"], type=data["type"])


@dataclass(frozen=True)
class Flow(FlowSummary):
    """A flow's revision with its YAML ``source`` exactly as written."""

    source: str
    inputs: list[FlowInput]
    outputs: list[FlowOutput]

    @classmethod
    def from_json(cls, data: Json) -> Flow:
        return cls(
            **_summary_fields(data),
            source=data["source"],
            inputs=[FlowInput.from_json(i) for i in data.get("inputs") or []],
            outputs=[FlowOutput.from_json(o) for o in data.get("outputs") or []],
        )


@dataclass(frozen=True)
class FlowRevision:
    revision: int
    managed_by: str | None
    updated: datetime | None
    deleted: bool

    @classmethod
    def from_json(cls, data: Json) -> FlowRevision:
        return cls(
            revision=data["revision"],
            managed_by=data.get("managed_by"),
            updated=parse_time(data.get("updated")),
            deleted=bool(data.get("deleted", False)),
        )


@dataclass(frozen=True)
class FlowCaller:
    """A flow that calls another (``GET /flows/callers``): its latest revision and source, and
    each reference it makes (``kind`` subflow, foreach or trigger, at a YAML ``path``)."""

    namespace: str
    id: str
    revision: int
    managed_by: str | None
    source: str
    references: list[Json]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.id}"

    @classmethod
    def from_json(cls, data: Json) -> FlowCaller:
        return cls(
            namespace=data["namespace"],
            id=data["id"],
            revision=data["revision"],
            managed_by=data.get("managed_by"),
            source=data["source"],
            references=list(data.get("references") or []),
        )


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or doubtful, for a warning) in a flow, at a line and column."""

    severity: str
    message: str
    line: int | None
    column: int | None
    path: str | None

    @classmethod
    def from_json(cls, data: Json) -> Problem:
        return cls(
            severity=data.get("severity", "error"),
            message=data["message"],
            line=data.get("line"),
            column=data.get("column"),
            path=data.get("path"),
        )

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}: " if self.line is not None else ""
        at = f" at {self.path}" if self.path else ""
        return f"{where}{self.severity}{at}: {self.message}"


@dataclass(frozen=True)
class Validation:
    """The verdict on one document of a validated YAML stream (``index`` from 0)."""

    index: int
    namespace: str | None
    id: str | None
    ok: bool
    problems: list[Problem]

    @classmethod
    def from_json(cls, data: Json) -> Validation:
        return cls(
            index=data["index"],
            namespace=data.get("namespace"),
            id=data.get("id"),
            ok=data["ok"],
            problems=[Problem.from_json(p) for p in data.get("problems") or []],
        )


@dataclass(frozen=True)
class ApplyResult:
    """The flow ids an apply of a namespace created, updated, left alone and deleted."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]
    deleted: list[str]

    @classmethod
    def from_json(cls, data: Json) -> ApplyResult:
        return cls(
            created=list(data.get("created") or []),
            updated=list(data.get("updated") or []),
            unchanged=list(data.get("unchanged") or []),
            deleted=list(data.get("deleted") or []),
        )

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


@dataclass(frozen=True)
class Execution:
    """An execution as the engine keeps it: the common fields, and the whole document in ``raw``."""

    id: str
    namespace: str
    flow_id: str
    state: str
    raw: Json

    @classmethod
    def from_json(cls, data: Json) -> Execution:
        return cls(
            id=data["id"],
            namespace=data["namespace"],
            flow_id=data["flowId"],
            state=state_of(data.get("state")),
            raw=data,
        )

    @property
    def inputs(self) -> dict[str, Any]:
        return self.raw.get("inputs") or {}

    @property
    def outputs(self) -> dict[str, Any]:
        return self.raw.get("outputs") or {}

    @property
    def labels(self) -> dict[str, str]:
        return self.raw.get("labels") or {}

    @property
    def task_runs(self) -> list[Json]:
        runs: list[Json] = self.raw.get("taskRunList") or []
        return runs

    @property
    def terminal(self) -> bool:
        """Whether it has ended and every task run has too: nothing about it changes any more."""
        return self.state in TERMINAL_STATES and all(
            state_of(run.get("state")) in TERMINAL_STATES for run in self.task_runs
        )


@dataclass(frozen=True)
class LogLine:
    seq: int
    at: datetime | None
    level: str
    task_id: str | None
    task_run_id: str | None
    attempt: int | None
    message: str

    @classmethod
    def from_json(cls, data: Json) -> LogLine:
        return cls(
            seq=data["seq"],
            at=parse_time(data.get("at")),
            level=data["level"],
            task_id=data.get("taskId"),
            task_run_id=data.get("taskRunId"),
            attempt=data.get("attempt"),
            message=data["message"],
        )


@dataclass(frozen=True)
class SecretMeta:
    """What may be known of a secret: never its value. ``fingerprint`` changes with the value."""

    namespace: str
    name: str
    fingerprint: str
    managed_by: str | None
    revision: int
    updated: datetime | None
    sealed_digest: str | None = None
    """``sha256:<hex>`` of the sealed text the value was last set from; None for a plain value."""

    @classmethod
    def from_json(cls, data: Json) -> SecretMeta:
        return cls(
            namespace=data["namespace"],
            name=data["name"],
            fingerprint=data["fingerprint"],
            managed_by=data.get("managed_by"),
            revision=data["revision"],
            updated=parse_time(data.get("updated")),
            sealed_digest=data.get("sealed_digest"),
        )


@dataclass(frozen=True)
class SealKey:
    """The public key a server opens sealed secrets with: ``public_key`` is its raw 32 bytes."""

    key_id: str
    algorithm: str
    public_key: bytes

    @classmethod
    def from_json(cls, data: Json) -> SealKey:
        return cls(
            key_id=data["key_id"],
            algorithm=data["algorithm"],
            public_key=base64.b64decode(data["public_key"], validate=True),
        )


@dataclass(frozen=True)
class KvMeta:
    namespace: str
    key: str
    type: str
    expires: datetime | None
    managed_by: str | None
    revision: int
    updated: datetime | None

    @classmethod
    def from_json(cls, data: Json) -> KvMeta:
        return cls(**_kv_fields(data))


def _kv_fields(data: Json) -> dict[str, Any]:
    return {
        "namespace": data["namespace"],
        "key": data["key"],
        "type": data["type"],
        "expires": parse_time(data.get("expires")),
        "managed_by": data.get("managed_by"),
        "revision": data["revision"],
        "updated": parse_time(data.get("updated")),
    }


@dataclass(frozen=True)
class KvPair(KvMeta):
    """A KV pair with its ``value`` as JSON: DATETIME, DATE and DURATION values are ISO text."""

    value: Any

    @classmethod
    def from_json(cls, data: Json) -> KvPair:
        return cls(**_kv_fields(data), value=data.get("value"))


@dataclass(frozen=True)
class FileMeta:
    namespace: str
    path: str
    size: int
    sha256: str
    managed_by: str | None
    revision: int
    updated: datetime | None

    @classmethod
    def from_json(cls, data: Json) -> FileMeta:
        return cls(
            namespace=data["namespace"],
            path=data["path"],
            size=data["size"],
            sha256=data["sha256"],
            managed_by=data.get("managed_by"),
            revision=data["revision"],
            updated=parse_time(data.get("updated")),
        )


@dataclass(frozen=True)
class NamespaceContents:
    """Everything one namespace holds; ``namespace`` is None when it was never declared."""

    name: str
    namespace: Namespace | None
    flows: list[Flow]
    secrets: list[SecretMeta]
    kv: list[KvPair]
    files: list[FileMeta]

    @classmethod
    def from_json(cls, data: Json) -> NamespaceContents:
        declared = data.get("namespace")
        return cls(
            name=data["name"],
            namespace=Namespace.from_json(declared) if declared is not None else None,
            flows=[Flow.from_json(f) for f in data.get("flows") or []],
            secrets=[SecretMeta.from_json(s) for s in data.get("secrets") or []],
            kv=[KvPair.from_json(k) for k in data.get("kv") or []],
            files=[FileMeta.from_json(f) for f in data.get("files") or []],
        )
