"""Known Jinja2 sandbox escapes, written in Pebble, fail; a template reads only its context.

Several classic escapes cannot even be written in Pebble: ``**`` is not an operator, and
``cycler``, ``joiner``, ``lipsum``, ``namespace`` and ``self`` are not functions or variables a
template can reach (names are looked up only in the context given to the renderer).
"""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.expr import (
    ExpressionError,
    ExpressionSyntaxError,
    Renderer,
    SandboxViolation,
    UndefinedVariableError,
)


class Account:
    def __init__(self) -> None:
        self.name = "ops"
        self._token = "s3cr3t"

    def close(self) -> str:
        return "closed"


@pytest.fixture
def target() -> dict[str, Any]:
    return {"items": [1, 2], "conf": {"a": 1}, "account": Account(), "text": "x"}


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ text.__class__.__mro__[1].__subclasses__() }}",
        "{{ account.__init__.__globals__ }}",
        "{{ account.__dict__ }}",
        "{{ account._token }}",
        "{{ account['_token'] }}",
        "{{ items.__len__ }}",
        "{{ account.close }}",
        "{{ account.close() }}",
        "{{ items.append(3) }}",
        "{{ conf.update({'a': 2}) }}",
        "{{ conf.pop('a') }}",
        "{{ '{0.__class__}'.format(text) }}",
        "{{ '{a}'.format_map(conf) }}",
        "{% include 'other.peb' %}",
        "{% import 'macros.peb' %}",
        "{% extends 'base.peb' %}",
        "{{ range(0, 100000000) | length }}",
        "{% for i in 0..2000000000 %}{% endfor %}",
    ],
)
def test_escape_is_a_sandbox_violation(
    renderer: Renderer, target: dict[str, Any], template: str
) -> None:
    with pytest.raises(SandboxViolation):
        renderer.render(template, target)
    assert target["items"] == [1, 2] and target["conf"] == {"a": 1}


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{{ 'a' * 10**9 }}", ExpressionSyntaxError),  # no ** in Pebble
        ("{{ 'a' * 1000000000 }}", ExpressionError),  # * needs numbers
        ("{{ cycler(1, 2) }}", ExpressionError),
        ("{{ joiner() }}", ExpressionError),
        ("{{ lipsum() }}", ExpressionError),
        ("{{ namespace(a=1) }}", ExpressionError),
        ("{{ self }}", UndefinedVariableError),
        ("{{ self.__init__ }}", UndefinedVariableError),
        ("{{ config }}", UndefinedVariableError),
        ("{{ request }}", UndefinedVariableError),
    ],
)
def test_jinja_only_escapes_are_not_reachable_from_pebble(
    renderer: Renderer, template: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        renderer.render(template, {})


def test_output_beyond_the_limit_is_refused() -> None:
    renderer = Renderer(max_output=1000)
    with pytest.raises(SandboxViolation, match="limit"):
        renderer.render("{% for i in range(1, 200) %}0123456789{% endfor %}", {})
    assert len(renderer.render("{% for i in range(1, 50) %}0123456789{% endfor %}", {})) == 500


def test_string_doubling_is_capped() -> None:
    renderer = Renderer(max_output=10_000)
    template = "{% set s = 'ab' %}" + "{% set s = s ~ s %}" * 40 + "{{ s | length }}"
    with pytest.raises(SandboxViolation):
        renderer.render(template, {})


def test_recursive_macro_is_stopped(renderer: Renderer) -> None:
    with pytest.raises(SandboxViolation, match="recursion"):
        renderer.render("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", {})


def test_public_data_attributes_of_context_objects_are_readable(
    renderer: Renderer, target: dict[str, Any]
) -> None:
    assert renderer.render("{{ account.name }}", target) == "ops"
