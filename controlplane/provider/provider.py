"""The ``weir`` provider's own configuration, and what its resources share once configured.

Its resource and data source types are handed to it (``resources.weir_provider()``): they
import this module for the context they are given, and this module imports none of them.

Every write goes through one :class:`~controlplane.client.WeirClient` whose manager is this
state, ``terraform:<owner>`` (see :mod:`controlplane.provider.owner`), so the server records
which state manages what and refuses other writers' edits.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controlplane.provider.flows import FlowReads
from controlplane.provider.runtime.diagnostics import Diagnostics, ProviderError
from controlplane.provider.runtime.resource import DataSource, Resource
from controlplane.provider.runtime.schema import NUMBER, STRING, Attribute, Schema, list_of
from controlplane.provider.runtime.service import Provider
from controlplane.provider.runtime.values import UNKNOWN

if TYPE_CHECKING:
    import requests

    from controlplane.client import WeirClient
    from controlplane.provider.contracts import PlannedFlows
    from controlplane.provider.validated import ValidSources

MANAGER = "terraform"
SOURCE_ADDRESS = "registry.terraform.io/weir/weir"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2


class WeirProvider(Provider):
    schema = Schema(
        description="Declares a Weir server's namespaces, flows, subflows, secrets, KV pairs "
        "and namespace files.",
        attributes=(
            Attribute(
                "endpoint",
                STRING,
                "The Weir API's base URL, such as `http://weir.weir.svc:8080`. "
                "Defaults to `$WEIR_URL`, else `http://127.0.0.1:8080`, like the client and the "
                "CLI.",
                optional=True,
            ),
            Attribute(
                "token",
                STRING,
                "An API token, sent as a bearer token. Defaults to `$WEIR_TOKEN`.",
                optional=True,
                sensitive=True,
            ),
            Attribute(
                "timeout",
                NUMBER,
                f"Seconds to wait for each API request (default {DEFAULT_TIMEOUT:g}).",
                optional=True,
            ),
            Attribute(
                "owner",
                STRING,
                "This state's name as the owner of what it writes: objects are recorded as "
                "managed by `terraform:<owner>`, and another state's writes to them are refused. "
                "Defaults to an id derived from where the state is kept (the backend's bucket "
                "and key, or the local state file's path, and the workspace).",
                optional=True,
            ),
            Attribute(
                "take_over",
                list_of(STRING),
                "Owners (`terraform:<id>`, `gitops:<source>`) this state takes objects over "
                "from: a write to an object one of them manages is forced. Used once to move "
                "objects from another state (after a `removed` block there) or source.",
                optional=True,
            ),
            Attribute(
                "retries",
                NUMBER,
                "How many times a request that failed on the way (connection refused, 502, "
                f"503, 504) is repeated when repeating is safe (default {DEFAULT_RETRIES}).",
                optional=True,
            ),
        ),
    )

    def __init__(
        self,
        resource_types: tuple[type[Resource[Any]], ...],
        data_source_types: tuple[type[DataSource[Any]], ...],
    ) -> None:
        self.resource_types = resource_types
        self.data_source_types = data_source_types
        self._client: WeirClient | None = None
        self.manager = MANAGER
        """What this state writes as: ``terraform:<owner>`` once configured."""
        self.take_over: frozenset[str] = frozenset()
        self._flows: FlowReads | None = None
        self._contracts: PlannedFlows | None = None
        self._contracts_lock = threading.Lock()
        self._valid: ValidSources | None = None

    def validate(self, config: dict[str, Any], diagnostics: Diagnostics) -> None:
        for name in ("timeout", "retries"):
            value = config.get(name)
            if isinstance(value, int | float) and value < (1 if name == "timeout" else 0):
                diagnostics.error(
                    f"{name} must be {'at least 1' if name == 'timeout' else 'zero or more'}",
                    path=[name],
                )
        endpoint = config.get("endpoint")
        if isinstance(endpoint, str) and not endpoint.startswith(("http://", "https://")):
            diagnostics.error(
                "endpoint must be an http:// or https:// URL",
                f"Got {endpoint!r}.",
                path=["endpoint"],
            )

    def configure(self, config: dict[str, Any], diagnostics: Diagnostics) -> None:
        if any(value is UNKNOWN for value in config.values()):
            raise ProviderError(
                "the provider's configuration is not known until apply",
                "Set endpoint and token from values known at plan time.",
            )
        from controlplane.client import WeirClient
        from controlplane.client.client import DEFAULT_URL
        from controlplane.provider.owner import manager_for

        endpoint = config.get("endpoint") or os.environ.get("WEIR_URL") or DEFAULT_URL
        self.manager = manager_for(config.get("owner"), Path.cwd(), os.environ)
        self.take_over = frozenset(config.get("take_over") or ())

        self._client = WeirClient(
            endpoint,
            config.get("token"),
            manager=self.manager,
            timeout=float(config.get("timeout") or DEFAULT_TIMEOUT),
            retries=DEFAULT_RETRIES if config.get("retries") is None else int(config["retries"]),
        )
        read_environment_once(self._client.session, self._client.url)
        from controlplane.provider.validated import ValidSources

        self._valid = ValidSources(self._client.url, config.get("token"))
        self._flows = FlowReads(self._client)
        self._contracts = None  # made on the first changed flow: a no-change plan parses none

    @property
    def client(self) -> WeirClient:
        if self._client is None:
            raise ProviderError("the weir provider is not configured")
        return self._client

    @property
    def flows(self) -> FlowReads:
        """Flow reads, answered a namespace at a time (see :mod:`controlplane.provider.flows`)."""
        if self._flows is None:
            raise ProviderError("the weir provider is not configured")
        return self._flows

    @property
    def valid_sources(self) -> ValidSources:
        """Sources the server found valid lately (see :mod:`controlplane.provider.validated`)."""
        if self._valid is None:
            raise ProviderError("the weir provider is not configured")
        return self._valid

    def close(self) -> None:
        if self._valid is not None:
            self._valid.save()

    @property
    def contracts(self) -> PlannedFlows:
        """The subflow contract check of this plan (see :mod:`controlplane.provider.contracts`)."""
        with self._contracts_lock:
            if self._contracts is None:
                from controlplane.provider.contracts import PlannedFlows

                self._contracts = PlannedFlows(self.client, self.flows)
            return self._contracts


def read_environment_once(session: requests.Session, url: str) -> None:
    """Settle what ``requests`` reads from the environment for ``url``: proxies (``*_PROXY``,
    ``NO_PROXY``), the CA bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) and ``.netrc``
    credentials. It reads them at every request, scanning every variable twice, which was the
    largest cost of a request in an apply; this process's environment does not change and every
    request goes to ``url``'s server, so the answers are the same each time."""
    from requests.utils import get_netrc_auth

    if not session.trust_env:
        return
    settled = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies = settled["proxies"]
    session.verify = settled["verify"]
    session.cert = settled["cert"]
    if session.auth is None:
        session.auth = get_netrc_auth(url)
    session.trust_env = False
