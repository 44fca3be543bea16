"""What a reconcile that does not finish raises, typed by what should happen next.

::

    WeirError
    └── GitOpsError
        ├── Stalled      needs a person: an invalid file, a conflict with another manager,
        │                a secret sealed for another server. Retrying changes nothing.
        ├── Waiting      retry later: an object kept changing under us, a namespace not empty yet.
        └── Transient    the network or the server failed; the next attempt may succeed.

A message says what, where (file:line when it comes from the source) and what to do.
"""

from __future__ import annotations

from controlplane.errors import WeirError


class GitOpsError(WeirError):
    code = "gitops_error"
    reason = "Failed"
    """A CamelCase word for a status line, as Flux's conditions carry."""


class Stalled(GitOpsError):
    code = "gitops_stalled"

    def __init__(self, message: str, reason: str = "Stalled") -> None:
        super().__init__(message)
        self.reason = reason


class Waiting(GitOpsError):
    code = "gitops_waiting"
    reason = "Waiting"


class Transient(GitOpsError):
    code = "gitops_transient"
    reason = "TransientError"
