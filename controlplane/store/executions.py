"""Executions and their task runs: the engine's hot path.

The engine calls ``update_execution`` after every step, so its statements are Core statements
compiled once per dialect and run on the driver's cursor (``prepared.py``): an UPDATE of the
execution row, an upsert of the changed task runs in one executemany; nothing is tracked by an
ORM session. A task run's ``ordinal`` is its place in
``Execution.task_runs`` when first written; the upsert never changes it, so reads return task
runs in creation order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Delete,
    Dialect,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from controlplane.engine.model import TERMINAL, Execution, State, TaskRun
from controlplane.engine.ports import ExecutionFilter, LastRun
from controlplane.store.columns import in_namespace
from controlplane.store.errors import MissingRecordError
from controlplane.store.prepared import Prepared, PreparedSet
from controlplane.store.tables import EXECUTIONS, LOGS, METRICS, TASK_RUNS

# States that hold one of the flow's concurrency slots.
SLOT_STATES = (State.RUNNING, State.PAUSED, State.KILLING)


_OLDEST_QUEUED = (
    select(EXECUTIONS.c.id)
    .where(
        EXECUTIONS.c.namespace == bindparam("namespace"),
        EXECUTIONS.c.flow_id == bindparam("flow_id"),
        EXECUTIONS.c.state == State.QUEUED.value,
    )
    .order_by(EXECUTIONS.c.start_date, EXECUTIONS.c.id)
    .limit(1)
)
"""The engine asks it each time an execution ends (ix_executions_flow_state)."""


_EXECUTION_KEYS = (
    "namespace", "flow_id", "flow_revision", "state", "start_date", "end_date", "labels",
    "document",
)  # fmt: skip
_TASK_RUN_KEYS = ("id", "execution_id", "ordinal", "task_id", "state", "document")


@dataclass(frozen=True)
class _Statements:
    insert_execution: Prepared
    update_execution: Prepared
    upsert_task_runs: Prepared
    read_document: Prepared
    read_document_for_update: Prepared
    read_task_runs: Prepared
    oldest_queued: Prepared
    delete_execution: Delete
    document: Callable[[Any], Any]
    """Reads a JSON column's value as the driver returns it."""


def _build(dialect: Dialect) -> _Statements:
    upsert: Any = (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(TASK_RUNS)
    upsert = upsert.on_conflict_do_update(
        index_elements=[TASK_RUNS.c.id],
        set_={
            "task_id": upsert.excluded.task_id,
            "state": upsert.excluded.state,
            "document": upsert.excluded.document,
        },
    )
    document = select(EXECUTIONS.c.document).where(EXECUTIONS.c.id == bindparam("id"))
    runs = (
        select(TASK_RUNS.c.document)
        .where(TASK_RUNS.c.execution_id == bindparam("id"))
        .order_by(TASK_RUNS.c.ordinal)
    )
    update = EXECUTIONS.update().where(EXECUTIONS.c.id == bindparam("_id"))
    reader = EXECUTIONS.c.document.type.dialect_impl(dialect).result_processor(dialect, None)
    return _Statements(
        insert_execution=Prepared(insert(EXECUTIONS), dialect, ("id", *_EXECUTION_KEYS)),
        update_execution=Prepared(update, dialect, _EXECUTION_KEYS),
        upsert_task_runs=Prepared(upsert, dialect, _TASK_RUN_KEYS),
        # PostgreSQL locks the row; SQLite renders no clause (its unit already holds the
        # database's write lock from BEGIN IMMEDIATE).
        read_document=Prepared(document, dialect),
        read_document_for_update=Prepared(document.with_for_update(), dialect),
        read_task_runs=Prepared(runs, dialect),
        oldest_queued=Prepared(_OLDEST_QUEUED, dialect),
        delete_execution=delete(EXECUTIONS).where(EXECUTIONS.c.id == bindparam("_id")),
        document=reader if reader is not None else _unchanged,
    )


def _unchanged(value: Any) -> Any:
    return value


_STATEMENTS = PreparedSet(_build)


def _execution_values(execution: Execution) -> dict[str, Any]:
    # replace() leaves the caller's object alone and spares serializing every task run.
    document = replace(execution, task_runs=[]).to_dict()
    del document["taskRuns"]
    return {
        "namespace": execution.namespace,
        "flow_id": execution.flow_id,
        "flow_revision": execution.flow_revision,
        "state": execution.state.value,
        "start_date": execution.started,
        "end_date": execution.ended,
        "labels": execution.labels,
        "document": document,
    }


def _ordinals(execution: Execution, changed: Sequence[TaskRun]) -> list[int]:
    """Where each changed run sits in the execution, searched from the end where most are."""
    wanted = {run.id: -1 for run in changed}
    missing = len(wanted)
    runs = execution.task_runs
    for index in range(len(runs) - 1, -1, -1):
        if wanted.get(runs[index].id) == -1:
            wanted[runs[index].id] = index
            missing -= 1
            if not missing:
                break
    if missing:
        strays = ", ".join(run_id for run_id, index in wanted.items() if index < 0)
        raise MissingRecordError(
            f"task runs {strays} are not part of execution {execution.id}; "
            "append them to Execution.task_runs before saving"
        )
    return [wanted[run.id] for run in changed]


def _task_run_values(
    execution_id: str, runs: Sequence[TaskRun], ordinals: Sequence[int]
) -> list[dict[str, Any]]:
    return [
        {
            "id": run.id,
            "execution_id": execution_id,
            "ordinal": ordinal,
            "task_id": run.task_id,
            "state": run.state.value,
            "document": run.to_dict(),
        }
        for run, ordinal in zip(runs, ordinals, strict=True)
    ]


def _execution(document: dict[str, Any], task_runs: list[dict[str, Any]]) -> Execution:
    return Execution.from_dict({**document, "taskRuns": task_runs})


def _namespace_range(prefix: str) -> ColumnElement[bool]:
    """What ``in_namespace`` keeps, as a range of ix_executions_flow_state: ``prefix`` and the
    names that start with ``prefix.`` lie in [prefix, prefix + "/") in binary order ("/" comes
    right after "."). SQLite compares text in binary order; PostgreSQL's collation may not,
    so it is used on SQLite only, beside ``in_namespace``, never instead of it."""
    return and_(EXECUTIONS.c.namespace >= prefix, EXECUTIONS.c.namespace < prefix + "/")


def _narrowed(narrow: ExecutionFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        EXECUTIONS.c.labels[key].as_string() == value for key, value in narrow.labels.items()
    ]
    if narrow.since is not None:
        conditions.append(EXECUTIONS.c.start_date >= narrow.since)
    if narrow.until is not None:
        conditions.append(EXECUTIONS.c.start_date < narrow.until)
    return conditions


def _filters(flow_id: str | None, states: Sequence[State] | None) -> list[ColumnElement[bool]]:
    conditions = []
    if flow_id is not None:
        conditions.append(EXECUTIONS.c.flow_id == flow_id)
    if states is not None:
        conditions.append(EXECUTIONS.c.state.in_([state.value for state in states]))
    return conditions


class SqlExecutionRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._sql = _STATEMENTS.of(connection.dialect)

    def create_execution(self, execution: Execution) -> None:
        values = {"id": execution.id, **_execution_values(execution)}
        self._sql.insert_execution.rowcount(self._db, values)
        runs = execution.task_runs
        if runs:
            rows = _task_run_values(execution.id, runs, range(len(runs)))
            self._sql.upsert_task_runs.execute_many(self._db, rows)

    def read_execution(self, execution_id: str, for_update: bool = False) -> Execution | None:
        sql = self._sql
        read = sql.read_document_for_update if for_update else sql.read_document
        document = read.scalar(self._db, {"id": execution_id})
        if document is None:
            return None
        runs = sql.read_task_runs.column(self._db, {"id": execution_id})
        return _execution(sql.document(document), [sql.document(run) for run in runs])

    def read_execution_state(self, execution_id: str) -> State | None:
        query = select(EXECUTIONS.c.state).where(EXECUTIONS.c.id == execution_id)
        state = self._db.execute(query).scalar_one_or_none()
        return State(state) if state is not None else None

    def update_execution(
        self,
        execution: Execution,
        changed: Iterable[TaskRun],
        removed: Iterable[str] = (),
        *,
        row: bool = True,
    ) -> None:
        removed = list(removed)
        if row or removed:
            values = {"_id": execution.id, **_execution_values(execution)}
            if self._sql.update_execution.rowcount(self._db, values) == 0:
                raise MissingRecordError(
                    f"execution {execution.id} is not stored; create it before updating it"
                )
        if removed:
            # Rare (a restart drops error branches): rewrite every run so the order stays true.
            self._db.execute(delete(TASK_RUNS).where(TASK_RUNS.c.execution_id == execution.id))
            changed = execution.task_runs
        runs = list(changed)
        if runs:
            rows = _task_run_values(execution.id, runs, _ordinals(execution, runs))
            self._sql.upsert_task_runs.execute_many(self._db, rows)

    def list_executions(
        self,
        namespace: str | None = None,
        flow_id: str | None = None,
        states: Sequence[State] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Execution]:
        conditions = []
        if namespace is not None:
            conditions.append(EXECUTIONS.c.namespace == namespace)
        conditions += _filters(flow_id, states)
        return self._page(conditions, limit, offset)

    def search_executions(
        self,
        namespace_prefix: str | None = None,
        flow_id: str | None = None,
        states: Sequence[State] | None = None,
        reach: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
        narrow: ExecutionFilter | None = None,
    ) -> tuple[list[Execution], int]:
        conditions = _filters(flow_id, states)
        if namespace_prefix:
            conditions.append(in_namespace(EXECUTIONS.c.namespace, namespace_prefix))
            if self._db.dialect.name == "sqlite":
                conditions.append(_namespace_range(namespace_prefix))
        if reach:
            conditions.append(or_(*(in_namespace(EXECUTIONS.c.namespace, p) for p in reach)))
        narrow = narrow or ExecutionFilter()
        conditions += _narrowed(narrow)
        matching = select(EXECUTIONS.c.id).where(*conditions)
        if narrow.count_up_to is not None:
            matching = matching.limit(narrow.count_up_to + 1)
        total = self._db.execute(select(func.count()).select_from(matching.subquery())).scalar_one()
        if narrow.after_id is not None:
            after = self._after(narrow.after_id)
            if after is None:
                return [], int(total)
            conditions.append(after)
        return self._page(conditions, limit, offset), int(total)

    def _after(self, execution_id: str) -> ColumnElement[bool] | None:
        """Keyset paging: the executions that come after ``execution_id`` newest first."""
        query = select(EXECUTIONS.c.start_date).where(EXECUTIONS.c.id == execution_id)
        started = self._db.execute(query).scalar_one_or_none()
        if started is None:
            return None
        # The first term alone is a range of ix_executions_start_date; the OR then only
        # breaks ties between executions that started at the same instant.
        return and_(
            EXECUTIONS.c.start_date <= started,
            or_(EXECUTIONS.c.start_date < started, EXECUTIONS.c.id < execution_id),
        )

    def list_last_runs(self, flows: Sequence[tuple[str, str]]) -> dict[tuple[str, str], LastRun]:
        if not flows:
            return {}
        # Grouped on (namespace, flow_id), which ix_executions_flow_state leads with; ordering
        # by start date with a limit would walk ix_executions_start_date from the newest row
        # until each flow's latest, far down for a quiet flow.
        wanted = or_(
            *(
                and_(EXECUTIONS.c.namespace == namespace, EXECUTIONS.c.flow_id == flow_id)
                for namespace, flow_id in flows
            )
        )
        latest = (
            select(
                EXECUTIONS.c.namespace,
                EXECUTIONS.c.flow_id,
                func.max(EXECUTIONS.c.start_date).label("started"),
            )
            .where(wanted)
            .group_by(EXECUTIONS.c.namespace, EXECUTIONS.c.flow_id)
            .subquery()
        )
        query = select(
            EXECUTIONS.c.id, EXECUTIONS.c.namespace, EXECUTIONS.c.flow_id, EXECUTIONS.c.state,
            EXECUTIONS.c.start_date,
        ).join(
            latest,
            and_(
                EXECUTIONS.c.namespace == latest.c.namespace,
                EXECUTIONS.c.flow_id == latest.c.flow_id,
                EXECUTIONS.c.start_date == latest.c.started,
            ),
        )  # fmt: skip
        found: dict[tuple[str, str], LastRun] = {}
        for row in self._db.execute(query.order_by(EXECUTIONS.c.id)):
            found[(row.namespace, row.flow_id)] = LastRun(row.id, State(row.state), row.start_date)
        return found

    def count_executions_by_state(self) -> dict[State, int]:
        query = select(EXECUTIONS.c.state, func.count()).group_by(EXECUTIONS.c.state)
        return {State(state): int(count) for state, count in self._db.execute(query)}

    def _page(
        self, conditions: list[ColumnElement[bool]], limit: int, offset: int
    ) -> list[Execution]:
        """The executions that meet every condition, newest first, with their task runs."""
        query = (
            select(EXECUTIONS.c.id, EXECUTIONS.c.document)
            .where(*conditions)
            .order_by(EXECUTIONS.c.start_date.desc(), EXECUTIONS.c.id.desc())
        )
        rows = self._db.execute(query.limit(limit).offset(offset)).all()
        if not rows:
            return []
        runs: dict[str, list[dict[str, Any]]] = {row.id: [] for row in rows}
        query_runs = (
            select(TASK_RUNS.c.execution_id, TASK_RUNS.c.document)
            .where(TASK_RUNS.c.execution_id.in_(list(runs)))
            .order_by(TASK_RUNS.c.execution_id, TASK_RUNS.c.ordinal)
        )
        for run in self._db.execute(query_runs):
            runs[run.execution_id].append(run.document)
        return [_execution(row.document, runs[row.id]) for row in rows]

    def list_unfinished_execution_ids(self) -> list[str]:
        query = (
            select(EXECUTIONS.c.id)
            .where(EXECUTIONS.c.state.not_in([state.value for state in TERMINAL]))
            .order_by(EXECUTIONS.c.start_date, EXECUTIONS.c.id)
        )
        return list(self._db.execute(query).scalars())

    def count_running(self, namespace: str, flow_id: str) -> int:
        query = select(func.count()).where(
            EXECUTIONS.c.namespace == namespace,
            EXECUTIONS.c.flow_id == flow_id,
            EXECUTIONS.c.state.in_([state.value for state in SLOT_STATES]),
        )
        return int(self._db.execute(query).scalar_one())

    def oldest_queued(self, namespace: str, flow_id: str) -> str | None:
        values = {"namespace": namespace, "flow_id": flow_id}
        found: str | None = self._sql.oldest_queued.scalar(self._db, values)
        return found

    def count_by_flow(
        self,
        namespaces: Sequence[str],
        flows: Sequence[tuple[str, str]],
        states: Sequence[State] | None,
        narrow: ExecutionFilter,
    ) -> dict[tuple[str, str], int]:
        which: list[ColumnElement[bool]] = []
        if namespaces:
            which.append(EXECUTIONS.c.namespace.in_(namespaces))
        which += [
            and_(EXECUTIONS.c.namespace == namespace, EXECUTIONS.c.flow_id == flow_id)
            for namespace, flow_id in flows
        ]
        if not which:
            return {}
        conditions = [or_(*which), *_filters(None, states), *_narrowed(narrow)]
        key = (EXECUTIONS.c.namespace, EXECUTIONS.c.flow_id)
        query = select(*key, func.count()).where(*conditions).group_by(*key)
        return {(row[0], row[1]): int(row[2]) for row in self._db.execute(query)}

    def delete_execution(self, execution_id: str) -> bool:
        """Delete the execution with its task runs (cascade), logs and metrics."""
        self._db.execute(delete(LOGS).where(LOGS.c.execution_id == execution_id))
        self._db.execute(delete(METRICS).where(METRICS.c.execution_id == execution_id))
        result = self._db.execute(self._sql.delete_execution, {"_id": execution_id})
        return result.rowcount > 0
