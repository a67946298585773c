"""The example consumer (examples/events) counts, from JetStream alone, what the store says."""

from __future__ import annotations

import asyncio
import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest

from gridgov import GridCell, GridLevel, Store, open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import Action, CaseRole, CaseSource, CaseWorkflow
from gridgov.ports import UnitOfWork
from gridgov.services._common import pages
from gridgov.services.cases import EscalationEngine, act_on_case, report_case

pytest.importorskip("nats", reason="nats-py is not installed (pip install 'gridgov[nats]')")

from gridgov.outbox.nats import NatsPublisher
from gridgov.outbox.relay import Relay

CONSUMER = Path(__file__).resolve().parents[1] / "examples" / "events" / "consumer.py"
AT = pendulum.datetime(2026, 11, 27, 9, tz="Asia/Shanghai")
STREETS = ("610102003", "610102004")
WORKFLOW = CaseWorkflow(WorkCalendar.china())


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("gridgov_consumer_example", CONSUMER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Return a SQLite store of two streets with 24 cases, a third rejected, the rest swept."""
    s = open_store(f"sqlite:///{tmp_path}/c.db")
    with s() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        for street in STREETS:
            uow.cells.add(GridCell(street, f"街道{street}", GridLevel.STREET, "610102"))
            uow.cells.add(GridCell(f"{street}001", "社区", GridLevel.COMMUNITY, street))
            uow.cells.add(GridCell(f"{street}001001", "网格", GridLevel.GRID, f"{street}001"))
        uow.commit()
    for n in range(24):
        with s() as uow:
            case = report_case(
                uow,
                WORKFLOW,
                category="complaint",
                source=CaseSource.PATROL,
                cell_code=f"{STREETS[n % 2]}001001",
                description="楼道堆物",
                at=AT.add(minutes=n),
                actor="w1",
            ).case
            if n % 3 == 0:
                act_on_case(
                    uow,
                    WORKFLOW,
                    case.id,
                    Action.REJECT,
                    actor="d",
                    role=CaseRole.DISPATCHER,
                    at=AT.add(minutes=n, seconds=30),
                    note="重复上报",
                )
            uow.commit()
    EscalationEngine(s, WORKFLOW).sweep(AT.add(days=3))
    yield s
    s.close()


def test_the_consumer_counts_open_cases_per_street_as_the_store_does(
    store: Store, nats_url: str
) -> None:
    """Relayed to JetStream and consumed by the example: open cases per street equal the store's."""
    tag = uuid.uuid4().hex[:10]
    prefix, stream = f"t{tag}", f"T{tag}"
    publisher = NatsPublisher(nats_url, stream=stream, subjects=(f"{prefix}.>",))
    try:
        Relay(store, publisher, subject_prefix=prefix).run(until_empty=True)
    finally:
        publisher.close()
    example = _example()
    projection = example.OpenCasesPerStreet()
    try:
        read = asyncio.run(example.consume(nats_url, stream, prefix, projection, wait=1.0))
    finally:
        asyncio.run(_drop(nats_url, stream))
    with store() as uow:
        expected = {street: _open(uow, street) for street in STREETS}
    assert (True, expected) == (read > 24, projection.counts())


def _open(uow: UnitOfWork, street: str) -> int:
    return len(list(pages(lambda a: uow.cases.open_in_subtree(street, after=a))))


async def _drop(url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def test_the_consumer_drops_a_repeated_event_and_refuses_a_gap() -> None:
    """An event seen before is counted as a duplicate; a skipped number is an error."""
    projection = _example().OpenCasesPerStreet()
    reported = {
        "aggregate": "case",
        "aggregateid": "c1",
        "sequence": "000000000001",
        "type": "gridgov.case.reported",
        "cellcode": "610102003001001",
        "data": {},
    }
    projection.apply(reported)
    projection.apply(reported)
    with pytest.raises(ValueError, match="event 3 came after 1"):
        projection.apply(reported | {"sequence": "000000000003"})
    assert ({"610102003": 1}, 1) == (projection.counts(), projection.duplicates)
