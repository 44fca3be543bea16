"""Stored flow revisions, parsed once per store and kept for every reader in the process.

A revision never changes once stored (a change or a deletion adds the next one), so the engine,
the workers, the schedulers and the API all read a revision's model from one bounded cache:
``flow_cache(store)``. The entry keeps a hash of the source beside the revision, so a record that
differs from what was parsed under the same revision (a store rebuilt under the same object) is
parsed again rather than trusted.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

from controlplane.engine.executor import FlowPlan
from controlplane.engine.ports import FlowRecord, Repositories, Store
from controlplane.spec.flow import Flow
from controlplane.spec.problems import FlowInvalid, Problem
from controlplane.spec.validate import validate_text

CACHE_SIZE = 4096
"""Revisions kept per store; the least recently read go first."""

_Key = tuple[str, str, int]


@dataclass
class _Entry:
    digest: int
    flow: Flow | None
    problems: list[Problem]
    plan: FlowPlan | None = field(default=None)


class FlowCache:
    """The parsed revisions of one store's flows."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, record: FlowRecord) -> Flow:
        """The model of ``record``; raises FlowInvalid when its source does not validate."""
        return self._flow(self._entry(record))

    def read(self, repos: Repositories, namespace: str, flow_id: str, revision: int) -> Flow | None:
        """The model of a stored revision, read from ``repos`` on its first use; None when the
        revision does not exist. Raises FlowInvalid when it does not validate."""
        entry = self._cached((namespace, flow_id, revision))
        if entry is None:
            record = repos.flows.read_flow(namespace, flow_id, revision)
            if record is None:
                return None
            entry = self._entry(record)
        return self._flow(entry)

    def plan(self, flow: Flow, revision: int) -> FlowPlan:
        """Every task of the revision by id, built once per revision."""
        key = (flow.namespace, flow.id, revision)
        entry = self._cached(key)
        if entry is None or entry.flow is not flow:
            return FlowPlan.of(flow)
        if entry.plan is None:
            entry.plan = FlowPlan.of(flow)
        return entry.plan

    def _entry(self, record: FlowRecord) -> _Entry:
        key = (record.namespace, record.flow_id, record.revision)
        digest = hash(record.source)
        entry = self._cached(key)
        if entry is not None and entry.digest == digest:
            return entry
        result = validate_text(record.source, f"{record.namespace}/{record.flow_id}")
        entry = _Entry(digest, result.flow, list(result.problems))
        with self._lock:
            self._entries[key] = entry
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry

    def _cached(self, key: _Key) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    @staticmethod
    def _flow(entry: _Entry) -> Flow:
        if entry.flow is None:
            raise FlowInvalid(entry.problems)
        return entry.flow


_caches: weakref.WeakKeyDictionary[Store, FlowCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def flow_cache(store: Store) -> FlowCache:
    """The flow cache of ``store``, shared by everything in this process that reads its flows."""
    with _caches_lock:
        cache = _caches.get(store)
        if cache is None:
            cache = _caches[store] = FlowCache()
        return cache
