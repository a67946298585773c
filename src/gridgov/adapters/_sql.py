"""What the SQL adapters share: schema migrations, repositories over DB-API 2, error translation.

Aggregates are stored as cattrs JSON documents beside the indexed columns every port query uses:
cell codes (subtree = code range), resident birth dates, tags, venues, occurrences, residents,
the audit trail's principals and subjects, versions, and instants as sortable UTC text
(``YYYY-MM-DDTHH:MM:SS.ffffff``) so that comparing text compares instants. Reads run outside a
transaction until the unit of work first writes; from then on it holds one database transaction,
so its own reads see its writes, and commit or rollback ends it. Optimistic concurrency is an
``UPDATE ... WHERE version = ?`` that must touch one row.

The SQL text is written with ``?`` placeholders; a dialect rewrites them for its driver.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from gridgov._validation import UNSTORABLE_PROBLEM
from gridgov.access import AuditEntry
from gridgov.adapters import _codec
from gridgov.adapters._pool import ConnectionPool, PoolOptions, PoolStatus, store_closed
from gridgov.adapters._sql_steps import check_key, rehash, run_steps
from gridgov.adapters.support import StoredRecord as R
from gridgov.adapters.support import check_batch_size, check_id_key, check_text_key
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.model import Case
from gridgov.codes import CodeScheme
from gridgov.errors import ConflictError, GridgovError, StorageError, ValidationError
from gridgov.grid import GridCell, Worker
from gridgov.households import Household
from gridgov.identity import IdKey
from gridgov.records import tables
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.settings import Settings

T = TypeVar("T")
Row = Sequence[Any]


SCHEMA_VERSION_TABLE = "gridgov_schema"
_DECODED_MAX = 20_000  # documents a unit of work keeps decoded


class Connection(Protocol):
    """The part of a DB-API 2 connection the SQL adapters use."""

    def cursor(self) -> Any:
        """Return a new cursor."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class Dialect(Protocol):
    """How one SQL backend differs from the others."""

    @property
    def name(self) -> str:
        """Return the backend's name, e.g. ``"sqlite"``."""
        ...

    @property
    def migrations(self) -> Sequence[Sequence[str]]:
        """Return the schema migrations, one list of statements per version, oldest first."""
        ...

    def sql(self, text: str) -> str:
        """Rewrite ``?`` placeholders for the driver."""
        ...

    def begin(self, cursor: Any) -> None:
        """Start a write transaction on an idle connection."""
        ...

    def lock_schema(self, cursor: Any) -> None:
        """Inside a transaction, wait until no other connection is migrating the schema."""
        ...

    def translate(self, exc: Exception) -> GridgovError | None:
        """Return the gridgov error for a driver exception, ``None`` if it is not a driver's."""
        ...

    @property
    def claim(self) -> str:
        """Return the clause that makes a query hold its rows and skip those others hold.

        ``" FOR UPDATE SKIP LOCKED"`` where the database has it; empty where the write
        transaction already keeps every other writer out (SQLite).
        """
        ...

    def insert_many(
        self, cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Insert ``rows`` into ``table`` (executemany, COPY, ...)."""
        ...


def encode(
    record: GridCell
    | Worker
    | Household
    | ContactAttempt
    | CareTask
    | Case
    | Settings
    | Venue
    | ActivitySeries
    | Registration
    | Shift
    | SignUp
    | AuditEntry,
) -> str:
    """Return ``record`` as a JSON document without its version (kept in a column)."""
    return _codec.encode(record)


@functools.lru_cache(maxsize=4)
def _decoded_settings(doc: str | bytes, version: int) -> Settings:
    """Decode the settings, shared by every unit of every store.

    Their calendar and care policy take milliseconds to build, and the same text at the same
    version always gives the same settings.
    """
    return decode(Settings, doc, version)


def decode(cls: type[R], doc: str | bytes | dict[str, Any], version: int) -> R:
    """Build a ``cls`` from a stored document and its version column (see ``_codec``).

    Raises:
        StorageError: If the document no longer validates (corrupt or foreign data).
    """
    return _codec.decode(cls, doc, version)


def migrate(conn: Connection, dialect: Dialect, id_key: IdKey | None = None) -> int:
    """Create or upgrade the schema; return the schema version now in place.

    Every pending migration and the version bump run in one transaction that first takes the
    dialect's schema lock, so two processes opening a new database at once do not both migrate
    it, and a failed upgrade leaves the previous version intact. After each version's DDL its
    Python steps (:data:`gridgov.records.STEPS`) run, the digests computed under ``id_key``.

    Raises:
        StorageError: If the database was written by a newer gridgov.
        ConflictError: If its ID digests were computed under another key than ``id_key``.
    """
    latest = len(dialect.migrations)
    cur = conn.cursor()
    dialect.begin(cur)
    try:
        dialect.lock_schema(cur)
        cur.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSION_TABLE} (version INTEGER NOT NULL)")
        cur.execute(f"SELECT version FROM {SCHEMA_VERSION_TABLE}")
        row = cur.fetchone()
        current = 0 if row is None else int(row[0])
        if current > latest:
            raise StorageError(
                f"the database has schema version {current}, newer than this gridgov supports "
                f"({latest}); upgrade gridgov to open it"
            )
        for version in range(current + 1, latest + 1):
            for statement in dialect.migrations[version - 1]:
                cur.execute(statement)
            run_steps(cur, dialect, version, id_key)
        check_key(cur, dialect, id_key)
        if current == 0:
            cur.execute(dialect.sql(f"INSERT INTO {SCHEMA_VERSION_TABLE} VALUES (?)"), (latest,))
        elif current < latest:
            cur.execute(dialect.sql(f"UPDATE {SCHEMA_VERSION_TABLE} SET version = ?"), (latest,))
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return latest


class SqlStore(Protocol):
    """What a SQL unit of work needs from its store."""

    @property
    def scheme(self) -> CodeScheme:
        """Return the code scheme cell codes must follow."""
        ...

    @property
    def dialect(self) -> Dialect:
        """Return the store's dialect."""
        ...

    @property
    def id_key(self) -> IdKey | None:
        """Return the key ID digests are computed with, ``None`` if none."""
        ...

    def acquire(self) -> Connection:
        """Return a connection in autocommit mode, borrowed until :meth:`release`."""
        ...

    def release(self, conn: Connection, *, broken: bool = False) -> None:
        """Give a connection back (closing it if ``broken``)."""
        ...


class PooledSqlStore(abc.ABC):
    """What the SQL stores share: a code scheme, a dialect and a pool of connections.

    Subclasses open connections (``_connect``) and migrate the schema on the first one
    (``_start``); each unit of work borrows a connection and gives it back. The pool
    (:class:`~gridgov.adapters._pool.ConnectionPool`) bounds how many are open, keeps a minimum,
    and closes those idle too long; a subclass that can stop long statements implements
    ``_limit_statements``. The store is thread-safe; a unit of work belongs to one thread.

    Args:
        scheme: The code scheme cell codes must follow.
        pool: The pool's sizes and timeouts (the defaults of :class:`PoolOptions` if ``None``).
        id_key: The key of the digests of ID numbers (``None``: none computed).

    Raises:
        ValidationError: If ``pool`` sets a statement_timeout the store cannot enforce.
    """

    dialect: Dialect

    def __init__(
        self, scheme: CodeScheme, *, pool: PoolOptions | None = None, id_key: IdKey | None = None
    ) -> None:
        self._scheme = scheme
        self._id_key = check_id_key(id_key)
        self._options = pool if pool is not None else PoolOptions()
        # Refused before any connection opens, not at the first statement.
        limits = type(self)._limit_statements is not PooledSqlStore._limit_statements
        if self._options.statement_timeout and not limits:
            raise self._cannot_limit()
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            self._new_connection, self._usable, self._options, type(self).__name__
        )

    @abc.abstractmethod
    def _connect(self) -> Connection:
        """Open a new connection in autocommit mode, ready for gridgov's statements."""

    def _usable(self, conn: Connection) -> bool:
        """Return whether an idle connection may be handed out again."""
        return True

    def _migrated(self, conn: Connection) -> bool:
        """Finish the first connection once the schema is migrated; return whether to keep it."""
        return True

    def _limit_statements(self, conn: Connection, seconds: float) -> None:
        """Make the database stop any statement of ``conn`` running longer than ``seconds``.

        A store that can stop long statements overrides this; by default it cannot.

        Raises:
            ValidationError: On ``statement_timeout``, naming the store.
        """
        raise self._cannot_limit()

    def _cannot_limit(self) -> ValidationError:
        return ValidationError(
            "statement_timeout", f"{type(self).__name__} cannot stop long statements"
        )

    def _new_connection(self) -> Connection:
        conn = self._connect()
        if self._options.statement_timeout:
            try:
                self._limit_statements(conn, self._options.statement_timeout)
            except BaseException:
                conn.close()
                raise
        return conn

    def _start(self, conn: Connection, failure: type[Exception], what: str) -> None:
        """Migrate the schema on ``conn``, keep it and open the pool's minimum.

        The migration runs before the statement timeout is set: an upgrade may take longer.
        A driver ``failure`` is a StorageError.
        """
        try:
            migrate(conn, self.dialect, self._id_key)
            keep = self._migrated(conn)
            if keep and self._options.statement_timeout:
                self._limit_statements(conn, self._options.statement_timeout)
        except failure as exc:
            conn.close()
            raise StorageError(f"cannot open {what} as a gridgov database ({exc})") from None
        except BaseException:
            conn.close()
            raise
        if keep:
            self._pool.adopt(conn)
        else:
            conn.close()
        try:
            self._pool.fill()
        except BaseException:
            self._pool.close()
            raise

    @property
    def scheme(self) -> CodeScheme:
        """Return the code scheme cell codes must follow."""
        return self._scheme

    @property
    def id_key(self) -> IdKey | None:
        """Return the key ID digests are computed with, ``None`` if none."""
        return self._id_key

    def rehash_ids(self, key: IdKey | None, *, batch_size: int = 500) -> int:
        """Use ``key`` from now on and recompute every stored digest, a transaction a batch.

        This is :func:`gridgov.identity.rehash_ids`: the digest steps of
        :data:`gridgov.records.STEPS` run again, batch by batch, each batch committed.
        Returns the rows written.
        """
        check_batch_size(batch_size)
        self._id_key = check_id_key(key)
        return rehash(self, key, batch_size)

    @property
    def pool_options(self) -> PoolOptions:
        """Return the pool's sizes and timeouts."""
        return self._options

    def pool_status(self) -> PoolStatus:
        """Return how many connections are open and idle, and how many units wait for one."""
        return self._pool.status()

    def acquire(self) -> Connection:
        """Return an idle connection, open one, or wait up to ``pool_timeout`` for one.

        Raises:
            StorageError: If the store is closed, or no connection came free in time.
        """
        return self._pool.acquire()

    def release(self, conn: Connection, *, broken: bool = False) -> None:
        """Give a connection back: kept for reuse, or closed if broken or the store is closed."""
        self._pool.release(conn, broken=broken)

    def __call__(self) -> SqlUnitOfWork:
        """Return a new unit of work.

        Raises:
            StorageError: If the store is closed.
        """
        if self._pool.closed:
            raise store_closed()
        return SqlUnitOfWork(self)

    def close(self) -> None:
        """Close the idle connections and stop the reaper; closing again does nothing.

        Connections borrowed by units of work still open are closed when they are given back.
        """
        self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SqlUnitOfWork:
    """A unit of work over a SQL store; see :class:`gridgov.ports.UnitOfWork`.

    It borrows a connection from the store when first used and gives it back on exit.
    """

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._dialect = store.dialect
        self._conn: Connection | None = None
        self._cursor: Any = None
        self._in_transaction = False
        self._broken = False
        self._decoded: dict[tuple[type, int, str | bytes], object] = {}
        # The repositories import this module; importing them here keeps the import acyclic.
        from gridgov.adapters import _sql_components as comp
        from gridgov.adapters import _sql_kinds as k
        from gridgov.adapters import _sql_outbox as o
        from gridgov.adapters import _sql_scheduling as sch

        self.cells = k.SqlCellRepository(self)
        self.workers = k.SqlWorkerRepository(self)
        self.households = k.SqlHouseholdRepository(self)
        self.contacts = k.SqlContactRepository(self)
        self.care_tasks = k.SqlCareTaskRepository(self)
        self.cases = k.SqlCaseRepository(self)
        self.settings = k.SqlSettingsRepository(self)
        self.venues = sch.SqlVenueRepository(self)
        self.components = comp.SqlComponentRepository(self)
        self.series = sch.SqlSeriesRepository(self)
        self.registrations = sch.SqlRegistrationRepository(self)
        self.shifts = sch.SqlShiftRepository(self)
        self.signups = sch.SqlSignUpRepository(self)
        self.audit = sch.SqlAuditRepository(self)
        self.requests = k.SqlRequestRepository(self)
        self.outbox = o.SqlOutboxRepository(self)
        self.notifications = o.SqlNotificationRepository(self)
        self.locks = SqlLockRepository(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._conn is not None:
                self._store.release(self._conn, broken=self._broken)
                self._conn = self._cursor = None

    @property
    def scheme(self) -> CodeScheme:
        """Return the code scheme of the store."""
        return self._store.scheme

    @property
    def id_key(self) -> IdKey | None:
        """Return the key the store computes ID digests with (none for a store without one)."""
        key: IdKey | None = getattr(self._store, "id_key", None)
        return key

    # -- statements ------------------------------------------------------------------------

    @staticmethod
    def encode(record: object) -> str:
        """Return ``record`` as the JSON document stored beside its columns."""
        return encode(record)  # type: ignore[arg-type]  # every declared kind

    def _cur(self) -> Any:
        if self._cursor is None:
            self._conn = self._store.acquire()
            self._cursor = self._conn.cursor()
        return self._cursor

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except GridgovError:
            raise
        except UnicodeEncodeError:
            # Keys and record text are checked before; this is the net under what slips by.
            raise ValidationError("text", UNSTORABLE_PROBLEM) from None
        except Exception as exc:
            error = self._dialect.translate(exc)
            if error is None:
                raise
            if isinstance(error, StorageError):
                self._broken = True
            # Not chained: a driver's message may quote the document, personal data included.
            raise error from None

    def decode(self, cls: type[R], doc: str | bytes | dict[str, Any], version: int) -> R:
        """Decode a stored document, once per unit of work for a given text and version.

        A unit replaying a history reads the same households and contacts again and again;
        validating a document is the costly part of a read. Texts at a version never change
        once committed, and the cache goes with a rollback.
        """
        if not isinstance(doc, str | bytes):
            return decode(cls, doc, version)
        if cls is Settings:  # read by nearly every service call: decoded once per process
            return _decoded_settings(doc, version)  # type: ignore[return-value]
        key = (cls, version, doc)
        found = self._decoded.get(key)
        if found is None:
            if len(self._decoded) >= _DECODED_MAX:
                self._decoded.clear()
            found = self._decoded[key] = decode(cls, doc, version)
        return found  # type: ignore[return-value]  # keyed by cls

    def execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        """Run one statement and return the cursor, driver errors translated."""
        cur = self._cur()
        with self._translated():
            cur.execute(self._dialect.sql(sql), params)
        return cur

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Insert rows the fastest way the backend offers, driver errors translated."""
        if rows:
            cur = self._cur()
            with self._translated():
                self._dialect.insert_many(cur, table, columns, rows)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run a query and return every row."""
        return list(self.execute(sql, params).fetchall())

    def query_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        """Run a query and return its first row, or ``None``."""
        row: Row | None = self.execute(sql, params).fetchone()
        return row

    def write(self) -> None:
        """Make sure a write transaction is open."""
        if not self._in_transaction:
            cur = self._cur()
            with self._translated():
                self._dialect.begin(cur)
            self._in_transaction = True

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run a block so that, if it fails, its writes are undone and the transaction goes on."""
        self.write()
        self.execute("SAVEPOINT gridgov_bulk")
        try:
            yield
        except BaseException:
            if not self._broken:
                self.execute("ROLLBACK TO SAVEPOINT gridgov_bulk")
                self.execute("RELEASE SAVEPOINT gridgov_bulk")
            raise
        self.execute("RELEASE SAVEPOINT gridgov_bulk")

    # -- transaction ends ------------------------------------------------------------------

    def commit(self) -> None:
        """Commit the open transaction, if any.

        Raises:
            ConflictError: If the database refuses the commit as a concurrency conflict.
            StorageError: If the connection is lost.
        """
        if self._in_transaction:
            self._in_transaction = False
            self.execute("COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        self._decoded.clear()
        if self._in_transaction:
            self._in_transaction = False
            if not self._broken:
                self.execute("ROLLBACK")


class SqlLockRepository:
    """Named locks: rows of ``gg_locks``, written by every unit of work that holds them.

    Writing the row (not ``SELECT ... FOR UPDATE``) makes a second holder wait for the first
    to end on a single node, and a multi-master cluster, which certifies only written rows,
    refuse one of two concurrent holders at commit.
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def hold(self, name: str) -> None:
        """Hold the lock ``name`` until the unit of work commits or rolls back."""
        check_text_key("name", name)
        uow = self._uow
        uow.write()
        raise_held = "UPDATE gg_locks SET held = held + 1 WHERE name = ?"
        if uow.execute(raise_held, (name,)).rowcount:
            return
        try:
            with uow.savepoint():
                uow.execute("INSERT INTO gg_locks (name, held) VALUES (?, 1)", (name,))
        except ConflictError:
            # Another unit created the row first: it has committed, so the row can be written.
            uow.execute(raise_held, (name,))


def table_names() -> tuple[str, ...]:
    """Return the tables the SQL adapters own, children first (for dropping)."""
    return (*reversed([t.name for t in tables()]), SCHEMA_VERSION_TABLE)
