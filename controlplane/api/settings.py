"""What a server is told: where its store is, whether it requires tokens, its limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from controlplane.engine.sandbox import SandboxSettings
from controlplane.store import StoreSettings

Role = Literal["standalone", "api"]


@dataclass(frozen=True)
class ApiSettings:
    store: StoreSettings = field(default_factory=StoreSettings)
    require_tokens: bool = False
    """Every request but health needs a bearer token; a server off loopback must set it."""
    role: Role = "standalone"
    """``standalone`` runs the executor and workers in this process; ``api`` leaves executions
    to executors in other processes, sharing the database."""
    worker_threads: int = 8
    grace_seconds: float = 30.0
    """How long running tasks may go on after SIGTERM before they are stopped."""
    max_body_bytes: int = 100 * 1024 * 1024
    max_flow_bytes: int = 5 * 1024 * 1024
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    """How task processes are confined; WEIR_HOME and the storage are always hidden from them."""
