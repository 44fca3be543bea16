"""One reconcile, as explicit steps, then one summary (the shape of Flux's controllers).

1. fetch the source (a directory, or a git URL and ref) and record its commit;
2. load and validate it (``weir.yaml``, ``namespaces/``), problems at file:line;
3. read the server in bulk (one request per namespace);
4. diff the two inventories (a pure function);
5. apply in dependency order with ``If-Match``; deletes in reverse, only of what this source
   manages, never in a protected namespace, and only when pruning;
6. record the outcome on the server (``system/gitops.<name>``) and summarise: Ready, or
   Stalled / Waiting / TransientError with the reason, the commit, and the drift found.

A failing step ends the reconcile with a summary that is not ready; it never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from controlplane.client.errors import ClientError
from controlplane.gitops.apply import Applied, apply_plan
from controlplane.gitops.config import load_config
from controlplane.gitops.errors import GitOpsError, Transient, Waiting
from controlplane.gitops.inventory import Key
from controlplane.gitops.plan import Plan, make_plan
from controlplane.gitops.source import Checkout, fetch, redact
from controlplane.gitops.status import Status, write_status

if TYPE_CHECKING:
    from controlplane.client import WeirClient

READY = "ReconciliationSucceeded"


@dataclass
class Summary:
    ready: bool
    reason: str
    message: str
    location: str
    commit: str | None = None
    plan: Plan | None = None
    applied: Applied | None = None
    drift: list[Key] = field(default_factory=list)
    dry_run: bool = False

    @property
    def state(self) -> str:
        if self.ready:
            return "Ready"
        return {Waiting.reason: "Waiting", Transient.reason: "Retrying"}.get(self.reason, "Stalled")

    def line(self) -> str:
        commit = f" @ {self.commit[:12]}" if self.commit else ""
        return f"{self.state} ({self.reason}): {self.message} [{self.location}{commit}]"


def reconcile(
    location: str,
    *,
    ref: str | None = None,
    path: str = "",
    server: str | None = None,
    token: str | None = None,
    environment: str | None = None,
    prune: bool | None = None,
    dry_run: bool = False,
    cache: Path | None = None,
) -> Summary:
    from controlplane.client import WeirClient

    try:
        checkout = fetch(location, ref, path=path, cache=cache)
        config = load_config(checkout.root, checkout.root.name)
    except GitOpsError as error:
        return Summary(False, error.reason, str(error), redact(location))
    with WeirClient(server, token, manager=config.manager) as client:
        summary = Summary(False, "Progressing", "", checkout.location, checkout.commit)
        plan: Plan | None = None
        try:
            plan = make_plan(client, checkout, environment=environment, prune=prune)
            summary.plan = plan
            summary.applied = apply_plan(client, plan, dry_run=dry_run)
        except GitOpsError as error:
            summary.reason, summary.message = error.reason, str(error)
        else:
            summary.ready, summary.reason = True, READY
            summary.message = _done(summary.applied, plan, dry_run)
        if plan is not None:
            summary.drift = [c.key for c in plan.drift]
        summary.dry_run = dry_run
        if not dry_run:
            _record(client, checkout, environment, summary)
    return summary


def _done(applied: Applied, plan: Plan, dry_run: bool) -> str:
    if dry_run:
        return f"dry run: {len(plan.to_apply)} change(s) not applied"
    parts = [
        f"{len(applied.created)} created",
        f"{len(applied.updated)} updated",
        f"{len(applied.deleted)} deleted",
        f"{plan.diff.unchanged} unchanged",
    ]
    if plan.diff.deletes and not plan.prune:
        parts.append(f"{len(plan.diff.deletes)} to prune (pruning is off)")
    return ", ".join(parts)


def _record(
    client: WeirClient, checkout: Checkout, environment: str | None, summary: Summary
) -> None:
    plan, applied = summary.plan, summary.applied
    if plan is None:
        return
    inventory: dict[Key, int] = {}
    if plan.last is not None and not summary.ready:
        inventory.update(plan.last.inventory)  # keep tracking what an earlier apply wrote
    for key, have in plan.observed.objects.objects.items():
        if have.managed_by == plan.manager:
            inventory[key] = have.revision
    if applied is not None:
        inventory.update(applied.revisions)
        for key in applied.deleted:
            inventory.pop(key, None)
    counts = {
        "created": len(applied.created) if applied else 0,
        "updated": len(applied.updated) if applied else 0,
        "deleted": len(applied.deleted) if applied else 0,
        "unchanged": plan.diff.unchanged,
        "drift": len(summary.drift),
    }
    status = Status(
        source=plan.config.name,
        location=checkout.location,
        commit=checkout.commit,
        environment=environment,
        finished=datetime.now(UTC).isoformat(),
        ready=summary.ready,
        reason=summary.reason,
        message=summary.message,
        counts=counts,
        inventory=inventory,
    )
    try:
        write_status(client, status)
    except ClientError as error:
        if summary.ready:
            summary.ready, summary.reason = False, Transient.reason
            summary.message = f"applied, but the status record could not be written: {error}"
