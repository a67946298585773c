"""The levels of the area hierarchy; shared by :mod:`gridgov.codes` and :mod:`gridgov.grid`."""

from __future__ import annotations

import enum

__all__ = ["GridLevel"]


class GridLevel(enum.Enum):
    """A level of the area hierarchy, from the district down to the building.

    Members compare by depth: ``GridLevel.DISTRICT < GridLevel.STREET``.
    """

    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    BUILDING = "building"

    @property
    def depth(self) -> int:
        """Return 0 for the district, 4 for a building."""
        return _ORDER.index(self)

    @property
    def label_zh(self) -> str:
        """Return the Chinese name of the level."""
        return _ZH[self]

    def child(self) -> GridLevel | None:
        """Return the level directly below this one, or ``None`` for a building."""
        i = self.depth + 1
        return _ORDER[i] if i < len(_ORDER) else None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, GridLevel):
            return NotImplemented
        return self.depth < other.depth

    def __le__(self, other: object) -> bool:
        if not isinstance(other, GridLevel):
            return NotImplemented
        return self.depth <= other.depth


_ORDER = list(GridLevel)
_ZH = {
    GridLevel.DISTRICT: "区",
    GridLevel.STREET: "街道",
    GridLevel.COMMUNITY: "社区",
    GridLevel.GRID: "网格",
    GridLevel.BUILDING: "楼栋",
}
