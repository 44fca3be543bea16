"""``SqlStore``, the engine's ``Store`` on SQLite or PostgreSQL, and ``open_store``, its factory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from controlplane.engine.ports import (
    CommandRepository,
    ExecutionRepository,
    FileStorage,
    FlowReferenceRepository,
    FlowRepository,
    KvRepository,
    LogRepository,
    MetricRepository,
    NamespaceFileRepository,
    NamespaceRepository,
    SecretRepository,
    Store,
    StoreUnavailable,
    TriggerRepository,
)
from controlplane.engine.queueports import LeaseRepository, WorkRepository
from controlplane.store.changes import ChangeStamp
from controlplane.store.commands import SqlCommandRepository
from controlplane.store.database import (
    READ_ONLY,
    SQLITE_BUSY_TIMEOUT_MS,
    create_store_engine,
    database_url,
    upgrade,
)
from controlplane.store.executions import SqlExecutionRepository
from controlplane.store.files import LocalFileStorage
from controlplane.store.flows import SqlFlowRepository
from controlplane.store.kv import SqlKvRepository
from controlplane.store.logs import SqlLogRepository
from controlplane.store.metrics import SqlMetricRepository
from controlplane.store.namespace_files import SqlNamespaceFileRepository
from controlplane.store.namespaces import SqlNamespaceRepository
from controlplane.store.references import SqlFlowReferenceRepository
from controlplane.store.secrets import SecretCipher, SqlSecretRepository
from controlplane.store.serverports import SealedSecretRepository, TokenRepository
from controlplane.store.settings import StoreSettings, resolve_secret_key
from controlplane.store.tokens import SqlTokenRepository
from controlplane.store.triggers import SqlTriggerRepository
from controlplane.store.work import SqlWorkRepository


@dataclass
class SqlRepositories:
    """Every repository, bound to the connection of one unit of work."""

    flows: FlowRepository
    namespaces: NamespaceRepository
    executions: ExecutionRepository
    logs: LogRepository
    metrics: MetricRepository
    kv: KvRepository
    secrets: SecretRepository
    namespace_files: NamespaceFileRepository
    tokens: TokenRepository
    sealed: SealedSecretRepository
    commands: CommandRepository
    triggers: TriggerRepository
    work: WorkRepository
    leases: LeaseRepository
    references: FlowReferenceRepository

    @classmethod
    def bind(cls, connection: Connection, cipher: SecretCipher) -> SqlRepositories:
        work = SqlWorkRepository(connection)  # the queue and the leases, in one repository
        secrets = SqlSecretRepository(connection, cipher)  # plain and sealed values
        return cls(
            flows=SqlFlowRepository(connection),
            namespaces=SqlNamespaceRepository(connection),
            executions=SqlExecutionRepository(connection),
            logs=SqlLogRepository(connection),
            metrics=SqlMetricRepository(connection),
            kv=SqlKvRepository(connection),
            secrets=secrets,
            sealed=secrets,
            namespace_files=SqlNamespaceFileRepository(connection),
            tokens=SqlTokenRepository(connection),
            commands=SqlCommandRepository(connection),
            triggers=SqlTriggerRepository(connection),
            work=work,
            leases=work,
            references=SqlFlowReferenceRepository(connection),
        )


class SqlStore:
    def __init__(self, engine: Engine, cipher: SecretCipher, files: LocalFileStorage) -> None:
        self.engine = engine
        self.files: FileStorage = files
        self._cipher = cipher
        self._stamp = ChangeStamp(engine.url)
        # SQLite has one writer at a time, and a writer waiting for another sleeps in steps
        # that grow to 100 ms: under load its waits, not its writes, made the slow requests.
        # The writers of this process take turns on a lock instead, woken as soon as it is
        # free; SQLite's own wait is left for writers in other processes.
        self._writers: AbstractContextManager[object] = (
            _WriterTurns() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @contextmanager
    def unit(self, read_only: bool = False) -> Iterator[SqlRepositories]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        try:
            with nullcontext() if read_only else self._writers, self.engine.connect() as connection:
                if read_only:
                    connection.execution_options(**{READ_ONLY: True})
                with connection.begin():
                    yield SqlRepositories.bind(connection, self._cipher)
        except (OperationalError, InterfaceError) as exc:
            if exc.connection_invalidated or _transient(exc):
                raise StoreUnavailable(f"the database is unavailable or busy: {exc.orig}") from exc
            raise

    def change_stamp(self) -> int | None:
        """A number that changes whenever any transaction commits a change to the database,
        from this process or another; None when the database offers no such number cheaply."""
        return self._stamp.read()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def close(self) -> None:
        self._stamp.close()
        self.engine.dispose()


class _WriterTurns:
    """The turn of one writer of this process on a SQLite database; a writer that waits as
    long as SQLite's busy timeout gives up as SQLite would (the store is busy)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> None:
        if not self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise StoreUnavailable("the database is busy: no turn to write came in time")

    def __exit__(self, *_: object) -> None:
        self._lock.release()


def _transient(exc: DBAPIError) -> bool:
    """Whether trying again later may work: the server is away, or chose this transaction to
    break a deadlock, rather than a statement being wrong."""
    if exc.orig is None:
        return False
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:  # busy, locked, cannot open
        return int(code) & 0xFF in (5, 6, 14)
    state = getattr(exc.orig, "sqlstate", None)
    # 08: connection exceptions; 57P: operator intervention (shutdown, cannot connect now);
    # 40001, 40P01: serialization failure, deadlock.
    return state is None or state.startswith(("08", "57P", "40001", "40P01"))


def open_store(settings: StoreSettings) -> SqlStore:
    """Connect, bring the schema up to date, and return the store."""
    key = resolve_secret_key(settings)
    engine = create_store_engine(database_url(settings.url))
    try:
        upgrade(engine)
    except (OperationalError, InterfaceError) as exc:
        engine.dispose()
        if _transient(exc):
            raise StoreUnavailable(f"the database is unavailable: {exc.orig}") from exc
        raise
    except BaseException:
        engine.dispose()
        raise
    files = LocalFileStorage(settings.storage_root)
    return SqlStore(engine, SecretCipher(key), files)


if TYPE_CHECKING:
    # SqlStore implements the engine's port; mypy checks it here.
    _implements: type[Store] = SqlStore
