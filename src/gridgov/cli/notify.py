"""``gridgov notify``: send the store's due notifications through a log or a signed webhook."""

from __future__ import annotations

import argparse
import os

from gridgov.cli._common import (
    _add_loop_options,
    _missing,
    _print_report,
    _status,
    _stop_on_sigterm,
    default_db_url,
    open_db,
    safe_url,
)
from gridgov.errors import ValidationError
from gridgov.notify.notifier import Notifier, Transport
from gridgov.notify.transports import LogTransport, WebhookTransport

__all__ = ["SECRET_VARIABLE", "add_notify", "cmd_notify"]

SECRET_VARIABLE = "GRIDGOV_WEBHOOK_SECRET"
"""The environment variable holding the webhook's shared secret (never an option: ``ps``)."""


def _transport(args: argparse.Namespace) -> Transport:
    if args.log is not None:
        return LogTransport(args.log)
    secret = os.environ.get(SECRET_VARIABLE, "")
    if not secret:
        raise ValidationError(SECRET_VARIABLE, "set it to the webhook's shared secret")
    try:
        return WebhookTransport(args.webhook, secret)
    except ModuleNotFoundError as exc:
        raise _missing(exc, "gridgov notify --webhook") from None


def cmd_notify(args: argparse.Namespace) -> int:
    """Deliver notifications until stopped (SIGTERM, Ctrl-C) or, with ``--until-empty``, done."""
    transport = _transport(args)
    db = args.db or default_db_url()
    store = open_db(db)
    try:
        notifier = Notifier(store, transport, batch_size=args.batch)
        _stop_on_sigterm(notifier.stop)
        _status(f"notifying from {safe_url(db)}", quiet=args.json)
        report = notifier.run(until_empty=args.until_empty, idle=args.idle)
    finally:
        if isinstance(transport, WebhookTransport):
            transport.close()
        store.close()
    _print_report(
        args,
        report,
        f"sent {report.sent} messages: {report.delivered} delivered, {report.retried} to retry, "
        f"{report.failed} failed (workers told), {report.cancelled} cancelled",
    )
    return 0


def add_notify(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    db_help: str,
) -> None:
    """Add ``gridgov notify`` to the command's parser."""
    notify = commands.add_parser(
        "notify",
        parents=[output],
        help="send the store's due notifications (family, workers, supervisors, residents)",
        description="Send the notifications the store's policy asked for (the family of an "
        "elder nobody could reach, the worker of a follow-up, the supervisor of an escalated "
        "case, the resident promoted from a waitlist), record each attempt, retry with backoff, "
        "and tell the grid worker when a notification fails. --log FILE writes each message "
        "(the address masked) to a file and counts it delivered; --webhook URL posts it, signed "
        f"with the secret in ${SECRET_VARIABLE}, to an SMS or WeChat gateway (the notify extra: "
        "pip install 'gridgov[notify]'). Runs until SIGTERM or Ctrl-C, or until nothing is due "
        "with --until-empty.",
    )
    notify.add_argument("--db", metavar="URL", help=db_help)
    where = notify.add_mutually_exclusive_group(required=True)
    where.add_argument("--log", metavar="FILE", help="append each message to FILE, as JSON lines")
    where.add_argument("--webhook", metavar="URL", help="post each message, signed, to URL")
    _add_loop_options(notify, batch=50, idle=5.0, what="notifications", until="due")
    notify.set_defaults(handler=cmd_notify)
