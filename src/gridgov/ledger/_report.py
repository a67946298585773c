"""The validation report as a workbook: the problems listed, the faulty rows marked."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from gridgov.errors import ValidationError
from gridgov.ledger._model import LedgerRead, RowProblem, letter
from gridgov.ledger._store import LedgerImport
from gridgov.ledger._values import CellValue
from gridgov.ledger._xlsx import cell, header

try:
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import PatternFill
    from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError(
        "gridgov.ledger needs openpyxl to write reports: pip install 'gridgov[xlsx]'",
        name=exc.name,
    ) from exc

__all__ = ["PROBLEMS_SHEET", "write_report"]

PROBLEMS_SHEET = "问题清单 problems"
"""The name of the report's sheet listing the problems."""

# Excel's own "bad" style colours: a light red row, the faulty cell a stronger red.
_ROW_FILL = PatternFill("solid", start_color="FFFFC7CE", end_color="FFFFC7CE")
_CELL_FILL = PatternFill("solid", start_color="FFFF8B8B", end_color="FFFF8B8B")


def write_report(
    result: LedgerRead | LedgerImport, path: Path | str, *, workbook: Path | str | None = None
) -> Path:
    """Write the validation report of a ledger workbook, ready to hand back to the community.

    The first sheet lists every problem: sheet, row, column, field and what is wrong, never a
    cell's content. With ``workbook`` (the file that was read), each sheet read follows as a
    copy of it with the faulty rows filled light red, each faulty cell a stronger red, and a
    last column ``问题 problems`` saying what is wrong with the row: the community corrects the
    copy and sends it back. That copy holds the ledger's personal data, as the original does;
    without ``workbook`` the report holds none.

    Text that a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is
    written as text with Excel's quote prefix, so no cell runs when the report is opened.

    Args:
        result: What :func:`read_ledger` or :func:`import_ledger` returned.
        path: The report to write (``.xlsx``); written beside it and moved into place.
        workbook: The workbook that was read, to copy with the faulty rows marked.

    Returns:
        The report's path.

    Raises:
        ValidationError: If ``workbook`` cannot be read again, or the report not written.
    """
    read = result.read if isinstance(result, LedgerImport) else result
    problems = result.problems
    target = Path(path)
    # The source is opened and the file created before any sheet is written: a write-only
    # sheet left unsaved by an error would fail again when collected.
    source = None if workbook is None else _open(Path(workbook), read)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as handle:
            book = Workbook(write_only=True)
            listing = book.create_sheet(PROBLEMS_SHEET)
            listing.freeze_panes = "A2"
            titles = ("工作表 sheet", "行 row", "列 column", "字段 field", "问题 problem")
            listing.append(header(listing, titles))
            for p in problems:
                fields = (p.sheet, p.row, p.column, p.field, p.problem)
                listing.append([cell(listing, v) for v in fields])
            if source is not None:
                _copies(book, read, problems, source)
            book.save(handle)
        os.replace(partial, target)
    except OSError as exc:
        raise ValidationError(
            "path", f"cannot write the report ({exc.strerror or 'failed'})", source=target.name
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def _open(file: Path, read: LedgerRead) -> dict[str, CalamineSheet]:
    """Return the sheets read, read again from ``file``."""
    try:
        book = CalamineWorkbook.from_path(str(file))
        return {s.name: book.get_sheet_by_name(s.name) for s in read.sheets}
    except (CalamineError, OSError, ValueError):
        raise ValidationError(
            "workbook", "cannot read the workbook again", source=file.name
        ) from None


def _copies(
    book: Workbook,
    read: LedgerRead,
    problems: Sequence[RowProblem],
    sheets: Mapping[str, CalamineSheet],
) -> None:
    by_row: dict[tuple[str, int], list[RowProblem]] = {}
    for p in problems:
        by_row.setdefault((p.sheet, p.row), []).append(p)
    for layout in read.sheets:
        sheet = sheets[layout.name]
        out = book.create_sheet(_title(layout.name, book.sheetnames))
        top, left = sheet.start or (0, 0)
        rows: Iterable[Sequence[CellValue]] = sheet.iter_rows()
        width = left + sheet.width
        for _ in range(top):
            out.append([])
        for number, row in enumerate(rows, start=top + 1):
            found = by_row.get((layout.name, number), [])
            marked = {p.column for p in found}
            line: list[Cell | None] = [
                cell(out, v, _CELL_FILL if letter(j) in marked else _ROW_FILL if found else None)
                for j, v in enumerate([*([None] * left), *row])
            ]
            line += [None] * (width - len(line))
            if number == layout.header_row:
                line.append(header(out, ("问题 problems",))[0])
            elif found:
                text = "; ".join(f"{p.column or 'row'}: {p.problem}" for p in found)
                line.append(cell(out, text, _ROW_FILL))
            out.append(line)


def _title(name: str, taken: Sequence[str]) -> str:
    title, n = name[:31], 2
    while title in taken:
        title = f"{name[:28]}({n})"
        n += 1
    return title
