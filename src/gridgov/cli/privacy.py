"""``gridgov purge``: erase the personal data kept longer than the store's retention allows."""

from __future__ import annotations

import argparse

from gridgov.cli._common import _datetime, _instant, _print_report, default_db_url, open_db
from gridgov.services.retention import purge

__all__ = ["add_purge", "cmd_purge"]


def cmd_purge(args: argparse.Namespace) -> int:
    """Run the retention purge at ``--at`` and print what it erased."""
    at = _instant(args.at, "--at")
    store = open_db(args.db or default_db_url())
    try:
        report = purge(store, at)
    finally:
        store.close()
    _print_report(
        args,
        report,
        f"purged at {at.isoformat()}: {report.contact_notes} contact notes, "
        f"{report.case_reporters} closed cases' reporters",
    )
    return 0


def add_purge(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    db_help: str,
) -> None:
    """Add ``gridgov purge`` to the command's parser."""
    parser = commands.add_parser(
        "purge",
        parents=[output],
        help="erase the personal data kept longer than the store's retention allows",
        description="Erase the notes of contacts older than the retention (two years by "
        "default) and the reporter's name and phone of cases closed longer ago than it (one "
        "year), by the store's settings (Settings.retention). Idempotent and batched: run it "
        "daily.",
    )
    parser.add_argument("--db", metavar="URL", help=db_help)
    parser.add_argument(
        "--at",
        type=_datetime,
        required=True,
        metavar="ISO-DATETIME",
        help="the instant the retention is counted back from, with its UTC offset",
    )
    parser.set_defaults(handler=cmd_purge)
