"""Re-timing: once a provisional year is announced (or an announcement corrected), count again.

Past its announced years a working calendar counts the statutory holidays alone and marks every
result provisional (:mod:`gridgov.calendar`). When the State Council's notice for such a year
arrives, :func:`retime` counts the store's working times again on the calendar that now holds
it, and it does the same when an announcement already applied turns out wrong and is corrected:

- the deadlines of every open case, and of the cases closed lately (their on-time figures rest
  on them), from each deadline's start, pauses and extensions; an open case's next escalation
  check. A fired escalation keeps counting as fired for the moved deadline, so nothing is sent
  twice;
- each venue's opening calendar, which takes the calendar's holidays and make-up working days
  from the year of the run on; an activity that skips public holidays then leaves out the days
  the notice added, and the active registrations on those occurrences are cancelled.

Care task windows are counted in calendar time (a visit within 2 hours, a call every 3 days:
an elder is not left alone over a holiday), so they never rest on the working calendar and
re-timing leaves them alone.

It works in batches, each in its own unit of work, and is idempotent: a second run with the same
calendar moves nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import attrs
import pendulum

from gridgov.adapters.support import check_batch_size
from gridgov.calendar import WorkCalendar
from gridgov.cases.escalation import carry_fired
from gridgov.cases.model import Case, Deadline, HistoryEntry
from gridgov.cases.workflow import CaseRole, CaseWorkflow
from gridgov.clock import END_INSTANT, ensure_aware
from gridgov.errors import NotFoundError, ValidationError
from gridgov.ports import Page, Store, UnitOfWork
from gridgov.scheduling.registrations import RegistrationState
from gridgov.scheduling.venues import Venue
from gridgov.services._common import pages, retried
from gridgov.settings import Settings

__all__ = ["Moved", "RetimeReport", "retime"]

_log = logging.getLogger(__name__)


@attrs.frozen
class Moved:
    """One time that re-timing moved.

    Args:
        kind: The record's kind: ``"case"``, ``"venue"`` or ``"registration"``.
        record_id: The record's key.
        what: Which time moved, e.g. ``"handling deadline"`` or ``"next escalation check"``.
        old: The instant before, if it had one.
        new: The instant after; ``None`` when it no longer happens.
        why_en: Why, in English.
        why_zh: Why, in Chinese.
    """

    kind: str
    record_id: str
    what: str
    old: pendulum.DateTime | None
    new: pendulum.DateTime | None
    why_en: str
    why_zh: str


@attrs.frozen
class RetimeReport:
    """What one re-timing run looked at and moved.

    Args:
        at: The instant it ran at.
        cases: How many open cases it looked at.
        venues: How many venues it looked at.
        moved: Every time it moved, by kind, then record.
    """

    at: pendulum.DateTime
    cases: int
    venues: int
    moved: tuple[Moved, ...]

    def __len__(self) -> int:
        return len(self.moved)


def _why(years: tuple[int, ...]) -> tuple[str, str]:
    """Return why a time moved: provisional years announced, or the calendar's days changed."""
    if not years:
        return (
            "counted again on the working calendar as it is now (its announced days changed)",
            "节假日安排有更正，按现行工作日历重新计算",
        )
    listed = ", ".join(str(y) for y in years)
    return (
        f"counted again on the announced arrangement of {listed} (was provisional: statutory "
        "holidays only)",
        f"{listed}年节假日安排已公布，原按法定节假日暂计，现重新计算",
    )


# Actions that moved a deadline before gridgov kept each deadline's changes: such a deadline,
# stored without them, cannot be counted again.
_CHANGED_BY = frozenset({"wait_on_resident", "park", "approve_extension"})


def _replayable(case: Case, deadline: Deadline) -> bool:
    return bool(deadline.changes) or not any(
        h.action in _CHANGED_BY and h.at >= deadline.start for h in case.history
    )


def _retimed_case(
    workflow: CaseWorkflow, case: Case, at: pendulum.DateTime
) -> tuple[Case, list[Moved]]:
    """Return the case with its deadlines (and, if open, its next check) counted again."""
    moved: list[Moved] = []
    deadlines = list(case.deadlines)
    fired = set(case.fired)
    for i, deadline in enumerate(case.deadlines):
        if not _replayable(case, deadline):
            continue
        timed = workflow.timed(deadline)
        if timed.due != deadline.due:
            en, zh = _why(deadline.provisional_years)
            what = f"{deadline.stage.value} deadline"
            moved.append(Moved("case", case.id, what, deadline.due, timed.due, en, zh))
            fired = set(carry_fired(fired, deadline.stage, deadline.due, timed.due))
        deadlines[i] = timed
    new = attrs.evolve(case, deadlines=tuple(deadlines), fired=fired)
    if case.is_open:
        new = workflow.rescheduled(new)
    if new.next_check != case.next_check:
        en, zh = _why(case.next_check_provisional_years)
        moved.append(
            Moved("case", case.id, "next escalation check", case.next_check, new.next_check, en, zh)
        )
    if moved:
        note = "; ".join(f"{m.what}: {_text(m.old)} → {_text(m.new)}" for m in moved)
        entry = HistoryEntry(
            "retime",
            "system",
            CaseRole.SYSTEM.value,
            at,
            case.state,
            case.state,
            note=f"{note} / {moved[0].why_zh}",
            owner_cell=case.owner_cell,
            owner_worker=case.owner_worker,
            rule="calendar:retime",
        )
        new = attrs.evolve(new, history=(*new.history, entry))
    return new, moved


def _text(instant: pendulum.DateTime | None) -> str:
    return "none" if instant is None else instant.isoformat()


def _retimed_venue(
    uow: UnitOfWork, venue: Venue, calendar: WorkCalendar, at: pendulum.DateTime
) -> list[Moved]:
    """Give a venue the calendar's days from ``at``'s year on; cancel what they now skip."""
    opening = venue.opening
    if calendar.years is None or opening.years is None:
        return []
    first = max(at.in_timezone(calendar.tz).year, opening.years[0], calendar.years[0])
    last = calendar.years[1]
    if first > last:
        return []

    def replaced(
        own: frozenset[pendulum.Date], given: frozenset[pendulum.Date]
    ) -> set[pendulum.Date]:
        return {d for d in own if not first <= d.year <= last} | {
            d for d in given if first <= d.year <= last
        }

    new_opening = attrs.evolve(
        opening,
        holidays=replaced(opening.holidays, calendar.holidays),
        workdays=replaced(opening.workdays, calendar.workdays),
        years=(opening.years[0], max(opening.years[1], last)),
    )
    if new_opening == opening:
        return []
    uow.venues.update(attrs.evolve(venue, opening=new_opening))
    en, zh = _why(tuple(y for y in range(first, last + 1) if opening.is_provisional(y)))
    moved = [Moved("venue", venue.id, "opening calendar", None, None, en, zh)]
    start = max(at, pendulum.datetime(first, 1, 1, tz=calendar.tz))
    end = pendulum.datetime(last + 1, 1, 1, tz=calendar.tz)
    for series in pages(
        lambda after: uow.series.in_venue(venue.id, start=start, end=end, after=after)
    ):
        if not series.skip_holidays:
            continue
        kept = {o.id for o in series.occurrences(start, end, calendar=new_opening)}
        for occurrence in series.occurrences(start, end, calendar=opening):
            if occurrence.id in kept:
                continue
            for registration in uow.registrations.for_occurrence(occurrence.id):
                if registration.is_active:
                    uow.registrations.update(
                        attrs.evolve(registration, state=RegistrationState.CANCELLED)
                    )
                    moved.append(
                        Moved(
                            "registration",
                            registration.id,
                            f"occurrence {occurrence.id}",
                            occurrence.start,
                            None,
                            f"its day became a public holiday: {en}",
                            f"活动当日为节假日，取消报名：{zh}",
                        )
                    )
    return moved


def retime(
    store: Store,
    calendar: WorkCalendar,
    *,
    at: pendulum.DateTime,
    closed_since: pendulum.DateTime | None = None,
    batch_size: int = 500,
) -> RetimeReport:
    """Count the store's working times again on ``calendar``, as it holds its years now.

    Run it when a provisional year is announced, and again when an announcement is corrected:
    every open case, and every case closed among those reported since ``closed_since`` (their
    on-time figures rest on their deadlines), gets its deadlines counted again from their start,
    pauses and extensions; an open case also gets its next escalation check. Each venue's
    opening calendar takes the calendar's days from ``at``'s year on. ``batch_size`` cases go in
    each unit of work, one venue with its registrations in each. The catalogue and escalation
    policy are the store's settings. Each case that moved gets a ``retime`` history entry.
    A deadline moved by a pause or an extension before gridgov kept them
    (:attr:`~gridgov.cases.model.Deadline.changes` empty) is left as it is.

    Args:
        store: The store.
        calendar: The working calendar as it is now: the announced years added or corrected.
        at: When it runs: the history entries' instant; occurrences before it are left alone.
        closed_since: Closed cases reported from this instant on are counted again too
            (default: 1 January of the year before ``at``'s).
        batch_size: Cases per unit of work, 1 to 10,000.

    Returns:
        What it looked at and what moved: record, old → new, why.

    Raises:
        ValidationError: On a naive instant or a bad batch size, or a calendar that announces
            a year without its statutory days off
            (:meth:`~gridgov.calendar.WorkCalendar.unlisted_statutory_days`).
        CalendarCoverageError: If a count needs a year ``calendar`` does not cover.
    """
    at = ensure_aware(at, "at")
    unlisted = calendar.unlisted_statutory_days()
    if unlisted:
        year, days = next(iter(unlisted.items()))
        listed = ", ".join(d.isoformat() for d in days[:5])
        raise ValidationError(
            "calendar",
            f"{year} is announced, but its statutory days off {listed} are not listed: "
            "re-timing on it would count them as working days; add the year's holidays",
        )
    if closed_since is None:
        closed_since = pendulum.datetime(at.in_timezone(calendar.tz).year - 1, 1, 1, tz=calendar.tz)
    closed_since = ensure_aware(closed_since, "closed_since")
    check_batch_size(batch_size)
    with store() as uow:
        roots = [cell.code for cell in uow.cells.tree().roots]
        try:
            settings = uow.settings.get()
        except NotFoundError:
            settings = Settings()
    workflow = CaseWorkflow(calendar, settings.catalogue, settings.escalation)
    moved: list[Moved] = []
    cases = venues = 0
    queries = (
        functools.partial(_open_cases, limit=batch_size),
        functools.partial(_closed_cases, since=closed_since, limit=batch_size),
    )
    for root in roots:
        for query in queries:
            after: str | None = None
            while True:
                batch, after, seen = retried(
                    functools.partial(_case_batch, store, workflow, query, root, at, after)
                )
                moved.extend(batch)
                cases += seen
                if after is None:
                    break
        with store() as uow:
            ids = [v.id for v in pages(functools.partial(_venues_in, uow, root))]
        for venue_id in ids:
            moved.extend(retried(functools.partial(_venue_unit, store, venue_id, calendar, at)))
            venues += 1
    _log.info(
        "retime at %s: %d cases, %d venues, %d moved", at.isoformat(), cases, venues, len(moved)
    )
    return RetimeReport(at, cases, venues, tuple(moved))


_Query = Callable[[UnitOfWork, str, str | None], Page[Case]]


def _open_cases(uow: UnitOfWork, root: str, after: str | None, *, limit: int) -> Page[Case]:
    return uow.cases.open_in_subtree(root, limit=limit, after=after)


def _closed_cases(
    uow: UnitOfWork, root: str, after: str | None, *, since: pendulum.DateTime, limit: int
) -> Page[Case]:
    """Return a page of the cases reported since ``since``; the open ones are left out."""
    page = uow.cases.reported_in_subtree(
        root, since=since, until=END_INSTANT, limit=limit, after=after
    )
    return Page(tuple(c for c in page.items if not c.is_open), page.next_cursor)


def _case_batch(
    store: Store,
    workflow: CaseWorkflow,
    query: _Query,
    root: str,
    at: pendulum.DateTime,
    after: str | None,
) -> tuple[list[Moved], str | None, int]:
    with store() as uow:
        page = query(uow, root, after)
        moved: list[Moved] = []
        for case in page.items:
            new, found = _retimed_case(workflow, case, at)
            if new != case:
                uow.cases.update(new)
            moved.extend(found)
        uow.commit()
    return moved, page.next_cursor, len(page.items)


def _venue_unit(
    store: Store, venue_id: str, calendar: WorkCalendar, at: pendulum.DateTime
) -> list[Moved]:
    with store() as uow:
        moved = _retimed_venue(uow, uow.venues.get(venue_id), calendar, at)
        uow.commit()
    return moved


def _venues_in(uow: UnitOfWork, root: str, after: str | None) -> Page[Venue]:
    return uow.venues.in_subtree(root, after=after)
