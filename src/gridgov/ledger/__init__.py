"""The ledger as communities keep it: Excel workbooks read into households, checked and stored.

Needs the ``xlsx`` extra (python-calamine reads, openpyxl writes the report):
``pip install 'gridgov[xlsx]'``.

- :func:`read_ledger` reads a workbook's sheets into households and a list of problems, each
  naming its sheet, row and column, never the cell's content;
- :func:`import_ledger` stores them: an idempotent upsert keyed by household id, the whole
  workbook in one unit of work, nothing stored while a row has a problem;
- :func:`write_report` writes the problems as a workbook, with a copy of the ledger whose faulty
  rows are marked, to hand back to the community;
- :func:`write_ledger` writes the ledger back out as a workbook that imports again, and
  :func:`write_workbook` writes any :class:`Sheet` (:func:`ledger_sheets`,
  :func:`worklist_sheet`, :func:`coverage_sheet`, :func:`case_kpi_sheet`), styled, with
  personal data masked for a role without the full view;
- :class:`ColumnMapping`, :data:`PRESETS` and :func:`load_mapping` say which header means which
  field (Chinese or English headers; the header row is found below titles and merged rows).

Values are read as communities type them: full-width digits and letters, ID numbers as text
(an ID number stored as a number is refused: Excel has rounded it or it cannot hold its final
X), dates as date cells, Excel serials or text (``1949年12月31日``), tags by their Chinese
names (``独居、高龄``), phones with or without ``+86``.
"""

from gridgov.ledger._export import (
    CASE_KPI_SHEET,
    COVERAGE_SHEET,
    HOUSEHOLDS_SHEET,
    RESIDENTS_SHEET,
    WORKLIST_SHEET,
    Column,
    Sheet,
    case_kpi_sheet,
    coverage_sheet,
    ledger_sheets,
    worklist_sheet,
    write_ledger,
    write_workbook,
)
from gridgov.ledger._mapping import FIELDS, PRESETS, ColumnMapping, load_mapping
from gridgov.ledger._model import LedgerRead, Origin, RowProblem, SheetLayout
from gridgov.ledger._read import read_ledger
from gridgov.ledger._report import PROBLEMS_SHEET, write_report
from gridgov.ledger._store import LedgerImport, import_ledger
from gridgov.ledger._values import CellValue, date_from_serial, serial_from_date, to_halfwidth

__all__ = [
    "CASE_KPI_SHEET",
    "COVERAGE_SHEET",
    "FIELDS",
    "HOUSEHOLDS_SHEET",
    "PRESETS",
    "PROBLEMS_SHEET",
    "RESIDENTS_SHEET",
    "WORKLIST_SHEET",
    "CellValue",
    "Column",
    "ColumnMapping",
    "LedgerImport",
    "LedgerRead",
    "Origin",
    "RowProblem",
    "Sheet",
    "SheetLayout",
    "case_kpi_sheet",
    "coverage_sheet",
    "date_from_serial",
    "import_ledger",
    "ledger_sheets",
    "load_mapping",
    "read_ledger",
    "serial_from_date",
    "to_halfwidth",
    "worklist_sheet",
    "write_ledger",
    "write_report",
    "write_workbook",
]
