"""Points to cells over the stored boundaries (gridgov.geo); Open311 requests placed by point."""

from __future__ import annotations

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov import GridCell, GridLevel, open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import CaseWorkflow
from gridgov.errors import ValidationError
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
        ((3.0, 3.0), None),  # outside every cell
    ],
    ids=["building", "grid", "other-grid", "shared-edge", "hole", "outside"],
)
def test_a_point_lies_in_the_deepest_cell_covering_it(
    point: tuple[float, float], expected: str | None
) -> None:
    """Building before grid before community; a shared edge goes to the lower code."""
    assert expected == LOCATOR.locate(*point)


@settings(max_examples=50)
@given(st.lists(st.tuples(st.floats(-0.5, 2.5), st.floats(-0.5, 1.5)), max_size=20))
def test_many_points_are_located_as_one_by_one(points: list[tuple[float, float]]) -> None:
    """``locate_many`` gives, point by point, what ``locate`` gives."""
    assert [LOCATOR.locate(*p) for p in points] == LOCATOR.locate_many(points)


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
