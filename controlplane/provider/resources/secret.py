"""``weir_secret``: a secret whose value Terraform sends to Weir and never keeps.

The value is a write-only attribute (Terraform 1.11): it is read from the configuration at apply
and is in neither the plan nor the state. Since the server never answers a value either, drift
is told by the server's fingerprint, a keyed hash that changes with the value: the fingerprint
the server answered to Terraform's last write is kept in the resource's private data, and a
refreshed fingerprint that differs from it means the value was changed outside Terraform, so an
update that writes ``value_wo`` again is planned. As with every write-only value, changing
``value_wo`` alone plans nothing: ``value_wo_version`` says when to write it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from controlplane.provider.resources.common import (
    REVISION,
    WeirResource,
    check_pattern,
    created,
    id_attribute,
    namespace_attribute,
    read_or_none,
    split_id,
    writing,
)
from controlplane.provider.runtime.diagnostics import Diagnostics, ProviderError
from controlplane.provider.runtime.resource import Change, Current, Plan, State
from controlplane.provider.runtime.schema import NUMBER, STRING, Attribute, Schema
from controlplane.provider.runtime.values import UNKNOWN
from controlplane.spec.names import SECRET_NAME_MAX, SECRET_NAME_PATTERN

if TYPE_CHECKING:
    from controlplane.client.models import SecretMeta

ID_FORM = "namespace/name"
NAME_RULE = (
    "A secret's name has 1 to 200 letters, digits, '_', '.' and '-', and does not start with "
    "'.' or '-', such as DB_PASSWORD."
)


class SecretResource(WeirResource):
    type_name = "weir_secret"
    schema = Schema(
        description="A secret of a namespace, read by flows as `{{ secret('NAME') }}`. Its value "
        "is write-only: Terraform sends it to Weir and keeps it in neither the plan nor the "
        "state.",
        attributes=(
            id_attribute(ID_FORM),
            namespace_attribute("secret"),
            Attribute(
                "name",
                STRING,
                "The secret's name, such as `DB_PASSWORD`: letters, digits, `_`, `.` and `-`. "
                "Changing it replaces the secret.",
                required=True,
                requires_replace=True,
            ),
            Attribute(
                "value_wo",
                STRING,
                "The secret's value. Write-only: Terraform sends it to Weir and never stores it. "
                "A new value is written when `value_wo_version` changes, or when the value on "
                "the server was changed outside Terraform.",
                required=True,
                write_only=True,
                sensitive=True,
            ),
            Attribute(
                "value_wo_version",
                NUMBER,
                "Change it to write a new `value_wo`: Terraform cannot compare a write-only "
                "value with the last one, so a changed value alone plans nothing.",
                optional=True,
            ),
            Attribute(
                "fingerprint",
                STRING,
                "The server's keyed hash of the value: equal values have equal fingerprints, "
                "and it tells nothing about the value.",
                computed=True,
            ),
            REVISION,
        ),
    )

    def validate(self, config: State, diagnostics: Diagnostics) -> None:
        check_pattern(config, "name", SECRET_NAME_PATTERN, SECRET_NAME_MAX, NAME_RULE, diagnostics)

    def modify_plan(self, plan: Plan) -> None:
        """Plan a write of the value when its version changed, or when the server's fingerprint
        is no longer the one Terraform's last write got (the value was changed elsewhere)."""
        if plan.prior is None:
            return
        written = _written_fingerprint(plan.private)
        drifted = written is not None and plan.prior.get("fingerprint") != written
        if drifted:
            plan.diagnostics.warning(
                f"the value of secret {_label(plan.prior)} was changed outside Terraform",
                "Its fingerprint on the server is no longer the one of the value Terraform "
                "wrote; this apply writes value_wo again.",
            )
        if drifted or plan.changed("value_wo_version"):
            plan.planned["fingerprint"] = UNKNOWN
            plan.planned["revision"] = UNKNOWN

    def create(self, change: Change) -> State:
        return self._set(change, if_match=0)

    def update(self, change: Change) -> State:
        assert change.prior is not None
        return self._set(change, if_match=change.prior["revision"])

    def read(self, current: Current) -> State | None:
        state = current.state
        found = read_or_none(
            lambda: self.provider.client.secrets.get(state["namespace"], state["name"])
        )
        return None if found is None else _state(found, state.get("value_wo_version"))

    def delete(self, current: Current) -> None:
        state = current.state
        with writing(f"secret {_label(state)}"):
            read_or_none(
                lambda: self.provider.client.secrets.delete(
                    state["namespace"], state["name"], if_match=state["revision"]
                )
            )

    def import_state(self, import_id: str) -> Current:
        """Adopt the secret as it is: its fingerprint counts as written by Terraform, so the
        next plan is empty until ``value_wo_version`` is set or changed."""
        namespace, name = split_id(import_id, ID_FORM)
        with writing(f"secret {name} of namespace {namespace}"):
            found = self.provider.client.secrets.get(namespace, name)
        return Current(_state(found, None), _private(found))

    def _set(self, change: Change, if_match: int) -> State:
        planned = change.planned
        value = change.config.get("value_wo")
        if not isinstance(value, str):
            raise ProviderError(
                f"secret {_label(planned)} has no value",
                "Set value_wo to the secret's value, for example from a sensitive variable.",
                ["value_wo"],
            )
        namespace, name = planned["namespace"], planned["name"]
        creating = None
        if if_match == 0:
            creating = created(
                self.provider, self.type_name, f"{namespace}/{name}",
                "namespaces", namespace, "secrets", name,
            )  # fmt: skip
        with writing(f"secret {_label(planned)}", creating=creating):
            saved = self.provider.client.secrets.set(
                planned["namespace"], planned["name"], value, if_match=if_match
            )
        change.private = _private(saved)
        return _state(saved, planned.get("value_wo_version"))


def _state(found: SecretMeta, version: Any) -> State:
    return {
        "id": f"{found.namespace}/{found.name}",
        "namespace": found.namespace,
        "name": found.name,
        "value_wo": None,
        "value_wo_version": version,
        "fingerprint": found.fingerprint,
        "revision": found.revision,
    }


def _private(found: SecretMeta) -> bytes:
    """What Terraform keeps beside the state: the fingerprint of the value it wrote."""
    return json.dumps({"fingerprint": found.fingerprint}).encode()


def _written_fingerprint(private: bytes) -> str | None:
    if not private:
        return None
    try:
        fingerprint = json.loads(private).get("fingerprint")
    except (ValueError, AttributeError):
        return None
    return fingerprint if isinstance(fingerprint, str) else None


def _label(state: State) -> str:
    return f"{state.get('name')} of namespace {state.get('namespace')}"
