"""What routers take from the running app: its store, its engine, its settings, and pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from controlplane.api.settings import ApiSettings
from controlplane.engine.engine import Engine
from controlplane.engine.ports import Store
from controlplane.spec.fields import NAMESPACE_PATTERN

T = TypeVar("T")

MAX_PAGE_SIZE = 10_000


def store(request: Request) -> Store:
    found: Store = request.app.state.store
    return found


def engine(request: Request) -> Engine:
    found: Engine = request.app.state.engine
    return found


def settings(request: Request) -> ApiSettings:
    found: ApiSettings = request.app.state.settings
    return found


StoreDep = Annotated[Store, Depends(store)]
EngineDep = Annotated[Engine, Depends(engine)]
SettingsDep = Annotated[ApiSettings, Depends(settings)]


@dataclass(frozen=True)
class PageRequest:
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def slice(self, items: list[Any]) -> list[Any]:
        return items[self.offset : self.offset + self.size]


def page_request(
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
