"""``gridgov simulate``: the time-travel simulator over a scenario."""

from __future__ import annotations

import argparse

from gridgov.cli._common import (
    _missing,
    _print_json,
    _progress,
    _scenario_path,
    _table,
    open_db,
    safe_url,
)
from gridgov.errors import (
    ConflictError,
)
from gridgov.ports import Store
from gridgov.scenarios import (
    load_scenario,
)


def _cmd_simulate(args: argparse.Namespace) -> int:
    try:
        from gridgov.scenarios.simulate import simulate
    except ModuleNotFoundError as exc:
        raise _missing(exc, "gridgov simulate") from None

    scenario = load_scenario(_scenario_path(args.scenario))
    db = args.db or "memory://"
    store = open_db(db, scheme=scenario.scheme)
    try:
        with store() as uow:
            if len(uow.cells.tree()):
                raise ConflictError(
                    f"gridgov simulate needs an empty store; {safe_url(db)} holds data"
                )
        with _progress(args, "days", total=args.days) as bar:
            report = simulate(
                store, scenario, start=args.start, days=args.days, seed=args.seed, progress=bar
            )
        figures = report.figures()
        published = None if args.relay is None else _relay(store, args)
    finally:
        store.close()
    if args.json:
        _print_json(
            {
                "scenario": scenario.name,
                "store": safe_url(db),
                "start": args.start.isoformat(),
                "days": args.days,
                "seed": args.seed,
                "figures": figures,
                **({} if published is None else {"events_published": published}),
            }
        )
        return 0
    head = (
        f"{scenario.name}: 模拟 simulation of {args.days} days from {args.start.isoformat()} "
        f"(seed {args.seed})"
    )
    rows = [
        (key, f"{value:g}" if isinstance(value, float) else str(value))
        for key, value in figures.items()
    ]
    print(f"{head}\n{_table(('指标 figure', '值 value'), rows)}")
    if published is not None:
        print(f"published {published} events to {args.relay}")
    return 0


def _relay(store: Store, args: argparse.Namespace) -> int:
    """Publish the simulation's outbox to NATS JetStream; return how many events went."""
    try:
        from gridgov.outbox.nats import NatsPublisher
    except ModuleNotFoundError as exc:
        raise _missing(exc, "gridgov simulate --relay") from None
    from gridgov.outbox.relay import Relay

    publisher = NatsPublisher(args.relay, stream=args.stream, subjects=(f"{args.prefix}.>",))
    try:
        relay = Relay(store, publisher, subject_prefix=args.prefix, batch_size=500)
        return relay.run(until_empty=True).published
    finally:
        publisher.close()
