"""``gridgov import-ledger``: a community's ledger workbook into the store, with its report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gridgov.cli._common import _print_json, _status, default_db_url, open_db, safe_url
from gridgov.errors import GridgovError
from gridgov.ports import SharedId

if TYPE_CHECKING:  # the module needs the xlsx extra: imported when the command runs
    from gridgov.ledger import LedgerImport

__all__ = ["add_import_ledger", "cmd_import_ledger"]

_SHOWN = 20  # problems printed as text; --json and --report hold them all


def cmd_import_ledger(args: argparse.Namespace) -> int:
    """Import the workbook; print what changed, or the problems and exit 2."""
    try:
        import attrs

        from gridgov.ledger import ColumnMapping, import_ledger, load_mapping, write_report
    except ModuleNotFoundError:
        raise GridgovError(
            "gridgov import-ledger needs the xlsx extra: pip install 'gridgov[xlsx]'"
        ) from None
    mapping = load_mapping(args.mapping) if args.mapping else ColumnMapping()
    if args.cell:
        mapping = attrs.evolve(mapping, cell=args.cell)
    db = args.db or default_db_url()
    store = open_db(db)
    try:
        result = import_ledger(args.file, store, mapping=mapping, dry_run=args.dry_run)
    finally:
        store.close()
    if args.report:
        write_report(result, args.report, workbook=args.file)
    read = result.read
    if args.json:
        _print_json(
            {
                "file": Path(args.file).name,
                "sheets": [
                    {
                        "name": s.name,
                        "header_row": s.header_row,
                        "rows": s.rows,
                        "columns": dict(s.columns),
                        "ignored": list(s.ignored),
                    }
                    for s in read.sheets
                ],
                "skipped_sheets": list(read.skipped),
                "households": len(read.households),
                "residents": read.residents,
                "added": len(result.added),
                "changed": len(result.changed),
                "unchanged": result.unchanged,
                "stored": result.stored,
                "dry_run": result.dry_run,
                "problems": [
                    {
                        "sheet": p.sheet,
                        "row": p.row,
                        "column": p.column,
                        "field": p.field,
                        "problem": p.problem,
                    }
                    for p in result.problems
                ],
                "report": str(args.report) if args.report else None,
                **({"shared_ids": [_holders(s) for s in result.shared]} if result.shared else {}),
            }
        )
    else:
        _print_text(args, result, db)
    return 2 if result.problems else 0


def _print_text(args: argparse.Namespace, result: LedgerImport, db: str) -> None:
    read = result.read
    rows = sum(s.rows for s in read.sheets)
    sheets = ", ".join(f"{s.name} (header row {s.header_row})" for s in read.sheets)
    _say(f"read {Path(args.file).name}: {rows} rows on {sheets}")
    if read.skipped:
        _say(f"skipped sheets without a header row: {', '.join(read.skipped)}")
    if result.problems:
        _say(f"{len(result.problems)} problem(s); nothing stored:")
        for p in result.problems[:_SHOWN]:
            _say(f"  {p}")
        if len(result.problems) > _SHOWN:
            _say(f"  ... and {len(result.problems) - _SHOWN} more (see --report or --json)")
    else:
        how = "dry run, nothing stored" if result.dry_run else f"stored in {safe_url(db)}"
        _say(
            f"{len(read.households)} households, {read.residents} residents: "
            f"{len(result.added)} added, {len(result.changed)} changed, "
            f"{result.unchanged} unchanged ({how})"
        )
        for shared in result.shared[:_SHOWN]:
            where = ", ".join(
                f"{h.resident_id} in {h.household_id} ({h.cell_code})" for h in shared.holders
            )
            _say(f"  one ID number, held twice: {where}")
    if args.report:
        _status(f"report written to {args.report}")
    sys.stdout.flush()


def _holders(shared: SharedId) -> list[dict[str, str]]:
    return [
        {"household_id": h.household_id, "cell_code": h.cell_code, "resident_id": h.resident_id}
        for h in shared.holders
    ]


def _say(line: str) -> None:
    """Print a line with control characters escaped: sheet names come from the workbook."""
    print("".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in line))


def add_import_ledger(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    db_help: str,
) -> None:
    """Add ``gridgov import-ledger`` to the command's parser."""
    command = commands.add_parser(
        "import-ledger",
        parents=[output],
        help="import a community's ledger workbook (台账, .xlsx) into the store",
        description="Read the households and residents of a ledger workbook (headers in Chinese "
        "or English, found below titles and merged rows), check every row, and store them in "
        "one unit of work keyed by household id: a stored household the workbook holds as "
        "stored is not rewritten. A workbook with a problem in any row stores nothing; the "
        "problems name sheet, row and column, and --report writes them as a workbook with the "
        "faulty rows marked. Exits 2 when there are problems. Needs the xlsx extra: "
        "pip install 'gridgov[xlsx]'.",
    )
    command.add_argument("file", type=Path, metavar="FILE", help="the workbook (.xlsx, .xls, .ods)")
    command.add_argument(
        "--mapping", type=Path, metavar="FILE", help="a mapping file (TOML): headers to fields"
    )
    command.add_argument(
        "--cell", metavar="CODE", help="the cell (code or name) of rows that name none"
    )
    command.add_argument(
        "--dry-run", action="store_true", help="read and check, count the changes, store nothing"
    )
    command.add_argument(
        "--report",
        type=Path,
        metavar="OUT",
        help="write the problems and a copy of the workbook with its faulty rows marked (.xlsx)",
    )
    command.add_argument("--db", metavar="URL", help=db_help)
    command.set_defaults(handler=cmd_import_ledger)
