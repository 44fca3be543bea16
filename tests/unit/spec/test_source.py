"""Bad input of any kind gets a clear error at a place, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.spec.source import MAX_BYTES
from controlplane.spec.validate import validate_file, validate_text


def only_error(raw: bytes | str) -> tuple[int, int, str]:
    result = validate_text(raw, "flow.yaml")
    assert result.flow is None
    [problem] = result.problems
    return problem.location.line, problem.location.column, problem.message


def test_text_that_is_not_yaml() -> None:
    line, column, message = only_error("id: a\nnamespace: b\ntasks:\n  - id: [unclosed\n")
    assert (line, column) == (5, 1)
    assert message.startswith("not valid YAML: ")


def test_a_list_at_the_top() -> None:
    assert only_error("- id: a\n- id: b\n") == (
        1,
        1,
        "the document is a list; a flow must be a mapping",
    )


def test_a_single_value_at_the_top() -> None:
    assert only_error("hello\n") == (
        1,
        1,
        "the document is a single value; a flow must be a mapping",
    )


def test_an_empty_document() -> None:
    assert only_error("# nothing here\n") == (
        1,
        1,
        "the document is empty; a flow needs id, namespace and tasks",
    )


def test_several_documents_in_one_file() -> None:
    text = "id: a\nnamespace: b\n---\nid: c\nnamespace: d\n"
    assert only_error(text) == (
        3,
        1,
        "the file holds several YAML documents; a flow is exactly one",
    )


def test_duplicate_keys() -> None:
    text = "id: a\nnamespace: b\nid: c\n"
    assert only_error(text) == (3, 1, "duplicate key 'id' (first given on line 1)")


def test_binary_bytes() -> None:
    raw = b"id: a\nnamespace: \xff\xfe\x00\x01\n"
    assert only_error(raw) == (2, 12, "binary content: the file is not UTF-8 text")


def test_nul_bytes_in_utf8_text() -> None:
    assert only_error("id: a\n\x00\n") == (
        2,
        1,
        "binary content: the file contains NUL bytes, it is not YAML",
    )


def test_deep_nesting() -> None:
    text = "id: a\nnamespace: b\nvariables:\n  x: " + "[" * 5000 + "]" * 5000 + "\n"
    line, _, message = only_error(text)
    assert line == 4
    assert message == "nesting deeper than 64 levels"


def test_alias_expansion_bomb() -> None:
    lines = ["id: a", "namespace: b", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    line, _, message = only_error("\n".join(lines) + "\n")
    assert message == "more than 200,000 values (alias expansion?)"
    assert line >= 3


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.write(b"id: a\nnamespace: b\nvariables:\n")
        chunk = b"  k: " + b"x" * 1000 + b"\n"
        for index in range(50 * 1024):
            handle.write(chunk.replace(b"k:", f"k{index}:".encode()))
    result = validate_file(big)
    [problem] = result.problems
    assert (problem.location.line, problem.location.column) == (1, 1)
    assert problem.message.startswith("file is ")
    assert problem.message.endswith(f"bytes; a flow may be at most {MAX_BYTES:,}")


def test_yes_and_no_stay_strings_as_in_kestra() -> None:
    text = "id: a\nnamespace: b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n"
    text += "    format: no\n"
    result = validate_text(text)
    assert result.flow is not None
    assert result.flow.tasks[0].format == "no"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbfid: a\nnamespace: b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n"
    ],
)
def test_a_byte_order_mark_is_accepted(raw: bytes) -> None:
    assert validate_text(raw).ok
