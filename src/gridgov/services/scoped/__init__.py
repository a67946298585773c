"""Scoped units of work: every repository call checked against a principal's roles and scope.

``scoped(uow, principal, audit=sink)`` wraps a unit of work so that the services, which take any
:class:`~gridgov.ports.UnitOfWork`, only ever see and change what the principal may::

    with scoped(store(), principal, audit=StoreAuditSink(store)) as mine:
        work = worklist(mine, principal.id, on=today, now=now)

The rules, applied by every repository of a :class:`ScopedUnitOfWork`:

- Deny by default. Every read needs :attr:`~gridgov.access.Permission.READ`, every ``add``,
  ``add_many``, ``update``, ``remove`` and ``save`` needs ``WRITE``, and the record's cell must be
  covered by the principal's scope. An update or removal is checked against the record given and
  the record stored: nobody moves a record out of someone else's cell, nor into their own.
- Masking on every read: a principal whose roles do not grant the full view
  (:attr:`~gridgov.access.Principal.redaction` ``MASKED``) reads every record of every ``get``,
  ``get_many``, query and page redacted by :func:`gridgov.redaction.redact` (names, ID and phone
  numbers, units, rooms, addresses, and the personal data in notes masked). Every write of such
  a principal (and every write of a record carrying masked numbers) passes the record through
  :func:`gridgov.redaction.restore` against the stored one: what was left as read keeps its
  stored value, what the principal changed is taken, and a masked number standing for no stored
  one is a :class:`~gridgov.errors.ValidationError` naming the field only. The full record is
  :func:`gridgov.services.access.view_resident`'s, an audited call. ``requests`` (remembered
  requests) are open to everyone, their results read redacted the same way.
- A record's cell: a household's, contact's, task's and registration's ``cell_code`` (a
  registration is written only if the registrant's household is in scope too); a case's location
  or its owning unit (either one grants access; the unit that owns a case acts on it); a venue's
  cell, which is also the cell of its series and shifts; a sign-up takes the cell of the
  volunteer's household. A worker is readable when one of their assigned cells is covered or
  lies above the scope, and written only when every assigned cell is covered; a worker without
  assignments belongs to whoever covers every cell.
- Looking up: cells, venues, components, series and shifts may also be read when they lie above
  the scope (people see the hierarchy above them; a community's venue serves every grid in it).
  ``cells.tree()`` holds the cells covered and those above the scope.
- Queries over a subtree (``in_subtree``, ``with_tag``, ``aged``, ``open_in_subtree``,
  ``reported_in_subtree``, ``cells.subtree``) are narrowed before they reach the store: a request
  over a cell the principal covers passes through; over a cell above the scope it runs over the
  parts of the scope inside it (``Principal.roots_within``), and the pages of several parts are
  merged in the query's order under a cursor of this module; over a cell outside the scope it is
  denied. Rows outside the scope are never loaded.
- Queries about one resident (``contacts.for_resident``, ``care_tasks.open_for_resident``,
  ``registrations.for_resident``, ``signups.for_resident``) check the resident's household first
  and then pass through: a resident's history follows them to the grid that serves them now. A
  resident no household holds has nothing to show (an empty result), except to a principal
  covering every cell.
- ``registrations.for_occurrence``, ``signups.for_shift``, ``series.in_venue`` and
  ``shifts.in_venue`` need the venue to be readable; registrations and sign-ups are then narrowed
  to the registrants whose household is in scope, so a grid worker sees their own residents.
  A scope narrows what a principal sees, never what a rule counts: ``registrations.occupancy``
  and ``signups.taken`` (counts, naming nobody) cover every registrant once the venue is
  readable, and ``registrations.promote_first_waiting`` (with ``WRITE``) confirms the first on
  the waitlist whoever's resident they are. ``locks`` pass through: they hold no data.
- ``cases.sightings`` (what the duplicate check reads: ids, codes, points and instants, naming
  nobody) covers the whole store for any principal with ``READ`` and a scope: a report is
  checked against every case, in scope or not.
- Queries over the whole store (``workers.list``, ``cases.due``, ``cells.tree``,
  ``settings.get``, ``audit.between``) need a scope of at least one cell, and return only
  what the scope may read.
- ``cases.due`` returns the due cases in scope only; the escalation engine runs as
  :data:`~gridgov.access.SYSTEM` on an unscoped store. ``cases.by_external_id`` denies a case
  out of scope. ``settings.get`` needs ``READ``; ``settings.save`` needs ``WRITE`` and a
  scope covering every cell.
- ``outbox.add_many`` and ``outbox.last_events`` are open to everyone (services record the
  events of the changes principals make; events name records by id only); the relay's reads
  and marks (``pending``, ``for_aggregate``, ``get``, ``mark_published``, ``prune``) need a
  scope covering every cell.
- ``audit.add`` is open to everyone (services record what principals do); ``audit.between``
  needs ``READ_AUDIT`` and returns the entries without a cell or with a cell in scope.
- Every denial becomes an :class:`~gridgov.access.AuditEntry` of kind ``DENIED`` handed to the
  audit sink (which must record it outside this unit of work: the unit may roll back), a warning
  on the ``gridgov.access`` logger, and an :class:`~gridgov.errors.AccessDeniedError`. Entries,
  log lines and messages name the principal, the permission, record ids and cell codes: never a
  name, phone, ID number or address.
- Once the scoped unit has written, the wrapped unit may hold a write lock no other unit can
  take (SQLite's). A sink writing through a unit of its own says so (``waits_for_writers``, as
  :class:`~gridgov.services.access.StoreAuditSink` does): the entries of later denials wait,
  and go to it when the scoped unit commits, rolls back or leaves its ``with`` block (failing
  that, when it is collected). End the transaction through the scoped unit:
  ``with scoped(store(), ...) as uow``.

Asking for a record that does not exist raises :class:`~gridgov.errors.NotFoundError` as the
store does; asking for one that exists out of scope is denied.
"""

from __future__ import annotations

import sys
import weakref
from types import TracebackType
from typing import Self

import pendulum

from gridgov.access import EVERYWHERE_ROLES, AuditSink, Principal, principal_for_worker
from gridgov.clock import Clock, SystemClock
from gridgov.errors import NotFoundError, ValidationError
from gridgov.ports import (
    AuditRepository,
    CareTaskRepository,
    CaseRepository,
    CellRepository,
    ComponentRepository,
    ContactRepository,
    HouseholdRepository,
    LockRepository,
    NotificationRepository,
    OutboxRepository,
    RegistrationRepository,
    RequestRepository,
    SeriesRepository,
    SettingsRepository,
    ShiftRepository,
    SignUpRepository,
    Store,
    UnitOfWork,
    VenueRepository,
    WorkerRepository,
)
from gridgov.services.access import StoreAuditSink
from gridgov.services.scoped._guard import Guard
from gridgov.services.scoped._kinds import (
    ScopedAudit,
    ScopedCareTasks,
    ScopedCases,
    ScopedCells,
    ScopedComponents,
    ScopedContacts,
    ScopedHouseholds,
    ScopedNotifications,
    ScopedOutbox,
    ScopedRegistrations,
    ScopedRequests,
    ScopedSeries,
    ScopedSettings,
    ScopedShifts,
    ScopedSignUps,
    ScopedVenues,
    ScopedWorkers,
)

__all__ = ["ScopedUnitOfWork", "as_worker", "scoped"]


class ScopedUnitOfWork:
    """A unit of work whose repositories check every call against a principal.

    See the module documentation for the rules. Build one with :func:`scoped`; it satisfies
    :class:`~gridgov.ports.UnitOfWork`, so every service accepts it. Committing, rolling back and
    the ``with`` block are the wrapped unit's.

    Args:
        uow: The wrapped unit of work.
        principal: Who acts.
        audit: Where denials go (outside ``uow``).
        clock: Tells the instant of each denial.
    """

    def __init__(
        self, uow: UnitOfWork, principal: Principal, audit: AuditSink, clock: Clock
    ) -> None:
        guard = Guard(uow, principal, audit, clock)
        self._guard = guard
        self.cells: CellRepository = ScopedCells(guard)
        self.workers: WorkerRepository = ScopedWorkers(guard)
        self.households: HouseholdRepository = ScopedHouseholds(guard)
        self.contacts: ContactRepository = ScopedContacts(guard)
        self.care_tasks: CareTaskRepository = ScopedCareTasks(guard)
        self.cases: CaseRepository = ScopedCases(guard)
        self.settings: SettingsRepository = ScopedSettings(guard)
        self.venues: VenueRepository = ScopedVenues(guard)
        self.components: ComponentRepository = ScopedComponents(guard)
        self.series: SeriesRepository = ScopedSeries(guard)
        self.registrations: RegistrationRepository = ScopedRegistrations(guard)
        self.shifts: ShiftRepository = ScopedShifts(guard)
        self.signups: SignUpRepository = ScopedSignUps(guard)
        self.audit: AuditRepository = ScopedAudit(guard)
        # Locks hold no data: holding one only makes other units wait, whoever asks.
        self.locks: LockRepository = uow.locks
        # A remembered request answers only the principal that made it (gridgov.idempotency
        # puts the principal in its digest), so the requests need no scope of their own; their
        # results are redacted as every read is.
        self.requests: RequestRepository = ScopedRequests(guard)
        self.outbox: OutboxRepository = ScopedOutbox(guard)
        self.notifications: NotificationRepository = ScopedNotifications(guard)
        # Denials kept while writing reach the sink even if the unit is never ended through us.
        weakref.finalize(self, guard.ended)

    @property
    def principal(self) -> Principal:
        """Return the principal every call is checked against."""
        return self._guard.principal

    def __enter__(self) -> Self:
        """Begin the wrapped unit's transaction."""
        self._guard.inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever the wrapped unit did not commit; record the denials kept."""
        try:
            self._guard.inner.__exit__(exc_type, exc, tb)
        finally:
            self._guard.ended()

    def commit(self) -> None:
        """Commit the wrapped unit; record the denials kept while it was writing."""
        try:
            self._guard.inner.commit()
        finally:
            self._guard.ended()

    def rollback(self) -> None:
        """Roll back the wrapped unit; record the denials kept while it was writing."""
        try:
            self._guard.inner.rollback()
        finally:
            self._guard.ended()

    def __repr__(self) -> str:
        return f"ScopedUnitOfWork(principal={self._guard.principal.id!r})"


def scoped(
    uow: UnitOfWork,
    principal: Principal,
    *,
    audit: AuditSink,
    clock: Clock | None = None,
) -> ScopedUnitOfWork:
    """Return ``uow`` seen and changed through ``principal``'s roles and scope.

    Args:
        uow: The unit of work to wrap (open it with ``with`` as usual; the scoped unit delegates
            commit and rollback to it).
        principal: Who acts.
        audit: Where denials go; it must record them outside ``uow``, which may roll back (e.g.
            :class:`gridgov.services.access.StoreAuditSink`).
        clock: Tells the instant of each denial (default: the system clock, Asia/Shanghai).

    Returns:
        A :class:`ScopedUnitOfWork`.

    Raises:
        ValidationError: If ``principal`` is not a Principal, or its scope is not real: a root
            that is no stored cell (a code one digit short reads no neighbour's data), or every
            cell (the empty code) for roles not meant for it (``EVERYWHERE_ROLES``).
    """
    if not isinstance(principal, Principal):
        raise ValidationError("principal", "expected a Principal")
    _check_scope(uow, principal)
    return ScopedUnitOfWork(uow, principal, audit, clock or SystemClock())


def _check_scope(uow: UnitOfWork, principal: Principal) -> None:
    for root in sorted(principal.cells):
        if root == "":
            if not principal.roles & EVERYWHERE_ROLES:
                raise ValidationError(
                    "principal.cells",
                    "every cell (the empty code) is the scope of "
                    + " or ".join(sorted(r.value for r in EVERYWHERE_ROLES))
                    + " only",
                )
            continue
        try:
            uow.cells.get(root)
        except NotFoundError:
            raise ValidationError("principal.cells", f"no stored cell {root!r}") from None


def as_worker(
    store: Store,
    worker_id: str,
    *,
    on: pendulum.Date,
    audit: AuditSink | None = None,
    clock: Clock | None = None,
) -> ScopedUnitOfWork:
    """Return a new unit of work of ``store``, scoped to what a stored worker may do on a day.

    The principal is :func:`gridgov.access.principal_for_worker`'s (the worker's roles over the
    cells assigned to them on ``on``), read through the new unit itself: a request acting as a
    worker costs one unit of work. Use it in a ``with`` block, as :func:`scoped`'s unit, or
    hand ``functools.partial(as_worker, store, worker_id, on=day)`` to
    :func:`gridgov.services.units.run_unit`.

    Args:
        store: The store.
        worker_id: The worker, as the platform authenticated them.
        on: The day whose assignments make the scope.
        audit: Where denials go; default :class:`~gridgov.services.access.StoreAuditSink` on
            ``store``.
        clock: Tells the instant of each denial (default: the system clock, Asia/Shanghai).

    Returns:
        A :class:`ScopedUnitOfWork` whose ``principal`` is the worker's.

    Raises:
        NotFoundError: If there is no such worker.
        ValidationError: On ``worker_id`` or ``on``, or if the worker has no cell that day.
        AccessDeniedError: If the worker holds no role that acts on the platform.
    """
    uow = store()
    try:
        principal = principal_for_worker(uow, worker_id, on=on)
        return scoped(uow, principal, audit=audit or StoreAuditSink(store), clock=clock)
    except BaseException:
        uow.__exit__(*sys.exc_info())  # give its connection back at once
        raise
