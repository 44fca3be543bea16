"""Subflow contracts at plan time: a changed flow is checked against the server and the plan.

When a flow's source changes, :meth:`PlannedFlows.check` runs the one contract check of
:mod:`controlplane.spec.contracts` both ways:

- as a subflow: every caller the server knows (``GET /flows/callers``, one request per
  namespace, kept for the rest of the plan), with the source planned in this run when the caller
  is planned too, must still fit its new inputs;
- as a caller: every call it makes must fit the called flow, as planned in this run or else as
  the server holds it.

Each call that breaks is an error on ``content`` naming the caller, where it lives (planned
here, or only on the server with its revision and manager) and its line. A subflow and its
callers changed together are checked against each other as they are planned; a caller that
refers to its subflow's resource (``weir_subflow.x.flow_id``) is planned after it, so it is
always checked against the new version.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from controlplane.spec.contracts import (
    Breach,
    Contract,
    FlowKey,
    check_caller,
    contract_of,
    references,
)
from controlplane.spec.problems import format_path
from controlplane.spec.source import SourceDocument, SourceError, load_source

if TYPE_CHECKING:
    from controlplane.client import WeirClient
    from controlplane.client.models import FlowCaller
    from controlplane.provider.flows import FlowReads
    from controlplane.provider.runtime.diagnostics import Diagnostics


class PlannedFlows:
    """The flows planned in one provider process, and the server's callers read so far."""

    def __init__(self, client: WeirClient, flows: FlowReads) -> None:
        self._client = client
        self._flows = flows
        self._lock = threading.Lock()
        self._planned: dict[FlowKey, SourceDocument] = {}
        self._order: dict[FlowKey, int] = {}
        """When each flow was first planned: callers are checked in that order."""
        self._targets: dict[FlowKey, set[FlowKey]] = {}
        """The flows each planned flow refers to, found once when it is planned."""
        self._planned_callers: dict[FlowKey, set[FlowKey]] = {}
        """The reverse: the planned flows that refer to a flow."""
        self._callers: dict[str, list[FlowCaller]] = {}
        self._reported: set[tuple[str, str, str]] = set()

    def check(self, content: str, diagnostics: Diagnostics, prior: str | None = None) -> None:
        """Add an error to ``diagnostics`` for each call that the planned ``content`` breaks,
        as a subflow or as a caller; ``prior`` is the source in the state, if any."""
        try:
            doc = load_source(content, "content")
        except SourceError:
            return  # the server's validation says where
        data = doc.data
        key = (str(data.get("namespace")), str(data.get("id")))
        targets = {r.target for r in references(data)}  # once: thousands may be planned
        with self._lock:
            self._planned[key] = doc
            self._order.setdefault(key, len(self._order))
            for target in self._targets.get(key, set()) - targets:
                self._planned_callers[target].discard(key)
            for target in targets:
                self._planned_callers.setdefault(target, set()).add(key)
            self._targets[key] = targets
        found = self._as_subflow(key, doc, _contract_in(prior)) + self._as_caller(key, doc)
        grouped: dict[tuple[str, str], list[tuple[Breach, str]]] = {}
        for breach, where in found:
            if self._first_time(breach):
                grouped.setdefault((breach.caller, breach.subflow), []).append((breach, where))
        for (caller, subflow), breaches in grouped.items():
            _report(caller, subflow, breaches, diagnostics)

    def _as_subflow(
        self, key: FlowKey, doc: SourceDocument, before: Contract | None
    ) -> list[tuple[Breach, str]]:
        contract = contract_of(doc.data)
        callers: dict[FlowKey, tuple[SourceDocument, str]] = {}
        for found in self._server_callers(key):
            caller_key = (found.namespace, found.id)
            owner = found.managed_by or "nobody"
            where = f"on the server only, revision {found.revision}, managed by {owner}"
            try:
                callers[caller_key] = (load_source(found.source, found.ref), where)
            except SourceError:
                continue
        with self._lock:
            keys = {k for k in callers if k in self._planned}
            keys |= self._planned_callers.get(key, set())
            keys.discard(key)
            planned = [(k, self._planned[k]) for k in sorted(keys, key=self._order.__getitem__)]
        for caller_key, caller_doc in planned:
            callers[caller_key] = (caller_doc, "planned in this configuration")
        out: list[tuple[Breach, str]] = []
        for caller_doc, where in callers.values():
            breaches = check_caller(caller_doc, {key: contract}, {key: before})
            out += [(b, where) for b in breaches]
        return out

    def _as_caller(self, key: FlowKey, doc: SourceDocument) -> list[tuple[Breach, str]]:
        targets = {r.target for r in references(doc.data) if r.inputs is not None} - {key}
        contracts: dict[FlowKey, Contract | None] = {}
        for target in targets:
            contract = self._contract(target)
            if contract is not None:
                contracts[target] = contract
        where = "planned in this configuration"
        return [(b, where) for b in check_caller(doc, contracts)]

    def _contract(self, target: FlowKey) -> Contract | None:
        """The called flow's contract as planned here, else as the server holds it; None when
        it is neither (validation warns about a flow that does not exist)."""
        with self._lock:
            planned = self._planned.get(target)
        if planned is not None:
            return contract_of(planned.data)
        found = self._flows.get(*target)
        if found is None:
            return None
        try:
            return contract_of(load_source(found.source, f"{target[0]}/{target[1]}").data)
        except SourceError:
            return None

    def _server_callers(self, key: FlowKey) -> list[FlowCaller]:
        namespace, flow_id = key
        with self._lock:
            known = self._callers.get(namespace)
        if known is None:
            known = self._client.flows.callers(namespace)
            with self._lock:
                self._callers[namespace] = known
        return [c for c in known if any(r.get("flow_id") == flow_id for r in c.references)]

    def _first_time(self, breach: Breach) -> bool:
        """Whether this breach is new to the plan: a subflow and its caller planned together
        both find it."""
        seen = (breach.subflow, breach.caller, breach.message)
        with self._lock:
            if seen in self._reported:
                return False
            self._reported.add(seen)
            return True


def _contract_in(source: str | None) -> Contract | None:
    if not isinstance(source, str):
        return None
    try:
        return contract_of(load_source(source).data)
    except SourceError:
        return None


def _report(
    caller: str, subflow: str, breaches: list[tuple[Breach, str]], diagnostics: Diagnostics
) -> None:
    where = breaches[0][1]
    lines = [
        f"- line {b.location.line}, {format_path(b.location.path)}: {caller} {b.message}"
        for b, _ in breaches
    ]
    diagnostics.error(
        f"{caller} would fail calling {subflow}",
        f"{caller} ({where}) calls {subflow}; at run time:\n"
        + "\n".join(lines)
        + f"\nChange the call in {caller} to fit the inputs of {subflow}, or keep the "
        "inputs its callers rely on.",
        ["content"],
    )
