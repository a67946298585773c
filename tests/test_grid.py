"""Tests for gridgov.grid: levels, boundaries, cells, the grid tree, workers and assignments."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.codes import CodeScheme, PhoneNumber, Segment
from gridgov.errors import NotFoundError, ValidationError
from gridgov.grid import (
    ALL_DUTIES,
    Assignment,
    Boundary,
    Duty,
    GridCell,
    GridLevel,
    GridTree,
    LandUse,
    Worker,
    WorkerRole,
)

XINCHENG = "610102"
STREET = "610102001"
MINGGONG = "610102001001"
GRID_1 = "610102001001001"
GRID_2 = "610102001001002"
BUILDING = "610102001001001003"

DAY = pendulum.Date(2026, 12, 1)
SQUARE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0))


def raises_at(path: str, call: Callable[[], object], *secrets: str) -> ValidationError:
    """Check ``call`` raises a ValidationError at ``path`` whose text holds none of ``secrets``."""
    with pytest.raises(ValidationError) as info:
        call()
    assert path == info.value.path
    for secret in secrets:
        assert secret not in str(info.value)
    return info.value


def day(y: int, m: int, d: int) -> pendulum.Date:
    """Return a pendulum Date."""
    return pendulum.Date(y, m, d)


def minggong_cells() -> list[GridCell]:
    """Return a small Xincheng hierarchy down to one building, children before parents."""
    return [
        GridCell(BUILDING, "3号楼", GridLevel.BUILDING, parent_code=GRID_1),
        GridCell(GRID_2, "第二网格", GridLevel.GRID, parent_code=MINGGONG),
        GridCell(GRID_1, "第一网格", GridLevel.GRID, parent_code=MINGGONG),
        GridCell(MINGGONG, "明宫社区", GridLevel.COMMUNITY, parent_code=STREET),
        GridCell(STREET, "某街道", GridLevel.STREET, parent_code=XINCHENG),
        GridCell(XINCHENG, "新城区", GridLevel.DISTRICT),
    ]


@pytest.fixture
def tree() -> GridTree:
    """Return the Minggong hierarchy as a tree."""
    return GridTree(minggong_cells())


# --- GridLevel and vocabularies -----------------------------------------------------------


def test_levels_order_by_depth() -> None:
    """Levels compare and sort from district (depth 0) to building (depth 4)."""
    assert [0, 1, 2, 3, 4] == [lv.depth for lv in GridLevel]
    assert GridLevel.DISTRICT < GridLevel.STREET
    assert GridLevel.GRID <= GridLevel.GRID
    assert not GridLevel.BUILDING < GridLevel.GRID
    assert list(GridLevel) == sorted(
        [
            GridLevel.BUILDING,
            GridLevel.STREET,
            GridLevel.DISTRICT,
            GridLevel.GRID,
            GridLevel.COMMUNITY,
        ]
    )


def test_level_child_and_labels() -> None:
    """Each level knows the one below it and its Chinese name."""
    assert GridLevel.STREET == GridLevel.DISTRICT.child()
    assert GridLevel.BUILDING == GridLevel.GRID.child()
    assert GridLevel.BUILDING.child() is None
    assert ["区", "街道", "社区", "网格", "楼栋"] == [lv.label_zh for lv in GridLevel]


def test_level_does_not_order_against_other_types() -> None:
    """Comparing a level with a non-level raises TypeError, as for any unorderable pair."""
    with pytest.raises(TypeError):
        _ = GridLevel.GRID < 3


def test_duties_of_a_comprehensive_grid() -> None:
    """ALL_DUTIES holds the eight built-in networks with Chinese labels."""
    assert 8 == len(ALL_DUTIES)
    assert Duty.ELDER_CARE in ALL_DUTIES
    assert "养老关爱" == Duty.ELDER_CARE.label_zh
    assert frozenset(Duty.builtins()) == ALL_DUTIES


def test_worker_roles_are_builtin() -> None:
    """The built-in roles carry labels; platforms may add their own."""
    assert "网格员" == WorkerRole.GRID_WORKER.label_zh
    assert WorkerRole.GRID_WORKER in WorkerRole.builtins()
    assert not WorkerRole("night_patrol").is_builtin


# --- Boundary -----------------------------------------------------------------------------


def test_boundary_from_lists_is_immutable() -> None:
    """Nested lists are converted to tuples."""
    b = Boundary([[[list(p) for p in SQUARE]]])
    assert ((SQUARE,),) == b.polygons
    assert isinstance(b.polygons[0][0][0], tuple)


def test_single_polygon_to_geojson() -> None:
    """One polygon is written as a GeoJSON Polygon."""
    geo = Boundary([[SQUARE]]).to_geojson()
    assert {"type": "Polygon", "coordinates": [[list(p) for p in SQUARE]]} == geo


def test_multi_polygon_to_geojson() -> None:
    """Several polygons are written as a GeoJSON MultiPolygon."""
    other = tuple((x + 5, y) for x, y in SQUARE)
    geo = Boundary([[SQUARE], [other]]).to_geojson()
    assert "MultiPolygon" == geo["type"]
    assert [[[list(p) for p in SQUARE]], [[list(p) for p in other]]] == geo["coordinates"]


def test_polygon_with_hole() -> None:
    """A polygon may have holes after its exterior ring."""
    outer = ((0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0))
    hole = ((1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 1.0))
    assert 2 == len(Boundary([[outer, hole]]).polygons[0])


positions = st.tuples(
    st.floats(min_value=-180, max_value=180, allow_nan=False),
    st.floats(min_value=-90, max_value=90, allow_nan=False),
)
rings = st.lists(positions, min_size=3, max_size=8).map(lambda ps: (*ps, ps[0]))
polygons = st.lists(rings, min_size=1, max_size=3)
boundaries = st.lists(polygons, min_size=1, max_size=3).map(Boundary)


@given(boundaries)
def test_geojson_round_trip(boundary: Boundary) -> None:
    """Writing a boundary as GeoJSON and reading it back gives an equal boundary."""
    assert boundary == Boundary.from_geojson(boundary.to_geojson())


def test_from_geojson_polygon() -> None:
    """A GeoJSON Polygon becomes a one-polygon boundary."""
    geo = {"type": "Polygon", "coordinates": [[list(p) for p in SQUARE]]}
    assert Boundary([[SQUARE]]) == Boundary.from_geojson(geo)


@pytest.mark.parametrize(
    ("polygons", "path"),
    [
        ([], "polygons"),
        (None, "polygons"),
        ([[]], "polygons[0]"),
        ([[SQUARE[:3]]], "polygons[0][0]"),
        ([[((0, 0), (1, 0), (1, 1), (0, 1))]], "polygons[0][0]"),
        ([[SQUARE], [((0, 0), (1, 0), (1, 1), (0, 2))]], "polygons[1][0]"),
        ([[SQUARE, ((0, 0), (1, 0), (1, 1), (0, 2))]], "polygons[0][1]"),
        ([[((181, 0), (1, 0), (1, 1), (181, 0))]], "polygons[0][0][0]"),
        ([[((0, 0), (-180.5, 0), (1, 1), (0, 0))]], "polygons[0][0][1]"),
        ([[((0, 0), (1, 91), (1, 1), (0, 0))]], "polygons[0][0][1]"),
        ([[((0, 0), (1, 0), (1, -90.01), (0, 0))]], "polygons[0][0][2]"),
        ([[((0, 0), (math.nan, 0), (1, 1), (0, 0))]], "polygons[0][0][1]"),
        ([[((0, 0), (1, math.inf), (1, 1), (0, 0))]], "polygons[0][0][1]"),
        ([[((0, 0), (True, 0), (1, 1), (0, 0))]], "polygons[0][0][1]"),
        ([[((0, 0), ("1", 0), (1, 1), (0, 0))]], "polygons[0][0][1]"),
        ([[((0, 0), (1, 0, 5), (1, 1), (0, 0))]], "polygons[0][0][1]"),
    ],
)
def test_boundary_rejects(polygons: object, path: str) -> None:
    """Empty, short, open rings and positions out of range are rejected where they sit."""
    raises_at(path, lambda: Boundary(polygons))


def test_boundary_reports_longitude_range() -> None:
    """A longitude beyond ±180 is reported as out of range."""
    err = raises_at("polygons[0][0][0]", lambda: Boundary([[((200, 0), (1, 0), (1, 1), (200, 0))]]))
    assert "longitude" in err.problem


def test_boundary_reports_unclosed_ring() -> None:
    """An open ring is reported as not closed."""
    err = raises_at("polygons[0][0]", lambda: Boundary([[((0, 0), (1, 0), (1, 1), (0, 1))]]))
    assert "closed" in err.problem


def test_boundary_rejects_missing_nesting_level() -> None:
    """A list of rings passed where a list of polygons is expected raises ValidationError."""
    with pytest.raises(ValidationError):
        Boundary([SQUARE])


def test_from_geojson_rejects_missing_coordinates() -> None:
    """A Polygon without coordinates is rejected with a ValidationError."""
    with pytest.raises(ValidationError):
        Boundary.from_geojson({"type": "Polygon"})


def test_from_geojson_rejects_other_types() -> None:
    """A GeoJSON Point is rejected at ``type``; a non-mapping with an empty path."""
    raises_at("type", lambda: Boundary.from_geojson({"type": "Point", "coordinates": [0, 0]}))
    raises_at("", lambda: Boundary.from_geojson([1, 2]))  # type: ignore[arg-type]


# --- GridCell -----------------------------------------------------------------------------


def test_cell_defaults() -> None:
    """A cell defaults to no parent, boundary or duties and version 0."""
    cell = GridCell(XINCHENG, "新城区", GridLevel.DISTRICT)
    assert cell.parent_code is None
    assert cell.boundary is None
    assert frozenset() == cell.duties
    assert 0 == cell.version


def test_cell_duties_become_a_frozenset() -> None:
    """Duties given as a list are stored as a frozenset."""
    cell = GridCell(GRID_1, "第一网格", GridLevel.GRID, MINGGONG, duties=[Duty.SAFETY, Duty.SAFETY])
    assert frozenset({Duty.SAFETY}) == cell.duties


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"code": ""}, "code"),
        ({"code": " 610102"}, "code"),
        ({"code": "6" * 65}, "code"),
        ({"code": 610102}, "code"),
        ({"name": ""}, "name"),
        ({"name": "名" * 101}, "name"),
        ({"level": "grid"}, "level"),
        ({"parent_code": ""}, "parent_code"),
        ({"parent_code": XINCHENG}, "parent_code"),
        ({"boundary": [[SQUARE]]}, "boundary"),
        ({"duties": ["safety"]}, "duties[0]"),
        ({"duties": "safety"}, "duties"),
        ({"version": -1}, "version"),
        ({"version": True}, "version"),
        ({"management_grade": 0}, "management_grade"),
        ({"management_grade": 10}, "management_grade"),
        ({"management_grade": "1"}, "management_grade"),
        ({"management_grade": True}, "management_grade"),
        ({"land_use": "residential"}, "land_use"),
        ({"responsible_body": " 居委会"}, "responsible_body"),
        ({"responsible_body": "名" * 101}, "responsible_body"),
        ({"valid_from": dt.date(2026, 1, 1)}, "valid_from"),
        ({"valid_to": pendulum.datetime(2026, 1, 1)}, "valid_to"),
        ({"valid_from": DAY, "valid_to": DAY.subtract(days=1)}, "valid_to"),
    ],
)
def test_cell_rejects(kwargs: dict[str, object], path: str) -> None:
    """Each malformed cell field is rejected with its name (a cell cannot be its own parent)."""
    fields: dict[str, object] = {"code": XINCHENG, "name": "新城区", "level": GridLevel.DISTRICT}
    fields.update(kwargs)
    raises_at(path, lambda: GridCell(**fields))  # type: ignore[arg-type]


def test_a_cell_is_active_from_its_first_to_its_last_day() -> None:
    """Both days count; a cell without dates is active on any day."""
    cell = GridCell(
        XINCHENG, "新城区", GridLevel.DISTRICT, valid_from=DAY, valid_to=DAY.add(days=1)
    )
    days = [DAY.subtract(days=1), DAY, DAY.add(days=1), DAY.add(days=2)]
    undated = GridCell(XINCHENG, "新城区", GridLevel.DISTRICT)
    assert ([False, True, True, False], [True] * 4) == (
        [cell.active_on(d) for d in days],
        [undated.active_on(d) for d in days],
    )


def test_land_uses_are_the_national_first_level_classes_and_open() -> None:
    """Twelve built-ins from GB/T 21010-2017, labelled in Chinese; a deployment's own code too."""
    assert (12, "住宅用地", "c07") == (
        len(LandUse.builtins()),
        LandUse.RESIDENTIAL.label_zh,
        LandUse("c07").code,
    )


def test_the_active_tree_leaves_out_retired_and_future_cells_and_their_subtrees() -> None:
    """Grid 1 retired the day before (its building with it), grid 2 begins later."""
    tree = GridTree(
        [
            GridCell(XINCHENG, "新城区", GridLevel.DISTRICT),
            GridCell(STREET, "街道", GridLevel.STREET, XINCHENG),
            GridCell(MINGGONG, "明宫社区", GridLevel.COMMUNITY, STREET),
            GridCell(GRID_1, "一", GridLevel.GRID, MINGGONG, valid_to=DAY.subtract(days=1)),
            GridCell(GRID_2, "二", GridLevel.GRID, MINGGONG, valid_from=DAY.add(days=1)),
            GridCell(BUILDING, "楼", GridLevel.BUILDING, GRID_1),
        ]
    )
    on_day = tree.active_on(DAY)
    later = tree.active_on(DAY.add(days=1))
    assert ([XINCHENG, STREET, MINGGONG], (), [GRID_2], 6) == (
        [c.code for c in on_day],
        on_day.children(MINGGONG),
        [c.code for c in later.children(MINGGONG)],
        len(tree),
    )


def test_check_code_accepts_a_fitting_code() -> None:
    """A code of the right length extending the parent's passes check_code."""
    GridCell(GRID_1, "第一网格", GridLevel.GRID, parent_code=MINGGONG).check_code()


def test_check_code_rejects_the_wrong_length_for_the_level() -> None:
    """A 12-digit code on a grid cell is rejected at ``code``."""
    raises_at("code", lambda: GridCell(MINGGONG, "x", GridLevel.GRID).check_code())


def test_check_code_rejects_a_code_not_extending_the_parent() -> None:
    """A grid code that does not start with its community's code is rejected at ``code``."""
    cell = GridCell("610102001002001", "x", GridLevel.GRID, parent_code=MINGGONG)
    raises_at("code", lambda: cell.check_code())


def test_check_code_names_level_the_scheme_lacks() -> None:
    """A cell whose level the scheme does not code is rejected at ``level``."""
    scheme = CodeScheme("c", [Segment(GridLevel.COMMUNITY, 3), Segment(GridLevel.GRID, 3)])
    raises_at("level", lambda: GridCell(XINCHENG, "x", GridLevel.DISTRICT).check_code(scheme))


# --- GridTree -----------------------------------------------------------------------------


def test_tree_size_and_membership(tree: GridTree) -> None:
    """The tree holds every cell, by code."""
    assert 6 == len(tree)
    assert MINGGONG in tree
    assert "610102001001009" not in tree
    assert 42 not in tree


def test_tree_roots(tree: GridTree) -> None:
    """The roots are the cells without a parent."""
    assert [XINCHENG] == [c.code for c in tree.roots]


def test_tree_get(tree: GridTree) -> None:
    """get() returns the cell with the code."""
    assert "明宫社区" == tree.get(MINGGONG).name


def test_tree_get_unknown_raises_not_found(tree: GridTree) -> None:
    """get() of an unknown code raises NotFoundError naming the code."""
    with pytest.raises(NotFoundError) as info:
        tree.get("610102999")
    assert "cell" == info.value.kind
    assert "610102999" == info.value.key


def test_tree_get_unhashable_raises_not_found(tree: GridTree) -> None:
    """get() of an unhashable key raises NotFoundError, not TypeError."""
    with pytest.raises(NotFoundError):
        tree.get([MINGGONG])  # type: ignore[arg-type]


def test_tree_navigation(tree: GridTree) -> None:
    """parent, children, ancestors, descendants and path follow the hierarchy."""
    parent = tree.parent(GRID_1)
    assert parent is not None
    assert MINGGONG == parent.code
    assert tree.parent(XINCHENG) is None
    assert [GRID_1, GRID_2] == [c.code for c in tree.children(MINGGONG)]
    assert () == tree.children(BUILDING)
    assert [MINGGONG, STREET, XINCHENG] == [c.code for c in tree.ancestors(GRID_2)]
    assert [GRID_1, BUILDING, GRID_2] == [c.code for c in tree.descendants(MINGGONG)]
    assert [XINCHENG, STREET, MINGGONG, GRID_1] == [c.code for c in tree.path(GRID_1)]


def test_tree_contains(tree: GridTree) -> None:
    """contains() holds for the cell itself and every cell below it only."""
    assert tree.contains(MINGGONG, MINGGONG)
    assert tree.contains(XINCHENG, BUILDING)
    assert not tree.contains(GRID_2, BUILDING)
    assert not tree.contains(BUILDING, GRID_1)


def test_tree_navigation_of_unknown_code_raises(tree: GridTree) -> None:
    """Navigating from an unknown code raises NotFoundError."""
    for call in (
        lambda: tree.parent("nope"),
        lambda: tree.children("nope"),
        lambda: tree.ancestors("nope"),
        lambda: tree.descendants("nope"),
        lambda: tree.path("nope"),
        lambda: tree.contains("nope", MINGGONG),
        lambda: tree.contains(MINGGONG, "nope"),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_tree_at_level(tree: GridTree) -> None:
    """at_level() lists a level's cells by code."""
    assert [GRID_1, GRID_2] == [c.code for c in tree.at_level(GridLevel.GRID)]
    assert () == GridTree([]).at_level(GridLevel.GRID)


def test_tree_iterates_depth_first_by_code(tree: GridTree) -> None:
    """Iteration is depth first, parents before children, siblings by code."""
    expected = [XINCHENG, STREET, MINGGONG, GRID_1, BUILDING, GRID_2]
    assert expected == [c.code for c in tree]


def test_tree_repr(tree: GridTree) -> None:
    """The repr gives the size and the scheme."""
    assert "GridTree(6 cells, scheme='statistical')" == repr(tree)


def test_tree_accepts_several_roots_and_a_custom_scheme() -> None:
    """A forest of communities under a community-rooted scheme is a valid tree."""
    scheme = CodeScheme(
        "c", [Segment(GridLevel.COMMUNITY, 2, "[A-Z0-9]"), Segment(GridLevel.GRID, 2)], "-"
    )
    forest = GridTree(
        [
            GridCell("B1", "b", GridLevel.COMMUNITY),
            GridCell("A1", "a", GridLevel.COMMUNITY),
            GridCell("A1-01", "a1", GridLevel.GRID, parent_code="A1"),
        ],
        scheme,
    )
    assert scheme is forest.scheme
    assert ["A1", "B1"] == [c.code for c in forest.roots]
    assert ["A1", "A1-01", "B1"] == [c.code for c in forest]


def test_tree_rejects_unknown_parent() -> None:
    """A cell whose parent is not in the tree is rejected at ``cells[i].parent_code``."""
    cells = [
        GridCell(XINCHENG, "新城区", GridLevel.DISTRICT),
        GridCell("610103001", "x", GridLevel.STREET, parent_code="610103"),
    ]
    raises_at("cells[1].parent_code", lambda: GridTree(cells))


def test_tree_rejects_duplicate_codes() -> None:
    """A second cell with the same code is rejected at ``cells[i].code``."""
    cells = [*minggong_cells(), GridCell(GRID_2, "重复", GridLevel.GRID, parent_code=MINGGONG)]
    raises_at("cells[6].code", lambda: GridTree(cells))


def test_tree_rejects_child_at_wrong_level() -> None:
    """A grid directly under a street is rejected at ``cells[i].level``."""
    cells = [
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell(STREET, "街道", GridLevel.STREET, parent_code="610102"),
        GridCell("610102001001", "x", GridLevel.GRID, parent_code=STREET),
    ]
    err = raises_at("cells[2].level", lambda: GridTree(cells))
    assert "grid" in err.problem


def test_tree_rejects_code_not_extending_parent() -> None:
    """A child code that does not extend its parent's is rejected at ``cells[i].code``."""
    cells = [
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell(STREET, "街道", GridLevel.STREET, parent_code="610102"),
        GridCell(MINGGONG, "明宫社区", GridLevel.COMMUNITY, parent_code=STREET),
        GridCell("610102001002001", "x", GridLevel.GRID, parent_code=MINGGONG),
    ]
    raises_at("cells[3].code", lambda: GridTree(cells))


def test_tree_rejects_a_root_below_the_top_level() -> None:
    """A community without its parent is rejected: only the scheme's top level is a root."""
    cells = [GridCell(MINGGONG, "明宫社区", GridLevel.COMMUNITY)]
    raises_at("cells[0].parent_code", lambda: GridTree(cells))


def test_tree_rejects_malformed_root_code() -> None:
    """A root whose code does not fit its level is rejected at ``cells[i].code``."""
    raises_at("cells[0].code", lambda: GridTree([GridCell("61010", "x", GridLevel.DISTRICT)]))


def test_tree_rejects_non_cells() -> None:
    """A non-cell in the input is rejected at ``cells[i]``."""
    raises_at("cells[1]", lambda: GridTree([GridCell(XINCHENG, "x", GridLevel.DISTRICT), "y"]))  # type: ignore[list-item]


@st.composite
def random_trees(draw: st.DrawFn) -> list[GridCell]:
    """Draw a random valid hierarchy under the default scheme, in a random order."""
    cells: list[GridCell] = []

    def grow(code: str, level: GridLevel) -> None:
        child_level = level.child()
        if child_level is None:
            return
        width = 3 if level is GridLevel.DISTRICT else 2
        for seq in draw(st.lists(st.integers(1, 999), max_size=width, unique=True)):
            child = f"{code}{seq:03d}"
            cells.append(GridCell(child, f"cell {child}", child_level, parent_code=code))
            grow(child, child_level)

    for root in draw(st.lists(st.sampled_from(["610102", "110105"]), min_size=1, unique=True)):
        cells.append(GridCell(root, f"district {root}", GridLevel.DISTRICT))
        grow(root, GridLevel.DISTRICT)
    return draw(st.permutations(cells))


@given(random_trees())
def test_random_tree_invariants(cells: list[GridCell]) -> None:
    """In any tree, descendants are contained, ancestors agree with contains, codes nest."""
    tree = GridTree(cells)
    assert len(cells) == len(tree)
    codes = [c.code for c in tree]
    assert sorted(c.code for c in cells) == sorted(codes)
    for outer in tree:
        below = tree.descendants(outer.code)
        assert all(tree.contains(outer.code, d.code) for d in below)
        assert all(d.code.startswith(outer.code) for d in below)
        assert len(below) + 1 == sum(tree.contains(outer.code, c) for c in codes)
        for inner in codes:
            above = {a.code for a in tree.ancestors(inner)}
            assert (outer.code in above or outer.code == inner) == tree.contains(outer.code, inner)


@given(random_trees())
def test_random_tree_order_and_paths(cells: list[GridCell]) -> None:
    """Iteration visits parents first, independent of input order; paths run root to cell."""
    tree = GridTree(cells)
    seen: set[str] = set()
    for cell in tree:
        assert cell.parent_code is None or cell.parent_code in seen
        seen.add(cell.code)
        path = tree.path(cell.code)
        assert cell == path[-1]
        assert path[0].parent_code is None
        depths = list(range(path[0].level.depth, cell.level.depth + 1))
        assert depths == [p.level.depth for p in path]
    assert list(tree) == list(GridTree(sorted(cells, key=lambda c: c.code)))


# --- Assignment ---------------------------------------------------------------------------


def test_assignment_is_inclusive() -> None:
    """An assignment covers its first and last day and nothing outside."""
    a = Assignment(GRID_1, day(2024, 1, 1), day(2024, 6, 30))
    assert a.active_on(day(2024, 1, 1))
    assert a.active_on(day(2024, 6, 30))
    assert not a.active_on(day(2023, 12, 31))
    assert not a.active_on(day(2024, 7, 1))


def test_open_assignment_lasts() -> None:
    """An assignment without an end covers every later day."""
    assert Assignment(GRID_1, day(2024, 1, 1)).active_on(day(2099, 1, 1))


def test_one_day_assignment() -> None:
    """An assignment may start and end on the same day."""
    assert Assignment(GRID_1, day(2024, 1, 1), day(2024, 1, 1)).active_on(day(2024, 1, 1))


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"end": day(2023, 12, 31)}, "end"),
        ({"start": dt.date(2024, 1, 1)}, "start"),
        ({"start": pendulum.datetime(2024, 1, 1)}, "start"),
        ({"end": "2024-12-31"}, "end"),
        ({"cell_code": ""}, "cell_code"),
        ({"duties": ["x"]}, "duties[0]"),
    ],
)
def test_assignment_rejects(kwargs: dict[str, object], path: str) -> None:
    """An end before the start and malformed fields are rejected with the field name."""
    fields: dict[str, object] = {"cell_code": GRID_1, "start": day(2024, 1, 1)}
    fields.update(kwargs)
    raises_at(path, lambda: Assignment(**fields))  # type: ignore[arg-type]


optional_days = st.one_of(st.none(), st.integers(0, 20))


@st.composite
def periods(draw: st.DrawFn) -> Assignment:
    """Draw an assignment over a small range of days in January 2024."""
    start = draw(st.integers(0, 20))
    length = draw(optional_days)
    end = None if length is None else day(2024, 1, 1).add(days=start + length)
    return Assignment(GRID_1, day(2024, 1, 1).add(days=start), end)


@given(periods(), periods())
def test_overlaps_means_a_common_day(a: Assignment, b: Assignment) -> None:
    """Two assignments overlap iff some day is covered by both; overlap is symmetric."""
    days = [day(2024, 1, 1).add(days=i) for i in range(50)]
    common = any(a.active_on(d) and b.active_on(d) for d in days)
    assert common == a.overlaps(b)
    assert a.overlaps(b) == b.overlaps(a)


# --- Worker -------------------------------------------------------------------------------


def test_worker_cells_on() -> None:
    """cells_on() lists the cells assigned on a day, sorted and without duplicates."""
    w = Worker(
        "w-1",
        "王芳",
        roles=[WorkerRole.GRID_WORKER],
        assignments=[
            Assignment(GRID_2, day(2024, 1, 1)),
            Assignment(GRID_1, day(2023, 1, 1), day(2023, 12, 31)),
            Assignment(GRID_1, day(2024, 3, 1)),
        ],
    )
    assert (GRID_2,) == w.cells_on(day(2024, 2, 1))
    assert (GRID_1, GRID_2) == w.cells_on(day(2024, 3, 1))
    assert (GRID_1,) == w.cells_on(day(2023, 6, 1))
    assert () == w.cells_on(day(2022, 1, 1))
    assert frozenset({WorkerRole.GRID_WORKER}) == w.roles


def test_worker_rejects_overlapping_assignments_to_one_cell() -> None:
    """Two overlapping assignments to the same cell are rejected at the second one."""
    assignments = [
        Assignment(GRID_1, day(2024, 1, 1), day(2024, 6, 30)),
        Assignment(GRID_2, day(2024, 1, 1)),
        Assignment(GRID_1, day(2024, 6, 30)),
    ]
    raises_at("assignments[2]", lambda: Worker("w-1", "王芳", assignments=assignments), "王芳")


def test_worker_may_cover_two_cells_at_once() -> None:
    """Simultaneous assignments to different cells are allowed."""
    w = Worker(
        "w-1",
        "王芳",
        assignments=[Assignment(GRID_1, day(2024, 1, 1)), Assignment(GRID_2, day(2024, 1, 1))],
    )
    assert 2 == len(w.assignments)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"id": ""}, "id"),
        ({"id": "-w1"}, "id"),
        ({"name": ""}, "name"),
        ({"name": "王" * 51}, "name"),
        ({"roles": ["grid_worker"]}, "roles[0]"),
        ({"roles": [Duty.SAFETY]}, "roles[0]"),
        ({"assignments": [GRID_1]}, "assignments[0]"),
        ({"phone": "12345"}, "phone"),
        ({"phone": 13812345678}, "phone"),
        ({"version": -2}, "version"),
    ],
)
def test_worker_rejects(kwargs: dict[str, object], path: str) -> None:
    """Malformed worker fields are rejected with their name and no personal data."""
    fields: dict[str, object] = {"id": "w-1", "name": "王芳"}
    fields.update(kwargs)
    raises_at(path, lambda: Worker(**fields), "王芳", "13812345678")  # type: ignore[arg-type]


@given(st.text("王李张刘陈杨黄赵吴周芳伟娜敏静", min_size=2, max_size=6))
def test_worker_repr_masks_name_and_phone(name: str) -> None:
    """A worker's repr and str show neither the full name nor the full phone."""
    w = Worker("w-1", name, phone=PhoneNumber("13812345678"))
    for text in (repr(w), str(w)):
        assert name not in text
        assert "13812345678" not in text
        assert "138****5678" in text


def test_worker_repr_shape() -> None:
    """The repr lists id, masked name, sorted roles, assignment count and masked phone."""
    w = Worker("w-1", "Tian Lin", roles=[WorkerRole.GRID_LEADER, WorkerRole.GRID_WORKER])
    expected = (
        "Worker(id='w-1', name='T*******', roles=['grid_leader', 'grid_worker'], "
        "assignments=0, phone=None)"
    )
    assert expected == repr(w)
