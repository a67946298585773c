"""Addresses to buildings (gridgov.addresses) and cases placed without a cell (services.placing)."""

from __future__ import annotations

import sys

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov import GridCell, GridLevel, open_store
from gridgov.addresses import AddressBook, normalise
from gridgov.calendar import WorkCalendar
from gridgov.cases import CaseSource, CaseWorkflow
from gridgov.cases.workflow import Transition
from gridgov.errors import (
    AmbiguousAddressError,
    MissingExtraError,
    OutsideGridError,
    UnknownAddressError,
    ValidationError,
)
from gridgov.grid import Boundary
from gridgov.ports import UnitOfWork
from gridgov.services.cases import report_case
from gridgov.services.placing import CellFinder

COMMUNITY = "610102003006"
TIEYI, DAMING, NORTH = f"{COMMUNITY}001", f"{COMMUNITY}002", f"{COMMUNITY}006"


def square(x0: float, y0: float, x1: float, y1: float) -> Boundary:
    """Return the rectangle from (x0, y0) to (x1, y1)."""
    return Boundary(((((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)),),))


CELLS = [
    GridCell("610102", "新城区", GridLevel.DISTRICT),
    GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
    GridCell(TIEYI, "铁一村网格", GridLevel.GRID, COMMUNITY, square(0, 0, 1, 1)),
    GridCell(DAMING, "大明宫院子网格", GridLevel.GRID, COMMUNITY, square(1, 0, 2, 1)),
    GridCell(NORTH, "北拆迁片区网格", GridLevel.GRID, COMMUNITY),
    *(GridCell(f"{TIEYI}{n:03d}", f"铁一村{n}号楼", GridLevel.BUILDING, TIEYI) for n in (1, 3, 12)),
    *(
        GridCell(f"{DAMING}{n:03d}", f"大明宫院子{n}号楼", GridLevel.BUILDING, DAMING)
        for n in (1, 3)
    ),
    GridCell(f"{NORTH}001", "北拆迁片区1号院", GridLevel.BUILDING, NORTH),
]
BOOK = AddressBook(CELLS)


@pytest.mark.parametrize(
    "address",
    [
        "铁一村3号楼",
        "铁一村 3号楼 2单元 501",
        "铁一村３号楼２单元５０１",  # full-width digits
        "铁一村3栋2单元501",
        "铁一村3幢",
        "铁一村3#楼",
        "铁一村3#",
        "铁一村03号栋",
        "铁一村三号楼",
        "铁一村网格 3号楼",
        "明宫社区铁一村3号楼",
        "陕西省西安市新城区自强路街道明宫社区铁一村3号楼2单元501",
    ],
)
def test_the_variants_of_a_building_name_find_it(address: str) -> None:
    """栋/幢/号楼/#, full-width or Chinese numerals, places before it, unit and room after."""
    assert f"{TIEYI}003" == BOOK.building(address)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("铁一村十二栋", f"{TIEYI}012"),
        ("铁一村12号楼", f"{TIEYI}012"),
        ("大明宫院子 1号楼 1单元", f"{DAMING}001"),
        ("北拆迁片区1号院", f"{NORTH}001"),
        ("北拆迁片区 1号院 3室", f"{NORTH}001"),
    ],
)
def test_each_building_is_found_by_its_own_name(address: str, expected: str) -> None:
    """A two-digit number is not read as its last digit; a courtyard is found by its name."""
    assert expected == BOOK.building(address)


def test_a_number_named_in_several_grids_is_ambiguous_not_guessed() -> None:
    """``明宫社区 3号楼``: two grids of the community have a 3号楼; both codes are listed."""
    with pytest.raises(AmbiguousAddressError) as info:
        BOOK.building("明宫社区 3号楼 2单元 501")
    assert (
        (f"{TIEYI}003", f"{DAMING}003"),
        "address: the address matches 2 buildings: name the grid or the building",
    ) == (info.value.candidates, str(info.value))


@pytest.mark.parametrize(
    "address",
    [
        "铁一村13号楼",  # no such number (nor its last digit)
        "铁一村3楼",  # 3楼 is as often the third floor: not normalised
        "大明宫院子12号楼",  # 12号楼 is 铁一村's
        "建强路3号楼",  # a place that is not one of the building's grid, community...
    ],
)
def test_an_address_naming_no_building_is_unknown(address: str) -> None:
    """No building's name fits: UnknownAddressError, the address not repeated."""
    with pytest.raises(UnknownAddressError) as info:
        BOOK.building(address)
    assert "address: no building of the ledger matches the address" == str(info.value)


@pytest.mark.parametrize("address", ["", "   ", "x" * 301, "铁一村\x003号楼", 3])
def test_an_address_that_is_not_short_text_is_refused(address: object) -> None:
    """Empty, too long, a NUL, not text: a ValidationError on ``address``."""
    with pytest.raises(ValidationError) as info:
        BOOK.building(address)  # type: ignore[arg-type]
    assert "address" == info.value.path


@given(st.integers(1, 99), st.sampled_from(["号楼", "栋", "幢", "号栋", "#", "#楼"]))
def test_full_width_digits_and_building_words_normalise_alike(number: int, word: str) -> None:
    """Any building word after any number, half- or full-width, zero-padded, is ``<n>号楼``."""
    padded = f"{number:02d}{word}"
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isascii() else c for c in padded)
    assert [f"{number}号楼"] * 2 == [normalise(f"{number}{word}"), normalise(fullwidth)]


def test_a_case_without_a_cell_is_placed_by_point_else_address() -> None:
    """report_case without a cell: the point's grid, else the address's building.

    Neither: a ValidationError saying so; a point outside every grid without an address:
    OutsideGridError.
    """
    store = open_store("memory://")
    with store() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.commit()
    at = pendulum.datetime(2026, 11, 28, 9, tz="Asia/Shanghai")
    workflow = CaseWorkflow(WorkCalendar())

    def report(uow: UnitOfWork, point: tuple[float, float] | None, address: str) -> Transition:
        return report_case(
            uow,
            workflow,
            category="complaint",
            source=CaseSource.PATROL,
            description="楼道堆物",
            at=at,
            actor="w1",
            point=point,
            address=address,
        )

    with store() as uow:
        by_point = report(uow, (1.5, 0.5), "铁一村3号楼")
        by_address = report(uow, None, "铁一村 3栋 501")
        with pytest.raises(OutsideGridError):
            report(uow, (5.0, 5.0), "")
        with pytest.raises(ValidationError) as neither:
            report(uow, None, "")
    assert (
        DAMING,
        f"{TIEYI}003",
        "point: no cell, point or address to place the case in a grid",
    ) == (
        by_point.case.cell_code,
        by_address.case.cell_code,
        str(neither.value),
    )


def test_a_finder_falls_back_on_the_address_when_the_point_is_outside() -> None:
    """Outside every grid but with an address naming a building: the building."""
    finder = CellFinder(CELLS)
    assert f"{TIEYI}001" == finder.place(point=(9.0, 9.0), address="铁一村1号楼")


def test_a_point_without_the_geo_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without shapely, placing a point raises MissingExtraError; an address needs no extra."""
    monkeypatch.setitem(sys.modules, "shapely", None)
    monkeypatch.delitem(sys.modules, "gridgov.geo", raising=False)
    finder = CellFinder(CELLS)
    with pytest.raises(MissingExtraError) as info:
        finder.place(point=(0.5, 0.5), address="铁一村1号楼")
    assert ("geo", f"{TIEYI}001") == (info.value.extra, finder.place(address="铁一村1号楼"))
