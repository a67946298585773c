"""The simulator: the Minggong community lived for two weeks through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import attrs
import pendulum
import pytest

from gridgov import open_store
from gridgov.clock import SystemClock
from gridgov.errors import CalendarCoverageError, ValidationError
from gridgov.ports import Store
from gridgov.scenarios import Scenario, example_path, load_scenario
from gridgov.scenarios.simulate import SimulationReport, simulate
from gridgov.services.care import coverage
from gridgov.services.cases import EscalationEngine, case_kpis

TZ = "Asia/Shanghai"
START = pendulum.Date(2025, 3, 1)  # a Saturday; the Minggong calendar covers 2025 and 2026
DAYS = 14
START_INSTANT = pendulum.datetime(2025, 3, 1, tz=TZ)
END = pendulum.datetime(2025, 3, 15, tz=TZ)
LAST_SWEEP = pendulum.datetime(2025, 3, 14, 17, 30, tz=TZ)
COMMUNITY = "610102003006"


@pytest.fixture(scope="module")
def minggong() -> Scenario:
    """Return the Minggong example scenario."""
    return load_scenario(example_path())


@pytest.fixture(scope="module")
def run(minggong: Scenario) -> Iterator[tuple[Store, SimulationReport]]:
    """Return a memory store after two weeks of Minggong, and the report."""
    store = open_store("memory://")
    report = simulate(store, minggong, start=START, days=DAYS)
    yield store, report
    store.close()


def test_the_same_seed_gives_the_same_report(
    minggong: Scenario, run: tuple[Store, SimulationReport]
) -> None:
    """A second run with the same seed gives the same report, figure for figure."""
    _, expected = run
    assert expected == simulate(open_store("memory://"), minggong, start=START, days=DAYS)


def test_another_seed_gives_another_report(
    minggong: Scenario, run: tuple[Store, SimulationReport]
) -> None:
    """Another seed draws other contacts, cases and registrations."""
    _, report = run
    other = simulate(open_store("memory://"), minggong, start=START, days=DAYS, seed=7)
    changed = {k for k, v in other.figures().items() if report.figures()[k] != v}
    assert {"contacts", "cases_reported", "registrations"} <= changed


def test_the_figures_are_plausible(run: tuple[Store, SimulationReport]) -> None:
    """Two weeks bring contacts, closed and escalated cases, waitlists, attendance and hours."""
    _, report = run
    f = report.figures()
    checks = {
        "ten working days": f["working_days"] == 10,
        "contacts made": f["contacts"] > 1000,
        "mostly well": f["contacts_well"] > 0.8 * f["contacts"],
        "some unanswered": f["contacts_no_answer"] > 0,
        "cases reported": f["cases_reported"] > 10,
        "some closed": 0 < f["cases_closed"] < f["cases_reported"],
        "some raised to the community": f["cases_raised_to_community"] > 0,
        "some waitlisted": f["waitlisted"] > 0,
        "attendance recorded": f["attended"] > 0 and f["no_shows"] > 0,
        "two Friday shifts": f["shifts"] == 2,
        "volunteer hours": f["volunteer_hours"] > 0,
    }
    assert [] == [name for name, ok in checks.items() if not ok]


def test_figures_are_plain_numbers_under_fixed_keys(
    run: tuple[Store, SimulationReport],
) -> None:
    """Every figure is an int or a float, and the keys are the same for any run."""
    _, report = run
    empty = attrs.evolve(report, contacts_by_outcome={}, cases_raised_to={}, escalations={})
    assert list(report.figures()) == list(empty.figures())
    assert [] == [k for k, v in report.figures().items() if type(v) not in (int, float)]


def test_the_sweeps_left_nothing_behind(
    minggong: Scenario, run: tuple[Store, SimulationReport]
) -> None:
    """A sweep at the end finds no escalation that fell due by the run's last sweep."""
    store, _ = run
    escalations = EscalationEngine(store, minggong.workflow()).sweep(END)
    assert [] == [e for e in escalations if e.due_at <= LAST_SWEEP]


def test_the_store_is_consistent(run: tuple[Store, SimulationReport]) -> None:
    """Coverage and case KPIs run on the store and agree with the report."""
    store, report = run
    with store() as uow:
        cover = coverage(uow, COMMUNITY, start=START, end=START.add(days=DAYS))
        kpis = case_kpis(uow, COMMUNITY, since=START_INSTANT, until=END)
    reported = report.cases_reported - report.cases_rejected - report.cases_duplicates
    assert reported == kpis.total.reported
    assert report.cases_closed == kpis.total.closed
    assert True is (0 < cover.on_cadence <= cover.contacted <= cover.covered)


def test_the_programme_is_moved_into_the_period(run: tuple[Store, SimulationReport]) -> None:
    """Each series starts in the first week, ends with the period and keeps its weekday."""
    store, _ = run
    with store() as uow:
        painting = uow.series.get("autism-painting")
        lecture = uow.series.get("legal-education")
    wednesday = pendulum.datetime(2025, 3, 5, 9, 30, tz=TZ)
    first_tuesday = pendulum.datetime(2025, 3, 4, 14, 30, tz=TZ)
    assert (wednesday, first_tuesday) == (painting.start, lecture.start)
    assert "FREQ=WEEKLY;BYDAY=WE;UNTIL=20250314T155959Z" == painting.rrule
    assert "FREQ=MONTHLY;BYDAY=1TU;UNTIL=20250314T155959Z" == lecture.rrule


def test_progress_is_reported_after_each_day(minggong: Scenario) -> None:
    """The progress callback hears the number of days done, day after day."""
    seen: list[int] = []
    simulate(open_store("memory://"), minggong, start=START, days=3, progress=seen.append)
    assert [1, 2, 3] == seen


def test_nothing_reads_the_system_time(minggong: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run never asks pendulum or the system clock for the time."""

    def refuse(*_args: object, **_kwargs: object) -> pendulum.DateTime:
        raise AssertionError("the simulation read the system time")

    for name in ("now", "today", "tomorrow", "yesterday"):
        monkeypatch.setattr(pendulum, name, refuse)
    monkeypatch.setattr(SystemClock, "now", refuse)
    report = simulate(open_store("memory://"), minggong, start=START, days=3)
    assert 3 == report.days


def test_a_scenario_without_a_programme_runs(minggong: Scenario) -> None:
    """Without venues, activities or shifts the care and case work goes on alone."""
    bare = attrs.evolve(minggong, venues=(), activities=(), shifts=())
    report = simulate(open_store("memory://"), bare, start=START, days=3)
    assert (0, 0, 0, 0) == (report.series, report.shifts, report.registrations, report.signups)


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (pendulum.Date(2024, 12, 30), 5),  # 2024 is before the announced years
        (pendulum.Date(2024, 1, 1), 400),
    ],
)
def test_an_uncovered_period_is_refused_before_storing(
    minggong: Scenario, start: pendulum.Date, days: int
) -> None:
    """A period the calendar does not cover raises CalendarCoverageError and stores nothing."""
    store = open_store("memory://")
    with pytest.raises(CalendarCoverageError):
        simulate(store, minggong, start=start, days=days)
    with store() as uow:
        assert () == uow.workers.list(limit=1).items


@pytest.mark.parametrize(
    ("start", "days", "field"),
    [
        (START, 0, "days"),
        (START, -3, "days"),
        (START, True, "days"),
        (START, 3661, "days"),
        (dt.datetime(2025, 3, 1, 9), 5, "start"),  # naive
        (pendulum.datetime(2025, 3, 1, tz=TZ), 5, "start"),
        ("2025-03-01", 5, "start"),
    ],
)
def test_bad_arguments_are_refused(
    minggong: Scenario, start: object, days: object, field: str
) -> None:
    """A day count out of range or a start that is not a date raises ValidationError."""
    with pytest.raises(ValidationError) as info:
        simulate(open_store("memory://"), minggong, start=start, days=days)  # type: ignore[arg-type]
    assert field == info.value.path


@pytest.mark.parametrize("seed", ["2043", 1.5, None, False])
def test_a_seed_that_is_not_a_whole_number_is_refused(minggong: Scenario, seed: object) -> None:
    """The seed is a whole number: anything else raises ValidationError naming it."""
    with pytest.raises(ValidationError) as info:
        simulate(open_store("memory://"), minggong, start=START, days=1, seed=seed)  # type: ignore[arg-type]
    assert "seed" == info.value.path


def test_the_two_weeks_exercise_returns_rework_and_duplicates(
    run: tuple[Store, SimulationReport],
) -> None:
    """Seed 2043 returns a case, sends one back at verification and merges a second report.

    The returns count against accurate dispatch, and each merged report is linked both ways.
    """
    store, report = run
    with store() as uow:
        kpis = case_kpis(uow, COMMUNITY, since=START_INSTANT, until=END)
        merged = [
            c
            for c in uow.cases.reported_in_subtree(
                COMMUNITY, since=START_INSTANT, until=END, limit=1000
            ).items
            if c.is_duplicate
        ]
        linked = all(c.id in uow.cases.get(c.duplicate_of or "").duplicates for c in merged)
    assert (True, True, True, True, True) == (
        report.cases_returned >= 1 and kpis.total.returned == report.cases_returned,
        report.cases_reworked >= 1 and kpis.total.reworked == report.cases_reworked,
        report.cases_duplicates >= 1 and kpis.total.duplicates == len(merged),
        linked,
        kpis.total.accurate_dispatch_rate is not None and kpis.total.accurate_dispatch_rate < 1,
    )
