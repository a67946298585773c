"""Bulk-save households and query one grid's subtree on SQLite and PostgreSQL, against baselines.

Run: ``python -m benchmarks.sql_store [--households 200000] [--postgres URL]``

Baselines, each loading the same households into the same schema:

- raw ``sqlite3.executemany`` / psycopg ``COPY`` of the same rows, with documents encoded before
  the clock starts: the limit of what the driver can take (target: gridgov >= 0.5 of its
  throughput);
- SQLAlchemy ORM ``session.add_all`` of equivalent mapped rows (household, residents, tags),
  what a user would otherwise write (target: gridgov faster).

The subtree query pages through one grid's households with gridgov, and runs the same range
query through the raw driver for comparison.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from benchmarks._orm import orm_save
from benchmarks._population import QUERY_CELL, cells, households
from gridgov.adapters import _sql
from gridgov.adapters.sqlite import SqliteStore
from gridgov.households import Household
from gridgov.ports import Store

Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]


def rows_of(population: Sequence[Household]) -> Rows:
    """Return the household, resident and tag rows gridgov writes, documents included."""
    homes: list[tuple[object, ...]] = []
    residents: list[tuple[object, ...]] = []
    tags: list[tuple[object, ...]] = []
    for h in population:
        homes.append((h.id, h.cell_code, 1, _sql.encode(h)))
        r, t = _sql.SqlHouseholdRepository._index_rows(h)
        residents.extend(r)
        tags.extend(t)
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
    "INSERT INTO gg_residents (id, household_id, cell_code, birth_date) VALUES (?, ?, ?, ?)",
    "INSERT INTO gg_resident_tags (tag, cell_code, household_id, resident_id) VALUES (?, ?, ?, ?)",
)


def raw_sqlite_save(path: Path, rows: Rows) -> None:
    """Insert pre-built rows with sqlite3.executemany in one transaction."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN")
    for sql, table_rows in zip(INSERTS, rows, strict=True):
        conn.executemany(sql, table_rows)
    conn.execute("COMMIT")
    conn.close()


def raw_sqlite_subtree(path: Path) -> int:
    """Run the subtree range query directly."""
    import sqlite3

    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT doc FROM gg_households WHERE cell_code >= ? AND cell_code < ?"
        " ORDER BY cell_code, id",
        (QUERY_CELL, QUERY_CELL + "\U0010ffff"),
    ).fetchall()
    conn.close()
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


def clock(work: Callable[[], object]) -> float:
    """Return the wall time of one call of ``work``."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print times and ratios."""
    parser = argparse.ArgumentParser(description="gridgov SQL storage benchmark")
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--postgres", default=os.environ.get("GRIDGOV_BENCH_POSTGRES"))
    args = parser.parse_args(argv)
    population = households(args.households)
    rows = rows_of(population)
    n = len(population)
    print(
        f"{n:,} households, {len(rows[1]):,} residents, {len(rows[2]):,} tags; "
        f"subtree of {QUERY_CELL}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "gridgov.db")
        seed_cells(store)
        ours = clock(lambda: gridgov_save(store, population))
        ours_q = clock(lambda: gridgov_subtree(store))
        store.close()

        raw_path = Path(tmp) / "raw.db"
        raw_store = SqliteStore(raw_path)  # same schema and cells, written by gridgov
        seed_cells(raw_store)
        raw_store.close()
        raw = clock(lambda: raw_sqlite_save(raw_path, rows))
        raw_q = clock(lambda: raw_sqlite_subtree(raw_path))
        orm = clock(lambda: orm_save(Path(tmp) / "orm.db", population))

    print(
        f"SQLite   save: gridgov {ours:7.2f} s ({n / ours:9,.0f}/s)   raw executemany "
        f"{raw:7.2f} s   throughput ratio {raw / ours:4.2f} (target >= 0.5)"
    )
    print(
        f"SQLite   save: SQLAlchemy ORM add_all {orm:7.2f} s   gridgov is {orm / ours:4.2f}x "
        f"as fast (target > 1)"
    )
    print(f"SQLite  query: gridgov {ours_q * 1000:7.1f} ms   raw {raw_q * 1000:7.1f} ms")

    if args.postgres:
        from gridgov.adapters.postgres import PostgresStore

        with postgres_schema(args.postgres) as url:
            pg = PostgresStore(url)
            seed_cells(pg)
            ours_pg = clock(lambda: gridgov_save(pg, population))
            ours_pg_q = clock(lambda: gridgov_subtree(pg))
            pg.close()
        with postgres_schema(args.postgres) as url:
            pg = PostgresStore(url)  # the schema and cells, then COPY into it
            seed_cells(pg)
            pg.close()
            base_url, schema = url.split("?schema=")
            copy_url = f"{base_url}?options=-csearch_path%3D{schema}"
            copy = clock(lambda: raw_postgres_copy(copy_url, rows))
        print(
            f"Postgres save: gridgov {ours_pg:7.2f} s ({n / ours_pg:9,.0f}/s)   COPY "
            f"{copy:7.2f} s   throughput ratio {copy / ours_pg:4.2f} (target >= 0.5)"
        )
        print(f"Postgres query: gridgov {ours_pg_q * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
