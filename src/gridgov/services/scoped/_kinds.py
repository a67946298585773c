"""The scoped repository of each kind: where its records lie, and its queries in the domain's words.

``get``, ``add``, ``add_many``, ``update`` and ``remove`` are the generic ones of
:mod:`._records`; a query is declared by the rule it runs under (:class:`~._records.Subtree`,
:class:`~._records.OfResident`, :class:`~._records.AtVenue`, :class:`~._records.Whole`) and
keeps the wrapped repository's signature. The few queries with a rule of their own follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pendulum

from gridgov.access import AuditEntry, AuditKind, Permission
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.components import Component
from gridgov.cases.duplicates import Sighting
from gridgov.cases.model import Case
from gridgov.grid import GridCell, GridTree, Worker
from gridgov.households import Household
from gridgov.idempotency import RememberedRequest
from gridgov.notify import Notification
from gridgov.outbox import StoredEvent
from gridgov.ports import (
    DEFAULT_PAGE_SIZE,
    CareTaskRepository,
    CaseRepository,
    CellRepository,
    ComponentRepository,
    ContactRepository,
    HouseholdRepository,
    NotificationRepository,
    OutboxRepository,
    Page,
    ProgressCallback,
    RegistrationRepository,
    ResidentEntry,
    SeriesRepository,
    SharedId,
    ShiftRepository,
    SignUpRepository,
    VenueRepository,
    WorkerRepository,
)
from gridgov.records import kinds as k
from gridgov.scheduling.registrations import Occupancy, Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.services.access import audit_entry
from gridgov.services.scoped._guard import READ, WRITE, Guard
from gridgov.services.scoped._pages import instant
from gridgov.services.scoped._records import (
    AtVenue,
    OfResident,
    Placement,
    Reach,
    ScopedAddsMany,
    ScopedRemovable,
    ScopedRepository,
    Subtree,
    Whole,
    changed_fields,
    registrant,
    stored,
)
from gridgov.settings import Settings

__all__ = [
    "ScopedAudit",
    "ScopedCareTasks",
    "ScopedCases",
    "ScopedCells",
    "ScopedComponents",
    "ScopedContacts",
    "ScopedHouseholds",
    "ScopedRegistrations",
    "ScopedRequests",
    "ScopedSeries",
    "ScopedSettings",
    "ScopedShifts",
    "ScopedSignUps",
    "ScopedVenues",
    "ScopedWorkers",
]


def _by_resident(e: ResidentEntry) -> tuple[str, str, str]:
    return (e.cell_code, e.household_id, e.resident.id)


def _by_age(e: ResidentEntry) -> tuple[str, str]:
    birth = e.resident.birth_date
    return ("" if birth is None else birth.isoformat(), e.resident.id)


def _by_report(c: Case) -> tuple[str, str]:
    return (instant(c.reported_at), c.id)


class ScopedCells(ScopedRemovable[GridCell, CellRepository]):
    """Cells: the scope and the hierarchy above it are readable; the scope is writable."""

    place = Placement(k.CELLS, "cells", "cell", Reach.NEAR, audited=True)
    subtree = Subtree[GridCell](lambda c: (c.code,))

    def get(self, key: str) -> GridCell:
        """Return the cell, if it is covered or lies above the scope (checked before reading)."""
        self._g.see(self._subject(key), key)
        return self._inner.get(key)

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the children of a readable cell that are covered or lie above the scope."""
        self._g.see(self._subject(code), code)
        return tuple(c for c in self._inner.children(code) if self._g.principal.overlaps(c.code))

    def tree(self) -> GridTree:
        """Return the cells covered and those above the scope, as a tree."""
        self._g.somewhere(READ, "query:cells.tree")
        full = self._inner.tree()
        if self._g.everywhere:
            return full
        return GridTree([c for c in full if self._g.principal.overlaps(c.code)], full.scheme)


class ScopedWorkers(ScopedRemovable[Worker, WorkerRepository]):
    """Workers: readable through any assigned cell, writable when every one is covered."""

    place = Placement(
        k.WORKERS,
        "workers",
        "worker",
        Reach.NEAR,
        direct=False,
        nowhere_write="a worker without assignments is managed centrally",
        audited=True,
    )
    list = Whole[Worker]()

    def assigned_to(self, cell_code: str, *, on: pendulum.Date) -> tuple[Worker, ...]:
        """Return the workers of a cell that is covered or lies above the scope."""
        self._g.see("query:workers.assigned_to", cell_code)
        return self._g.shown(
            tuple(filter(self._visible, self._inner.assigned_to(cell_code, on=on)))
        )


class ScopedHouseholds(
    ScopedRemovable[Household, HouseholdRepository], ScopedAddsMany[Household, HouseholdRepository]
):
    """Households: read and written in scope; queries narrowed to the scope."""

    place = Placement(k.HOUSEHOLDS, "households", "household", audited=True)
    in_subtree = Subtree[Household](lambda h: (h.cell_code, h.id))
    with_tag = Subtree[ResidentEntry](_by_resident, within=True)
    aged = Subtree[ResidentEntry](_by_age, within=True)

    def household_of(self, resident_id: str) -> Household:
        """Return the household of a resident, if it is in scope."""
        subject = f"resident:{resident_id}"
        self._g.permit(READ, subject)
        household = self._inner.household_of(resident_id)
        self._g.cover(READ, subject, household.cell_code)
        return self._g.shown(household)

    def by_id_digest(self, digest: str) -> tuple[ResidentEntry, ...]:
        """Return the residents in scope whose national ID has ``digest``, redacted."""
        self._g.somewhere(READ, "query:households.by_id_digest")
        found = self._inner.by_id_digest(digest)
        covers = self._g.principal.covers
        return self._g.shown(tuple(e for e in found if covers(e.cell_code)))

    def shared_ids(
        self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[SharedId]:
        """Return the IDs held twice with a holder in scope; holders elsewhere only counted.

        A scope narrows what is shown, not what is counted: a resident of this grid who is also
        recorded in another grid is reported here, the other holder as ``elsewhere``.
        """
        self._g.somewhere(READ, "query:households.shared_ids")
        covers = self._g.principal.covers
        found: list[SharedId] = []
        cursor = after
        while True:
            got = self._inner.shared_ids(limit=limit, after=cursor)
            for shared in got.items:
                mine = tuple(h for h in shared.holders if covers(h.cell_code))
                if mine:
                    others = shared.elsewhere + len(shared.holders) - len(mine)
                    found.append(SharedId(mine, others))
            cursor = got.next_cursor
            if cursor is None or found:
                return Page(tuple(found), cursor)


class ScopedContacts(ScopedAddsMany[ContactAttempt, ContactRepository]):
    """The contact ledger: read and written in scope (the store checks the resident's household)."""

    place = Placement(k.CONTACTS, "contacts", "contact")
    for_resident = OfResident[Page[ContactAttempt]](Page(()))
    in_subtree = Subtree[ContactAttempt](lambda c: (instant(c.at), c.id))

    def erase(self, contact: ContactAttempt) -> ContactAttempt:
        """Erase a contact's notes (WRITE and a scope covering every cell: an erasure request)."""
        self._g.cover(Permission.WRITE, "contacts", "")
        self._g.write()
        return self._g.inner.contacts.erase(contact)


def _claiming(guard: Guard, query: str) -> None:
    """Permit a claiming query (``cases.claim_due``...) only to a principal covering every cell.

    Claiming holds rows; a narrowed claim would hold records it never returns, and every other
    sweeper would skip them.
    """
    guard.permit(WRITE, f"query:{query}")
    if not guard.everywhere:
        guard.deny(WRITE, f"query:{query}", None, "claiming sweeps every cell")
    guard.write()


class ScopedCareTasks(
    ScopedRepository[CareTask, CareTaskRepository], ScopedAddsMany[CareTask, CareTaskRepository]
):
    """Care tasks: read and written in scope."""

    place = Placement(k.CARE_TASKS, "care_tasks", "care_task")
    open_for_resident = OfResident[tuple[CareTask, ...]](())
    open_in_subtree = Subtree[CareTask](lambda t: (instant(t.due), t.id))
    overdue = Whole[CareTask]()

    def claim_overdue(
        self,
        *,
        due_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Claim overdue tasks: only for a principal covering every cell (see ``_claiming``)."""
        _claiming(self._g, "care_tasks.claim_overdue")
        return self._g.shown(
            self._inner.claim_overdue(due_before=due_before, limit=limit, after=after)
        )


class ScopedCases(ScopedRepository[Case, CaseRepository], ScopedAddsMany[Case, CaseRepository]):
    """Cases: in scope by their location or by the unit that owns them.

    ``due`` takes no subtree in the port: the due queue is read whole and filtered here (the
    escalation engine sweeps every due case as SYSTEM on an unscoped store).
    """

    place = Placement(k.CASES, "cases", "case", Reach.ANY)
    due = Whole[Case]()
    open_in_subtree = Subtree[Case](_by_report)
    reported_in_subtree = Subtree[Case](_by_report)

    def claim_due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Claim due cases: only for a principal covering every cell (see ``_claiming``)."""
        _claiming(self._g, "cases.claim_due")
        return self._g.shown(
            self._inner.claim_due(at_or_before=at_or_before, limit=limit, after=after)
        )

    def sightings(
        self,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        category: str | None = None,
        component_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> tuple[Sighting, ...]:
        """Return what the duplicate check reads, over the whole store (names nobody).

        A scope narrows what a principal sees, never what a rule counts: a report is checked
        against every case, in scope or not; a sighting holds ids, codes, a point and an instant.
        """
        self._g.somewhere(READ, "query:cases.sightings")
        return self._inner.sightings(
            since=since,
            until=until,
            category=category,
            component_id=component_id,
            limit=limit,
        )

    def by_external_id(self, external_id: str) -> Case | None:
        """Return the case with that external id, if any; deny one out of scope."""
        self._g.permit(READ, "query:cases.by_external_id")
        case = self._inner.by_external_id(external_id)
        if case is not None:
            self._check(READ, case)
        return self._g.shown(case)


class ScopedComponents(
    ScopedRepository[Component, ComponentRepository],
    ScopedAddsMany[Component, ComponentRepository],
):
    """Components: readable in scope and above it (as venues), written in scope."""

    place = Placement(k.COMPONENTS, "components", "component", Reach.NEAR)
    in_subtree = Subtree[Component](lambda c: (c.id,))


class ScopedVenues(ScopedRepository[Venue, VenueRepository]):
    """Venues: readable in scope and above it (they serve every cell below), written in scope."""

    place = Placement(k.VENUES, "venues", "venue", Reach.NEAR)
    in_subtree = Subtree[Venue](lambda v: (v.id,))


class ScopedSeries(
    ScopedRepository[ActivitySeries, SeriesRepository],
    ScopedAddsMany[ActivitySeries, SeriesRepository],
):
    """Activity series: in the cell of their venue."""

    place = Placement(k.SERIES, "series", "series", Reach.NEAR, direct=False)
    in_venue = AtVenue[Page[ActivitySeries]]()


class ScopedRegistrations(ScopedRepository[Registration, RegistrationRepository]):
    """Registrations: in their cell; one is written only if the registrant's household agrees."""

    place = Placement(k.REGISTRATIONS, "registrations", "registration", also=registrant)
    for_resident = OfResident[tuple[Registration, ...]](())

    def _occurrence(self, occurrence_id: str, permission: Permission = READ) -> None:
        """Check that the occurrence's venue is readable (and ``permission`` granted)."""
        subject = f"occurrence:{occurrence_id}"
        self._g.permit(permission, subject)
        series_id = occurrence_id.partition("@")[0]
        series = stored(self._g.inner.series.get, series_id) if series_id else None
        if series is not None:
            self._at_venue(subject, series.venue_id)

    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]:
        """Return the registrations of an occurrence at a readable venue, of households in scope.

        A grid worker sees the registrations of their own residents, not of every participant.
        """
        self._occurrence(occurrence_id)
        return self._g.shown(self._in_scope(self._inner.for_occurrence(occurrence_id)))

    def occupancy(self, occurrence_id: str) -> Occupancy:
        """Return the places taken and the waitlist of an occurrence at a readable venue.

        Counted over every registration: a scope narrows what a principal sees, not what a
        rule counts (and counts name nobody).
        """
        self._occurrence(occurrence_id)
        return self._inner.occupancy(occurrence_id)

    def promote_first_waiting(self, occurrence_id: str) -> Registration | None:
        """Confirm the first on an occurrence's waitlist, whoever's resident they are.

        Needs ``WRITE`` and a readable venue: it is the consequence of a place freed by a
        cancellation the principal was allowed to make, and the waitlist's order is the rule.
        """
        self._occurrence(occurrence_id, WRITE)
        return self._g.shown(self._inner.promote_first_waiting(occurrence_id))


class ScopedShifts(ScopedRepository[Shift, ShiftRepository]):
    """Volunteer shifts: in the cell of their venue."""

    place = Placement(k.SHIFTS, "shifts", "shift", Reach.NEAR, direct=False)
    in_venue = AtVenue[tuple[Shift, ...]]()


class ScopedSignUps(ScopedRepository[SignUp, SignUpRepository]):
    """Sign-ups: in the cell of the volunteer's household."""

    place = Placement(
        k.SIGNUPS, "signups", "signup", direct=False, nowhere="no household holds the volunteer"
    )
    for_resident = OfResident[tuple[SignUp, ...]](())

    def _shift(self, shift_id: str) -> None:
        """Check that the shift's venue is readable."""
        subject = f"shift:{shift_id}"
        self._g.permit(READ, subject)
        self._at_venue(subject, self._g.inner.shifts.get(shift_id).venue_id)

    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]:
        """Return the sign-ups of a shift at a readable venue, of volunteers in scope."""
        self._shift(shift_id)
        return self._g.shown(self._in_scope(self._inner.for_shift(shift_id)))

    def taken(self, shift_id: str) -> int:
        """Return how many volunteers a shift at a readable venue has, counted over everyone."""
        self._shift(shift_id)
        return self._inner.taken(shift_id)


class ScopedSettings:
    """Settings: read with READ; changed only by a principal covering every cell."""

    def __init__(self, guard: Guard) -> None:
        self._g = guard

    def get(self) -> Settings:
        """Return the stored settings."""
        self._g.somewhere(READ, "settings")
        return self._g.inner.settings.get()

    def history(self) -> tuple[Settings, ...]:
        """Return every saved version of the settings."""
        self._g.somewhere(READ, "settings")
        return self._g.inner.settings.history()

    def save(self, settings: Settings) -> Settings:
        """Store the settings: they rule every cell, so the scope must cover every cell."""
        self._g.permit(WRITE, "settings")
        if not self._g.everywhere:
            self._g.deny(WRITE, "settings", None, "the settings rule every cell")
        self._g.write()
        before = stored(lambda _key: self._g.inner.settings.get(), "default")
        saved = self._g.inner.settings.save(settings)
        entry = audit_entry(
            self._g.principal,
            self._g.clock.now(),
            AuditKind.CREATED if before is None else AuditKind.EDITED,
            "settings:default",
            None,
            "" if before is None else changed_fields(before, saved),
        )
        self._g.inner.audit.add(entry)
        return saved


class ScopedAudit:
    """The audit trail: anyone appends; reading needs READ_AUDIT and is narrowed to the scope."""

    place = Placement(k.AUDIT, "audit", "audit")
    between = Whole[AuditEntry](Permission.READ_AUDIT)

    def __init__(self, guard: Guard) -> None:
        self._g = guard

    @property
    def _any(self) -> Any:
        return self._g.inner.audit

    def add(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry (services record what principals do)."""
        self._g.write()
        return self._g.inner.audit.add(entry)

    def _visible(self, entry: AuditEntry) -> bool:
        return entry.cell_code is None or self._g.principal.covers(entry.cell_code)


class ScopedRequests:
    """Remembered requests: open to everyone (a repeat answers only its maker, by digest).

    A result is JSON text of what a service returned to its maker; a principal without the full
    view reads it with the ID and phone numbers in it masked, and writing it back keeps the
    stored text.
    """

    def __init__(self, guard: Guard) -> None:
        self._g = guard

    def get(self, key: str) -> RememberedRequest:
        """Return the request remembered under ``key``, redacted to the principal's role."""
        return self._g.shown(self._g.inner.requests.get(key))

    def list(
        self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[RememberedRequest]:
        """Return every remembered request, redacted: for a scope covering every cell only.

        Their results may be about anyone; the data subject's erasure reads them all.
        """
        self._g.cover(READ, "query:requests.list", "")
        return self._g.shown(self._g.inner.requests.list(limit=limit, after=after))

    def add(self, request: RememberedRequest) -> RememberedRequest:
        """Remember a request (services remember what principals ask)."""
        self._g.write()
        return self._g.shown(self._g.inner.requests.add(self._g.restored(request, None)))

    def update(self, request: RememberedRequest) -> RememberedRequest:
        """Replace a remembered request; a result left as read keeps its stored text."""
        before = stored(self._g.inner.requests.get, request.id)
        self._g.write()
        return self._g.shown(self._g.inner.requests.update(self._g.restored(request, before)))

    def remove(self, request: RememberedRequest) -> None:
        """Forget a remembered request."""
        self._g.write()
        self._g.inner.requests.remove(request)

    def forget_expired(self, now: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Forget expired requests (they name no one)."""
        self._g.write()
        return self._g.inner.requests.forget_expired(now, limit=limit)


class ScopedOutbox:
    """The outbox: anyone records events; the relay's reads and marks need every cell."""

    def __init__(self, guard: Guard) -> None:
        self._g = guard

    def _everywhere(self, permission: Permission) -> OutboxRepository:
        self._g.cover(permission, "outbox", "")
        return self._g.inner.outbox

    def get(self, event_id: str) -> StoredEvent:
        """Return a stored event (a scope covering every cell)."""
        return self._everywhere(Permission.READ).get(event_id)

    def add(self, event: StoredEvent) -> StoredEvent:
        """Record an event (services record the events of the changes they make)."""
        self._g.write()
        return self._g.inner.outbox.add(event)

    def add_many(
        self,
        events: Iterable[StoredEvent],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Record events (services record the events of the changes they make)."""
        self._g.write()
        return self._g.inner.outbox.add_many(events, batch_size=batch_size, progress=progress)

    def last_events(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredEvent]:
        """Return records' last events (services number the next; events name no one)."""
        return self._g.inner.outbox.last_events(keys)

    def pending(self, *, limit: int = DEFAULT_PAGE_SIZE) -> tuple[StoredEvent, ...]:
        """Return unpublished events (a scope covering every cell)."""
        return self._everywhere(Permission.READ).pending(limit=limit)

    def for_aggregate(self, aggregate: str, aggregate_id: str) -> tuple[StoredEvent, ...]:
        """Return one record's events (a scope covering every cell)."""
        return self._everywhere(Permission.READ).for_aggregate(aggregate, aggregate_id)

    def mark_published(
        self, events: Iterable[StoredEvent], at: pendulum.DateTime
    ) -> tuple[StoredEvent, ...]:
        """Mark events published (WRITE and a scope covering every cell)."""
        outbox = self._everywhere(Permission.WRITE)
        self._g.write()
        return outbox.mark_published(events, at)

    def prune(self, published_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Delete published events (WRITE and a scope covering every cell)."""
        outbox = self._everywhere(Permission.WRITE)
        self._g.write()
        return outbox.prune(published_before, limit=limit)


class ScopedNotifications:
    """Notifications: anyone records them with events; reading needs the cell, the queue all."""

    def __init__(self, guard: Guard) -> None:
        self._g = guard

    def _everywhere(self, permission: Permission) -> NotificationRepository:
        self._g.cover(permission, "notifications", "")
        return self._g.inner.notifications

    def get(self, notification_id: str) -> Notification:
        """Return a notification of a covered cell."""
        found = self._g.inner.notifications.get(notification_id)
        self._g.cover(Permission.READ, "notification", found.cell_code)
        return found

    def add(self, notification: Notification) -> Notification:
        """Record a notification (services record them with the events they ask for)."""
        self._g.write()
        return self._g.inner.notifications.add(notification)

    def add_many(
        self,
        notifications: Iterable[Notification],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Record notifications (services record them with the events they ask for)."""
        self._g.write()
        return self._g.inner.notifications.add_many(
            notifications, batch_size=batch_size, progress=progress
        )

    def update(self, notification: Notification) -> Notification:
        """Record what came of a notification (WRITE and a scope covering every cell)."""
        inner = self._everywhere(Permission.WRITE)
        self._g.write()
        return inner.update(notification)

    def due(
        self, at_or_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE
    ) -> tuple[Notification, ...]:
        """Return the notifier's queue (a scope covering every cell)."""
        return self._everywhere(Permission.READ).due(at_or_before, limit=limit)

    def claim_due(
        self, at_or_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE
    ) -> tuple[Notification, ...]:
        """Claim a round of the notifier's queue (WRITE and a scope covering every cell)."""
        _claiming(self._g, "notifications.claim_due")
        return self._g.inner.notifications.claim_due(at_or_before, limit=limit)

    def about(self, subject_id: str) -> tuple[Notification, ...]:
        """Return the notifications about one resident or record, of covered cells only."""
        self._g.permit(Permission.READ, "notifications")
        found = self._g.inner.notifications.about(subject_id)
        return tuple(n for n in found if self._g.principal.covers(n.cell_code))
