"""Cells of the workbooks gridgov writes: text never a formula, headers bold, dates as dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from gridgov._spreadsheet import quoted
from gridgov.ledger._values import CellValue

try:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError(
        "gridgov.ledger needs openpyxl to write workbooks: pip install 'gridgov[xlsx]'",
        name=exc.name,
    ) from exc

__all__ = ["BOLD", "DATE_FORMAT", "cell", "header"]

BOLD = Font(bold=True)
DATE_FORMAT = "yyyy-mm-dd"


def header(sheet: WriteOnlyWorksheet, titles: Sequence[str]) -> list[Cell]:
    """Return a header row's cells: bold text."""
    cells = []
    for title in titles:
        written = cell(sheet, title)
        written.font = BOLD
        cells.append(written)
    return cells


def cell(sheet: WriteOnlyWorksheet, value: CellValue, fill: PatternFill | None = None) -> Cell:
    """Return a cell of a write-only sheet holding ``value``, safe to open in a spreadsheet.

    Text is written as text (never a formula, whatever it begins with); text that a spreadsheet
    would take for a formula (``=``, ``+``, ``-``, ``@``, tab, CR) or that begins with an
    apostrophe also gets Excel's quote prefix, so it shows as text and reads back as written
    (see :mod:`gridgov._spreadsheet`). A date is a date cell shown ``yyyy-mm-dd``; ``""`` is an
    empty cell.
    """
    if isinstance(value, dt.timedelta | dt.time):
        value = str(value)
    # openpyxl writes a date as a date; its stubs name datetime only.
    written = cast("str | float | dt.datetime | None", None if value == "" else value)
    out = WriteOnlyCell(sheet, value=written)
    if isinstance(value, str):
        out.data_type = "s"  # never a formula, whatever the text begins with
        if quoted(value):
            out.quotePrefix = True
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        out.number_format = DATE_FORMAT
    if fill is not None:
        out.fill = fill
    return out
