"""Tests for gridgov.interop.ical: feeds that calendar programs expand to gridgov's occurrences.

Every document is parsed back with the ``icalendar`` package and its recurrences are expanded
here, with python-dateutil, as RFC 5545 says: the RRULE's starts from DTSTART (which counts),
less the EXDATEs, with each RECURRENCE-ID override in place of its instance. The result is
compared with ``ActivitySeries.occurrences``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs
import pendulum
import pytest
from dateutil.rrule import rrulestr
from dateutil.tz import tzical
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.calendar import WorkCalendar
from gridgov.errors import NotFoundError, ValidationError
from gridgov.interop.ical import (
    PRODID,
    resident_calendar,
    series_calendar,
    space_calendar,
    venue_calendar,
)
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange, occurrence_id
from gridgov.scheduling.venues import Space, Venue

if TYPE_CHECKING:
    from icalendar import Event

icalendar = pytest.importorskip("icalendar")

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 2, 1, 8, 0, tz=TZ)
START = pendulum.datetime(2026, 3, 4, 9, 30, tz=TZ)  # a Wednesday
VENUE = Venue(
    "minggong-hui",
    "明宫HUI客厅",
    "610102003006",
    WorkCalendar(),
    [Space("picture-books", "绘本馆", 20), Space("hall", "多功能厅", 60)],
)
FAST = settings(max_examples=60, deadline=None)

Slot = tuple[dt.datetime, dt.datetime, str | None]


# --- reading the documents back ---------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _events(text: str) -> list[Event]:
    return list(icalendar.Calendar.from_ical(text).walk("VEVENT"))


def _exdates(event: Event) -> set[dt.datetime]:
    found = event.get("EXDATE")
    if found is None:
        return set()
    lists = found if isinstance(found, list) else [found]
    return {_utc(d.dt) for dates in lists for d in dates.dts}


def _location(event: Event) -> str | None:
    value = event.get("LOCATION")
    return None if value is None else str(value)


def _span(event: Event, start: dt.datetime) -> dt.timedelta:
    if "DURATION" in event:
        length: dt.timedelta = event.decoded("DURATION")
        return length
    end: dt.timedelta = _utc(event.decoded("DTEND")) - _utc(event.decoded("DTSTART"))
    return end


def expand(text: str, start: dt.datetime, end: dt.datetime) -> set[Slot]:
    """Return the (start, end, location) of the events overlapping ``[start, end)``, in UTC."""
    by_uid: dict[str, list[Event]] = {}
    for event in _events(text):
        by_uid.setdefault(str(event["UID"]), []).append(event)
    slots: set[Slot] = set()
    margin = dt.timedelta(days=40)  # overrides move occurrences by days, not months
    for events in by_uid.values():
        masters = [e for e in events if "RECURRENCE-ID" not in e]
        assert 1 == len(masters)
        master = masters[0]
        overrides = {_utc(e.decoded("RECURRENCE-ID")): e for e in events if e is not master}
        # Expand in zoneinfo's wall clock whatever zone objects icalendar gives (pytz before 6).
        zone = zoneinfo.ZoneInfo(master["DTSTART"].params["TZID"])
        first = master.decoded("DTSTART").replace(tzinfo=None).replace(tzinfo=zone)
        length = _span(master, first)
        instants = {_utc(first)}  # RFC 5545: DTSTART is the first instance
        if "RRULE" in master:
            recur = master["RRULE"].to_ical()
            text_rule = recur.decode() if isinstance(recur, bytes) else str(recur)
            rule = rrulestr(f"RRULE:{text_rule}", dtstart=first)
            instants |= {_utc(i) for i in rule.between(start - margin, end + margin, inc=True)}
        instants -= _exdates(master)
        for original in overrides:  # an override replaces an instance; it adds none
            assert original in instants or not start - margin <= original <= end + margin
        for instant in instants:
            event = overrides.get(instant, master)
            begins = instant if event is master else _utc(event.decoded("DTSTART"))
            ends = begins + (length if event is master else _span(event, begins))
            if begins < end and ends > start:
                slots.add((begins, ends, _location(event)))
    return slots


def occurrences(
    series: Iterable[ActivitySeries],
    start: dt.datetime,
    end: dt.datetime,
    *,
    calendar: WorkCalendar | None = None,
    space_id: str | None = None,
) -> set[Slot]:
    """Return what gridgov expands, as :func:`expand` gives it."""
    return {
        (_utc(o.start), _utc(o.end), f"{VENUE.name} {VENUE.space(o.space_id).name}")
        for s in series
        for o in s.occurrences(
            pendulum.instance(start), pendulum.instance(end), calendar=calendar or VENUE.opening
        )
        if space_id is None or o.space_id == space_id
    }


def series(rrule: str | None = "FREQ=WEEKLY;BYDAY=WE", **kwargs: object) -> ActivitySeries:
    """Return a series of the picture-book room, weekly on Wednesdays by default."""
    fields: dict[str, object] = {
        "id": "picture-class",
        "title": "自闭症儿童绘画课",
        "organiser": "明宫社工站",
        "venue_id": VENUE.id,
        "space_id": "picture-books",
        "start": START,
        "minutes": 90,
        "rrule": rrule,
        **kwargs,
    }
    return ActivitySeries(**fields)  # type: ignore[arg-type]


def unfolded(text: str) -> list[str]:
    """Return the content lines of ``text``, unfolded (RFC 5545 section 3.1)."""
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def named(text: str, name: str) -> list[str]:
    """Return the content lines of property ``name`` outside the VTIMEZONEs, unfolded."""
    found: list[str] = []
    in_zone = False
    for line in unfolded(text):
        in_zone = (in_zone or line == "BEGIN:VTIMEZONE") and line != "END:VTIMEZONE"
        if not in_zone and re.match(rf"{name}[;:]", line):
            found.append(line)
    return found


YEAR = (pendulum.datetime(2026, 1, 1, tz=TZ), pendulum.datetime(2027, 1, 1, tz=TZ))


def assert_same(
    found: Iterable[ActivitySeries],
    text: str,
    window: tuple[pendulum.DateTime, pendulum.DateTime] = YEAR,
    **kwargs: object,
) -> None:
    """Assert that ``text`` expands to the occurrences of ``found`` in ``window`` (some)."""
    expected = occurrences(found, *window, **kwargs)  # type: ignore[arg-type]
    assert expected
    assert expected == expand(text, *window)


# --- recurrences ------------------------------------------------------------------------------


def test_weekly_until_is_one_event_with_its_rule() -> None:
    """A weekly series with an UNTIL is one VEVENT, its RRULE as stored, its UNTIL in UTC."""
    s = series("FREQ=WEEKLY;BYDAY=WE;UNTIL=20260630")
    text = venue_calendar(VENUE, [s], now=NOW)
    assert 1 == len(_events(text))
    assert ["RRULE:FREQ=WEEKLY;BYDAY=WE;UNTIL=20260630T155959Z"] == named(text, "RRULE")
    assert ["DTSTART;TZID=Asia/Shanghai:20260304T093000"] == named(text, "DTSTART")
    assert ["DURATION:PT90M"] == named(text, "DURATION")
    assert ["UID:picture-class@gridgov"] == named(text, "UID")
    assert 17 == len(expand(text, *YEAR))
    assert_same([s], text)


def test_count_series() -> None:
    """A COUNT series gives the same occurrences, the count kept."""
    s = series("FREQ=DAILY;INTERVAL=2;COUNT=12")
    text = venue_calendar(VENUE, [s], now=NOW)
    assert ["RRULE:FREQ=DAILY;INTERVAL=2;COUNT=12"] == named(text, "RRULE")
    assert 12 == len(expand(text, *YEAR))
    assert_same([s], text)


def test_exdates() -> None:
    """Excluded starts are EXDATEs in the series' zone, one property each, in order."""
    s = series("FREQ=WEEKLY;BYDAY=WE;COUNT=10", exdates={START.add(weeks=4), START.add(weeks=1)})
    text = venue_calendar(VENUE, [s], now=NOW)
    assert [
        "EXDATE;TZID=Asia/Shanghai:20260311T093000",
        "EXDATE;TZID=Asia/Shanghai:20260401T093000",
    ] == named(text, "EXDATE")
    assert 8 == len(expand(text, *YEAR))
    assert_same([s], text)


def test_moved_occurrence_is_an_override() -> None:
    """A moved occurrence is an override: RECURRENCE-ID of its original start, new time, place."""
    original = START.add(weeks=2)
    change = OccurrenceChange(
        original, start=original.add(days=1, hours=5), minutes=60, space_id="hall", note="换场地"
    )
    s = series("FREQ=WEEKLY;BYDAY=WE;COUNT=6", changes=[change])
    text = venue_calendar(VENUE, [s], now=NOW)
    master, override = _events(text)
    assert "RECURRENCE-ID" in override
    assert ["RECURRENCE-ID;TZID=Asia/Shanghai:20260318T093000"] == named(text, "RECURRENCE-ID")
    assert override.decoded("DTSTART") == pendulum.datetime(2026, 3, 19, 14, 30, tz=TZ)
    assert override.decoded("DTEND") == pendulum.datetime(2026, 3, 19, 15, 30, tz=TZ)
    assert "明宫HUI客厅 多功能厅" == str(override["LOCATION"])
    assert "明宫HUI客厅 绘本馆" == str(master["LOCATION"])
    assert str(override["DESCRIPTION"]).endswith("换场地")
    assert master["UID"] == override["UID"]
    assert_same([s], text)


def test_cancelled_occurrence_is_an_exdate() -> None:
    """A cancelled occurrence is an EXDATE, not an event."""
    original = START.add(weeks=3)
    s = series("FREQ=WEEKLY;BYDAY=WE;COUNT=6", changes=[OccurrenceChange(original, cancelled=True)])
    text = venue_calendar(VENUE, [s], now=NOW)
    assert 1 == len(_events(text))
    assert ["EXDATE;TZID=Asia/Shanghai:20260325T093000"] == named(text, "EXDATE")
    assert 5 == len(expand(text, *YEAR))
    assert_same([s], text)


def test_moved_and_cancelled_is_cancelled() -> None:
    """A change that moves and cancels cancels; a change of an excluded start is no override."""
    cancelled = OccurrenceChange(START.add(weeks=1), cancelled=True, start=START.add(days=8))
    excluded = OccurrenceChange(START.add(weeks=2), start=START.add(days=15))
    s = series(
        "FREQ=WEEKLY;BYDAY=WE;COUNT=6",
        exdates={START.add(weeks=2)},
        changes=[cancelled, excluded],
    )
    text = venue_calendar(VENUE, [s], now=NOW)
    assert 1 == len(_events(text))
    assert 2 == len(named(text, "EXDATE"))
    assert_same([s], text)


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=WEEKLY;BYDAY=WE,FR;UNTIL=20260630",
        "FREQ=DAILY;COUNT=40",
    ],
)
def test_split_series(rrule: str) -> None:
    """A "this and following" split gives two events whose occurrences are the original's."""
    moved = OccurrenceChange(START.add(weeks=4), start=START.add(weeks=4, hours=2))
    s = series(rrule, exdates={START.add(weeks=1)}, changes=[moved])
    head, tail = s.split(START.add(weeks=3))
    text = venue_calendar(VENUE, [head, tail], now=NOW)
    assert 2 == len(named(text, "RRULE"))
    assert {f"{head.id}@gridgov", f"{tail.id}@gridgov"} == {e["UID"] for e in _events(text)}
    assert_same([head, tail], text)
    assert occurrences([s], *YEAR) == expand(text, *YEAR)


def test_start_the_rule_does_not_give() -> None:
    """A start that the rule does not give is no occurrence: DTSTART is the rule's first."""
    monday = START.subtract(days=2)
    s = series("FREQ=WEEKLY;BYDAY=WE;COUNT=3", start=monday)
    text = venue_calendar(VENUE, [s], now=NOW)
    assert ["DTSTART;TZID=Asia/Shanghai:20260304T093000"] == named(text, "DTSTART")
    assert_same([s], text)


def test_single_occurrence() -> None:
    """A series without a rule is one event; a change moves it, a cancellation removes it."""
    s = series(None)
    assert_same([s], venue_calendar(VENUE, [s], now=NOW))
    moved = series(None, changes=[OccurrenceChange(START, start=START.add(hours=3), minutes=30)])
    text = venue_calendar(VENUE, [moved], now=NOW)
    assert [] == named(text, "RRULE") + named(text, "RECURRENCE-ID")
    assert_same([moved], text)
    cancelled = series(None, changes=[OccurrenceChange(START, cancelled=True)])
    assert [] == _events(venue_calendar(VENUE, [cancelled], now=NOW))


# --- holidays ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def china() -> WorkCalendar:
    """Return the calendar of the State Council's announcements."""
    pytest.importorskip("chinese_calendar")
    return WorkCalendar.china()


@pytest.mark.parametrize(
    "rrule",
    ["FREQ=WEEKLY;BYDAY=TH;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261015", "FREQ=WEEKLY;BYDAY=FR"],
)
def test_skipped_holidays_are_exdates(china: WorkCalendar, rrule: str) -> None:
    """The holidays a series skips are EXDATEs: announced, then ten provisional years at most."""
    s = series(rrule, start=pendulum.datetime(2026, 1, 1, 9, 30, tz=TZ), skip_holidays=True)
    text = venue_calendar(VENUE, [s], now=NOW, calendar=china)
    exdates = {_utc(d) for e in _events(text) for d in _exdates(e)}
    assert exdates
    assert all(china.is_holiday(pendulum.instance(d).in_tz(TZ).date()) for d in exdates)
    assert china.years is not None
    assert all(d.year <= china.years[1] + 10 for d in exdates)
    assert_same([s], text, calendar=china)


def test_provisional_holidays_are_exdates_and_strict_calendars_stop(china: WorkCalendar) -> None:
    """New Year's Day 2027, a Friday, is skipped provisionally; a strict calendar keeps it."""
    s = series("FREQ=WEEKLY;BYDAY=FR", start=pendulum.datetime(2026, 12, 4, 9, 30, tz=TZ))
    s = attrs.evolve(s, skip_holidays=True)
    new_year = pendulum.datetime(2027, 1, 1, 9, 30, tz=TZ)
    strict = attrs.evolve(china, beyond="refuse")
    excluded = [
        {
            _utc(d)
            for e in _events(venue_calendar(VENUE, [s], now=NOW, calendar=c))
            for d in _exdates(e)
        }
        for c in (china, strict)
    ]
    assert (True, False) == tuple(new_year in found for found in excluded)


def test_holidays_need_a_calendar() -> None:
    """A series that skips holidays, alone and without a venue, needs a calendar."""
    s = series(skip_holidays=True)
    with pytest.raises(ValidationError, match="calendar"):
        series_calendar(s, now=NOW)
    assert "EXDATE" not in series_calendar(s, now=NOW, calendar=WorkCalendar())


# --- spaces, venues, a series alone -----------------------------------------------------------


def test_space_calendars_split_moves_between_spaces() -> None:
    """A space's calendar holds what happens in it: moves out are excluded, moves in added."""
    original = START.add(weeks=2)
    moved = OccurrenceChange(original, space_id="hall")
    s = series("FREQ=WEEKLY;BYDAY=WE;COUNT=6", changes=[moved])
    other = series("FREQ=WEEKLY;BYDAY=TU;COUNT=6", id="dance", space_id="hall", title="广场舞")
    books = space_calendar(VENUE, "picture-books", [s, other], now=NOW)
    hall = space_calendar(VENUE, "hall", [s, other], now=NOW)
    assert_same([s, other], books, space_id="picture-books")
    assert_same([s, other], hall, space_id="hall")
    assert ["X-WR-CALNAME:明宫HUI客厅 多功能厅"] == named(hall, "X-WR-CALNAME")
    standalone = [e for e in _events(hall) if "RRULE" not in e]
    assert ["picture-class-20260318T013000Z@gridgov"] == [str(e["UID"]) for e in standalone]
    with pytest.raises(NotFoundError):
        space_calendar(VENUE, "kitchen", [s], now=NOW)


def test_venue_calendar_leaves_other_venues_out() -> None:
    """Series of other venues are left out of a venue's calendar."""
    elsewhere = series(id="elsewhere", venue_id="other-venue")
    s = series()
    text = venue_calendar(VENUE, [elsewhere, s], now=NOW)
    assert ["UID:picture-class@gridgov"] == named(text, "UID")


def test_series_calendar() -> None:
    """One series alone: named after it, with its venue for LOCATION or without."""
    s = series("FREQ=WEEKLY;BYDAY=WE;COUNT=4", description="带上画笔")
    text = series_calendar(s, now=NOW, venue=VENUE)
    assert ["NAME:自闭症儿童绘画课"] == named(text, "NAME")
    assert_same([s], text)
    assert [] == named(series_calendar(s, now=NOW), "LOCATION")
    with pytest.raises(ValidationError, match="venue"):
        series_calendar(series(venue_id="other-venue"), now=NOW, venue=VENUE)


def test_now_must_be_aware() -> None:
    """DTSTAMP comes from ``now``, which must be tz-aware: there is no hidden clock."""
    naive = dt.datetime(2026, 2, 1, 8, 0)
    with pytest.raises(ValidationError, match="now"):
        venue_calendar(VENUE, [series()], now=naive)  # type: ignore[arg-type]
    text = venue_calendar(VENUE, [series()], now=NOW)
    assert ["DTSTAMP:20260201T000000Z"] == named(text, "DTSTAMP")


# --- the text ---------------------------------------------------------------------------------


def test_document_frame() -> None:
    """The calendar has VERSION, PRODID, CALSCALE, METHOD and a VTIMEZONE for its zone."""
    text = venue_calendar(VENUE, [series()], now=NOW)
    lines = unfolded(text)
    assert [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] == lines[:5]
    assert "END:VCALENDAR" == lines[-1]
    assert [
        "BEGIN:VTIMEZONE",
        "TZID:Asia/Shanghai",
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0800",
        "TZOFFSETTO:+0800",
        "TZNAME:CST",
        "END:STANDARD",
        "END:VTIMEZONE",
    ] == lines[7:16]


def test_lines_are_folded_at_75_octets_with_crlf() -> None:
    """No line is over 75 octets; every line ends CRLF; Chinese text survives unfolding."""
    description = "社区活动中心每周三下午的绘画课，面向自闭症儿童及其家长，" * 8 + "end"
    s = series(description=description, title="绘画课" * 30)
    text = venue_calendar(VENUE, [s], now=NOW)
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert all("\r" not in line and "\n" not in line for line in lines)
    assert max(len(line.encode("utf-8")) for line in lines) <= 75
    assert any(len(line.encode("utf-8")) > 70 for line in lines)
    event = _events(text)[0]
    assert description == str(event["DESCRIPTION"])
    assert "绘画课" * 30 == str(event["SUMMARY"])


def test_text_is_escaped() -> None:
    """Semicolons, commas, backslashes and line breaks in TEXT are escaped."""
    title = "绘画课; 第一期, 春季\n每周三 a\\b"
    s = series(title=title, description="第一行\r\n第二行")
    text = venue_calendar(VENUE, [s], now=NOW)
    assert ["SUMMARY:绘画课\\; 第一期\\, 春季\\n每周三 a\\\\b"] == named(text, "SUMMARY")
    event = _events(text)[0]
    assert title == str(event["SUMMARY"])
    assert "第一行\n第二行" == str(event["DESCRIPTION"])


def test_same_input_same_bytes() -> None:
    """The same series, in any order, give the same bytes."""
    a = series("FREQ=WEEKLY;BYDAY=WE;COUNT=8", exdates={START.add(weeks=1), START.add(weeks=3)})
    b = series("FREQ=DAILY;COUNT=3", id="dance", space_id="hall")
    first = venue_calendar(VENUE, [a, b], now=NOW).encode()
    assert first == venue_calendar(VENUE, [b, a], now=NOW).encode()
    assert first == venue_calendar(VENUE, (x for x in [a, b]), now=NOW).encode()


# --- time zones with daylight saving ----------------------------------------------------------


def _offsets_agree(text: str, tz: str, instants: Iterable[dt.datetime]) -> None:
    """The VTIMEZONE gives the offsets zoneinfo gives at each instant."""
    block = re.search(
        r"BEGIN:VTIMEZONE\r\nTZID:" + re.escape(tz) + r".*?END:VTIMEZONE\r\n", text, re.S
    )
    assert block is not None
    written = tzical(io.StringIO(block.group(0).replace("\r\n", "\n"))).get()
    zone = pendulum.timezone(tz)
    for instant in instants:
        # A stdlib datetime goes to dateutil's zone: before pendulum 3.3, a pendulum DateTime's
        # astimezone() into a dateutil zone fails ("dt.dst gave inconsistent results").
        utc = dt.datetime.fromtimestamp(instant.timestamp(), dt.UTC)
        assert utc.astimezone(zone).utcoffset() == utc.astimezone(written).utcoffset()


def test_daylight_saving_zone() -> None:
    """In a zone with daylight saving the rule keeps its wall clock and the VTIMEZONE is right."""
    tz = "Europe/Berlin"
    start = pendulum.datetime(2026, 3, 1, 18, 0, tz=tz)
    s = series("FREQ=WEEKLY;BYDAY=SU;UNTIL=20261231", start=start, tz=tz)
    text = venue_calendar(VENUE, [s], now=NOW)
    assert {"TZID:Europe/Berlin", "TZID:Asia/Shanghai"} & set(unfolded(text)) == {
        "TZID:Europe/Berlin"
    }
    assert ["DTSTART;TZID=Europe/Berlin:20260301T180000"] == named(text, "DTSTART")
    assert_same([s], text)
    found = s.occurrences(*YEAR)
    assert {18} == {o.start.in_tz(tz).hour for o in found}
    assert 2 == len({o.start.utcoffset() for o in found})
    _offsets_agree(text, tz, [o.start for o in found] + [o.end for o in found])


def test_never_ending_series_has_zone_data_for_ten_years() -> None:
    """A never-ending series' zone has transitions until ten years after ``now``."""
    tz = "America/New_York"
    s = series("FREQ=MONTHLY;BYMONTHDAY=15", start=pendulum.datetime(2026, 1, 15, 19, tz=tz), tz=tz)
    text = venue_calendar(VENUE, [s], now=NOW)
    onsets = [line for line in unfolded(text) if line.startswith("DTSTART:")]
    assert onsets[1].startswith("DTSTART:2026")
    assert onsets[-1].startswith("DTSTART:2036")
    later = [pendulum.datetime(2036, m, 15, 19, tz=tz) for m in range(1, 13)]
    _offsets_agree(text, tz, later)
    window = (pendulum.datetime(2036, 1, 1, tz=tz), pendulum.datetime(2037, 1, 1, tz=tz))
    assert_same([s], text, window)


# --- a resident's schedule --------------------------------------------------------------------

RESIDENT_ID = "res-610102-0042"
PHONE = "13812345678"


def registration(
    s: ActivitySeries, original: pendulum.DateTime, state: RegistrationState, key: str
) -> Registration:
    """Return a registration for the occurrence of ``s`` at ``original``."""
    occurrence = s.occurrence(original)
    # Registration validates occurrence_id as a plain identifier, which rejects the '@' of the
    # ids series give (see test_registration_holds_an_occurrence_id).
    with attrs.validators.disabled():
        return Registration(
            id=key,
            series_id=s.id,
            occurrence_id=occurrence.id,
            venue_id=s.venue_id,
            resident_id=RESIDENT_ID,
            household_id=f"hh-{PHONE}",
            cell_code="610102003006001",
            start=occurrence.start,
            end=occurrence.end,
            state=state,
            registered_at=NOW,
        )


def test_registration_holds_an_occurrence_id() -> None:
    """A registration holds the id of an occurrence as series give it."""
    s = series()
    Registration(
        id="r1",
        series_id=s.id,
        occurrence_id=occurrence_id(s.id, START),
        venue_id=s.venue_id,
        resident_id=RESIDENT_ID,
        household_id="hh1",
        cell_code="610102003006001",
        start=START,
        end=START.add(minutes=90),
        state=RegistrationState.CONFIRMED,
        registered_at=NOW,
    )


def test_resident_calendar() -> None:
    """Active registrations are standalone events with the occurrence as it now is."""
    moved_to = START.add(weeks=1, days=1)
    s = series(
        "FREQ=WEEKLY;BYDAY=WE;COUNT=6",
        changes=[
            OccurrenceChange(START.add(weeks=1), start=moved_to, space_id="hall", note="改期"),
            OccurrenceChange(START.add(weeks=2), cancelled=True, note="停电"),
        ],
    )
    regs = [
        registration(s, START, RegistrationState.CONFIRMED, f"reg.{RESIDENT_ID}.1"),
        registration(s, START.add(weeks=3), RegistrationState.WAITLISTED, f"reg.{RESIDENT_ID}.2"),
        registration(s, START.add(weeks=4), RegistrationState.CANCELLED, f"reg.{RESIDENT_ID}.3"),
        registration(s, START.add(weeks=1), RegistrationState.CONFIRMED, f"reg.{RESIDENT_ID}.4"),
    ]
    before = s.changed(OccurrenceChange(START.add(weeks=2), start=START.add(weeks=2, hours=1)))
    regs.append(
        registration(before, START.add(weeks=2), RegistrationState.CONFIRMED, "reg-5-" + PHONE)
    )
    text = resident_calendar("张*的活动", regs, {s.id: s}, {VENUE.id: VENUE}, now=NOW)
    events = _events(text)
    assert ["X-WR-CALNAME:张*的活动"] == named(text, "X-WR-CALNAME")
    assert 4 == len(events)
    assert not any("RRULE" in e or "RECURRENCE-ID" in e for e in events)
    assert ["CONFIRMED", "CONFIRMED", "CANCELLED", "TENTATIVE"] == [
        str(e["STATUS"]) for e in events
    ]
    assert [
        "picture-class-20260304T013000Z-registration@gridgov",
        "picture-class-20260311T013000Z-registration@gridgov",
        "picture-class-20260318T013000Z-registration@gridgov",
        "picture-class-20260325T013000Z-registration@gridgov",
    ] == [str(e["UID"]) for e in events]
    moved = events[1]
    assert moved.decoded("DTSTART") == moved_to
    assert "明宫HUI客厅 多功能厅" == str(moved["LOCATION"])
    assert "改期" in str(moved["DESCRIPTION"])
    assert "候补" in str(events[3]["DESCRIPTION"])
    for secret in (RESIDENT_ID, PHONE, "610102003006001", "hh-"):
        assert secret not in text


def test_resident_calendar_needs_its_series_and_venues() -> None:
    """A registration whose series or venue is not given is an error, as is an empty label."""
    s = series()
    regs = [registration(s, START, RegistrationState.CONFIRMED, "r1")]
    with pytest.raises(NotFoundError, match="series"):
        resident_calendar("张*", regs, {}, {VENUE.id: VENUE}, now=NOW)
    with pytest.raises(NotFoundError, match="venue"):
        resident_calendar("张*", regs, {s.id: s}, {}, now=NOW)
    with pytest.raises(ValidationError, match="resident_label"):
        resident_calendar(" ", regs, {s.id: s}, {VENUE.id: VENUE}, now=NOW)
    empty = resident_calendar("张*", [], {}, {}, now=NOW)
    assert [] == _events(empty)
    assert "BEGIN:VTIMEZONE" not in empty


# --- property -------------------------------------------------------------------------------

ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York")


@st.composite
def generated(
    draw: st.DrawFn,
) -> tuple[ActivitySeries, tuple[pendulum.DateTime, pendulum.DateTime]]:
    """Draw a daily or weekly series with exdates and changes, and a window over it."""
    tz = draw(st.sampled_from(ZONES))
    day = draw(st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)))
    start = pendulum.datetime(
        day.year,
        day.month,
        day.day,
        draw(st.integers(6, 21)),
        draw(st.sampled_from([0, 30])),
        tz=tz,
    )
    freq = draw(st.sampled_from(["DAILY", "WEEKLY"]))
    rule = f"FREQ={freq};INTERVAL={draw(st.integers(1, 3))}"
    if freq == "WEEKLY" and draw(st.booleans()):
        days = draw(
            st.sets(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1)
        )
        rule += ";BYDAY=" + ",".join(sorted(days))
    end = draw(st.sampled_from(["count", "until", "never"]))
    if end == "count":
        rule += f";COUNT={draw(st.integers(1, 30))}"
    elif end == "until":
        rule += f";UNTIL={start.add(days=draw(st.integers(1, 200))).format('YYYYMMDD')}"
    base = ActivitySeries(
        "generated", "活动", "社工站", VENUE.id, "picture-books", start, 60, tz=tz, rrule=rule
    )
    window = (start.subtract(days=1), start.add(days=120))
    originals = [o.original_start for o in base.occurrences(*window)]
    picked = (
        draw(st.lists(st.sampled_from(originals), unique=True, max_size=8)) if originals else []
    )
    exdates = set(picked[: draw(st.integers(0, len(picked)))])
    changes = []
    for original in picked:
        if original in exdates and draw(st.booleans()):
            continue
        if draw(st.booleans()):
            changes.append(OccurrenceChange(original, cancelled=True))
        else:
            changes.append(
                OccurrenceChange(
                    original,
                    start=original.add(
                        days=draw(st.integers(-3, 3)), hours=draw(st.integers(-2, 2))
                    ),
                    minutes=draw(st.none() | st.integers(15, 120)),
                    space_id=draw(st.sampled_from([None, "hall", "picture-books"])),
                    note=draw(st.sampled_from(["", "改期; 见通知", "moved, sorry"])),
                )
            )
    return attrs.evolve(base, exdates=exdates, changes=changes), window


@FAST
@given(generated())
def test_feeds_expand_to_the_occurrences(
    drawn: tuple[ActivitySeries, tuple[pendulum.DateTime, pendulum.DateTime]],
) -> None:
    """Any daily or weekly series: venue and space feeds expand to gridgov's occurrences."""
    s, window = drawn
    assert occurrences([s], *window) == expand(venue_calendar(VENUE, [s], now=NOW), *window)
    for space in VENUE.spaces:
        text = space_calendar(VENUE, space.id, [s], now=NOW)
        assert occurrences([s], *window, space_id=space.id) == expand(text, *window)
