"""The small world every contract starts from: a cell tree, its codes and the store fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pendulum
import pytest

from gridgov.grid import GridCell, GridLevel
from gridgov.households import Address, Household, Resident, Tag
from gridgov.ports import UnitOfWork

UowFactory = Callable[[], UnitOfWork]

DISTRICT = "610102"
STREET = "610102003"
COMMUNITY = "610102003001"
GRID_A = "610102003001001"
GRID_B = "610102003001002"
BUILDING_A1 = "610102003001001001"
BUILDING_A2 = "610102003001001002"
OTHER_STREET = "610102004"
ON = pendulum.Date(2026, 11, 28)
T0 = pendulum.datetime(2026, 11, 28, 9, 0, tz="Asia/Shanghai")
UNKNOWN_CELL = "610102003001009"


def _cells() -> list[GridCell]:
    return [
        GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
        GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
        GridCell(OTHER_STREET, "西一路街道", GridLevel.STREET, DISTRICT),
        GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, STREET),
        GridCell(GRID_A, "第一网格", GridLevel.GRID, COMMUNITY),
        GridCell(GRID_B, "第二网格", GridLevel.GRID, COMMUNITY),
        GridCell(BUILDING_A1, "铁一村1号楼", GridLevel.BUILDING, GRID_A),
        GridCell(BUILDING_A2, "铁一村2号楼", GridLevel.BUILDING, GRID_A),
    ]


def _resident(rid: str, birth: pendulum.Date, *tags: Tag) -> Resident:
    return Resident(rid, f"居民{rid}", birth_date=birth, tags=frozenset(tags))


def _household(hid: str, cell: str, *members: Resident) -> Household:
    return Household(hid, cell, Address(f"铁一村{hid}号"), members=members)


class _Base:
    """Fixtures shared by the contracts."""

    @pytest.fixture
    def make_uow(self) -> UowFactory:
        """Return a fresh, empty store; adapters override this fixture."""
        pytest.fail(f"{type(self).__name__} must override the make_uow fixture")

    @pytest.fixture
    def store(self, make_uow: UowFactory) -> UowFactory:
        """Return the store with the standard cell tree committed."""
        with make_uow() as uow:
            for cell in _cells():
                uow.cells.add(cell)
            uow.commit()
        return make_uow

    @staticmethod
    def add_and_commit(store: UowFactory, repository: str, records: Iterable[object]) -> None:
        """Add ``records`` to the unit of work's ``repository`` and commit them, in one unit."""
        with store() as uow:
            for record in records:
                getattr(uow, repository).add(record)
            uow.commit()

    @staticmethod
    def add_households(store: UowFactory, households: Iterable[Household]) -> None:
        """Commit ``households`` in one unit of work."""
        with store() as uow:
            for h in households:
                uow.households.add(h)
            uow.commit()
