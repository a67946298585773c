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
- ``gridgov sweep --at ISO-DATETIME [--what cases|care|all]``: run the escalation sweep, the
  overdue sweep of care tasks (each open task past due marked and its event recorded once), or
  both, at that instant.
- ``gridgov schedule --week YYYY-MM-DD [--venue ID]``: each venue's week, per space.
- ``gridgov report [--on DATE] [--html DIR]``: coverage, case closure and escalations per grid.
- ``gridgov export open311|ics|geojson|xlsx``: standard formats on stdout or ``--out FILE``, and
  the ledger, worklists, coverage and case KPIs as a workbook (``xlsx``, to ``--out``); personal
  data masked unless ``--full`` by a stored worker allowed the full view (``--as-worker``).
- ``gridgov simulate SCENARIO --from DATE --days N``: run the time-travel simulator.
- ``gridgov relay [--nats URL] [--until-empty]``: publish the store's outbox to NATS JetStream.
- ``gridgov notify --log FILE | --webhook URL [--until-empty]``: send the due notifications.
- ``gridgov purge --at ISO-DATETIME``: erase personal data kept longer than the retention allows.
- ``gridgov import-ledger FILE.xlsx [--mapping FILE] [--dry-run] [--report OUT.xlsx]``: a
  community's ledger workbook into the store, all or nothing, with its validation report.
- ``gridgov grid split|merge|retire CODE... --into CODE=NAME[:BUILDING,...] --on DATE``: redraw
  the grid from a day, keeping the old cells and moving households with their open work.
- ``gridgov calendar [--year YYYY | --between START END]``: the working calendar's announced and
  provisional years, a year's days off, working time; ``gridgov calendar retime`` counts
  provisional deadlines again once a year is announced.

The commands over a loaded store run by the rules the store keeps (its settings: care policy,
working calendar, case catalogue and escalation); from ``--scenario`` (default: the Minggong
example) they take the code scheme, and the rules a store loaded by an older gridgov lacks, and
they refuse a store holding other cells. Results go to stdout, as tables or, with ``--json``, as
one JSON document; status lines and progress bars go to stderr (progress bars only on a terminal,
or with ``--progress``).

Errors print ``gridgov: error: <message>`` on stderr, never a traceback, and exit with:

====  ==============================================================================
0     success (and ``--help``)
1     any other gridgov error (a store that cannot be opened, an unsupported URL, a
      closed stdout, a file that cannot be written)
2     invalid input: a ValidationError (a naive ``--at``, a bad scenario field, a week or
      report reaching outside the supported range) or a usage error (a missing or unknown
      option, a date not written YYYY-MM-DD, a date or instant outside 1900-01-01 to
      2100-12-31); a ledger workbook with problems in its rows (``import-ledger``)
3     not found: a NotFoundError (an unknown worker, venue or cell; no scenario file;
      an empty store)
4     conflict: a ConflictError (a store holding other data)
5     access denied: an AccessDeniedError (``--full`` without a role allowing it)
6     calendar coverage: a CalendarCoverageError (an instant in a year the working
      calendar cannot count: before its announced years, or after them when it refuses to
      count provisionally)
130   interrupted (Ctrl-C)
====  ==============================================================================

``gridgov demo`` keeps the codes it always had: 2 for invalid input, 1 for every other error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from gridgov import __version__
from gridgov.cli import calendar as calendar_cmd
from gridgov.cli._common import (
    _DB_HELP,
    _RULES_HELP,
    _date,
    _datetime,
    _positive,
    default_db_url,
    safe_url,
)
from gridgov.cli.cases import _cmd_cases, _cmd_sweep
from gridgov.cli.demo import (
    _cmd_demo,
    _cmd_load,
    format_coverage,
    format_escalations,
    format_open_cases,
    format_summary,
    format_volunteer_hours,
    format_week,
    format_worklist,
)
from gridgov.cli.export import _cmd_export_geojson, _cmd_export_ics, _cmd_export_open311
from gridgov.cli.grid import add_grid
from gridgov.cli.ledger import add_import_ledger
from gridgov.cli.notify import add_notify
from gridgov.cli.privacy import add_purge, add_rehash_ids
from gridgov.cli.relay import add_relay
from gridgov.cli.report import _cmd_report
from gridgov.cli.schedule import _cmd_schedule
from gridgov.cli.simulate import _cmd_simulate
from gridgov.cli.workbook import add_export_xlsx
from gridgov.cli.worklist import _cmd_worklist
from gridgov.errors import (
    AccessDeniedError,
    CalendarCoverageError,
    ConflictError,
    GridgovError,
    NotFoundError,
    ValidationError,
)

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


# Exit codes, most specific error class first (see the module docstring).
_EXIT_CODES: tuple[tuple[type[GridgovError], int], ...] = (
    (ValidationError, 2),
    (NotFoundError, 3),
    (ConflictError, 4),
    (AccessDeniedError, 5),
    (CalendarCoverageError, 6),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridgov", description="Community grid governance (网格化治理) toolkit."
    )
    parser.add_argument("--version", action="version", version=f"gridgov {__version__}")
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
        help="run the escalation sweep, the overdue sweep of care tasks, or both, at an instant",
        description="Carry out every escalation due at the instant (EscalationEngine.sweep), "
        "or mark every open care task due before it overdue (sweep_overdue), committed, and "
        "print what was done. Several sweeps may run at once: each case or task is done once.",
    )
    sweep.add_argument(
        "--at",
        type=_datetime,
        required=True,
        metavar="ISO-DATETIME",
        help="the instant, with its UTC offset, e.g. 2026-11-28T09:00+08:00",
    )
    sweep.add_argument(
        "--what",
        choices=("cases", "care", "all"),
        default="cases",
        help="cases: escalations (default); care: overdue care tasks; all: both",
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
    report.add_argument(
        "--min-cases",
        type=int,
        default=10,
        metavar="N",
        help="cases a grid, department or post needs to be ranked in the league tables "
        "(default: 10)",
    )
    report.set_defaults(handler=_cmd_report)

    export = commands.add_parser(
        "export",
        help="Open311, iCalendar, GeoJSON or a workbook (xlsx)",
        description="Write a standard format on stdout or to --out FILE. Personal data is "
        "masked unless --full is given by a worker allowed the full view (--as-worker or "
        "GRIDGOV_PRINCIPAL), whose export holds their scope only.",
    )
    formats = export.add_subparsers(dest="format", required=True, metavar="FORMAT")
    exported = argparse.ArgumentParser(add_help=False, parents=[ledger])
    exported.add_argument("--out", type=Path, metavar="FILE", help="write to FILE, not stdout")
    exported.add_argument(
        "--full",
        action="store_true",
        help="export personal data unmasked (needs --as-worker: a grid worker or community staff)",
    )
    exported.add_argument(
        "--as-worker",
        metavar="ID",
        help="the stored worker you act as (default: $GRIDGOV_PRINCIPAL): their roles and "
        "today's cells decide what you may export",
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
    add_export_xlsx(formats, exported)

    _add_calendar(commands, output, ledger)

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
    simulate.add_argument(
        "--relay",
        metavar="NATS_URL",
        help="then publish the events the simulation recorded to NATS JetStream (nats extra)",
    )
    simulate.add_argument(
        "--stream", default="GRIDGOV", metavar="NAME", help="with --relay: the stream"
    )
    simulate.add_argument(
        "--prefix", default="gridgov", metavar="PREFIX", help="with --relay: the subjects' prefix"
    )
    simulate.set_defaults(handler=_cmd_simulate)
    add_relay(commands, output, _DB_HELP)
    add_notify(commands, output, _DB_HELP)
    add_purge(commands, output, _DB_HELP)
    add_rehash_ids(commands, output, _DB_HELP)
    add_import_ledger(commands, output, _DB_HELP)
    add_grid(commands, output, _DB_HELP)
    return parser


def _add_calendar(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    ledger: argparse.ArgumentParser,
) -> None:
    calendar = commands.add_parser(
        "calendar",
        parents=[output],
        help="the working calendar: announced and provisional years, a year's days off, "
        "working time; retime",
        description="Show which years the scenario's working calendar has announcements for and "
        "which it counts provisionally (the statutory holidays of the national regulation), "
        "the days off and make-up working days of a year (--year), or the working time between "
        "two instants (--between). `gridgov calendar retime` counts the store's provisional "
        "deadlines, checks and occurrences again once a year is announced.",
    )
    calendar.add_argument("--scenario", metavar="SCENARIO", help=_RULES_HELP)
    what = calendar.add_mutually_exclusive_group()
    what.add_argument("--year", type=calendar_cmd.year, metavar="YYYY", help="one year's days")
    what.add_argument(
        "--between",
        nargs=2,
        type=_datetime,
        metavar=("START", "END"),
        help="the working time between two instants with their offsets",
    )
    calendar.set_defaults(handler=calendar_cmd.cmd_calendar)
    actions = calendar.add_subparsers(dest="calendar_action", metavar="ACTION")
    again = actions.add_parser(
        "retime",
        parents=[ledger],
        help="count provisional times again on the calendar as it is now",
        description="Once a provisional year's arrangement is announced (a newer "
        "chinesecalendar, a gridgov release, or the scenario's [calendar] table), count the "
        "store's open cases' provisional deadlines and escalation checks again, give the venues "
        "the announced years and cancel registrations on occurrences that fell on a new "
        "holiday. Idempotent: a second run moves nothing.",
    )
    again.add_argument(
        "--at",
        type=_datetime,
        metavar="ISO-DATETIME",
        help="the instant it runs at, with its offset (default: now)",
    )
    again.set_defaults(handler=calendar_cmd.cmd_retime)


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
