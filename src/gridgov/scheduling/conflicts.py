"""Conflicts: occurrences sharing a space at once, outside opening hours, or in a blackout.

Overlaps are found by a sweep over the occurrences sorted by when their space is taken (setup
and teardown buffers included): O(n log n) for sorting plus the pairs found, never a comparison
of every pair.
"""

from __future__ import annotations

import enum
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator

import attrs
import pendulum

from gridgov.errors import ValidationError
from gridgov.scheduling.series import ActivitySeries, Occurrence
from gridgov.scheduling.venues import Blackout, Venue

__all__ = ["Conflict", "ConflictKind", "SeriesPlan", "conflicts", "overlaps", "plan_series"]


class ConflictKind(enum.Enum):
    """Why an occurrence cannot happen as planned."""

    OVERLAP = "overlap"
    CLOSED = "closed"
    BLACKOUT = "blackout"
    OVER_CAPACITY = "over_capacity"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "overlap": "场地冲突",
            "closed": "非开放时间",
            "blackout": "场地停用",
            "over_capacity": "超出容量",
        }[self.value]


@attrs.frozen
class Conflict:
    """One conflict, explained.

    Args:
        kind: What kind.
        occurrence: The occurrence that cannot happen as planned.
        other: For an overlap, the occurrence it clashes with.
        blackout: For a blackout, the closure.
        reason_en: Why, in English.
        reason_zh: Why, in Chinese.
    """

    kind: ConflictKind
    occurrence: Occurrence
    other: Occurrence | None = None
    blackout: Blackout | None = None
    reason_en: str = ""
    reason_zh: str = ""


def _when(o: Occurrence) -> str:
    return o.start.strftime("%Y-%m-%d %H:%M")  # in the series' time zone


def overlaps(occurrences: Iterable[Occurrence]) -> Iterator[tuple[Occurrence, Occurrence]]:
    """Yield each pair of occurrences that take the same space at the same time.

    Cancelled occurrences take no space. Each pair is yielded once, the one taking the space
    first as the first element.
    """
    by_space: dict[tuple[str, str], list[Occurrence]] = defaultdict(list)
    for o in occurrences:
        if not o.cancelled:
            by_space[(o.venue_id, o.space_id)].append(o)
    for items in by_space.values():
        items.sort(key=lambda o: (o.busy_start, o.busy_end, o.id))
        active: list[tuple[pendulum.DateTime, int, Occurrence]] = []  # heap by busy_end
        for i, o in enumerate(items):
            while active and active[0][0] <= o.busy_start:
                heapq.heappop(active)
            for _, _, earlier in active:
                yield earlier, o
            heapq.heappush(active, (o.busy_end, i, o))


def conflicts(occurrences: Iterable[Occurrence], venue: Venue) -> list[Conflict]:
    """Return every conflict among ``occurrences`` of ``venue``: overlaps, closures, capacity.

    Raises:
        CalendarCoverageError: If an occurrence lies in a year the venue's calendar does not
            cover.
    """
    items = [o for o in occurrences if not o.cancelled and o.venue_id == venue.id]
    found = [
        Conflict(
            ConflictKind.OVERLAP,
            b,
            other=a,
            reason_en=f"{b.title} overlaps {a.title} ({_when(a)}) in space {b.space_id}",
            reason_zh=f"与「{a.title}」（{_when(a)}）同一场地时间重叠",
        )
        for a, b in overlaps(items)
    ]
    for o in items:
        found.extend(_venue_conflicts(o, venue))
    return found


def _venue_conflicts(o: Occurrence, venue: Venue) -> Iterator[Conflict]:
    if not venue.is_open(o.busy_start, o.busy_end):
        yield Conflict(
            ConflictKind.CLOSED,
            o,
            reason_en=f"{venue.name} is not open at {_when(o)} for the whole occurrence",
            reason_zh=f"{venue.name}在{_when(o)}不开放",
        )
    blackout = venue.blackout_during(o.space_id, o.busy_start, o.busy_end)
    if blackout is not None:
        yield Conflict(
            ConflictKind.BLACKOUT,
            o,
            blackout=blackout,
            reason_en=f"the space is closed then: {blackout.reason}",
            reason_zh=f"场地停用：{blackout.reason}",
        )
    space = venue.space(o.space_id)
    if o.capacity is not None and o.capacity > space.capacity:
        yield Conflict(
            ConflictKind.OVER_CAPACITY,
            o,
            reason_en=f"{o.capacity} places in a space for {space.capacity}",
            reason_zh=f"报名名额{o.capacity}超过场地容量{space.capacity}",
        )


@attrs.frozen
class SeriesPlan:
    """What checking a new series against a venue found.

    Args:
        series: The series as it can be stored: with the clashing occurrences excluded (EXDATE)
            when asked to skip them, else as given.
        clashes: The conflicts of its occurrences, with each other and with ``existing``.
        skipped: The occurrences excluded to avoid them.
    """

    series: ActivitySeries
    clashes: tuple[Conflict, ...]
    skipped: tuple[Occurrence, ...]

    @property
    def ok(self) -> bool:
        """Return whether the series as planned has no conflict left."""
        return not self.clashes or bool(self.skipped)


def plan_series(
    series: ActivitySeries,
    venue: Venue,
    existing: Iterable[Occurrence],
    *,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    skip_conflicts: bool = False,
) -> SeriesPlan:
    """Check a new series' occurrences in ``[start, end)`` against the venue and what is booked.

    Args:
        series: The new series.
        venue: Its venue.
        existing: The occurrences already booked in the venue over the window.
        start: The window's start.
        end: The window's end (e.g. a year ahead, or the series' last end).
        skip_conflicts: Exclude each clashing occurrence of the new series (as an EXDATE)
            instead of only reporting it.

    Returns:
        The plan: the series to store, its clashes, what was skipped.

    Raises:
        ValidationError: If the series names a space the venue lacks, or needs a calendar.
        CalendarCoverageError: If the window reaches a year the venue's calendar does not cover.
    """
    if series.venue_id != venue.id:
        raise ValidationError("venue_id", "the series is of another venue")
    if series.space_id not in {s.id for s in venue.spaces}:
        raise ValidationError("space_id", "the venue has no such space")
    mine = series.occurrences(start, end, calendar=venue.opening)
    others = [o for o in existing if o.series_id != series.id]
    clashes: list[Conflict] = [
        c
        for c in conflicts([*mine, *others], venue)
        if c.occurrence.series_id == series.id
        or (c.other is not None and c.other.series_id == series.id)
    ]
    clashes = [_ours_first(c, series.id) for c in clashes]
    if not skip_conflicts or not clashes:
        return SeriesPlan(series, tuple(clashes), ())
    bad = {c.occurrence.id: c.occurrence for c in clashes}
    skipped = tuple(sorted(bad.values(), key=lambda o: o.start))
    kept = attrs.evolve(
        series,
        exdates=series.exdates | {o.original_start for o in skipped},
        changes=tuple(
            c for c in series.changes if c.original_start not in {o.original_start for o in skipped}
        ),
    )
    return SeriesPlan(kept, tuple(clashes), skipped)


def _ours_first(c: Conflict, series_id: str) -> Conflict:
    """Return an overlap with the new series' occurrence as ``occurrence``."""
    if c.other is not None and c.occurrence.series_id != series_id:
        return attrs.evolve(
            c,
            occurrence=c.other,
            other=c.occurrence,
            reason_en=f"{c.other.title} overlaps {c.occurrence.title} ({_when(c.occurrence)})",
            reason_zh=f"与「{c.occurrence.title}」（{_when(c.occurrence)}）同一场地时间重叠",
        )
    return c
