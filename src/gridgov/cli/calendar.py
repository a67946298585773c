"""``gridgov calendar``: announced and provisional years, days off, working time, retime."""

from __future__ import annotations

import argparse

import pendulum

from gridgov.calendar import WorkCalendar
from gridgov.calendar.statutory import (
    LATEST_LUNAR_YEAR,
    revision_in_force,
    statutory_available,
    statutory_holidays,
)
from gridgov.cli._common import (
    _WEEKDAYS_ZH,
    _instant,
    _iso,
    _ledger,
    _print_json,
    _projected,
    _scenario_path,
    _short,
    _table,
)
from gridgov.clock import EARLIEST, LATEST, SystemClock
from gridgov.errors import CalendarCoverageError, ValidationError
from gridgov.scenarios import Scenario, load_scenario
from gridgov.services.retime import retime


def year(text: str) -> int:
    """Parse ``--year``: a year of the supported range."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not EARLIEST.year <= value <= LATEST.year:
        raise argparse.ArgumentTypeError(
            f"expected a year from {EARLIEST.year} to {LATEST.year}"
        ) from None
    return value


def _calendar(scenario: Scenario) -> WorkCalendar:
    """Return the working calendar the commands count on: the scenario's."""
    return scenario.workflow().calendar


def cmd_calendar(args: argparse.Namespace) -> int:
    """Show the years, one year's days off, or the working time between two instants."""
    scenario = load_scenario(_scenario_path(args.scenario), households=False)
    calendar = _calendar(scenario)
    if args.between is not None:
        return _between(calendar, args)
    if args.year is not None:
        return _year(calendar, args.year, json=args.json)
    return _years(calendar, scenario.name, json=args.json)


def _years(calendar: WorkCalendar, name: str, *, json: bool) -> int:
    announced = calendar.years
    provisional = None
    counted = statutory_available()
    if (
        announced is not None
        and announced[1] < LATEST_LUNAR_YEAR
        and calendar.is_provisional(announced[1] + 1)
    ):
        provisional = (announced[1] + 1, LATEST_LUNAR_YEAR)
    if json:
        _print_json(
            {
                "scenario": name,
                "tz": calendar.tz,
                "beyond": calendar.beyond,
                "announced": None if announced is None else list(announced),
                "provisional": None if provisional is None else list(provisional),
                "rule": None if provisional is None else revision_in_force(provisional[0]).name_en,
                "lunar_dates": counted,
            }
        )
        return 0
    rows: list[tuple[str, str]] = []
    if announced is None:
        rows.append(("—", "无节假日数据 no holidays known: weekdays and hours only"))
    else:
        rows.append((_span(*announced), "已公布 announced"))
        if provisional is not None and not counted:
            rows.append(
                (
                    _span(*provisional),
                    "不计 refused until the holidays package is installed: pip install "
                    "'gridgov[cn]'",
                )
            )
        elif provisional is not None:
            revision = revision_in_force(provisional[0])
            rows.append(
                (
                    _span(*provisional),
                    f"暂定 provisional: statutory holidays, {revision.name_en}, no make-up days",
                )
            )
        elif announced[1] < LATEST_LUNAR_YEAR:
            rows.append((f"{announced[1] + 1}-", "不计 refused: CalendarCoverageError"))
    head = f"工作日历 working calendar of {name} ({calendar.tz})"
    print(f"{head}\n{_table(('年份 years', '状态 status'), rows, align='ll')}")
    return 0


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _festivals(year: int) -> dict[pendulum.Date, str]:
    """Return the statutory days of ``year`` with their festival's name, where the rule knows."""
    try:
        return {d: f.label_zh for d, f in statutory_holidays(year).items()}
    except CalendarCoverageError:
        return {}


def _year(calendar: WorkCalendar, year: int, *, json: bool) -> int:
    days = calendar.arrangement(year)
    names = _festivals(year)
    status = "provisional" if days.provisional else "announced"
    if json:
        _print_json(
            {
                "year": year,
                "status": status,
                "rule": revision_in_force(year).name_en if days.provisional else None,
                "holidays": [
                    {"date": d.isoformat(), "festival": names.get(d)} for d in days.holidays
                ],
                "workdays": [d.isoformat() for d in days.workdays],
            }
        )
        return 0
    rows = [
        (d.isoformat(), _WEEKDAYS_ZH[d.weekday()], "放假 day off", names.get(d, ""))
        for d in days.holidays
    ]
    rows += [
        (d.isoformat(), _WEEKDAYS_ZH[d.weekday()], "调休上班 make-up working day", "")
        for d in days.workdays
    ]
    rows.sort()
    if days.provisional:
        head = (
            f"{year} 暂定 provisional: the statutory holidays of the "
            f"{revision_in_force(year).name_en}; make-up days come with the State Council's notice"
        )
    else:
        head = (
            f"{year} 已公布 announced: {len(days.holidays)} days off, "
            f"{len(days.workdays)} make-up working days"
        )
    header = ("日期 date", "星期", "类别 kind", "节日 festival")
    print(f"{head}\n{_table(header, rows, align='llll')}")
    return 0


def _between(calendar: WorkCalendar, args: argparse.Namespace) -> int:
    start = _instant(args.between[0], "--between")
    end = _instant(args.between[1], "--between")
    if end < start:
        raise ValidationError("--between", "END comes before START")
    worked = calendar.working_time_between(start, end)
    years = calendar.provisional_years(start, end) if end > start else ()
    seconds = int(worked.total_seconds())
    if args.json:
        _print_json(
            {
                "start": _iso(start),
                "end": _iso(end),
                "seconds": seconds,
                "hours": round(seconds / 3600, 2),
                "provisional": bool(years),
                "provisional_years": list(years),
            }
        )
        return 0
    hours, rest = divmod(seconds, 3600)
    mark = f" (暂定 provisional: {_span(years[0], years[-1])})" if years else ""
    print(
        f"工作时间 working time from {_short(start)} to {_short(end)}: "
        f"{hours} h {rest // 60:02d} min{mark}"
    )
    return 0


def cmd_retime(args: argparse.Namespace) -> int:
    """Count again what was provisional, on the scenario's calendar as it is now."""
    if args.year is not None or args.between is not None:
        raise ValidationError("retime", "takes no --year or --between")
    at = _instant(args.at, "--at") if args.at is not None else SystemClock().now()
    with _ledger(args) as (scenario, store, _):
        report = retime(store, _calendar(scenario), at=at)
    if args.json:
        _print_json(_projected(report))
        return 0
    head = (
        f"重新计时 retime at {_short(at)}: {report.cases} open cases and {report.venues} venues "
        f"looked at, {len(report)} times moved"
    )
    if not report.moved:
        print(head)
        return 0
    rows = [
        (m.kind, m.record_id, m.what, _when(m.old), _when(m.new), m.why_zh) for m in report.moved
    ]
    header = ("类别 kind", "记录 record", "时间 what", "原 old", "新 new", "原因 why")
    print(f"{head}\n{_table(header, rows, align='llllll')}")
    return 0


def _when(instant: pendulum.DateTime | None) -> str:
    return "—" if instant is None else _short(instant)
