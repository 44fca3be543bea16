"""Fixtures for the expression tests: a renderer, a typical context, the flow corpus path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controlplane.expr import Renderer

REPO_ROOT = Path(__file__).resolve().parents[3]
FLOW_CORPUS = (REPO_ROOT / "../shared/corpus/kestra-flows").resolve()


@pytest.fixture(scope="session")
def flow_corpus() -> Path:
    assert FLOW_CORPUS.is_dir(), f"the Kestra flow corpus is not at {FLOW_CORPUS}"
    return FLOW_CORPUS


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def context() -> dict[str, Any]:
    return {
        "flow": {"id": "hello", "namespace": "company.team"},
        "execution": {"id": "4fK2", "startDate": "2024-03-05T10:15:30.123456Z"},
        "inputs": {"name": "Ada", "count": 3, "tags": ["a", "b", "c"], "empty": "", "none": None},
        "outputs": {
            "extract": {"uri": "kestra:///f.csv", "items": [1, 2], "values": {"k": 1}},
            "error-t1": {"value": "dash"},
            "list": {"rows": [{"id": 1}, {"id": 2}]},
        },
        "vars": {"template": "Hi {{ inputs.name }}", "nested": "{{ vars.template }}"},
        "taskrun": {"value": "v1"},
    }
