"""The SQLite adapter (stdlib ``sqlite3``): gridgov's embedded default.

``open_store("sqlite:///path/to/ledger.db")`` opens (creating and upgrading) a database file;
``open_store("sqlite://")`` opens a private throwaway database, deleted when the store closes.
Every connection runs in WAL mode with a busy timeout and foreign keys on; each unit of work
borrows its own connection, so readers never block the single writer.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gridgov.adapters._sql import PooledSqlStore
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import ConflictError, GridgovError, StorageError

__all__ = ["SqliteDialect", "SqliteStore"]

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE gg_cells (
            code TEXT PRIMARY KEY,
            parent_code TEXT REFERENCES gg_cells (code),
            level TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_cells_parent ON gg_cells (parent_code, code)",
        """CREATE TABLE gg_workers (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        """CREATE TABLE gg_worker_cells (
            worker_id TEXT NOT NULL REFERENCES gg_workers (id),
            cell_code TEXT NOT NULL REFERENCES gg_cells (code),
            start_date TEXT NOT NULL,
            end_date TEXT
        )""",
        "CREATE INDEX gg_worker_cells_cell ON gg_worker_cells (cell_code, start_date)",
        "CREATE INDEX gg_worker_cells_worker ON gg_worker_cells (worker_id)",
        """CREATE TABLE gg_households (
            id TEXT PRIMARY KEY,
            cell_code TEXT NOT NULL REFERENCES gg_cells (code),
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_households_cell ON gg_households (cell_code, id)",
        """CREATE TABLE gg_residents (
            id TEXT PRIMARY KEY,
            household_id TEXT NOT NULL REFERENCES gg_households (id),
            cell_code TEXT NOT NULL,
            birth_date TEXT
        )""",
        "CREATE INDEX gg_residents_household ON gg_residents (household_id)",
        "CREATE INDEX gg_residents_birth ON gg_residents (birth_date, id)",
        """CREATE TABLE gg_resident_tags (
            tag TEXT NOT NULL,
            cell_code TEXT NOT NULL,
            household_id TEXT NOT NULL REFERENCES gg_households (id),
            resident_id TEXT NOT NULL REFERENCES gg_residents (id),
            PRIMARY KEY (tag, cell_code, household_id, resident_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX gg_resident_tags_household ON gg_resident_tags (household_id)",
    ),
    (
        """CREATE TABLE gg_contacts (
            id TEXT PRIMARY KEY,
            resident_id TEXT NOT NULL,
            household_id TEXT NOT NULL,
            cell_code TEXT NOT NULL,
            at_utc TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_contacts_resident ON gg_contacts (resident_id, at_utc)",
        "CREATE INDEX gg_contacts_cell ON gg_contacts (cell_code, at_utc)",
        """CREATE TABLE gg_care_tasks (
            id TEXT PRIMARY KEY,
            resident_id TEXT NOT NULL,
            household_id TEXT NOT NULL,
            cell_code TEXT NOT NULL,
            state TEXT NOT NULL,
            due_utc TEXT NOT NULL,
            start_utc TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_care_tasks_open ON gg_care_tasks (cell_code, due_utc, id)"
        " WHERE state = 'open'",
        "CREATE INDEX gg_care_tasks_open_resident ON gg_care_tasks (resident_id)"
        " WHERE state = 'open'",
    ),
    (
        """CREATE TABLE gg_cases (
            id TEXT PRIMARY KEY,
            cell_code TEXT NOT NULL,
            owner_cell TEXT NOT NULL,
            owner_level TEXT NOT NULL,
            state TEXT NOT NULL,
            is_open INTEGER NOT NULL,
            category TEXT NOT NULL,
            external_id TEXT,
            reported_utc TEXT NOT NULL,
            next_check_utc TEXT,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX gg_cases_external ON gg_cases (external_id)",
        "CREATE INDEX gg_cases_due ON gg_cases (next_check_utc, id)"
        " WHERE next_check_utc IS NOT NULL",
        "CREATE INDEX gg_cases_cell ON gg_cases (cell_code, reported_utc, id)",
        "CREATE INDEX gg_cases_open ON gg_cases (cell_code, reported_utc, id) WHERE is_open",
        """CREATE TABLE gg_case_settings (
            id TEXT PRIMARY KEY CHECK (id = 'default'),
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
    ),
    (
        """CREATE TABLE gg_venues (
            id TEXT PRIMARY KEY,
            cell_code TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_venues_cell ON gg_venues (cell_code, id)",
        """CREATE TABLE gg_series (
            id TEXT PRIMARY KEY,
            venue_id TEXT NOT NULL,
            space_id TEXT NOT NULL,
            first_start_utc TEXT NOT NULL,
            last_end_utc TEXT,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_series_venue ON gg_series (venue_id, first_start_utc, last_end_utc)",
        """CREATE TABLE gg_registrations (
            id TEXT PRIMARY KEY,
            series_id TEXT NOT NULL,
            occurrence_id TEXT NOT NULL,
            resident_id TEXT NOT NULL,
            start_utc TEXT NOT NULL,
            end_utc TEXT NOT NULL,
            state TEXT NOT NULL,
            registered_utc TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_registrations_occurrence"
        " ON gg_registrations (occurrence_id, registered_utc, id)",
        "CREATE INDEX gg_registrations_resident ON gg_registrations (resident_id, start_utc, id)",
        """CREATE TABLE gg_shifts (
            id TEXT PRIMARY KEY,
            venue_id TEXT NOT NULL,
            start_utc TEXT NOT NULL,
            end_utc TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_shifts_venue ON gg_shifts (venue_id, start_utc, id)",
        """CREATE TABLE gg_signups (
            id TEXT PRIMARY KEY,
            shift_id TEXT NOT NULL,
            resident_id TEXT NOT NULL,
            start_utc TEXT NOT NULL,
            end_utc TEXT NOT NULL,
            state TEXT NOT NULL,
            at_utc TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_signups_shift ON gg_signups (shift_id, at_utc, id)",
        "CREATE INDEX gg_signups_resident ON gg_signups (resident_id, start_utc, id)",
    ),
    (
        """CREATE TABLE gg_audit (
            id TEXT PRIMARY KEY,
            at_utc TEXT NOT NULL,
            principal_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            cell_code TEXT,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX gg_audit_at ON gg_audit (at_utc, id)",
        "CREATE INDEX gg_audit_principal ON gg_audit (principal_id, at_utc, id)",
        "CREATE INDEX gg_audit_subject ON gg_audit (subject, at_utc, id)",
    ),
)


class SqliteDialect:
    """SQLite's placeholders, transactions and errors."""

    name = "sqlite"
    migrations = _MIGRATIONS

    def sql(self, text: str) -> str:
        """Return ``text``: SQLite takes ``?`` placeholders as they are."""
        return text

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
            return ConflictError("the database stayed locked by another writer; retry")
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
