"""The memory engine's tables and indexes, derived from the record-kind declarations.

Every declared :class:`~gridgov.records.Index` of a kind's table and of its child tables becomes
a :class:`MemoryIndex`: its leading equality or subtree column groups the rows, and each group
keeps the remaining columns (plus the record's key) as sorted tuples, so that a query reads a
group's span by bisection. A :class:`MemoryTable` holds a kind's committed records by key and
keeps all its indexes as records are put into it or taken out.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gridgov.records import Child, Index, Part, RecordKind, Role, Table

if TYPE_CHECKING:
    from gridgov.identity import IdKey

__all__ = [
    "TOP",
    "Entry",
    "MemoryIndex",
    "MemoryTable",
    "_SortedChunks",
    "_SortedKeys",
]

TOP = "\U0010ffff"
"""Above every character of a code or an id: ``(value, TOP)`` ends the entries of ``value``."""

Entry = tuple[Any, ...]
Row = Sequence[Any]


class _SortedKeys:
    """A set of strings with ordered iteration; sorts lazily after changes."""

    __slots__ = ("_set", "_sorted")

    def __init__(self) -> None:
        self._set: set[str] = set()
        self._sorted: list[str] | None = []

    def add(self, key: str) -> None:
        if key not in self._set:
            self._set.add(key)
            self._sorted = None

    def discard(self, key: str) -> None:
        if key in self._set:
            self._set.discard(key)
            self._sorted = None

    def __bool__(self) -> bool:
        return bool(self._set)

    def ordered(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self._set)
        return self._sorted

    def from_(self, start: str) -> Iterator[str]:
        keys = self.ordered()
        return itertools.islice(keys, bisect.bisect_left(keys, start), None)


class _SortedChunks:
    """A set kept sorted in chunks: a change costs a bisection and a move within one chunk.

    For indexes read right after every small commit (the escalation sweep's queue, the audit
    trail): reading ``k`` keys from a bound costs ``O(log n + k)``. Keys added in bulk (a load of
    many records in one commit) wait in a buffer and are sorted in at once by the next read.
    """

    __slots__ = ("_chunks", "_maxes", "_pending")

    _CHUNK = 512  # a chunk splits in two when it grows past twice this

    def __init__(self) -> None:
        self._chunks: list[list[Any]] = []
        self._maxes: list[Any] = []  # the last key of each chunk
        self._pending: list[Any] = []  # added, not yet sorted in

    def __len__(self) -> int:
        self._settle()
        return sum(map(len, self._chunks))

    def __bool__(self) -> bool:
        return bool(self._pending) or bool(self._maxes)

    def add(self, key: Any) -> None:
        self._pending.append(key)

    def _settle(self) -> None:
        pending = self._pending
        if not pending:
            return
        if len(pending) > 64:  # a bulk load: one sort, then new chunks
            pending.extend(itertools.chain.from_iterable(self._chunks))
            pending.sort()
            keys = [key for key, _ in itertools.groupby(pending)]  # a set: each key once
            self._pending = []
            size = self._CHUNK
            self._chunks = [keys[i : i + size] for i in range(0, len(keys), size)]
            self._maxes = [c[-1] for c in self._chunks]
            return
        self._pending = []
        for key in pending:
            self._insert(key)

    def _insert(self, key: Any) -> None:
        maxes = self._maxes
        if not maxes:
            self._chunks.append([key])
            maxes.append(key)
            return
        i = bisect.bisect_left(maxes, key)
        if i == len(maxes):  # beyond every key: append to the last chunk
            i -= 1
            chunk = self._chunks[i]
            chunk.append(key)
            maxes[i] = key
        else:
            chunk = self._chunks[i]
            j = bisect.bisect_left(chunk, key)
            if chunk[j] == key:  # chunk[j] exists: the chunk's last key is >= key
                return
            chunk.insert(j, key)
        if len(chunk) > 2 * self._CHUNK:
            tail = chunk[self._CHUNK :]
            del chunk[self._CHUNK :]
            self._chunks.insert(i + 1, tail)
            maxes.insert(i, chunk[-1])

    def discard(self, key: Any) -> None:
        self._settle()
        maxes = self._maxes
        i = bisect.bisect_left(maxes, key)
        if i == len(maxes):
            return
        chunk = self._chunks[i]
        j = bisect.bisect_left(chunk, key)
        if chunk[j] != key:
            return
        del chunk[j]
        if not chunk:
            del self._chunks[i]
            del maxes[i]
        elif j == len(chunk):
            maxes[i] = chunk[-1]

    def irange(self, high: Any = None, *, after: Any = None, low: Any = None) -> Iterator[Any]:
        """Yield the keys in ``[low, high)`` above ``after`` (every bound optional), in order."""
        self._settle()
        maxes = self._maxes
        i = 0
        if after is not None:
            i = bisect.bisect_right(maxes, after)
        if low is not None:
            i = max(i, bisect.bisect_left(maxes, low))
        for n in range(i, len(maxes)):
            chunk = self._chunks[n]
            j = 0
            if n == i:
                if after is not None:
                    j = bisect.bisect_right(chunk, after)
                if low is not None:
                    j = max(j, bisect.bisect_left(chunk, low))
            k = len(chunk) if high is None else bisect.bisect_left(chunk, high)
            yield from itertools.islice(chunk, j, k)
            if k < len(chunk):
                return

    def keys(self, after: Any = None) -> list[Any]:
        """Return the keys above ``after`` (every key if ``None``), in order, as a list."""
        self._settle()
        chunks, maxes = self._chunks, self._maxes
        i = 0 if after is None else bisect.bisect_right(maxes, after)
        if i == len(maxes):
            return []
        j = 0 if after is None else bisect.bisect_right(chunks[i], after)
        if i == len(maxes) - 1:
            return chunks[i][j:]
        return [*chunks[i][j:], *itertools.chain.from_iterable(chunks[i + 1 :])]

    def reversed(self, high: Any = None, *, low: Any = None) -> Iterator[Any]:
        """Yield the keys in ``[low, high)`` (both optional), last first."""
        self._settle()
        maxes = self._maxes
        n = len(maxes) - 1 if high is None else min(bisect.bisect_left(maxes, high), len(maxes) - 1)
        for m in range(n, -1, -1):
            chunk = self._chunks[m]
            k = len(chunk) if high is None else bisect.bisect_left(chunk, high)
            j = 0 if low is None else bisect.bisect_left(chunk, low)
            yield from reversed(chunk[j:k])
            if j > 0:
                return


# -- conditions of partial indexes -------------------------------------------------------------

_EQUALS = re.compile(r"^(\w+) = '([^']*)'$")
_NOT_NULL = re.compile(r"^(\w+) IS NOT NULL$")
_COLUMN = re.compile(r"^(\w+)$")
_WHERE_COLUMN = re.compile(r"^(\w+)")


def _condition(where: str | None, position: Callable[[str], int]) -> Callable[[Row], bool] | None:
    """Return a test on a row for a partial index's portable SQL condition.

    The memory engine understands ``column = 'literal'``, ``column IS NOT NULL`` and a boolean
    ``column``; a declaration with another condition fails here, when the engine is built.
    """
    if where is None:
        return None
    if m := _EQUALS.match(where):
        p, literal = position(m[1]), m[2]
        return lambda row: row[p] == literal
    if m := _NOT_NULL.match(where):
        p = position(m[1])
        return lambda row: row[p] is not None
    if m := _COLUMN.match(where):
        p = position(m[1])
        return lambda row: bool(row[p])
    raise ValueError(f"the memory engine cannot evaluate the index condition {where!r}")


# -- indexes ---------------------------------------------------------------------------------


def _narrow(
    getters: list[Callable[[Any], object] | None], needed: set[int] | frozenset[int]
) -> Callable[[Any], Sequence[Row]]:
    """Return the kind's own row of a record with only the ``needed`` columns (others None)."""
    made = [get if n in needed else None for n, get in enumerate(getters)]
    return lambda record: (tuple([None if get is None else get(record) for get in made]),)


def _keyed_rows(child: Child[Any], id_key: IdKey | None, record: Any) -> Sequence[Row]:
    """Return a record's rows of a child table, its digest columns computed under ``id_key``."""
    return child.rows(record, id_key)


_NOTHING = object()


def _null(group: Any) -> bool:
    """Return whether a group (a value, or a tuple of values) holds a NULL."""
    return group is None or (isinstance(group, tuple) and None in group)


def _filled(entry: Entry) -> Entry:
    """Read NULL as ``""`` in an entry, so that entries compare (it sorts first)."""
    return tuple("" if v is None else v for v in entry)


class _Source:
    """The rows one table of a kind makes of its records, for every index of that table.

    Records put in and taken out are noted here and turned into rows once, when one of the
    indexes is next read, for all of them.
    """

    def __init__(self, rows: Callable[[Any], Sequence[Row]]) -> None:
        self.rows = rows
        self.indexes: list[MemoryIndex] = []
        # Records put in (True) and taken out (False) since the last read, applied in order.
        self.log: list[tuple[bool, list[Any]]] = []

    def settle(self, *, sort: bool = False) -> None:
        """Apply what was noted to every index of the table.

        ``sort``: sort an ungrouped index's entries in too (the escalation sweep's queue, the
        audit trail), not at its next read; a group of a grouped index, small, waits for its own.
        """
        log, self.log = self.log, []
        rows = self.rows
        for put, records in log:
            made = [row for record in records for row in rows(record)]
            for index in self.indexes:
                if put:
                    index._add(made)
                else:
                    index._discard(made)
        for index in self.indexes if sort else ():
            if index._unsorted:  # one long queue: sorted now, not when read
                index._groups[None]._settle()
                index._unsorted = False


class MemoryIndex:
    """One declared index of a table, over the rows the table's records make.

    Args:
        index: The declared index.
        table: The table it indexes (a kind's own or a child table).
        key_column: The column whose value names the record a row belongs to: the kind's key,
            or the child table's column holding the parent's key.
        source: The rows of ``table`` that records make, and what was put in or taken out
            since the indexes of that table last read it.

    The leading :data:`~gridgov.records.Role.SUBTREE` column, or the leading
    :data:`~gridgov.records.Role.EQUAL` columns (a tuple of values if several), are the group:
    NULL is a group of its own (the pending events of the outbox), except in a subtree or unique
    index, which leave such rows out. The other columns, then the record's key if they do not
    hold it, make a group's sorted entries (NULL read as ``""``). An index without such columns
    maps each group to the keys holding it; a unique one to the key.
    """

    def __init__(
        self,
        index: Index,
        table: Table[Any],
        key_column: str,
        source: _Source,
    ) -> None:
        names = table.column_names
        self.name = index.name
        self.table = table.name
        self._source = source
        source.indexes.append(self)
        parts = index.parts
        self.subtree = parts[0].role is Role.SUBTREE
        lead = 1 if self.subtree else 0
        while lead < len(parts) and parts[lead].role is Role.EQUAL and not self.subtree:
            lead += 1
        rest: tuple[Part, ...] = parts[lead:]
        self.sorted = bool(rest)
        self.unique = index.unique and not rest
        at = [names.index(p.column) for p in parts[:lead]]
        self._group: Callable[[Row], Any] | None = operator.itemgetter(*at) if at else None
        self._nulls_out = self.subtree or self.unique  # rows with a NULL group left out
        self._lead = lead
        positions = [names.index(p.column) for p in rest]
        key_at = names.index(key_column)
        if key_at not in positions:
            positions.append(key_at)
        self.key_at = positions.index(key_at)  # where an entry holds its record's key
        self.single = len(positions) == 1 and self.sorted
        """Whether an entry is one value, the record's key, kept bare (not in a tuple)."""
        self._entry = operator.itemgetter(*positions)
        self._key = key_at
        self._key_of = operator.itemgetter(key_at)
        self._nullable = any(table.columns[p].nullable for p in positions)
        self.where = _condition(index.where, names.index)
        where = index.where and _WHERE_COLUMN.match(index.where)
        self.columns = frozenset([*at, *positions, *([names.index(where[1])] if where else [])])
        """The positions of the columns the index reads."""
        self.grouped = bool(at)
        self._grouping = frozenset([*at, *([names.index(where[1])] if where else [])])
        # The rows a record makes, with at least the columns that say its groups.
        self._group_rows: Callable[[Any], Sequence[Row]] = source.rows
        self._groups: dict[Any, Any] = {}  # group -> _SortedChunks | set of keys | key
        self._unsorted = False  # whether an ungrouped index has entries not sorted in
        self.codes: _SortedKeys | None = _SortedKeys() if self.subtree else None

    @property
    def groups(self) -> dict[Any, Any]:
        """Return the index by group, first applying the records put or taken out since."""
        if self._source.log:
            self._source.settle()
        return self._groups

    def groups_of(self, record: Any) -> list[Any]:
        """Return the groups a record's rows are indexed under (a grouped index)."""
        group_of, where = self._group, self.where
        assert group_of is not None, f"{self.name} has no group"
        groups = [group_of(r) for r in self._group_rows(record) if where is None or where(r)]
        return [g for g in groups if not _null(g)] if self._nulls_out else groups

    def entries(self, record: Any) -> list[tuple[Any, Any]]:
        """Return the ``(group, entry)`` pairs a record makes (an entry is a key if unsorted).

        A bare key of a sorted index comes in a tuple, as reads return entries.
        """
        pairs = self.pairs(self._source.rows(record))
        return [(g, (e,)) for g, e in pairs] if self.single else pairs

    def pairs(self, rows: Iterable[Row]) -> list[tuple[Any, Any]]:
        """Return ``(group, entry)`` of each indexed row (an entry is a key if unsorted)."""
        where, group_of, key = self.where, self._group, self._key
        if not self.sorted and where is None and group_of is not None:  # residents by id
            made = [(group_of(r), r[key]) for r in rows]
            return [p for p in made if not _null(p[0])] if self._nulls_out else made
        out: list[tuple[Any, Any]] = []
        for r in rows:
            if where is not None and not where(r):
                continue
            group = None if group_of is None else group_of(r)
            if self._nulls_out and _null(group):
                continue
            if not self.sorted:
                out.append((group, r[key]))
                continue
            out.append((group, self._entry(r)))
        return self._fill(out) if self._nullable else out

    def _fill(self, pairs: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        if self.single:
            return [(g, "" if e is None else e) for g, e in pairs]
        return [(g, _filled(e) if None in e else e) for g, e in pairs]

    def _add(self, rows: list[Row]) -> None:
        """Index the rows, each under its group."""
        groups = self._groups
        if not self.sorted:
            group_of = self._group
            if self.unique and self.where is None and self._lead == 1 and group_of is not None:
                # Residents by id, made by C loops; a NULL (never a group here) taken out after.
                groups.update(zip(map(group_of, rows), map(self._key_of, rows), strict=True))
                groups.pop(None, None)
                return
            if self.unique:
                groups.update(self.pairs(rows))
                return
            for group, key in self.pairs(rows):
                found = groups.get(group)
                if found is None:
                    groups[group] = {key}
                else:
                    found.add(key)
            return
        # The path of bulk loads: entries made by C loops, then put by runs of one group.
        if self.where is not None:
            rows = [r for r in rows if self.where(r)]
        entries = list(map(self._entry, rows))
        if self._nullable and self.single:
            entries = ["" if e is None else e for e in entries]
        elif self._nullable:
            entries = [_filled(e) if None in e else e for e in entries]
        if self._group is None:
            found = groups.get(None)
            if found is None:
                found = groups[None] = _SortedChunks()
            found._pending.extend(entries)
            self._unsorted = True
            return
        last: Any = _NOTHING
        pending: list[Entry] = []
        for group, e in zip(map(self._group, rows), entries, strict=True):
            if last is _NOTHING or group != last:
                if self._nulls_out and _null(group):
                    continue
                found = groups.get(group)
                if found is None:
                    found = groups[group] = _SortedChunks()
                    if self.codes is not None:
                        self.codes.add(group)
                pending, last = found._pending, group
            pending.append(e)

    def _discard(self, rows: list[Row]) -> None:
        """Take the rows out of the index."""
        groups = self._groups
        for group, entry in self.pairs(rows):
            found = groups.get(group)
            if found is None:
                continue
            if not self.unique:
                found.discard(entry)
            elif found == entry:
                del groups[group]

    def keys(self, group: Any) -> Any:
        """Return the keys indexed under ``group`` (unsorted index): a set, a key or ``None``."""
        return self.groups.get(group)

    def cells(self, prefix: str, start: str = "") -> Iterator[str]:
        """Yield the cell codes of the subtree ``prefix`` from ``start`` that hold a row."""
        groups = self.groups
        assert self.codes is not None, f"{self.name} is not a subtree index"
        for code in self.codes.from_(max(prefix, start)):
            if not code.startswith(prefix):
                return
            if groups[code]:
                yield code


class MemoryTable:
    """The committed records of one kind by key, and every index of its tables.

    A record is replaced in place (a concurrent reader never finds it missing), and noted in
    each index as put in or taken out: an index applies what was noted when it is next read,
    so that a bulk load pays for the indexes its queries read, once, and a commit under the
    store's lock stays short. The indexes of a child table that lead with the parent's key are
    left out: the rows to take out come from the stored record itself.

    Args:
        kind: The declared kind.
        id_key: The key its digest columns are computed with (``None``: they are NULL).
    """

    def __init__(self, kind: RecordKind[Any], id_key: IdKey | None = None) -> None:
        self.kind = kind
        self.records: dict[str, Any] = {}
        self._keys: list[str] | None = []  # sorted lazily after an insertion or a removal
        own = _Source(lambda record: ())
        self._sources = [own]
        indexes = [MemoryIndex(i, kind.table, kind.key_column, own) for i in kind.table.indexes]
        # The kind's own row holds only the columns its indexes read (the others None): an
        # instant key costs, and a case has four.
        needed = {n for index in indexes for n in index.columns}
        getters: list[Callable[[Any], object] | None] = [
            c.get for c in kind.table.columns if c.get is not None
        ]
        own.rows = _narrow(getters, needed)
        for index in indexes:  # what the unit's notes of its staged records read
            index._group_rows = _narrow(getters, index._grouping)
        for child in kind.children:
            declared = list(child.table.indexes)
            if child.table.primary_key:
                pk = child.table.primary_key
                parts = (Part(pk[0], Role.EQUAL), *(Part(c, Role.KEY) for c in pk[1:]))
                declared.append(Index(f"{child.table.name}_pkey", parts, unique=len(pk) == 1))
            source = _Source(functools.partial(_keyed_rows, child, id_key))
            self._sources.append(source)
            indexes.extend(
                MemoryIndex(index, child.table, child.parent_column, source)
                for index in declared
                if index.parts[0].column != child.parent_column
            )
        self.indexes: dict[str, MemoryIndex] = {i.name: i for i in indexes}

    def rekey(self, id_key: IdKey | None) -> None:
        """Rebuild every index with digest columns computed under ``id_key``, records kept."""
        rebuilt = MemoryTable(self.kind, id_key)
        rebuilt.put_many(dict(self.records))
        self._sources, self.indexes, self._keys = rebuilt._sources, rebuilt.indexes, None

    def index(self, name: str) -> MemoryIndex:
        """Return the index called ``name``."""
        return self.indexes[name]

    def put(self, key: str, record: Any | None) -> None:
        """Store ``record`` under ``key`` (``None``: remove it), noting it in every index."""
        old = self.records.get(key)
        if old is not None:
            self._note(False, [old])
        if record is None:
            if old is not None:
                del self.records[key]
                self._keys = None
            return
        if old is None:
            self._keys = None
        self.records[key] = record  # in place: a concurrent read finds the old or the new
        self._note(True, [record])

    def put_many(self, staged: dict[str, Any | None]) -> None:
        """Put every staged record (``None``: a removal); the new ones noted all at once."""
        records = self.records
        fresh: list[Any] = []
        for key, record in staged.items():
            if record is not None and key not in records:
                fresh.append(record)
            else:
                self.put(key, record)
        if not fresh:
            return
        self._keys = None
        key_of = self.kind.key
        records.update([(key_of(r), r) for r in fresh])
        self._note(True, fresh)

    def _note(self, put: bool, records: list[Any]) -> None:
        """Note records put in or taken out, for the indexes to apply when next read.

        The kind's own indexes apply them at once (their rows are cheap, and the escalation
        sweep's queue is read after every small commit); a child table's indexes when one of
        them is next read.
        """
        for source in self._sources:
            if source.indexes:
                source.log.append((put, records))
        if self._sources[0].log:
            self._sources[0].settle(sort=True)

    def ordered_keys(self) -> list[str]:
        """Return the stored keys in order."""
        if self._keys is None:
            self._keys = sorted(self.records)
        return self._keys
