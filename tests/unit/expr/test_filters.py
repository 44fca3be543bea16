"""Every filter Weir registers, with results as Kestra's Pebble gives them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from controlplane.expr import ExpressionError, Renderer

DATA: dict[str, Any] = {
    "text": "  Hello World  ",
    "words": ["b", "a", "c"],
    "nested": [[1, 2], [3], 4],
    "map": {"a": 1, "b": 2},
    "json_text": '{"items": [{"id": 1}, {"id": 2}]}',
    "rows": [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}],
    "start": "2024-03-05T10:15:30.123456Z",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ text | trim }}", "Hello World"),
        ("{{ text | trim | upper }}", "HELLO WORLD"),
        ("{{ text | trim | lower }}", "hello world"),
        ("{{ 'hello big world' | title }}", "Hello Big World"),
        ("{{ 'hello' | capitalize }}", "Hello"),
        ("{{ 'abcdefghij' | abbreviate(6) }}", "abc..."),
        ("{{ 'a,b,,c,,' | split(',') }}", '["a","b","","c"]'),
        ("{{ 'a1b22c' | split('[0-9]+') }}", '["a","b","c"]'),
        ("{{ 'a,b,c' | split(',', 2) }}", '["a","b,c"]'),
        ("{{ 'a.b.c' | split('\\\\.') | length }}", "3"),
        ("{{ 'aXbX' | replace({'X': '-'}) }}", "a-b-"),
        ("{{ 'a1b22' | replace({'[0-9]+': '#'}, regexp=true) }}", "a#b#"),
        ('{{ "it\'s" | replace("\'", "\'\'") }}', "it''s"),
        ("{{ 'Hello World!' | slugify }}", "hello-world"),
        ("{{ 'Élan Vital' | slugify }}", "elan-vital"),
        ("{{ 'file.tar.gz' | substringBefore('.') }}", "file"),
        ("{{ 'file.tar.gz' | substringBeforeLast('.') }}", "file.tar"),
        ("{{ 'file.tar.gz' | substringAfter('.') }}", "tar.gz"),
        ("{{ 'file.tar.gz' | substringAfterLast('.') }}", "gz"),
        ("{{ 'file' | substringAfter('.') }}", ""),
        ("{{ 'abc' | startsWith('ab') }} {{ 'abc' | endsWith('bc') }}", "true true"),
        ("{{ 'a b&c' | urlencode }}", "a+b%26c"),
        ("{{ 'a+b%26c' | urldecode }}", "a b&c"),
        ("{{ 'hi' | base64encode }}", "aGk="),
        ("{{ 'aGk=' | base64decode }}", "hi"),
        ("{{ '<a href=\"x\">' | escape }}", "&lt;a href=&quot;x&quot;&gt;"),
        ("{{ \"it's\" | escapeChar('single') }}", "it\\'s"),
        ("{{ 'say \"hi\"' | escapeChar('double') }}", 'say \\"hi\\"'),
        ("{{ \"it's\" | escapeChar('shell') }}", "it'\\''s"),
        ("{{ 'a\nb' | indent(2) }}", "a\n  b"),
        ("{{ 'a\nb' | nindent(2) }}", "\n  a\n  b"),
        ("{{ 12 | string ~ '' }}", "12"),
        ("{{ words | first }} {{ words | last }}", "b c"),
        ("{{ 'abc' | first }}", "a"),
        ("{{ words | length }} {{ text | length }} {{ map | length }}", "3 15 2"),
        ("{{ words | join(', ') }}", "b, a, c"),
        ("{{ words | sort }} {{ words | rsort }}", '["a","b","c"] ["c","b","a"]'),
        ("{{ words | reverse }}", '["c","a","b"]'),
        ("{{ words | slice(1, 3) }} {{ 'abcdef' | slice(2, 4) }}", '["a","c"] cd'),
        ("{{ map | keys }} {{ map | values }}", '["a","b"] [1,2]'),
        ("{{ nested | flatten }}", "[1,2,3,4]"),
        ("{{ [1, 2, 3, 4, 5] | chunk(2) }}", "[[1,2],[3,4],[5]]"),
        ("{{ [1, 2, 1, 3, 2] | distinct }}", "[1,2,3]"),
        ("{{ map | merge({'c': 3}) }}", '{"a":1,"b":2,"c":3}'),
        ("{{ words | merge(['d']) }}", '["b","a","c","d"]'),
        ("{{ -5 | abs }}", "5"),
        ("{{ map | toJson }}", '{"a":1,"b":2}'),
        ("{{ 'x' | toJson }}", '"x"'),
        ("{{ map | json }}", '{"a":1,"b":2}'),
        ("{{ map | toIon }}", '{"a":1,"b":2}'),
        ("{{ map | yaml }}", "a: 1\nb: 2\n"),
        ("{{ rows | jq('.[].name') }}", '["x","y"]'),
        ("{{ rows | jq('.[0].id') | first }}", "1"),
        ("{{ json_text | jq('.items | length') | first }}", "2"),
        ("{{ '42' | number + 1 }}", "43"),
        ("{{ '4.5' | number }}", "4.5"),
        ("{{ '42' | number('DOUBLE') }}", "42.0"),
        ("{{ '7' | number('LONG') / 2 }}", "3"),
        ("{{ 1234.5678 | numberFormat('#,##0.00') }}", "1,234.57"),
        ("{{ 0.5 | numberFormat('0.#') }}", "0.5"),
        ("{{ 3 | numberFormat('000') }}", "003"),
        (
            "{{ 'x' | className }} {{ 1 | className }} {{ map | className }}",
            "java.lang.String java.lang.Integer java.util.LinkedHashMap",
        ),
        ("{{ null | default('d') }} {{ [] | default('d') }} {{ 0 | default('d') }}", "d d 0"),
        ("{{ missing | default(default='named') }}", "named"),
        ("{{ 'x' | raw }}", "x"),
    ],
)
def test_filter(renderer: Renderer, template: str, expected: str) -> None:
    assert renderer.render(template, DATA) == expected


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [("md5", "md5"), ("sha1", "sha1"), ("sha256", "sha256"), ("sha512", "sha512")],
)
def test_hash_filters(renderer: Renderer, name: str, algorithm: str) -> None:
    expected = hashlib.new(algorithm, b"kestra").hexdigest()
    assert renderer.render("{{ 'kestra' | " + name + " }}", {}) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 'x' | number }}", "'x' is not a number"),
        ("{{ rows | jq('.[') }}", "jq"),
        ("{{ 'not json' | jq('.') }}", "not JSON"),
        ("{{ 'x' | escapeChar('weird') }}", "single, double or shell"),
        ("{{ [1] | slice(0, 5) }}", "out of bounds"),
    ],
)
def test_filter_errors_are_expression_errors(
    renderer: Renderer, template: str, message: str
) -> None:
    with pytest.raises(ExpressionError, match=message.replace("[", "\\[")):
        renderer.render(template, DATA)
