"""What the commands share: argument types, the store a command opens, output helpers."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import signal
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import pendulum

from gridgov.access import Redaction
from gridgov.bootstrap import open_store
from gridgov.care.policy import CarePolicy
from gridgov.cases import Case, CaseWorkflow, ServiceCatalogue
from gridgov.clock import END_INSTANT, FIRST_INSTANT, SystemClock, ensure_in_range
from gridgov.errors import (
    ConflictError,
    GridgovError,
    NotFoundError,
    ValidationError,
)
from gridgov.grid import GridLevel, GridTree
from gridgov.identity import IdKey
from gridgov.ports import Page, Store, UnitOfWork
from gridgov.projections import JSONValue, project
from gridgov.scenarios import (
    Scenario,
    example_path,
    load_scenario,
)
from gridgov.scheduling.venues import Venue
from gridgov.services._common import pages
from gridgov.settings import stored_settings

_D = TypeVar("_D", bound=dt.date)
_WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


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


_DB_HELP = (
    "the store: sqlite:///path, postgresql://..., memory:// "
    "(default: $GRIDGOV_DB, else a SQLite file in your data directory)"
)


_RULES_HELP = (
    "the scenario the store was loaded from, for its code scheme (the rules come from the "
    "store): a directory, a scenario.toml or an example's name (default: minggong)"
)


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


def open_db(url: str, **options: Any) -> Store:
    """Open the store at ``url`` with the deployment's ID key, if the environment gives one.

    The key (:data:`gridgov.identity.ID_KEY_VARIABLE`, hex) is never an option of the command:
    an argument would land in the shell's history and the process list.
    """
    return open_store(url, id_key=IdKey.from_environment(), **options)


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


def _open_cases(uow: UnitOfWork, cell_code: str) -> Iterator[Case]:
    return pages(lambda after: uow.cases.open_in_subtree(cell_code, limit=500, after=after))


_LEVELS = (GridLevel.GRID, GridLevel.COMMUNITY, GridLevel.STREET, GridLevel.DISTRICT)


def _overdue(case: Case, now: pendulum.DateTime) -> bool:
    deadline = case.current_deadline
    return deadline is not None and deadline.paused_at is None and deadline.due < now


def _short(instant: pendulum.DateTime) -> str:
    return instant.in_timezone(_TZ).format("YYYY-MM-DD HH:mm")


_TZ = "Asia/Shanghai"


def _same_cells(stored: GridTree, scenario: Scenario) -> bool:
    """Return whether the stored cells are exactly the scenario's: codes, names and parents."""
    wanted = {c.code: c for c in scenario.cells}
    have = {c.code: c for c in stored}
    return have.keys() == wanted.keys() and all(
        (have[k].name, have[k].parent_code) == (c.name, c.parent_code) for k, c in wanted.items()
    )


def _stop_on_sigterm(stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGTERM (a service manager's stop), as Ctrl-C stops in the foreground."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop()

    signal.signal(signal.SIGTERM, handler)


def _print_report(args: argparse.Namespace, report: object, line: str) -> None:
    """Print a loop's report (an attrs record): its fields with ``--json``, else ``line``."""
    if args.json:
        _print_json(attrs.asdict(report))  # type: ignore[arg-type]
    else:
        print(line)


def _add_loop_options(
    parser: argparse.ArgumentParser, *, batch: int, idle: float, what: str, until: str
) -> None:
    """Add the options of a command that works in rounds until stopped: batch, idle, until-empty."""
    parser.add_argument(
        "--batch",
        type=_positive,
        default=batch,
        metavar="N",
        help=f"{what} per round (default: {batch})",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=idle,
        metavar="SECONDS",
        help=f"wait this long when nothing is {until} (default: {idle:g})",
    )
    parser.add_argument("--until-empty", action="store_true", help=f"stop once nothing is {until}")


def _status(line: str, *, quiet: bool = False) -> None:
    """Print a status line on stderr, unless ``quiet``."""
    if not quiet:
        print(line, file=sys.stderr)


# Bounds of "every case" and "every series": a day wider, in UTC, than the supported range
# (gridgov.clock) that every stored instant lies in.
_BEGINNING = FIRST_INSTANT.subtract(days=1)


_END = END_INSTANT.add(days=1)


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


def _projected(result: object) -> JSONValue:
    """Return a service result as the API gives it to a masked role, instants in Beijing time.

    The command prints what :func:`gridgov.projections.project` gives a platform: the same
    fields, masked as for a role without the full view of personal data.
    """
    return project(result, Redaction.MASKED, tz=_TZ)


def _fields(result: object) -> dict[str, JSONValue]:
    """Return the projection of a record (see :func:`_projected`), as a JSON object."""
    document = _projected(result)
    assert isinstance(document, dict)
    return document


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
    store = open_db(db, scheme=scenario.scheme)
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
    stored = stored_settings(uow)
    return scenario.catalogue if stored is None else stored.catalogue


def _policy(uow: UnitOfWork, scenario: Scenario) -> CarePolicy:
    """Return the store's care policy, else (loaded before stores kept one) the scenario's."""
    stored = stored_settings(uow)
    return scenario.policy if stored is None or stored.care_policy is None else stored.care_policy


def _workflow(uow: UnitOfWork, scenario: Scenario) -> CaseWorkflow:
    """Return the store's case rules, the scenario's calendar for a store that keeps none."""
    stored = stored_settings(uow)
    if stored is None:
        return scenario.workflow()
    calendar = stored.calendar or scenario.workflow().calendar
    return CaseWorkflow(calendar, stored.catalogue, stored.escalation)


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


class _Counted(Protocol):
    @property
    def provisional_years(self) -> tuple[int, ...]: ...


def _marked(result: _Counted) -> str:
    """Return `` 暂定`` for a time that rests on provisional holidays, else nothing."""
    return " 暂定" if result.provisional_years else ""


def _iso(instant: pendulum.DateTime) -> str:
    return instant.in_timezone(_TZ).isoformat()


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _missing(exc: ModuleNotFoundError, command: str) -> GridgovError:
    """Return the error for a command whose module, or a module it needs, is not installed."""
    return GridgovError(f"{command} needs the module {exc.name}, which this installation lacks")


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
