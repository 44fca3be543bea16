"""The commands of a process that advances no execution itself (``weir server api`` and
``weir server scheduler``): each is recorded in the database, and the executor that holds (or
takes) the execution applies it."""

from __future__ import annotations

from controlplane.engine.commands import Commands
from controlplane.engine.events import Event, record_command
from controlplane.engine.model import Execution
from controlplane.engine.ports import Repositories


class RemoteCommands(Commands):
    def _hold(self, repos: Repositories, execution_id: str) -> None:
        repos.leases.create_lease(execution_id, None, self.settings.lease)

    def _created(self, repos: Repositories, execution: Execution) -> None:
        repos.commands.create_command(execution.id, "start")

    def _send(self, event: Event) -> None:
        with self.store.unit() as repos:
            record_command(repos, event, self.settings.lease)
