"""Flows: saved from their YAML source, read with their interface, searched, validated, applied a
namespace at a time, and exported.

A flow is sent as its YAML source and kept exactly as written, comments included; each change of
source (or of manager) is a new revision, and deleting a flow keeps its revisions. Reads answer
the source with the flow's interface (description, inputs, outputs); since a revision never
changes and reads far outnumber writes, that interface is parsed once per revision and cached.

Several flows travel as one YAML stream, documents separated by lines ``---``. Problems found in
a stream carry line numbers of the whole stream, so that an editor can jump to them.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, Field, StringConstraints

from controlplane.api.auth import Caller
from controlplane.api.control import Intent, WriteIntent, check_write, tag
from controlplane.api.deps import (
    FLOW_ID_PATTERN,
    NamespacePath,
    Page,
    PageDep,
    StoreDep,
)
from controlplane.api.errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from controlplane.api.settings import ApiSettings
from controlplane.engine.ports import FlowRecord
from controlplane.spec.fields import NAMESPACE_PATTERN
from controlplane.spec.flow import Flow as FlowSpec
from controlplane.spec.problems import FlowInvalid, Location, Problem, Severity
from controlplane.spec.validate import Validated, validate_text

router = APIRouter(prefix="/flows", tags=["flows"])
namespace_router = APIRouter(prefix="/namespaces", tags=["flows"])

YAML_TYPES = ("application/x-yaml", "application/yaml", "text/yaml", "text/plain")
YAML_MEDIA_TYPE = "application/x-yaml"


def yaml_body(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI description of a YAML request body, read by the route itself."""
    return {
        "requestBody": {
            "content": {media: {"schema": schema} for media in YAML_TYPES},
            "required": True,
        }
    }


SOURCE_BODY = yaml_body({"type": "string", "description": "A flow's YAML source."})
STREAM_BODY = yaml_body(
    {"type": "string", "description": "YAML flow documents separated by lines '---'."}
)
ANY_YAML_BODY = yaml_body(
    {
        "description": "YAML flow documents separated by lines '---'. Any YAML is validated "
        "and answered with its problems; none is refused."
    }
)
SOURCE_NAME = "body"
"""The file name problems carry: the request's body."""
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


class FlowInput(BaseModel):
    id: str
    type: str
    required: bool
    description: str | None


class FlowOutput(BaseModel):
    id: str
    type: str


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
        return cls(**_summary(record, interface(record)))


class Flow(FlowSummary):
    source: str
    inputs: list[FlowInput]
    outputs: list[FlowOutput]

    @classmethod
    def of(cls, record: FlowRecord) -> Flow:
        found = interface(record)
        return cls(
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


# -- the interface of a revision, parsed once ---------------------------------------------------


@dataclass(frozen=True)
class Interface:
    """What a read tells of a flow beyond its record: read from the source."""

    description: str | None
    disabled: bool
    inputs: list[FlowInput]
    outputs: list[FlowOutput]


INTERFACE_CACHE_SIZE = 4096
_interfaces: OrderedDict[tuple[str, str, int, int], Interface] = OrderedDict()
_interfaces_lock = threading.Lock()


def interface(record: FlowRecord) -> Interface:
    """The revision's interface, parsed on its first read and kept for the next ones.

    The key holds the source's hash beside (namespace, id, revision), since stores that share
    this process (a server per test module) may hold different flows under the same revision.
    """
    key = (record.namespace, record.flow_id, record.revision, hash(record.source))
    with _interfaces_lock:
        found = _interfaces.get(key)
        if found is not None:
            _interfaces.move_to_end(key)
            return found
    found = _parse_interface(record.source)
    with _interfaces_lock:
        _interfaces[key] = found
        if len(_interfaces) > INTERFACE_CACHE_SIZE:
            _interfaces.popitem(last=False)
    return found


def _parse_interface(source: str) -> Interface:
    flow = validate_text(source, SOURCE_NAME).flow
    if flow is None:  # saved under rules that were since made stricter: still readable
        return Interface(description=None, disabled=False, inputs=[], outputs=[])
    return Interface(
        description=flow.description,
        disabled=flow.disabled,
        inputs=[
            FlowInput(id=i.id, type=i.type, required=i.required, description=i.description)
            for i in flow.inputs
        ],
        outputs=[FlowOutput(id=o.id, type=o.type) for o in flow.outputs],
    )


# -- YAML bodies --------------------------------------------------------------------------------


async def _read_yaml(request: Request, limit: int) -> str:
    """The body as text: YAML in UTF-8 of at most ``limit`` bytes."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media not in YAML_TYPES:
        raise BadRequest(
            f"send flows as YAML with 'Content-Type: {YAML_MEDIA_TYPE}'",
            {"accepted": list(YAML_TYPES)},
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise _too_large(limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            "the body is not UTF-8 text; send the YAML source in UTF-8",
            {"offset": exc.start},
        ) from None
    return text.removeprefix("\ufeff")


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the body is over this server's limit of {limit} bytes for a flow")


def _settings(request: Request) -> ApiSettings:
    found: ApiSettings = request.app.state.settings
    return found


async def flow_source(request: Request) -> str:
    """One flow's source, at most ``max_flow_bytes``."""
    return await _read_yaml(request, _settings(request).max_flow_bytes)


async def flow_stream(request: Request) -> str:
    """A stream of flow documents, at most ``max_body_bytes`` in all."""
    return await _read_yaml(request, _settings(request).max_body_bytes)


FlowSource = Annotated[str, Depends(flow_source)]
FlowStream = Annotated[str, Depends(flow_stream)]


# -- validation ---------------------------------------------------------------------------------


def _declared(result: Validated) -> dict[str, str]:
    """The namespace and id a document declares, read even when it is invalid."""
    if result.flow is not None:
        return {"namespace": result.flow.namespace, "id": result.flow.id}
    data = result.source.data if result.source is not None else None
    if not isinstance(data, dict):
        return {}
    return {key: data[key] for key in ("namespace", "id") if isinstance(data.get(key), str)}


def _locate(result: Validated, key: str) -> Location:
    if result.source is not None:
        return result.source.locate((key,))
    return Location(result.file, 1, 1, (key,))


def _mismatch(result: Validated, key: str, expected: str, where: str) -> list[Problem]:
    """An error when the document declares another ``key`` than ``where`` expects."""
    declared = _declared(result).get(key)
    if declared is None or declared == expected:
        return []
    message = f"{key} is '{declared}', but {where} '{expected}'; they must be the same"
    return [Problem.error(_locate(result, key), message, "mismatch")]


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


@dataclass(frozen=True)
class Document:
    """One document of a stream, and the line of the stream it starts on (from 1)."""

    index: int
    line: int
    text: str


_LINE_BREAK = re.compile(r"(?<=\r\n)|(?<=[\n\x85\u2028\u2029])|(?<=\r)(?!\n)")
"""Between lines, where YAML breaks them: so that line numbers agree with the parser's."""
_SEPARATOR = re.compile(r"---(?:[ \t]+(?:#.*)?)?")
_BREAKS = "\r\n\x85\u2028\u2029"


def split_stream(text: str) -> list[Document]:
    """The documents between lines ``---``; documents holding only blanks or comments are
    left out."""
    documents: list[Document] = []
    start, lines = 1, list[str]()
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if _SEPARATOR.fullmatch(line.rstrip(_BREAKS)):
            _add_document(documents, start, lines)
            start, lines = number + 1, []
        elif line:
            lines.append(line)
    _add_document(documents, start, lines)
    return documents


def _add_document(documents: list[Document], start: int, lines: list[str]) -> None:
    """Add the document of ``lines`` unless it is empty; blank lines before the next ``---``
    pad the separator and are not kept."""
    while lines and not lines[-1].strip():
        lines.pop()
    if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
        documents.append(Document(len(documents), start, "".join(lines)))


@dataclass(frozen=True)
class Checked:
    """A document of a stream with its validation; problems are at lines of the stream."""

    document: Document
    result: Validated

    @property
    def flow(self) -> FlowSpec | None:
        return self.result.flow if self.result.ok else None


def check_stream(text: str, limit: int, namespace: str | None = None) -> list[Checked]:
    """Validate every document of ``text``; when ``namespace`` is given, every flow must be of
    it. A flow declared twice is an error on its second document."""
    checked: list[Checked] = []
    first_seen: dict[tuple[str, str], int] = {}
    for document in split_stream(text):
        size = len(document.text.encode())
        if size > limit:
            where = Location(SOURCE_NAME, 1, 1, ())
            message = f"the document is {size:,} bytes; a flow may be at most {limit:,}"
            result = Validated(SOURCE_NAME, None, [Problem.error(where, message, "too_large")])
        else:
            result = validate_text(document.text, SOURCE_NAME)
        problems = list(result.problems)
        if namespace is not None:
            problems += _mismatch(result, "namespace", namespace, "this request applies")
        declared = _declared(result)
        if "namespace" in declared and "id" in declared:
            ref = (declared["namespace"], declared["id"])
            if ref in first_seen:
                message = (
                    f"flow {'/'.join(ref)} is also declared by the document on line "
                    f"{first_seen[ref]}"
                )
                problems.append(Problem.error(_locate(result, "id"), message, "duplicate_flow"))
            first_seen.setdefault(ref, document.line)
        shifted = sorted(
            (_shift(p, document.line - 1) for p in problems),
            key=lambda p: (p.location.line, p.location.column),
        )
        checked.append(
            Checked(document, Validated(result.file, result.flow, shifted, result.source))
        )
    return checked


def _shift(problem: Problem, lines: int) -> Problem:
    location = problem.location
    return replace(problem, location=replace(location, line=location.line + lines))


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
    namespace = _declared(result).get("namespace")
    if namespace is not None:
        caller.require("write", namespace)
    flow = _valid(result, result.problems)
    with store.unit() as repos:
        if repos.flows.read_flow(flow.namespace, flow.id) is not None:
            raise FlowExists(
                f"flow {flow.ref} exists; update it with PUT /flows/{flow.ref}",
                {"namespace": flow.namespace, "id": flow.id},
            )
        saved = repos.flows.create_flow_revision(
            flow.namespace, flow.id, source, manager or None, flow.labels
        )
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
    mismatches = _mismatch(result, "namespace", namespace, where) + _mismatch(
        result, "id", flow_id, where
    )
    flow = _valid(result, mismatches + result.problems)
    with store.unit() as repos:
        stored = repos.flows.read_flow(namespace, flow_id)
        check_write("flow", _ref(namespace, flow_id), stored, intent)
        saved = repos.flows.create_flow_revision(
            namespace, flow_id, source, intent.manager, flow.labels
        )
    if stored is None:
        response.status_code = status.HTTP_201_CREATED
    tag(response, saved.revision)
    return Flow.of(saved)


@router.get(
    "/search",
    summary="Search flows by namespace prefix, text and labels",
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
) -> Page[FlowSummary]:
    caller.require("read")
    wanted = dict(label.split(":", 1) for label in labels or [])
    with store.unit() as repos:
        if caller.unrestricted:
            records, total = repos.flows.search_flows(namespace, q, wanted, page.size, page.offset)
        else:
            found, _ = repos.flows.search_flows(namespace, q, wanted)
            visible = [r for r in found if caller.sees(r.namespace)]
            records, total = page.slice(visible), len(visible)
    return Page(results=[FlowSummary.of(r) for r in records], total=total)


@router.post(
    "/validate",
    summary="Validate a YAML stream of flows, one answer per document",
    openapi_extra=ANY_YAML_BODY,
)
def validate_flows(caller: Caller, stream: FlowStream, request: Request) -> list[Validation]:
    caller.require("read")
    checked = check_stream(stream, _settings(request).max_flow_bytes)
    return [_validation(item) for item in checked]


def _validation(item: Checked) -> Validation:
    declared = _declared(item.result)
    return Validation(
        index=item.document.index,
        namespace=declared.get("namespace"),
        id=declared.get("id"),
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
    with store.unit() as repos:
        records = repos.flows.list_flows(namespace)
    sources = [r.source for r in records if caller.sees(r.namespace)]
    return Response(join_stream(sources), media_type=YAML_MEDIA_TYPE)


def join_stream(sources: list[str]) -> str:
    """One YAML stream of ``sources``, a line ``---`` between two of them."""
    parts: list[str] = []
    for source in sources:
        first = source.split("\n", 1)[0].rstrip(_BREAKS)
        if parts and not _SEPARATOR.fullmatch(first):
            parts.append("---\n")
        parts.append(source if source.endswith(tuple(_BREAKS)) else source + "\n")
    return "".join(parts)


@router.get(
    "/{namespace}/{id}",
    summary="Read a flow: its latest revision, or the one asked for",
)
def read_flow(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    caller: Caller,
    store: StoreDep,
    response: Response,
    revision: Annotated[int | None, Query(ge=1, le=MAX_REVISION)] = None,
) -> Flow:
    caller.require("read", namespace)
    with store.unit() as repos:
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
    with store.unit() as repos:
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
def read_revision(
    namespace: NamespacePath,
    flow_id: FlowIdPath,
    revision: Revision,
    caller: Caller,
    store: StoreDep,
    response: Response,
) -> Flow:
    return read_flow(namespace, flow_id, caller, store, response, revision)


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
    checked = check_stream(stream, _settings(request).max_flow_bytes, namespace)
    flows = [item.flow for item in checked if item.flow is not None]
    if len(flows) < len(checked):
        _refuse([p for item in checked for p in item.result.problems])
    intent = WriteIntent(manager=manager or None, if_match=None, force=force)
    applied = Applied()
    with store.unit() as repos:
        for item, flow in zip(checked, flows, strict=True):
            stored = repos.flows.read_flow(namespace, flow.id)
            check_write("flow", flow.ref, stored, intent)
            saved = repos.flows.create_flow_revision(
                namespace, flow.id, item.document.text, intent.manager, flow.labels
            )
            if stored is None:
                applied.created.append(flow.id)
            elif saved.revision == stored.revision:
                applied.unchanged.append(flow.id)
            else:
                applied.updated.append(flow.id)
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
