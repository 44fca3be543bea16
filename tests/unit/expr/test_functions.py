"""The pure functions the Renderer provides itself."""

from __future__ import annotations

import re

import pytest

from controlplane.expr import ExpressionError, Renderer


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ fromJson('{\"a\": [1, 2]}').a[1] }}", "2"),
        ("{{ json('{\"a\": 1}').a }}", "1"),
        ("{{ fromIon('{\"a\": true}').a }}", "true"),
        ("{{ yaml('a: 1\nb: [x, y]').b }}", '["x","y"]'),
        ("{{ range(1, 5, 2) }}", "[1,3,5]"),
        ("{{ range(3, 1, -1) }}", "[3,2,1]"),
        ("{{ max(1, 7, 3) }} {{ min(4, 2, 9) }}", "7 2"),
        ("{{ max([1, 8]) }}", "8"),
        ("{{ json(taskrun.value).id ?? 'none' }}", "7"),
    ],
)
def test_function(renderer: Renderer, template: str, expected: str) -> None:
    assert renderer.render(template, {"taskrun": {"value": '{"id": 7}'}}) == expected


def test_identifiers_and_random_values(renderer: Renderer) -> None:
    assert re.fullmatch(r"[0-9a-f-]{36}", renderer.render("{{ uuid() }}", {}))
    assert re.fullmatch(r"[0-9A-Za-z]{22}", renderer.render("{{ id() }}", {}))
    assert renderer.render("{{ uuid() }}", {}) != renderer.render("{{ uuid() }}", {})
    value = renderer.render_typed("{{ randomInt(5, 7) }}", {})
    assert value in (5, 6)
    port = renderer.render_typed("{{ randomPort() }}", {})
    assert isinstance(port, int) and 0 < port < 65536


def test_print_context_shows_the_context_as_json(renderer: Renderer) -> None:
    assert renderer.render("{{ printContext() }}", {"flow": {"id": "f"}}) == '{"flow":{"id":"f"}}'


def test_bad_json_is_an_expression_error(renderer: Renderer) -> None:
    with pytest.raises(ExpressionError, match="invalid JSON"):
        renderer.render("{{ fromJson('{nope') }}", {})


def test_engine_function_overrides_and_extends_the_table() -> None:
    renderer = Renderer(functions={"read": lambda path: f"content of {path}"})
    assert renderer.render("{{ read('a.txt') }}", {}) == "content of a.txt"
    assert renderer.render("{{ uuid() | length }}", {}) == "36"
