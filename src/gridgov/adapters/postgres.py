"""The PostgreSQL adapter (psycopg 3; install the ``postgres`` extra).

``open_store("postgresql://user@host:5432/dbname")`` opens the database, creating or upgrading
gridgov's tables in the schema named by the URL's ``schema`` query parameter (``public`` by
default): ``postgresql://postgres@127.0.0.1/test?schema=gridgov``. Documents are JSONB; codes and
dates are ``COLLATE "C"`` text so that range scans on code prefixes use the B-tree indexes and
sort exactly as Python compares strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gridgov.adapters._sql import Connection, PooledSqlStore
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import ConflictError, GridgovError, StorageError, ValidationError

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg.types.string import TextLoader
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the PostgreSQL adapter needs psycopg: pip install 'gridgov[postgres]'"
    ) from exc

__all__ = ["PostgresDialect", "PostgresStore"]

_C = 'COLLATE "C"'
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""CREATE TABLE gg_cells (
            code TEXT {_C} PRIMARY KEY,
            parent_code TEXT {_C} REFERENCES gg_cells (code),
            level TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_cells_parent ON gg_cells (parent_code, code)",
        """CREATE TABLE gg_workers (
            id TEXT COLLATE "C" PRIMARY KEY,
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        f"""CREATE TABLE gg_worker_cells (
            worker_id TEXT {_C} NOT NULL REFERENCES gg_workers (id),
            cell_code TEXT {_C} NOT NULL REFERENCES gg_cells (code),
            start_date TEXT {_C} NOT NULL,
            end_date TEXT {_C}
        )""",
        "CREATE INDEX gg_worker_cells_cell ON gg_worker_cells (cell_code, start_date)",
        "CREATE INDEX gg_worker_cells_worker ON gg_worker_cells (worker_id)",
        f"""CREATE TABLE gg_households (
            id TEXT {_C} PRIMARY KEY,
            cell_code TEXT {_C} NOT NULL REFERENCES gg_cells (code),
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_households_cell ON gg_households (cell_code, id)",
        f"""CREATE TABLE gg_residents (
            id TEXT {_C} PRIMARY KEY,
            household_id TEXT {_C} NOT NULL REFERENCES gg_households (id),
            cell_code TEXT {_C} NOT NULL,
            birth_date TEXT {_C}
        )""",
        "CREATE INDEX gg_residents_household ON gg_residents (household_id)",
        "CREATE INDEX gg_residents_birth ON gg_residents (birth_date, id)",
        f"""CREATE TABLE gg_resident_tags (
            tag TEXT {_C} NOT NULL,
            cell_code TEXT {_C} NOT NULL,
            household_id TEXT {_C} NOT NULL REFERENCES gg_households (id),
            resident_id TEXT {_C} NOT NULL REFERENCES gg_residents (id),
            PRIMARY KEY (tag, cell_code, household_id, resident_id)
        )""",
        "CREATE INDEX gg_resident_tags_household ON gg_resident_tags (household_id)",
    ),
    (
        f"""CREATE TABLE gg_contacts (
            id TEXT {_C} PRIMARY KEY,
            resident_id TEXT {_C} NOT NULL,
            household_id TEXT {_C} NOT NULL,
            cell_code TEXT {_C} NOT NULL,
            at_utc TEXT {_C} NOT NULL,
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_contacts_resident ON gg_contacts (resident_id, at_utc)",
        "CREATE INDEX gg_contacts_cell ON gg_contacts (cell_code, at_utc)",
        f"""CREATE TABLE gg_care_tasks (
            id TEXT {_C} PRIMARY KEY,
            resident_id TEXT {_C} NOT NULL,
            household_id TEXT {_C} NOT NULL,
            cell_code TEXT {_C} NOT NULL,
            state TEXT {_C} NOT NULL,
            due_utc TEXT {_C} NOT NULL,
            start_utc TEXT {_C} NOT NULL,
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_care_tasks_open ON gg_care_tasks (cell_code, due_utc, id)"
        " WHERE state = 'open'",
        "CREATE INDEX gg_care_tasks_open_resident ON gg_care_tasks (resident_id)"
        " WHERE state = 'open'",
    ),
    (
        f"""CREATE TABLE gg_cases (
            id TEXT {_C} PRIMARY KEY,
            cell_code TEXT {_C} NOT NULL,
            owner_cell TEXT {_C} NOT NULL,
            owner_level TEXT {_C} NOT NULL,
            state TEXT {_C} NOT NULL,
            is_open BOOLEAN NOT NULL,
            category TEXT {_C} NOT NULL,
            external_id TEXT {_C},
            reported_utc TEXT {_C} NOT NULL,
            next_check_utc TEXT {_C},
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE UNIQUE INDEX gg_cases_external ON gg_cases (external_id)",
        "CREATE INDEX gg_cases_due ON gg_cases (next_check_utc, id)"
        " WHERE next_check_utc IS NOT NULL",
        "CREATE INDEX gg_cases_cell ON gg_cases (cell_code, reported_utc, id)",
        "CREATE INDEX gg_cases_open ON gg_cases (cell_code, reported_utc, id) WHERE is_open",
        f"""CREATE TABLE gg_case_settings (
            id TEXT {_C} PRIMARY KEY CHECK (id = 'default'),
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
    ),
    (
        f"""CREATE TABLE gg_venues (
            id TEXT {_C} PRIMARY KEY,
            cell_code TEXT {_C} NOT NULL,
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_venues_cell ON gg_venues (cell_code, id)",
        f"""CREATE TABLE gg_series (
            id TEXT {_C} PRIMARY KEY,
            venue_id TEXT {_C} NOT NULL,
            space_id TEXT {_C} NOT NULL,
            first_start_utc TEXT {_C} NOT NULL,
            last_end_utc TEXT {_C},
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_series_venue ON gg_series (venue_id, first_start_utc, last_end_utc)",
        f"""CREATE TABLE gg_registrations (
            id TEXT {_C} PRIMARY KEY,
            series_id TEXT {_C} NOT NULL,
            occurrence_id TEXT {_C} NOT NULL,
            resident_id TEXT {_C} NOT NULL,
            start_utc TEXT {_C} NOT NULL,
            end_utc TEXT {_C} NOT NULL,
            state TEXT {_C} NOT NULL,
            registered_utc TEXT {_C} NOT NULL,
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_registrations_occurrence"
        " ON gg_registrations (occurrence_id, registered_utc, id)",
        "CREATE INDEX gg_registrations_resident ON gg_registrations (resident_id, start_utc, id)",
        f"""CREATE TABLE gg_shifts (
            id TEXT {_C} PRIMARY KEY,
            venue_id TEXT {_C} NOT NULL,
            start_utc TEXT {_C} NOT NULL,
            end_utc TEXT {_C} NOT NULL,
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_shifts_venue ON gg_shifts (venue_id, start_utc, id)",
        f"""CREATE TABLE gg_signups (
            id TEXT {_C} PRIMARY KEY,
            shift_id TEXT {_C} NOT NULL,
            resident_id TEXT {_C} NOT NULL,
            start_utc TEXT {_C} NOT NULL,
            end_utc TEXT {_C} NOT NULL,
            state TEXT {_C} NOT NULL,
            at_utc TEXT {_C} NOT NULL,
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_signups_shift ON gg_signups (shift_id, at_utc, id)",
        "CREATE INDEX gg_signups_resident ON gg_signups (resident_id, start_utc, id)",
    ),
    (
        f"""CREATE TABLE gg_audit (
            id TEXT {_C} PRIMARY KEY,
            at_utc TEXT {_C} NOT NULL,
            principal_id TEXT {_C} NOT NULL,
            kind TEXT {_C} NOT NULL,
            subject TEXT {_C} NOT NULL,
            cell_code TEXT {_C},
            version INTEGER NOT NULL,
            doc JSONB NOT NULL
        )""",
        "CREATE INDEX gg_audit_at ON gg_audit (at_utc, id)",
        "CREATE INDEX gg_audit_principal ON gg_audit (principal_id, at_utc, id)",
        "CREATE INDEX gg_audit_subject ON gg_audit (subject, at_utc, id)",
    ),
)

# Below this many rows a plain INSERT costs less than setting up a COPY.
_COPY_FROM = 16
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresDialect:
    """PostgreSQL's placeholders, transactions and errors."""

    name = "postgresql"
    migrations = _MIGRATIONS

    def sql(self, text: str) -> str:
        """Rewrite ``?`` placeholders as psycopg's ``%s``."""
        return text.replace("?", "%s")

    def begin(self, cursor: Any) -> None:
        """Start a read-committed transaction; version checks guard against lost updates."""
        cursor.execute("BEGIN")

    def lock_schema(self, cursor: Any) -> None:
        """Take a transaction-level advisory lock named after the schema."""
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('gridgov:' || current_schema()))")

    def insert_many(
        self, cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Insert rows with ``COPY ... FROM STDIN``, several times faster than INSERTs in bulk."""
        if len(rows) < _COPY_FROM:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            return
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def translate(self, exc: Exception) -> GridgovError | None:
        """Map psycopg errors to gridgov errors."""
        if isinstance(exc, pg_errors.InFailedSqlTransaction):
            return ConflictError(
                "an earlier statement of this unit of work failed; roll it back and retry"
            )
        if isinstance(
            exc,
            pg_errors.IntegrityError
            | pg_errors.SerializationFailure
            | pg_errors.DeadlockDetected
            | pg_errors.LockNotAvailable,
        ):
            return ConflictError(
                f"the change conflicts with stored or concurrent data ({type(exc).__name__})"
            )
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return StorageError(f"PostgreSQL connection failed ({type(exc).__name__})")
        if isinstance(exc, psycopg.Error):
            return StorageError(f"PostgreSQL failed ({type(exc).__name__})")
        return None


def _split_schema(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schemas = [v for k, v in query if k == "schema"]
    rest = [(k, v) for k, v in query if k != "schema"]
    schema = schemas[-1] if schemas else "public"
    if not _IDENTIFIER.fullmatch(schema):
        raise ValidationError("schema", "a schema name is lower-case letters, digits and '_'")
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


class PostgresStore(PooledSqlStore):
    """A store in a PostgreSQL database; call it for a unit of work.

    Args:
        url: A ``postgresql://`` URL; a ``schema`` query parameter picks the schema.
        scheme: The code scheme cell codes must follow.
        lock_timeout: Seconds a writer waits for a row lock before a ConflictError.

    Raises:
        StorageError: If the server cannot be reached or holds a newer gridgov schema.
    """

    def __init__(
        self, url: str, *, scheme: CodeScheme = DEFAULT_SCHEME, lock_timeout: float = 30.0
    ) -> None:
        super().__init__(scheme)
        self._conninfo, self._schema = _split_schema(url)
        self._lock_timeout = lock_timeout
        self.dialect = PostgresDialect()
        self._start(self._connect(create_schema=True), psycopg.Error, f"schema {self._schema}")

    @property
    def schema(self) -> str:
        """Return the PostgreSQL schema holding gridgov's tables."""
        return self._schema

    def _connect(self, *, create_schema: bool = False) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
            # Documents as text: parsed by gridgov (orjson when installed) and, being hashable,
            # memoised per unit of work, like SQLite's.
            conn.adapters.register_loader("jsonb", TextLoader)
            if create_schema:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            conn.execute(f'SET search_path TO "{self._schema}"')
            conn.execute(f"SET lock_timeout = {int(self._lock_timeout * 1000)}")
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL ({type(exc).__name__})") from None
        return conn

    def _usable(self, conn: Connection) -> bool:
        """Return whether an idle connection is still open (the server may have closed it)."""
        return not getattr(conn, "closed", False)

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self._schema!r})"
