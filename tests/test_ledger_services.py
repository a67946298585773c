"""Ledger use cases over every store: a household moving to another grid with its open work."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest

from gridgov import (
    Address,
    Assignment,
    GridCell,
    GridLevel,
    Household,
    NotFoundError,
    Resident,
    Store,
    Worker,
    WorkerRole,
    open_store,
)
from gridgov.calendar import Period, WorkCalendar
from gridgov.care import ContactMethod
from gridgov.care.contacts import CareTask, TaskKind
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, occurrence_id
from gridgov.scheduling.venues import Space, Venue
from gridgov.services.care import worklist
from gridgov.services.ledger import move_household

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, 0, tz=TZ)
COMMUNITY = "610102003006"
OLD, NEW = f"{COMMUNITY}001", f"{COMMUNITY}002"
OPENING = WorkCalendar(
    years=(2026, 2027), hours=dict.fromkeys(range(7), (Period(dt.time(8), dt.time(21)),))
)


def _task(tid: str, start: pendulum.DateTime) -> CareTask:
    """Return r1's open home visit starting at ``start``."""
    return CareTask(
        tid,
        "r1",
        "h1",
        OLD,
        TaskKind.ROUTINE,
        ContactMethod.HOME_VISIT,
        start,
        start.add(hours=2),
        start.add(days=7),
        "routine home visit",
        "例行上门探访",
        "cadence:high:home_visit",
    )


def _registration(rid: str, start: pendulum.DateTime, state: RegistrationState) -> Registration:
    """Return r1's registration for the weekly clinic's occurrence at ``start``."""
    return Registration(
        rid,
        "clinic",
        occurrence_id("clinic", start),
        "hall",
        "r1",
        "h1",
        OLD,
        start,
        start.add(hours=1),
        state,
        start.subtract(days=3),
    )


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a store with two grids and their workers, h1 in the old grid with open work."""
    s = open_store("memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/m.db")
    with s() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(OLD, "第一网格", GridLevel.GRID, COMMUNITY),
            GridCell(NEW, "第二网格", GridLevel.GRID, COMMUNITY),
        ]:
            uow.cells.add(cell)
        for wid, code in (("w-old", OLD), ("w-new", NEW)):
            uow.workers.add(
                Worker(wid, "网格员", {WorkerRole.GRID_WORKER}, [Assignment(code, NOW.date())])
            )
        uow.households.add(
            Household("h1", OLD, Address("1号楼"), members=(Resident("r1", "田林"),))
        )
        uow.care_tasks.add(_task("t-open", NOW.subtract(hours=1)))
        uow.care_tasks.add(_task("t-done", NOW.subtract(days=8)).done("c0"))
        uow.venues.add(Venue("hall", "活动中心", COMMUNITY, OPENING, [Space("main", "大厅", 30)]))
        uow.series.add(
            ActivitySeries(
                "clinic", "义诊", "社区", "hall", "main", NOW.subtract(weeks=1), 60,
                rrule="FREQ=WEEKLY",
            )
        )  # fmt: skip
        for rid, start, state in (
            ("past", NOW.subtract(weeks=1), RegistrationState.ATTENDED),
            ("next", NOW.add(weeks=1), RegistrationState.CONFIRMED),
            ("later", NOW.add(weeks=2), RegistrationState.CANCELLED),
        ):
            uow.registrations.add(_registration(rid, start, state))
        uow.commit()
    yield s
    s.close()


def test_moving_a_household_moves_its_open_work(store: Store) -> None:
    """The open task and the coming registration follow; the past and closed ones stay."""
    with store() as uow:
        moved = move_household(uow, "h1", to_cell=NEW, at=NOW)
        uow.commit()
    with store() as uow:
        cells = {
            key: getattr(uow, repo).get(key).cell_code
            for repo, key in (
                ("households", "h1"),
                ("care_tasks", "t-open"),
                ("care_tasks", "t-done"),
                ("registrations", "next"),
                ("registrations", "past"),
                ("registrations", "later"),
            )
        }
    expected = {"h1": NEW, "t-open": NEW, "t-done": OLD, "next": NEW, "past": OLD, "later": OLD}
    assert (expected, ["t-open"], ["next"]) == (
        cells,
        [t.id for t in moved.tasks],
        [r.id for r in moved.registrations],
    )


def test_the_old_worklist_drops_the_household_and_the_new_one_shows_it(store: Store) -> None:
    """After the move the new grid's worker sees the open visit and the old one does not."""

    def tasks(worker: str) -> list[str]:
        with store() as uow:
            found = worklist(uow, worker, on=NOW.date(), now=NOW)
        return [e.task.id for stop in found.stops for h in stop.households for e in h.entries]

    before = (tasks("w-old"), tasks("w-new"))
    with store() as uow:
        move_household(uow, "h1", to_cell=NEW, at=NOW)
        uow.commit()
    assert ((["t-open"], []), ([], ["t-open"])) == (before, (tasks("w-old"), tasks("w-new")))


def test_moving_to_an_unknown_cell_changes_nothing(store: Store) -> None:
    """An unknown cell is a NotFoundError naming it, and the household stays."""
    with store() as uow:
        with pytest.raises(NotFoundError) as info:
            move_household(uow, "h1", to_cell=f"{COMMUNITY}009", at=NOW)
        uow.commit()
    with store() as uow:
        stayed = uow.households.get("h1").cell_code
    assert (("cell", f"{COMMUNITY}009"), OLD) == ((info.value.kind, info.value.key), stayed)


def test_moving_to_the_same_cell_changes_nothing(store: Store) -> None:
    """A move to the cell the household is in returns it unchanged, at its version."""
    with store() as uow:
        moved = move_household(uow, "h1", to_cell=OLD, at=NOW)
        current = uow.households.get("h1")
    assert (current, (), ()) == (moved.household, moved.tasks, moved.registrations)
