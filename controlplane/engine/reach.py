"""Which other namespaces a flow may reach: a namespace is a wall.

A flow of namespace ``C`` reaches what belongs to its own namespace. It reads the KV pairs and
secrets of ``C``'s ancestors, as lookups walk up the hierarchy. Anything else of a namespace
``T`` — its flows (Subflow, ForEachItem, Flow triggers, reading its executions), its KV pairs,
its namespace files — only when ``T`` lists ``C`` in its ``allowedNamespaces`` (the name Kestra
gives the setting). An entry allows that namespace and those below it; ``*`` allows every one.

A refusal names both namespaces and the setting to change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from controlplane.engine.ports import NamespaceRecord, Repositories
from controlplane.errors import WeirError


class NamespaceRefused(WeirError):
    """A flow tried to reach a namespace that does not allow its own."""

    code = "namespace_refused"


def allows(allowed: Iterable[str], caller: str) -> bool:
    """Whether an ``allowedNamespaces`` list lets ``caller`` in."""
    return any(
        entry == "*" or caller == entry or caller.startswith(entry + ".") for entry in allowed
    )


def inherits(caller: str, target: str) -> bool:
    """Whether ``target`` is ``caller`` or one of its ancestors (KV and secrets walk up)."""
    return caller == target or caller.startswith(target + ".")


def may_reach(
    read_namespace: Callable[[str], NamespaceRecord | None],
    caller: str,
    target: str,
    *,
    inherited: bool = False,
) -> bool:
    """Whether a flow of ``caller`` may reach ``target``; ``inherited`` for reads of KV pairs
    (an ancestor's are readable without being allowed)."""
    if caller == target or (inherited and inherits(caller, target)):
        return True
    record = read_namespace(target)
    return record is not None and allows(record.allowed_namespaces, caller)


def refusal(caller: str, target: str, what: str) -> NamespaceRefused:
    return NamespaceRefused(
        f"namespace '{caller}' may not reach {what} of namespace '{target}': "
        f"'{target}' does not allow it. Add '{caller}' to the allowedNamespaces of namespace "
        f"'{target}' (API and Terraform: allowed_namespaces; GitOps: allowedNamespaces in its "
        "namespace file) if it should"
    )


def check_reach(
    repos: Repositories, caller: str, target: str, what: str, *, inherited: bool = False
) -> None:
    """Raise NamespaceRefused unless a flow of ``caller`` may reach ``what`` of ``target``."""
    if not may_reach(repos.namespaces.read_namespace, caller, target, inherited=inherited):
        raise refusal(caller, target, what)
