"""The calls on executions: start, read, search, control, logs (also followed live), wait, and
download their files."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from controlplane.client.errors import Unreachable
from controlplane.client.models import Execution, LogLine, Page
from controlplane.client.transport import TRANSPORT_ERRORS, Transport, display_url, endpoint

FileInput = str | PathLike[str] | tuple[str, bytes]
"""A FILE input: a local path, or a file name and its bytes."""


class Executions:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(
        self,
        namespace: str,
        flow_id: str,
        inputs: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        files: Mapping[str, FileInput] | None = None,
    ) -> Execution:
        """Start the latest revision of a flow. With ``files`` (FILE inputs by input id), the
        request is ``multipart/form-data``: one field per input, one file part per file."""
        path = endpoint("executions", namespace, flow_id)
        if not files:
            body = {"inputs": dict(inputs or {}), "labels": dict(labels or {})}
            return Execution.from_json(self._t.request("POST", path, json=body).json())
        parts: list[tuple[str, Any]] = [
            (name, (None, _form_value(value))) for name, value in (inputs or {}).items()
        ]
        parts += [("labels", (None, f"{key}:{value}")) for key, value in (labels or {}).items()]
        parts += [(name, _file_part(file)) for name, file in files.items()]
        return Execution.from_json(self._t.request("POST", path, files=parts).json())

    def get(self, execution_id: str) -> Execution:
        return Execution.from_json(
            self._t.request("GET", endpoint("executions", execution_id)).json()
        )

    def search(
        self,
        namespace: str | None = None,
        flow_id: str | None = None,
        state: str | None = None,
        page: int = 1,
        size: int = 100,
    ) -> Page[Execution]:
        """Executions, newest first, of flows in ``namespace`` (or below it)."""
        params = {
            "namespace": namespace,
            "flow_id": flow_id,
            "state": state,
            "page": page,
            "size": size,
        }
        answer = self._t.request("GET", "/executions/search", params=params).json()
        return Page.from_json(answer, Execution.from_json)

    def kill(self, execution_id: str) -> None:
        """Ask the server to kill the execution and its running tasks (it ends as KILLED)."""
        self._t.request("DELETE", endpoint("executions", execution_id, "kill"))

    def resume(self, execution_id: str, inputs: Mapping[str, Any] | None = None) -> None:
        """Resume a paused execution, with the inputs its Pause task's ``onResume`` declares."""
        self._t.request(
            "POST",
            endpoint("executions", execution_id, "resume"),
            json={"inputs": dict(inputs or {})},
        )

    def restart(self, execution_id: str) -> None:
        """Run a failed or killed execution again from its failed tasks (same execution id)."""
        self._t.request("POST", endpoint("executions", execution_id, "restart"))

    def logs(
        self, execution_id: str, after: int | None = None, min_level: str | None = None
    ) -> list[LogLine]:
        """The execution's log lines so far, in order; ``after`` is the last ``seq`` seen."""
        answer = self._t.request(
            "GET",
            endpoint("executions", execution_id, "logs"),
            params={"after": after, "min_level": min_level},
        )
        return [LogLine.from_json(line) for line in answer.json()]

    def follow_logs(
        self, execution_id: str, after: int | None = None, min_level: str | None = None
    ) -> Iterator[LogLine]:
        """Yield the execution's log lines as they are written, and return once it has ended.

        Reads the server's event stream. When the stream breaks before its ``end`` event, it is
        opened again from the last line seen (``Last-Event-ID`` and ``after``), so no line is
        lost or repeated; after the client's ``retries`` breaks in a row with nothing received,
        :class:`Unreachable` is raised.
        """
        path = endpoint("executions", execution_id, "logs", "follow")
        last = after
        breaks = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            params = {"after": last, "min_level": min_level}
            try:
                with self._t.request(
                    "GET", path, params=params, headers=headers, stream=True
                ) as response:
                    lines = (raw.decode("utf-8") for raw in response.iter_lines())
                    for event in _events(lines):
                        breaks = 0
                        if event.name == "end":
                            return
                        if event.name == "log":
                            line = LogLine.from_json(json.loads(event.data))
                            if last is None or line.seq > last:
                                last = line.seq
                                yield line
            except TRANSPORT_ERRORS:
                pass
            breaks += 1
            if breaks > self._t.retries:
                raise Unreachable(
                    display_url(self._t.url),
                    breaks,
                    f"the log stream of execution {execution_id} kept breaking before its end",
                )
            time.sleep(self._t.backoff * 2 ** (breaks - 1))

    def wait(self, execution_id: str, timeout: float = 600.0, poll: float = 0.5) -> Execution:
        """Poll the execution until it and every task run of it have ended, and return it.

        Raises ``TimeoutError`` naming the execution and its last state when ``timeout`` seconds
        pass first. A PAUSED execution waits for someone to resume it.
        """
        deadline = time.monotonic() + timeout
        while True:
            execution = self.get(execution_id)
            if execution.terminal:
                return execution
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"execution {execution_id} did not end within {timeout:g}s; "
                    f"it is {execution.state or 'in an unknown state'}"
                )
            time.sleep(min(poll, left))

    def download(self, execution_id: str, uri: str) -> bytes:
        """The bytes of one of the execution's files, by its ``kestra:///...`` URI."""
        return self._t.request(
            "GET", endpoint("executions", execution_id, "file"), params={"uri": uri}
        ).content


@dataclass(frozen=True)
class _Event:
    name: str
    data: str


def _events(lines: Iterable[str]) -> Iterator[_Event]:
    """Server-Sent Events from the stream's lines: the ``event:`` and ``data:`` fields up to a
    blank line make one event; comments (``:``) and other fields are skipped.

    The lines are split from bytes, on CR and LF only as the format says: split as text, a
    U+2028 in a log message would cut its JSON in two."""
    name = "message"
    data: list[str] = []
    for line in lines:
        if not line:
            if data or name != "message":
                yield _Event(name, "\n".join(data))
            name, data = "message", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


def _form_value(value: Any) -> str:
    """A non-file input as a form field: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _file_part(file: FileInput) -> tuple[str, bytes]:
    """A file part's name and bytes, read now so that a retried request sends them again."""
    if isinstance(file, tuple):
        return file
    path = Path(file)
    return path.name, path.read_bytes()
