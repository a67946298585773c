"""Working calendars: holidays, make-up days, business hours and coverage of years."""

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.calendar import Period, WorkCalendar
from gridgov.errors import CalendarCoverageError, NotFoundError, ValidationError

TZ = "Asia/Shanghai"
CHINA = WorkCalendar.china()


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> pendulum.DateTime:
    """Return a Beijing-time instant."""
    return pendulum.datetime(y, mo, d, h, mi, tz=TZ)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (pendulum.Date(2026, 10, 1), False),  # National Day, a Thursday
        (pendulum.Date(2026, 10, 10), True),  # make-up Saturday (调休)
        (pendulum.Date(2026, 10, 11), False),  # an ordinary Sunday
        (pendulum.Date(2026, 11, 27), True),  # an ordinary Friday
    ],
)
def test_holidays_and_make_up_days(day: pendulum.Date, working: bool) -> None:
    """Holidays are days off, make-up weekend days are working days."""
    assert working == CHINA.is_working_day(day)


def test_working_days_skip_the_national_day_week() -> None:
    """Two working days from 30 September run past the holiday to close of business 9 October."""
    assert at(2026, 10, 9, 17, 30) == CHINA.add_working_days(at(2026, 9, 30, 10), 2)


def test_working_time_waits_for_opening_hours() -> None:
    """Two working hours from Friday 16:00 end Monday 09:30 (Friday closes at 17:30)."""
    assert at(2026, 11, 30, 9, 30) == CHINA.add_working_time(
        at(2026, 11, 27, 16), pendulum.duration(hours=2)
    )


def test_working_time_skips_the_lunch_break() -> None:
    """One working hour from 11:30 ends at 14:00, across the 12:00-13:30 break."""
    assert at(2026, 11, 27, 14) == CHINA.add_working_time(
        at(2026, 11, 27, 11, 30), pendulum.duration(hours=1)
    )


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2026, 6, 30)),
    st.integers(0, 120 * 60),
)
def test_working_time_between_inverts_add_working_time(start: dt.datetime, minutes: int) -> None:
    """The business time between a start and start + d (in business time) is d."""
    begin = pendulum.instance(start, tz=TZ)
    end = CHINA.add_working_time(begin, pendulum.duration(minutes=minutes))
    assert pendulum.duration(minutes=minutes) == CHINA.working_time_between(begin, end)


@pytest.mark.parametrize("day", [pendulum.Date(2003, 12, 31), pendulum.Date(2027, 1, 4)])
def test_years_without_announcements_are_refused(day: pendulum.Date) -> None:
    """In strict mode a date outside the announced years raises CalendarCoverageError."""
    with pytest.raises(CalendarCoverageError):
        WorkCalendar.china(beyond="refuse").is_working_day(day)


def test_a_count_running_into_an_uncovered_year_is_refused() -> None:
    """In strict mode counting working days past the last announced year is refused."""
    with pytest.raises(CalendarCoverageError):
        WorkCalendar.china(beyond="refuse").add_working_days(at(2026, 12, 28, 10), 10)


def test_calendars_from_data() -> None:
    """A calendar built from announced dates uses them and covers only its years."""
    cal = WorkCalendar(
        holidays={pendulum.Date(2030, 1, 1)},
        workdays={pendulum.Date(2030, 1, 5)},
        years=(2030, 2030),
        beyond="refuse",
    )
    assert (False, True) == (
        cal.is_working_day(pendulum.Date(2030, 1, 1)),
        cal.is_working_day(pendulum.Date(2030, 1, 5)),
    )
    with pytest.raises(CalendarCoverageError):
        cal.is_working_day(pendulum.Date(2031, 1, 2))


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda: CHINA.add_working_days(pendulum.naive(2026, 11, 27, 9), 1), "start"),
        (lambda: CHINA.add_working_days(at(2026, 11, 27), 0), "days"),
        (lambda: WorkCalendar(tz="Mars/Olympus"), "tz"),
        (lambda: Period(dt.time(12), dt.time(9)), "end"),
        (lambda: Period.parse("9-12"), ""),
        (
            lambda: WorkCalendar(
                holidays={pendulum.Date(2030, 1, 5)}, workdays={pendulum.Date(2030, 1, 5)}
            ),
            "workdays",
        ),
    ],
    ids=["naive", "zero-days", "bad-zone", "backwards-period", "bad-period-text", "both"],
)
def test_bad_input_names_the_field(make: object, path: str) -> None:
    """Naive instants, empty counts, unknown zones and malformed periods name the field."""
    with pytest.raises(ValidationError) as info:
        make()  # type: ignore[operator]
    assert path == info.value.path


def test_custom_hours() -> None:
    """A calendar with Saturday hours counts Saturday as a working day."""
    cal = WorkCalendar(hours={5: [Period.parse("09:00-12:00")]}, makeup_weekday=5, tz=TZ)
    assert (True, False) == (
        cal.is_working_day(pendulum.Date(2026, 11, 28)),
        cal.is_working_day(pendulum.Date(2026, 11, 27)),
    )


# -- holidays from data: TOML tables -------------------------------------------------------

DATA = Path(__file__).parent / "data" / "calendar"
FEED_2026 = DATA / "china-2026.ics"
OFFICE = [Period.parse("09:00-12:00"), Period.parse("13:30-17:30")]

TOML_2026 = """
tz = "Asia/Shanghai"
years = [2026, 2026]
holidays = ["2026-01-01/2026-01-03", "2026-10-01/2026-10-07", 2026-06-19]
workdays = ["2026-01-04", "2026-09-20", "2026-10-10"]

[hours]
monday = ["13:30-17:30", "09:00-12:00"]
saturday = ["09:00-12:00"]
"""


def d(y: int, mo: int, day: int) -> pendulum.Date:
    """Return a pendulum date."""
    return pendulum.Date(y, mo, day)


def span(first: pendulum.Date, last: pendulum.Date) -> set[pendulum.Date]:
    """Return the days from ``first`` to ``last``, both included."""
    return {first.add(days=k) for k in range((last - first).days + 1)}


def china_2026() -> tuple[set[pendulum.Date], set[pendulum.Date]]:
    """Return the 2026 holidays and make-up working days that chinesecalendar announces."""
    import chinese_calendar  # type: ignore[import-untyped]

    def year(days: object) -> set[pendulum.Date]:
        return {d(x.year, x.month, x.day) for x in days if x.year == 2026}  # type: ignore[attr-defined]

    return year(chinese_calendar.holidays), year(chinese_calendar.workdays)


def test_a_toml_table_holds_dates_ranges_years_and_hours() -> None:
    """Dates, inclusive ranges, TOML dates, covered years and hours build the calendar."""
    expected = WorkCalendar(
        holidays=span(d(2026, 1, 1), d(2026, 1, 3))
        | span(d(2026, 10, 1), d(2026, 10, 7))
        | {d(2026, 6, 19)},
        workdays={d(2026, 1, 4), d(2026, 9, 20), d(2026, 10, 10)},
        years=(2026, 2026),
        hours={0: OFFICE, 5: [Period.parse("09:00-12:00")]},
        tz=TZ,
    )
    assert expected == WorkCalendar.from_toml(TOML_2026)


def test_covered_years_default_to_the_years_of_the_dates() -> None:
    """Without ``years``, the calendar covers the first to the last year listed."""
    cal = WorkCalendar.from_mapping({"holidays": ["2026-10-01", "2027-01-01"]})
    assert (2026, 2027) == cal.years


def test_one_year_may_be_written_as_a_number() -> None:
    """``years = 2026`` covers 2026 alone, even without any dates."""
    assert (2026, 2026) == WorkCalendar.from_toml("years = 2026").years


def test_a_toml_calendar_refuses_years_it_does_not_cover() -> None:
    """A strict calendar read from TOML for 2026 raises CalendarCoverageError in 2027."""
    cal = WorkCalendar.from_toml(TOML_2026, beyond="refuse")
    with pytest.raises(CalendarCoverageError):
        cal.is_working_day(d(2027, 1, 4))


def test_keyword_arguments_set_what_the_table_leaves_out() -> None:
    """Fields the table does not set come from keyword arguments."""
    cal = WorkCalendar.from_toml(
        'years = 2026\nholidays = ["2026-10-01"]', hours={5: OFFICE}, makeup_weekday=5
    )
    assert ({5: tuple(OFFICE)}, 5) == (cal.hours, cal.makeup_weekday)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('holidays = ["2026-10-01"]\ncolour = "red"', "colour"),
        ('holidays = ["2026-10-01", "2026-10-02", "2026-10-03", "2026-13-01"]', "holidays[3]"),
        ('holidays = ["2026-10-08/2026-10-01"]', "holidays[0]"),
        ('years = [2026, 2027]\nholidays = ["2026-01-01/2027-06-30"]', "holidays[0]"),
        ("holidays = [2026-10-01T09:00:00]", "holidays[0]"),
        ('holidays = ["20261001"]', "holidays[0]"),
        ("holidays = [20261001]", "holidays[0]"),
        ('holidays = "2026-10-01"', "holidays"),
        ("years = [2027, 2026]", "years"),
        ("years = [2026]", "years"),
        ("years = true", "years"),
        ('years = [2026, 2026]\nholidays = ["2027-01-01"]', "holidays[0]"),
        ('holidays = ["2024-01-01", "2026-01-01"]', "years"),
        ("", "years"),
        ('workdays = ["2026-10-09", "2026-10-10"]\nholidays = ["2026-10-10"]', "workdays[1]"),
        ('years = 2026\n[hours]\nfunday = ["09:00-12:00"]', "hours.funday"),
        ('years = 2026\n[hours]\nmonday = ["09:00-12:00", "9-12"]', "hours.monday[1]"),
        ('years = 2026\n[hours]\nmonday = ["09:00-12:00", 9]', "hours.monday[1]"),
        ('years = 2026\n[hours]\nmonday = ["12:00-09:00"]', "hours.monday[0]"),
        ('years = 2026\n[hours]\nmonday = ["09:00-12:00", "11:00-13:00"]', "hours.monday"),
        ('years = 2026\n[hours]\nmonday = "09:00-12:00"', "hours.monday"),
        ('years = 2026\nhours = ["09:00-12:00"]', "hours"),
        ('years = 2026\ntz = "Mars/Olympus"', "tz"),
        ("years = 2026\ntz = 8", "tz"),
        ('years = 2026\nmakeup_weekday = "caturday"', "makeup_weekday"),
        ('years = 2026\nmakeup_weekday = "saturday"', "makeup_weekday"),
        ("years = 2026\nholidays = [1,\n2 2]", "line 3"),
    ],
)
def test_bad_toml_names_the_path(text: str, path: str) -> None:
    """Unknown keys and bad dates, ranges, years, hours and zones name their path."""
    with pytest.raises(ValidationError) as info:
        WorkCalendar.from_toml(text)
    assert path == info.value.path


def test_every_problem_of_a_table_is_reported() -> None:
    """All the problems of a table come in one error, the first one first."""
    data = {"holidays": ["2026-10-01", "soon", 7], "workdays": ["2026-10-01"], "colour": 1}
    with pytest.raises(ValidationError) as info:
        WorkCalendar.from_mapping(data, source="holidays.toml")
    assert [
        (
            "colour",
            "unknown key; expected tz, years, holidays, workdays, makeup_weekday, hours, beyond",
        ),
        ("holidays[1]", "expected an ISO date 'YYYY-MM-DD' or a range 'YYYY-MM-DD/YYYY-MM-DD'"),
        ("holidays[2]", "expected an ISO date 'YYYY-MM-DD' or a range 'YYYY-MM-DD/YYYY-MM-DD'"),
        ("workdays[0]", "2026-10-01 is also listed as a holiday (holidays[0])"),
    ] == list(info.value.problems)
    assert str(info.value).startswith("holidays.toml: colour: unknown key")


def test_a_field_set_twice_is_refused() -> None:
    """A field both in the table and among the keyword arguments is an error, not a choice."""
    with pytest.raises(ValidationError) as info:
        WorkCalendar.from_toml('years = 2026\ntz = "UTC"', tz="Asia/Shanghai")
    assert "tz" == info.value.path


def test_toml_files_are_read_from_paths(tmp_path: Path) -> None:
    """A Path is read as a UTF-8 file, and errors name the file."""
    good, bad = tmp_path / "2026.toml", tmp_path / "bad.toml"
    good.write_text(TOML_2026, encoding="utf-8")
    bad.write_text('holidays = ["2026-02-30"]', encoding="utf-8")
    assert WorkCalendar.from_toml(TOML_2026) == WorkCalendar.from_toml(good)
    with pytest.raises(ValidationError) as info:
        WorkCalendar.from_toml(bad)
    assert (str(bad), "holidays[0]") == (info.value.source, info.value.path)


def test_unreadable_toml_sources_are_refused(tmp_path: Path) -> None:
    """A missing file, a non-UTF-8 file and a file name given as text are refused."""
    latin = tmp_path / "latin.toml"
    latin.write_bytes("years = 2026 # année".encode("latin-1"))
    with pytest.raises(NotFoundError):
        WorkCalendar.from_toml(tmp_path / "missing.toml")
    with pytest.raises(ValidationError, match="not UTF-8 text"):
        WorkCalendar.from_toml(latin)
    with pytest.raises(ValidationError, match=r"pass a pathlib\.Path"):
        WorkCalendar.from_toml("holidays.toml")


@st.composite
def periods(draw: st.DrawFn) -> list[Period]:
    """Draw non-overlapping business hours within one day, to the second."""
    bounds = sorted(draw(st.lists(st.integers(0, 86399), unique=True, max_size=6)))
    times = [dt.time(s // 3600, s % 3600 // 60, s % 60) for s in bounds]
    return [Period(times[i], times[i + 1]) for i in range(0, len(times) - 1, 2)]


@st.composite
def calendars(draw: st.DrawFn, *, years: int = 3) -> WorkCalendar:
    """Draw a calendar with covered years, holidays, make-up days, hours and a zone."""
    first = draw(st.integers(1990, 2090))
    last = draw(st.integers(first, first + years - 1))
    days = st.dates(dt.date(first, 1, 1), dt.date(last, 12, 31)).map(
        lambda x: d(x.year, x.month, x.day)
    )
    holidays = draw(st.frozensets(days, min_size=1, max_size=40))
    workdays = draw(st.frozensets(days, max_size=10)) - holidays
    hours = draw(st.dictionaries(st.integers(0, 6), periods(), min_size=1))
    working = sorted(day for day, p in hours.items() if p)
    makeup = draw(st.sampled_from(working)) if working else None
    if makeup is None:
        hours[0] = OFFICE
        makeup = 0
    tz = draw(st.sampled_from(["Asia/Shanghai", "Asia/Urumqi", "UTC"]))
    return WorkCalendar(
        holidays=holidays,
        workdays=workdays,
        years=(first, last),
        hours=hours,
        makeup_weekday=makeup,
        tz=tz,
    )


@settings(max_examples=80, deadline=None)
@given(calendars())
def test_toml_round_trip(cal: WorkCalendar) -> None:
    """A calendar written as TOML reads back equal: dates, years, hours, zone."""
    assert cal == WorkCalendar.from_toml(cal.to_toml())


def test_the_china_calendar_round_trips_through_toml() -> None:
    """Twenty-odd years of announcements survive TOML, written as ranges."""
    text = CHINA.to_toml()
    assert '    "2026-10-01/2026-10-07",\n' in text
    assert CHINA == WorkCalendar.from_toml(text)


def test_a_calendar_without_covered_years_is_not_data() -> None:
    """to_mapping refuses a calendar whose years are unknown rather than inventing them."""
    with pytest.raises(ValidationError) as info:
        WorkCalendar().to_mapping()
    assert "years" == info.value.path


def test_make_up_days_need_a_weekday_with_hours() -> None:
    """A make-up weekday whose hours are empty is refused: its make-up days would have none."""
    with pytest.raises(ValidationError) as info:
        WorkCalendar(hours={0: [], 1: OFFICE})
    assert "makeup_weekday" == info.value.path


# -- holidays from data: iCalendar feeds ---------------------------------------------------


def feed(*events: list[str], eol: str = "\r\n") -> str:
    """Return an iCalendar feed of the given VEVENT property lines."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//gridgov//tests//EN"]
    for props in events:
        lines += ["BEGIN:VEVENT", *props, "END:VEVENT"]
    return eol.join([*lines, "END:VCALENDAR", ""])


def test_a_chinese_holiday_feed_matches_the_announcement() -> None:
    """The 2026 feed holds exactly the holidays and make-up days chinesecalendar knows."""
    cal = WorkCalendar.from_ical(FEED_2026)
    assert ((2026, 2026), *china_2026()) == (cal.years, set(cal.holidays), set(cal.workdays))


def test_a_feed_calendar_counts_and_refuses_like_the_china_calendar() -> None:
    """Working days count past National Day; in strict mode 2027 is refused."""
    cal = WorkCalendar.from_ical(FEED_2026.read_bytes(), beyond="refuse")
    assert (False, True) == (cal.is_working_day(d(2026, 10, 1)), cal.is_working_day(d(2026, 9, 20)))
    assert CHINA.add_working_days(at(2026, 9, 30, 10), 2) == cal.add_working_days(
        at(2026, 9, 30, 10), 2
    )
    with pytest.raises(CalendarCoverageError):
        cal.is_working_day(d(2027, 1, 4))


def test_line_endings_do_not_matter() -> None:
    """CRLF, LF and CR feeds, with or without a byte order mark, read the same."""
    text = FEED_2026.read_text(encoding="utf-8")
    lf = text.replace("\r\n", "\n")
    variants: list[str | bytes] = [
        lf,
        lf.replace("\n", "\r"),
        "\ufeff" + text,
        b"\xef\xbb\xbf" + text.encode(),
    ]
    expected = WorkCalendar.from_ical(text)
    assert [expected] * 4 == [WorkCalendar.from_ical(v) for v in variants]


def runs(days: Iterable[pendulum.Date]) -> list[tuple[pendulum.Date, int]]:
    """Return each run of consecutive days as its first day and its length."""
    found: list[tuple[pendulum.Date, int]] = []
    for day in sorted(days):
        if found and found[-1][0].add(days=found[-1][1]) == day:
            found[-1] = (found[-1][0], found[-1][1] + 1)
        else:
            found.append((day, 1))
    return found


def fold(line: str, width: int) -> list[str]:
    """Fold a content line into pieces of ``width`` characters, continued by a space."""
    pieces = [line[i : i + width] for i in range(0, len(line), width)]
    return [pieces[0], *(" " + p for p in pieces[1:])]


@settings(max_examples=60, deadline=None)
@given(
    calendars(years=1),
    st.integers(1, 75),
    st.sampled_from(["\r\n", "\n"]),
    st.booleans(),
)
def test_feeds_read_back_whatever_the_folding(
    cal: WorkCalendar, width: int, eol: str, durations: bool
) -> None:
    """A feed written from a calendar, folded anywhere, reads back its days and years."""
    events = []
    for kind, days in (("假期", cal.holidays), ("补班", cal.workdays)):
        for start, length in runs(days):
            until = (
                f"DURATION:P{length}D"
                if durations
                else f"DTEND;VALUE=DATE:{start.add(days=length):%Y%m%d}"
            )
            props = [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", until, f"SUMMARY:节日 {kind}"]
            events.append([piece for p in props for piece in fold(p, width)])
    read = WorkCalendar.from_ical(feed(*events, eol=eol))
    assert (cal.years, cal.holidays, cal.workdays) == (read.years, read.holidays, read.workdays)


@pytest.mark.parametrize(
    ("props", "days"),
    [
        (["DTSTART;VALUE=DATE:20261001"], 1),
        (["DTSTART:20261001"], 1),
        (["dtstart;value=date:20261001", "dtend;value=date:20261003"], 2),
        (["DTSTART;VALUE=DATE:20261001", "DURATION:P1W"], 7),
        (["DTSTART;VALUE=DATE:20261001", "DURATION:PT48H"], 2),
        (["DTSTART;VALUE=DATE:20261001", "DURATION:P3DT0H"], 3),
        (['DTSTART;X-NOTE="a:b;c,d",e;VALUE=DATE:20261001'], 1),
    ],
)
def test_how_long_an_event_lasts(props: list[str], days: int) -> None:
    """DTEND is exclusive, DURATION counts whole days, and neither means one day."""
    cal = WorkCalendar.from_ical(feed(props))
    assert span(d(2026, 10, 1), d(2026, 10, days)) == set(cal.holidays)


@pytest.mark.parametrize(
    ("props", "workday"),
    [
        (["SUMMARY:国庆节"], False),
        (["SUMMARY:国庆节 补班"], True),
        (["SUMMARY:国庆节调休上班"], True),
        (["SUMMARY:National Day (Make-Up Day)"], True),
        (["SUMMARY:Adjusted Working Day"], True),
        (["SUMMARY:Makeup workday"], True),
        (["CATEGORIES:Holiday,WORKDAY"], True),
        (["CATEGORIES:Holiday", "CATEGORIES:workday"], True),
        (["CATEGORIES:Holiday\\,workday"], False),
        (["SUMMARY:国庆节", "X-GRIDGOV-KIND:workday"], True),
        (["SUMMARY:国庆节 补班", "X-GRIDGOV-KIND:Holiday"], False),
    ],
)
def test_which_events_are_make_up_working_days(props: list[str], workday: bool) -> None:
    """Summaries, categories and X-GRIDGOV-KIND mark make-up days; the rest are holidays."""
    cal = WorkCalendar.from_ical(feed(["DTSTART;VALUE=DATE:20261010", *props]))
    assert workday == (d(2026, 10, 10) in cal.workdays)


def test_cancelled_events_and_other_components_are_ignored() -> None:
    """A cancelled event adds no day; alarms, time zones and to-dos are skipped."""
    text = feed(
        ["DTSTART;VALUE=DATE:20261001", "STATUS:CANCELLED"],
        [
            "DTSTART;VALUE=DATE:20261002",
            "BEGIN:VALARM",
            "SUMMARY:补班",
            "DTSTART:20261001T090000",
            "END:VALARM",
        ],
    ).replace("VERSION:2.0", "VERSION:2.0\r\nBEGIN:VTODO\r\nDTSTART:20261003\r\nEND:VTODO")
    cal = WorkCalendar.from_ical(text)
    assert ({d(2026, 10, 2)}, frozenset()) == (set(cal.holidays), cal.workdays)


def test_explicit_years_leave_other_years_out() -> None:
    """With ``years``, events outside them are left out and those years stay refused."""
    text = feed(
        ["DTSTART;VALUE=DATE:20251231", "DTEND;VALUE=DATE:20260102"],
        ["DTSTART;VALUE=DATE:20261001"],
    )
    cal = WorkCalendar.from_ical(text, years=(2026, 2026))
    assert {d(2026, 1, 1), d(2026, 10, 1)} == set(cal.holidays)
    with pytest.raises(CalendarCoverageError):
        cal.is_working_day(d(2025, 12, 31))


def test_explicit_years_need_events() -> None:
    """A feed that stops at 2026 cannot cover 2027, even when asked to."""
    with pytest.raises(ValidationError) as info:
        WorkCalendar.from_ical(FEED_2026, years=(2026, 2027))
    assert ("years", "the feed has no events in 2027") == (info.value.path, info.value.problem)


def event(*props: str) -> str:
    """Return a feed of one event."""
    return feed(list(props))


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (event("DTSTART;VALUE=DATE:20261001", "RRULE:FREQ=YEARLY"), "events[0].RRULE"),
        (event("DTSTART;VALUE=DATE:20261001", "RDATE;VALUE=DATE:20271001"), "events[0].RDATE"),
        (event("DTSTART:20261001T000000"), "events[0].DTSTART"),
        (event("DTSTART;VALUE=DATE-TIME:20261001T000000"), "events[0].DTSTART"),
        (event("DTSTART;TZID=Asia/Shanghai:20261001"), "events[0].DTSTART"),
        (event("DTSTART;VALUE=DATE:20260230"), "events[0].DTSTART"),
        (event("DTSTART;VALUE=DATE:2026-10-01"), "events[0].DTSTART"),
        (event("DTSTART;VALUE=DATE:20261001", "DTSTART;VALUE=DATE:20261002"), "events[0].DTSTART"),
        (event("DTSTART;VALUE=DATE:20261001", "DTEND;VALUE=DATE:20261001"), "events[0].DTEND"),
        (event("DTSTART;VALUE=DATE:20261001", "DTEND:20261008T000000"), "events[0].DTEND"),
        (
            event("DTSTART;VALUE=DATE:20261001", "DTEND;VALUE=DATE:20261002", "DURATION:P1D"),
            "events[0].DURATION",
        ),
        (event("DTSTART;VALUE=DATE:20261001", "DURATION:PT12H"), "events[0].DURATION"),
        (event("DTSTART;VALUE=DATE:20261001", "DURATION:-P1D"), "events[0].DURATION"),
        (event("DTSTART;VALUE=DATE:20261001", "DURATION:P"), "events[0].DURATION"),
        (event("DTSTART;VALUE=DATE:20261001", "DURATION:P1DT"), "events[0].DURATION"),
        (event("DTSTART;VALUE=DATE:20261001", "DURATION:P400D"), "events[0]"),
        (event("DTSTART;VALUE=DATE:99991231", "DURATION:P2D"), "events[0]"),
        (event("SUMMARY:国庆节"), "events[0]"),
        (
            event("DTSTART;VALUE=DATE:20261001", "X-GRIDGOV-KIND:weekend"),
            "events[0].X-GRIDGOV-KIND",
        ),
        (
            feed(
                ["DTSTART;VALUE=DATE:20261001", "DTEND;VALUE=DATE:20261011"],
                ["DTSTART;VALUE=DATE:20261010", "SUMMARY:补班"],
            ),
            "events[1]",
        ),
        (feed(["DTSTART;VALUE=DATE:20240101"], ["DTSTART;VALUE=DATE:20260101"]), "years"),
        (feed(), "years"),
        ("BEGIN:VEVENT\r\nEND:VEVENT\r\n", "line 1"),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261001\nEND:VCALENDAR\n", "line 4"),
        ("BEGIN:VCALENDAR\nVERSION:2.0\n", "line 1"),
        ("BEGIN:VCALENDAR\nVERSION 2.0\nEND:VCALENDAR\n", "line 2"),
        ('BEGIN:VCALENDAR\nX-A;P="abc:1\nEND:VCALENDAR\n', "line 2"),
        ("BEGIN:VCALENDAR\nX-A;=1:2\nEND:VCALENDAR\n", "line 2"),
        ("BEGIN:VCALENDAR\nBEGIN:\nEND:VCALENDAR\n", "line 2"),
        ("BEGIN:VCALENDAR\nBEGIN:VTODO\nBEGIN:VEVENT\n", "line 3"),
        ("BEGIN:VCALENDAR\nBEGIN:VCALENDAR\n", "line 2"),
        ("BEGIN:VCALENDAR\nEND:VCALENDAR\nVERSION:2.0\n", "line 3"),
        ("BEGIN:VCALENDAR\nEND:VCALENDAR\nEND:VCALENDAR\n", "line 3"),
        (" BEGIN:VCALENDAR\n", "line 1"),
        ("", ""),
        (b"BEGIN:VCALENDAR\nX-A:\xff\nEND:VCALENDAR\n", ""),
    ],
)
def test_bad_feeds_name_the_line_or_the_event(text: str | bytes, path: str) -> None:
    """Malformed lines and events, recurrence and uncovered years name where they are."""
    with pytest.raises(ValidationError) as info:
        WorkCalendar.from_ical(text)
    assert path == info.value.path


def test_feed_errors_name_the_file_and_the_line(tmp_path: Path) -> None:
    """An error in a feed file names the file, the event and the line of the property."""
    file = tmp_path / "holidays.ics"
    file.write_text(event("DTSTART;VALUE=DATE:20261001", "RRULE:FREQ=YEARLY"), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        WorkCalendar.from_ical(file)
    assert (
        f"{file}: events[0].RRULE: recurring events are not supported: list each occurrence "
        "as its own event (line 6)"
    ) == str(info.value)
    with pytest.raises(NotFoundError):
        WorkCalendar.from_ical(tmp_path / "missing.ics")


# -- merging -------------------------------------------------------------------------------

NEXT_YEAR = WorkCalendar.from_toml(
    'holidays = ["2027-01-01", "2027-10-01/2027-10-07"]\nworkdays = ["2027-10-09"]'
)


def test_a_new_year_extends_the_china_calendar() -> None:
    """Merging next year's announcement covers it and keeps the years before."""
    cal = CHINA.merged(NEXT_YEAR)
    assert ((2004, 2027), False, True, False) == (
        cal.years,
        cal.is_working_day(d(2027, 10, 1)),
        cal.is_working_day(d(2027, 10, 9)),
        cal.is_working_day(d(2026, 10, 1)),
    )


@pytest.mark.parametrize(
    ("other", "path"),
    [
        (WorkCalendar.from_toml("years = 2028"), "years"),
        (WorkCalendar(), "years"),
        (WorkCalendar.from_toml('workdays = ["2026-10-01"]'), "workdays"),
    ],
    ids=["gap", "no-years", "clash"],
)
def test_merging_refuses_gaps_and_clashes(other: WorkCalendar, path: str) -> None:
    """A gap between covered years, unknown years or a day of two kinds are refused."""
    with pytest.raises(ValidationError) as info:
        CHINA.merged(other)
    assert path == info.value.path
