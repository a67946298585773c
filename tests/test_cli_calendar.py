"""``gridgov calendar`` and the provisional marks of the other commands."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pendulum
import pytest

from gridgov import open_store
from gridgov.cases.model import CaseSource
from gridgov.cases.workflow import Action, CaseRole
from gridgov.cli import main
from gridgov.scenarios import example_path, load_scenario
from gridgov.services.cases import act_on_case, report_case

TZ = "Asia/Shanghai"


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``gridgov`` in-process; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> dict[str, object]:
    """Run ``gridgov ... --json`` and return its document."""
    code, out, err = run(*argv, "--json")
    assert (0, "") == (code, err)
    document = json.loads(out)
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return a store where Minggong lived 20-22 December 2026: complaints due in 2027."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sim') / 'sim.db'}"
    code, _, err = run("simulate", "minggong", "--from", "2026-12-20", "--days", "3", "--db", url)
    assert (0, "") == (code, err)
    return url


def test_the_years_of_the_calendar() -> None:
    """Minggong's calendar: 2025-2026 announced, 2027 on provisional by the 2024 revision."""
    expected = {
        "scenario": "明宫社区 Minggong",
        "tz": TZ,
        "beyond": "provisional",
        "announced": [2025, 2026],
        "provisional": [2027, 2100],
        "rule": "2024 revision (State Council Order No. 795)",
        "lunar_dates": True,
    }
    assert expected == run_json("calendar")
    code, out, _ = run("calendar")
    lines = out.splitlines()
    assert (0, "2025-2026   已公布 announced") == (code, lines[2])
    assert lines[3].startswith("2027-2100   暂定 provisional: statutory holidays, 2024 revision")


def test_a_provisional_years_days_off() -> None:
    """--year 2027 lists the statutory days with their festival, and no make-up day."""
    document = run_json("calendar", "--year", "2027")
    holidays = document["holidays"]
    assert isinstance(holidays, list)
    assert ("provisional", [], 13) == (document["status"], document["workdays"], len(holidays))
    assert {"date": "2027-02-05", "festival": "春节"} == holidays[1]


def test_an_announced_years_days_off_and_make_up_days() -> None:
    """--year 2026 lists the scenario's announced days, make-up Saturdays included."""
    calendar = load_scenario(example_path(), households=False).workflow().calendar
    expected = [d.isoformat() for d in calendar.arrangement(2026).workdays]
    document = run_json("calendar", "--year", "2026")
    assert ("announced", None, expected) == (
        document["status"],
        document["rule"],
        document["workdays"],
    )
    code, out, _ = run("calendar", "--year", "2026")
    assert (0, True) == (code, "2026-10-10  周六  调休上班 make-up working day" in out)


def test_working_time_between_two_instants() -> None:
    """Five working days from Monday 28 December 2026, 2027 provisionally: 35 hours."""
    document = run_json("calendar", "--between", "2026-12-28T09:00+08:00", "2027-01-05T09:00+08:00")
    assert (35 * 3600, 35.0, True, [2027]) == (
        document["seconds"],
        document["hours"],
        document["provisional"],
        document["provisional_years"],
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("calendar", "--year", "1800"), "expected a year from 1900 to 2100"),
        (("calendar", "--between", "2026-12-28T09:00", "2027-01-05T09:00+08:00"), "naive"),
        (
            (
                "calendar",
                "--year",
                "2027",
                "--between",
                "2026-12-28T09:00+08:00",
                "2027-01-05T09:00+08:00",
            ),
            "not allowed with",
        ),
        (
            ("calendar", "--between", "2027-01-05T09:00+08:00", "2026-12-28T09:00+08:00"),
            "END comes before START",
        ),
        (("calendar", "--year", "2027", "retime"), "takes no --year or --between"),
    ],
)
def test_bad_calendar_input_exits_2(argv: tuple[str, ...], message: str) -> None:
    """A year outside the range, a naive instant or two questions at once: exit 2, no trace."""
    code, _, err = run(*argv)
    assert (2, True, False) == (code, message in err, "Traceback" in err)


def test_cases_and_the_report_mark_provisional_deadlines(simulated: str) -> None:
    """Deadlines in 2027 are provisional in cases --json, 暂定 in the table, counted by report."""
    document = run_json("cases", "--db", simulated, "--at", "2026-12-23T09:00+08:00")
    cases = document["cases"]
    assert isinstance(cases, list)
    marks = {(c["deadline"]["due"][:4], tuple(c["deadline"]["provisional_years"])) for c in cases}
    assert {("2026", ()), ("2027", (2027,))} == marks
    _, table, _ = run("cases", "--db", simulated, "--at", "2026-12-23T09:00+08:00")
    provisional = sum(1 for c in cases if c["deadline"]["provisional_years"])
    assert provisional == table.count(" 暂定")
    report = run_json("report", "--db", simulated, "--on", "2026-12-22")
    grids = report["grids"]
    assert isinstance(grids, list)
    assert provisional == sum(g["cases"]["provisional"] for g in grids)
    _, text, _ = run("report", "--db", simulated, "--on", "2026-12-22")
    assert f"暂定 provisional: {provisional} open cases" in text


def test_retime_after_the_scenario_announces_2027(tmp_path: Path) -> None:
    """With 2027 added to the scenario's calendar, retime moves a complaint; then nothing."""
    folder = tmp_path / "minggong"
    shutil.copytree(example_path(), folder)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert 0 == run("load", str(folder), "--db", url, "--quiet")[0]
    scenario = load_scenario(folder, households=False)
    received = pendulum.datetime(2027, 1, 28, 10, tz=TZ)
    store = open_store(url, scheme=scenario.scheme)
    try:
        with store() as uow:
            case = report_case(
                uow,
                scenario.workflow(),
                category="complaint",
                source=CaseSource.HOTLINE_12345,
                cell_code="610102003006001",
                description="楼道堆放杂物",
                at=received,
                actor="op1",
            ).case
            for action in (Action.REGISTER, Action.DISPATCH):
                act_on_case(
                    uow,
                    scenario.workflow(),
                    case.id,
                    action,
                    actor="d1",
                    role=CaseRole.DISPATCHER,
                    at=received,
                )
            uow.commit()
    finally:
        store.close()
    toml = folder / "scenario.toml"
    text = toml.read_text(encoding="utf-8").replace(
        'years = [2025, 2026]\nbeyond = "provisional"\nholidays = [',
        'years = [2025, 2027]\nbeyond = "provisional"\nholidays = [\n'
        '    "2027-01-01/2027-01-03",\n    "2027-02-05/2027-02-13",\n    "2027-04-05",\n'
        '    "2027-05-01/2027-05-05",\n    "2027-06-09",\n    "2027-09-15",\n'
        '    "2027-10-01/2027-10-07",',
    )
    text = text.replace("workdays = [", 'workdays = [\n    "2027-02-20",', 1)
    toml.write_text(text, encoding="utf-8")
    argv = ("calendar", "retime", "--db", url, "--scenario", str(folder))
    first = run_json(*argv, "--at", "2026-12-10T09:00+08:00")
    moved = first["moved"]
    assert isinstance(moved, list)
    assert [
        (
            "case",
            case.id,
            "handling deadline",
            "2027-02-22T17:30:00+08:00",
            "2027-02-25T17:30:00+08:00",
        )
    ] == [
        (m["kind"], m["record_id"], m["what"], m["old"], m["new"])
        for m in moved
        if m["kind"] == "case"
    ]
    assert [] == run_json(*argv, "--at", "2026-12-11T09:00+08:00")["moved"]
    code, out, _ = run(*argv, "--at", "2026-12-11T09:00+08:00")
    assert (0, True) == (code, out.startswith("重新计时 retime at 2026-12-11 09:00"))


def test_the_demo_and_the_schedule_mark_provisional_times(tmp_path: Path) -> None:
    """The demo's open cases and a 2027 week's occurrences carry the mark, in text and JSON."""
    from gridgov.scheduling.series import ActivitySeries

    url = f"sqlite:///{tmp_path / 'sim.db'}"
    assert 0 == run("simulate", "minggong", "--from", "2026-12-20", "--days", "3", "--db", url)[0]
    code, demo, _ = run("demo", "--db", url, "--today", "2026-12-22")
    assert (0, True) == (code, any("时限" in line and "暂定" in line for line in demo.splitlines()))
    store = open_store(url, scheme=load_scenario(example_path(), households=False).scheme)
    try:
        with store() as uow:
            uow.series.add(
                ActivitySeries(
                    id="calligraphy",
                    title="新春书法",
                    organiser="明宫社区",
                    venue_id="hui",
                    space_id="culture",
                    start=pendulum.datetime(2027, 1, 6, 9, 30, tz=TZ),
                    minutes=90,
                    rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=4",
                    skip_holidays=True,
                )
            )
            uow.commit()
    finally:
        store.close()
    week = run_json("schedule", "--db", url, "--week", "2027-01-04")
    venues = week["venues"]
    assert isinstance(venues, list)
    found = [
        (o["occurrence"]["id"], o["occurrence"]["provisional_years"])
        for v in venues
        for s in v["spaces"]
        for o in s["occurrences"]
    ]
    assert [("calligraphy@20270106T013000Z", [2027])] == found
    _, table, _ = run("schedule", "--db", url, "--week", "2027-01-04")
    assert "01-06 周三 暂定" in table


def test_without_the_holidays_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without lunar dates: the years say so, an announced year still lists, 2027 is exit 6."""
    from gridgov.calendar import statutory
    from gridgov.cli import calendar as command
    from gridgov.errors import CalendarCoverageError

    def missing(year: int) -> dict[object, object]:
        raise CalendarCoverageError(f"counting {year} needs the holidays package")

    monkeypatch.setattr(statutory, "_festival_days", missing)
    monkeypatch.setattr(command, "statutory_available", lambda: False)
    _, years, _ = run("calendar")
    code, announced, _ = run("calendar", "--year", "2026")
    refused = run("calendar", "--year", "2027")
    assert (True, 0, True, 6) == (
        "2027-2100   不计 refused until the holidays package is installed" in years,
        code,
        "2026-10-10  周六  调休上班 make-up working day" in announced,
        refused[0],
    )
