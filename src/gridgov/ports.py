"""Ports: the repository Protocols every storage adapter implements, and the unit of work.

Conventions shared by every repository:

- ``add`` stores a new record and returns it with ``version`` 1; a record with the same key
  already stored raises :class:`~gridgov.errors.ConflictError`.
- ``update`` takes a record read from the store (its ``version`` is the stored one) and returns it
  with ``version`` incremented; a stale version raises ``ConflictError`` (optimistic locking),
  either at once or when the unit of work commits.
- ``remove`` takes the record as read and deletes it, under the same version check.
- Queries return a :class:`Page`; pass ``page.next_cursor`` as ``after`` for the next one.
  Cursors are opaque strings, valid for the query that produced them.
- Nothing is stored until the unit of work commits; leaving the ``with`` block without committing
  rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import attrs
import pendulum

from gridgov.access import AuditEntry, AuditKind
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.components import Component
from gridgov.cases.duplicates import Sighting
from gridgov.cases.model import Case
from gridgov.codes import CodeScheme
from gridgov.grid import GridCell, GridTree, Worker
from gridgov.households import Household, Resident, Tag
from gridgov.idempotency import RememberedRequest
from gridgov.notify import Notification
from gridgov.outbox import StoredEvent
from gridgov.scheduling.registrations import Occupancy, Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.settings import Settings

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "AuditRepository",
    "CareTaskRepository",
    "CaseRepository",
    "CellRepository",
    "ComponentRepository",
    "ContactRepository",
    "HouseholdRepository",
    "IdHolder",
    "LockRepository",
    "NotificationRepository",
    "OutboxRepository",
    "Page",
    "ProgressCallback",
    "RegistrationRepository",
    "ResidentEntry",
    "SeriesRepository",
    "SettingsRepository",
    "SharedId",
    "ShiftRepository",
    "SignUpRepository",
    "Store",
    "UnitOfWork",
    "VenueRepository",
    "WorkerRepository",
]

T_co = TypeVar("T_co", covariant=True)

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000

ProgressCallback = Callable[[int], None]
"""Called by bulk operations with the number of records processed so far."""


@attrs.frozen
class Page(Generic[T_co]):
    """One page of query results.

    Args:
        items: The records, in the query's order.
        next_cursor: Pass as ``after`` to fetch the next page; ``None`` on the last page.
    """

    items: tuple[T_co, ...]
    next_cursor: str | None = None

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen
class ResidentEntry:
    """A resident found by a query, with the household that holds them.

    Args:
        household_id: The household's key.
        cell_code: The cell the household lives in.
        resident: The resident.
    """

    household_id: str
    cell_code: str
    resident: Resident


@attrs.frozen
class IdHolder:
    """A resident holding a national ID another resident holds too: where, never the number.

    Args:
        household_id: The household's key.
        cell_code: The cell the household lives in.
        resident_id: The resident's key.
    """

    household_id: str
    cell_code: str
    resident_id: str


@attrs.frozen
class SharedId:
    """One national ID held by several stored residents (found by its keyed digest).

    Two holders are the same person recorded twice (a move not finished, 人户分离: registered
    in one household and living in another) or a typing error; the report names where they
    are, never the number.

    Args:
        holders: The residents holding it, by cell code, household and resident id.
        elsewhere: How many more hold it outside the reader's scope (a scoped unit of work
            counts them and does not show them).
    """

    holders: tuple[IdHolder, ...]
    elsewhere: int = 0


class CellRepository(Protocol):
    """Stores the grid cells of the area hierarchy under the store's code scheme."""

    def get(self, code: str) -> GridCell:
        """Return the cell with ``code`` or raise NotFoundError."""
        ...

    def get_many(self, codes: Iterable[str]) -> dict[str, GridCell]:
        """Return the cells stored under ``codes`` by code, in few round trips; others left out."""
        ...

    def add(self, cell: GridCell) -> GridCell:
        """Store a new cell whose parent is stored, at the right level and code; return it."""
        ...

    def update(self, cell: GridCell) -> GridCell:
        """Replace a stored cell (same code, parent and level) if its version is current."""
        ...

    def remove(self, cell: GridCell) -> None:
        """Delete a cell that has no children, households or workers assigned."""
        ...

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the direct children of the cell ``code``, ordered by code."""
        ...

    def subtree(
        self, code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[GridCell]:
        """Return the cell ``code`` and every cell below it, ordered by code."""
        ...

    def tree(self) -> GridTree:
        """Return every stored cell as a validated tree."""
        ...


class WorkerRepository(Protocol):
    """Stores grid workers and their cell assignments."""

    def get(self, worker_id: str) -> Worker:
        """Return the worker with ``worker_id`` or raise NotFoundError."""
        ...

    def add(self, worker: Worker) -> Worker:
        """Store a new worker whose assigned cells are stored; return it."""
        ...

    def update(self, worker: Worker) -> Worker:
        """Replace a stored worker if its version is current; return it."""
        ...

    def remove(self, worker: Worker) -> None:
        """Delete a stored worker if its version is current."""
        ...

    def list(self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None) -> Page[Worker]:
        """Return workers ordered by id."""
        ...

    def assigned_to(self, cell_code: str, *, on: pendulum.Date) -> tuple[Worker, ...]:
        """Return the workers assigned to the cell ``cell_code`` on ``on``, ordered by id."""
        ...


class HouseholdRepository(Protocol):
    """Stores households with their residents: the ledger."""

    def get(self, household_id: str) -> Household:
        """Return the household with ``household_id`` or raise NotFoundError."""
        ...

    def get_many(self, household_ids: Iterable[str]) -> dict[str, Household]:
        """Return the households stored under the ids by id, in few round trips; others left out."""
        ...

    def household_of(self, resident_id: str) -> Household:
        """Return the household the resident ``resident_id`` belongs to, or raise NotFoundError."""
        ...

    def add(self, household: Household) -> Household:
        """Store a new household in a stored cell, its resident ids unused; return it."""
        ...

    def add_many(
        self,
        households: Iterable[Household],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new households from a stream, as ``add`` does; return how many."""
        ...

    def update(self, household: Household) -> Household:
        """Replace a stored household if its version is current; return it."""
        ...

    def remove(self, household: Household) -> None:
        """Delete a stored household if its version is current."""
        ...

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Household]:
        """Return households in the cell ``cell_code`` or below it, by cell code then id."""
        ...

    def with_tag(
        self,
        tag: Tag,
        *,
        within: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ResidentEntry]:
        """Return residents carrying ``tag`` (within a subtree), by cell, household and id."""
        ...

    def aged(
        self,
        *,
        on: pendulum.Date,
        min_age: int | None = None,
        max_age: int | None = None,
        within: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ResidentEntry]:
        """Return residents whose age on ``on`` is within the bounds, oldest first."""
        ...

    def by_id_digest(self, digest: str) -> tuple[ResidentEntry, ...]:
        """Return the residents whose national ID has ``digest`` (gridgov.identity), by id."""
        ...

    def shared_ids(
        self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[SharedId]:
        """Return the national IDs held by two residents or more (by digest), never the IDs."""
        ...


class ContactRepository(Protocol):
    """Stores the contact ledger: every attempt to reach a resident (append-only)."""

    def get(self, contact_id: str) -> ContactAttempt:
        """Return the contact with ``contact_id`` or raise NotFoundError."""
        ...

    def add(self, contact: ContactAttempt) -> ContactAttempt:
        """Store a new contact for a stored resident of that household and cell; return it."""
        ...

    def add_many(
        self,
        contacts: Iterable[ContactAttempt],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new contacts from a stream, as ``add`` does; return how many."""
        ...

    def erase(self, contact: ContactAttempt) -> ContactAttempt:
        """Rewrite a stored contact's notes, the data subject's erasure; return it.

        The only change a contact allows: anything else that differs from the stored contact is
        a ValidationError; a stale version a ConflictError.
        """
        ...

    def for_resident(
        self,
        resident_id: str,
        *,
        since: pendulum.DateTime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return a resident's contacts at or after ``since``, newest first."""
        ...

    def in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return contacts in the subtree of ``cell_code`` with ``since <= at < until``, by time."""
        ...


class CareTaskRepository(Protocol):
    """Stores care tasks, indexed for daily worklists."""

    def get(self, task_id: str) -> CareTask:
        """Return the task with ``task_id`` or raise NotFoundError."""
        ...

    def add(self, task: CareTask) -> CareTask:
        """Store a new task for a stored resident; return it with version 1."""
        ...

    def add_many(
        self,
        tasks: Iterable[CareTask],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new tasks from a stream, as ``add`` does; return how many."""
        ...

    def update(self, task: CareTask) -> CareTask:
        """Replace a stored task if its version is current; return it."""
        ...

    def open_for_resident(self, resident_id: str) -> tuple[CareTask, ...]:
        """Return the resident's open tasks, by due instant then id."""
        ...

    def open_in_subtree(
        self,
        cell_code: str,
        *,
        starting_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return open tasks of the subtree whose window starts before the instant, by due, id."""
        ...

    def overdue(
        self,
        *,
        due_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return open tasks not yet marked overdue whose due is before the instant, by due, id."""
        ...

    def claim_overdue(
        self,
        *,
        due_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return tasks as ``overdue`` does, held for this unit; those another unit holds skipped.

        Several overdue sweepers share the queue this way, as escalation sweepers share
        ``CaseRepository.claim_due``.
        """
        ...


class CaseRepository(Protocol):
    """Stores cases, indexed by next escalation check, by cell and by external id."""

    def get(self, case_id: str) -> Case:
        """Return the case with ``case_id`` or raise NotFoundError."""
        ...

    def add(self, case: Case) -> Case:
        """Store a new case whose location and owner cells are stored; return it with version 1."""
        ...

    def add_many(
        self,
        cases: Iterable[Case],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new cases from a stream, as ``add`` does; return how many."""
        ...

    def update(self, case: Case) -> Case:
        """Replace a stored case if its version is current; return it."""
        ...

    def by_external_id(self, external_id: str) -> Case | None:
        """Return the case with that id in another system (12345, Open311), if any."""
        ...

    def due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return cases whose ``next_check`` is at or before the instant, by next_check, id."""
        ...

    def claim_due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return due cases as ``due`` does, held for this unit; those another unit holds skipped.

        Several sweepers share the due queue this way: each takes the cases no other one holds,
        until its unit of work ends.
        """
        ...

    def open_in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Case]:
        """Return the open cases located in the subtree, by reported_at, id."""
        ...

    def reported_in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return the cases of the subtree reported in ``[since, until)``, by reported_at, id."""
        ...

    def sightings(
        self,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        category: str | None = None,
        component_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> tuple[Sighting, ...]:
        """Return what the duplicate check reads of a category's or a component's cases.

        Up to ``limit`` cases reported in ``[since, until)``, latest first, over the whole
        store. Exactly one of ``category`` and ``component_id`` is given (else ValidationError).
        """
        ...


class ComponentRepository(Protocol):
    """Stores the register of components (部件), indexed by cell."""

    def get(self, component_id: str) -> Component:
        """Return the component with ``component_id`` or raise NotFoundError."""
        ...

    def add(self, component: Component) -> Component:
        """Store a new component in a stored cell; return it with version 1."""
        ...

    def add_many(
        self,
        components: Iterable[Component],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new components; return how many (ConflictError if one is stored)."""
        ...

    def update(self, component: Component) -> Component:
        """Replace a stored component if its version is current; return it."""
        ...

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Component]:
        """Return the components of the subtree, by id."""
        ...


class SettingsRepository(Protocol):
    """Stores the one :class:`~gridgov.settings.Settings` of a store, and every saved version."""

    def get(self) -> Settings:
        """Return the stored settings, or raise NotFoundError if none were saved."""
        ...

    def history(self) -> tuple[Settings, ...]:
        """Return every saved version of the settings, oldest first (the current one last)."""
        ...

    def save(self, settings: Settings) -> Settings:
        """Store the settings (version 0: the first save) if the version is current; return them."""
        ...


class VenueRepository(Protocol):
    """Stores venues with their spaces, opening hours and blackouts."""

    def get(self, venue_id: str) -> Venue:
        """Return the venue with ``venue_id`` or raise NotFoundError."""
        ...

    def add(self, venue: Venue) -> Venue:
        """Store a new venue in a stored cell; return it with version 1."""
        ...

    def update(self, venue: Venue) -> Venue:
        """Replace a stored venue if its version is current; return it."""
        ...

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Venue]:
        """Return the venues of the subtree, by id."""
        ...


class SeriesRepository(Protocol):
    """Stores activity series, indexed by venue and the span of their occurrences."""

    def get(self, series_id: str) -> ActivitySeries:
        """Return the series with ``series_id`` or raise NotFoundError."""
        ...

    def add(self, series: ActivitySeries) -> ActivitySeries:
        """Store a new series of a stored venue and one of its spaces; return it (version 1)."""
        ...

    def add_many(
        self,
        series: Iterable[ActivitySeries],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new series from a stream, as ``add`` does; return how many."""
        ...

    def update(self, series: ActivitySeries) -> ActivitySeries:
        """Replace a stored series if its version is current; return it."""
        ...

    def in_venue(
        self,
        venue_id: str,
        *,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ActivitySeries]:
        """Return the venue's series that may have occurrences in ``[start, end)``, by id.

        A series qualifies when its first start is before ``end`` and its last end (``None``:
        never ending) is after ``start``; expanding it tells which occurrences fall inside.
        """
        ...


class RegistrationRepository(Protocol):
    """Stores registrations, indexed by occurrence and by resident and time."""

    def get(self, registration_id: str) -> Registration:
        """Return the registration with ``registration_id`` or raise NotFoundError."""
        ...

    def add(self, registration: Registration) -> Registration:
        """Store a new registration of a stored resident for a stored series; return it."""
        ...

    def update(self, registration: Registration) -> Registration:
        """Replace a stored registration if its version is current; return it."""
        ...

    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]:
        """Return every registration of an occurrence, by registered_at then id."""
        ...

    def occupancy(self, occurrence_id: str) -> Occupancy:
        """Return the places taken and the waitlist of an occurrence, over every registration."""
        ...

    def promote_first_waiting(self, occurrence_id: str) -> Registration | None:
        """Confirm the occurrence's first waitlisted registration, whoever holds it; return it."""
        ...

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Registration, ...]:
        """Return the resident's registrations whose occurrence overlaps ``[start, end)``."""
        ...


class ShiftRepository(Protocol):
    """Stores volunteer shifts, indexed by venue and time."""

    def get(self, shift_id: str) -> Shift:
        """Return the shift with ``shift_id`` or raise NotFoundError."""
        ...

    def add(self, shift: Shift) -> Shift:
        """Store a new shift of a stored venue; return it with version 1."""
        ...

    def update(self, shift: Shift) -> Shift:
        """Replace a stored shift if its version is current; return it."""
        ...

    def in_venue(
        self, venue_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Shift, ...]:
        """Return the venue's shifts overlapping ``[start, end)``, by start then id."""
        ...


class SignUpRepository(Protocol):
    """Stores volunteers' sign-ups, indexed by shift and by resident and time."""

    def get(self, signup_id: str) -> SignUp:
        """Return the sign-up with ``signup_id`` or raise NotFoundError."""
        ...

    def add(self, signup: SignUp) -> SignUp:
        """Store a new sign-up of a stored resident for a stored shift; return it."""
        ...

    def update(self, signup: SignUp) -> SignUp:
        """Replace a stored sign-up if its version is current; return it."""
        ...

    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]:
        """Return every sign-up of a shift, by ``at`` then id."""
        ...

    def taken(self, shift_id: str) -> int:
        """Return how many volunteers are signed up for the shift, over every sign-up."""
        ...

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[SignUp, ...]:
        """Return the resident's sign-ups whose shift overlaps ``[start, end)``, by start."""
        ...


class AuditRepository(Protocol):
    """Stores the append-only audit trail: denials, views of full records, exports."""

    def add(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry; return it with version 1."""
        ...

    def between(
        self,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        principal_id: str | None = None,
        subject: str | None = None,
        kind: AuditKind | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[AuditEntry]:
        """Return the entries in ``[since, until)`` by ``at`` then id, optionally filtered."""
        ...


class RequestRepository(Protocol):
    """Stores remembered requests: idempotency keys and first results (gridgov.idempotency)."""

    def get(self, key: str) -> RememberedRequest:
        """Return the request remembered under ``key``, or raise NotFoundError."""
        ...

    def add(self, request: RememberedRequest) -> RememberedRequest:
        """Remember a request; return it with version 1 (ConflictError if the key is stored)."""
        ...

    def update(self, request: RememberedRequest) -> RememberedRequest:
        """Replace a stored request (e.g. kept longer) if its version is current; return it."""
        ...

    def remove(self, request: RememberedRequest) -> None:
        """Forget a stored request if its version is current."""
        ...

    def forget_expired(self, now: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Forget up to ``limit`` requests whose ``expires <= now``; return how many."""
        ...

    def list(
        self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[RememberedRequest]:
        """Return the remembered requests by key (the data subject's erasure reads them all)."""
        ...


class OutboxRepository(Protocol):
    """Stores the outbox: the domain events of committed changes, until published and pruned.

    Events are written by :func:`gridgov.outbox.record_events` in the unit of work of their
    change, and read and marked by a relay (:mod:`gridgov.outbox.relay`).
    """

    def get(self, event_id: str) -> StoredEvent:
        """Return the event with ``event_id`` or raise NotFoundError."""
        ...

    def add(self, event: StoredEvent) -> StoredEvent:
        """Store a new event; return it with version 1 (ConflictError if its number is taken)."""
        ...

    def add_many(
        self,
        events: Iterable[StoredEvent],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new events; return how many (ConflictError if a record's number is taken)."""
        ...

    def last_events(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredEvent]:
        """Return the last event stored (the highest number) per ``(aggregate, aggregate_id)``.

        Records without events are left out.
        """
        ...

    def pending(self, *, limit: int = DEFAULT_PAGE_SIZE) -> tuple[StoredEvent, ...]:
        """Return up to ``limit`` unpublished events: by ``recorded``, then record, then number."""
        ...

    def for_aggregate(self, aggregate: str, aggregate_id: str) -> tuple[StoredEvent, ...]:
        """Return the stored events of one record, by sequence number."""
        ...

    def mark_published(
        self, events: Iterable[StoredEvent], at: pendulum.DateTime
    ) -> tuple[StoredEvent, ...]:
        """Mark events as read published at ``at`` if their versions are current; return them."""
        ...

    def prune(self, published_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Delete up to ``limit`` events published before the instant; return how many.

        Each record's last event stays, whenever it was published: the next event of the record
        is numbered after it.
        """
        ...


class NotificationRepository(Protocol):
    """Stores notifications (:mod:`gridgov.notify`): who is told of an event, and the proof.

    They are written by :func:`gridgov.outbox.record_events` beside their events, and read and
    updated by a notifier (:class:`gridgov.notify.notifier.Notifier`) and by receipts.
    """

    def get(self, notification_id: str) -> Notification:
        """Return the notification with ``notification_id`` or raise NotFoundError."""
        ...

    def add(self, notification: Notification) -> Notification:
        """Store a new notification; return it with version 1 (ConflictError if stored)."""
        ...

    def add_many(
        self,
        notifications: Iterable[Notification],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new notifications; return how many (ConflictError if one is stored)."""
        ...

    def update(self, notification: Notification) -> Notification:
        """Replace a stored notification if its version is current; return it."""
        ...

    def due(
        self, at_or_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE
    ) -> tuple[Notification, ...]:
        """Return up to ``limit`` notifications whose ``next_at`` is at or before the instant.

        By ``next_at``, then id; finished ones (``next_at`` is ``None``) are never due.
        """
        ...

    def claim_due(
        self, at_or_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE
    ) -> tuple[Notification, ...]:
        """Return due notifications as ``due`` does, held until this unit of work ends.

        Those another live unit holds are skipped (``FOR UPDATE SKIP LOCKED``), so that several
        notifiers claim disjoint rounds.
        """
        ...

    def about(self, subject_id: str) -> tuple[Notification, ...]:
        """Return the notifications about one resident (or record), by ``created`` then id."""
        ...


class LockRepository(Protocol):
    """Named locks that serialise the units of work enforcing one rule across records.

    A rule spanning records (the places of an occurrence, one resident's overlapping bookings)
    holds its lock before it reads what it counts. The lock is a written row, held until the
    unit of work ends: a second unit holding the same name waits for the first (SQL stores) or
    fails its commit with a ConflictError (optimistic stores), so it never counts a stale state.
    A written row also serialises a multi-master cluster, which certifies only rows written.
    """

    def hold(self, name: str) -> None:
        """Hold the lock ``name`` until this unit of work commits or rolls back."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the repositories: commit it, or everything is rolled back."""

    @property
    def cells(self) -> CellRepository:
        """Return the cell repository of this unit of work."""
        ...

    @property
    def workers(self) -> WorkerRepository:
        """Return the worker repository of this unit of work."""
        ...

    @property
    def households(self) -> HouseholdRepository:
        """Return the household repository of this unit of work."""
        ...

    @property
    def contacts(self) -> ContactRepository:
        """Return the contact ledger of this unit of work."""
        ...

    @property
    def care_tasks(self) -> CareTaskRepository:
        """Return the care task repository of this unit of work."""
        ...

    @property
    def cases(self) -> CaseRepository:
        """Return the case repository of this unit of work."""
        ...

    @property
    def settings(self) -> SettingsRepository:
        """Return the settings of this unit of work."""
        ...

    @property
    def components(self) -> ComponentRepository:
        """Return the component register of this unit of work."""
        ...

    @property
    def venues(self) -> VenueRepository:
        """Return the venue repository of this unit of work."""
        ...

    @property
    def series(self) -> SeriesRepository:
        """Return the activity series repository of this unit of work."""
        ...

    @property
    def registrations(self) -> RegistrationRepository:
        """Return the registration repository of this unit of work."""
        ...

    @property
    def shifts(self) -> ShiftRepository:
        """Return the volunteer shift repository of this unit of work."""
        ...

    @property
    def signups(self) -> SignUpRepository:
        """Return the volunteer sign-up repository of this unit of work."""
        ...

    @property
    def audit(self) -> AuditRepository:
        """Return the audit trail of this unit of work."""
        ...

    @property
    def requests(self) -> RequestRepository:
        """Return the remembered requests (idempotency keys) of this unit of work."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """Return the outbox (domain events to publish) of this unit of work."""
        ...

    @property
    def notifications(self) -> NotificationRepository:
        """Return the notifications (who is told of events) of this unit of work."""
        ...

    @property
    def locks(self) -> LockRepository:
        """Return the named locks of this unit of work."""
        ...

    def __enter__(self) -> Self:
        """Begin the transaction."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None:
        """Make the changes durable, or raise ConflictError and keep none of them."""
        ...

    def rollback(self) -> None:
        """Discard the changes made since the last commit."""
        ...


class Store(Protocol):
    """An open storage backend: call it to get a new unit of work."""

    @property
    def scheme(self) -> CodeScheme:
        """Return the code scheme the store checks cell codes against."""
        ...

    def __call__(self) -> UnitOfWork:
        """Return a new unit of work, to be used in a ``with`` block."""
        ...

    def close(self) -> None:
        """Release the backend's resources."""
        ...
