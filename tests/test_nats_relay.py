"""The relay against a real NATS JetStream: exactly once after de-duplication, in order per record.

Each test publishes under subjects and a stream of its own, deleted afterwards.
"""

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from gridgov import Store, open_store
from gridgov.outbox import StoredEvent
from gridgov.outbox.relay import Relay, message_of

nats = pytest.importorskip("nats", reason="nats-py is not installed (pip install 'gridgov[nats]')")

from gridgov.outbox.nats import NatsPublisher  # noqa: E402

AT = pendulum.datetime(2026, 12, 7, 9, tz="Asia/Shanghai")


@pytest.fixture
def names() -> tuple[str, str]:
    """Return a subject prefix and a stream name of this test's own."""
    tag = uuid.uuid4().hex[:10]
    return f"t{tag}", f"T{tag}"


@pytest.fixture
def outboxes() -> Iterator[Any]:
    """Return a maker of outbox stores (``_outbox``), each closed after the test."""
    made: list[Store] = []

    def make(path: Path, events: int, records: int) -> Store:
        made.append(_outbox(path, events, records))
        return made[-1]

    yield make
    for store in made:
        store.close()


def _outbox(path: Path, events: int, records: int) -> Store:
    """Return a SQLite store whose outbox holds ``events`` events of ``records`` cases."""
    store = open_store(f"sqlite:///{path}")
    numbers: dict[int, int] = {}
    batch: list[StoredEvent] = []
    for n in range(events):
        record = n % records
        numbers[record] = numbers.get(record, 0) + 1
        batch.append(
            StoredEvent(
                id=f"e{n:06d}",
                type="case.state_changed",
                aggregate="case",
                aggregate_id=f"c{record:04d}",
                sequence=numbers[record],
                cell_code="610102003006001",
                at=AT,
                data=f'{{"n": {n}}}',
                recorded=AT.add(microseconds=n),
            )
        )
    with store() as uow:
        uow.outbox.add_many(batch)
        uow.commit()
    return store


async def _read(url: str, stream: str, subject: str, expected: int) -> list[dict[str, Any]]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(subject, stream=stream)
        found: list[dict[str, Any]] = []
        while len(found) < expected:
            try:
                msgs = await sub.fetch(batch=1000, timeout=2)
            except (nats.errors.TimeoutError, TimeoutError):  # either, by the path taken
                break
            for m in msgs:
                found.append(json.loads(m.data))
                await m.ack()
        return found
    finally:
        await nc.close()


async def _drop(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await nc.close()


@pytest.fixture
def consumed(nats_url: str, names: tuple[str, str]) -> Iterator[Any]:
    """Return a reader of the test's stream; the stream is deleted after the test."""
    prefix, stream = names

    def read(expected: int, url: str = nats_url) -> list[dict[str, Any]]:
        return asyncio.run(_read(url, stream, f"{prefix}.>", expected))

    yield read
    asyncio.run(_drop(nats_url, stream))


def _check(events: list[dict[str, Any]], total: int) -> tuple[int, int, bool]:
    """Return the distinct events, the duplicates, and whether each record's came in order."""
    seen: set[str] = set()
    last: dict[str, int] = {}
    ordered = True
    for e in events:
        if e["id"] in seen:
            continue
        seen.add(e["id"])
        number = int(e["sequence"])
        ordered &= number == last.get(e["subject"], 0) + 1
        last[e["subject"]] = number
    return len(seen), len(events) - len(seen), ordered and len(seen) == total


def test_the_relay_delivers_every_event_once_in_order(
    nats_url: str, names: tuple[str, str], consumed: Any, outboxes: Any, tmp_path: Path
) -> None:
    """500 events of 20 cases: each once in the stream, each case's in order, none pending."""
    prefix, stream = names
    store = outboxes(tmp_path / "o.db", 500, 20)
    publisher = NatsPublisher(nats_url, stream=stream, subjects=(f"{prefix}.>",))
    try:
        report = Relay(store, publisher, subject_prefix=prefix, batch_size=64).run(until_empty=True)
    finally:
        publisher.close()
    with store() as uow:
        pending = uow.outbox.pending()
    assert (500, (), (500, 0, True)) == (report.published, pending, _check(consumed(500), 500))


def test_jetstream_drops_a_message_sent_again(
    nats_url: str, names: tuple[str, str], consumed: Any, outboxes: Any, tmp_path: Path
) -> None:
    """Events published again (a relay that died before marking them) are stored once."""
    prefix, stream = names
    store = outboxes(tmp_path / "o.db", 30, 3)
    publisher = NatsPublisher(nats_url, stream=stream, subjects=(f"{prefix}.>",))
    try:
        with store() as uow:
            messages = [message_of(e, prefix=prefix) for e in uow.outbox.pending()]
        twice = publisher.publish(messages) + publisher.publish(messages)
    finally:
        publisher.close()
    assert (60, (30, 0, True)) == (twice, _check(consumed(60), 30))


def test_an_unreachable_broker_is_a_clear_error() -> None:
    """A NATS URL nobody listens on: a StorageError naming it, not a client exception."""
    from gridgov.errors import StorageError

    with pytest.raises(StorageError) as info:
        NatsPublisher("nats://127.0.0.1:1", connect_timeout=1)
    assert "nats://127.0.0.1:1" in str(info.value)


def test_a_relay_killed_at_random_moments_loses_nothing(
    nats_url: str, names: tuple[str, str], consumed: Any, tmp_path: Path
) -> None:
    """10,000 events; ``gridgov relay`` SIGKILLed 20 times at random: each once, in order."""
    prefix, stream = names
    db = tmp_path / "o.db"
    _outbox(db, 10_000, 500).close()
    command = [
        sys.executable,
        "-m",
        "gridgov",
        "relay",
        "--db",
        f"sqlite:///{db}",
        "--nats",
        nats_url,
        "--prefix",
        prefix,
        "--stream",
        stream,
        "--batch",
        "50",
        "--until-empty",
    ]
    rng = random.Random(2043)
    for _ in range(20):
        # Killed once it has published a random number of events (up to 8 batches) since it
        # started: always mid-way, never after the last event.
        start = _pending(db)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        goal = start - rng.randint(1, 400)
        while _pending(db) > goal and process.poll() is None:
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.wait()
    left = _pending(db)
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert (True, 0, (10_000, 0, True)) == (
        0 < left < 10_000,
        finished.returncode,
        _check(consumed(10_000), 10_000),
    )


def _pending(db: Path) -> int:
    """Return how many events the relay has not marked published yet."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM gg_outbox WHERE published_utc IS NULL"
        ).fetchone()
    return int(count)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server(port: int, store_dir: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not os.access(binary, os.X_OK):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true requires nats-server on PATH for the broker restart test")
        pytest.skip("nats-server is not installed")
    process = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("nats-server did not start")


def test_a_broker_restart_in_the_middle_loses_nothing(
    nats_url: str, names: tuple[str, str], outboxes: Any, tmp_path: Path
) -> None:
    """A broker of the test's own stops and starts again mid-relay: every event once, in order."""
    prefix, stream = names
    port = _free_port()
    url = f"nats://127.0.0.1:{port}"
    server = _server(port, tmp_path / "js")
    store = outboxes(tmp_path / "o.db", 2_000, 100)
    publisher = NatsPublisher(url, stream=stream, subjects=(f"{prefix}.>",), timeout=1.0)
    relay = Relay(store, publisher, subject_prefix=prefix, batch_size=20, backoff=0.1)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(relay.run(until_empty=True)))
    try:
        worker.start()
        while True:  # a third published, then the broker goes away for a second
            with store() as uow:
                if len(uow.outbox.pending(limit=2_000)) < 1_400:
                    break
            time.sleep(0.01)
        server.terminate()
        server.wait()
        time.sleep(1)
        server = _server(port, tmp_path / "js")
        worker.join(timeout=120)
        events = asyncio.run(_read(url, stream, f"{prefix}.>", 2_000))
    finally:
        relay.stop()
        publisher.close()
        server.terminate()
        server.wait()
    assert (False, (2_000, 0, True)) == (worker.is_alive(), _check(events, 2_000))


def test_the_simulator_publishes_what_it_recorded(
    nats_url: str, names: tuple[str, str], consumed: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gridgov simulate --relay``: every event of two simulated days reaches the stream once."""
    from gridgov.cli import main

    prefix, stream = names
    argv = ["simulate", "minggong", "--from", "2026-11-23", "--days", "2", "--json"]
    code = main([*argv, "--relay", nats_url, "--stream", stream, "--prefix", prefix])
    published = json.loads(capsys.readouterr().out)["events_published"]
    distinct, duplicates, in_order = _check(consumed(published), published)
    assert (0, True, published, 0, True) == (
        code,
        published > 100,
        distinct,
        duplicates,
        in_order,
    )
