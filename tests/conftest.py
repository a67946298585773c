"""Shared fixtures: the PostgreSQL and MariaDB servers the tests run against; hypothesis in CI."""

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Sequence

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

from gridgov.ports import Store

# Where CI is set, recent hypothesis releases load a "ci" profile of their own: no deadline (on a
# loaded machine, with .ci/run's test jobs side by side, an example's time is no test), no
# example database, derandomized. Older releases, down to the floor, get the same profile here.
try:
    settings.get_profile("ci")
except InvalidArgument:
    settings.register_profile(
        "ci",
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    if "CI" in os.environ:
        settings.load_profile("ci")

# CI's floor and newest jobs check the library at other dependency versions, beside the main job
# on the same two cores: `--hypothesis-profile side` gives them CI's profile with a quarter of the
# default examples (tests that set their own number keep it). The main job runs them all.
settings.register_profile("side", settings.get_profile("ci"), max_examples=25)

# The whole example run end to end (the demo, the simulator, the docs' server commands, process
# races, the long state machines). The main CI job runs them; the floor and newest jobs, which
# check the library at other dependency versions, leave them out (``-m "not heavy"``): the same
# code paths run there in small, and the CI budget is shared by three jobs on two cores.
HEAVY = (
    "tests/test_docs.py::test_server_commands_run",
    "tests/test_docs.py::test_page_runs[docs/cli.md]",
    "tests/test_docs.py::test_page_runs[README.md]",
    "tests/test_docs.py::test_page_runs[docs/simulation.md]",
    "tests/test_cli.py::test_demo_adds_cases_and_programme_to_a_store_loaded_before_them",
    "tests/test_cli.py::test_demo_into_a_closed_pipe_prints_no_traceback",
    "tests/test_cli.py::test_python_m_gridgov_demo_matches",
    "tests/test_cli.py::test_simulate_json_matches_the_simulator",
    "tests/test_cli_calendar.py::test_retime_after_the_scenario_announces_2027",
    "tests/test_calendar_provisional.py::test_a_month_simulated_across_the_year_end",
    "tests/test_example_figures.py::",
    "tests/test_simulate.py::test_another_seed_gives_another_report",
    "tests/test_scheduling_services.py::TestWaitlist",
    "tests/test_scheduling_invariants.py::test_the_machine_runs_on_postgresql",
    "tests/test_scope_decisions.py::",
    "tests/test_service_example.py::",
    "tests/test_nats_relay.py::test_a_relay_killed_at_random_moments_loses_nothing",
    "tests/test_nats_relay.py::test_a_broker_restart_in_the_middle_loses_nothing",
    "tests/test_overdue_sweep.py::test_a_sweeper_process_killed_mid_batch",
    "tests/test_docs.py::test_page_runs[docs/embedding.md]",
    "tests/test_docs.py::test_page_runs[docs/events.md]",
    "tests/test_docs.py::test_page_runs[docs/notifications.md]",
    "tests/test_care_services.py::test_a_replayed_history_stores_what_recording_it_contact_by",
    "tests/test_calendar_provisional.py::test_every_day_of_december_dispatches_sweeps_and_plans",
    "tests/test_notifications.py::TestNotifierMachine",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the end-to-end runs listed in HEAVY, and the docs' runs."""
    for item in items:
        if item.nodeid.startswith(HEAVY) or "racing_processes" in item.nodeid:
            item.add_marker(pytest.mark.heavy)
        if item.nodeid.startswith("tests/test_docs.py::"):
            item.add_marker(pytest.mark.docs)


POSTGRES_URL = os.environ.get("GRIDGOV_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable() -> str | None:
    """Return why PostgreSQL cannot be used, or ``None`` if it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'gridgov[postgres]')"
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {type(exc).__name__}"


def _required(server: str, problem: str | None, url: str) -> str:
    """Return ``url`` if the server can be used; skip the test outside CI, fail it in CI."""
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires {server}: {problem}")
        pytest.skip(problem)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Return the server URL; skip outside CI if it is unreachable, fail in CI."""
    return _required("PostgreSQL", _reachable(), POSTGRES_URL)


@contextlib.contextmanager
def _fresh_schema(postgres_url: str) -> Iterator[str]:
    import psycopg

    schema = f"gridgov_test_{uuid.uuid4().hex[:12]}"
    yield f"{postgres_url}?schema={schema}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """Return a store URL on a fresh schema, dropped after the test."""
    with _fresh_schema(postgres_url) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_kit_schema(postgres_url: str) -> Iterator[str]:
    """Return a store URL on this run's schema for the kit, emptied by each test (``emptied``)."""
    with _fresh_schema(postgres_url) as url:
        yield url


MYSQL_URL = os.environ.get("GRIDGOV_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test")


def _mysql_problem() -> str | None:
    """Return why MariaDB/MySQL cannot be used, or ``None`` if it can."""
    try:
        import pymysql
    except ImportError:
        return "PyMySQL is not installed (pip install 'gridgov[mysql]')"
    from gridgov.adapters.mysql import _parse

    args = _parse(MYSQL_URL)
    try:
        pymysql.connect(**args, connect_timeout=3).close()
    except pymysql.Error as exc:
        return f"MariaDB/MySQL at {MYSQL_URL} is unreachable: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """Return the server URL; skip outside CI if it is unreachable, fail in CI."""
    return _required("MariaDB/MySQL", _mysql_problem(), MYSQL_URL)


@contextlib.contextmanager
def _fresh_database(mysql_url: str) -> Iterator[str]:
    import pymysql

    from gridgov.adapters.mysql import _parse

    database = f"gridgov_test_{uuid.uuid4().hex[:12]}"
    yield f"{mysql_url.rsplit('/', 1)[0]}/{database}"
    args = _parse(mysql_url)
    del args["database"]
    conn = pymysql.connect(**args, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    finally:
        conn.close()


@pytest.fixture
def mysql_database(mysql_url: str) -> Iterator[str]:
    """Return a store URL on a fresh database, dropped after the test."""
    with _fresh_database(mysql_url) as url:
        yield url


@pytest.fixture(scope="session")
def mysql_kit_database(mysql_url: str) -> Iterator[str]:
    """Return a store URL on this run's database for the kit, emptied by each test (``emptied``)."""
    with _fresh_database(mysql_url) as url:
        yield url


def _emptied(store: Store) -> Store:
    """Return a SQL store with every row of gridgov's tables deleted: a fresh store, cheaply.

    The kit's hundreds of tests on a server share one schema (one database on MariaDB) of the
    run: making and migrating a new one for each costs far more than deleting a few rows.
    """
    from gridgov.adapters.sql import SCHEMA_VERSION_TABLE, SqlUnitOfWork, table_names

    with store() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        uow.write()
        # InnoDB checks a table's own foreign key (a cell's parent) row by row.
        mysql = store.dialect.name == "mysql"  # type: ignore[attr-defined]
        if mysql:
            uow.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in table_names():  # children before parents
            if table != SCHEMA_VERSION_TABLE:
                uow.execute(f"DELETE FROM {table}")
        if mysql:
            uow.execute("SET FOREIGN_KEY_CHECKS = 1")
        uow.commit()
    return store


@pytest.fixture(scope="session")
def emptied() -> Callable[[Store], Store]:
    """Return the function that empties a SQL store (for the kit on a shared schema)."""
    return _emptied


def _without_id_digests(patch: pytest.MonkeyPatch) -> None:
    """Make SQL stores write residents as schema 10 did, without the ``id_digest`` column.

    For a store opened with its migrations cut before version 11 (an older database made
    by today's code): every other column of the rows is written as before.
    """
    from gridgov.adapters.sql import SqlUnitOfWork

    insert_many = SqlUnitOfWork.insert_many

    def older(
        uow: SqlUnitOfWork,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
    ) -> None:
        if "id_digest" not in columns:
            insert_many(uow, table, columns, rows)
            return
        at = list(columns).index("id_digest")
        kept = [c for i, c in enumerate(columns) if i != at]
        insert_many(uow, table, kept, [[v for i, v in enumerate(r) if i != at] for r in rows])

    patch.setattr(SqlUnitOfWork, "insert_many", older)


@pytest.fixture(scope="session")
def without_id_digests() -> Callable[[pytest.MonkeyPatch], None]:
    """Return the function that makes SQL stores write residents as schema 10 did."""
    return _without_id_digests


NATS_URL = os.environ.get("GRIDGOV_TEST_NATS", "nats://127.0.0.1:4222")


def _nats_problem() -> str | None:
    """Return why NATS JetStream cannot be used, or ``None`` if it can."""
    import socket
    from urllib.parse import urlsplit

    try:
        import nats  # noqa: F401
    except ImportError:
        return "nats-py is not installed (pip install 'gridgov[nats]')"
    parts = urlsplit(NATS_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 3).close()
    except OSError as exc:
        return f"NATS at {NATS_URL} is unreachable: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def nats_url() -> str:
    """Return the NATS URL; skip outside CI if it is unreachable, fail in CI."""
    return _required("NATS JetStream", _nats_problem(), NATS_URL)
