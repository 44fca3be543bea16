"""What schedulers share through the store: each trigger's state document, the firings (each
once), and the ended executions the Flow triggers look at. Declared as Protocols, like
``ports``; ``controlplane.store`` implements them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class TriggerStateRecord:
    namespace: str
    flow_id: str
    trigger_id: str
    document: dict[str, Any]
    """What the trigger's scheduler keeps (next and last slot, backfill, lock); its own format."""
    updated: datetime


class TriggerRepository(Protocol):
    """What schedulers share: trigger state, firings (each once), ended executions to look at."""

    def claim_fire(self, key: str, execution_id: str) -> bool:
        """Record that the firing ``key`` creates ``execution_id``; False when it already fired
        (by this process or another), and then nothing is written."""

    def read_fire(self, key: str) -> str | None:
        """The execution id the firing ``key`` created, if it fired."""

    def read_trigger_state(
        self, namespace: str, flow_id: str, trigger_id: str, for_update: bool = False
    ) -> dict[str, Any] | None: ...

    def update_trigger_state(
        self, namespace: str, flow_id: str, trigger_id: str, document: dict[str, Any]
    ) -> None:
        """Create or replace."""

    def list_trigger_states(self, namespace: str | None = None) -> list[TriggerStateRecord]: ...

    def delete_trigger_state(self, namespace: str, flow_id: str, trigger_id: str) -> bool: ...

    def record_end(self, execution_id: str) -> None:
        """Called in the transaction that ends the execution."""

    def take_ends(self, limit: int = 100) -> list[tuple[int, str]]:
        """Up to ``limit`` ended executions as (sequence, execution id), oldest first, locked
        for this transaction (another scheduler skips them); delete them with ``delete_ends``."""

    def delete_ends(self, seqs: list[int]) -> None: ...
