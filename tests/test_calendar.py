"""Working calendars: holidays, make-up days, business hours and coverage of years."""

import datetime as dt

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.calendar import Period, WorkCalendar
from gridgov.errors import CalendarCoverageError, ValidationError

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
    """A date outside the covered years raises CalendarCoverageError, never a guess."""
    with pytest.raises(CalendarCoverageError):
        CHINA.is_working_day(day)


def test_a_count_running_into_an_uncovered_year_is_refused() -> None:
    """Counting working days past the last covered year raises CalendarCoverageError."""
    with pytest.raises(CalendarCoverageError):
        CHINA.add_working_days(at(2026, 12, 28, 10), 10)


def test_calendars_from_data() -> None:
    """A calendar built from announced dates uses them and covers only its years."""
    cal = WorkCalendar(
        holidays={pendulum.Date(2030, 1, 1)},
        workdays={pendulum.Date(2030, 1, 5)},
        years=(2030, 2030),
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
