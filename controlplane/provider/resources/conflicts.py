"""What a 409 from the server means to someone running Terraform, and the way out of it.

Three refusals read differently:

- a create (``If-Match: 0``) over an object that exists: what exists (kind, id, revision), who
  manages it, and the two ways out: import it (an ``import`` block or ``terraform import``), or
  delete it on the server;
- a write or delete whose ``If-Match`` revision is no longer the object's: it changed on the
  server since the plan, so planning again sees the change;
- a namespace delete refused because the namespace still holds objects: which ones, and that they
  must go first (deleted on the server, or destroyed with the resources that declare them).
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.client.errors import Conflict
from controlplane.provider.runtime.diagnostics import Path, ProviderError


@dataclass(frozen=True)
class Creating:
    """The object a create writes: enough to say how to adopt or remove it if it exists."""

    type_name: str
    """The resource type, ``weir_flow``."""
    import_id: str
    """Its import id, ``company.team/hello``."""
    url: str
    """Where the server keeps it, for a ``curl -X DELETE``."""


def refusal(
    what: str, error: Conflict, creating: Creating | None, path: Path | None
) -> ProviderError:
    """The diagnostic for a 409 answered to a write or delete of ``what``."""
    if error.code == "revision_mismatch" and creating is not None and error.revision is not None:
        return already_exists(what, error, creating, path)
    if error.code == "revision_mismatch":
        return ProviderError(
            f"{what} changed on the server since the plan",
            f"{error} Run terraform plan again: it reads the object as it is now.",
            path,
        )
    if error.code == "managed_elsewhere":
        return ProviderError(
            f"{what} is managed by '{error.managed_by}'",
            f"{error}. To move it into this state: let {error.managed_by} forget it (for a "
            "Terraform state, a removed block with lifecycle { destroy = false }), then apply "
            f'here once with take_over = ["{error.managed_by}"] in the provider block.',
            path,
        )
    if error.code == "namespace_not_empty":
        return ProviderError(
            f"{what} cannot be deleted: {error}",
            "Delete those objects on the server, or destroy the Terraform resources (or the "
            "GitOps source) that declare them first; then run terraform destroy (or apply) "
            "again.",
            path,
        )
    return ProviderError(f"{what}: {error}", path=path)


def already_exists(
    what: str, error: Conflict, creating: Creating, path: Path | None
) -> ProviderError:
    owner = error.details.get("managed_by")
    if "managed_by" not in error.details:
        who = "an unknown manager (the server did not say)"
    elif owner is None:
        who = "nobody"
    elif owner == "terraform" or owner.startswith("terraform:"):
        who = f"'{owner}' (another Terraform state, or one that lost track of it)"
    else:
        who = f"'{owner}' (remove it from there first, or it writes it back)"
    address = f"{creating.type_name}.NAME"
    return ProviderError(
        f"{what} already exists on the server",
        f"It is at revision {error.revision} and managed by {who}. Terraform creates only what "
        "does not exist yet. Either adopt it into this state, with an import block "
        f"(NAME being this resource's name):\n\n"
        f'import {{\n  to = {address}\n  id = "{creating.import_id}"\n}}\n\n'
        f"or with: terraform import {address} {creating.import_id}\n\n"
        f"or delete it on the server (curl -X DELETE {creating.url}), then apply again.",
        path,
    )
