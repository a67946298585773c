"""``gridgov purge`` and ``gridgov rehash-ids``: retention, and the key of the ID digests."""

from __future__ import annotations

import argparse

import attrs

from gridgov.bootstrap import open_store
from gridgov.cli._common import _datetime, _instant, _print_report, default_db_url, open_db
from gridgov.errors import ValidationError
from gridgov.identity import ID_KEY_VARIABLE, IdKey, rehash_ids
from gridgov.services.retention import purge

__all__ = ["PREVIOUS_ID_KEY_VARIABLE", "add_purge", "add_rehash_ids", "cmd_purge", "cmd_rehash_ids"]

PREVIOUS_ID_KEY_VARIABLE = "GRIDGOV_PREVIOUS_ID_KEY"
"""The environment variable holding the key the stored digests were made under, when it rotates."""


@attrs.frozen
class Rehashed:
    """What ``gridgov rehash-ids`` did.

    Args:
        residents: The resident rows whose digest was written.
        key: The new key's fingerprint; ``None`` when the digests were cleared.
    """

    residents: int
    key: str | None


def cmd_rehash_ids(args: argparse.Namespace) -> int:
    """Recompute every ID digest under ``$GRIDGOV_ID_KEY`` (or clear them with ``--clear``)."""
    key = IdKey.from_environment()
    if key is None and not args.clear:
        raise ValidationError(
            ID_KEY_VARIABLE, "not set: give the new key (hex), or pass --clear to clear the digests"
        )
    # Opened under the key the digests were made with; refused (ConflictError) if it is not.
    previous = IdKey.from_environment(name=PREVIOUS_ID_KEY_VARIABLE)
    store = open_store(args.db or default_db_url(), id_key=previous or key)
    try:
        written = rehash_ids(store, None if args.clear else key)
    finally:
        store.close()
    report = Rehashed(written, None if key is None or args.clear else key.fingerprint)
    done = "cleared" if report.key is None else f"computed under the key {report.key}"
    _print_report(args, report, f"{written} residents' ID digests {done}")
    return 0


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


def add_rehash_ids(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    db_help: str,
) -> None:
    """Add ``gridgov rehash-ids`` to the command's parser."""
    parser = commands.add_parser(
        "rehash-ids",
        parents=[output],
        help="compute the ID digests under the deployment's key, or rotate the key",
        description=f"Recompute every resident's ID digest under the key in ${ID_KEY_VARIABLE} "
        "(hex): once a key is first configured, and when it rotates. To rotate, also give the "
        f"key the digests were made under in ${PREVIOUS_ID_KEY_VARIABLE}; every process writing "
        "the store must then get the new key. Keys are never options: they would land in the "
        "shell's history.",
    )
    parser.add_argument("--db", metavar="URL", help=db_help)
    parser.add_argument(
        "--clear", action="store_true", help="clear the digests instead (no key is then needed)"
    )
    parser.set_defaults(handler=cmd_rehash_ids)
