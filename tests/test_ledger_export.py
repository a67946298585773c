"""Ledger workbooks written out (gridgov.ledger.write_ledger): styled, redacted, imported again."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov import (
    Address,
    ForwardingContact,
    GridCell,
    GridLevel,
    Household,
    HouseholdStatus,
    Resident,
    Tag,
    open_store,
)
from gridgov.access import Redaction
from gridgov.codes import id_check_character
from gridgov.households import HealthFlag, LivingArrangement, Sex
from gridgov.ports import Store
from gridgov.testing import leaked
from gridgov.testing.strategies import personal_names, phone_numbers

pytest.importorskip("python_calamine", reason="pip install 'gridgov[xlsx]'")
pytest.importorskip("openpyxl", reason="pip install 'gridgov[xlsx]'")

from openpyxl import load_workbook

from gridgov.ledger import (
    HOUSEHOLDS_SHEET,
    RESIDENTS_SHEET,
    Column,
    Sheet,
    import_ledger,
    read_ledger,
    write_ledger,
    write_workbook,
)

COMMUNITY = "610102003006"
GRID = f"{COMMUNITY}001"
CELLS = [
    GridCell("610102", "新城区", GridLevel.DISTRICT),
    GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
    GridCell(GRID, "第一网格", GridLevel.GRID, COMMUNITY),
]
HOSTILE = (
    '=HYPERLINK("http://x","a")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "'=quoted",
    "'plain",
    "#N/A",  # an error value to openpyxl, unless written as text
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def nid(born: str, seq: str) -> str:
    """Return a valid 18-character ID number."""
    body = "610102" + born + seq
    return body + id_check_character(body)


def ledger() -> list[Household]:
    """Return a small ledger with every column filled somewhere."""
    return [
        Household(
            "h001",
            GRID,
            Address("明宫小区 3号楼", unit="2", room="301"),
            members=(
                Resident(
                    "h001-1",
                    "田林",
                    national_id=nid("19491231", "003"),
                    phone="13912345678",
                    relationship="户主",
                    living_arrangement=LivingArrangement.WITH_SPOUSE_ONLY,
                    tags=frozenset({Tag.ADVANCED_AGE, Tag.EMPTY_NEST}),
                    health_flags=frozenset({HealthFlag.DIABETES}),
                ),
                Resident(
                    "h001-2",
                    "王秀英",
                    birth_date=pendulum.Date(1952, 3, 8),
                    sex=Sex.FEMALE,
                    relationship="配偶",
                ),
            ),
        ),
        Household(
            "h002",
            GRID,
            Address("明宫小区 4号楼"),
            status=HouseholdStatus.RELOCATED,
            forwarding=ForwardingContact("未央区 凤城八路 88号", "13700001111"),
        ),
    ]


@pytest.fixture
def store() -> Iterator[Store]:
    """Return a memory store holding the cells."""
    opened = open_store("memory://")
    with opened() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.commit()
    yield opened
    opened.close()


def stored(store: Store) -> list[Household]:
    """Return the stored households, versions cleared, by id."""
    with store() as uow:
        found = uow.households.get_many(["h001", "h002"] + [f"x{i}" for i in range(50)])
    return sorted((attrs.evolve(h, version=0) for h in found.values()), key=lambda h: h.id)


def test_a_full_export_imports_as_the_same_households(tmp_path: Path, store: Store) -> None:
    """Export, then import into an empty store: the same households, field for field."""
    households = ledger()
    path = tmp_path / "ledger.xlsx"
    assert 2 == write_ledger(households, path, redaction=Redaction.FULL)
    result = import_ledger(path, store)
    assert ((), ("h001", "h002")) == (result.problems, result.added)
    assert households == stored(store)


def test_an_export_imported_again_changes_nothing(tmp_path: Path, store: Store) -> None:
    """The stored ledger exported and imported again: every household unchanged."""
    path = tmp_path / "ledger.xlsx"
    write_ledger(ledger(), path, redaction=Redaction.FULL)
    import_ledger(path, store)
    write_ledger(stored(store), path, redaction=Redaction.FULL)
    again = import_ledger(path, store)
    assert ((), (), 2) == (again.added, again.changed, again.unchanged)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(personal_names(), min_size=1, max_size=4),
    phones=st.lists(phone_numbers(), min_size=4, max_size=4),
)
def test_generated_residents_round_trip(names: list[str], phones: list[object]) -> None:
    """Residents with generated names and phones read back as written."""
    households = [
        Household(
            f"x{i}",
            GRID,
            Address("明宫小区 1号楼", room=str(100 + i)),
            members=(Resident(f"x{i}-1", name, phone=phones[i]),),  # type: ignore[arg-type]
        )
        for i, name in enumerate(names)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.xlsx"
        write_ledger(households, path, redaction=Redaction.FULL)
        read = read_ledger(path)
    assert ((), households) == (read.problems, list(read.households))


def test_a_hostile_ledger_exports_no_formula_and_reads_back(tmp_path: Path) -> None:
    """Names and addresses like formulas or errors: text cells, quoted, read back as written."""
    households = [
        Household(f"h{i}", GRID, Address(text), members=(Resident(f"h{i}-1", text),))
        for i, text in enumerate(HOSTILE)
    ]
    path = tmp_path / "ledger.xlsx"
    write_ledger(households, path, redaction=Redaction.FULL)
    book = load_workbook(path)
    risky = [
        (c.data_type, c.quotePrefix)
        for sheet in book.worksheets
        for row in sheet.iter_rows(min_row=2)
        for c in row
        if isinstance(c.value, str) and c.value.startswith((*FORMULA_START, "'"))
    ]
    errors = [
        c.data_type
        for sheet in book.worksheets
        for row in sheet.iter_rows(min_row=2)
        for c in row
        if c.value == "#N/A"
    ]
    assert ((len(HOSTILE) - 1) * 2, {("s", True)}, ["s", "s"]) == (
        len(risky),
        set(risky),
        errors,
    )
    assert households == list(read_ledger(path).households)


def test_a_masked_export_holds_no_name_id_or_phone(tmp_path: Path) -> None:
    """Every cell of a masked export is scanned: no name, ID, phone, unit, room or birth date."""
    households = ledger()
    path = tmp_path / "masked.xlsx"
    write_ledger(households, path, redaction=Redaction.MASKED)
    book = load_workbook(path)
    texts = [str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    secrets = [
        *(m.name for h in households for m in h.members),
        *(m.national_id.value for h in households for m in h.members if m.national_id),
        *(m.phone.value for h in households for m in h.members if m.phone),
        "未央区 凤城八路 88号",
        "13700001111",
        "301",
        *(str(m.birth_date) for h in households for m in h.members),
    ]
    assert [] == leaked(texts, secrets)
    assert "田*" in texts


def test_the_sheets_are_styled(tmp_path: Path) -> None:
    """Frozen bold header, widths, lists for the vocabularies, birth dates as date cells."""
    path = tmp_path / "ledger.xlsx"
    write_ledger(ledger(), path, redaction=Redaction.FULL)
    book = load_workbook(path)
    residents = book[RESIDENTS_SHEET]
    lists = {str(v.sqref): v.showErrorMessage for v in residents.data_validations.dataValidation}
    birth = residents["F3"]
    assert (
        [HOUSEHOLDS_SHEET, RESIDENTS_SHEET],
        "A2",
        True,
        21,
        {"E2:E1048576": True, "I2:I1048576": True, "J2:J1048576": False, "K2:K1048576": False},
        dt.datetime(1952, 3, 8),
        "yyyy-mm-dd",
    ) == (
        book.sheetnames,
        residents.freeze_panes,
        residents["A1"].font.b,
        residents.column_dimensions["D"].width,
        lists,
        birth.value,
        birth.number_format,
    )


def test_a_generic_sheet_writes_percentages_and_instants(tmp_path: Path) -> None:
    """A column's number format applies to its values; an instant is written in Beijing time."""
    at = pendulum.datetime(2026, 11, 28, 1, 30, tz="UTC")
    sheet = Sheet("t", [Column("share", number_format="0.0%"), Column("at")], [(0.5, at)])
    path = tmp_path / "t.xlsx"
    assert {"t": 1} == write_workbook(path, [sheet])
    row = load_workbook(path)["t"]
    assert (0.5, "0.0%", dt.datetime(2026, 11, 28, 9, 30)) == (
        row["A2"].value,
        row["A2"].number_format,
        row["B2"].value,
    )
