"""Several workers share the work: each case escalated once, each elder planned once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import attrs
import pendulum
import pytest

from gridgov.adapters.memory import MemoryStore
from gridgov.adapters.sqlite import SqliteStore
from gridgov.calendar import WorkCalendar
from gridgov.cases import Action, Case, CaseRole, CaseSource, CaseWorkflow, Location, Reporter
from gridgov.events import CaseEscalated, Event
from gridgov.grid import GridCell, GridLevel
from gridgov.households import Address, Household, LivingArrangement, Resident, Tag
from gridgov.ports import Store
from gridgov.services._common import retried
from gridgov.services.care import plan_tasks
from gridgov.services.cases import EscalationEngine

TZ = "Asia/Shanghai"
WF = CaseWorkflow(WorkCalendar.china())
CELLS = [
    GridCell("610102", "新城区", GridLevel.DISTRICT),
    GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    GridCell("610102003001", "明宫社区", GridLevel.COMMUNITY, "610102003"),
    GridCell("610102003001001", "第一网格", GridLevel.GRID, "610102003001"),
]
MONDAY = pendulum.datetime(2026, 11, 23, 10, tz=TZ)
WEDNESDAY = pendulum.datetime(2026, 11, 25, 9, tz=TZ)  # a working day later: all are due
CASES, SWEEPERS = 60, 4


def _dispatched(case_id: str) -> Case:
    """Return a complaint dispatched to the grid on Monday, due to rise after a working day."""
    case = WF.report(
        case_id=case_id,
        category="complaint",
        source=CaseSource.WALK_IN,
        location=Location(CELLS[-1].code),
        reporter=Reporter(),
        description="路灯不亮",
        owner=CELLS[-1],
        at=MONDAY,
        actor="w1",
    ).case
    for action, minutes in ((Action.REGISTER, 10), (Action.DISPATCH, 30)):
        case = WF.apply(
            case, action, actor="d1", role=CaseRole.DISPATCHER, at=MONDAY.add(minutes=minutes)
        ).case
    return case


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return each store with the cells and the due cases committed."""
    opened: Store
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = SqliteStore(tmp_path / "sweep.db")
    else:
        from gridgov.adapters.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("postgres_schema"), lock_timeout=10)
    with opened() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.cases.add_many(_dispatched(f"c{i:03d}") for i in range(CASES))
        uow.commit()
    yield opened
    opened.close()


def test_sweepers_at_once_escalate_every_due_case_exactly_once(store: Store) -> None:
    """Four sweepers at once escalate the 60 due cases once each, between them."""
    escalated: list[str] = []
    gate = threading.Barrier(SWEEPERS)

    def note(event: Event) -> None:
        if isinstance(event, CaseEscalated):
            escalated.append(event.case_id)

    def sweep() -> None:
        engine = EscalationEngine(store, WF, batch_size=5, subscribers=[note])
        gate.wait(timeout=30)
        engine.sweep(WEDNESDAY)

    threads = [threading.Thread(target=sweep) for _ in range(SWEEPERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with store() as uow:
        owners = Counter(uow.cases.get(f"c{i:03d}").owner_cell for i in range(CASES))
    expected = ([f"c{i:03d}" for i in range(CASES)], {CELLS[2].code: CASES})
    assert expected == (sorted(escalated), dict(owners))


def test_a_sweeper_that_dies_mid_batch_leaves_its_cases_to_the_next(store: Store) -> None:
    """A unit that claimed cases and ended without committing leaves them all to the next sweep."""
    with store() as uow:
        claimed = uow.cases.claim_due(at_or_before=WEDNESDAY, limit=10).items
        uow.cases.update(attrs.evolve(claimed[0], next_check=None))
        # No commit: the process died here.
    done = EscalationEngine(store, WF, batch_size=7).sweep(WEDNESDAY)
    assert (10, [f"c{i:03d}" for i in range(CASES)]) == (
        len(claimed),
        sorted(e.case_id for e in done),
    )


# -- the daily care planning, run by several workers at once -----------------------------------

ELDERS = 24


def _elders(store: Store) -> None:
    """Store the grid with 24 elders of 83 living alone, each owed a visit and calls."""
    with store() as uow:
        uow.households.add_many(
            Household(
                f"h{i:02d}",
                "610102003001001",
                Address(f"{i}号楼"),
                members=(
                    Resident(
                        f"r{i:02d}",
                        "居民",
                        birth_date=pendulum.Date(1943, 1, 1),
                        tags={Tag.LIVING_ALONE},
                        living_arrangement=LivingArrangement.ALONE,
                    ),
                ),
            )
            for i in range(ELDERS)
        )
        uow.commit()


def _plan(store: Store) -> None:
    with store() as uow:
        plan_tasks(uow, "610102003001001", now=WEDNESDAY)
        uow.commit()


def test_planners_at_once_give_each_elder_their_tasks_once(store: Store) -> None:
    """Four daily planners of one grid at once leave what one planner leaves: no task twice."""
    _elders(store)
    single = MemoryStore()
    with single() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.commit()
    _elders(single)
    _plan(single)
    errors: list[Exception] = []
    start = threading.Barrier(4)

    def planner() -> None:
        start.wait()
        try:
            retried(lambda: _plan(store), attempts=20)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=planner) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def open_tasks(s: Store) -> list[tuple[str, object, object, object]]:
        with s() as uow:
            return sorted(
                (t.resident_id, t.kind.value, t.method.value, t.due)
                for i in range(ELDERS)
                for t in uow.care_tasks.open_for_resident(f"r{i:02d}")
            )

    assert ([], open_tasks(single)) == (errors, open_tasks(store))
