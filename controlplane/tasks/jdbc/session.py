"""Statements run on one connection of one driver, and the settings every driver shares.

A ``Session`` is one connection; ``run_sql`` runs a task's statements on it: one output for a
Query, one per result set for Queries, all in one transaction unless ``transaction`` is false.
A failed statement fails the task with the driver's message and the statement's number; a kill
or a timeout interrupts the running statement. A :class:`Masker` masks the task's credentials in
every message.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from controlplane.engine.runnable import RunContext, TaskFailed, TaskKilled
from controlplane.masking import MASK, Masker
from controlplane.spec.plugins.jdbc import JdbcQueryTask, MultiQueries, SingleQuery
from controlplane.tasks import props
from controlplane.tasks.jdbc.results import Collected, fetch_type
from controlplane.tasks.jdbc.statements import bind_named, split_statements, statement_preview

CHUNK = 64 * 1024
_DEFAULT_FETCH_SIZE = 10000


def _parameter(value: Any, lists: bool) -> Any:
    """A rendered parameter as the driver binds it: maps as JSON text, lists as arrays when the
    database has them, else as JSON text."""
    if isinstance(value, Mapping) or (isinstance(value, list) and not lists):
        return json.dumps(value)
    return value


class Outcome:
    """What a statement gave: a result set (``rows``) or a count of affected rows."""

    def __init__(self, rows: Iterator[dict[str, Any]] | None, affected: int = -1) -> None:
        self.rows = rows
        self.affected = affected

    @property
    def is_result(self) -> bool:
        return self.rows is not None


def iter_rows(
    fetch: Callable[[int], Sequence[Sequence[Any]]],
    names: list[str],
    convert: Callable[[int, Any], Any],
    size: int,
) -> Iterator[dict[str, Any]]:
    while chunk := fetch(size):
        for row in chunk:
            yield {name: convert(i, row[i]) for i, name in enumerate(names)}


class Session(ABC):
    """One connection: runs statements, owns the transaction, can be interrupted."""

    placeholder: ClassVar[str] = "?"
    escape_percent: ClassVar[bool] = False
    arrays: ClassVar[bool] = True
    errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(self, zone: tzinfo, fetch_size: int) -> None:
        self.zone = zone
        self.fetch_size = fetch_size

    @abstractmethod
    def execute(self, sql: str, values: list[Any] | None, stream: bool) -> Outcome: ...

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def interrupt(self) -> None:
        """Stop the running statement; called from another thread."""

    @abstractmethod
    def close(self) -> None: ...


def credentials_masker() -> Masker:
    """Masks the credentials of one task in every message it shows (a password of two
    characters too)."""
    return Masker(shortest=2)


_URL_PASSWORD = re.compile(r"(//[^/@:]*):[^/]*@")
_URL_SECRET = re.compile(r"(?i)((?:password|sslpassword|\w*token|secret)=)[^&]*")


def safe_url(url: str) -> str:
    """``url`` without the password of its user-info or of its parameters."""
    return _URL_SECRET.sub(r"\1" + MASK, _URL_PASSWORD.sub(r"\1:" + MASK + "@", url))


class _StatementFailed(Exception):
    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


class _Statements:
    """The statements of one task on one session, and what they gave."""

    def __init__(
        self, task: JdbcQueryTask, ctx: RunContext, session: Session, secrets_: Masker
    ) -> None:
        self.ctx = ctx
        self.session = session
        self.secrets = secrets_
        self.fetch_type = fetch_type(task, ctx)
        self.parameters = props.mapping(ctx, task.parameters, "parameters")
        self.multi = isinstance(task, MultiQueries)
        self.single = Collected(self.fetch_type, ctx, "result.ion")
        self.outputs: list[dict[str, Any]] = []
        self.fetched = 0

    def run(self, statements: list[str], after: list[str], transaction: bool) -> None:
        """Run every statement (then ``after``), all or nothing when ``transaction``."""
        with interruptible(self.ctx, self.session):
            try:
                if transaction:
                    self.session.begin()
                for index, statement in enumerate(statements, 1):
                    self._one(index, len(statements), statement, keep=True)
                for statement in after:
                    self._one(0, 0, statement, keep=False)
                if transaction:
                    self.session.commit()
            except BaseException as exc:
                if transaction:
                    with contextlib.suppress(*self.session.errors):
                        self.session.rollback()
                self._raise(exc, len(statements), transaction)
                raise

    def _one(self, index: int, count: int, statement: str, keep: bool) -> None:
        if self.ctx.cancelled.is_set():
            raise TaskKilled("stopped before the next statement")
        sql, values = bind_named(
            statement, self.parameters, self.session.placeholder, self.session.escape_percent
        )
        bound = None if values is None else [_parameter(v, self.session.arrays) for v in values]
        where = "afterSQL" if index == 0 else f"Statement {index}/{count}"
        try:
            stream = keep and self.fetch_type == "STORE"
            outcome = self.session.execute(sql, bound, stream)
            target = (
                self.single
                if not self.multi
                else Collected(self.fetch_type, self.ctx, f"result-{len(self.outputs) + 1}.ion")
            )
            fetched = target.add(outcome.rows) if outcome.rows is not None and keep else 0
        except self.session.errors as exc:
            raise _StatementFailed(index, str(exc).strip()) from None
        preview = self.secrets.mask(statement_preview(statement))
        if outcome.is_result and keep:
            self.fetched += fetched
            if self.multi:
                self.outputs.append(target.outputs())
            got = _fetched(fetched, self.fetch_type)
            self.ctx.info(f"{where} returned a result set, {got}: {preview}")
        elif outcome.affected >= 0:
            self.ctx.info(f"{where} ran, {_rows_text(outcome.affected)} affected: {preview}")
        else:
            self.ctx.info(f"{where} ran: {preview}")

    def _raise(self, exc: BaseException, count: int, transaction: bool) -> None:
        if isinstance(exc, TaskKilled | TaskFailed):
            return
        if self.ctx.cancelled.is_set():
            raise TaskKilled("the running statement was interrupted") from None
        if isinstance(exc, _StatementFailed):
            which = (
                "afterSQL"
                if exc.index == 0
                else (f"Statement {exc.index} of {count}" if count > 1 else "The query")
            )
            rolled = "; the transaction was rolled back" if transaction else ""
            raise TaskFailed(f"{which} failed: {self.secrets.mask(exc.message)}{rolled}") from None

    def result(self) -> dict[str, Any]:
        tags = {
            "fetch": str(self.fetch_type in ("FETCH", "FETCH_ONE")).lower(),
            "store": str(self.fetch_type == "STORE").lower(),
        }
        self.ctx.metric("fetch.size", self.fetched, **tags)
        if self.multi:
            return {"outputs": self.outputs}
        # Kestra's Query output always has ``row`` (null unless FETCH_ONE found one).
        return {"row": None, **self.single.outputs()}


def _fetched(count: int, fetch_type: str) -> str:
    if fetch_type == "NONE":
        return "not fetched (fetchType NONE)"
    return f"{_rows_text(count)} fetched"


def _rows_text(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


@contextlib.contextmanager
def interruptible(ctx: RunContext, session: Session) -> Iterator[None]:
    """Interrupt the running statement when the attempt is killed or times out."""
    on_set = getattr(ctx.cancelled, "on_set", None)
    if callable(on_set):
        unregister = on_set(session.interrupt)
        try:
            yield
        finally:
            unregister()
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if ctx.cancelled.wait(0.05):
                session.interrupt()
                return

    watcher = threading.Thread(target=watch, name="weir-sql-kill", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def time_zone(task: JdbcQueryTask, ctx: RunContext) -> tzinfo:
    name = props.optional_text(ctx, task.timeZoneId)
    if not name:
        return datetime.now().astimezone().tzinfo or UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TaskFailed(
            f"'timeZoneId' must be a time zone such as Europe/Paris, got '{name}'"
        ) from None


def fetch_size(task: JdbcQueryTask, ctx: RunContext) -> int:
    value = ctx.render_typed(task.fetchSize)
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise TaskFailed(f"'fetchSize' must be a number of rows, got {value!r}") from None
    return size if size > 0 else _DEFAULT_FETCH_SIZE


def run_sql(
    task: JdbcQueryTask, ctx: RunContext, session: Session, sql: str, secrets_: Masker
) -> dict[str, Any]:
    statements = split_statements(sql)
    if not statements:
        raise TaskFailed("'sql' has no statement to run")
    after = split_statements(props.text(ctx, task.afterSQL)) if task.afterSQL else []
    if isinstance(task, SingleQuery):
        if len(after) > 1:
            raise TaskFailed("'afterSQL' takes one statement; use a Queries task to run several")
        transaction = bool(after) or not props.boolean(ctx, task.autoCommit)
        if len(statements) > 1:
            ctx.info(
                f"The SQL has {len(statements)} statements: they run in order and the rows of "
                "all their result sets make the output (a Queries task gives one output each)"
            )
    else:
        assert isinstance(task, MultiQueries)
        transaction = props.boolean(ctx, task.transaction)
    run = _Statements(task, ctx, session, secrets_)
    run.run(statements, after, transaction)
    return run.result()
