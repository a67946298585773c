"""A scope narrows what a principal sees, never what a rule decides.

Every writing and counting service runs once through a grid worker's scoped unit of work and
once through an unscoped one, on two stores filled alike; what they decide and store must be the
same, since capacity, waitlist order, coverage and escalation count the whole store.
"""

from collections.abc import Callable, Iterator

import pendulum
import pytest

from gridgov import Store, open_store
from gridgov.access import AuditEntry, Principal, Role
from gridgov.care import ContactMethod
from gridgov.care.contacts import Outcome
from gridgov.cases import CaseSource
from gridgov.ports import UnitOfWork
from gridgov.scenarios import Scenario, example_path, load_scenario, populate
from gridgov.scheduling.series import occurrence_id
from gridgov.services.care import coverage, plan_tasks, record_contact, worklist
from gridgov.services.cases import case_kpis, report_case
from gridgov.services.scheduling import cancel_registration, register_for_occurrence, week_schedule
from gridgov.services.scoped import scoped

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, tz=TZ)
DAY = NOW.date()
GRID = "610102003006001"
WORKER = Principal("grid-01", {Role.GRID_WORKER}, {GRID})
# The science-day clinic: 20 places, full, with residents waiting, most of them outside the grid.
CLINIC = occurrence_id("science-day-clinic", pendulum.datetime(2026, 12, 2, 14, 30, tz=TZ))

Step = Callable[[UnitOfWork], object]

STEPS: list[tuple[str, Step]] = [
    ("worklist", lambda uow: worklist(uow, "grid-01", on=DAY, now=NOW)),
    ("plan_tasks", lambda uow: plan_tasks(uow, GRID, now=NOW)),
    (
        "record_contact",
        lambda uow: record_contact(
            uow,
            resident_id="h000005-1",
            method=ContactMethod.PHONE,
            outcome=Outcome.NO_ANSWER,
            by="grid-01",
            at=NOW,
            now=NOW,
        ),
    ),
    (
        "coverage",
        lambda uow: coverage(uow, GRID, start=DAY.start_of("month"), end=DAY.add(days=1)),
    ),
    (
        "register onto a full clinic",
        lambda uow: register_for_occurrence(
            uow,
            occurrence_id=CLINIC,
            resident_id="h000004-1",
            at=NOW.add(days=3),  # last in line
            registration_id="r-new",
        ),
    ),
    ("week_schedule", lambda uow: week_schedule(uow, "hui", start=NOW.start_of("week"))),
    (
        "report_case",
        lambda uow: report_case(
            uow,
            category="help",
            source=CaseSource.HOTLINE_12345,
            cell_code=GRID,
            description="楼道灯坏了",
            at=NOW,
            actor="grid-01",
            case_id="case-scope-1",
        ),
    ),
    ("case_kpis", lambda uow: case_kpis(uow, GRID, since=NOW.subtract(days=60), until=NOW)),
]


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """Return the Minggong example."""
    return load_scenario(example_path())


def _filled(scenario: Scenario) -> Store:
    store = open_store("memory://", scheme=scenario.scheme)
    populate(store, scenario)
    return store


@pytest.fixture(scope="module")
def stores(scenario: Scenario) -> Iterator[tuple[Store, Store]]:
    """Return two stores filled alike: one for the scoped runs, one for the unscoped."""
    pair = (_filled(scenario), _filled(scenario))
    yield pair
    for s in pair:
        s.close()


def _run(store: Store, step: Step, principal: Principal | None) -> object:
    denials: list[AuditEntry] = []
    with store() as uow:
        result = step(uow if principal is None else scoped(uow, principal, audit=denials.append))
        uow.commit()
    assert [] == denials
    return result


@pytest.mark.parametrize(("name", "step"), STEPS, ids=[name for name, _ in STEPS])
def test_a_scoped_unit_decides_as_an_unscoped_one(
    stores: tuple[Store, Store], name: str, step: Step
) -> None:
    """The grid worker's scoped unit and an unscoped one give the same result."""
    through_scope, whole = stores
    assert _run(whole, step, None) == _run(through_scope, step, WORKER), name


def test_a_place_freed_through_a_scope_goes_to_the_first_waiting_anywhere(
    stores: tuple[Store, Store],
) -> None:
    """A grid resident's cancelled place goes to the first waiting, outside the grid."""
    through_scope, whole = stores
    mine = f"reg.science-day-clinic.20261202T063000Z.{'h000168-1'}"  # lives in grid 001

    def cancel(uow: UnitOfWork) -> object:
        return cancel_registration(uow, mine, at=NOW)

    unscoped, through = _run(whole, cancel, None), _run(through_scope, cancel, WORKER)
    assert unscoped == through
    assert "h001487-1" == through.promoted.resident_id  # type: ignore[attr-defined]
