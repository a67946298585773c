"""The SQLite adapter (stdlib ``sqlite3``): gridgov's embedded default.

``open_store("sqlite:///path/to/ledger.db")`` opens (creating and upgrading) a database file;
``open_store("sqlite://")`` opens a private throwaway database, deleted when the store closes.
Every connection runs in WAL mode with a busy timeout and foreign keys on; each unit of work
borrows its own connection, so readers never block the single writer. A statement timeout is a
progress handler that interrupts a statement once its deadline has passed.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from gridgov.adapters._ddl import SqlTypes, declared_migrations
from gridgov.adapters._pool import pool_options, statement_timed_out
from gridgov.adapters._sql import Connection, PooledSqlStore
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import ConflictError, GridgovError, StorageError
from gridgov.identity import IdKey

__all__ = ["SqliteDialect", "SqliteStore"]

TYPES = SqlTypes(
    key="TEXT", text="TEXT", integer="INTEGER", boolean="INTEGER", doc="TEXT", without_rowid=True
)

# The document column closing a SELECT list (``doc`` or ``h.doc``); every query reading
# documents selects them last.
_SELECTED_DOC = re.compile(r"(?<=[ ,])((?:[a-z]\.)?doc) FROM")
_TEXTS_MAX = 1000  # rewritten statements kept; ``IN (?, ...)`` lists vary in length
# Virtual machine instructions between two looks at a statement's deadline: well under a
# millisecond of work, and a Python call that costs far less than the instructions it follows.
_PROGRESS_EVERY = 10_000


class SqliteDialect:
    """SQLite's placeholders, transactions and errors."""

    name = "sqlite"
    claim = ""  # the write lock, taken first, keeps every other writer out
    migrations = declared_migrations(TYPES)

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def sql(self, text: str) -> str:
        """Return ``text`` with a selected document read as bytes; ``?`` placeholders stay.

        sqlite3 would decode a document's UTF-8 into a ``str`` that the JSON parser then encodes
        back to UTF-8 (documents are mostly Chinese text: not a cheap copy); as a BLOB it comes
        back as the stored bytes, parsed as they are.
        """
        if "doc FROM" not in text:
            return text
        found = self._texts.get(text)
        if found is None:
            if len(self._texts) >= _TEXTS_MAX:
                self._texts.clear()
            found = self._texts[text] = _SELECTED_DOC.sub(r"CAST(\1 AS BLOB) FROM", text)
        return found

    def begin(self, cursor: Any) -> None:
        """Take the write lock at once, so that a busy database waits instead of failing later."""
        cursor.execute("BEGIN IMMEDIATE")

    def lock_schema(self, cursor: Any) -> None:
        """Do nothing more: ``BEGIN IMMEDIATE`` already holds the database's write lock."""

    def insert_many(
        self, cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Insert rows with one prepared statement (``executemany``)."""
        marks = ", ".join("?" * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def translate(self, exc: Exception) -> GridgovError | None:
        """Map sqlite3 errors to gridgov errors."""
        if isinstance(exc, sqlite3.IntegrityError):
            return ConflictError(f"the change conflicts with stored data ({_reason(exc)})")
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return ConflictError("the database stayed locked by another writer", retryable=True)
        if isinstance(exc, sqlite3.OperationalError) and str(exc) == "interrupted":
            return statement_timed_out()  # only the statement timeout interrupts
        if isinstance(exc, sqlite3.DatabaseError):
            return StorageError(f"SQLite failed: {_reason(exc)}")
        return None


def _reason(exc: sqlite3.Error) -> str:
    # sqlite3 messages name constraints and columns, never values.
    return str(exc).split("\n", 1)[0]


class _TimedCursor(sqlite3.Cursor):
    """A cursor that starts its connection's statement clock at each statement."""

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        """Run ``sql``, stopped if it (fetching its rows included) outlives the timeout."""
        self.connection.start_clock()  # type: ignore[attr-defined]  # a _TimedConnection's
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Self:
        """Run ``sql`` for each row of parameters, all within one timeout."""
        self.connection.start_clock()  # type: ignore[attr-defined]  # a _TimedConnection's
        return super().executemany(sql, seq_of_parameters)


class _TimedConnection(sqlite3.Connection):
    """A connection whose statements are interrupted once they run past a deadline.

    Its cursors start the clock at each statement; a progress handler, called every
    ``_PROGRESS_EVERY`` virtual machine instructions, interrupts the statement past the
    deadline. Waiting for another writer's lock runs no instruction: ``busy_timeout`` bounds it.
    """

    _limit = 0.0
    _deadline = float("inf")

    def limit(self, seconds: float) -> None:
        """Stop statements after ``seconds``."""
        self._limit = seconds
        self.set_progress_handler(self._past_deadline, _PROGRESS_EVERY)

    def start_clock(self) -> None:
        """Start the clock of the statement about to run."""
        if self._limit:
            self._deadline = time.monotonic() + self._limit

    def _past_deadline(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def cursor(self, factory: Any = _TimedCursor) -> Any:
        """Return a cursor that starts the statement clock."""
        return super().cursor(factory)


class SqliteStore(PooledSqlStore):
    """A store in a SQLite database; call it for a unit of work.

    Args:
        path: The database file, created if missing; ``None`` for a private temporary database
            that is deleted on :meth:`close`.
        scheme: The code scheme cell codes must follow.
        busy_timeout: Seconds a writer waits for another to finish before a ConflictError.
        pool_max_size: Connections open at most (10 by default).
        pool_min_size: Connections kept open however quiet the store (1 by default).
        pool_max_idle: Seconds an idle connection above the minimum stays open (60 by default).
        pool_timeout: Seconds a unit waits for a connection when all are borrowed (30 by
            default), then a StorageError.
        statement_timeout: Seconds a statement may run before it is stopped with a
            StorageError (0, the default: no limit).
        id_key: The deployment's key for the digests of ID numbers (:mod:`gridgov.identity`);
            ``None``: no digests, and no finding people by ID number.

    Raises:
        StorageError: If the file is not a gridgov database this version can open.
        ValidationError: If a pool option is out of range, naming it.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        scheme: CodeScheme = DEFAULT_SCHEME,
        busy_timeout: float = 30.0,
        pool_max_size: int | None = None,
        pool_min_size: int | None = None,
        pool_max_idle: float | None = None,
        pool_timeout: float | None = None,
        statement_timeout: float | None = None,
        id_key: IdKey | None = None,
    ) -> None:
        options, _ = pool_options(
            given={
                "pool_max_size": pool_max_size,
                "pool_min_size": pool_min_size,
                "pool_max_idle": pool_max_idle,
                "pool_timeout": pool_timeout,
                "statement_timeout": statement_timeout,
            }
        )
        super().__init__(scheme, pool=options, id_key=id_key)
        self._tempdir = None if path is not None else tempfile.mkdtemp(prefix="gridgov-")
        self._path = Path(path) if path is not None else Path(self._tempdir or ".") / "ledger.db"
        self._timeout = busy_timeout
        self.dialect = SqliteDialect()
        self._start(self._connect(), sqlite3.DatabaseError, self._path.name)

    @property
    def path(self) -> Path:
        """Return the database file's path."""
        return self._path

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=self._timeout,
                isolation_level=None,  # we issue BEGIN and COMMIT ourselves
                check_same_thread=False,  # a connection is used by one unit of work at a time
                factory=_TimedConnection
                if self.pool_options.statement_timeout
                else sqlite3.Connection,
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database: {exc}") from None
        try:
            self._wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        except sqlite3.Error as exc:
            conn.close()  # not left to the garbage collector (Python 3.13 warns of that)
            raise StorageError(f"cannot open SQLite database: {exc}") from None
        return conn

    def _wal(self, conn: sqlite3.Connection) -> None:
        # Switching a new file to WAL needs a lock the busy handler does not wait for: retry
        # while another connection is doing the same.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _limit_statements(self, conn: Connection, seconds: float) -> None:
        """Install the progress handler that interrupts a statement after ``seconds``."""
        if isinstance(conn, _TimedConnection):
            conn.limit(seconds)

    def close(self) -> None:
        """Close idle connections; delete the database if it was a temporary one.

        Closing again does nothing.
        """
        super().close()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)

    def __repr__(self) -> str:
        where = "temporary" if self._tempdir else self._path.name
        return f"SqliteStore({where!r})"
