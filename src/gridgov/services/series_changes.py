"""Changing one occurrence of a stored series: cancel or move it, and what happens to its people.

A change is checked against the venue (opening hours, blackouts, the space's capacity) and
everything booked there, as a new series is; if it clashes, nothing is stored. Otherwise the
series is stored with the change, and the occurrence's registrations follow it: cancelled with
it, or moved with it, except those whose resident is booked elsewhere at the new time, which are
cancelled with that reason. Each consequence is reported with its reason in English and Chinese.
"""

from __future__ import annotations

import attrs
import pendulum

from gridgov.clock import ensure_aware
from gridgov.errors import ValidationError
from gridgov.idempotency import idempotent
from gridgov.ports import UnitOfWork
from gridgov.scheduling.conflicts import Conflict, conflicts
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange
from gridgov.services.retime import Moved
from gridgov.services.scheduling import occurrences_in_venue

__all__ = ["OccurrenceEdit", "change_occurrence"]

# Setup and teardown buffers (up to a day each) reach past an occurrence's own span.
_MARGIN = pendulum.duration(days=2)


@attrs.frozen
class OccurrenceEdit:
    """What changing one occurrence did, or why it was not done.

    Args:
        series: The series as stored after the change (unchanged when it clashed).
        clashes: The conflicts of the changed occurrence; when there are any, nothing was stored.
        moved: What happened to each registration of the occurrence, with the reason.
    """

    series: ActivitySeries
    clashes: tuple[Conflict, ...]
    moved: tuple[Moved, ...]

    @property
    def done(self) -> bool:
        """Return whether the change was stored."""
        return not self.clashes


@idempotent(received=("at",))
def change_occurrence(
    uow: UnitOfWork,
    series_id: str,
    change: OccurrenceChange,
    *,
    at: pendulum.DateTime,
    idempotency_key: str | None = None,
) -> OccurrenceEdit:
    """Cancel or move one occurrence of a stored series, re-checking its venue and bookings.

    Args:
        uow: The unit of work (not committed here).
        series_id: The series.
        change: The change, replacing an earlier change of the same occurrence.
        at: When the change is made: registrations of a moved occurrence that has already
            started are left as they are.
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Returns:
        The series as stored, the clashes that stopped the change, and what happened to each
        registration of the occurrence.

    Raises:
        NotFoundError: If the series or its venue is not stored.
        ValidationError: If ``change`` is not for an occurrence of the series, or moves it to a
            space the venue lacks.
        CalendarCoverageError: If the occurrence lies in a year the venue's calendar lacks.
    """
    at = ensure_aware(at, "at")
    if not isinstance(change, OccurrenceChange):
        raise ValidationError("change", "expected an OccurrenceChange")
    series = uow.series.get(series_id)
    venue = uow.venues.get(series.venue_id)
    # The venue's lock first, as create_series takes it: two changes never book one slot twice.
    uow.locks.hold(f"venue:{venue.id}")
    before = series.occurrence(change.original_start, calendar=venue.opening)
    uow.locks.hold(f"occurrence:{before.id}")
    changed = series.changed(change)
    after = changed.occurrence(change.original_start, calendar=venue.opening)
    if not after.cancelled:
        if after.space_id not in {s.id for s in venue.spaces}:
            raise ValidationError("space_id", "the venue has no such space")
        booked = occurrences_in_venue(
            uow, venue.id, start=after.busy_start - _MARGIN, end=after.busy_end + _MARGIN
        )
        others = [o for o in booked if o.id != after.id]
        clashes = tuple(
            c
            for c in conflicts([*others, after], venue)
            if after.id in (c.occurrence.id, None if c.other is None else c.other.id)
        )
        if clashes:
            return OccurrenceEdit(series, clashes, ())
    stored = uow.series.update(changed)
    moved: list[Moved] = []
    for registration in uow.registrations.for_occurrence(before.id):
        if not registration.is_active:
            continue
        if after.cancelled:
            why = change.note or "no reason given"
            moved.append(
                _cancel(
                    uow,
                    registration,
                    before.id,
                    f"the occurrence was cancelled: {why}",
                    f"活动取消：{why}",
                )
            )
        elif (after.start, after.end) != (before.start, before.end) and before.start > at:
            moved.append(_follow(uow, registration, before.id, after.start, after.end))
    if not after.cancelled and after.capacity is not None:
        # Places freed by registrants booked elsewhere at the new time go to the waitlist.
        while uow.registrations.occupancy(before.id).taken < after.capacity:
            if uow.registrations.promote_first_waiting(before.id) is None:
                break
    return OccurrenceEdit(stored, (), tuple(moved))


def _cancel(uow: UnitOfWork, r: Registration, occurrence: str, en: str, zh: str) -> Moved:
    uow.registrations.update(attrs.evolve(r, state=RegistrationState.CANCELLED))
    return Moved("registration", r.id, f"occurrence {occurrence}", r.start, None, en, zh)


def _follow(
    uow: UnitOfWork,
    r: Registration,
    occurrence: str,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
) -> Moved:
    """Move a registration with its occurrence, unless its resident is booked then."""
    uow.locks.hold(f"resident:{r.resident_id}")
    for other in uow.registrations.for_resident(r.resident_id, start=start, end=end):
        if other.is_active and other.id != r.id:
            return _cancel(
                uow,
                r,
                occurrence,
                f"the occurrence moved to a time the resident is booked for {other.occurrence_id}",
                f"活动改期，与已报名的{other.occurrence_id}时间冲突，取消报名",
            )
    uow.registrations.update(attrs.evolve(r, start=start, end=end))
    return Moved(
        "registration",
        r.id,
        f"occurrence {occurrence}",
        r.start,
        start,
        "the occurrence moved; the registration moved with it",
        "活动改期，报名随之调整",
    )
