"""Flows: saved from their YAML source, read with their interface, searched, validated, applied a
namespace at a time, and exported.

A flow is sent as its YAML source and kept exactly as written, comments included; each change of
source (or of manager) is a new revision, and deleting a flow keeps its revisions. Reads answer
the source with the flow's interface (description, inputs, outputs); since a revision never
changes and reads far outnumber writes, that interface is parsed once per revision and cached.

Several flows travel as one YAML stream, documents separated by lines ``---``. Problems found in
a stream carry line numbers of the whole stream, so that an editor can jump to them.

This module holds the answers and the routes; YAML bodies and streams are read in
``controlplane.api.flowstream``, and the cached interface of a revision is
``controlplane.api.flowinfo``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, Field, StringConstraints
from pydantic_core import to_json

from controlplane.api.auth import Caller
from controlplane.api.control import Intent, check_write, conflict, tag
from controlplane.api.deps import (
    FLOW_ID_PATTERN,
    NamespacePath,
    Page,
    PageDep,
    StoreDep,
    settings,
)
from controlplane.api.errors import BadRequest, Conflict, NotFound
from controlplane.api.flowinfo import FlowInput, FlowOutput, Interface, interface
from controlplane.api.flowstream import (
    ANY_YAML_BODY,
    SOURCE_BODY,
    SOURCE_NAME,
    STREAM_BODY,
    YAML_MEDIA_TYPE,
    Checked,
    FlowSource,
    FlowStream,
    check_stream,
    declared,
    join_stream,
    mismatch,
)
from controlplane.engine.ports import FlowRecord
from controlplane.engine.writes import WriteIntent, save_flow
from controlplane.spec.flow import Flow as FlowSpec
from controlplane.spec.names import NAMESPACE_PATTERN
from controlplane.spec.problems import FlowInvalid, Problem, Severity
from controlplane.spec.validate import Validated, validate_text

router = APIRouter(prefix="/flows", tags=["flows"])
namespace_router = APIRouter(prefix="/namespaces", tags=["flows"])

MAX_REVISION = 2**31 - 1


class FlowExists(Conflict):
    code = "flow_exists"


class Malformed(BadRequest):
    """The body is not a YAML document that can be read as a mapping."""

    code = "malformed"


FlowIdPath = Annotated[str, Path(alias="id", pattern=FLOW_ID_PATTERN, max_length=100)]
Revision = Annotated[int, Path(ge=1, le=MAX_REVISION)]
Manager = Annotated[
    str | None,
    Header(
        alias="X-Weir-Manager",
        max_length=200,
        description="Who writes: 'terraform', 'gitops:<source>'; recorded as managed_by.",
    ),
]
Label = Annotated[str, StringConstraints(pattern=r"^[^:]+:.*$", max_length=300)]


# -- answers ----------------------------------------------------------------------------------


class FlowSummary(BaseModel):
    namespace: str
    id: str
    revision: int
    description: str | None
    labels: dict[str, str]
    managed_by: str | None
    updated: datetime
    disabled: bool

    @classmethod
    def of(cls, record: FlowRecord) -> FlowSummary:
        # The record and its parsed interface are typed already: validating them again was
        # most of the cost of a page of 1,000 flows.
        return cls.model_construct(**_summary(record, interface(record)))


class Flow(FlowSummary):
    source: str
    inputs: list[FlowInput]
    outputs: list[FlowOutput]

    @classmethod
    def of(cls, record: FlowRecord) -> Flow:
        found = interface(record)
        return cls.model_construct(
            **_summary(record, found),
            source=record.source,
            inputs=found.inputs,
            outputs=found.outputs,
        )


def _summary(record: FlowRecord, found: Interface) -> dict[str, Any]:
    return {
        "namespace": record.namespace,
        "id": record.flow_id,
        "revision": record.revision,
        "description": found.description,
        "labels": record.labels,
        "managed_by": record.managed_by,
        "updated": record.updated,
        "disabled": found.disabled,
    }


class FlowRevision(BaseModel):
    revision: int
    managed_by: str | None
    updated: datetime
    deleted: bool


class ValidationProblem(BaseModel):
    severity: Literal["error", "warning"]
    message: str
    line: int
    column: int
    path: str


class Validation(BaseModel):
    """One document of a stream: the flow it declares, and what is wrong with it."""

    index: int = Field(description="The document's place in the stream, from 0.")
    namespace: str | None
    id: str | None
    ok: bool
    problems: list[ValidationProblem]


class Applied(BaseModel):
    """What applying a namespace's flows did, by flow id."""

    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)


# -- validation ---------------------------------------------------------------------------------


def _refuse(problems: list[Problem]) -> NoReturn:
    """400 when a document is not readable YAML, else 422; both with every problem."""
    unreadable = [p for p in problems if p.code == "yaml"]
    if unreadable:
        raise Malformed(str(unreadable[0]), {"problems": [p.as_dict() for p in problems]})
    raise FlowInvalid(problems)


def _valid(result: Validated, problems: list[Problem]) -> FlowSpec:
    """The flow, or the refusal with ``problems`` when there is an error among them."""
    if result.flow is None or not result.ok or any(p.severity is Severity.ERROR for p in problems):
        _refuse(problems)
    return result.flow


# -- routes -------------------------------------------------------------------------------------


def _ref(namespace: str, flow_id: str) -> str:
    return f"{namespace}/{flow_id}"


def _absent(namespace: str, flow_id: str, revision: int | None = None) -> NotFound:
    if revision is None:
        return NotFound(f"flow {_ref(namespace, flow_id)} does not exist")
    return NotFound(f"flow {_ref(namespace, flow_id)} has no revision {revision}")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a flow from its YAML source",
    openapi_extra=SOURCE_BODY,
)
def create_flow(
    caller: Caller, source: FlowSource, store: StoreDep, response: Response, manager: Manager = None
) -> Flow:
    caller.require("write")
    result = validate_text(source, SOURCE_NAME)
    namespace = declared(result).get("namespace")
    if namespace is not None:
        caller.require("write", namespace)
    flow = _valid(result, result.problems)
    exists = FlowExists(
        f"flow {flow.ref} exists; update it with PUT /flows/{flow.ref}",
        {"namespace": flow.namespace, "id": flow.id},
    )
    only_new = WriteIntent(manager or None, if_match=0)
    with store.unit() as repos:
        saved = save_flow(repos, flow, source, only_new, lambda _: exists).saved
    tag(response, saved.revision)
    return Flow.of(saved)


@router.put(
    "/{namespace}/{id}",
    summary="Create or update a flow from its YAML source",
    openapi_extra=SOURCE_BODY,
    responses={201: {"model": Flow, "description": "Created"}},
)
def put_flow(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    caller: Caller,
    source: FlowSource,
    intent: Intent,
    store: StoreDep,
    response: Response,
) -> Flow:
    caller.require("write", namespace)
    result = validate_text(source, SOURCE_NAME)
    where = "the path says"
    mismatches = mismatch(result, "namespace", namespace, where) + mismatch(
        result, "id", flow_id, where
    )
    flow = _valid(result, mismatches + result.problems)
    with store.unit() as repos:
        written = save_flow(repos, flow, source, intent, conflict)
    if written.stored is None:
        response.status_code = status.HTTP_201_CREATED
    tag(response, written.saved.revision)
    return Flow.of(written.saved)


@router.get(
    "/search",
    summary="Search flows by namespace prefix, text and labels",
    response_model=Page[FlowSummary],
)
def search_flows(
    caller: Caller,
    store: StoreDep,
    page: PageDep,
    namespace: Annotated[
        str | None,
        Query(pattern=NAMESPACE_PATTERN, max_length=150, description="A namespace prefix."),
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Text in the namespace, the id or the source."),
    ] = None,
    labels: Annotated[
        list[Label] | None,
        Query(max_length=50, description="key:value; every one given must match."),
    ] = None,
) -> Response:
    caller.require("read")
    wanted = dict(label.split(":", 1) for label in labels or [])
    with store.unit(read_only=True) as repos:
        if caller.unrestricted:
            records, total = repos.flows.search_flows(namespace, q, wanted, page.size, page.offset)
        else:
            found, _ = repos.flows.search_flows(namespace, q, wanted)
            visible = [r for r in found if caller.sees(r.namespace)]
            records, total = page.slice(visible), len(visible)
    # The page as JSON straight from the records: a model per flow, then FastAPI's pass over
    # them, was a third of the cost of a page of 1,000 flows. The document is FlowSummary's.
    results = [_summary(record, interface(record)) for record in records]
    return Response(to_json({"results": results, "total": total}), media_type="application/json")


@router.post(
    "/validate",
    summary="Validate a YAML stream of flows, one answer per document",
    openapi_extra=ANY_YAML_BODY,
)
def validate_flows(caller: Caller, stream: FlowStream, request: Request) -> list[Validation]:
    caller.require("read")
    checked = check_stream(stream, settings(request).max_flow_bytes)
    return [_validation(item) for item in checked]


def _validation(item: Checked) -> Validation:
    named = declared(item.result)
    return Validation(
        index=item.document.index,
        namespace=named.get("namespace"),
        id=named.get("id"),
        ok=item.result.ok,
        problems=[
            ValidationProblem(
                severity=p.severity.value,
                message=p.message,
                line=p.location.line,
                column=p.location.column,
                path=p.path,
            )
            for p in item.result.problems
        ],
    )


@router.get(
    "/export",
    summary="The latest sources as one YAML stream",
    response_class=Response,
    responses={
        200: {
            # No schema: a YAML stream of several documents is not one value to check.
            "content": {YAML_MEDIA_TYPE: {}},
            "description": "The sources, a line '---' between two flows",
        }
    },
)
def export_flows(
    caller: Caller,
    store: StoreDep,
    namespace: Annotated[
        str | None,
        Query(pattern=NAMESPACE_PATTERN, max_length=150, description="A namespace prefix."),
    ] = None,
) -> Response:
    caller.require("read")
    with store.unit(read_only=True) as repos:
        records = repos.flows.list_flows(namespace)
    sources = [r.source for r in records if caller.sees(r.namespace)]
    return Response(join_stream(sources), media_type=YAML_MEDIA_TYPE)


@router.get(
    "/{namespace}/{id}",
    summary="Read a flow: its latest revision, or the one asked for",
)
async def read_flow(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    caller: Caller,
    store: StoreDep,
    response: Response,
    revision: Annotated[int | None, Query(ge=1, le=MAX_REVISION)] = None,
) -> Flow:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        record = repos.flows.read_flow(namespace, flow_id, revision)
    if record is None:
        raise _absent(namespace, flow_id, revision)
    tag(response, record.revision)
    return Flow.of(record)


@router.delete(
    "/{namespace}/{id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a flow; its revisions are kept",
)
def delete_flow(
    namespace: NamespacePath, flow_id: FlowIdPath, caller: Caller, intent: Intent, store: StoreDep
) -> None:
    caller.require("write", namespace)
    with store.unit() as repos:
        stored = repos.flows.read_flow(namespace, flow_id)
        if stored is None:
            raise _absent(namespace, flow_id)
        check_write("flow", _ref(namespace, flow_id), stored, intent)
        repos.flows.delete_flow(namespace, flow_id)


@router.get(
    "/{namespace}/{id}/revisions",
    summary="A flow's revisions, oldest first",
)
def list_revisions(
    namespace: NamespacePath, flow_id: FlowIdPath, caller: Caller, store: StoreDep
) -> list[FlowRevision]:
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        records = repos.flows.list_flow_revisions(namespace, flow_id)
    if not records:
        raise _absent(namespace, flow_id)
    return [
        FlowRevision(
            revision=r.revision, managed_by=r.managed_by, updated=r.updated, deleted=r.deleted
        )
        for r in records
    ]


@router.get(
    "/{namespace}/{id}/revisions/{revision}",
    summary="Read one revision of a flow",
)
async def read_revision(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    revision: Revision,
    caller: Caller,
    store: StoreDep,
    response: Response,
) -> Flow:
    return await read_flow(namespace, flow_id, caller, store, response, revision)


@namespace_router.get(
    "/{namespace}/flows",
    summary="Read every flow of a namespace, with its source and interface",
)
def list_namespace_flows(namespace: NamespacePath, caller: Caller, store: StoreDep) -> list[Flow]:
    """The latest revision of each flow in exactly ``namespace`` (not those below it): one
    request where a tool reconciling many flows would otherwise read them one by one."""
    caller.require("read", namespace)
    with store.unit(read_only=True) as repos:
        records = repos.flows.list_flows(namespace, exact=True)
    return [Flow.of(r) for r in records]


@namespace_router.post(
    "/{namespace}/flows",
    summary="Apply a namespace's flows at once, all or nothing",
    openapi_extra=STREAM_BODY,
)
def apply_namespace(
    namespace: NamespacePath,
    caller: Caller,
    stream: FlowStream,
    store: StoreDep,
    request: Request,
    manager: Manager = None,
    force: Annotated[bool, Query(description="Write even flows another manager manages.")] = False,
    delete: Annotated[
        bool,
        Query(description="Delete the namespace's other flows that this manager manages."),
    ] = False,
) -> Applied:
    """Every document must be a valid flow of ``namespace``; one that is not, or one flow that
    may not be written, changes nothing. With ``delete``, the flows of exactly this namespace
    (not those below it) that are not in the stream and whose ``managed_by`` is the writer's
    manager (none when the request names none) are deleted."""
    caller.require("write", namespace)
    checked = check_stream(stream, settings(request).max_flow_bytes, namespace)
    flows = [item.flow for item in checked if item.flow is not None]
    if len(flows) < len(checked):
        _refuse([p for item in checked for p in item.result.problems])
    intent = WriteIntent(manager=manager or None, if_match=None, force=force)
    applied = Applied()
    with store.unit() as repos:
        for item, flow in zip(checked, flows, strict=True):
            written = save_flow(repos, flow, item.document.text, intent, conflict)
            if written.stored is None:
                applied.created.append(flow.id)
            elif written.changed:
                applied.updated.append(flow.id)
            else:
                applied.unchanged.append(flow.id)
        if delete:
            kept = {flow.id for flow in flows}
            for record in repos.flows.list_flows(namespace):
                if (
                    record.namespace == namespace
                    and record.flow_id not in kept
                    and record.managed_by == intent.manager
                ):
                    repos.flows.delete_flow(namespace, record.flow_id)
                    applied.deleted.append(record.flow_id)
    return applied
