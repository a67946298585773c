"""The example web service (examples/service/app.py) over real HTTP, on SQLite and PostgreSQL.

Each store is loaded with Minggong once for the module; the service runs under uvicorn in a
thread of this process, on a free loopback port, with a clock standing at 2026-11-28 09:00.
Tests use residents and keys of their own, so that they do not see each other's writes.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pendulum
import pytest

fastapi = pytest.importorskip("fastapi", reason="the example service needs the dev extra")
httpx = pytest.importorskip("httpx", reason="the example service needs the dev extra")
uvicorn = pytest.importorskip("uvicorn", reason="the example service needs the dev extra")

from gridgov import Assignment, Store, Worker, WorkerRole, open_store  # noqa: E402
from gridgov.access import Redaction, principal_for_worker  # noqa: E402
from gridgov.problems import PROBLEM_MEDIA_TYPE  # noqa: E402
from gridgov.projections import project  # noqa: E402
from gridgov.scenarios import Scenario, example_path, load_scenario, populate  # noqa: E402
from gridgov.scheduling.registrations import Occupancy  # noqa: E402
from gridgov.scheduling.series import occurrence_id  # noqa: E402
from gridgov.services.care import worklist  # noqa: E402
from gridgov.testing import ManualClock  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "examples" / "service" / "app.py"
TZ = "Asia/Shanghai"
MORNING = pendulum.datetime(2026, 11, 28, 9, tz=TZ)
STREET, COMMUNITY = "610102003", "610102003006"
GRIDS = [f"{COMMUNITY}00{n}" for n in range(1, 8)]
CLINIC = occurrence_id("science-day-clinic", pendulum.datetime(2026, 12, 2, 14, 30, tz=TZ))
READING = occurrence_id("picture-books", pendulum.datetime(2026, 12, 5, 10, tz=TZ))


def _create_app() -> Callable[..., Any]:
    """Return ``create_app`` of the example, imported from its file."""
    spec = importlib.util.spec_from_file_location("gridgov_service_example", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    create: Callable[..., Any] = module.create_app
    return create


@dataclass
class Service:
    """The running service: its base URL, its clock and its store (to check what it wrote)."""

    url: str
    clock: ManualClock
    store: Store

    def client(self) -> Any:
        """Return a new HTTP client of the service."""
        return httpx.Client(base_url=self.url, timeout=60)


@pytest.fixture(scope="module")
def minggong() -> Scenario:
    """Return the Minggong example."""
    return load_scenario(example_path())


def _serve(app: Any) -> tuple[Any, threading.Thread, str]:
    """Start uvicorn with ``app`` on a free loopback port, in a thread; return it and its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, minggong: Scenario, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """Return the service over Minggong, loaded once per store for the module."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('service') / 'minggong.db'}"
    else:
        server_url = request.getfixturevalue("postgres_url")
        schema = f"gridgov_service_{uuid.uuid4().hex[:12]}"
        url = f"{server_url}?schema={schema}"
    store = open_store(url, scheme=minggong.scheme)
    try:
        populate(store, minggong)
        clock = ManualClock(MORNING)
        server, thread, base = _serve(_create_app()(url, clock))
        try:
            yield Service(base, clock, store)
        finally:
            server.should_exit = True
            thread.join(30)
    finally:
        store.close()
        if schema is not None:
            import psycopg

            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _at_once(service: Service, count: int, send: Callable[[Any, int], Any]) -> list[Any]:
    """Send ``count`` requests from as many clients, released together; return the responses."""
    ready = threading.Barrier(count)

    def one(i: int) -> Any:
        with service.client() as client:
            ready.wait()
            return send(client, i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def _residents(service: Service, cell: str, count: int, *, min_age: int = 0) -> list[str]:
    """Return ``count`` residents of a cell, of at least ``min_age``, registered for nothing."""
    found: list[str] = []
    with service.store() as uow:
        entries = uow.households.aged(on=MORNING.date(), min_age=min_age, within=cell, limit=500)
        for entry in entries.items:
            window = {"start": MORNING, "end": MORNING.add(days=30)}
            if not uow.registrations.for_resident(entry.resident.id, **window):
                found.append(entry.resident.id)
    assert len(found) >= count
    return found[:count]


def _problem(response: Any) -> tuple[int, str, str, str | None]:
    """Return a problem response's status, media type, problem type and path."""
    body = response.json()
    return (
        response.status_code,
        response.headers["content-type"],
        body["type"],
        body.get("path"),
    )


def test_a_grid_worker_gets_their_worklist_as_the_library_projects_it(service: Service) -> None:
    """grid-01's worklist for the day, in full for the grid worker: the library's projection."""
    with service.client() as client:
        response = client.get("/workers/grid-01/worklist", params={"on": "2026-11-28"})
    with service.store() as uow:
        work = worklist(uow, "grid-01", on=MORNING.date(), now=MORNING)
        expected = project(work, principal_for_worker(uow, "grid-01", on=MORNING.date()), tz=TZ)
    assert (200, expected) == (response.status_code, response.json())
    assert len(work) > 0


def test_a_supervisor_gets_the_worklist_masked(service: Service) -> None:
    """A street supervisor's worklist masks names, ID and phone numbers: redacted by role."""
    with service.store() as uow:
        if "street-01" not in {w.id for w in uow.workers.list().items}:
            since = pendulum.Date(2026, 1, 1)
            roles = {WorkerRole.STREET_SUPERVISOR}
            uow.workers.add(Worker("street-01", "王强", roles, [Assignment(STREET, since)]))
            uow.commit()
    with service.client() as client:
        response = client.get("/workers/street-01/worklist")
    with service.store() as uow:
        work = worklist(uow, "street-01", on=MORNING.date(), now=MORNING)
    expected = project(work, Redaction.MASKED, tz=TZ)
    actual = response.json()
    phones = {
        e["resident"]["phone"]
        for s in actual["stops"]
        for h in s["households"]
        for e in h["entries"]
    }
    assert (200, expected) == (response.status_code, actual)
    assert all(p is None or "****" in p for p in phones)
    assert phones != {None}


def test_errors_are_problem_documents_with_their_status(service: Service) -> None:
    """Unknown worker, bad day, bad body, unknown occurrence, full-view refusal: RFC 9457."""
    with service.client() as client:
        responses = [
            client.get("/workers/grid-99/worklist"),
            client.get("/workers/grid-01/worklist", params={"on": "28/11/2026"}),
            client.post("/workers/grid-01/contacts", json={"method": "fax"}),
            client.post("/workers/grid-01/contacts", content=b"{", headers=_JSON),
            client.post(f"/workers/grid-01/occurrences/{CLINIC}x/registrations", json=_SOMEONE),
            client.post(
                f"/workers/grid-01/occurrences/{READING}/registrations",
                json={"resident_id": _residents(service, GRIDS[1], 1)[0]},
            ),
        ]
    problem = PROBLEM_MEDIA_TYPE
    assert [
        (404, problem, "urn:gridgov:problem:not-found", None),
        (422, problem, "urn:gridgov:problem:validation", "on"),
        (422, problem, "urn:gridgov:problem:validation", "resident_id"),
        (422, problem, "urn:gridgov:problem:validation", "body"),
        (422, problem, "urn:gridgov:problem:validation", "occurrence_id"),
        (403, problem, "urn:gridgov:problem:access-denied", None),
    ] == [_problem(r) for r in responses]


_JSON = {"content-type": "application/json"}
_SOMEONE = {"resident_id": "h000001-1"}


def test_the_full_clinic_waitlists_whoever_registers_at_once(service: Service) -> None:
    """Eight elders of grid-01 registering at once for the full clinic: all waitlisted, 20 kept."""
    elders = _residents(service, GRIDS[0], 8, min_age=60)
    responses = _at_once(
        service,
        len(elders),
        lambda client, i: client.post(
            f"/workers/grid-01/occurrences/{CLINIC}/registrations",
            json={"resident_id": elders[i]},
        ),
    )
    with service.store() as uow:
        occupancy = uow.registrations.occupancy(CLINIC)
    assert [(201, "waitlisted")] * 8 == [(r.status_code, r.json()["state"]) for r in responses]
    assert Occupancy(taken=20, waiting=14) == occupancy


def test_a_reading_filled_at_once_confirms_its_places_and_no_more(service: Service) -> None:
    """24 residents of four grids, each through their grid worker, at once: 15 places, 9 wait."""
    who = [(f"grid-0{g + 1}", r) for g in range(4) for r in _residents(service, GRIDS[g], 6)]
    responses = _at_once(
        service,
        len(who),
        lambda client, i: client.post(
            f"/workers/{who[i][0]}/occurrences/{READING}/registrations",
            json={"resident_id": who[i][1]},
        ),
    )
    states = sorted(r.json()["state"] for r in responses)
    with service.store() as uow:
        occupancy = uow.registrations.occupancy(READING)
    assert {201} == {r.status_code for r in responses}
    assert (["confirmed"] * 15 + ["waitlisted"] * 9, Occupancy(15, 9)) == (states, occupancy)


def test_out_of_order_contacts_are_both_kept(service: Service) -> None:
    """A call at 08:50 synced first, then one at 08:20: both stored, newest first."""
    resident = _residents(service, GRIDS[2], 1, min_age=60)[0]
    sent = []
    with service.client() as client:
        for at in ("2026-11-28T08:50:00+08:00", "2026-11-28T08:20:00+08:00"):
            body = {"resident_id": resident, "method": "phone", "outcome": "well", "at": at}
            sent.append(client.post("/workers/grid-03/contacts", json=body))
    with service.store() as uow:
        stored = uow.contacts.for_resident(resident, since=MORNING.subtract(hours=2)).items
    assert [201, 201] == [r.status_code for r in sent]
    assert [r.json()["contact"]["id"] for r in sent] == [c.id for c in stored]


def test_sixteen_clients_reporting_at_the_same_instant_are_all_stored(service: Service) -> None:
    """16 reports sent together at one instant: 16 cases with 16 ids, no 5xx."""
    marker = f"路灯不亮 {uuid.uuid4().hex[:8]}"
    responses = _at_once(
        service,
        16,
        lambda client, i: client.post(
            "/workers/grid-04/cases",
            json={
                "category": "help",
                "source": "hotline_12345",
                "cell_code": GRIDS[3],
                "description": f"{marker} #{i}",
            },
        ),
    )
    with service.store() as uow:
        stored = uow.cases.open_in_subtree(GRIDS[3], limit=1000).items
    ids = {r.json()["id"] for r in responses}
    mine = {c.id for c in stored if c.description.startswith(marker)}
    assert ([201] * 16, 16) == ([r.status_code for r in responses], len(ids))
    assert ids == mine


def test_a_repeated_request_gets_the_same_response_and_makes_one_case(service: Service) -> None:
    """Sent again under its Idempotency-Key (minutes later, then by four clients at once)."""
    marker = f"电梯停运 {uuid.uuid4().hex[:8]}"
    body = {"category": "help", "source": "hotline_12345", "cell_code": GRIDS[4]}
    body["description"] = marker
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    with service.client() as client:
        first = client.post("/workers/grid-05/cases", json=body, headers=key)
        service.clock.advance(pendulum.duration(minutes=3))
        again = client.post("/workers/grid-05/cases", json=body, headers=key)
    racing = _at_once(
        service, 4, lambda client, i: client.post("/workers/grid-05/cases", json=body, headers=key)
    )
    with service.store() as uow:
        stored = uow.cases.open_in_subtree(GRIDS[4], limit=1000).items
    answers = {(r.status_code, r.text) for r in (first, again, *racing)}
    assert ({(201, first.text)}, [first.json()["id"]]) == (
        answers,
        [c.id for c in stored if c.description == marker],
    )


def test_the_service_refuses_a_store_no_scenario_filled(tmp_path: Path) -> None:
    """An empty store (a mistyped path, say) stops the service before it serves."""
    with pytest.raises(SystemExit) as info:
        _create_app()(f"sqlite:///{tmp_path / 'empty.db'}", ManualClock(MORNING))
    assert "the store holds no scenario: run `gridgov load --db URL` first" == str(info.value)
