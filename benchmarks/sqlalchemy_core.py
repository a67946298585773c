"""gridgov's hand-written SQL and dialects against SQLAlchemy Core, on the same rows and schema.

Run: ``python -m benchmarks.sqlalchemy_core [--households 200000] [--postgres URL]
[--mariadb URL] [--runs 5]``

Evidence for one design question: should the SQL adapters be built on SQLAlchemy Core (one
``Table`` metadata, many dialects) instead of gridgov's own ``Dialect`` layer? Every contender
works on the same pre-encoded rows (``benchmarks.sql_store.rows_of``) and the gg_households,
gg_residents and gg_resident_tags tables exactly as the current migrations create them (a
SqliteStore or PostgresStore creates the schema and stores the cells before each load).

a. Bulk save of the households', residents' and tags' rows in one transaction:
   gridgov's dialect path (``SqlUnitOfWork.insert_many`` -> ``Dialect.insert_many``:
   ``executemany`` on SQLite, ``COPY`` on PostgreSQL), SQLAlchemy Core
   ``conn.execute(table.insert(), rows)`` (which, without RETURNING, hands the rows to the
   driver's ``executemany`` on these dialects), Core with its insertmanyvalues batching forced
   (multi-row ``INSERT ... VALUES``, 1,000 rows a statement), and the raw driver.
b. Subtree read of one grid: gridgov's keyset query (``statement_of`` ``in_subtree``),
   500 rows a page, undecoded rows, through the raw DB-API cursor, through gridgov's unit of
   work (placeholder rewrite and error translation), and as a Core ``select()`` built once from
   the ``Table`` (Core then finds its compiled form in its cache at each execution) or built
   anew for each page (what repository code usually does; still a cache hit).
c. Per-statement overhead: 10,000 single-row gets by key, the same four ways.

MariaDB (``--mariadb mysql+pymysql://root@127.0.0.1:3306``, PyMySQL installed) runs (a) and (b)
with the raw driver and Core only, on hand-written tables of the same columns: gridgov has no
MySQL dialect here. Times are measured, never asserted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from benchmarks._population import QUERY_CELL, households
from benchmarks.sql_store import (
    INSERTS,
    Rows,
    postgres_schema,
    raw_postgres_copy,
    rows_of,
    seed_cells,
)
from gridgov.adapters._sql import PooledSqlStore
from gridgov.adapters._sql_kinds import SqlHouseholdRepository
from gridgov.adapters.sql import statement_of
from gridgov.adapters.sqlite import SqliteStore
from gridgov.records import kinds

PAGE = 500
GETS = 10_000
TOP = "\U0010ffff"
SUBTREE_SQL = statement_of(SqlHouseholdRepository, lambda r: r.in_subtree(QUERY_CELL, limit=PAGE))[
    0
]
GET_SQL = "SELECT version, doc FROM gg_households WHERE id = ?"

# -- the three tables as SQLAlchemy metadata (types as the migrations declare them) ----------

METADATA = sa.MetaData()
# TEXT on SQLite and MariaDB, JSONB on PostgreSQL (its migration's type). The documents arrive
# encoded: the engines below are given an identity JSON serializer, so Core passes them through.
DOC = sa.Text().with_variant(JSONB(), "postgresql")
HOUSEHOLDS = sa.Table(
    "gg_households",
    METADATA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("cell_code", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("doc", DOC, nullable=False),
)
RESIDENTS = sa.Table(
    "gg_residents",
    METADATA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("household_id", sa.Text, nullable=False),
    sa.Column("cell_code", sa.Text, nullable=False),
    sa.Column("birth_date", sa.Text),
    sa.Column("id_digest", sa.Text),
)
TAGS = sa.Table(
    "gg_resident_tags",
    METADATA,
    sa.Column("tag", sa.Text, primary_key=True),
    sa.Column("cell_code", sa.Text, primary_key=True),
    sa.Column("household_id", sa.Text, primary_key=True),
    sa.Column("resident_id", sa.Text, primary_key=True),
)
TABLES = (HOUSEHOLDS, RESIDENTS, TAGS)
COLUMNS = tuple(t.column_names for t in kinds.HOUSEHOLDS.tables())

DictRows = tuple[list[dict[str, object]], ...]


def subtree_select() -> sa.Select[Any]:
    """Return gridgov's subtree keyset query as a Core ``select()`` over ``HOUSEHOLDS``."""
    h = HOUSEHOLDS.c
    return (
        sa.select(h.cell_code, h.id, h.version, h.doc)
        .where(
            h.cell_code >= sa.bindparam("low"),
            h.cell_code < sa.bindparam("high"),
            sa.or_(
                h.cell_code > sa.bindparam("after_cell"),
                sa.and_(h.cell_code == sa.bindparam("after_cell"), h.id > sa.bindparam("after_id")),
            ),
        )
        .order_by(h.cell_code, h.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


def get_select() -> sa.Select[Any]:
    """Return the single-row get by key as a Core ``select()``."""
    h = HOUSEHOLDS.c
    return sa.select(h.version, h.doc).where(h.id == sa.bindparam("id"))


def as_dicts(rows: Rows) -> DictRows:
    """Return the rows as the mappings Core's executemany takes."""
    return tuple(
        [dict(zip(columns, row, strict=True)) for row in table_rows]
        for columns, table_rows in zip(COLUMNS, rows, strict=True)
    )


# -- engines and connections --------------------------------------------------------------


def _passthrough(doc: object) -> object:
    return doc


def sqlite_pragmas(conn: Any) -> None:
    """Set the pragmas every gridgov SQLite connection runs with."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


def sqlite_engine(path: Path, *, batched: bool = False) -> sa.Engine:
    """Return a Core engine on the SQLite file with gridgov's pragmas."""
    engine = sa.create_engine(f"sqlite:///{path}")
    sa.event.listen(engine, "connect", lambda dbapi_conn, _record: sqlite_pragmas(dbapi_conn))
    engine.dialect.use_insertmanyvalues_wo_returning = batched
    return engine


def postgres_engine(url: str, *, batched: bool = False) -> sa.Engine:
    """Return a Core engine (psycopg 3) on a ``...?schema=NAME`` store URL, as gridgov connects."""
    base, schema = url.split("?schema=")
    engine = sa.create_engine(
        base.replace("postgresql://", "postgresql+psycopg://", 1),
        connect_args={"options": f"-csearch_path={schema}"},
        json_serializer=_passthrough,
    )

    def text_documents(dbapi_conn: Any, _record: object) -> None:
        from psycopg.types.string import TextLoader

        dbapi_conn.adapters.register_loader("jsonb", TextLoader)  # undecoded, as gridgov reads

    sa.event.listen(engine, "connect", text_documents)
    engine.dialect.use_insertmanyvalues_wo_returning = batched
    return engine


def psycopg_connect(url: str, *, autocommit: bool = False) -> Any:
    """Return a raw psycopg connection on the store URL's schema, documents read as text."""
    import psycopg
    from psycopg.types.string import TextLoader

    base, schema = url.split("?schema=")
    conn = psycopg.connect(base, autocommit=autocommit, options=f"-csearch_path={schema}")
    conn.adapters.register_loader("jsonb", TextLoader)
    return conn


# -- a. bulk save -------------------------------------------------------------------------


def dialect_save(store: PooledSqlStore, rows: Rows) -> None:
    """Insert the rows through gridgov's unit of work and dialect (executemany or COPY)."""
    with store() as uow:
        uow.write()
        for table, columns, table_rows in zip(TABLES, COLUMNS, rows, strict=True):
            uow.insert_many(table.name, columns, table_rows)
        uow.commit()


def core_save(engine: sa.Engine, rows: DictRows) -> None:
    """Insert the rows with ``conn.execute(table.insert(), rows)`` in one transaction."""
    with engine.begin() as conn:
        for table, table_rows in zip(TABLES, rows, strict=True):
            conn.execute(table.insert(), table_rows)


def raw_sqlite_save(path: Path, rows: Rows) -> None:
    """Insert the rows with ``sqlite3.executemany`` in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    sqlite_pragmas(conn)
    conn.execute("BEGIN")
    for sql, table_rows in zip(INSERTS, rows, strict=True):
        conn.executemany(sql, table_rows)
    conn.execute("COMMIT")
    conn.close()


def raw_psycopg_executemany(url: str, rows: Rows) -> None:
    """Insert the rows with psycopg's ``executemany`` (pipelined) in one transaction."""
    with psycopg_connect(url) as conn, conn.cursor() as cur:
        for sql, table_rows in zip(INSERTS, rows, strict=True):
            cur.executemany(sql.replace("?", "%s"), table_rows)
        conn.commit()


# -- b. subtree read and c. gets ------------------------------------------------------------


def pages(fetch: Callable[[tuple[str, str]], Sequence[Sequence[Any]]]) -> int:
    """Page through the query cell's rows with ``fetch(after)``; return the row count."""
    n = 0
    after = ("", "")
    while True:
        rows = fetch(after)
        n += min(len(rows), PAGE)
        if len(rows) <= PAGE:
            return n
        last = rows[PAGE - 1]
        after = (last[0], last[1])


def subtree_params(after: tuple[str, str]) -> tuple[object, ...]:
    """Return the positional parameters of ``SUBTREE_SQL``."""
    return (QUERY_CELL, QUERY_CELL + TOP, *after, PAGE + 1)


def subtree_binds(after: tuple[str, str]) -> dict[str, object]:
    """Return the named parameters of ``subtree_select()``."""
    return {
        "low": QUERY_CELL,
        "high": QUERY_CELL + TOP,
        "after_cell": after[0],
        "after_id": after[1],
        "limit": PAGE + 1,
    }


def cursor_subtree(cur: Any, placeholder: str) -> int:
    """Read the subtree with the hand-written SQL on a DB-API cursor."""
    sql = SUBTREE_SQL.replace("?", placeholder)

    def fetch(after: tuple[str, str]) -> Sequence[Sequence[Any]]:
        cur.execute(sql, subtree_params(after))  # PyMySQL's execute returns a count
        rows: Sequence[Sequence[Any]] = cur.fetchall()
        return rows

    return pages(fetch)


def uow_subtree(store: PooledSqlStore) -> int:
    """Read the subtree with the hand-written SQL through gridgov's unit of work."""
    with store() as uow:
        return pages(lambda after: uow.query(SUBTREE_SQL, subtree_params(after)))


def core_subtree(conn: sa.Connection, *, prebuilt: bool) -> int:
    """Read the subtree with a Core ``select()`` (built once, or for each page)."""
    statement = subtree_select()

    def fetch(after: tuple[str, str]) -> Sequence[Sequence[Any]]:
        stmt = statement if prebuilt else subtree_select()
        return conn.execute(stmt, subtree_binds(after)).all()

    return pages(fetch)


def cursor_gets(cur: Any, placeholder: str, keys: Sequence[str]) -> int:
    """Get each key with the hand-written SQL on a DB-API cursor."""
    sql = GET_SQL.replace("?", placeholder)
    n = 0
    for k in keys:
        cur.execute(sql, (k,))
        n += cur.fetchone() is not None
    return n


def uow_gets(store: PooledSqlStore, keys: Sequence[str]) -> int:
    """Get each key through gridgov's unit of work (``query_one``)."""
    with store() as uow:
        return sum(uow.query_one(GET_SQL, (k,)) is not None for k in keys)


def core_gets(conn: sa.Connection, keys: Sequence[str], *, prebuilt: bool) -> int:
    """Get each key with a Core ``select()`` (built once, or for each get)."""
    statement = get_select()
    n = 0
    for k in keys:
        stmt = statement if prebuilt else get_select()
        n += conn.execute(stmt, {"id": k}).first() is not None
    return n


# -- timing and printing ------------------------------------------------------------------


def clock(work: Callable[[], object]) -> float:
    """Return the wall time of one call of ``work``."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def best_in_turns(runs: int, contenders: Mapping[str, Callable[[], int]]) -> dict[str, float]:
    """Run the contenders in turn ``runs`` times; return each one's best time.

    Raises:
        AssertionError: If the contenders disagree on the number of rows they read.
    """
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(runs):
        counts = set()
        for name, work in contenders.items():
            start = time.perf_counter()
            counts.add(work())
            best[name] = min(best[name], time.perf_counter() - start)
        if len(counts) != 1:
            raise AssertionError(f"the contenders read different row counts: {counts}")
    return best


def report(title: str, times: Mapping[str, float], base: str, unit: str = "s") -> None:
    """Print each contender's time and its ratio to ``base``."""
    print(f"\n{title}")
    for name, t in times.items():
        shown = f"{t:8.2f} s" if unit == "s" else f"{t * 1000:8.1f} ms"
        print(f"  {name:<44} {shown}   {t / times[base]:5.2f}x {base}")


def reads(
    title: str, runs: int, keys: Sequence[str], contenders: Mapping[str, Callable[[str], int]]
) -> None:
    """Time the subtree read (``"subtree"``) and the gets (``"gets"``) of each contender."""
    subtree = best_in_turns(runs, {n: partial(f, "subtree") for n, f in contenders.items()})
    report(f"{title}: subtree of {QUERY_CELL}, pages of {PAGE} (best of {runs})", subtree,
           "cursor", "ms")  # fmt: skip
    gets = best_in_turns(runs, {n: partial(f, "gets") for n, f in contenders.items()})
    report(f"{title}: {len(keys):,} gets by key (best of {runs})", gets, "cursor", "ms")
    per = {n: t / len(keys) * 1e6 for n, t in gets.items()}
    print("  per get: " + ", ".join(f"{n} {us:.1f} µs" for n, us in per.items()))


def contenders(
    cur: Any, mark: str, store: PooledSqlStore, conn: sa.Connection, keys: Sequence[str]
) -> dict[str, Callable[[str], int]]:
    """Return the read contenders: the DB-API cursor, gridgov, and Core's two ways."""
    return {
        "cursor": lambda what: (
            cursor_subtree(cur, mark) if what == "subtree" else cursor_gets(cur, mark, keys)
        ),
        "gridgov unit of work": lambda what: (
            uow_subtree(store) if what == "subtree" else uow_gets(store, keys)
        ),
        "Core select(), built once": lambda what: (
            core_subtree(conn, prebuilt=True)
            if what == "subtree"
            else core_gets(conn, keys, prebuilt=True)
        ),
        "Core select(), built each time": lambda what: (
            core_subtree(conn, prebuilt=False)
            if what == "subtree"
            else core_gets(conn, keys, prebuilt=False)
        ),
    }


# -- the backends -------------------------------------------------------------------------


def run_sqlite(rows: Rows, dict_rows: DictRows, keys: Sequence[str], runs: int) -> None:
    """Run (a), (b) and (c) on SQLite."""
    with tempfile.TemporaryDirectory() as tmp:

        def fresh(name: str) -> Path:
            path = Path(tmp) / f"{name}.db"
            store = SqliteStore(path)
            seed_cells(store)
            store.close()
            return path

        dialect_path = fresh("dialect")
        store = SqliteStore(dialect_path)
        saves = {"gridgov dialect (executemany)": clock(lambda: dialect_save(store, rows))}
        path = fresh("core")
        engine = sqlite_engine(path)
        saves["SQLAlchemy Core insert()"] = clock(lambda: core_save(engine, dict_rows))
        engine.dispose()
        path = fresh("batched")
        batched = sqlite_engine(path, batched=True)
        saves["Core insert(), insertmanyvalues forced"] = clock(
            lambda: core_save(batched, dict_rows)
        )
        batched.dispose()
        path = fresh("raw")
        saves["raw sqlite3 executemany"] = clock(lambda: raw_sqlite_save(path, rows))
        report("SQLite a. bulk save (one run each)", saves, "gridgov dialect (executemany)")

        raw = sqlite3.connect(dialect_path)
        sqlite_pragmas(raw)
        cur = raw.cursor()
        engine = sqlite_engine(dialect_path)
        with engine.connect() as conn:
            reads("SQLite", runs, keys, contenders(cur, "?", store, conn, keys))
        engine.dispose()
        raw.close()
        store.close()


def run_postgres(url: str, rows: Rows, dict_rows: DictRows, keys: Sequence[str], runs: int) -> None:
    """Run (a), (b) and (c) on PostgreSQL, each load in a fresh schema."""
    from gridgov.adapters.postgres import PostgresStore

    @contextmanager
    def fresh() -> Iterator[str]:
        with postgres_schema(url) as store_url:
            store = PostgresStore(store_url)
            seed_cells(store)
            store.close()
            yield store_url

    saves: dict[str, float] = {}
    with postgres_schema(url) as kept:  # the dialect's load, kept for the reads
        store = PostgresStore(kept)
        seed_cells(store)
        saves["gridgov dialect (COPY)"] = clock(lambda: dialect_save(store, rows))
        with fresh() as store_url:
            engine = postgres_engine(store_url)
            saves["SQLAlchemy Core insert()"] = clock(lambda: core_save(engine, dict_rows))
            engine.dispose()
        with fresh() as store_url:
            batched = postgres_engine(store_url, batched=True)
            saves["Core insert(), insertmanyvalues forced"] = clock(
                lambda: core_save(batched, dict_rows)
            )
            batched.dispose()
        with fresh() as store_url:
            base, schema = store_url.split("?schema=")
            copy_url = f"{base}?options=-csearch_path%3D{schema}"
            saves["raw psycopg COPY"] = clock(lambda: raw_postgres_copy(copy_url, rows))
        with fresh() as store_url:
            saves["raw psycopg executemany"] = clock(
                lambda: raw_psycopg_executemany(store_url, rows)
            )
        report("PostgreSQL a. bulk save (one run each)", saves, "gridgov dialect (COPY)")

        raw = psycopg_connect(kept, autocommit=True)  # gridgov reads outside transactions
        cur = raw.cursor()
        engine = postgres_engine(kept)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            reads("PostgreSQL", runs, keys, contenders(cur, "%s", store, conn, keys))
        engine.dispose()
        raw.close()
        store.close()


MARIADB_TABLES = (
    """CREATE TABLE gg_households (
        id VARCHAR(100) PRIMARY KEY,
        cell_code VARCHAR(100) NOT NULL,
        version INTEGER NOT NULL,
        doc LONGTEXT NOT NULL,
        INDEX gg_households_cell (cell_code, id)
    )""",
    """CREATE TABLE gg_residents (
        id VARCHAR(100) PRIMARY KEY,
        household_id VARCHAR(100) NOT NULL,
        cell_code VARCHAR(100) NOT NULL,
        birth_date VARCHAR(10),
        id_digest VARCHAR(64),
        INDEX gg_residents_household (household_id),
        INDEX gg_residents_birth (birth_date, id),
        FOREIGN KEY (household_id) REFERENCES gg_households (id)
    )""",
    """CREATE TABLE gg_resident_tags (
        tag VARCHAR(100) NOT NULL,
        cell_code VARCHAR(100) NOT NULL,
        household_id VARCHAR(100) NOT NULL,
        resident_id VARCHAR(100) NOT NULL,
        PRIMARY KEY (tag, cell_code, household_id, resident_id),
        INDEX gg_resident_tags_household (household_id),
        FOREIGN KEY (household_id) REFERENCES gg_households (id),
        FOREIGN KEY (resident_id) REFERENCES gg_residents (id)
    )""",
)


def run_mariadb(url: str, rows: Rows, dict_rows: DictRows, keys: Sequence[str], runs: int) -> None:
    """Run (a) and (b) on MariaDB with PyMySQL and Core, each load in a fresh database."""
    pymysql: Any = importlib.import_module("pymysql")
    server = sa.make_url(url)

    def connect(database: str | None = None) -> Any:
        return pymysql.connect(
            host=server.host,
            port=server.port or 3306,
            user=server.username,
            password=server.password or "",
            database=database,
            charset="utf8mb4",
        )

    @contextmanager
    def fresh() -> Iterator[str]:
        name = f"gridgov_bench_{uuid.uuid4().hex[:8]}"
        admin = connect()
        try:
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            db = connect(name)
            with db.cursor() as cur:
                for ddl in MARIADB_TABLES:
                    cur.execute(ddl)
            db.close()
            yield name
        finally:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.close()

    def raw_save(name: str) -> None:
        conn = connect(name)
        with conn.cursor() as cur:
            for sql, table_rows in zip(INSERTS, rows, strict=True):
                cur.executemany(sql.replace("?", "%s"), table_rows)
        conn.commit()
        conn.close()

    def engine_on(name: str) -> sa.Engine:
        return sa.create_engine(server.set(database=name, query={"charset": "utf8mb4"}))

    saves: dict[str, float] = {}
    with fresh() as kept:
        saves["raw PyMySQL executemany"] = clock(lambda: raw_save(kept))
        with fresh() as name:
            engine = engine_on(name)
            saves["SQLAlchemy Core insert()"] = clock(lambda: core_save(engine, dict_rows))
            engine.dispose()
        report("MariaDB a. bulk save (one run each)", saves, "raw PyMySQL executemany")

        raw = connect(kept)
        raw.autocommit(True)
        cur = raw.cursor()
        engine = engine_on(kept)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            subtree = best_in_turns(
                runs,
                {
                    "cursor": lambda: cursor_subtree(cur, "%s"),
                    "Core select(), built once": lambda: core_subtree(conn, prebuilt=True),
                },
            )
        report(f"MariaDB b. subtree, pages of {PAGE} (best of {runs})", subtree, "cursor", "ms")
        engine.dispose()
        raw.close()


def import_time() -> str:
    """Return how long ``import sqlalchemy`` takes in a fresh interpreter (``-X importtime``)."""
    import subprocess
    import sys

    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sqlalchemy"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    for line in err.splitlines():
        fields = line.split("|")
        if line.startswith("import time:") and fields[2].strip() == "sqlalchemy":
            return f"{int(fields[1]) / 1000:.0f} ms"
    return "?"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print times and ratios."""
    parser = argparse.ArgumentParser(description="gridgov dialects against SQLAlchemy Core")
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--postgres", default=os.environ.get("GRIDGOV_BENCH_POSTGRES"))
    parser.add_argument("--mariadb", default=os.environ.get("GRIDGOV_BENCH_MARIADB"))
    parser.add_argument("--runs", type=int, default=5, help="rounds of the reads")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args(argv)

    population = households(args.households)
    rows = rows_of(population)
    start = time.perf_counter()
    dict_rows = as_dicts(rows)
    to_dicts = time.perf_counter() - start
    keys = [h.id for h in random.Random(7).sample(population, min(GETS, len(population)))]
    del population
    print(
        f"SQLAlchemy {sa.__version__} (import {import_time()}, -X importtime), "
        f"{args.households:,} households, {len(rows[1]):,} residents, {len(rows[2]):,} tags; "
        f"the rows as dicts for Core: {to_dicts:.2f} s (not in the save times)"
    )
    if not args.no_sqlite:
        run_sqlite(rows, dict_rows, keys, args.runs)
    if args.postgres:
        run_postgres(args.postgres, rows, dict_rows, keys, args.runs)
    if args.mariadb:
        run_mariadb(args.mariadb, rows, dict_rows, keys, args.runs)


if __name__ == "__main__":
    main()
