"""What routers take from the running app: its store, its engine, its settings, and pages.

The dependencies are coroutines, so FastAPI calls them on the event loop instead of handing each
to a worker thread: they do no I/O. Likewise, the routes that read one object by its key (a flow,
a namespace, a KV pair, a secret's metadata) are coroutines that query the store inline: one
indexed read-only query costs less than the hand-off to a thread and back, which under load is
most of a request's cost. Lists, searches and writes run in worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from controlplane.api.settings import ApiSettings
from controlplane.engine.commands import Commands
from controlplane.spec.names import NAMESPACE_PATTERN
from controlplane.store.serverports import ServerStore

T = TypeVar("T")

MAX_PAGE_SIZE = 10_000


async def store(request: Request) -> ServerStore:
    found: ServerStore = request.app.state.store
    return found


async def engine(request: Request) -> Commands:
    found: Commands = request.app.state.engine
    return found


def settings(request: Request) -> ApiSettings:
    found: ApiSettings = request.app.state.settings
    return found


async def _settings(request: Request) -> ApiSettings:
    return settings(request)


StoreDep = Annotated[ServerStore, Depends(store)]
EngineDep = Annotated[Commands, Depends(engine)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]


@dataclass(frozen=True)
class PageRequest:
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def slice(self, items: list[Any]) -> list[Any]:
        return items[self.offset : self.offset + self.size]


async def page_request(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="From 1.")] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> PageRequest:
    return PageRequest(page=page, size=size)


PageDep = Annotated[PageRequest, Depends(page_request)]


class Page(BaseModel, Generic[T]):
    results: list[T]
    total: int


FLOW_ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$"

NamespacePath = Annotated[
    str,
    Path(pattern=NAMESPACE_PATTERN, max_length=150, description="A dotted namespace: a.b.c"),
]
FlowIdPath = Annotated[str, Path(pattern=FLOW_ID_PATTERN, max_length=100)]


class ApiModel(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")
