"""``gridgov grid split|merge|retire``: redraw the grid, keeping its history (grid_changes)."""

from __future__ import annotations

import argparse
import functools

import pendulum

from gridgov.bootstrap import open_store
from gridgov.cli._common import _date, _datetime, _instant, _print_json, default_db_url
from gridgov.clock import SystemClock
from gridgov.errors import ValidationError
from gridgov.grid import GridCell
from gridgov.ports import UnitOfWork
from gridgov.services.grid_changes import (
    GridChange,
    SplitPart,
    merge_cells,
    retire_cell,
    split_cell,
)
from gridgov.services.units import run_unit

__all__ = ["add_grid", "cmd_grid"]


def _new_cell(text: str, option: str, like: GridCell) -> tuple[GridCell, list[str]]:
    """Read ``CODE=NAME[:BUILDING,...]`` as a cell like ``like`` and the buildings it takes."""
    code, sep, rest = text.partition("=")
    name, _, buildings = rest.partition(":")
    if not sep or not code.strip() or not name.strip():
        raise ValidationError(option, "expected CODE=NAME or CODE=NAME:BUILDING,BUILDING,...")
    cell = GridCell(code.strip(), name.strip(), like.level, like.parent_code)
    return cell, [b.strip() for b in buildings.split(",") if b.strip()]


def _change(args: argparse.Namespace, at: pendulum.DateTime, uow: UnitOfWork) -> GridChange:
    first = uow.cells.get(args.codes[0])
    if args.action == "split":
        if len(args.codes) != 1:
            raise ValidationError("codes", "a split takes one cell")
        parts = [SplitPart(*_new_cell(t, f"--into[{i}]", first)) for i, t in enumerate(args.into)]
        return split_cell(uow, first.code, into=parts, on=args.on, at=at, actor=args.actor)
    if args.action == "merge":
        if len(args.into) != 1:
            raise ValidationError("--into", "a merge makes one cell: give --into once")
        into, _ = _new_cell(args.into[0], "--into", first)
        return merge_cells(uow, args.codes, into=into, on=args.on, at=at, actor=args.actor)
    if len(args.codes) != 1 or args.into:
        raise ValidationError("codes", "a retirement takes one cell and no --into")
    return retire_cell(uow, first.code, on=args.on, at=at, actor=args.actor)


def cmd_grid(args: argparse.Namespace) -> int:
    """Make the change in one unit of work; print what it did (codes and ids only)."""
    at = _instant(args.at, "--at") if args.at else SystemClock().now()
    store = open_store(args.db or default_db_url())
    try:
        change = run_unit(store, functools.partial(_change, args, at))
    finally:
        store.close()
    retired = [c.code for c in change.retired]
    created = [c.code for c in change.created]
    tasks = sum(len(m.tasks) for m in change.moves) + len(change.tasks)
    registrations = sum(len(m.registrations) for m in change.moves)
    if args.json:
        _print_json(
            {
                "retired": retired,
                "created": created,
                "households": len(change.moves),
                "tasks": tasks,
                "registrations": registrations,
                "cases": [c.id for c in change.cases],
                "workers": list(change.workers),
                "unstaffed": list(change.unstaffed),
                "venues": list(change.venues),
            }
        )
        return 0
    print(f"{args.action} from {args.on}: retired {', '.join(retired)}")
    if created:
        print(f"created {', '.join(created)}")
    print(
        f"moved {len(change.moves)} households with {tasks} open care tasks and "
        f"{registrations} registrations; {len(change.cases)} open cases handed on"
    )
    if change.workers:
        print(f"assignments ended: {', '.join(change.workers)}")
    if change.venues:
        print(f"venues moved: {', '.join(change.venues)}")
    if change.unstaffed:
        print(f"no worker assigned yet: {', '.join(change.unstaffed)}")
    return 0


def add_grid(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    db_help: str,
) -> None:
    """Add ``gridgov grid split|merge|retire`` to the command's parser."""
    parser = commands.add_parser(
        "grid",
        parents=[output],
        help="split, merge or retire cells, keeping their history",
        description="Split a cell, merge sibling cells or retire a cell from a day. The old "
        "cells stay stored with their last day; households move to the new cells with their "
        "open work, open cases pass to the successor, workers' assignments to the old cells "
        "end (docs/grid.md).",
    )
    parser.add_argument("action", choices=("split", "merge", "retire"), help="the change")
    parser.add_argument("codes", nargs="+", metavar="CODE", help="the cell (cells to merge)")
    parser.add_argument(
        "--into",
        action="append",
        default=[],
        metavar="CODE=NAME[:BUILDING,...]",
        help="a new cell; for a split, once per part with the building cell codes or household "
        "address lines it takes",
    )
    parser.add_argument(
        "--on", type=_date, required=True, metavar="YYYY-MM-DD", help="the new cells' first day"
    )
    parser.add_argument(
        "--at",
        type=_datetime,
        metavar="ISO-DATETIME",
        help="when the change is recorded, with its UTC offset (default: now)",
    )
    parser.add_argument("--actor", default="cli", metavar="ID", help="who makes it (audit trail)")
    parser.add_argument("--db", metavar="URL", help=db_help)
    parser.set_defaults(handler=cmd_grid)
