"""``gridgov export xlsx``: the ledger, worklists, coverage and case KPIs as one styled workbook.

It takes the path of every ``gridgov export``: who acts (``--as-worker``), a masked export
unless ``--full`` by a role allowed the full view (recorded in the audit trail), and the acting
worker's scope only, read through their scoped unit of work.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum

from gridgov.access import Principal
from gridgov.cli._common import (
    _date,
    _day,
    _ledger,
    _names,
    _nine,
    _policy,
    _print_json,
    _status,
)
from gridgov.cli.export import _redaction, acting
from gridgov.errors import GridgovError, ValidationError
from gridgov.grid import GridLevel, GridTree
from gridgov.households import Household
from gridgov.ports import Page, UnitOfWork
from gridgov.services._common import pages
from gridgov.services.access import StoreAuditSink
from gridgov.services.care import Worklist, coverage, worklist
from gridgov.services.kpis import case_kpis
from gridgov.services.scoped import scoped

__all__ = ["PARTS", "add_export_xlsx"]

PARTS = ("ledger", "worklists", "coverage", "kpis")
"""The parts a workbook may hold; the ledger is two sheets, households and residents."""


def _parts(text: str) -> tuple[str, ...]:
    wanted = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in wanted if p not in PARTS]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"a comma-separated list of {', '.join(PARTS)}")
    return wanted


class _Households:
    """The households of the tree's roots, read page by page each time they are iterated."""

    def __init__(self, uow: UnitOfWork, tree: GridTree) -> None:
        self._uow, self._roots = uow, [r.code for r in tree.roots]

    def __iter__(self) -> Iterator[Household]:
        for root in self._roots:
            yield from pages(self._page(root))

    def _page(self, root: str) -> Callable[[str | None], Page[Household]]:
        def fetch(after: str | None) -> Page[Household]:
            return self._uow.households.in_subtree(root, after=after)

        return fetch


def _cmd_export_xlsx(args: argparse.Namespace) -> int:
    from gridgov.report.figures import CASE_DAYS  # the report's case period, as the report's

    try:
        from gridgov import ledger
    except ModuleNotFoundError:
        raise GridgovError(
            "gridgov export xlsx needs the xlsx extra: pip install 'gridgov[xlsx]'"
        ) from None
    out: Path | None = args.out
    if out is None:
        raise ValidationError("--out", "a workbook is written to a file: give --out FILE.xlsx")
    with _ledger(args) as (scenario, store, tree):
        principal = acting(args, store)
        redaction = _redaction(args, store, "xlsx", principal)
        on = _day(args.on, scenario)
        until = pendulum.datetime(on.year, on.month, on.day, tz="Asia/Shanghai").add(days=1)
        names = _names(tree)
        grids = [
            g.code
            for g in (tree.at_level(GridLevel.GRID) or tree.roots)
            if principal is None or principal.covers(g.code)
        ]
        with store() as unscoped:
            # What the worker reads is their scope, redacted as their role allows; figures
            # are counted on the whole store (a scope narrows what is seen, not what counts).
            uow: UnitOfWork = (
                unscoped
                if principal is None
                else scoped(unscoped, principal, audit=StoreAuditSink(store))
            )
            sheets: list[ledger.Sheet] = []
            for part in args.sheets:
                if part == "ledger":
                    sheets += ledger.ledger_sheets(_Households(uow, tree), redaction=redaction)
                elif part == "worklists":
                    work = _worklists(uow, unscoped, principal, on)
                    sheets.append(ledger.worklist_sheet(work, redaction=redaction))
                elif part == "coverage":
                    policy = _policy(unscoped, scenario)
                    found = (
                        coverage(
                            unscoped,
                            code,
                            start=on.start_of("month"),
                            end=on.add(days=1),
                            policy=policy,
                        )
                        for code in grids
                    )
                    sheets.append(ledger.coverage_sheet(found, names))
                else:
                    since = until.subtract(days=CASE_DAYS)
                    figures = {
                        code: case_kpis(unscoped, code, since=since, until=until).total
                        for code in grids
                    }
                    sheets.append(ledger.case_kpi_sheet(figures, names))
            counts = ledger.write_workbook(out, sheets)
    if args.json:
        _print_json(
            {
                "format": "xlsx",
                "out": str(out),
                "sheets": counts,
                "redaction": redaction.value,
            }
        )
    else:
        rows = ", ".join(f"{title}: {n}" for title, n in counts.items())
        _status(f"wrote {len(counts)} sheets to {out} ({rows} rows)")
    return 0


def _worklists(
    uow: UnitOfWork, unscoped: UnitOfWork, principal: Principal | None, on: pendulum.Date
) -> Iterator[Worklist]:
    """Yield the day's worklist of each worker whose cells all lie in the principal's scope."""
    now = _nine(on)
    for worker in pages(lambda after: unscoped.workers.list(after=after)):
        cells = worker.cells_on(on)
        if not cells or (principal is not None and not all(map(principal.covers, cells))):
            continue
        work = worklist(uow, worker.id, on=on, now=now)
        if work.stops:
            yield work


def add_export_xlsx(
    formats: argparse._SubParsersAction[argparse.ArgumentParser],
    exported: argparse.ArgumentParser,
) -> None:
    """Add ``gridgov export xlsx`` to the export command's formats."""
    command = formats.add_parser(
        "xlsx",
        parents=[exported],
        help="the ledger, worklists, coverage and case KPIs as a styled workbook",
        description="Write a workbook (.xlsx, to --out): the ledger as a households and a "
        "residents sheet whose headers `gridgov import-ledger` reads back, each grid worker's "
        "worklist of the day building by building, and per grid the month's visiting coverage "
        "and the case KPIs of the 90 days up to the day. Frozen bold headers, drop-down lists "
        "for tags, dates as dates; no cell runs as a formula. Needs the xlsx extra: "
        "pip install 'gridgov[xlsx]'.",
    )
    command.add_argument(
        "--sheets",
        type=_parts,
        default=PARTS,
        metavar="PARTS",
        help=f"what to write, comma-separated: {', '.join(PARTS)} (default: all)",
    )
    command.add_argument(
        "--on",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the day of the worklists and figures (default: the scenario's as_of, else today)",
    )
    command.set_defaults(handler=_cmd_export_xlsx)
