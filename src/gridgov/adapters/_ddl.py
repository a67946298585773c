"""DDL derived from the record-kind declarations: each dialect supplies only its column types.

A table's ``since`` is the schema version that created it, so the migrations of any dialect,
new or old, are the declared tables grouped by version: a database written at schema 3 by the
first hand-written DDL upgrades to the current version with exactly the statements the newer
versions added.
"""

from __future__ import annotations

import attrs

from gridgov.records import ColumnType, Table, tables

__all__ = ["SqlTypes", "create_table", "declared_migrations"]


@attrs.frozen
class SqlTypes:
    """How a dialect spells each column type and which index features it has.

    Args:
        key: Text compared by code point (ids, codes, instant keys).
        text: Text that is only stored.
        integer: An integer.
        boolean: A boolean.
        doc: A JSON document.
        partial_indexes: Whether ``CREATE INDEX ... WHERE`` exists; without it, every row is
            indexed.
        without_rowid: Whether tables that are only a primary key can drop the row id (SQLite).
    """

    key: str
    text: str
    integer: str
    boolean: str
    doc: str
    partial_indexes: bool = True
    without_rowid: bool = False

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
    for c in table.columns:
        parts = [c.name, types.of(c.type)]
        if c.name == single:
            parts.append("PRIMARY KEY")
        elif not c.nullable:
            parts.append("NOT NULL")
        if c.check is not None:
            parts.append(f"CHECK ({c.check})")
        if c.references is not None:
            parts.append(f"REFERENCES {c.references}")
        lines.append(" ".join(parts))
    if len(table.primary_key) > 1:
        lines.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    tail = " WITHOUT ROWID" if table.compact and types.without_rowid else ""
    statements = [f"CREATE TABLE {table.name} ({', '.join(lines)}){tail}"]
    for index in table.indexes:
        unique = "UNIQUE " if index.unique else ""
        where = f" WHERE {index.where}" if index.where and types.partial_indexes else ""
        statements.append(
            f"CREATE {unique}INDEX {index.name} ON {table.name} ({', '.join(index.columns)}){where}"
        )
    return tuple(statements)


def declared_migrations(types: SqlTypes) -> tuple[tuple[str, ...], ...]:
    """Return the statements of each schema version, from version 1 to the latest."""
    declared = tables()
    latest = max(t.since for t in declared)
    return tuple(
        tuple(s for t in declared if t.since == version for s in create_table(t, types))
        for version in range(1, latest + 1)
    )
