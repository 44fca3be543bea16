"""Plan: load the source, read the server, diff, and gather what a reviewer needs to see.

::

    plan = make_plan(client, fetch("https://github.com/acme/flows", "main"))
    print(render(plan, "markdown"))
    if plan.exit_code == 1:
        apply(client, plan, prune=True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controlplane.client.errors import ClientError, Unreachable
from controlplane.gitops.actual import Observed, read_actual
from controlplane.gitops.config import Config, load_config
from controlplane.gitops.contracts import ContractCheck
from controlplane.gitops.diff import Change, Diff, diff
from controlplane.gitops.errors import Stalled, Transient
from controlplane.gitops.flows import (
    FieldChange,
    Resolved,
    ScheduleChange,
    active_triggers,
    field_changes,
    resolve_flows,
    schedule_changes,
)
from controlplane.gitops.inventory import Desired, Inventory, Key
from controlplane.gitops.load import Loaded, SecretFile, load
from controlplane.gitops.source import Checkout
from controlplane.gitops.status import Status, read_status
from controlplane.spec.contracts import Breach
from controlplane.spec.problems import Problem, Severity
from controlplane.spec.sealing import SealError, sealed_digest

if TYPE_CHECKING:
    from controlplane.client import WeirClient


@dataclass
class Plan:
    checkout: Checkout
    config: Config
    environment: str | None
    prune: bool
    """Whether an apply of this plan deletes what the source no longer declares."""
    diff: Diff = field(default_factory=Diff)
    problems: list[Problem] = field(default_factory=list)
    fields: dict[Key, list[FieldChange]] = field(default_factory=dict)
    schedules: list[ScheduleChange] = field(default_factory=list)
    contracts: list[Breach] = field(default_factory=list)
    kept: dict[Key, list[str]] = field(default_factory=dict)
    """Flows no longer declared that stay because prune is off, with the triggers that keep
    firing."""
    last: Status | None = None
    desired: Inventory = field(default_factory=Inventory)
    observed: Observed = field(default_factory=Observed)

    @property
    def manager(self) -> str:
        return self.config.manager

    @property
    def errors(self) -> list[str]:
        """Every reason the plan may not be applied, one line each."""
        found = [str(p) for p in self.problems if p.severity is Severity.ERROR]
        found += [_conflict(c, self.manager) for c in self.diff.conflicts]
        found += [f"{c.location}: {c.caller} {c.message}" for c in self.contracts]
        return found

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def to_apply(self) -> list[Change]:
        return self.diff.changes + (self.diff.deletes if self.prune else [])

    @property
    def drift(self) -> list[Change]:
        return [c for c in self.to_apply + self.diff.conflicts if c.drift]

    @property
    def exit_code(self) -> int:
        """0 nothing to change, 1 changes to apply, 2 errors."""
        if self.errors:
            return 2
        return 1 if self.to_apply else 0


def _conflict(change: Change, manager: str) -> str:
    """A declared object another manager owns, at the line that declares it, with both names
    and the ways to move it."""
    owner = (change.actual.managed_by if change.actual else None) or "?"
    where = f"{change.desired.origin}: " if change.desired is not None else ""
    release = (
        "forget it in that Terraform state (a removed block with destroy = false)"
        if owner.startswith("terraform")
        else f"stop declaring it in {owner}"
    )
    return (
        f"{where}{change.key} is managed by '{owner}', not by '{manager}': declare it in one "
        f"of them only. To move it here, {release}, then take it over once through the API "
        f"(force=true, X-Weir-Manager: {manager}); or remove it from this source"
    )


def make_plan(
    client: WeirClient,
    checkout: Checkout,
    *,
    environment: str | None = None,
    prune: bool | None = None,
) -> Plan:
    try:
        return _plan(client, checkout, environment, prune)
    except Unreachable as error:
        raise Transient(str(error)) from None
    except ClientError as error:
        if error.status is not None and error.status >= 500:
            raise Transient(str(error)) from None
        raise Stalled(str(error), "ReadFailed") from None


def _plan(
    client: WeirClient, checkout: Checkout, environment: str | None, prune: bool | None
) -> Plan:
    config = load_config(checkout.root, checkout.root.name)
    loaded = load(checkout.root, config, environment)
    plan = Plan(checkout, config, environment, config.prune if prune is None else prune)
    plan.problems.extend(loaded.problems)
    plan.last = read_status(client, config.name)
    plan.observed = read_actual(client, _namespaces_to_read(client, loaded, plan.last))
    resolved = resolve_flows(loaded.flows, plan.observed)
    plan.problems.extend(resolved.problems)
    desired = loaded.objects
    for item in resolved.desired:
        desired.add(item)
    for secret in _secrets(client, loaded.secrets, plan.problems):
        desired.add(secret)
    plan.desired = desired
    last = plan.last.inventory if plan.last is not None else {}
    plan.diff = diff(
        desired,
        plan.observed.objects,
        manager=config.manager,
        protects=loaded.protects,
        last=last,
    )
    _missing_subflows(plan, loaded)
    _review(client, plan, resolved)
    plan.problems.sort(key=lambda p: (p.severity is not Severity.ERROR, p.location.file,
                                      p.location.line))  # fmt: skip
    return plan


def _namespaces_to_read(client: WeirClient, loaded: Loaded, last: Status | None) -> set[str]:
    """What is declared, what this source wrote last time, and the server's namespaces under
    the ones it owns: everything a prune may need to see."""
    found = set(loaded.namespaces)
    if last is not None:
        found |= last.namespaces
    for prefix in loaded.config.owned:
        page = 1
        while True:
            listed = client.namespaces.list(prefix, page=page, size=1000)
            found |= {n.name for n in listed.results}
            if not listed.results or page * 1000 >= listed.total:
                break
            page += 1
    return found


def _secrets(client: WeirClient, files: list[SecretFile], problems: list[Problem]) -> list[Desired]:
    if not files:
        return []
    key = client.secrets.seal_key()
    found: list[Desired] = []
    for item in files:
        try:
            blob = item.sealed.for_key(key.key_id)
        except SealError as error:
            problems.append(Problem.error(item.origin, str(error), "sealed_for_other_server"))
            continue
        found.append(Desired(item.key, sealed_digest(blob), item.origin, payload=blob))
    return found


def _missing_subflows(plan: Plan, loaded: Loaded) -> None:
    """A changed flow that calls a flow of an owned namespace that neither the source nor the
    server holds cannot run."""
    known = set(plan.desired.objects) | set(plan.observed.objects.objects)
    for change in plan.diff.changes:
        if change.desired is None:
            continue
        for callee in change.desired.calls:
            if callee in known or not loaded.owns(callee.namespace):
                continue
            plan.problems.append(
                Problem.error(
                    change.desired.origin,
                    f"calls flow {callee.ref}, which namespace {callee.namespace} does not "
                    "declare here and the server does not hold",
                    "missing_flow",
                )
            )


def _review(client: WeirClient, plan: Plan, resolved: Resolved) -> None:
    flows = plan.observed.flows
    for change in plan.diff.changes + plan.diff.conflicts + plan.diff.deletes:
        key = change.key
        if key.kind != "flow":
            continue
        before = flows[key].source if key in flows else None
        if change.action == "delete" and not plan.prune:
            plan.kept[key] = active_triggers(before)  # stays, and so do its schedules
            continue
        after = change.desired.value if change.desired is not None else None
        if change.action == "update":
            plan.fields[key] = field_changes(before, after)
        plan.schedules.extend(schedule_changes(key, before, after))
    deletes = plan.diff.deletes if plan.prune else []
    server: dict[Key, str | None] = {key: flow.source for key, flow in flows.items()}
    check = ContractCheck(client, resolved, server)
    plan.contracts = check.run(
        plan.diff.changes + plan.diff.conflicts + deletes, {c.key for c in deletes}
    )
