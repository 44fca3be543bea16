"""The flow cache parses a stored revision once for every reader of the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.engine.flowcache import FlowCache, flow_cache
from controlplane.engine.model import now
from controlplane.engine.ports import FlowRecord
from controlplane.spec.problems import FlowInvalid
from controlplane.store import StoreSettings, open_store

SOURCE = "id: f\nnamespace: ns\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def _record(source: str, revision: int = 1) -> FlowRecord:
    return FlowRecord("ns", "f", revision, source, None, now())


def test_a_revision_is_parsed_once_and_its_plan_built_once() -> None:
    cache = FlowCache()
    flow = cache.parse(_record(SOURCE))
    assert cache.parse(_record(SOURCE)) is flow
    assert cache.plan(flow, 1) is cache.plan(flow, 1)
    assert list(cache.plan(flow, 1).tasks) == ["t"]


def test_a_different_source_under_the_same_revision_is_parsed_again() -> None:
    cache = FlowCache()
    first = cache.parse(_record(SOURCE))
    second = cache.parse(_record(SOURCE.replace("message: hi", "message: bye")))
    assert second is not first
    assert second.tasks[0].message == "bye"  # type: ignore[attr-defined]


def test_an_invalid_revision_raises_each_time_it_is_read() -> None:
    cache = FlowCache()
    broken = _record("id: f\nnamespace: ns\ntasks: []\nnot_a_field: 1\n")
    for _ in range(2):
        with pytest.raises(FlowInvalid):
            cache.parse(broken)


def test_a_store_has_one_cache_and_reads_each_revision_from_it(tmp_path: Path) -> None:
    store = open_store(StoreSettings(home=tmp_path))
    try:
        with store.unit() as repos:
            repos.flows.create_flow_revision("ns", "f", SOURCE, None)
        cache = flow_cache(store)
        assert flow_cache(store) is cache
        with store.unit(read_only=True) as repos:
            flow = cache.read(repos, "ns", "f", 1)
            assert flow is not None and flow.id == "f"
            assert cache.read(repos, "ns", "f", 1) is flow
            assert cache.read(repos, "ns", "f", 2) is None
    finally:
        store.close()
