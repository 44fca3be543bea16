"""SQL tasks on DuckDB, SQLite and PostgreSQL (``io.kestra.plugin.jdbc.*``); importing this
package registers their implementations.

A task renders its SQL, splits it into statements, replaces Kestra's ``:name`` placeholders by
the driver's own so that ``parameters`` are bound by the driver, and runs the statements on one
connection. ``fetchType`` says what becomes of the rows of a result set: FETCH puts them in
``rows``, FETCH_ONE the first in ``row``, STORE writes them to a ``.ion`` file in internal
storage (``uri``; Amazon Ion text, one struct per line) and NONE drops them.

``Query`` gives one output for the whole SQL; ``Queries`` gives ``outputs``, one per statement
that returned a result set, and runs everything in one transaction unless ``transaction`` is
false. A failed statement fails the task with the driver's message and the statement's number.
A kill or a timeout interrupts the running statement (``interrupt()`` for the embedded
databases, a cancel request for PostgreSQL).

No password reaches a log line or an error message: each message is scrubbed of the password,
of the ``password`` of the URL and of the SSL key password.

Modules, each depending only on those above it:

- ``statements``: splitting SQL into statements, ``:name`` parameters, one-line previews.
- ``results``: fetch types, and rows and values as outputs (STORE writes
  ``controlplane.tasks.ion``).
- ``session``: one connection of a driver, the statements run on it, credentials scrubbed.
- ``embedded``: DuckDB and SQLite, working on files of the working directory.
- ``postgresql``: PostgreSQL from a JDBC url, with SSL.
- ``postgresql_copy``: PostgreSQL ``CopyIn`` / ``CopyOut``.
- ``postgresql_trigger``: the PostgreSQL polling trigger, a ``Query`` run at each evaluation.
"""

from controlplane.tasks.jdbc import embedded, postgresql, postgresql_copy, postgresql_trigger

__all__ = ["embedded", "postgresql", "postgresql_copy", "postgresql_trigger"]
