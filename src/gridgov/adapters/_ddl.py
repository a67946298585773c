"""DDL derived from the record-kind declarations: each dialect supplies only its column types.

A table's ``since`` is the schema version that created it, so the migrations of any dialect,
new or old, are the declared tables grouped by version: a database written at schema 3 by the
first hand-written DDL upgrades to the current version with exactly the statements the newer
versions added. A column or an index with its own ``since`` is added to an older table at that
version: the column first (with its ``fill`` for the rows already stored), then the indexes.
"""

from __future__ import annotations

import re

import attrs

from gridgov.records import Column, ColumnType, Index, Table, tables

__all__ = ["SqlTypes", "add_column", "create_table", "declared_migrations"]


@attrs.frozen
class SqlTypes:
    """How a dialect spells each column type and which index features it has.

    Args:
        key: Text compared by code point (ids, codes, instant keys).
        text: Text that is only stored.
        integer: An integer.
        boolean: A boolean.
        doc: A JSON document.
        partial_indexes: Whether ``CREATE INDEX ... WHERE`` exists. Without it every row is
            indexed, led by the condition's column when the condition is an equality or a
            boolean column (``state = 'open'``, ``is_open``), so that the queries, which repeat
            the condition, still read only the rows it selects.
        without_rowid: Whether tables that are only a primary key can drop the row id (SQLite).
        inline_references: Whether foreign keys are written on their column (``REFERENCES``);
            otherwise as table constraints (MySQL ignores them on a column).
        table_options: Written after each ``CREATE TABLE (...)`` (engine, character set).
        inline_indexes: Whether indexes are declared inside ``CREATE TABLE`` and tables created
            ``IF NOT EXISTS``: where DDL commits at once (MySQL), each table then comes whole
            or not at all, and the next open completes an upgrade that failed half-way.
    """

    key: str
    text: str
    integer: str
    boolean: str
    doc: str
    partial_indexes: bool = True
    without_rowid: bool = False
    inline_references: bool = True
    table_options: str = ""
    inline_indexes: bool = False

    def of(self, column_type: ColumnType) -> str:
        """Return the SQL type of ``column_type``."""
        return {
            ColumnType.KEY: self.key,
            ColumnType.TEXT: self.text,
            ColumnType.INTEGER: self.integer,
            ColumnType.BOOLEAN: self.boolean,
            ColumnType.DOC: self.doc,
        }[column_type]


def create_table(table: Table[object], types: SqlTypes) -> tuple[str, ...]:
    """Return the statements that create ``table`` and its indexes."""
    single = table.primary_key[0] if len(table.primary_key) == 1 else None
    lines = []
    # Columns a later version adds come with that version's migration, after the table.
    for c in (c for c in table.columns if c.since is None or c.since <= table.since):
        parts = [c.name, types.of(c.type)]
        if c.name == single:
            parts.append("PRIMARY KEY")
        elif not c.nullable:
            parts.append("NOT NULL")
        if c.check is not None:
            parts.append(f"CHECK ({c.check})")
        if c.references is not None and types.inline_references:
            parts.append(f"REFERENCES {c.references}")
        lines.append(" ".join(parts))
    if len(table.primary_key) > 1:
        lines.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    if not types.inline_references:
        lines.extend(
            f"FOREIGN KEY ({c.name}) REFERENCES {c.references}"
            for c in table.columns
            if c.references is not None and (c.since is None or c.since <= table.since)
        )
    made = [i for i in table.indexes if i.since is None or i.since <= table.since]
    create = "CREATE TABLE"
    if types.inline_indexes:
        create = "CREATE TABLE IF NOT EXISTS"
        lines.extend(_index_parts(i, types)[0] for i in made)
    tail = " WITHOUT ROWID" if table.compact and types.without_rowid else ""
    if types.table_options:
        tail += f" {types.table_options}"
    statements = [f"{create} {table.name} ({', '.join(lines)}){tail}"]
    if not types.inline_indexes:
        statements.extend(add_index(table, i, types) for i in made)
    return tuple(statements)


def _index_parts(index: Index, types: SqlTypes) -> tuple[str, str, str]:
    """Return an index's inline form, its column list and its ``WHERE`` clause."""
    columns, where = index.columns, ""
    if index.where and types.partial_indexes:
        where = f" WHERE {index.where}"
    elif index.where:
        lead = _CONDITION_COLUMN.fullmatch(index.where)
        if lead is not None:
            columns = (lead[1], *columns)
    unique = "UNIQUE " if index.unique else ""
    listed = ", ".join(columns)
    return f"{unique}INDEX {index.name} ({listed})", listed, where


def add_index(table: Table[object], index: Index, types: SqlTypes) -> str:
    """Return the statement that creates ``index`` on ``table``.

    On databases whose DDL is not transactional (``inline_indexes``: MariaDB) it may run again
    after a half-done upgrade, so it says ``IF NOT EXISTS``.
    """
    _, columns, where = _index_parts(index, types)
    unique = "UNIQUE " if index.unique else ""
    again = "IF NOT EXISTS " if types.inline_indexes else ""
    return f"CREATE {unique}INDEX {again}{index.name} ON {table.name} ({columns}){where}"


# ``col = 'literal'`` or a boolean ``col``: the partial-index conditions an index can lead with.
_CONDITION_COLUMN = re.compile(r"(\w+)(?: = '[^']*')?")


def add_column(table: Table[object], column: Column[object], types: SqlTypes) -> tuple[str, ...]:
    """Return the statements that add ``column`` to ``table`` and fill the rows stored before.

    Where DDL is not transactional (``inline_indexes``: MariaDB) a half-done upgrade runs them
    again, so the column is added ``IF NOT EXISTS``; the fill gives the same values twice.
    """
    again = "IF NOT EXISTS " if types.inline_indexes else ""
    statements = [
        f"ALTER TABLE {table.name} ADD COLUMN {again}{column.name} {types.of(column.type)}"
    ]
    if column.fill is not None:
        statements.append(f"UPDATE {table.name} SET {column.name} = {column.fill}")
    return tuple(statements)


def _added(table: Table[object], since: int | None, version: int) -> bool:
    """Return whether a column or index of ``table`` declared ``since`` is added at ``version``."""
    return since == version and table.since < version


def declared_migrations(types: SqlTypes) -> tuple[tuple[str, ...], ...]:
    """Return the statements of each schema version, from version 1 to the latest."""
    declared = tables()
    latest = max(
        max(t.since for t in declared),
        max((i.since or 0 for t in declared for i in t.indexes), default=0),
        max((c.since or 0 for t in declared for c in t.columns), default=0),
    )
    return tuple(
        (
            *(s for t in declared if t.since == version for s in create_table(t, types)),
            *(
                s
                for t in declared
                for c in t.columns
                if _added(t, c.since, version)
                for s in add_column(t, c, types)
            ),
            *(
                add_index(t, i, types)
                for t in declared
                for i in t.indexes
                if _added(t, i.since, version)
            ),
        )
        for version in range(1, latest + 1)
    )
