"""Every expression in the corpus of real Kestra flows parses, except the few that Pebble
itself rejects (listed with the reason)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from controlplane.expr import ExpressionSyntaxError, check_syntax, has_expression

# (file, a fragment of the string) -> why Pebble refuses it too.
INVALID_IN_PEBBLE = {
    ("kestra-io__blueprints__flows__dropbox-backup-to-s3.yaml", "yyyy-MM-dd''T''"): (
        "YAML-style doubled quotes inside a Pebble string: 'yyyy-MM-dd''T''...' is two adjacent "
        "string literals, which Pebble's parser rejects"
    ),
    ("kestra-io__blueprints__flows__redis-generate-mock-user-json.yaml", "value[...]"): (
        "a description showing `{{ outputs.datagen.value[...] }}`: '...' is not an expression"
    ),
    (
        "kestra-io__kestra__core__src__test__resources__flows__valids__flowable-with-parent-fail.yaml",
        "{% for entry in json(taskrun.value) %}",
    ): "a {% for %} tag nested inside {{ }}; Kestra's test flow expects this to fail",
    ("mblink__kestra-automation__flows__prod__aws__clean-corp-preview-s3.yaml", "${#...}"): (
        "bash's ${#...} opens a Pebble comment that is never closed (the flow's own description "
        "explains this)"
    ),
    ("mblink__kestra-automation__ops__kestra-bootstrap.yaml", "${#array[@]}"): (
        "bash's ${#array[@]} opens a Pebble comment that is never closed"
    ),
}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def _expected_failure(file: str, text: str) -> str | None:
    for (name, fragment), reason in INVALID_IN_PEBBLE.items():
        if name == file and fragment in text:
            return reason
    return None


def test_every_corpus_expression_parses(flow_corpus: Path) -> None:
    files = sorted(flow_corpus.glob("*.yaml"))
    assert files, f"no flows in {flow_corpus}"
    checked = 0
    unexpected: list[str] = []
    rejected: set[tuple[str, str]] = set()
    for path in files:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for text in _strings(document):
                if not has_expression(text):
                    continue
                checked += 1
                try:
                    check_syntax(text)
                except ExpressionSyntaxError as exc:
                    if _expected_failure(path.name, text) is None:
                        unexpected.append(f"{path.name}: {exc}")
                    else:
                        rejected.add((path.name, text))
    assert not unexpected, "\n".join(unexpected)
    assert len(rejected) == len(INVALID_IN_PEBBLE), "an expected rejection now parses"
    assert checked > 2000
