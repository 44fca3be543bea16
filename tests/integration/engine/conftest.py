"""An engine on each backend, with every valid flow of the Kestra corpus loaded."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from controlplane.engine.engine import Engine
from controlplane.engine.variables import environment_variables
from controlplane.spec.validate import validate_file
from controlplane.store import SqlStore, StoreSettings, open_store
from tests.conftest import EngineFactory

# What Kestra's test configuration provides (variables.yaml reads them).
ENVS = environment_variables({"KESTRA_TEST1": "true", "KESTRA_TEST2": "Pass by env"}, "KESTRA_")
GLOBALS = {"string": "string", "int": 1, "bool": True, "nested": {"int": 2}}


def _settings(request: pytest.FixtureRequest, home: Path) -> Iterator[StoreSettings]:
    if request.param == "sqlite":
        yield StoreSettings(home=home)
        return
    database: str = request.getfixturevalue("postgres")
    schema = f"engine_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{database}?options=-csearch_path%3D{schema}"
    yield StoreSettings(home=home, database_url=url, secret_key=os.urandom(32))
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def kestra_engine(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    corpus: Path,
    engine_factory: EngineFactory,
) -> Iterator[tuple[SqlStore, Engine]]:
    """A running engine whose store holds every corpus flow that validates."""
    home = tmp_path_factory.mktemp("engine")
    for settings in _settings(request, home):
        store = open_store(settings)
        with store.unit() as repos:
            for path in sorted(corpus.glob("*.yaml")):
                result = validate_file(path)
                if result.ok and result.flow is not None:
                    flow = result.flow
                    repos.flows.create_flow_revision(
                        flow.namespace, flow.id, path.read_text(encoding="utf-8"), None
                    )
        running = engine_factory.running(
            store, home / "work", concurrency=8, envs=ENVS, globals=GLOBALS
        )
        with running as (_, engine):
            yield store, engine
        store.close()
