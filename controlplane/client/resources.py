"""The calls on what a namespace holds: the namespaces themselves, flows, secrets, KV pairs and
namespace files. Each group is reached from :class:`~controlplane.client.WeirClient`
(``client.flows.get(...)``).

Every write takes ``if_match`` (the revision the caller last saw; 0 for "only if it does not
exist") and ``force`` (take over an object another manager manages): see docs/api.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from controlplane.client.models import (
    ApplyResult,
    FileMeta,
    Flow,
    FlowCaller,
    FlowRevision,
    FlowSummary,
    KvMeta,
    KvPair,
    Namespace,
    NamespaceContents,
    Page,
    SealKey,
    SecretMeta,
    Validation,
)
from controlplane.client.transport import Transport, endpoint
from controlplane.spec.durations import format_duration

YAML = "application/x-yaml"


class Namespaces:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, prefix: str | None = None, page: int = 1, size: int = 100) -> Page[Namespace]:
        """The namespaces named ``prefix`` or below it (all when ``prefix`` is None)."""
        params = {"prefix": prefix, "page": page, "size": size}
        answer = self._t.request("GET", "/namespaces", params=params).json()
        return Page.from_json(answer, Namespace.from_json)

    def get(self, namespace: str) -> Namespace:
        return Namespace.from_json(self._t.request("GET", endpoint("namespaces", namespace)).json())

    def put(
        self,
        namespace: str,
        *,
        description: str | None = None,
        variables: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        if_match: int | None = None,
        force: bool = False,
        allowed_namespaces: Sequence[str] = (),
    ) -> Namespace:
        """Create the namespace, or replace its description, variables, labels and the other
        namespaces whose flows may reach it."""
        body = {
            "description": description,
            "variables": dict(variables or {}),
            "labels": dict(labels or {}),
            "allowed_namespaces": list(allowed_namespaces),
        }
        answer = self._t.request(
            "PUT", endpoint("namespaces", namespace), json=body, if_match=if_match, force=force
        )
        return Namespace.from_json(answer.json())

    def contents(self, namespace: str) -> NamespaceContents:
        """Everything exactly ``namespace`` holds, in one request: flows with their sources, KV
        pairs with their values, what may be said of its secrets and files."""
        answer = self._t.request("GET", endpoint("namespaces", namespace, "contents")).json()
        return NamespaceContents.from_json(answer)

    def delete(self, namespace: str, *, if_match: int | None = None, force: bool = False) -> None:
        """Delete an empty namespace (a :class:`Conflict` while it holds anything)."""
        self._t.request("DELETE", endpoint("namespaces", namespace), if_match=if_match, force=force)


class Flows:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, source: str) -> Flow:
        """Create a flow from its YAML source; a :class:`Conflict` when it exists."""
        return Flow.from_json(
            self._t.request("POST", "/flows", body=_utf8(source), content_type=YAML).json()
        )

    def put(
        self,
        source: str,
        *,
        namespace: str | None = None,
        flow_id: str | None = None,
        if_match: int | None = None,
        force: bool = False,
    ) -> Flow:
        """Create or update a flow from its YAML source. Its namespace and id are read from the
        source unless given (the server requires them to match the source anyway)."""
        if namespace is None or flow_id is None:
            found_namespace, found_id = _flow_key(source)
            namespace, flow_id = namespace or found_namespace, flow_id or found_id
        answer = self._t.request(
            "PUT",
            endpoint("flows", namespace, flow_id),
            body=_utf8(source),
            content_type=YAML,
            if_match=if_match,
            force=force,
        )
        return Flow.from_json(answer.json())

    def get(self, namespace: str, flow_id: str, revision: int | None = None) -> Flow:
        """The latest revision of a flow, or the given one (also after the flow was deleted)."""
        answer = self._t.request(
            "GET", endpoint("flows", namespace, flow_id), params={"revision": revision}
        )
        return Flow.from_json(answer.json())

    def delete(
        self, namespace: str, flow_id: str, *, if_match: int | None = None, force: bool = False
    ) -> None:
        """Delete a flow; its revisions are kept."""
        self._t.request(
            "DELETE", endpoint("flows", namespace, flow_id), if_match=if_match, force=force
        )

    def list_in(self, namespace: str) -> list[Flow]:
        """Every flow of exactly ``namespace``, with its source, in one request."""
        answer = self._t.request("GET", endpoint("namespaces", namespace, "flows"))
        return [Flow.from_json(f) for f in answer.json()]

    def search(
        self,
        namespace: str | None = None,
        q: str | None = None,
        labels: Mapping[str, str] | None = None,
        page: int = 1,
        size: int = 100,
    ) -> Page[FlowSummary]:
        """Flows in ``namespace`` or below it, with ``q`` in their namespace, id or source, and
        every one of ``labels``."""
        params = {
            "namespace": namespace,
            "q": q,
            "labels": [f"{key}:{value}" for key, value in (labels or {}).items()],
            "page": page,
            "size": size,
        }
        answer = self._t.request("GET", "/flows/search", params=params).json()
        return Page.from_json(answer, FlowSummary.from_json)

    def iter_search(
        self,
        namespace: str | None = None,
        q: str | None = None,
        labels: Mapping[str, str] | None = None,
        size: int = 500,
    ) -> Iterator[FlowSummary]:
        """Every flow :meth:`search` finds, fetching page after page as the caller goes."""
        page = 1
        while True:
            found = self.search(namespace, q, labels, page=page, size=size)
            yield from found.results
            if not found.results or page * size >= found.total:
                return
            page += 1

    def revisions(self, namespace: str, flow_id: str) -> list[FlowRevision]:
        """Every revision of a flow, oldest first."""
        answer = self._t.request("GET", endpoint("flows", namespace, flow_id, "revisions"))
        return [FlowRevision.from_json(r) for r in answer.json()]

    def validate(self, yaml_text: str) -> list[Validation]:
        """Validate one or more flows (documents separated by ``---``) without saving them."""
        answer = self._t.request(
            "POST", "/flows/validate", body=_utf8(yaml_text), content_type=YAML, idempotent=True
        )
        return [Validation.from_json(v) for v in answer.json()]

    def callers(self, namespace: str, flow_id: str | None = None) -> list[FlowCaller]:
        """The flows whose latest revision calls ``namespace/flow_id`` (any flow of the
        namespace when ``flow_id`` is None), with their sources, from the server's index."""
        answer = self._t.request(
            "GET", "/flows/callers", params={"namespace": namespace, "id": flow_id}
        )
        return [FlowCaller.from_json(c) for c in answer.json()]

    def apply_namespace(
        self,
        namespace: str,
        sources: str | Iterable[str],
        *,
        delete: bool = False,
        force: bool = False,
    ) -> ApplyResult:
        """Save a namespace's flows at once, all or nothing: one invalid flow changes nothing
        (an :class:`Invalid` with every problem). With ``delete``, the namespace's other flows
        managed by this client's manager are deleted."""
        text = sources if isinstance(sources, str) else "\n---\n".join(sources)
        answer = self._t.request(
            "POST",
            endpoint("namespaces", namespace, "flows"),
            params={"delete": "true" if delete else "false"},
            body=_utf8(text),
            content_type=YAML,
            force=force,
        )
        return ApplyResult.from_json(answer.json())

    def export(self, namespace: str | None = None) -> str:
        """The latest sources of the flows in ``namespace`` (or all) as one YAML stream."""
        answer = self._t.request("GET", "/flows/export", params={"namespace": namespace})
        return answer.content.decode("utf-8")


class Secrets:
    """Secret values go in and never come out: reads give :class:`SecretMeta`."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, namespace: str) -> list[SecretMeta]:
        answer = self._t.request("GET", endpoint("namespaces", namespace, "secrets"))
        return [SecretMeta.from_json(s) for s in answer.json()]

    def get(self, namespace: str, name: str) -> SecretMeta:
        answer = self._t.request("GET", endpoint("namespaces", namespace, "secrets", name))
        return SecretMeta.from_json(answer.json())

    def set(
        self,
        namespace: str,
        name: str,
        value: str,
        *,
        if_match: int | None = None,
        force: bool = False,
    ) -> SecretMeta:
        answer = self._t.request(
            "PUT",
            endpoint("namespaces", namespace, "secrets", name),
            json={"value": value},
            if_match=if_match,
            force=force,
            sensitive=(value,),
        )
        return SecretMeta.from_json(answer.json())

    def seal_key(self) -> SealKey:
        """The server's public key, to seal values with (``controlplane.spec.sealing.seal``)."""
        return SealKey.from_json(self._t.request("GET", endpoint("secrets", "seal-key")).json())

    def set_sealed(
        self,
        namespace: str,
        name: str,
        blob: str,
        *,
        if_match: int | None = None,
        force: bool = False,
    ) -> SecretMeta:
        """Set the secret from a value sealed to the server's key for this namespace and name;
        the answer's ``sealed_digest`` is ``sealed_digest(blob)``."""
        answer = self._t.request(
            "PUT",
            endpoint("namespaces", namespace, "secrets", name),
            json={"sealed": blob},
            if_match=if_match,
            force=force,
        )
        return SecretMeta.from_json(answer.json())

    def delete(
        self, namespace: str, name: str, *, if_match: int | None = None, force: bool = False
    ) -> None:
        self._t.request(
            "DELETE",
            endpoint("namespaces", namespace, "secrets", name),
            if_match=if_match,
            force=force,
        )


class Kv:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, namespace: str) -> list[KvMeta]:
        """The namespace's KV pairs, without their values."""
        answer = self._t.request("GET", endpoint("namespaces", namespace, "kv"))
        return [KvMeta.from_json(k) for k in answer.json()]

    def get(self, namespace: str, key: str) -> KvPair:
        answer = self._t.request("GET", endpoint("namespaces", namespace, "kv", key))
        return KvPair.from_json(answer.json())

    def set(
        self,
        namespace: str,
        key: str,
        value: Any,
        *,
        type: str | None = None,
        ttl: timedelta | str | None = None,
        if_match: int | None = None,
        force: bool = False,
    ) -> KvPair:
        """Set a KV pair. ``type`` (STRING, NUMBER, BOOLEAN, DATETIME, DATE, DURATION, JSON) is
        inferred by the server from the JSON value when not given; a ``datetime``, ``date`` or
        ``timedelta`` value is sent as ISO text with its type. ``ttl`` is a ``timedelta`` or an
        ISO 8601 duration such as ``PT1H``."""
        value, type = _kv_value(value, type)
        body: dict[str, Any] = {"value": value}
        if type is not None:
            body["type"] = type
        if ttl is not None:
            body["ttl"] = format_duration(ttl) if isinstance(ttl, timedelta) else ttl
        answer = self._t.request(
            "PUT",
            endpoint("namespaces", namespace, "kv", key),
            json=body,
            if_match=if_match,
            force=force,
        )
        return KvPair.from_json(answer.json())

    def delete(
        self, namespace: str, key: str, *, if_match: int | None = None, force: bool = False
    ) -> None:
        self._t.request(
            "DELETE", endpoint("namespaces", namespace, "kv", key), if_match=if_match, force=force
        )


class Files:
    """Namespace files, addressed by a slash-separated ``path`` such as ``scripts/etl.py``."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, namespace: str, prefix: str | None = None) -> list[FileMeta]:
        answer = self._t.request(
            "GET", endpoint("namespaces", namespace, "files"), params={"prefix": prefix}
        )
        return [FileMeta.from_json(f) for f in answer.json()]

    def read(self, namespace: str, path: str) -> bytes:
        return self._t.request("GET", self._path(namespace, path)).content

    def write(
        self,
        namespace: str,
        path: str,
        data: bytes,
        *,
        if_match: int | None = None,
        force: bool = False,
    ) -> FileMeta:
        answer = self._t.request(
            "PUT",
            self._path(namespace, path),
            body=data,
            content_type="application/octet-stream",
            if_match=if_match,
            force=force,
        )
        return FileMeta.from_json(answer.json())

    def delete(
        self, namespace: str, path: str, *, if_match: int | None = None, force: bool = False
    ) -> None:
        self._t.request("DELETE", self._path(namespace, path), if_match=if_match, force=force)

    @staticmethod
    def _path(namespace: str, path: str) -> str:
        # HTTP libraries collapse '.' and '..' parts before sending: refuse them here, so that
        # 'a/../b' is an error rather than a write to 'b'.
        if any(part in (".", "..") for part in path.split("/")):
            raise ValueError(f"{path!r}: a namespace file path has no '.' or '..' parts")
        return endpoint("namespaces", namespace, "files") + "/" + quote(path, safe="/")


def _kv_value(value: Any, type: str | None) -> tuple[Any, str | None]:
    """The JSON form of a KV value, and its type when the Python type says it."""
    if isinstance(value, datetime):
        return value.isoformat(), type or "DATETIME"
    if isinstance(value, date):
        return value.isoformat(), type or "DATE"
    if isinstance(value, timedelta):
        return format_duration(value), type or "DURATION"
    return value, type


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


def _flow_key(source: str) -> tuple[str, str]:
    """The ``namespace`` and ``id`` a flow source declares. The YAML loader is imported here,
    on first use, so that importing the client stays quick."""
    from controlplane.spec.source import SourceError, load_source

    try:
        data = load_source(source).data
    except SourceError as error:
        raise ValueError(
            f"cannot read the flow's namespace and id: {error}; pass namespace= and flow_id="
        ) from None
    namespace, flow_id = data.get("namespace"), data.get("id")
    if not isinstance(namespace, str) or not isinstance(flow_id, str):
        raise ValueError("the flow source has no namespace or id; pass namespace= and flow_id=")
    return namespace, flow_id
