"""Read: what the server holds in the namespaces a reconcile looks at, one request each."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controlplane.client.models import Flow
from controlplane.gitops.inventory import Actual, Inventory, Key

if TYPE_CHECKING:
    from controlplane.client import WeirClient

STATUS_NAMESPACE = "system"
STATUS_PREFIX = "gitops."
"""Each source keeps its last reconcile as the KV pair system/gitops.<name>."""


@dataclass
class Observed:
    objects: Inventory = field(default_factory=Inventory)
    flows: dict[Key, Flow] = field(default_factory=dict)
    """The flows read, with their declared inputs and outputs."""
    requests: int = 0


READERS = 4
"""Namespaces read at once: the server answers several while the client decodes others."""


def read_actual(client: WeirClient, namespaces: Iterable[str]) -> Observed:
    observed = Observed()
    names = sorted(set(namespaces))
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        answers = list(pool.map(client.namespaces.contents, names))
    for name, contents in zip(names, answers, strict=True):
        observed.requests += 1
        found = observed.objects
        if contents.namespace is not None:
            ns = contents.namespace
            value = {
                "description": ns.description,
                "variables": ns.variables,
                "labels": ns.labels,
                "allowed_namespaces": list(ns.allowed_namespaces),
            }
            found.add(Actual(Key("namespace", name, name), value, ns.managed_by, ns.revision))
        for flow in contents.flows:
            key = Key("flow", name, flow.id)
            found.add(Actual(key, flow.source, flow.managed_by, flow.revision))
            observed.flows[key] = flow
        for secret in contents.secrets:
            key = Key("secret", name, secret.name)
            found.add(Actual(key, secret.sealed_digest, secret.managed_by, secret.revision))
        for pair in contents.kv:
            if name == STATUS_NAMESPACE and pair.key.startswith(STATUS_PREFIX):
                continue
            key = Key("kv", name, pair.key)
            found.add(Actual(key, (pair.type, pair.value), pair.managed_by, pair.revision))
        for meta in contents.files:
            key = Key("file", name, meta.path)
            found.add(Actual(key, meta.sha256, meta.managed_by, meta.revision))
    return observed
