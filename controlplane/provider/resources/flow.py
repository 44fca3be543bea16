"""``weir_flow``: a flow from its YAML source.

The source is kept as written. A change of formatting, key order or comments is no change (the
prior text stays in the plan); a real change shows as a line diff of the YAML, with a warning
naming the lines whose meaning changes when the text was also reformatted. When the source
changes, the plan checks it on the server (``POST /flows/validate``) and fails with each
problem's line and YAML path. ``namespace`` and ``flow_id`` may be left out: they are read from
the source, and when given they must match it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controlplane.provider.flows import declared, same_flow
from controlplane.provider.resources.common import (
    REVISION,
    WeirResource,
    created,
    read_or_none,
    split_id,
    writing,
)
from controlplane.provider.runtime.diagnostics import ProviderError
from controlplane.provider.runtime.resource import Change, Current, Plan, State
from controlplane.provider.runtime.schema import BOOL, STRING, Attribute, Nested, Schema
from controlplane.provider.runtime.values import UNKNOWN

if TYPE_CHECKING:
    from controlplane.client.models import Flow

CONTENT = Attribute(
    "content",
    STRING,
    'The flow\'s YAML source, usually `file("flows/hello.yaml")` or `templatefile(...)`.',
    required=True,
)
INPUT_ATTRIBUTES = (
    Attribute("id", STRING, "The input's id.", required=True),
    Attribute("type", STRING, "Its type: STRING, INT, BOOLEAN, JSON, FILE, ...", required=True),
    Attribute("required", BOOL, "Whether a caller must give it.", optional=True),
    Attribute("description", STRING, "What it is for.", optional=True),
)
OUTPUT_ATTRIBUTES = (
    Attribute("id", STRING, "The output's id.", required=True),
    Attribute("type", STRING, "Its type: STRING, INT, JSON, FILE, ...", required=True),
)


def _computed(attribute: Attribute) -> Attribute:
    return Attribute(attribute.name, attribute.type, attribute.description, computed=True)


COMPUTED_INPUTS = Attribute(
    "inputs",
    None,
    "The flow's inputs, as declared in its source.",
    computed=True,
    volatile=True,
    nested=Nested(tuple(_computed(a) for a in INPUT_ATTRIBUTES)),
)
COMPUTED_OUTPUTS = Attribute(
    "outputs",
    None,
    "The flow's outputs, as declared in its source.",
    computed=True,
    volatile=True,
    nested=Nested(tuple(_computed(a) for a in OUTPUT_ATTRIBUTES)),
)


MANAGED_BY = Attribute(
    "managed_by",
    STRING,
    "Who manages the object on the server: this state (`terraform:<owner>`) after apply. "
    "Another value is drift: a forced takeover or a write by someone else, which the next "
    "apply undoes (or refuses, naming the other owner).",
    computed=True,
)


def key_attributes(what: str) -> tuple[Attribute, ...]:
    return (
        Attribute("id", STRING, "`namespace/flow_id`, also the import id.", computed=True),
        Attribute(
            "namespace",
            STRING,
            f"The {what}'s namespace; read from `content` when left out, and must match it. "
            f"Changing it replaces the {what}.",
            optional=True,
            computed=True,
            requires_replace=True,
        ),
        Attribute(
            "flow_id",
            STRING,
            f"The {what}'s id; read from `content` when left out, and must match it. "
            f"Changing it replaces the {what}.",
            optional=True,
            computed=True,
            requires_replace=True,
        ),
    )


class FlowResource(WeirResource):
    type_name = "weir_flow"
    what = "flow"
    schema = Schema(
        description="A flow, declared by its YAML source (Kestra's flow language).",
        attributes=(
            *key_attributes("flow"),
            CONTENT,
            REVISION,
            MANAGED_BY,
            COMPUTED_INPUTS,
            COMPUTED_OUTPUTS,
        ),
    )

    def normalize(self, plan: Plan) -> None:
        prior, content = (plan.prior or {}).get("content"), plan.planned.get("content")
        if isinstance(prior, str) and isinstance(content, str) and same_flow(prior, content):
            plan.planned["content"] = prior

    def modify_plan(self, plan: Plan) -> None:
        content = plan.planned.get("content")
        if not isinstance(content, str):
            return
        if plan.creating or plan.changed("content"):
            self.check_content(plan, content)
            self.plan_interface(plan, content)
            prior = (plan.prior or {}).get("content")
            self.provider.contracts.check(content, plan.diagnostics, prior)
            if isinstance(prior, str):
                explain_reformatted(self.what, prior, content, plan)
        plan.planned["managed_by"] = self.provider.manager
        if plan.prior is not None and plan.changed("managed_by"):
            plan.planned["revision"] = UNKNOWN  # taking it back writes a revision
        namespace, flow_id = plan.planned.get("namespace"), plan.planned.get("flow_id")
        if isinstance(namespace, str) and isinstance(flow_id, str):
            plan.planned["id"] = f"{namespace}/{flow_id}"

    def plan_interface(self, plan: Plan, content: str) -> None:
        """The inputs and outputs the source declares, known at plan time: an interface that
        does not change shows no change (a subflow declares its own)."""
        from controlplane.spec.interface import declared_interface

        data = declared(content)
        if not data:
            return  # not a flow: the server's validation says where
        found = declared_interface(data)
        plan.planned["inputs"] = [vars(item) for item in found.inputs]
        plan.planned["outputs"] = [vars(item) for item in found.outputs]

    def check_content(self, plan: Plan, content: str) -> None:
        """Fill the key from the source, refuse a mismatch, and validate on the server."""
        found_keys = declared(content)
        for attribute, key in (("namespace", "namespace"), ("flow_id", "id")):
            given, found = plan.config.get(attribute), found_keys.get(key)
            if given is None:
                plan.planned[attribute] = found if isinstance(found, str) else UNKNOWN
            elif isinstance(given, str) and isinstance(found, str) and given != found:
                raise ProviderError(
                    f"the {self.what}'s source declares {key}: {found}, but {attribute} is {given}",
                    f"Make {attribute} and the `{key}:` line of the source agree.",
                    [attribute],
                )
        valid = self.provider.valid_sources
        if valid.known(content):
            problems = []
        else:
            checked = self.provider.client.flows.validate(content)
            problems = [p for each in checked for p in each.problems]
            if not problems:
                valid.remember(content)
        namespace, flow_id = found_keys.get("namespace"), found_keys.get("id")
        name = f"{namespace}/{flow_id}" if namespace and flow_id else "source"
        for problem in problems:
            where = f"line {problem.line}, column {problem.column}" if problem.line else ""
            at = f" at {problem.path}" if problem.path else ""
            detail = f"{where}{at}: {problem.message}" if where or at else problem.message
            if problem.severity == "warning":
                plan.diagnostics.warning(
                    f"{self.what} {name}: {problem.message}", detail, ["content"]
                )
            else:
                plan.diagnostics.error(f"{self.what} {name} is invalid", detail, ["content"])

    def create(self, change: Change) -> State:
        return self._put(change, if_match=0)

    def update(self, change: Change) -> State:
        assert change.prior is not None
        owner = change.prior.get("managed_by")
        force = owner != self.provider.manager and owner in self.provider.take_over
        return self._put(change, if_match=change.prior["revision"], force=force)

    def read(self, current: Current) -> State | None:
        state = current.state
        found = self.provider.flows.get(state["namespace"], state["flow_id"])
        return None if found is None else self.state_of(found, state)

    def delete(self, current: Current) -> None:
        state = current.state
        namespace, flow_id = state["namespace"], state["flow_id"]
        with writing(f"{self.what} {namespace}/{flow_id}"):
            # Already gone is what a delete wants; a newer revision than the state's is refused.
            read_or_none(
                lambda: self.provider.client.flows.delete(
                    namespace, flow_id, if_match=state["revision"]
                )
            )
        self.provider.flows.forget(namespace)

    def import_state(self, import_id: str) -> Current:
        namespace, flow_id = split_id(import_id, "<namespace>/<flow_id>")
        found = self.provider.flows.get(namespace, flow_id)
        if found is None:
            raise ProviderError(
                f"{self.what} {namespace}/{flow_id} does not exist",
                "Check the namespace and id; import ids are <namespace>/<flow_id>.",
            )
        return Current(self.state_of(found, {}))

    def state_of(self, found: Flow, prior: State) -> State:
        content = prior.get("content")
        keep = isinstance(content, str) and same_flow(content, found.source)
        return {
            **prior,
            "id": f"{found.namespace}/{found.id}",
            "namespace": found.namespace,
            "flow_id": found.id,
            "content": content if keep else found.source,
            "revision": found.revision,
            "managed_by": found.managed_by,
            "inputs": inputs_of(found),
            "outputs": outputs_of(found),
        }

    def _put(self, change: Change, if_match: int, force: bool = False) -> State:
        planned = change.planned
        namespace, flow_id = planned["namespace"], planned["flow_id"]
        creating = None
        if if_match == 0:
            creating = created(
                self.provider, self.type_name, f"{namespace}/{flow_id}", "flows", namespace, flow_id
            )
        with writing(f"{self.what} {namespace}/{flow_id}", ["content"], creating):
            saved = self.provider.client.flows.put(
                planned["content"],
                namespace=namespace,
                flow_id=flow_id,
                if_match=if_match,
                force=force,
            )
        self.provider.flows.forget(namespace)
        return self.state_of(saved, planned)


def explain_reformatted(what: str, prior: str, content: str, plan: Plan) -> None:
    """A warning naming the lines whose meaning changes, when the source was also reformatted
    since it was applied: a reformatting alone is no change, so the state keeps the text as
    applied, and Terraform's line diff against it shows every reformatted line."""
    import difflib

    from controlplane.gitops.flows import field_changes

    changes = field_changes(prior, content)
    meaningful = {change.line for change in changes if change.line}
    matcher = difflib.SequenceMatcher(None, prior.splitlines(), content.splitlines(), False)
    rewritten = {
        line + 1
        for tag, _, _, start, end in matcher.get_opcodes()
        if tag != "equal"
        for line in range(start, end)
    }
    if not changes or rewritten <= meaningful:
        return
    listed = [f"- {_change_line(change)}" for change in changes[:MAX_LISTED]]
    if len(changes) > MAX_LISTED:
        listed.append(f"- and {len(changes) - MAX_LISTED} more")
    key = declared(content)
    name = f"{key.get('namespace')}/{key.get('id')}"
    plan.diagnostics.warning(
        f"{what} {name}: the source was reformatted since it was applied",
        f"The diff of content shows {len(rewritten)} rewritten lines; what changes is:\n"
        + "\n".join(listed),
        ["content"],
    )


MAX_LISTED = 20


def _change_line(change: Any) -> str:
    where = f"line {change.line}, " if change.line else ""
    if change.action == "add":
        return f"{where}{change.path}: added {_short(change.after)}"
    if change.action == "remove":
        return f"{where}{change.path}: removed (was {_short(change.before)})"
    return f"{where}{change.path}: {_short(change.before)} -> {_short(change.after)}"


def _short(value: Any, longest: int = 60) -> str:
    import json

    text = json.dumps(value, default=str)
    return text if len(text) <= longest else text[: longest - 3] + "..."


def inputs_of(found: Flow) -> list[dict[str, Any]]:
    """A flow's inputs as the ``inputs`` attribute holds them."""
    return [
        {"id": i.id, "type": i.type, "required": i.required, "description": i.description}
        for i in found.inputs
    ]


def outputs_of(found: Flow) -> list[dict[str, Any]]:
    return [{"id": o.id, "type": o.type} for o in found.outputs]
