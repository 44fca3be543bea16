"""A store on each backend: every repository test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.store import SqlStore, StoreSettings, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSettings:
    if request.param == "sqlite":
        # The embedded default: no URL, no key (one is generated into the home folder).
        return StoreSettings(home=tmp_path / "home")
    url: str = request.getfixturevalue("postgres_url")
    return StoreSettings(home=tmp_path / "home", database_url=url, secret_key=os.urandom(32))


@pytest.fixture
def store(store_settings: StoreSettings) -> Iterator[SqlStore]:
    opened = open_store(store_settings)
    yield opened
    opened.close()
