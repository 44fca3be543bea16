"""What the scheduler and the polling loop share: a pass (``tick``) run by a daemon thread just
after each whole ``interval`` of the wall clock, and the triggers of each stored flow parsed once
per revision. A pass lists only each flow's latest revision number; a flow's source is read
when its revision is one the loop has not parsed yet, so passes over ten thousand unchanged
flows read three columns a flow, not every source.

A pass that fails (the database away for a while) is logged; the next one tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from controlplane.engine.commands import Commands
from controlplane.engine.model import now
from controlplane.engine.ports import FlowRecord, FlowRepository, Store
from controlplane.expr import Renderer

log = logging.getLogger(__name__)

Parsed = TypeVar("Parsed")


class Passes(ABC, Generic[Parsed]):
    """A loop of passes over the stored flows; subclasses say what one pass does."""

    thread_name: ClassVar[str]
    wake_after: ClassVar[float] = 0.0
    """How long after each whole interval the thread wakes."""

    def __init__(
        self, store: Store, engine: Commands, interval: float, clock: Callable[[], datetime] = now
    ) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.renderer = Renderer()
        self._interval = interval
        self._flows: dict[tuple[str, str], tuple[int, Parsed | None]] = {}
        self._tick_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def tick(self) -> Any:
        """One pass."""

    @abstractmethod
    def _parse(self, record: FlowRecord) -> Parsed | None:
        """The triggers of a flow revision this loop evaluates; None when it does not validate."""

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Tick in a daemon thread every interval, just after each whole interval of the wall
        clock."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.wait(self._pause()):
            try:
                self.tick()
            except Exception:  # the database may be away for a while; the next tick retries
                log.warning("%s pass failed; trying again at the next tick", self.thread_name,
                            exc_info=True)  # fmt: skip

    def _pause(self) -> float:
        return self._interval - time.time() % self._interval + self.wake_after

    # -- flows --------------------------------------------------------------------------------
    def _current(self, flows: FlowRepository) -> list[tuple[tuple[str, str], Parsed | None]]:
        """Each live flow's key and ``_parse`` of its latest revision (None when it does not
        validate), in the store's order. Only the revisions not parsed yet are read; the
        parsed revisions of flows that are gone are dropped."""
        latest = flows.latest_revisions()
        unread = [
            (namespace, flow_id, revision)
            for namespace, flow_id, revision in latest
            if self._flows.get((namespace, flow_id), (None, None))[0] != revision
        ]
        if len(unread) > _READ_ONE_BY_ONE:
            records = flows.list_flows()  # the first pass, or a great many changes
        else:
            records = [r for key in unread if (r := flows.read_flow(*key)) is not None]
        for record in records:
            key = (record.namespace, record.flow_id)
            if self._flows.get(key, (None, None))[0] != record.revision:
                self._flows[key] = (record.revision, self._parse(record))
        keys = [(namespace, flow_id) for namespace, flow_id, _ in latest]
        for gone in self._flows.keys() - set(keys):
            del self._flows[gone]
        return [(key, self._flows[key][1]) for key in keys if key in self._flows]


_READ_ONE_BY_ONE = 20
"""Up to this many new revisions, a pass reads them one by one; beyond, it lists every flow."""
