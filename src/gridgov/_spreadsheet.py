"""Cells of files that people open in a spreadsheet: written so that no cell runs as a formula.

Ledgers are opened in Excel and WPS. A cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return, which spreadsheets strip before those) is taken as a formula: a resident
named ``=HYPERLINK(...)`` would run when a grid worker opens the export. OWASP's advice for CSV
injection is to prefix such a cell with an apostrophe, which spreadsheets show as text and hide.
A cell that begins with an apostrophe gets one more, so that reading strips exactly one and every
text comes back as it was written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import IO

__all__ = ["SafeCsvWriter", "cell_in", "cell_out", "cells_in", "quoted"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def quoted(value: str) -> bool:
    """Return whether a cell's text must be marked as text: it begins with a trigger.

    A CSV cell gets an apostrophe (:func:`cell_out`); a workbook cell is written as text with
    Excel's quote prefix, the style Excel gives a cell typed with a leading apostrophe, so that
    reading it gives the text as it was.
    """
    return value.startswith(_TRIGGERS)


def cell_out(value: str) -> str:
    """Return ``value`` as written to a spreadsheet cell: an apostrophe before a trigger."""
    return f"'{value}" if quoted(value) else value


def cell_in(value: str) -> str:
    """Return a cell's text as written before :func:`cell_out`: one leading apostrophe off."""
    return value[1:] if value.startswith("'") else value


def cells_in(rows: Iterable[list[str]]) -> Iterator[list[str]]:
    """Yield each row of a reader with :func:`cell_in` applied to its cells."""
    for row in rows:
        yield [cell_in(cell) for cell in row]


class SafeCsvWriter:
    """A ``csv.writer`` whose cells go through :func:`cell_out`.

    Args:
        handle: The text file, opened with ``newline=""``.
    """

    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle, lineterminator="\n")

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row; ``None`` is an empty cell, other values their ``str``."""
        self._writer.writerow(["" if cell is None else cell_out(str(cell)) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write several rows."""
        for row in rows:
            self.writerow(row)
