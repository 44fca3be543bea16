"""``WeirClient``: the one way the CLI, the Terraform provider and the GitOps reconciler talk to
a Weir server (docs/api.md).

::

    with WeirClient(manager="terraform") as weir:
        weir.flows.put(source)
        run = weir.executions.create("company.team", "hello", inputs={"name": "Ada"})
        done = weir.executions.wait(run.id)
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

import requests

from controlplane.client.executions import Executions
from controlplane.client.resources import Files, Flows, Kv, Namespaces, Secrets
from controlplane.client.transport import Transport
from controlplane.client.triggers import Triggers

DEFAULT_URL = "http://127.0.0.1:8080"


class WeirClient:
    """A client of one Weir server.

    ``url`` defaults to ``$WEIR_URL`` (else a server on this machine), ``token`` to
    ``$WEIR_TOKEN`` (``""`` for none), sent as ``Authorization: Bearer``. ``manager`` is sent as
    ``X-Weir-Manager`` on writes, so that what the client writes is recorded as managed by it
    (``"terraform"``, ``"gitops:<source>"``). Each request waits at most ``timeout`` seconds and
    is repeated up to ``retries`` times, ``backoff`` seconds apart, doubling, when repeating is
    safe (see :mod:`controlplane.client.transport`).

    The calls are grouped by what they act on: ``namespaces``, ``flows``, ``executions``,
    ``secrets``, ``kv``, ``files`` and ``triggers``.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        manager: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self._transport = Transport(
            url=url or os.environ.get("WEIR_URL") or DEFAULT_URL,
            token=token if token is not None else os.environ.get("WEIR_TOKEN"),
            manager=manager,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
        self.namespaces = Namespaces(self._transport)
        self.flows = Flows(self._transport)
        self.executions = Executions(self._transport)
        self.secrets = Secrets(self._transport)
        self.kv = Kv(self._transport)
        self.files = Files(self._transport)
        self.triggers = Triggers(self._transport)

    @property
    def url(self) -> str:
        return self._transport.url

    @property
    def session(self) -> requests.Session:
        """The underlying session, for what ``requests`` configures there: proxies, CA
        certificates, hooks."""
        return self._transport.session

    @property
    def manager(self) -> str | None:
        return self._transport.manager

    def health(self) -> dict[str, Any]:
        """``{"status": "ok"}`` while the server process serves."""
        answer: dict[str, Any] = self._transport.request("GET", "/health").json()
        return answer

    def ready(self) -> bool:
        """Whether the server's database answers and its executor runs."""
        return self._transport.request("GET", "/ready", accept=(503,)).ok

    def metrics(self) -> str:
        """The server's Prometheus metrics, as text."""
        return self._transport.request("GET", "/metrics", api=False).text

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> WeirClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WeirClient({self.url!r}, manager={self.manager!r})"
