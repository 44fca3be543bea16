"""The unit of work: one transaction, committed at the end, rolled back on an exception."""

from __future__ import annotations

import threading

import pytest

from controlplane.engine.model import Execution, new_id
from controlplane.engine.ports import Store
from controlplane.store import SqlStore


class Boom(Exception):
    pass


def test_an_exception_rolls_back_everything_the_unit_wrote(store: SqlStore) -> None:
    port: Store = store
    run = Execution(id=new_id(), namespace="company.team", flow_id="hello", flow_revision=1)
    with pytest.raises(Boom), port.unit() as repos:
        repos.flows.create_flow_revision("company.team", "hello", "id: hello\n", None)
        repos.executions.create_execution(run)
        repos.kv.update_kv("company.team", "key", "value", "STRING", None)
        repos.secrets.update_secret("company.team", "name", "value")
        raise Boom
    with port.unit() as repos:
        assert repos.flows.list_flows() == []
        assert repos.executions.read_execution(run.id) is None
        assert repos.kv.read_kv("company.team", "key") is None
        assert repos.secrets.list_secrets("company.team") == []


def test_writes_are_visible_to_the_next_unit_once_committed(store: SqlStore) -> None:
    with store.unit() as repos:
        repos.flows.create_flow_revision("company.team", "hello", "id: hello\n", None)
        assert len(repos.flows.list_flows()) == 1  # flushed, visible inside the unit
    with store.unit() as repos:
        assert len(repos.flows.list_flows()) == 1


def test_concurrent_read_for_update_units_lose_no_update(store: SqlStore) -> None:
    run = Execution(id=new_id(), namespace="company.team", flow_id="hello", flow_revision=1)
    run.variables = {"count": 0}
    with store.unit() as repos:
        repos.executions.create_execution(run)

    def increment(times: int) -> None:
        for _ in range(times):
            with store.unit() as repos:
                current = repos.executions.read_execution(run.id, for_update=True)
                assert current is not None
                current.variables["count"] += 1
                repos.executions.update_execution(current, [])

    workers = [threading.Thread(target=increment, args=(25,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with store.unit() as repos:
        final = repos.executions.read_execution(run.id)
    assert final is not None and final.variables["count"] == 100
