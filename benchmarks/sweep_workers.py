"""Escalation sweepers side by side on PostgreSQL: the speed-up of 2 and 4, and nothing done twice.

Run: ``python -m benchmarks.sweep_workers --postgres URL [--cases 1000000] [--due 10000]``

For each number of workers (1, 2 and 4 processes) the same cases are loaded into a schema of
their own (``benchmarks.cases.generate``: open complaints spread over one street, ``--due`` of
them due), then the workers start at once, each running ``EscalationEngine.sweep(NOW)`` on its
own store. They share the due queue through ``cases.claim_due`` (``FOR UPDATE SKIP LOCKED``).
Each worker hands back the ids of the cases it escalated; the run fails unless, between them,
every due case was escalated exactly once (0 double, 0 missed). The baseline is one worker;
the speed-up is its sweep time over the many workers' (the slowest worker's time).
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid
from multiprocessing.queues import Queue

import psycopg

from benchmarks._population import cells
from benchmarks.cases import NOW, WORKFLOW, generate, load
from gridgov.bootstrap import open_store
from gridgov.grid import GridLevel
from gridgov.services.cases import EscalationEngine


def _sweeper(url: str, gate_at: float, out: Queue[tuple[float, list[str]]]) -> None:
    store = open_store(url)
    engine = EscalationEngine(store, WORKFLOW, batch_size=500)
    time.sleep(max(0.0, gate_at - time.time()))
    began = time.perf_counter()
    done = engine.sweep(NOW)
    out.put((time.perf_counter() - began, [e.case_id for e in done]))
    store.close()


def run(url: str, workers: int) -> tuple[float, list[str]]:
    """Start ``workers`` sweepers at once; return the slowest one's seconds and every id."""
    context = multiprocessing.get_context("spawn")
    out: Queue[tuple[float, list[str]]] = context.Queue()
    gate_at = time.time() + 3.0  # past every process's start-up and store opening
    procs = [context.Process(target=_sweeper, args=(url, gate_at, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    return max(seconds for seconds, _ in results), [i for _, ids in results for i in ids]


def main(argv: list[str] | None = None) -> None:
    """Load, sweep with 1, 2 and 4 workers, check and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="a PostgreSQL URL")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    args = parser.parse_args(argv)
    tree = cells()
    grids = [c for c in tree if c.level is GridLevel.GRID]
    figures: dict[int, float] = {}
    for workers in (1, 2, 4):
        schema = f"bench_sweep_{uuid.uuid4().hex[:8]}"
        url = f"{args.postgres}?schema={schema}"
        try:
            store = open_store(url)
            loaded = load(store, tree, generate(args.cases, args.due, grids))
            store.close()
            seconds, ids = run(url, workers)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        double, missed = len(ids) - len(set(ids)), args.due - len(set(ids))
        if double or missed:
            raise SystemExit(f"{workers} workers: {double} double, {missed} missed escalations")
        figures[workers] = seconds
        print(
            f"{workers} worker(s): {args.cases:,} open cases loaded in {loaded:.1f} s, "
            f"{args.due:,} due: swept in {seconds:.2f} s, "
            f"speed-up {figures[1] / seconds:.2f}x, 0 double, 0 missed"
        )


if __name__ == "__main__":
    main()
