"""Tests for recurring activities: rules, occurrences, changes, splits, holidays and bad input."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

import attrs
import pendulum
import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gridgov.calendar import WorkCalendar
from gridgov.care.criteria import AgeAtLeast
from gridgov.errors import CalendarCoverageError, ValidationError
from gridgov.scheduling.series import ActivitySeries, Occurrence, OccurrenceChange, occurrence_id

TZ = "Asia/Shanghai"
BERLIN = "Europe/Berlin"
START = pendulum.datetime(2026, 3, 4, 9, 30, tz=TZ)  # a Wednesday
CHINA = WorkCalendar.china()
EVER = (START.subtract(days=1), START.add(years=3))


def series(**fields: Any) -> ActivitySeries:
    """Return series ``s1``: an hour in space ``a`` of venue ``v`` from START, with ``fields``."""
    base: dict[str, Any] = {
        "id": "s1",
        "title": "自闭症儿童绘画课",
        "organiser": "w1",
        "venue_id": "v",
        "space_id": "a",
        "start": START,
        "minutes": 60,
    }
    base.update(fields)
    return ActivitySeries(**base)


def starts(
    s: ActivitySeries,
    window: tuple[pendulum.DateTime, pendulum.DateTime] = EVER,
    **kwargs: Any,
) -> list[pendulum.DateTime]:
    """Return the starts of ``s``'s occurrences in ``window``."""
    return [o.start for o in s.occurrences(*window, **kwargs)]


def weeks(n: int, first: pendulum.DateTime = START) -> list[pendulum.DateTime]:
    """Return ``n`` weekly starts from ``first``."""
    return [first.add(weeks=i) for i in range(n)]


def stamp(instant: dt.datetime) -> str:
    """Return ``instant`` as an RFC 5545 UTC stamp, written independently of the library."""
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def utc(instant: dt.datetime) -> dt.datetime:
    """Return ``instant`` as a stdlib datetime in UTC."""
    return dt.datetime.fromtimestamp(instant.timestamp(), tz=dt.UTC)


# -- the rule ----------------------------------------------------------------------------------


def test_weekly_until_includes_the_last_occurrence() -> None:
    """A weekly rule with UNTIL at the last start keeps that start (UNTIL is inclusive)."""
    s = series(rrule="FREQ=WEEKLY;UNTIL=20260401T013000Z")
    assert weeks(5) == starts(s)
    assert START.add(weeks=4, minutes=60) == s.last_end


def test_until_as_a_local_date_is_stored_in_utc() -> None:
    """UNTIL as a date without Z is read as the end of that day in ``tz`` and stored in UTC."""
    s = series(rrule="FREQ=WEEKLY;BYDAY=WE;UNTIL=20260401")
    assert "FREQ=WEEKLY;BYDAY=WE;UNTIL=20260401T155959Z" == s.rrule
    assert weeks(5) == starts(s)


def test_until_as_a_local_date_time_is_stored_in_utc() -> None:
    """UNTIL as a date-time without Z is local time; the occurrence at that instant is kept."""
    first = pendulum.datetime(2026, 3, 4, 9, 30, tz=BERLIN)
    s = series(rrule="FREQ=WEEKLY;UNTIL=20260401T093000", tz=BERLIN, start=first)
    assert "FREQ=WEEKLY;UNTIL=20260401T073000Z" == s.rrule  # CEST from 29 March
    assert weeks(5, first) == starts(s)


def test_the_rrule_prefix_is_dropped() -> None:
    """A rule given with its ``RRULE:`` prefix is stored without it."""
    assert "FREQ=WEEKLY;COUNT=3" == series(rrule="RRULE:FREQ=WEEKLY;COUNT=3").rrule


def test_count() -> None:
    """COUNT=3 gives three occurrences; the last ends an hour after the third start."""
    s = series(rrule="FREQ=WEEKLY;COUNT=3")
    assert weeks(3) == starts(s)
    assert START.add(weeks=2, minutes=60) == s.last_end


def test_no_rule_is_a_single_occurrence() -> None:
    """Without a rule a series has one occurrence, at its start."""
    s = series()
    occurrences = s.occurrences(*EVER)
    assert [START] == [o.start for o in occurrences]
    assert ["s1@20260304T013000Z"] == [o.id for o in occurrences]
    assert START.add(minutes=60) == s.last_end
    assert [] == starts(s, (START.add(minutes=60), START.add(days=1)))


def test_a_never_ending_rule_has_no_last_end() -> None:
    """A rule with neither COUNT nor UNTIL never stops: ``last_end`` is None."""
    s = series(rrule="FREQ=WEEKLY;BYDAY=WE")
    assert s.last_end is None
    far = pendulum.datetime(2040, 1, 1, tz=TZ)
    assert [pendulum.datetime(2040, 1, 4, 9, 30, tz=TZ)] == starts(s, (far, far.add(days=7)))


def test_last_end_counts_an_occurrence_moved_later() -> None:
    """Moving the last occurrence a day later moves ``last_end`` with it."""
    last = START.add(weeks=2)
    s = series(
        rrule="FREQ=WEEKLY;COUNT=3",
        changes=[OccurrenceChange(last, start=last.add(days=1), minutes=90)],
    )
    assert last.add(days=1, minutes=90) == s.last_end


def test_last_end_counts_a_longer_last_occurrence() -> None:
    """Making the last occurrence three hours long makes ``last_end`` three hours after it."""
    last = START.add(weeks=2)
    s = series(rrule="FREQ=WEEKLY;COUNT=3", changes=[OccurrenceChange(last, minutes=180)])
    assert last.add(minutes=180) == s.last_end


def test_the_window_is_half_open() -> None:
    """Windows are half-open: an occurrence ending at the start or starting at the end is out."""
    s = series(rrule="FREQ=DAILY;COUNT=3")
    day2 = START.add(days=1)
    assert [day2] == starts(s, (day2.add(minutes=59), day2.add(minutes=61)))
    assert [] == starts(s, (day2.add(minutes=60), day2.add(hours=23)))
    assert [day2] == starts(s, (day2.subtract(hours=1), day2.add(days=1)))


def test_occurrences_carry_the_series_fields() -> None:
    """An occurrence knows its series, title, place, capacity and buffered busy time."""
    s = series(rrule="FREQ=DAILY;COUNT=2", capacity=12, setup_minutes=15, teardown_minutes=10)
    expected = Occurrence(
        id="s1@20260305T013000Z",
        series_id="s1",
        title="自闭症儿童绘画课",
        venue_id="v",
        space_id="a",
        start=START.add(days=1),
        end=START.add(days=1, minutes=60),
        original_start=START.add(days=1),
        busy_start=START.add(days=1).subtract(minutes=15),
        busy_end=START.add(days=1, minutes=70),
        capacity=12,
    )
    assert [expected] == s.occurrences(START.add(hours=2), START.add(days=2))


# -- against dateutil --------------------------------------------------------------------------

ZONES = (TZ, BERLIN, "America/New_York")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def zone_of(instant: pendulum.DateTime) -> str:
    """Return the name of ``instant``'s time zone."""
    name = instant.timezone_name
    assert name is not None
    return name


@st.composite
def starts_in_daytime(draw: st.DrawFn) -> pendulum.DateTime:
    """Draw a start between 08:00 and 19:45 local time, away from any DST change at night."""
    day = draw(st.dates(dt.date(2025, 6, 1), dt.date(2026, 6, 30)))
    tz = draw(st.sampled_from(ZONES))
    return pendulum.datetime(
        day.year,
        day.month,
        day.day,
        draw(st.integers(8, 19)),
        draw(st.sampled_from((0, 15, 30, 45))),
        tz=tz,
    )


@st.composite
def rules(draw: st.DrawFn, start: pendulum.DateTime, limits: tuple[str, ...]) -> tuple[str, str]:
    """Draw a rule for ``start``: the text a user gives, and the same rule with UNTIL in UTC."""
    freq = draw(st.sampled_from(("DAILY", "WEEKLY", "MONTHLY")))
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(1, 3))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))
        if freq == "MONTHLY" and draw(st.booleans()):
            days = [draw(st.sampled_from(("1", "2", "-1"))) + d for d in days]
        parts.append("BYDAY=" + ",".join(days))
    limit = draw(st.sampled_from(limits))
    if limit == "count":
        parts.append(f"COUNT={draw(st.integers(1, 25))}")
    elif limit == "until":
        until = start.add(days=draw(st.integers(0, 200)))
        until = max(start, until.add(minutes=draw(st.integers(-60, 60))))
        given_as = (
            stamp(until)
            if draw(st.booleans())
            else until.in_tz(zone_of(start)).format("YYYYMMDD[T]HHmmss")
        )
        return ";".join([*parts, f"UNTIL={given_as}"]), ";".join([*parts, f"UNTIL={stamp(until)}"])
    text = ";".join(parts)
    return text, text


def by_dateutil(
    rule: str, start: pendulum.DateTime, window_end: pendulum.DateTime
) -> list[dt.datetime]:
    """Return the rule's starts before ``window_end``, in UTC, straight from dateutil."""
    local = dt.datetime.fromtimestamp(start.timestamp(), tz=zoneinfo.ZoneInfo(zone_of(start)))
    end = utc(window_end)
    found = []
    for d in rrulestr(f"RRULE:{rule}", dtstart=local):
        if utc(d) >= end:
            break
        found.append(utc(d))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_occurrences_equal_what_dateutil_gives(data: st.DataObject) -> None:
    """The occurrences in a window are dateutil's expansion of the rule, less the EXDATEs."""
    start = data.draw(starts_in_daytime())
    text, canonical = data.draw(rules(start, ("count", "until", "none")))
    minutes = data.draw(st.integers(15, 240))
    window_start = start.add(
        days=data.draw(st.integers(-30, 300)), minutes=data.draw(st.integers(0, 1439))
    )
    window_end = window_start.add(minutes=data.draw(st.integers(1, 60 * 24 * 60)))
    every = by_dateutil(canonical, start, window_end)
    excluded = set(data.draw(st.lists(st.sampled_from(every), max_size=5))) if every else set()
    s = series(
        start=start,
        tz=zone_of(start),
        minutes=minutes,
        rrule=text,
        exdates={pendulum.instance(d) for d in excluded},  # EXDATEs in UTC match local starts
    )
    expected = [
        (f"s1@{stamp(d)}", d)
        for d in every
        if d not in excluded and d + dt.timedelta(minutes=minutes) > utc(window_start)
    ]
    assert expected == [(o.id, utc(o.start)) for o in s.occurrences(window_start, window_end)]


def test_wall_clock_stays_put_across_daylight_saving() -> None:
    """A weekly 09:30 in Berlin stays 09:30 local across the last Sunday of March; UTC moves."""
    first = pendulum.datetime(2026, 3, 22, 9, 30, tz=BERLIN)  # a week before the change
    s = series(start=first, tz=BERLIN, rrule="FREQ=WEEKLY;COUNT=3")
    occurrences = s.occurrences(first.subtract(days=1), first.add(weeks=3))
    assert [(9, 30)] * 3 == [(o.start.in_tz(BERLIN).hour, o.start.minute) for o in occurrences]
    assert [1, 2, 2] == [o.start.offset_hours for o in occurrences]
    assert [
        "s1@20260322T083000Z",
        "s1@20260329T073000Z",
        "s1@20260405T073000Z",
    ] == [o.id for o in occurrences]


def test_an_occurrence_across_the_spring_forward_is_in_a_window_after_it() -> None:
    """A Berlin 01:45 hour ends 03:45 when clocks spring forward: a window from 03:30 holds it."""
    first = pendulum.datetime(2026, 3, 27, 1, 45, tz=BERLIN)
    s = series(start=first, tz=BERLIN, rrule="FREQ=DAILY;COUNT=5")
    window_start = pendulum.datetime(2026, 3, 29, 3, 30, tz=BERLIN)
    assert [pendulum.datetime(2026, 3, 29, 1, 45, tz=BERLIN)] == starts(
        s, (window_start, window_start.add(minutes=10))
    )


# -- stable ids and changes --------------------------------------------------------------------


def test_ids_are_the_series_and_the_original_start_in_utc() -> None:
    """An occurrence's id is ``series@UTC stamp of its original start``."""
    assert "s1@20260304T013000Z" == occurrence_id("s1", START)
    assert [f"s1@202603{d:02}T013000Z" for d in (4, 11, 18)] == [
        o.id for o in series(rrule="FREQ=WEEKLY;COUNT=3").occurrences(*EVER)
    ]


def test_ids_do_not_change_when_occurrences_are_moved_or_cancelled() -> None:
    """Moving one occurrence and cancelling another changes no occurrence's id."""
    s = series(rrule="FREQ=WEEKLY;COUNT=6")
    before = [o.id for o in s.occurrences(*EVER, include_cancelled=True)]
    third, fifth = START.add(weeks=2), START.add(weeks=4)
    after = s.changed(OccurrenceChange(third, start=third.add(days=1, hours=2))).changed(
        OccurrenceChange(fifth, cancelled=True)
    )
    moved = after.occurrences(*EVER, include_cancelled=True)
    assert sorted(before) == sorted(o.id for o in moved)
    assert occurrence_id("s1", third) == after.occurrence(third).id
    assert [False, False, True, False, False, False] == [o.moved for o in moved]
    assert [False, False, False, False, True, False] == [o.cancelled for o in moved]


@pytest.mark.parametrize(
    ("change", "start", "minutes", "space"),
    [
        (OccurrenceChange(START.add(weeks=1), start=START.add(weeks=1, hours=3)), 3 * 60, 60, "a"),
        (OccurrenceChange(START.add(weeks=1), minutes=90), 0, 90, "a"),
        (OccurrenceChange(START.add(weeks=1), space_id="b", note="换教室"), 0, 60, "b"),
    ],
    ids=["time", "length", "space"],
)
def test_a_move(change: OccurrenceChange, start: int, minutes: int, space: str) -> None:
    """A change moves one occurrence in time, length or space and flags it moved."""
    s = series(rrule="FREQ=WEEKLY;COUNT=3").changed(change)
    occ = s.occurrence(START.add(weeks=1))
    expected = (START.add(weeks=1, minutes=start), minutes, space, True, START.add(weeks=1))
    assert expected == (
        occ.start,
        (occ.end - occ.start).in_minutes(),
        occ.space_id,
        occ.moved,
        occ.original_start,
    )
    assert [False, True, False] == [o.moved for o in s.occurrences(*EVER)]


def test_a_change_that_changes_nothing_is_not_moved() -> None:
    """A change to the rule's own time, length and space leaves the occurrence unmoved."""
    s = series(rrule="FREQ=WEEKLY;COUNT=3").changed(
        OccurrenceChange(START.add(weeks=1), start=START.add(weeks=1), minutes=60, space_id="a")
    )
    assert not s.occurrence(START.add(weeks=1)).moved


def test_cancel() -> None:
    """A cancelled occurrence is left out, or returned flagged when asked for."""
    s = series(rrule="FREQ=WEEKLY;COUNT=3").changed(
        OccurrenceChange(START.add(weeks=1), cancelled=True, note="台风停课")
    )
    assert [START, START.add(weeks=2)] == starts(s)
    assert [False, True, False] == [
        o.cancelled for o in s.occurrences(*EVER, include_cancelled=True)
    ]
    assert s.occurrence(START.add(weeks=1)).cancelled


def test_a_later_change_replaces_an_earlier_one() -> None:
    """``changed`` twice for one occurrence keeps the second change only."""
    second = START.add(weeks=1)
    s = (
        series(rrule="FREQ=WEEKLY;COUNT=3")
        .changed(OccurrenceChange(second, cancelled=True))
        .changed(OccurrenceChange(second, start=second.add(hours=1)))
    )
    assert (OccurrenceChange(second, start=second.add(hours=1)),) == s.changes
    assert second.add(hours=1) == s.occurrence(second).start


def test_moved_into_a_window() -> None:
    """An occurrence moved from weeks away into a window shows in it, under its own id."""
    s = series(rrule="FREQ=WEEKLY;COUNT=6")
    window = (START.add(weeks=1, days=1), START.add(weeks=1, days=2))
    assert [] == starts(s, window)
    s = s.changed(OccurrenceChange(START.add(weeks=5), start=window[0].add(hours=1)))
    assert [occurrence_id("s1", START.add(weeks=5))] == [o.id for o in s.occurrences(*window)]


def test_moved_out_of_a_window() -> None:
    """An occurrence moved out of a window no longer shows in it."""
    window = (START.subtract(hours=1), START.add(days=1))
    s = series(rrule="FREQ=WEEKLY;COUNT=3")
    assert [START] == starts(s, window)
    assert [] == starts(s.changed(OccurrenceChange(START, start=START.add(days=3))), window)


def test_a_longer_occurrence_shows_in_a_window_it_now_reaches() -> None:
    """An occurrence made three hours long overlaps a window starting two hours after it."""
    second = START.add(days=1)
    s = series(rrule="FREQ=DAILY;COUNT=5", changes=[OccurrenceChange(second, minutes=180)])
    assert [second] == starts(s, (second.add(hours=2), second.add(hours=2, minutes=30)))


def test_occurrence() -> None:
    """``occurrence`` returns the occurrence at an original start, refusing other instants."""
    s = series(rrule="FREQ=WEEKLY;COUNT=3", exdates={START.add(weeks=2)})
    assert START.add(weeks=1, minutes=60) == s.occurrence(START.add(weeks=1).in_tz("UTC")).end
    for instant in (START.add(days=1), START.add(weeks=3), START.add(weeks=2)):
        with pytest.raises(ValidationError) as info:
            s.occurrence(instant)
        assert "original_start" == info.value.path


# -- this and following ------------------------------------------------------------------------


def test_split_with_until() -> None:
    """Split at the third of five: the head ends before it (UNTIL), the tail has the rest."""
    s = series(rrule="FREQ=WEEKLY;UNTIL=20260401T155959Z")
    at = START.add(weeks=2)
    head, tail = s.split(at)
    assert "FREQ=WEEKLY;UNTIL=20260318T012959Z" == head.rrule
    assert weeks(2) == starts(head)
    assert (at, "FREQ=WEEKLY;UNTIL=20260401T155959Z") == (tail.start, tail.rrule)
    assert weeks(3, at) == starts(tail)
    assert ("s1", "s1.20260318T013000Z", 0) == (head.id, tail.id, tail.version)


def test_split_a_never_ending_series() -> None:
    """Splitting a series without end gives a head with UNTIL and a tail without end."""
    head, tail = series(rrule="FREQ=WEEKLY").split(START.add(weeks=2), new_id="s2")
    assert "FREQ=WEEKLY;UNTIL=20260318T012959Z" == head.rrule
    assert ("s2", "FREQ=WEEKLY", None) == (tail.id, tail.rrule, tail.last_end)


def test_split_with_count() -> None:
    """Splitting six weekly occurrences at the fourth: head COUNT=3, tail COUNT=3."""
    s = series(rrule="FREQ=WEEKLY;COUNT=6")
    head, tail = s.split(START.add(weeks=3))
    assert ("FREQ=WEEKLY;COUNT=3", "FREQ=WEEKLY;COUNT=3") == (head.rrule, tail.rrule)
    assert weeks(6) == starts(head) + starts(tail)


def test_split_partitions_changes_and_exdates() -> None:
    """Changes and EXDATEs before the split stay with the head; the rest go with the tail."""
    moved = OccurrenceChange(START.add(weeks=1), start=START.add(weeks=1, days=1))
    cancelled = OccurrenceChange(START.add(weeks=4), cancelled=True)
    s = series(
        rrule="FREQ=WEEKLY",
        changes=[moved, cancelled],
        exdates={START, START.add(weeks=3)},
    )
    head, tail = s.split(START.add(weeks=2))
    assert ((moved,), frozenset({START})) == (head.changes, head.exdates)
    assert ((cancelled,), frozenset({START.add(weeks=3)})) == (tail.changes, tail.exdates)


def test_split_refuses_what_is_not_a_later_occurrence() -> None:
    """Splitting at the first start, off the rule, or a single occurrence names ``at``."""
    for s, at in (
        (series(rrule="FREQ=WEEKLY"), START),
        (series(rrule="FREQ=WEEKLY"), START.add(days=1)),
        (series(), START),
    ):
        with pytest.raises(ValidationError) as info:
            s.split(at)
        assert "at" == info.value.path


def test_split_a_series_with_a_long_id() -> None:
    """The default tail id of a series with a 64-character id is still a valid id."""
    s = series(id="painting.class.01-" + "x" * 46, rrule="FREQ=WEEKLY")
    assert 64 == len(s.id)
    _, tail = s.split(START.add(weeks=1))
    assert tail.id.endswith(".20260311T013000Z")


@st.composite
def split_cases(
    draw: st.DrawFn, limits: tuple[str, ...]
) -> tuple[ActivitySeries, pendulum.DateTime]:
    """Draw a series with EXDATEs and changes, and a later original start to split it at."""
    start = draw(starts_in_daytime())
    text, _ = draw(rules(start, limits))
    plain = series(start=start, tz=zone_of(start), rrule=text)
    originals = [o.original_start for o in plain.occurrences(start, start.add(years=2))]
    assume(len(originals) >= 2)
    picked = draw(st.lists(st.sampled_from(originals), unique=True, max_size=6))
    exdates = set(picked[:2])
    changes = [
        OccurrenceChange(d, start=d.add(hours=draw(st.integers(-72, 72))))
        if draw(st.booleans())
        else OccurrenceChange(d, cancelled=True)
        for d in picked[2:]
    ]
    s = series(start=start, tz=zone_of(start), rrule=text, exdates=exdates, changes=changes)
    return s, draw(st.sampled_from(originals[1:]))


def occurrence_keys(
    window: tuple[pendulum.DateTime, pendulum.DateTime], *parts: ActivitySeries
) -> list[tuple[Any, ...]]:
    """Return what the occurrences of ``parts`` in ``window`` look like, ids aside, sorted."""
    found = [
        (o.original_start, o.start, o.end, o.space_id, o.cancelled, o.moved)
        for s in parts
        for o in s.occurrences(*window, include_cancelled=True)
    ]
    return sorted(found)


def check_split(s: ActivitySeries, at: pendulum.DateTime) -> None:
    """Check that splitting ``s`` at ``at`` loses, adds and moves no occurrence."""
    head, tail = s.split(at)
    window = (s.start.subtract(days=5), s.start.add(years=3))
    assert occurrence_keys(window, s) == occurrence_keys(window, head, tail)
    assert (s.exdates, frozenset()) == (head.exdates | tail.exdates, head.exdates & tail.exdates)
    assert set(s.changes) == set(head.changes) | set(tail.changes)
    assert all(c.original_start < at for c in head.changes)
    assert all(c.original_start >= at for c in tail.changes)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(split_cases(("until", "none")))
def test_split_with_until_keeps_every_occurrence(
    case: tuple[ActivitySeries, pendulum.DateTime],
) -> None:
    """Head and tail of a split (UNTIL or no end) hold exactly the original occurrences."""
    check_split(*case)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(split_cases(("count",)))
def test_split_with_count_keeps_every_occurrence(
    case: tuple[ActivitySeries, pendulum.DateTime],
) -> None:
    """Head and tail of a split (COUNT) hold exactly the original occurrences."""
    check_split(*case)


# -- holidays ----------------------------------------------------------------------------------


def test_national_day_2026_is_skipped() -> None:
    """Skipping holidays leaves out 1-7 October 2026 and keeps the make-up Saturday 10 October."""
    first = pendulum.datetime(2026, 9, 28, 9, 30, tz=TZ)
    s = series(start=first, rrule="FREQ=DAILY;COUNT=14", skip_holidays=True)
    expected = [first.add(days=i) for i in (0, 1, 2, 10, 11, 12, 13)]
    assert expected == starts(s, (first, first.add(days=20)), calendar=CHINA)
    everything = series(start=first, rrule="FREQ=DAILY;COUNT=14")
    assert 14 == len(starts(everything, (first, first.add(days=20)), calendar=CHINA))


def test_a_weekly_class_on_national_day_is_skipped() -> None:
    """A Thursday class skipping holidays has no 1 October 2026 (a Thursday) occurrence."""
    first = pendulum.datetime(2026, 9, 24, 15, tz=TZ)
    s = series(start=first, rrule="FREQ=WEEKLY;COUNT=3", skip_holidays=True)
    expected = [first, first.add(weeks=2)]
    assert expected == starts(s, (first, first.add(weeks=3)), calendar=CHINA)
    with pytest.raises(ValidationError) as info:
        s.occurrence(first.add(weeks=1), calendar=CHINA)
    assert "original_start" == info.value.path


def test_skipping_holidays_needs_a_calendar() -> None:
    """``occurrences`` of a series skipping holidays without a calendar names ``calendar``."""
    s = series(rrule="FREQ=DAILY;COUNT=3", skip_holidays=True)
    with pytest.raises(ValidationError) as info:
        s.occurrences(*EVER)
    assert "calendar" == info.value.path


def test_occurrence_without_a_calendar_does_not_guess_holidays() -> None:
    """``occurrence`` of a series skipping holidays, without a calendar, names ``calendar``."""
    national_day = pendulum.datetime(2026, 10, 1, 9, 30, tz=TZ)
    s = series(start=national_day.subtract(days=1), rrule="FREQ=DAILY;COUNT=3", skip_holidays=True)
    with pytest.raises(ValidationError) as info:
        s.occurrence(national_day)
    assert "calendar" == info.value.path


@pytest.mark.parametrize("year", [2003, 2027])
def test_a_year_outside_the_calendar_is_refused(year: int) -> None:
    """Skipping holidays in a year a strict calendar lacks raises CalendarCoverageError."""
    first = pendulum.datetime(year, 3, 4, 9, 30, tz=TZ)
    s = series(start=first, rrule="FREQ=WEEKLY;COUNT=3", skip_holidays=True)
    with pytest.raises(CalendarCoverageError):
        s.occurrences(first, first.add(weeks=3), calendar=attrs.evolve(CHINA, beyond="refuse"))


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=FOO",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;INTERVAL=abc",
        "FREQ=WEEKLY;FOO=1",
        "COUNT=3",
        "BOGUS",
        "FREQ=WEEKLY;;",
        "RRULE:",
        "FREQ=DAILY;BYHOUR=25",
        "FREQ=WEEKLY;UNTIL=20261301",
        "FREQ=WEEKLY;UNTIL=2026-12-31",
        "FREQ=WEEKLY;BYSETPOS=0",
        "FREQ=DAILY;COUNT=3\nRDATE:20260310T013000Z",
        "FREQ=DAILY;COUNT=3\nEXDATE:20260305T013000Z",
    ],
)
def test_a_rule_that_does_not_parse(rule: str) -> None:
    """A malformed RRULE is a ValidationError naming ``rrule``."""
    with pytest.raises(ValidationError) as info:
        series(rrule=rule)
    assert "rrule" == info.value.path


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;COUNT=3;UNTIL=20261231T000000Z",
        "FREQ=DAILY;COUNT=3\nDTSTART:20200101T000000Z",
        "FREQ=WEEKLY;INTERVAL=0;COUNT=3",
        "FREQ=WEEKLY;INTERVAL=-1;COUNT=3",
        "FREQ=DAILY;COUNT=0",
        "FREQ=WEEKLY;UNTIL=2026123",
        "FREQ=WEEKLY;UNTIL=20261231T2359",
    ],
    ids=[
        "count-and-until",
        "dtstart-line",
        "interval-0",
        "interval-negative",
        "count-0",
        "7-digit-until",
        "4-digit-time",
    ],
)
def test_a_rule_that_parses_too_easily(rule: str) -> None:
    """RRULEs that RFC 5545 forbids are ValidationErrors naming ``rrule``."""
    with pytest.raises(ValidationError) as info:
        series(rrule=rule)
    assert "rrule" == info.value.path


def test_until_before_the_start() -> None:
    """An UNTIL before the first start names ``rrule``."""
    with pytest.raises(ValidationError) as info:
        series(rrule="FREQ=WEEKLY;UNTIL=20260304T012959Z")
    assert "rrule" == info.value.path
    assert [START] == starts(series(rrule="FREQ=WEEKLY;UNTIL=20260304T013000Z"))


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"start": pendulum.naive(2026, 3, 4, 9, 30)}, "start"),
        ({"start": dt.datetime(2026, 3, 4, 9, 30, tzinfo=dt.UTC)}, "start"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"minutes": 0}, "minutes"),
        ({"minutes": 7 * 24 * 60 + 1}, "minutes"),
        ({"setup_minutes": -1}, "setup_minutes"),
        ({"tz": "Mars/Olympus_Mons"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
        ({"tz": ""}, "tz"),
        ({"id": "has space"}, "id"),
        ({"eligibility": "age >= 60"}, "eligibility"),
        ({"exdates": [START.isoformat()]}, "exdates[0]"),
        ({"changes": [START]}, "changes[0]"),
        (
            {
                "rrule": "FREQ=WEEKLY",
                "changes": [OccurrenceChange(START.add(days=1), cancelled=True)],
            },
            "changes[0].original_start",
        ),
        (
            {
                "rrule": "FREQ=WEEKLY",
                "changes": [
                    OccurrenceChange(START.add(weeks=1), cancelled=True),
                    OccurrenceChange(START.add(weeks=1).in_tz("UTC"), minutes=30),
                ],
            },
            "changes",
        ),
        ({"rrule": "FREQ=WEEKLY", "changes": [OccurrenceChange(START)]}, "changes[0]"),
    ],
)
def test_bad_fields_name_the_field(fields: dict[str, Any], path: str) -> None:
    """Each bad field is a ValidationError naming it."""
    with pytest.raises(ValidationError) as info:
        series(**fields)
    assert path == info.value.path


@pytest.mark.parametrize("tz", ["Europe", "Etc"])
def test_a_time_zone_folder_is_not_a_time_zone(tz: str) -> None:
    """A folder of the tz database given as a time zone names ``tz``."""
    with pytest.raises(ValidationError) as info:
        series(tz=tz)
    assert "tz" == info.value.path


def test_a_naive_exdate_is_refused() -> None:
    """An EXDATE without a time zone names ``exdates``."""
    with pytest.raises(ValidationError) as info:
        series(rrule="FREQ=WEEKLY;COUNT=6", exdates=[pendulum.naive(2026, 3, 11, 9, 30)])
    assert info.value.path.startswith("exdates")


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"original_start": pendulum.naive(2026, 3, 4)}, "original_start"),
        ({"start": pendulum.naive(2026, 3, 4)}, "start"),
        ({"minutes": 0}, "minutes"),
        ({"space_id": ""}, "space_id"),
        ({"cancelled": "yes"}, "cancelled"),
        ({"note": "x" * 301}, "note"),
    ],
)
def test_bad_changes_name_the_field(fields: dict[str, Any], path: str) -> None:
    """Each bad field of a change is a ValidationError naming it."""
    base: dict[str, Any] = {"original_start": START, "cancelled": True}
    with pytest.raises(ValidationError) as info:
        OccurrenceChange(**{**base, **fields})
    assert path == info.value.path


def test_a_window_needs_aware_instants() -> None:
    """``occurrences`` with a naive window bound names it."""
    s = series(rrule="FREQ=WEEKLY")
    for window, path in (
        ((pendulum.naive(2026, 3, 1), EVER[1]), "start"),
        ((EVER[0], pendulum.naive(2027, 3, 1)), "end"),
    ):
        with pytest.raises(ValidationError) as info:
            s.occurrences(*window)
        assert path == info.value.path


def error_of(build: Callable[[], object]) -> ValidationError | None:
    """Return the ValidationError ``build`` raises, or None; any other error propagates."""
    try:
        build()
    except ValidationError as exc:
        return exc
    return None


FIELDS = (
    "id",
    "title",
    "organiser",
    "venue_id",
    "space_id",
    "start",
    "minutes",
    "tz",
    "rrule",
    "exdates",
    "changes",
    "skip_holidays",
    "setup_minutes",
    "teardown_minutes",
    "capacity",
    "eligibility",
    "description",
    "version",
)
GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.binary(max_size=5),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.from_type(dt.datetime),
    st.from_type(dt.date),
    st.from_type(dt.timedelta),
    st.just(AgeAtLeast(60)),
    st.just(START),
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(FIELDS), GARBAGE)
def test_garbage_is_a_validation_error(field: str, value: object) -> None:
    """Any value in any field builds a series or raises a ValidationError naming that field."""
    error = error_of(lambda: series(**{"rrule": "FREQ=WEEKLY;COUNT=3", field: value}))
    assert error is None or field == error.path.split("[")[0]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(("original_start", "cancelled", "start", "minutes", "space_id", "note")),
    GARBAGE,
)
def test_garbage_in_a_change_is_a_validation_error(field: str, value: object) -> None:
    """Any value in any field of a change builds it or raises a ValidationError naming it."""
    base: dict[str, Any] = {"original_start": START, "cancelled": True}
    error = error_of(lambda: OccurrenceChange(**{**base, field: value}))
    assert error is None or field == error.path


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("FREQ=HOURLY;BYMINUTE=61", "BYMINUTE is 0 to 59"),
        ("FREQ=DAILY;BYSECOND=60", "BYSECOND is 0 to 59"),
        ("FREQ=SECONDLY;BYSECOND=59", "FREQ is HOURLY or slower: activities repeat hourly at most"),
        (
            "FREQ=MINUTELY;COUNT=2000000000",
            "FREQ is HOURLY or slower: activities repeat hourly at most",
        ),
        ("FREQ=DAILY;COUNT=10001", "COUNT is at most 10,000"),
        ("FREQ=HOURLY;UNTIL=20991231T000000Z", "more than 10,000 occurrences before UNTIL"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY is 1 to 31 or -1 to -31"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH is 1 to 12"),
        ("FREQ=DAILY;BYHOUR=+9", "BYHOUR takes no sign"),
        ("FREQ=DAILY;BYHOUR=nine", "BYHOUR takes whole numbers"),
        ("FREQ=DAILY;COUNT", "expected NAME=VALUE parts separated by ';'"),
    ],
)
def test_rules_that_could_hang_or_fail_later_are_refused(rule: str, problem: str) -> None:
    """Rules dateutil accepts but cannot expand, or would expand for ever, are refused."""
    with pytest.raises(ValidationError) as info:
        series(rrule=rule)
    assert ("rrule", problem) == (info.value.path, info.value.problem)


def test_the_last_of_ten_thousand_occurrences_is_found() -> None:
    """A series at the occurrence limit is accepted and its last end computed."""
    daily = series(rrule="FREQ=DAILY;COUNT=10000", minutes=60)
    assert START.add(days=9999, minutes=60) == daily.last_end
