"""The OpenAPI document: checked in, kept in step with the code, and honoured by the server.

A property-based run (schemathesis) sends what the document allows, and some of what it does not,
to a live server: no answer may be a 5xx or differ from the document (status, content type,
body schema).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.openapi import from_path

from controlplane.api import ApiSettings, create_app
from controlplane.store import StoreSettings
from tests.integration.api.conftest import serve

DOCUMENT = Path(__file__).resolve().parents[3] / "openapi.json"


def test_the_checked_in_document_is_the_apps() -> None:
    checked_in = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert checked_in == create_app().openapi(), (
        "openapi.json is out of date: run 'weir schema api > openapi.json'"
    )


@pytest.fixture(scope="module")
def fuzzed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("fuzzed")
    server = serve(ApiSettings(store=StoreSettings(home=home), worker_threads=2))
    yield server.url
    server.stop()


fuzzed = from_path(str(DOCUMENT))
# What a schema cannot say (a flow's YAML, a KV value of the declared type, an execution's
# inputs) is checked by the server and refused with 400 or 422: that is acceptance done right.
fuzzed.config.checks.positive_data_acceptance.expected_statuses = [
    "2XX", "400", "401", "403", "404", "409", "422",
]  # fmt: skip


@fuzzed.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_server_honours_its_document(case: schemathesis.Case, fuzzed_url: str) -> None:
    case.call_and_validate(base_url=fuzzed_url, timeout=30)
