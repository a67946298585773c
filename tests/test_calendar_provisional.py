"""Working time past the last announced year: provisional days, marked results, re-timing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import attrs
import chinese_calendar  # type: ignore[import-untyped]
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov import open_store
from gridgov.calendar import WorkCalendar
from gridgov.calendar.statutory import (
    REVISIONS,
    Festival,
    Revision,
    revision_in_force,
    statutory_holidays,
)
from gridgov.cases.catalogue import Stage, TimeLimit, TimeUnit
from gridgov.cases.model import Case, CaseSource, DeadlineChange, Location, Reporter
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow
from gridgov.errors import CalendarCoverageError, ValidationError
from gridgov.grid import GridCell, GridLevel
from gridgov.ports import Store
from gridgov.scenarios import Scenario, example_path, load_scenario, populate
from gridgov.scenarios.simulate import simulate
from gridgov.scheduling.series import ActivitySeries
from gridgov.services.cases import EscalationEngine, act_on_case, report_case
from gridgov.services.retime import retime
from gridgov.services.scheduling import register

TZ = "Asia/Shanghai"
CHINA = WorkCalendar.china()
GRID = "610102003006001"  # 铁一村网格 of the Minggong example
ANNOUNCED = range(2004, 2027)  # the years chinesecalendar 1.11 holds


def at(y: int, m: int, d: int, hour: int = 10, minute: int = 0) -> pendulum.DateTime:
    """Return a Beijing instant."""
    return pendulum.datetime(y, m, d, hour, minute, tz=TZ)


def day(y: int, m: int, d: int) -> pendulum.Date:
    """Return a date."""
    return pendulum.Date(y, m, d)


def announced_holidays(year: int) -> set[dt.date]:
    """Return the holidays chinesecalendar's data holds for ``year``."""
    return {d for d in chinese_calendar.holidays if d.year == year}


# -- the statutory rule against the announcements ----------------------------------------------


@pytest.mark.parametrize("year", ANNOUNCED)
def test_each_statutory_day_is_an_announced_holiday_or_a_weekend(year: int) -> None:
    """By the revision in force, every statutory day off of an announced year was given off."""
    off = announced_holidays(year)
    expected: list[pendulum.Date] = []
    assert expected == [d for d in statutory_holidays(year) if d not in off and d.weekday() < 5]


@pytest.mark.parametrize(
    ("year", "since", "days"),
    [(2007, 2000, 10), (2013, 2008, 11), (2024, 2014, 11), (2026, 2025, 13)],
)
def test_the_revision_in_force_gives_its_number_of_days(year: int, since: int, days: int) -> None:
    """1999: 10 days off; 2007 and 2013: 11; 2024 (in force from 2025): 13."""
    assert (since, days) == (revision_in_force(year).since, len(statutory_holidays(year)))


def test_the_check_against_the_announcements_can_fail() -> None:
    """The 2024 revision applied to 2024 gives New Year's Eve (9 February), then a working day."""
    newer: Revision = REVISIONS[-1]
    eve = day(2024, 2, 9)
    assert Festival.SPRING_FESTIVAL in newer.days
    assert -1 in newer.days[Festival.SPRING_FESTIVAL]
    assert eve not in announced_holidays(2024)
    assert (True, False) == (eve.weekday() < 5, eve in statutory_holidays(2024))


def test_2027_by_the_2024_revision() -> None:
    """The statutory days of 2027: lunar dates from the holidays package, the 2024 revision."""
    expected = {
        day(2027, 1, 1): Festival.NEW_YEAR,
        day(2027, 2, 5): Festival.SPRING_FESTIVAL,  # the eve, a Friday
        day(2027, 2, 6): Festival.SPRING_FESTIVAL,
        day(2027, 2, 7): Festival.SPRING_FESTIVAL,
        day(2027, 2, 8): Festival.SPRING_FESTIVAL,
        day(2027, 4, 5): Festival.QINGMING,
        day(2027, 5, 1): Festival.LABOUR_DAY,
        day(2027, 5, 2): Festival.LABOUR_DAY,
        day(2027, 6, 9): Festival.DRAGON_BOAT,
        day(2027, 9, 15): Festival.MID_AUTUMN,
        day(2027, 10, 1): Festival.NATIONAL_DAY,
        day(2027, 10, 2): Festival.NATIONAL_DAY,
        day(2027, 10, 3): Festival.NATIONAL_DAY,
    }
    assert expected == statutory_holidays(2027)


@pytest.mark.parametrize("year", [1999, 2101])
def test_years_without_a_rule_or_lunar_dates_are_refused(year: int) -> None:
    """Before the 1999 revision's first full year, and after the lunar tables end: refused."""
    with pytest.raises(CalendarCoverageError):
        statutory_holidays(year)


# -- provisional days in the calendar ------------------------------------------------------------


def test_a_provisional_year_counts_statutory_days_and_weekends_only() -> None:
    """2027 off: statutory days and weekends; no make-up working day; 2026 stays announced."""
    assert (False, False, True, False, True) == (
        CHINA.is_working_day(day(2027, 2, 5)),  # the eve
        CHINA.is_working_day(day(2027, 2, 6)),  # a Saturday
        CHINA.is_working_day(day(2027, 2, 9)),  # the day after the statutory days
        CHINA.is_working_day(day(2026, 10, 1)),
        CHINA.is_working_day(day(2026, 10, 10)),  # 2026's make-up Saturday
    )
    assert (True, False, (2027,), ()) == (
        CHINA.is_provisional(2027),
        CHINA.is_provisional(2026),
        CHINA.provisional_years(at(2026, 12, 28), at(2027, 1, 19)),
        CHINA.provisional_years(at(2026, 12, 1), at(2026, 12, 31, 23)),
    )


def test_strict_mode_refuses_what_the_default_counts() -> None:
    """``beyond="refuse"`` raises CalendarCoverageError where the default counts provisionally."""
    strict = WorkCalendar.china(beyond="refuse")
    assert at(2027, 1, 19, 17, 30) == CHINA.add_working_days(at(2026, 12, 28), 15)
    with pytest.raises(CalendarCoverageError) as info:
        strict.add_working_days(at(2026, 12, 28), 15)
    assert str(info.value).startswith("2027 is outside the years this calendar covers")


def test_years_before_the_announcements_stay_refused() -> None:
    """2003 is history: it is refused in both modes, never counted by rule."""
    with pytest.raises(CalendarCoverageError):
        CHINA.is_working_day(day(2003, 12, 31))


def test_beyond_round_trips_through_the_table() -> None:
    """``beyond`` is written to the TOML table and read back; a bad value names the key."""
    strict = WorkCalendar.from_toml("years = 2026\nbeyond = 'refuse'")
    assert ("refuse", strict) == (strict.beyond, WorkCalendar.from_toml(strict.to_toml()))


def test_a_newer_chinesecalendar_extends_the_announced_years(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dates for 2027 in chinesecalendar's data make 2027 an announced year."""
    monkeypatch.setitem(chinese_calendar.holidays, dt.date(2027, 2, 10), "Spring Festival")
    calendar = WorkCalendar.china()
    assert ((2004, 2027), False, False) == (
        calendar.years,
        calendar.is_provisional(2027),
        calendar.is_working_day(day(2027, 2, 10)),
    )


def test_shipped_announcements_are_merged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    """A cn-YEAR.toml in the shipped folder adds that year to ``WorkCalendar.china()``."""
    from pathlib import Path

    from gridgov.calendar import _core

    folder = Path(str(tmp_path))
    (folder / "cn-2027.toml").write_text(ANNOUNCED_2027_TOML, encoding="utf-8")
    (folder / "README.md").write_text("not a year", encoding="utf-8")
    monkeypatch.setattr(_core, "_ANNOUNCEMENTS", folder)
    calendar = WorkCalendar.china()
    assert ((2004, 2027), True, False) == (
        calendar.years,
        calendar.is_working_day(day(2027, 2, 20)),  # the make-up Saturday
        calendar.is_provisional(2027),
    )


@settings(max_examples=50, deadline=None)
@given(st.datetimes(dt.datetime(2026, 12, 1), dt.datetime(2027, 12, 31)), st.integers(0, 90 * 60))
def test_working_time_inverts_across_provisional_years(start: dt.datetime, minutes: int) -> None:
    """Across announced and provisional days, working time between start and start + d is d."""
    begin = pendulum.instance(start, tz=TZ)
    end = CHINA.add_working_time(begin, pendulum.duration(minutes=minutes))
    assert pendulum.duration(minutes=minutes) == CHINA.working_time_between(begin, end)


# -- marked results ------------------------------------------------------------------------------

# A made-up arrangement for 2027, not the State Council's: New Year's Day on the weekend after it,
# a nine-day Spring Festival with a make-up Saturday, and the statutory days of the other festivals.
ANNOUNCED_2027_TOML = """
years = 2027
holidays = [
    "2027-01-01/2027-01-03",
    "2027-02-05/2027-02-13",
    "2027-04-03/2027-04-05",
    "2027-05-01/2027-05-05",
    "2027-06-09",
    "2027-09-15",
    "2027-10-01/2027-10-07",
]
workdays = ["2027-02-20", "2027-05-08", "2027-10-09"]
"""


def announced(calendar: WorkCalendar) -> WorkCalendar:
    """Return ``calendar`` with the made-up 2027 arrangement added."""
    return calendar.merged(WorkCalendar.from_toml(ANNOUNCED_2027_TOML))


WF = CaseWorkflow(CHINA)


def test_deadlines_past_the_year_end_are_provisional() -> None:
    """In the last working week of 2026: 2 working days stay final, 15 reach 2027 provisionally."""
    quick = reported("consultation", at(2026, 12, 28))
    slow = reported("complaint", at(2026, 12, 28))
    slow = dispatched(slow, at(2026, 12, 28, 10, 30))
    quick = dispatched(quick, at(2026, 12, 28, 10, 30))
    handling, fast = slow.deadline(Stage.HANDLING), quick.deadline(Stage.HANDLING)
    assert handling is not None
    assert fast is not None
    assert (at(2027, 1, 19, 17, 30), (2027,), True) == (
        handling.due,
        handling.provisional_years,
        handling.provisional,
    )
    assert (at(2026, 12, 30, 17, 30), ()) == (fast.due, fast.provisional_years)
    assert "provisional_years=(2027,)" in repr(handling)


def test_a_limit_across_the_provisional_spring_festival() -> None:
    """From Friday 29 January 2027, 15 working days skip the eve to the 4th day: 23 February."""
    case = dispatched(reported("complaint", at(2027, 1, 29)), at(2027, 1, 29, 11))
    handling = case.deadline(Stage.HANDLING)
    assert handling is not None
    assert (at(2027, 2, 23, 17, 30), (2027,)) == (handling.due, handling.provisional_years)


def test_escalation_checks_say_what_they_rest_on() -> None:
    """A check counted across 2027 is provisional; the grid's 1-day check in 2026 is not."""
    case = dispatched(reported("complaint", at(2026, 12, 28)), at(2026, 12, 28, 11))
    assert (at(2026, 12, 29, 17, 30), ()) == (case.next_check, case.next_check_provisional_years)
    engine_case, fired, _ = WF.escalate(case, at(2027, 1, 20, 9), _NoHierarchy())
    by_rule = {e.rule: e.provisional_years for e in fired}
    assert ((), (2027,)) == (by_rule["grid_to_community"], by_rule["deadline_missed"])
    assert (2027,) == engine_case.next_check_provisional_years


def test_a_pause_and_an_extension_are_counted_again_the_same_way() -> None:
    """``timed`` replays a deadline's pauses and extensions: the same due as step by step."""
    case = dispatched(reported("complaint", at(2026, 12, 1)), at(2026, 12, 1, 11))
    steps: list[tuple[Action, CaseRole, pendulum.DateTime, dict[str, object]]] = [
        (Action.START, CaseRole.HANDLER, at(2026, 12, 2), {}),
        (Action.WAIT_ON_RESIDENT, CaseRole.HANDLER, at(2026, 12, 3), {"note": "材料待补正"}),
        (Action.RESUME, CaseRole.HANDLER, at(2026, 12, 15), {}),
        (
            Action.REQUEST_EXTENSION,
            CaseRole.HANDLER,
            at(2026, 12, 16),
            {"note": "需协调产权单位", "extension": TimeLimit(5, TimeUnit.WORKING_DAYS)},
        ),
        (Action.APPROVE_EXTENSION, CaseRole.SUPERVISOR, at(2026, 12, 17), {}),
    ]
    for action, role, when, extra in steps:
        case = WF.apply(case, action, actor=f"{role.value}-1", role=role, at=when, **extra).case  # type: ignore[arg-type]
    handling = case.deadline(Stage.HANDLING)
    assert handling is not None
    expected = (
        DeadlineChange(at(2026, 12, 3), resumed_at=at(2026, 12, 15)),
        DeadlineChange(at(2026, 12, 17), extension=TimeLimit(5, TimeUnit.WORKING_DAYS)),
    )
    assert expected == handling.changes
    # 97 working hours were left at the pause: from 15 December they end on 4 January (New
    # Year's Day off), then 5 working days more.
    assert (at(2027, 1, 11, 17, 30), (2027,)) == (handling.due, handling.provisional_years)
    assert handling == WF.timed(handling)


class _NoHierarchy:
    """A grid with nobody above or on duty: escalations record without moving the case."""

    def parent_unit(self, cell_code: str) -> None:
        """Return no parent."""
        return

    def on_duty(self, cell_code: str, day: pendulum.Date, *, besides: str | None) -> None:
        """Return nobody."""
        return


def reported(category: str, when: pendulum.DateTime) -> Case:
    """Return a case in the Minggong grid, reported through the 12345 hotline at ``when``."""
    return WF.report(
        case_id=f"c-{category}-{when.format('YYYYMMDDHHmm')}",
        category=category,
        source=CaseSource.HOTLINE_12345,
        location=Location(GRID),
        reporter=Reporter(),
        description="楼道堆放杂物",
        owner=GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
        at=when,
        actor="op1",
    ).case


def dispatched(case: Case, when: pendulum.DateTime) -> Case:
    """Return the case registered and dispatched at ``when``."""
    case = WF.apply(case, Action.REGISTER, actor="d1", role=CaseRole.DISPATCHER, at=when).case
    return WF.apply(case, Action.DISPATCH, actor="d1", role=CaseRole.DISPATCHER, at=when).case


# -- a community through December, and the announcement arriving ----------------------------------


@pytest.fixture(scope="module")
def minggong() -> Scenario:
    """Return the Minggong example scenario (its calendar: 2025-2026 announced)."""
    return load_scenario(example_path())


@pytest.fixture
def store(minggong: Scenario) -> Iterator[Store]:
    """Return a memory store holding the Minggong example."""
    store = open_store("memory://")
    populate(store, minggong)
    yield store
    store.close()


def stored_case(
    store: Store, workflow: CaseWorkflow, category: str, when: pendulum.DateTime
) -> Case:
    """Report, register and dispatch a case in the 铁一村 grid through the services."""
    with store() as uow:
        case = report_case(
            uow,
            workflow,
            category=category,
            source=CaseSource.HOTLINE_12345,
            cell_code=GRID,
            description="楼道堆放杂物",
            at=when,
            actor="op1",
        ).case
        for action in (Action.REGISTER, Action.DISPATCH):
            case = act_on_case(
                uow, workflow, case.id, action, actor="d1", role=CaseRole.DISPATCHER, at=when
            ).case
        uow.commit()
    return case


def test_every_day_of_december_dispatches_sweeps_and_plans(
    store: Store, minggong: Scenario
) -> None:
    """Each day of December 2026: a complaint dispatched, a sweep and the care plan all work."""
    from gridgov.services.care import plan_tasks

    workflow = minggong.workflow()
    engine = EscalationEngine(store, workflow)
    marks: list[tuple[int, bool]] = []
    for d in range(1, 32):
        case = stored_case(store, workflow, "complaint", at(2026, 12, d, 10))
        handling = case.deadline(Stage.HANDLING)
        assert handling is not None
        marks.append((handling.due.year, handling.provisional))
        engine.sweep(at(2026, 12, d, 18))
        with store() as uow:
            plan_tasks(uow, "610102003006", now=at(2026, 12, d, 8))
            uow.commit()
    # A complaint has 15 working days: from 10 December on, its deadline lies in 2027.
    assert {(2026, False), (2027, True)} == set(marks)
    assert [y == 2027 for y, _ in marks] == [p for _, p in marks]
    with store() as uow:
        tasks = uow.care_tasks.open_in_subtree(
            "610102003006", starting_before=at(2027, 1, 1, 0), limit=5000
        ).items
    new_year = at(2027, 1, 1, 0)
    spanning = [t for t in tasks if t.start < new_year < t.end]
    assert spanning, "a routine window planned in December spans New Year"


def test_a_month_simulated_across_the_year_end(minggong: Scenario) -> None:
    """The simulator lives Minggong from 1 December 2026 into January 2027 without refusal."""
    report = simulate(open_store("memory://"), minggong, start=pendulum.Date(2026, 12, 1), days=40)
    assert (40, True, True) == (report.days, report.cases_reported > 0, report.contacts > 0)


def test_retime_moves_exactly_what_the_announcement_changes(
    store: Store, minggong: Scenario
) -> None:
    """The 2027 arrangement moves two deadlines and a registration; a second run moves nothing."""
    workflow = minggong.workflow()
    final = stored_case(store, workflow, "consultation", at(2026, 12, 1))
    same = stored_case(store, workflow, "complaint", at(2026, 12, 28))
    later = stored_case(store, workflow, "complaint", at(2027, 1, 28))
    short = stored_case(store, workflow, "consultation", at(2027, 2, 3))
    resident = minggong.households[0].members[0].id
    series = ActivitySeries(
        id="calligraphy",
        title="新春书法",
        organiser="明宫社区",
        venue_id="hui",
        space_id="culture",
        start=at(2027, 1, 6, 9, 30),
        minutes=90,
        rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=10",
        skip_holidays=True,
        capacity=20,
    )
    with store() as uow:
        uow.series.add(series)
        kept = register(
            uow,
            series_id="calligraphy",
            original_start=at(2027, 1, 13, 9, 30),
            resident_id=resident,
            at=at(2026, 12, 7),
        )
        skipped = register(
            uow,
            series_id="calligraphy",
            original_start=at(2027, 2, 10, 9, 30),
            resident_id=resident,
            at=at(2026, 12, 7),
        )
        uow.commit()

    report = retime(store, announced(workflow.calendar), at=at(2026, 12, 10), batch_size=3)

    moved = {(m.kind, m.record_id, m.what): (m.old, m.new) for m in report.moved}
    occurrence = f"occurrence {skipped.occurrence_id}"
    assert {
        ("case", later.id, "handling deadline"): (at(2027, 2, 22, 17, 30), at(2027, 2, 25, 17, 30)),
        ("case", short.id, "handling deadline"): (at(2027, 2, 9, 17, 30), at(2027, 2, 15, 17, 30)),
        ("venue", "hui", "opening calendar"): (None, None),
        ("registration", skipped.id, occurrence): (at(2027, 2, 10, 9, 30), None),
    } == moved
    with store() as uow:
        cases = {c: uow.cases.get(c) for c in (final.id, same.id, later.id, short.id)}
        states = (uow.registrations.get(kept.id).state, uow.registrations.get(skipped.id).state)
        opening = uow.venues.get("hui").opening
    retimed = {c for c, case in cases.items() if case.history[-1].action == "retime"}
    assert {later.id, short.id} == retimed
    assert all(not d.provisional for case in cases.values() for d in case.deadlines)
    assert ("confirmed", "cancelled") == tuple(s.value for s in states)
    assert ((2025, 2027), False) == (opening.years, opening.is_provisional(2027))
    assert 0 == len(retime(store, announced(workflow.calendar), at=at(2026, 12, 11)))


def test_a_years_arrangement_lists_its_days() -> None:
    """2026 as announced, with its make-up days; 2027 as the rule gives it, without any."""
    announced, provisional = CHINA.arrangement(2026), CHINA.arrangement(2027)
    assert (False, 6, day(2026, 10, 10)) == (
        announced.provisional,
        len(announced.workdays),
        announced.workdays[-1],
    )
    assert (True, tuple(sorted(statutory_holidays(2027))), ()) == (
        provisional.provisional,
        provisional.holidays,
        provisional.workdays,
    )


@pytest.mark.parametrize(
    ("count", "field"),
    [
        (lambda: CHINA.add_working_days(at(2100, 12, 20), 30), "days"),
        (
            lambda: CHINA.add_working_time(at(2100, 12, 20), pendulum.duration(hours=400)),
            "duration",
        ),
    ],
)
def test_a_count_past_2100_is_a_clear_error(count: Callable[[], object], field: str) -> None:
    """Counting past the supported range names the count, never a raw ValueError."""
    with pytest.raises(ValidationError) as info:
        count()
    assert (field, "the count runs outside the supported range 1900-01-01 to 2100-12-31") == (
        info.value.path,
        info.value.problem,
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: WorkCalendar(years=(1899, 2026)),
        lambda: WorkCalendar(holidays={pendulum.Date(2101, 1, 1)}, years=(2026, 2026)),
        lambda: WorkCalendar.from_toml("years = 2101"),
        lambda: WorkCalendar.from_toml('holidays = ["2100-12-31/2101-01-02"]'),
    ],
)
def test_calendar_data_outside_the_range_is_refused(make: Callable[[], object]) -> None:
    """Years and days outside 1900-2100 are a ValidationError, as every other instant."""
    with pytest.raises(ValidationError):
        make()


# A wrong first announcement of 2027: the Spring Festival of the rule only, no make-up day.
WRONG_2027_TOML = """
years = 2027
holidays = [
    "2027-01-01/2027-01-03",
    "2027-02-05/2027-02-08",
    "2027-04-03/2027-04-05",
    "2027-05-01/2027-05-05",
    "2027-06-09",
    "2027-09-15",
    "2027-10-01/2027-10-07",
]
"""


def test_a_corrected_announcement_is_applied_by_a_second_retime(
    store: Store, minggong: Scenario
) -> None:
    """Retime with a wrong 2027, then the corrected one: the deadline moves to the right day."""
    workflow = minggong.workflow()
    later = stored_case(store, workflow, "complaint", at(2027, 1, 28))
    wrong = workflow.calendar.merged(WorkCalendar.from_toml(WRONG_2027_TOML))
    retime(store, wrong, at=at(2026, 12, 10))
    report = retime(store, announced(workflow.calendar), at=at(2026, 12, 11))
    moved = [(m.record_id, m.what, m.old, m.new) for m in report.moved if m.kind == "case"]
    assert [
        (later.id, "handling deadline", at(2027, 2, 22, 17, 30), at(2027, 2, 25, 17, 30))
    ] == moved
    assert report.moved[0].why_en.startswith("counted again on the working calendar as it is now")


def test_retime_counts_lately_closed_cases_again(store: Store, minggong: Scenario) -> None:
    """A consultation closed on 10 February 2027 was late provisionally, on time as announced."""
    workflow = minggong.workflow()
    case = stored_case(store, workflow, "consultation", at(2027, 2, 3))
    steps = [
        (Action.START, CaseRole.HANDLER, ""),
        (Action.HANDLE, CaseRole.HANDLER, "已答复"),
        (Action.VERIFY, CaseRole.VERIFIER, ""),
        (Action.CLOSE, CaseRole.DISPATCHER, ""),
    ]
    with store() as uow:
        for action, role, note in steps:
            act_on_case(
                uow,
                workflow,
                case.id,
                action,
                actor=f"{role.value}-1",
                role=role,
                at=at(2027, 2, 10),
                note=note,
            )
        uow.commit()

    def on_time() -> bool | None:
        with store() as uow:
            handling = uow.cases.get(case.id).deadline(Stage.HANDLING)
        assert handling is not None
        return handling.met_in_time()

    before = on_time()
    retime(store, announced(workflow.calendar), at=at(2026, 12, 10))
    assert (False, True) == (before, on_time())


@pytest.mark.parametrize("ask", ["is_working_day", "is_holiday", "hours_on"])
def test_an_instant_is_not_a_day(ask: str) -> None:
    """Asking about a DateTime (a Date subclass) is refused rather than answered wrongly."""
    with pytest.raises(ValidationError) as info:
        getattr(CHINA, ask)(at(2026, 10, 1))
    assert "day" == info.value.path


def test_retime_refuses_a_year_announced_without_its_days(store: Store, minggong: Scenario) -> None:
    """A 2027 declared in ``years`` without its dates would make festivals working days."""
    forgot = attrs.evolve(minggong.workflow().calendar, years=(2025, 2027))
    assert [2027] == list(forgot.unlisted_statutory_days())
    with pytest.raises(ValidationError) as info:
        retime(store, forgot, at=at(2026, 12, 10))
    assert ("calendar", True) == (
        info.value.path,
        info.value.problem.startswith("2027 is announced, but its statutory days off 2027-01-01"),
    )


def test_provisional_years_of_standard_instants_stop_at_2100() -> None:
    """Aware standard-library instants and dates work; the years end where the range does."""
    start = dt.datetime(2026, 12, 28, 1, tzinfo=dt.UTC)
    assert tuple(range(2027, 2101)) == CHINA.provisional_years(start, dt.date(2200, 1, 1))


def test_merging_a_different_announced_year_is_refused() -> None:
    """A feed that changes an already announced year (8 October 2026 off) is refused."""
    year = CHINA.arrangement(2026)
    changed = WorkCalendar(
        holidays={*year.holidays, day(2026, 10, 8)}, workdays=year.workdays, years=(2026, 2026)
    )
    with pytest.raises(ValidationError) as info:
        CHINA.merged(changed)
    assert ("holidays", True) == (info.value.path, "2026-10-08" in info.value.problem)


def test_a_strict_sweep_names_the_case_it_cannot_count(store: Store, minggong: Scenario) -> None:
    """With beyond='refuse', the sweep stops at the first case needing 2027 and names it."""
    stored_case(store, minggong.workflow(), "complaint", at(2026, 12, 28))
    strict = CaseWorkflow(attrs.evolve(minggong.workflow().calendar, beyond="refuse"))
    with pytest.raises(CalendarCoverageError) as info:
        EscalationEngine(store, strict).sweep(at(2027, 1, 20, 9))
    named, _, rest = str(info.value).removeprefix("case ").partition(": ")
    with store() as uow:
        assert (named, True) == (uow.cases.get(named).id, rest.startswith("2027 is outside"))
