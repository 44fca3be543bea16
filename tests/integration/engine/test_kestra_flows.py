"""Kestra's own test flows run to the state, and the number of task runs, its tests expect.

Every case of ``EXPECTED.tsv`` whose flow validates and whose expectation is about a plain run
is run here, on SQLite and on PostgreSQL: its state, its number of task runs, and the outputs,
attempts and log lines Kestra's tests check (``kestra_outputs.CHECKS``). A case the engine does not meet yet is marked with
what it lacks (strict: the mark fails once the case passes, so the list stays true).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.engine.engine import Engine
from controlplane.engine.model import State
from controlplane.spec.validate import validate_file
from controlplane.store import SqlStore
from tests.conftest import CORPUS
from tests.integration.engine.kestra_cases import NOT_A_PLAIN_RUN, Case, load_cases
from tests.integration.engine.kestra_outputs import CHECKS
from tests.waiting import ended

# Cases the engine does not meet yet, with what is missing.
NOT_YET: dict[str, str] = {}


def _cases() -> list[object]:
    params: list[object] = []
    for case in load_cases(CORPUS):
        if case.name in NOT_A_PLAIN_RUN or not validate_file(CORPUS / case.file).ok:
            continue
        marks = []
        if case.name in NOT_YET:
            marks.append(pytest.mark.xfail(reason=NOT_YET[case.name], strict=True))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.mark.parametrize("case", _cases())
def test_kestra_flow_ends_as_kestra_expects(
    kestra_engine: tuple[SqlStore, Engine], case: Case, corpus: Path
) -> None:
    store, engine = kestra_engine
    flow = validate_file(corpus / case.file).flow
    assert flow is not None
    execution = engine.create_execution(
        flow.namespace, flow.id, case.inputs, coerce_inputs=not case.raw
    )
    until = {State.PAUSED} if case.state == "PAUSED" else set()
    final = ended(engine, execution.id, until)
    count = len(final.task_runs)
    expected_count = case.task_runs if case.task_runs is not None else count
    if case.at_least:
        expected_count = count if count >= expected_count else expected_count
    observed = (final.state.value, count)
    expected = (case.state or final.state.value, expected_count)
    assert observed == expected, [(r.task_id, r.value, r.state.value) for r in final.task_runs]
    check = CHECKS.get(case.name)
    if check is not None:
        with store.unit() as repos:
            logs = [entry.message for _, entry in repos.logs.list_logs(final.id)]
        check(final, logs)
