"""Masking by role on every read of a scoped unit of work, and restoring on write-back.

A principal without the full view (supervisors, auditors, integrations) reads every record with
personal data already redacted: names, ID and phone numbers, units, rooms, forwarding and case
addresses, and the personal data in notes. Writing back what was read keeps the stored values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov.access import AuditKind, Permission, Principal, Redaction, Role
from gridgov.bootstrap import open_store
from gridgov.calendar import WorkCalendar
from gridgov.care import ContactMethod
from gridgov.care.contacts import Outcome
from gridgov.cases import CaseSource, CaseWorkflow
from gridgov.cases.model import Reporter
from gridgov.cases.workflow import Action, CaseRole
from gridgov.codes import (
    MaskedNationalId,
    MaskedPhoneNumber,
    NationalId,
    PhoneNumber,
    id_check_character,
)
from gridgov.errors import AccessDeniedError, ConflictError, ValidationError
from gridgov.grid import Assignment, GridCell, GridLevel, Worker, WorkerRole
from gridgov.households import (
    Address,
    EmergencyContact,
    ForwardingContact,
    Household,
    HouseholdStatus,
    Resident,
    Tag,
)
from gridgov.interop.open311 import dumps_requests
from gridgov.ports import Page, Store, UnitOfWork
from gridgov.redaction import redact, restore
from gridgov.services._common import pages
from gridgov.services.access import view_resident
from gridgov.services.care import coverage, plan_tasks, record_contact, worklist
from gridgov.services.cases import act_on_case, report_case
from gridgov.services.scoped import ScopedUnitOfWork, scoped
from gridgov.testing import ManualClock
from gridgov.testing import strategies as gs

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 25, 10, tz=TZ)
PAST = pendulum.datetime(2020, 1, 1, tz=TZ)
FUTURE = pendulum.datetime(2030, 1, 1, tz=TZ)
WF = CaseWorkflow(WorkCalendar.china())

DISTRICT, STREET, COMM = "610102", "610102003", "610102003006"
A1, A2 = f"{COMM}001", f"{COMM}002"
B1, B2 = f"{A1}001", f"{A2}001"  # one building per grid
CELLS = [DISTRICT, STREET, COMM, A1, A2, B1, B2]


def national_id(year: int, seq: int) -> str:
    """Return a valid resident ID number born on 1 January ``year``."""
    first17 = f"610102{year}0101{seq:03d}"
    return first17 + id_check_character(first17)


ID_1, ID_2, ID_3 = national_id(1941, 11), national_id(1948, 22), national_id(1950, 31)
PHONE_1, PHONE_2, PHONE_3 = "13912340001", "029-87654321", "13912340003"
EMERGENCY_PHONE, FORWARDING_PHONE, NOTE_PHONE = "13911112222", "13822223333", "13944445555"
CONTACT_PHONE, REPORTER_PHONE, WORKER_PHONE = "13955556666", "13700001111", "13600001234"
NAMES = ["欧阳秀兰", "欧阳建国", "司马玉珍", "欧阳明", "赵大爷"]
HIDDEN_TEXTS = ["幸福小区5号楼", "自强东路7号3单元"]
#: Every full personal value of the world: none may reach a masked principal.
PERSONAL = [
    ID_1,
    ID_2,
    ID_3,
    PHONE_1,
    PHONE_2,
    PHONE_3,
    EMERGENCY_PHONE,
    FORWARDING_PHONE,
    NOTE_PHONE,
    CONTACT_PHONE,
    REPORTER_PHONE,
    WORKER_PHONE,
    *NAMES,
    *HIDDEN_TEXTS,
]

SUPERVISOR = Principal("sup-1", {Role.STREET_SUPERVISOR}, {STREET})
WORKER = Principal("w-a1", {Role.GRID_WORKER}, {A1})


class Denials:
    """An audit sink keeping entries in a list (outside any unit of work)."""

    def __init__(self) -> None:
        self.entries: list[Any] = []

    def __call__(self, entry: Any) -> None:
        """Keep ``entry``."""
        self.entries.append(entry)


def build(store: Store) -> None:
    """Fill ``store`` with a street of two grids whose records hold personal data everywhere."""
    with store() as uow:
        uow.cells.add(GridCell(DISTRICT, "新城区", GridLevel.DISTRICT))
        uow.cells.add(GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT))
        uow.cells.add(GridCell(COMM, "明宫社区", GridLevel.COMMUNITY, STREET))
        for grid, building in ((A1, B1), (A2, B2)):
            uow.cells.add(GridCell(grid, f"网格{grid[-1]}", GridLevel.GRID, COMM))
            uow.cells.add(GridCell(building, f"{grid[-1]}号楼", GridLevel.BUILDING, grid))
        since = pendulum.Date(2024, 1, 1)
        uow.workers.add(
            Worker("w-a1", "张静", {WorkerRole.GRID_WORKER}, [Assignment(A1, since)], WORKER_PHONE)
        )
        uow.households.add(
            Household(
                "h-1",
                B1,
                Address("自强东路7号", unit="3", room="301"),
                members=(
                    Resident(
                        "r-1",
                        NAMES[0],
                        national_id=ID_1,
                        phone=PHONE_1,
                        tags={Tag.LIVING_ALONE},
                        emergency_contacts=(EmergencyContact(NAMES[3], EMERGENCY_PHONE, "儿子"),),
                    ),
                    Resident("r-2", NAMES[1], national_id=ID_2, phone=PHONE_2),
                ),
            )
        )
        uow.households.add(
            Household(
                "h-2",
                B2,
                Address("自强东路9号", unit="1", room="102"),
                status=HouseholdStatus.RELOCATED,
                members=(
                    Resident(
                        "r-3", NAMES[2], national_id=ID_3, phone=PHONE_3, tags={Tag.EMPTY_NEST}
                    ),
                ),
                forwarding=ForwardingContact(
                    HIDDEN_TEXTS[0], FORWARDING_PHONE, f"联系儿子 {NOTE_PHONE}"
                ),
            )
        )
        uow.commit()
    with store() as uow:
        record_contact(
            uow,
            resident_id="r-1",
            method=ContactMethod.PHONE,
            outcome=Outcome.NO_ANSWER,
            by="w-a1",
            at=NOW.subtract(days=2),
            now=NOW.subtract(days=2),
            notes=f"打{CONTACT_PHONE}无人接, 转告{NAMES[3]}",
        )
        plan_tasks(uow, DISTRICT, now=NOW.subtract(days=1))
        report_case(
            uow,
            WF,
            category="complaint",
            source=CaseSource.HOTLINE_12345,
            cell_code=B1,
            description=f"{NAMES[4]}反映楼道灯不亮, 回电{REPORTER_PHONE}",
            address=HIDDEN_TEXTS[1],
            at=NOW.subtract(days=1),
            actor="w-a1",
            reporter=Reporter(NAMES[4], REPORTER_PHONE),
            external_id="12345-1",
            case_id="k-1",
        )
        uow.commit()


def texts(value: object) -> Iterator[str]:
    """Yield every string a value holds, the full values of ID and phone numbers included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Page):
        yield from texts(value.items)
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from texts(item)
    elif attrs.has(type(value)):
        record: Any = value
        for field in attrs.fields(type(record)):
            yield from texts(getattr(record, field.name))


def leaked(value: object) -> list[str]:
    """Return the world's full personal values found in ``value``."""
    found = "\n".join(texts(value))
    return [p for p in PERSONAL if p in found]


def rows(value: object) -> list[object]:
    """Return the records a read gave, whatever its shape."""
    if isinstance(value, Page):
        return list(value.items)
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, tuple | list):
        return list(value)
    return [value]


def as_(uow: UnitOfWork, principal: Principal, sink: Denials | None = None) -> ScopedUnitOfWork:
    """Return ``uow`` scoped to ``principal``."""
    return scoped(uow, principal, audit=sink or Denials(), clock=ManualClock(NOW))


def every_page(query: Callable[[str | None], Page[Any]]) -> list[Any]:
    """Return every row of a paged query, one row per page (the scoped cursor at work)."""
    return list(pages(query))


def read_paths(cell: str) -> dict[str, Callable[[UnitOfWork], object]]:
    """Return every read of the scoped unit over ``cell``, by name."""
    return {
        "households.get": lambda u: [u.households.get("h-1"), u.households.get("h-2")],
        "households.get_many": lambda u: u.households.get_many(["h-1", "h-2"]),
        "households.household_of": lambda u: [
            u.households.household_of("r-1"),
            u.households.household_of("r-3"),
        ],
        "households.in_subtree": lambda u: u.households.in_subtree(cell),
        "households.in_subtree pages": lambda u: every_page(
            lambda a: u.households.in_subtree(cell, limit=1, after=a)
        ),
        "households.with_tag pages": lambda u: every_page(
            lambda a: u.households.with_tag(Tag.LIVING_ALONE, within=cell, limit=1, after=a)
        ),
        "households.aged pages": lambda u: every_page(
            lambda a: u.households.aged(on=NOW.date(), min_age=60, within=cell, limit=1, after=a)
        ),
        "contacts.get": lambda u: [
            u.contacts.get(c.id) for c in u.contacts.for_resident("r-1").items
        ],
        "contacts.for_resident": lambda u: u.contacts.for_resident("r-1"),
        "contacts.in_subtree pages": lambda u: every_page(
            lambda a: u.contacts.in_subtree(cell, since=PAST, until=FUTURE, limit=1, after=a)
        ),
        "care_tasks.open_for_resident": lambda u: u.care_tasks.open_for_resident("r-1"),
        "care_tasks.open_in_subtree pages": lambda u: every_page(
            lambda a: u.care_tasks.open_in_subtree(cell, starting_before=FUTURE, limit=1, after=a)
        ),
        "cases.get": lambda u: u.cases.get("k-1"),
        "cases.by_external_id": lambda u: u.cases.by_external_id("12345-1"),
        "cases.due pages": lambda u: every_page(
            lambda a: u.cases.due(at_or_before=FUTURE, limit=1, after=a)
        ),
        "cases.open_in_subtree pages": lambda u: every_page(
            lambda a: u.cases.open_in_subtree(cell, limit=1, after=a)
        ),
        "cases.reported_in_subtree pages": lambda u: every_page(
            lambda a: u.cases.reported_in_subtree(cell, since=PAST, until=FUTURE, limit=1, after=a)
        ),
        "workers.get": lambda u: u.workers.get("w-a1"),
        "workers.list pages": lambda u: every_page(lambda a: u.workers.list(limit=1, after=a)),
        "workers.assigned_to": lambda u: u.workers.assigned_to(A1, on=NOW.date()),
    }


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """Return the world, built once per store for the tests that only read it."""
    if request.param == "memory":
        url = "memory://"
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('masking') / 'world.db'}"
    store = open_store(url)
    build(store)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["memory", "sqlite"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a world of its own, for a test that writes."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'world.db'}"
    store = open_store(url)
    build(store)
    try:
        yield store
    finally:
        store.close()


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    """Draw a principal of one or two roles (masked or full) over a few cells, or every cell."""
    roles = draw(st.frozensets(st.sampled_from(list(Role)), min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        return Principal("p-1", roles | {Role.CITY_SUPERVISOR}, {""})
    cells = draw(st.frozensets(st.sampled_from(CELLS), min_size=1, max_size=2))
    return Principal("p-1", roles, cells)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(principal=principals(), cell=st.sampled_from(CELLS))
def test_a_masked_role_reads_no_personal_value_on_any_path(
    world: Store, principal: Principal, cell: str
) -> None:
    """Every read path of the scoped unit gives a masked role 0 full IDs, phones or names.

    A role with the full view reads each record as stored, as an unscoped unit does.
    """
    masked = principal.redaction is Redaction.MASKED
    with world() as uow:
        mine, everything = as_(uow, principal), read_paths(cell)
        for name, read in everything.items():
            try:
                got = read(mine)
            except AccessDeniedError:
                continue
            if masked:
                assert ([], name) == (leaked(got), name)
            else:  # each row as stored (the scope may hold fewer rows than the store)
                stored = rows(read(uow))
                assert ([], name) == ([r for r in rows(got) if r not in stored], name)


@pytest.mark.parametrize("path", sorted(read_paths(STREET)))
def test_every_read_path_gives_a_supervisor_records_masked(world: Store, path: str) -> None:
    """Each read path gives the street's supervisor rows (so the property above reads some)."""
    with world() as uow:
        got = read_paths(STREET)[path](as_(uow, SUPERVISOR))
    assert (True, []) == (len(rows(got)) > 0 and None not in rows(got), leaked(got))


def test_a_supervisor_reads_a_household_masked() -> None:
    """A street supervisor gets names, ID and phone numbers, units, rooms and notes masked."""
    store = open_store("memory://")
    build(store)
    with store() as uow:
        household = as_(uow, SUPERVISOR).households.get("h-2")
    member = household.members[0]
    expected = (
        "司***",
        MaskedNationalId("610102**********31"[:16] + ID_3[16:]),
        MaskedPhoneNumber("139****0003"),
        ("自强东路9号", "***", "***"),
        ("***", MaskedPhoneNumber("138****3333"), "联系儿子 139****5555"),
        frozenset({Tag.EMPTY_NEST}),
        pendulum.Date(1950, 1, 1),
    )
    assert expected == (
        member.name,
        member.national_id,
        member.phone,
        (household.address.line, household.address.unit, household.address.room),
        (
            household.forwarding and household.forwarding.address,
            household.forwarding and household.forwarding.phone,
            household.forwarding and household.forwarding.note,
        ),
        member.tags,
        member.birth_date,
    )


def test_a_grid_worker_and_the_unscoped_unit_read_full_records() -> None:
    """A role with the full view, and a unit without a principal, read the stored values."""
    store = open_store("memory://")
    build(store)
    with store() as uow:
        full = as_(uow, WORKER).households.get("h-1").members[0]
        unscoped = uow.households.get("h-1").members[0]
    expected = (NAMES[0], NationalId(ID_1), PhoneNumber(PHONE_1))
    assert (expected, expected) == (
        (full.name, full.national_id, full.phone),
        (unscoped.name, unscoped.national_id, unscoped.phone),
    )


def test_a_case_is_read_masked() -> None:
    """The reporter, the case's address and the personal data of its description are masked."""
    store = open_store("memory://")
    build(store)
    with store() as uow:
        case = as_(uow, SUPERVISOR).cases.get("k-1")
    expected = (
        "赵**",
        MaskedPhoneNumber("137****1111"),
        "***",
        "赵**反映楼道灯不亮, 回电137****1111",
    )
    assert expected == (
        case.reporter.name,
        case.reporter.phone,
        case.location.address,
        case.description,
    )


def test_contact_notes_are_read_masked() -> None:
    """Phone numbers and the household's names in a contact's notes are masked."""
    store = open_store("memory://")
    build(store)
    with store() as uow:
        notes = [c.notes for c in as_(uow, SUPERVISOR).contacts.for_resident("r-1").items]
    assert ["打139****6666无人接, 转告欧**"] == notes


def test_a_masked_write_back_keeps_the_stored_values(fresh: Store) -> None:
    """Masked read, one other field edited, update: the stored ID, phone and name stay full."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        household = mine.households.get("h-1")
        first = household.members[0]
        mine.households.update(
            household.with_member(attrs.evolve(first, tags=first.tags | {Tag.ADVANCED_AGE}))
        )
        uow.commit()
    with fresh() as uow:
        stored = uow.households.get("h-1")
    member, contact = stored.members[0], stored.members[0].emergency_contacts[0]
    expected = (
        NAMES[0],
        NationalId(ID_1),
        PhoneNumber(PHONE_1),
        (NAMES[3], PhoneNumber(EMERGENCY_PHONE)),
        PhoneNumber(PHONE_2),
        ("3", "301"),
        frozenset({Tag.LIVING_ALONE, Tag.ADVANCED_AGE}),
    )
    assert expected == (
        member.name,
        member.national_id,
        member.phone,
        (contact.name, contact.phone),
        stored.members[1].phone,
        (stored.address.unit, stored.address.room),
        member.tags,
    )


def test_a_masked_write_back_is_audited_by_field_names(fresh: Store) -> None:
    """The edit's audit entry names the field changed, not the fields restored, nor any value."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        household = mine.households.get("h-1")
        first = household.members[0]
        mine.households.update(
            household.with_member(attrs.evolve(first, tags=first.tags | {Tag.ADVANCED_AGE}))
        )
        edits = [
            e.detail
            for e in uow.audit.between(since=PAST, until=FUTURE, kind=AuditKind.EDITED).items
        ]
    assert ["members: r-1.tags"] == edits


def test_a_field_a_masked_principal_changes_is_taken(fresh: Store) -> None:
    """A new phone number, a cleared unit and a new name are stored as written."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        household = mine.households.get("h-1")
        first = household.members[0]
        changed = attrs.evolve(first, phone="13800009999", name="欧阳秀芝")
        mine.households.update(
            attrs.evolve(
                household.with_member(changed),
                address=attrs.evolve(household.address, unit=None),
            )
        )
        uow.commit()
    with fresh() as uow:
        stored = uow.households.get("h-1")
    expected = ("欧阳秀芝", PhoneNumber("13800009999"), NationalId(ID_1), None, "301")
    assert expected == (
        stored.members[0].name,
        stored.members[0].phone,
        stored.members[0].national_id,
        stored.address.unit,
        stored.address.room,
    )


def test_a_masked_case_write_back_keeps_the_reporter(fresh: Store) -> None:
    """A supervisor acting on a case it reads masked leaves the reporter and texts as stored."""
    with fresh() as uow:
        before = uow.cases.get("k-1")
        act_on_case(
            as_(uow, SUPERVISOR),
            WF,
            "k-1",
            Action.REGISTER,
            actor=SUPERVISOR.id,
            role=CaseRole.DISPATCHER,
            at=NOW,
            note=f"已联系{NAMES[4]}",
        )
        uow.commit()
    with fresh() as uow:
        after = uow.cases.get("k-1")
    assert (before.reporter, before.location, before.description, before.history) == (
        after.reporter,
        after.location,
        after.description,
        after.history[: len(before.history)],
    )


def test_emergency_contacts_left_as_read_are_restored_wherever_they_stand(fresh: Store) -> None:
    """Rows without ids correspond by content: dropping the first keeps the second's values."""
    second = EmergencyContact("欧阳丽", "13911113333", "女儿")
    with fresh() as uow:
        household = uow.households.get("h-1")
        first = household.members[0]
        uow.households.update(
            household.with_member(
                attrs.evolve(first, emergency_contacts=(*first.emergency_contacts, second))
            )
        )
        uow.commit()
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        household = mine.households.get("h-1")
        first = household.members[0]
        mine.households.update(
            household.with_member(
                attrs.evolve(first, emergency_contacts=first.emergency_contacts[1:])
            )
        )
        uow.commit()
    with fresh() as uow:
        assert (second,) == uow.households.get("h-1").members[0].emergency_contacts


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: attrs.evolve(r, phone=MaskedPhoneNumber("139****0000")), id="phone"),
        pytest.param(
            lambda r: attrs.evolve(r, national_id=MaskedNationalId("610102**********12")),
            id="national_id",
        ),
    ],
)
def test_a_masked_number_that_is_not_the_stored_one_is_refused(
    fresh: Store, change: Callable[[Resident], Resident]
) -> None:
    """A masked number standing for no stored number is a ValidationError naming no value."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        household = mine.households.get("h-1")
        with pytest.raises(ValidationError) as caught:
            mine.households.update(household.with_member(change(household.members[0])))
        message = str(caught.value)
        stored = uow.households.get("h-1").members[0]
    assert ([], NationalId(ID_1), PhoneNumber(PHONE_1)) == (
        [p for p in PERSONAL if p in message],
        stored.national_id,
        stored.phone,
    )
    assert "*" not in message


def test_a_new_resident_with_a_masked_number_is_refused(fresh: Store) -> None:
    """A resident copied from a masked read into another household cannot be stored masked."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        masked = mine.households.get("h-1").members[1]
        target = mine.households.get("h-2")
        with pytest.raises(ValidationError) as caught:
            mine.households.update(target.with_member(attrs.evolve(masked, id="r-9")))
    assert ("members[1].national_id", []) == (
        caught.value.path,
        [p for p in PERSONAL if p in str(caught.value)],
    )


def test_a_masked_household_cannot_be_added(fresh: Store) -> None:
    """A household added with masked numbers is refused before it reaches the store."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        copy = attrs.evolve(mine.households.get("h-1"), id="h-9", version=0)
        with pytest.raises(ValidationError):
            mine.households.add(copy)
        assert {} == uow.households.get_many(["h-9"])


def test_a_wrong_birth_date_is_refused_without_the_number(fresh: Store) -> None:
    """A birth date that contradicts the restored ID is refused; the message holds no value."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        household = mine.households.get("h-1")
        first = household.members[0]
        with pytest.raises(ValidationError) as caught:
            mine.households.update(
                household.with_member(attrs.evolve(first, birth_date=pendulum.Date(1941, 1, 2)))
            )
    assert [] == [p for p in [*PERSONAL, "1941"] if p in str(caught.value)]


def test_the_full_view_is_the_explicit_audited_call() -> None:
    """view_resident gives a grid worker the full record and records it; a supervisor, masked."""
    store = open_store("memory://")
    build(store)
    sink = Denials()
    with store() as uow:
        full = view_resident(as_(uow, WORKER), WORKER, "r-1", at=NOW, audit=sink)
        masked = view_resident(as_(uow, SUPERVISOR), SUPERVISOR, "r-1", at=NOW, audit=sink)
    assert (
        (ID_1, PHONE_1, NAMES[0]),
        ("610102**********" + ID_1[16:], "139****0001", "欧***"),
        [(AuditKind.VIEWED_FULL_RECORD, "w-a1", "resident:r-1")],
    ) == (
        (full.national_id, full.phone, full.name),
        (masked.national_id, masked.phone, masked.name),
        [(e.kind, e.principal_id, e.subject) for e in sink.entries],
    )


def test_an_export_through_a_masked_principal_holds_no_personal_data() -> None:
    """Open311 requests of cases read through a supervisor's unit are masked even if asked full."""
    store = open_store("memory://")
    build(store)
    with store() as uow:
        mine = as_(uow, SUPERVISOR)
        cases = mine.cases.reported_in_subtree(STREET, since=PAST, until=FUTURE).items
        text = dumps_requests(cases, WF.catalogue, redaction=Redaction.FULL)
    assert (1, []) == (len(cases), [p for p in PERSONAL if p in text])


def test_a_worker_phone_is_masked_and_restored(fresh: Store) -> None:
    """A worker's phone is read masked by a supervisor; writing the worker back keeps it."""
    supervisor = Principal("sup-1", {Role.STREET_SUPERVISOR}, {STREET})
    with fresh() as uow:
        mine = as_(uow, supervisor)
        worker = mine.workers.get("w-a1")
        read = worker.phone
        mine.workers.update(attrs.evolve(worker, name="张静静"))
        uow.commit()
    with fresh() as uow:
        stored = uow.workers.get("w-a1")
    assert (MaskedPhoneNumber("136****1234"), PhoneNumber(WORKER_PHONE), "张静静") == (
        read,
        stored.phone,
        stored.name,
    )


@settings(max_examples=100, deadline=None)
@given(household=gs.households())
def test_restoring_what_was_redacted_gives_the_stored_record(household: Household) -> None:
    """For any household, restore(redact(h), h) == h, and redact(h) holds no full number."""
    masked = redact(household)
    numbers = [
        n.value
        for m in household.members
        for n in (m.national_id, m.phone, *(c.phone for c in m.emergency_contacts))
        if n is not None
    ]
    if household.forwarding is not None and household.forwarding.phone is not None:
        numbers.append(household.forwarding.phone.value)
    found = "\n".join(texts(masked))
    assert (household, []) == (restore(masked, household), [n for n in numbers if n in found])


def test_a_masked_number_hides_what_it_encodes() -> None:
    """A masked ID number has no birth date or sex to give; a masked one equals no full one."""
    masked = MaskedNationalId(NationalId(ID_1).masked)
    with pytest.raises(ValidationError):
        _ = masked.birth_date
    assert (False, masked) == (
        masked == NationalId(ID_1),
        MaskedNationalId(NationalId(ID_1).masked),
    )


def test_a_masked_number_must_look_masked() -> None:
    """A full number is not a masked one: MaskedNationalId and MaskedPhoneNumber refuse it."""
    with pytest.raises(ValidationError) as id_error:
        MaskedNationalId(ID_1)
    with pytest.raises(ValidationError) as phone_error:
        MaskedPhoneNumber(PHONE_1)
    assert [] == [p for p in PERSONAL if p in f"{id_error.value} {phone_error.value}"]


def test_a_masked_principal_is_still_denied_out_of_scope() -> None:
    """Masking does not widen a scope: a grid's supervisor reads no other grid's household."""
    store = open_store("memory://")
    build(store)
    grid = Principal("sup-a1", {Role.STREET_SUPERVISOR}, {A1})
    with store() as uow, pytest.raises(AccessDeniedError):
        as_(uow, grid).households.get("h-2")
    assert not grid.can(Permission.FULL_VIEW)


def test_a_masked_principals_repeated_request_gets_its_first_result(fresh: Store) -> None:
    """A case action sent twice under one key by a supervisor replays its masked result."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        first, again = (
            act_on_case(
                mine,
                WF,
                "k-1",
                Action.REGISTER,
                actor=SUPERVISOR.id,
                role=CaseRole.DISPATCHER,
                at=NOW,
                idempotency_key="register-k-1",
            )
            for _ in range(2)
        )
    assert (first.case, []) == (again.case, leaked(again))


def test_masking_changes_no_figure(world: Store) -> None:
    """A supervisor's coverage is the store's; its worklist is the store's, redacted."""
    start, end = NOW.date().subtract(days=30), NOW.date()
    with world() as uow:
        mine = as_(uow, SUPERVISOR)
        figures = [coverage(u, STREET, start=start, end=end) for u in (mine, uow)]
        works = [worklist(u, "w-a1", on=NOW.date(), now=NOW) for u in (mine, uow)]
    assert (figures[1], redact(works[1]), True) == (figures[0], works[0], len(works[1].stops) > 0)


def test_another_principals_remembered_result_is_read_masked(fresh: Store) -> None:
    """A remembered result read by its key through a supervisor's unit holds no full number."""
    with fresh() as uow:
        report_case(
            as_(uow, WORKER),
            WF,
            category="complaint",
            source=CaseSource.HOTLINE_12345,
            cell_code=B1,
            description="楼道灯不亮",
            at=NOW,
            actor="w-a1",
            reporter=Reporter(NAMES[4], REPORTER_PHONE),
            case_id="k-2",
            idempotency_key="report-k-2",
        )
        uow.commit()
    with fresh() as uow:
        full = uow.requests.get("report-k-2").result
        masked = as_(uow, SUPERVISOR).requests.get("report-k-2").result
    assert (True, False, True) == (
        REPORTER_PHONE in full,
        REPORTER_PHONE in masked,
        "137****1111" in masked,
    )


def test_an_edited_note_keeps_the_values_it_held(fresh: Store) -> None:
    """A forwarding note edited after a masked read keeps its phone; the new words are taken."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        household = mine.households.get("h-2")
        assert household.forwarding is not None
        note = f"{household.forwarding.note}, 已核实"
        mine.households.update(
            attrs.evolve(household, forwarding=attrs.evolve(household.forwarding, note=note))
        )
        uow.commit()
    with fresh() as uow:
        forwarding = uow.households.get("h-2").forwarding
    assert forwarding is not None
    assert (f"联系儿子 {NOTE_PHONE}, 已核实", HIDDEN_TEXTS[0]) == (
        forwarding.note,
        forwarding.address,
    )


def test_an_edited_case_description_keeps_the_reporter(fresh: Store) -> None:
    """A description edited after a masked read keeps the reporter's name and phone in it."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        case = mine.cases.get("k-1")
        mine.cases.update(attrs.evolve(case, description=f"{case.description} (复核)"))
        uow.commit()
    with fresh() as uow:
        description = uow.cases.get("k-1").description
    assert f"{NAMES[4]}反映楼道灯不亮, 回电{REPORTER_PHONE} (复核)" == description


def test_a_restored_note_is_as_long_as_the_one_written(fresh: Store) -> None:
    """An address's ``***`` in an edited note stays as written: only same-length forms return."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        household = mine.households.get("h-2")
        assert household.forwarding is not None
        note = f"{household.forwarding.note} *** {household.forwarding.address}"
        mine.households.update(
            attrs.evolve(household, forwarding=attrs.evolve(household.forwarding, note=note))
        )
        uow.commit()
    with fresh() as uow:
        forwarding = uow.households.get("h-2").forwarding
    assert forwarding is not None
    assert (f"联系儿子 {NOTE_PHONE} *** ***", len(note)) == (forwarding.note, len(forwarding.note))


def test_a_masked_principal_removes_a_record_it_read(fresh: Store) -> None:
    """A household read masked is removed; one read before a change is refused as stale."""
    with fresh() as uow:
        mine = as_(uow, SUPERVISOR)
        stale = mine.households.get("h-1")
        uow.households.update(uow.households.get("h-1"))  # another writer: version 2
        with pytest.raises(ConflictError):
            mine.households.remove(stale)
        mine.households.remove(mine.households.get("h-1"))
        assert {} == uow.households.get_many(["h-1"])


def test_a_full_principals_write_is_taken_as_written(fresh: Store) -> None:
    """A grid worker's ``***`` unit is stored: only a masked principal's writes are restored."""
    with fresh() as uow:
        mine = as_(uow, WORKER)
        household = mine.households.get("h-1")
        mine.households.update(
            attrs.evolve(household, address=attrs.evolve(household.address, unit="***"))
        )
        uow.commit()
    with fresh() as uow:
        assert "***" == uow.households.get("h-1").address.unit


def test_a_record_read_masked_and_written_by_a_full_principal_is_restored(fresh: Store) -> None:
    """A household a supervisor read, handed to a grid worker's unit, keeps its stored numbers."""
    with fresh() as uow:
        read = as_(uow, SUPERVISOR).households.get("h-1")
        first = read.members[0]
        as_(uow, WORKER).households.update(
            read.with_member(attrs.evolve(first, tags=first.tags | {Tag.ADVANCED_AGE}))
        )
        uow.commit()
    with fresh() as uow:
        member = uow.households.get("h-1").members[0]
    assert (NationalId(ID_1), PhoneNumber(PHONE_1), NAMES[0]) == (
        member.national_id,
        member.phone,
        member.name,
    )
