"""The scoped repository of each kind: where its records lie, and its queries in the domain's words.

``get``, ``add``, ``add_many``, ``update`` and ``remove`` are the generic ones of
:mod:`._records`; each query here is one call of a shared helper: a subtree narrowed to the
scope, a resident's history, a venue's programme, or the whole store filtered.
"""

from __future__ import annotations

import pendulum

from gridgov.access import AuditEntry, AuditKind, Permission
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.model import Case
from gridgov.cases.settings import CaseSettings
from gridgov.grid import GridCell, GridTree, Worker
from gridgov.households import Household, Tag
from gridgov.ports import (
    DEFAULT_PAGE_SIZE,
    CareTaskRepository,
    CaseRepository,
    CellRepository,
    ContactRepository,
    HouseholdRepository,
    Page,
    RegistrationRepository,
    ResidentEntry,
    SeriesRepository,
    ShiftRepository,
    SignUpRepository,
    VenueRepository,
    WorkerRepository,
)
from gridgov.records import kinds as k
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.services.scoped._guard import READ, WRITE, Guard
from gridgov.services.scoped._pages import instant, paged
from gridgov.services.scoped._records import (
    Placement,
    Reach,
    ScopedAddsMany,
    ScopedRecords,
    ScopedRemovable,
    ScopedRepository,
    registrant,
    stored,
)

__all__ = [
    "ScopedAudit",
    "ScopedCareTasks",
    "ScopedCaseSettings",
    "ScopedCases",
    "ScopedCells",
    "ScopedContacts",
    "ScopedHouseholds",
    "ScopedRegistrations",
    "ScopedSeries",
    "ScopedShifts",
    "ScopedSignUps",
    "ScopedVenues",
    "ScopedWorkers",
]

_PAGE = DEFAULT_PAGE_SIZE


def _resident_order(e: ResidentEntry) -> tuple[str, str, str]:
    return (e.cell_code, e.household_id, e.resident.id)


def _age_order(e: ResidentEntry) -> tuple[str, str]:
    birth = e.resident.birth_date
    return ("" if birth is None else birth.isoformat(), e.resident.id)


def _reported(c: Case) -> tuple[str, str]:
    return (instant(c.reported_at), c.id)


class ScopedCells(ScopedRemovable[GridCell, CellRepository]):
    """Cells: the scope and the hierarchy above it are readable; the scope is writable."""

    place = Placement(k.CELLS, "cells", "cell", Reach.NEAR)

    def get(self, key: str) -> GridCell:
        """Return the cell, if it is covered or lies above the scope (checked before reading)."""
        self._g.see(self._subject(key), key)
        return self._inner.get(key)

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the children of a readable cell that are covered or lie above the scope."""
        self._g.see(self._subject(code), code)
        return tuple(c for c in self._inner.children(code) if self._g.principal.overlaps(c.code))

    def subtree(self, code: str, *, limit: int = _PAGE, after: str | None = None) -> Page[GridCell]:
        """Return the covered cells of the subtree, by code."""
        run = self._inner.subtree
        return self._subtree(
            "subtree",
            code,
            lambda c, a, n: run(c, limit=n, after=a),
            limit=limit,
            after=after,
            key=lambda c: (c.code,),
        )

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
    )

    def list(self, *, limit: int = _PAGE, after: str | None = None) -> Page[Worker]:
        """Return the readable workers, by id."""
        run = self._inner.list
        return self._whole("list", lambda a, n: run(limit=n, after=a), limit=limit, after=after)

    def assigned_to(self, cell_code: str, *, on: pendulum.Date) -> tuple[Worker, ...]:
        """Return the workers of a cell that is covered or lies above the scope."""
        self._g.see("query:workers.assigned_to", cell_code)
        return tuple(filter(self._visible, self._inner.assigned_to(cell_code, on=on)))


class ScopedHouseholds(
    ScopedRemovable[Household, HouseholdRepository], ScopedAddsMany[Household, HouseholdRepository]
):
    """Households: read and written in scope; queries narrowed to the scope."""

    place = Placement(k.HOUSEHOLDS, "households", "household")

    def household_of(self, resident_id: str) -> Household:
        """Return the household of a resident, if it is in scope."""
        subject = f"resident:{resident_id}"
        self._g.permit(READ, subject)
        household = self._inner.household_of(resident_id)
        self._g.cover(READ, subject, household.cell_code)
        return household

    def in_subtree(
        self, cell_code: str, *, limit: int = _PAGE, after: str | None = None
    ) -> Page[Household]:
        """Return the households of the subtree in scope, by cell code then id."""
        run = self._inner.in_subtree
        return self._subtree(
            "in_subtree",
            cell_code,
            lambda c, a, n: run(c, limit=n, after=a),
            limit=limit,
            after=after,
            key=lambda h: (h.cell_code, h.id),
        )

    def with_tag(
        self, tag: Tag, *, within: str | None = None, limit: int = _PAGE, after: str | None = None
    ) -> Page[ResidentEntry]:
        """Return the residents in scope carrying ``tag``, by cell, household and id."""
        run = self._inner.with_tag
        return self._subtree(
            "with_tag",
            within,
            lambda c, a, n: run(tag, within=c, limit=n, after=a),
            limit=limit,
            after=after,
            key=_resident_order,
        )

    def aged(
        self,
        *,
        on: pendulum.Date,
        min_age: int | None = None,
        max_age: int | None = None,
        within: str | None = None,
        limit: int = _PAGE,
        after: str | None = None,
    ) -> Page[ResidentEntry]:
        """Return the residents in scope within the age bounds, oldest first."""
        run = self._inner.aged
        return self._subtree(
            "aged",
            within,
            lambda c, a, n: run(
                on=on, min_age=min_age, max_age=max_age, within=c, limit=n, after=a
            ),
            limit=limit,
            after=after,
            key=_age_order,
        )


class ScopedContacts(ScopedRecords[ContactAttempt, ContactRepository]):
    """The contact ledger: read and written in scope (the store checks the resident's household)."""

    place = Placement(k.CONTACTS, "contacts", "contact")

    def for_resident(
        self,
        resident_id: str,
        *,
        since: pendulum.DateTime | None = None,
        limit: int = _PAGE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return the contacts of a resident whose household is in scope, newest first."""
        run = self._inner.for_resident
        return self._of_resident(
            resident_id, lambda: run(resident_id, since=since, limit=limit, after=after), Page(())
        )

    def in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = _PAGE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return the contacts of the subtree in scope, by time."""
        run = self._inner.in_subtree
        return self._subtree(
            "in_subtree",
            cell_code,
            lambda c, a, n: run(c, since=since, until=until, limit=n, after=a),
            limit=limit,
            after=after,
            key=lambda c: (instant(c.at), c.id),
        )


class ScopedCareTasks(
    ScopedRepository[CareTask, CareTaskRepository], ScopedAddsMany[CareTask, CareTaskRepository]
):
    """Care tasks: read and written in scope."""

    place = Placement(k.CARE_TASKS, "care_tasks", "care_task")

    def open_for_resident(self, resident_id: str) -> tuple[CareTask, ...]:
        """Return the open tasks of a resident whose household is in scope."""
        run = self._inner.open_for_resident
        return self._of_resident(resident_id, lambda: run(resident_id), ())

    def open_in_subtree(
        self,
        cell_code: str,
        *,
        starting_before: pendulum.DateTime,
        limit: int = _PAGE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return the open tasks of the subtree in scope, by due instant then id."""
        run = self._inner.open_in_subtree
        return self._subtree(
            "open_in_subtree",
            cell_code,
            lambda c, a, n: run(c, starting_before=starting_before, limit=n, after=a),
            limit=limit,
            after=after,
            key=lambda t: (instant(t.due), t.id),
        )


class ScopedCases(ScopedRepository[Case, CaseRepository], ScopedAddsMany[Case, CaseRepository]):
    """Cases: in scope by their location or by the unit that owns them."""

    place = Placement(k.CASES, "cases", "case", Reach.ANY)

    def by_external_id(self, external_id: str) -> Case | None:
        """Return the case with that external id, if any; deny one out of scope."""
        self._g.permit(READ, "query:cases.by_external_id")
        case = self._inner.by_external_id(external_id)
        if case is not None:
            self._check(READ, case)
        return case

    def due(
        self, *, at_or_before: pendulum.DateTime, limit: int = _PAGE, after: str | None = None
    ) -> Page[Case]:
        """Return the due cases in scope, by next check then id.

        The port's ``due`` takes no subtree, so the due queue is read whole and filtered here;
        the escalation engine sweeps every due case as SYSTEM on an unscoped store.
        """
        run = self._inner.due
        return self._whole(
            "due",
            lambda a, n: run(at_or_before=at_or_before, limit=n, after=a),
            limit=limit,
            after=after,
        )

    def open_in_subtree(
        self, cell_code: str, *, limit: int = _PAGE, after: str | None = None
    ) -> Page[Case]:
        """Return the open cases located in the subtree in scope, by reported_at, id."""
        run = self._inner.open_in_subtree
        return self._subtree(
            "open_in_subtree",
            cell_code,
            lambda c, a, n: run(c, limit=n, after=a),
            limit=limit,
            after=after,
            key=_reported,
        )

    def reported_in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = _PAGE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return the cases of the subtree in scope reported in ``[since, until)``."""
        run = self._inner.reported_in_subtree
        return self._subtree(
            "reported_in_subtree",
            cell_code,
            lambda c, a, n: run(c, since=since, until=until, limit=n, after=a),
            limit=limit,
            after=after,
            key=_reported,
        )


class ScopedVenues(ScopedRepository[Venue, VenueRepository]):
    """Venues: readable in scope and above it (they serve every cell below), written in scope."""

    place = Placement(k.VENUES, "venues", "venue", Reach.NEAR)

    def in_subtree(
        self, cell_code: str, *, limit: int = _PAGE, after: str | None = None
    ) -> Page[Venue]:
        """Return the venues of the subtree in scope, by id."""
        run = self._inner.in_subtree
        return self._subtree(
            "in_subtree",
            cell_code,
            lambda c, a, n: run(c, limit=n, after=a),
            limit=limit,
            after=after,
            key=lambda v: (v.id,),
        )


class ScopedSeries(
    ScopedRepository[ActivitySeries, SeriesRepository],
    ScopedAddsMany[ActivitySeries, SeriesRepository],
):
    """Activity series: in the cell of their venue."""

    place = Placement(k.SERIES, "series", "series", Reach.NEAR, direct=False)

    def in_venue(
        self,
        venue_id: str,
        *,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        limit: int = _PAGE,
        after: str | None = None,
    ) -> Page[ActivitySeries]:
        """Return the series of a venue in scope or above it."""
        self._at_venue(f"venue:{venue_id}", venue_id)
        return self._inner.in_venue(venue_id, start=start, end=end, limit=limit, after=after)


class ScopedRegistrations(ScopedRepository[Registration, RegistrationRepository]):
    """Registrations: in their cell; one is written only if the registrant's household agrees."""

    place = Placement(k.REGISTRATIONS, "registrations", "registration", also=registrant)

    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]:
        """Return the registrations of an occurrence at a readable venue, of households in scope.

        A grid worker sees the registrations of their own residents, not of every participant.
        """
        subject = f"occurrence:{occurrence_id}"
        self._g.permit(READ, subject)
        series_id = occurrence_id.partition("@")[0]
        series = stored(self._g.inner.series.get, series_id) if series_id else None
        if series is not None:
            self._at_venue(subject, series.venue_id)
        return self._in_scope(self._inner.for_occurrence(occurrence_id))

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Registration, ...]:
        """Return the registrations of a resident whose household is in scope."""
        run = self._inner.for_resident
        return self._of_resident(resident_id, lambda: run(resident_id, start=start, end=end), ())


class ScopedShifts(ScopedRepository[Shift, ShiftRepository]):
    """Volunteer shifts: in the cell of their venue."""

    place = Placement(k.SHIFTS, "shifts", "shift", Reach.NEAR, direct=False)

    def in_venue(
        self, venue_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Shift, ...]:
        """Return the shifts of a venue in scope or above it."""
        self._at_venue(f"venue:{venue_id}", venue_id)
        return self._inner.in_venue(venue_id, start=start, end=end)


class ScopedSignUps(ScopedRepository[SignUp, SignUpRepository]):
    """Sign-ups: in the cell of the volunteer's household."""

    place = Placement(
        k.SIGNUPS, "signups", "signup", direct=False, nowhere="no household holds the volunteer"
    )

    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]:
        """Return the sign-ups of a shift at a readable venue, of volunteers in scope."""
        subject = f"shift:{shift_id}"
        self._g.permit(READ, subject)
        self._at_venue(subject, self._g.inner.shifts.get(shift_id).venue_id)
        return self._in_scope(self._inner.for_shift(shift_id))

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[SignUp, ...]:
        """Return the sign-ups of a volunteer whose household is in scope."""
        run = self._inner.for_resident
        return self._of_resident(resident_id, lambda: run(resident_id, start=start, end=end), ())


class ScopedCaseSettings:
    """Case settings: read with READ; changed only by a principal covering every cell."""

    def __init__(self, guard: Guard) -> None:
        self._g = guard

    def get(self) -> CaseSettings:
        """Return the stored settings."""
        self._g.somewhere(READ, "case_settings")
        return self._g.inner.case_settings.get()

    def save(self, settings: CaseSettings) -> CaseSettings:
        """Store the settings: they rule every cell, so the scope must cover every cell."""
        self._g.permit(WRITE, "case_settings")
        if not self._g.everywhere:
            self._g.deny(WRITE, "case_settings", None, "the settings rule every cell")
        self._g.write()
        return self._g.inner.case_settings.save(settings)


class ScopedAudit:
    """The audit trail: anyone appends; reading needs READ_AUDIT and is narrowed to the scope."""

    def __init__(self, guard: Guard) -> None:
        self._g = guard

    def add(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry (services record what principals do)."""
        self._g.write()
        return self._g.inner.audit.add(entry)

    def _visible(self, entry: AuditEntry) -> bool:
        return entry.cell_code is None or self._g.principal.covers(entry.cell_code)

    def between(
        self,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        principal_id: str | None = None,
        subject: str | None = None,
        kind: AuditKind | None = None,
        limit: int = _PAGE,
        after: str | None = None,
    ) -> Page[AuditEntry]:
        """Return the entries without a cell or with a cell in scope, by ``at`` then id."""
        self._g.somewhere(Permission.READ_AUDIT, "query:audit.between")
        run = self._g.inner.audit.between

        def fetch(a: str | None, n: int) -> Page[AuditEntry]:
            return run(
                since=since,
                until=until,
                principal_id=principal_id,
                subject=subject,
                kind=kind,
                limit=n,
                after=a,
            )

        keep = None if self._g.everywhere else self._visible
        return paged("audit.between", [("", fetch)], limit=limit, after=after, keep=keep)
