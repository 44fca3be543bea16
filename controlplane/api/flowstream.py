"""YAML bodies and streams of flows: how a route reads a flow's YAML request body within this
server's limits, and how a stream of several flow documents, separated by lines ``---``, is
split, validated and joined again.

Problems found in a stream carry line numbers of the whole stream, so that an editor can jump to
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request

from controlplane.api.deps import settings
from controlplane.api.errors import BadRequest, PayloadTooLarge
from controlplane.spec.flow import Flow as FlowSpec
from controlplane.spec.problems import Location, Problem
from controlplane.spec.validate import Validated, validate_text

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


async def flow_source(request: Request) -> str:
    """One flow's source, at most ``max_flow_bytes``."""
    return await _read_yaml(request, settings(request).max_flow_bytes)


async def flow_stream(request: Request) -> str:
    """A stream of flow documents, at most ``max_body_bytes`` in all."""
    return await _read_yaml(request, settings(request).max_body_bytes)


FlowSource = Annotated[str, Depends(flow_source)]
FlowStream = Annotated[str, Depends(flow_stream)]


# -- what a document declares -------------------------------------------------------------------


def declared(result: Validated) -> dict[str, str]:
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


def mismatch(result: Validated, key: str, expected: str, where: str) -> list[Problem]:
    """An error when the document declares another ``key`` than ``where`` expects."""
    named = declared(result).get(key)
    if named is None or named == expected:
        return []
    message = f"{key} is '{named}', but {where} '{expected}'; they must be the same"
    return [Problem.error(_locate(result, key), message, "mismatch")]


# -- streams ------------------------------------------------------------------------------------


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
            problems += mismatch(result, "namespace", namespace, "this request applies")
        named = declared(result)
        if "namespace" in named and "id" in named:
            ref = (named["namespace"], named["id"])
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


def join_stream(sources: list[str]) -> str:
    """One YAML stream of ``sources``, a line ``---`` between two of them."""
    parts: list[str] = []
    for source in sources:
        first = source.split("\n", 1)[0].rstrip(_BREAKS)
        if parts and not _SEPARATOR.fullmatch(first):
            parts.append("---\n")
        parts.append(source if source.endswith(tuple(_BREAKS)) else source + "\n")
    return "".join(parts)
