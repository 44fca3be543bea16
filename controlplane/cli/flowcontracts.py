"""Subflow contracts for ``weir validate``: the files among themselves, and with ``--server``,
the files and the server together.

Each flow among the files is checked as a subflow against its callers (in the files, and with a
server those only the server holds: its latest revisions, from ``GET /flows/callers``) and as a
caller against the flows it calls (from the files, else from the server). A call that breaks is
an error at the call in the caller's file; a server-only caller's is reported on the subflow's
file, naming the caller, who manages it and the line of its stored source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controlplane.spec.contracts import (
    Contract,
    FlowKey,
    check_caller,
    contract_of,
    references,
)
from controlplane.spec.problems import Location, Problem, format_path
from controlplane.spec.source import SourceDocument, SourceError, load_source
from controlplane.spec.validate import Validated

if TYPE_CHECKING:
    from controlplane.client import WeirClient


def contract_problems(results: list[Validated], client: WeirClient | None) -> list[Problem]:
    docs: dict[FlowKey, SourceDocument] = {}
    for result in results:
        if result.flow is not None and result.source is not None:
            docs.setdefault((result.flow.namespace, result.flow.id), result.source)
    server = _Server(client) if client is not None else None
    problems: list[Problem] = []
    for key, doc in docs.items():
        contracts: dict[FlowKey, Contract | None] = {}
        for ref in references(doc.data):
            if ref.inputs is None or ref.target == key:
                continue
            if ref.target in docs:
                contracts[ref.target] = contract_of(docs[ref.target].data)
            elif server is not None:
                found = server.contract(ref.target)
                if found is not None:
                    contracts[ref.target] = found
        problems += [
            _problem(b.location, f"{b.caller} {b.message}") for b in check_caller(doc, contracts)
        ]
        if server is not None:
            problems += server.broken_callers(key, doc, set(docs))
    return problems


def _problem(location: Location, message: str) -> Problem:
    return Problem.error(location, message, "broken_contract")


class _Server:
    def __init__(self, client: WeirClient) -> None:
        self._client = client
        self._sources: dict[FlowKey, str | None] = {}

    def source(self, key: FlowKey) -> str | None:
        from controlplane.client.errors import NotFound

        if key not in self._sources:
            try:
                self._sources[key] = self._client.flows.get(*key).source
            except NotFound:
                self._sources[key] = None
        return self._sources[key]

    def contract(self, key: FlowKey) -> Contract | None:
        source = self.source(key)
        if source is None:
            return None
        try:
            return contract_of(load_source(source).data)
        except SourceError:
            return None

    def broken_callers(
        self, key: FlowKey, doc: SourceDocument, local: set[FlowKey]
    ) -> list[Problem]:
        """The server's callers of ``key`` (those not among the files) that its version in the
        files breaks."""
        contracts = {key: contract_of(doc.data)}
        previous = {key: self.contract(key)}
        problems: list[Problem] = []
        for caller in self._client.flows.callers(*key):
            if (caller.namespace, caller.id) in local:
                continue
            try:
                caller_doc = load_source(caller.source, f"server:{caller.ref}")
            except SourceError:
                continue
            owner = caller.managed_by or "nobody"
            for breach in check_caller(caller_doc, contracts, previous):
                where = breach.location
                message = (
                    f"{caller.ref} (only on the server, managed by {owner}; line {where.line}, "
                    f"{format_path(where.path)}) {breach.message}"
                )
                problems.append(_problem(doc.locate(("inputs",)), message))
        return problems
