"""The SQL stores' connection pool: bounded, a minimum kept, idle ones closed, statements timed.

The store tests run on a SQLite file, on PostgreSQL and on MariaDB. Connections are counted where
they live: by the server (``pg_stat_activity`` for the store's ``application_name``,
``information_schema.PROCESSLIST`` for its database), and by the pool itself for SQLite.
Waiting for the reaper is a bounded poll, never a timing assertion.
"""

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from gridgov import open_store
from gridgov.adapters._pool import ConnectionPool, PoolOptions, PoolStatus, statement_timed_out
from gridgov.adapters._sql import PooledSqlStore
from gridgov.adapters.sqlite import SqliteStore
from gridgov.errors import StorageError, ValidationError
from gridgov.problems import problem_document

SETTLE = 20.0  # seconds a poll waits for the pool or the server to reach a state
REAPER = "gridgov pool reaper"


def _settle(read: Callable[[], object], expected: object) -> object:
    """Return ``read()`` once it equals ``expected``, or its last value after ``SETTLE`` s."""
    deadline = time.monotonic() + SETTLE
    while True:
        value = read()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


class Backend:
    """A database to open stores on, and a way to count the connections a store holds."""

    def __init__(
        self, url: str, count: Callable[[PooledSqlStore], int], long_statement: str
    ) -> None:
        self.url = url
        self.count = count
        self.long_statement = long_statement
        self.opened: list[PooledSqlStore] = []

    def open(self, **options: float) -> PooledSqlStore:
        """Open a store with ``options`` in its URL's query."""
        sep = "&" if "?" in self.url else "?"
        store = open_store(f"{self.url}{sep}{urlencode(options)}" if options else self.url)
        assert isinstance(store, PooledSqlStore)
        self.opened.append(store)
        return store


# A statement that runs for seconds on SQLite: counting to 10^8 with a recursive query.
_SQLITE_LONG = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
    "SELECT count(*) FROM c"
)


def _postgres(schema_url: str, server_url: str) -> Backend:
    import psycopg

    name = schema_url.split("?schema=")[1]  # the schema's name, unique to the test

    def count(store: PooledSqlStore) -> int:
        with psycopg.connect(server_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    return Backend(f"{schema_url}&application_name={name}", count, "SELECT pg_sleep(60)")


def _mysql(database_url: str) -> Backend:
    import pymysql

    from gridgov.adapters.mysql import _parse

    args = _parse(database_url)
    database = args.pop("database")

    def count(store: PooledSqlStore) -> int:
        conn = pymysql.connect(**args, autocommit=True)  # no database: not counted itself
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s", (database,)
                )
                row = cur.fetchone()
        finally:
            conn.close()
        assert row is not None
        return int(row[0])

    return Backend(database_url, count, "SELECT SLEEP(60)")


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Return a fresh SQLite file, PostgreSQL schema or MariaDB database; close its stores after."""
    if request.param == "sqlite":
        found = Backend(
            f"sqlite:///{tmp_path / 'ledger.db'}",
            lambda store: store.pool_status().open,
            _SQLITE_LONG,
        )
    elif request.param == "postgresql":
        found = _postgres(
            request.getfixturevalue("postgres_schema"), request.getfixturevalue("postgres_url")
        )
    else:
        found = _mysql(request.getfixturevalue("mysql_database"))
    yield found
    for store in found.opened:
        store.close()


def test_a_burst_opens_at_most_pool_max_size_and_the_pool_drops_back_to_the_minimum(
    backend: Backend,
) -> None:
    """32 threads at once hold at most 4 connections; once idle for 0.2 s, 1 is left open.

    The first 4 units hold their connections until all 28 others wait for one, so the burst
    asks for 32 at the same moment; the server's count is sampled throughout. The idle
    connections are then closed by the reaper, with no further unit of work.
    """
    store = backend.open(pool_max_size=4, pool_min_size=1, pool_max_idle=0.2, pool_timeout=60)
    go = threading.Event()
    done: list[int] = []
    samples: list[int] = []
    sampling = threading.Event()

    def unit() -> None:
        with store() as uow:
            uow.query("SELECT 1")
            go.wait(timeout=60)
        done.append(1)

    def sample() -> None:
        while not sampling.is_set():
            samples.append(backend.count(store))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    burst = [threading.Thread(target=unit) for _ in range(32)]
    for t in burst:
        t.start()
    at_peak = _settle(store.pool_status, PoolStatus(open=4, idle=0, waiting=28))
    samples.append(backend.count(store))
    go.set()
    for t in burst:
        t.join()
    sampling.set()
    sampler.join()
    quiet = _settle(lambda: backend.count(store), 1)
    # The server's own list may lag behind a busy machine: it must never show more than 4.
    assert (PoolStatus(4, 0, 28), True, 32, 1) == (
        at_peak,
        1 <= max(samples) <= 4,
        len(done),
        quiet,
    )


def test_a_borrower_beyond_the_maximum_waits_its_turn(backend: Backend) -> None:
    """With both connections borrowed, a third unit waits and gets the first one given back."""
    store = backend.open(pool_max_size=2, pool_timeout=60)
    got: list[object] = []

    def third() -> None:
        with store() as uow:
            got.append(uow.query("SELECT 1"))

    with store() as first, store() as second:
        first.query("SELECT 1")
        second.query("SELECT 1")
        waiter = threading.Thread(target=third)
        waiter.start()
        waiting = _settle(lambda: store.pool_status().waiting, 1)
    waiter.join()
    assert (1, [[(1,)]], 2) == (waiting, got, store.pool_status().open)


def test_a_borrower_that_waits_longer_than_pool_timeout_gets_a_retryable_storage_error(
    backend: Backend,
) -> None:
    """With every connection borrowed, a unit waits pool_timeout, then gets a 503 StorageError."""
    store = backend.open(pool_max_size=2, pool_timeout=0.2)
    with store() as first, store() as second:
        first.query("SELECT 1")
        second.query("SELECT 1")
        with store() as third, pytest.raises(StorageError) as caught:
            third.query("SELECT 1")
    with store() as uow:
        after = uow.query("SELECT 1")
    doc = problem_document(caught.value)
    assert (
        "no database connection came free within 0.2 s (pool_timeout): all 2 (pool_max_size) are "
        "in use; the store is busy, retry later or raise pool_max_size",
        503,
        True,
        [(1,)],
    ) == (str(caught.value), doc["status"], doc["retryable"], after)


def test_a_long_statement_is_stopped_by_the_statement_timeout(backend: Backend) -> None:
    """A statement running past statement_timeout is stopped, a StorageError; the store goes on."""
    store = backend.open(statement_timeout=0.2)
    with store() as uow, pytest.raises(StorageError) as caught:
        uow.query(backend.long_statement)
    with store() as uow:
        after = uow.query("SELECT 1")
    assert (str(statement_timed_out()), [(1,)]) == (str(caught.value), after)


def _reapers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(REAPER)}


def test_close_is_clean_and_idempotent(backend: Backend) -> None:
    """close() closes idle connections and stops the reaper; a borrowed one closes when given back.

    Closing again does nothing, and a unit of work asked for after close is a StorageError.
    """
    before = _reapers()
    store = backend.open(pool_max_size=4, pool_min_size=1, pool_max_idle=600)
    with store() as held:
        held.query("SELECT 1")
        with store() as other:
            other.query("SELECT 1")
        # Two open, one idle above the minimum: the reaper waits to close it.
        mine = _reapers() - before
        store.close()
        still_running = [t for t in mine if t.is_alive()]
        while_held = _settle(lambda: backend.count(store), 1)
        held.query("SELECT 1")  # a unit holding its connection finishes its work
    after = _settle(lambda: backend.count(store), 0)
    store.close()
    with pytest.raises(StorageError) as caught:
        store()
    assert (1, [], 1, 0, "the store is closed; open a new one") == (
        len(mine),
        still_running,
        while_held,
        after,
        str(caught.value),
    )


def test_stores_are_context_managers(tmp_path: Path) -> None:
    """Leaving a store's with block closes it."""
    with SqliteStore(tmp_path / "ledger.db") as store, store() as uow:
        uow.query("SELECT 1")
    assert PoolStatus(open=0, idle=0, waiting=0) == store.pool_status()


def test_the_minimum_is_opened_with_the_store(backend: Backend) -> None:
    """pool_min_size connections are open as soon as the store is, and stay open when idle."""
    store = backend.open(pool_min_size=3, pool_max_idle=0.1)
    time.sleep(0.3)  # longer than pool_max_idle: nothing above the minimum to close
    assert 3 == _settle(lambda: backend.count(store), 3)


def test_url_parameters_and_keyword_arguments_set_the_pool(backend: Backend) -> None:
    """The URL's pool parameters are read; a keyword argument of open_store overrides the URL's."""
    query = "pool_max_size=3&pool_min_size=2&pool_max_idle=0.5&pool_timeout=1.5&statement_timeout=2"
    sep = "&" if "?" in backend.url else "?"
    store = open_store(f"{backend.url}{sep}{query}", pool_timeout=4)
    assert isinstance(store, PooledSqlStore)
    backend.opened.append(store)
    assert PoolOptions(
        pool_max_size=3, pool_min_size=2, pool_max_idle=0.5, pool_timeout=4, statement_timeout=2
    ) == (store.pool_options)


def test_defaults_are_kept_without_parameters(tmp_path: Path) -> None:
    """A store opened without pool options has 10 at most, 1 at least, 60 s idle, 30 s wait."""
    with SqliteStore(tmp_path / "ledger.db") as store:
        options = store.pool_options
    assert (
        PoolOptions(
            pool_max_size=10,
            pool_min_size=1,
            pool_max_idle=60.0,
            pool_timeout=30.0,
            statement_timeout=0.0,
        )
        == options
    )


URLS = [
    "memory://",
    "sqlite://",
    "postgresql://postgres@127.0.0.1:5432/test",
    "mysql://root@127.0.0.1:3306/test",
]
BAD = [
    ("pool_max_size=0", "pool_max_size", "a whole number of connections, at least 1"),
    ("pool_max_size=2.5", "pool_max_size", "a whole number of connections, at least 1"),
    ("pool_min_size=-1", "pool_min_size", "a whole number of connections, at least 0"),
    ("pool_min_size=5&pool_max_size=2", "pool_min_size", "at most pool_max_size (2)"),
    ("pool_max_idle=0", "pool_max_idle", "a number of seconds, above 0 and at most 86400"),
    (
        "pool_timeout=soon",
        "pool_timeout",
        "a number of seconds, 0 (fail at once) and at most 86400",
    ),
    ("pool_timeout=-1", "pool_timeout", "a number of seconds, 0 (fail at once) and at most 86400"),
    (
        "statement_timeout=nan",
        "statement_timeout",
        "a number of seconds, 0 (no limit) and at most 86400",
    ),
    (
        "pool_max=10",
        "pool_max",
        "unknown pool parameter; gridgov reads pool_max_size, pool_min_size, pool_max_idle, "
        "pool_timeout and statement_timeout",
    ),
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(("query", "path", "problem"), BAD)
def test_bad_url_parameters_are_validation_errors_naming_them(
    url: str, query: str, path: str, problem: str
) -> None:
    """A pool parameter out of range, or a misspelt one, is refused before connecting."""
    with pytest.raises(ValidationError) as caught:
        open_store(f"{url}?{query}")
    assert (path, problem) == (caught.value.path, caught.value.problem)


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"pool_max_size": True}, "pool_max_size"),
        ({"pool_min_size": 1.5}, "pool_min_size"),
        ({"pool_max_idle": float("inf")}, "pool_max_idle"),
        ({"pool_timeout": 86_401}, "pool_timeout"),
        ({"statement_timeout": -0.1}, "statement_timeout"),
    ],
)
def test_bad_keyword_arguments_are_validation_errors_naming_them(
    options: dict[str, Any], path: str, tmp_path: Path
) -> None:
    """A keyword argument out of range is a ValidationError naming it, for a store or open_store."""
    with pytest.raises(ValidationError) as by_class:
        SqliteStore(tmp_path / "ledger.db", **options)
    with pytest.raises(ValidationError) as by_url:
        open_store("memory://", **options)
    assert (path, path) == (by_class.value.path, by_url.value.path)


EXIT_SCRIPT = textwrap.dedent(
    """
    import sys
    import threading
    from gridgov.adapters.sqlite import SqliteStore

    store = SqliteStore(sys.argv[1], pool_max_idle=3600)
    with store() as first, store() as second:
        first.query("SELECT 1")
        second.query("SELECT 1")
    reapers = [t for t in threading.enumerate() if t.name.startswith("gridgov pool reaper")]
    print(len(reapers), reapers[0].daemon)
    # no close(): the reaper, waiting an hour, must not keep the process alive
    """
)


def test_the_reaper_never_keeps_the_process_alive(tmp_path: Path) -> None:
    """A process that leaves a store unclosed, its reaper waiting an hour, exits at once."""
    finished = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, str(tmp_path / "ledger.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (0, "1 True\n") == (finished.returncode, finished.stdout)


class _Fake:
    """A connection that only records whether it was closed."""

    closed = False

    def close(self) -> None:
        """Close it."""
        self.closed = True


def test_connections_given_back_go_to_the_longest_waiter() -> None:
    """Borrowers beyond the maximum are served in the order they came."""
    pool: ConnectionPool[_Fake] = ConnectionPool(
        _Fake, lambda conn: True, PoolOptions(pool_max_size=1, pool_timeout=60), "test"
    )
    first = pool.acquire()
    order: list[str] = []

    def borrow(name: str) -> None:
        conn = pool.acquire()
        order.append(name)
        pool.release(conn)

    threads = []
    for n, name in enumerate(["b", "c", "d"], start=1):
        threads.append(threading.Thread(target=borrow, args=(name,)))
        threads[-1].start()
        _settle(lambda: pool.status().waiting, n)
    pool.release(first)
    for t in threads:
        t.join()
    pool.close()
    assert (["b", "c", "d"], True) == (order, first.closed)


def test_a_connection_that_fails_to_open_gives_its_place_back() -> None:
    """A failed connect does not count as open: the next borrower opens one in its place."""
    attempts: list[int] = []

    def connect() -> _Fake:
        attempts.append(1)
        if len(attempts) == 1:
            raise StorageError("the server is down")
        return _Fake()

    pool: ConnectionPool[_Fake] = ConnectionPool(
        connect, lambda conn: True, PoolOptions(pool_max_size=1, pool_timeout=0), "test"
    )
    with pytest.raises(StorageError):
        pool.acquire()
    conn = pool.acquire()
    status = pool.status()
    pool.release(conn, broken=True)
    assert (PoolStatus(open=1, idle=0, waiting=0), True, PoolStatus(0, 0, 0)) == (
        status,
        conn.closed,
        pool.status(),
    )
