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
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

import pendulum

from gridgov.access import AuditEntry, AuditKind
from gridgov.adapters import _codec
from gridgov.adapters.support import StoredRecord as R
from gridgov.adapters.support import (
    birth_bounds,
    check_audit_filters,
    check_batch_size,
    check_instant,
    check_limit,
    check_placement,
    check_resident_reference,
    check_text_key,
    check_time_range,
    check_window,
    decode_cursor,
    encode_cursor,
    instant_key,
    series_span,
    task_references_changed,
    with_version,
)
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.model import Case
from gridgov.cases.settings import CaseSettings
from gridgov.codes import CodeScheme
from gridgov.errors import ConflictError, GridgovError, NotFoundError, StorageError, ValidationError
from gridgov.grid import GridCell, GridTree, Worker
from gridgov.households import Household, Tag
from gridgov.ports import DEFAULT_PAGE_SIZE, Page, ProgressCallback, ResidentEntry
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.serialization import make_converter

T = TypeVar("T")
Row = Sequence[Any]

_CONVERTER = make_converter()
# Above every character a code can hold: ``code <= x < code + _TOP`` is the subtree of ``code``.
_TOP = "\U0010ffff"

SCHEMA_VERSION_TABLE = "gridgov_schema"
_DECODED_MAX = 20_000  # documents a unit of work keeps decoded
HOUSEHOLD_COLUMNS = ("id", "cell_code", "version", "doc")
RESIDENT_COLUMNS = ("id", "household_id", "cell_code", "birth_date")
TAG_COLUMNS = ("tag", "cell_code", "household_id", "resident_id")
CONTACT_COLUMNS = ("id", "resident_id", "household_id", "cell_code", "at_utc", "version", "doc")
CARE_TASK_COLUMNS = (
    "id",
    "resident_id",
    "household_id",
    "cell_code",
    "state",
    "due_utc",
    "start_utc",
    "version",
    "doc",
)
CASE_COLUMNS = (
    "id",
    "cell_code",
    "owner_cell",
    "owner_level",
    "state",
    "is_open",
    "category",
    "external_id",
    "reported_utc",
    "next_check_utc",
    "version",
    "doc",
)
VENUE_COLUMNS = ("id", "cell_code", "version", "doc")
SERIES_COLUMNS = (
    "id",
    "venue_id",
    "space_id",
    "first_start_utc",
    "last_end_utc",
    "version",
    "doc",
)
REGISTRATION_COLUMNS = (
    "id",
    "series_id",
    "occurrence_id",
    "resident_id",
    "start_utc",
    "end_utc",
    "state",
    "registered_utc",
    "version",
    "doc",
)
SHIFT_COLUMNS = ("id", "venue_id", "start_utc", "end_utc", "version", "doc")
SIGNUP_COLUMNS = (
    "id",
    "shift_id",
    "resident_id",
    "start_utc",
    "end_utc",
    "state",
    "at_utc",
    "version",
    "doc",
)
AUDIT_COLUMNS = (
    "id",
    "at_utc",
    "principal_id",
    "kind",
    "subject",
    "cell_code",
    "version",
    "doc",
)
SETTINGS_KEY = "default"  # the key of the one row of gg_case_settings


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
    | CaseSettings
    | Venue
    | ActivitySeries
    | Registration
    | Shift
    | SignUp
    | AuditEntry,
) -> str:
    """Return ``record`` as a JSON document without its version (kept in a column)."""
    return _codec.encode(record)


def decode(cls: type[R], doc: str | dict[str, Any], version: int) -> R:
    """Build a ``cls`` from a stored document and its version column (see ``_codec``).

    Raises:
        StorageError: If the document no longer validates (corrupt or foreign data).
    """
    return _codec.decode(cls, doc, version)


def migrate(conn: Connection, dialect: Dialect) -> int:
    """Create or upgrade the schema; return the schema version now in place.

    Every pending migration and the version bump run in one transaction that first takes the
    dialect's schema lock, so two processes opening a new database at once do not both migrate
    it, and a failed upgrade leaves the previous version intact.

    Raises:
        StorageError: If the database was written by a newer gridgov.
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

    def acquire(self) -> Connection:
        """Return an idle connection in autocommit mode."""
        ...

    def release(self, conn: Connection, *, broken: bool = False) -> None:
        """Give a connection back (closing it if ``broken``)."""
        ...


class PooledSqlStore(abc.ABC):
    """What the SQL stores share: a code scheme, a dialect and a pool of idle connections.

    Subclasses open connections (``_connect``) and migrate the schema on the first one
    (``_start``); each unit of work borrows a connection and gives it back.
    """

    dialect: Dialect

    def __init__(self, scheme: CodeScheme) -> None:
        self._scheme = scheme
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    @abc.abstractmethod
    def _connect(self) -> Connection:
        """Open a new connection in autocommit mode, ready for gridgov's statements."""

    def _usable(self, conn: Connection) -> bool:
        """Return whether an idle connection may be handed out again."""
        return True

    def _start(self, conn: Connection, failure: type[Exception], what: str) -> None:
        """Migrate the schema on ``conn`` and keep it; a driver ``failure`` is a StorageError."""
        try:
            migrate(conn, self.dialect)
        except failure as exc:
            conn.close()
            raise StorageError(f"cannot open {what} as a gridgov database ({exc})") from None
        except BaseException:
            conn.close()
            raise
        self._idle.append(conn)

    @property
    def scheme(self) -> CodeScheme:
        """Return the code scheme cell codes must follow."""
        return self._scheme

    def acquire(self) -> Connection:
        """Return an idle connection, opening one if none is free."""
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if self._usable(conn):
                    return conn
        return self._connect()

    def release(self, conn: Connection, *, broken: bool = False) -> None:
        """Keep a healthy connection for reuse; close a broken one."""
        if broken:
            conn.close()
            return
        with self._lock:
            self._idle.append(conn)

    def __call__(self) -> SqlUnitOfWork:
        """Return a new unit of work."""
        return SqlUnitOfWork(self)

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


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
        self._decoded: dict[tuple[type, int, str], object] = {}
        self.cells = SqlCellRepository(self)
        self.workers = SqlWorkerRepository(self)
        self.households = SqlHouseholdRepository(self)
        self.contacts = SqlContactRepository(self)
        self.care_tasks = SqlCareTaskRepository(self)
        self.cases = SqlCaseRepository(self)
        self.case_settings = SqlCaseSettingsRepository(self)
        self.venues = SqlVenueRepository(self)
        self.series = SqlSeriesRepository(self)
        self.registrations = SqlRegistrationRepository(self)
        self.shifts = SqlShiftRepository(self)
        self.signups = SqlSignUpRepository(self)
        self.audit = SqlAuditRepository(self)

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

    # -- statements ------------------------------------------------------------------------

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
        except Exception as exc:
            error = self._dialect.translate(exc)
            if error is None:
                raise
            if isinstance(error, StorageError):
                self._broken = True
            raise error from exc

    def decode(self, cls: type[R], doc: str | dict[str, Any], version: int) -> R:
        """Decode a stored document, once per unit of work for a given text and version.

        A unit replaying a history reads the same households and contacts again and again;
        validating a document is the costly part of a read. Texts at a version never change
        once committed, and the cache goes with a rollback.
        """
        if not isinstance(doc, str):
            return decode(cls, doc, version)
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

    def cell_exists(self, code: str) -> bool:
        """Return whether the cell ``code`` is stored (as this unit sees it)."""
        return self.query_one("SELECT 1 FROM gg_cells WHERE code = ?", (code,)) is not None

    def require(self, kind: str, table: str, key: str) -> None:
        """Raise ``NotFoundError(kind, key)`` unless ``table`` holds the id ``key``."""
        if self.query_one(f"SELECT 1 FROM {table} WHERE id = ?", (key,)) is None:
            raise NotFoundError(kind, key)

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


# -- repositories --------------------------------------------------------------------------


def _add_in_batches(
    items: Iterable[T],
    check: Callable[[object], T],
    insert: Callable[[Sequence[T]], None],
    batch_size: int,
    progress: ProgressCallback | None,
) -> int:
    """Check and insert a stream in batches; the caller's savepoint undoes a failed call."""
    check_batch_size(batch_size)
    count = 0
    batch: list[T] = []
    for item in items:
        batch.append(check(item))
        if len(batch) == batch_size:
            insert(batch)
            count += len(batch)
            batch.clear()
            if progress is not None:
                progress(count)
    if batch:
        insert(batch)
        count += len(batch)
        if progress is not None:
            progress(count)
    return count


def _range(prefix: str) -> tuple[str, str]:
    return prefix, prefix + _TOP


def _page(rows: list[tuple[tuple[str, ...], R2]], limit: int) -> Page[R2]:
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(tuple(v for _, v in rows), encode_cursor(*rows[-1][0]) if more else None)


R2 = TypeVar("R2")


class _Repository(Generic[R]):
    """Shared get/update/remove over one aggregate table."""

    kind: str
    cls: type[R]
    table: str
    key_column: str

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def _key(self, record: R) -> str:
        raise AttributeError  # overridden

    def _find(self, key: str) -> R | None:
        row = self._uow.query_one(
            f"SELECT version, doc FROM {self.table} WHERE {self.key_column} = ?", (key,)
        )
        return None if row is None else self._uow.decode(self.cls, row[1], row[0])

    def get(self, key: str) -> R:
        """Return the record with ``key`` or raise NotFoundError."""
        found = self._find(check_text_key("key", key))
        if found is None:
            raise NotFoundError(self.kind, key)
        return found

    def _require(self, record: object) -> R:
        if not isinstance(record, self.cls):
            raise ValidationError(self.kind, f"expected a {self.cls.__name__}")
        return record

    def _stale(self, key: str, version: int) -> GridgovError:
        row = self._uow.query_one(
            f"SELECT version FROM {self.table} WHERE {self.key_column} = ?", (key,)
        )
        if row is None:
            return NotFoundError(self.kind, key)
        return ConflictError(
            f"{self.kind} {key!r} is at version {row[0]}, the change was made from version "
            f"{version}"
        )

    def _update_row(self, record: R, extra: dict[str, object]) -> R:
        key = self._key(record)
        self._uow.write()
        sets = "".join(f", {column} = ?" for column in extra)
        cur = self._uow.execute(
            f"UPDATE {self.table} SET version = version + 1, doc = ?{sets} "
            f"WHERE {self.key_column} = ? AND version = ?",
            (encode(record), *extra.values(), key, record.version),
        )
        if cur.rowcount != 1:
            raise self._stale(key, record.version)
        return with_version(record, record.version + 1)

    def _delete_row(self, record: R) -> None:
        key = self._key(record)
        self._uow.write()
        cur = self._uow.execute(
            f"DELETE FROM {self.table} WHERE {self.key_column} = ? AND version = ?",
            (key, record.version),
        )
        if cur.rowcount != 1:
            raise self._stale(key, record.version)

    def _duplicate(self, key: str) -> ConflictError:
        return ConflictError(f"{self.kind} {key!r} already exists")

    def _exists(self, key: str) -> bool:
        return (
            self._uow.query_one(f"SELECT 1 FROM {self.table} WHERE {self.key_column} = ?", (key,))
            is not None
        )

    def _require_cell(self, code: str) -> None:
        check_text_key("cell_code", code)
        if not self._uow.cell_exists(code):
            raise NotFoundError("cell", code)

    def _owner(self, resident_id: str) -> tuple[str, str] | None:
        """Return ``(household_id, cell_code)`` of the resident's stored household, if any."""
        row = self._uow.query_one(
            "SELECT household_id, cell_code FROM gg_residents WHERE id = ?", (resident_id,)
        )
        return None if row is None else (row[0], row[1])


class SqlCellRepository(_Repository[GridCell]):
    """Cells in a SQL store; see :class:`gridgov.ports.CellRepository`."""

    kind = "cell"
    cls = GridCell
    table = "gg_cells"
    key_column = "code"

    def _key(self, record: GridCell) -> str:
        return record.code

    def add(self, cell: GridCell) -> GridCell:
        """Store a new cell whose parent is stored; return it with version 1."""
        cell = self._require(cell)
        parent = None if cell.parent_code is None else self._find(cell.parent_code)
        check_placement(cell, parent, self._uow._store.scheme)
        if self._find(cell.code) is not None:
            raise self._duplicate(cell.code)
        self._uow.write()
        self._uow.execute(
            "INSERT INTO gg_cells (code, parent_code, level, version, doc) VALUES (?, ?, ?, 1, ?)",
            (cell.code, cell.parent_code, cell.level.value, encode(cell)),
        )
        return with_version(cell, 1)

    def update(self, cell: GridCell) -> GridCell:
        """Replace a stored cell if its version is current; its parent and level stay."""
        cell = self._require(cell)
        current = self.get(cell.code)
        if (current.parent_code, current.level) != (cell.parent_code, cell.level):
            raise ValidationError("parent_code", "a cell cannot move; add a new cell instead")
        return self._update_row(cell, {})

    def remove(self, cell: GridCell) -> None:
        """Delete a cell that has no children, households or workers assigned."""
        cell = self._require(cell)
        for table, column, what in (
            ("gg_cells", "parent_code", "child cells"),
            ("gg_households", "cell_code", "households"),
            ("gg_worker_cells", "cell_code", "workers assigned"),
        ):
            if self._uow.query_one(
                f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (cell.code,)
            ):
                raise ConflictError(f"cell {cell.code!r} still has {what}")
        self._delete_row(cell)

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the direct children of the cell ``code``, ordered by code."""
        self.get(code)
        rows = self._uow.query(
            "SELECT version, doc FROM gg_cells WHERE parent_code = ? ORDER BY code", (code,)
        )
        return tuple(self._uow.decode(GridCell, doc, version) for version, doc in rows)

    def subtree(
        self, code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[GridCell]:
        """Return the cell ``code`` and every cell below it, ordered by code."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        self.get(code)
        low, high = _range(code)
        rows = self._uow.query(
            "SELECT code, version, doc FROM gg_cells WHERE code >= ? AND code < ? AND code > ? "
            "ORDER BY code LIMIT ?",
            (low, high, "" if start is None else start[0], limit + 1),
        )
        return _page([((c,), self._uow.decode(GridCell, d, v)) for c, v, d in rows], limit)

    def tree(self) -> GridTree:
        """Return every stored cell as a validated tree."""
        rows = self._uow.query("SELECT version, doc FROM gg_cells ORDER BY code")
        return GridTree(
            (self._uow.decode(GridCell, d, v) for v, d in rows), self._uow._store.scheme
        )


class SqlWorkerRepository(_Repository[Worker]):
    """Workers in a SQL store; see :class:`gridgov.ports.WorkerRepository`."""

    kind = "worker"
    cls = Worker
    table = "gg_workers"
    key_column = "id"

    def _key(self, record: Worker) -> str:
        return record.id

    def _check_cells(self, worker: Worker) -> None:
        for i, a in enumerate(worker.assignments):
            if not self._uow.cell_exists(a.cell_code):
                raise ValidationError(f"assignments[{i}].cell_code", "unknown cell")

    def _write_assignments(self, worker: Worker) -> None:
        self._uow.execute("DELETE FROM gg_worker_cells WHERE worker_id = ?", (worker.id,))
        self._uow.insert_many(
            "gg_worker_cells",
            ("worker_id", "cell_code", "start_date", "end_date"),
            [
                (worker.id, a.cell_code, a.start.isoformat(), a.end and a.end.isoformat())
                for a in worker.assignments
            ],
        )

    def add(self, worker: Worker) -> Worker:
        """Store a new worker whose assigned cells are stored; return it with version 1."""
        worker = self._require(worker)
        self._check_cells(worker)
        if self._find(worker.id) is not None:
            raise self._duplicate(worker.id)
        self._uow.write()
        self._uow.execute(
            "INSERT INTO gg_workers (id, version, doc) VALUES (?, 1, ?)",
            (worker.id, encode(worker)),
        )
        self._write_assignments(worker)
        return with_version(worker, 1)

    def update(self, worker: Worker) -> Worker:
        """Replace a stored worker if its version is current."""
        worker = self._require(worker)
        self._check_cells(worker)
        stored = self._update_row(worker, {})
        self._write_assignments(worker)
        return stored

    def remove(self, worker: Worker) -> None:
        """Delete a stored worker if its version is current."""
        worker = self._require(worker)
        with self._uow.savepoint():  # a stale version undoes the assignment deletes too
            self._uow.execute("DELETE FROM gg_worker_cells WHERE worker_id = ?", (worker.id,))
            self._delete_row(worker)

    def list(self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None) -> Page[Worker]:
        """Return workers ordered by id."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        rows = self._uow.query(
            "SELECT id, version, doc FROM gg_workers WHERE id > ? ORDER BY id LIMIT ?",
            ("" if start is None else start[0], limit + 1),
        )
        return _page([((i,), self._uow.decode(Worker, d, v)) for i, v, d in rows], limit)

    def assigned_to(self, cell_code: str, *, on: pendulum.Date) -> tuple[Worker, ...]:
        """Return the workers assigned to the cell ``cell_code`` on ``on``, ordered by id."""
        self._require_cell(cell_code)
        day = on.isoformat()
        rows = self._uow.query(
            "SELECT w.version, w.doc FROM gg_workers w WHERE w.id IN ("
            " SELECT worker_id FROM gg_worker_cells WHERE cell_code = ? AND start_date <= ?"
            " AND (end_date IS NULL OR end_date >= ?)) ORDER BY w.id",
            (cell_code, day, day),
        )
        return tuple(self._uow.decode(Worker, d, v) for v, d in rows)


class SqlHouseholdRepository(_Repository[Household]):
    """Households in a SQL store; see :class:`gridgov.ports.HouseholdRepository`."""

    kind = "household"
    cls = Household
    table = "gg_households"
    key_column = "id"

    SUBTREE_SQL = (
        "SELECT cell_code, id, version, doc FROM gg_households"
        " WHERE cell_code >= ? AND cell_code < ? AND (cell_code > ? OR (cell_code = ? AND id > ?))"
        " ORDER BY cell_code, id LIMIT ?"
    )
    TAG_SQL = (
        "SELECT t.cell_code, t.household_id, t.resident_id, h.version, h.doc"
        " FROM gg_resident_tags t JOIN gg_households h ON h.id = t.household_id"
        " WHERE t.tag = ? AND t.cell_code >= ? AND t.cell_code < ?"
        " AND (t.cell_code, t.household_id, t.resident_id) > (?, ?, ?)"
        " ORDER BY t.cell_code, t.household_id, t.resident_id LIMIT ?"
    )
    AGED_SQL = (
        "SELECT r.birth_date, r.id, r.household_id, h.version, h.doc"
        " FROM gg_residents r JOIN gg_households h ON h.id = r.household_id"
        " WHERE r.birth_date > ? AND r.birth_date <= ? AND r.cell_code >= ? AND r.cell_code < ?"
        " AND (r.birth_date, r.id) > (?, ?)"
        " ORDER BY r.birth_date, r.id LIMIT ?"
    )

    def _key(self, record: Household) -> str:
        return record.id

    def household_of(self, resident_id: str) -> Household:
        """Return the household the resident belongs to, or raise NotFoundError."""
        check_text_key("resident_id", resident_id)
        row = self._uow.query_one(
            "SELECT h.version, h.doc FROM gg_residents r JOIN gg_households h"
            " ON h.id = r.household_id WHERE r.id = ?",
            (resident_id,),
        )
        if row is None:
            raise NotFoundError("resident", resident_id)
        return self._uow.decode(Household, row[1], row[0])

    def _check(self, household: object, known_cells: set[str] | None = None) -> Household:
        h = self._require(household)
        if known_cells is None or h.cell_code not in known_cells:
            if not self._uow.cell_exists(h.cell_code):
                raise ValidationError("cell_code", "unknown cell")
            if known_cells is not None:
                known_cells.add(h.cell_code)
        return h

    @staticmethod
    def _index_rows(
        h: Household,
    ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        residents: list[tuple[object, ...]] = []
        tags: list[tuple[object, ...]] = []
        for m in h.members:
            birth = None if m.birth_date is None else m.birth_date.isoformat()
            residents.append((m.id, h.id, h.cell_code, birth))
            tags.extend((t.code, h.cell_code, h.id, m.id) for t in m.tags)
        return residents, tags

    def _insert(self, households: Sequence[Household]) -> None:
        homes: list[tuple[object, ...]] = []
        residents: list[tuple[object, ...]] = []
        tags: list[tuple[object, ...]] = []
        for h in households:
            homes.append((h.id, h.cell_code, 1, encode(h)))
            r, t = self._index_rows(h)
            residents.extend(r)
            tags.extend(t)
        try:
            self._uow.insert_many("gg_households", HOUSEHOLD_COLUMNS, homes)
            self._uow.insert_many("gg_residents", RESIDENT_COLUMNS, residents)
            self._uow.insert_many("gg_resident_tags", TAG_COLUMNS, tags)
        except ConflictError:
            raise ConflictError(
                "a household id is already stored, or a resident belongs to another household"
            ) from None

    def add(self, household: Household) -> Household:
        """Store a new household in a stored cell; return it with version 1."""
        h = self._check(household)
        if self._find(h.id) is not None:
            raise self._duplicate(h.id)
        with self._uow.savepoint():
            self._insert([h])
        return with_version(h, 1)

    def add_many(
        self,
        households: Iterable[Household],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new households from a stream, in batches; a failure undoes this call's writes."""
        known_cells: set[str] = set()
        with self._uow.savepoint():
            return _add_in_batches(
                households,
                lambda h: self._check(h, known_cells),
                self._insert,
                batch_size,
                progress,
            )

    def update(self, household: Household) -> Household:
        """Replace a stored household if its version is current."""
        h = self._check(household)
        with self._uow.savepoint():
            stored = self._update_row(h, {"cell_code": h.cell_code})
            self._uow.execute("DELETE FROM gg_resident_tags WHERE household_id = ?", (h.id,))
            self._uow.execute("DELETE FROM gg_residents WHERE household_id = ?", (h.id,))
            residents, tags = self._index_rows(h)
            try:
                self._uow.insert_many("gg_residents", RESIDENT_COLUMNS, residents)
            except ConflictError:
                raise ConflictError("a resident belongs to another household") from None
            self._uow.insert_many("gg_resident_tags", TAG_COLUMNS, tags)
        return stored

    def remove(self, household: Household) -> None:
        """Delete a stored household if its version is current."""
        h = self._require(household)
        with self._uow.savepoint():  # a stale version undoes the index deletes too
            self._uow.execute("DELETE FROM gg_resident_tags WHERE household_id = ?", (h.id,))
            self._uow.execute("DELETE FROM gg_residents WHERE household_id = ?", (h.id,))
            self._delete_row(h)

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Household]:
        """Return households in the cell ``cell_code`` or below it, by cell code then id."""
        check_limit(limit)
        start = decode_cursor(after, 2) or ("", "")
        self._require_cell(cell_code)
        low, high = _range(cell_code)
        rows = self._uow.query(
            self.SUBTREE_SQL, (low, high, start[0], start[0], start[1], limit + 1)
        )
        return _page([((c, i), self._uow.decode(Household, d, v)) for c, i, v, d in rows], limit)

    def with_tag(
        self,
        tag: Tag,
        *,
        within: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ResidentEntry]:
        """Return residents carrying ``tag``, by cell code, household id and resident id."""
        if not isinstance(tag, Tag):
            raise ValidationError("tag", "expected a Tag")
        check_limit(limit)
        start = decode_cursor(after, 3) or ("", "", "")
        if within is not None:
            self._require_cell(within)
        low, high = _range(within or "")
        rows = self._uow.query(self.TAG_SQL, (tag.code, low, high, *start, limit + 1))
        households = _Decoded()
        return _page(
            [((c, hid, rid), households.entry(hid, d, v, rid)) for c, hid, rid, v, d in rows],
            limit,
        )

    def aged(
        self,
        *,
        on: pendulum.Date,
        min_age: int | None = None,
        max_age: int | None = None,
        within: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ResidentEntry]:
        """Return residents whose age on ``on`` is within the bounds, oldest first."""
        born_after, latest = birth_bounds(on, min_age, max_age)
        check_limit(limit)
        start = decode_cursor(after, 2) or ("", "")
        if within is not None:
            self._require_cell(within)
        low, high = _range(within or "")
        rows = self._uow.query(
            self.AGED_SQL,
            (
                "" if born_after is None else born_after.isoformat(),
                _TOP if latest is None else latest.isoformat(),
                low,
                high,
                *start,
                limit + 1,
            ),
        )
        households = _Decoded()
        return _page(
            [((b, rid), households.entry(hid, d, v, rid)) for b, rid, hid, v, d in rows], limit
        )


class SqlContactRepository(_Repository[ContactAttempt]):
    """The contact ledger in a SQL store; see :class:`gridgov.ports.ContactRepository`."""

    kind = "contact"
    cls = ContactAttempt
    table = "gg_contacts"
    key_column = "id"

    RESIDENT_SQL = (
        "SELECT at_utc, id, version, doc FROM gg_contacts"
        " WHERE resident_id = ? AND at_utc >= ? AND (at_utc, id) < (?, ?)"
        " ORDER BY at_utc DESC, id DESC LIMIT ?"
    )
    SUBTREE_SQL = (
        "SELECT at_utc, id, version, doc FROM gg_contacts"
        " WHERE cell_code >= ? AND cell_code < ? AND at_utc >= ? AND at_utc < ?"
        " AND (at_utc, id) > (?, ?)"
        " ORDER BY at_utc, id LIMIT ?"
    )

    def _key(self, record: ContactAttempt) -> str:
        return record.id

    def add(self, contact: ContactAttempt) -> ContactAttempt:
        """Store a new contact for a stored resident of that household and cell; return it."""
        c = self._require(contact)
        check_resident_reference(c, self._owner(c.resident_id))
        if self._exists(c.id):
            raise self._duplicate(c.id)
        row = (c.id, c.resident_id, c.household_id, c.cell_code, instant_key(c.at), 1, encode(c))
        try:
            with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
                self._uow.insert_many("gg_contacts", CONTACT_COLUMNS, [row])
        except ConflictError:
            raise self._duplicate(c.id) from None
        return with_version(c, 1)

    def for_resident(
        self,
        resident_id: str,
        *,
        since: pendulum.DateTime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return a resident's contacts at or after ``since``, newest first."""
        check_text_key("resident_id", resident_id)
        low = "" if since is None else instant_key(check_instant("since", since), "since")
        check_limit(limit)
        start = decode_cursor(after, 2) or (_TOP, _TOP)
        rows = self._uow.query(self.RESIDENT_SQL, (resident_id, low, *start, limit + 1))
        return _page(
            [((a, i), self._uow.decode(ContactAttempt, d, v)) for a, i, v, d in rows], limit
        )

    def in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return contacts in the subtree of ``cell_code`` with ``since <= at < until``, by time."""
        since_key, until_key = check_time_range(since, until)
        check_limit(limit)
        start = decode_cursor(after, 2) or ("", "")
        self._require_cell(cell_code)
        low, high = _range(cell_code)
        rows = self._uow.query(
            self.SUBTREE_SQL, (low, high, since_key, until_key, *start, limit + 1)
        )
        return _page(
            [((a, i), self._uow.decode(ContactAttempt, d, v)) for a, i, v, d in rows], limit
        )


class SqlCareTaskRepository(_Repository[CareTask]):
    """Care tasks in a SQL store; see :class:`gridgov.ports.CareTaskRepository`."""

    kind = "care task"
    cls = CareTask
    table = "gg_care_tasks"
    key_column = "id"

    # The literal ``state = 'open'`` lets both backends use the partial indexes on open tasks.
    OPEN_RESIDENT_SQL = (
        "SELECT version, doc FROM gg_care_tasks"
        " WHERE resident_id = ? AND state = 'open'"
        " ORDER BY due_utc, id"
    )
    OPEN_SUBTREE_SQL = (
        "SELECT due_utc, id, version, doc FROM gg_care_tasks"
        " WHERE state = 'open' AND cell_code >= ? AND cell_code < ? AND start_utc < ?"
        " AND (due_utc, id) > (?, ?)"
        " ORDER BY due_utc, id LIMIT ?"
    )

    def _key(self, record: CareTask) -> str:
        return record.id

    def _require(self, record: object) -> CareTask:
        if not isinstance(record, CareTask):
            raise ValidationError("task", "expected a CareTask")
        return record

    @staticmethod
    def _row(t: CareTask) -> tuple[object, ...]:
        return (
            t.id,
            t.resident_id,
            t.household_id,
            t.cell_code,
            t.state.value,
            instant_key(t.due, "due"),
            instant_key(t.start, "start"),
            1,
            encode(t),
        )

    def _check(self, task: object, owners: dict[str, tuple[str, str] | None]) -> CareTask:
        t = self._require(task)
        if t.resident_id not in owners:
            owners[t.resident_id] = self._owner(t.resident_id)
        check_resident_reference(t, owners[t.resident_id])
        return t

    def _insert(self, tasks: Sequence[CareTask]) -> None:
        try:
            self._uow.insert_many("gg_care_tasks", CARE_TASK_COLUMNS, [self._row(t) for t in tasks])
        except ConflictError:
            raise ConflictError("a care task id is already stored") from None

    def add(self, task: CareTask) -> CareTask:
        """Store a new task for a stored resident of that household and cell; return it."""
        t = self._check(task, {})
        if self._exists(t.id):
            raise self._duplicate(t.id)
        with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
            self._insert([t])
        return with_version(t, 1)

    def add_many(
        self,
        tasks: Iterable[CareTask],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new tasks from a stream, in batches; a failure undoes this call's writes."""
        owners: dict[str, tuple[str, str] | None] = {}
        with self._uow.savepoint():
            return _add_in_batches(
                tasks, lambda t: self._check(t, owners), self._insert, batch_size, progress
            )

    def update(self, task: CareTask) -> CareTask:
        """Replace a stored task if its version is current; return it."""
        t = self._require(task)
        row = self._uow.query_one(
            "SELECT resident_id, household_id, cell_code FROM gg_care_tasks WHERE id = ?", (t.id,)
        )
        if row is None:
            raise NotFoundError(self.kind, t.id)
        if task_references_changed((row[0], row[1], row[2]), t):
            check_resident_reference(t, self._owner(t.resident_id))
        return self._update_row(
            t,
            {
                "household_id": t.household_id,
                "cell_code": t.cell_code,
                "state": t.state.value,
                "due_utc": instant_key(t.due, "due"),
                "start_utc": instant_key(t.start, "start"),
            },
        )

    def open_for_resident(self, resident_id: str) -> tuple[CareTask, ...]:
        """Return the resident's open tasks, by due instant then id."""
        check_text_key("resident_id", resident_id)
        rows = self._uow.query(self.OPEN_RESIDENT_SQL, (resident_id,))
        return tuple(self._uow.decode(CareTask, d, v) for v, d in rows)

    def open_in_subtree(
        self,
        cell_code: str,
        *,
        starting_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return open tasks of the subtree whose window starts before the instant, by due, id."""
        horizon = instant_key(check_instant("starting_before", starting_before), "starting_before")
        check_limit(limit)
        start = decode_cursor(after, 2) or ("", "")
        self._require_cell(cell_code)
        low, high = _range(cell_code)
        rows = self._uow.query(self.OPEN_SUBTREE_SQL, (low, high, horizon, *start, limit + 1))
        return _page([((due, i), self._uow.decode(CareTask, d, v)) for due, i, v, d in rows], limit)


class SqlCaseRepository(_Repository[Case]):
    """Cases in a SQL store; see :class:`gridgov.ports.CaseRepository`."""

    kind = "case"
    cls = Case
    table = "gg_cases"
    key_column = "id"

    # ``next_check_utc IS NOT NULL`` and ``is_open`` repeat the partial indexes' conditions, so
    # that both backends see at once that those indexes serve the queries.
    DUE_SQL = (
        "SELECT next_check_utc, id, version, doc FROM gg_cases"
        " WHERE next_check_utc IS NOT NULL AND next_check_utc <= ?"
        " AND (next_check_utc, id) > (?, ?)"
        " ORDER BY next_check_utc, id LIMIT ?"
    )
    OPEN_SUBTREE_SQL = (
        "SELECT reported_utc, id, version, doc FROM gg_cases"
        " WHERE is_open AND cell_code >= ? AND cell_code < ? AND (reported_utc, id) > (?, ?)"
        " ORDER BY reported_utc, id LIMIT ?"
    )
    REPORTED_SUBTREE_SQL = (
        "SELECT reported_utc, id, version, doc FROM gg_cases"
        " WHERE cell_code >= ? AND cell_code < ? AND reported_utc >= ? AND reported_utc < ?"
        " AND (reported_utc, id) > (?, ?)"
        " ORDER BY reported_utc, id LIMIT ?"
    )
    EXTERNAL_SQL = "SELECT id, version, doc FROM gg_cases WHERE external_id = ?"

    def _key(self, record: Case) -> str:
        return record.id

    @staticmethod
    def _columns(c: Case) -> dict[str, object]:
        """Return the indexed columns of ``c`` (all but id, version and doc)."""
        return {
            "cell_code": c.cell_code,
            "owner_cell": c.owner_cell,
            "owner_level": c.owner_level.value,
            "state": c.state.value,
            "is_open": c.is_open,
            "category": c.category,
            "external_id": c.external_id,
            "reported_utc": instant_key(c.reported_at, "reported_at"),
            "next_check_utc": None
            if c.next_check is None
            else instant_key(c.next_check, "next_check"),
        }

    def _check_cells(self, c: Case, known_cells: set[str]) -> None:
        for code in (c.cell_code, c.owner_cell):
            if code not in known_cells:
                if not self._uow.cell_exists(code):
                    raise NotFoundError("cell", code)
                known_cells.add(code)

    def _check(self, case: object, known_cells: set[str]) -> Case:
        c = self._require(case)
        self._check_cells(c, known_cells)
        return c

    def _check_external(self, c: Case) -> None:
        if c.external_id is None:
            return
        row = self._uow.query_one("SELECT id FROM gg_cases WHERE external_id = ?", (c.external_id,))
        if row is not None and row[0] != c.id:
            raise ConflictError(f"case {row[0]!r} already has the external id of case {c.id!r}")

    def _insert(self, cases: Sequence[Case]) -> None:
        rows = [(c.id, *self._columns(c).values(), 1, encode(c)) for c in cases]
        try:
            self._uow.insert_many("gg_cases", CASE_COLUMNS, rows)
        except ConflictError:
            raise ConflictError("a case id or external id is already stored") from None

    def add(self, case: Case) -> Case:
        """Store a new case whose location and owner cells are stored; return it with version 1."""
        c = self._check(case, set())
        if self._exists(c.id):
            raise self._duplicate(c.id)
        self._check_external(c)
        with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
            self._insert([c])
        return with_version(c, 1)

    def add_many(
        self,
        cases: Iterable[Case],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new cases from a stream, in batches; a failure undoes this call's writes."""
        known_cells: set[str] = set()
        with self._uow.savepoint():
            return _add_in_batches(
                cases,
                lambda c: self._check(c, known_cells),
                self._insert,
                batch_size,
                progress,
            )

    def update(self, case: Case) -> Case:
        """Replace a stored case if its version is current; return it."""
        c = self._require(case)
        row = self._uow.query_one(
            "SELECT cell_code, owner_cell, external_id FROM gg_cases WHERE id = ?", (c.id,)
        )
        if row is None:
            raise NotFoundError(self.kind, c.id)
        if (row[0], row[1]) != (c.cell_code, c.owner_cell):
            self._check_cells(c, set())
        if c.external_id == row[2]:
            return self._update_row(c, self._columns(c))
        self._check_external(c)
        with self._uow.savepoint():  # a concurrent taker of the id must not end the transaction
            return self._update_row(c, self._columns(c))

    def by_external_id(self, external_id: str) -> Case | None:
        """Return the case with that id in another system (12345, Open311), if any."""
        check_text_key("external_id", external_id)
        row = self._uow.query_one(self.EXTERNAL_SQL, (external_id,))
        return None if row is None else self._uow.decode(Case, row[2], row[1])

    def due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return cases whose ``next_check`` is at or before the instant, by next_check, id."""
        horizon = instant_key(check_instant("at_or_before", at_or_before), "at_or_before")
        check_limit(limit)
        start = decode_cursor(after, 2) or ("", "")
        rows = self._uow.query(self.DUE_SQL, (horizon, *start, limit + 1))
        return _page([((n, i), self._uow.decode(Case, d, v)) for n, i, v, d in rows], limit)

    def open_in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Case]:
        """Return the open cases located in the subtree, by reported_at, id."""
        check_limit(limit)
        start = decode_cursor(after, 2) or ("", "")
        self._require_cell(cell_code)
        low, high = _range(cell_code)
        rows = self._uow.query(self.OPEN_SUBTREE_SQL, (low, high, *start, limit + 1))
        return _page([((r, i), self._uow.decode(Case, d, v)) for r, i, v, d in rows], limit)

    def reported_in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return the cases of the subtree reported in ``[since, until)``, by reported_at, id."""
        since_key, until_key = check_time_range(since, until)
        check_limit(limit)
        start = decode_cursor(after, 2) or ("", "")
        self._require_cell(cell_code)
        low, high = _range(cell_code)
        rows = self._uow.query(
            self.REPORTED_SUBTREE_SQL, (low, high, since_key, until_key, *start, limit + 1)
        )
        return _page([((r, i), self._uow.decode(Case, d, v)) for r, i, v, d in rows], limit)


class SqlCaseSettingsRepository:
    """The case settings of a SQL store; see :class:`gridgov.ports.CaseSettingsRepository`."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def _stored_version(self) -> int:
        row = self._uow.query_one(
            "SELECT version FROM gg_case_settings WHERE id = ?", (SETTINGS_KEY,)
        )
        return 0 if row is None else int(row[0])

    def _stale(self, version: int) -> ConflictError:
        return ConflictError(
            f"case settings are at version {self._stored_version()}, "
            f"the save was made from version {version}"
        )

    def get(self) -> CaseSettings:
        """Return the stored settings, or raise NotFoundError if none were saved."""
        row = self._uow.query_one(
            "SELECT version, doc FROM gg_case_settings WHERE id = ?", (SETTINGS_KEY,)
        )
        if row is None:
            raise NotFoundError("case settings", SETTINGS_KEY)
        return self._uow.decode(CaseSettings, row[1], row[0])

    def save(self, settings: CaseSettings) -> CaseSettings:
        """Store the settings (version 0: the first save) if the version is current; return them."""
        if not isinstance(settings, CaseSettings):
            raise ValidationError("settings", "expected CaseSettings")
        doc = encode(settings)
        if settings.version == 0:
            if self._stored_version() != 0:
                raise self._stale(0)
            try:
                with self._uow.savepoint():  # a concurrent first save must not end the transaction
                    self._uow.execute(
                        "INSERT INTO gg_case_settings (id, version, doc) VALUES (?, 1, ?)",
                        (SETTINGS_KEY, doc),
                    )
            except ConflictError:
                raise self._stale(0) from None
            return with_version(settings, 1)
        self._uow.write()
        cur = self._uow.execute(
            "UPDATE gg_case_settings SET version = version + 1, doc = ?"
            " WHERE id = ? AND version = ?",
            (doc, SETTINGS_KEY, settings.version),
        )
        if cur.rowcount != 1:
            raise self._stale(settings.version)
        return with_version(settings, settings.version + 1)


# -- scheduling ------------------------------------------------------------------------------


class SqlVenueRepository(_Repository[Venue]):
    """Venues in a SQL store; see :class:`gridgov.ports.VenueRepository`."""

    kind = "venue"
    cls = Venue
    table = "gg_venues"
    key_column = "id"

    SUBTREE_SQL = (
        "SELECT id, version, doc FROM gg_venues"
        " WHERE cell_code >= ? AND cell_code < ? AND id > ?"
        " ORDER BY id LIMIT ?"
    )

    def _key(self, record: Venue) -> str:
        return record.id

    def add(self, venue: Venue) -> Venue:
        """Store a new venue in a stored cell; return it with version 1."""
        v = self._require(venue)
        self._require_cell(v.cell_code)
        if self._exists(v.id):
            raise self._duplicate(v.id)
        try:
            with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
                self._uow.insert_many(
                    "gg_venues", VENUE_COLUMNS, [(v.id, v.cell_code, 1, encode(v))]
                )
        except ConflictError:
            raise self._duplicate(v.id) from None
        return with_version(v, 1)

    def update(self, venue: Venue) -> Venue:
        """Replace a stored venue if its version is current; return it."""
        v = self._require(venue)
        row = self._uow.query_one("SELECT cell_code FROM gg_venues WHERE id = ?", (v.id,))
        if row is None:
            raise NotFoundError(self.kind, v.id)
        if row[0] != v.cell_code:
            self._require_cell(v.cell_code)
        return self._update_row(v, {"cell_code": v.cell_code})

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Venue]:
        """Return the venues of the subtree, by id."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        self._require_cell(cell_code)
        low, high = _range(cell_code)
        rows = self._uow.query(
            self.SUBTREE_SQL, (low, high, "" if start is None else start[0], limit + 1)
        )
        return _page([((i,), self._uow.decode(Venue, d, v)) for i, v, d in rows], limit)


class SqlSeriesRepository(_Repository[ActivitySeries]):
    """Activity series in a SQL store; see :class:`gridgov.ports.SeriesRepository`."""

    kind = "series"
    cls = ActivitySeries
    table = "gg_series"
    key_column = "id"

    # A series qualifies when it starts before the window's end and has not ended by its start;
    # the index on (venue_id, first_start_utc, last_end_utc) answers both without the rows.
    IN_VENUE_SQL = (
        "SELECT id, version, doc FROM gg_series"
        " WHERE venue_id = ? AND first_start_utc < ?"
        " AND (last_end_utc IS NULL OR last_end_utc > ?) AND id > ?"
        " ORDER BY id LIMIT ?"
    )

    def _key(self, record: ActivitySeries) -> str:
        return record.id

    def _require(self, record: object) -> ActivitySeries:
        if not isinstance(record, ActivitySeries):
            raise ValidationError("series", "expected an ActivitySeries")
        return record

    def _check(self, series: object, spaces: dict[str, frozenset[str]]) -> ActivitySeries:
        """Check the series' venue and space; ``spaces`` caches each venue's space ids."""
        s = self._require(series)
        known = spaces.get(s.venue_id)
        if known is None:
            row = self._uow.query_one(
                "SELECT version, doc FROM gg_venues WHERE id = ?", (s.venue_id,)
            )
            if row is None:
                raise NotFoundError("venue", s.venue_id)
            venue = self._uow.decode(Venue, row[1], row[0])
            known = spaces[s.venue_id] = frozenset(space.id for space in venue.spaces)
        if s.space_id not in known:
            raise ValidationError("space_id", "no such space in the venue")
        return s

    @staticmethod
    def _columns(s: ActivitySeries) -> dict[str, object]:
        """Return the indexed columns of ``s`` (all but id, version and doc)."""
        first, last = series_span(s)
        return {
            "venue_id": s.venue_id,
            "space_id": s.space_id,
            "first_start_utc": first,
            "last_end_utc": last,
        }

    def _insert(self, series: Sequence[ActivitySeries]) -> None:
        rows = [(s.id, *self._columns(s).values(), 1, encode(s)) for s in series]
        try:
            self._uow.insert_many("gg_series", SERIES_COLUMNS, rows)
        except ConflictError:
            raise ConflictError("a series id is already stored") from None

    def add(self, series: ActivitySeries) -> ActivitySeries:
        """Store a new series of a stored venue and one of its spaces; return it (version 1)."""
        s = self._check(series, {})
        if self._exists(s.id):
            raise self._duplicate(s.id)
        with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
            self._insert([s])
        return with_version(s, 1)

    def add_many(
        self,
        series: Iterable[ActivitySeries],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new series from a stream, in batches; a failure undoes this call's writes."""
        spaces: dict[str, frozenset[str]] = {}
        with self._uow.savepoint():
            return _add_in_batches(
                series, lambda s: self._check(s, spaces), self._insert, batch_size, progress
            )

    def update(self, series: ActivitySeries) -> ActivitySeries:
        """Replace a stored series if its version is current; return it."""
        s = self._require(series)
        row = self._uow.query_one("SELECT venue_id, space_id FROM gg_series WHERE id = ?", (s.id,))
        if row is None:
            raise NotFoundError(self.kind, s.id)
        if (row[0], row[1]) != (s.venue_id, s.space_id):
            self._check(s, {})
        return self._update_row(s, self._columns(s))

    def in_venue(
        self,
        venue_id: str,
        *,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ActivitySeries]:
        """Return the venue's series that may have occurrences in ``[start, end)``, by id."""
        low, high = check_window(start, end)
        check_limit(limit)
        cursor = decode_cursor(after, 1)
        self._uow.require("venue", "gg_venues", check_text_key("venue_id", venue_id))
        rows = self._uow.query(
            self.IN_VENUE_SQL,
            (venue_id, high, low, "" if cursor is None else cursor[0], limit + 1),
        )
        return _page([((i,), self._uow.decode(ActivitySeries, d, v)) for i, v, d in rows], limit)


class SqlRegistrationRepository(_Repository[Registration]):
    """Registrations in a SQL store; see :class:`gridgov.ports.RegistrationRepository`."""

    kind = "registration"
    cls = Registration
    table = "gg_registrations"
    key_column = "id"

    OCCURRENCE_SQL = (
        "SELECT version, doc FROM gg_registrations"
        " WHERE occurrence_id = ? ORDER BY registered_utc, id"
    )
    RESIDENT_SQL = (
        "SELECT version, doc FROM gg_registrations"
        " WHERE resident_id = ? AND start_utc < ? AND end_utc > ?"
        " ORDER BY start_utc, id"
    )

    def _key(self, record: Registration) -> str:
        return record.id

    def _check_references(self, r: Registration) -> None:
        self._uow.require("resident", "gg_residents", r.resident_id)
        self._uow.require("series", "gg_series", r.series_id)

    @staticmethod
    def _columns(r: Registration) -> dict[str, object]:
        """Return the indexed columns of ``r`` (all but id, version and doc)."""
        return {
            "series_id": r.series_id,
            "occurrence_id": r.occurrence_id,
            "resident_id": r.resident_id,
            "start_utc": instant_key(r.start, "start"),
            "end_utc": instant_key(r.end, "end"),
            "state": r.state.value,
            "registered_utc": instant_key(r.registered_at, "registered_at"),
        }

    def add(self, registration: Registration) -> Registration:
        """Store a new registration of a stored resident for a stored series; return it."""
        r = self._require(registration)
        self._check_references(r)
        if self._exists(r.id):
            raise self._duplicate(r.id)
        row = (r.id, *self._columns(r).values(), 1, encode(r))
        try:
            with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
                self._uow.insert_many("gg_registrations", REGISTRATION_COLUMNS, [row])
        except ConflictError:
            raise self._duplicate(r.id) from None
        return with_version(r, 1)

    def update(self, registration: Registration) -> Registration:
        """Replace a stored registration if its version is current; return it."""
        r = self._require(registration)
        row = self._uow.query_one(
            "SELECT resident_id, series_id FROM gg_registrations WHERE id = ?", (r.id,)
        )
        if row is None:
            raise NotFoundError(self.kind, r.id)
        if (row[0], row[1]) != (r.resident_id, r.series_id):
            self._check_references(r)
        return self._update_row(r, self._columns(r))

    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]:
        """Return every registration of an occurrence, by registered_at then id."""
        check_text_key("occurrence_id", occurrence_id)
        rows = self._uow.query(self.OCCURRENCE_SQL, (occurrence_id,))
        return tuple(self._uow.decode(Registration, d, v) for v, d in rows)

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Registration, ...]:
        """Return the resident's registrations whose occurrence overlaps ``[start, end)``."""
        check_text_key("resident_id", resident_id)
        low, high = check_window(start, end)
        rows = self._uow.query(self.RESIDENT_SQL, (resident_id, high, low))
        return tuple(self._uow.decode(Registration, d, v) for v, d in rows)


class SqlShiftRepository(_Repository[Shift]):
    """Volunteer shifts in a SQL store; see :class:`gridgov.ports.ShiftRepository`."""

    kind = "shift"
    cls = Shift
    table = "gg_shifts"
    key_column = "id"

    VENUE_SQL = (
        "SELECT version, doc FROM gg_shifts"
        " WHERE venue_id = ? AND start_utc < ? AND end_utc > ?"
        " ORDER BY start_utc, id"
    )

    def _key(self, record: Shift) -> str:
        return record.id

    @staticmethod
    def _columns(s: Shift) -> dict[str, object]:
        """Return the indexed columns of ``s`` (all but id, version and doc)."""
        return {
            "venue_id": s.venue_id,
            "start_utc": instant_key(s.start, "start"),
            "end_utc": instant_key(s.end, "end"),
        }

    def add(self, shift: Shift) -> Shift:
        """Store a new shift of a stored venue; return it with version 1."""
        s = self._require(shift)
        self._uow.require("venue", "gg_venues", s.venue_id)
        if self._exists(s.id):
            raise self._duplicate(s.id)
        row = (s.id, *self._columns(s).values(), 1, encode(s))
        try:
            with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
                self._uow.insert_many("gg_shifts", SHIFT_COLUMNS, [row])
        except ConflictError:
            raise self._duplicate(s.id) from None
        return with_version(s, 1)

    def update(self, shift: Shift) -> Shift:
        """Replace a stored shift if its version is current; return it."""
        s = self._require(shift)
        row = self._uow.query_one("SELECT venue_id FROM gg_shifts WHERE id = ?", (s.id,))
        if row is None:
            raise NotFoundError(self.kind, s.id)
        if row[0] != s.venue_id:
            self._uow.require("venue", "gg_venues", s.venue_id)
        return self._update_row(s, self._columns(s))

    def in_venue(
        self, venue_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Shift, ...]:
        """Return the venue's shifts overlapping ``[start, end)``, by start then id."""
        low, high = check_window(start, end)
        self._uow.require("venue", "gg_venues", check_text_key("venue_id", venue_id))
        rows = self._uow.query(self.VENUE_SQL, (venue_id, high, low))
        return tuple(self._uow.decode(Shift, d, v) for v, d in rows)


class SqlSignUpRepository(_Repository[SignUp]):
    """Volunteers' sign-ups in a SQL store; see :class:`gridgov.ports.SignUpRepository`."""

    kind = "sign-up"
    cls = SignUp
    table = "gg_signups"
    key_column = "id"

    SHIFT_SQL = "SELECT version, doc FROM gg_signups WHERE shift_id = ? ORDER BY at_utc, id"
    RESIDENT_SQL = (
        "SELECT version, doc FROM gg_signups"
        " WHERE resident_id = ? AND start_utc < ? AND end_utc > ?"
        " ORDER BY start_utc, id"
    )

    def _key(self, record: SignUp) -> str:
        return record.id

    def _require(self, record: object) -> SignUp:
        if not isinstance(record, SignUp):
            raise ValidationError("signup", "expected a SignUp")
        return record

    @staticmethod
    def _columns(s: SignUp) -> dict[str, object]:
        """Return the indexed columns of ``s`` (all but id, version and doc)."""
        return {
            "shift_id": s.shift_id,
            "resident_id": s.resident_id,
            "start_utc": instant_key(s.start, "start"),
            "end_utc": instant_key(s.end, "end"),
            "state": s.state.value,
            "at_utc": instant_key(s.at, "at"),
        }

    def add(self, signup: SignUp) -> SignUp:
        """Store a new sign-up of a stored resident for a stored shift; return it."""
        s = self._require(signup)
        self._uow.require("shift", "gg_shifts", s.shift_id)
        self._uow.require("resident", "gg_residents", s.resident_id)
        if self._exists(s.id):
            raise self._duplicate(s.id)
        row = (s.id, *self._columns(s).values(), 1, encode(s))
        try:
            with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
                self._uow.insert_many("gg_signups", SIGNUP_COLUMNS, [row])
        except ConflictError:
            raise self._duplicate(s.id) from None
        return with_version(s, 1)

    def update(self, signup: SignUp) -> SignUp:
        """Replace a stored sign-up if its version is current; return it."""
        s = self._require(signup)
        row = self._uow.query_one(
            "SELECT shift_id, resident_id FROM gg_signups WHERE id = ?", (s.id,)
        )
        if row is None:
            raise NotFoundError(self.kind, s.id)
        if row[0] != s.shift_id:
            self._uow.require("shift", "gg_shifts", s.shift_id)
        if row[1] != s.resident_id:
            self._uow.require("resident", "gg_residents", s.resident_id)
        return self._update_row(s, self._columns(s))

    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]:
        """Return every sign-up of a shift, by ``at`` then id."""
        self._uow.require("shift", "gg_shifts", check_text_key("shift_id", shift_id))
        rows = self._uow.query(self.SHIFT_SQL, (shift_id,))
        return tuple(self._uow.decode(SignUp, d, v) for v, d in rows)

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[SignUp, ...]:
        """Return the resident's sign-ups whose shift overlaps ``[start, end)``, by start."""
        check_text_key("resident_id", resident_id)
        low, high = check_window(start, end)
        rows = self._uow.query(self.RESIDENT_SQL, (resident_id, high, low))
        return tuple(self._uow.decode(SignUp, d, v) for v, d in rows)


# -- audit trail -----------------------------------------------------------------------------


def _between_sql(principal: bool, subject: bool, kind: bool) -> str:
    """Return the SQL of ``AuditRepository.between`` with the filters asked for.

    The window's start and the cursor are one lower bound on ``(at_utc, id)``: each of the three
    indexes, after its equality column if any, reads from there in the query's order.
    """
    filters = "".join(
        f"{column} = ? AND "
        for column, wanted in (("principal_id", principal), ("subject", subject), ("kind", kind))
        if wanted
    )
    return (
        "SELECT at_utc, id, version, doc FROM gg_audit"
        f" WHERE {filters}(at_utc, id) > (?, ?) AND at_utc < ?"
        " ORDER BY at_utc, id LIMIT ?"
    )


class SqlAuditRepository:
    """The audit trail in a SQL store; see :class:`gridgov.ports.AuditRepository`."""

    # One statement per combination of filters (principal, subject, kind), so that each uses
    # the index that fits: gg_audit_principal, gg_audit_subject, or gg_audit_at.
    BETWEEN_SQL: ClassVar[dict[tuple[bool, bool, bool], str]] = {
        (p, s, k): _between_sql(p, s, k)
        for p in (False, True)
        for s in (False, True)
        for k in (False, True)
    }

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _duplicate(entry_id: str) -> ConflictError:
        return ConflictError(f"audit entry {entry_id!r} already exists")

    def add(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry; return it with version 1."""
        if not isinstance(entry, AuditEntry):
            raise ValidationError("entry", "expected an AuditEntry")
        e = entry
        row = (
            e.id,
            instant_key(e.at),
            e.principal_id,
            e.kind.value,
            e.subject,
            e.cell_code,
            1,
            encode(e),
        )
        if self._uow.query_one("SELECT 1 FROM gg_audit WHERE id = ?", (e.id,)) is not None:
            raise self._duplicate(e.id)
        try:
            with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
                self._uow.insert_many("gg_audit", AUDIT_COLUMNS, [row])
        except ConflictError:
            raise self._duplicate(e.id) from None
        return with_version(e, 1)

    def between(
        self,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        principal_id: str | None = None,
        subject: str | None = None,
        kind: AuditKind | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[AuditEntry]:
        """Return the entries in ``[since, until)`` by ``at`` then id, optionally filtered."""
        low, high = check_time_range(since, until)
        check_audit_filters(principal_id, subject, kind)
        check_limit(limit)
        start = decode_cursor(after, 2)
        lower = (low, "") if start is None or start < (low, "") else start
        wanted = (principal_id, subject, None if kind is None else kind.value)
        filters = [v for v in wanted if v is not None]
        sql = self.BETWEEN_SQL[(principal_id is not None, subject is not None, kind is not None)]
        rows = self._uow.query(sql, (*filters, *lower, high, limit + 1))
        return _page([((a, i), self._uow.decode(AuditEntry, d, v)) for a, i, v, d in rows], limit)


class _Decoded:
    """Decodes each household of a page once, however many of its residents the page holds."""

    def __init__(self) -> None:
        self._by_id: dict[str, Household] = {}

    def entry(self, household_id: str, doc: str, version: int, resident_id: str) -> ResidentEntry:
        h = self._by_id.get(household_id)
        if h is None:
            h = self._by_id[household_id] = decode(Household, doc, version)
        return ResidentEntry(h.id, h.cell_code, h.member(resident_id))


def table_names() -> tuple[str, ...]:
    """Return the tables the SQL adapters own, children first (for dropping)."""
    return (
        "gg_audit",
        "gg_signups",
        "gg_shifts",
        "gg_registrations",
        "gg_series",
        "gg_venues",
        "gg_case_settings",
        "gg_cases",
        "gg_care_tasks",
        "gg_contacts",
        "gg_resident_tags",
        "gg_residents",
        "gg_households",
        "gg_worker_cells",
        "gg_workers",
        "gg_cells",
        SCHEMA_VERSION_TABLE,
    )
