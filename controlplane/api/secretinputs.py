"""SECRET inputs as the API shows an execution: masked, as Kestra shows them. The engine keeps the
value (tasks render it, a replay passes it on); no answer carries it back."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.api.flowinfo import interface
from controlplane.engine import model
from controlplane.engine.ports import Store
from controlplane.masking import MASK

_Revision = tuple[str, str, int]


def secret_input_ids(
    store: Store, executions: Iterable[model.Execution]
) -> dict[_Revision, set[str]]:
    """For each flow revision the executions ran, the ids of its SECRET inputs."""
    wanted = {(e.namespace, e.flow_id, e.flow_revision) for e in executions}
    found: dict[_Revision, set[str]] = {}
    with store.unit(read_only=True) as repos:
        for namespace, flow_id, revision in wanted:
            record = repos.flows.read_flow(namespace, flow_id, revision)
            inputs = interface(record).inputs if record is not None else []
            found[(namespace, flow_id, revision)] = {i.id for i in inputs if i.type == "SECRET"}
    return found


def masked(inputs: dict[str, object], secret_ids: set[str]) -> dict[str, object]:
    """``inputs`` with the value of every SECRET input given replaced by the mask."""
    return {k: MASK if k in secret_ids and v is not None else v for k, v in inputs.items()}
