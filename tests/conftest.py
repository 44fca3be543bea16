"""Session-wide checks (the system tools the suite needs, where the shared corpus lies) and the
one way tests build a running engine (:func:`engine_factory`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple, cast

import pytest

import controlplane.tasks  # noqa: F401  (registers the task implementations)
from controlplane.engine.attempt_context import WorkerSettings
from controlplane.engine.engine import Engine, EngineSettings
from controlplane.engine.ports import Store
from controlplane.engine.remote import RemoteCommands
from controlplane.engine.worker import Worker
from controlplane.store import SqlStore, StoreSettings, open_store

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("WEIR_CORPUS", ROOT.parent / "shared" / "corpus" / "kestra-flows"))

# Tools the suite runs for real, with how to install them on Debian.
REQUIRED_TOOLS = {
    "git": "apt-get install git",
    "terraform": "HashiCorp's apt repository, or a release zip from releases.hashicorp.com",
    # CDKTF runs its constructs on Node.js (jsii).
    "node": "apt-get install nodejs (18 or later)",
}


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [
        f"{tool} (install: {how})" for tool, how in REQUIRED_TOOLS.items() if not shutil.which(tool)
    ]
    if missing:
        pytest.exit("the test suite needs these tools on PATH: " + "; ".join(missing), returncode=3)
    if not CORPUS.is_dir():
        pytest.exit(
            f"the Kestra flow corpus is not at {CORPUS}; set WEIR_CORPUS to its folder",
            returncode=3,
        )


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS


class Running(NamedTuple):
    store: SqlStore
    engine: Engine


class EngineFactory:
    """Builds engines the way the suite runs them: the one place that knows how a store, a
    worker and an engine are put together.

    ``build`` gives an engine not started yet; ``running`` starts one and stops it (and closes
    a store it opened) when the ``with`` block ends; ``remote`` gives what the API role holds.
    ``store`` is an open store, its settings, or a home folder for a SQLite store. An engine
    runs its attempts on an in-process worker unless it is one executor of many sharing a
    database (``executor_id``)."""

    def build(
        self,
        store: Store,
        work: Path,
        *,
        concurrency: int = 4,
        worker: WorkerSettings | None = None,
        envs: Mapping[str, str] | None = None,
        globals: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> Engine:
        attempts = (
            None
            if settings.get("executor_id")
            else Worker(store, worker or WorkerSettings(temp_root=work), concurrency=concurrency)
        )
        engine_settings = EngineSettings(
            work_root=work, envs=dict(envs or {}), globals=dict(globals or {}), **settings
        )
        return Engine(store, attempts, engine_settings)

    def remote(self, store: Store, work: Path) -> RemoteCommands:
        """What the API role holds: commands recorded in the database for executors elsewhere."""
        return RemoteCommands(store, EngineSettings(work_root=work))

    @contextmanager
    def running(
        self,
        store: Store | StoreSettings | Path,
        work: Path | None = None,
        *,
        grace_seconds: float = 2.0,
        **options: Any,
    ) -> Iterator[Running]:
        with ExitStack() as cleanup:
            opened = None
            if isinstance(store, StoreSettings | Path):
                home = store if isinstance(store, StoreSettings) else StoreSettings(home=store)
                opened = open_store(home)
                cleanup.callback(opened.close)
            held = cast(SqlStore, opened or store)
            engine = self.build(held, work or _home(store) / "work", **options)
            engine.start()
            cleanup.callback(engine.stop, grace_seconds=grace_seconds)
            yield Running(held, engine)


def _home(store: Store | StoreSettings | Path) -> Path:
    if isinstance(store, Path):
        return store
    if isinstance(store, StoreSettings):
        return store.home
    raise TypeError("an engine on a store opened elsewhere needs its work folder")


ENGINES = EngineFactory()


@pytest.fixture(scope="session")
def engine_factory() -> EngineFactory:
    """Builds and starts engines (see :class:`EngineFactory`); any fixture scope may use it."""
    return ENGINES


@pytest.fixture
def running_engine(tmp_path: Path, engine_factory: EngineFactory) -> Iterator[Running]:
    """A running engine on a SQLite store of its own, with an in-process worker."""
    with engine_factory.running(tmp_path / "home", tmp_path / "work") as running:
        yield running
