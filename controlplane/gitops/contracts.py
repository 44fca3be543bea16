"""Subflow contracts in review: the source and the server together.

The one check of :mod:`controlplane.spec.contracts` runs both ways over a plan:

- a flow whose inputs change (or that is deleted by a pruning apply) is checked against every
  caller: those in the source, and those only the server holds (``GET /flows/callers``: made by
  hand, by Terraform, by another source, in another namespace, or kept with prune off), unless
  this apply deletes them;
- a flow created or changed in the source is checked as a caller against the flows it calls,
  as the source declares them, else as the server holds them.

A server-only caller's problems are at ``server:<namespace>/<id>:line:col`` of its stored source,
and its name says who manages it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from controlplane.client.errors import NotFound
from controlplane.gitops.inventory import Key
from controlplane.spec.contracts import (
    Breach,
    Contract,
    FlowKey,
    check_caller,
    contract_of,
    references,
)
from controlplane.spec.source import SourceDocument, SourceError, load_source

if TYPE_CHECKING:
    from controlplane.client import WeirClient
    from controlplane.client.models import FlowCaller
    from controlplane.gitops.diff import Change
    from controlplane.gitops.flows import Resolved

SERVER = "server:"


class ContractCheck:
    """The check over one plan: the source's flows, the server's flows and callers."""

    def __init__(
        self, client: WeirClient, resolved: Resolved, server: dict[Key, str | None]
    ) -> None:
        self._client = client
        self._texts = resolved.texts
        self._files = resolved.files
        self._server = server
        """Flow sources on the server by key; None for a flow it does not hold."""
        self._docs: dict[Key, SourceDocument | None] = {}
        self._callers: dict[str, list[FlowCaller]] = {}

    def run(self, changes: Iterable[Change], deleted: set[Key]) -> list[Breach]:
        found: list[Breach] = []
        for change in changes:
            key = change.key
            if key.kind != "flow":
                continue
            gone = key in deleted
            if gone or change.action == "update":
                found += self._as_subflow(key, gone, deleted)
            if not gone:
                found += self._as_caller(key)
        unique: dict[tuple[str, str, str, str], Breach] = {}
        for breach in found:
            unique.setdefault(
                (breach.subflow, breach.caller, str(breach.location), breach.message), breach
            )
        return list(unique.values())

    def _as_subflow(self, key: Key, gone: bool, deleted: set[Key]) -> list[Breach]:
        before, after = self._server_contract(key), None if gone else self._contract(key)
        if not gone and after == before:
            return []  # the same inputs: no caller can break
        target = (key.namespace, key.name)
        contracts: dict[FlowKey, Contract | None] = {target: after}
        previous: dict[FlowKey, Contract | None] = {target: before}
        found: list[Breach] = []
        for other in self._texts:
            if other == key or other in deleted or key.name not in self._texts[other]:
                continue
            doc = self._doc(other)
            if doc is not None and any(r.target == target for r in references(doc.data)):
                found += check_caller(doc, contracts, previous)
        for caller in self._server_callers(key):
            other = Key("flow", caller.namespace, caller.id)
            if other in self._texts or other in deleted or other == key:
                continue
            owner = caller.managed_by or "nobody"
            try:
                doc = load_source(caller.source, f"{SERVER}{caller.ref}")
            except SourceError:
                continue
            label = f"{caller.ref} (only on the server, managed by {owner})"
            found += [
                Breach(b.subflow, label, b.location, b.message)
                for b in check_caller(doc, contracts, previous)
            ]
        return found

    def _as_caller(self, key: Key) -> list[Breach]:
        doc = self._doc(key)
        if doc is None:
            return []
        contracts: dict[FlowKey, Contract | None] = {}
        for ref in references(doc.data):
            if ref.inputs is None or ref.target == (key.namespace, key.name):
                continue
            callee = Key("flow", *ref.target)
            contract = self._contract(callee) if callee in self._texts else None
            if contract is None:
                contract = self._server_contract(callee)
            if contract is not None:
                contracts[ref.target] = contract
        return check_caller(doc, contracts)

    def _doc(self, key: Key) -> SourceDocument | None:
        if key not in self._docs:
            try:
                self._docs[key] = load_source(self._texts[key], self._files.get(key, key.ref))
            except (SourceError, KeyError):
                self._docs[key] = None
        return self._docs[key]

    def _contract(self, key: Key) -> Contract | None:
        doc = self._doc(key)
        return contract_of(doc.data) if doc is not None else None

    def _server_contract(self, key: Key) -> Contract | None:
        if key not in self._server:
            self._server[key] = self._read(key)
        source = self._server[key]
        if source is None:
            return None
        try:
            return contract_of(load_source(source, key.ref).data)
        except SourceError:
            return None

    def _read(self, key: Key) -> str | None:
        """A flow outside the namespaces the plan read (a shared subflow elsewhere)."""
        try:
            return self._client.flows.get(key.namespace, key.name).source
        except NotFound:
            return None

    def _server_callers(self, key: Key) -> list[FlowCaller]:
        if key.namespace not in self._callers:
            self._callers[key.namespace] = self._client.flows.callers(key.namespace)
        return [
            c
            for c in self._callers[key.namespace]
            if any(r.get("flow_id") == key.name for r in c.references)
        ]
