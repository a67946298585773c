"""The SQL repositories of scheduling and of the audit trail; see :mod:`._sql_kinds`."""

from __future__ import annotations

from typing import cast

import attrs
import pendulum

from gridgov.access import AuditEntry
from gridgov.adapters._queries import (
    AuditQueries,
    RegistrationQueries,
    ShiftQueries,
    SignUpQueries,
    VenueQueries,
)
from gridgov.adapters._sql_engine import SqlRecords, SqlRepository, require
from gridgov.adapters.support import (
    check_limit,
    check_text_key,
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


class SqlVenueRepository(VenueQueries, SqlRepository[Venue]):
    """Venues in a SQL store; see :class:`gridgov.ports.VenueRepository`."""

    declared = kinds.VENUES


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


class SqlRegistrationRepository(RegistrationQueries, SqlRepository[Registration]):
    """Registrations in a SQL store; see :class:`gridgov.ports.RegistrationRepository`."""

    declared = kinds.REGISTRATIONS

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


class SqlShiftRepository(ShiftQueries, SqlRepository[Shift]):
    """Volunteer shifts in a SQL store; see :class:`gridgov.ports.ShiftRepository`."""

    declared = kinds.SHIFTS


class SqlSignUpRepository(SignUpQueries, SqlRepository[SignUp]):
    """Volunteers' sign-ups in a SQL store; see :class:`gridgov.ports.SignUpRepository`."""

    declared = kinds.SIGNUPS

    def taken(self, shift_id: str) -> int:
        """Return how many volunteers are signed up for the shift."""
        require(self._uow, "shift", "shift_id", shift_id)
        row = self._uow.query_one(
            "SELECT COUNT(*) FROM gg_signups WHERE shift_id = ? AND state = ?",
            (shift_id, SignUpState.SIGNED_UP.value),
        )
        return 0 if row is None else int(row[0])


# -- audit trail -----------------------------------------------------------------------------


class SqlAuditRepository(AuditQueries, SqlRecords[AuditEntry]):
    """The audit trail in a SQL store; see :class:`gridgov.ports.AuditRepository`."""

    declared = kinds.AUDIT
