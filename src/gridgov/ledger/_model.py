"""What reading a ledger workbook gives: households, the sheets' layout, problems by cell."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from gridgov.households import Household

__all__ = ["LedgerRead", "Origin", "RowProblem", "SheetLayout", "letter"]


@attrs.frozen
class RowProblem:
    """A problem with one row of a ledger workbook; it names the cell, never its content.

    Args:
        sheet: The sheet's name.
        row: The row number as the spreadsheet shows it (1-based).
        column: The column's letter (``"E"``), or ``""`` for the row as a whole.
        field: The field the column holds (``"national_id"``), or ``""``.
        problem: What is wrong, in English.
    """

    sheet: str
    row: int
    column: str
    field: str
    problem: str

    def __str__(self) -> str:
        cell = f"{self.column}{self.row}" if self.column else f"row {self.row}"
        what = f" ({self.field})" if self.field else ""
        return f"{self.sheet}!{cell}{what}: {self.problem}"


@attrs.frozen
class SheetLayout:
    """Where a sheet's header is and what its columns hold.

    Args:
        name: The sheet's name.
        header_row: The header's row number (1-based).
        columns: Field to column letter.
        ignored: The letters of columns whose header is no known field.
        rows: How many rows below the header held data.
    """

    name: str
    header_row: int
    columns: Mapping[str, str]
    ignored: tuple[str, ...]
    rows: int


@attrs.frozen
class Origin:
    """Where a household came from: its rows and the fields its sheets have columns for.

    Args:
        rows: ``(sheet, row)`` of each of its rows, first first.
        members: ``(sheet, row)`` of each member's row, in the order of ``Household.members``.
        fields: The fields a column of its sheets holds: the others are not in the workbook,
            and an import keeps what the store holds for them.
    """

    rows: tuple[tuple[str, int], ...]
    members: tuple[tuple[str, int], ...]
    fields: frozenset[str]


@attrs.frozen
class LedgerRead:
    """What a ledger workbook holds: its households, and every problem found on the way.

    Args:
        households: The households of the rows without problems (all of them if there is none).
        problems: Every problem, by sheet, row and column.
        sheets: The sheets read, with their layout.
        skipped: The sheets without a header row (instructions, lists), left out.
        origins: Where each household came from, by household id.
    """

    households: tuple[Household, ...]
    problems: tuple[RowProblem, ...]
    sheets: tuple[SheetLayout, ...]
    skipped: tuple[str, ...]
    origins: Mapping[str, Origin] = attrs.field(repr=False)

    @property
    def ok(self) -> bool:
        """Return whether the workbook has no problem."""
        return not self.problems

    @property
    def residents(self) -> int:
        """Return how many residents the households hold."""
        return sum(len(h.members) for h in self.households)

    @property
    def faulty_rows(self) -> frozenset[tuple[str, int]]:
        """Return ``(sheet, row)`` of each row with a problem."""
        return frozenset((p.sheet, p.row) for p in self.problems)


def letter(index: int) -> str:
    """Return the spreadsheet letter of a 0-based column index: 0 is A, 26 is AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out
