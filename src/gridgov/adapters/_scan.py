"""A read of one declared index, which every engine answers: the port queries' one primitive.

A port query in the domain's words (``uow.cases.due(...)``) is written once, in
:mod:`gridgov.adapters._queries`, as a :class:`Scan` of the kind's declared index: the value of
its leading equality column, or a cell's subtree of its leading cell-code column, bounds on the
columns that order it, a cursor, a limit, and whether to claim what it reads. Each engine turns a
scan into its own read (:meth:`Scans._run_scan`): the memory engine reads its sorted index, the
SQL engine generates one statement per shape of scan.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Generic, Literal, TypeVar

import attrs

from gridgov.adapters.support import check_limit, decode_cursor
from gridgov.ports import Page
from gridgov.records import Index, RecordKind, Role, Table

__all__ = ["Filter", "Scan", "Scans", "order_of"]

R = TypeVar("R")

Filter = tuple[str, Literal["<", ">", "="], str]
"""``(column, operator, value)``: a condition on a column the index does not order by."""


def _index(table: Table[Any], name: str) -> Index:
    for index in table.indexes:
        if index.name == name:
            return index
    raise KeyError(name)


def order_of(kind: RecordKind[Any], index: Index, *, by_cell: bool = False) -> tuple[str, ...]:
    """Return the columns that order a scan of ``index``: its parts after the group, then the key.

    The group is the leading cell-code column or the leading equality columns; ``by_cell``
    orders a subtree's rows by their cell code first (else the cells' rows are merged).
    """
    parts = index.parts
    lead = 1 if parts[0].role is Role.SUBTREE else 0
    while lead < len(parts) and parts[lead].role is Role.EQUAL and parts[0].role is Role.EQUAL:
        lead += 1
    order = [p.column for p in parts[lead:]]
    if kind.key_column not in order:
        order.append(kind.key_column)
    return (parts[0].column, *order) if by_cell else tuple(order)


@attrs.frozen
class Scan:
    """One read of a declared index, already checked.

    Args:
        index: The declared index.
        order: The columns that order the rows, which the cursor holds (:func:`order_of`).
        group: The value of the leading equality column; ``None`` for other indexes.
        within: For an index leading with a cell code: the stored cell whose subtree is read.
        by_cell: Whether the subtree's rows are ordered by cell code first.
        low: The first values of ``order`` (inclusive), a prefix of it.
        high: The end (exclusive), a prefix of ``order``.
        cursor: The ``order`` values a page read starts after (before, when descending).
        limit: The page size; ``None``: every row, in one page with no cursor.
        descending: Last first.
        claim: Whether the rows read are held for this unit of work, others' held rows skipped
            (``FOR UPDATE SKIP LOCKED``); a claim reads exactly ``limit`` rows.
        filters: Conditions on columns the index does not order by.
    """

    index: Index
    order: tuple[str, ...]
    group: str | None = None
    within: str | None = None
    by_cell: bool = False
    low: tuple[str, ...] | None = None
    high: tuple[str, ...] | None = None
    cursor: tuple[str, ...] | None = None
    limit: int | None = None
    descending: bool = False
    claim: bool = False
    filters: tuple[Filter, ...] = ()


class Scans(abc.ABC, Generic[R]):
    """The scan every port query is written with; an engine provides :meth:`_run_scan`."""

    declared: ClassVar[RecordKind[Any]]

    def _scan(
        self,
        index: str,
        group: str | None = None,
        *,
        within: str | None = None,
        by_cell: bool = False,
        low: tuple[str, ...] | None = None,
        high: tuple[str, ...] | None = None,
        after: str | None = None,
        limit: int | None = None,
        descending: bool = False,
        claim: bool = False,
        filters: tuple[Filter, ...] = (),
    ) -> Page[R]:
        """Check a scan's page arguments and run it; see :class:`Scan`.

        Raises:
            ValidationError: If ``limit`` or ``after`` is not a valid page size or cursor.
            NotFoundError: If ``within`` is not a stored cell.
        """
        declared = _index(self.declared.table, index)
        order = order_of(self.declared, declared, by_cell=by_cell)
        if limit is not None:
            check_limit(limit)
        cursor = decode_cursor(after, len(order))
        if within is not None:
            self._require_stored("cell", "cell_code", within)
        return self._run_scan(
            Scan(
                declared,
                order,
                group,
                within,
                by_cell,
                low,
                high,
                cursor,
                limit,
                descending,
                claim,
                filters,
            )
        )

    @abc.abstractmethod
    def _require_stored(self, target: str, name: str, key: str) -> None:
        """Raise NotFoundError unless the ``target`` record ``key`` is stored, as the unit sees it.

        ``key`` is checked first as the argument ``name``.
        """

    @abc.abstractmethod
    def _run_scan(self, scan: Scan) -> Page[R]:
        """Return the page a scan reads (the engine's own)."""
