"""Which cell a point lies in: point in polygon over the stored boundaries, with a spatial index.

Needs the ``geo`` extra (shapely 2): ``pip install "gridgov[geo]"``; without it, importing this
module raises :class:`~gridgov.errors.MissingExtraError` naming the extra.

:class:`CellLocator` indexes the cells that have a boundary (an STR tree over their polygons) and
returns, for a ``(longitude, latitude)`` point, the deepest cell whose boundary covers it: the
building if buildings are mapped, else the grid, and so on up. A boundary covers its own edge, so
a point on the shared edge of two cells of one level lies in both: the one of the lower code is
returned, so that the answer does not depend on the order cells were stored in.
:meth:`CellLocator.locate` raises :class:`~gridgov.errors.OutsideGridError` for a point in no
cell; :meth:`CellLocator.locate_many`, the bulk form, gives ``None`` for such a point.

Coordinates are WGS 84 longitude and latitude in degrees, as GeoJSON (RFC 7946) has them, for
the boundaries and the points alike: nothing is converted. Chinese web maps (Amap, Tencent)
and most phones' map SDKs in China give GCJ-02 coordinates, shifted from WGS 84 by some
hundred metres: convert them before locating, or store the boundaries in the same system as the
points (the comparison only needs the two to agree).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from gridgov.errors import MissingExtraError, OutsideGridError, ValidationError
from gridgov.grid import GridCell, GridLevel

if TYPE_CHECKING:
    from gridgov.interop.open311 import ServiceRequestIn
    from gridgov.ports import UnitOfWork

try:
    import numpy as np
    import shapely
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError("geo", "gridgov.geo", "shapely 2", name=exc.name) from exc

__all__ = ["CellLocator"]

_DEPTH = {level: depth for depth, level in enumerate(GridLevel)}


def _geometry(cell: GridCell) -> Any:
    assert cell.boundary is not None
    return shapely.multipolygons(
        [shapely.polygons(poly[0], holes=list(poly[1:]) or None) for poly in cell.boundary.polygons]
    )


class CellLocator:
    """Finds the cell a point lies in, among cells with a boundary.

    Args:
        cells: The cells (those without a boundary are left out).
    """

    def __init__(self, cells: Iterable[GridCell]) -> None:
        mapped = sorted(
            (c for c in cells if c.boundary is not None),
            # Deepest first, then by code: the first cell found for a point is the answer.
            key=lambda c: (-_DEPTH[c.level], c.code),
        )
        self._codes = [c.code for c in mapped]
        self._geometries = np.array([_geometry(c) for c in mapped], dtype=object)
        self._tree = shapely.STRtree(self._geometries)

    @classmethod
    def of_store(cls, uow: UnitOfWork) -> CellLocator:
        """Return a locator over every stored cell."""
        return cls(uow.cells.tree())

    def __len__(self) -> int:
        return len(self._codes)

    def locate(self, longitude: float, latitude: float, *, path: str = "point") -> str:
        """Return the code of the deepest cell covering the point.

        Args:
            longitude: Degrees east (WGS 84).
            latitude: Degrees north (WGS 84).
            path: The field named in an error.

        Raises:
            OutsideGridError: If no cell with a boundary covers the point.
            ValidationError: If the point is not two finite numbers.
        """
        code = self.locate_many([(longitude, latitude)])[0]
        if code is None:
            raise OutsideGridError(path, "the point lies outside every grid")
        return code

    def locate_many(self, points: Sequence[tuple[float, float]]) -> list[str | None]:
        """Return, for each ``(longitude, latitude)``, the deepest cell covering it or ``None``.

        Raises:
            ValidationError: If a point is not two finite numbers.
        """
        try:
            xy = np.asarray(points, dtype=float).reshape(-1, 2)
        except (TypeError, ValueError):
            raise ValidationError("points", "expected (longitude, latitude) pairs") from None
        if len(xy) != len(points) or not np.isfinite(xy).all():
            raise ValidationError("points", "expected (longitude, latitude) pairs of numbers")
        found: list[str | None] = [None] * len(xy)
        if not self._codes or not len(xy):
            return found
        where, which = self._tree.query(shapely.points(xy), predicate="covered_by")
        best = np.full(len(xy), len(self._codes), dtype=np.int64)
        np.minimum.at(best, where, which)  # the index order is depth, then code
        for i, index in enumerate(best.tolist()):
            if index < len(self._codes):
                found[i] = self._codes[index]
        return found

    def cell_for(self, request: ServiceRequestIn) -> str:
        """Return the cell of an Open311 request's point: ``import_requests(cell_for=...)``.

        :class:`gridgov.services.placing.CellFinder`, the import's default, also reads the
        address when there is no point; this reads only the point.

        Raises:
            ValidationError: If the request has no point.
            OutsideGridError: If its point lies outside every grid.
        """
        point = request.point
        if point is None:
            raise ValidationError("lat", "no point to place the request in a grid: give lat/long")
        return self.locate(*point, path="long")
