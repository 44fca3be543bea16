"""Whether the database changed: SQLite's data version, read on a connection of its own.

SQLite changes ``PRAGMA data_version`` on a connection whenever another connection, of this
process or of another, commits a change to the database file. Read on a connection that never
writes, it is a number that changes with every commit anywhere, and costs a few microseconds:
what a cache of answers needs to tell that what it keeps is still current. PostgreSQL has no such
number short of a query to the server, so there is none there.
"""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy.engine import URL


class ChangeStamp:
    """The data version of a SQLite database file; None for any other database."""

    def __init__(self, url: URL) -> None:
        database = url.database if url.get_backend_name() == "sqlite" else None
        self._path = database if database and database != ":memory:" else None
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def read(self) -> int | None:
        if self._path is None:
            return None
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = sqlite3.connect(
                        self._path, check_same_thread=False, isolation_level=None
                    )
                row = self._connection.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:
                return None  # the answer is then read from the database, as without a stamp
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
