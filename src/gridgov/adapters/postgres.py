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

from gridgov.adapters._ddl import SqlTypes, declared_migrations
from gridgov.adapters._pool import PoolOptions, pool_options, statement_timed_out
from gridgov.adapters._sql import Connection, PooledSqlStore
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import ConflictError, GridgovError, StorageError, ValidationError
from gridgov.identity import IdKey

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg.adapt import Buffer, Loader
    from psycopg.types.string import TextLoader
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the PostgreSQL adapter needs psycopg: pip install 'gridgov[postgres]'"
    ) from exc

__all__ = ["PostgresDialect", "PostgresStore"]

TYPES = SqlTypes(
    key='TEXT COLLATE "C"', text="TEXT", integer="INTEGER", boolean="BOOLEAN", doc="JSONB"
)

# Below this many rows a plain INSERT costs less than setting up a COPY.
_COPY_FROM = 16
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class _DocumentLoader(Loader):
    """Load a JSONB document as the UTF-8 bytes of its text, for gridgov's parser.

    Decoding it to ``str`` would only have the parser (orjson) encode it back to UTF-8.
    """

    def load(self, data: Buffer) -> bytes:
        """Return the document's text as bytes."""
        return bytes(data)


class PostgresDialect:
    """PostgreSQL's placeholders, transactions and errors."""

    name = "postgresql"
    claim = " FOR UPDATE SKIP LOCKED"
    migrations = declared_migrations(TYPES)

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
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            if len(rows) == 1:  # one record added: executemany's pipeline costs more than the row
                cursor.execute(insert, rows[0])
            else:
                cursor.executemany(insert, rows)
            return
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def translate(self, exc: Exception) -> GridgovError | None:
        """Map psycopg errors to gridgov errors."""
        if isinstance(exc, pg_errors.InFailedSqlTransaction):
            return ConflictError(
                "an earlier statement of this unit of work failed; roll it back", retryable=True
            )
        if isinstance(
            exc,
            pg_errors.SerializationFailure
            | pg_errors.DeadlockDetected
            | pg_errors.LockNotAvailable,
        ):
            return ConflictError(
                f"the change conflicts with a concurrent writer ({type(exc).__name__})",
                retryable=True,
            )
        if isinstance(exc, pg_errors.IntegrityError):
            return ConflictError(f"the change conflicts with stored data ({type(exc).__name__})")
        if isinstance(exc, pg_errors.QueryCanceled):
            if "statement timeout" in (exc.diag.message_primary or ""):
                return statement_timed_out()
            return StorageError("PostgreSQL cancelled the statement (QueryCanceled)")
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return StorageError(f"PostgreSQL connection failed ({type(exc).__name__})")
        if isinstance(exc, psycopg.Error):
            return StorageError(f"PostgreSQL failed ({type(exc).__name__})")
        return None


def _split_url(url: str, given: dict[str, object]) -> tuple[str, str, PoolOptions]:
    """Return libpq's URL, the schema and the pool options of a store URL.

    ``schema`` and the pool parameters are gridgov's; every other query parameter is libpq's.
    """
    parts = urlsplit(url)
    options, query = pool_options(parse_qsl(parts.query), given)
    schemas = [v for k, v in query if k == "schema"]
    rest = [(k, v) for k, v in query if k != "schema"]
    schema = schemas[-1] if schemas else "public"
    if not _IDENTIFIER.fullmatch(schema):
        raise ValidationError("schema", "a schema name is lower-case letters, digits and '_'")
    return urlunsplit(parts._replace(query=urlencode(rest))), schema, options


class PostgresStore(PooledSqlStore):
    """A store in a PostgreSQL database; call it for a unit of work.

    Args:
        url: A ``postgresql://`` URL; a ``schema`` query parameter picks the schema, the pool
            parameters (``pool_max_size``, ...) are read as the keyword arguments below, and
            the others go to libpq.
        scheme: The code scheme cell codes must follow.
        lock_timeout: Seconds a writer waits for a row lock before a ConflictError.
        pool_max_size: Connections open at most (10 by default).
        pool_min_size: Connections kept open however quiet the store (1 by default).
        pool_max_idle: Seconds an idle connection above the minimum stays open (60 by default).
        pool_timeout: Seconds a unit waits for a connection when all are borrowed (30 by
            default), then a StorageError.
        statement_timeout: Seconds a statement may run before the server cancels it, a
            StorageError (0, the default: no limit). A keyword argument overrides the URL.
        id_key: The deployment's key for the digests of ID numbers (:mod:`gridgov.identity`);
            ``None``: no digests, and no finding people by ID number.

    Raises:
        StorageError: If the server cannot be reached or holds a newer gridgov schema.
        ValidationError: If the schema's name or a pool option is not valid, naming it.
    """

    def __init__(
        self,
        url: str,
        *,
        scheme: CodeScheme = DEFAULT_SCHEME,
        lock_timeout: float = 30.0,
        pool_max_size: int | None = None,
        pool_min_size: int | None = None,
        pool_max_idle: float | None = None,
        pool_timeout: float | None = None,
        statement_timeout: float | None = None,
        id_key: IdKey | None = None,
    ) -> None:
        given: dict[str, object] = {
            "pool_max_size": pool_max_size,
            "pool_min_size": pool_min_size,
            "pool_max_idle": pool_max_idle,
            "pool_timeout": pool_timeout,
            "statement_timeout": statement_timeout,
        }
        self._conninfo, self._schema, options = _split_url(url, given)
        super().__init__(scheme, pool=options, id_key=id_key)
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
            # memoised per unit of work, like SQLite's; as their UTF-8 bytes when the
            # connection speaks UTF-8 (it does unless the server is set otherwise).
            utf8 = conn.info.encoding == "utf-8"
            conn.adapters.register_loader("jsonb", _DocumentLoader if utf8 else TextLoader)
            if create_schema:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            conn.execute(f'SET search_path TO "{self._schema}"')
            conn.execute(f"SET lock_timeout = {int(self._lock_timeout * 1000)}")
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL ({type(exc).__name__})") from None
        return conn

    def _limit_statements(self, conn: Connection, seconds: float) -> None:
        """Set the session's ``statement_timeout`` (whole milliseconds, at least 1)."""
        try:
            conn.cursor().execute(f"SET statement_timeout = {max(1, round(seconds * 1000))}")
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot set up a PostgreSQL session ({type(exc).__name__})"
            ) from None

    def _usable(self, conn: Connection) -> bool:
        """Return whether an idle connection is still open (the server may have closed it)."""
        return not getattr(conn, "closed", False)

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self._schema!r})"
