"""The port queries of each kind, in the domain's words, written once for every engine.

Each query checks its arguments and reads one declared index with a :class:`~._scan.Scan`; the
memory and SQL repositories take these classes as bases and answer the scans their own way. A
query a scan cannot say (a household's residents by tag or age, which join a child table; a
case's external id) stays with its engine.
"""

from __future__ import annotations

import pendulum

from gridgov.access import AuditEntry, AuditKind
from gridgov.adapters._scan import Filter, Scans
from gridgov.adapters.support import (
    check_audit_filters,
    check_instant,
    check_sighting_filter,
    check_text_key,
    check_time_range,
    check_window,
    instant_key,
)
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.components import Component
from gridgov.cases.duplicates import Sighting, sighting
from gridgov.cases.model import Case
from gridgov.households import Household
from gridgov.notify import Notification
from gridgov.ports import DEFAULT_PAGE_SIZE, Page
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp

__all__ = [
    "AuditQueries",
    "CareTaskQueries",
    "CaseQueries",
    "ComponentQueries",
    "ContactQueries",
    "HouseholdQueries",
    "NotificationQueries",
    "RegistrationQueries",
    "ShiftQueries",
    "SignUpQueries",
    "VenueQueries",
]

# Above every character of an id: ``(instant, TOP)`` ends the entries at that instant.
TOP = "\U0010ffff"


def _horizon(name: str, instant: pendulum.DateTime) -> str:
    return instant_key(check_instant(name, instant), name)


def _ends_after(low: str) -> tuple[Filter, ...]:
    """Keep what ends after ``low``: with the starts bounded by a window's end, its overlaps."""
    return (("end_utc", ">", low),)


class HouseholdQueries(Scans[Household]):
    """The household queries a scan says."""

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Household]:
        """Return households in the cell ``cell_code`` or below it, by cell code then id."""
        return self._scan(
            "gg_households_cell", within=cell_code, by_cell=True, after=after, limit=limit
        )


class ContactQueries(Scans[ContactAttempt]):
    """The contact ledger's queries."""

    def for_resident(
        self,
        resident_id: str,
        *,
        since: pendulum.DateTime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return a resident's contacts at or after ``since``, newest first."""
        check_text_key("resident_id", resident_id)
        low = "" if since is None else _horizon("since", since)
        return self._scan(
            "gg_contacts_resident",
            resident_id,
            low=(low,),
            after=after,
            limit=limit,
            descending=True,
        )

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
        low, high = check_time_range(since, until)
        return self._scan(
            "gg_contacts_cell", within=cell_code, low=(low,), high=(high,), after=after, limit=limit
        )


class CareTaskQueries(Scans[CareTask]):
    """The care-task queries a scan says."""

    def open_in_subtree(
        self,
        cell_code: str,
        *,
        starting_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return open tasks of the subtree whose window starts before the instant, by due, id."""
        horizon = _horizon("starting_before", starting_before)
        return self._scan(
            "gg_care_tasks_open",
            within=cell_code,
            filters=(("start_utc", "<", horizon),),
            after=after,
            limit=limit,
        )

    def overdue(
        self,
        *,
        due_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return open tasks not marked overdue due before the instant, by due, id."""
        horizon = _horizon("due_before", due_before)
        return self._scan("gg_care_tasks_overdue", high=(horizon,), after=after, limit=limit)

    def claim_overdue(
        self,
        *,
        due_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return open unmarked tasks due before the instant, claimed; others' skipped."""
        horizon = _horizon("due_before", due_before)
        return self._scan(
            "gg_care_tasks_overdue", high=(horizon,), after=after, limit=limit, claim=True
        )


class CaseQueries(Scans[Case]):
    """The case queries a scan says."""

    def due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return cases whose ``next_check`` is at or before the instant, by next_check, id."""
        horizon = _horizon("at_or_before", at_or_before)
        return self._scan("gg_cases_due", high=(horizon, TOP), after=after, limit=limit)

    def claim_due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return due cases as ``due`` does, held until this unit ends; others' held skipped."""
        horizon = _horizon("at_or_before", at_or_before)
        return self._scan("gg_cases_due", high=(horizon, TOP), after=after, limit=limit, claim=True)

    def open_in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Case]:
        """Return the open cases located in the subtree, by reported_at, id."""
        return self._scan("gg_cases_open", within=cell_code, after=after, limit=limit)

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
        low, high = check_time_range(since, until)
        return self._scan(
            "gg_cases_cell", within=cell_code, low=(low,), high=(high,), after=after, limit=limit
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
        """Return a category's or a component's cases reported in the range, latest first."""
        low, high = check_time_range(since, until)
        index, group = check_sighting_filter(category, component_id)
        found = self._scan(index, group, low=(low,), high=(high,), limit=limit, descending=True)
        return tuple(sighting(case) for case in found.items)


class VenueQueries(Scans[Venue]):
    """The venue queries."""

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Venue]:
        """Return the venues of the subtree, by id."""
        return self._scan("gg_venues_cell", within=cell_code, after=after, limit=limit)


class ComponentQueries(Scans[Component]):
    """The component register's queries."""

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Component]:
        """Return the components of the subtree, by id."""
        return self._scan("gg_components_cell", within=cell_code, after=after, limit=limit)


class RegistrationQueries(Scans[Registration]):
    """The registration queries a scan says."""

    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]:
        """Return every registration of an occurrence, by registered_at then id."""
        check_text_key("occurrence_id", occurrence_id)
        return self._scan("gg_registrations_occurrence", occurrence_id).items

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Registration, ...]:
        """Return the resident's registrations whose occurrence overlaps ``[start, end)``."""
        check_text_key("resident_id", resident_id)
        low, high = check_window(start, end)
        return self._scan(
            "gg_registrations_resident",
            resident_id,
            high=(high,),
            filters=_ends_after(low),
        ).items


class ShiftQueries(Scans[Shift]):
    """The volunteer shift queries."""

    def in_venue(
        self, venue_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Shift, ...]:
        """Return the venue's shifts overlapping ``[start, end)``, by start then id."""
        low, high = check_window(start, end)
        self._require_stored("venue", "venue_id", venue_id)
        return self._scan("gg_shifts_venue", venue_id, high=(high,), filters=_ends_after(low)).items


class SignUpQueries(Scans[SignUp]):
    """The sign-up queries a scan says."""

    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]:
        """Return every sign-up of a shift, by ``at`` then id."""
        self._require_stored("shift", "shift_id", shift_id)
        return self._scan("gg_signups_shift", shift_id).items

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[SignUp, ...]:
        """Return the resident's sign-ups whose shift overlaps ``[start, end)``, by start."""
        check_text_key("resident_id", resident_id)
        low, high = check_window(start, end)
        return self._scan(
            "gg_signups_resident", resident_id, high=(high,), filters=_ends_after(low)
        ).items


class NotificationQueries(Scans[Notification]):
    """The notifier's queries."""

    def due(
        self, at_or_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE
    ) -> tuple[Notification, ...]:
        """Return up to ``limit`` notifications due at the instant, by ``next_at`` then id."""
        horizon = _horizon("at_or_before", at_or_before)
        return self._scan("gg_notifications_due", high=(horizon, TOP), limit=limit).items

    def claim_due(
        self, at_or_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE
    ) -> tuple[Notification, ...]:
        """Return due notifications as ``due`` does, held until this unit ends; others' skipped."""
        horizon = _horizon("at_or_before", at_or_before)
        due = self._scan("gg_notifications_due", high=(horizon, TOP), limit=limit, claim=True)
        return due.items

    def about(self, subject_id: str) -> tuple[Notification, ...]:
        """Return the notifications about one resident or record, by ``created`` then id."""
        key = check_text_key("subject_id", subject_id)
        return self._scan("gg_notifications_subject", key).items


class AuditQueries(Scans[AuditEntry]):
    """The audit trail's query."""

    def _group_size(self, index: str, group: str) -> int:
        """Return how many entries an index's group holds, where an engine knows it cheaply.

        A SQL engine leaves the choice to its planner: every filter is in the statement.
        """
        return 0

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
        """Return the entries in ``[since, until)`` by ``at`` then id, optionally filtered.

        The entries come from the index of the principal or the subject when one is asked for
        (the smaller one when both are), else from the index of every entry; the other filters
        are checked on each entry read.
        """
        low, high = check_time_range(since, until)
        check_audit_filters(principal_id, subject, kind)
        wanted = {
            "principal_id": principal_id,
            "subject": subject,
            "kind": None if kind is None else kind.value,
        }
        chosen = [
            (self._group_size(index, group), index, column, group)
            for index, column, group in (
                ("gg_audit_principal", "principal_id", principal_id),
                ("gg_audit_subject", "subject", subject),
            )
            if group is not None
        ]
        _, index, column, group = min(chosen, default=(0, "gg_audit_at", "", None))
        filters: tuple[Filter, ...] = tuple(
            (c, "=", v) for c, v in wanted.items() if v is not None and c != column
        )
        return self._scan(
            index, group, low=(low,), high=(high,), filters=filters, after=after, limit=limit
        )
