"""Reading flows for Terraform, a namespace at a time.

A plan refreshes every flow in the state, up to ten at once; a thousand flows read one by one
are a thousand requests. After the second flow of a namespace is read within one provider
process (one phase of one Terraform command), the whole namespace is read in one request and
later reads are answered from that snapshot. A write to a namespace drops its snapshot, so what
the provider wrote is read back fresh.

The YAML of a flow is compared by meaning, not text: a change of formatting, key order or
comments is no change (:func:`same_flow`).
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from controlplane.client.errors import NotFound

if TYPE_CHECKING:
    from controlplane.client import WeirClient
    from controlplane.client.models import Flow


class FlowReads:
    def __init__(self, client: WeirClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._reads: Counter[str] = Counter()
        self._snapshots: dict[str, dict[str, Flow]] = {}
        self._loading: dict[str, threading.Lock] = {}

    def get(self, namespace: str, flow_id: str) -> Flow | None:
        """The flow's latest revision, or None when it does not exist."""
        with self._lock:
            snapshot = self._snapshots.get(namespace)
            self._reads[namespace] += 1
            bulk = self._reads[namespace] > 1
            loading = self._loading.setdefault(namespace, threading.Lock())
        if snapshot is None and bulk:
            snapshot = self._load(namespace, loading)
        if snapshot is not None:
            return snapshot.get(flow_id)
        try:
            return self._client.flows.get(namespace, flow_id)
        except NotFound:
            return None

    def forget(self, namespace: str) -> None:
        with self._lock:
            self._snapshots.pop(namespace, None)
            self._reads[namespace] = 0

    def _load(self, namespace: str, loading: threading.Lock) -> dict[str, Flow]:
        with loading:
            with self._lock:
                found = self._snapshots.get(namespace)
            if found is not None:
                return found
            flows = {f.id: f for f in self._client.flows.list_in(namespace)}
            with self._lock:
                self._snapshots[namespace] = flows
            return flows


def load_yaml(text: str) -> Any:
    """The data of a YAML document; raises ``yaml.YAMLError`` when it is not YAML. PyYAML is
    imported here, on first use: a no-change plan never parses a flow."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # a safe loader: CSafeLoader or SafeLoader


def same_flow(left: str, right: str) -> bool:
    """Whether two flow sources mean the same flow (formatting, key order, comments aside)."""
    if left == right:
        return True
    import yaml

    try:
        return bool(load_yaml(left) == load_yaml(right))
    except yaml.YAMLError:
        return False


@functools.lru_cache(maxsize=64)
def declared(content: str) -> dict[str, Any]:
    """The mapping a flow source declares; empty when the source is not YAML or not a mapping
    (the server's validation then says where). Planning a flow asks for it several times, so
    the last few answers are kept: callers read the mapping and never change it."""
    import yaml

    try:
        data = load_yaml(content)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}
