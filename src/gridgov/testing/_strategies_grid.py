"""Hypothesis strategies for the area hierarchy: cell codes, cells, trees, workers, schemes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import attrs
import pendulum
from hypothesis import strategies as st

from gridgov._levels import GridLevel
from gridgov.codes import (
    DEFAULT_SCHEME,
    CodeScheme,
    PhoneNumber,
    Segment,
)
from gridgov.grid import Assignment, Boundary, Duty, GridCell, GridTree, Worker, WorkerRole
from gridgov.testing._strategies_basics import (
    _ALPHABETS,
    _LEVEL_SUFFIX,
    _PLACE_SYLLABLES,
    _SEPARATORS,
    _address_codes,
    _codes,
    _given,
    _maybe,
    dates,
    duties,
    identifiers,
    personal_names,
    phone_numbers,
    worker_roles,
)

_CHINA_RING = st.tuples(
    st.floats(min_value=73.0, max_value=135.0),
    st.floats(min_value=18.0, max_value=53.0),
    st.lists(
        st.tuples(
            st.floats(min_value=-0.05, max_value=0.05), st.floats(min_value=-0.05, max_value=0.05)
        ),
        min_size=3,
        max_size=6,
    ),
).map(lambda t: [(t[0] + dx, t[1] + dy) for dx, dy in t[2]])


_ANY_RING = st.lists(
    st.tuples(
        st.floats(min_value=-180.0, max_value=180.0), st.floats(min_value=-90.0, max_value=90.0)
    ),
    min_size=3,
    max_size=6,
)


def _close(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    return (*points, points[0])


def boundaries() -> st.SearchStrategy[Boundary]:
    """Boundaries: one or two polygons of closed WGS 84 rings, some with holes.

    Most rings are small shapes somewhere in China; others have arbitrary positions.
    """
    rings = (_CHINA_RING | _ANY_RING).map(_close)
    polygons = st.lists(rings, min_size=1, max_size=2).map(tuple)
    return st.builds(Boundary, st.lists(polygons, min_size=1, max_size=2).map(tuple))


def _zero_padded(width: int) -> Callable[[int], str]:
    return lambda n: str(n).zfill(width)


def _segment_values(seg: Segment) -> st.SearchStrategy[str]:
    """Values of one segment: realistic division codes for the default scheme's digits."""
    if seg.alphabet == "[0-9]":
        if seg.level is GridLevel.DISTRICT and seg.width == 6:
            return _address_codes()
        top = 10**seg.width - 1
        low = 1 if top > 1 else 0
        return st.integers(min_value=low, max_value=top).map(_zero_padded(seg.width))
    return st.from_regex(f"(?:{seg.alphabet}){{{seg.width}}}", fullmatch=True)


def cell_codes(
    scheme: CodeScheme = DEFAULT_SCHEME, level: GridLevel | None = None
) -> st.SearchStrategy[str]:
    """Well-formed cell codes under ``scheme``.

    Args:
        scheme: The code scheme.
        level: The level of the codes; any of the scheme's levels by default.

    Returns:
        A strategy of codes that ``scheme.check(code, level)`` accepts.

    Raises:
        ValidationError: If ``scheme`` has no segment for ``level``.
    """
    depths = range(len(scheme.segments))
    if level is not None:
        scheme.length(level)  # raises ValidationError if the scheme lacks the level
        depth = scheme.levels.index(level)
        depths = range(depth, depth + 1)
    options = [
        st.tuples(*(_segment_values(seg) for seg in scheme.segments[: depth + 1])).map(
            scheme.separator.join
        )
        for depth in depths
    ]
    return st.one_of(options)


def _cell_names(level: GridLevel) -> st.SearchStrategy[str]:
    chinese = st.builds(
        "{}{}".format,
        st.text(alphabet=_PLACE_SYLLABLES, min_size=2, max_size=3)
        | st.integers(1, 30).map("第{}".format),
        st.just(_LEVEL_SUFFIX[level]),
    )
    latin = st.builds(
        "{} {}".format,
        st.sampled_from(("Minggong", "Hanyuan", "Taihua", "Ziqiang", "Daming")),
        st.just(level.value.capitalize()),
    )
    return chinese | latin


@attrs.frozen
class _CellParts:
    """Strategies for the fields of a cell other than its code and place in the tree."""

    names: dict[GridLevel, st.SearchStrategy[str]]
    boundaries: st.SearchStrategy[Boundary]
    duties: st.SearchStrategy[frozenset[Duty]]

    @classmethod
    def make(cls) -> _CellParts:
        return cls(
            names={level: _cell_names(level) for level in GridLevel},
            boundaries=boundaries(),
            duties=st.frozensets(duties(), max_size=3),
        )

    def draw_cell(
        self, draw: st.DrawFn, code: str, level: GridLevel, parent_code: str | None
    ) -> GridCell:
        # A third of the cells are mapped: boundaries are the costliest part to draw.
        mapped = draw(st.integers(min_value=0, max_value=2)) == 0
        return GridCell(
            code=code,
            name=draw(self.names[level]),
            level=level,
            parent_code=parent_code,
            boundary=draw(self.boundaries) if mapped else None,
            duties=draw(self.duties),
            version=draw(st.integers(min_value=0, max_value=1000)),
        )


def grid_cells(
    scheme: CodeScheme = DEFAULT_SCHEME, level: GridLevel | None = None
) -> st.SearchStrategy[GridCell]:
    """Single grid cells whose code fits ``scheme`` and extends their parent's code.

    Args:
        scheme: The code scheme.
        level: The cells' level; any of the scheme's levels by default.

    Returns:
        A strategy of :class:`~gridgov.grid.GridCell` that pass ``check_code(scheme)``.

    Raises:
        ValidationError: If ``scheme`` has no segment for ``level``.
    """
    return _grid_cells(cell_codes(scheme, level), scheme, _CellParts.make())


@st.composite
def _grid_cells(
    draw: st.DrawFn, codes: st.SearchStrategy[str], scheme: CodeScheme, parts: _CellParts
) -> GridCell:
    code = draw(codes)
    return parts.draw_cell(draw, code, scheme.level_of(code), scheme.parent_code(code))


def grid_trees(
    scheme: CodeScheme = DEFAULT_SCHEME, *, max_roots: int = 2, max_children: int = 2
) -> st.SearchStrategy[GridTree]:
    """Valid area hierarchies under ``scheme``, from its top level down to its last.

    With the default scheme: districts, streets, communities, grids and buildings, each code
    extending its parent's. The cells reach :class:`~gridgov.grid.GridTree` in a shuffled
    order, so children may come before their parents.

    Args:
        scheme: The code scheme.
        max_roots: The most top-level cells (at least one is drawn).
        max_children: The most children of a cell.

    Returns:
        A strategy of :class:`~gridgov.grid.GridTree`.
    """
    values = [_segment_values(seg) for seg in scheme.segments]
    roots = st.lists(values[0], min_size=1, max_size=max_roots, unique=True)
    children = [st.lists(v, max_size=max_children, unique=True) for v in values]
    return _grid_trees(scheme, roots, children, _CellParts.make())


@st.composite
def _grid_trees(
    draw: st.DrawFn,
    scheme: CodeScheme,
    roots: st.SearchStrategy[list[str]],
    children: list[st.SearchStrategy[list[str]]],
    parts: _CellParts,
) -> GridTree:
    cells: list[GridCell] = []
    level_count = len(scheme.segments)

    def grow(parent: GridCell | None, depth: int) -> None:
        level = scheme.segments[depth].level
        for value in draw(roots if parent is None else children[depth]):
            code = value if parent is None else f"{parent.code}{scheme.separator}{value}"
            cell = parts.draw_cell(draw, code, level, None if parent is None else parent.code)
            cells.append(cell)
            if depth + 1 < level_count:
                grow(cell, depth + 1)

    grow(None, 0)
    return GridTree(draw(st.permutations(cells)), scheme)


def _cell_code_strategy(
    codes: Sequence[str] | st.SearchStrategy[str] | None,
) -> st.SearchStrategy[str]:
    if codes is None:  # grid codes under the default scheme (DB11/T 2157-2023, 15 digits)
        return cell_codes(DEFAULT_SCHEME, GridLevel.GRID)
    if isinstance(codes, st.SearchStrategy):
        return codes
    return st.sampled_from(tuple(codes))


def _make_assignment(
    cell_code: str, start: pendulum.Date, days: int | None, duties: frozenset[Duty]
) -> Assignment:
    end = None if days is None else start.add(days=days)
    return Assignment(cell_code=cell_code, start=start, end=end, duties=duties)


def assignments(
    cell_codes: Sequence[str] | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Assignment]:
    """Assignments of a worker to a cell, open-ended or ending on or after their start.

    Args:
        cell_codes: The cells to draw from (a sequence or a strategy); grid codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.

    Returns:
        A strategy of :class:`~gridgov.grid.Assignment`.
    """
    return st.builds(
        _make_assignment,
        _cell_code_strategy(cell_codes),
        dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31)),
        _maybe(st.integers(min_value=0, max_value=2000)),
        st.frozensets(duties(), max_size=3),
    )


@attrs.frozen
class _WorkerParts:
    cells: st.SearchStrategy[list[str]]
    days: st.SearchStrategy[list[pendulum.Date]]
    duties: st.SearchStrategy[frozenset[Duty]]
    ids: st.SearchStrategy[str]
    names: st.SearchStrategy[str]
    roles: st.SearchStrategy[frozenset[WorkerRole]]
    phones: st.SearchStrategy[PhoneNumber | None]


def workers(
    cell_codes: Sequence[str] | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Worker]:
    """Grid workers with roles and assignments that never overlap within one cell.

    A worker may hold several successive assignments to the same cell, the last possibly
    open-ended, and assignments to several cells at once.

    Args:
        cell_codes: The cells to assign (a sequence or a strategy); grid codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.
        id: The worker's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.grid.Worker`.
    """
    return _workers(
        _WorkerParts(
            cells=st.lists(_cell_code_strategy(cell_codes), max_size=3, unique=True),
            days=st.lists(
                dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31)),
                min_size=2,
                max_size=6,
                unique=True,
            ),
            duties=st.frozensets(duties(), max_size=2),
            ids=_given(id, identifiers()),
            names=personal_names(),
            roles=st.frozensets(worker_roles(), max_size=3),
            phones=_maybe(phone_numbers()),
        )
    )


@st.composite
def _workers(draw: st.DrawFn, parts: _WorkerParts) -> Worker:
    result: list[Assignment] = []
    for code in draw(parts.cells):
        # 2k distinct sorted days give k disjoint periods; the last one may stay open.
        days = sorted(draw(parts.days))
        periods = list(zip(days[::2], days[1::2], strict=False))
        for i, (start, end) in enumerate(periods):
            open_ended = i == len(periods) - 1 and draw(st.booleans())
            duties = draw(parts.duties)
            result.append(Assignment(code, start, None if open_ended else end, duties))
    return Worker(
        id=draw(parts.ids),
        name=draw(parts.names),
        roles=draw(parts.roles),
        assignments=tuple(draw(st.permutations(result))),
        phone=draw(parts.phones),
        version=draw(st.integers(min_value=0, max_value=1000)),
    )


def _make_scheme(name: str, top: int, shapes: list[tuple[int, str]], separator: str) -> CodeScheme:
    levels = list(GridLevel)[top:]
    segments = [
        Segment(level, width, alphabet)
        for level, (width, alphabet) in zip(levels, shapes, strict=False)
    ]
    return CodeScheme(name=name, segments=segments, separator=separator)


def code_schemes() -> st.SearchStrategy[CodeScheme]:
    """Code schemes: consecutive levels from any top level, varied widths, alphabets, separators.

    Codes stay within 64 characters, so every scheme drawn can code real cells; the default
    scheme is among the values.
    """
    shapes = st.lists(
        st.tuples(st.integers(min_value=1, max_value=6), st.sampled_from(_ALPHABETS)),
        min_size=1,
        max_size=len(GridLevel),
    )
    drawn = st.builds(
        _make_scheme,
        st.sampled_from(("beijing", "xian", "shenzhen")) | _codes(),
        st.integers(min_value=0, max_value=len(GridLevel) - 1),
        shapes,
        st.sampled_from(_SEPARATORS),
    )
    return st.just(DEFAULT_SCHEME) | drawn
