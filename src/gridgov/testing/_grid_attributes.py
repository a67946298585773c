"""Hypothesis strategies for the attributes and lifecycle dates of grid cells.

Kept apart from :mod:`gridgov.testing.strategies` (which draws a cell's code, name, boundary
and duties) so the attributes added with the grid's lifecycle can be drawn on any cell.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from gridgov.grid import MAX_MANAGEMENT_GRADE, GridCell, LandUse
from gridgov.testing.strategies import dates

__all__ = ["dated_cells", "land_uses"]


# Who answers for a grid: a community committee, a department, a property manager, or nobody
# named (the community by default).
_BODIES = st.sampled_from(
    ["", "明宫社区居委会", "新城区城市管理和综合执法局", "Property Co. Ltd"]
) | (st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=100))


def land_uses() -> st.SearchStrategy[LandUse]:
    """Built-in land uses and a deployment's own codes."""
    own = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).map(LandUse)
    return st.one_of(st.sampled_from(LandUse.builtins()), own)


@st.composite
def _dated(draw: st.DrawFn, cells: st.SearchStrategy[GridCell]) -> GridCell:
    cell = draw(cells)
    days = dates()
    start = draw(st.none() | days)
    end = draw(st.none() | days.filter(lambda d: start is None or start <= d))
    return attrs.evolve(
        cell,
        management_grade=draw(st.none() | st.integers(1, MAX_MANAGEMENT_GRADE)),
        land_use=draw(st.none() | land_uses()),
        responsible_body=draw(_BODIES),
        valid_from=start,
        valid_to=end,
    )


def dated_cells(cells: st.SearchStrategy[GridCell]) -> st.SearchStrategy[GridCell]:
    """The cells ``cells`` draws, with a management grade, land use, responsible body and dates.

    Args:
        cells: Cells to complete, e.g. :func:`gridgov.testing.strategies.grid_cells`.

    Returns:
        A strategy of :class:`~gridgov.grid.GridCell`, each field drawn or left at its default.
    """
    return _dated(cells)
