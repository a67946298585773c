"""The generic SQL repository: every operation a record kind's declaration is enough for.

``get``, ``add``, ``add_many``, ``update`` and ``remove`` of any declared kind: the row and its
index rows in other tables derived from the declaration, references checked against the tables
of the kinds they name, an optimistic ``UPDATE ... WHERE version = ?``, and one savepoint
around every write of several statements, so that a failed one leaves the transaction as it
was. A kind's repository adds only its own queries and rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from gridgov.adapters._repository import Removes, Updates, require_record
from gridgov.adapters._scan import Scan, Scans
from gridgov.adapters.support import StoredRecord as R
from gridgov.adapters.support import (
    check_batch_size,
    check_text_key,
    encode_cursor,
    with_version,
)
from gridgov.errors import ConflictError, GridgovError, NotFoundError, ValidationError
from gridgov.ports import Page, ProgressCallback
from gridgov.records import Missing, RecordKind
from gridgov.records.kinds import KINDS

if TYPE_CHECKING:
    from gridgov.adapters._sql import SqlUnitOfWork

__all__ = [
    "TOP",
    "Row",
    "SqlRecords",
    "SqlRemovableRepository",
    "SqlRepository",
    "add_in_batches",
    "page_of",
    "require",
    "require_cell",
    "scan_sql",
    "statement_of",
    "stored",
    "subtree_range",
]

T = TypeVar("T")
Row = Sequence[Any]
V = TypeVar("V")

# Above every character a code can hold: ``code <= x < code + TOP`` is the subtree of ``code``.
TOP = "\U0010ffff"

# Where each kind a reference can name is stored: its table and key column.
_TARGETS: dict[str, tuple[str, str]] = {
    **{k.name: (k.table.name, k.key_column) for k in KINDS},
    "resident": ("gg_residents", "id"),
}


def stored(uow: SqlUnitOfWork, target: str, key: str) -> bool:
    """Return whether the record of kind ``target`` and ``key`` is stored, as ``uow`` sees it."""
    table, column = _TARGETS[target]
    return uow.query_one(f"SELECT 1 FROM {table} WHERE {column} = ?", (key,)) is not None


def require(uow: SqlUnitOfWork, target: str, name: str, key: str) -> None:
    """Raise ``NotFoundError(target, key)`` unless that record is stored.

    ``key`` is checked first as the argument ``name`` of the query asking.
    """
    if not stored(uow, target, check_text_key(name, key)):
        raise NotFoundError(target, key)


def require_cell(uow: SqlUnitOfWork, code: str) -> None:
    """Raise ``NotFoundError("cell", code)`` unless the cell ``code`` is stored."""
    require(uow, "cell", "cell_code", code)


def subtree_range(prefix: str) -> tuple[str, str]:
    """Return the bounds ``[prefix, prefix + TOP)`` of the codes in a subtree."""
    return prefix, prefix + TOP


def page_of(rows: Sequence[tuple[tuple[str, ...], V]], limit: int) -> Page[V]:
    """Return the first ``limit`` of ``limit + 1`` fetched rows, with a cursor if more remain."""
    more = len(rows) > limit
    kept = rows[:limit]
    return Page(tuple(v for _, v in kept), encode_cursor(*kept[-1][0]) if more else None)


def add_in_batches(
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


def _compare(columns: Sequence[str], operator: str) -> str:
    """Return ``(a, b) > (?, ?)`` for the columns (a bare ``a > ?`` for one)."""
    if len(columns) == 1:
        return f"{columns[0]} {operator} ?"
    return f"({', '.join(columns)}) {operator} ({', '.join('?' * len(columns))})"


def _padded(bound: tuple[str, ...] | None, fill: str, n: int) -> tuple[str, ...] | None:
    """Return a bound on a prefix of the order as one on all ``n`` columns, filled with ``fill``."""
    return None if bound is None else (*bound, *(fill,) * (n - len(bound)))


def scan_sql(table: str, scan: Scan) -> tuple[str, tuple[object, ...]]:
    """Return the statement and parameters of a scan of ``table`` (without the claim clause).

    The index's own condition (a partial index's ``WHERE``) is repeated, so that every planner
    sees at once that the index serves the statement.
    """
    lead = scan.index.parts[0].column
    order = scan.order
    conditions: list[str] = []
    params: list[object] = []
    if scan.group is not None:
        conditions.append(f"{lead} = ?")
        params.append(scan.group)
    if scan.within is not None:
        conditions.append(f"{lead} >= ? AND {lead} < ?")
        params += subtree_range(scan.within)
    if scan.index.where is not None:
        conditions.append(scan.index.where)
    for column, operator, value in scan.filters:
        conditions.append(f"{column} {operator} ?")
        params.append(value)
    # The cursor and the bounds become one row comparison each way, so that the index is
    # sought at the page's first row, and every page of a query runs the same statement.
    n = len(order)
    if scan.descending:
        if scan.low is not None:
            conditions.append(_compare(order[: len(scan.low)], ">="))
            params += scan.low
        upper = min(b for b in (scan.cursor, _padded(scan.high, TOP, n), (TOP,) * n) if b)
        conditions.append(_compare(order, "<"))
        params += upper
    else:
        if scan.limit is not None or scan.low is not None:  # a page, or a bounded read
            # ``> (low, "")`` is ``>= (low,)``: no record's key, the order's last column, is "".
            lower = max(_padded(scan.low, "", n) or (), scan.cursor or (), ("",) * n)
            conditions.append(_compare(order, ">"))
            params += lower
        if scan.high is not None:
            # A bound ending in TOP takes in all of its prefix: ``<=`` on the prefix says so.
            through = len(scan.high) > 1 and scan.high[-1] == TOP
            high = scan.high[:-1] if through else scan.high
            conditions.append(_compare(order[: len(high)], "<=" if through else "<"))
            params += high
    direction = " DESC" if scan.descending else ""
    sql = (
        f"SELECT {', '.join(order)}, version, doc FROM {table}"
        f"{' WHERE ' if conditions else ''}{' AND '.join(conditions)}"
        f" ORDER BY {', '.join(c + direction for c in order)}"
    )
    if scan.limit is not None:
        sql += " LIMIT ?"
    return sql, tuple(params)


class SqlRecords(Scans[R]):
    """The operations of one declared record kind over its table: reads, ``add``, ``add_many``.

    Append-only kinds (contacts, the audit trail) use it as it is; :class:`SqlRepository` adds
    ``update`` and :class:`SqlRemovableRepository` ``remove``, as the declaration allows.
    Subclasses set ``declared`` and may replace ``_check`` (a kind's own rules on top of, or
    instead of, the declared references) and the conflict messages.
    """

    declared: ClassVar[RecordKind[R]]
    duplicate_batch: ClassVar[str] = ""
    child_conflict: ClassVar[str] = ""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    # -- reads -----------------------------------------------------------------------------

    @property
    def _table(self) -> str:
        return self.declared.table.name

    def _find(self, key: str) -> R | None:
        row = self._uow.query_one(
            f"SELECT version, doc FROM {self._table} WHERE {self.declared.key_column} = ?", (key,)
        )
        return None if row is None else self._uow.decode(self.declared.cls, row[1], row[0])

    def get(self, key: str) -> R:
        """Return the record with ``key`` or raise NotFoundError."""
        found = self._find(check_text_key("key", key))
        if found is None:
            raise NotFoundError(self.declared.name, key)
        return found

    def get_many(self, keys: Iterable[str]) -> dict[str, R]:
        """Return the records stored under ``keys`` by key, 500 a query; missing ones left out."""
        wanted = sorted({check_text_key("keys", k) for k in keys})
        found: dict[str, R] = {}
        column = self.declared.key_column
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._uow.query(
                f"SELECT version, doc FROM {self._table}"
                f" WHERE {column} IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update((self.declared.key(r), r) for r in self._decoded(rows))
        return found

    def _exists(self, key: str) -> bool:
        return stored(self._uow, self.declared.name, key)

    def _decoded(self, rows: Iterable[Row]) -> tuple[R, ...]:
        """Decode ``(version, doc)`` rows."""
        cls = self.declared.cls
        return tuple(self._uow.decode(cls, doc, version) for version, doc in rows)

    def _paged(self, sql: str, params: Sequence[object], limit: int, arity: int) -> Page[R]:
        """Run a page query whose rows are ``arity`` sort-key columns, then version and doc."""
        cls, decode = self.declared.cls, self._uow.decode
        rows = self._uow.query(sql, (*params, limit + 1))
        # Only the page's own rows are decoded, and only the last one's sort key kept: the
        # row past the limit says that more follow.
        items = tuple([decode(cls, r[arity + 1], r[arity]) for r in rows[:limit]])
        more = len(rows) > limit
        return Page(items, encode_cursor(*rows[limit - 1][:arity]) if more else None)

    def _claimed(self, sql: str, params: Sequence[object], limit: int, arity: int) -> Page[R]:
        """Run a page query as ``_paged`` does, holding its rows until this unit ends.

        The dialect's ``claim`` clause (``FOR UPDATE SKIP LOCKED``) locks the rows returned and
        skips those another transaction holds, so several sweepers of one queue (due cases,
        overdue care tasks) each take rows no other one holds; a sweeper that dies releases its
        rows with its transaction. Where the dialect has no such clause (SQLite) the write lock,
        taken first, keeps every other writer out.
        """
        uow = self._uow
        uow.write()
        # Exactly ``limit`` rows, not one more to learn whether more remain: a row read is a row
        # held, and one held but not returned would be skipped by every other sweeper.
        rows = uow.query(sql + uow._dialect.claim, (*params, limit))
        cls = self.declared.cls
        items = tuple(uow.decode(cls, r[arity + 1], r[arity]) for r in rows)
        cursor = encode_cursor(*rows[-1][:arity]) if len(rows) == limit else None
        return Page(items, cursor)

    def _require_stored(self, target: str, name: str, key: str) -> None:
        require(self._uow, target, name, key)

    def _run_scan(self, scan: Scan) -> Page[R]:
        sql, params = scan_sql(self._table, scan)
        arity = len(scan.order)
        if scan.claim:
            assert scan.limit is not None, "a claim reads a page"
            return self._claimed(sql, params, scan.limit, arity)
        if scan.limit is None:
            cls, decode = self.declared.cls, self._uow.decode
            rows = self._uow.query(sql, params)
            return Page(tuple([decode(cls, r[arity + 1], r[arity]) for r in rows]), None)
        return self._paged(sql, params, scan.limit, arity)

    # -- checks ----------------------------------------------------------------------------

    def _require(self, record: object) -> R:
        return cast("R", require_record(self.declared, record))

    def _missing(self, target: str, path: str, key: str, missing: Missing) -> GridgovError:
        if missing is Missing.INVALID:
            return ValidationError(path, f"unknown {target}")
        return NotFoundError(target, key)

    def _check(self, record: R, known: dict[tuple[str, str], object]) -> None:
        """Check the declared references (``known`` caches the keys found this call)."""
        for reference in self.declared.references:
            for path, key in reference.keys(record):
                if (reference.target, key) in known:
                    continue
                if not stored(self._uow, reference.target, key):
                    raise self._missing(reference.target, path, key, reference.missing)
                known[reference.target, key] = True

    def _checked(self, record: object, known: dict[tuple[str, str], object]) -> R:
        r = self._require(record)
        self._check(r, known)
        return r

    # -- writes ----------------------------------------------------------------------------

    def _insert(self, records: Sequence[R]) -> None:
        declared, encode = self.declared, self._uow.encode
        rows = [declared.row(r, 1, encode(r)) for r in records]
        try:
            self._uow.insert_many(self._table, declared.table.column_names, rows)
            for child in declared.children:
                self._uow.insert_many(
                    child.table.name,
                    child.table.column_names,
                    [item for r in records for item in child.rows(r, self._uow.id_key)],
                )
        except ConflictError as exc:
            if exc.retryable:  # a busy or deadlocked database, not a duplicate
                raise
            raise ConflictError(
                self.duplicate_batch or f"a {declared.name} id is already stored"
            ) from None

    def add(self, record: R) -> R:
        """Store a new record whose references are stored; return it with version 1."""
        r = self._checked(record, {})
        key = self.declared.key(r)
        if self._exists(key):
            raise self._duplicate(key)
        self._uow.write()  # a busy database is its own conflict, not a duplicate
        try:
            with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
                self._insert([r])
        except ConflictError as exc:
            if exc.retryable or (self.declared.children and self.duplicate_batch):
                raise
            raise self._duplicate(key) from None
        return with_version(r, 1)

    def add_many(
        self,
        records: Iterable[R],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new records from a stream, in batches; a failure undoes this call's writes."""
        known: dict[tuple[str, str], object] = {}

        def insert(batch: Sequence[R]) -> None:
            self._look_up(batch, known)
            for record in batch:
                self._check(record, known)
            self._insert(batch)

        with self._uow.savepoint():
            return add_in_batches(records, self._require, insert, batch_size, progress)

    def _look_up(self, batch: Sequence[R], known: dict[tuple[str, str], object]) -> None:
        """Find a batch's referenced records with one query per target and 500 keys.

        One round trip per distinct reference (a household's cell, say) would dominate a bulk
        load on a server; the keys found go into ``known``, the missing ones are left for
        ``_check`` to report with the record that names them.
        """
        for reference in self.declared.references:
            table, column = _TARGETS[reference.target]
            wanted = sorted(
                {
                    key
                    for record in batch
                    for _, key in reference.keys(record)
                    if (reference.target, key) not in known
                }
            )
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows = self._uow.query(
                    f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk
                )
                known.update(((reference.target, row[0]), True) for row in rows)

    def _stored(self, key: str, columns: Sequence[str]) -> Row:
        """Return the stored values of ``columns`` for ``key``, or raise NotFoundError."""
        row: Row | None = self._uow.query_one(
            f"SELECT {', '.join(columns)} FROM {self._table} WHERE {self.declared.key_column} = ?",
            (key,),
        )
        if row is None:
            raise NotFoundError(self.declared.name, key)
        return row

    def _recheck(self, record: R) -> None:
        """Check the references of an update if the columns holding them changed."""
        columns = tuple(dict.fromkeys(c for ref in self.declared.references for c in ref.columns))
        key = self.declared.key(record)
        if not columns:
            self._stored(key, (self.declared.key_column,))
            self._check(record, {})
            return
        values = self.declared.values(record)
        if tuple(self._stored(key, columns)) != tuple(values[c] for c in columns):
            self._check(record, {})

    def _update(self, record: R) -> R:
        """Replace a stored record if its version is current; return it."""
        r = self._require(record)
        if self.declared.references:
            self._recheck(r)
        if not self.declared.children:
            return self._update_row(r)
        key = self._uow.id_key
        with self._uow.savepoint():
            stored = self._update_row(r)
            self._delete_children(r)
            try:
                for child in self.declared.children:
                    self._uow.insert_many(
                        child.table.name, child.table.column_names, child.rows(r, key)
                    )
            except ConflictError as exc:
                if exc.retryable:
                    raise
                raise ConflictError(
                    self.child_conflict or "an index row is already stored"
                ) from None
        return stored

    def _remove(self, record: R) -> None:
        """Delete a stored record if its version is current."""
        # A removal is of a key at a version: a record read masked names it as well as any.
        r = cast("R", require_record(self.declared, record, storing=False))
        if not self.declared.children:
            self._delete_row(r)
            return
        with self._uow.savepoint():  # a stale version undoes the index deletes too
            self._delete_children(r)
            self._delete_row(r)

    def _delete_children(self, record: R) -> None:
        key = self.declared.key(record)
        for child in reversed(self.declared.children):
            self._uow.execute(
                f"DELETE FROM {child.table.name} WHERE {child.parent_column} = ?", (key,)
            )

    def _duplicate(self, key: str) -> ConflictError:
        return ConflictError.duplicate(self.declared.name, key)

    def _stale(self, key: str, version: int) -> GridgovError:
        row = self._uow.query_one(
            f"SELECT version FROM {self._table} WHERE {self.declared.key_column} = ?", (key,)
        )
        if row is None:
            return NotFoundError(self.declared.name, key)
        return ConflictError(
            f"{self.declared.name} {key!r} is at version {row[0]}, the change was made from "
            f"version {version}",
            retryable=True,
        )

    def _update_row(self, record: R) -> R:
        declared = self.declared
        key = declared.key(record)
        version = record.version
        columns: dict[str, object] = declared.values(record)
        del columns[declared.key_column]
        self._uow.write()
        sets = "".join(f", {name} = ?" for name in columns)
        cur = self._uow.execute(
            f"UPDATE {self._table} SET version = version + 1, doc = ?{sets}"
            f" WHERE {declared.key_column} = ? AND version = ?",
            (self._uow.encode(record), *columns.values(), key, version),
        )
        if cur.rowcount != 1:
            raise self._stale(key, version)
        return with_version(record, version + 1)

    def _delete_row(self, record: R) -> None:
        key = self.declared.key(record)
        version = record.version
        self._uow.write()
        cur = self._uow.execute(
            f"DELETE FROM {self._table} WHERE {self.declared.key_column} = ? AND version = ?",
            (key, version),
        )
        if cur.rowcount != 1:
            raise self._stale(key, version)


class SqlRepository(Updates, SqlRecords[R]):
    """A kind whose records change: ``update`` with an optimistic version."""


class SqlRemovableRepository(Removes, SqlRepository[R]):
    """A kind whose records may also be deleted."""


class _Recorder:
    """A unit of work that keeps the statements asked of it: every key is stored, no row found."""

    claim = ""

    def __init__(self) -> None:
        self._dialect = self
        self.statements: list[tuple[str, tuple[object, ...]]] = []

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self.statements.append((sql, tuple(params)))
        return []

    def query_one(self, sql: str, params: Sequence[object] = ()) -> Row:
        return (1,)

    def write(self) -> None:
        return None

    def decode(self, cls: type[T], doc: object, version: int) -> T:
        raise AssertionError("no row is found")  # pragma: no cover


S = TypeVar("S", bound=SqlRecords[Any])


def statement_of(
    repository: type[S], query: Callable[[S], object]
) -> tuple[str, tuple[object, ...]]:
    """Return the statement (in ``?`` placeholders) and parameters that a port query runs.

    No database is needed: a dialect's author runs the statement under ``EXPLAIN`` to see
    which index serves it (``statement_of(SqlCaseRepository, lambda r: r.due(at_or_before=t))``).
    """
    recorder = _Recorder()
    query(repository(cast("SqlUnitOfWork", recorder)))
    return recorder.statements[-1]
