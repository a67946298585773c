"""The kit's contract for masking on every read: a store read through a scoped unit of work.

Masking is applied by the scoped unit (:mod:`gridgov.services.scoped`), whatever the store; the
contract proves it on the adapter at hand: every read path gives a role without the full view no
stored ID number, phone number or name, and writing back what such a role read keeps the stored
values in the adapter's own documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pendulum
import pytest

from gridgov.access import AuditEntry, Principal, Role
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.care.policy import ContactMethod
from gridgov.cases.model import Case, CaseSource, CaseState, Location, Reporter, Urgency
from gridgov.codes import NationalId, PhoneNumber, id_check_character
from gridgov.grid import Assignment, GridLevel, Worker, WorkerRole
from gridgov.households import (
    Address,
    EmergencyContact,
    ForwardingContact,
    Household,
    HouseholdStatus,
    Resident,
    Tag,
)
from gridgov.ports import Page, UnitOfWork
from gridgov.services.scoped import scoped
from gridgov.testing._world import (
    BUILDING_A1,
    BUILDING_A2,
    DISTRICT,
    GRID_A,
    STREET,
    T0,
    UowFactory,
    _Base,
)

__all__ = ["MaskingContract"]

_PAST = pendulum.datetime(2020, 1, 1, tz="Asia/Shanghai")
_FUTURE = pendulum.datetime(2030, 1, 1, tz="Asia/Shanghai")


def _id(year: int, seq: int) -> str:
    body = f"610102{year}0101{seq:03d}"
    return body + id_check_character(body)


_ID_1, _ID_2 = _id(1941, 11), _id(1950, 22)
_PHONE_1, _PHONE_2, _KIN_PHONE = "13912340001", "029-87654321", "13911112222"
_NEW_ADDRESS, _NOTE_PHONE, _CONTACT_PHONE = "幸福小区5号楼", "13944445555", "13955556666"
_REPORTER_PHONE, _WORKER_PHONE, _CASE_ADDRESS = "13700001111", "13600001234", "自强东路7号3单元"
_NAMES = ("欧阳秀兰", "司马玉珍", "欧阳明", "赵大爷")
_PERSONAL = (
    _ID_1,
    _ID_2,
    _PHONE_1,
    _PHONE_2,
    _KIN_PHONE,
    _NEW_ADDRESS,
    _NOTE_PHONE,
    _CONTACT_PHONE,
    _REPORTER_PHONE,
    _WORKER_PHONE,
    _CASE_ADDRESS,
    *_NAMES,
)

#: Roles without the full view, each over a scope holding the records.
_MASKED = {
    "street_supervisor": Principal("sup", {Role.STREET_SUPERVISOR}, {STREET}),
    "district_supervisor": Principal("sup", {Role.DISTRICT_SUPERVISOR}, {DISTRICT}),
    "city_supervisor": Principal("sup", {Role.CITY_SUPERVISOR}, {""}),
    "auditor": Principal("aud", {Role.AUDITOR}, {DISTRICT}),
    "integration": Principal("api", {Role.INTEGRATION}, {STREET}),
}


def _texts(value: object) -> Iterator[str]:
    """Yield every string ``value`` holds, the full values of ID and phone numbers included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Page):
        yield from _texts(value.items)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from _texts(item)
    elif attrs.has(type(value)):
        record: Any = value
        for field in attrs.fields(type(record)):
            yield from _texts(getattr(record, field.name))


def _reads() -> dict[str, Callable[[UnitOfWork], object]]:
    """Return every read path of a unit of work over the street, by name."""
    return {
        "households.get": lambda u: (u.households.get("hm-1"), u.households.get("hm-2")),
        "households.get_many": lambda u: u.households.get_many(["hm-1", "hm-2"]),
        "households.household_of": lambda u: u.households.household_of("rm-1"),
        "households.in_subtree": lambda u: u.households.in_subtree(STREET, limit=1),
        "households.with_tag": lambda u: u.households.with_tag(Tag.LIVING_ALONE, within=STREET),
        "households.aged": lambda u: u.households.aged(on=T0.date(), min_age=60, within=STREET),
        "contacts.get": lambda u: u.contacts.get("cm-1"),
        "contacts.for_resident": lambda u: u.contacts.for_resident("rm-1"),
        "contacts.in_subtree": lambda u: u.contacts.in_subtree(STREET, since=_PAST, until=_FUTURE),
        "cases.get": lambda u: u.cases.get("km-1"),
        "cases.by_external_id": lambda u: u.cases.by_external_id("12345-m1"),
        "cases.due": lambda u: u.cases.due(at_or_before=_FUTURE),
        "cases.open_in_subtree": lambda u: u.cases.open_in_subtree(STREET),
        "cases.reported_in_subtree": lambda u: u.cases.reported_in_subtree(
            STREET, since=_PAST, until=_FUTURE
        ),
        "workers.get": lambda u: u.workers.get("wm-1"),
        "workers.list": lambda u: u.workers.list(),
        "workers.assigned_to": lambda u: u.workers.assigned_to(GRID_A, on=T0.date()),
    }


def _scoped(uow: UnitOfWork, principal: Principal) -> UnitOfWork:
    entries: list[AuditEntry] = []
    return scoped(uow, principal, audit=entries.append)


class MaskingContract(_Base):
    """What every store gives through a scoped unit: masked reads, restored write-backs."""

    @pytest.fixture
    def personal(self, store: UowFactory) -> UowFactory:
        """Return the store holding records with personal data in every field that may hold it."""
        with store() as uow:
            uow.workers.add(
                Worker(
                    "wm-1",
                    "张静",
                    {WorkerRole.GRID_WORKER},
                    [Assignment(GRID_A, pendulum.Date(2024, 1, 1))],
                    _WORKER_PHONE,
                )
            )
            first = Resident(
                "rm-1",
                _NAMES[0],
                national_id=_ID_1,
                phone=_PHONE_1,
                tags={Tag.LIVING_ALONE},
                emergency_contacts=(EmergencyContact(_NAMES[2], _KIN_PHONE, "儿子"),),
            )
            uow.households.add(
                Household("hm-1", BUILDING_A1, Address("铁一村9号", "3", "301"), members=(first,))
            )
            uow.households.add(
                Household(
                    "hm-2",
                    BUILDING_A2,
                    Address("铁一村8号", "1", "102"),
                    status=HouseholdStatus.RELOCATED,
                    members=(Resident("rm-2", _NAMES[1], national_id=_ID_2, phone=_PHONE_2),),
                    forwarding=ForwardingContact(_NEW_ADDRESS, _PHONE_1, f"儿子 {_NOTE_PHONE}"),
                )
            )
            uow.contacts.add(
                ContactAttempt(
                    "cm-1",
                    "rm-1",
                    "hm-1",
                    BUILDING_A1,
                    ContactMethod.PHONE,
                    Outcome.NO_ANSWER,
                    "wm-1",
                    T0.subtract(days=1),
                    notes=f"打{_CONTACT_PHONE}无人接, 转告{_NAMES[2]}",
                )
            )
            uow.cases.add(
                Case(
                    id="km-1",
                    category="complaint",
                    source=CaseSource.HOTLINE_12345,
                    location=Location(BUILDING_A1, _CASE_ADDRESS),
                    reporter=Reporter(_NAMES[3], _REPORTER_PHONE),
                    description=f"{_NAMES[3]}反映楼道灯不亮, 回电{_REPORTER_PHONE}",
                    urgency=Urgency.NORMAL,
                    state=CaseState.REPORTED,
                    owner_cell=GRID_A,
                    owner_level=GridLevel.GRID,
                    reported_at=T0.subtract(days=1),
                    external_id="12345-m1",
                    next_check=T0,
                )
            )
            uow.commit()
        return store

    @pytest.mark.parametrize("role", sorted(_MASKED))
    def test_masked_roles_read_no_personal_value_on_any_path(
        self, personal: UowFactory, role: str
    ) -> None:
        """Each read path gives a role without the full view records, none with a full value."""
        leaks: dict[str, list[str]] = {}
        with personal() as uow:
            mine = _scoped(uow, _MASKED[role])
            for name, read in _reads().items():
                found = "\n".join(_texts(read(mine)))
                leaks[name] = [p for p in _PERSONAL if p in found]
        assert {name: [] for name in _reads()} == leaks

    def test_masked_write_back_keeps_the_stored_values(self, personal: UowFactory) -> None:
        """A supervisor's masked read, one tag added, update: the stored values stay full."""
        with personal() as uow:
            mine = _scoped(uow, _MASKED["street_supervisor"])
            household = mine.households.get("hm-1")
            first = household.members[0]
            tagged = attrs.evolve(first, tags=first.tags | {Tag.ADVANCED_AGE})
            mine.households.update(household.with_member(tagged))
            uow.commit()
        with personal() as uow:
            stored = uow.households.get("hm-1")
        member = stored.members[0]
        expected = (
            (_NAMES[0], NationalId(_ID_1), PhoneNumber(_PHONE_1)),
            (EmergencyContact(_NAMES[2], _KIN_PHONE, "儿子"),),
            Address("铁一村9号", "3", "301"),
            frozenset({Tag.LIVING_ALONE, Tag.ADVANCED_AGE}),
            2,
        )
        assert expected == (
            (member.name, member.national_id, member.phone),
            member.emergency_contacts,
            stored.address,
            member.tags,
            stored.version,
        )

    def test_masked_case_write_back_keeps_the_reporter(self, personal: UowFactory) -> None:
        """A case read masked and written back with a new urgency keeps its reporter and texts."""
        with personal() as uow:
            before = uow.cases.get("km-1")
            mine = _scoped(uow, _MASKED["street_supervisor"])
            case = mine.cases.get("km-1")
            mine.cases.update(attrs.evolve(case, next_check=T0.add(days=1)))
            uow.commit()
        with personal() as uow:
            after = uow.cases.get("km-1")
        assert (before.reporter, before.location, before.description, T0.add(days=1)) == (
            after.reporter,
            after.location,
            after.description,
            after.next_check,
        )
