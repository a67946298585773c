"""Scoped units of work: principals see and change only their scope, and every denial is recorded.

The world: district > street > communities A and B > grids A1, A2, B1, B2 > one building each;
two households per building with elders and a volunteer; contacts, care tasks and a case per grid;
community A's venue with a weekly activity, registrations and a volunteer shift; community B's
venue with its own. Everything is filled through the services on an unscoped unit of work.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov import (
    AccessDeniedError,
    Address,
    Assignment,
    GridCell,
    GridLevel,
    Household,
    LivingArrangement,
    NotFoundError,
    Resident,
    Store,
    Tag,
    UnitOfWork,
    ValidationError,
    Worker,
    WorkerRole,
    open_store,
    ports,
)
from gridgov.access import (
    SYSTEM,
    AuditEntry,
    AuditKind,
    Permission,
    Principal,
    Redaction,
    Role,
)
from gridgov.adapters.sqlite import SqliteStore
from gridgov.calendar import Period, WorkCalendar
from gridgov.care import ContactMethod
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome
from gridgov.cases import Case, CaseSource, CaseWorkflow
from gridgov.cases.model import Reporter
from gridgov.codes import id_check_character
from gridgov.ports import Page
from gridgov.redaction import redact
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries, occurrence_id
from gridgov.scheduling.venues import Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.services._common import pages
from gridgov.services.access import StoreAuditSink
from gridgov.services.care import coverage, plan_tasks, record_contact, worklist
from gridgov.services.cases import case_kpis, report_case
from gridgov.services.scheduling import create_series, register, sign_up, week_schedule
from gridgov.services.scoped import ScopedUnitOfWork, scoped
from gridgov.settings import Settings
from gridgov.testing import ManualClock

T = TypeVar("T")

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 25, 10, tz=TZ)  # Wednesday
MONDAY = pendulum.datetime(2026, 11, 23, 9, tz=TZ)
SATURDAY = pendulum.datetime(2026, 11, 28, 10, tz=TZ)
SUNDAY = pendulum.datetime(2026, 11, 29, 9, tz=TZ)
PAST = pendulum.datetime(2020, 1, 1, tz=TZ)
FUTURE = pendulum.datetime(2030, 1, 1, tz=TZ)
WF = CaseWorkflow(WorkCalendar.china())

DISTRICT, STREET = "610102", "610102003"
COMM_A, COMM_B = "610102003006", "610102003007"
A1, A2, B1, B2 = f"{COMM_A}001", f"{COMM_A}002", f"{COMM_B}001", f"{COMM_B}002"
GRIDS = {"a1": A1, "a2": A2, "b1": B1, "b2": B2}
COMMUNITY_OF = {"a1": COMM_A, "a2": COMM_A, "b1": COMM_B, "b2": COMM_B}


def building(grid: str) -> str:
    """Return the code of the one building of ``grid``."""
    return f"{grid}001"


CELL_CODES = [DISTRICT, STREET, COMM_A, COMM_B, *GRIDS.values(), *map(building, GRIDS.values())]
OCCURRENCE = occurrence_id("paint", SATURDAY)

GW_A1 = Principal("w-a1", {Role.GRID_WORKER}, {A1})
GW_B1 = Principal("w-b1", {Role.GRID_WORKER}, {B1})
CS_A = Principal("cs-a", {Role.COMMUNITY_STAFF}, {COMM_A})
TWO_GRIDS = Principal("w-two", {Role.GRID_WORKER}, {A1, B2})
MIXED = Principal("w-mixed", {Role.COMMUNITY_STAFF}, {A1, COMM_B})
AUDITOR = Principal("aud-1", {Role.AUDITOR}, {DISTRICT})
NOBODY = Principal("nobody", set(), set())
NO_SCOPE = Principal("w-none", {Role.GRID_WORKER}, set())

_OPENING = WorkCalendar(
    years=(2026, 2027), hours=dict.fromkeys(range(7), (Period(dt.time(8), dt.time(21)),))
)

# Personal data of the world: none of it may reach an audit entry, a log line or an error message.
SURNAMES = {"a1": "欧阳", "a2": "司马", "b1": "诸葛", "b2": "上官"}
PERSONAL: list[str] = ["赵大爷", "13700001111", "自强东路", "张静", "李敏"]


def national_id(year: int, seq: int) -> str:
    """Return a valid resident ID number born on 1 January ``year``."""
    first17 = f"610102{year}0101{seq:03d}"
    return first17 + id_check_character(first17)


def resident(tag: str, n: int, age: int, *tags: Tag) -> Resident:
    """Return resident ``r-<tag>-<n>``, ``age`` on NOW, with full personal data."""
    name = f"{SURNAMES[tag]}秀{n}"
    phone = f"139{ord(tag[0]) % 10}{tag[1]}{n:06d}"[:11]
    number = national_id(NOW.year - age - 1, 10 * list(GRIDS).index(tag) + n)
    PERSONAL.extend([name, phone, number])
    return Resident(
        f"r-{tag}-{n}",
        name,
        national_id=number,
        phone=phone,
        tags=set(tags),
        living_arrangement=LivingArrangement.ALONE if Tag.LIVING_ALONE in tags else None,
    )


@attrs.frozen
class World:
    """The keys of what the world holds, per kind."""

    ids: dict[str, tuple[str, ...]]


class Denials:
    """An audit sink keeping entries in a list (outside any unit of work)."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def __call__(self, entry: AuditEntry) -> None:
        """Keep ``entry``."""
        self.entries.append(entry)


def build(store: Store) -> World:
    """Fill ``store`` with the world through the services and return its keys."""
    with store() as uow:
        uow.cells.add(GridCell(DISTRICT, "新城区", GridLevel.DISTRICT))
        uow.cells.add(GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT))
        uow.cells.add(GridCell(COMM_A, "明宫社区", GridLevel.COMMUNITY, STREET))
        uow.cells.add(GridCell(COMM_B, "建强社区", GridLevel.COMMUNITY, STREET))
        for tag, grid in GRIDS.items():
            uow.cells.add(GridCell(grid, f"网格{tag}", GridLevel.GRID, COMMUNITY_OF[tag]))
            uow.cells.add(GridCell(building(grid), f"{tag}号楼", GridLevel.BUILDING, grid))
        since = pendulum.Date(2024, 1, 1)
        for tag, grid in GRIDS.items():
            uow.workers.add(
                Worker(f"w-{tag}", "张静", {WorkerRole.GRID_WORKER}, [Assignment(grid, since)])
            )
        for comm, code in (("a", COMM_A), ("b", COMM_B)):
            uow.workers.add(
                Worker(
                    f"cs-{comm}", "李敏", {WorkerRole.COMMUNITY_STAFF}, [Assignment(code, since)]
                )
            )
        for tag, grid in GRIDS.items():
            where = Address(f"自强东路{len(tag) * 7}号", unit="1", room=f"10{tag[1]}")
            uow.households.add(
                Household(
                    f"h-{tag}-1",
                    building(grid),
                    where,
                    members=(resident(tag, 1, 83, Tag.LIVING_ALONE),),
                )
            )
            uow.households.add(
                Household(
                    f"h-{tag}-2",
                    building(grid),
                    where,
                    members=(
                        resident(tag, 2, 76, Tag.EMPTY_NEST),
                        resident(tag, 3, 40, Tag.VOLUNTEER),
                    ),
                )
            )
        uow.commit()
    with store() as uow:
        for i, tag in enumerate(GRIDS):
            record_contact(
                uow,
                resident_id=f"r-{tag}-1",
                method=ContactMethod.HOME_VISIT,
                outcome=Outcome.WELL,
                by=f"w-{tag}",
                at=NOW.subtract(days=3, minutes=i),
                now=NOW.subtract(days=3),
                notes="身体状况良好",
            )
            record_contact(
                uow,
                resident_id=f"r-{tag}-2",
                method=ContactMethod.PHONE,
                outcome=Outcome.WELL,
                by=f"w-{tag}",
                at=NOW.subtract(days=2, minutes=i),
                now=NOW.subtract(days=2),
            )
        plan_tasks(uow, DISTRICT, now=NOW.subtract(days=1))
        for i, (tag, grid) in enumerate(GRIDS.items()):
            report_case(
                uow,
                WF,
                category="complaint",
                source=CaseSource.HOTLINE_12345,
                cell_code=building(grid),
                description="楼道灯不亮",
                at=MONDAY.add(minutes=10 * (4 - i)),
                actor=f"w-{tag}",
                reporter=Reporter("赵大爷", "13700001111"),
                external_id=f"12345-{tag}",
                case_id=f"k-{tag}",
            )
        uow.venues.add(Venue("hui", "明宫HUI客厅", COMM_A, _OPENING, [Space("s1", "绘本馆", 20)]))
        uow.venues.add(Venue("vb", "建强活动室", COMM_B, _OPENING, [Space("s1", "活动室", 20)]))
        for sid, venue in (("paint", "hui"), ("yoga", "vb")):
            _, stored = create_series(
                uow,
                ActivitySeries(
                    sid,
                    f"活动{sid}",
                    "w-a1",
                    venue,
                    "s1",
                    SATURDAY,
                    90,
                    rrule="FREQ=WEEKLY;COUNT=4",
                ),
            )
            assert stored is not None
        registrations = [
            register(uow, series_id=series, original_start=SATURDAY, resident_id=rid, at=NOW).id
            for series, rid in (
                ("paint", "r-a1-1"),
                ("paint", "r-a2-1"),
                ("paint", "r-b1-1"),
                ("yoga", "r-b2-1"),
            )
        ]
        uow.shifts.add(Shift("sh-hui", "hui", "志愿服务", SUNDAY, SUNDAY.add(hours=3), 3))
        uow.shifts.add(Shift("sh-vb", "vb", "志愿服务", SUNDAY, SUNDAY.add(hours=3), 3))
        signups = [
            sign_up(uow, shift_id=shift, resident_id=rid, at=NOW).id
            for shift, rid in (
                ("sh-hui", "r-a1-3"),
                ("sh-hui", "r-a2-3"),
                ("sh-hui", "r-b1-3"),
                ("sh-vb", "r-b2-3"),
            )
        ]
        uow.commit()
    with store() as uow:
        ids = {
            "cell": tuple(c.code for c in uow.cells.tree()),
            "worker": tuple(w.id for w in pages(lambda a: uow.workers.list(after=a))),
            "household": tuple(
                h.id for h in pages(lambda a: uow.households.in_subtree(DISTRICT, after=a))
            ),
            "contact": tuple(
                c.id
                for c in pages(
                    lambda a: uow.contacts.in_subtree(DISTRICT, since=PAST, until=FUTURE, after=a)
                )
            ),
            "task": tuple(
                t.id
                for t in pages(
                    lambda a: uow.care_tasks.open_in_subtree(
                        DISTRICT, starting_before=FUTURE, after=a
                    )
                )
            ),
            "case": tuple(f"k-{tag}" for tag in GRIDS),
            "venue": ("hui", "vb"),
            "series": ("paint", "yoga"),
            "registration": tuple(registrations),
            "shift": ("sh-hui", "sh-vb"),
            "signup": tuple(signups),
        }
    return World(ids)


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, World]]:
    """Return the world on the memory store and on SQLite."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'world.db'}"
    store = open_store(url)
    try:
        yield store, build(store)
    finally:
        store.close()


_MEMORY_WORLD: tuple[Store, World] | None = None


def memory_world() -> tuple[Store, World]:
    """Return the world on a memory store, built once for the tests that only read it."""
    global _MEMORY_WORLD
    if _MEMORY_WORLD is None:
        store = open_store("memory://")
        _MEMORY_WORLD = (store, build(store))
    return _MEMORY_WORLD


def as_(uow: UnitOfWork, principal: Principal, sink: Denials | None = None) -> ScopedUnitOfWork:
    """Return ``uow`` scoped to ``principal``, denials going to ``sink``."""
    return scoped(uow, principal, audit=sink or Denials(), clock=ManualClock(NOW))


def ids(records: Iterator[Any] | tuple[Any, ...] | list[Any]) -> list[str]:
    """Return the ids of ``records``."""
    return [r.id for r in records]


def household_ids(uow: UnitOfWork, cell: str) -> list[str]:
    """Return the ids of the households of a subtree."""
    return ids(pages(lambda a: uow.households.in_subtree(cell, after=a)))


def contacts_of(uow: UnitOfWork, cell: str) -> list[ContactAttempt]:
    """Return the contacts of a subtree."""
    return list(
        pages(lambda a: uow.contacts.in_subtree(cell, since=PAST, until=FUTURE, limit=2, after=a))
    )


def tasks_of(uow: UnitOfWork, cell: str) -> list[CareTask]:
    """Return the open tasks of a subtree."""
    return list(
        pages(
            lambda a: uow.care_tasks.open_in_subtree(cell, starting_before=FUTURE, limit=2, after=a)
        )
    )


def snapshot(uow: UnitOfWork, world: World) -> dict[str, object]:
    """Return every record of the world as ``uow`` sees it."""
    getters: dict[str, Callable[[str], object]] = {
        "cell": uow.cells.get,
        "worker": uow.workers.get,
        "household": uow.households.get,
        "contact": uow.contacts.get,
        "task": uow.care_tasks.get,
        "case": uow.cases.get,
        "venue": uow.venues.get,
        "series": uow.series.get,
        "registration": uow.registrations.get,
        "shift": uow.shifts.get,
        "signup": uow.signups.get,
    }
    return {f"{k}:{key}": getters[k](key) for k, keys in world.ids.items() for key in keys}


# -- scoping --------------------------------------------------------------------------------------


def test_grid_worker_sees_only_their_grid(world: tuple[Store, World]) -> None:
    """Households, contacts, tasks, cases, registrations and sign-ups: their grid's only."""
    store, _ = world
    with store() as uow:
        mine = as_(uow, GW_A1)
        assert ["h-a1-1", "h-a1-2"] == household_ids(mine, DISTRICT)
        assert "h-a1-1" == mine.households.get("h-a1-1").id
        assert ids(contacts_of(uow, A1)) == ids(contacts_of(mine, DISTRICT))
        assert ids(tasks_of(uow, A1)) == ids(tasks_of(mine, COMM_A))
        assert ["k-a1"] == ids(pages(lambda a: mine.cases.open_in_subtree(STREET, after=a)))
        assert ["r-a1-1"] == [r.resident_id for r in mine.registrations.for_occurrence(OCCURRENCE)]
        assert ["r-a1-3"] == [s.resident_id for s in mine.signups.for_shift("sh-hui")]
        assert 2 == len(mine.contacts.for_resident("r-a1-1").items) + len(
            mine.contacts.for_resident("r-a1-2").items
        )
        for denied in (
            lambda: mine.households.get("h-b1-1"),
            lambda: mine.households.household_of("r-a2-1"),
            lambda: mine.households.in_subtree(COMM_B),
            lambda: mine.contacts.for_resident("r-b1-1"),
            lambda: mine.care_tasks.open_for_resident("r-a2-1"),
            lambda: mine.cases.get("k-a2"),
            lambda: mine.registrations.for_resident("r-b1-1", start=PAST, end=FUTURE),
        ):
            with pytest.raises(AccessDeniedError):
                denied()


def test_services_work_on_a_scoped_unit(world: tuple[Store, World]) -> None:
    """worklist, coverage and case_kpis run scoped over the scope; week_schedule counts all places.

    A scope narrows what a principal sees, never what a rule counts: the clinic's fill is the
    same for a grid worker as for everyone.
    """
    store, _ = world
    start, end = NOW.date().subtract(days=30), NOW.date().add(days=1)
    with store() as uow:
        mine = as_(uow, GW_A1)
        scoped_work = worklist(mine, "w-a1", on=NOW.date(), now=NOW)
        assert worklist(uow, "w-a1", on=NOW.date(), now=NOW) == scoped_work
        assert {h.household.cell_code for s in scoped_work.stops for h in s.households} <= {
            building(A1)
        }
        assert 0 < len(scoped_work)
        got = coverage(mine, COMM_A, start=start, end=end)
        assert attrs.evolve(coverage(uow, A1, start=start, end=end), cell_code=COMM_A) == got
        assert 2 == got.covered
        assert case_kpis(uow, A1, since=PAST, until=FUTURE) == case_kpis(
            mine, DISTRICT, since=PAST, until=FUTURE
        )
        week = week_schedule(mine, "hui", start=SATURDAY.start_of("day"))
        everyone = week_schedule(uow, "hui", start=SATURDAY.start_of("day"))
        assert [3] == [e.confirmed for e in everyone.by_space["s1"]]
        assert everyone == week
        record_contact(
            mine,
            resident_id="r-a1-2",
            method=ContactMethod.HOME_VISIT,
            outcome=Outcome.WELL,
            by="w-a1",
            at=NOW,
            now=NOW,
        )
        with pytest.raises(AccessDeniedError):
            record_contact(
                mine,
                resident_id="r-b1-2",
                method=ContactMethod.HOME_VISIT,
                outcome=Outcome.WELL,
                by="w-a1",
                at=NOW,
                now=NOW,
            )
        mine.commit()
    with store() as uow:
        assert 2 == len(uow.contacts.for_resident("r-a1-2").items)
        assert 1 == len(uow.contacts.for_resident("r-b1-2").items)


def test_community_staff_see_their_community(world: tuple[Store, World]) -> None:
    """Community staff read their community's subtree: both its grids, not the other community."""
    store, _ = world
    with store() as uow:
        staff = as_(uow, CS_A)
        assert household_ids(uow, COMM_A) == household_ids(staff, DISTRICT)
        assert ["h-a1-1", "h-a1-2", "h-a2-1", "h-a2-2"] == household_ids(staff, STREET)
        assert ids(contacts_of(uow, COMM_A)) == ids(contacts_of(staff, STREET))
        assert ["k-a2", "k-a1"] == ids(
            pages(lambda a: staff.cases.open_in_subtree(STREET, after=a))
        )
        assert ["r-a1-1", "r-a2-1"] == [
            r.resident_id for r in staff.registrations.for_occurrence(OCCURRENCE)
        ]
        with pytest.raises(AccessDeniedError):
            staff.households.in_subtree(B1)
        with pytest.raises(AccessDeniedError):
            staff.venues.get("vb")


def test_auditor_reads_but_every_write_is_denied(world: tuple[Store, World]) -> None:
    """An auditor reads the whole district; each write raises AccessDeniedError, none is kept."""
    store, w = world
    with store() as uow:
        before = snapshot(uow, w)
        auditor = as_(uow, AUDITOR)
        assert household_ids(uow, DISTRICT) == household_ids(auditor, DISTRICT)
        assert 4 == len(auditor.registrations.for_occurrence(OCCURRENCE)) + len(
            auditor.registrations.for_occurrence(occurrence_id("yoga", SATURDAY))
        )
        for write in writes(uow, auditor):
            with pytest.raises(AccessDeniedError):
                write()
        auditor.commit()
    with store() as uow:
        assert before == snapshot(uow, w)


def writes(uow: UnitOfWork, target: UnitOfWork) -> list[Callable[[], object]]:
    """Return one write per repository of ``target``, of records read through ``uow``."""
    household = uow.households.get("h-a1-1")
    contact = uow.contacts.get(ids(contacts_of(uow, A1))[0])
    task = tasks_of(uow, A1)[0]
    case = uow.cases.get("k-a1")
    registration = uow.registrations.for_occurrence(OCCURRENCE)[0]
    signup = uow.signups.for_shift("sh-hui")[0]
    return [
        lambda: target.cells.update(uow.cells.get(A1)),
        lambda: target.cells.add(GridCell(f"{A1}009", "新楼", GridLevel.BUILDING, A1)),
        lambda: target.workers.update(uow.workers.get("w-a1")),
        lambda: target.households.update(household),
        lambda: target.households.add(attrs.evolve(household, id="h-new", members=())),
        lambda: target.households.add_many([attrs.evolve(household, id="h-new", members=())]),
        lambda: target.households.remove(household),
        lambda: target.contacts.add(attrs.evolve(contact, id="c-new", version=0)),
        lambda: target.care_tasks.update(task),
        lambda: target.care_tasks.add_many([attrs.evolve(task, id="t-new", version=0)]),
        lambda: target.cases.update(case),
        lambda: target.cases.add_many([attrs.evolve(case, id="k-new", version=0)]),
        lambda: target.settings.save(Settings()),
        lambda: target.venues.update(uow.venues.get("hui")),
        lambda: target.series.update(uow.series.get("paint")),
        lambda: target.registrations.update(registration),
        lambda: target.shifts.update(uow.shifts.get("sh-hui")),
        lambda: target.signups.update(signup),
    ]


def reads(target: UnitOfWork) -> list[Callable[[], object]]:
    """Return one read per repository method of ``target``."""
    return [
        lambda: target.cells.get(A1),
        lambda: target.cells.children(COMM_A),
        lambda: target.cells.subtree(A1),
        lambda: target.cells.tree(),
        lambda: target.workers.get("w-a1"),
        lambda: target.workers.list(),
        lambda: target.workers.assigned_to(A1, on=NOW.date()),
        lambda: target.households.get("h-a1-1"),
        lambda: target.households.household_of("r-a1-1"),
        lambda: target.households.in_subtree(A1),
        lambda: target.households.with_tag(Tag.LIVING_ALONE),
        lambda: target.households.aged(on=NOW.date(), min_age=60),
        lambda: target.contacts.for_resident("r-a1-1"),
        lambda: target.contacts.in_subtree(A1, since=PAST, until=FUTURE),
        lambda: target.care_tasks.open_for_resident("r-a1-1"),
        lambda: target.care_tasks.open_in_subtree(A1, starting_before=FUTURE),
        lambda: target.care_tasks.overdue(due_before=FUTURE),
        lambda: target.cases.get("k-a1"),
        lambda: target.cases.by_external_id("12345-a1"),
        lambda: target.cases.due(at_or_before=FUTURE),
        lambda: target.cases.open_in_subtree(A1),
        lambda: target.cases.reported_in_subtree(A1, since=PAST, until=FUTURE),
        lambda: target.settings.get(),
        lambda: target.venues.get("hui"),
        lambda: target.venues.in_subtree(COMM_A),
        lambda: target.series.get("paint"),
        lambda: target.series.in_venue("hui", start=PAST, end=FUTURE),
        lambda: target.registrations.for_occurrence(OCCURRENCE),
        lambda: target.registrations.for_resident("r-a1-1", start=PAST, end=FUTURE),
        lambda: target.shifts.get("sh-hui"),
        lambda: target.shifts.in_venue("hui", start=PAST, end=FUTURE),
        lambda: target.signups.for_shift("sh-hui"),
        lambda: target.signups.for_resident("r-a1-3", start=PAST, end=FUTURE),
    ]


@pytest.mark.parametrize("principal", [NOBODY, NO_SCOPE], ids=["no-role", "no-cells"])
def test_principal_without_roles_or_cells_can_do_nothing(principal: Principal) -> None:
    """Without a role, or without cells, every read and every write is denied."""
    store, w = memory_world()
    with store() as uow:
        before = snapshot(uow, w)
        sink = Denials()
        target = as_(uow, principal, sink)
        operations = [*reads(target), *writes(uow, target)]
        for operation in operations:
            with pytest.raises(AccessDeniedError):
                operation()
        assert before == snapshot(uow, w)
    assert len(operations) == len(sink.entries)


def test_writing_into_another_cell_is_denied_and_nothing_stored(
    world: tuple[Store, World],
) -> None:
    """A grid worker can neither write in another grid nor move records in or out of theirs."""
    store, w = world
    with store() as uow:
        before = snapshot(uow, w)
        mine = as_(uow, GW_A1)
        theirs = uow.households.get("h-b1-1")
        own = uow.households.get("h-a1-1")
        contact = contacts_of(uow, B1)[0]
        registration = uow.registrations.for_occurrence(OCCURRENCE)[2]
        assert "r-b1-1" == registration.resident_id
        for write in (
            lambda: mine.households.add(attrs.evolve(theirs, id="h-new", members=())),
            lambda: mine.households.update(attrs.evolve(own, cell_code=building(B1))),
            lambda: mine.households.update(attrs.evolve(theirs, cell_code=building(A1))),
            lambda: mine.households.add_many(
                [
                    attrs.evolve(own, id="h-ok", members=()),
                    attrs.evolve(theirs, id="h-bad", members=()),
                ]
            ),
            lambda: mine.contacts.add(attrs.evolve(contact, id="c-new", version=0)),
            lambda: mine.cases.add(attrs.evolve(uow.cases.get("k-b1"), id="k-new", version=0)),
            lambda: mine.registrations.update(attrs.evolve(registration, cell_code=A1)),
            lambda: mine.workers.update(
                attrs.evolve(
                    uow.workers.get("w-a1"),
                    assignments=[Assignment(B1, pendulum.Date(2024, 1, 1))],
                )
            ),
            lambda: mine.cells.add(GridCell(f"{B1}009", "新楼", GridLevel.BUILDING, B1)),
            lambda: mine.venues.update(attrs.evolve(uow.venues.get("vb"), cell_code=A1)),
        ):
            with pytest.raises(AccessDeniedError):
                write()
        with pytest.raises(NotFoundError):
            uow.households.get("h-ok")
        mine.commit()
    with store() as uow:
        assert before == snapshot(uow, w)


def test_denials_are_audited_and_logged_without_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each denial is an entry in the sink and a warning, naming ids and cells, no personal data."""
    store, _ = memory_world()
    caplog.set_level(logging.WARNING, logger="gridgov.access")
    sink = Denials()
    messages: list[str] = []
    with store() as uow:
        mine = as_(uow, GW_A1, sink)
        contact = contacts_of(uow, B1)[0]
        for denied in (
            lambda: mine.households.get("h-b1-1"),
            lambda: mine.households.household_of("r-b2-2"),
            lambda: mine.households.in_subtree(COMM_B),
            lambda: mine.contacts.add(attrs.evolve(contact, id="c-new", version=0)),
            lambda: mine.cases.by_external_id("12345-b2"),
            lambda: as_(uow, NOBODY, sink).households.get("h-a1-1"),
            lambda: as_(uow, AUDITOR, sink).households.update(uow.households.get("h-a1-1")),
        ):
            with pytest.raises(AccessDeniedError) as info:
                denied()
            messages.append(str(info.value))
    assert [
        ("w-a1", "household:h-b1-1", building(B1), "read"),
        ("w-a1", "resident:r-b2-2", building(B2), "read"),
        ("w-a1", "query:households.in_subtree", COMM_B, "read"),
        ("w-a1", "contact:c-new", building(B1), "write"),
        ("w-a1", "case:k-b2", building(B2), "read"),
        ("nobody", "household:h-a1-1", None, "read"),
        ("aud-1", "household:h-a1-1", building(A1), "write"),
    ] == [(e.principal_id, e.subject, e.cell_code, e.detail) for e in sink.entries]
    assert {AuditKind.DENIED} == {e.kind for e in sink.entries}
    assert {NOW} == {e.at for e in sink.entries}
    assert len(sink.entries) == len({e.id for e in sink.entries})
    assert all(re.fullmatch(r"deny\.\d{17}\.[0-9A-HJKMNP-TV-Z]{16}", e.id) for e in sink.entries)
    assert sorted(e.id for e in sink.entries) == [e.id for e in sink.entries]
    warnings = [r for r in caplog.records if r.name == "gridgov.access"]
    assert len(sink.entries) == len(warnings)
    assert {logging.WARNING} == {r.levelno for r in warnings}
    texts = [repr(e) for e in sink.entries] + [r.getMessage() for r in warnings] + messages
    assert [] == [(p, t) for t in texts for p in PERSONAL if p in t]
    assert all("h-b1-1" in t for t in (messages[0], warnings[0].getMessage()))


def test_a_failing_sink_does_not_turn_a_denial_into_an_allowance() -> None:
    """If the sink fails the call is still denied, with AccessDeniedError."""
    store, _ = memory_world()

    def broken(entry: AuditEntry) -> None:
        raise OSError("disk full")

    with store() as uow:
        mine = scoped(uow, GW_A1, audit=broken, clock=ManualClock(NOW))
        with pytest.raises(AccessDeniedError) as info:
            mine.households.get("h-b1-1")
    assert isinstance(info.value.__cause__, OSError)


# -- narrowing ------------------------------------------------------------------------------------

SUBTREE_QUERIES = {"in_subtree", "with_tag", "aged", "open_in_subtree", "reported_in_subtree"}
SUBTREE_QUERIES |= {"subtree"}
REPOSITORIES = {
    "cells",
    "workers",
    "households",
    "contacts",
    "care_tasks",
    "cases",
    "settings",
    "venues",
    "series",
    "registrations",
    "shifts",
    "signups",
    "audit",
}


class _Recorder:
    """A repository whose subtree queries are written down before they run."""

    def __init__(self, target: object, name: str, calls: list[tuple[str, str | None]]) -> None:
        self._target = target
        self._name = name
        self._calls = calls

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if attr not in SUBTREE_QUERIES:
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            cell = kwargs["within"] if attr in ("with_tag", "aged") else args[0]
            self._calls.append((f"{self._name}.{attr}", cell))
            return value(*args, **kwargs)

        return call


class Spy:
    """A unit of work that writes down every subtree query reaching the wrapped one."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str | None]] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        return _Recorder(value, name, self.calls) if name in REPOSITORIES else value


@pytest.mark.parametrize("principal", [GW_A1, TWO_GRIDS, CS_A], ids=lambda p: p.id)
def test_subtree_queries_never_reach_cells_outside_the_scope(principal: Principal) -> None:
    """Whatever is asked, the store only sees subtree queries over cells of the scope."""
    store, _ = memory_world()
    with store() as uow:
        spy = Spy(uow)
        target = as_(cast(UnitOfWork, spy), principal)
        start, end = NOW.date().subtract(days=30), NOW.date()
        coverage(target, DISTRICT, start=start, end=end)
        case_kpis(target, DISTRICT, since=PAST, until=FUTURE)
        plan_tasks(target, STREET, now=NOW)
        for query in (
            lambda a: target.households.with_tag(Tag.LIVING_ALONE, limit=1, after=a),
            lambda a: target.households.aged(on=NOW.date(), min_age=60, limit=1, after=a),
            lambda a: target.venues.in_subtree(DISTRICT, limit=1, after=a),
            lambda a: target.cells.subtree(COMM_A, limit=1, after=a),
            lambda a: target.cases.open_in_subtree(DISTRICT, limit=1, after=a),
            lambda a: target.care_tasks.open_in_subtree(
                STREET, starting_before=FUTURE, limit=1, after=a
            ),
        ):
            list(pages(cast(Callable[[str | None], Page[object]], query)))
        assert spy.calls
        outside = [(q, c) for q, c in spy.calls if c is None or not principal.covers(c)]
    assert [] == outside


MERGED: dict[str, Callable[[UnitOfWork, str | None, int], Page[Any]]] = {
    "households.in_subtree": lambda u, a, n: u.households.in_subtree(DISTRICT, limit=n, after=a),
    "households.with_tag": lambda u, a, n: u.households.with_tag(
        Tag.EMPTY_NEST, within=STREET, limit=n, after=a
    ),
    "households.aged": lambda u, a, n: u.households.aged(on=NOW.date(), limit=n, after=a),
    "contacts.in_subtree": lambda u, a, n: u.contacts.in_subtree(
        DISTRICT, since=PAST, until=FUTURE, limit=n, after=a
    ),
    "care_tasks.open_in_subtree": lambda u, a, n: u.care_tasks.open_in_subtree(
        DISTRICT, starting_before=FUTURE, limit=n, after=a
    ),
    "cases.open_in_subtree": lambda u, a, n: u.cases.open_in_subtree(STREET, limit=n, after=a),
    "cases.reported_in_subtree": lambda u, a, n: u.cases.reported_in_subtree(
        DISTRICT, since=PAST, until=FUTURE, limit=n, after=a
    ),
    "cases.due": lambda u, a, n: u.cases.due(at_or_before=FUTURE, limit=n, after=a),
    "care_tasks.overdue": lambda u, a, n: u.care_tasks.overdue(due_before=FUTURE, limit=n, after=a),
    "venues.in_subtree": lambda u, a, n: u.venues.in_subtree(DISTRICT, limit=n, after=a),
    "cells.subtree": lambda u, a, n: u.cells.subtree(DISTRICT, limit=n, after=a),
    "workers.list": lambda u, a, n: u.workers.list(limit=n, after=a),
}


def cell_of(record: object) -> str:
    """Return the cell a row of a merged query lies in."""
    if isinstance(record, GridCell):
        return record.code
    if isinstance(record, Worker):
        return record.assignments[0].cell_code
    if isinstance(record, Case):
        return record.cell_code
    code = getattr(record, "cell_code", None)
    assert isinstance(code, str)
    return code


@pytest.mark.parametrize("name", sorted(MERGED))
@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_merged_pages_keep_the_query_order(name: str, limit: int) -> None:
    """Over a grid and another community, pages hold the scope's rows in the query's order."""
    store, _ = memory_world()
    query = MERGED[name]
    with store() as uow:
        everything = list(pages(lambda a: query(uow, a, 1000)))
        target = as_(uow, MIXED)
        got = list(pages(lambda a: query(target, a, limit)))
        sizes = []
        after: str | None = None
        while True:
            page = query(target, after, limit)
            sizes.append(len(page))
            after = page.next_cursor
            if after is None:
                break
    expected = [r for r in everything if MIXED.overlaps(cell_of(r))]
    if name != "workers.list":
        expected = [r for r in expected if MIXED.covers(cell_of(r))]
    assert expected == got
    assert expected
    assert all(size == limit for size in sizes[:-1])
    assert 0 < sizes[-1]


def test_a_foreign_cursor_is_a_validation_error() -> None:
    """A cursor of another query, or no cursor at all, is refused on ``after``."""
    store, _ = memory_world()
    with store() as uow:
        target = as_(uow, TWO_GRIDS)
        cursor = target.households.in_subtree(DISTRICT, limit=1).next_cursor
        assert cursor is not None
        for bad in (
            lambda: target.contacts.in_subtree(
                DISTRICT, since=PAST, until=FUTURE, limit=1, after=cursor
            ),
            lambda: target.households.in_subtree(STREET, limit=1, after="scoped.garbage"),
            lambda: target.households.in_subtree(STREET, limit=1, after="nonsense"),
        ):
            with pytest.raises(ValidationError) as info:
                bad()
            assert "after" == info.value.path


# -- the hierarchy, workers, cases, venues --------------------------------------------------------


def test_cells_above_the_scope_are_readable_but_not_writable() -> None:
    """A grid worker sees the cells above their grid, not a neighbour's, and writes their own."""
    store, _ = memory_world()
    mine_above = [DISTRICT, STREET, COMM_A, A1, building(A1)]
    with store() as uow:
        mine = as_(uow, GW_A1)
        assert mine_above == [mine.cells.get(c).code for c in mine_above]
        assert sorted(mine_above) == sorted(c.code for c in mine.cells.tree())
        assert [A1] == [c.code for c in mine.cells.children(COMM_A)]
        assert [A1, building(A1)] == [c.code for c in mine.cells.subtree(STREET).items]
        for code in (COMM_B, A2, building(B2)):
            with pytest.raises(AccessDeniedError):
                mine.cells.get(code)
        with pytest.raises(AccessDeniedError):
            mine.cells.update(uow.cells.get(COMM_A))
        added = mine.cells.add(GridCell(f"{A1}009", "新楼", GridLevel.BUILDING, A1))
        assert 1 == added.version


def test_workers_are_read_through_their_cells() -> None:
    """A grid worker reads themselves and the community staff above; writes need every cell."""
    store, _ = memory_world()
    since = pendulum.Date(2025, 1, 1)
    with store() as uow:
        mine = as_(uow, GW_A1)
        assert ["cs-a", "w-a1"] == ids(pages(lambda a: mine.workers.list(limit=1, after=a)))
        assert ["cs-a"] == ids(mine.workers.assigned_to(COMM_A, on=NOW.date()))
        assert "cs-a" == mine.workers.get("cs-a").id
        with pytest.raises(AccessDeniedError):
            mine.workers.get("w-a2")
        with pytest.raises(AccessDeniedError):
            mine.workers.assigned_to(B1, on=NOW.date())
        with pytest.raises(AccessDeniedError):
            mine.workers.add(
                Worker("w-x", "王五", assignments=[Assignment(A1, since), Assignment(B1, since)])
            )
        with pytest.raises(AccessDeniedError):
            as_(uow, CS_A).workers.add(Worker("w-free", "王五"))
        assert (
            1
            == mine.workers.add(Worker("w-y", "王五", assignments=[Assignment(A1, since)])).version
        )


def test_overdue_tasks_are_the_scopes_and_only_a_whole_scope_claims_them() -> None:
    """A scope lists its own overdue tasks; claiming them (a sweeper's query) needs every cell."""
    store, _ = memory_world()
    with store() as uow:
        every = list(pages(lambda a: uow.care_tasks.overdue(due_before=FUTURE, after=a)))
        staff = as_(uow, CS_A)
        mine = ids(pages(lambda a: staff.care_tasks.overdue(due_before=FUTURE, limit=1, after=a)))
        with pytest.raises(AccessDeniedError):
            staff.care_tasks.claim_overdue(due_before=FUTURE)
        claimed = ids(as_(uow, SYSTEM).care_tasks.claim_overdue(due_before=FUTURE, limit=500).items)
    in_a = [t.id for t in every if t.cell_code.startswith(COMM_A)]
    assert (True, in_a, ids(every)) == (0 < len(in_a) < len(every), mine, claimed)


def test_due_cases_external_ids_and_settings() -> None:
    """Due cases are the scope's; an external id out of scope is denied; settings are SYSTEM's."""
    store, _ = memory_world()
    with store() as uow:
        staff = as_(uow, CS_A)
        due = ids(pages(lambda a: staff.cases.due(at_or_before=FUTURE, limit=1, after=a)))
        assert ["k-a1", "k-a2"] == sorted(due)
        assert 4 == len(uow.cases.due(at_or_before=FUTURE).items)
        found = staff.cases.by_external_id("12345-a2")
        assert found is not None
        assert "k-a2" == found.id
        assert None is staff.cases.by_external_id("12345-none")
        with pytest.raises(AccessDeniedError):
            staff.cases.by_external_id("12345-b1")
        with pytest.raises(AccessDeniedError):
            staff.settings.save(Settings())
        assert 1 == as_(uow, SYSTEM).settings.save(Settings()).version
        assert 1 == staff.settings.get().version


def test_venues_serve_the_cells_below_them() -> None:
    """A grid worker reads their community's venue and its programme, not another community's."""
    store, _ = memory_world()
    with store() as uow:
        b1 = as_(uow, GW_B1)
        assert "vb" == b1.venues.get("vb").id
        assert ["yoga"] == ids(b1.series.in_venue("vb", start=PAST, end=FUTURE).items)
        assert ["sh-vb"] == ids(b1.shifts.in_venue("vb", start=PAST, end=FUTURE))
        assert () == b1.signups.for_shift("sh-vb")
        # The places taken count every registrant, those of other grids included.
        assert week_schedule(uow, "vb", start=SATURDAY) == week_schedule(b1, "vb", start=SATURDAY)
        assert [] == ids(pages(lambda a: b1.venues.in_subtree(COMM_B, after=a)))
        for denied in (
            lambda: b1.venues.get("hui"),
            lambda: b1.series.get("paint"),
            lambda: b1.shifts.get("sh-hui"),
            lambda: b1.signups.for_shift("sh-hui"),
            lambda: b1.registrations.for_occurrence(OCCURRENCE),
            lambda: b1.registrations.occupancy(OCCURRENCE),
            lambda: b1.registrations.promote_first_waiting(OCCURRENCE),
            lambda: b1.signups.taken("sh-hui"),
            lambda: b1.shifts.add(Shift("sh-x", "vb", "志愿服务", SUNDAY, SUNDAY.add(hours=1), 1)),
        ):
            with pytest.raises(AccessDeniedError):
                denied()


def test_a_scoped_unit_is_a_unit_of_work(world: tuple[Store, World]) -> None:
    """It commits and rolls back through the wrapped unit, and exposes its principal."""
    store, _ = world
    new = Household("h-new", building(A1), Address("新楼"))
    with as_(store(), GW_A1) as mine:
        unit: UnitOfWork = mine
        assert GW_A1 == mine.principal
        unit.households.add(new)
        unit.commit()
    with as_(store(), GW_A1) as mine:
        mine.households.add(attrs.evolve(new, id="h-rolled-back"))
    with store() as uow:
        assert 1 == uow.households.get("h-new").version
        with pytest.raises(NotFoundError):
            uow.households.get("h-rolled-back")


def test_unknown_residents_show_nothing_and_scoped_checks_a_principal() -> None:
    """A resident no household holds has nothing to show; ``scoped`` wants a Principal."""
    store, _ = memory_world()
    with store() as uow:
        mine = as_(uow, GW_A1)
        assert () == mine.contacts.for_resident("r-nobody").items
        assert () == mine.signups.for_resident("r-nobody", start=PAST, end=FUTURE)
        with pytest.raises(NotFoundError):
            mine.households.household_of("r-nobody")
        with pytest.raises(ValidationError):
            scoped(uow, cast(Principal, "w-a1"), audit=Denials())


def test_the_audit_trail_needs_read_audit() -> None:
    """Anyone appends to the audit trail; reading it takes READ_AUDIT."""
    store, _ = memory_world()
    with store() as uow:
        if not hasattr(uow, "audit"):
            pytest.skip("this store keeps no audit trail yet")
        entry = AuditEntry("e-1", NOW, "w-a1", AuditKind.EXPORTED, "query:households", A1)
        assert 1 == as_(uow, GW_A1).audit.add(entry).version
        with pytest.raises(AccessDeniedError):
            as_(uow, GW_A1).audit.between(since=PAST, until=FUTURE)
        assert [entry.id] == ids(as_(uow, AUDITOR).audit.between(since=PAST, until=FUTURE).items)
        assert [] == ids(
            as_(uow, Principal("aud-b", {Role.AUDITOR}, {COMM_B}))
            .audit.between(since=PAST, until=FUTURE)
            .items
        )


# -- property: nothing out of scope is read or changed --------------------------------------------


def _venue_cell(uow: UnitOfWork, venue_id: str) -> str:
    return uow.venues.get(venue_id).cell_code


def may(uow: UnitOfWork, p: Principal, permission: Permission, record: object) -> bool:
    """Return whether ``p`` may read (or write) ``record``: the rules, written independently."""
    if not p.can(permission):
        return False
    writing = permission is Permission.WRITE
    up = p.covers if writing else p.overlaps  # reads also reach the hierarchy above the scope
    if isinstance(record, GridCell):
        return up(record.code)
    if isinstance(record, Worker):
        cells = {a.cell_code for a in record.assignments}
        if not cells:
            return p.covers("")
        return all(map(p.covers, cells)) if writing else any(map(p.overlaps, cells))
    if isinstance(record, Case):
        return p.covers(record.cell_code) or p.covers(record.owner_cell)
    if isinstance(record, Venue):
        return up(record.cell_code)
    if isinstance(record, ActivitySeries | Shift):
        return up(_venue_cell(uow, record.venue_id))
    if isinstance(record, SignUp):
        return p.covers(uow.households.household_of(record.resident_id).cell_code)
    if isinstance(record, Registration):
        home = uow.households.household_of(record.resident_id).cell_code
        return p.covers(record.cell_code) and (not writing or p.covers(home))
    assert isinstance(record, Household | ContactAttempt | CareTask)
    return p.covers(record.cell_code)


def getter(uow: UnitOfWork, kind: str) -> Callable[[str], Any]:
    """Return the ``get`` of the repository keeping ``kind``."""
    return {
        "cell": uow.cells.get,
        "worker": uow.workers.get,
        "household": uow.households.get,
        "contact": uow.contacts.get,
        "task": uow.care_tasks.get,
        "case": uow.cases.get,
        "venue": uow.venues.get,
        "series": uow.series.get,
        "registration": uow.registrations.get,
        "shift": uow.shifts.get,
        "signup": uow.signups.get,
    }[kind]


def write(uow: UnitOfWork, kind: str, record: Any, copy: str) -> object:
    """Write ``record`` back through ``uow`` (contacts are append-only: add a copy ``copy``)."""
    if kind == "contact":
        return uow.contacts.add(attrs.evolve(record, id=copy, version=0))
    repository = {
        "cell": uow.cells,
        "worker": uow.workers,
        "household": uow.households,
        "task": uow.care_tasks,
        "case": uow.cases,
        "venue": uow.venues,
        "series": uow.series,
        "registration": uow.registrations,
        "shift": uow.shifts,
        "signup": uow.signups,
    }[kind]
    return cast(Any, repository).update(record)


SUBTREE: dict[str, Callable[[UnitOfWork, str, str | None], Page[Any]]] = {
    "households": lambda u, c, a: u.households.in_subtree(c, limit=3, after=a),
    "tagged": lambda u, c, a: u.households.with_tag(
        Tag.LIVING_ALONE, within=c or None, limit=3, after=a
    ),
    "aged": lambda u, c, a: u.households.aged(
        on=NOW.date(), min_age=70, within=c or None, limit=3, after=a
    ),
    "contacts": lambda u, c, a: u.contacts.in_subtree(
        c, since=PAST, until=FUTURE, limit=3, after=a
    ),
    "tasks": lambda u, c, a: u.care_tasks.open_in_subtree(
        c, starting_before=FUTURE, limit=3, after=a
    ),
    "open cases": lambda u, c, a: u.cases.open_in_subtree(c, limit=3, after=a),
    "reported cases": lambda u, c, a: u.cases.reported_in_subtree(
        c, since=PAST, until=FUTURE, limit=3, after=a
    ),
    "venues": lambda u, c, a: u.venues.in_subtree(c, limit=3, after=a),
    "cells": lambda u, c, a: u.cells.subtree(c, limit=3, after=a),
}
KINDS = ["cell", "worker", "household", "contact", "task", "case", "venue", "series"]
KINDS += ["registration", "shift", "signup"]


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    """Draw a principal: mostly with a role or two and a few cells of the world."""
    roles: frozenset[Role] = frozenset()
    cells: frozenset[str] = frozenset()
    if draw(st.integers(0, 9)):
        roles = draw(st.frozensets(st.sampled_from(list(Role)), min_size=1, max_size=2))
    if draw(st.integers(0, 9)):
        cells = draw(st.frozensets(st.sampled_from(CELL_CODES), min_size=1, max_size=3))
    if not draw(st.integers(0, 19)):  # every cell: a city-wide role's scope
        cells |= {""}
        roles |= {Role.CITY_SUPERVISOR}
    return Principal("p-1", roles, cells)


operations = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["get", "write"]), st.sampled_from(KINDS), st.integers(0, 99)),
        st.tuples(st.just("query"), st.sampled_from(sorted(SUBTREE)), st.integers(0, 99)),
        st.tuples(
            st.just("venue"), st.sampled_from(["for_occurrence", "for_shift"]), st.integers(0, 1)
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(principal=principals(), ops=operations)
def test_nothing_out_of_scope_is_read_or_changed(
    principal: Principal, ops: list[tuple[str, str, int]]
) -> None:
    """Every record returned is the principal's to see; every change they may not make is denied.

    A denied change leaves the store as it was; an allowed one goes through.
    """
    store, w = memory_world()
    with store() as uow:
        target = as_(uow, principal)
        for i, (action, what, n) in enumerate(ops):
            if action in ("get", "write"):
                key = w.ids[what][n % len(w.ids[what])]
                record = getter(uow, what)(key)
                permission = Permission.READ if action == "get" else Permission.WRITE
                allowed = may(uow, principal, permission, record)
                before = snapshot(uow, w)
                try:
                    got = (
                        getter(target, what)
                        if action == "get"
                        else write_to(target, what, f"copy-{i}")
                    )(record if action == "write" else key)
                except AccessDeniedError:
                    assert not allowed, (action, what, key)
                    assert before == snapshot(uow, w)
                    if what == "contact" and action == "write":
                        with pytest.raises(NotFoundError):
                            uow.contacts.get(f"copy-{i}")
                else:
                    assert allowed, (action, what, key)
                    if action == "get":
                        assert seen_by(principal, record) == got
            elif action == "query":
                cell = ["", *CELL_CODES][n % (len(CELL_CODES) + 1)]
                if not cell and what not in ("tagged", "aged"):
                    cell = DISTRICT
                expected = [
                    r for r in run(SUBTREE[what], uow, cell) if principal.covers(cell_of(r))
                ]
                allowed = principal.can(Permission.READ) and bool(principal.roots_within(cell))
                try:
                    got = run(SUBTREE[what], target, cell)
                except AccessDeniedError:
                    assert not allowed, (what, cell)
                else:
                    assert allowed, (what, cell)
                    assert seen_by(principal, expected) == got
            else:
                venue, place = ("hui", OCCURRENCE) if n == 0 else ("vb", "sh-vb")
                if what == "for_shift":
                    place = "sh-hui" if n == 0 else "sh-vb"
                    everything_rows: tuple[Any, ...] = uow.signups.for_shift(place)
                else:
                    place = OCCURRENCE if n == 0 else occurrence_id("yoga", SATURDAY)
                    everything_rows = uow.registrations.for_occurrence(place)
                allowed = principal.can(Permission.READ) and principal.overlaps(
                    _venue_cell(uow, venue)
                )
                try:
                    rows = (
                        target.signups.for_shift(place)
                        if what == "for_shift"
                        else target.registrations.for_occurrence(place)
                    )
                except AccessDeniedError:
                    assert not allowed
                else:
                    assert allowed
                    assert [
                        r for r in everything_rows if may(uow, principal, Permission.READ, r)
                    ] == list(rows)


def seen_by(principal: Principal, value: T) -> T:
    """Return ``value`` as ``principal`` reads it: redacted unless their roles see it full."""
    return value if principal.redaction is Redaction.FULL else redact(value)


def run(
    query: Callable[[UnitOfWork, str, str | None], Page[Any]], uow: UnitOfWork, cell: str
) -> list[Any]:
    """Return every row of a subtree query over ``cell``, page by page."""
    return list(pages(lambda a: query(uow, cell, a)))


def write_to(uow: UnitOfWork, kind: str, copy: str) -> Callable[[Any], object]:
    """Return a function writing a record of ``kind`` back through ``uow``."""
    return lambda record: write(uow, kind, record, copy)


# -- denials met while writing, and what each repository offers -----------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_denial_after_a_write_is_recorded_in_the_store(kind: str, tmp_path: Path) -> None:
    """A denial met after the scoped unit wrote reaches the store's trail, committed or not.

    SQLite lets one unit write at a time: the sink's own unit would wait for the scoped one (a
    short busy timeout makes that fail fast), so the entry waits for the transaction to end.
    """
    store: Store = (
        open_store("memory://")
        if kind == "memory"
        else SqliteStore(tmp_path / "denials.db", busy_timeout=0.2)
    )
    with store() as uow:
        uow.cells.add(GridCell(DISTRICT, "新城区", GridLevel.DISTRICT))
        uow.cells.add(GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT))
        uow.cells.add(GridCell(COMM_A, "明宫社区", GridLevel.COMMUNITY, STREET))
        uow.cells.add(GridCell(COMM_B, "建强社区", GridLevel.COMMUNITY, STREET))
        uow.cells.add(GridCell(A1, "网格a1", GridLevel.GRID, COMM_A))
        uow.commit()
    sink = StoreAuditSink(store)
    home = Household("h-1", A1, Address("新楼"))

    def building_in(parent: str, n: int) -> GridCell:
        return GridCell(f"{parent}00{n}", "新楼", GridLevel.BUILDING, parent)

    try:
        # committed through the scoped unit
        with scoped(store(), GW_A1, audit=sink, clock=ManualClock(NOW)) as mine:
            mine.cells.add(building_in(A1, 1))
            with pytest.raises(AccessDeniedError):
                mine.cells.add(building_in(COMM_B, 1))
            mine.commit()
        # rolled back at the end of the scoped unit's block; a denial inside add_many
        with scoped(store(), GW_A1, audit=sink, clock=ManualClock(NOW)) as mine:
            mine.cells.add(building_in(A1, 2))
            with pytest.raises(AccessDeniedError):
                mine.cells.get(COMM_B)
            with pytest.raises(AccessDeniedError):
                mine.households.add_many([home, attrs.evolve(home, id="h-2", cell_code=COMM_B)])
        # the wrapped unit ended directly: the entry goes when the scoped unit is collected
        with store() as uow:
            other = scoped(uow, GW_A1, audit=sink, clock=ManualClock(NOW))
            other.cells.add(building_in(A1, 3))
            with pytest.raises(AccessDeniedError):
                other.cells.remove(uow.cells.get(COMM_B))
        del other
        with store() as uow:
            trail = uow.audit.between(since=PAST, until=FUTURE).items
            kept = [c.code for c in uow.cells.children(A1)]
    finally:
        store.close()
    assert [f"{A1}001"] == kept
    # Every denial; of the writes, only the committed cell's creation (recorded in its unit).
    assert sorted(
        [
            (AuditKind.DENIED, f"cell:{COMM_B}001", "write"),
            (AuditKind.DENIED, f"cell:{COMM_B}", "read"),
            (AuditKind.DENIED, "household:h-2", "write"),
            (AuditKind.DENIED, f"cell:{COMM_B}", "write"),
            (AuditKind.CREATED, f"cell:{A1}001", ""),
        ],
        key=str,
    ) == sorted(((e.kind, e.subject, e.detail) for e in trail), key=str)


def test_each_repository_offers_the_writes_of_its_port() -> None:
    """``add_many``, ``update``, ``remove`` and ``save`` exist exactly where the port has them."""
    store, _ = memory_world()
    with store() as uow:
        mine = as_(uow, GW_A1)
        for name in sorted(REPOSITORIES):
            port = getattr(ports, getattr(ports.UnitOfWork, name).fget.__annotations__["return"])
            for method in ("get", "add", "add_many", "update", "remove", "save"):
                assert hasattr(port, method) == hasattr(getattr(mine, name), method), (name, method)


@pytest.mark.parametrize(
    ("roles", "cells", "problem"),
    [
        ({Role.GRID_WORKER}, {"61010200300600"}, "no stored cell '61010200300600'"),
        (
            {Role.STREET_SUPERVISOR},
            {""},
            "every cell (the empty code) is the scope of city_supervisor or system only",
        ),
    ],
    ids=["one-digit-short", "empty-code"],
)
def test_a_scope_that_is_not_real_is_refused(
    roles: set[Role], cells: set[str], problem: str
) -> None:
    """A root that is no stored cell, or every cell for a role not meant for it: refused."""
    store, _ = memory_world()
    with store() as uow, pytest.raises(ValidationError) as info:
        scoped(uow, Principal("p-1", roles, cells), audit=Denials())
    assert ("principal.cells", problem) == (info.value.path, info.value.problem)


def test_a_city_supervisor_covers_every_cell() -> None:
    """The empty code with the city-wide role: the scoped unit reads both communities' grids."""
    store, _ = memory_world()
    with store() as uow:
        mine = scoped(uow, Principal("c-1", {Role.CITY_SUPERVISOR}, {""}), audit=Denials())
        codes = [c.code for c in (*mine.cells.children(COMM_A), *mine.cells.children(COMM_B))]
    assert [A1, A2, B1, B2] == codes


def test_edits_of_the_ledger_are_audited_in_the_unit_of_the_change() -> None:
    """Who changed which residents and fields (by name only), committed; nothing else."""
    store = open_store("memory://")
    with store() as uow:
        for cell in (
            GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
            GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
            GridCell(COMM_A, "明宫社区", GridLevel.COMMUNITY, STREET),
            GridCell(A1, "网格a1", GridLevel.GRID, COMM_A),
        ):
            uow.cells.add(cell)
        uow.households.add(Household("h-1", A1, Address("新楼"), members=(resident("a1", 1, 70),)))
        uow.commit()
    with scoped(store(), GW_A1, audit=Denials(), clock=ManualClock(NOW)) as mine:
        home = mine.households.get("h-1")
        member = home.members[0]
        changed = attrs.evolve(
            home,
            members=(attrs.evolve(member, tags={Tag.LIVING_ALONE}), resident("a1", 2, 40)),
        )
        mine.households.update(changed)
        mine.commit()
    with scoped(store(), GW_A1, audit=Denials(), clock=ManualClock(NOW)) as mine:
        mine.households.remove(mine.households.get("h-1"))  # rolled back
    with store() as uow:
        trail = uow.audit.between(since=PAST, until=FUTURE, subject="household:h-1").items
    expected = [
        (AuditKind.EDITED, "w-a1", A1, f"members: +{resident('a1', 2, 40).id}, {member.id}.tags")
    ]
    assert expected == [(e.kind, e.principal_id, e.cell_code, e.detail) for e in trail]
