"""A request's unit of work: committed, run again after a lost race; acting as a stored worker."""

from __future__ import annotations

import functools
from types import TracebackType
from typing import Any

import pendulum
import pytest

from gridgov import (
    AccessDeniedError,
    Assignment,
    ConflictError,
    GridCell,
    GridLevel,
    NotFoundError,
    Store,
    ValidationError,
    Worker,
    WorkerRole,
    open_store,
)
from gridgov.access import AuditEntry, Principal, Role
from gridgov.ports import UnitOfWork
from gridgov.services.scoped import ScopedUnitOfWork, as_worker
from gridgov.services.units import run_unit

D = pendulum.Date
GRID = "610102003006001"


@pytest.fixture
def store() -> Store:
    """Return a memory store: a community, one grid, its grid worker."""
    store = open_store("memory://")
    with store() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.cells.add(GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"))
        uow.cells.add(GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"))
        uow.cells.add(GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"))
        uow.workers.add(
            Worker("grid-01", "张静", {WorkerRole.GRID_WORKER}, [Assignment(GRID, D(2023, 3, 1))])
        )
        uow.commit()
    return store


def test_run_unit_commits_and_returns_what_the_work_returned(store: Store) -> None:
    """The work's result comes back once its unit committed; what it wrote is stored."""
    building = GridCell(GRID + "001", "铁一村1号楼", GridLevel.BUILDING, GRID)

    def add(uow: UnitOfWork) -> str:
        return uow.cells.add(building).code

    added = run_unit(store, add)
    with store() as uow:
        stored = uow.cells.get(building.code)
    assert (building.code, 1) == (added, stored.version)


def test_run_unit_runs_the_work_again_after_a_lost_race(store: Store) -> None:
    """A retryable conflict rolls the unit back and runs the work in a new one."""
    tries: list[int] = []

    def work(uow: UnitOfWork) -> int:
        tries.append(len(tries))
        uow.cells.add(GridCell(GRID + f"00{len(tries)}", "楼", GridLevel.BUILDING, GRID))
        if len(tries) < 3:
            raise ConflictError("lost a race", retryable=True)
        return len(tries)

    assert 3 == run_unit(store, work)
    with store() as uow:
        kept = [c.code for c in uow.cells.subtree(GRID).items]
    assert [GRID, GRID + "003"] == kept


def test_run_unit_stops_at_a_conflict_no_retry_helps(store: Store) -> None:
    """A conflict that is not retryable, or the last attempt's, propagates; nothing is kept."""
    tries: list[bool] = []

    def work(retryable: bool, uow: UnitOfWork) -> None:
        tries.append(retryable)
        uow.cells.add(GridCell(GRID + "001", "楼", GridLevel.BUILDING, GRID))
        raise ConflictError("no", retryable=retryable)

    for retryable in (False, True):
        with pytest.raises(ConflictError):
            run_unit(store, functools.partial(work, retryable), attempts=2)
    with store() as uow:
        kept = [c.code for c in uow.cells.subtree(GRID).items]
    assert ([False, True, True], [GRID]) == (tries, kept)


@pytest.mark.parametrize("attempts", [0, -1, 1.5, True])
def test_run_unit_wants_a_whole_number_of_attempts(store: Store, attempts: object) -> None:
    """At least one attempt, a whole number: else a ValidationError on attempts."""
    with pytest.raises(ValidationError) as info:
        run_unit(store, lambda uow: None, attempts=attempts)  # type: ignore[arg-type]
    assert "attempts" == info.value.path


def test_as_worker_acts_with_the_workers_roles_over_their_cells(store: Store) -> None:
    """The unit's principal is the stored worker's that day; out of their grid is denied."""
    denials: list[AuditEntry] = []
    with as_worker(store, "grid-01", on=D(2026, 11, 28), audit=denials.append) as uow:
        principal = uow.principal
        with pytest.raises(AccessDeniedError):
            uow.cells.add(GridCell("610102003006002", "网格2", GridLevel.GRID, "610102003006"))
    assert (Principal("grid-01", {Role.GRID_WORKER}, {GRID}), 1) == (principal, len(denials))


def test_as_worker_in_run_unit_is_one_request(store: Store) -> None:
    """run_unit over as_worker: the work sees the worker's scope, and its writes are committed."""

    def add(uow: ScopedUnitOfWork) -> str:
        return uow.cells.add(GridCell(GRID + "001", "楼", GridLevel.BUILDING, GRID)).code

    unit = functools.partial(as_worker, store, "grid-01", on=D(2026, 11, 28))
    assert GRID + "001" == run_unit(unit, add)


class _Watched:
    """A unit of work that counts how often it was ended."""

    ended = 0

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _Watched.ended += 1
        self._inner.__exit__(exc_type, exc, tb)


def test_as_worker_ends_its_unit_when_the_worker_cannot_act(store: Store) -> None:
    """An unknown worker, a day without cells: the error, and the unit ended (connection back)."""
    watched = lambda: _Watched(store())  # noqa: E731
    failures: list[type[Exception]] = []
    for worker, day in (("grid-99", D(2026, 11, 28)), ("grid-01", D(2020, 1, 1))):
        with pytest.raises((NotFoundError, ValidationError)) as info:
            as_worker(watched, worker, on=day)  # type: ignore[arg-type]
        failures.append(type(info.value))
    assert ([NotFoundError, ValidationError], 2) == (failures, _Watched.ended)
