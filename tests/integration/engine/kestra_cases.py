"""The Kestra test flows of the corpus and what Kestra's own tests expect of them.

``EXPECTED.tsv`` (beside the corpus) gives, per flow, the final state, the number of task runs
and the inputs Kestra's tests use. A case is run here when its flow validates and its expectation
is about a plain run of that flow; the others are listed in ``NOT_A_PLAIN_RUN`` with the reason,
so every exclusion is visible.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Flows whose expectation needs more than starting the flow with inputs and waiting: another
# process (a trigger, the HTTP API, a restart), an outside resume, or a set-up the row describes.
NOT_A_PLAIN_RUN = {
    "for-each-item-outputs-subflow.yaml": "started only by a ForEachItem parent",
    "for-each-item-subflow-failed.yaml": "started only by a ForEachItem parent",
    "for-each-item-subflow.yaml": "started only by a ForEachItem parent",
    "inputs-small-files.yaml": "started through the HTTP API with a multipart upload",
    "inputs-large.yaml": "the expectation is about log timing of an 11 kB input",
    **{
        name: "started with a FILE of items: tests/integration/compat/test_foreachitem.py"
        for name in (
            "for-each-item.yaml",
            "for-each-item-failed.yaml",
            "for-each-item-no-wait.yaml",
            "for-each-item-outputs.yaml",
            "task-allow-failure-executable-foreachitem.yaml",
            "task-allow-warning-executable-foreachitem.yaml",
        )
    },
    "state.yaml": (
        "run three times under one fresh state name, and once with state=each: "
        "tests/integration/compat/test_state.py does that"
    ),
    "minimal-bis.yaml": "started through the HTTP API",
    "flow-trigger-preconditions-flow-listen.yaml": "started only by its Flow trigger",
    "trigger-flow-listener-namespace-condition.yaml": "started only by its Flow trigger",
    "trigger-flow-listener-no-inputs.yaml": "started only by its Flow trigger",
    "trigger-flow-listener-with-pause.yaml": "started only by its Flow trigger",
    "trigger-flow-listener.yaml": "started only by its Flow trigger",
    "trigger-multiplecondition-listener.yaml": "started only by its Flow trigger",
    "subflow-child.yaml": "run as the subflow of subflow-parent",
    "subflow-grand-child.yaml": "run as the subflow of subflow-child",
    "restart_with_inputs.yaml": "the expectation is about a refused restart",
    "resume-execution.yaml": (
        "needs a PAUSED execution of flow pause: "
        "tests/integration/compat/test_core_executions.py resumes one"
    ),
    # The chain of executions is asserted in test_engine_commands.py.
    "retry-new-execution-flow-attempts.yaml": "the state is that of the last of 3 executions",
    "retry-new-execution-flow-duration.yaml": "the state is that of the last of 3 executions",
    "retry-new-execution-task-attempts.yaml": "the state is that of the last of 3 executions",
    "retry-new-execution-task-duration.yaml": "the state is that of the last of 3 executions",
}


@dataclass(frozen=True)
class Case:
    file: str
    name: str
    flow_id: str
    state: str | None
    task_runs: int | None
    at_least: bool
    """``task_runs`` is a minimum (Kestra's test asserts ``>=``)."""
    inputs: dict[str, Any]
    raw: bool

    def __str__(self) -> str:
        return self.name


def load_cases(corpus: Path) -> list[Case]:
    with (corpus / "EXPECTED.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    cases = []
    for row in rows:
        state = row["expected_state"] or None
        count_text = row["taskrun_count"]
        at_least = count_text.startswith(">=")
        count = int(count_text.removeprefix(">=")) if count_text else None
        if state is None and count is None:
            continue
        name = row["filename"].split("__")[-1]
        inputs, raw = parse_inputs(row["inputs_used"])
        # Kestra's test starts the flow without a required input: no validation of inputs.
        raw = raw or "is declared required" in row["other_assertions"]
        cases.append(
            Case(row["filename"], name, row["flow_id"], state, count, at_least, inputs, raw)
        )
    return cases


_ANNOTATION = re.compile(r"\s*\((boolean|booleans|integer|float|[^)]*)\)\s*$")


def parse_inputs(text: str) -> tuple[dict[str, Any], bool]:
    """``(raw) a=1 (integer);b=x`` -> ({'a': 1, 'b': 'x'}, True)."""
    raw = text.startswith("(raw)")
    text = text.removeprefix("(raw)").strip()
    inputs: dict[str, Any] = {}
    if not text or "=" not in text:
        return inputs, raw
    for part in text.split(";"):
        key, _, value = part.partition("=")
        match = _ANNOTATION.search(value)
        kind = match.group(1) if match else ""
        value = _ANNOTATION.sub("", value) if match else value
        if value.startswith("<local text file"):
            inputs[key.strip()] = b"hello\n"
            continue
        if value.startswith("<"):
            continue
        inputs[key.strip()] = _typed(value.replace("\\n", "\n"), kind)
    return inputs, raw


def _typed(value: str, kind: str) -> Any:
    if kind in ("boolean", "booleans"):
        return value == "true"
    if kind == "integer":
        return int(value)
    if kind == "float":
        return float(value)
    if value.startswith("[") and value.endswith("]"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
