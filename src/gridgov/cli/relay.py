"""``gridgov relay``: publish a store's outbox to NATS JetStream."""

from __future__ import annotations

import argparse

import pendulum

from gridgov.cli._common import (
    _add_loop_options,
    _missing,
    _positive,
    _print_report,
    _status,
    _stop_on_sigterm,
    default_db_url,
    open_db,
    safe_url,
)
from gridgov.outbox.relay import Relay

__all__ = ["cmd_relay"]


def cmd_relay(args: argparse.Namespace) -> int:
    """Relay the outbox until stopped (SIGTERM, Ctrl-C) or, with ``--until-empty``, drained."""
    try:
        from gridgov.outbox.nats import NatsPublisher
    except ModuleNotFoundError as exc:
        raise _missing(exc, "gridgov relay") from None

    db = args.db or default_db_url()
    store = open_db(db)
    try:
        publisher = NatsPublisher(args.nats, stream=args.stream, subjects=(f"{args.prefix}.>",))
        try:
            relay = Relay(
                store,
                publisher,
                source=args.source,
                subject_prefix=args.prefix,
                batch_size=args.batch,
                retention=pendulum.duration(hours=args.retention_hours),
            )

            _stop_on_sigterm(relay.stop)
            _status(f"relaying {safe_url(db)} to {args.nats}", quiet=args.json)
            report = relay.run(until_empty=args.until_empty, idle=args.idle)
        finally:
            publisher.close()
    finally:
        store.close()
    _print_report(
        args,
        report,
        f"published {report.published} events in {report.batches} batches "
        f"({report.failures} failures retried, {report.pruned} pruned)",
    )
    return 0


def add_relay(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    output: argparse.ArgumentParser,
    db_help: str,
) -> None:
    """Add ``gridgov relay`` to the command's parser."""
    relay = commands.add_parser(
        "relay",
        parents=[output],
        help="publish the store's outbox (its domain events) to NATS JetStream",
        description="Read the events the store's outbox holds, in order, publish them as "
        "CloudEvents to NATS JetStream (subjects PREFIX.<type>.<cell code>, the event id as "
        "Nats-Msg-Id) and mark them published; retry a broker that is down with backoff; prune "
        "published events after the retention. Runs until SIGTERM or Ctrl-C, or until nothing "
        "is pending with --until-empty. Needs the nats extra: pip install 'gridgov[nats]'.",
    )
    relay.add_argument("--db", metavar="URL", help=db_help)
    relay.add_argument(
        "--nats",
        default="nats://127.0.0.1:4222",
        metavar="URL",
        help="the NATS server (default: nats://127.0.0.1:4222)",
    )
    relay.add_argument(
        "--stream",
        default="GRIDGOV",
        metavar="NAME",
        help="the JetStream stream created for PREFIX.> if none holds it (default: GRIDGOV)",
    )
    relay.add_argument(
        "--prefix", default="gridgov", metavar="PREFIX", help="the subjects' first token"
    )
    relay.add_argument(
        "--source",
        default="urn:gridgov",
        metavar="URI",
        help="the CloudEvents source naming this deployment (default: urn:gridgov)",
    )
    relay.add_argument(
        "--retention-hours",
        type=_positive,
        default=168,
        metavar="H",
        help="keep published events this long (default: 168, a week)",
    )
    _add_loop_options(relay, batch=100, idle=0.5, what="events", until="pending")
    relay.set_defaults(handler=cmd_relay)
