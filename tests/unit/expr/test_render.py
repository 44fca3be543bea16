"""Rendering Pebble constructs: literals, operators, access, undefined handling, tags, printing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from controlplane.expr import (
    ExpressionError,
    Renderer,
    UndefinedVariableError,
    is_truthy,
    needs_context,
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'single' }}{{ \"double\" }}", "singledouble"),
        ("{{ 'it\\'s' }}", "it's"),
        ("{{ 10l + 5L }}", "15"),
        ("{{ 1.5 }}", "1.5"),
        ("{{ 2.0 }}", "2.0"),
        ("{{ 10000000.0 }}", "1.0E7"),
        ("{{ 0.0001 * 1.0 }}", "1.0E-4"),
        ("{{ true }} {{ false }}", "true false"),
        ("[{{ null }}][{{ none }}]", "[][]"),
        ("{{ [1, 'a', [true]] }}", '[1,"a",[true]]'),
        ("{{ {'a': 1, \"b\": [1, 2]} }}", '{"a":1,"b":[1,2]}'),
        ("{{ {'é': 'ü'} }}", '{"é":"ü"}'),
        ("{{ 0..3 }}", "[0,1,2,3]"),
    ],
)
def test_literals_print_as_pebble_writes_them(
    renderer: Renderer, template: str, expected: str
) -> None:
    assert renderer.render(template, {}) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 7 / 2 }}", "3"),  # Pebble's longOperation: integer division
        ("{{ -7 / 2 }}", "-3"),  # truncated toward zero, like Java
        ("{{ 7.0 / 2 }}", "3.5"),
        ("{{ -7 % 3 }}", "-1"),  # Java remainder keeps the dividend's sign
        ("{{ 2 + 3 * 4 }}", "14"),
        ("{{ (2 + 3) * 4 }}", "20"),
        ("{{ 1 == 1.0 }}", "true"),
        ("{{ true == 1 }}", "false"),
        ("{{ 'a' equals 'a' }}", "true"),
        ("{{ 2 >= 3 }}", "false"),
        ("{{ 'a' ~ 1 ~ true ~ null }}", "a1true"),
        ("{{ 'n=' ~ (1 + 2) }}", "n=3"),
        ("{{ 'd' ~ 'abc' | upper }}", "DABC"),  # ~ (110) binds tighter than | (100)
        ("{{ 'abc' | upper ~ 'd' }}", "ABCd"),
        ("{{ not false }}", "true"),
        ("{{ not 1 == 2 }}", "false"),  # Pebble: (not 1) == 2
        ("{{ true and false or true }}", "true"),
        ("{{ [1, 2] contains 2 }}", "true"),
        ("{{ [1, 2, 3] contains [1, 3] }}", "true"),
        ("{{ {'k': 1} contains 'k' }}", "true"),
        ("{{ 'haystack' contains 'st' }}", "true"),
        ("{{ 'A' isIn ['A', 'B'] }}", "true"),
        ("{{ 'C' not in ['A', 'B'] }}", "true"),
        ("{{ 1 > 0 ? 'yes' : 'no' }}", "yes"),
        ("{{ 1 > 0 ? (2 > 3 ? 'a' : 'b') : 'c' }}", "b"),
        ("{{ -(3) + +2 }}", "-1"),
    ],
)
def test_operators_follow_pebble(renderer: Renderer, template: str, expected: str) -> None:
    assert renderer.render(template, {}) == expected


def test_arithmetic_on_text_is_an_error(renderer: Renderer) -> None:
    with pytest.raises(ExpressionError, match="needs two numbers"):
        renderer.render("{{ 'a' + 1 }}", {})


def test_ternary_does_not_evaluate_the_branch_not_taken(renderer: Renderer) -> None:
    assert renderer.render("{{ true ? 'ok' : ko }}", {}) == "ok"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.name }}", "Ada"),
        ("{{ inputs['name'] }}", "Ada"),
        ("{{ inputs.tags[1] }}", "b"),
        ("{{ inputs.tags.0 }}", "a"),
        ("{{ outputs['error-t1'].value }}", "dash"),
        ("{{ outputs.extract.items }}", "[1,2]"),  # a key, not dict.items
        ("{{ outputs.extract['values'].k }}", "1"),
        ("{{ outputs.list.rows[1].id }}", "2"),
        ("{% set i = 0 %}{{ inputs.tags[i] }}", "a"),
        ("{{ outputs[taskrun.value] ?? 'none' }}", "none"),
    ],
)
def test_attribute_access(
    renderer: Renderer, context: dict[str, Any], template: str, expected: str
) -> None:
    assert renderer.render(template, context) == expected


def test_integer_index_reads_a_string_key(renderer: Renderer) -> None:
    assert renderer.render("{{ m[0] }}", {"m": {"0": "zero"}}) == "zero"


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("{{ missing }}", "missing"),
        ("{{ outputs.nothing.uri }}", "outputs.nothing.uri"),
        ("{{ outputs.extract.size }}", "outputs.extract.size"),
        ("{{ inputs.tags[9] }}", "inputs.tags[9]"),
        ("{% if trigger.date == 1 %}{% endif %}", "trigger.date"),
        ("{{ inputs.missing | upper }}", "inputs.missing"),
        ("{{ inputs.missing ~ 'x' }}", "inputs.missing"),
        ("{% for x in nothing %}{% endfor %}", "nothing"),
    ],
)
def test_missing_variable_is_an_error_naming_the_path(
    renderer: Renderer, context: dict[str, Any], template: str, path: str
) -> None:
    with pytest.raises(UndefinedVariableError) as caught:
        renderer.render(template, context)
    assert caught.value.path == path
    assert f"'{path}'" in caught.value.message


def test_undefined_error_reports_the_template_line(renderer: Renderer) -> None:
    with pytest.raises(UndefinedVariableError) as caught:
        renderer.render("first\nsecond {{ nope }}", {})
    assert caught.value.line == 2
    assert caught.value.template == "first\nsecond {{ nope }}"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ trigger.date ?? execution.startDate }}", "2024-03-05T10:15:30.123456Z"),
        ("{{ outputs.nothing.deeper.uri ?? 'x' }}", "x"),
        ("{{ inputs.none ?? 'was null' }}", "was null"),
        ("{{ inputs.count ?? 0 }}", "3"),
        ("{{ inputs.empty ?? 'kept' }}", ""),
        ("{{ a ?? b ?? 'third' }}", "third"),
        ("{{ inputs.none ??? 'only undefined' }}", ""),
        ("{{ missing ??? 'only undefined' }}", "only undefined"),
        ("{{ missing | default('d') }}", "d"),
        ("{{ inputs.empty | default('d') }}", "d"),
        ("{{ missing is defined }} {{ inputs.name is defined }}", "false true"),
        (
            "{{ missing is null }} {{ inputs.none is null }} {{ inputs.name is not null }}",
            "true true true",
        ),
        ("{{ (missing ?? 0) + 1 }}", "1"),
        ("{{ missing.x | upper ?? 'fallback' }}", "fallback"),  # (missing.x | upper) ?? ...
        ("{{ missing ?? 'abc' | upper }}", "ABC"),  # ?? (120) binds tighter than |
    ],
)
def test_null_coalescing_and_defaults(
    renderer: Renderer, context: dict[str, Any], template: str, expected: str
) -> None:
    assert renderer.render(template, context) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{% if inputs.count > 2 %}big{% elseif inputs.count > 1 %}mid"
            "{% else %}small{% endif %}",
            "big",
        ),
        ("{% if inputs.empty %}yes{% else %}no{% endif %}", "no"),
        ("{% if 'false' %}yes{% else %}no{% endif %}", "no"),
        (
            "{% for t in inputs.tags %}{{ loop.index }}{{ t }}{{ loop.first ? '^' : '' }}"
            "{{ loop.last ? '$' : '' }}{{ loop.length }}{{ loop.revindex }}{% endfor %}",
            "0a^321b312c$30",
        ),
        ("{% for x in [] %}x{% else %}empty{% endfor %}", "empty"),
        ("{% for e in {'a': 1} %}{{ e.key }}={{ e.value }}{% endfor %}", "a=1"),
        ("{% for i in 1..3 %}{{ i }}{% endfor %}", "123"),
        ("{% set n = inputs.count * 2 %}{{ n }}", "6"),
        ("{% filter upper %}hi {{ inputs.name }}{% endfilter %}", "HI ADA"),
        (
            "{% macro greet(who, p='Hi') %}{{ p }} {{ who }}{% endmacro %}{{ greet('Bob') }}",
            "Hi Bob",
        ),
        ("{% raw %}{{ inputs.name }}{% endraw %}", "{{ inputs.name }}"),
        ("{% verbatim %}{% if %}{% endverbatim %}", "{% if %}"),
        ("a{# hidden #}b", "ab"),
        ("a  {{- inputs.name -}}  b", "aAdab"),
        ("{% block body %}in block {{ inputs.name }}{% endblock %}", "in block Ada"),
        ("line\n", "line\n"),
    ],
)
def test_tags(renderer: Renderer, context: dict[str, Any], template: str, expected: str) -> None:
    assert renderer.render(template, context) == expected


def test_text_without_expressions_comes_back_unchanged(renderer: Renderer) -> None:
    text = "echo ${HOME} { not } an expression\r\n"
    assert renderer.render(text, {}) is text


def test_rendering_is_not_recursive(renderer: Renderer, context: dict[str, Any]) -> None:
    assert renderer.render("{{ vars.template }}", context) == "Hi {{ inputs.name }}"
    assert renderer.render("{{ render(vars.template) }}", context) == "Hi Ada"
    assert renderer.render("{{ render(vars.nested) }}", context) == "Hi Ada"
    assert renderer.render("{{ renderOnce(vars.nested) }}", context) == "Hi {{ inputs.name }}"
    assert renderer.render("{{ render(vars.nested, recursive=false) }}", context) == (
        "Hi {{ inputs.name }}"
    )


def test_dates_print_like_java(renderer: Renderer) -> None:
    moment = dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC)
    assert renderer.render("{{ d }}", {"d": moment}) == "2024-01-02T03:04Z"
    with_millis = moment.replace(second=5, microsecond=120000)
    assert renderer.render("{{ d }}", {"d": with_millis}) == "2024-01-02T03:04:05.120Z"


def test_render_typed_returns_the_object(renderer: Renderer, context: dict[str, Any]) -> None:
    assert renderer.render_typed("{{ inputs.tags }}", context) == ["a", "b", "c"]
    assert renderer.render_typed("  {{ inputs.count }}\n", context) == 3
    assert renderer.render_typed("{{ inputs.count > 1 }}", context) is True
    assert renderer.render_typed("{{ inputs.none }}", context) is None
    assert renderer.render_typed("n={{ inputs.count }}", context) == "n=3"
    assert renderer.render_typed("plain", context) == "plain"
    with pytest.raises(UndefinedVariableError):
        renderer.render_typed("{{ missing }}", context)


def test_render_value_renders_keys_and_nested_values(
    renderer: Renderer, context: dict[str, Any]
) -> None:
    value = {"{{ inputs.name }}": ["{{ inputs.count }}", 5, {"k": "{{ inputs.tags }}"}]}
    assert renderer.render_value(value, context) == {"Ada": ["3", 5, {"k": '["a","b","c"]'}]}
    assert renderer.render_value(value, context, typed=True) == {
        "Ada": [3, 5, {"k": ["a", "b", "c"]}]
    }


def test_evaluate_accepts_braced_and_bare_conditions(
    renderer: Renderer, context: dict[str, Any]
) -> None:
    assert renderer.evaluate("{{ inputs.count == 3 }}", context) is True
    assert renderer.evaluate("inputs.count == 4", context) is False
    assert renderer.evaluate("inputs.tags contains 'b'", context) is True


@pytest.mark.parametrize(
    ("value", "truth"),
    [
        (False, False),
        ("false", False),
        ("FALSE", False),
        (" 0 ", False),
        ("-0", False),
        (0, False),
        (0.0, False),
        (None, False),
        ("", False),
        ([], False),
        (True, True),
        ("true", True),
        ("null", True),  # a null value renders as "", so the text "null" is a word
        (1, True),
        ("yes", True),
        ([0], True),
    ],
)
def test_kestra_truthiness(value: Any, truth: bool) -> None:
    assert is_truthy(value) is truth


def test_injected_function_receives_arguments_and_context(context: dict[str, Any]) -> None:
    calls: list[tuple[Any, ...]] = []

    @needs_context
    def kv(
        ctx: dict[str, Any], key: str, namespace: str | None = None, errorOnMissing: bool = True
    ) -> str:
        calls.append((ctx["flow"]["namespace"], key, namespace, errorOnMissing))
        return f"value-of-{key}"

    def secret(key: str) -> str:
        return key[::-1]

    renderer = Renderer(functions={"kv": kv, "secret": secret})
    rendered = renderer.render(
        "{{ kv('k', namespace='x', errorOnMissing=false) }} {{ secret('abc') }}", context
    )
    assert rendered == "value-of-k cba"
    assert calls == [("company.team", "k", "x", False)]


def test_injected_filter_is_used(context: dict[str, Any]) -> None:
    renderer = Renderer(filters={"shout": lambda value, marks=1: str(value).upper() + "!" * marks})
    assert renderer.render("{{ inputs.name | shout(marks=2) }}", context) == "ADA!!"


def test_unknown_function_and_filter_fail_at_render(renderer: Renderer) -> None:
    with pytest.raises(ExpressionError, match="Unknown function 'secrets'"):
        renderer.render("{{ secrets('x') }}", {})
    with pytest.raises(ExpressionError, match="Unknown filter 'truncate'"):
        renderer.render("{{ 'x' | truncate(3) }}", {})
    # A filter in a branch that does not run is never looked up, as in Kestra.
    assert renderer.render("{% if false %}{{ 'x' | truncate }}{% endif %}ok", {}) == "ok"
