"""Reading a ledger workbook: sheets to rows, rows to households, every problem kept by cell."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import chain
from pathlib import Path
from typing import TypeVar, cast

import attrs

from gridgov.errors import NotFoundError, ValidationError
from gridgov.grid import GridLevel, GridTree
from gridgov.households import (
    Address,
    ForwardingContact,
    Household,
    HouseholdStatus,
    LivingArrangement,
    Resident,
)
from gridgov.ledger import _values as values
from gridgov.ledger._mapping import (
    HOUSEHOLD_FIELDS,
    SEARCHED,
    ColumnMapping,
    find_header,
)
from gridgov.ledger._model import LedgerRead, Origin, RowProblem, SheetLayout, letter
from gridgov.ledger._values import CellError, CellValue

try:
    from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, PasswordError
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError(
        "gridgov.ledger needs python-calamine to read workbooks: pip install 'gridgov[xlsx]'",
        name=exc.name,
    ) from exc

__all__ = ["read_ledger"]


def read_ledger(
    path: Path | str, *, mapping: ColumnMapping | None = None, cells: GridTree | None = None
) -> LedgerRead:
    """Read a ledger workbook (``.xlsx``, ``.xls``, ``.ods``) into households and problems.

    Each sheet with a header row is read (see :class:`ColumnMapping`); rows are residents, the
    household columns repeated or merged over a household's rows, or households alone when a
    row has no resident column filled. Rows of one household (same household id, or without one,
    same cell and address) may sit anywhere, on any sheet: a households sheet and a residents
    sheet join on the household id.

    Args:
        path: The workbook.
        mapping: How to read its columns (default: the ``auto`` preset).
        cells: The stored cells: a cell column may then hold a cell's name as well as its code,
            and an unknown cell, or one that is not a grid or building, is a problem.

    Returns:
        The households and every problem; nothing raised for a bad row.

    Raises:
        NotFoundError: If the file does not exist.
        ValidationError: If it is not a workbook, or no sheet has a header row.
    """
    file = Path(path)
    mapping = mapping or ColumnMapping()
    if not file.is_file():
        raise NotFoundError("file", str(file))
    book = _calamine(file, lambda: CalamineWorkbook.from_path(str(file)))
    names = list(book.sheet_names)
    wanted = list(mapping.sheets) or names
    for name in wanted:
        if name not in names:
            raise ValidationError("sheets", "no sheet of that name", source=file.name)
    reader = _Reader(mapping, cells)
    for name in wanted:
        # calamine reads the whole sheet here; iterating its rows reads nothing more.
        reader.read_sheet(_calamine(file, partial(book.get_sheet_by_name, name)))
    if not reader.sheets:
        raise ValidationError(
            "",
            "no sheet has a header row naming two known columns (姓名, 身份证号, 户号, 楼栋, ...); "
            "give a mapping file",
            source=file.name,
        )
    return reader.result()


_T = TypeVar("_T")


def _calamine(file: Path, read: Callable[[], _T]) -> _T:
    """Return what ``read`` reads of the workbook, its errors turned into ValidationError."""
    try:
        return read()
    except PasswordError:
        raise ValidationError(
            "", "the workbook is protected by a password", source=file.name
        ) from None
    except (CalamineError, OSError, ValueError):
        # calamine's messages describe the file's structure (zip, XML), not its cells.
        raise ValidationError(
            "", "not a workbook gridgov can read (xlsx, xls, xlsb or ods)", source=file.name
        ) from None


@attrs.define
class _Group:
    """The rows of one household while the workbook is read."""

    fields: dict[str, tuple[str, str, int]]  # field -> text, sheet, row
    rows: list[tuple[str, int]]
    residents: list[tuple[str, int, dict[str, object]]]
    sheets: set[str]
    bad: bool


_Converter = Callable[[CellValue], object]
_Step = tuple[int, str, str, _Converter, bool]  # index, field, letter, converter, of household
_CONVERTERS: dict[str, _Converter] = {
    "national_id": values.national_id,
    "phone": values.phone,
    "birth_date": values.date,
    "sex": values.sex,
    "status": lambda v: HouseholdStatus(values.choice(v, values.STATUS, "household status")),
    "living_arrangement": lambda v: LivingArrangement(
        values.choice(v, values.ARRANGEMENT, "living arrangement")
    ),
}
_FLAGS = values.flag_names()


class _Reader:
    def __init__(self, mapping: ColumnMapping, cells: GridTree | None) -> None:
        self.mapping = mapping
        self.headers = mapping.headers()
        self.cells = cells
        tags = values.tag_names(mapping.tags)
        self.converters: dict[str, _Converter] = {
            **_CONVERTERS,
            "tags": lambda v: values.terms(v, tags, "key-population tag"),
            "health_flags": lambda v: values.terms(v, _FLAGS, "health flag"),
        }
        self.problems: list[RowProblem] = []
        self.sheets: list[SheetLayout] = []
        self.skipped: list[str] = []
        self.groups: dict[str, _Group] = {}
        self.letters: dict[str, dict[str, str]] = {}  # sheet -> field -> column letter

    def problem(self, sheet: str, row: int, column: str, field: str, problem: str) -> None:
        self.problems.append(RowProblem(sheet, row, column, field, problem))

    def read_sheet(self, sheet: CalamineSheet) -> None:
        top, left = sheet.start or (0, 0)
        rows = iter(sheet.iter_rows())
        pad: list[CellValue] = [None] * left
        # Rows and columns are counted from A1, wherever the sheet's used range begins.
        head: list[list[CellValue]] = [[] for _ in range(top)]
        for first in rows:
            head.append([*pad, *first])
            if len(head) > max(SEARCHED, self.mapping.header_row or 0):
                break
        fixed = None if self.mapping.header_row is None else self.mapping.header_row - 1
        found = find_header(head, self.headers, fixed)
        if found is None:
            self.skipped.append(sheet.name)
            return
        at, keys = found
        name = sheet.name
        columns: dict[str, int] = {}
        ignored: list[str] = []
        for j, key in enumerate(keys):
            field = self.headers.get(key)
            if field is None:
                if key:
                    ignored.append(letter(j))
            elif field in columns:
                self.problem(
                    name,
                    at + 1,
                    letter(j),
                    field,
                    f"a second column for {field} (the first is {letter(columns[field])}); "
                    "mark one 'ignore' in a mapping file",
                )
            elif field != "ignore":
                columns[field] = j
        self.letters[name] = {f: letter(j) for f, j in columns.items()}
        if not ({"household_id", "address", "building"} & columns.keys()):
            # One problem for the sheet, not one for each of its rows.
            self.problem(
                name, at + 1, "", "", "no column for the household id (户号) or the address (楼栋)"
            )
            self.sheets.append(SheetLayout(name, at + 1, self.letters[name], tuple(ignored), 0))
            return
        covered = _merged_below(sheet.merged_cell_ranges or [], at)
        tops: dict[tuple[int, int], CellValue] = {}
        plan = [
            (
                j,
                field,
                letter(j),
                values.text
                if field in HOUSEHOLD_FIELDS
                else self.converters.get(field, values.text),
                field in HOUSEHOLD_FIELDS,
            )
            for field, j in columns.items()
        ]
        count = 0
        # Rows are copied only to pad them; calamine's lists are the reader's to keep.
        rest = ([*pad, *r] for r in rows) if left else cast("Iterator[list[CellValue]]", rows)
        body = chain(head[at + 1 :], rest)
        for index, row in enumerate(body, start=at + 1):
            for j, source in covered.get(index, ()):
                if source == (index, j):  # the top cell of a merged range: keep its value
                    tops[source] = row[j] if j < len(row) else None
                elif j < len(row):
                    row[j] = tops.get(source)
            if self.read_row(name, index + 1, row, plan):
                count += 1
        self.sheets.append(SheetLayout(name, at + 1, self.letters[name], tuple(ignored), count))

    def read_row(
        self, sheet: str, number: int, row: Sequence[CellValue], plan: Sequence[_Step]
    ) -> bool:
        """Read one data row into its household's group; return whether it held data."""
        house: dict[str, str] = {}
        person: dict[str, object] = {}
        bad = False
        width = len(row)
        for j, field, col, convert, of_household in plan:
            raw = row[j] if j < width else None
            if raw is None or raw == "" or (type(raw) is str and raw.isspace()):
                continue
            try:
                value = convert(raw)
            except CellError as exc:
                self.problem(sheet, number, col, field, exc.problem)
                bad = True
                continue
            if of_household:
                house[field] = value  # type: ignore[assignment]
            else:
                person[field] = value
        if not (house or person or bad):
            return False
        key = house.get("household_id")
        if key is None:
            if not ("address" in house or "building" in house or "room" in house):
                self.problem(sheet, number, "", "", "no household id (户号) and no address (楼栋)")
                return True
            key = _derived_id(
                house.get("cell_code") or self.mapping.cell or "",
                *(house.get(f, "") for f in ("address", "building", "unit", "room")),
            )
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group({}, [], [], set(), False)
        group.rows.append((sheet, number))
        group.sheets.add(sheet)
        group.bad |= bad
        for field, value in house.items():
            seen = group.fields.get(field)
            if seen is None:
                group.fields[field] = (value, sheet, number)
            elif seen[0] != value:
                group.bad = True
                first = f"{seen[1]}!{self.letters[seen[1]][field]}{seen[2]}"
                self.problem(
                    sheet,
                    number,
                    self.letters[sheet][field],
                    field,
                    f"differs from {first}, the household's first row",
                )
        if person:
            group.residents.append((sheet, number, person))
        return True

    def result(self) -> LedgerRead:
        households: list[Household] = []
        origins: dict[str, Origin] = {}
        national_ids: dict[str, tuple[str, int]] = {}
        resident_ids: dict[str, tuple[str, int]] = {}
        for key, group in self.groups.items():
            built = self.build(key, group)
            if built is None:
                continue
            household, member_rows = built
            clash = False
            for member, (sheet, row) in zip(household.members, member_rows, strict=True):
                where = self.letters[sheet]
                if member.national_id is not None:
                    first = national_ids.setdefault(member.national_id.value, (sheet, row))
                    if first != (sheet, row):
                        self.problem(
                            sheet,
                            row,
                            where.get("national_id", ""),
                            "national_id",
                            f"the same ID number as {first[0]}!row {first[1]}",
                        )
                        clash = True
                other = resident_ids.setdefault(member.id, (sheet, row))
                if other != (sheet, row):
                    self.problem(
                        sheet,
                        row,
                        where.get("resident_id", ""),
                        "resident_id",
                        f"the same resident id as {other[0]}!row {other[1]}",
                    )
                    clash = True
            if not clash:
                households.append(household)
                origins[household.id] = Origin(
                    tuple(group.rows),
                    tuple(member_rows),
                    frozenset(f for sheet in group.sheets for f in self.letters[sheet]),
                )
        problems = sorted(self.problems, key=_order(self.sheets))
        if problems:
            faulty = {(p.sheet, p.row) for p in problems}
            kept = [h for h in households if not faulty & set(origins[h.id].rows)]
            households = kept
            origins = {h.id: origins[h.id] for h in kept}
        return LedgerRead(
            tuple(households), tuple(problems), tuple(self.sheets), tuple(self.skipped), origins
        )

    def build(self, key: str, group: _Group) -> tuple[Household, list[tuple[str, int]]] | None:
        """Return the group's household and its members' rows, or record why it cannot be."""
        first_sheet, first_row = group.rows[0]
        fields = group.fields

        def at(field: str) -> tuple[str, int, str]:
            seen = fields.get(field)
            if seen is None:  # no value: the column, if the household's first sheet has one
                return (first_sheet, first_row, self.letters[first_sheet].get(field, ""))
            return (seen[1], seen[2], self.letters[seen[1]][field])

        def fail(field: str, problem: str) -> None:
            sheet, row, col = at(field)
            self.problem(sheet, row, col, field, problem)

        if group.bad:  # its rows' problems are reported; more would be about the same cells
            return None
        if not _IDENTIFIER.fullmatch(key):  # before its residents' ids, which begin with it
            fail("household_id", _IDENTIFIER_PROBLEM)
            return None
        cell = self._cell(fields["cell_code"][0] if "cell_code" in fields else self.mapping.cell)
        if isinstance(cell, CellError):
            fail("cell_code", cell.problem)
            return None
        members: list[Resident] = []
        rows: list[tuple[str, int]] = []
        ok = True
        for n, (sheet, row, person) in enumerate(group.residents, start=1):
            where = self.letters[sheet]
            data = dict(person)
            data.setdefault("id", f"{key}-{n}")
            data.setdefault("name", "")  # a row of a resident without a name: say so, by cell
            if "resident_id" in data:
                data["id"] = data.pop("resident_id")
            try:
                members.append(Resident(**data))  # type: ignore[arg-type]
                rows.append((sheet, row))
            except ValidationError as exc:
                ok = False
                for path, problem in exc.problems:
                    field = _RESIDENT_PATHS.get(path.split(".")[0].split("[")[0], "")
                    self.problem(sheet, row, where.get(field, ""), field, problem)
        if not ok:
            return None
        text = {f: v[0] for f, v in fields.items()}
        line = " ".join(t for t in (text.get("address"), text.get("building")) if t)
        place = "building" if "building" in text or "address" not in text else "address"
        forwarding = None
        if "forwarding_phone" in text and "forwarding_address" not in text:
            fail("forwarding_phone", "a forwarding phone without a forwarding address (迁往地址)")
            return None
        if "forwarding_address" in text:
            try:
                phone = text.get("forwarding_phone")
                forwarding = ForwardingContact(
                    text["forwarding_address"], None if phone is None else values.phone(phone)
                )
            except CellError as exc:
                fail("forwarding_phone", exc.problem)
                return None
            except ValidationError as exc:
                fail("forwarding_address", exc.problem)
                return None
        try:
            address = Address(line, text.get("unit"), text.get("room"))
            status = (
                HouseholdStatus(values.choice(text["status"], values.STATUS, "household status"))
                if "status" in text
                else HouseholdStatus.RESIDENT
            )
            household = Household(
                id=key,
                cell_code=cell,
                address=address,
                status=status,
                members=members,
                forwarding=forwarding,
            )
        except CellError as exc:
            fail("status", exc.problem)
            return None
        except ValidationError as exc:
            # The address's own fields are named bare (line, unit, room), the household's by path.
            paths = {**_HOUSEHOLD_PATHS, "line": place}
            for path, problem in exc.problems:
                head = path.split(".")[0].split("[")[0]
                if head == "members" and "[" in path:
                    sheet, row = rows[int(path.split("[")[1].split("]")[0])]
                    where = self.letters[sheet]
                    self.problem(sheet, row, where.get("resident_id", ""), "resident_id", problem)
                else:
                    fail(paths.get(path, paths.get(head, "")), problem)
            return None
        return household, rows

    def _cell(self, value: object) -> str | CellError:
        if value is None:
            return CellError("no cell: add a 网格 column or give the cell in the mapping")
        code = str(value)
        if self.cells is None:
            return code
        if code in self.cells:
            cell = self.cells.get(code)
        else:
            named = [c for c in self.cells if c.name == code and c.level in _HOME_LEVELS]
            if len(named) != 1:
                return CellError(
                    "not a stored cell's code or the name of one grid or building"
                    if not named
                    else "the name of several cells: give the code"
                )
            cell = named[0]
        if cell.level not in _HOME_LEVELS:
            return CellError("a household lives in a grid or building cell")
        return cell.code


_HOME_LEVELS = (GridLevel.GRID, GridLevel.BUILDING)
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")  # gridgov._validation.identifier
_IDENTIFIER_PROBLEM = "an id is 1-64 characters of letters, digits, '-', '_', '.' or ':'"
_RESIDENT_PATHS = {
    "id": "resident_id",
    "name": "name",
    "national_id": "national_id",
    "birth_date": "birth_date",
    "sex": "sex",
    "phone": "phone",
    "relationship": "relationship",
    "tags": "tags",
    "health_flags": "health_flags",
    "living_arrangement": "living_arrangement",
}
_HOUSEHOLD_PATHS = {
    "id": "household_id",
    "cell_code": "cell_code",
    "unit": "unit",
    "room": "room",
    "address.unit": "unit",
    "address.room": "room",
    "status": "status",
    "forwarding": "forwarding_address",
    "forwarding.address": "forwarding_address",
    "forwarding.phone": "forwarding_phone",
}


def _derived_id(*parts: str) -> str:
    """Return a household id made from its cell and address: the same address, the same id."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).hexdigest()
    return f"h{digest}"


def _merged_below(
    ranges: Iterable[tuple[tuple[int, int], tuple[int, int]]], header: int
) -> dict[int, list[tuple[int, tuple[int, int]]]]:
    """Return, by row index, the cells of merged ranges below the header and each one's top cell.

    A ledger merges a household's id or address over its members' rows; a reader gives the
    value to the range's top cell only, so the cells below it take that value as they are read.
    """
    covered: dict[int, list[tuple[int, tuple[int, int]]]] = {}
    for (r0, c0), (r1, c1) in ranges:
        if r0 > header and r1 > r0:  # over several data rows; a range within one row is moot
            for r in range(r0, r1 + 1):
                covered.setdefault(r, []).extend((c, (r0, c0)) for c in range(c0, c1 + 1))
    return covered


def _order(sheets: Sequence[SheetLayout]) -> Callable[[RowProblem], tuple[int, int, int, str]]:
    index = {s.name: i for i, s in enumerate(sheets)}

    def key(p: RowProblem) -> tuple[int, int, int, str]:
        return (index.get(p.sheet, len(index)), p.row, len(p.column), p.column)

    return key
