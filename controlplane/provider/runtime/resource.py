"""What a resource or a data source implements, and the planning every resource shares.

A resource answers CRUD on plain dicts shaped like its schema (the runtime adds missing
attributes and drops write-only values from anything it returns), raises
:class:`~controlplane.provider.runtime.diagnostics.ProviderError` for problems the user can fix,
and adds warnings to ``ctx.diagnostics``.

Planning (:func:`plan_change`) starts from Terraform's proposed state and is the same for every
resource: write-only values never enter it; on create, computed attributes the configuration
leaves unset become their default or unknown; on update, a changed ``requires_replace``
attribute asks for a replacement, and any change makes the ``volatile`` computed attributes
unknown. A resource refines this in two hooks: :meth:`Resource.normalize` before (to keep the
prior value of an attribute whose change means nothing, such as a flow's YAML formatting), and
:meth:`Resource.modify_plan` after (to compute what can be known at plan time, or to refuse).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from controlplane.provider.runtime.diagnostics import Diagnostics, ProviderError
from controlplane.provider.runtime.schema import Schema
from controlplane.provider.runtime.values import UNKNOWN

State = dict[str, Any]
P = TypeVar("P")


@dataclass
class Plan:
    """A change being planned. ``planned`` is edited in place by the hooks."""

    prior: State | None
    planned: State
    config: State
    private: bytes = b""
    replace: list[str] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)

    @property
    def creating(self) -> bool:
        return self.prior is None

    def changed(self, name: str) -> bool:
        """Whether the attribute's planned value differs from the prior one (always on create)."""
        return self.prior is None or self.planned.get(name) != self.prior.get(name)


@dataclass
class Change:
    """A change being applied: the state before (None on create), the planned state, and the
    configuration, which alone carries write-only values. ``private`` is kept by Terraform
    beside the state and handed back on every later call."""

    prior: State | None
    planned: State
    config: State
    private: bytes = b""
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


@dataclass
class Current:
    """A resource's state as Terraform has it, to be refreshed or removed."""

    state: State
    private: bytes = b""
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


class Resource(ABC, Generic[P]):
    """A managed resource type. ``provider`` is the configured provider's context (the API
    client); validation runs before the provider is configured and must not use it."""

    type_name: ClassVar[str]
    schema: ClassVar[Schema]

    def __init__(self, provider: P) -> None:
        self.provider = provider

    def validate(self, config: State, diagnostics: Diagnostics) -> None:
        """Check a configuration, whose values may be UNKNOWN. Nothing to check by default."""

    def normalize(self, plan: Plan) -> None:
        """Keep prior values whose planned change is not a real one."""

    def modify_plan(self, plan: Plan) -> None:
        """Refine the planned state after the common planning."""

    @abstractmethod
    def create(self, change: Change) -> State: ...

    @abstractmethod
    def read(self, current: Current) -> State | None:
        """The object as it is now, or None when it no longer exists."""

    @abstractmethod
    def update(self, change: Change) -> State: ...

    @abstractmethod
    def delete(self, current: Current) -> None: ...

    def import_state(self, import_id: str) -> Current:
        raise ProviderError(
            f"{self.type_name} cannot be imported",
            f"{self.type_name} has no import; declare it and apply instead.",
        )

    def upgrade(self, version: int, state: State) -> State:
        """A state stored by schema ``version`` in the current schema's shape."""
        if version == self.schema.version:
            return state
        raise ProviderError(
            f"cannot upgrade {self.type_name} state from schema version {version}",
            f"This provider knows version {self.schema.version} of {self.type_name}'s schema.",
        )


class DataSource(ABC, Generic[P]):
    type_name: ClassVar[str]
    schema: ClassVar[Schema]

    def __init__(self, provider: P) -> None:
        self.provider = provider

    def validate(self, config: State, diagnostics: Diagnostics) -> None:
        """Check a configuration, whose values may be UNKNOWN."""

    @abstractmethod
    def read(self, config: State, diagnostics: Diagnostics) -> State: ...


def plan_change(resource: Resource[Any], plan: Plan) -> None:
    """Plan a create or update in place (a destroy is not planned: Terraform sends null)."""
    attributes = resource.schema.attributes
    for attribute in attributes:
        if attribute.write_only:
            plan.planned[attribute.name] = None
    if plan.prior is None:
        for attribute in attributes:
            if attribute.computed and plan.config.get(attribute.name) is None:
                plan.planned[attribute.name] = (
                    attribute.default if attribute.has_default else UNKNOWN
                )
        resource.modify_plan(plan)
        return
    resource.normalize(plan)
    changed = [
        a for a in attributes if a.configurable and not a.write_only and plan.changed(a.name)
    ]
    plan.replace = [a.name for a in changed if a.requires_replace]
    if plan.replace:
        for attribute in attributes:
            if attribute.computed and plan.config.get(attribute.name) is None:
                plan.planned[attribute.name] = UNKNOWN
    elif changed:
        for attribute in attributes:
            if attribute.volatile:
                plan.planned[attribute.name] = UNKNOWN
    resource.modify_plan(plan)
