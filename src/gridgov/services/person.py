"""The data subject's rights (PIPL articles 45 and 47): one person's data exported, or erased.

:func:`export_person` gathers every record about one resident: their entry in the ledger (with
their household's address), their contacts and open care tasks, registrations and volunteer
sign-ups, the cases they reported, the notifications about them and the audit entries that name
them; :meth:`PersonRecords.to_json` gives them as one JSON document.

:func:`erase_person` anonymises the person everywhere, by one policy:

- **Erased**: the name (``（已删除）`` in its place), the ID number, the phone, the emergency
  contacts, the relationship; the notes of their contacts; a case's reporter name, phone and
  resident id, and the person's name, ID and phone numbers wherever a case's description or
  history notes repeat them; the text of the notifications sent about them; the household's unit,
  room and forwarding address when no one else of the household is left.
- **Kept**, because the statistics and the legal record rest on them and they no longer name
  anyone: the record ids, birth date and sex, tags, health flags and living arrangement (the care
  tiers and the coverage figures are computed from them, and stay the same), the instants and
  outcomes of contacts, tasks, registrations, sign-ups and cases, the case's category, location
  cell and history of actions, the audit trail (ids only), and the events of the outbox (ids
  only).

- **Forgotten**: the remembered requests (idempotency keys, :mod:`gridgov.idempotency`) whose
  result names the person (their resident id, name, ID or phone number): a result is a copy of
  what a service returned, and nothing points at it. A retry under such a key after the erasure
  does its work again, as after the key expired.

Nothing else is deleted, so nothing is left pointing at nothing; a second erasure finds nothing
more to do and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs

from gridgov import serialization
from gridgov.access import AuditEntry
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.model import Case, Reporter
from gridgov.clock import END_INSTANT as _UNTIL
from gridgov.clock import FIRST_INSTANT as _FROM
from gridgov.errors import NotFoundError, ValidationError
from gridgov.households import Address, ForwardingContact, Household, Resident
from gridgov.notify import Notification
from gridgov.ports import UnitOfWork
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.volunteers import SignUp
from gridgov.services._common import pages

__all__ = ["ERASED", "Erasure", "PersonRecords", "erase_person", "export_person"]

ERASED = "（已删除）"
"""What stands where an erased name or address was."""


@attrs.frozen
class Erasure:
    """What :func:`erase_person` changed: the records rewritten, by kind.

    Args:
        resident_id: The person.
        household: 1 if their ledger entry was anonymised (0: it already was).
        contacts: Contacts whose notes were erased.
        cases: Cases whose reporter or text named the person.
        notifications: Notifications whose text was erased.
        requests: Remembered requests forgotten, whose result named the person.
    """

    resident_id: str
    household: int = 0
    contacts: int = 0
    cases: int = 0
    notifications: int = 0
    requests: int = 0

    @property
    def changed(self) -> int:
        """Return how many records were rewritten or forgotten (0 for a second erasure)."""
        return self.household + self.contacts + self.cases + self.notifications + self.requests


def _subject(uow: UnitOfWork, resident_id: str) -> tuple[Household, Resident]:
    if not isinstance(resident_id, str) or not resident_id:
        raise ValidationError("resident_id", "expected a resident id")
    try:
        household = uow.households.household_of(resident_id)
    except NotFoundError:
        raise ValidationError("resident_id", "unknown resident") from None
    return household, household.member(resident_id)


def _every_case(uow: UnitOfWork) -> Iterator[Case]:
    """Yield every stored case (a reporter is not indexed: an erasure is rare, cases are few)."""
    for root in uow.cells.tree().roots:
        yield from _reported_in(uow, root.code)


def _reported_in(uow: UnitOfWork, cell_code: str) -> Iterator[Case]:
    return pages(
        lambda after: uow.cases.reported_in_subtree(
            cell_code, since=_FROM, until=_UNTIL, limit=500, after=after
        )
    )


def _reported_by(case: Case, resident_id: str) -> bool:
    return case.reporter.resident_id == resident_id


def _audit_entries(uow: UnitOfWork, resident_id: str) -> Iterator[AuditEntry]:
    return pages(
        lambda after: uow.audit.between(
            since=_FROM, until=_UNTIL, subject=f"resident:{resident_id}", after=after
        )
    )


@attrs.frozen
class PersonRecords:
    """Every record about one resident (:func:`export_person`).

    Args:
        resident: Their entry in the ledger.
        household_id: Their household.
        cell_code: The household's cell.
        address: The household's address.
        contacts: Their contacts, newest first.
        care_tasks: Their open care tasks.
        registrations: Their activity registrations.
        signups: Their volunteer sign-ups.
        cases_reported: The cases they reported.
        notifications: The notifications about them.
        audit: The audit entries naming them.
    """

    resident: Resident
    household_id: str
    cell_code: str
    address: Address
    contacts: tuple[ContactAttempt, ...]
    care_tasks: tuple[CareTask, ...]
    registrations: tuple[Registration, ...]
    signups: tuple[SignUp, ...]
    cases_reported: tuple[Case, ...]
    notifications: tuple[Notification, ...]
    audit: tuple[AuditEntry, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the records as one JSON-ready document (the person's copy: nothing masked)."""
        document: dict[str, Any] = serialization.unstructure(self)
        return document


def export_person(uow: UnitOfWork, resident_id: str) -> PersonRecords:
    """Return every record about one resident.

    Through a scoped unit, what the principal may see, as it may see it (masked for a role
    without the full view); :meth:`PersonRecords.to_json` gives the machine-readable copy a
    data subject is owed.

    Raises:
        ValidationError: On ``resident_id`` for an unknown resident.
    """
    household, resident = _subject(uow, resident_id)
    return PersonRecords(
        resident=resident,
        household_id=household.id,
        cell_code=household.cell_code,
        address=household.address,
        contacts=tuple(
            pages(lambda after: uow.contacts.for_resident(resident_id, limit=500, after=after))
        ),
        care_tasks=uow.care_tasks.open_for_resident(resident_id),
        registrations=uow.registrations.for_resident(resident_id, start=_FROM, end=_UNTIL),
        signups=uow.signups.for_resident(resident_id, start=_FROM, end=_UNTIL),
        cases_reported=tuple(c for c in _every_case(uow) if _reported_by(c, resident_id)),
        notifications=uow.notifications.about(resident_id),
        audit=tuple(_audit_entries(uow, resident_id)),
    )


def _erased_member(resident: Resident) -> Resident:
    return attrs.evolve(
        resident,
        name=ERASED,
        national_id=None,
        phone=None,
        emergency_contacts=(),
        relationship="",
    )


def _erased_household(household: Household, resident_id: str) -> Household:
    members = tuple(_erased_member(m) if m.id == resident_id else m for m in household.members)
    changed = attrs.evolve(household, members=members)
    if any(m.name != ERASED for m in members):
        return changed  # the others still live there: the address is theirs too
    forwarding = household.forwarding
    if forwarding is not None:
        forwarding = ForwardingContact(ERASED)
    return attrs.evolve(
        changed,
        address=Address(household.address.line),  # the building stays, for the statistics
        forwarding=forwarding,
    )


def _scrubbed(text: str, values: list[str]) -> str:
    for value in values:
        text = text.replace(value, ERASED)
    return text


def _erased_case(case: Case, resident_id: str, values: list[str]) -> Case:
    reporter = case.reporter
    if reporter.resident_id == resident_id:
        reporter = Reporter(worker_id=reporter.worker_id)
    history = tuple(attrs.evolve(h, note=_scrubbed(h.note, values)) for h in case.history)
    return attrs.evolve(
        case,
        reporter=reporter,
        description=_scrubbed(case.description, values),
        history=history,
    )


def erase_person(uow: UnitOfWork, resident_id: str) -> Erasure:
    """Anonymise one resident everywhere, by the policy of this module; return what changed.

    Commit the unit of work afterwards. A second erasure changes nothing.

    Raises:
        ValidationError: On ``resident_id`` for an unknown resident.
    """
    household, resident = _subject(uow, resident_id)
    # Every way the person's data may be written elsewhere, longest first: a phone inside an ID.
    values = sorted(
        {
            v
            for v in (
                resident.name if resident.name != ERASED else "",
                None if resident.national_id is None else resident.national_id.value,
                None if resident.phone is None else resident.phone.value,
                *(c.name for c in resident.emergency_contacts),
                *(c.phone.value for c in resident.emergency_contacts),
            )
            if v and len(v) > 1
        },
        key=lambda v: (-len(v), v),
    )
    erased = _erased_household(household, resident_id)
    done = Erasure(resident_id, household=int(erased != household))
    if erased != household:
        uow.households.update(erased)
    for contact in pages(lambda a: uow.contacts.for_resident(resident_id, limit=500, after=a)):
        if contact.notes:
            uow.contacts.erase(attrs.evolve(contact, notes=""))
            done = attrs.evolve(done, contacts=done.contacts + 1)
    for case in _every_case(uow):
        if not (_reported_by(case, resident_id) or values):
            continue
        cleaned = _erased_case(case, resident_id, values)
        if cleaned != case:
            uow.cases.update(cleaned)
            done = attrs.evolve(done, cases=done.cases + 1)
    for notification in uow.notifications.about(resident_id):
        if notification.text:
            uow.notifications.update(attrs.evolve(notification, text=""))
            done = attrs.evolve(done, notifications=done.notifications + 1)
    # Remembered results are JSON: the id as a JSON string, the values as written or escaped.
    wanted = [json.dumps(resident_id), *values, *(json.dumps(v)[1:-1] for v in values)]
    for request in list(pages(lambda after: uow.requests.list(limit=500, after=after))):
        if any(w in request.result for w in wanted):
            uow.requests.remove(request)
            done = attrs.evolve(done, requests=done.requests + 1)
    return done
