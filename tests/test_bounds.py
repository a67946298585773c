"""The supported range: instants and dates from 1900-01-01 to 2100-12-31, refused outside it.

Outside the range every entry point raises a ValidationError naming the field, and the command
exits with 2 and one clear message, never a traceback from calendar arithmetic near the years 1
or 9999 where Python's datetime ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import subprocess
import sys
from collections.abc import Callable

import pendulum
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gridgov.access import AuditEntry, AuditKind
from gridgov.calendar import WorkCalendar
from gridgov.cases.catalogue import TimeLimit, TimeUnit
from gridgov.cli import main
from gridgov.clock import EARLIEST, LATEST, OUTSIDE_RANGE, ensure_aware, ensure_date
from gridgov.codes import NationalId, id_check_character
from gridgov.errors import ValidationError
from gridgov.grid import Assignment
from gridgov.households import Resident
from gridgov.scheduling.series import ActivitySeries
from gridgov.serialization import structure
from gridgov.testing import ManualClock

FAST = settings(max_examples=200, deadline=None)

# Zones whose offsets reach furthest either way, with the local mean time of early years.
ZONES = ["Asia/Shanghai", "UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/New_York"]


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``gridgov`` in-process; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def in_range(value: dt.date) -> bool:
    """Return whether a date, or a datetime's wall-clock date, lies in the supported range."""
    return EARLIEST <= dt.date(value.year, value.month, value.day) <= LATEST


@st.composite
def instants(draw: st.DrawFn) -> pendulum.DateTime:
    """Draw a tz-aware instant anywhere from the year 1 to 9999, built on its wall clock."""
    wall = draw(st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)))
    zone = draw(
        st.sampled_from([pendulum.timezone(name) for name in ZONES])
        | st.integers(-12 * 4, 14 * 4).map(lambda q: pendulum.FixedTimezone(q * 15 * 60))
    )
    return pendulum.DateTime(
        wall.year,
        wall.month,
        wall.day,
        wall.hour,
        wall.minute,
        wall.second,
        wall.microsecond,
        tzinfo=zone,
    )


@st.composite
def fixed_instants(draw: st.DrawFn) -> pendulum.DateTime:
    """Draw an instant from the year 1 to 9999 at a fixed UTC offset from -12:00 to +14:00."""
    instant = draw(instants())
    offset = draw(st.integers(-12 * 4, 14 * 4)) * 15 * 60
    return instant.replace(tzinfo=pendulum.FixedTimezone(offset))


days = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(
    lambda d: pendulum.Date(d.year, d.month, d.day)
)


def shanghai(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> pendulum.DateTime:
    """Return a wall-clock time in Asia/Shanghai, built without any conversion."""
    zone = pendulum.timezone("Asia/Shanghai")
    return pendulum.DateTime(year, month, day, hour, minute, second, micro, tzinfo=zone)


# --- the range ----------------------------------------------------------------------------------


def test_the_range_is_declared_once() -> None:
    """The bounds are 1900-01-01 and 2100-12-31, and the problem states them."""
    expected = (
        pendulum.Date(1900, 1, 1),
        pendulum.Date(2100, 12, 31),
        "outside the supported range 1900-01-01 to 2100-12-31",
    )
    assert expected == (EARLIEST, LATEST, OUTSIDE_RANGE)


@pytest.mark.parametrize(
    "instant",
    [
        pendulum.DateTime(1900, 1, 1, tzinfo=pendulum.FixedTimezone(14 * 3600)),
        pendulum.DateTime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=pendulum.FixedTimezone(-43200)),
        shanghai(1900, 1, 1),
        shanghai(2100, 12, 31, 23, 59),
    ],
    ids=str,
)
def test_ensure_aware_accepts_the_edges_in_any_zone(instant: pendulum.DateTime) -> None:
    """The first and last days of the range are accepted, whatever the UTC offset."""
    assert instant is ensure_aware(instant, "at")


@pytest.mark.parametrize(
    "instant",
    [
        pendulum.DateTime(1, 1, 1, tzinfo=pendulum.FixedTimezone(8 * 3600)),
        pendulum.DateTime(1899, 12, 31, 23, 59, 59, tzinfo=pendulum.FixedTimezone(-43200)),
        pendulum.DateTime(2101, 1, 1, tzinfo=pendulum.FixedTimezone(14 * 3600)),
        shanghai(9999, 12, 31, 23),
    ],
    ids=str,
)
def test_ensure_aware_refuses_the_days_outside(instant: pendulum.DateTime) -> None:
    """A day before 1900 or after 2100 is a ValidationError naming the field."""
    with pytest.raises(ValidationError) as info:
        ensure_aware(instant, "at")
    assert ("at", OUTSIDE_RANGE) == (info.value.path, info.value.problem)


def test_ensure_date_refuses_a_day_outside_and_a_datetime() -> None:
    """ensure_date takes a pendulum Date in the range only."""
    assert pendulum.Date(2100, 12, 31) == ensure_date(pendulum.Date(2100, 12, 31), "on")
    problems = []
    for value in (pendulum.Date(2101, 1, 1), shanghai(2026, 1, 1)):
        with pytest.raises(ValidationError) as info:
            ensure_date(value, "on")
        problems.append((info.value.path, info.value.problem))
    assert [("on", OUTSIDE_RANGE), ("on", "expected a pendulum Date, got DateTime")] == problems


def test_records_name_the_field_out_of_range() -> None:
    """A record's instant or date field out of range is a ValidationError at that field."""
    paths = []
    for build in (
        lambda: AuditEntry("a1", shanghai(9999, 12, 31), "p1", AuditKind.EXPORTED, "cases"),
        lambda: Assignment("610102", pendulum.Date(2026, 1, 1), pendulum.Date(2101, 1, 1)),
    ):
        with pytest.raises(ValidationError) as info:
            build()
        paths.append((info.value.path, info.value.problem))
    assert [("at", OUTSIDE_RANGE), ("end", OUTSIDE_RANGE)] == paths


def test_structuring_refuses_an_instant_out_of_range_at_its_path() -> None:
    """A stored or received instant out of range fails at its path, before any conversion."""
    data = {
        "id": "a1",
        "at": "9999-12-31T23:00:00-05:00[Asia/Shanghai]",
        "principal_id": "p1",
        "kind": "exported",
        "subject": "cases",
    }
    with pytest.raises(ValidationError) as info:
        structure(data, AuditEntry)
    assert ("at", OUTSIDE_RANGE) == (info.value.path, info.value.problem)


def test_birth_dates_reach_back_to_1880_but_not_past_2100() -> None:
    """Birth dates keep their own lower bound (1880, as ID numbers) and end with the range."""
    assert (
        pendulum.Date(1880, 1, 1)
        == Resident("r1", "王芳", birth_date=pendulum.Date(1880, 1, 1)).birth_date
    )
    body = "61010221010101001"  # born 2101-01-01
    problems = []
    for build in (
        lambda: Resident("r1", "王芳", birth_date=pendulum.Date(2101, 1, 1)),
        lambda: NationalId(body + id_check_character(body)),
    ):
        with pytest.raises(ValidationError) as info:
            build()
        problems.append((info.value.path, info.value.problem))
    expected = [
        ("birth_date", "after 2100-12-31, the end of the supported range"),
        ("", "the birth date in the ID number is after 2100-12-31"),
    ]
    assert expected == problems


def test_manual_clock_stays_in_the_range() -> None:
    """A manual clock cannot start, be set or be advanced outside the range."""
    clock = ManualClock(shanghai(2100, 12, 31, 9))
    problems = []
    for move in (
        lambda: clock.advance(pendulum.duration(days=1)),
        lambda: clock.advance(pendulum.duration(years=10000)),
        lambda: clock.set(shanghai(1, 1, 1)),
        lambda: ManualClock(shanghai(9999, 12, 31)),
    ):
        with pytest.raises(ValidationError) as info:
            move()
        problems.append(info.value.path)
    assert (["duration", "duration", "instant", "start"], shanghai(2100, 12, 31, 9)) == (
        problems,
        clock.now(),
    )


def weekly(rule: str) -> ActivitySeries:
    """Return a series from 1 December 2100 on the rule ``rule``."""
    return ActivitySeries(
        id="s1",
        title="书法",
        organiser="社区",
        venue_id="v1",
        space_id="room",
        start=shanghai(2100, 12, 1, 9),
        minutes=60,
        rrule=rule,
    )


def test_a_series_rule_cannot_run_past_the_range() -> None:
    """An UNTIL outside the range is refused at once; a COUNT that runs past 2100 when stored."""
    with pytest.raises(ValidationError) as until:
        weekly("FREQ=WEEKLY;UNTIL=99991231T000000Z")
    with pytest.raises(ValidationError) as count:
        _ = weekly("FREQ=WEEKLY;COUNT=10").last_end
    assert [("rrule", f"UNTIL is {OUTSIDE_RANGE}"), ("rrule", f"COUNT runs {OUTSIDE_RANGE}")] == [
        (until.value.path, until.value.problem),
        (count.value.path, count.value.problem),
    ]


# --- hypothesis over the years 1 to 9999 --------------------------------------------------------


@FAST
@given(instants())
@example(pendulum.DateTime(1, 1, 1, tzinfo=pendulum.FixedTimezone(14 * 3600)))
@example(pendulum.DateTime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=pendulum.FixedTimezone(-43200)))
@example(shanghai(1899, 12, 31, 23, 59, 59, 999999))
@example(shanghai(2101, 1, 1))
def test_ensure_aware_accepts_exactly_the_range(instant: pendulum.DateTime) -> None:
    """Any instant from the year 1 to 9999: in range it comes back, outside a ValidationError."""
    try:
        outcome: object = ensure_aware(instant, "at")
    except ValidationError as exc:
        outcome = (exc.path, exc.problem)
    assert (instant if in_range(instant) else ("at", OUTSIDE_RANGE)) == outcome


@FAST
@given(instants())
@example(shanghai(9999, 12, 31, 23, 59))
@example(pendulum.DateTime(1, 1, 1, tzinfo=pendulum.FixedTimezone(-43200)))
def test_records_accept_exactly_the_range(instant: pendulum.DateTime) -> None:
    """A record built at any instant: in range it holds it, outside a ValidationError at ``at``."""
    try:
        outcome: object = AuditEntry("a1", instant, "p1", AuditKind.EXPORTED, "cases").at
    except ValidationError as exc:
        outcome = (exc.path, exc.problem)
    assert (instant if in_range(instant) else ("at", OUTSIDE_RANGE)) == outcome


@FAST
@given(days)
@example(pendulum.Date(1, 1, 1))
@example(pendulum.Date(9999, 12, 31))
def test_dates_accept_exactly_the_range(day: pendulum.Date) -> None:
    """A date field and ensure_date: in range the day is kept, outside a ValidationError."""
    outcomes: list[object] = []
    builds: list[Callable[[], object]] = [
        lambda: ensure_date(day, "on"),
        lambda: Assignment("610102", day).start,
    ]
    for build in builds:
        try:
            outcomes.append(build())
        except ValidationError as exc:
            outcomes.append(exc.problem)
    assert [day if in_range(day) else OUTSIDE_RANGE] * 2 == outcomes


@FAST
@given(fixed_instants(), st.sampled_from(["", "[UTC]", "[Asia/Shanghai]", "[Etc/GMT+12]"]))
@example(pendulum.DateTime(9999, 12, 31, 23, tzinfo=pendulum.FixedTimezone(-5 * 3600)), "[UTC]")
@example(pendulum.DateTime(1, 1, 1, tzinfo=pendulum.FixedTimezone(8 * 3600)), "[Etc/GMT+12]")
def test_structuring_an_instant_never_overflows(instant: pendulum.DateTime, zone: str) -> None:
    """Structuring any instant, with any bracketed zone, gives it back or a ValidationError."""
    expected: object = instant
    if not in_range(instant):
        expected = OUTSIDE_RANGE
    elif zone and instant.in_timezone(zone[1:-1]).utcoffset() != instant.utcoffset():
        expected = "the UTC offset does not match the bracketed time zone"
    try:
        outcome: object = structure(instant.isoformat() + zone, pendulum.DateTime)
    except ValidationError as exc:
        outcome = exc.problem
    assert expected == outcome


@FAST
@given(instants(), st.sampled_from(list(TimeUnit)))
@example(shanghai(9999, 12, 31, 23), TimeUnit.WORKING_DAYS)
@example(shanghai(2100, 12, 31, 23), TimeUnit.DAYS)
def test_a_time_limit_from_any_instant_never_overflows(
    instant: pendulum.DateTime, unit: TimeUnit
) -> None:
    """A deadline counted from any instant is computed in range, else refused naming ``start``."""
    try:
        due = TimeLimit(15, unit).due(instant, WorkCalendar())
    except ValidationError as exc:
        outcome: object = (exc.path, exc.problem)
    else:
        outcome = due > instant
    assert (True if in_range(instant) else ("start", OUTSIDE_RANGE)) == outcome


# --- the command --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Load Minggong once into a SQLite file; return its URL (nothing here commits to it)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bounds') / 'minggong.db'}"
    assert 0 == run("load", "--db", url, "--quiet")[0]
    return url


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (("sweep", "--at", "9999-12-31T23:00+08:00"), "--at"),
        (("worklist", "--worker", "grid-01", "--date", "9999-12-31"), "--date"),
        (("report", "--on", "0001-01-01"), "--on"),
        (("schedule", "--week", "9999-12-28"), "--week"),
        (("cases", "--at", "0001-01-01T00:00+08:00"), "--at"),
        (("cases", "--at", "1899-12-31T23:59-12:00"), "--at"),
        (("report", "--on", "2101-01-01"), "--on"),
    ],
)
def test_commands_refuse_a_day_outside_the_range(
    argv: tuple[str, ...], option: str, store: str
) -> None:
    """Each command exits with 2 and names the option: nothing on stdout, no traceback."""
    code, out, err = run(*argv, "--db", store)
    last = err.splitlines()[-1]
    assert (2, "", f"gridgov {argv[0]}: error: argument {option}: {OUTSIDE_RANGE}") == (
        code,
        out,
        last,
    )
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (("demo", "--today", "1899-12-31", "--db", "memory://"), "--today"),
        (("simulate", "minggong", "--from", "9999-12-31", "--days", "1"), "--from"),
    ],
)
def test_demo_and_simulate_refuse_a_day_outside_the_range(
    argv: tuple[str, ...], option: str
) -> None:
    """``--today`` and ``--from`` are refused the same way, before any store is opened."""
    code, out, err = run(*argv)
    assert (2, "", f"gridgov {argv[0]}: error: argument {option}: {OUTSIDE_RANGE}") == (
        code,
        out,
        err.splitlines()[-1],
    )


def test_the_sweep_at_year_9999_prints_no_traceback(store: str) -> None:
    """``python -m gridgov sweep --at 9999-12-31T23:00+08:00`` ends with one usage error."""
    result = subprocess.run(
        [sys.executable, "-m", "gridgov", "sweep", "--at", "9999-12-31T23:00+08:00", "--db", store],
        capture_output=True,
        encoding="utf-8",
        check=False,
        timeout=120,
    )
    assert (2, "", f"gridgov sweep: error: argument --at: {OUTSIDE_RANGE}") == (
        result.returncode,
        result.stdout,
        result.stderr.splitlines()[-1],
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("report", "--on", "2100-12-31"),
            f"on: the report reads 2100-10-03 to 2101-01-07, {OUTSIDE_RANGE}",
        ),
        (
            ("report", "--on", "1900-01-01"),
            f"on: the report reads 1899-10-04 to 1900-01-08, {OUTSIDE_RANGE}",
        ),
        (
            ("schedule", "--week", "2100-12-28"),
            f"start: the week runs to 2101-01-04, {OUTSIDE_RANGE}",
        ),
        (
            ("worklist", "--worker", "grid-01", "--date", "2100-12-31"),
            f"now: a task planned now would stay open until 2101-01-07, {OUTSIDE_RANGE}",
        ),
    ],
)
def test_commands_refuse_a_window_reaching_outside(
    argv: tuple[str, ...], message: str, store: str
) -> None:
    """A day in range whose week, report or tasks would leave the range exits with 2."""
    code, out, err = run(*argv, "--db", store)
    assert (2, "", f"gridgov: error: {message}\n") == (code, out, err)


def test_simulate_refuses_days_running_past_2100() -> None:
    """``--days`` that take the run past 2100-12-31 exit with 2, naming ``days``."""
    code, out, err = run("simulate", "minggong", "--from", "2100-12-30", "--days", "5")
    expected = f"gridgov: error: days: the run would reach 2101-01-04, {OUTSIDE_RANGE}\n"
    assert (2, "", expected) == (code, out, err)


@pytest.mark.parametrize("at", ["1900-01-01T00:00+14:00", "2100-12-31T23:59-12:00"])
def test_commands_accept_the_edges_of_the_range(at: str, store: str) -> None:
    """The first and last instants of the range, at the extreme offsets, are accepted."""
    code, out, err = run("cases", "--at", at, "--db", store, "--json")
    assert (0, "") == (code, err)
    assert out.startswith("{")
