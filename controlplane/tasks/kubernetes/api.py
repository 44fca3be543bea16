"""A thin JSON layer over the official client's transport: objects stay plain dicts.

The generated models of ``kubernetes`` 37 are pydantic models that validate what they are given
against the newest schema; Weir sends and reads manifests as users wrote them (and servers as old
as 1.20 answer), so requests go through ``ApiClient``'s authentication, TLS and retries with
dict bodies, and answers are parsed as JSON.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import InsecureRequestWarning

from controlplane.errors import WeirError

Obj = dict[str, Any]


class KubeError(WeirError):
    """The API server refused a request, or could not be reached."""

    code = "kubernetes_error"

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def path(namespace: str | None, plural: str, name: str | None = None, group: str = "") -> str:
    """The REST path of a kind (``plural``) in ``group`` ("" for the core ``v1``)."""
    base = "/api/v1" if not group else f"/apis/{group}"
    parts = [base]
    if namespace:
        parts.append(f"namespaces/{quote(namespace)}")
    parts.append(plural)
    if name:
        parts.append(quote(name))
    return "/".join(parts)


class Kube:
    """JSON requests to one API server."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    @property
    def server(self) -> str:
        return str(self.api.configuration.host)

    def _send(
        self,
        method: str,
        url_path: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float] | None = None,
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        params = [
            (k, str(v).lower() if isinstance(v, bool) else v) for k, v in (query or {}).items()
        ]
        method, url, headers, body, post = self.api.param_serialize(
            method,
            url_path,
            query_params=params,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            with warnings.catch_warnings():
                if not self.api.configuration.verify_ssl:  # trustCerts, said once in the logs
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                return self.api.call_api(method, url, headers, body, post, _request_timeout=timeout)
        except ApiException as exc:
            raise KubeError(
                f"the Kubernetes API at {self.server} could not be reached ({exc.reason})"
            ) from exc

    def request(
        self,
        method: str,
        url_path: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float | None = 60.0,
    ) -> Any:
        response = self._send(method, url_path, body, query, content_type, timeout)
        data = response.read()
        if response.status >= 400:
            raise _error(method, url_path, response.status, data)
        return json.loads(data) if data else None

    def get(self, url_path: str, query: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", url_path, query=query)

    def find(self, url_path: str) -> Obj | None:
        """The object at ``url_path``, or None when it does not exist."""
        try:
            found: Obj = self.get(url_path)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def delete(self, url_path: str, propagation: str = "Background") -> bool:
        """Delete, letting the garbage collector remove what the object owns; False if absent."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        try:
            self.request("DELETE", url_path, body=body)
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def stream(
        self, url_path: str, query: Mapping[str, Any], timeout: float | None = None
    ) -> Iterator[bytes]:
        """The lines of a long answer (a log that follows, a watch), as they arrive."""
        response = self._send("GET", url_path, query=query, timeout=(10.0, timeout or 3600.0))
        if response.status >= 400:
            raise _error("GET", url_path, response.status, response.read())
        raw = response.response
        try:
            pending = b""
            for chunk in raw.stream(8192, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                yield from lines
            if pending:
                yield pending
        finally:
            raw.release_conn()

    def watch(
        self, url_path: str, query: Mapping[str, Any], timeout_seconds: int
    ) -> Iterator[tuple[str, Obj]]:
        """(type, object) events of a watch that the server ends after ``timeout_seconds``."""
        params = {**query, "watch": True, "timeoutSeconds": max(1, timeout_seconds)}
        for line in self.stream(url_path, params, timeout=timeout_seconds + 10.0):
            if line.strip():
                event = json.loads(line)
                yield str(event.get("type")), event.get("object") or {}


def _error(method: str, url_path: str, status: int, data: bytes | None) -> KubeError:
    reason, message = "", (data or b"").decode(errors="replace")[:500]
    try:
        body = json.loads(data or b"{}")
        if isinstance(body, dict):
            reason = str(body.get("reason") or "")
            message = str(body.get("message") or message)
    except ValueError:
        pass
    return KubeError(f"{method} {url_path}: {status} {reason}: {message}", status, reason)
