"""Record-kind declarations: what a store keeps for each kind of record, declared once.

Each :class:`RecordKind` names its record type, key, the cell codes that scoping checks, its
table with the indexed columns and the query kind each index serves (cell-code subtree,
equality, instant range, key order), the records it refers to and the index rows it keeps in
other tables. The memory and SQL engines, the DDL and migrations of every SQL dialect, and the
conformance kit are derived from these declarations; see docs/writing-a-storage-adapter.md.
"""

from gridgov.records._schema import (
    Child,
    Column,
    ColumnType,
    Index,
    Missing,
    Part,
    Recompute,
    RecordKind,
    Reference,
    Role,
    Table,
)
from gridgov.records.kinds import KINDS, STEPS, tables

__all__ = [
    "KINDS",
    "STEPS",
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
    "tables",
]
