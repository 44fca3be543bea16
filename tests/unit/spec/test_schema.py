"""The JSON Schema editors use accepts every flow that ``weir validate`` accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from controlplane.spec.schema import flow_schema
from controlplane.spec.source import read_source
from controlplane.spec.validate import validate_source


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = flow_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_valid_corpus_flow_matches_the_schema(
    corpus: Path, validator: jsonschema.Draft202012Validator
) -> None:
    checked = 0
    rejected = {}
    for path in sorted(corpus.glob("*.yaml")):
        doc = read_source(path)
        if not validate_source(doc).ok:
            continue
        checked += 1
        errors = [
            f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc.data)
        ]
        if errors:
            rejected[path.name] = errors[:3]
    assert rejected == {}
    assert checked > 150


def test_the_schema_rejects_an_unknown_task_type(
    validator: jsonschema.Draft202012Validator,
) -> None:
    flow = {"id": "a", "namespace": "b", "tasks": [{"id": "t", "type": "io.example.Nope"}]}
    assert not validator.is_valid(flow)


def test_the_schema_rejects_an_unknown_property(validator: jsonschema.Draft202012Validator) -> None:
    flow = {
        "id": "a",
        "namespace": "b",
        "tasks": [{"id": "t", "type": "io.kestra.plugin.core.log.Log", "message": "x", "oops": 1}],
    }
    assert not validator.is_valid(flow)


def test_the_schema_documents_task_types(validator: jsonschema.Draft202012Validator) -> None:
    schema = flow_schema()
    names = set(schema["$defs"]["task"]["properties"]["type"]["enum"])
    assert "io.kestra.plugin.core.log.Log" in names
    assert "io.kestra.core.tasks.log.Log" in names


def test_weir_schema_flow_prints_it() -> None:
    weir = str(Path(sys.executable).parent / "weir")
    run = subprocess.run([weir, "schema", "flow"], capture_output=True, text=True, check=True)
    assert json.loads(run.stdout)["title"] == "Weir flow"
