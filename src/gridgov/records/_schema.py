"""The vocabulary of record-kind declarations: columns, indexes, tables, references, kinds.

A declaration says what a store must keep for a kind of record and which queries it must answer
fast; the engines (memory, SQL) and the DDL of every dialect are derived from it.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Generic, TypeVar, cast

import attrs

from gridgov.codes import MaskedNationalId, NationalId

if TYPE_CHECKING:
    from gridgov.identity import IdKey

__all__ = [
    "Child",
    "Column",
    "ColumnType",
    "Index",
    "Missing",
    "Part",
    "Recompute",
    "RecordKind",
    "Reference",
    "Role",
    "Table",
    "digested",
]

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)


class ColumnType(enum.Enum):
    """What a column holds, which each dialect renders as its own SQL type."""

    KEY = "key"
    """Text that is compared, ordered or indexed: ids, codes, instant keys, dates, states.

    Dialects must compare it by code point (as Python compares ``str``): SQLite's default,
    PostgreSQL's ``COLLATE "C"``, MySQL's ``utf8mb4_bin``.
    """
    TEXT = "text"
    """Text that is stored, never ordered."""
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DOC = "doc"
    """The record as a JSON document (SQLite TEXT, PostgreSQL JSONB, MySQL JSON)."""


class Role(enum.Enum):
    """The query kind an index column serves."""

    SUBTREE = "subtree"
    """A cell code read as a prefix range: ``code <= c < code + U+10FFFF``."""
    EQUAL = "equal"
    """An equality: a tag, a state, a venue, a resident."""
    RANGE = "range"
    """An instant or date range, and the order of the results."""
    KEY = "key"
    """The tie-breaker that makes the order total (usually the record's key)."""


@attrs.frozen
class Part:
    """One column of an index and the query kind it serves.

    Args:
        column: The column's name.
        role: What queries use it for.
    """

    column: str
    role: Role


@attrs.frozen
class Index:
    """A secondary index of a table.

    Args:
        name: Its name in the database.
        parts: Its columns in order, each with the query kind it serves.
        unique: Whether it refuses two rows with the same values (NULLs excepted).
        where: A condition on the row (portable SQL) that makes it a partial index; dialects
            without partial indexes index every row.
        since: The schema version that added it to an older table; ``None``: with the table.
    """

    name: str
    parts: tuple[Part, ...]
    unique: bool = False
    where: str | None = None
    since: int | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the indexed columns in order."""
        return tuple(p.column for p in self.parts)


@attrs.frozen
class Column(Generic[R_contra]):
    """A column of a table, and how its value is derived from a row's source.

    Args:
        name: Its name.
        type: What it holds.
        nullable: Whether it may be NULL.
        references: ``"table (column)"`` of a foreign key, if any.
        check: A CHECK constraint on the column (portable SQL), if any.
        get: Computes the value from the record (or the child row's source); ``None`` for the
            columns the engine fills itself (``version`` and ``doc``).
        since: The schema version that added it to an older table; ``None``: with the table.
            Such a column is nullable: rows stored before get ``fill``.
        fill: For a column added by ``since``: a portable SQL expression over the row's older
            columns giving its value in the rows already stored (``None``: NULL).
        digest: Whether ``get`` gives a national ID (or ``None``) that is stored as its keyed
            digest under the store's :class:`~gridgov.identity.IdKey` (NULL without a key, or
            for a masked number): the engines apply it, the number itself is never a column.
    """

    name: str
    type: ColumnType
    nullable: bool = False
    references: str | None = None
    check: str | None = None
    get: Callable[[R_contra], object] | None = attrs.field(default=None, eq=False)
    since: int | None = None
    fill: str | None = None
    digest: bool = False

    def __attrs_post_init__(self) -> None:
        # Rows stored before the column existed have no value but ``fill``'s: it may be NULL.
        if self.since is not None and not self.nullable:
            raise ValueError(f"column {self.name} added by a later version must be nullable")


@attrs.frozen
class Table(Generic[R_contra]):
    """A table: its columns, primary key and indexes.

    Args:
        name: Its name (``gg_...``).
        columns: Its columns, in order.
        primary_key: The columns of its primary key.
        indexes: Its secondary indexes.
        since: The schema version that created it (migrations are derived from these).
        compact: Whether the table is only its primary key (SQLite ``WITHOUT ROWID``).
    """

    name: str
    columns: tuple[Column[R_contra], ...]
    primary_key: tuple[str, ...]
    indexes: tuple[Index, ...] = ()
    since: int = 1
    compact: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        """Return the column names in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column[R_contra]:
        """Return the column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@attrs.frozen
class Child(Generic[R]):
    """Rows of another table that index parts of a record (a household's residents, say).

    The engine writes them with the record, replaces them on update and deletes them first on
    removal.

    Args:
        table: The child table; its columns' ``get`` read one item of ``items``.
        items: Returns the items of a record that become rows, each a tuple of column values.
        parent_column: The child column holding the record's key.
    """

    table: Table[tuple[object, ...]]
    items: Callable[[R], Iterable[tuple[object, ...]]] = attrs.field(eq=False)
    parent_column: str

    def rows(self, record: R, key: IdKey | None) -> list[tuple[object, ...]]:
        """Return the rows of ``record``, digest columns computed under ``key``."""
        made = self.items(record)
        digests = _digest_positions(self.table)
        if not digests:
            return made if isinstance(made, list) else list(made)
        return [digested(item, digests, key) for item in made]


@functools.cache
def _digest_positions(table: Table[object]) -> tuple[int, ...]:
    return tuple(i for i, c in enumerate(table.columns) if c.digest)


def digested(
    item: tuple[object, ...], positions: tuple[int, ...], key: IdKey | None
) -> tuple[object, ...]:
    """Return a row with the values at ``positions`` (national IDs) replaced by their digests.

    ``None`` without a key, for a missing number and for a masked one (it stands for many
    people; a masked record is refused before it is stored anyway).
    """
    row = list(item)
    for p in positions:
        value = row[p]
        if key is None or not isinstance(value, NationalId) or isinstance(value, MaskedNationalId):
            row[p] = None
        else:
            row[p] = key.digest(value)
    return tuple(row)


@attrs.frozen
class Recompute(Generic[R]):
    """A Python migration step: columns recomputed from every stored record, in batches.

    The SQL migrations are DDL and portable ``fill`` expressions; a value only Python computes
    (a keyed digest) is filled by such a step, declared once and run by every engine: at the
    schema version ``since``, after that version's DDL, each stored record of ``kind`` is read
    in key order, ``batch`` at a time, and its rows of ``table`` (the kind's own or a child's)
    get ``columns`` rewritten by primary key. Running it again writes the same values.

    Args:
        since: The schema version whose upgrade runs it.
        kind: The kind whose stored records are read.
        table: The table whose ``columns`` are rewritten (its name).
        columns: The columns recomputed.
    """

    since: int
    kind: RecordKind[R]
    table: str
    columns: tuple[str, ...]

    @property
    def keyed(self) -> bool:
        """Return whether every recomputed column is a digest (nothing to write without a key)."""
        target = self.target
        return all(target.column(c).digest for c in self.columns)

    @property
    def target(self) -> Table[object]:
        """Return the table rewritten."""
        for t in self.kind.tables():
            if t.name == self.table:
                return t
        raise KeyError(self.table)

    def rows(self, record: R, key: IdKey | None) -> list[tuple[object, ...]]:
        """Return ``(*columns, *primary key)`` of each row of ``record`` in the table."""
        target = self.target
        names = target.column_names
        if target.name == self.kind.table.name:
            made = [digested(tuple(self.kind.values(record).values()), (), key)]
            names = tuple(c.name for c in self.kind.indexed)
        else:
            child = next(c for c in self.kind.children if c.table.name == self.table)
            made = child.rows(record, key)
        at = [names.index(c) for c in (*self.columns, *target.primary_key)]
        return [tuple(row[i] for i in at) for row in made]


class Missing(enum.Enum):
    """How a missing referenced record is reported."""

    NOT_FOUND = "not_found"
    """``NotFoundError(kind, key)``: the record refers to something that is not stored."""
    INVALID = "invalid"
    """``ValidationError(path, "unknown <kind>")``: a field of the record is wrong."""


@attrs.frozen
class Reference(Generic[R]):
    """Records of another kind that must be stored for a record to be stored.

    Args:
        target: The referenced kind's name (``"cell"``, ``"venue"``, ``"resident"``...).
        keys: Returns ``(path, key)`` pairs: the field that refers and the referenced key.
        missing: How a missing target is reported.
        columns: The columns that hold the references; an update re-checks them only when
            these columns change. Empty: always re-checked.
    """

    target: str
    keys: Callable[[R], Iterable[tuple[str, str]]] = attrs.field(eq=False)
    missing: Missing = Missing.NOT_FOUND
    columns: tuple[str, ...] = ()


@attrs.frozen
class RecordKind(Generic[R]):
    """Everything the engines need to store one kind of record.

    Args:
        name: The kind's name in messages (``"household"``, ``"care task"``).
        cls: The record type.
        table: Its table: key column first, then indexed columns, then ``version`` and ``doc``.
        key: Returns a record's key.
        cells: Returns the cell codes a record lies in, which scoping checks; ``None`` for kinds
            scoped through another record (a registration through its resident).
        references: What must be stored first.
        children: Index rows in other tables.
        argument: The parameter name used when a call passes something else than ``cls``.
        append_only: Whether stored records never change (contacts, the audit trail).
        removable: Whether stored records may be deleted.
        erasable: The fields of an append-only kind that the data subject's erasure may still
            rewrite (a contact's notes); nothing else of such a record ever changes.
    """

    name: str
    cls: type[R]
    table: Table[R]
    key: Callable[[R], str] = attrs.field(eq=False)
    cells: Callable[[R], tuple[str, ...]] | None = attrs.field(default=None, eq=False)
    references: tuple[Reference[R], ...] = ()
    children: tuple[Child[R], ...] = ()
    argument: str | None = None
    append_only: bool = False
    removable: bool = False
    erasable: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        # The engines compute digests for index rows of child tables only (a kind's own row is
        # written by many paths that never see the store's key).
        if any(c.digest for c in self.table.columns):
            raise ValueError(f"{self.table.name}: a digest column belongs in a child table")

    @property
    def key_column(self) -> str:
        """Return the name of the key column (the table's first)."""
        return self.table.columns[0].name

    @property
    def indexed(self) -> tuple[Column[R], ...]:
        """Return the columns derived from the record: all but ``version`` and ``doc``."""
        return tuple(c for c in self.table.columns if c.get is not None)

    def values(self, record: R) -> dict[str, object]:
        """Return the derived column values of ``record`` by column name, key first."""
        return {c.name: c.get(record) for c in self.table.columns if c.get is not None}

    def row(self, record: R, version: int, doc: object) -> tuple[object, ...]:
        """Return the table row of ``record`` at ``version`` with its encoded ``doc``."""
        values: list[object] = []
        for c in self.table.columns:
            if c.get is not None:
                values.append(c.get(record))
            elif c.name == "version":
                values.append(version)
            else:
                values.append(doc)
        return tuple(values)

    def tables(self) -> tuple[Table[object], ...]:
        """Return the kind's table and its children's tables, parent first."""
        return (
            cast("Table[object]", self.table),
            *(cast("Table[object]", c.table) for c in self.children),
        )
