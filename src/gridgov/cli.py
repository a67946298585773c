"""The ``gridgov`` command: a thin layer over the library.

Subcommands, each over a store given by ``--db`` (a URL for :func:`gridgov.bootstrap.open_store`;
default ``$GRIDGOV_DB``, else a SQLite file in the user's data directory):

- ``gridgov demo``: load a scenario unless the store holds it already and print its ledger
  summary, a worklist, coverage, the week's programme, open cases and the day's escalations.
- ``gridgov load [SCENARIO]``: load a scenario (the Minggong example by default) into the store,
  with a progress bar while the households load.
- ``gridgov worklist --worker ID --date YYYY-MM-DD``: plan the routine tasks of the worker's cells
  and print their worklist at 09:00 of the day.
- ``gridgov cases [--cell CODE] [--open|--all]``: the cases of a subtree with their state, owning
  level and unit, running deadline and whether it has passed.
- ``gridgov sweep --at ISO-DATETIME``: run the escalation sweep at that instant.
- ``gridgov schedule --week YYYY-MM-DD [--venue ID]``: each venue's week, per space.
- ``gridgov report [--on DATE] [--html DIR]``: coverage, case closure and escalations per grid.
- ``gridgov export open311|ics|geojson``: standard formats on stdout or ``--out FILE``, personal
  data masked unless ``--full`` (refused unless ``--as-role`` allows the full view).
- ``gridgov simulate SCENARIO --from DATE --days N``: run the time-travel simulator.

The commands over a loaded store take the rules the store does not hold (code scheme, care
policy, working calendar) from ``--scenario`` (default: the Minggong example) and refuse a store
holding other cells. Results go to stdout, as tables or, with ``--json``, as one JSON document;
status lines and progress bars go to stderr (progress bars only on a terminal, or with
``--progress``).

Errors print ``gridgov: error: <message>`` on stderr, never a traceback, and exit with:

====  ==============================================================================
0     success (and ``--help``)
1     any other gridgov error (a store that cannot be opened, an unsupported URL, a
      closed stdout, a file that cannot be written)
2     invalid input: a ValidationError (a naive ``--at``, a bad scenario field, a week or
      report reaching outside the supported range) or a usage error (a missing or unknown
      option, a date not written YYYY-MM-DD, a date or instant outside 1900-01-01 to
      2100-12-31)
3     not found: a NotFoundError (an unknown worker, venue or cell; no scenario file;
      an empty store)
4     conflict: a ConflictError (a store holding other data)
5     access denied: an AccessDeniedError (``--full`` without a role allowing it)
6     calendar coverage: a CalendarCoverageError (an instant in a year the working
      calendar does not cover)
130   interrupted (Ctrl-C)
====  ==============================================================================

``gridgov demo`` keeps the codes it always had: 2 for invalid input, 1 for every other error.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import json
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import pendulum

from gridgov.access import AuditKind, Permission, Principal, Redaction, Role
from gridgov.bootstrap import open_store
from gridgov.cases import Case, CaseRole, CaseWorkflow, Deadline, EscalationKind, ServiceCatalogue
from gridgov.cases.workflow import Escalation
from gridgov.clock import EARLIEST, LATEST, SystemClock, ensure_in_range
from gridgov.codes import mask_name
from gridgov.errors import (
    AccessDeniedError,
    CalendarCoverageError,
    ConflictError,
    GridgovError,
    NotFoundError,
    ValidationError,
)
from gridgov.grid import GridCell, GridLevel, GridTree
from gridgov.households import Tag
from gridgov.interop.ical import space_calendar, venue_calendar
from gridgov.interop.open311 import dumps_requests, dumps_services
from gridgov.ports import Page, Store, UnitOfWork
from gridgov.scenarios import (
    GridSummary,
    LoadReport,
    Scenario,
    example_path,
    ledger_summary,
    load_scenario,
    populate,
    summary_total,
)
from gridgov.scenarios.loader import store_cases, store_programme
from gridgov.scheduling.venues import Venue
from gridgov.services._common import pages
from gridgov.services.access import StoreAuditSink, audit_entry
from gridgov.services.care import Coverage, Worklist, coverage, plan_tasks, worklist
from gridgov.services.cases import EscalationEngine
from gridgov.services.scheduling import WeekSchedule, volunteer_hours, week_schedule

if TYPE_CHECKING:  # imported when ``gridgov report`` runs: see _cmd_report
    from gridgov.report import GridFigures

__all__ = [
    "default_db_url",
    "format_coverage",
    "format_escalations",
    "format_open_cases",
    "format_summary",
    "format_volunteer_hours",
    "format_week",
    "format_worklist",
    "main",
    "safe_url",
]

# The populations of the elder-care guidance, shown apart from the other ledger markers.
_CARE_TAGS = (
    Tag.LIVING_ALONE,
    Tag.EMPTY_NEST,
    Tag.LEFT_BEHIND,
    Tag.ADVANCED_AGE,
    Tag.DISABLED,
    Tag.DEMENTIA,
    Tag.SEVERE_DISABILITY,
    Tag.BEREAVED_SINGLE_CHILD_FAMILY,
    Tag.EXTREME_POVERTY_SUPPORT,
)

_D = TypeVar("_D", bound=dt.date)

# Exit codes, most specific error class first (see the module docstring).
_EXIT_CODES: tuple[tuple[type[GridgovError], int], ...] = (
    (ValidationError, 2),
    (NotFoundError, 3),
    (ConflictError, 4),
    (AccessDeniedError, 5),
    (CalendarCoverageError, 6),
)


def _supported(value: _D) -> _D:
    """Return ``value`` if its date lies in the supported range (see :mod:`gridgov.clock`).

    Raises:
        argparse.ArgumentTypeError: ``outside the supported range 1900-01-01 to 2100-12-31``.
    """
    try:
        return ensure_in_range(value, "")
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _date(text: str) -> pendulum.Date:
    try:
        d = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a date as YYYY-MM-DD") from None
    return _supported(pendulum.Date(d.year, d.month, d.day))


def _datetime(text: str) -> dt.datetime:
    """Parse ISO 8601 date and time; whether it has an offset is checked by the command."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected an ISO 8601 date and time, e.g. 2026-11-28T09:00+08:00"
        ) from None
    return _supported(value)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1")
    return value


# The roles an export may be made in: every role but the platform's own.
_ROLES = [r.value for r in Role if r is not Role.SYSTEM]
_DB_HELP = (
    "the store: sqlite:///path, postgresql://..., memory:// "
    "(default: $GRIDGOV_DB, else a SQLite file in your data directory)"
)
_RULES_HELP = (
    "the scenario the store was loaded from, for its code scheme, care policy and working "
    "calendar: a directory, a scenario.toml or an example's name (default: minggong)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridgov", description="Community grid governance (网格化治理) toolkit."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="load a scenario and print its ledger, a worklist and visiting coverage",
        description="Load a scenario (the Minggong example by default) into a store, unless it "
        "is there already, and print its ledger summary (台账汇总) per grid, one grid worker's "
        "worklist for the day and each grid's visiting coverage for the month.",
    )
    demo.add_argument(
        "--today",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the date ages are computed on (default: the scenario's as_of, else today)",
    )
    demo.add_argument(
        "--db",
        metavar="URL",
        help="the store to use: sqlite:///path, postgresql://..., memory:// "
        "(default: $GRIDGOV_DB, else a SQLite file in your data directory)",
    )
    demo.add_argument(
        "--scenario",
        type=Path,
        metavar="PATH",
        help="a scenario directory or scenario.toml (default: the packaged Minggong example)",
    )
    demo.set_defaults(handler=_cmd_demo)

    output = argparse.ArgumentParser(add_help=False)
    output.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout instead of text"
    )
    stored = argparse.ArgumentParser(add_help=False, parents=[output])
    stored.add_argument("--db", metavar="URL", help=_DB_HELP)
    ledger = argparse.ArgumentParser(add_help=False, parents=[stored])
    ledger.add_argument("--scenario", metavar="SCENARIO", help=_RULES_HELP)
    progress = argparse.ArgumentParser(add_help=False)
    shown = progress.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar on stderr even when it is not a terminal",
    )
    shown.add_argument(
        "--quiet", action="store_true", help="print no progress bar and no status lines"
    )

    load = commands.add_parser(
        "load",
        parents=[stored, progress],
        help="load a scenario into the store",
        description="Load a scenario into the store in one unit of work. A store holding the "
        "scenario's cells already is kept as it is; a store holding other data is refused.",
    )
    load.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="a scenario directory, a scenario.toml or an example's name (default: minggong)",
    )
    load.set_defaults(handler=_cmd_load)

    work = commands.add_parser(
        "worklist",
        parents=[ledger],
        help="a grid worker's worklist for a day",
        description="Plan the routine tasks of the worker's cells (plan_tasks, committed) and "
        "print the worker's worklist at 09:00 (Asia/Shanghai) of the day.",
    )
    work.add_argument("--worker", required=True, metavar="ID", help="the worker's id")
    work.add_argument(
        "--date",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the day (default: the scenario's as_of, else today)",
    )
    work.set_defaults(handler=_cmd_worklist)

    cases = commands.add_parser(
        "cases",
        parents=[ledger],
        help="the cases of a subtree",
        description="List the cases located in a cell's subtree with their state, owning level "
        "and unit, running deadline and whether it has passed.",
    )
    cases.add_argument("--cell", metavar="CODE", help="the subtree (default: the whole store)")
    which = cases.add_mutually_exclusive_group()
    which.add_argument(
        "--open", dest="all", action="store_false", help="only the open cases (the default)"
    )
    which.add_argument("--all", dest="all", action="store_true", help="every case")
    cases.add_argument(
        "--at",
        type=_datetime,
        metavar="ISO-DATETIME",
        help="the instant deadlines are judged at, with its offset (default: 09:00 of the "
        "scenario's as_of, else now)",
    )
    cases.set_defaults(handler=_cmd_cases, all=False)

    sweep = commands.add_parser(
        "sweep",
        parents=[ledger],
        help="run the escalation sweep at an instant",
        description="Carry out every escalation due at the instant (EscalationEngine.sweep, "
        "committed) and print them.",
    )
    sweep.add_argument(
        "--at",
        type=_datetime,
        required=True,
        metavar="ISO-DATETIME",
        help="the instant, with its UTC offset, e.g. 2026-11-28T09:00+08:00",
    )
    sweep.set_defaults(handler=_cmd_sweep)

    schedule = commands.add_parser(
        "schedule",
        parents=[ledger],
        help="each venue's programme for a week",
        description="Print each venue's occurrences in the seven days from the date, per space, "
        "with the places taken and the waitlist.",
    )
    schedule.add_argument(
        "--week",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the week's first day (default: the scenario's as_of, else today)",
    )
    schedule.add_argument("--venue", metavar="ID", help="one venue (default: every venue)")
    schedule.set_defaults(handler=_cmd_schedule)

    report = commands.add_parser(
        "report",
        parents=[ledger],
        help="coverage, case closure and escalations per grid",
        description="Print, per grid, the month's visiting coverage, case closure and "
        "escalations, from the first of the month through the date.",
    )
    report.add_argument(
        "--on",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the report's last day (default: the scenario's as_of, else today)",
    )
    report.add_argument(
        "--html", type=Path, metavar="DIR", help="also write the HTML report into DIR"
    )
    report.set_defaults(handler=_cmd_report)

    export = commands.add_parser(
        "export",
        help="Open311, iCalendar or GeoJSON",
        description="Write a standard format on stdout or to --out FILE. Personal data is "
        "masked unless --full is given with an --as-role allowing the full view.",
    )
    formats = export.add_subparsers(dest="format", required=True, metavar="FORMAT")
    exported = argparse.ArgumentParser(add_help=False, parents=[ledger])
    exported.add_argument("--out", type=Path, metavar="FILE", help="write to FILE, not stdout")
    exported.add_argument(
        "--full",
        action="store_true",
        help="export personal data unmasked (needs --as-role grid_worker or community_staff)",
    )
    exported.add_argument(
        "--as-role",
        choices=_ROLES,
        metavar="ROLE",
        help="the role you export in: " + ", ".join(_ROLES),
    )
    open311 = formats.add_parser(
        "open311",
        parents=[exported],
        help="cases as GeoReport v2 service requests, or the service list",
        description="Every case as a GeoReport v2 service request, or with --services the "
        "service list of the store's catalogue.",
    )
    open311.add_argument("--services", action="store_true", help="the service list instead")
    open311.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="names in Chinese (default) or English"
    )
    open311.set_defaults(handler=_cmd_export_open311)
    ics = formats.add_parser(
        "ics",
        parents=[exported],
        help="a venue's or a space's programme as iCalendar",
        description="A venue's activity series as an iCalendar (RFC 5545) document.",
    )
    ics.add_argument("--venue", metavar="ID", help="the venue (default: the store's only venue)")
    ics.add_argument("--space", metavar="ID", help="one space of the venue")
    ics.set_defaults(handler=_cmd_export_ics)
    geojson = formats.add_parser(
        "geojson",
        parents=[exported],
        help="the cells and their boundaries as a GeoJSON FeatureCollection",
        description="Every cell as a GeoJSON Feature: its boundary (null when not mapped) and "
        "its code, name, level and parent.",
    )
    geojson.set_defaults(handler=_cmd_export_geojson)

    simulate = commands.add_parser(
        "simulate",
        parents=[output, progress],
        help="run the time-travel simulator over a scenario",
        description="Simulate days of a scenario into an empty store (default: memory://) and "
        "print the report's figures.",
    )
    simulate.add_argument(
        "scenario", metavar="SCENARIO", help="a scenario directory, scenario.toml or example name"
    )
    simulate.add_argument(
        "--db", metavar="URL", help="an empty store to simulate into (default: memory://)"
    )
    simulate.add_argument(
        "--from",
        dest="start",
        type=_date,
        required=True,
        metavar="YYYY-MM-DD",
        help="the first simulated day",
    )
    simulate.add_argument(
        "--days", type=_positive, required=True, metavar="N", help="how many days to simulate"
    )
    simulate.add_argument(
        "--seed", type=int, default=2043, metavar="S", help="the random seed (default: 2043)"
    )
    simulate.set_defaults(handler=_cmd_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gridgov`` command.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit code: 0 on success; 1 for a gridgov error not listed below; 2 for invalid
        input or usage; 3 not found; 4 conflict; 5 access denied; 6 calendar coverage; 130 when
        interrupted. ``gridgov demo`` returns 1 for every error but invalid input (2).
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error or the help
        return exc.code if isinstance(exc.code, int) else 2
    handler = cast("Callable[[argparse.Namespace], int]", args.handler)
    try:
        return handler(args)
    except GridgovError as exc:
        print(f"gridgov: error: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except BrokenPipeError:
        # The reader went away (``gridgov demo | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file that cannot be written or read
        where = f": {exc.filename}" if exc.filename else ""
        print(f"gridgov: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gridgov: interrupted", file=sys.stderr)
        return 130


def _exit_code(exc: GridgovError) -> int:
    """Return the exit code for ``exc``."""
    for kind, code in _EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


def safe_url(url: str) -> str:
    """Return a store URL fit to print: any password (user info or query) replaced by ``***``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    has_query_password = any(k == "password" for k, _ in query)
    if parts.password is None and not has_query_password:
        return url  # untouched: urlunsplit would drop the "//" of "memory://"
    if parts.password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if has_query_password:
        masked = [(k, "***" if k == "password" else v) for k, v in query]
        parts = parts._replace(query=urlencode(masked, safe="*"))
    return urlunsplit(parts)


def default_db_url() -> str:
    """Return ``$GRIDGOV_DB``, or a SQLite file in the user's data directory.

    The directory follows each platform's convention: ``$XDG_DATA_HOME/gridgov`` (by default
    ``~/.local/share/gridgov``) on Linux, ``~/Library/Application Support/gridgov`` on macOS,
    ``%LOCALAPPDATA%/gridgov`` on Windows. It is created if missing.
    """
    configured = os.environ.get("GRIDGOV_DB")
    if configured:
        return configured
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = base / "gridgov"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'demo.db'}"


def _cmd_demo(args: argparse.Namespace) -> int:
    return _demo(args.today, args.scenario, args.db or default_db_url())


def _demo(today: pendulum.Date | None, scenario_path: Path | None, db: str) -> int:
    path = scenario_path if scenario_path is not None else example_path()
    scenario = load_scenario(path, households=False)
    on = today or scenario.as_of or SystemClock().today()
    store = open_store(db, scheme=scenario.scheme)
    now = pendulum.datetime(on.year, on.month, on.day, 9, tz=_TZ)  # the working day begins
    try:
        _load_unless_present(store, scenario, path, db)
        policy = scenario.policy
        tree = scenario.tree()
        grids = tree.at_level(GridLevel.GRID) or tree.roots
        with store() as uow:
            summaries = ledger_summary(uow, grids, on)
            for root in tree.roots:
                plan_tasks(uow, root.code, now=now, policy=policy)
            worker = _busiest_worker(uow, scenario, on, now)
            work = None if worker is None else worklist(uow, worker, on=on, now=now)
            month = [
                coverage(uow, g.code, start=on.start_of("month"), end=on.add(days=1), policy=policy)
                for g in grids
            ]
            uow.commit()
        programme: list[WeekSchedule] = []
        hours: dict[str, float] = {}
        with store() as uow:
            programme = [week_schedule(uow, v.id, start=now) for v in scenario.venues]
            volunteers = sorted({rid for story in scenario.shifts for rid in story.volunteers})
            hours = volunteer_hours(
                uow, volunteers, since=pendulum.datetime(on.year, on.month, 1, tz=_TZ), until=now
            )
            names = {rid: _masked_name(uow, rid) for rid in hours}
        open_cases: list[Case] = []
        if scenario.cases:
            EscalationEngine(store, scenario.workflow()).sweep(now)
            with store() as uow:
                for root in tree.roots:
                    open_cases.extend(_open_cases(uow, root.code))
    finally:
        store.close()
    volunteer_names = names
    names = {c.code: c.name for c in tree}
    print(format_summary(scenario.name, on, summaries))
    if work is not None:
        print()
        print(format_worklist(work, names=names))
    print()
    print(format_coverage(month, names=names))
    for schedule, venue in zip(programme, scenario.venues, strict=True):
        print()
        print(format_week(schedule, venue))
    if hours:
        print()
        print(format_volunteer_hours(hours, names=volunteer_names, month=on))
    if scenario.cases:
        print()
        print(format_open_cases(open_cases, now=now, names=names, catalogue=scenario.catalogue))
        print()
        print(format_escalations(open_cases, on=on, names=names))
    return 0


def _masked_name(uow: UnitOfWork, resident_id: str) -> str:
    try:
        return mask_name(uow.households.household_of(resident_id).member(resident_id).name)
    except NotFoundError:
        return resident_id


_WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def format_week(schedule: WeekSchedule, venue: Venue) -> str:
    """Render a venue's coming week per space: each occurrence with its fill and waitlist.

    Args:
        schedule: The week's schedule.
        venue: The venue, for the spaces' names.

    Returns:
        The text, without a final newline.
    """
    end = schedule.start.add(days=6)
    lines = [
        f"本周活动 programme of {venue.name}, {schedule.start.format('YYYY-MM-DD')} to "
        f"{end.format('YYYY-MM-DD')}"
    ]
    rows: list[tuple[str, ...]] = []
    for space in venue.spaces:
        for entry in schedule.by_space.get(space.id, ()):
            o = entry.occurrence
            local = o.start.in_timezone(_TZ)
            places = "—" if o.capacity is None else f"{entry.confirmed}/{o.capacity}"
            rows.append(
                (
                    space.name,
                    f"{local.format('MM-DD')} {_WEEKDAYS_ZH[local.weekday()]}",
                    f"{local.format('HH:mm')}-{o.end.in_timezone(_TZ).format('HH:mm')}",
                    o.title,
                    places,
                    str(entry.waitlisted),
                )
            )
    if not rows:
        return "\n".join([*lines, "  nothing scheduled"])
    lines.append(_table(("空间 space", "日期", "时间", "活动", "报名/名额", "候补"), rows))
    return "\n".join(lines)


def format_volunteer_hours(
    hours: Mapping[str, float], *, names: Mapping[str, str], month: pendulum.Date
) -> str:
    """Render the volunteer hours credited this month, most first, names masked.

    Args:
        hours: Hours by resident id.
        names: Masked names by resident id.
        month: A day of the month.

    Returns:
        The text, without a final newline.
    """
    ranked = sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [(names.get(rid, rid), f"{h:g}") for rid, h in ranked]
    head = f"志愿服务时长 volunteer hours, {month.format('YYYY-MM')} (completed shifts)"
    return f"{head}\n{_table(('志愿者 volunteer', '小时'), rows)}"


def _open_cases(uow: UnitOfWork, cell_code: str) -> Iterator[Case]:
    return pages(lambda after: uow.cases.open_in_subtree(cell_code, limit=500, after=after))


_LEVELS = (GridLevel.GRID, GridLevel.COMMUNITY, GridLevel.STREET, GridLevel.DISTRICT)


def format_open_cases(
    cases: Sequence[Case],
    *,
    now: pendulum.DateTime,
    names: Mapping[str, str],
    catalogue: ServiceCatalogue,
) -> str:
    """Render the open cases by the level that owns them, with their running deadlines.

    Args:
        cases: The open cases.
        now: The instant deadlines are judged at.
        names: Cell names by code.
        catalogue: For the categories' labels.

    Returns:
        The text, without a final newline.
    """
    head = f"在办事件 open cases at {now.format('YYYY-MM-DD HH:mm')} by level: {len(cases)}"
    rows = []
    for level in _LEVELS:
        at_level = [c for c in cases if c.owner_level is level]
        overdue = sum(1 for c in at_level if _overdue(c, now))
        rows.append((f"{level.label_zh}级 {level.value}", len(at_level), overdue))
    lines = [head, _table(("层级 level", "件数", "超期"), rows)]
    for case in sorted(cases, key=lambda c: (c.owner_level.depth, c.reported_at, c.id)):
        label = (
            catalogue.get(case.category).label_zh if case.category in catalogue else case.category
        )
        deadline = case.current_deadline
        due = "" if deadline is None else f"{deadline.stage.label_zh}时限 {_short(deadline.due)}"
        late = " 超期 overdue" if _overdue(case, now) else ""
        lines.append(
            f"  {case.id} {label} {case.state.label_zh} "
            f"{names.get(case.owner_cell, case.owner_cell)} {due}{late}"
        )
    return "\n".join(lines)


def _overdue(case: Case, now: pendulum.DateTime) -> bool:
    deadline = case.current_deadline
    return deadline is not None and deadline.paused_at is None and deadline.due < now


def _short(instant: pendulum.DateTime) -> str:
    return instant.in_timezone(_TZ).format("YYYY-MM-DD HH:mm")


def format_escalations(
    cases: Sequence[Case], *, on: pendulum.Date, names: Mapping[str, str]
) -> str:
    """Render the escalations recorded on ``on`` in the cases' histories, in time order.

    Args:
        cases: The cases to look through.
        on: The day.
        names: Cell names by code.

    Returns:
        The text, without a final newline.
    """
    rows = sorted(
        (
            (entry.at, case, entry, previous)
            for case in cases
            for previous, entry in zip((None, *case.history[:-1]), case.history, strict=True)
            if entry.role == CaseRole.SYSTEM.value and entry.at.in_timezone(_TZ).date() == on
        ),
        key=lambda row: (row[0], row[1].id),
    )
    lines = [f"今日督办 escalations on {on.isoformat()}: {len(rows)}"]
    for at, case, entry, previous in rows:
        kind = EscalationKind(entry.action)
        moved = ""
        if previous is not None and previous.owner_cell != entry.owner_cell:
            before = names.get(previous.owner_cell, previous.owner_cell)
            moved = f" {before} → {names.get(entry.owner_cell, entry.owner_cell)}"
        lines.append(
            f"  {at.in_timezone(_TZ).format('HH:mm')} {case.id} {kind.label_zh}{moved}: "
            f"{entry.note}"
        )
    return "\n".join(lines)


_TZ = "Asia/Shanghai"
_WORKLIST_ROWS = 12


def _busiest_worker(
    uow: UnitOfWork, scenario: Scenario, on: pendulum.Date, now: pendulum.DateTime
) -> str | None:
    """Return the grid worker with the most tasks today: the demo's example worklist."""
    grid_workers = [
        w
        for w in scenario.workers
        if any(r.code == "grid_worker" for r in w.roles) and w.cells_on(on)
    ]
    lists = [(len(worklist(uow, w.id, on=on, now=now)), w.id) for w in grid_workers]
    return max(lists)[1] if lists else None


def format_worklist(work: Worklist, *, names: Mapping[str, str]) -> str:
    """Render a worklist: buildings along the route, households, tasks and why.

    Args:
        work: The worklist.
        names: Cell names by code.

    Returns:
        The text, at most a dozen task lines, without a final newline.
    """
    lines = [
        f"今日探访清单 worklist of {work.worker_id} on {work.on.isoformat()}: "
        f"{len(work)} tasks in {len(work.stops)} buildings"
    ]
    shown = 0
    for stop in work.stops:
        if shown >= _WORKLIST_ROWS:
            break
        lines.append(f"  {names.get(stop.cell_code, stop.name)}")
        for household in stop.households:
            for entry in household.entries:
                if shown >= _WORKLIST_ROWS:
                    break
                lines.append(f"    {household.household.address} {entry}")
                shown += 1
    if len(work) > shown:
        lines.append(f"  ... and {len(work) - shown} more")
    return "\n".join(lines)


def format_coverage(rows: Sequence[Coverage], *, names: Mapping[str, str]) -> str:
    """Render each grid's visiting coverage for the period.

    Args:
        rows: One coverage per grid.
        names: Cell names by code.

    Returns:
        The text, without a final newline.
    """
    if not rows:
        return "no grids"
    first = rows[0]
    head = (
        f"本月探访覆盖 visiting coverage {first.start.isoformat()} to "
        f"{first.end.subtract(days=1).isoformat()} (target 100%)"
    )
    table = _table(
        ("网格", "探访对象", "已联系", "联系率", "按频次", "达标率", "未达标"),
        [
            (
                names.get(c.cell_code, c.cell_code),
                c.covered,
                c.contacted,
                f"{c.contacted_share:.0%}",
                c.on_cadence,
                f"{c.on_cadence_share:.0%}",
                len(c.missed),
            )
            for c in rows
        ],
    )
    return f"{head}\n{table}"


def _load_unless_present(
    store: Store,
    scenario: Scenario,
    path: Path,
    db: str,
    *,
    progress: _Progress | None = None,
    quiet: bool = False,
) -> LoadReport | None:
    """Load the whole scenario into an empty store; reuse a store that holds exactly its cells.

    Args:
        store: The store.
        scenario: The scenario, read without its households.
        path: Where it was read from, to read it whole.
        db: The store's URL, for the messages.
        progress: The bar advanced as the households are stored.
        quiet: Print no status line.

    Returns:
        What was stored, or ``None`` if the store held the scenario already.

    Raises:
        ConflictError: If the store holds other data: gridgov never mixes two ledgers.
    """
    with store() as uow:
        stored = uow.cells.tree()
    if len(stored):
        if not _same_cells(stored, scenario):
            raise ConflictError(
                f"the store at {safe_url(db)} holds other data than {scenario.name}; "
                "choose another --db, or delete that store to start over"
            )
        _status(f"using {scenario.name} already in {safe_url(db)}", quiet=quiet)
        _add_what_is_missing(store, scenario, path, quiet=quiet)
        return None
    full = load_scenario(path)
    if progress is None:
        report = populate(store, full)
    else:
        progress.total = len(full.households)
        with progress:
            report = populate(store, full, progress=progress)
    _status(
        f"loaded {scenario.name} into {safe_url(db)}: {report.cells} cells, "
        f"{report.workers} workers, {report.households} households, {report.residents} residents, "
        f"{report.contacts} contacts, {report.cases} cases, {report.series} activity series, "
        f"{report.registrations} registrations",
        quiet=quiet,
    )
    return report


def _same_cells(stored: GridTree, scenario: Scenario) -> bool:
    """Return whether the stored cells are exactly the scenario's: codes, names and parents."""
    wanted = {c.code: c for c in scenario.cells}
    have = {c.code: c for c in stored}
    return have.keys() == wanted.keys() and all(
        (have[k].name, have[k].parent_code) == (c.name, c.parent_code) for k, c in wanted.items()
    )


def _status(line: str, *, quiet: bool = False) -> None:
    """Print a status line on stderr, unless ``quiet``."""
    if not quiet:
        print(line, file=sys.stderr)


def _add_what_is_missing(
    store: Store, scenario: Scenario, path: Path, *, quiet: bool = False
) -> None:
    """Add the cases and the programme to a store loaded by a gridgov that had neither."""
    with store() as uow:
        try:
            uow.case_settings.get()
            need_cases = False
        except NotFoundError:
            need_cases = bool(scenario.cases)
        try:
            need_programme = bool(scenario.venues) and not uow.venues.get(scenario.venues[0].id)
        except NotFoundError:
            need_programme = True
        if not (need_cases or need_programme):
            return
        added = []
        if need_cases:
            added.append(f"{store_cases(uow, scenario)} cases")
        if need_programme:
            full = load_scenario(path)  # registrations and sign-ups come with the ledger
            series, registrations = store_programme(uow, full)
            added.append(f"{series} activity series, {registrations} registrations")
        uow.commit()
    _status(f"added {' and '.join(added)} of {scenario.name}", quiet=quiet)


def format_summary(title: str, on: pendulum.Date, summaries: Sequence[GridSummary]) -> str:
    """Render ledger summaries as fixed-width tables with Chinese labels and a total row.

    Args:
        title: The scenario's name.
        on: The date the ages were computed on.
        summaries: One summary per grid.

    Returns:
        The text, without a final newline.
    """
    total = summary_total(summaries)
    rows = [*summaries, total]
    other_tags = [t for t, _ in total.tags if t not in _CARE_TAGS]
    population = _table(
        ("网格", "户数", "在住", "拆迁外迁", "空置", "迁出", "居民", "60-69岁", "70-79岁", "80岁+"),
        [
            (
                s.name,
                s.households,
                s.resident_households,
                s.relocated_households,
                s.vacant_households,
                s.moved_out_households,
                s.residents,
                s.aged_60_69,
                s.aged_70_79,
                s.aged_80_plus,
            )
            for s in rows
        ],
    )
    care, other = (
        _table(
            ("网格", *(t.label_zh for t in tags)),
            [(s.name, *(s.tag_count(t) for t in tags)) for s in rows],
        )
        for tags in (_CARE_TAGS, other_tags)
    )
    return "\n".join(
        [
            f"{title}: 台账汇总 ledger summary on {on.isoformat()}",
            "",
            "户数与人口 households and residents (residents: 在住 and 拆迁外迁 households)",
            population,
            "",
            "重点人群 key populations: residents carrying each tag",
            care,
            "",
            other,
        ]
    )


# --- the commands over a store -----------------------------------------------------------------

# Bounds of "every case" and "every series": a day wider, in UTC, than the supported range
# (gridgov.clock) that every stored instant lies in.
_BEGINNING = pendulum.datetime(EARLIEST.year, 1, 1, tz="UTC").subtract(days=1)
_END = pendulum.datetime(LATEST.year + 1, 1, 1, tz="UTC").add(days=1)


class _Progress:
    """A one-line progress bar on stderr, ``label [#####.....] done/total``, if enabled.

    Calling it with the count done so far redraws the line, so it serves as a
    :data:`~gridgov.ports.ProgressCallback`; leaving the ``with`` block ends the line.

    Args:
        label: What is counted.
        enabled: Whether to draw at all.
        total: The count at the end, if known (it may be set later).
    """

    _WIDTH = 30

    def __init__(self, label: str, *, enabled: bool, total: int = 0) -> None:
        self.label = label
        self.enabled = enabled
        self.total = total
        self._drawn = False

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        total = max(self.total, done)
        filled = self._WIDTH * done // total if total else 0
        bar = "#" * filled + "." * (self._WIDTH - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total}")
        sys.stderr.flush()
        self._drawn = True

    def __enter__(self) -> _Progress:
        self(0)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._drawn = False


def _progress(args: argparse.Namespace, label: str, total: int = 0) -> _Progress:
    """Return a bar shown on a terminal, or always with ``--progress``, never with ``--quiet``."""
    shown = bool(args.progress) or (not args.quiet and sys.stderr.isatty())
    return _Progress(label, enabled=shown, total=total)


def _print_json(document: object) -> None:
    """Print one JSON document on stdout: UTF-8 text as is, keys sorted, indented."""
    print(json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True))


def _not_found(kind: str, key: str, message: str) -> NotFoundError:
    """Return a NotFoundError with a message of its own."""
    exc = NotFoundError(kind, key)
    exc.args = (message,)
    return exc


def _scenario_path(text: str | None) -> Path:
    """Return the scenario at ``text``: a path, or the name of an example (default Minggong)."""
    if text is None:
        return example_path()
    path = Path(text)
    if not path.exists() and re.fullmatch(r"[A-Za-z0-9_-]+", text):
        with contextlib.suppress(NotFoundError):
            return example_path(text)
    return path


@contextlib.contextmanager
def _ledger(args: argparse.Namespace) -> Iterator[tuple[Scenario, Store, GridTree]]:
    """Open the store of ``--db`` holding the ``--scenario``; yield both and the stored cells.

    Raises:
        NotFoundError: If the store holds nothing.
        ConflictError: If it holds other cells than the scenario's.
    """
    scenario = load_scenario(_scenario_path(args.scenario), households=False)
    db = args.db or default_db_url()
    store = open_store(db, scheme=scenario.scheme)
    try:
        with store() as uow:
            tree = uow.cells.tree()
        if not len(tree):
            raise _not_found(
                "store",
                safe_url(db),
                f"the store at {safe_url(db)} holds no data: run `gridgov load` first",
            )
        if not _same_cells(tree, scenario):
            raise ConflictError(
                f"the store at {safe_url(db)} holds other data than {scenario.name}; "
                "give the --scenario it was loaded from"
            )
        yield scenario, store, tree
    finally:
        store.close()


def _day(given: pendulum.Date | None, scenario: Scenario) -> pendulum.Date:
    """Return the day asked for, else the scenario's as_of, else today."""
    return given or scenario.as_of or SystemClock().today()


def _nine(day: pendulum.Date) -> pendulum.DateTime:
    """Return 09:00 of ``day`` in Beijing time: the working day begins."""
    return pendulum.datetime(day.year, day.month, day.day, 9, tz=_TZ)


def _midnight(day: pendulum.Date) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, tz=_TZ)


def _instant(value: dt.datetime, option: str) -> pendulum.DateTime:
    """Return the instant given on the command line.

    Raises:
        ValidationError: If it has no UTC offset.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            option, "naive datetime: give its UTC offset, e.g. 2026-11-28T09:00+08:00"
        )
    return pendulum.instance(value)


def _names(tree: GridTree) -> dict[str, str]:
    return {c.code: c.name for c in tree}


def _outermost(codes: Iterable[str]) -> list[str]:
    """Return the codes not inside another of them: their subtrees cover all of them."""
    codes = list(codes)
    return [c for c in codes if not any(c != o and c.startswith(o) for o in codes)]


def _catalogue(uow: UnitOfWork, scenario: Scenario) -> ServiceCatalogue:
    """Return the store's service catalogue, else the scenario's."""
    try:
        return uow.case_settings.get().catalogue
    except NotFoundError:
        return scenario.catalogue


def _all_cases(uow: UnitOfWork, cell_code: str) -> Iterator[Case]:
    return pages(
        lambda after: uow.cases.reported_in_subtree(
            cell_code, since=_BEGINNING, until=_END, limit=500, after=after
        )
    )


def _venues(uow: UnitOfWork, tree: GridTree) -> list[Venue]:
    found: list[Venue] = []
    for root in tree.roots:
        found.extend(pages(partial(_venue_page, uow, root.code)))
    return found


def _venue_page(uow: UnitOfWork, cell_code: str, after: str | None) -> Page[Venue]:
    return uow.venues.in_subtree(cell_code, limit=500, after=after)


def _marked(result: Deadline | Escalation) -> str:
    """Return `` 暂定`` for a time that rests on provisional holidays, else nothing."""
    return " 暂定" if result.provisional_years else ""


def _iso(instant: pendulum.DateTime) -> str:
    return instant.in_timezone(_TZ).isoformat()


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


# --- load


def _cmd_load(args: argparse.Namespace) -> int:
    path = _scenario_path(args.scenario)
    scenario = load_scenario(path, households=False)
    db = args.db or default_db_url()
    store = open_store(db, scheme=scenario.scheme)
    try:
        report = _load_unless_present(
            store, scenario, path, db, progress=_progress(args, "households"), quiet=args.quiet
        )
    finally:
        store.close()
    if args.json:
        _print_json(
            {
                "scenario": scenario.name,
                "store": safe_url(db),
                "loaded": report is not None,
                "counts": None if report is None else attrs.asdict(report),
            }
        )
    return 0


# --- worklist


def _cmd_worklist(args: argparse.Namespace) -> int:
    with _ledger(args) as (scenario, store, tree):
        on = _day(args.date, scenario)
        now = _nine(on)
        with store() as uow:
            worker = uow.workers.get(args.worker)
            planned = sum(
                len(plan_tasks(uow, code, now=now, policy=scenario.policy))
                for code in _outermost(worker.cells_on(on))
            )
            work = worklist(uow, worker.id, on=on, now=now)
            uow.commit()
    if args.json:
        _print_json(_worklist_json(work, now=now, planned=planned))
    else:
        print(_format_full_worklist(work, now=now, names=_names(tree)))
    return 0


def _worklist_json(work: Worklist, *, now: pendulum.DateTime, planned: int) -> dict[str, object]:
    return {
        "worker": work.worker_id,
        "on": work.on.isoformat(),
        "at": _iso(now),
        "planned": planned,
        "tasks": len(work),
        "stops": [
            {
                "cell_code": stop.cell_code,
                "name": stop.name,
                "households": [
                    {
                        "household_id": h.household.id,
                        "address": str(h.household.address),
                        "tasks": [
                            {
                                "id": e.task.id,
                                "resident_id": e.resident.id,
                                "resident": mask_name(e.resident.name),
                                "method": e.task.method.value,
                                "status": e.status.value,
                                "due": _iso(e.task.due),
                                "reason_en": e.task.reason_en,
                                "reason_zh": e.task.reason_zh,
                            }
                            for e in h.entries
                        ],
                    }
                    for h in stop.households
                ],
            }
            for stop in work.stops
        ],
    }


def _format_full_worklist(
    work: Worklist, *, now: pendulum.DateTime, names: Mapping[str, str]
) -> str:
    """Render every task of a worklist, building by building along the route."""
    head = (
        f"今日探访清单 worklist of {work.worker_id} on {work.on.isoformat()} at "
        f"{now.in_timezone(_TZ).format('HH:mm')}: {len(work)} tasks in {len(work.stops)} buildings"
    )
    rows = [
        (
            names.get(stop.cell_code, stop.name),
            str(h.household.address),
            e.status.label_zh,
            mask_name(e.resident.name),
            e.task.method.label_zh,
            e.task.due.in_timezone(_TZ).format("MM-DD HH:mm"),
            e.task.reason_zh,
        )
        for stop in work.stops
        for h in stop.households
        for e in h.entries
    ]
    if not rows:
        return f"{head}\n  no tasks"
    header = ("楼栋 building", "地址 address", "状态", "对象", "方式", "截止 due", "原因 reason")
    return f"{head}\n{_table(header, rows, align='lllllll')}"


# --- cases


def _cmd_cases(args: argparse.Namespace) -> int:
    with _ledger(args) as (scenario, store, tree):
        if args.at is not None:
            at = _instant(args.at, "--at")
        else:
            at = _nine(scenario.as_of) if scenario.as_of else SystemClock().now()
        if args.cell is not None and args.cell not in tree:
            raise NotFoundError("cell", args.cell)
        roots = [args.cell] if args.cell is not None else [c.code for c in tree.roots]
        with store() as uow:
            listed = _all_cases if args.all else _open_cases
            found = [case for code in roots for case in listed(uow, code)]
            catalogue = _catalogue(uow, scenario)
    names = _names(tree)
    if args.json:
        _print_json(
            {
                "cell": args.cell,
                "at": _iso(at),
                "open_only": not args.all,
                "cases": [_case_json(c, at=at, names=names, catalogue=catalogue) for c in found],
            }
        )
        return 0
    where = " and ".join(names[code] for code in roots)
    which = "all cases" if args.all else "open cases"
    head = f"事件 {which} in {where} at {_short(at)}: {len(found)}"
    rows = []
    for case in found:
        deadline = case.current_deadline
        rows.append(
            (
                case.id,
                _category_label(case, catalogue),
                case.state.label_zh,
                f"{case.owner_level.label_zh}级",
                names.get(case.owner_cell, case.owner_cell),
                "—"
                if deadline is None
                else f"{deadline.stage.label_zh} {_short(deadline.due)}{_marked(deadline)}",
                "超期 overdue" if _overdue(case, at) else "",
            )
        )
    if not rows:
        print(head)
        return 0
    header = ("编号 case", "类别", "状态", "层级 level", "承办 owner", "时限 deadline", "超期")
    print(f"{head}\n{_table(header, rows, align='lllllll')}")
    return 0


def _category_label(case: Case, catalogue: ServiceCatalogue) -> str:
    return catalogue.get(case.category).label_zh if case.category in catalogue else case.category


def _case_json(
    case: Case, *, at: pendulum.DateTime, names: Mapping[str, str], catalogue: ServiceCatalogue
) -> dict[str, object]:
    deadline = case.current_deadline
    return {
        "id": case.id,
        "category": case.category,
        "category_label": _category_label(case, catalogue),
        "state": case.state.value,
        "owner_level": case.owner_level.value,
        "owner_cell": case.owner_cell,
        "owner_name": names.get(case.owner_cell, case.owner_cell),
        "reported_at": _iso(case.reported_at),
        "deadline": None
        if deadline is None
        else {
            "stage": deadline.stage.value,
            "due": _iso(deadline.due),
            "paused": deadline.paused_at is not None,
            "provisional": deadline.provisional,
            "provisional_years": list(deadline.provisional_years),
        },
        "next_check": None if case.next_check is None else _iso(case.next_check),
        "next_check_provisional_years": list(case.next_check_provisional_years),
        "overdue": _overdue(case, at),
    }


# --- sweep


def _cmd_sweep(args: argparse.Namespace) -> int:
    at = _instant(args.at, "--at")
    with _ledger(args) as (scenario, store, tree):
        with store() as uow:
            settings = uow.case_settings.get()
        workflow = CaseWorkflow(
            scenario.workflow().calendar, settings.catalogue, settings.escalation
        )
        fired = EscalationEngine(store, workflow).sweep(at)
    if args.json:
        _print_json({"at": _iso(at), "escalations": [_escalation_json(e) for e in fired]})
    else:
        print(_format_sweep(fired, at=at, names=_names(tree)))
    return 0


def _escalation_json(e: Escalation) -> dict[str, object]:
    return {
        "case_id": e.case_id,
        "kind": e.kind.value,
        "rule": e.rule,
        "due_at": _iso(e.due_at),
        "at": _iso(e.at),
        "from_cell": e.from_cell,
        "to_cell": e.to_cell,
        "from_level": e.from_level.value,
        "to_level": e.to_level.value,
        "reason_en": e.reason_en,
        "reason_zh": e.reason_zh,
        "provisional": bool(e.provisional_years),
        "provisional_years": list(e.provisional_years),
    }


def _format_sweep(
    fired: Sequence[Escalation], *, at: pendulum.DateTime, names: Mapping[str, str]
) -> str:
    head = f"督办 escalations at {_short(at)}: {len(fired)}"
    if not fired:
        return head
    rows = []
    for e in fired:
        owner = names.get(e.to_cell, e.to_cell)
        if e.from_cell != e.to_cell:
            owner = f"{names.get(e.from_cell, e.from_cell)} → {owner}"
        due = f"{_short(e.due_at)}{_marked(e)}"
        rows.append((e.case_id, e.kind.label_zh, due, owner, e.reason_zh))
    header = ("编号 case", "动作 action", "到期 due", "承办 owner", "原因 reason")
    return f"{head}\n{_table(header, rows, align='lllll')}"


# --- schedule


def _cmd_schedule(args: argparse.Namespace) -> int:
    with _ledger(args) as (scenario, store, tree):
        day = _day(args.week, scenario)
        start = _midnight(day)
        with store() as uow:
            venues = [uow.venues.get(args.venue)] if args.venue else _venues(uow, tree)
            weeks = [week_schedule(uow, v.id, start=start) for v in venues]
    if args.json:
        _print_json(
            {
                "start": _iso(start),
                "end": _iso(start.add(days=7)),
                "venues": [_week_json(w, v) for w, v in zip(weeks, venues, strict=True)],
            }
        )
    elif not venues:
        print("no venues")
    else:
        print("\n\n".join(format_week(w, v) for w, v in zip(weeks, venues, strict=True)))
    return 0


def _week_json(schedule: WeekSchedule, venue: Venue) -> dict[str, object]:
    return {
        "id": venue.id,
        "name": venue.name,
        "spaces": [
            {
                "id": space.id,
                "name": space.name,
                "occurrences": [
                    {
                        "id": e.occurrence.id,
                        "series_id": e.occurrence.series_id,
                        "title": e.occurrence.title,
                        "start": _iso(e.occurrence.start),
                        "end": _iso(e.occurrence.end),
                        "capacity": e.occurrence.capacity,
                        "confirmed": e.confirmed,
                        "waitlisted": e.waitlisted,
                    }
                    for e in schedule.by_space.get(space.id, ())
                ],
            }
            for space in venue.spaces
        ],
    }


# --- report


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        from gridgov.report import collect, write_page
    except ModuleNotFoundError as exc:
        raise _missing(exc, "gridgov report") from None

    with _ledger(args) as (scenario, store, _):
        on = _day(args.on, scenario)
        figures = collect(store, scenario, on=on)
        html = None if args.html is None else write_page(figures, args.html)
    rows: list[tuple[str | int, ...]] = [_report_row(g.name, [g]) for g in figures.grids]
    rows.append(_report_row("合计", figures.grids))
    if args.json:
        _print_json(
            {
                "scenario": figures.title,
                "on": figures.on.isoformat(),
                "coverage_since": figures.month_start.isoformat(),
                "cases_since": _iso(figures.case_since),
                "until": _iso(figures.until),
                "grids": [_grid_json(g) for g in figures.grids],
                "html": None if html is None else str(html),
            }
        )
    else:
        head = (
            f"{figures.title}: 报告 report on {figures.on.isoformat()}: coverage since "
            f"{figures.month_start.isoformat()} (target 100%), cases and escalations since "
            f"{figures.case_since.in_timezone(_TZ).date().isoformat()}"
        )
        header = (
            "网格",
            "探访对象",
            "联系率",
            "达标率",
            "事件",
            "办结",
            "办结率",
            "按时办结",
            "督办",
        )
        print(f"{head}\n{_table(header, rows)}{_provisional_footnote(figures.grids)}")
    if html is not None:
        _status(f"wrote the HTML report to {html}")
    return 0


def _report_row(name: str, grids: Sequence[GridFigures]) -> tuple[str | int, ...]:
    """Return a row of ``gridgov report``: one grid, or the total of several."""
    covered = sum(g.coverage.covered for g in grids)
    contacted = sum(g.coverage.contacted for g in grids)
    on_cadence = sum(g.coverage.on_cadence for g in grids)
    reported = sum(g.cases.reported for g in grids)
    closed = sum(g.cases.closed for g in grids)
    on_time = sum(g.cases.closed_on_time for g in grids)
    return (
        name,
        covered,
        _share(contacted / covered if covered else 1.0),
        _share(on_cadence / covered if covered else 1.0),
        reported,
        closed,
        _share(closed / reported if reported else None),
        _share(on_time / closed if closed else None),
        sum(g.escalation_total for g in grids),
    )


def _provisional_footnote(grids: Sequence[GridFigures]) -> str:
    """Say how many open cases run on provisional deadlines, if any."""
    count = sum(g.cases.provisional for g in grids)
    if not count:
        return ""
    years = ", ".join(str(y) for y in sorted({y for g in grids for y in g.cases.provisional_years}))
    return (
        f"\n暂定 provisional: {count} open cases have deadlines counted on the statutory holidays "
        f"of {years}, not announced yet"
    )


def _grid_json(g: GridFigures) -> dict[str, object]:
    c, k = g.coverage, g.cases
    return {
        "code": g.code,
        "name": g.name,
        "coverage": {
            "covered": c.covered,
            "contacted": c.contacted,
            "on_cadence": c.on_cadence,
            "missed": len(c.missed),
        },
        "cases": {
            "reported": k.reported,
            "closed": k.closed,
            "closed_on_time": k.closed_on_time,
            "provisional": k.provisional,
            "provisional_years": list(k.provisional_years),
        },
        "escalations": {
            "total": g.escalation_total,
            "by_level": {level.value: n for level, n in g.escalations.items()},
            "by_kind": {kind.value: n for kind, n in g.escalation_kinds.items()},
        },
        "volunteers": g.volunteers,
        "volunteer_hours": g.volunteer_hours,
    }


def _missing(exc: ModuleNotFoundError, command: str) -> GridgovError:
    """Return the error for a command whose module, or a module it needs, is not installed."""
    return GridgovError(f"{command} needs the module {exc.name}, which this installation lacks")


# --- export

_FULL_VIEW_ROLES = ", ".join(
    r.value for r in Role if Permission.FULL_VIEW in r.permissions and r is not Role.SYSTEM
)


def _redaction(args: argparse.Namespace, store: Store, what: str) -> Redaction:
    """Return the redaction of an export: masked, or full if ``--as-role`` allows it.

    A full export is recorded in the store's audit trail and warned about on stderr.

    Raises:
        AccessDeniedError: If ``--full`` is given without a role allowing the full view.
    """
    if not args.full:
        return Redaction.MASKED
    if args.as_role is None:
        raise AccessDeniedError(
            f"--full needs --as-role naming a role allowed the full view ({_FULL_VIEW_ROLES})"
        )
    principal = Principal(_principal_id(), {Role(args.as_role)}, {""})
    audit = StoreAuditSink(store)
    subject = f"query:{what}"
    try:
        principal.require(Permission.FULL_VIEW, None, f"export {what} unmasked")
    except AccessDeniedError:
        audit(audit_entry(principal, SystemClock().now(), AuditKind.DENIED, subject, None, "full"))
        raise
    audit(audit_entry(principal, SystemClock().now(), AuditKind.EXPORTED, subject, None, "full"))
    print(
        "gridgov: warning: --full: this export holds personal data, unmasked; "
        "keep it as safe as the ledger",
        file=sys.stderr,
    )
    return principal.redaction


def _principal_id() -> str:
    """Return who exports: ``cli:<login name>``, or ``cli`` if the name is not an id."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        return "cli"
    return f"cli:{user}" if re.fullmatch(r"[A-Za-z0-9_.\-]{1,59}", user) else "cli"


def _check_export_output(args: argparse.Namespace) -> None:
    if args.json and args.out is None:
        raise ValidationError(
            "--json", "with export, --json prints a summary of the file written: give --out FILE"
        )


def _write_export(
    args: argparse.Namespace,
    text: str,
    *,
    kind: str,
    count: int,
    unit: str,
    redaction: Redaction,
) -> int:
    """Write an export to ``--out`` or stdout; with ``--json``, print what was written."""
    out: Path | None = args.out
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    out.write_text(text, encoding="utf-8", newline="")
    if args.json:
        _print_json({"format": kind, "out": str(out), "count": count, "redaction": redaction.value})
    else:
        _status(f"wrote {count} {unit} to {out}")
    return 0


def _cmd_export_open311(args: argparse.Namespace) -> int:
    _check_export_output(args)
    what = "open311.services" if args.services else "open311.requests"
    with _ledger(args) as (scenario, store, tree):
        redaction = _redaction(args, store, what)
        with store() as uow:
            catalogue = _catalogue(uow, scenario)
            if args.services:
                count = len(catalogue.categories)
                text = dumps_services(catalogue, lang=args.lang, indent=2)
            else:
                found = [c for root in tree.roots for c in _all_cases(uow, root.code)]
                count = len(found)
                text = dumps_requests(
                    found, catalogue, redaction=redaction, lang=args.lang, indent=2
                )
    unit = "services" if args.services else "service requests"
    return _write_export(args, text + "\n", kind=what, count=count, unit=unit, redaction=redaction)


def _cmd_export_ics(args: argparse.Namespace) -> int:
    _check_export_output(args)
    with _ledger(args) as (_, store, tree):
        redaction = _redaction(args, store, "ics")
        with store() as uow:
            if args.venue is not None:
                venue = uow.venues.get(args.venue)
            else:
                venue = _only_venue(_venues(uow, tree))
            code = venue.id
            series = list(
                pages(
                    lambda after: uow.series.in_venue(
                        code, start=_BEGINNING, end=_END, limit=500, after=after
                    )
                )
            )
    now = SystemClock().now()
    if args.space is not None:
        text = space_calendar(venue, args.space, series, now=now)
    else:
        text = venue_calendar(venue, series, now=now)
    count = text.count("\r\nBEGIN:VEVENT\r\n")
    return _write_export(args, text, kind="ics", count=count, unit="events", redaction=redaction)


def _only_venue(venues: Sequence[Venue]) -> Venue:
    if not venues:
        raise _not_found("venue", "", "the store holds no venue")
    if len(venues) > 1:
        raise ValidationError(
            "--venue",
            f"the store holds {len(venues)} venues: name one of {', '.join(v.id for v in venues)}",
        )
    return venues[0]


def _cmd_export_geojson(args: argparse.Namespace) -> int:
    _check_export_output(args)
    with _ledger(args) as (_, store, tree):
        redaction = _redaction(args, store, "geojson")
    features = [_feature(c) for c in tree]
    document = {"type": "FeatureCollection", "features": features}
    text = json.dumps(document, ensure_ascii=False) + "\n"  # compact: coordinates add up
    return _write_export(
        args, text, kind="geojson", count=len(features), unit="cells", redaction=redaction
    )


def _feature(cell: GridCell) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": cell.code,
        "geometry": None if cell.boundary is None else cell.boundary.to_geojson(),
        "properties": {
            "code": cell.code,
            "name": cell.name,
            "level": cell.level.value,
            "parent_code": cell.parent_code,
        },
    }


# --- simulate


def _cmd_simulate(args: argparse.Namespace) -> int:
    try:
        from gridgov.scenarios.simulate import simulate
    except ModuleNotFoundError as exc:
        raise _missing(exc, "gridgov simulate") from None

    scenario = load_scenario(_scenario_path(args.scenario))
    db = args.db or "memory://"
    store = open_store(db, scheme=scenario.scheme)
    try:
        with store() as uow:
            if len(uow.cells.tree()):
                raise ConflictError(
                    f"gridgov simulate needs an empty store; {safe_url(db)} holds data"
                )
        with _progress(args, "days", total=args.days) as bar:
            report = simulate(
                store, scenario, start=args.start, days=args.days, seed=args.seed, progress=bar
            )
        figures = report.figures()
    finally:
        store.close()
    if args.json:
        _print_json(
            {
                "scenario": scenario.name,
                "store": safe_url(db),
                "start": args.start.isoformat(),
                "days": args.days,
                "seed": args.seed,
                "figures": figures,
            }
        )
        return 0
    head = (
        f"{scenario.name}: 模拟 simulation of {args.days} days from {args.start.isoformat()} "
        f"(seed {args.seed})"
    )
    rows = [
        (key, f"{value:g}" if isinstance(value, float) else str(value))
        for key, value in figures.items()
    ]
    print(f"{head}\n{_table(('指标 figure', '值 value'), rows)}")
    return 0


def _width(text: str) -> int:
    """Return the terminal width of ``text``: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str | int]], *, align: str | None = None
) -> str:
    """Lay out rows under a header, columns two spaces apart.

    Args:
        header: The column titles.
        rows: The rows, as many cells as titles.
        align: ``l`` or ``r`` per column; by default the first column is left-aligned and the
            others (numbers) right-aligned.
    """
    cells = [list(header), *[[str(x) for x in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    sides = align or "l" + "r" * (len(header) - 1)
    lines = []
    for row in cells:
        parts = [
            x + " " * (w - _width(x)) if side == "l" else " " * (w - _width(x)) + x
            for x, w, side in zip(row, widths, sides, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
