"""The ``gridgov`` command: a thin layer over the library.

``gridgov demo`` loads a scenario (the Minggong example by default) into a store, a SQLite file
in the user's data directory unless ``--db`` or ``GRIDGOV_DB`` names another, and prints its
ledger summary per grid; a store that already holds the scenario is used as it is. Status lines go
to stderr, results to stdout. Errors print ``gridgov: error: <message>`` and exit with 2 for
invalid input, 1 for any other gridgov error; never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pendulum

from gridgov.bootstrap import open_store
from gridgov.clock import SystemClock
from gridgov.errors import GridgovError, NotFoundError, ValidationError
from gridgov.grid import GridLevel
from gridgov.households import Tag
from gridgov.ports import Store
from gridgov.scenarios import (
    GridSummary,
    Scenario,
    example_path,
    ledger_summary,
    load_scenario,
    populate,
    summary_total,
)

__all__ = ["default_db_url", "format_summary", "main"]

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


def _date(text: str) -> pendulum.Date:
    try:
        d = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a date as YYYY-MM-DD") from None
    return pendulum.Date(d.year, d.month, d.day)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridgov", description="Community grid governance (网格化治理) toolkit."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="load a scenario into memory and print its ledger summary per grid",
        description="Load a scenario (the Minggong example by default) into an in-memory store "
        "and print its ledger summary (台账汇总) per grid.",
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gridgov`` command.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` by default.

    Returns:
        The exit code: 0 on success, 2 for invalid input or usage, 1 for other errors.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error or the help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _demo(args.today, args.scenario, args.db or default_db_url())
    except ValidationError as exc:
        print(f"gridgov: error: {exc}", file=sys.stderr)
        return 2
    except GridgovError as exc:
        print(f"gridgov: error: {exc}", file=sys.stderr)
        return 1


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


def _demo(today: pendulum.Date | None, scenario_path: Path | None, db: str) -> int:
    path = scenario_path if scenario_path is not None else example_path()
    scenario = load_scenario(path, households=False)
    on = today or scenario.as_of or SystemClock().today()
    store = open_store(db, scheme=scenario.scheme)
    try:
        _load_unless_present(store, scenario, path, db)
        tree = scenario.tree()
        grids = tree.at_level(GridLevel.GRID) or tree.roots
        with store() as uow:
            summaries = ledger_summary(uow, grids, on)
    finally:
        store.close()
    print(format_summary(scenario.name, on, summaries))
    return 0


def _load_unless_present(store: Store, scenario: Scenario, path: Path, db: str) -> None:
    """Load the whole scenario unless the store already holds its cells."""
    top = scenario.tree().roots[0].code
    with store() as uow:
        try:
            uow.cells.get(top)
        except NotFoundError:
            pass
        else:
            print(f"using {scenario.name} already in {db}", file=sys.stderr)
            return
    report = populate(store, load_scenario(path))
    print(
        f"loaded {scenario.name} into {db}: {report.cells} cells, {report.workers} workers, "
        f"{report.households} households, {report.residents} residents",
        file=sys.stderr,
    )


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


def _width(text: str) -> int:
    """Return the terminal width of ``text``: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[str | int]]) -> str:
    """Lay out rows under a header: the first column left-aligned, the numbers right-aligned."""
    cells = [list(header), *[[str(x) for x in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [row[0] + " " * (widths[0] - _width(row[0]))]
        parts.extend(" " * (w - _width(x)) + x for x, w in zip(row[1:], widths[1:], strict=True))
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
