"""The MariaDB/MySQL adapter (PyMySQL; install the ``mysql`` extra).

``open_store("mysql://root@127.0.0.1:3306/gridgov")`` (or ``mariadb://``) opens the database
named by the URL's path, creating it if missing, and creates or upgrades gridgov's tables in it.
Tested on MariaDB 10.11; MySQL 8 should be served by the same SQL (with
``utf8mb4_0900_bin`` keys) but is not tested.

The driver is PyMySQL: pure Python (it installs on every platform and Python without a compiler
or a client library, like the rest of gridgov), maintained, typed through typeshed's
``types-PyMySQL`` stubs, and it talks to MariaDB and MySQL alike. Its ``executemany`` rewrites an
``INSERT ... VALUES`` into multi-row statements, which is what bulk loads need. The C driver
(mysqlclient) is faster per row but needs the client headers to build; Oracle's
mysql-connector-python targets MySQL rather than MariaDB and is a much larger dependency.

What the schema needs from the server:

- Codes, ids and instants are ``VARCHAR(191)`` in utf8mb4 with a binary NO PAD collation
  (``utf8mb4_nopad_bin`` on MariaDB, ``utf8mb4_0900_bin`` on MySQL 8), so that they compare and
  sort as Python compares strings, code point by code point. ``utf8mb4_bin`` is not enough: it is
  PAD SPACE, so ``'a' = 'a '`` and ``'a'`` sorts after ``'a' + chr(1)``. 191 characters of 4
  bytes keep an index of four such columns within InnoDB's 3,072-byte limit.
- Documents are ``LONGTEXT``, not ``JSON``: gridgov never looks inside a document on the server,
  and LONGTEXT keeps the text as written on both servers (MySQL's JSON re-serialises it, and
  MariaDB's is only LONGTEXT with a validity check that costs a parse per write).
- Sessions run with ``sql_mode`` STRICT_ALL_TABLES, so a value longer than its column is an
  error (a gridgov ValidationError naming the column) and never silently truncated.
- Transactions run at READ COMMITTED: a unit reads what was last committed, as on PostgreSQL,
  and the optimistic ``UPDATE ... WHERE version = ?`` is checked against the latest committed
  row, so the first committer wins and the other writer gets a ConflictError. Connections set
  ``CLIENT.FOUND_ROWS`` so that ``rowcount`` counts matched rows, not changed ones.
- A statement timeout is MariaDB's ``max_statement_time`` (every statement) or MySQL's
  ``max_execution_time`` (read-only ``SELECT`` statements only: MySQL has no limit for others).
- Migrations are serialised by ``GET_LOCK``. MySQL commits implicitly before each DDL
  statement, so unlike SQLite and PostgreSQL an upgrade that fails half-way is not undone: the
  version stays behind, and as every table is created with its indexes by one
  ``CREATE TABLE IF NOT EXISTS``, the next open completes the upgrade.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from gridgov.adapters._ddl import SqlTypes, declared_migrations
from gridgov.adapters._pool import pool_options, statement_timed_out
from gridgov.adapters._sql import Connection, PooledSqlStore
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import (
    ConflictError,
    GridgovError,
    StorageError,
    UnsupportedStoreError,
    ValidationError,
)
from gridgov.identity import IdKey

try:
    import pymysql
    from pymysql.constants import CLIENT
    from pymysql.cursors import Cursor
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the MySQL adapter needs PyMySQL: pip install 'gridgov[mysql]'") from exc

__all__ = ["MysqlDialect", "MysqlStore"]

# MySQL has no partial indexes (an index leads with its condition's column instead), writes
# foreign keys as table constraints, and commits each DDL statement at once: each table is
# created whole, with its indexes, ``IF NOT EXISTS`` (see gridgov.adapters.sql.SqlTypes).
KEY_LENGTH = 191
MARIADB_COLLATION = "utf8mb4_nopad_bin"
MYSQL_COLLATION = "utf8mb4_0900_bin"  # MySQL 8: binary and NO PAD

# Server error numbers (MySQL's and MariaDB's are the same for these).
_LOCK_WAIT_TIMEOUT = 1205
_DEADLOCK = 1213
_NO_SAVEPOINT = 1305  # the server rolled the whole transaction back (a deadlock, say)
_DATA_TOO_LONG = 1406
_CONSTRAINT_FAILED = 4025  # MariaDB's CHECK constraint failure
_CHECK_FAILED = 3819  # MySQL's
_CONFLICTS = {_LOCK_WAIT_TIMEOUT, _DEADLOCK, _NO_SAVEPOINT, _CONSTRAINT_FAILED, _CHECK_FAILED}
_RETRYABLE = {_LOCK_WAIT_TIMEOUT, _DEADLOCK, _NO_SAVEPOINT}  # a concurrent writer's doing
_CONNECTION_LOST = {2003, 2006, 2013, 2055}
_STATEMENT_TIMEOUT = {1969, 3024}  # MariaDB's max_statement_time, MySQL's max_execution_time
# After these InnoDB may have rolled the whole transaction back (always for a deadlock; for a
# lock wait timeout with innodb_rollback_on_timeout): the session then runs in autocommit.
_ENDS_TRANSACTION = {_DEADLOCK, _LOCK_WAIT_TIMEOUT}
_ENDS = ("ROLLBACK", "START TRANSACTION")
_TOO_LONG_COLUMN = re.compile(r"for column [`'\"]?([A-Za-z0-9_]+)")
_DATABASE = re.compile(r"[A-Za-z0-9_]{1,64}")


class _Cursor(Cursor):
    """A cursor that refuses statements once the server has ended the transaction on its own.

    InnoDB rolls a deadlocked transaction back and goes on in autocommit mode: the later
    statements of the unit of work would each be committed at once. Like PostgreSQL's aborted
    transactions, this cursor fails every statement after a deadlock or a lock wait timeout
    until ``ROLLBACK`` (or a new ``START TRANSACTION``).
    """

    _ended = False

    def execute(self, query: str, args: object = None) -> int:
        """Run ``query`` unless the transaction was ended by the server (a conflict then)."""
        if query in _ENDS:
            self._ended = False
        elif self._ended:
            raise pymysql.err.OperationalError(
                _DEADLOCK, "the server rolled this transaction back; roll back the unit of work"
            )
        try:
            return super().execute(query, args)
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] in _ENDS_TRANSACTION:
                self._ended = True
            raise


class MysqlDialect:
    """MariaDB's and MySQL's placeholders, DDL, transactions and errors.

    Args:
        collation: The binary NO PAD utf8mb4 collation of the key columns.
    """

    name = "mysql"
    claim = " FOR UPDATE SKIP LOCKED"  # MariaDB 10.6 and MySQL 8.0 on

    def __init__(self, collation: str = MARIADB_COLLATION) -> None:
        self.collation = collation
        key = f"VARCHAR({KEY_LENGTH}) CHARACTER SET utf8mb4 COLLATE {collation}"
        self.migrations: tuple[tuple[str, ...], ...] = declared_migrations(
            SqlTypes(
                key=key,
                text=key,
                integer="BIGINT",
                boolean="BOOLEAN",
                doc="LONGTEXT CHARACTER SET utf8mb4",
                partial_indexes=False,
                inline_references=False,
                inline_indexes=True,
                table_options=f"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}",
            )
        )
        self._rewritten: dict[str, str] = {}

    def sql(self, text: str) -> str:
        """Rewrite ``?`` placeholders as PyMySQL's ``%s`` (and a literal ``%`` as ``%%``)."""
        found = self._rewritten.get(text)
        if found is None:
            found = self._rewritten[text] = text.replace("%", "%%").replace("?", "%s")
        return found

    def begin(self, cursor: Any) -> None:
        """Start a transaction (READ COMMITTED, set per session); version checks guard updates."""
        cursor.execute("START TRANSACTION")

    def lock_schema(self, cursor: Any) -> None:
        """Take a session lock named after the database (the store releases it after migrating).

        Raises:
            StorageError: If another connection held it for a minute.
        """
        cursor.execute("SELECT GET_LOCK(LEFT(CONCAT('gridgov:', DATABASE()), 64), 60)")
        row = cursor.fetchone()
        if row is None or row[0] != 1:
            raise StorageError("another connection kept migrating the database for a minute")

    def insert_many(
        self, cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Insert rows with ``executemany``, which PyMySQL sends as multi-row INSERTs."""
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def translate(self, exc: Exception) -> GridgovError | None:
        """Map PyMySQL errors to gridgov errors."""
        if not isinstance(exc, pymysql.Error):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code == _DATA_TOO_LONG:
            match = _TOO_LONG_COLUMN.search(str(exc.args[1]) if len(exc.args) > 1 else "")
            field = match.group(1) if match else "value"
            return ValidationError(field, f"longer than the column holds ({KEY_LENGTH} at most)")
        if code in _STATEMENT_TIMEOUT:
            return statement_timed_out()
        if code in _RETRYABLE:
            return ConflictError(
                f"the change conflicts with a concurrent writer (MySQL error {code})",
                retryable=True,
            )
        if isinstance(exc, pymysql.IntegrityError) or code in _CONFLICTS:
            return ConflictError(f"the change conflicts with stored data (MySQL error {code})")
        if code in _CONNECTION_LOST or isinstance(exc, pymysql.InterfaceError):
            return StorageError(f"MySQL connection failed ({type(exc).__name__} {code})")
        return StorageError(f"MySQL failed ({type(exc).__name__} {code})")


def _parse(url: str) -> dict[str, Any]:
    """Return PyMySQL's connection arguments and the database name for a URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        raise UnsupportedStoreError(f"not a MySQL URL: {parts.scheme!r}")
    database = unquote(parts.path.lstrip("/"))
    if not _DATABASE.fullmatch(database):
        raise ValidationError(
            "database", "name a database of 1-64 letters, digits and '_': mysql://host/dbname"
        )
    try:
        port = parts.port or 3306
    except ValueError:
        raise ValidationError("port", "the URL's port is not a number") from None
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
    }


class MysqlStore(PooledSqlStore):
    """A store in a MariaDB or MySQL database; call it for a unit of work.

    Args:
        url: A ``mysql://`` or ``mariadb://`` URL naming the database, created if missing; its
            pool parameters (``pool_max_size``, ...) are read as the keyword arguments below.
        scheme: The code scheme cell codes must follow.
        lock_timeout: Seconds a writer waits for a row lock before a ConflictError (at least 1).
        pool_max_size: Connections open at most (10 by default).
        pool_min_size: Connections kept open however quiet the store (1 by default).
        pool_max_idle: Seconds an idle connection above the minimum stays open (60 by default).
        pool_timeout: Seconds a unit waits for a connection when all are borrowed (30 by
            default), then a StorageError.
        statement_timeout: Seconds a statement may run before the server stops it, a
            StorageError (0, the default: no limit; on MySQL, read-only SELECTs only). A
            keyword argument overrides the URL.
        id_key: The deployment's key for the digests of ID numbers (:mod:`gridgov.identity`);
            ``None``: no digests, and no finding people by ID number.

    Raises:
        StorageError: If the server cannot be reached or holds a newer gridgov schema.
        ValidationError: If the database's name, the port or a pool option is not valid,
            naming it.
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
        args = _parse(url)
        # The pool's parameters are read; any other query parameter is ignored, as before.
        options, _ = pool_options(
            parse_qsl(urlsplit(url).query),
            {
                "pool_max_size": pool_max_size,
                "pool_min_size": pool_min_size,
                "pool_max_idle": pool_max_idle,
                "pool_timeout": pool_timeout,
                "statement_timeout": statement_timeout,
            },
        )
        super().__init__(scheme, pool=options, id_key=id_key)
        self._database: str = args.pop("database")
        self._args = args
        self._lock_timeout = max(1, round(lock_timeout))
        conn = self._open(None)
        try:
            version = str(self._query(conn, "SELECT VERSION()"))
            self._mariadb = "mariadb" in version.lower()
            collation = MARIADB_COLLATION if self._mariadb else MYSQL_COLLATION
            self._collation = collation
            self.dialect = MysqlDialect(collation)
            with conn.cursor() as cur:  # created only if missing: no CREATE right needed else
                cur.execute(
                    "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                    (self._database,),
                )
                if cur.fetchone() is None:
                    cur.execute(
                        f"CREATE DATABASE IF NOT EXISTS `{self._database}`"
                        f" CHARACTER SET utf8mb4 COLLATE {collation}"
                    )
            conn.select_db(self._database)
            self._session(conn)
        except pymysql.Error as exc:
            conn.close()
            raise StorageError(f"cannot prepare MySQL database ({type(exc).__name__})") from None
        self._start(conn, pymysql.Error, f"database {self._database}")

    @property
    def database(self) -> str:
        """Return the database holding gridgov's tables."""
        return self._database

    @staticmethod
    def _query(conn: pymysql.Connection[Any], sql: str) -> object:
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
        return None if row is None else row[0]

    def _open(self, database: str | None) -> pymysql.Connection[Any]:
        try:
            return pymysql.connect(
                **self._args,
                database=database,
                charset="utf8mb4",
                autocommit=True,
                client_flag=CLIENT.FOUND_ROWS,  # rowcount: rows matched, not rows changed
                cursorclass=_Cursor,
                connect_timeout=10,
            )
        except pymysql.Error as exc:
            raise StorageError(f"cannot connect to MySQL ({type(exc).__name__})") from None

    def _session(self, conn: pymysql.Connection[Any]) -> None:
        with conn.cursor() as cur:
            cur.execute(f"SET NAMES utf8mb4 COLLATE {self._collation}")
            cur.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cur.execute(f"SET SESSION innodb_lock_wait_timeout = {self._lock_timeout}")

    def _connect(self) -> pymysql.Connection[Any]:
        conn = self._open(self._database)
        try:
            self._session(conn)
        except pymysql.Error as exc:
            conn.close()
            raise StorageError(f"cannot set up a MySQL session ({type(exc).__name__})") from None
        return conn

    def _migrated(self, conn: Connection) -> bool:
        """Give up the migration's lock, which belongs to the session; keep the connection if so."""
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(LEFT(CONCAT('gridgov:', DATABASE()), 64))")
        except pymysql.Error:
            return False
        return True

    def _limit_statements(self, conn: Connection, seconds: float) -> None:
        """Set MariaDB's ``max_statement_time`` (seconds) or MySQL's ``max_execution_time`` (ms)."""
        if self._mariadb:
            setting = f"max_statement_time = {seconds:.6f}"
        else:
            setting = f"max_execution_time = {max(1, round(seconds * 1000))}"
        try:
            with conn.cursor() as cur:
                cur.execute(f"SET SESSION {setting}")
        except pymysql.Error as exc:
            raise StorageError(f"cannot set up a MySQL session ({type(exc).__name__})") from None

    def _usable(self, conn: Connection) -> bool:
        """Return whether an idle connection is still open (the server may have closed it)."""
        return bool(getattr(conn, "open", False))

    def __repr__(self) -> str:
        return f"MysqlStore(database={self._database!r})"
