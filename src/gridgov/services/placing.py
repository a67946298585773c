"""Which cell a case lies in when no cell is given: by its point, else by its address.

:class:`CellFinder` is what :func:`~gridgov.services.cases.report_case` (without a
``cell_code``) and :func:`~gridgov.interop.open311.import_requests` (without a ``cell_for``)
place cases with:

1. a point (WGS 84 longitude, latitude) is located over the stored boundaries
   (:class:`gridgov.geo.CellLocator`, the ``geo`` extra): the deepest cell covering it;
2. an address, when there is no point or the point lies outside every grid, is looked up among
   the buildings (:class:`gridgov.addresses.AddressBook`): the one building it names;
3. otherwise the error says why: :class:`~gridgov.errors.OutsideGridError` (the point lies
   outside every grid, and the address, if any, names no building),
   :class:`~gridgov.errors.AmbiguousAddressError`, :class:`~gridgov.errors.UnknownAddressError`,
   or a :class:`~gridgov.errors.ValidationError` when there is neither point nor address.

The locator is built on the first point and the book on the first address, once per finder:
build one finder for a batch. A finder reads the cells its unit of work may see: through a unit
scoped to a principal, a point in a grid outside the scope lies "outside every grid".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from gridgov.addresses import AddressBook
from gridgov.errors import (
    AmbiguousAddressError,
    OutsideGridError,
    UnknownAddressError,
    ValidationError,
)
from gridgov.grid import GridCell
from gridgov.ports import UnitOfWork

if TYPE_CHECKING:
    from gridgov.geo import CellLocator

__all__ = ["CellFinder"]


class CellFinder:
    """Places points and addresses in cells; see the module for the order and the errors.

    Args:
        cells: The cells, with their boundaries.
    """

    def __init__(self, cells: Iterable[GridCell]) -> None:
        self._cells = tuple(cells)
        self._locator: CellLocator | None = None
        self._book: AddressBook | None = None

    @classmethod
    def of_store(cls, uow: UnitOfWork) -> CellFinder:
        """Return a finder over the cells ``uow`` may see."""
        return cls(uow.cells.tree())

    def _located(self, point: tuple[float, float], path: str) -> str:
        if self._locator is None:
            from gridgov.geo import CellLocator  # the geo extra, needed only for points

            self._locator = CellLocator(self._cells)
        if not len(self._locator):
            raise OutsideGridError(path, "no cell has a boundary to place the point in")
        return self._locator.locate(*point, path=path)

    def _looked_up(self, address: str, path: str) -> str:
        if self._book is None:
            self._book = AddressBook(self._cells)
        return self._book.building(address, path=path)

    def place(
        self,
        *,
        point: tuple[float, float] | None = None,
        address: str = "",
        point_path: str = "point",
        address_path: str = "address",
    ) -> str:
        """Return the code of the cell a point, else an address, lies in.

        Args:
            point: ``(longitude, latitude)`` in WGS 84 degrees, if known.
            address: The address as typed, if any.
            point_path: The field an error about the point names.
            address_path: The field an error about the address names.

        Raises:
            OutsideGridError: If the point lies outside every grid and no address places it.
            AmbiguousAddressError: If, without a point, the address names several buildings.
            UnknownAddressError: If, without a point, the address names no building.
            ValidationError: If there is neither a point nor an address, or either is malformed.
            MissingExtraError: If there is a point and the ``geo`` extra is not installed.
        """
        if not isinstance(address, str):
            raise ValidationError(address_path, "expected text")
        if point is None:
            if not address.strip():
                raise ValidationError(
                    point_path, "no cell, point or address to place the case in a grid"
                )
            return self._looked_up(address, address_path)
        try:
            return self._located(point, point_path)
        except OutsideGridError as outside:
            if not address.strip():
                raise
            try:
                return self._looked_up(address, address_path)
            except (UnknownAddressError, AmbiguousAddressError) as exc:
                raise OutsideGridError(
                    point_path,
                    outside.problem,
                    problems=((point_path, outside.problem), (address_path, exc.problem)),
                ) from None
