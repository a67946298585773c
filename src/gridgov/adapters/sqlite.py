"""The SQLite adapter (stdlib ``sqlite3``): gridgov's embedded default.

``open_store("sqlite:///path/to/ledger.db")`` opens (creating and upgrading) a database file;
``open_store("sqlite://")`` opens a private throwaway database, deleted when the store closes.
Every connection runs in WAL mode with a busy timeout and foreign keys on; each unit of work
borrows its own connection, so readers never block the single writer.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gridgov.adapters._ddl import SqlTypes, declared_migrations
from gridgov.adapters._sql import PooledSqlStore
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import ConflictError, GridgovError, StorageError

__all__ = ["SqliteDialect", "SqliteStore"]

TYPES = SqlTypes(
    key="TEXT", text="TEXT", integer="INTEGER", boolean="INTEGER", doc="TEXT", without_rowid=True
)

# The document column closing a SELECT list (``doc`` or ``h.doc``); every query reading
# documents selects them last.
_SELECTED_DOC = re.compile(r"(?<=[ ,])((?:[a-z]\.)?doc) FROM")
_TEXTS_MAX = 1000  # rewritten statements kept; ``IN (?, ...)`` lists vary in length


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
        if isinstance(exc, sqlite3.DatabaseError):
            return StorageError(f"SQLite failed: {_reason(exc)}")
        return None


def _reason(exc: sqlite3.Error) -> str:
    # sqlite3 messages name constraints and columns, never values.
    return str(exc).split("\n", 1)[0]


class SqliteStore(PooledSqlStore):
    """A store in a SQLite database; call it for a unit of work.

    Args:
        path: The database file, created if missing; ``None`` for a private temporary database
            that is deleted on :meth:`close`.
        scheme: The code scheme cell codes must follow.
        busy_timeout: Seconds a writer waits for another to finish before a ConflictError.

    Raises:
        StorageError: If the file is not a gridgov database this version can open.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        scheme: CodeScheme = DEFAULT_SCHEME,
        busy_timeout: float = 30.0,
    ) -> None:
        super().__init__(scheme)
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

    def close(self) -> None:
        """Close idle connections; delete the database if it was a temporary one."""
        super().close()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)

    def __repr__(self) -> str:
        where = "temporary" if self._tempdir else self._path.name
        return f"SqliteStore({where!r})"
