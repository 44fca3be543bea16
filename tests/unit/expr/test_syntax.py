"""check_syntax and has_expression: what parses as Pebble and what does not, with positions."""

from __future__ import annotations

import pytest

from controlplane.expr import ExpressionSyntaxError, check_syntax, has_expression


@pytest.mark.parametrize(
    "text",
    [
        "{{ a }}",
        "{% if a %}x{% elseif b %}y{% else %}z{% endif %}",
        "{% for x in items %}{{ loop.index }}{% else %}none{% endfor %}",
        "{{ a.b['c-d'][0] ?? 'x' }}",
        "{{ x | date('yyyy', timeZone='UTC') | upper }}",
        "{{ kv('k', namespace='x', errorOnMissing=false) }}",
        "{{ c ? a : b }}",
        "{{ {'k': [1, 2.5, 10l], \"j\": true} }}",
        "{{ 0..3 }}",
        "{% raw %}{{ not parsed {% %}{% endraw %}",
        "{% verbatim %}{{ not parsed }}{% endverbatim %}",
        "{# comment #}{{- a -}}",
        "{{ a is not null and b is defined or c contains 'x' }}",
        "{{ x isIn ['A', 'B'] }}",
        "{% set x = 1 %}{% filter upper | trim %}a{% endfilter %}",
        "{% macro m(a, b='z') %}{{ a }}{% endmacro %}{{ m(1) }}",
        "{{ unknownFunction() | unknownFilter }}",
    ],
)
def test_valid_pebble_passes(text: str) -> None:
    check_syntax(text)


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("{{ a", 1, 1, "never closed"),
        ("x\n  {{ a + }}", 2, 10, "unexpected end of expression"),
        ("{% if a %}x", 1, 1, "never closed with 'endif'"),
        ("{% endif %}", 1, 4, "does not close"),
        ("{% if a %}{% endfor %}", 1, 14, "'endfor' does not close 'if'"),
        ("{{ 'abc }}", 1, 4, "unterminated string"),
        ("{{ a b }}", 1, 6, "unexpected token"),
        ("{% frobnicate %}", 1, 4, "unknown tag 'frobnicate'"),
        ("${#array[@]}", 1, 2, "unclosed comment"),
        ("{{ f(a=1, 2) }}", 1, 11, "positional argument cannot follow"),
    ],
)
def test_invalid_pebble_is_reported_with_position(
    text: str, line: int, column: int, reason: str
) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        check_syntax(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert reason in caught.value.message
    assert caught.value.template == text
    assert caught.value.code == "expression_error"


def test_plain_text_is_not_an_expression() -> None:
    assert not has_expression("plain { text } and ${shell}")
    assert has_expression("a {{ b }}")
    assert has_expression("{% if x %}{% endif %}")
    check_syntax("plain text with a lone } brace")
