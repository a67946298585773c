"""The principal a stored worker acts as on a day: their roles over the cells assigned that day."""

from __future__ import annotations

from collections.abc import Callable

import pendulum
import pytest

from gridgov import (
    AccessDeniedError,
    Assignment,
    GridCell,
    GridLevel,
    NotFoundError,
    Store,
    ValidationError,
    Worker,
    WorkerRole,
    open_store,
)
from gridgov.access import Principal, Redaction, Role, principal_for_worker

D = pendulum.Date


@pytest.fixture
def store() -> Store:
    """Return a memory store: a community, two of its grids, and workers assigned to them."""
    store = open_store("memory://")
    with store() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.cells.add(GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"))
        uow.cells.add(GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"))
        for n in (1, 2):
            uow.cells.add(
                GridCell(f"61010200300600{n}", f"网格{n}", GridLevel.GRID, "610102003006")
            )
        uow.workers.add(
            Worker(
                "grid-01",
                "张静",
                {WorkerRole.GRID_WORKER},
                [
                    Assignment("610102003006001", D(2023, 3, 1)),
                    Assignment("610102003006002", D(2026, 11, 1), D(2026, 11, 30)),
                ],
            )
        )
        uow.workers.add(
            Worker(
                "secretary",
                "陈丽华",
                {WorkerRole.COMMUNITY_SECRETARY},
                [Assignment("610102003006", D(2020, 3, 1))],
            )
        )
        uow.workers.add(
            Worker(
                "helper",
                "王芳",
                {WorkerRole.VOLUNTEER},
                [Assignment("610102003006", D(2020, 3, 1))],
            )
        )
        uow.commit()
    return store


def test_a_grid_worker_acts_over_the_cells_assigned_that_day(store: Store) -> None:
    """Two grids while covering for a colleague in November, one grid after; the full view."""
    with store() as uow:
        november = principal_for_worker(uow, "grid-01", on=D(2026, 11, 28))
        december = principal_for_worker(uow, "grid-01", on=D(2026, 12, 1))
    assert (
        Principal("grid-01", {Role.GRID_WORKER}, {"610102003006001", "610102003006002"}) == november
    )
    assert Principal("grid-01", {Role.GRID_WORKER}, {"610102003006001"}) == december
    assert Redaction.FULL == november.redaction


def test_community_staff_act_as_community_staff(store: Store) -> None:
    """The community secretary acts as community staff over the community."""
    with store() as uow:
        secretary = principal_for_worker(uow, "secretary", on=D(2026, 11, 28))
    assert Principal("secretary", {Role.COMMUNITY_STAFF}, {"610102003006"}) == secretary


def test_what_cannot_be_a_principal_says_why(store: Store) -> None:
    """An unknown worker, a day without assignment, bad input, a volunteer: a gridgov error."""
    calls: list[Callable[[], object]] = [
        lambda: principal_for_worker(uow, "grid-99", on=D(2026, 11, 28)),
        lambda: principal_for_worker(uow, "grid-01", on=D(2023, 2, 28)),
        lambda: principal_for_worker(uow, 7, on=D(2026, 11, 28)),  # type: ignore[arg-type]
        lambda: principal_for_worker(
            uow,
            "grid-01",
            on=pendulum.datetime(2026, 11, 28, tz="Asia/Shanghai"),
        ),
        lambda: principal_for_worker(uow, "helper", on=D(2026, 11, 28)),
    ]
    failures: list[tuple[str, str]] = []
    with store() as uow:
        for call in calls:
            with pytest.raises((NotFoundError, ValidationError, AccessDeniedError)) as caught:
                call()
            error = caught.value
            path = error.path if isinstance(error, ValidationError) else type(error).__name__
            failures.append((path, str(error)))
    assert [
        ("NotFoundError", "worker 'grid-99' not found"),
        ("on", "on: worker 'grid-01' has no cell assigned on that day"),
        ("worker_id", "worker_id: expected a string, got int"),
        ("on", "on: expected a pendulum Date, got DateTime"),
        ("AccessDeniedError", "worker 'helper' holds no role that acts on the platform"),
    ] == failures
