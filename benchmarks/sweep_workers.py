"""Sweepers side by side: the speed-up of 2 and 4 workers, and nothing done twice or missed.

Run::

    python -m benchmarks.sweep_workers --postgres URL [--cases 1000000] [--due 10000]
    python -m benchmarks.sweep_workers --care --postgres URL --sqlite [--tasks 100000] [--due 1000]
        [--workers 1 2 4] [--batch-size 500]

Two queues, each swept by ``--workers`` (1, 2 and 4 processes by default) at once:

- the escalation sweep (default): open cases loaded (``benchmarks.cases.generate``: open
  complaints spread over one street, ``--due`` of them due), each worker running
  ``EscalationEngine.sweep(NOW)``; they share the due queue through ``cases.claim_due``;
- the overdue sweep of care tasks (``--care``): ``--tasks`` open care tasks of the street's
  residents, ``--due`` of them past their due instant at NOW, each worker running
  ``sweep_overdue(store, NOW)``; they share the queue through ``care_tasks.claim_overdue``.

Claiming is ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and the write lock on SQLite (whose workers
therefore take turns: the figure shows what several workers cost there, not a speed-up). Each
run loads the same records into a store of its own (a PostgreSQL schema, dropped at the end; a
SQLite file in a temporary directory), then starts the workers at once. Each worker hands back
the ids it escalated or marked; the run fails unless, between them, every due record was done
exactly once (0 double, 0 missed). The baseline is one worker; the speed-up is its sweep time
over the many workers' (the slowest worker's time).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from multiprocessing.queues import Queue
from pathlib import Path

import pendulum

from benchmarks._population import cells, households
from benchmarks.cases import NOW, WORKFLOW, generate, load
from gridgov.bootstrap import open_store
from gridgov.care.contacts import CareTask, TaskKind
from gridgov.care.policy import ContactMethod
from gridgov.grid import GridLevel
from gridgov.households import Household
from gridgov.ports import Store
from gridgov.services.cases import EscalationEngine
from gridgov.services.overdue import sweep_overdue

Loader = Callable[[Store], float]


def _sweep_cases(store: Store, batch: int) -> list[str]:
    return [e.case_id for e in EscalationEngine(store, WORKFLOW, batch_size=batch).sweep(NOW)]


def _sweep_care(store: Store, batch: int) -> list[str]:
    return [e.task_id for e in sweep_overdue(store, NOW, batch_size=batch)]


_SWEEPS: dict[str, Callable[[Store, int], list[str]]] = {
    "cases": _sweep_cases,
    "care": _sweep_care,
}


def _sweeper(
    url: str, what: str, batch: int, gate_at: float, out: Queue[tuple[float, list[str]]]
) -> None:
    store = open_store(url)
    time.sleep(max(0.0, gate_at - time.time()))
    began = time.perf_counter()
    done = _SWEEPS[what](store, batch)
    out.put((time.perf_counter() - began, done))
    store.close()


def run(url: str, what: str, workers: int, batch: int = 500) -> tuple[float, list[str]]:
    """Start ``workers`` sweepers at once; return the slowest one's seconds and every id."""
    context = multiprocessing.get_context("spawn")
    out: Queue[tuple[float, list[str]]] = context.Queue()
    gate_at = time.time() + 3.0  # past every process's start-up and store opening
    procs = [
        context.Process(target=_sweeper, args=(url, what, batch, gate_at, out))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    return max(seconds for seconds, _ in results), [i for _, ids in results for i in ids]


def care_tasks(population: list[Household], count: int, due: int) -> Iterator[CareTask]:
    """Yield ``count`` open routine calls of the residents, ``due`` of them overdue at NOW.

    Each resident's tasks have windows a week apart that never overlap: the overdue ones in the
    weeks before NOW, the others in the weeks after it.
    """
    residents = [(h, r) for h in population for r in h.members]
    step = max(1, count // due)
    made_due = 0
    for i in range(count):
        household, resident = residents[i % len(residents)]
        week = i // len(residents) + 1
        overdue = i % step == 0 and made_due < due
        made_due += overdue
        start = NOW.subtract(weeks=week) if overdue else NOW.add(weeks=week)
        yield CareTask(
            f"t{i:07d}",
            resident.id,
            household.id,
            household.cell_code,
            TaskKind.ROUTINE,
            ContactMethod.PHONE,
            start,
            start.add(days=2),
            start.add(days=6),
            "routine call",
            "例行电话",
            "cadence:bench:phone",
        )


def care_loader(count: int, due: int) -> Loader:
    """Return a loader of the street's cells, households (a resident per ten tasks) and tasks."""
    population = households(max(1, count // 23))  # about 2.3 residents a household

    def load_care(store: Store) -> float:
        start = time.perf_counter()
        with store() as uow:
            for cell in cells():
                uow.cells.add(cell)
            uow.households.add_many(population, batch_size=5000)
            uow.care_tasks.add_many(care_tasks(population, count, due), batch_size=5000)
            uow.commit()
        return time.perf_counter() - start

    return load_care


def cases_loader(count: int, due: int) -> Loader:
    """Return a loader of the street's cells and ``count`` open cases, ``due`` of them due."""
    tree = cells()
    grids = [c for c in tree if c.level is GridLevel.GRID]
    return lambda store: load(store, tree, generate(count, due, grids))


@contextmanager
def postgres_store(base: str) -> Iterator[str]:
    """Yield the URL of a schema of its own on the server at ``base``; drop it at the end."""
    import psycopg

    schema = f"bench_sweep_{uuid.uuid4().hex[:8]}"
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def sqlite_store() -> Iterator[str]:
    """Yield the URL of a new SQLite file in a temporary directory, removed at the end."""
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as folder:
        yield f"sqlite:///{Path(folder) / 'sweep.db'}"


def measure(
    name: str,
    place: Callable[[], AbstractContextManager[str]],
    what: str,
    loader: Loader,
    count: int,
    due: int,
    workers: tuple[int, ...],
    batch: int,
) -> None:
    """Load, sweep with each number of workers, check and print the figures of one store."""
    figures: dict[int, float] = {}
    for n in workers:
        with place() as url:
            store = open_store(url)
            loaded = loader(store)
            store.close()
            seconds, ids = run(url, what, n, batch)
        double, missed = len(ids) - len(set(ids)), due - len(set(ids))
        if double or missed:
            raise SystemExit(f"{name}, {n} workers: {double} double, {missed} missed")
        figures[n] = seconds
        print(
            f"{name} {what}: {n} worker(s): {count:,} open loaded in {loaded:.1f} s, "
            f"{due:,} due: swept in {seconds:.2f} s ({due / seconds:,.0f}/s), "
            f"speed-up {figures[workers[0]] / seconds:.2f}x, 0 double, 0 missed",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    """Sweep each store asked for with 1, 2 and 4 workers; print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL")
    parser.add_argument("--sqlite", action="store_true", help="also on SQLite files")
    parser.add_argument("--care", action="store_true", help="the overdue sweep of care tasks")
    parser.add_argument("--cases", type=int, default=1_000_000, help="open cases (escalation)")
    parser.add_argument("--tasks", type=int, default=100_000, help="open care tasks (--care)")
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batch-size", type=int, default=500, help="records per transaction")
    args = parser.parse_args(argv)
    if args.postgres is None and not args.sqlite:
        parser.error("give --postgres URL, --sqlite, or both")
    what = "care" if args.care else "cases"
    count = args.tasks if args.care else args.cases
    loader = (care_loader if args.care else cases_loader)(count, args.due)
    workers = tuple(args.workers)
    print(f"at {NOW.isoformat()} ({pendulum.now('UTC').to_datetime_string()} UTC)", flush=True)
    if args.sqlite:
        measure("SQLite", sqlite_store, what, loader, count, args.due, workers, args.batch_size)
    if args.postgres is not None:
        base = args.postgres
        measure(
            "PostgreSQL",
            lambda: postgres_store(base),
            what,
            loader,
            count,
            args.due,
            workers,
            args.batch_size,
        )


if __name__ == "__main__":
    main()
