"""Scheduling use cases: create a series, register with a waitlist, volunteer, a week's programme.

Each function takes an open unit of work and leaves committing to the caller.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

import attrs
import pendulum

from gridgov.care.criteria import Facts
from gridgov.clock import EARLIEST, LATEST, OUTSIDE_RANGE, ensure_aware
from gridgov.errors import ConflictError, NotFoundError, TransitionError, ValidationError
from gridgov.events import ShiftShort
from gridgov.idempotency import idempotent
from gridgov.outbox import StoredEvent, record_events
from gridgov.ports import UnitOfWork
from gridgov.scheduling.conflicts import SeriesPlan, plan_series
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, Occurrence, parse_occurrence_id
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.serialization import parse_instant
from gridgov.services._common import pages, readable_id
from gridgov.services._events import promote_waiting, registration_event

__all__ = [
    "Cancellation",
    "ScheduleEntry",
    "WeekSchedule",
    "cancel_registration",
    "complete_shift",
    "create_series",
    "occurrences_in_venue",
    "record_attendance",
    "register",
    "register_for_occurrence",
    "report_short_shifts",
    "sign_up",
    "volunteer_hours",
    "week_schedule",
]


_log = logging.getLogger(__name__)


def occurrences_in_venue(
    uow: UnitOfWork, venue_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
) -> list[Occurrence]:
    """Return the occurrences of every series of a venue in ``[start, end)``, by start.

    Raises:
        NotFoundError: If the venue is not stored.
        ValidationError: On naive instants, or instants outside the supported range.
    """
    start = ensure_aware(start, "start")
    end = ensure_aware(end, "end")
    venue = uow.venues.get(venue_id)
    found: list[Occurrence] = []
    for series in pages(
        lambda a: uow.series.in_venue(venue_id, start=start, end=end, limit=500, after=a)
    ):
        found.extend(series.occurrences(start, end, calendar=venue.opening))
    return sorted(found, key=lambda o: (o.start, o.id))


@idempotent
def create_series(
    uow: UnitOfWork,
    series: ActivitySeries,
    *,
    skip_conflicts: bool = False,
    horizon: pendulum.Duration | None = None,
    idempotency_key: str | None = None,
) -> tuple[SeriesPlan, ActivitySeries | None]:
    """Check a new series against its venue and what is booked there; store it if it fits.

    Args:
        uow: The unit of work (not committed here).
        series: The new series.
        skip_conflicts: Leave out (as EXDATEs) the occurrences that clash, and store the rest.
        horizon: How far a series without an end is checked (default: one year), at most to
            the end of the supported range (2100-12-31, see :mod:`gridgov.clock`).
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Returns:
        The plan (clashes, what was skipped) and the stored series, or ``None`` when clashes
        remain and nothing was stored.

    Raises:
        NotFoundError: If the venue is not stored.
        ValidationError: If the venue has no such space.
        CalendarCoverageError: If the checked span reaches a year the venue's calendar lacks.
    """
    venue = uow.venues.get(series.venue_id)
    # Before reading what is booked: two series planned at once never take one slot twice.
    uow.locks.hold(f"venue:{venue.id}")
    # Nothing is booked outside the supported range: the checked window stops at its ends.
    last = _last_instant(series.start)
    end = series.last_end
    if end is None:
        try:
            end = series.start + (horizon or pendulum.duration(years=1))
        except (OverflowError, ValueError):  # past the year 9999
            end = last
    end = min(end, last)
    # Setup and teardown buffers (up to a day each) reach past the series' own span.
    margin = pendulum.duration(days=2)
    existing = occurrences_in_venue(
        uow,
        venue.id,
        start=max(series.start - margin, _first_instant(series.start)),
        end=min(end + margin, last),
    )
    plan = plan_series(
        series, venue, existing, start=series.start, end=end, skip_conflicts=skip_conflicts
    )
    if plan.clashes and not skip_conflicts:
        return plan, None
    return plan, uow.series.add(plan.series)


def _first_instant(near: pendulum.DateTime) -> pendulum.DateTime:
    """Return the first instant of the supported range, in the zone of ``near``."""
    return pendulum.datetime(EARLIEST.year, EARLIEST.month, EARLIEST.day, tz=near.timezone)


def _last_instant(near: pendulum.DateTime) -> pendulum.DateTime:
    """Return the last instant of the supported range, in the zone of ``near``."""
    return pendulum.datetime(LATEST.year, LATEST.month, LATEST.day, tz=near.timezone).end_of("day")


def _occurrence(uow: UnitOfWork, series_id: str, original_start: pendulum.DateTime) -> Occurrence:
    series = uow.series.get(series_id)
    venue = uow.venues.get(series.venue_id)
    return series.occurrence(original_start, calendar=venue.opening)


@idempotent(received=("at",))
def register(
    uow: UnitOfWork,
    *,
    series_id: str,
    original_start: pendulum.DateTime,
    resident_id: str,
    at: pendulum.DateTime,
    registration_id: str | None = None,
    idempotency_key: str | None = None,
) -> Registration:
    """Register a resident for one occurrence: confirmed if a place is free, else waitlisted.

    Args:
        uow: The unit of work (not committed here).
        series_id: The series.
        original_start: The occurrence's original start (its RECURRENCE-ID).
        resident_id: Who registers.
        at: When they register (orders the waitlist).
        registration_id: The key (default: from the occurrence and the resident).
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Returns:
        The stored registration.

    Raises:
        ValidationError: For an unknown resident, an occurrence that is cancelled, not in the
            series or already started, or a resident the series' eligibility rule excludes (the
            reason named).
        ConflictError: If the resident holds a registration for this or an overlapping
            occurrence.
    """
    at = ensure_aware(at, "at")
    series = uow.series.get(series_id)
    occurrence = _occurrence(uow, series_id, original_start)
    if occurrence.cancelled:
        raise ValidationError("original_start", "that occurrence is cancelled")
    if occurrence.start <= at:
        raise ValidationError("original_start", "that occurrence has already started")
    try:
        household = uow.households.household_of(resident_id)
    except NotFoundError:
        raise ValidationError("resident_id", "unknown resident") from None
    resident = household.member(resident_id)
    if series.eligibility is not None:
        facts = Facts.of(resident, household, occurrence.start.date())
        ok, reasons = series.eligibility.explain(facts)
        if not ok:
            # The rule, not the resident's facts: error messages carry no personal data.
            why = "; ".join(r.rule for r in reasons)
            raise ValidationError("resident_id", f"not eligible for {series.title}: {why}")
    # Held before reading what they guard: a second unit registering the same resident, or for
    # the same occurrence, waits (or fails its commit), then counts what the first one wrote.
    # Always venue, occurrence, resident, in that order, so that no two units wait for each other.
    uow.locks.hold(f"occurrence:{occurrence.id}")
    uow.locks.hold(f"resident:{resident_id}")
    mine = uow.registrations.for_resident(resident_id, start=occurrence.start, end=occurrence.end)
    for other in mine:
        if other.is_active:
            same = other.occurrence_id == occurrence.id
            raise ConflictError(
                "the resident is already registered for this occurrence"
                if same
                else f"the resident is registered for an overlapping occurrence ({other.id})"
            )
    # Counted over every registration, whatever the caller's scope.
    taken = uow.registrations.occupancy(occurrence.id).taken
    # A resident who cancelled may register again: the new registration needs its own id.
    earlier = sum(1 for r in mine if r.occurrence_id == occurrence.id)
    base = f"reg.{occurrence.id.replace('@', '.')}.{resident_id}"
    full = occurrence.capacity is not None and taken >= occurrence.capacity
    registration = Registration(
        id=registration_id or readable_id(base if not earlier else f"{base}.{earlier + 1}"),
        series_id=series.id,
        occurrence_id=occurrence.id,
        venue_id=series.venue_id,
        resident_id=resident_id,
        household_id=household.id,
        cell_code=household.cell_code,
        start=occurrence.start,
        end=occurrence.end,
        state=RegistrationState.WAITLISTED if full else RegistrationState.CONFIRMED,
        registered_at=at,
    )
    _log.debug("registration %s: %s", registration.id, registration.state.value)
    stored = uow.registrations.add(registration)
    record_events(uow, (registration_event(stored, at),))
    return stored


@idempotent(received=("at",))
def register_for_occurrence(
    uow: UnitOfWork,
    *,
    occurrence_id: str,
    resident_id: str,
    at: pendulum.DateTime,
    registration_id: str | None = None,
    idempotency_key: str | None = None,
) -> Registration:
    """Register a resident for the occurrence an id names (as ``week_schedule`` shows it).

    The same as :func:`register` with the series and original start the id holds.

    With an ``idempotency_key`` (a UUID, say), a request sent again gets the first result and
    nothing is done twice (:mod:`gridgov.idempotency`).

    Raises:
        ValidationError: If ``occurrence_id`` is not an occurrence id; as :func:`register`.
        NotFoundError: If its series is not stored.
        ConflictError: As :func:`register`.
    """
    series_id, original_start = parse_occurrence_id(occurrence_id)
    return register(
        uow,
        series_id=series_id,
        original_start=original_start,
        resident_id=resident_id,
        at=at,
        registration_id=registration_id,
    )


@attrs.frozen
class Cancellation:
    """What cancelling a registration did.

    Args:
        cancelled: The cancelled registration.
        promoted: The waitlisted registration that took the freed place, if any.
    """

    cancelled: Registration
    promoted: Registration | None


@idempotent(received=("at",))
def cancel_registration(
    uow: UnitOfWork,
    registration_id: str,
    *,
    at: pendulum.DateTime,
    idempotency_key: str | None = None,
) -> Cancellation:
    """Cancel a registration; a freed place goes to the first on the waitlist.

    With an ``idempotency_key`` (a UUID, say), a request sent again gets the first result and
    nothing is done twice (:mod:`gridgov.idempotency`).

    Raises:
        NotFoundError: If there is no such registration.
        TransitionError: If it is no longer active (cancelled, attended, no-show).
    """
    ensure_aware(at, "at")
    registration = uow.registrations.get(registration_id)
    # Before reading its state: two cancellations of one occurrence promote two people in turn.
    uow.locks.hold(f"occurrence:{registration.occurrence_id}")
    registration = uow.registrations.get(registration_id)
    if not registration.is_active:
        raise TransitionError(
            f"registration {registration.id!r} is {registration.state.value}: cannot cancel it"
        )
    cancelled = uow.registrations.update(
        attrs.evolve(registration, state=RegistrationState.CANCELLED)
    )
    record_events(uow, (registration_event(cancelled, at),))
    promoted = None
    if registration.state is RegistrationState.CONFIRMED:
        # The freed place goes to the first on the whole waitlist, whoever's resident it is.
        promoted = promote_waiting(uow, registration.occurrence_id, at)
    return Cancellation(cancelled, promoted)


@idempotent(received=("at",))
def record_attendance(
    uow: UnitOfWork,
    registration_id: str,
    *,
    attended: bool,
    at: pendulum.DateTime,
    idempotency_key: str | None = None,
) -> Registration:
    """Record whether a confirmed participant came (after the occurrence started).

    With an ``idempotency_key`` (a UUID, say), a request sent again gets the first result and
    nothing is done twice (:mod:`gridgov.idempotency`).

    Raises:
        NotFoundError: If there is no such registration.
        TransitionError: If it is not confirmed.
        ValidationError: If the occurrence has not started at ``at``.
    """
    at = ensure_aware(at, "at")
    registration = uow.registrations.get(registration_id)
    if registration.state is not RegistrationState.CONFIRMED:
        raise TransitionError(
            f"registration {registration.id!r} is {registration.state.value}: "
            "record attendance of confirmed registrations"
        )
    if at < registration.start:
        raise ValidationError("at", "the occurrence has not started yet")
    state = RegistrationState.ATTENDED if attended else RegistrationState.NO_SHOW
    return uow.registrations.update(attrs.evolve(registration, state=state))


@idempotent(received=("at",))
def sign_up(
    uow: UnitOfWork,
    *,
    shift_id: str,
    resident_id: str,
    at: pendulum.DateTime,
    skills: Iterable[str] = (),
    signup_id: str | None = None,
    idempotency_key: str | None = None,
) -> SignUp:
    """Sign a resident up for a volunteer shift.

    Args:
        uow: The unit of work (not committed here).
        shift_id: The shift.
        resident_id: The volunteer.
        at: When they sign up.
        skills: The volunteer's skills; they must cover the shift's.
        signup_id: The key (default: from the shift and the resident).
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Raises:
        ValidationError: For an unknown resident, a shift already started, or missing skills.
        ConflictError: If the shift has all the volunteers it needs, or the resident is signed up
            for an overlapping shift.
    """
    at = ensure_aware(at, "at")
    shift = uow.shifts.get(shift_id)
    if shift.start <= at:
        raise ValidationError("shift_id", "that shift has already started")
    try:
        uow.households.household_of(resident_id)
    except NotFoundError:
        raise ValidationError("resident_id", "unknown resident") from None
    missing = shift.skills - frozenset(skills)
    if missing:
        raise ValidationError("skills", f"the shift needs {', '.join(sorted(missing))}")
    # As for registrations: held before counting, the shift's lock first.
    uow.locks.hold(f"shift:{shift.id}")
    uow.locks.hold(f"volunteer:{resident_id}")
    for other in uow.signups.for_resident(resident_id, start=shift.start, end=shift.end):
        if other.state is SignUpState.SIGNED_UP:
            raise ConflictError(
                f"the volunteer is signed up for an overlapping shift ({other.shift_id})"
            )
    if uow.signups.taken(shift.id) >= shift.required:
        raise ConflictError(f"shift {shift.id!r} has the {shift.required} volunteers it needs")
    return uow.signups.add(
        SignUp(
            id=signup_id or readable_id(f"signup.{shift.id}.{resident_id}"),
            shift_id=shift.id,
            resident_id=resident_id,
            start=shift.start,
            end=shift.end,
            state=SignUpState.SIGNED_UP,
            at=at,
        )
    )


def report_short_shifts(
    uow: UnitOfWork,
    cell_code: str,
    *,
    now: pendulum.DateTime,
    within: pendulum.Duration | None = None,
) -> tuple[ShiftShort, ...]:
    """Record ``scheduling.shift_short`` for the subtree's shifts starting soon, short of hands.

    Each shift starting within ``within`` (48 hours by default) of ``now`` with fewer volunteers
    signed up than it needs is reported once (again only if it moved); run it as often as you
    like. The events go to the outbox in this unit of work (commit it), for the platform or a
    notification policy to act on.

    Args:
        uow: The unit of work (not committed here).
        cell_code: The subtree whose venues are looked at.
        now: The current instant.
        within: How far ahead to look.

    Returns:
        The events recorded.
    """
    now = ensure_aware(now, "now")
    until = now + (within if within is not None else pendulum.duration(hours=48))
    found: list[tuple[Shift, str, int]] = []
    for venue in pages(lambda after: uow.venues.in_subtree(cell_code, after=after)):
        for shift in uow.shifts.in_venue(venue.id, start=now, end=until):
            taken = uow.signups.taken(shift.id)
            if shift.start >= now and taken < shift.required:
                found.append((shift, venue.cell_code, taken))
    last = uow.outbox.last_events(("shift", s.id) for s, _, _ in found)
    events = tuple(
        ShiftShort(
            cell_code=cell,
            at=now,
            shift_id=shift.id,
            venue_id=shift.venue_id,
            start=shift.start,
            required=shift.required,
            signed_up=taken,
        )
        for shift, cell, taken in found
        if not _reported(last.get(("shift", shift.id)), shift)
    )
    record_events(uow, events)
    return events


def _reported(event: StoredEvent | None, shift: Shift) -> bool:
    """Return whether ``event`` already reported ``shift`` short at its present start."""
    if event is None or event.type != ShiftShort.TYPE:
        return False
    return parse_instant(event.facts().get("start"), "start") == shift.start


@idempotent(received=("at",))
def complete_shift(
    uow: UnitOfWork,
    shift_id: str,
    *,
    present: Iterable[str],
    at: pendulum.DateTime,
    idempotency_key: str | None = None,
) -> tuple[SignUp, ...]:
    """Close a shift: credit its hours to the volunteers present, mark the others absent.

    Args:
        uow: The unit of work (not committed here).
        shift_id: The shift.
        present: The resident ids of the volunteers who came.
        at: When it is recorded (after the shift ended).
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Raises:
        ValidationError: If the shift has not ended, or ``present`` names someone not signed up.
    """
    at = ensure_aware(at, "at")
    shift = uow.shifts.get(shift_id)
    if at < shift.end:
        raise ValidationError("at", "the shift has not ended yet")
    came = set(present)
    signed = [s for s in uow.signups.for_shift(shift.id) if s.state is SignUpState.SIGNED_UP]
    unknown = came - {s.resident_id for s in signed}
    if unknown:
        raise ValidationError("present", f"{len(unknown)} of them are not signed up")
    done = []
    for s in signed:
        if s.resident_id in came:
            done.append(
                uow.signups.update(
                    attrs.evolve(s, state=SignUpState.COMPLETED, hours=round(shift.hours, 2))
                )
            )
        else:
            done.append(uow.signups.update(attrs.evolve(s, state=SignUpState.NO_SHOW)))
    return tuple(done)


def volunteer_hours(
    uow: UnitOfWork,
    resident_ids: Iterable[str],
    *,
    since: pendulum.DateTime,
    until: pendulum.DateTime,
) -> dict[str, float]:
    """Return the hours credited to each resident for shifts starting in ``[since, until)``.

    Raises:
        ValidationError: On naive instants or ``until`` before ``since``.
    """
    since = ensure_aware(since, "since")
    until = ensure_aware(until, "until")
    if until < since:
        raise ValidationError("until", "the period ends before it starts")
    totals: dict[str, float] = {}
    for rid in resident_ids:
        totals[rid] = round(
            sum(
                s.hours
                for s in uow.signups.for_resident(rid, start=since, end=until)
                if s.state is SignUpState.COMPLETED and since <= s.start < until
            ),
            2,
        )
    return totals


@attrs.frozen
class ScheduleEntry:
    """One occurrence in a week's programme, with its fill.

    Args:
        occurrence: The occurrence.
        confirmed: Places taken (confirmed or attended).
        waitlisted: People on the waitlist.
    """

    occurrence: Occurrence
    confirmed: int
    waitlisted: int

    @property
    def fill(self) -> float | None:
        """Return confirmed / capacity, or ``None`` without a capacity."""
        cap = self.occurrence.capacity
        return None if cap is None else self.confirmed / cap


@attrs.frozen
class WeekSchedule:
    """A venue's programme for a week, per space.

    Args:
        venue_id: The venue.
        start: The week's first instant.
        by_space: The occurrences of each space, by start.
    """

    venue_id: str
    start: pendulum.DateTime
    by_space: dict[str, tuple[ScheduleEntry, ...]]


def week_schedule(uow: UnitOfWork, venue_id: str, *, start: pendulum.DateTime) -> WeekSchedule:
    """Return the venue's occurrences in the seven days from ``start``, with fill and waitlists.

    Raises:
        NotFoundError: If the venue is not stored.
        ValidationError: On a naive instant, or a week reaching outside the supported range.
    """
    start = ensure_aware(start, "start")
    end = start.add(days=7)
    if end.year > LATEST.year:
        raise ValidationError("start", f"the week runs to {end.date()}, {OUTSIDE_RANGE}")
    venue = uow.venues.get(venue_id)
    rows: dict[str, list[ScheduleEntry]] = defaultdict(list)
    for occ in occurrences_in_venue(uow, venue_id, start=start, end=end):
        fill = uow.registrations.occupancy(occ.id)
        rows[occ.space_id].append(ScheduleEntry(occ, fill.taken, fill.waiting))
    ordered = {s.id: tuple(rows.get(s.id, ())) for s in venue.spaces}
    return WeekSchedule(venue.id, start, ordered)
