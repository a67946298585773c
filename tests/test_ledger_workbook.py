"""Ledger workbooks (gridgov.ledger, gridgov import-ledger): read, checked by row, upserted."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov import GridCell, GridLevel, Resident, Tag, open_store
from gridgov.cli import main
from gridgov.codes import id_check_character
from gridgov.ports import Store
from gridgov.testing import leaked

pytest.importorskip("python_calamine", reason="pip install 'gridgov[xlsx]'")
pytest.importorskip("openpyxl", reason="pip install 'gridgov[xlsx]'")

from openpyxl import Workbook, load_workbook

from gridgov.ledger import (
    PROBLEMS_SHEET,
    ColumnMapping,
    date_from_serial,
    import_ledger,
    load_mapping,
    read_ledger,
    serial_from_date,
    to_halfwidth,
    write_report,
)
from gridgov.ledger import _values as values

COMMUNITY = "610102003006"
FIRST, SECOND = f"{COMMUNITY}001", f"{COMMUNITY}002"
CELLS = [
    GridCell("610102", "新城区", GridLevel.DISTRICT),
    GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
    GridCell(FIRST, "第一网格", GridLevel.GRID, COMMUNITY),
    GridCell(SECOND, "第二网格", GridLevel.GRID, COMMUNITY),
]
SHEET = "居民信息"


def nid(born: str, seq: str, area: str = "610102") -> str:
    """Return a valid 18-character ID number."""
    body = area + born + seq
    return body + id_check_character(body)


def nid_with_x(born: str) -> str:
    """Return a valid ID number whose check character is X."""
    return next(n for s in range(1, 1000) if (n := nid(born, f"{s:03d}")).endswith("X"))


def fullwidth(text: str) -> str:
    """Return ``text`` with its ASCII letters, digits and signs full-width, as IMEs type them."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


TIAN_LIN = nid("19491231", "003")
TIAN_XIUYING = nid("19520308", "004")
WANG = nid_with_x("19440105")
LI = nid("19610718", "022")
ZHAO = nid("19570909", "011")
SUN = nid("19500228", "006")
SUN_QIANG = nid("19480612", "015")

# (row of the sheet, what is wrong) in the faulty workbook.
FAULTY = {8: "national_id", 9: "birth_date"}


def write_minggong(path: Path, *, faulty: bool, phone: str = "029-87654321") -> Path:
    """Write a ledger as Minggong keeps it: title, merged two-row header, the usual quirks."""
    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "填表说明"
    notes.append(["身份证号请设置为文本格式"])
    notes.append(["人员类别用顿号分隔"])
    sheet = book.create_sheet(SHEET)
    sheet.append(["明宫社区重点人群台账（2026年11月）"])
    sheet.merge_cells("A1:M1")
    sheet.append(["序号", "户号", "基本信息", None, None, None, "联系电话", "住址"])
    sheet.append([None, None, "姓名", "身份证号", "性别", "出生日期", None, "网格"])
    sheet["L2"], sheet["M2"] = "人员类别", "备注"
    sheet["I3"], sheet["J3"], sheet["K3"] = "楼栋", "单元", "门牌号"
    for merged in ("A2:A3", "B2:B3", "C2:F2", "G2:G3", "H2:K2", "L2:L3", "M2:M3"):
        sheet.merge_cells(merged)
    rows: list[list[object]] = [
        # A household over two rows: its id and address merged, as ledgers do.
        [1, "H001", "田林", TIAN_LIN, "男", serial_from_date(dt.date(1949, 12, 31)),
         13812345678, "第一网格", "3号楼", 2, "301", "独居、高龄", ""],
        [2, None, "田秀英", fullwidth(TIAN_XIUYING), "女", "1952年3月8日",
         fullwidth("13912345678"), None, None, None, None, "空巢老人", "老伴腿脚不便"],
        [3, "H002", "王建国", WANG.lower(), "男", dt.date(1944, 1, 5),
         phone, SECOND, "5号楼", 1, "102", "低保户;党员", ""],
        [4, "H003", "李梅", LI, "女", None, 13700001111, "第一网格", "3号楼", 1, "101", "", ""],
        [5, "H004", "赵强", float(ZHAO[:17]) if faulty else ZHAO, "男", None,
         13600002222, "第二网格", "6号楼", 3, "502", "志愿者", ""],
        [6, "H005", "孙丽", SUN, "女", "1950-02-30" if faulty else "1950-02-28",
         13500003333, "第二网格", "7号楼", 1, "201", "高龄", ""],
        [7, "H005", "孙强", SUN_QIANG, "男", "1948.6.12",
         13500004444, "第二网格", "7号楼", 1, "201", "", ""],
    ]  # fmt: skip
    for row in rows:
        sheet.append(row)
    for merged in ("B4:B5", "H4:H5", "I4:I5", "J4:J5", "K4:K5"):
        sheet.merge_cells(merged)
    book.save(path)
    return path


PERSONAL = [
    "田林", "田秀英", "王建国", "李梅", "赵强", "孙丽", "孙强", "老伴腿脚不便",
    TIAN_LIN, TIAN_XIUYING, fullwidth(TIAN_XIUYING), WANG, WANG.lower(), LI, ZHAO, ZHAO[:17],
    SUN, SUN_QIANG, "13812345678", "13912345678", "87654321", "13700001111", "13600002222",
    "13500003333", "13500004444", "1950-02-30", "19500228",
]  # fmt: skip


@pytest.fixture
def store() -> Iterator[Store]:
    """Return an in-memory store holding Minggong's two grids."""
    opened = open_store("memory://")
    with opened() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.commit()
    yield opened
    opened.close()


def stored(store: Store) -> dict[str, tuple[int, str]]:
    """Return each stored household's version and masked repr of its members, by id."""
    with store() as uow:
        return {
            h.id: (h.version, repr(h.members))
            for h in uow.households.in_subtree(COMMUNITY, limit=100).items
        }


def test_the_workbook_reports_exactly_its_faulty_rows_and_stores_nothing(
    tmp_path: Path, store: Store
) -> None:
    """A Minggong workbook with its quirks imports with exactly the two faulty rows reported."""
    result = import_ledger(write_minggong(tmp_path / "ledger.xlsx", faulty=True), store)
    assert {(SHEET, 8, "D", "national_id"), (SHEET, 9, "F", "birth_date")} == {
        (p.sheet, p.row, p.column, p.field) for p in result.problems
    }
    assert "Excel rounds to 15 significant digits" in result.problems[0].problem
    assert (False, (), {}) == (result.stored, result.added, stored(store))
    assert ("填表说明",) == result.read.skipped


def test_the_corrected_workbook_imports_every_household_with_its_values_normalised(
    tmp_path: Path, store: Store
) -> None:
    """Full-width digits, numeric phones, serial and text dates, merged rows, tags by name."""
    result = import_ledger(write_minggong(tmp_path / "ledger.xlsx", faulty=False), store)
    assert () == result.problems
    assert ("H001", "H002", "H003", "H004", "H005") == result.added
    with store() as uow:
        tian = uow.households.get("H001")
        wang = uow.households.get("H002")
    assert (FIRST, "3号楼", "2", "301") == (
        tian.cell_code,
        tian.address.line,
        tian.address.unit,
        tian.address.room,
    )
    assert [
        ("H001-1", TIAN_LIN, "13812345678", {Tag.LIVING_ALONE, Tag.ADVANCED_AGE}),
        ("H001-2", TIAN_XIUYING, "13912345678", {Tag.EMPTY_NEST}),
    ] == [personal(m) for m in tian.members]
    assert [("H002-1", WANG, "029-87654321", {Tag.MINIMUM_LIVING_ALLOWANCE, Tag.PARTY_MEMBER})] == [
        personal(m) for m in wang.members
    ]
    assert SECOND == wang.cell_code


def personal(resident: Resident) -> tuple[str, str | None, str | None, set[Tag]]:
    """Return a resident's id, ID number, phone number and tags."""
    return (
        resident.id,
        resident.national_id.value if resident.national_id else None,
        resident.phone.value if resident.phone else None,
        set(resident.tags),
    )


def test_importing_again_rewrites_nothing_and_a_correction_changes_only_its_households(
    tmp_path: Path, store: Store
) -> None:
    """The upsert is keyed by household: unchanged households keep their stored version."""
    path = write_minggong(tmp_path / "ledger.xlsx", faulty=False)
    import_ledger(path, store)
    before = stored(store)
    again = import_ledger(path, store)
    assert ((), (), 5, before) == (again.added, again.changed, again.unchanged, stored(store))
    corrected = write_minggong(tmp_path / "corrected.xlsx", faulty=False, phone="13300005555")
    result = import_ledger(corrected, store)
    after = stored(store)
    assert (("H002",), 4) == (result.changed, result.unchanged)
    assert {k: v for k, v in before.items() if k != "H002"} == {
        k: v for k, v in after.items() if k != "H002"
    }
    assert before["H002"][0] + 1 == after["H002"][0]


def test_a_dry_run_counts_the_changes_and_stores_nothing(tmp_path: Path, store: Store) -> None:
    """``dry_run`` reads, checks and counts against the store without committing."""
    result = import_ledger(write_minggong(tmp_path / "l.xlsx", faulty=False), store, dry_run=True)
    assert (5, False, {}) == (len(result.added), result.stored, stored(store))


def test_no_personal_value_reaches_the_problems_the_logs_or_the_command(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Problems, log records, the command's text and JSON name cells, never their content."""
    path = write_minggong(tmp_path / "ledger.xlsx", faulty=True)
    caplog.set_level(logging.DEBUG)
    result = import_ledger(path, store)
    report = write_report(result, tmp_path / "report.xlsx")
    listing = load_workbook(report)[PROBLEMS_SHEET]
    cells = [str(c) for row in listing.iter_rows(values_only=True) for c in row]
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    outputs = [cli(["import-ledger", str(path), "--db", db, *flags]) for flags in ([], ["--json"])]
    texts = [str(p) for p in result.problems] + [r.getMessage() for r in caplog.records]
    texts += cells + [out for _, out in outputs]
    assert len(result.problems) == len(cells) // 5 - 1
    assert [] == leaked(texts, PERSONAL)


def cli(argv: list[str]) -> tuple[int, str]:
    """Run the command; return its exit code and what it printed on stdout and stderr."""
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(argv)
    return code, out.getvalue()


def test_the_report_marks_the_faulty_rows_of_a_copy_of_the_workbook(
    tmp_path: Path, store: Store
) -> None:
    """The community's copy: faulty rows filled, their faulty cells redder, a problem column."""
    path = write_minggong(tmp_path / "ledger.xlsx", faulty=True)
    report = write_report(import_ledger(path, store), tmp_path / "r.xlsx", workbook=path)
    book = load_workbook(report)
    assert [PROBLEMS_SHEET, SHEET] == book.sheetnames
    sheet = book[SHEET]
    filled = {
        cell.row
        for row in sheet.iter_rows()
        for cell in row
        if cell.fill is not None and cell.fill.fill_type == "solid"
    }
    assert set(FAULTY) == filled
    assert ("FFFF8B8B", "FFFFC7CE") == (
        sheet["D8"].fill.fgColor.rgb,
        sheet["C8"].fill.fgColor.rgb,
    )
    assert ("问题 problems", None) == (sheet["N3"].value, sheet["N4"].value)
    assert str(sheet["N9"].value).startswith("F: not a day of the calendar")


def test_the_command_reports_problems_with_exit_2_then_imports_the_corrected_file(
    tmp_path: Path,
) -> None:
    """``gridgov import-ledger``: problems and a report (exit 2), the corrected file, a no-op."""
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    target = open_store(db)
    with target() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.commit()
    target.close()
    faulty = write_minggong(tmp_path / "faulty.xlsx", faulty=True)
    code, out = cli(
        ["import-ledger", str(faulty), "--db", db, "--report", str(tmp_path / "r.xlsx")]
    )
    assert (2, True) == (code, (tmp_path / "r.xlsx").is_file())
    assert "2 problem(s); nothing stored:" in out
    fixed = write_minggong(tmp_path / "fixed.xlsx", faulty=False)
    code, out = cli(["import-ledger", str(fixed), "--db", db, "--json"])
    document = json.loads(out)
    assert (0, 5, True) == (code, document["added"], document["stored"])
    code, out = cli(["import-ledger", str(fixed), "--db", db])
    assert 0 == code
    assert "0 added, 0 changed, 5 unchanged" in out


def test_a_mapping_file_names_other_headers_the_header_row_and_the_cell(tmp_path: Path) -> None:
    """Headers the presets lack, a fixed header row, a default cell and more tag names."""
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        'cell = "第一网格"\nheader_row = 2\n[columns]\n"户主姓名" = "name"\n"所在楼" = "building"\n'
        '"证件" = "national_id"\n[tags]\n"孤寡" = "living_alone"\n',
        encoding="utf-8",
    )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["台账"])
    sheet.append(["户主姓名", "证件", "所在楼", "人员类别"])
    sheet.append(["田林", TIAN_LIN, "3号楼", "孤寡"])
    book.save(tmp_path / "l.xlsx")
    tree_store = open_store("memory://")
    with tree_store() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        cells = uow.cells.tree()
    read = read_ledger(tmp_path / "l.xlsx", mapping=load_mapping(mapping), cells=cells)
    (household,) = read.households
    assert (FIRST, "3号楼", frozenset({Tag.LIVING_ALONE})) == (
        household.cell_code,
        household.address.line,
        household.members[0].tags,
    )


def test_english_headers_and_a_households_sheet_joined_to_a_residents_sheet(
    tmp_path: Path,
) -> None:
    """English headers and the CSV's column names work; two sheets join on the household id."""
    book = Workbook()
    homes = book.active
    assert homes is not None
    homes.title = "households"
    homes.append(["household_id", "cell_code", "address", "unit", "room"])
    homes.append(["H9", FIRST, "铁一村3号楼", "1", "101"])
    people = book.create_sheet("residents")
    people.append(["Household ID", "Name", "National ID", "Tags"])
    people.append(["H9", "Tian Lin", TIAN_LIN, "living_alone; advanced_age"])
    book.save(tmp_path / "en.xlsx")
    read = read_ledger(tmp_path / "en.xlsx")
    (household,) = read.households
    assert (FIRST, "铁一村3号楼", "101", ("H9-1",)) == (
        household.cell_code,
        household.address.line,
        household.address.room,
        tuple(m.id for m in household.members),
    )
    assert {Tag.LIVING_ALONE, Tag.ADVANCED_AGE} == household.members[0].tags


def test_a_workbook_without_a_header_row_and_a_missing_file_are_errors(tmp_path: Path) -> None:
    """No sheet with two known headers is a ValidationError; a missing file NotFoundError."""
    from gridgov.errors import NotFoundError, ValidationError

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["田林", TIAN_LIN])
    book.save(tmp_path / "bare.xlsx")
    with pytest.raises(ValidationError, match="no sheet has a header row") as raised:
        read_ledger(tmp_path / "bare.xlsx")
    assert [] == leaked([str(raised.value)], [TIAN_LIN, "田林"])
    (tmp_path / "text.xlsx").write_text("not a workbook", encoding="utf-8")
    with pytest.raises(ValidationError, match="not a workbook"):
        read_ledger(tmp_path / "text.xlsx")
    with pytest.raises(NotFoundError):
        read_ledger(tmp_path / "absent.xlsx")


def test_without_the_extra_the_error_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Importing gridgov.ledger without python-calamine says ``pip install 'gridgov[xlsx]'``."""
    for name in [m for m in sys.modules if m.startswith("gridgov.ledger")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'gridgov\[xlsx\]'"):
        importlib.import_module("gridgov.ledger")
    code, out = cli(["import-ledger", "x.xlsx", "--db", "memory://"])
    assert (1, "gridgov: error: gridgov import-ledger needs the xlsx extra: "
            "pip install 'gridgov[xlsx]'\n") == (code, out)  # fmt: skip


def test_a_number_in_the_id_column_is_refused_never_repaired() -> None:
    """Any number is refused: rounded beyond 15 digits, or unable to hold an X or a leading 0."""
    with pytest.raises(values.CellError, match="rounds to 15 significant digits"):
        values.national_id(6.101021949123100e17)
    with pytest.raises(values.CellError, match="a final X or a leading zero"):
        values.national_id(61010219491231)
    assert TIAN_LIN == values.national_id(f" {fullwidth(TIAN_LIN)} ").value


@pytest.mark.parametrize(
    "cell",
    ["1949-12-31", "1949/12/31", "1949.12.31", "1949年12月31日", "19491231", "１９４９-１２-３１",
     "1949-12-31 08:00", 18263, 18263.5, dt.datetime(1949, 12, 31, 8)],
)  # fmt: skip
def test_a_date_is_read_from_text_a_serial_or_a_date_cell(cell: values.CellValue) -> None:
    """Every way a ledger writes 31 December 1949 reads as that day."""
    assert dt.date(1949, 12, 31) == values.date(cell)


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E)))
def test_full_width_text_comes_back_half_width(text: str) -> None:
    """Full-width ASCII as an input method types it reads back as the ASCII."""
    assert text == to_halfwidth(fullwidth(text))


@given(st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)), st.floats(0, 0.999))
def test_an_excel_serial_round_trips_to_its_day(day: dt.date, time_of_day: float) -> None:
    """A day's serial, with any time of day, reads back as the day."""
    assert day == date_from_serial(serial_from_date(day) + time_of_day)


@given(st.sets(st.sampled_from(Tag.builtins())), st.sampled_from(["、", ",", "；", " ", "/"]))
def test_tags_read_back_from_their_chinese_names(tags: set[Tag], separator: str) -> None:
    """A set of tags written by their Chinese labels reads back as the set."""
    written = separator.join(t.label_zh for t in sorted(tags))
    assert tags == values.terms(written, values.tag_names(), "tag")


def test_a_mapping_names_only_known_fields() -> None:
    """An unknown field or preset in a mapping is a ValidationError naming it."""
    from gridgov.errors import ValidationError

    with pytest.raises(ValidationError, match=r"columns\.备注: not a field"):
        ColumnMapping(columns={"备注": "note"})
    with pytest.raises(ValidationError, match="preset"):
        ColumnMapping(preset="fr")


def small(path: Path, header: list[str], *rows: list[object]) -> Path:
    """Write a one-sheet workbook: the header on row 1, the rows below it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "s"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


HEADER = ["户号", "姓名", "身份证号", "网格", "楼栋", "居住状态", "联系电话", "人员类别"]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["H1", None, TIAN_LIN, FIRST, "3号楼", None, None, None]], [(2, "B", "name")]),
        ([["H1", "田林", None, FIRST, None, None, None, None]], [(2, "E", "building")]),
        ([["H1", "田林", None, "第九网格", "3号楼", None, None, None]], [(2, "D", "cell_code")]),
        ([["H1", "田林", None, COMMUNITY, "3号楼", None, None, None]], [(2, "D", "cell_code")]),
        (
            [["H1", "田林", None, FIRST, "3号楼", "拆迁外迁", None, None]],
            [(2, "", "forwarding_address")],
        ),
        ([["H1", "田林", None, FIRST, "3号楼", "搬走", None, None]], [(2, "F", "status")]),
        ([["H1", "田林", None, FIRST, "3号楼", None, 2987654321, None]], [(2, "G", "phone")]),
        ([["H1", "田林", None, FIRST, "3号楼", None, None, "独居、富裕"]], [(2, "H", "tags")]),
        ([["H 1", "田林", None, FIRST, "3号楼", None, None, None]], [(2, "A", "household_id")]),
        (
            [
                ["H1", "田林", TIAN_LIN, FIRST, "3号楼", None, None, None],
                ["H1", "田秀英", TIAN_XIUYING, FIRST, "5号楼", None, None, None],
            ],
            [(3, "E", "building")],
        ),
        (
            [
                ["H1", "田林", TIAN_LIN, FIRST, "3号楼", None, None, None],
                ["H2", "田林", TIAN_LIN, FIRST, "5号楼", None, None, None],
            ],
            [(3, "C", "national_id")],
        ),
    ],
)
def test_each_bad_row_is_reported_at_its_cell(
    tmp_path: Path, store: Store, rows: list[list[object]], expected: list[tuple[int, str, str]]
) -> None:
    """A missing name or address, an unknown cell, status, tag, a landline as a number, ..."""
    path = small(tmp_path / "s.xlsx", HEADER, *rows)
    result = import_ledger(path, store)
    assert expected == [(p.row, p.column, p.field) for p in result.problems]
    assert [] == leaked([str(p) for p in result.problems], PERSONAL)


def test_a_report_that_cannot_be_written_is_a_validation_error(
    tmp_path: Path, store: Store
) -> None:
    """Writing into a missing folder raises ValidationError, not OSError."""
    from gridgov.errors import ValidationError

    result = import_ledger(write_minggong(tmp_path / "l.xlsx", faulty=True), store)
    with pytest.raises(ValidationError, match="cannot write the report"):
        write_report(result, tmp_path / "absent" / "r.xlsx")


def test_fields_without_a_column_keep_what_the_store_holds(tmp_path: Path, store: Store) -> None:
    """Emergency contacts and health flags, absent from the workbook, survive its import."""
    from gridgov import Address, EmergencyContact, HealthFlag, Household

    kept = Resident(
        "H1-1",
        "田林",
        national_id=TIAN_LIN,
        phone="13812345678",
        health_flags={HealthFlag.HEART_DISEASE},
        emergency_contacts=[EmergencyContact("田小林", "13912345678", "儿子")],
    )
    with store() as uow:
        uow.households.add(Household("H1", FIRST, Address("3号楼"), members=[kept]))
        uow.commit()
    header = ["户号", "姓名", "身份证号", "网格", "楼栋", "联系电话"]
    same = small(
        tmp_path / "same.xlsx", header, ["H1", "田林", TIAN_LIN, FIRST, "3号楼", "13812345678"]
    )
    assert (0, 1) == (len(import_ledger(same, store).changed), import_ledger(same, store).unchanged)
    moved = small(
        tmp_path / "new.xlsx", header, ["H1", "田林", TIAN_LIN, FIRST, "3号楼", "13300001111"]
    )
    assert ("H1",) == import_ledger(moved, store).changed
    with store() as uow:
        (member,) = uow.households.get("H1").members
    assert (kept.health_flags, kept.emergency_contacts, "13300001111") == (
        member.health_flags,
        member.emergency_contacts,
        member.phone.value if member.phone else None,
    )


def test_the_report_copies_a_formula_like_cell_as_text(tmp_path: Path, store: Store) -> None:
    """A name that would run as a formula is written as quoted text in the community's copy."""
    path = small(
        tmp_path / "f.xlsx",
        ["户号", "姓名", "身份证号", "网格", "楼栋"],
        ["H1", "@SUM(1+1)", "bad", FIRST, "3号楼"],
    )
    report = write_report(import_ledger(path, store), tmp_path / "r.xlsx", workbook=path)
    cell = load_workbook(report)["s"]["B2"]
    assert ("@SUM(1+1)", True) == (cell.value, cell.quotePrefix)


def test_a_sheet_without_a_key_column_or_with_a_field_twice_is_one_header_problem(
    tmp_path: Path, store: Store
) -> None:
    """No 户号 nor address column, or 电话 and 手机 both: one problem on the header row."""
    keyless = small(tmp_path / "k.xlsx", ["姓名", "身份证号"], ["田林", TIAN_LIN], ["李梅", LI])
    twice = small(
        tmp_path / "t.xlsx",
        ["户号", "姓名", "电话", "手机", "楼栋"],
        ["H1", "田林", "13812345678", "", "3号楼"],
    )
    assert [(1, "", ""), (1, "D", "phone")] == [
        (p.row, p.column, p.field)
        for path in (keyless, twice)
        for p in import_ledger(path, store, mapping=ColumnMapping(cell=FIRST)).problems
    ]


def test_a_number_already_held_by_another_household_is_stored_and_flagged(
    tmp_path: Path,
) -> None:
    """With the deployment's key, an import names the households sharing a number, not it."""
    from gridgov.identity import IdKey

    keyed = open_store("memory://", id_key=IdKey(b"k" * 32))
    with keyed() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.commit()
    header = ["户号", "姓名", "身份证号", "网格", "楼栋"]
    first = small(tmp_path / "a.xlsx", header, ["H1", "田林", TIAN_LIN, FIRST, "3号楼"])
    second = small(tmp_path / "b.xlsx", header, ["H9", "田林", TIAN_LIN, SECOND, "9号楼"])
    before = import_ledger(first, keyed)
    result = import_ledger(second, keyed)
    holders = [(h.household_id, h.cell_code) for s in result.shared for h in s.holders]
    assert ((), True, [("H1", FIRST), ("H9", SECOND)], False) == (
        before.shared,
        result.stored,
        holders,
        TIAN_LIN in repr(result.shared),
    )
