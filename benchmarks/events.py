"""The outbox's cost on a bulk case import, and the relay against a bare nats-py publish loop.

Run: ``python -m benchmarks.events [--requests 2000] [--events 5000] [--postgres URL]
[--nats URL] [--runs 3]``

Measured in one run:

- **Outbox cost**: ``import_requests`` of ``--requests`` Open311 requests into a fresh store
  (SQLite file; PostgreSQL with ``--postgres``), committed, with the outbox as it is (the
  import's events recorded in its unit of work) and without it (``record_events`` replaced by a
  no-op for the baseline). Target: at most 1.15x.
- **Relay throughput** (with ``--nats``): ``--events`` events in a SQLite outbox published by
  ``Relay`` through ``NatsPublisher`` (read, publish with an acknowledgement each, mark), against
  a bare loop of ``js.publish`` awaiting each acknowledgement, of the same messages. Target: the
  relay at least 0.5x the bare loop's events per second.

Each figure is the best of ``--runs``; each run uses a stream and a store of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pendulum

from benchmarks._population import cells
from gridgov.bootstrap import open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import CaseWorkflow
from gridgov.grid import GridLevel
from gridgov.interop.open311 import import_requests
from gridgov.outbox import StoredEvent
from gridgov.outbox.relay import Relay, message_of
from gridgov.ports import Store

NOW = pendulum.datetime(2026, 12, 7, 9, tz="Asia/Shanghai")
WORKFLOW = CaseWorkflow(WorkCalendar.china())


def _store(url: str) -> Store:
    store = open_store(url)
    with store() as uow:
        for cell in cells():
            uow.cells.add(cell)
        uow.commit()
    return store


def _import(store: Store, count: int) -> float:
    grids = [c.code for c in cells() if c.level is GridLevel.GRID]
    requests = [
        {"service_code": "complaint", "description": f"楼道堆物 {n}", "address_string": "1号楼"}
        for n in range(count)
    ]
    where = iter(grids * (count // len(grids) + 1))
    began = time.perf_counter()
    with store() as uow:
        import_requests(
            uow, WORKFLOW, requests, cell_for=lambda _r: next(where), at=NOW, actor="w1"
        )
        uow.commit()
    return time.perf_counter() - began


@contextlib.contextmanager
def _without_outbox() -> Iterator[None]:
    cases = mock.patch("gridgov.services.cases.record_events", return_value=())
    with cases, mock.patch("gridgov.interop.open311.record_events", return_value=()):
        yield


def outbox_cost(make_url: Callable[[], str], count: int, runs: int) -> tuple[float, float]:
    """Return the best import seconds with the outbox and without it."""
    with_outbox: list[float] = []
    without: list[float] = []
    for _ in range(runs):
        for kept in (True, False):
            store = _store(make_url())
            try:
                if kept:
                    with_outbox.append(_import(store, count))
                else:
                    with _without_outbox():
                        without.append(_import(store, count))
            finally:
                store.close()
    return min(with_outbox), min(without)


def _events(path: Path, count: int) -> Store:
    store = open_store(f"sqlite:///{path}")
    with store() as uow:
        uow.outbox.add_many(
            StoredEvent(
                id=f"e{n:07d}",
                type="case.state_changed",
                aggregate="case",
                aggregate_id=f"c{n % 500:04d}",
                sequence=n // 500 + 1,
                cell_code="610102003006001",
                at=NOW,
                data=f'{{"case_id": "c{n % 500:04d}", "n": {n}}}',
                recorded=NOW.add(microseconds=n),
            )
            for n in range(count)
        )
        uow.commit()
    return store


async def _bare(url: str, stream: str, prefix: str, messages: list[object]) -> float:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[f"{prefix}.>"])
    began = time.perf_counter()
    for m in messages:
        await js.publish(m.subject, m.data, headers={**m.headers, "Nats-Msg-Id": m.id})  # type: ignore[attr-defined]
    seconds = time.perf_counter() - began
    await js.delete_stream(stream)
    await nc.close()
    return seconds


async def _drop(url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(url)
    await nc.jetstream().delete_stream(stream)
    await nc.close()


def relay_throughput(url: str, count: int, runs: int, workdir: Path) -> tuple[float, float]:
    """Return the best seconds of the relay and of the bare loop for ``count`` events."""
    from gridgov.outbox.nats import NatsPublisher

    relay_times: list[float] = []
    bare_times: list[float] = []
    for run in range(runs):
        tag = uuid.uuid4().hex[:8]
        store = _events(workdir / f"relay{run}.db", count)
        with store() as uow:
            messages: list[object] = [
                message_of(e, prefix=f"b{tag}") for e in uow.outbox.pending(limit=count)
            ]
        bare_times.append(asyncio.run(_bare(url, f"B{tag}", f"b{tag}", messages)))
        publisher = NatsPublisher(url, stream=f"R{tag}", subjects=(f"r{tag}.>",))
        began = time.perf_counter()
        Relay(store, publisher, subject_prefix=f"r{tag}", batch_size=500).run(until_empty=True)
        relay_times.append(time.perf_counter() - began)
        publisher.close()
        store.close()
        asyncio.run(_drop(url, f"R{tag}"))
    return min(relay_times), min(bare_times)


def main(argv: list[str] | None = None) -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a schema per run is made)")
    parser.add_argument("--nats", help="a NATS URL with JetStream, e.g. nats://127.0.0.1:4222")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        urls = {"SQLite": lambda: f"sqlite:///{workdir}/{uuid.uuid4().hex}.db"}
        if args.postgres:
            urls["PostgreSQL"] = lambda: f"{args.postgres}?schema=gg_bench_{uuid.uuid4().hex[:10]}"
        print(f"import of {args.requests} Open311 requests, best of {args.runs}:")
        for name, make in urls.items():
            kept, without = outbox_cost(make, args.requests, args.runs)
            print(
                f"  {name:<10} with outbox {kept:6.2f} s, without {without:6.2f} s: "
                f"{kept / without:.2f}x (target <= 1.15x)"
            )
        if args.nats:
            relay, bare = relay_throughput(args.nats, args.events, args.runs, workdir)
            print(f"relay of {args.events} events to JetStream, best of {args.runs}:")
            print(
                f"  relay {args.events / relay:8.0f} events/s, bare nats-py loop "
                f"{args.events / bare:8.0f} events/s: {bare / relay:.2f}x (target >= 0.5x)"
            )


if __name__ == "__main__":
    main()
