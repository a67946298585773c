"""The generic memory repository: every operation a record kind's declaration is enough for.

``get``, ``add``, ``add_many``, ``update`` and ``remove`` of any declared kind, staged in the unit
of work and applied at its commit: the optimistic version, the duplicate and stale-version
errors, the declared references (checked when staged and again at commit against what other
units committed meanwhile), and reads of the declared indexes merged with the unit's own staged
records. A kind's repository adds only its own queries and rules.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

import attrs

from gridgov.adapters._memory_index import Entry, MemoryIndex, MemoryTable
from gridgov.adapters._repository import Removes, Updates, require_record
from gridgov.adapters._scan import Filter, Scan, Scans
from gridgov.adapters.support import StoredRecord as R
from gridgov.adapters.support import (
    check_batch_size,
    check_limit,
    check_text_key,
    decode_cursor,
    encode_cursor,
    with_version,
)
from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.ports import Page, ProgressCallback
from gridgov.records import Missing, RecordKind

if TYPE_CHECKING:
    from gridgov.adapters.memory import MemoryUnitOfWork

__all__ = [
    "MemoryRecords",
    "MemoryRemovableRepository",
    "MemoryRepository",
    "Staging",
    "page",
    "repository_for",
]

T = TypeVar("T")

# Where each kind a reference can name is stored: its kind, and the unique index of a child
# table holding it (a resident is a row of their household).
_CHILD_TARGETS: dict[str, tuple[str, str]] = {"resident": ("household", "gg_residents_pkey")}


class Staging(Generic[R]):
    """One kind's staged writes: new values (``None`` for removal) and the versions read.

    The staged records are noted by group in each equality index, so that the unit's own
    reads of a group (a resident's contacts, a venue's shifts) find them without a scan.
    """

    def __init__(self, table: MemoryTable) -> None:
        self.table = table
        self.kind = table.kind.name
        self.committed: Callable[[str], R | None] = table.records.get
        self.values: dict[str, R | None] = {}
        self.base: dict[str, int] = {}
        # Staged keys by group (a resident's contacts, a venue's shifts), per equality index.
        self._noted = tuple(
            i
            for i in table.indexes.values()
            if i.grouped and not i.subtree and (not i.sorted or i.table == table.kind.table.name)
        )
        # Per index, by group: a key, or a set of keys if several (most hold one record).
        self._notes: dict[str, dict[Any, str | set[str]]] = {i.name: {} for i in self._noted}
        # Whether the unit lost a race for one of its locks (set by the unit of work).
        self.lost_race: Callable[[], bool] = lambda: False

    def _stage(self, key: str, record: R | None) -> None:
        self.values[key] = record
        if record is None:
            return
        for index in self._noted:
            notes = self._notes[index.name]
            for group in index.groups_of(record):
                found = notes.get(group)
                if found is None:
                    notes[group] = key
                elif isinstance(found, str):
                    if found != key:
                        notes[group] = {found, key}
                else:
                    found.add(key)

    def noted(self, index: MemoryIndex) -> dict[Any, str | set[str]]:
        """Return the keys of the staged records by group of an equality ``index``."""
        return self._notes[index.name]

    def current(self, key: str) -> R | None:
        if key in self.values:
            return self.values[key]
        return self.committed(key)

    def get(self, key: str) -> R:
        found = self.current(check_text_key("key", key))
        if found is None:
            raise NotFoundError(self.kind, key)
        return found

    def staged(self) -> Iterator[R]:
        """Yield the staged records (not the removals)."""
        return (r for r in self.values.values() if r is not None)

    def in_group(self, index: MemoryIndex, group: Any) -> Iterator[R]:
        """Yield the staged records of ``group`` in ``index``."""
        found = self._notes[index.name].get(group, ())
        for key in (found,) if isinstance(found, str) else found:
            record = self.values.get(key)
            if record is not None and group in index.groups_of(record):
                yield record

    def holding(self, index: MemoryIndex, group: Any) -> R | None:
        """Return the record holding ``group`` in an unsorted ``index``, as the unit sees it."""
        if group in self._notes[index.name]:
            for record in self.in_group(index, group):
                return record
        found = index.keys(group)
        for key in (found,) if isinstance(found, str) else found or ():
            if key not in self.values:
                return self.committed(key)
        return None

    def _remember_base(self, key: str) -> None:
        if key not in self.base:
            stored = self.committed(key)
            self.base[key] = 0 if stored is None else stored.version

    def stage_add(self, key: str, record: R) -> R:
        if self.current(key) is not None:
            if self.lost_race():
                # Another unit that held one of this unit's locks committed the key after this
                # one read: this unit lost the race (its commit would fail), so a retry helps.
                raise ConflictError(
                    f"{self.kind} {key!r} was stored by another unit of work meanwhile",
                    retryable=True,
                )
            raise ConflictError.duplicate(self.kind, key)
        self._remember_base(key)
        stored = with_version(record, 1)
        self._stage(key, stored)
        return stored

    def check_current(self, key: str, record: R) -> R:
        current = self.current(key)
        if current is None:
            raise NotFoundError(self.kind, key)
        if current.version != record.version:
            raise ConflictError(
                f"{self.kind} {key!r} is at version {current.version}, "
                f"the update was made from version {record.version}",
                retryable=True,
            )
        return current

    def stage_update(self, key: str, record: R) -> R:
        current = self.check_current(key, record)
        self._remember_base(key)
        stored = with_version(record, current.version + 1)
        self._stage(key, stored)
        return stored

    def stage_remove(self, key: str, record: R) -> None:
        self.check_current(key, record)
        self._remember_base(key)
        self._stage(key, None)

    def unstage(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.values.pop(key, None)
            self.base.pop(key, None)

    def conflicts(self) -> Iterator[str]:
        for key, base in self.base.items():
            stored = self.committed(key)
            if (0 if stored is None else stored.version) != base:
                yield f"{self.kind} {key!r} was changed by another unit of work"

    def commit(self) -> None:
        """Put the staged records into the committed table (under the store's lock)."""
        self.table.put_many(self.values)

    def clear(self) -> None:
        self.values.clear()
        self.base.clear()
        for notes in self._notes.values():
            notes.clear()


# -- reads of the declared indexes -----------------------------------------------------------


def _first(row: tuple[Entry, object]) -> Entry:
    return row[0]


def _bare(bound: Entry | None) -> Any:
    """Return the one value of a bound on an index of bare keys."""
    if bound is None:
        return None
    assert len(bound) == 1, "an index of bare keys is read with bounds of one value"
    return bound[0]


def _cell_rows(
    index: MemoryIndex, code: str, keys: list[Any], records: dict[str, Any], staged: Any
) -> list[tuple[Entry, Any]]:
    """Return ``((code, *entry), record)`` of a cell's entries, leaving out the staged keys."""
    # Whole cells at a time keep the per-row work in a comprehension.
    if index.single:
        return [((code, k), records[k]) for k in keys if k not in staged]
    at = index.key_at
    return [((code, *e), records[e[at]]) for e in keys if e[at] not in staged]


def _staged_cell_rows(
    index: MemoryIndex, records: Iterable[Any], within: str, after: Entry | None
) -> list[tuple[Entry, Any]]:
    """Return ``((cell, *entry), record)`` of staged records in the subtree, after ``after``."""
    out: list[tuple[Entry, Any]] = []
    for record in records:
        for g, entry in index.entries(record):
            row = (g, *entry)
            if g.startswith(within) and (after is None or row > after):
                out.append((row, record))
    return out


def page(rows: Iterable[tuple[Entry, T]], limit: int, arity: int | None = None) -> Page[T]:
    """Return the first ``limit`` rows; the cursor is the sort key's first ``arity`` parts."""
    kept = list(itertools.islice(rows, limit + 1))
    more = len(kept) > limit
    del kept[limit:]
    cursor = encode_cursor(*kept[-1][0][:arity]) if more and kept else None
    return Page(tuple(map(operator.itemgetter(1), kept)), cursor)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "=": operator.eq,
}


def _passes(kind: RecordKind[Any], record: object, filters: tuple[Filter, ...]) -> bool:
    """Return whether a record's declared columns meet a scan's filters."""
    for column, compare, value in filters:
        got = kind.table.column(column).get(record)  # type: ignore[misc]
        if got is None or not _COMPARE[compare](got, value):
            return False
    return True


class MemoryRecords(Scans[R]):
    """The operations of one declared record kind: reads, ``add`` and ``add_many``.

    Append-only kinds (contacts, the audit trail) use it as it is; :class:`MemoryRepository`
    adds ``update`` and :class:`MemoryRemovableRepository` ``remove``, as the declaration allows.
    Subclasses set ``declared`` and may replace ``_check`` (a kind's own rules on top of, or
    instead of, the declared references) and ``problems`` (its commit-time re-checks).
    """

    declared: ClassVar[RecordKind[Any]]
    removed: ClassVar[str] = "its {target} was removed"
    """The commit-time problem of a record whose referenced record another unit removed."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging: Staging[R] = uow._staged[self.declared.name]
        self._table = self._staging.table

    def get(self, key: str) -> R:
        """Return the record with ``key`` or raise NotFoundError."""
        return self._staging.get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, R]:
        """Return the records stored under ``keys`` by key; keys not stored are left out."""
        wanted = [check_text_key("keys", k) for k in dict.fromkeys(keys)]
        with self._uow._store._lock:
            found = {k: self._staging.current(k) for k in wanted}
        return {k: r for k, r in found.items() if r is not None}

    # -- checks ----------------------------------------------------------------------------

    def _require(self, record: object) -> R:
        return cast("R", require_record(self.declared, record))

    def _check(self, record: R, known: set[tuple[str, str]] | None = None) -> None:
        """Check the declared references (``known`` caches the keys found this call)."""
        for reference in self.declared.references:
            target = reference.target
            for path, key in reference.keys(record):
                if known is not None and (target, key) in known:
                    continue
                if self._uow._holder(target, check_text_key(path, key)) is None:
                    if reference.missing is Missing.INVALID:
                        raise ValidationError(path, f"unknown {target}")
                    raise NotFoundError(target, key)
                if known is not None:
                    known.add((target, key))

    def _changed(self, stored: R, record: R) -> bool:
        """Return whether the columns holding the references differ (always, if none declared)."""
        columns = [c for ref in self.declared.references for c in ref.columns]
        if not columns:
            return True
        table = self.declared.table
        return any(
            get(stored) != get(record)
            for get in (table.column(c).get for c in dict.fromkeys(columns))
            if get is not None
        )

    # -- writes ----------------------------------------------------------------------------

    def _stage_add(self, record: object, known: set[tuple[str, str]] | None = None) -> R:
        r = self._require(record)
        self._check(r, known)
        return self._staging.stage_add(self.declared.key(r), r)

    def add(self, record: R) -> R:
        """Store a new record whose references are stored; return it with version 1."""
        with self._uow._store._lock:
            return self._stage_add(record)

    def add_many(
        self,
        records: Iterable[R],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stage new records from a stream; a failure unstages this call's records."""
        check_batch_size(batch_size)
        added: list[str] = []
        known: set[tuple[str, str]] = set()  # a stream mostly refers to a few records
        key = self.declared.key
        try:
            with self._uow._store._lock:
                for record in records:
                    added.append(key(self._stage_add(record, known)))
                    if progress is not None and len(added) % batch_size == 0:
                        progress(len(added))
        except BaseException:
            self._staging.unstage(added)
            raise
        if progress is not None and len(added) % batch_size:
            progress(len(added))
        return len(added)

    def _update(self, record: R) -> R:
        r = self._require(record)
        key = self.declared.key(r)
        with self._uow._store._lock:
            if self.declared.references:
                if any(ref.columns for ref in self.declared.references):
                    if self._changed(self._staging.check_current(key, r), r):
                        self._check(r)
                else:
                    self._check(r)
            return self._staging.stage_update(key, r)

    def _remove(self, record: R) -> None:
        # A removal is of a key at a version: a record read masked names it as well as any.
        r = cast("R", require_record(self.declared, record, storing=False))
        with self._uow._store._lock:
            self._staging.stage_remove(self.declared.key(r), r)

    # -- commit ----------------------------------------------------------------------------

    def problems(self) -> Iterator[str]:
        """Yield what others committed since staging broke: a referenced record removed."""
        committed = self._staging.committed
        for key, record in self._staging.values.items():
            if record is None:
                continue
            stored = committed(key)
            if stored is not None and not self._changed(stored, record):
                continue
            for reference in self.declared.references:
                target = reference.target
                if any(self._uow._holder(target, k) is None for _, k in reference.keys(record)):
                    yield f"{self.declared.name} {key!r}: {self.removed.format(target=target)}"

    # -- reads -----------------------------------------------------------------------------

    def _require_stored(self, target: str, name: str, key: str) -> None:
        with self._uow._store._lock:
            self._uow._existing(target, name, key)

    def _run_scan(self, scan: Scan) -> Page[R]:
        if scan.claim:
            assert scan.limit is not None, "a claim reads a page"
            values = self.declared.values

            def read(after: str | None) -> Page[R]:
                start = decode_cursor(after, len(scan.order))
                return self._run_scan(attrs.evolve(scan, claim=False, cursor=start))

            def cursor_of(record: R) -> str:
                found = values(record)
                return encode_cursor(*(str(found[c]) for c in scan.order))

            after = None if scan.cursor is None else encode_cursor(*scan.cursor)
            return self._claim(read, cursor_of, limit=scan.limit, after=after)
        with self._uow._store._lock:
            if scan.by_cell:
                assert scan.within is not None
                assert scan.limit is not None
                rows: Iterable[tuple[Entry, R]] = self._by_cell(
                    scan.index.name, scan.within, scan.cursor, scan.limit
                )
            else:
                low, high, cursor = scan.low, scan.high, scan.cursor
                if scan.descending:  # read down from the cursor
                    if cursor is not None:
                        high = cursor if high is None else min(high, cursor)
                    cursor = None
                rows = self._read(
                    scan.index.name,
                    scan.group,
                    within=scan.within,
                    low=low,
                    after=cursor,
                    high=high,
                    reverse=scan.descending,
                )
            if scan.filters:
                rows = (r for r in rows if _passes(self.declared, r[1], scan.filters))
            if scan.limit is None:
                return Page(tuple(r for _, r in rows), None)
            return page(rows, scan.limit)

    def _claim(
        self,
        read: Callable[[str | None], Page[R]],
        cursor: Callable[[R], str],
        *,
        limit: int,
        after: str | None,
    ) -> Page[R]:
        """Return a page of a query's records that no other live unit holds, held by this one.

        The memory store's ``FOR UPDATE SKIP LOCKED``: a claim per ``(kind, key)``, released
        when the unit ends (commit or rollback), so several sweepers of one queue (due cases,
        overdue care tasks) each take records no other one holds.

        Args:
            read: Returns the query's page after a cursor.
            cursor: Returns the cursor of a record of the query (its sort key).
            limit: The most records to claim.
            after: The cursor to read after.
        """
        check_limit(limit)
        uow = self._uow
        claims, name, key_of = uow._store._claims, self.declared.name, self.declared.key
        items: list[R] = []
        with uow._store._lock:
            while True:
                found = read(after)
                for record in found.items:
                    claim = (name, key_of(record))
                    if claims.setdefault(claim, uow) is uow:
                        uow._claimed.add(claim)
                        items.append(record)
                        if len(items) == limit:
                            return Page(tuple(items), cursor(record))
                if found.next_cursor is None:
                    return Page(tuple(items), None)
                after = found.next_cursor

    def _read(
        self,
        index_name: str,
        group: Any = None,
        *,
        within: str | None = None,
        low: Entry | None = None,
        after: Entry | None = None,
        high: Entry | None = None,
        reverse: bool = False,
        keep: Callable[[Entry], bool] | None = None,
    ) -> Iterator[tuple[Entry, R]]:
        """Yield ``(entry, record)`` of an index in order, committed and staged merged.

        Args:
            index_name: The declared index.
            group: The value of its leading equality column, if it has one.
            within: For an index leading with a cell code: the subtree read, merged across its
                cells in the order of the other columns.
            low: The first entry (inclusive).
            after: An entry the read starts after (exclusive): a page's cursor.
            high: The end (exclusive).
            reverse: Last first, from ``high`` down to ``low``.
            keep: A test of committed entries before their records are read.
        """
        index = self._table.index(index_name)
        records, staged_ids = self._table.records, self._staging.values
        at = index.key_at
        groups = [group] if within is None else list(index.cells(within))
        # An index of bare keys is read with bare bounds, its entries wrapped as read.
        bounds = [_bare(b) for b in (low, after, high)] if index.single else [low, after, high]
        spans: list[Iterator[Entry]] = []
        for g in groups:
            found = index.groups.get(g)
            if found:
                if reverse:
                    spans.append(found.reversed(bounds[2], low=bounds[0]))
                else:
                    spans.append(found.irange(bounds[2], after=bounds[1], low=bounds[0]))
        merged: Iterator[Any] = (
            spans[0] if len(spans) == 1 else heapq.merge(*spans, reverse=reverse)
        )
        committed: Iterator[tuple[Entry, R]]
        if index.single:
            committed = (
                ((k,), records[k])
                for k in merged
                if k not in staged_ids and (keep is None or keep((k,)))
            )
        else:
            committed = (
                (e, records[e[at]])
                for e in merged
                if e[at] not in staged_ids and (keep is None or keep(e))
            )
        mine = self._staged_entries(index, group, within, low, after, high, keep)
        if not mine:
            return committed
        mine.sort(key=_first, reverse=reverse)
        return heapq.merge(committed, mine, key=_first, reverse=reverse)

    def _by_key(self, prefix: str = "", after: str | None = None) -> Iterator[tuple[Entry, R]]:
        """Yield ``((key,), record)`` of the keys that start with ``prefix``, after ``after``."""
        keys = self._table.ordered_keys()
        if after is None or after < prefix:
            start = bisect.bisect_left(keys, prefix)
        else:
            start = bisect.bisect_right(keys, after)
        records, staged = self._table.records, self._staging.values
        committed = (
            ((k,), records[k])
            for k in itertools.takewhile(
                lambda k: k.startswith(prefix), itertools.islice(keys, start, None)
            )
            if k not in staged
        )
        mine = sorted(
            (
                ((k,), r)
                for k, r in staged.items()
                if r is not None and k.startswith(prefix) and (after is None or k > after)
            ),
            key=_first,
        )
        return heapq.merge(committed, mine, key=_first) if mine else committed

    def _by_cell(
        self, index_name: str, within: str, after: Entry | None, limit: int
    ) -> Iterable[tuple[Entry, R]]:
        """Return ``((cell, *entry), record)`` of a subtree index by cell code, then entry.

        At least the first ``limit + 1`` rows come, in order (a page and the row that says
        more follow).
        """
        index = self._table.index(index_name)
        records, staged = self._table.records, self._staging.values
        first = "" if after is None else after[0]
        committed: list[tuple[Entry, R]] = []
        for code in index.cells(within, first):
            start: Any = None
            if after and after[0] == code:
                start = _bare(after[1:]) if index.single else after[1:]
            committed += _cell_rows(index, code, index.groups[code].keys(start), records, staged)
            if len(committed) > limit:
                break
        mine = _staged_cell_rows(index, self._staging.staged(), within, after)
        if not mine:
            return committed
        mine.sort(key=_first)
        return heapq.merge(committed, mine, key=_first)

    def _staged_entries(
        self,
        index: MemoryIndex,
        group: Any,
        within: str | None,
        low: Entry | None,
        after: Entry | None,
        high: Entry | None,
        keep: Callable[[Entry], bool] | None,
    ) -> list[tuple[Entry, R]]:
        """Return the entries of the unit's staged records in ``index`` within the bounds."""
        staging = self._staging
        if within is None and group is not None and index in staging._noted:
            candidates: Iterable[R] = staging.in_group(index, group)
        else:
            candidates = staging.staged()
        out: list[tuple[Entry, R]] = []
        for record in candidates:
            for g, e in index.entries(record):
                if (
                    (g.startswith(within) if within is not None else g == group)
                    and (low is None or e >= low)
                    and (after is None or e > after)
                    and (high is None or e < high)
                    and (keep is None or keep(e))
                ):
                    out.append((e, record))
        return out


class MemoryRepository(Updates, MemoryRecords[R]):
    """A kind whose records change: ``update`` with an optimistic version."""


class MemoryRemovableRepository(Removes, MemoryRepository[R]):
    """A kind whose records may also be deleted."""


def repository_for(kind: RecordKind[Any]) -> type[MemoryRecords[Any]]:
    """Return a generic repository class for a kind with no queries of its own."""
    base: type[MemoryRecords[Any]] = (
        MemoryRecords
        if kind.append_only
        else MemoryRemovableRepository
        if kind.removable
        else MemoryRepository
    )
    return type(f"Memory{kind.cls.__name__}Repository", (base,), {"declared": kind})


def child_target(target: str) -> tuple[str, str] | None:
    """Return ``(kind, unique index)`` of a reference target stored as a child row, if it is."""
    return _CHILD_TARGETS.get(target)
