"""How an execution read from a server prints: its state, task runs with durations, inputs and
outputs, with the values of SECRET inputs masked everywhere they appear."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from controlplane.client.models import TERMINAL_STATES, parse_time, state_of
from controlplane.masking import MASK, Masker

if TYPE_CHECKING:
    from controlplane.client import WeirClient
    from controlplane.client.models import Execution

ROW_HEADER = ("ID", "FLOW", "STATE", "STARTED", "DURATION")
_REVEALING = ("inputs", "outputs", "error", "variables")
"""Where an execution's document may hold what a task made of an input; ids and states are
left alone."""


class Secrets:
    """Masks the values of the SECRET inputs an execution's flow revision declares."""

    def __init__(self, client: WeirClient) -> None:
        self._client = client
        self._declared: dict[tuple[str, str, int | None], list[str]] = {}

    def masked(self, execution: Execution) -> dict[str, Any]:
        """The execution's document with every SECRET input's value replaced by a mask."""
        revision = execution.raw.get("flowRevision")
        ids = self._secret_ids(execution.namespace, execution.flow_id, revision)
        values = [v for v in (_dotted(execution.inputs, i) for i in ids) if v not in (None, "")]
        masker = Masker((str(v) for v in values), shortest=1)
        document = dict(execution.raw)
        for key in _REVEALING:
            document[key] = masker.mask_value(copy.deepcopy(document.get(key)))
        document["taskRunList"] = [
            {**run, **{key: masker.mask_value(run.get(key)) for key in ("outputs", "attempts")}}
            for run in execution.task_runs
        ]
        inputs = document.get("inputs")
        for input_id in ids:
            if isinstance(inputs, dict) and _dotted(inputs, input_id) is not None:
                _set_dotted(inputs, input_id, MASK)
        return document

    def _secret_ids(self, namespace: str, flow_id: str, revision: Any) -> list[str]:
        from controlplane.client import NotFound

        key = (namespace, flow_id, revision if isinstance(revision, int) else None)
        if key not in self._declared:
            try:
                flow = self._client.flows.get(namespace, flow_id, revision=key[2])
                found = [i.id for i in flow.inputs if i.type == "SECRET"]
            except NotFound:
                found = []
            self._declared[key] = found
        return self._declared[key]


def execution_lines(execution: Execution, document: dict[str, Any]) -> list[str]:
    """``weir execution show``: what a person reads, from the masked ``document``."""
    revision = document.get("flowRevision")
    at = f" (revision {revision})" if revision is not None else ""
    state = state_of(document.get("state"))
    lines = [
        f"execution {execution.id} of {execution.namespace}/{execution.flow_id}{at}",
        f"state     {state}{_after(_took(document.get('state')))}{_started(document.get('state'))}",
    ]
    if document.get("error"):
        lines.append(f"error     {' '.join(str(document['error']).split())}")
    labels = {
        k: v for k, v in (document.get("labels") or {}).items() if k != "system.correlationId"
    }
    if labels:
        lines.append("labels    " + ", ".join(f"{k}={v}" for k, v in labels.items()))
    lines += _values("inputs", document.get("inputs"))
    runs = document.get("taskRunList") or []
    lines.append("task runs" if runs else "task runs (none yet)")
    width = max((len(_run_label(run)) for run in runs), default=0)
    for run in runs:
        lines.append(_run_line(run, width))
    lines += _values("outputs", document.get("outputs"))
    return lines


def execution_row(execution: Execution) -> tuple[str, str, str, str, str]:
    """``weir execution list``: one row of the table."""
    state = execution.raw.get("state")
    started = _first(state)
    return (
        execution.id,
        f"{execution.namespace}/{execution.flow_id}",
        execution.state,
        started.strftime("%Y-%m-%d %H:%M:%S") if started else "",
        _took(state) or "-",
    )


def _run_label(run: dict[str, Any]) -> str:
    value = run.get("value")
    return str(run.get("taskId", "")) + (f"[{value}]" if value is not None else "")


def _run_line(run: dict[str, Any], width: int) -> str:
    state = state_of(run.get("state"))
    attempts = run.get("attempts") or []
    line = f"  {state:<9} {_run_label(run):<{width}}  {_took(run.get('state'))}".rstrip()
    if len(attempts) > 1:
        line += f" ({len(attempts)} attempts)"
    errors = [a["error"] for a in attempts if isinstance(a, dict) and a.get("error")]
    if errors and state not in ("SUCCESS", "WARNING"):
        line += f"\n      error: {' '.join(str(errors[-1]).split())}"
    return line


def _values(title: str, values: Any) -> list[str]:
    if not values:
        return [f"{title} (none)"]
    lines = [title]
    for key, value in values.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        lines.append(f"  {key}: {shown}")
    return lines


def _after(took: str) -> str:
    return f" after {took}" if took else ""


def _first(state: Any) -> datetime | None:
    histories = state.get("histories") if isinstance(state, dict) else None
    return parse_time(histories[0].get("date")) if histories else None


def _started(state: Any) -> str:
    first = _first(state)
    return f" (created {first.strftime('%Y-%m-%d %H:%M:%S %Z')})" if first else ""


def _took(state: Any) -> str:
    """``1.25 s`` from the first to the last transition, once the state is terminal."""
    histories = state.get("histories") if isinstance(state, dict) else None
    if not histories or state_of(state) not in TERMINAL_STATES:
        return ""
    first, last = parse_time(histories[0].get("date")), parse_time(histories[-1].get("date"))
    if first is None or last is None:
        return ""
    return _duration((last - first).total_seconds())


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _dotted(values: dict[str, Any], key: str) -> Any:
    """An input by id; a dotted id is nested (``db.password`` under ``db``)."""
    if key in values:
        return values[key]
    found: Any = values
    for part in key.split("."):
        if not isinstance(found, dict) or part not in found:
            return None
        found = found[part]
    return found


def _set_dotted(values: dict[str, Any], key: str, value: Any) -> None:
    if key in values:
        values[key] = value
        return
    *parents, last = key.split(".")
    for part in parents:
        values = values[part]
    values[last] = value
