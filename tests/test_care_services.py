"""Care use cases over a store: recording contacts, planning, worklists and coverage."""

from collections.abc import Iterator

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov import (
    Address,
    Assignment,
    GridCell,
    GridLevel,
    Household,
    LivingArrangement,
    Resident,
    Store,
    Tag,
    ValidationError,
    Worker,
    WorkerRole,
    open_store,
)
from gridgov.care import ContactMethod
from gridgov.care.contacts import Outcome, TaskKind, TaskStatus
from gridgov.services._common import pages
from gridgov.services.care import coverage, plan_tasks, record_contact, replay_contacts, worklist

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, 0, tz=TZ)
GRID = "610102003006001"
B1, B2 = f"{GRID}001", f"{GRID}002"


def elder(rid: str, age: int, *tags: Tag) -> Resident:
    """Return an elder living alone, ``age`` on NOW."""
    return Resident(
        rid,
        "居民" + rid,
        birth_date=pendulum.Date(NOW.year - age, 1, 1),
        tags=set(tags) or {Tag.LIVING_ALONE},
        living_arrangement=LivingArrangement.ALONE,
    )


@pytest.fixture
def store() -> Iterator[Store]:
    """Return a memory store with a grid, two buildings, a worker and three households."""
    s = open_store("memory://")
    with s() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
            GridCell(B1, "铁一村1号楼", GridLevel.BUILDING, GRID),
            GridCell(B2, "铁一村2号楼", GridLevel.BUILDING, GRID),
        ]:
            uow.cells.add(cell)
        uow.workers.add(
            Worker(
                "w1",
                "张静",
                {WorkerRole.GRID_WORKER},
                [Assignment(GRID, pendulum.Date(2024, 1, 1))],
            )
        )
        uow.households.add(Household("h1", B1, Address("1号楼"), members=(elder("r1", 83),)))
        uow.households.add(Household("h2", B2, Address("2号楼"), members=(elder("r2", 70),)))
        uow.households.add(Household("h3", B2, Address("2号楼"), members=(elder("r3", 40),)))
        uow.commit()
    yield s
    s.close()


def test_contact_for_unknown_resident_is_rejected_and_nothing_stored(store: Store) -> None:
    """An unknown resident is a ValidationError on resident_id; the ledger stays empty."""
    with store() as uow:
        with pytest.raises(ValidationError) as info:
            record_contact(
                uow,
                resident_id="nobody",
                method=ContactMethod.PHONE,
                outcome=Outcome.WELL,
                by="w1",
                at=NOW,
                now=NOW,
            )
        uow.commit()
    with store() as uow:
        page = uow.contacts.in_subtree(GRID, since=NOW.subtract(days=1), until=NOW.add(days=1))
    assert ("resident_id", ()) == (info.value.path, page.items)


def test_contact_in_the_future_is_rejected(store: Store) -> None:
    """A contact after ``now`` is a ValidationError on ``at``, and no task is created."""
    with store() as uow:
        with pytest.raises(ValidationError) as info:
            record_contact(
                uow,
                resident_id="r1",
                method=ContactMethod.PHONE,
                outcome=Outcome.WELL,
                by="w1",
                at=NOW.add(hours=1),
                now=NOW,
            )
        assert ("at", ()) == (info.value.path, uow.care_tasks.open_for_resident("r1"))


def test_plan_tasks_gives_covered_elders_their_cadences(store: Store) -> None:
    """The daily job plans each covered elder's cadences once, and nobody else's."""
    with store() as uow:
        created = plan_tasks(uow, GRID, now=NOW)
        again = plan_tasks(uow, GRID, now=NOW)
        uow.commit()
    assert [
        ("r1", ContactMethod.HOME_VISIT),
        ("r1", ContactMethod.PHONE),
        ("r2", ContactMethod.HOME_VISIT),
        ("r2", ContactMethod.PHONE),
    ] == [(t.resident_id, t.method) for t in created]
    assert () == again


def test_worklist_groups_by_building_most_urgent_first(store: Store) -> None:
    """The worklist visits the building with overdue work first and says why for each task."""
    with store() as uow:
        plan_tasks(uow, GRID, now=NOW.subtract(days=10))
        record_contact(
            uow,
            resident_id="r1",
            method=ContactMethod.HOME_VISIT,
            outcome=Outcome.WELL,
            by="w1",
            at=NOW.subtract(days=2),
            now=NOW.subtract(days=2),
        )
        uow.commit()
    with store() as uow:
        work = worklist(uow, "w1", on=NOW.date(), now=NOW)
    assert [B2, B1] == [s.cell_code for s in work.stops]
    assert {TaskStatus.OVERDUE} == {e.status for e in work.stops[0].households[0].entries}
    assert all(e.why for e in work.entries)
    assert "铁一村2号楼" == work.stops[0].name


def test_unwell_call_puts_family_and_visit_on_the_worklist(store: Store) -> None:
    """An "unwell" call puts notifying the family and a visit within 24 hours on the worklist."""
    with store() as uow:
        result = record_contact(
            uow,
            resident_id="r2",
            method=ContactMethod.PHONE,
            outcome=Outcome.UNWELL,
            by="w1",
            at=NOW.subtract(hours=1),
            now=NOW.subtract(hours=1),
        )
        uow.commit()
        work = worklist(uow, "w1", on=NOW.date(), now=NOW)
    kinds = [e.task.kind for e in work.entries if e.resident.id == "r2"]
    assert TaskKind.NOTIFY_CONTACT in kinds
    assert TaskKind.FOLLOW_UP in kinds
    assert [TaskKind.NOTIFY_CONTACT, TaskKind.FOLLOW_UP] == [t.kind for t in result.created[:2]]


def test_coverage_counts_cadences_and_lists_the_missed(store: Store) -> None:
    """Weekly visits and calls twice a week meet the high-risk cadence; one call does not."""
    start, end = pendulum.Date(2026, 11, 1), pendulum.Date(2026, 11, 29)
    with store() as uow:
        day = pendulum.datetime(2026, 11, 1, 10, tz=TZ)
        for d in range(28):
            at = day.add(days=d)
            if d % 7 == 0:
                method = ContactMethod.HOME_VISIT
            elif d % 3 == 0:
                method = ContactMethod.PHONE
            else:
                continue
            record_contact(
                uow, resident_id="r1", method=method, outcome=Outcome.WELL, by="w1", at=at, now=at
            )
        record_contact(
            uow,
            resident_id="r2",
            method=ContactMethod.PHONE,
            outcome=Outcome.WELL,
            by="w1",
            at=day.add(days=3),
            now=day.add(days=3),
        )
        uow.commit()
        c = coverage(uow, GRID, start=start, end=end)
    assert (2, 2, 1) == (c.covered, c.contacted, c.on_cadence)
    assert [("r2", "general", ((ContactMethod.HOME_VISIT, 1, 0),))] == [
        (m.resident_id, m.tier, m.shortfalls) for m in c.missed
    ]
    assert 0.5 == c.on_cadence_share


def test_coverage_rejects_an_empty_period(store: Store) -> None:
    """A period that ends when it starts is a ValidationError on ``end``."""
    with store() as uow, pytest.raises(ValidationError) as info:
        coverage(uow, GRID, start=NOW.date(), end=NOW.date())
    assert "end" == info.value.path


CHAIN = (
    GridCell("610102", "新城区", GridLevel.DISTRICT),
    GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"),
    GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
)


def _contacts_and_tasks(store: Store) -> tuple[list[object], list[object]]:
    """Return the stored contacts and open tasks of the district, without their versions."""
    with store() as uow:
        contacts = list(
            pages(
                lambda a: uow.contacts.in_subtree(
                    "610102",
                    since=pendulum.datetime(2020, 1, 1, tz="UTC"),
                    until=pendulum.datetime(2030, 1, 1, tz="UTC"),
                    after=a,
                )
            )
        )
        tasks = list(
            pages(
                lambda a: uow.care_tasks.open_in_subtree(
                    "610102", starting_before=pendulum.datetime(2030, 1, 1, tz="UTC"), after=a
                )
            )
        )
    return (
        [attrs.evolve(c, version=0) for c in contacts],
        [attrs.evolve(t, version=0) for t in tasks],
    )


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**16))
def test_a_replayed_history_stores_what_recording_it_contact_by_contact_stores(seed: int) -> None:
    """replay_contacts gives the same contacts and open tasks as record_contact one by one."""
    from gridgov.scenarios.history import generate_contacts
    from gridgov.scenarios.synthetic import generate_households

    building = GridCell("610102003006001001", "铁一村1号楼", GridLevel.BUILDING, GRID)
    households = list(
        generate_households([building], 60, seed=seed, as_of=pendulum.Date(2026, 11, 28))
    )
    contacts = list(
        generate_contacts(
            households,
            start=pendulum.Date(2026, 9, 1),
            end=pendulum.Date(2026, 11, 28),
            workers={GRID: "w1"},
            seed=seed,
        )
    )
    stores = []
    for bulk in (False, True):
        store = open_store("memory://")
        with store() as uow:
            for cell in (*CHAIN, building):
                uow.cells.add(cell)
            uow.households.add_many(households)
            if bulk:
                replay_contacts(uow, contacts)
            for c in () if bulk else contacts:
                record_contact(
                    uow,
                    resident_id=c.resident_id,
                    method=c.method,
                    outcome=c.outcome,
                    by=c.by,
                    at=c.at,
                    now=c.at,
                    notes=c.notes,
                    contact_id=c.id,
                )
            uow.commit()
        stores.append(store)
    one_by_one, replayed = (_contacts_and_tasks(s) for s in stores)
    assert (one_by_one, len(contacts)) == (replayed, len(one_by_one[0]))
