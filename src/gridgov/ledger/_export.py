"""Workbooks to hand out: the ledger, worklists, coverage and case KPIs, styled, redacted by role.

A workbook is a sequence of :class:`Sheet` declarations (title, columns, rows) written by one
writer, :func:`write_workbook`, in openpyxl's write-only mode: rows stream to disk, so a
ledger of 100,000 residents never sits in memory as cells. Every sheet gets a bold, frozen
header row, its columns' widths, drop-down lists where a column holds a vocabulary, and dates
as date cells. Text is written as text with :mod:`gridgov._spreadsheet`'s rule: no cell runs
as a formula, and reading it gives the text as it was.

The sheet builders take records as the caller may see them and mask them again for
``Redaction.MASKED`` (:func:`gridgov.redaction.redact`, the masking every masked read gets):
a masked workbook holds no full name, ID number, phone number, unit or room.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import attrs
import pendulum

from gridgov._spreadsheet import quoted
from gridgov.access import Redaction
from gridgov.errors import ValidationError
from gridgov.households import (
    HealthFlag,
    Household,
    HouseholdStatus,
    LivingArrangement,
    Resident,
    Sex,
    Tag,
)
from gridgov.ledger._model import letter
from gridgov.ledger._values import CellValue
from gridgov.ledger._xlsx import cell, header
from gridgov.redaction import redact
from gridgov.services.care import Coverage, Worklist
from gridgov.services.kpis import CaseFigures

try:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.worksheet.datavalidation import DataValidation
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError(
        "gridgov.ledger needs openpyxl to write workbooks: pip install 'gridgov[xlsx]'",
        name=exc.name,
    ) from exc

__all__ = [
    "CASE_KPI_SHEET",
    "COVERAGE_SHEET",
    "HOUSEHOLDS_SHEET",
    "RESIDENTS_SHEET",
    "WORKLIST_SHEET",
    "Column",
    "Sheet",
    "case_kpi_sheet",
    "coverage_sheet",
    "ledger_sheets",
    "worklist_sheet",
    "write_ledger",
    "write_workbook",
]

HOUSEHOLDS_SHEET = "户信息 households"
"""The title of the ledger's households sheet."""
RESIDENTS_SHEET = "居民信息 residents"
"""The title of the ledger's residents sheet."""

_LAST_ROW = 1048576  # Excel's last row: a list validation covers the whole column
_PERCENT = "0.0%"
_DATE_TIME = "yyyy-mm-dd hh:mm"


@attrs.frozen
class Column:
    """A column of a :class:`Sheet`.

    Args:
        header: The header's text.
        width: The width, in characters.
        choices: The values a drop-down list offers (a data validation list); ``()`` for none.
        strict: Whether the list refuses other values; ``False`` offers the choices and takes
            anything (a cell of several tags).
        number_format: The number format of the column's cells (``"0.0%"``), if not the
            default.
    """

    header: str
    width: int = 12
    choices: tuple[str, ...] = ()
    strict: bool = True
    number_format: str | None = None


def _columns(value: Iterable[Column]) -> tuple[Column, ...]:
    return tuple(value)


@attrs.frozen
class Sheet:
    """A sheet to write: its title, columns and rows, read once while it is written.

    Args:
        title: The sheet's title (at most 31 characters).
        columns: Its columns.
        rows: Its rows, one value per column: text, a number, a date or a datetime (written
            without its zone), or ``None`` or ``""`` for an empty cell.
    """

    title: str = attrs.field()
    columns: tuple[Column, ...] = attrs.field(converter=_columns)
    rows: Iterable[Sequence[CellValue]] = attrs.field(eq=False, repr=False)

    @title.validator
    def _title(self, _attribute: object, value: str) -> None:
        if not 0 < len(value) <= 31 or any(c in value for c in "[]:*?/\\"):
            raise ValidationError("title", "a sheet title is 1-31 characters, none of []:*?/\\")


def write_workbook(path: Path | str, sheets: Iterable[Sheet]) -> dict[str, int]:
    """Write sheets as one workbook (``.xlsx``), written beside ``path`` and moved into place.

    Args:
        path: The workbook to write; on an error it is left as it was.
        sheets: The sheets, in order; each one's rows are read as it is written.

    Returns:
        How many rows each sheet holds below its header, by title.

    Raises:
        ValidationError: If the workbook cannot be written, or two sheets have one title.
    """
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    counts: dict[str, int] = {}
    try:
        with partial.open("wb") as handle:
            book = Workbook(write_only=True)
            for sheet in sheets:
                if sheet.title in counts:
                    raise ValidationError("title", "two sheets with one title", source=target.name)
                counts[sheet.title] = _write_sheet(book, sheet)
            book.save(handle)
        os.replace(partial, target)
    except OSError as exc:
        raise ValidationError(
            "path", f"cannot write the workbook ({exc.strerror or 'failed'})", source=target.name
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return counts


def _write_sheet(book: Workbook, sheet: Sheet) -> int:
    out = book.create_sheet(sheet.title)
    # Write-only sheets take their layout before the first row.
    out.freeze_panes = "A2"
    for j, column in enumerate(sheet.columns):
        out.column_dimensions[letter(j)].width = column.width
        if column.choices:
            rule = DataValidation(
                type="list",
                formula1='"' + ",".join(column.choices) + '"',
                allow_blank=True,
                showErrorMessage=column.strict,
            )
            rule.add(f"{letter(j)}2:{letter(j)}{_LAST_ROW}")
            out.data_validations.append(rule)
    out.append(header(out, [c.header for c in sheet.columns]))
    formats = [c.number_format for c in sheet.columns]
    count = 0
    for row in sheet.rows:
        cells: list[object] = []
        for value, number_format in zip(row, formats, strict=True):
            if number_format is None and _plain(value):
                # openpyxl writes it as it is, into a cell it reuses: most of a ledger's cells.
                cells.append(value)
                continue
            written = cell(out, _local(value))
            if number_format is not None and value is not None:
                written.number_format = number_format
            cells.append(written)
        out.append(cells)
        count += 1
    return count


def _plain(value: CellValue) -> bool:
    """Return whether openpyxl writes ``value`` as it is: nothing empty, no formula, no error.

    openpyxl takes text beginning with ``=`` for a formula and ``#N/A`` and the like for error
    values: those, and the text :func:`gridgov._spreadsheet.quoted` marks, go through
    :func:`gridgov.ledger._xlsx.cell`, which writes them as text.
    """
    kind = type(value)
    if kind is str:
        return value != "" and not quoted(value) and value not in ERROR_CODES  # type: ignore[arg-type]
    return value is None or kind is int or kind is float


def _local(value: CellValue) -> CellValue:
    """Return a value as a cell holds it: an instant as its wall time in Beijing, no zone."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = pendulum.instance(value).in_timezone("Asia/Shanghai").naive()
        return dt.datetime(*value.timetuple()[:6])
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return value


# --- the ledger --------------------------------------------------------------------------------

# The headers are the zh preset's (gridgov.ledger.PRESETS): an exported ledger imports again.
_HOUSEHOLD_COLUMNS = (
    Column("户号", 14),
    Column("网格编码", 18),
    Column("地址", 28),
    Column("单元", 8),
    Column("门牌号", 10),
    Column("居住状态", 10, tuple(s.label_zh for s in HouseholdStatus)),
    Column("迁往地址", 28),
    Column("迁往联系电话", 15),
)
_TAG_NAMES = tuple(t.label_zh for t in Tag.builtins())
_RESIDENT_COLUMNS = (
    Column("户号", 14),
    Column("人员编号", 16),
    Column("姓名", 10),
    Column("身份证号", 21),
    Column("性别", 6, tuple(s.label_zh for s in Sex)),
    Column("出生日期", 12),
    Column("联系电话", 15),
    Column("与户主关系", 10),
    Column("居住状况", 16, tuple(a.label_zh for a in LivingArrangement)),
    Column("人员类别", 24, _TAG_NAMES, strict=False),
    Column("健康状况", 20, tuple(f.label_zh for f in HealthFlag.builtins()), strict=False),
)
_SEPARATOR = "、"  # as ledgers list tags: 独居、高龄


def _term(term: Tag | HealthFlag) -> str:
    """Return a tag as a ledger names it: its Chinese label, or its code if not built in."""
    return term.label_zh if term.is_builtin else term.code


def _terms(terms: Iterable[Tag | HealthFlag]) -> str:
    return _SEPARATOR.join(sorted(_term(t) for t in terms))


def ledger_sheets(households: Iterable[Household], *, redaction: Redaction) -> tuple[Sheet, Sheet]:
    """Return the ledger as two sheets, households and residents, joined on the household id.

    Their headers are those of the ``zh`` preset, so :func:`gridgov.ledger.import_ledger`
    reads a full export back as the same households (emergency contacts and a forwarding
    contact's note have no column: an import keeps what the store holds for them).
    Tags and health flags are listed by their Chinese names (a platform's own tags by their
    codes, which a mapping file's ``[tags]`` then names).

    Args:
        households: The households, read once per sheet: a sequence, or an iterable that reads
            them again each time it is iterated (an iterator is read into a list first).
        redaction: ``FULL`` writes them as given; ``MASKED`` masks names, ID and phone numbers,
            hides units, rooms and forwarding addresses and leaves birth dates out (the file no
            longer imports).

    Returns:
        The households sheet and the residents sheet.
    """
    if iter(households) is households:  # read once only: kept for the second sheet
        households = list(households)

    def shown() -> Iterator[Household]:
        for household in households:
            yield household if redaction is Redaction.FULL else redact(household)

    def household_rows() -> Iterator[list[CellValue]]:
        for h in shown():
            yield [
                h.id,
                h.cell_code,
                h.address.line,
                h.address.unit,
                h.address.room,
                h.status.label_zh,
                None if h.forwarding is None else h.forwarding.address,
                None
                if h.forwarding is None or h.forwarding.phone is None
                else h.forwarding.phone.value,
            ]

    def resident_rows() -> Iterator[list[CellValue]]:
        for h in shown():
            for m in h.members:
                yield _resident_row(h, m, redaction)

    return (
        Sheet(HOUSEHOLDS_SHEET, _HOUSEHOLD_COLUMNS, household_rows()),
        Sheet(RESIDENTS_SHEET, _RESIDENT_COLUMNS, resident_rows()),
    )


def _resident_row(h: Household, m: Resident, redaction: Redaction) -> list[CellValue]:
    full = redaction is Redaction.FULL
    return [
        h.id,
        m.id,
        m.name,
        None if m.national_id is None else m.national_id.value,
        None if m.sex is None else m.sex.label_zh,
        # The masked ID number hides the birth date; so does the masked ledger, as the
        # projections do (gridgov.projections.PERSONAL).
        m.birth_date if full else None,
        None if m.phone is None else m.phone.value,
        m.relationship,
        None if m.living_arrangement is None else m.living_arrangement.label_zh,
        _terms(m.tags),
        _terms(m.health_flags),
    ]


def write_ledger(households: Iterable[Household], path: Path | str, *, redaction: Redaction) -> int:
    """Write the ledger as a workbook (see :func:`ledger_sheets`); return how many households.

    Raises:
        ValidationError: If the workbook cannot be written.
    """
    return write_workbook(path, ledger_sheets(households, redaction=redaction))[HOUSEHOLDS_SHEET]


# --- worklists, coverage, case KPIs ----------------------------------------------------------

WORKLIST_SHEET = "探访清单 worklists"
"""The title of the worklists sheet."""
COVERAGE_SHEET = "探访覆盖 coverage"
"""The title of the coverage sheet."""
CASE_KPI_SHEET = "事件指标 case KPIs"
"""The title of the case KPI sheet."""


def worklist_sheet(worklists: Iterable[Worklist], *, redaction: Redaction) -> Sheet:
    """Return worklists as one sheet, a row per task, building by building along each route.

    Args:
        worklists: The worklists (:func:`gridgov.services.care.worklist`), one per worker.
        redaction: ``MASKED`` masks residents' names and hides units and rooms.
    """
    columns = (
        Column("网格员 worker", 14),
        Column("日期 date", 12),
        Column("站 stop", 6),
        Column("楼栋编码 building", 20),
        Column("楼栋 name", 16),
        Column("户号 household", 14),
        Column("地址 address", 28),
        Column("人员编号 resident", 16),
        Column("姓名 name", 10),
        Column("方式 method", 10),
        Column("类型 kind", 10),
        Column("状态 status", 8),
        Column("截止 due", 17, number_format=_DATE_TIME),
        Column("原因 reason", 40),
    )

    def rows() -> Iterator[list[CellValue]]:
        for work in worklists:
            for n, stop in enumerate(work.stops, start=1):
                for wh in stop.households:
                    h = wh.household if redaction is Redaction.FULL else redact(wh.household)
                    address = " ".join(
                        x for x in (h.address.line, h.address.unit, h.address.room) if x
                    )
                    for e in wh.entries:
                        resident = e.resident if redaction is Redaction.FULL else redact(e.resident)
                        task = e.task
                        yield [
                            work.worker_id,
                            work.on,
                            n,
                            stop.cell_code,
                            stop.name,
                            h.id,
                            address,
                            resident.id,
                            resident.name,
                            task.method.label_zh,
                            task.kind.label_zh,
                            e.status.label_zh,
                            task.due,
                            task.reason_zh,
                        ]

    return Sheet(WORKLIST_SHEET, columns, rows())


def coverage_sheet(coverages: Iterable[Coverage], names: Mapping[str, str]) -> Sheet:
    """Return visiting coverage as one sheet, a row per cell (aggregates: nobody's data).

    Args:
        coverages: The cells' coverage (:func:`gridgov.services.care.coverage`).
        names: Cell names by code.
    """
    columns = (
        Column("网格编码 cell", 18),
        Column("网格 name", 16),
        Column("起 from", 12),
        Column("止 through", 12),
        Column("探访对象 covered", 10),
        Column("已联系 reached", 10),
        Column("联系率 share", 10, number_format=_PERCENT),
        Column("按频次 on cadence", 10),
        Column("达标率 share", 10, number_format=_PERCENT),
        Column("未达标 short", 10),
    )
    rows: Iterator[list[CellValue]] = (
        [
            c.cell_code,
            names.get(c.cell_code, ""),
            c.start,
            c.end.subtract(days=1),
            c.covered,
            c.contacted,
            c.contacted_share,
            c.on_cadence,
            c.on_cadence_share,
            len(c.missed),
        ]
        for c in coverages
    )
    return Sheet(COVERAGE_SHEET, columns, rows)


def case_kpi_sheet(figures: Mapping[str, CaseFigures], names: Mapping[str, str]) -> Sheet:
    """Return case KPIs as one sheet, a row per cell (aggregates: nobody's data).

    Args:
        figures: Case figures by cell code (:func:`gridgov.services.cases.case_kpis`).
        names: Cell names by code.
    """
    columns = (
        Column("网格编码 cell", 18),
        Column("网格 name", 16),
        Column("受理 reported", 10),
        Column("应结案 due", 10),
        Column("办结 closed", 10),
        Column("按期办结 on time", 10),
        Column("结案率 closure", 10, number_format=_PERCENT),
        Column("按期结案率 on time", 10, number_format=_PERCENT),
        Column("返工率 rework", 10, number_format=_PERCENT),
        Column("延期率 extended", 10, number_format=_PERCENT),
        Column("回访 called back", 10),
        Column("满意率 satisfied", 10, number_format=_PERCENT),
    )
    rows: Iterator[list[CellValue]] = (
        [
            code,
            names.get(code, ""),
            f.reported,
            f.closure_base,
            f.closed,
            f.closed_on_time,
            f.closure_rate,
            f.on_time_rate,
            f.rework_rate,
            f.extension_rate,
            f.evaluated,
            f.satisfaction_rate,
        ]
        for code, f in figures.items()
    )
    return Sheet(CASE_KPI_SHEET, columns, rows)
