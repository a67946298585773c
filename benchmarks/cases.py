"""Sweep escalations over a million open cases of which a thousand are due; calendar arithmetic.

Run: ``python -m benchmarks.cases [--cases 1000000] [--due 1000] [--no-sqlite]``

Measured in one run, on the same cases in each store:

- ``EscalationEngine.sweep(now)``: reads the cases whose ``next_check`` has come through the
  store's index and escalates them (every due case here is a complaint its grid has held for
  more than a working day, so it is raised to the community);
- the baseline, a full scan: what an engine without that index does, reading every open case
  (``open_in_subtree`` over the whole street, paged) and asking the policy which firings are due.
  It runs after the sweep, so it finds nothing left to escalate and its time is the scan alone:
  a lower bound of its cost. Target: the sweep >= 100x faster.

Then the cost of one ``WorkCalendar.add_working_time`` call (and of ``add_working_days``) on the
Chinese calendar, over random starts in 2026 (announced) and in 2027 (provisional: counted by the
statutory rule) and limits from 1 to 40 working hours; target: the provisional year costs no
more than 1.2x the announced one.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pendulum

from benchmarks._population import cells
from gridgov.bootstrap import open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import Action, Case, CaseRole, CaseSource, CaseWorkflow, Location, Reporter
from gridgov.cases.escalation import due_firings
from gridgov.grid import GridCell, GridLevel
from gridgov.ports import Store
from gridgov.services.cases import EscalationEngine

TZ = "Asia/Shanghai"
ROOT = "610102003"  # the street: every case lies in its subtree
NOW = pendulum.datetime(2026, 11, 27, 9, tz=TZ)  # a Friday morning
CALENDAR = WorkCalendar.china()
WORKFLOW = CaseWorkflow(CALENDAR)


def _dispatched(grid: GridCell, at: pendulum.DateTime) -> Case:
    case = WORKFLOW.report(
        case_id="template",
        category="complaint",
        source=CaseSource.HOTLINE_12345,
        location=Location(grid.code),
        reporter=Reporter(),
        description="楼道堆物",
        owner=grid,
        at=at,
        actor="op",
    ).case
    for action in (Action.REGISTER, Action.DISPATCH):
        case = WORKFLOW.apply(case, action, actor="op", role=CaseRole.DISPATCHER, at=at).case
    return case


def generate(count: int, due: int, grids: list[GridCell]) -> Iterator[Case]:
    """Yield ``count`` open cases spread over ``grids``; ``due`` of them are due at NOW.

    Cases are copies of two templates per grid (the shared parts are shared objects, as cases
    decoded from a store are not, but building a million cases one by one would take minutes):
    one dispatched two working days ago, due; one dispatched at NOW, whose next check is the
    end of the next working day.
    """
    old = NOW.subtract(days=3)
    templates = [(_dispatched(g, old), _dispatched(g, NOW)) for g in grids]
    step = max(1, count // due)
    made_due = 0
    for i in range(count):
        is_due, fresh = templates[i % len(templates)]
        if i % step == 0 and made_due < due:
            made_due += 1
            yield attrs.evolve(is_due, id=f"c{i:07d}")
        else:
            yield attrs.evolve(fresh, id=f"c{i:07d}")


def load(store: Store, tree: list[GridCell], cases: Iterator[Case]) -> float:
    """Store the cells and the cases in one unit of work; return the seconds it took."""
    start = time.perf_counter()
    with store() as uow:
        for cell in tree:
            uow.cells.add(cell)
        uow.cases.add_many(cases, batch_size=5000)
        uow.commit()
    return time.perf_counter() - start


def full_scan(store: Store) -> tuple[float, int, int]:
    """Scan every open case for due firings; return seconds, cases read and cases due."""
    start = time.perf_counter()
    read = found = 0
    with store() as uow:
        after: str | None = None
        while True:
            page = uow.cases.open_in_subtree(ROOT, limit=5000, after=after)
            for case in page.items:
                read += 1
                if due_firings(WORKFLOW.escalation, case, CALENDAR, NOW):
                    found += 1
            after = page.next_cursor
            if after is None:
                break
    return time.perf_counter() - start, read, found


def measure(name: str, store: Store, count: int, due: int) -> None:
    """Load, sweep, scan and print the figures of one store."""
    tree = cells()
    grids = [c for c in tree if c.level is GridLevel.GRID]
    loaded = load(store, tree, generate(count, due, grids))
    gc.collect()
    engine = EscalationEngine(store, WORKFLOW, batch_size=500)
    start = time.perf_counter()
    done = engine.sweep(NOW)
    swept = time.perf_counter() - start
    again_start = time.perf_counter()
    again = engine.sweep(NOW)
    again_time = time.perf_counter() - again_start
    scan, read, found = full_scan(store)
    cases_escalated = len({e.case_id for e in done})
    if cases_escalated != due or again or found:
        sys.exit(f"{name}: escalated {cases_escalated} cases, expected {due}; again {len(again)}")
    print(
        f"{name}: {count:,} open cases loaded in {loaded:.1f} s; {due:,} due\n"
        f"  sweep:            {swept * 1000:9.1f} ms ({len(done):,} escalations)\n"
        f"  second sweep:     {again_time * 1000:9.1f} ms (nothing left to do)\n"
        f"  full scan:        {scan * 1000:9.1f} ms ({read:,} cases read)\n"
        f"  ratio:            {scan / swept:9.1f}x  (target >= 100x)"
    )


def _per_call(year: int, calls: int) -> tuple[float, float]:
    """Return the seconds per add_working_time and add_working_days call on a fresh calendar,
    over random starts in ``year`` (each calendar fills its day cache from nothing).
    """
    calendar = WorkCalendar.china()
    rng = random.Random(2043)
    first = pendulum.datetime(year, 1, 1, tz=TZ)
    starts = [first.add(minutes=rng.randrange(0, 330 * 24 * 60)) for _ in range(calls)]
    hours = [pendulum.duration(hours=rng.randint(1, 40)) for _ in range(calls)]
    days = [rng.randint(1, 15) for _ in range(calls)]
    start = time.perf_counter()
    for s, h in zip(starts, hours, strict=True):
        calendar.add_working_time(s, h)
    per_time = (time.perf_counter() - start) / calls
    start = time.perf_counter()
    for s, d in zip(starts, days, strict=True):
        calendar.add_working_days(s, d)
    return per_time, (time.perf_counter() - start) / calls


def calendar_costs(calls: int) -> None:
    """Print the cost of add_working_time and add_working_days in an announced year (2026) and
    in a provisional one (2027, counted by the statutory rule), and their ratio.
    """
    # Best of three rounds, the two years alternating, so that neither pays for warming up.
    rounds = [(_per_call(2026, calls), _per_call(2027, calls)) for _ in range(3)]
    announced = (min(r[0][0] for r in rounds), min(r[0][1] for r in rounds))
    provisional = (min(r[1][0] for r in rounds), min(r[1][1] for r in rounds))
    assert CALENDAR.is_provisional(2027)
    assert not CALENDAR.is_provisional(2026)
    for name, a, p in (
        ("add_working_time (1-40 working hours)", announced[0], provisional[0]),
        ("add_working_days (1-15 working days) ", announced[1], provisional[1]),
    ):
        print(
            f"{name}: 2026 announced {a * 1e6:.1f} us, 2027 provisional {p * 1e6:.1f} us "
            f"per call, ratio {p / a:.2f}x (target <= 1.2x)"
        )


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--no-sqlite", action="store_true", help="measure the memory store only")
    args = parser.parse_args()
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.machine()}; sweep at {NOW.isoformat()}"
    )
    measure("memory", open_store("memory://"), args.cases, args.due)
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            store = open_store(f"sqlite:///{Path(folder) / 'cases.db'}")
            try:
                measure("sqlite", store, args.cases, args.due)
            finally:
                store.close()
    calendar_costs(args.calls)


if __name__ == "__main__":
    main()
