"""The example web service under load: a worklist alone, and among 16 mixed clients.

Run: ``python -m benchmarks.service [--requests 800] [--single 70] [--clients 16] [--workers 1]
[--postgres URL | --no-postgres] [--async-face]``

For each store (a SQLite file, and a schema of its own on PostgreSQL unless ``--no-postgres``):

1. Minggong is loaded (``populate``), timed: PostgreSQL's time against SQLite's (target 2x or
   less).
2. ``examples/service/app.py`` runs under uvicorn in a process of its own (``--workers``
   processes), its clock starting at 2026-11-28 09:00, on a free loopback port.
3. One client asks for worklists one after the other (``--single`` requests, the seven grid
   workers' in turn, after one each to warm up): the worklist's p50 alone.
4. ``--clients`` clients at once, each its own thread and connection, send ``--requests``
   requests in all, back to back: half worklists, a quarter case reports, a quarter
   registrations of residents (each through their grid worker) for the coming programme. The
   worklist's p50 and p99 under that load, and p99(loaded) / p50(alone) (target 10x or less on
   2 cores); the writes' p50; the requests answered per second; the clients' own CPU time per
   second of the run (they share the machine with the service). Every answer must be 2xx or 4xx
   (a resident already registered is a 409); a 5xx fails the run.

``--async-face`` runs steps 3 and 4 again against the same routes as ``async def`` endpoints
that offload the work to a thread (``starlette.concurrency.run_in_threadpool``, anyio's thread
pool), built from the example's own endpoints by :func:`create_async_app`: the rules and the
route code are the example's, only the face changes.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pendulum
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from gridgov.bootstrap import open_store
from gridgov.ports import Store
from gridgov.scenarios import example_path, load_scenario, populate
from gridgov.scheduling.series import occurrence_id

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-28T09:00:00+08:00"
TZ = "Asia/Shanghai"
GRIDS = {f"grid-0{n}": f"61010200300600{n}" for n in range(1, 8)}
# The coming programme open to everyone: a resident registers once for each.
OPEN_TO_ALL = [
    occurrence_id("legal-education", pendulum.datetime(2026, 12, 1, 14, 30, tz=TZ)),
    occurrence_id("picture-books", pendulum.datetime(2026, 12, 5, 10, tz=TZ)),
    occurrence_id("picture-books", pendulum.datetime(2026, 12, 12, 10, tz=TZ)),
]


def create_async_app() -> FastAPI:
    """Return the example service with each route an ``async def`` offloading to a thread.

    The example's endpoints, exception handlers and lifespan are reused as they are: each
    endpoint becomes ``async def``, with the same signature, awaiting
    ``run_in_threadpool(endpoint, ...)``.
    """
    sys.path.insert(0, str(ROOT))
    from examples.service.app import create_app

    sync = create_app()
    app = FastAPI(title=f"{sync.title} (async)", lifespan=sync.router.lifespan_context)
    app.exception_handlers.update(sync.exception_handlers)
    for route in sync.routes:
        if isinstance(route, APIRoute):
            app.add_api_route(
                route.path, _offloaded(route.endpoint), methods=sorted(route.methods or ())
            )
    return app


def _offloaded(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Return an ``async def`` calling ``endpoint`` in anyio's thread pool."""

    async def offloaded(**kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, **kwargs)

    offloaded.__signature__ = inspect.signature(endpoint, eval_str=True)  # type: ignore[attr-defined]
    offloaded.__name__ = endpoint.__name__
    return offloaded


# -- the server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(url: str, *, face: str, workers: int) -> Iterator[str]:
    """Run the example service over the store at ``url`` in a process; yield its base URL."""
    port = _free_port()
    factory = (
        "examples.service.app:create_app"
        if face == "sync"
        else "benchmarks.service:create_async_app"
    )
    argv = [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port)]
    argv += ["--log-level", "warning", "--workers", str(workers)]
    env = {**os.environ, "GRIDGOV_DB": url, "GRIDGOV_NOW": NOW, "PYTHONPATH": _path()}
    server = subprocess.Popen(argv, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/workers/grid-01/worklist", timeout=30).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the service did not start (exit code {server.poll()})")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(30)


def _path() -> str:
    paths = [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in paths if p)


# -- the clients --------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile ``share`` (0 to 1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def _residents(store: Store) -> list[tuple[str, str]]:
    """Return (grid worker, resident) pairs of every grid, shuffled with a fixed seed."""
    pairs = []
    on = pendulum.Date(2026, 11, 28)
    with store() as uow:
        for worker, cell in GRIDS.items():
            page = uow.households.aged(on=on, min_age=0, within=cell, limit=10_000)
            pairs += [(worker, e.resident.id) for e in page.items]
    random.Random(7).shuffle(pairs)
    return pairs


class Load:
    """The mixed requests of one run, handed out to the clients in turn."""

    def __init__(self, registrations: Iterator[tuple[str, str, str]], total: int) -> None:
        self._lock = threading.Lock()
        self._left = total
        self._registrations = registrations
        self._n = 0

    def next(self) -> tuple[str, str, str, dict[str, Any] | None] | None:
        """Return the next request (kind, method, path, JSON body), or None when all are sent."""
        with self._lock:
            if self._left == 0:
                return None
            self._left -= 1
            self._n += 1
            n = self._n
            worker = f"grid-0{n % 7 + 1}"
            if n % 4 == 1:
                body = {
                    "category": "help",
                    "source": "hotline_12345",
                    "cell_code": GRIDS[worker],
                    "description": f"楼道灯坏了 #{n}",
                }
                return "report", "POST", f"/workers/{worker}/cases", body
            if n % 4 == 3:
                worker, resident, occurrence = next(self._registrations)
                path = f"/workers/{worker}/occurrences/{occurrence}/registrations"
                return "register", "POST", path, {"resident_id": resident}
            return "worklist", "GET", f"/workers/{worker}/worklist", None


def alone(base: str, requests: int) -> list[float]:
    """Return the seconds of ``requests`` worklists asked one after the other."""
    times = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for n in range(requests):
            start = time.perf_counter()
            response = client.get(f"/workers/grid-0{n % 7 + 1}/worklist")
            times.append(time.perf_counter() - start)
            response.raise_for_status()
    return times


def loaded(base: str, clients: int, load: Load) -> tuple[dict[str, list[float]], dict[int, int]]:
    """Run ``clients`` clients over ``load``; return the seconds per kind and the status counts."""
    times: dict[str, list[float]] = {"worklist": [], "report": [], "register": []}
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    ready = threading.Barrier(clients)

    def client_loop() -> None:
        with httpx.Client(base_url=base, timeout=300) as client:
            ready.wait()
            while (request := load.next()) is not None:
                kind, method, path, body = request
                start = time.perf_counter()
                response = client.request(method, path, json=body)
                took = time.perf_counter() - start
                with lock:
                    times[kind].append(took)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client_loop) for _ in range(clients)]:
            future.result()
    return times, statuses


# -- a run ---------------------------------------------------------------------------------


def measure(
    label: str, url: str, args: argparse.Namespace, residents: list[tuple[str, str]]
) -> list[str]:
    """Run both loads against the service over ``url``; return the table rows."""
    rows = []
    # (grid worker, resident, occurrence): each registers once, whichever face sends it.
    registrations = iter([(w, r, o) for o in OPEN_TO_ALL for w, r in residents])
    for face in ("sync", "async") if args.async_face else ("sync",):
        with serving(url, face=face, workers=args.workers) as base:
            alone(base, 7)  # warm: each worker's first worklist
            single = alone(base, args.single)
            began, cpu = time.perf_counter(), time.process_time()
            times, statuses = loaded(base, args.clients, Load(registrations, args.requests))
            wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        bad = {s: c for s, c in statuses.items() if s >= 500 or s < 200}
        if bad:
            raise SystemExit(f"{label} ({face}): answers out of 2xx/4xx: {bad}")
        p50_1 = percentile(single, 0.5)
        work = times["worklist"]
        p50, p99 = percentile(work, 0.5), percentile(work, 0.99)
        others = times["report"] + times["register"]
        codes = ", ".join(f"{s}: {c}" for s, c in sorted(statuses.items()))
        rows.append(
            f"| {label} | {face} | {p50_1 * 1000:.1f} ms | {p50 * 1000:.1f} ms "
            f"| {p99 * 1000:.1f} ms | {p99 / p50_1:.1f}x | {percentile(others, 0.5) * 1000:.1f} ms "
            f"| {args.requests / wall:.0f}/s | {cpu / wall:.2f} | {codes} |"
        )
        print(rows[-1], flush=True)
    return rows


def timed_load(url: str) -> tuple[Store, float]:
    """Open the store at ``url``, load Minggong into it; return it and the seconds taken."""
    scenario = load_scenario(example_path())
    store = open_store(url, scheme=scenario.scheme)
    start = time.perf_counter()
    populate(store, scenario)
    return store, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Load Minggong into each store, serve it, measure, and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=800, help="requests under load")
    parser.add_argument("--single", type=int, default=70, help="worklists of the lone client")
    parser.add_argument("--clients", type=int, default=16, help="clients at once")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "GRIDGOV_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="the PostgreSQL server; a schema of its own is made and dropped",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--async-face",
        action="store_true",
        help="also measure async endpoints offloading to threads",
    )
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    loads, rows = {}, []
    header = [
        "| store | face | worklist p50, 1 client | p50, loaded | p99, loaded | p99 / p50(1) "
        "| writes p50, loaded | requests, loaded | clients' CPU | answers |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    print("\n".join(header), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'minggong.db'}"
        store, loads["SQLite"] = timed_load(url)
        residents = _residents(store)
        store.close()
        rows += measure("SQLite", url, args, residents)
    if not args.no_postgres:
        schema = f"bench_service_{uuid.uuid4().hex[:8]}"
        url = f"{args.postgres}?schema={schema}"
        try:
            store, loads["PostgreSQL"] = timed_load(url)
            store.close()
            rows += measure("PostgreSQL", url, args, residents)
        finally:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print()
    print("| populating Minggong | time |")
    print("|---|---:|")
    for label, seconds in loads.items():
        print(f"| {label} | {seconds:.2f} s |")
    if len(loads) == 2:
        ratio = loads["PostgreSQL"] / loads["SQLite"]
        print(f"| PostgreSQL / SQLite | {ratio:.2f}x |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
