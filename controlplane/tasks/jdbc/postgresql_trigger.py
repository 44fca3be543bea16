"""``postgresql.Trigger``: runs ``sql`` as a PostgreSQL ``Query`` does at each evaluation and
fires when it returns at least one row, with ``trigger.rows`` (``fetchType: FETCH``, the
default), ``trigger.row`` (FETCH_ONE) or the Ion file ``trigger.uri`` (STORE), and
``trigger.size``. The query decides what is new: select only the rows not handled yet (a
``processed_at`` column the flow sets, a watermark), or every poll fires again for them."""

from __future__ import annotations

from typing import Any

from controlplane.engine.runnable import RunContext, TaskFailed, runs
from controlplane.spec.plugins.jdbc import PostgresQuery
from controlplane.spec.plugins.polling import PostgresTrigger
from controlplane.tasks import props
from controlplane.tasks.jdbc.postgresql import _run_postgres
from controlplane.tasks.polled import as_task

_FETCH_TYPES = ("FETCH", "FETCH_ONE", "STORE")


@runs(PostgresTrigger)
def poll_postgres(trigger: PostgresTrigger, ctx: RunContext) -> dict[str, Any] | None:
    query = as_task(
        PostgresQuery, trigger, fetchType=_fetch_type(trigger, ctx), fetch=False,
        fetchOne=False, store=False,
    )  # fmt: skip
    outputs = _run_postgres(query, ctx)
    if not outputs.get("size"):
        return None
    return {name: value for name, value in outputs.items() if value is not None}


def _fetch_type(trigger: PostgresTrigger, ctx: RunContext) -> str:
    if trigger.fetch:
        return "FETCH"
    if trigger.fetchOne:
        return "FETCH_ONE"
    if trigger.store:
        return "STORE"
    fetch_type = props.text(ctx, trigger.fetchType).upper()
    if fetch_type not in _FETCH_TYPES:
        raise TaskFailed(
            f"'fetchType' of a trigger must be FETCH, FETCH_ONE or STORE, not {fetch_type}: "
            "a trigger fires only on the rows it fetches"
        )
    return fetch_type
