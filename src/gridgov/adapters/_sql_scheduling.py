"""The SQL repositories of scheduling and of the audit trail; see :mod:`._sql_kinds`."""

from __future__ import annotations

from typing import ClassVar, cast

import attrs
import pendulum

from gridgov.access import AuditEntry, AuditKind
from gridgov.adapters._sql_engine import SqlRecords, SqlRepository, require
from gridgov.adapters.support import (
    check_audit_filters,
    check_limit,
    check_text_key,
    check_time_range,
    check_window,
    decode_cursor,
)
from gridgov.errors import NotFoundError, ValidationError
from gridgov.ports import DEFAULT_PAGE_SIZE, Page
from gridgov.records import kinds
from gridgov.scheduling.registrations import (
    TAKES_PLACE,
    Occupancy,
    Registration,
    RegistrationState,
)
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState

__all__ = [
    "SqlAuditRepository",
    "SqlRegistrationRepository",
    "SqlSeriesRepository",
    "SqlShiftRepository",
    "SqlSignUpRepository",
    "SqlVenueRepository",
]


# -- scheduling ----------------------------------------------------------------------------


class SqlVenueRepository(SqlRepository[Venue]):
    """Venues in a SQL store; see :class:`gridgov.ports.VenueRepository`."""

    declared = kinds.VENUES

    SUBTREE_SQL = (
        "SELECT id, version, doc FROM gg_venues"
        " WHERE cell_code >= ? AND cell_code < ? AND id > ?"
        " ORDER BY id LIMIT ?"
    )

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Venue]:
        """Return the venues of the subtree, by id."""
        return self._subtree_page(self.SUBTREE_SQL, cell_code, limit=limit, after=after, arity=1)


class SqlSeriesRepository(SqlRepository[ActivitySeries]):
    """Activity series in a SQL store; see :class:`gridgov.ports.SeriesRepository`."""

    declared = kinds.SERIES

    # A series qualifies when it starts before the window's end and has not ended by its start;
    # the index on (venue_id, first_start_utc, last_end_utc) answers both without the rows.
    IN_VENUE_SQL = (
        "SELECT id, version, doc FROM gg_series"
        " WHERE venue_id = ? AND first_start_utc < ?"
        " AND (last_end_utc IS NULL OR last_end_utc > ?) AND id > ?"
        " ORDER BY id LIMIT ?"
    )

    def _check(self, record: ActivitySeries, known: dict[tuple[str, str], object]) -> None:
        spaces = cast("frozenset[str] | None", known.get(("spaces", record.venue_id)))
        if spaces is None:
            row = self._uow.query_one(
                "SELECT version, doc FROM gg_venues WHERE id = ?", (record.venue_id,)
            )
            if row is None:
                raise NotFoundError("venue", record.venue_id)
            venue = self._uow.decode(Venue, row[1], row[0])
            spaces = known["spaces", record.venue_id] = frozenset(s.id for s in venue.spaces)
        if record.space_id not in spaces:
            raise ValidationError("space_id", "no such space in the venue")

    def in_venue(
        self,
        venue_id: str,
        *,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ActivitySeries]:
        """Return the venue's series that may have occurrences in ``[start, end)``, by id."""
        low, high = check_window(start, end)
        check_limit(limit)
        cursor = decode_cursor(after, 1) or ("",)
        require(self._uow, "venue", "venue_id", venue_id)
        return self._paged(self.IN_VENUE_SQL, (venue_id, high, low, *cursor), limit, 1)


class SqlRegistrationRepository(SqlRepository[Registration]):
    """Registrations in a SQL store; see :class:`gridgov.ports.RegistrationRepository`."""

    declared = kinds.REGISTRATIONS

    OCCURRENCE_SQL = (
        "SELECT version, doc FROM gg_registrations"
        " WHERE occurrence_id = ? ORDER BY registered_utc, id"
    )
    RESIDENT_SQL = (
        "SELECT version, doc FROM gg_registrations"
        " WHERE resident_id = ? AND start_utc < ? AND end_utc > ?"
        " ORDER BY start_utc, id"
    )

    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]:
        """Return every registration of an occurrence, by registered_at then id."""
        check_text_key("occurrence_id", occurrence_id)
        return self._decoded(self._uow.query(self.OCCURRENCE_SQL, (occurrence_id,)))

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Registration, ...]:
        """Return the resident's registrations whose occurrence overlaps ``[start, end)``."""
        check_text_key("resident_id", resident_id)
        low, high = check_window(start, end)
        return self._decoded(self._uow.query(self.RESIDENT_SQL, (resident_id, high, low)))

    # Counted in the database: an occurrence with a long waitlist is not decoded to be counted.
    OCCUPANCY_SQL = (
        "SELECT state, COUNT(*) FROM gg_registrations WHERE occurrence_id = ? GROUP BY state"
    )
    FIRST_WAITING_SQL = (
        "SELECT version, doc FROM gg_registrations WHERE occurrence_id = ? AND state = ?"
        " ORDER BY registered_utc, id LIMIT 1"
    )

    def occupancy(self, occurrence_id: str) -> Occupancy:
        """Return the places taken and the waitlist of an occurrence."""
        check_text_key("occurrence_id", occurrence_id)
        counts: dict[str, int] = {
            str(state): int(n) for state, n in self._uow.query(self.OCCUPANCY_SQL, (occurrence_id,))
        }
        taken = sum(counts.get(s.value, 0) for s in TAKES_PLACE)
        return Occupancy(taken, counts.get(RegistrationState.WAITLISTED.value, 0))

    def promote_first_waiting(self, occurrence_id: str) -> Registration | None:
        """Confirm the occurrence's first waitlisted registration (by registration time)."""
        check_text_key("occurrence_id", occurrence_id)
        rows = self._uow.query(
            self.FIRST_WAITING_SQL, (occurrence_id, RegistrationState.WAITLISTED.value)
        )
        if not rows:
            return None
        first = self._decoded(rows)[0]
        return self.update(attrs.evolve(first, state=RegistrationState.CONFIRMED))


class SqlShiftRepository(SqlRepository[Shift]):
    """Volunteer shifts in a SQL store; see :class:`gridgov.ports.ShiftRepository`."""

    declared = kinds.SHIFTS

    VENUE_SQL = (
        "SELECT version, doc FROM gg_shifts"
        " WHERE venue_id = ? AND start_utc < ? AND end_utc > ?"
        " ORDER BY start_utc, id"
    )

    def in_venue(
        self, venue_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Shift, ...]:
        """Return the venue's shifts overlapping ``[start, end)``, by start then id."""
        low, high = check_window(start, end)
        require(self._uow, "venue", "venue_id", venue_id)
        return self._decoded(self._uow.query(self.VENUE_SQL, (venue_id, high, low)))


class SqlSignUpRepository(SqlRepository[SignUp]):
    """Volunteers' sign-ups in a SQL store; see :class:`gridgov.ports.SignUpRepository`."""

    declared = kinds.SIGNUPS

    SHIFT_SQL = "SELECT version, doc FROM gg_signups WHERE shift_id = ? ORDER BY at_utc, id"
    RESIDENT_SQL = (
        "SELECT version, doc FROM gg_signups"
        " WHERE resident_id = ? AND start_utc < ? AND end_utc > ?"
        " ORDER BY start_utc, id"
    )

    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]:
        """Return every sign-up of a shift, by ``at`` then id."""
        require(self._uow, "shift", "shift_id", shift_id)
        return self._decoded(self._uow.query(self.SHIFT_SQL, (shift_id,)))

    def taken(self, shift_id: str) -> int:
        """Return how many volunteers are signed up for the shift."""
        require(self._uow, "shift", "shift_id", shift_id)
        row = self._uow.query_one(
            "SELECT COUNT(*) FROM gg_signups WHERE shift_id = ? AND state = ?",
            (shift_id, SignUpState.SIGNED_UP.value),
        )
        return 0 if row is None else int(row[0])

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[SignUp, ...]:
        """Return the resident's sign-ups whose shift overlaps ``[start, end)``, by start."""
        check_text_key("resident_id", resident_id)
        low, high = check_window(start, end)
        return self._decoded(self._uow.query(self.RESIDENT_SQL, (resident_id, high, low)))


# -- audit trail -----------------------------------------------------------------------------


def _between_sql(principal: bool, subject: bool, kind: bool) -> str:
    """Return the SQL of ``AuditRepository.between`` with the filters asked for.

    The window's start and the cursor are one lower bound on ``(at_utc, id)``: each of the three
    indexes, after its equality column if any, reads from there in the query's order.
    """
    filters = "".join(
        f"{column} = ? AND "
        for column, wanted in (("principal_id", principal), ("subject", subject), ("kind", kind))
        if wanted
    )
    return (
        "SELECT at_utc, id, version, doc FROM gg_audit"
        f" WHERE {filters}(at_utc, id) > (?, ?) AND at_utc < ?"
        " ORDER BY at_utc, id LIMIT ?"
    )


class SqlAuditRepository(SqlRecords[AuditEntry]):
    """The audit trail in a SQL store; see :class:`gridgov.ports.AuditRepository`."""

    declared = kinds.AUDIT

    # One statement per combination of filters (principal, subject, kind), so that each uses
    # the index that fits: gg_audit_principal, gg_audit_subject, or gg_audit_at.
    BETWEEN_SQL: ClassVar[dict[tuple[bool, bool, bool], str]] = {
        (p, s, k): _between_sql(p, s, k)
        for p in (False, True)
        for s in (False, True)
        for k in (False, True)
    }

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
        low, high = check_time_range(since, until)
        check_audit_filters(principal_id, subject, kind)
        check_limit(limit)
        start = decode_cursor(after, 2)
        lower = (low, "") if start is None or start < (low, "") else start
        wanted = (principal_id, subject, None if kind is None else kind.value)
        filters = [v for v in wanted if v is not None]
        sql = self.BETWEEN_SQL[(principal_id is not None, subject is not None, kind is not None)]
        return self._paged(sql, (*filters, *lower, high), limit, 2)
