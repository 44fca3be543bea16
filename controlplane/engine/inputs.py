"""Typed inputs of a new execution: defaults, required inputs, coercion, files.

Every problem names the input and what was expected; nothing is created when one input is
invalid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from controlplane.engine.variables import nest_dotted
from controlplane.errors import WeirError
from controlplane.expr import ExpressionError, Renderer, has_expression
from controlplane.spec.flow import Flow


class InputError(WeirError):
    """Inputs given for an execution do not fit the flow's declared inputs."""

    code = "invalid_inputs"

    def __init__(self, problems: dict[str, str]) -> None:
        listed = "; ".join(f"input '{key}': {why}" for key, why in problems.items())
        super().__init__(listed)
        self.problems = problems


FileSaver = Callable[[str, bytes], str]
"""Stores the content of a FILE input under its input id and returns its internal URI."""


def resolve_inputs(
    flow: Flow,
    given: Mapping[str, Any],
    renderer: Renderer,
    context: Mapping[str, Any],
    save_file: FileSaver,
) -> dict[str, Any]:
    """The typed inputs of an execution of ``flow`` started with ``given``."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for declared in flow.inputs:
        raw = given.get(declared.id)
        if raw is None:
            raw = _default(declared.defaults, renderer, {**context, "inputs": values})
        if raw is None or (raw == "" and declared.type not in ("STRING", "SECRET")):
            if declared.required:
                problems[declared.id] = f"required {declared.type} input is missing"
            else:
                values[declared.id] = None
            continue
        try:
            if declared.type == "FILE":
                values[declared.id] = _file(declared.id, raw, save_file)
            else:
                values[declared.id] = declared.coerce(raw)
        except (ValueError, OSError) as exc:
            problems[declared.id] = str(exc)
    if problems:
        raise InputError(problems)
    return nest_dotted(values)


def _default(defaults: Any, renderer: Renderer, context: Mapping[str, Any]) -> Any:
    if isinstance(defaults, str) and has_expression(defaults):
        try:
            return renderer.render_typed(defaults, context)
        except ExpressionError as exc:
            raise InputError({"defaults": str(exc)}) from None
    return defaults


def _file(input_id: str, raw: Any, save_file: FileSaver) -> str:
    if isinstance(raw, bytes):
        return save_file(input_id, raw)
    text = str(raw)
    if text.startswith(("kestra://", "nsfile://")):
        return text
    if text.startswith("file://"):
        # The server never reads its own disk on a caller's behalf: the file must be sent.
        raise ValueError(
            "a file:// path is not read by the server; send the file's content "
            "(a multipart file part, or --input KEY=@path with weir run)"
        )
    return save_file(input_id, text.encode())
