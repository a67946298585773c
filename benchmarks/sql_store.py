"""Bulk-save households and query one grid's subtree on SQLite and PostgreSQL, against baselines.

Run: ``python -m benchmarks.sql_store [--households 20000] [--runs 3] [--postgres URL]``
(20,000 households by default, about a minute; the published figures use 200,000.)

Baselines, each loading the same households into the same schema:

- raw ``sqlite3.executemany`` / psycopg ``COPY`` of the same rows, with documents encoded before
  the clock starts: the limit of what the driver can take (targets: gridgov >= 0.6 of its
  throughput on SQLite, >= 0.85 on PostgreSQL);
- SQLAlchemy ORM ``session.add_all`` of equivalent mapped rows (household, residents, tags),
  what a user would otherwise write (target: gridgov faster).

The subtree query pages through one grid's households with gridgov, and runs the same range
query through the raw driver, the documents left undecoded, for comparison (target: gridgov at
most 5x the raw query's time, the raw query opening its connection as when the target was set;
the same query on an open connection, with SQLite's page cache warm, is shown too).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._orm import orm_save
from benchmarks._population import QUERY_CELL, cells, households
from gridgov.adapters import _sql
from gridgov.adapters.sqlite import SqliteStore
from gridgov.households import Household
from gridgov.ports import Store
from gridgov.records.kinds import HOUSEHOLDS

if TYPE_CHECKING:
    import psycopg

Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]


def rows_of(population: Sequence[Household]) -> Rows:
    """Return the household, resident and tag rows gridgov writes, documents included."""
    homes: list[tuple[object, ...]] = []
    residents: list[tuple[object, ...]] = []
    tags: list[tuple[object, ...]] = []
    members, tagged = HOUSEHOLDS.children
    for h in population:
        homes.append(HOUSEHOLDS.row(h, 1, _sql.encode(h)))
        residents.extend(members.rows(h, None))  # no ID key: the digests stay NULL
        tags.extend(tagged.rows(h, None))
    return homes, residents, tags


def seed_cells(store: Store) -> None:
    """Store the benchmark's cell tree."""
    with store() as uow:
        for cell in cells():
            uow.cells.add(cell)
        uow.commit()


def gridgov_save(store: Store, population: Sequence[Household]) -> None:
    """Bulk-save through gridgov in one unit of work."""
    with store() as uow:
        uow.households.add_many(population, batch_size=5000)
        uow.commit()


def gridgov_subtree(store: Store) -> int:
    """Page through the query cell's households with gridgov."""
    n = 0
    with store() as uow:
        after = None
        while True:
            page = uow.households.in_subtree(QUERY_CELL, limit=1000, after=after)
            n += len(page)
            after = page.next_cursor
            if after is None:
                return n


INSERTS = (
    "INSERT INTO gg_households (id, cell_code, version, doc) VALUES (?, ?, ?, ?)",
    "INSERT INTO gg_residents (id, household_id, cell_code, birth_date, id_digest)"
    " VALUES (?, ?, ?, ?, ?)",
    "INSERT INTO gg_resident_tags (tag, cell_code, household_id, resident_id) VALUES (?, ?, ?, ?)",
)


def raw_sqlite_save(path: Path, rows: Rows) -> None:
    """Insert pre-built rows with sqlite3.executemany in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN")
    for sql, table_rows in zip(INSERTS, rows, strict=True):
        conn.executemany(sql, table_rows)
    conn.execute("COMMIT")
    conn.close()


def raw_sqlite_subtree_connecting(path: Path) -> int:
    """Open a connection, run the subtree range query and close: the issue's raw figure."""
    conn = sqlite3.connect(path)
    try:
        return raw_sqlite_subtree(conn)
    finally:
        conn.close()


def raw_sqlite_subtree(conn: sqlite3.Connection) -> int:
    """Run the subtree range query directly on an open connection."""
    rows = conn.execute(
        "SELECT doc FROM gg_households WHERE cell_code >= ? AND cell_code < ?"
        " ORDER BY cell_code, id",
        (QUERY_CELL, QUERY_CELL + "\U0010ffff"),
    ).fetchall()
    return len(rows)


def raw_postgres_copy(url: str, rows: Rows) -> None:
    """Load pre-built rows with psycopg COPY in one transaction."""
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for sql, table_rows in zip(INSERTS, rows, strict=True):
            table, columns = sql.split("INSERT INTO ")[1].split(" VALUES")[0].split(" ", 1)
            with cur.copy(f"COPY {table} {columns} FROM STDIN") as copy:
                for row in table_rows:
                    copy.write_row(row)
        conn.commit()


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """Yield a store URL on a fresh schema, dropped afterwards."""
    import psycopg

    schema = f"gridgov_bench_{uuid.uuid4().hex[:8]}"
    try:
        yield f"{url}?schema={schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def clock(work: Callable[[], object], timer: Callable[[], float] = time.perf_counter) -> float:
    """Return the time of one call of ``work``: wall time, or what ``timer`` counts."""
    start = timer()
    work()
    return timer() - start


def best(
    runs: int, work: Callable[[], object], timer: Callable[[], float] = time.perf_counter
) -> float:
    """Return the best time of ``runs`` calls of ``work``."""
    return min(clock(work, timer) for _ in range(runs))


def raw_postgres_subtree(conn: psycopg.Connection[Any]) -> int:
    """Run the subtree range query directly on an open connection, the documents as text."""
    rows = conn.execute(
        "SELECT doc::text FROM gg_households WHERE cell_code >= %s AND cell_code < %s"
        " ORDER BY cell_code, id",
        (QUERY_CELL, QUERY_CELL + "\U0010ffff"),
    ).fetchall()
    return len(rows)


QUERY_RUNS = 5  # the subtree queries are short: best of five


def sqlite_figures(
    population: list[Household], rows: Rows, args: argparse.Namespace
) -> dict[str, float]:
    """Time gridgov and the baselines on SQLite; every save goes into a fresh database."""
    timer = time.process_time if args.cpu else time.perf_counter
    saves: list[float] = []
    raws: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            store = SqliteStore(Path(tmp) / f"gridgov{run}.db")
            seed_cells(store)
            saves.append(clock(partial(gridgov_save, store, population), timer))
            store.close()
            raw_path = Path(tmp) / f"raw{run}.db"
            raw_store = SqliteStore(raw_path)  # same schema and cells, written by gridgov
            seed_cells(raw_store)
            raw_store.close()
            raws.append(clock(partial(raw_sqlite_save, raw_path, rows), timer))
        store = SqliteStore(Path(tmp) / "gridgov0.db")
        query = best(QUERY_RUNS, partial(gridgov_subtree, store), timer)
        store.close()
        raw_path = Path(tmp) / "raw0.db"
        connecting = best(QUERY_RUNS, partial(raw_sqlite_subtree_connecting, raw_path), timer)
        conn = sqlite3.connect(raw_path)
        raw_query = best(QUERY_RUNS, partial(raw_sqlite_subtree, conn), timer)
        conn.close()
        orm = clock(partial(orm_save, Path(tmp) / "orm.db", population), timer) if args.orm else 0
    return {
        "save": min(saves),
        "raw": min(raws),
        "query": query,
        "raw_query": raw_query,
        "raw_connecting": connecting,
        "orm": orm,
    }


def postgres_figures(
    url: str, population: Sequence[Household], rows: Rows, runs: int
) -> dict[str, float]:
    """Time gridgov and COPY on PostgreSQL; every save goes into a fresh schema."""
    import psycopg

    from gridgov.adapters.postgres import PostgresStore

    saves: list[float] = []
    copies: list[float] = []
    for run in range(runs):
        with postgres_schema(url) as store_url:
            pg = PostgresStore(store_url)
            seed_cells(pg)
            saves.append(clock(lambda: gridgov_save(pg, population)))  # noqa: B023
            if run == 0:
                query = best(QUERY_RUNS, partial(gridgov_subtree, pg))
            pg.close()
        with postgres_schema(url) as store_url:
            pg = PostgresStore(store_url)  # the schema and cells, then COPY into it
            seed_cells(pg)
            pg.close()
            base_url, schema = store_url.split("?schema=")
            copy_url = f"{base_url}?options=-csearch_path%3D{schema}"
            copies.append(clock(lambda: raw_postgres_copy(copy_url, rows)))  # noqa: B023
            if run == 0:
                with psycopg.connect(copy_url) as conn:
                    raw_query = best(QUERY_RUNS, partial(raw_postgres_subtree, conn))
    return {"save": min(saves), "raw": min(copies), "query": query, "raw_query": raw_query}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print times and ratios."""
    parser = argparse.ArgumentParser(description="gridgov SQL storage benchmark")
    parser.add_argument(
        "--households",
        type=int,
        default=20_000,
        help="households to save (default 20,000, about a minute; 200,000 for the record)",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="saves per contender, the best one counted"
    )
    parser.add_argument(
        "--orm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the SQLAlchemy ORM too (about 1 ms a household)",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="on SQLite, count this process's CPU time instead of wall time (steadier on a "
        "shared machine; PostgreSQL is always timed by the wall clock)",
    )
    parser.add_argument("--postgres", default=os.environ.get("GRIDGOV_BENCH_POSTGRES"))
    args = parser.parse_args(argv)
    population = households(args.households)
    rows = rows_of(population)
    n = len(population)
    print(
        f"{n:,} households, {len(rows[1]):,} residents, {len(rows[2]):,} tags; "
        f"subtree of {QUERY_CELL}: {sum(h.cell_code.startswith(QUERY_CELL) for h in population):,}"
        f" households; saves best of {args.runs}, queries best of {QUERY_RUNS}"
    )

    lite = sqlite_figures(population, rows, args)
    if args.cpu:
        print("SQLite figures are CPU times of this process")
    print(
        f"SQLite   save: gridgov {lite['save']:7.2f} s ({n / lite['save']:9,.0f}/s)   raw "
        f"executemany {lite['raw']:7.2f} s   throughput ratio {lite['raw'] / lite['save']:4.2f}"
        " (target >= 0.6)"
    )
    if args.orm:
        print(
            f"SQLite   save: SQLAlchemy ORM add_all {lite['orm']:7.2f} s   gridgov is "
            f"{lite['orm'] / lite['save']:4.2f}x as fast (target > 1)"
        )
    print(
        f"SQLite  query: gridgov {lite['query'] * 1000:7.1f} ms   raw, connecting "
        f"{lite['raw_connecting'] * 1000:7.1f} ms   gridgov / raw "
        f"{lite['query'] / lite['raw_connecting']:5.1f}x (target <= 5)"
    )
    print(
        f"SQLite  query: raw on an open connection {lite['raw_query'] * 1000:7.1f} ms   "
        f"gridgov / raw {lite['query'] / lite['raw_query']:5.1f}x (the driver's floor)"
    )

    if args.postgres:
        pg = postgres_figures(args.postgres, population, rows, args.runs)
        print(
            f"Postgres save: gridgov {pg['save']:7.2f} s ({n / pg['save']:9,.0f}/s)   COPY "
            f"{pg['raw']:7.2f} s   throughput ratio {pg['raw'] / pg['save']:4.2f}"
            " (target >= 0.85)"
        )
        print(
            f"Postgres query: gridgov {pg['query'] * 1000:7.1f} ms   raw "
            f"{pg['raw_query'] * 1000:7.1f} ms   gridgov / raw "
            f"{pg['query'] / pg['raw_query']:5.1f}x"
        )


if __name__ == "__main__":
    main()
