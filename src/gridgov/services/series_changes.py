"""Changing one occurrence of a stored series: cancel or move it, and what happens to its people.

A change is checked against the venue (opening hours, blackouts, the space's capacity) and
everything booked there, as a new series is; if it clashes, nothing is stored. Otherwise the
series is stored with the change, and the occurrence's registrations follow it: cancelled with
it, or moved with it, except those whose resident is booked elsewhere at the new time, which are
cancelled with that reason. Each consequence is reported with its reason in English and Chinese.
"""

from __future__ import annotations

import itertools

import attrs
import pendulum

from gridgov.clock import ensure_aware
from gridgov.errors import ValidationError
from gridgov.events import OccurrenceCancelled, OccurrenceMoved, SchedulingEvent, Waitlisted
from gridgov.idempotency import idempotent
from gridgov.outbox import record_events
from gridgov.ports import UnitOfWork
from gridgov.scheduling.conflicts import Conflict, conflicts, plan_series
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, Occurrence, OccurrenceChange
from gridgov.services._events import promote_waiting, registration_event
from gridgov.services.retime import Moved
from gridgov.services.scheduling import occurrences_in_venue

__all__ = ["FollowingEdit", "OccurrenceEdit", "change_following", "change_occurrence"]

# Setup and teardown buffers (up to a day each) reach past an occurrence's own span.
_MARGIN = pendulum.duration(days=2)


class _Stored:
    """What a change's result says when it reports clashes: stored unless it clashed."""

    clashes: tuple[Conflict, ...]

    @property
    def done(self) -> bool:
        """Return whether the change was stored."""
        return not self.clashes


@attrs.frozen
class OccurrenceEdit(_Stored):
    """What changing one occurrence did, or why it was not done.

    Args:
        series: The series as stored after the change (unchanged when it clashed).
        clashes: The conflicts of the changed occurrence; when there are any, nothing was stored.
        moved: What happened to each registration of the occurrence, with the reason.
    """

    series: ActivitySeries
    clashes: tuple[Conflict, ...]
    moved: tuple[Moved, ...]


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
    record_events(uow, _occurrence_events(series.id, venue.cell_code, before, after, at))
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
                    at,
                )
            )
        elif (after.start, after.end) != (before.start, before.end) and before.start > at:
            moved.append(_follow(uow, registration, before.id, after, at))
    if not after.cancelled and after.capacity is not None:
        # Places freed by registrants booked elsewhere at the new time go to the waitlist.
        while uow.registrations.occupancy(before.id).taken < after.capacity:
            if promote_waiting(uow, before.id, at) is None:
                break
    return OccurrenceEdit(stored, (), tuple(moved))


@attrs.frozen
class FollowingEdit(_Stored):
    """What changing an occurrence "and following" did, or why it was not done.

    Args:
        series: The series as stored, ending before the change (unchanged when it clashed).
        following: The new series from the change on; ``None`` when the rest was cancelled or
            the change clashed.
        clashes: The conflicts of the new series; when there are any, nothing was stored.
        moved: What happened to each registration of the changed occurrences, with the reason.
    """

    series: ActivitySeries
    following: ActivitySeries | None
    clashes: tuple[Conflict, ...]
    moved: tuple[Moved, ...]


@idempotent(received=("at",))
def change_following(
    uow: UnitOfWork,
    series_id: str,
    original_start: pendulum.DateTime,
    *,
    at: pendulum.DateTime,
    start: pendulum.DateTime | None = None,
    minutes: int | None = None,
    space_id: str | None = None,
    capacity: int | None = None,
    cancel: bool = False,
    note: str = "",
    new_id: str | None = None,
    idempotency_key: str | None = None,
) -> FollowingEdit:
    """Change, or cancel, an occurrence of a recurring series and every one after it.

    The series is split as calendar programs split it (:meth:`ActivitySeries.split`): it ends
    before the occurrence, and a new series carries the rule on from there with the changes. The
    new series is checked against the venue and what is booked there (the old occurrences it
    replaces aside), as a new series is; if it clashes, nothing is stored. The registrations of
    the replaced occurrences follow them, one to one in time order: moved to the new occurrence
    (cancelled where the resident is booked at the new time, or the new occurrence is
    cancelled), and when the new capacity is smaller the latest registered go back on the
    waitlist; a larger one promotes from it. Cancelling the rest cancels every registration of
    it with ``note`` as the reason.

    Args:
        uow: The unit of work (not committed here).
        series_id: The series.
        original_start: The start the rule gives the first occurrence to change.
        at: When the change is made.
        start: The new start of that occurrence; those after it keep their distance to it.
        minutes: The new length.
        space_id: The new space.
        capacity: The new capacity (``None``: unchanged).
        cancel: Cancel the occurrence and every one after it instead.
        note: Why, shown to participants.
        new_id: The new series' id (default: the series id and the stamp of ``original_start``).
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Raises:
        NotFoundError: If the series or its venue is not stored.
        ValidationError: If ``original_start`` is not a later occurrence of a recurring series,
            or a change is not valid (a space the venue lacks, a bad length or capacity).
    """
    at = ensure_aware(at, "at")
    series = uow.series.get(series_id)
    venue = uow.venues.get(series.venue_id)
    uow.locks.hold(f"venue:{venue.id}")
    head, rest = series.split(original_start, new_id=new_id)
    horizon = _following_end(series, at)
    replaced = series.occurrences(original_start, horizon, calendar=venue.opening)
    for o in replaced:
        uow.locks.hold(f"occurrence:{o.id}")
    if cancel:
        stored = uow.series.update(head)
        why = note or "no reason given"
        for o in replaced:
            record_events(uow, _occurrence_events(series.id, venue.cell_code, o, None, at))
        cancelled = [
            _cancel(uow, r, o.id, f"the activity was cancelled: {why}", f"活动取消：{why}", at)
            for o in replaced
            for r in _active(uow, o.id)
        ]
        return FollowingEdit(stored, None, (), tuple(cancelled))
    following = _changed(rest, original_start, start, minutes, space_id, capacity)
    shift = following.start - original_start
    mine = {o.id for o in replaced}
    booked = occurrences_in_venue(
        uow, venue.id, start=following.start - _MARGIN, end=horizon + shift + _MARGIN
    )
    plan = plan_series(
        following,
        venue,
        [o for o in booked if o.id not in mine],
        start=following.start,
        end=horizon + shift,
    )
    if plan.clashes:
        return FollowingEdit(series, None, plan.clashes, ())
    stored = uow.series.update(head)
    added = uow.series.add(plan.series)
    now_on = added.occurrences(following.start, horizon + shift, calendar=venue.opening)
    moved: list[Moved] = []
    for old, new in itertools.zip_longest(replaced, now_on):
        if old is not None:
            record_events(uow, _occurrence_events(series.id, venue.cell_code, old, new, at))
        for r in _active(uow, old.id) if old is not None else ():
            if new is None or new.cancelled:
                en, zh = "the occurrence no longer takes place", "活动不再举行"
                moved.append(_cancel(uow, r, old.id, en, zh, at))
            else:
                uow.locks.hold(f"occurrence:{new.id}")
                moved.append(_follow(uow, r, old.id, new, at))
        if new is not None and new.capacity is not None:
            moved.extend(_fit(uow, new, at))
    return FollowingEdit(stored, added, (), tuple(moved))


def _following_end(series: ActivitySeries, at: pendulum.DateTime) -> pendulum.DateTime:
    """Return how far the occurrences of a change "and following" are read: a year ahead."""
    year = at.add(years=1)
    end = series.last_end
    return year if end is None else min(end, year)


def _changed(
    rest: ActivitySeries,
    original_start: pendulum.DateTime,
    start: pendulum.DateTime | None,
    minutes: int | None,
    space_id: str | None,
    capacity: int | None,
) -> ActivitySeries:
    """Return the rest of a series with the changes; its exceptions keep their distance."""
    shift = (ensure_aware(start, "start") - original_start) if start is not None else None
    changed = attrs.evolve(
        rest,
        minutes=rest.minutes if minutes is None else minutes,
        space_id=rest.space_id if space_id is None else space_id,
        capacity=rest.capacity if capacity is None else capacity,
    )
    if shift is None or not shift:
        return changed
    return attrs.evolve(
        changed,
        start=changed.start + shift,
        exdates={d + shift for d in changed.exdates},
        changes=tuple(
            attrs.evolve(c, original_start=c.original_start + shift) for c in changed.changes
        ),
    )


def _active(uow: UnitOfWork, occurrence_id: str) -> list[Registration]:
    return [r for r in uow.registrations.for_occurrence(occurrence_id) if r.is_active]


def _occurrence_events(
    series_id: str,
    cell_code: str,
    before: Occurrence,
    after: Occurrence | None,
    at: pendulum.DateTime,
) -> tuple[SchedulingEvent, ...]:
    """Return the event of an occurrence that was cancelled or moved by a change, if any."""
    if before.cancelled:
        return ()
    if after is None or after.cancelled:
        return (OccurrenceCancelled(cell_code, at, series_id, before.id, before.start),)
    if after.start != before.start:
        return (OccurrenceMoved(cell_code, at, series_id, before.id, after.start, before.start),)
    return ()


def _fit(uow: UnitOfWork, o: Occurrence, at: pendulum.DateTime) -> list[Moved]:
    """Fit an occurrence's registrations to its capacity: the latest back on the waitlist."""
    assert o.capacity is not None
    confirmed = sorted(
        (r for r in _active(uow, o.id) if r.state is RegistrationState.CONFIRMED),
        key=lambda r: (r.registered_at, r.id),
    )
    moved = []
    for r in confirmed[o.capacity :]:
        back = uow.registrations.update(attrs.evolve(r, state=RegistrationState.WAITLISTED))
        record_events(uow, (registration_event(back, at, Waitlisted, "fewer places"),))
        moved.append(
            Moved(
                "registration",
                r.id,
                f"occurrence {o.id}",
                r.start,
                r.start,
                "fewer places: back on the waitlist, in the order of registration",
                "名额减少，按报名先后转入候补",
            )
        )
    while uow.registrations.occupancy(o.id).taken < o.capacity:
        if promote_waiting(uow, o.id, at) is None:
            break
    return moved


def _cancel(
    uow: UnitOfWork, r: Registration, occurrence: str, en: str, zh: str, at: pendulum.DateTime
) -> Moved:
    cancelled = uow.registrations.update(attrs.evolve(r, state=RegistrationState.CANCELLED))
    record_events(uow, (registration_event(cancelled, at, reason=en),))
    return Moved("registration", r.id, f"occurrence {occurrence}", r.start, None, en, zh)


def _follow(
    uow: UnitOfWork, r: Registration, occurrence: str, to: Occurrence, at: pendulum.DateTime
) -> Moved:
    """Move a registration to the occurrence ``to``, unless its resident is booked then."""
    uow.locks.hold(f"resident:{r.resident_id}")
    for other in uow.registrations.for_resident(r.resident_id, start=to.start, end=to.end):
        if other.is_active and other.id != r.id:
            return _cancel(
                uow,
                r,
                occurrence,
                f"the occurrence moved to a time the resident is booked for {other.occurrence_id}",
                f"活动改期，与已报名的{other.occurrence_id}时间冲突，取消报名",
                at,
            )
    uow.registrations.update(
        attrs.evolve(r, series_id=to.series_id, occurrence_id=to.id, start=to.start, end=to.end)
    )
    return Moved(
        "registration",
        r.id,
        f"occurrence {occurrence}",
        r.start,
        to.start,
        "the occurrence moved; the registration moved with it",
        "活动改期，报名随之调整",
    )
