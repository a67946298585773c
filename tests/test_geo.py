"""Points to cells over the stored boundaries (gridgov.geo); Open311 requests placed by point."""

from __future__ import annotations

import importlib
import itertools
import sys

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov import GridCell, GridLevel, open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import CaseWorkflow
from gridgov.errors import MissingExtraError, OutsideGridError, ValidationError
from gridgov.grid import Boundary
from gridgov.interop.open311 import import_requests

pytest.importorskip("shapely", reason="shapely is not installed (pip install 'gridgov[geo]')")

from gridgov.geo import CellLocator

COMMUNITY, WEST, EAST = "610102003006", "610102003006001", "610102003006002"
BUILDING = f"{WEST}001"


def square(x0: float, y0: float, x1: float, y1: float, *holes: Boundary) -> Boundary:
    """Return the rectangle from (x0, y0) to (x1, y1), with the holes' outer rings cut out."""
    ring = ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))
    return Boundary(((ring, *(h.polygons[0][0] for h in holes)),))


CELLS = [
    GridCell("610102", "新城区", GridLevel.DISTRICT),
    GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003", square(0, 0, 2, 1)),
    GridCell(WEST, "西网格", GridLevel.GRID, COMMUNITY, square(0, 0, 1, 1)),
    GridCell(
        EAST, "东网格", GridLevel.GRID, COMMUNITY, square(1, 0, 2, 1, square(1.4, 0.4, 1.6, 0.6))
    ),
    GridCell(BUILDING, "1号楼", GridLevel.BUILDING, WEST, square(0.2, 0.2, 0.4, 0.4)),
]
LOCATOR = CellLocator(CELLS)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.3, 0.3), BUILDING),  # the deepest cell covering it
        ((0.7, 0.5), WEST),
        ((1.2, 0.5), EAST),
        ((1.0, 0.5), WEST),  # on the shared edge: the lower code
        ((1.5, 0.5), COMMUNITY),  # in the east grid's hole: only the community covers it
        ((0.2, 0.3), BUILDING),  # on the building's edge: the building covers its edge
    ],
    ids=["building", "grid", "other-grid", "shared-edge", "hole", "building-edge"],
)
def test_a_point_lies_in_the_deepest_cell_covering_it(
    point: tuple[float, float], expected: str
) -> None:
    """Building before grid before community; a shared edge goes to the lower code."""
    assert expected == LOCATOR.locate(*point)


def test_a_point_outside_every_grid_is_an_error_naming_the_field() -> None:
    """``locate`` raises OutsideGridError (a ValidationError); ``locate_many`` gives None."""
    with pytest.raises(OutsideGridError) as info:
        LOCATOR.locate(3.0, 3.0, path="long")
    assert ("long: the point lies outside every grid", [None]) == (
        str(info.value),
        LOCATOR.locate_many([(3.0, 3.0)]),
    )


@st.composite
def tilings(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    """Cut positions of a district into columns and rows of grids (1-6 each way)."""
    cuts = st.lists(st.integers(1, 99), max_size=5, unique=True)
    xs = sorted({0.0, 1.0, *(c / 100 for c in draw(cuts))})
    ys = sorted({0.0, 1.0, *(c / 100 for c in draw(cuts))})
    return xs, ys


def tiled(xs: list[float], ys: list[float]) -> list[GridCell]:
    """Return the community over the unit square and one grid per tile, coded row by row."""
    cells = [*CELLS[:2], GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003")]
    n = 0
    for y0, y1 in itertools.pairwise(ys):
        for x0, x1 in itertools.pairwise(xs):
            n += 1
            code = f"{COMMUNITY}{n:03d}"
            cells.append(
                GridCell(code, f"网格{n}", GridLevel.GRID, COMMUNITY, square(x0, y0, x1, y1))
            )
    return cells


@settings(max_examples=40, deadline=None)
@given(tilings(), st.data())
def test_random_points_inside_tiles_lie_in_their_tile(
    tiling: tuple[list[float], list[float]], data: st.DataObject
) -> None:
    """A point strictly inside a tile is in that grid.

    On a shared edge or corner: the lowest code of the tiles meeting there; beyond the district:
    outside every grid.
    """
    xs, ys = tiling
    locator = CellLocator(tiled(xs, ys))
    col = data.draw(st.integers(0, len(xs) - 2))
    row = data.draw(st.integers(0, len(ys) - 2))
    fx, fy = data.draw(st.floats(0.05, 0.95)), data.draw(st.floats(0.05, 0.95))
    x = xs[col] + fx * (xs[col + 1] - xs[col])
    y = ys[row] + fy * (ys[row + 1] - ys[row])

    def code(c: int, r: int) -> str:
        return f"{COMMUNITY}{r * (len(xs) - 1) + c + 1:03d}"

    # The lower-left corner of the tile: the tiles meeting there, the lowest code wins.
    corner = min(code(c, r) for c in (col - 1, col) for r in (row - 1, row) if c >= 0 and r >= 0)
    edge = code(col - 1, row) if col else code(col, row)
    assert (code(col, row), edge, corner) == (
        locator.locate(x, y),
        locator.locate(xs[col], y),
        locator.locate(xs[col], ys[row]),
    )
    with pytest.raises(OutsideGridError):
        locator.locate(1.0 + fx, y)


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without shapely, importing gridgov.geo raises MissingExtraError naming ``geo``."""
    monkeypatch.setitem(sys.modules, "shapely", None)
    monkeypatch.delitem(sys.modules, "gridgov.geo")
    with pytest.raises(MissingExtraError) as info:
        importlib.import_module("gridgov.geo")
    assert (
        "geo",
        "gridgov.geo needs the 'geo' extra (shapely 2): pip install 'gridgov[geo]'",
    ) == (info.value.extra, str(info.value))


@settings(max_examples=50)
@given(st.lists(st.tuples(st.floats(-0.5, 2.5), st.floats(-0.5, 1.5)), max_size=20))
def test_many_points_are_located_as_one_by_one(points: list[tuple[float, float]]) -> None:
    """``locate_many`` gives, point by point, what ``locate`` gives (None where it raises)."""

    def one(point: tuple[float, float]) -> str | None:
        try:
            return LOCATOR.locate(*point)
        except OutsideGridError:
            return None

    assert [one(p) for p in points] == LOCATOR.locate_many(points)


@pytest.mark.parametrize("points", [[(0.1, float("nan"))], [(0.1,)], [("a", "b")]])
def test_points_that_are_not_pairs_of_numbers_are_refused(points: list[tuple[float, ...]]) -> None:
    """NaN, a lone coordinate, text: a ValidationError on ``points``, not a numpy error."""
    with pytest.raises(ValidationError) as info:
        LOCATOR.locate_many(points)  # type: ignore[arg-type]
    assert "points" == info.value.path


def test_open311_requests_are_placed_by_their_point() -> None:
    """Inside a grid: a case there; outside every grid or without a point: that request's error."""
    store = open_store("memory://")
    with store() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.commit()
    requests = [
        {"service_code": "complaint", "description": "楼道堆物", "long": "1.2", "lat": "0.5"},
        {"service_code": "complaint", "description": "井盖", "long": "5", "lat": "5"},
        {"service_code": "complaint", "description": "路灯", "address_string": "2号楼"},
    ]
    now = pendulum.datetime(2026, 11, 28, 9, tz="Asia/Shanghai")
    with store() as uow:
        locator = CellLocator.of_store(uow)
        result = import_requests(
            uow,
            CaseWorkflow(WorkCalendar()),
            requests,
            cell_for=locator.cell_for,
            at=now,
            actor="w1",
        )
        placed = import_requests(
            uow,
            CaseWorkflow(WorkCalendar()),
            requests[:1],
            cell_for=locator.cell_for,
            at=now,
            actor="w1",
        )
        cells = [uow.cases.get(key).cell_code for key in placed.created]
    descriptions = {i: [e["description"] for e in errors] for i, errors in result.errors.items()}
    assert (
        {
            1: ["long: the point lies outside every grid"],
            2: ["lat: no point to place the request in a grid: give lat/long"],
        },
        [EAST],
    ) == (descriptions, cells)


def test_open311_requests_without_a_cell_are_placed_by_point_else_address() -> None:
    """The default ``cell_for``: the point's grid, else the address's building.

    A point outside every grid with no building named is that request's clear error.
    """
    store = open_store("memory://")
    with store() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.commit()
    point = {"service_code": "complaint", "description": "楼道堆物", "long": "1.2", "lat": "0.5"}
    address = {"service_code": "complaint", "description": "路灯", "address_string": "1号楼"}
    outside = {**point, "long": "5", "lat": "5", "address_string": "9号楼"}
    now = pendulum.datetime(2026, 11, 28, 9, tz="Asia/Shanghai")
    with store() as uow:
        failed = import_requests(
            uow, CaseWorkflow(WorkCalendar()), [point, address, outside], at=now, actor="w1"
        )
        placed = import_requests(
            uow, CaseWorkflow(WorkCalendar()), [point, address], at=now, actor="w1"
        )
        cells = [uow.cases.get(key).cell_code for key in placed.created]
    descriptions = {i: [e["description"] for e in errors] for i, errors in failed.errors.items()}
    assert (
        {
            2: [
                "long: the point lies outside every grid",
                "address_string: no building of the ledger matches the address",
            ]
        },
        [EAST, BUILDING],
    ) == (descriptions, cells)
