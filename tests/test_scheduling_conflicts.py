"""Tests for conflicts: overlaps in a space, closures, capacity, and planning a new series."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov.calendar import Period, WorkCalendar
from gridgov.errors import ValidationError
from gridgov.scheduling.conflicts import ConflictKind, conflicts, overlaps, plan_series
from gridgov.scheduling.series import ActivitySeries, Occurrence, OccurrenceChange, occurrence_id
from gridgov.scheduling.venues import Blackout, Space, Venue

TZ = "Asia/Shanghai"
SPLIT_DAY = (Period(dt.time(9), dt.time(12)), Period(dt.time(14), dt.time(18)))
OPENING = WorkCalendar(
    hours=dict.fromkeys(range(6), SPLIT_DAY),  # Monday to Saturday
    holidays={pendulum.Date(2026, 10, d) for d in range(1, 8)},
    workdays={pendulum.Date(2026, 9, 20)},
    years=(2026, 2026),
    tz=TZ,
)
MONDAY = pendulum.datetime(2026, 10, 12, 9, tz=TZ)
FIRE = Blackout(MONDAY.add(days=4, hours=1), MONDAY.add(days=4, hours=3), "消防检查")  # Fri 10-12
PAINT = Blackout(MONDAY.add(days=1, hours=5), MONDAY.add(days=1, hours=9), "粉刷墙面", space_id="b")
VENUE = Venue(
    id="v",
    name="明宫HUI客厅",
    cell_code="110105001001",
    opening=OPENING,
    spaces=(Space("a", "绘本馆", 20), Space("b", "多功能厅", 60)),
    blackouts=(FIRE, PAINT),
)


def occ(
    id: str,
    start: int,
    minutes: int = 60,
    *,
    space: str = "a",
    setup: int = 0,
    teardown: int = 0,
    **fields: Any,
) -> Occurrence:
    """Return occurrence ``id`` of series ``x`` in ``space``, ``start`` minutes after MONDAY."""
    begins = MONDAY.add(minutes=start)
    ends = begins.add(minutes=minutes)
    base: dict[str, Any] = {
        "id": id,
        "series_id": "x",
        "title": f"活动{id}",
        "venue_id": "v",
        "space_id": space,
        "start": begins,
        "end": ends,
        "original_start": begins,
        "busy_start": begins.subtract(minutes=setup),
        "busy_end": ends.add(minutes=teardown),
    }
    base.update(fields)
    return Occurrence(**base)


def pairs(items: list[Occurrence]) -> set[frozenset[str]]:
    """Return the pairs ``overlaps`` finds, as sets of ids."""
    return {frozenset((a.id, b.id)) for a, b in overlaps(items)}


# -- overlaps ----------------------------------------------------------------------------------


@st.composite
def occurrence_lists(draw: st.DrawFn) -> list[Occurrence]:
    """Draw occurrences in one to three spaces of two venues, with buffers, some cancelled."""
    spaces = ("a", "b", "c")[: draw(st.integers(1, 3))]
    return [
        occ(
            f"o{i}",
            draw(st.integers(0, 600)),
            draw(st.integers(1, 120)),
            space=draw(st.sampled_from(spaces)),
            setup=draw(st.sampled_from((0, 0, 10, 30))),
            teardown=draw(st.sampled_from((0, 0, 15, 30))),
            cancelled=draw(st.booleans()) and draw(st.booleans()),
            venue_id=draw(st.sampled_from(("v", "v", "w"))),
        )
        for i in range(draw(st.integers(0, 25)))
    ]


@settings(max_examples=300, deadline=None)
@given(occurrence_lists())
def test_overlaps_equals_a_check_of_every_pair(items: list[Occurrence]) -> None:
    """``overlaps`` finds exactly the pairs a brute-force check of every pair finds, once each."""
    expected = {
        frozenset((a.id, b.id))
        for a, b in itertools.combinations(items, 2)
        if not a.cancelled
        and not b.cancelled
        and (a.venue_id, a.space_id) == (b.venue_id, b.space_id)
        and a.busy_start < b.busy_end
        and b.busy_start < a.busy_end
    }
    found = list(overlaps(items))
    assert expected == {frozenset((a.id, b.id)) for a, b in found}
    assert len(expected) == len(found)
    assert all(a.busy_start <= b.busy_start for a, b in found)


def test_cancelled_occurrences_take_no_space() -> None:
    """A cancelled occurrence overlaps nothing."""
    items = [occ("o1", 0), occ("o2", 30, cancelled=True), occ("o3", 45)]
    assert {frozenset({"o1", "o3"})} == pairs(items)


def test_touching_occurrences_do_not_overlap() -> None:
    """One ending when the next starts is no conflict."""
    assert set() == pairs([occ("o1", 0), occ("o2", 60), occ("o3", 120, space="b")])


@pytest.mark.parametrize(
    ("first", "second"),
    [({"teardown": 10}, {}), ({}, {"setup": 10}), ({"teardown": 1}, {"setup": 1})],
    ids=["teardown", "setup", "both"],
)
def test_buffers_make_touching_occurrences_overlap(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    """A teardown after the first or a setup before the second makes them clash."""
    items = [occ("o1", 0, **first), occ("o2", 60, **second)]
    assert [("o1", "o2")] == [(a.id, b.id) for a, b in overlaps(items)]


def test_other_spaces_and_venues_do_not_overlap() -> None:
    """Occurrences at once in another space, or in a same-named space elsewhere, do not clash."""
    items = [occ("o1", 0), occ("o2", 0, space="b"), occ("o3", 0, venue_id="w")]
    assert set() == pairs(items)


def test_the_pair_starts_with_the_one_taking_the_space_first() -> None:
    """Whatever the input order, the first of a pair is the one whose busy time starts first."""
    items = [occ("late", 30), occ("early", 10, setup=0), occ("setup", 40, setup=40)]
    found = [(a.id, b.id) for a, b in overlaps(items)]
    assert {("setup", "early"), ("setup", "late"), ("early", "late")} == set(found)


# -- conflicts with the venue ------------------------------------------------------------------


def test_a_free_occurrence_has_no_conflict() -> None:
    """An occurrence within opening hours, outside blackouts and within capacity is fine."""
    assert [] == conflicts([occ("o1", 0, capacity=20), occ("o2", 5 * 60, 4 * 60)], VENUE)


@pytest.mark.parametrize(
    ("occurrence", "when"),
    [
        (occ("early", -60), "2026-10-12 08:00"),
        (occ("lunch", 150, 180), "2026-10-12 11:30"),
        (occ("noon", 180, 60), "2026-10-12 12:00"),
        (occ("setup", 0, setup=15), "2026-10-12 09:00"),
        (occ("teardown", 8 * 60, teardown=1), "2026-10-12 17:00"),
        (occ("sunday", 6 * 24 * 60), "2026-10-18 09:00"),
    ],
    ids=["before-opening", "across-lunch", "in-lunch", "setup", "teardown", "sunday"],
)
def test_closed(occurrence: Occurrence, when: str) -> None:
    """An occurrence whose busy time is not within one opening period is CLOSED, explained."""
    [conflict] = conflicts([occurrence], VENUE)
    expected = (
        ConflictKind.CLOSED,
        occurrence,
        f"明宫HUI客厅 is not open at {when} for the whole occurrence",
        f"明宫HUI客厅在{when}不开放",
        "非开放时间",
    )
    assert expected == (
        conflict.kind,
        conflict.occurrence,
        conflict.reason_en,
        conflict.reason_zh,
        conflict.kind.label_zh,
    )


@pytest.mark.parametrize(
    ("occurrence", "blackout"),
    [
        (occ("fire-a", 4 * 24 * 60 + 60), FIRE),
        (occ("fire-b", 4 * 24 * 60 + 150, 30, space="b"), FIRE),
        (occ("paint", 24 * 60 + 5 * 60, space="b"), PAINT),
        (occ("teardown", 4 * 24 * 60, teardown=1), FIRE),
    ],
)
def test_blackout(occurrence: Occurrence, blackout: Blackout) -> None:
    """An occurrence during a venue's or its space's blackout is a BLACKOUT, explained."""
    [conflict] = conflicts([occurrence], VENUE)
    expected = (
        ConflictKind.BLACKOUT,
        blackout,
        f"the space is closed then: {blackout.reason}",
        f"场地停用：{blackout.reason}",
        "场地停用",
    )
    assert expected == (
        conflict.kind,
        conflict.blackout,
        conflict.reason_en,
        conflict.reason_zh,
        conflict.kind.label_zh,
    )


def test_a_space_blackout_leaves_other_spaces_open() -> None:
    """Space ``b`` being painted does not close space ``a``."""
    assert [] == conflicts([occ("o1", 24 * 60 + 5 * 60)], VENUE)


def test_ending_when_a_blackout_starts_is_fine() -> None:
    """An occurrence ending as the fire inspection starts, without teardown, has no conflict."""
    assert [] == conflicts([occ("o1", 4 * 24 * 60)], VENUE)


def test_over_capacity() -> None:
    """More places than the space holds is OVER_CAPACITY, explained; as many is fine."""
    [conflict] = conflicts([occ("o1", 0, capacity=21), occ("o2", 60, capacity=20)], VENUE)
    expected = (
        ConflictKind.OVER_CAPACITY,
        "o1",
        "21 places in a space for 20",
        "报名名额21超过场地容量20",
        "超出容量",
    )
    assert expected == (
        conflict.kind,
        conflict.occurrence.id,
        conflict.reason_en,
        conflict.reason_zh,
        conflict.kind.label_zh,
    )


def test_overlap_is_explained() -> None:
    """An overlap names the occurrence it clashes with, when, and the space."""
    first, second = occ("o1", 0), occ("o2", 30)
    [conflict] = conflicts([second, first], VENUE)
    expected = (
        ConflictKind.OVERLAP,
        second,
        first,
        "活动o2 overlaps 活动o1 (2026-10-12 09:00) in space a",
        "与「活动o1」（2026-10-12 09:00）同一场地时间重叠",
        "场地冲突",
    )
    assert expected == (
        conflict.kind,
        conflict.occurrence,
        conflict.other,
        conflict.reason_en,
        conflict.reason_zh,
        conflict.kind.label_zh,
    )


def test_conflicts_ignore_cancelled_and_other_venues() -> None:
    """Cancelled occurrences and those of other venues raise no conflict with this venue."""
    items = [
        occ("o1", -120, cancelled=True),
        occ("o2", -120, venue_id="w"),
        occ("o3", 0),
        occ("o4", 0, venue_id="w"),
    ]
    assert [] == conflicts(items, VENUE)


def test_every_conflict_of_one_occurrence_is_reported() -> None:
    """An occurrence both over capacity and partly before opening has both conflicts."""
    kinds = [c.kind for c in conflicts([occ("o1", -30, capacity=99)], VENUE)]
    assert [ConflictKind.CLOSED, ConflictKind.OVER_CAPACITY] == kinds


# -- planning a series -------------------------------------------------------------------------

YOGA = ActivitySeries(
    id="yoga",
    title="太极拳",
    organiser="w2",
    venue_id="v",
    space_id="a",
    start=MONDAY.add(days=2, hours=1),  # Wednesdays 10:00-11:00
    minutes=60,
    rrule="FREQ=WEEKLY;BYDAY=WE",
)
WINDOW = (MONDAY.subtract(hours=9), MONDAY.add(weeks=2))
EXISTING = YOGA.occurrences(*WINDOW)
THURSDAY = MONDAY.add(days=3, hours=1, minutes=30)


def painting(**fields: Any) -> ActivitySeries:
    """Return the new series: weekdays 10:30-11:30 in ``a``, Thursday's moved into lunch."""
    base: dict[str, Any] = {
        "id": "paint",
        "title": "绘画课",
        "organiser": "w1",
        "venue_id": "v",
        "space_id": "a",
        "start": MONDAY.add(hours=1, minutes=30),
        "minutes": 60,
        "rrule": "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=5",
        "changes": [OccurrenceChange(THURSDAY, start=THURSDAY.add(hours=1))],
    }
    base.update(fields)
    return ActivitySeries(**base)


def day_ids(*days: int) -> list[str]:
    """Return the ids of the painting class on those days after MONDAY."""
    return [occurrence_id("paint", MONDAY.add(days=d, hours=1, minutes=30)) for d in days]


def test_plan_reports_clashes_and_changes_nothing() -> None:
    """Without skipping, the plan lists each clash and returns the series unchanged."""
    series = painting()
    plan = plan_series(series, VENUE, EXISTING, start=WINDOW[0], end=WINDOW[1])
    assert series == plan.series
    assert () == plan.skipped
    assert not plan.ok
    expected = {
        (day_ids(2)[0], ConflictKind.OVERLAP),
        (day_ids(3)[0], ConflictKind.CLOSED),
        (day_ids(4)[0], ConflictKind.BLACKOUT),
    }
    assert expected == {(c.occurrence.id, c.kind) for c in plan.clashes}
    [overlap] = [c for c in plan.clashes if c.kind is ConflictKind.OVERLAP]
    assert ("paint", "yoga") == (overlap.occurrence.series_id, overlap.other.series_id)  # type: ignore[union-attr]


def test_plan_skips_exactly_the_clashing_occurrences() -> None:
    """Skipping excludes the clashing occurrences (EXDATE) and leaves no conflict behind."""
    series = painting()
    plan = plan_series(series, VENUE, EXISTING, start=WINDOW[0], end=WINDOW[1], skip_conflicts=True)
    assert day_ids(2, 3, 4) == [o.id for o in plan.skipped]
    expected_exdates = {MONDAY.add(days=d, hours=1, minutes=30) for d in (2, 3, 4)}
    assert (frozenset(expected_exdates), ()) == (plan.series.exdates, plan.series.changes)
    kept = plan.series.occurrences(*WINDOW)
    assert day_ids(0, 1) == [o.id for o in kept]
    assert [] == conflicts([*kept, *EXISTING], VENUE)
    assert plan.ok
    assert (series.rrule, series.start) == (plan.series.rrule, plan.series.start)


def test_a_plan_without_clashes() -> None:
    """A series that fits is ok as given, with nothing skipped."""
    series = painting(space_id="b", changes=(), rrule="FREQ=DAILY;BYDAY=MO,TU,WE,TH;COUNT=4")
    plan = plan_series(series, VENUE, EXISTING, start=WINDOW[0], end=WINDOW[1], skip_conflicts=True)
    assert (series, (), (), True) == (plan.series, plan.clashes, plan.skipped, plan.ok)


def test_a_plan_ignores_the_stored_version_of_the_same_series() -> None:
    """Occurrences of the series itself among the existing ones are not clashes."""
    series = painting(space_id="b", changes=(), rrule="FREQ=DAILY;BYDAY=MO,TU,WE,TH;COUNT=4")
    stored = series.occurrences(*WINDOW)
    assert () == plan_series(series, VENUE, stored, start=WINDOW[0], end=WINDOW[1]).clashes


def test_a_plan_for_another_venue_is_refused() -> None:
    """Planning a series of venue ``w`` against venue ``v`` names ``venue_id``."""
    series = painting(venue_id="w", capacity=99)
    with pytest.raises(ValidationError) as info:
        plan_series(series, VENUE, EXISTING, start=WINDOW[0], end=WINDOW[1])
    assert "venue_id" == info.value.path


def test_a_plan_for_a_space_the_venue_lacks_is_refused() -> None:
    """Planning a series in a space the venue lacks is a ValidationError, as documented."""
    series = painting(space_id="zz", changes=())
    with pytest.raises(ValidationError) as info:
        plan_series(series, VENUE, EXISTING, start=WINDOW[0], end=WINDOW[1])
    assert "space_id" == info.value.path


@st.composite
def plans(draw: st.DrawFn) -> tuple[ActivitySeries, list[Occurrence]]:
    """Draw a new daily series and occurrences already booked in the venue in its fortnight."""
    series = ActivitySeries(
        id="new",
        title="新活动",
        organiser="w1",
        venue_id="v",
        space_id=draw(st.sampled_from(("a", "b"))),
        start=MONDAY.add(minutes=30 * draw(st.integers(-2, 17))),
        minutes=draw(st.sampled_from((30, 60, 90, 150))),
        rrule=f"FREQ=DAILY;COUNT={draw(st.integers(1, 13))}",
        setup_minutes=draw(st.sampled_from((0, 0, 15))),
        teardown_minutes=draw(st.sampled_from((0, 0, 15))),
        capacity=draw(st.sampled_from((None, 10, 30, 70))),
    )
    existing = [
        occ(
            f"e{i}",
            24 * 60 * draw(st.integers(0, 13)) + 15 * draw(st.integers(0, 36)),
            draw(st.sampled_from((30, 60, 120))),
            space=draw(st.sampled_from(("a", "b"))),
            setup=draw(st.sampled_from((0, 15))),
            series_id=f"s{i}",
        )
        for i in range(draw(st.integers(0, 12)))
    ]
    return series, existing


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_skipping_removes_exactly_the_clashing_occurrences(
    plan_input: tuple[ActivitySeries, list[Occurrence]],
) -> None:
    """The skipped occurrences are those with clashes, and what is kept clashes with nothing."""
    series, existing = plan_input
    window = (MONDAY.subtract(hours=9), MONDAY.add(weeks=2, days=1))
    reported = plan_series(series, VENUE, existing, start=window[0], end=window[1])
    skipped = plan_series(
        series, VENUE, existing, start=window[0], end=window[1], skip_conflicts=True
    )
    clashing = {c.occurrence.id for c in reported.clashes}
    assert all(c.occurrence.series_id == "new" for c in reported.clashes)
    assert clashing == {o.id for o in skipped.skipped}
    assert series.exdates | {o.original_start for o in skipped.skipped} == skipped.series.exdates
    kept = skipped.series.occurrences(*window)
    everything = series.occurrences(*window)
    assert {o.id for o in everything} - clashing == {o.id for o in kept}
    assert [] == [c for c in conflicts([*kept, *existing], VENUE) if "new" in _series_of(c)]
    assert skipped.ok
    assert reported.ok == (not clashing)


def _series_of(conflict: Any) -> set[str]:
    """Return the series a conflict involves."""
    found = {conflict.occurrence.series_id}
    if conflict.other is not None:
        found.add(conflict.other.series_id)
    return found
