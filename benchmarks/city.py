"""One district at two sizes on PostgreSQL: do a community's and a worker's queries stay flat?

Run: ``python -m benchmarks.city [--sizes 20000 700000] [--postgres URL] [--runs 5]``

Each size is a district of its own schema (``bench_city_<size>``, dropped at the end): the same
query community (``610102003001``: 2,000 households in 8 grids of 25 buildings, generated with
the same seed at every size, one grid worker assigned grid ``610102003001003``) and other
communities of the same shape, ten to a street, filling the district to the size. Households are
loaded with ``uow.households.add_many`` (PostgreSQL's ``COPY`` path), one unit of work per street,
then every table is analysed, as a deployment's autovacuum would.

Routine care tasks are planned with ``plan_tasks`` in the query community, and in every tenth
other community so that the task index holds tasks elsewhere. Running the service in those
communities would cost several round trips per elder (about 35 communities at 700,000
households), so their tasks are computed by the same pure functions the service calls on an
empty store (``assess_all`` then ``plan_routine`` with no contacts and no open tasks) and
written with ``care_tasks.add_many``; the run checks that this gives the query community as many
tasks as ``plan_tasks`` did. Open cases (0.2 per household, spread over every grid) are loaded
with ``cases.add_many``; among them ``--due`` cases in the query community's grids are due at
the sweep's instant. After each timed sweep their rows are put back as loaded (SQL, not timed),
so that every round sweeps the same cases.

Then, in rounds that take the sizes in turn (the first size alternating), each query is timed
once per round and the best of ``--runs`` rounds is kept:

- ``uow.households.in_subtree`` over one grid, in pages of 100;
- ``gridgov.services.care.worklist`` of the grid worker;
- ``uow.households.with_tag(LIVING_ALONE, within=community)``, in pages of 100;
- ``uow.households.aged(on=..., min_age=60, within=community)``, in pages of 100;
- ``EscalationEngine(store, workflow).sweep(now)``, divided by the number of due cases.

The ratio is the large size's time over the small one's; target: every ratio <= 1.3x. Before the
rounds, ``EXPLAIN ANALYZE`` shows which index each query's first page uses; the aged-within
query should use ``gg_residents_cell``, and the run says so when it does not (on a district of
one community PostgreSQL rightly prefers to read the small table whole). ``--explain`` prints
the plans, with their buffers.
"""

from __future__ import annotations

import argparse
import gc
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pendulum
import psycopg

from benchmarks._population import AS_OF, QUERY_CELL
from benchmarks.cases import NOW as CASES_NOW
from benchmarks.cases import WORKFLOW, _dispatched
from gridgov.adapters._sql_engine import TOP, subtree_range
from gridgov.adapters._sql_kinds import (
    SqlCareTaskRepository,
    SqlCaseRepository,
    SqlHouseholdRepository,
)
from gridgov.adapters.sql import statement_of
from gridgov.adapters.support import birth_bounds
from gridgov.bootstrap import open_store
from gridgov.care import DEFAULT_POLICY, assess_all
from gridgov.care.contacts import CareTask
from gridgov.care.rules import plan_routine
from gridgov.cases import Case
from gridgov.grid import Assignment, GridCell, GridLevel, Worker, WorkerRole
from gridgov.households import Household, Tag
from gridgov.ports import Store
from gridgov.scenarios.synthetic import generate_households
from gridgov.services.care import plan_tasks, worklist
from gridgov.services.cases import EscalationEngine

TZ = "Asia/Shanghai"
DISTRICT = "610102"
QUERY_COMMUNITY = "610102003001"
QUERY_STREET = "610102003"
HOUSEHOLDS_PER_COMMUNITY = 2000
GRIDS = 8
BUILDINGS = 25
COMMUNITIES_PER_STREET = 10
PLANNED_EVERY = 10  # one community in ten (the sixth of each street) has routine tasks
CASES_PER_HOUSEHOLD = 0.2
PAGE = 100
TAG = Tag.LIVING_ALONE
MIN_AGE = 60
WORKER_ID = "w_city"
PLAN_NOW = pendulum.datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tz=TZ)
READ_AT = PLAN_NOW.add(hours=2)  # the worklist is read in the morning, after the daily plan
QUERIES = ("subtree", "worklist", "with_tag", "aged", "sweep")
SWEEP_AT = CASES_NOW
DUE_COPY = "bench_city_due"  # the due cases' rows as loaded, put back after each sweep


# --- the district ----------------------------------------------------------------------------


def community_codes(size: int) -> list[str]:
    """Return the codes of the district's communities, the query community first.

    Streets hold ten communities each; the query community's street (003) comes first, then
    001, 002, 004, ..., so that every size holds the query community and its street.
    """
    count = math.ceil(size / HOUSEHOLDS_PER_COMMUNITY)
    streets = math.ceil(count / COMMUNITIES_PER_STREET)
    order = [3, *(s for s in range(1, max(streets, 3) + 1) if s != 3)]
    codes = [
        f"{DISTRICT}{s:03d}{c:03d}" for s in order for c in range(1, COMMUNITIES_PER_STREET + 1)
    ]
    return codes[:count]


def community_cells(code: str) -> list[GridCell]:
    """Return a community, its 8 grids and their 25 buildings each."""
    out = [GridCell(code, f"社区{code[-6:]}", GridLevel.COMMUNITY, code[:9])]
    for g in range(1, GRIDS + 1):
        grid = f"{code}{g:03d}"
        out.append(GridCell(grid, f"网格{code[-6:]}-{g}", GridLevel.GRID, code))
        out.extend(
            GridCell(f"{grid}{b:03d}", f"{b}号楼", GridLevel.BUILDING, grid)
            for b in range(1, BUILDINGS + 1)
        )
    return out


def community_households(code: str, count: int) -> list[Household]:
    """Return ``count`` households of a community: the same ones at every size (seeded by code)."""
    buildings = [c for c in community_cells(code) if c.level is GridLevel.BUILDING]
    return list(
        generate_households(buildings, count, seed=int(code), as_of=AS_OF, id_prefix=f"h{code[6:]}")
    )


def cheap_tasks(population: Sequence[Household]) -> list[CareTask]:
    """Return the routine tasks ``plan_tasks`` creates for these households in an empty store."""
    return [
        task
        for a in assess_all(population, DEFAULT_POLICY, on=PLAN_NOW.date())
        for task in plan_routine(a, (), (), now=PLAN_NOW)
    ]


@attrs.define
class District:
    """One size's store and what was loaded into it."""

    size: int
    url: str
    store: Store
    households: int = 0
    communities: int = 0
    load_seconds: float = 0.0
    tasks_mine: int = 0
    tasks_elsewhere: int = 0
    planned_communities: int = 0
    cases: int = 0
    times: dict[str, list[float]] = attrs.field(factory=dict)


def _analyze(base_url: str, schema: str) -> float:
    """Analyse every table of the schema; return the seconds it took."""
    start = time.perf_counter()
    with psycopg.connect(base_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (table,) in rows:
            conn.execute(f'ANALYZE "{schema}"."{table}"')
    return time.perf_counter() - start


def load_households(district: District, base_url: str, schema: str) -> None:
    """Load cells and households street by street, plan the other communities' tasks cheaply.

    Records the wall time of the whole load and of its parts: generating the households (the
    synthetic generator, not gridgov's cost), ``cells.add`` (one call per cell),
    ``households.add_many`` and the commits.
    """
    codes = community_codes(district.size)
    district.communities = len(codes)
    left = district.size
    parts = dict.fromkeys(("generate", "cells", "add_many", "commit", "plan"), 0.0)

    def clock(part: str, began: float) -> float:
        now = time.perf_counter()
        parts[part] += now - began
        return now

    start = time.perf_counter()
    with district.store() as uow:
        uow.cells.add(GridCell(DISTRICT, "新城区", GridLevel.DISTRICT))
        for street in dict.fromkeys(code[:9] for code in codes):
            uow.cells.add(GridCell(street, f"街道{street[-3:]}", GridLevel.STREET, DISTRICT))
        uow.commit()
    tasks: list[CareTask] = []
    planned = 0
    for first in range(0, len(codes), COMMUNITIES_PER_STREET):
        members = codes[first : first + COMMUNITIES_PER_STREET]
        with district.store() as uow:
            for i, code in enumerate(members, start=first):
                count = min(HOUSEHOLDS_PER_COMMUNITY, left)
                left -= count
                t = time.perf_counter()
                for cell in community_cells(code):
                    uow.cells.add(cell)
                t = clock("cells", t)
                population = community_households(code, count)
                t = clock("generate", t)
                uow.households.add_many(population)
                t = clock("add_many", t)
                district.households += count
                if i % PLANNED_EVERY == PLANNED_EVERY // 2:
                    tasks.extend(cheap_tasks(population))
                    planned += 1
                    clock("plan", t)
            t = time.perf_counter()
            uow.commit()
            clock("commit", t)
        print(f"    {district.households:,} households", end="\r", flush=True, file=sys.stderr)
    district.load_seconds = time.perf_counter() - start
    stored = district.load_seconds - parts["generate"] - parts["plan"]
    analysed = _analyze(base_url, schema)
    print(
        f"  {district.size:,}: {district.households:,} households in {district.communities} "
        f"communities loaded in {district.load_seconds:.1f} s, of which generating "
        f"{parts['generate']:.1f} s and computing other communities' tasks {parts['plan']:.1f} s;"
        f" storing {stored:.1f} s ({district.households / stored:,.0f} households/s): "
        f"cells.add {parts['cells']:.1f} s, households.add_many (COPY) "
        f"{parts['add_many']:.1f} s, commits {parts['commit']:.1f} s; "
        f"then ANALYZE {analysed:.1f} s, as a deployment's autovacuum would",
        flush=True,
    )
    with district.store() as uow:
        uow.care_tasks.add_many(tasks)
        uow.commit()
    district.tasks_elsewhere = len(tasks)
    district.planned_communities = planned


def plan_query_community(district: District) -> None:
    """Assign the worker and plan the query community's tasks with ``plan_tasks``."""
    worker = Worker(
        WORKER_ID,
        "王网格",
        roles={WorkerRole.GRID_WORKER},
        assignments=[Assignment(QUERY_CELL, AS_OF.subtract(years=1))],
    )
    with district.store() as uow:
        uow.workers.add(worker)
        mine = plan_tasks(uow, QUERY_COMMUNITY, now=PLAN_NOW)
        uow.commit()
    district.tasks_mine = len(mine)
    same = len(cheap_tasks(community_households(QUERY_COMMUNITY, HOUSEHOLDS_PER_COMMUNITY)))
    if same != len(mine):
        raise SystemExit(f"plan_tasks made {len(mine)} tasks, the cheap path {same}")


def generate_cases(size: int, due: int) -> list[Case]:
    """Return the open cases of a district: ``due`` of them due at the sweep's instant.

    The due cases lie in the query community's grids and were dispatched three days before the
    sweep (their grid has held them more than a working day); the others, 0.2 per household
    spread over every grid, are dispatched at the sweep's instant.
    """
    grids = [
        GridCell(f"{code}{g:03d}", f"网格{g}", GridLevel.GRID, code)
        for code in community_codes(size)
        for g in range(1, GRIDS + 1)
    ]
    mine = [g for g in grids if g.code.startswith(QUERY_COMMUNITY)]
    old = [_dispatched(g, SWEEP_AT.subtract(days=3)) for g in mine]
    out = [attrs.evolve(old[i % len(old)], id=f"d{i:06d}") for i in range(due)]
    fresh = [_dispatched(g, SWEEP_AT) for g in grids]
    total = max(round(size * CASES_PER_HOUSEHOLD), len(grids))
    out.extend(attrs.evolve(fresh[i % len(fresh)], id=f"c{i:07d}") for i in range(total))
    return out


def load_cases(district: District, due: int, base_url: str, schema: str) -> None:
    """Load the district's open cases; keep a copy of the due cases' rows to reset each sweep."""
    cases = generate_cases(district.size, due)
    with district.store() as uow:
        uow.cases.add_many(cases, batch_size=5000)
        uow.commit()
    district.cases = len(cases)
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(f"CREATE TABLE {DUE_COPY} AS SELECT * FROM gg_cases WHERE id LIKE 'd%'")


def reset_due(base_url: str, schema: str) -> None:
    """Put the due cases back as they were before the sweep (outside the timed part)."""
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        with conn.transaction():
            conn.execute("DELETE FROM gg_cases WHERE id LIKE 'd%'")
            conn.execute(f"INSERT INTO gg_cases SELECT * FROM {DUE_COPY}")


# --- the queries -----------------------------------------------------------------------------


def read_subtree(store: Store) -> int:
    """Page through the query grid's households; return how many."""
    n = 0
    with store() as uow:
        after: str | None = None
        while True:
            page = uow.households.in_subtree(QUERY_CELL, limit=PAGE, after=after)
            n += len(page.items)
            if (after := page.next_cursor) is None:
                return n


def read_worklist(store: Store) -> int:
    """Return the number of entries in the worker's worklist."""
    with store() as uow:
        return len(worklist(uow, WORKER_ID, on=READ_AT.date(), now=READ_AT))


def read_with_tag(store: Store) -> int:
    """Page through the query community's residents with the tag; return how many."""
    n = 0
    with store() as uow:
        after: str | None = None
        while True:
            page = uow.households.with_tag(TAG, within=QUERY_COMMUNITY, limit=PAGE, after=after)
            n += len(page.items)
            if (after := page.next_cursor) is None:
                return n


def read_aged(store: Store) -> int:
    """Page through the query community's residents aged 60 or more; return how many."""
    n = 0
    with store() as uow:
        after: str | None = None
        while True:
            page = uow.households.aged(
                on=AS_OF, min_age=MIN_AGE, within=QUERY_COMMUNITY, limit=PAGE, after=after
            )
            n += len(page.items)
            if (after := page.next_cursor) is None:
                return n


def _timed(work: Callable[[], int]) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    n = work()
    return time.perf_counter() - start, n


def run_round(district: District, due: int, base_url: str, counts: dict[str, int]) -> None:
    """Time each query once on one district; record the times, check the counts."""
    store = district.store
    engine = EscalationEngine(store, WORKFLOW, batch_size=500)
    works: dict[str, Callable[[], int]] = {
        "subtree": lambda: read_subtree(store),
        "worklist": lambda: read_worklist(store),
        "with_tag": lambda: read_with_tag(store),
        "aged": lambda: read_aged(store),
        "sweep": lambda: len({e.case_id for e in engine.sweep(SWEEP_AT)}),
    }
    for name, work in works.items():
        seconds, n = _timed(work)
        if name == "sweep":
            if n != due:
                raise SystemExit(f"{district.size:,}: the sweep escalated {n} cases, not {due}")
            seconds /= due
            reset_due(base_url, f"bench_city_{district.size}")
        elif counts.setdefault(name, n) != n:
            raise SystemExit(f"{district.size:,}: {name} found {n}, not {counts[name]}")
        district.times.setdefault(name, []).append(seconds)


# --- EXPLAIN ---------------------------------------------------------------------------------


def plans(base_url: str, schema: str) -> dict[str, list[str]]:
    """Return ``EXPLAIN (ANALYZE, BUFFERS)`` of each query's first page, as text lines."""
    born_after, latest = birth_bounds(AS_OF, MIN_AGE, None)
    community = subtree_range(QUERY_COMMUNITY)
    statements: dict[str, tuple[str, tuple[Any, ...]]] = {
        "subtree": statement_of(
            SqlHouseholdRepository, lambda r: r.in_subtree(QUERY_CELL, limit=PAGE)
        ),
        "worklist": statement_of(
            SqlCareTaskRepository,
            lambda r: r.open_in_subtree(
                QUERY_CELL, starting_before=READ_AT.end_of("day"), limit=PAGE
            ),
        ),
        "with_tag": (
            SqlHouseholdRepository.TAG_SQL,
            (TAG.code, *community, "", "", "", PAGE + 1),
        ),
        "aged": (
            SqlHouseholdRepository.AGED_WITHIN_SQL,
            (
                "" if born_after is None else born_after.isoformat(),
                TOP if latest is None else latest.isoformat(),
                *community,
                "",
                "",
                PAGE + 1,
            ),
        ),
        "sweep": statement_of(SqlCaseRepository, lambda r: r.due(at_or_before=SWEEP_AT, limit=500)),
    }
    out: dict[str, list[str]] = {}
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        for name, (sql, params) in statements.items():
            rows = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("?", "%s"),
                params,
            ).fetchall()
            out[name] = [str(r[0]) for r in rows]
    return out


def indexes_used(lines: list[str]) -> str:
    """Return the names of the indexes a plan scans, or the tables it scans sequentially."""
    found: list[str] = []
    for line in lines:
        words = line.split()
        for scan in ("Index Scan using", "Index Only Scan using", "Bitmap Index Scan on"):
            if scan in line:
                name = words[words.index(scan.split()[-1]) + 1]
                found.append(name)
        if "Seq Scan on" in line:
            found.append("seq scan " + words[words.index("on") + 1])
    if any(line.lstrip().startswith("JIT:") for line in lines):
        found.append("JIT compiled")
    return ", ".join(dict.fromkeys(found)) or "none"


# --- main ------------------------------------------------------------------------------------


def _schema_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def _drop(base_url: str, schema: str) -> None:
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> None:
    """Build the districts, time the queries in rounds and print best times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs=2, default=[20_000, 700_000])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--due", type=int, default=200, help="due cases in each sweep")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--keep", action="store_true", help="keep the schemas at the end")
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes)
    with psycopg.connect(args.postgres) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    print(
        f"Python {platform.python_version()}, PostgreSQL {server[0] if server else '?'}, "
        f"psycopg {psycopg.__version__}, {platform.machine()}; best of {args.runs} rounds, "
        "the sizes taking turns",
        flush=True,
    )
    districts: list[District] = []
    try:
        for size in sizes:
            schema = f"bench_city_{size}"
            _drop(args.postgres, schema)
            url = _schema_url(args.postgres, schema)
            district = District(size, url, open_store(url))
            districts.append(district)
            load_households(district, args.postgres, schema)
            start = time.perf_counter()
            plan_query_community(district)
            load_cases(district, args.due, args.postgres, schema)
            analysed = _analyze(args.postgres, schema)
            print(
                f"    tasks: {district.tasks_mine:,} planned by plan_tasks in the query "
                f"community, {district.tasks_elsewhere:,} in {district.planned_communities} "
                f"other communities (cheap path); {district.cases:,} open cases, "
                f"{args.due} due; {time.perf_counter() - start:.1f} s with ANALYZE "
                f"({analysed:.1f} s)",
                flush=True,
            )
        print("EXPLAIN ANALYZE of each query's first page (indexes used; execution time):")
        for d in districts:
            explained = plans(args.postgres, f"bench_city_{d.size}")
            for name, lines in explained.items():
                took = next((x for x in lines if x.startswith("Execution Time")), "")
                print(f"  {d.size:>9,} {name:<9} {indexes_used(lines)}; {took}")
                if args.explain:
                    print("\n".join(f"      {x}" for x in lines))
            if "gg_residents_cell" not in indexes_used(explained["aged"]):
                print("  !! the aged-within query does not use gg_residents_cell")
        counts: dict[int, dict[str, int]] = {d.size: {} for d in districts}
        for k in range(args.runs):
            # The sizes take turns, and which goes first alternates from round to round.
            for d in districts if k % 2 == 0 else districts[::-1]:
                run_round(d, args.due, args.postgres, counts[d.size])
        if counts[sizes[0]] != counts[sizes[1]]:
            raise SystemExit(f"the query community differs between sizes: {counts}")
        found = counts[sizes[0]]
        small, large = districts
        print(f"{'query':<58} {small.size:>10,} {large.size:>10,}  ratio (target <= 1.3x)")
        labels = {
            "subtree": f"in_subtree, one grid ({found['subtree']} households, pages of {PAGE})",
            "worklist": f"worklist of one worker ({found['worklist']:,} tasks)",
            "with_tag": f"with_tag {TAG.code} within community ({found['with_tag']:,})",
            "aged": f"aged >= {MIN_AGE} within community ({found['aged']:,} residents)",
            "sweep": f"escalation sweep, per due case ({args.due} due)",
        }
        for name in QUERIES:
            a, b = min(small.times[name]), min(large.times[name])
            verdict = "met" if b / a <= 1.3 else "MISSED"
            print(
                f"{labels[name]:<58} {a * 1000:8.2f} ms {b * 1000:8.2f} ms  {b / a:5.2f}x {verdict}"
            )
    finally:
        for d in districts:
            d.store.close()
            if not args.keep:
                _drop(args.postgres, f"bench_city_{d.size}")


if __name__ == "__main__":
    main()
