"""What only the SQL adapters promise.

Migrations, indexed query plans, error translation, no lost updates under contention, and crash
safety of committed batches.
"""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import attrs
import pendulum
import pytest

from gridgov.access import AuditEntry, AuditKind
from gridgov.adapters import _sql
from gridgov.adapters._sql_kinds import (
    SqlCareTaskRepository,
    SqlCaseRepository,
    SqlContactRepository,
    SqlHouseholdRepository,
)
from gridgov.adapters._sql_scheduling import (
    SqlAuditRepository,
    SqlRegistrationRepository,
    SqlSeriesRepository,
    SqlShiftRepository,
    SqlSignUpRepository,
    SqlVenueRepository,
)
from gridgov.adapters.sql import statement_of
from gridgov.adapters.sqlite import SqliteDialect, SqliteStore
from gridgov.adapters.support import encode_cursor
from gridgov.calendar import WorkCalendar
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.care.policy import ContactMethod
from gridgov.cases import Case, CaseSource, CaseWorkflow, Location, Reporter
from gridgov.errors import ConflictError, StorageError
from gridgov.grid import GridCell, GridLevel
from gridgov.households import Address, Household, Resident, Tag
from gridgov.ports import Page, Store
from gridgov.records import kinds
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, occurrence_id
from gridgov.scheduling.venues import Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.settings import Settings

CELLS = [
    GridCell("610102", "新城区", GridLevel.DISTRICT),
    GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    GridCell("610102003001", "明宫社区", GridLevel.COMMUNITY, "610102003"),
    GridCell("610102003001001", "第一网格", GridLevel.GRID, "610102003001"),
]


T = TypeVar("T")
LATEST = len(SqliteDialect.migrations)  # the schema version a new or upgraded database has
T0 = pendulum.datetime(2026, 11, 28, 9, tz="Asia/Shanghai")
WORKFLOW = CaseWorkflow(WorkCalendar())


def _case(case_id: str, at: pendulum.DateTime = T0, external_id: str | None = None) -> Case:
    """Return a complaint in the seeded grid, owned by it."""
    return WORKFLOW.report(
        case_id=case_id,
        category="complaint",
        source=CaseSource.PATROL,
        location=Location("610102003001001"),
        reporter=Reporter(name="田林"),
        description="路灯不亮",
        owner=CELLS[3],
        at=at,
        actor="w1",
        external_id=external_id,
    ).case


VENUE = Venue(
    "v1",
    "明宫HUI客厅",
    "610102003001001",
    WorkCalendar(years=(2026, 2026)),
    [Space("s1", "绘本馆", 20)],
)
SHIFT = Shift("sh1", "v1", "活动签到引导", T0, T0.add(hours=3), 2)


def _series(
    series_id: str, start: pendulum.DateTime = T0, rrule: str | None = None
) -> ActivitySeries:
    """Return a 90-minute activity in the venue's one space."""
    return ActivitySeries(series_id, "绘画课", "w1", "v1", "s1", start, 90, rrule=rrule)


def _registration(registration_id: str) -> Registration:
    """Return r1's registration for the occurrence of a1 at T0."""
    return Registration(
        registration_id,
        "a1",
        occurrence_id("a1", T0),
        "v1",
        "r1",
        "h1",
        "610102003001001",
        T0,
        T0.add(minutes=90),
        RegistrationState.CONFIRMED,
        T0.subtract(days=1),
    )


def _seed(store: Store) -> None:
    with store() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.households.add(
            Household(
                "h1",
                "610102003001001",
                Address("铁一村1号楼", room="0"),
                members=(
                    Resident(
                        "r1", "田林", birth_date=pendulum.Date(1955, 1, 1), tags={Tag.LIVING_ALONE}
                    ),
                ),
            )
        )
        uow.commit()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a seeded SQLite, PostgreSQL or MariaDB store."""
    if request.param == "sqlite":
        store: Store = SqliteStore(tmp_path / "ledger.db")
    elif request.param == "mysql":
        from gridgov.adapters.mysql import MysqlStore

        store = MysqlStore(request.getfixturevalue("mysql_database"))
    else:
        from gridgov.adapters.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_schema"))
    _seed(store)
    yield store
    store.close()


def test_no_lost_updates_under_contention(sql_store: Store) -> None:
    """8 threads x 40 increments of one household's field, retried on conflict, end at 320."""
    threads, increments = 8, 40

    def work() -> None:
        for _ in range(increments):
            while True:
                try:
                    with sql_store() as uow:
                        h = uow.households.get("h1")
                        room = str(int(h.address.room or "0") + 1)
                        uow.households.update(
                            attrs.evolve(h, address=attrs.evolve(h.address, room=room))
                        )
                        uow.commit()
                    break
                except ConflictError:
                    continue

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    with sql_store() as uow:
        h = uow.households.get("h1")
    assert (str(threads * increments), threads * increments + 1) == (h.address.room, h.version)


@contextlib.contextmanager
def _raw(path: Path) -> Iterator[sqlite3.Connection]:
    """Return a plain connection to the database file, committed and closed on exit.

    ``with sqlite3.connect(...)`` commits but does not close (Python 3.13 warns of that).
    """
    conn = sqlite3.connect(path)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


_T1 = pendulum.datetime(2026, 11, 28, 1, tz="UTC")
_T2 = pendulum.datetime(2026, 11, 29, tz="UTC")


def _plan_sqlite(store: SqliteStore, sql: str, params: tuple[object, ...]) -> str:
    conn = sqlite3.connect(store.path)
    try:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    finally:
        conn.close()
    return " | ".join(str(r[-1]) for r in rows)


def test_sqlite_subtree_and_tag_queries_use_indexes(tmp_path: Path) -> None:
    """SQLite answers the subtree and tag queries with index range searches, not scans."""
    store = SqliteStore(tmp_path / "plan.db")
    _seed(store)
    repo = SqlHouseholdRepository
    subtree = _plan_sqlite(store, *statement_of(repo, lambda r: r.in_subtree("6101", limit=10)))
    tags = _plan_sqlite(store, repo.TAG_SQL, ("t", "6101", "6102", "", "", "", 10))
    aged = _plan_sqlite(store, repo.AGED_SQL, ("1900", "1960", "6101", "6102", "", "", 10))
    within = _plan_sqlite(store, repo.AGED_WITHIN_SQL, ("1900", "1960", "6101", "6102", "", "", 9))
    store.close()
    assert (
        "SEARCH gg_households USING INDEX gg_households_cell (cell_code>? AND cell_code<?)"
        in subtree
    )
    assert "SEARCH t USING PRIMARY KEY (tag=? AND cell_code>? AND cell_code<?)" in tags
    assert "SEARCH r USING INDEX gg_residents_birth (birth_date>? AND birth_date<?)" in aged
    # Elders within a cell: that cell's residents only, not the whole birth-date range.
    assert (
        "SEARCH gg_residents USING INDEX gg_residents_cell (cell_code>? AND cell_code<?)" in within
    )
    # Scanning the page itself (r, a few rows) is no scan of a table.
    scans = f"{subtree}{tags}{aged}{within}".replace("SCAN CONSTANT", "").replace("SCAN r |", "")
    assert "SCAN" not in scans


def test_postgres_subtree_and_tag_queries_use_indexes(postgres_schema: str) -> None:
    """PostgreSQL can answer the subtree and tag queries from their B-tree indexes."""
    import psycopg

    from gridgov.adapters.postgres import PostgresDialect, PostgresStore

    store = PostgresStore(postgres_schema)
    _seed(store)
    dialect = PostgresDialect()
    repo = SqlHouseholdRepository
    url, schema = postgres_schema.split("?schema=")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        # Tiny tables make a sequential scan cheapest; forbid it to see which index serves.
        conn.execute("SET enable_seqscan = off")

        def plan(sql: str, params: tuple[object, ...]) -> str:
            rows = conn.execute(f"EXPLAIN {dialect.sql(sql)}", params).fetchall()
            return "\n".join(r[0] for r in rows)

        subtree = plan(*statement_of(repo, lambda r: r.in_subtree("6101", limit=10)))
        tags = plan(repo.TAG_SQL, ("t", "6101", "6102", "", "", "", 10))
        within = plan(repo.AGED_WITHIN_SQL, ("1900", "1960", "6101", "6102", "", "", 10))
    store.close()
    # An index scan or a bitmap scan of the index: either reads only the code range.
    assert "gg_households_cell" in subtree
    assert (
        "Index Cond: ((cell_code >= '6101'::text) AND (cell_code < '6101\U0010ffff'::text)"
        in subtree
    )
    assert "gg_resident_tags_pkey" in tags
    assert "gg_residents_cell" in within
    assert "gg_residents_birth" not in within
    assert "Seq Scan" not in subtree + tags + within


CARE_PLANS = [
    (
        "worklist",
        *statement_of(
            SqlCareTaskRepository,
            lambda r: r.open_in_subtree("6101", starting_before=_T1, limit=10),
        ),
    ),
    ("open-of-resident", SqlCareTaskRepository.OPEN_RESIDENT_SQL, ("r1",)),
    (
        "overdue",
        *statement_of(
            SqlCareTaskRepository,
            lambda r: r.overdue(due_before=_T1, limit=10),
        ),
    ),
    (
        "contacts-in-subtree",
        *statement_of(
            SqlContactRepository,
            lambda r: r.in_subtree(
                "6101",
                since=_T1,
                until=_T2,
                limit=10,
            ),
        ),
    ),
    (
        "contacts-of-resident",
        *statement_of(SqlContactRepository, lambda r: r.for_resident("r1", limit=10)),
    ),
]


def test_sqlite_care_queries_use_indexes(tmp_path: Path) -> None:
    """SQLite answers the worklist, overdue and contact queries with index searches."""
    store = SqliteStore(tmp_path / "plan.db")
    plans = {name: _plan_sqlite(store, sql, params) for name, sql, params in CARE_PLANS}
    store.close()
    assert {
        "worklist": "SEARCH gg_care_tasks USING INDEX gg_care_tasks_open"
        " (cell_code>? AND cell_code<?)",
        "open-of-resident": "SEARCH gg_care_tasks USING INDEX gg_care_tasks_open_resident"
        " (resident_id=?)",
        "overdue": "SEARCH gg_care_tasks USING INDEX gg_care_tasks_overdue"
        " ((overdue_check_utc,id)>(?,?) AND overdue_check_utc<?)",
        "contacts-in-subtree": "SEARCH gg_contacts USING INDEX gg_contacts_cell"
        " (cell_code>? AND cell_code<?)",
        "contacts-of-resident": "SEARCH gg_contacts USING INDEX gg_contacts_resident"
        " (resident_id=? AND at_utc>? AND at_utc<?)",
    } == {name: plan.split(" | ")[0] for name, plan in plans.items()}
    # The overdue queue needs no sort: the partial index holds it in (due, id) order.
    assert "TEMP B-TREE" not in plans["overdue"]
    assert "SCAN" not in "".join(plans.values())


def test_postgres_care_queries_use_indexes(postgres_schema: str) -> None:
    """PostgreSQL can answer the worklist, overdue and contact queries from their indexes."""
    import psycopg

    from gridgov.adapters.postgres import PostgresDialect, PostgresStore

    PostgresStore(postgres_schema).close()
    dialect = PostgresDialect()
    url, schema = postgres_schema.split("?schema=")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        # Tiny tables make a sequential scan cheapest; forbid it to see which index serves.
        conn.execute("SET enable_seqscan = off")
        plans = {
            name: "\n".join(
                r[0] for r in conn.execute(f"EXPLAIN {dialect.sql(sql)}", params).fetchall()
            )
            for name, sql, params in CARE_PLANS
        }
    assert "gg_care_tasks_open on gg_care_tasks" in plans["worklist"]
    assert (
        "Index Cond: ((cell_code >= '6101'::text) AND (cell_code < '6101\U0010ffff'::text)"
        in (plans["worklist"])
    )
    assert "gg_care_tasks_open_resident" in plans["open-of-resident"]
    assert "gg_care_tasks_overdue" in plans["overdue"]
    assert "gg_contacts_cell" in plans["contacts-in-subtree"]
    assert (
        "Index Cond: ((cell_code >= '6101'::text) AND (cell_code < '6101\U0010ffff'::text)"
        in (plans["contacts-in-subtree"])
    )
    assert "gg_contacts_resident" in plans["contacts-of-resident"]
    assert "Seq Scan" not in "".join(plans.values())


CASE_PLANS = [
    (
        "due",
        *statement_of(
            SqlCaseRepository,
            lambda r: r.due(at_or_before=_T1, limit=10),
        ),
    ),
    ("open", *statement_of(SqlCaseRepository, lambda r: r.open_in_subtree("6101", limit=10))),
    (
        "reported",
        *statement_of(
            SqlCaseRepository,
            lambda r: r.reported_in_subtree(
                "6101",
                since=_T1,
                until=_T2,
                limit=10,
            ),
        ),
    ),
    ("external", SqlCaseRepository.EXTERNAL_SQL, ("12345-1",)),
]


def test_sqlite_case_queries_use_indexes(tmp_path: Path) -> None:
    """SQLite answers the case queries with index searches; due reads its index in order."""
    store = SqliteStore(tmp_path / "plan.db")
    plans = {name: _plan_sqlite(store, sql, params) for name, sql, params in CASE_PLANS}
    store.close()
    assert {
        "due": "SEARCH gg_cases USING INDEX gg_cases_due"
        " ((next_check_utc,id)>(?,?) AND next_check_utc<?)",
        "open": "SEARCH gg_cases USING INDEX gg_cases_open (cell_code>? AND cell_code<?)",
        "reported": "SEARCH gg_cases USING INDEX gg_cases_cell (cell_code>? AND cell_code<?)",
        "external": "SEARCH gg_cases USING INDEX gg_cases_external (external_id=?)",
    } == {name: plan.split(" | ")[0] for name, plan in plans.items()}
    # The escalation queue needs no sort: the partial index holds it in (next_check, id) order.
    assert "TEMP B-TREE" not in plans["due"]
    assert "SCAN" not in "".join(plans.values())


def test_postgres_case_queries_use_indexes(postgres_schema: str) -> None:
    """PostgreSQL can answer the case queries from their indexes; due needs no sort."""
    import psycopg

    from gridgov.adapters.postgres import PostgresDialect, PostgresStore

    PostgresStore(postgres_schema).close()
    dialect = PostgresDialect()
    url, schema = postgres_schema.split("?schema=")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        # Tiny tables make other plans cheapest; forbid them to see which index serves, in order.
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        plans = {
            name: "\n".join(
                r[0] for r in conn.execute(f"EXPLAIN {dialect.sql(sql)}", params).fetchall()
            )
            for name, sql, params in CASE_PLANS
        }
    assert "Index Scan using gg_cases_due on gg_cases" in plans["due"]
    assert "(next_check_utc <= '2026-11-28T01:00:00.000000'::text)" in plans["due"]
    assert "Sort" not in plans["due"]
    assert "gg_cases_open on gg_cases" in plans["open"]
    assert "gg_cases_cell on gg_cases" in plans["reported"]
    assert "gg_cases_external on gg_cases" in plans["external"]
    for name in ("open", "reported"):
        assert (
            "Index Cond: ((cell_code >= '6101'::text) AND (cell_code < '6101\U0010ffff'::text)"
            in (plans[name])
        )
    assert "Seq Scan" not in "".join(plans.values())


def test_case_add_many_in_bulk_round_trips(sql_store: Store) -> None:
    """A large add_many (PostgreSQL's COPY path) keeps booleans, NULLs and documents intact."""
    cases = [
        _case(f"k{i:03d}", at=T0.add(minutes=i), external_id=f"E-{i}" if i % 2 else None)
        for i in range(60)
    ]
    cases = [attrs.evolve(c, next_check=None) if i % 3 == 0 else c for i, c in enumerate(cases)]
    with sql_store() as uow:
        count = uow.cases.add_many(cases, batch_size=50)
        uow.commit()
    with sql_store() as uow:
        got = [uow.cases.get(c.id) for c in cases]
        due = len(_all(lambda a: uow.cases.due(at_or_before=T0.add(years=1), limit=7, after=a)))
        external = uow.cases.by_external_id("E-7")
    expected = [attrs.evolve(c, version=1) for c in cases]
    assert (60, expected, 40, "k007") == (count, got, due, external and external.id)


def test_corrupt_case_document_is_a_storage_error(tmp_path: Path) -> None:
    """A case document that no longer validates raises StorageError, not a cattrs error."""
    store = SqliteStore(tmp_path / "corrupt.db")
    _seed(store)
    with store() as uow:
        uow.cases.add(_case("k1"))
        uow.commit()
    with _raw(store.path) as conn:
        conn.execute("""UPDATE gg_cases SET doc = json_set(doc, '$.state', 'lost')""")
    with store() as uow, pytest.raises(StorageError, match="stored Case does not validate"):
        uow.cases.get("k1")
    store.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database written by a newer gridgov fails to open with a clear StorageError."""
    path = tmp_path / "new.db"
    SqliteStore(path).close()
    with _raw(path) as conn:
        conn.execute(f"UPDATE {_sql.SCHEMA_VERSION_TABLE} SET version = 99")
    with pytest.raises(StorageError, match="schema version 99, newer than this gridgov supports"):
        SqliteStore(path)


def test_older_schema_is_upgraded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a database at an older schema version applies the missing migrations."""
    path = tmp_path / "old.db"
    SqliteStore(path).close()
    upgrade = ("CREATE TABLE gg_future (x INTEGER)",)
    current = len(SqliteDialect.migrations)
    monkeypatch.setattr(SqliteDialect, "migrations", (*SqliteDialect.migrations, upgrade))
    SqliteStore(path).close()
    with _raw(path) as conn:
        version = conn.execute(f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert (current + 1, True) == (version, "gg_future" in tables)


def test_version_1_database_gains_the_care_and_case_tables(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    without_id_digests: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """A database made before the care ledger is upgraded in place, its households kept."""
    path = tmp_path / "v1.db"
    with monkeypatch.context() as patch:
        patch.setattr(SqliteDialect, "migrations", SqliteDialect.migrations[:1])
        without_id_digests(patch)
        old = SqliteStore(path)
        _seed(old)
        old.close()
    store = SqliteStore(path)
    with store() as uow:
        uow.cases.add(_case("k1"))
        uow.contacts.add(
            ContactAttempt(
                "c1",
                "r1",
                "h1",
                "610102003001001",
                ContactMethod.PHONE,
                Outcome.WELL,
                "w1",
                pendulum.datetime(2026, 11, 28, 9, tz="Asia/Shanghai"),
            )
        )
        uow.commit()
    with store() as uow:
        kept = (
            uow.households.get("h1").id,
            [c.id for c in uow.contacts.for_resident("r1").items],
            uow.cases.get("k1").version,
        )
    store.close()
    with _raw(path) as conn:
        version = conn.execute(f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}").fetchone()[0]
    assert (LATEST, ("h1", ["c1"], 1)) == (version, kept)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_version_2_database_gains_the_case_tables(
    dialect: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    without_id_digests: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """A database at schema version 2 is upgraded to 5, keeping its ledger, and stores cases."""

    def open_store() -> _sql.PooledSqlStore:
        if dialect == "sqlite":
            return SqliteStore(tmp_path / "v2.db")
        from gridgov.adapters.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_schema"))

    with monkeypatch.context() as patch:
        if dialect == "sqlite":
            patch.setattr(SqliteDialect, "migrations", SqliteDialect.migrations[:2])
        else:
            from gridgov.adapters.postgres import PostgresDialect

            patch.setattr(PostgresDialect, "migrations", PostgresDialect.migrations[:2])
        without_id_digests(patch)
        old = open_store()
        _seed(old)
        with old() as uow:
            before = uow.query_one(f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}")
        old.close()
    store = open_store()
    with store() as uow:
        uow.cases.add(_case("k1", external_id="E-1"))
        uow.settings.save(Settings())
        uow.commit()
    with store() as uow:
        after = uow.query_one(f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}")
        found = uow.cases.by_external_id("E-1")
        kept = (uow.households.get("h1").id, found and found.id, uow.settings.get().version)
    store.close()
    assert ((2,), (LATEST,), ("h1", "k1", 1)) == (tuple(before or ()), tuple(after or ()), kept)


def test_table_names_list_every_table_of_the_schema(tmp_path: Path) -> None:
    """table_names() names every table the migrations create, scheduling and audit included."""
    path = tmp_path / "tables.db"
    SqliteStore(path).close()
    with _raw(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == set(_sql.table_names())
    assert {"gg_cases", "gg_case_settings"} <= tables
    assert {"gg_venues", "gg_series", "gg_registrations", "gg_shifts", "gg_signups"} <= tables
    assert "gg_audit" in tables


def _scheduling(store: Store) -> None:
    """Commit a venue, a weekly series, r1's registration, a shift and r1's sign-up."""
    with store() as uow:
        uow.venues.add(VENUE)
        uow.series.add(_series("a1", rrule="FREQ=WEEKLY"))
        uow.registrations.add(_registration("g1"))
        uow.shifts.add(SHIFT)
        uow.signups.add(
            SignUp("su1", "sh1", "r1", SHIFT.start, SHIFT.end, SignUpState.SIGNED_UP, T0)
        )
        uow.commit()


def _scheduled(store: Store) -> tuple[list[str], ...]:
    """Return what the scheduling queries find of what :func:`_scheduling` stored."""
    end = T0.add(days=1)
    with store() as uow:
        return (
            [v.id for v in uow.venues.in_subtree("610102").items],
            [s.id for s in uow.series.in_venue("v1", start=T0, end=end).items],
            [r.id for r in uow.registrations.for_resident("r1", start=T0, end=end)],
            [s.id for s in uow.shifts.in_venue("v1", start=T0, end=end)],
            [s.id for s in uow.signups.for_shift("sh1")],
        )


def _audited(store: Store) -> None:
    """Commit two audit entries: w1 viewed r1's record, w2 was denied case k1."""
    with store() as uow:
        uow.audit.add(AuditEntry("au1", T0, "w1", AuditKind.VIEWED_FULL_RECORD, "resident:r1"))
        uow.audit.add(AuditEntry("au2", T0.add(minutes=1), "w2", AuditKind.DENIED, "case:k1"))
        uow.commit()


def _audit_found(store: Store) -> tuple[list[str], ...]:
    """Return what the audit queries find of what :func:`_audited` stored."""
    since, until = T0, T0.add(days=1)
    with store() as uow:
        return (
            [e.id for e in uow.audit.between(since=since, until=until).items],
            [e.id for e in uow.audit.between(since=since, until=until, principal_id="w2").items],
            [
                e.id
                for e in uow.audit.between(since=since, until=until, subject="resident:r1").items
            ],
        )


def _add_as_of(uow: _sql.SqlUnitOfWork, case: Case, version: int) -> None:
    """Store ``case`` as a gridgov at schema ``version`` did: without the later columns."""
    table = kinds.CASES.table
    kept = [i for i, c in enumerate(table.columns) if c.since is None or c.since <= version]
    row = kinds.CASES.row(case, 1, uow.encode(case))
    uow.write()
    uow.insert_many(
        table.name, [table.column_names[i] for i in kept], [tuple(row[i] for i in kept)]
    )


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_older_database_gains_the_scheduling_and_audit_tables(
    dialect: str,
    version: int,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    without_id_digests: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """A database at schema version 1 to 4 is upgraded to 5, its data kept, schedules, audits."""

    def open_store() -> _sql.PooledSqlStore:
        if dialect == "sqlite":
            return SqliteStore(tmp_path / f"v{version}.db")
        from gridgov.adapters.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_schema"))

    with monkeypatch.context() as patch:
        if dialect == "sqlite":
            patch.setattr(SqliteDialect, "migrations", SqliteDialect.migrations[:version])
        else:
            from gridgov.adapters.postgres import PostgresDialect

            patch.setattr(PostgresDialect, "migrations", PostgresDialect.migrations[:version])
        without_id_digests(patch)
        old = open_store()
        _seed(old)
        if version >= 3:
            with old() as uow:
                _add_as_of(uow, _case("k1"), version)
                uow.commit()
        if version == 4:
            _scheduling(old)
        with old() as uow:
            before = uow.query_one(f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}")
        old.close()
    store = open_store()
    if version < 4:
        _scheduling(store)
    _audited(store)
    with store() as uow:
        after = uow.query_one(f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}")
        kept = (
            uow.households.get("h1").id,
            [c.id for c in uow.cases.open_in_subtree("610102").items],
        )
    found = (_scheduled(store), _audit_found(store))
    store.close()
    assert (
        (version,),
        (LATEST,),
        ("h1", ["k1"] if version >= 3 else []),
        ((["v1"], ["a1"], ["g1"], ["sh1"], ["su1"]), (["au1", "au2"], ["au2"], ["au1"])),
    ) == (tuple(before or ()), tuple(after or ()), kept, found)


SCHEDULING_PLANS = [
    ("venues", *statement_of(SqlVenueRepository, lambda r: r.in_subtree("6101", limit=10))),
    (
        "series",
        SqlSeriesRepository.IN_VENUE_SQL,
        ("v1", "2026-11-29", "2026-11-28", "", 10),
    ),
    (
        "registrations-of-occurrence",
        *statement_of(SqlRegistrationRepository, lambda r: r.for_occurrence("a1@x")),
    ),
    (
        "registrations-of-resident",
        *statement_of(
            SqlRegistrationRepository,
            lambda r: r.for_resident(
                "r1",
                start=_T1,
                end=_T2,
            ),
        ),
    ),
    (
        "shifts",
        *statement_of(
            SqlShiftRepository,
            lambda r: r.in_venue(
                "v1",
                start=_T1,
                end=_T2,
            ),
        ),
    ),
    ("signups-of-shift", *statement_of(SqlSignUpRepository, lambda r: r.for_shift("sh1"))),
    (
        "signups-of-resident",
        *statement_of(
            SqlSignUpRepository,
            lambda r: r.for_resident(
                "r1",
                start=_T1,
                end=_T2,
            ),
        ),
    ),
]


def test_sqlite_scheduling_queries_use_indexes(tmp_path: Path) -> None:
    """SQLite answers the scheduling queries with index searches; the tuples need no sort."""
    store = SqliteStore(tmp_path / "plan.db")
    plans = {name: _plan_sqlite(store, sql, params) for name, sql, params in SCHEDULING_PLANS}
    store.close()
    assert {
        "venues": "SEARCH gg_venues USING INDEX gg_venues_cell (cell_code>? AND cell_code<?)",
        "series": "SEARCH gg_series USING INDEX gg_series_venue (venue_id=? AND first_start_utc<?)",
        "registrations-of-occurrence": "SEARCH gg_registrations"
        " USING INDEX gg_registrations_occurrence (occurrence_id=?)",
        "registrations-of-resident": "SEARCH gg_registrations"
        " USING INDEX gg_registrations_resident (resident_id=? AND start_utc<?)",
        "shifts": "SEARCH gg_shifts USING INDEX gg_shifts_venue (venue_id=? AND start_utc<?)",
        "signups-of-shift": "SEARCH gg_signups USING INDEX gg_signups_shift (shift_id=?)",
        "signups-of-resident": "SEARCH gg_signups USING INDEX gg_signups_resident"
        " (resident_id=? AND start_utc<?)",
    } == {name: plan.split(" | ")[0] for name, plan in plans.items()}
    # The tuple queries read their index in order; only the paged id orders sort what they found.
    unsorted = [n for n, plan in plans.items() if "TEMP B-TREE" not in plan]
    assert ["venues", "series"] == [n for n, _, _ in SCHEDULING_PLANS if n not in unsorted]
    assert "SCAN" not in "".join(plans.values())


def test_postgres_scheduling_queries_use_indexes(postgres_schema: str) -> None:
    """PostgreSQL can answer the scheduling queries from their indexes, in order but by id."""
    import psycopg

    from gridgov.adapters.postgres import PostgresDialect, PostgresStore

    PostgresStore(postgres_schema).close()
    dialect = PostgresDialect()
    url, schema = postgres_schema.split("?schema=")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        plans = {
            name: "\n".join(
                r[0] for r in conn.execute(f"EXPLAIN {dialect.sql(sql)}", params).fetchall()
            )
            for name, sql, params in SCHEDULING_PLANS
        }
    indexes = {
        "venues": "gg_venues_cell",
        "series": "gg_series_venue",
        "registrations-of-occurrence": "gg_registrations_occurrence",
        "registrations-of-resident": "gg_registrations_resident",
        "shifts": "gg_shifts_venue",
        "signups-of-shift": "gg_signups_shift",
        "signups-of-resident": "gg_signups_resident",
    }
    assert dict.fromkeys(indexes, True) == {
        name: f"Index Scan using {index} on" in plans[name] for name, index in indexes.items()
    }
    assert "Index Cond: ((venue_id = 'v1'::text) AND (first_start_utc < " in plans["series"]
    assert [] == [
        n for n, plan in plans.items() if "Sort" in plan and n not in ("venues", "series")
    ]
    assert "Seq Scan" not in "".join(plans.values())


def _audit_statement(filters: tuple[bool, bool, bool]) -> tuple[str, tuple[object, ...]]:
    """Return the statement of ``between`` with the filters asked for, on a second page."""
    principal, subject, kind = filters
    return statement_of(
        SqlAuditRepository,
        lambda r: r.between(
            since=pendulum.datetime(2026, 11, 28, tz="UTC"),
            until=_T2,
            principal_id="x" if principal else None,
            subject="x" if subject else None,
            kind=AuditKind.DENIED if kind else None,
            limit=10,
            after=encode_cursor("2026-11-28T01:00:00.000000", "a1"),
        ),
    )


AUDIT_PLANS = {
    (p, s, k): _audit_statement((p, s, k))
    for p in (False, True)
    for s in (False, True)
    for k in (False, True)
}


def _audit_plan_name(filters: tuple[bool, bool, bool]) -> str:
    """Return ``principal+kind`` for ``(True, False, True)``, ``none`` for no filter."""
    names = [n for n, on in zip(("principal", "subject", "kind"), filters, strict=True) if on]
    return "+".join(names) or "none"


def test_sqlite_audit_queries_use_the_index_that_fits(tmp_path: Path) -> None:
    """SQLite searches the principal's or subject's index, else the instants'; none sorts."""
    store = SqliteStore(tmp_path / "plan.db")
    plans = {
        _audit_plan_name(f): _plan_sqlite(store, sql, params)
        for f, (sql, params) in AUDIT_PLANS.items()
    }
    store.close()
    window = "(at_utc,id)>(?,?) AND at_utc<?"
    by_instant = f"SEARCH gg_audit USING INDEX gg_audit_at ({window})"
    by_principal = f"SEARCH gg_audit USING INDEX gg_audit_principal (principal_id=? AND {window})"
    by_subject = f"SEARCH gg_audit USING INDEX gg_audit_subject (subject=? AND {window})"
    assert {
        "none": by_instant,
        "kind": by_instant,
        "principal": by_principal,
        "principal+kind": by_principal,
        "subject": by_subject,
        "subject+kind": by_subject,
    } == {
        name: plans[name]
        for name in ("none", "kind", "principal", "principal+kind", "subject", "subject+kind")
    }
    # With both, either equality index serves; never a scan or a sort.
    assert plans["principal+subject"] in (by_principal, by_subject)
    assert plans["principal+subject+kind"] in (by_principal, by_subject)
    assert "SCAN" not in "".join(plans.values())
    assert "TEMP B-TREE" not in "".join(plans.values())


def test_postgres_audit_queries_use_the_index_that_fits(postgres_schema: str) -> None:
    """PostgreSQL scans the index that fits each filter, in the query's order, with no sort."""
    import psycopg

    from gridgov.adapters.postgres import PostgresDialect, PostgresStore

    PostgresStore(postgres_schema).close()
    dialect = PostgresDialect()
    url, schema = postgres_schema.split("?schema=")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        plans = {
            _audit_plan_name(f): "\n".join(
                r[0] for r in conn.execute(f"EXPLAIN {dialect.sql(sql)}", params).fetchall()
            )
            for f, (sql, params) in AUDIT_PLANS.items()
        }
    used = {
        name: next(
            (
                i
                for i in ("gg_audit_at", "gg_audit_principal", "gg_audit_subject")
                if f"Index Scan using {i} on gg_audit" in plan
            ),
            None,
        )
        for name, plan in plans.items()
    }
    assert {
        "none": "gg_audit_at",
        "kind": "gg_audit_at",
        "principal": "gg_audit_principal",
        "principal+kind": "gg_audit_principal",
        "subject": "gg_audit_subject",
        "subject+kind": "gg_audit_subject",
    } == {
        name: used[name]
        for name in ("none", "kind", "principal", "principal+kind", "subject", "subject+kind")
    }
    assert used["principal+subject"] in ("gg_audit_principal", "gg_audit_subject")
    assert "ROW(at_utc, id) > ROW(" in plans["principal"]
    assert [] == [n for n, plan in plans.items() if "Sort" in plan or "Seq Scan" in plan]


def test_audit_columns_copy_the_entry(sql_store: Store) -> None:
    """An audit row's columns hold the entry's key, UTC instant, principal, kind, subject, cell."""
    entry = AuditEntry(
        "au1",
        T0.in_timezone("Europe/Berlin"),
        "w1",
        AuditKind.EXPORTED,
        "query:households",
        "610102003001",
        "csv",
    )
    with sql_store() as uow:
        uow.audit.add(entry)
        uow.commit()
    with sql_store() as uow:
        assert isinstance(uow, _sql.SqlUnitOfWork)
        row = uow.query_one(
            "SELECT id, at_utc, principal_id, kind, subject, cell_code, version FROM gg_audit"
        )
        got = uow.audit.between(since=T0, until=T0.add(seconds=1)).items
    assert (
        (
            "au1",
            "2026-11-28T01:00:00.000000",
            "w1",
            "exported",
            "query:households",
            "610102003001",
            1,
        ),
        (attrs.evolve(entry, version=1),),
    ) == (tuple(row or ()), got)


def test_series_add_many_in_bulk_round_trips(sql_store: Store) -> None:
    """A large series add_many (PostgreSQL's COPY path) keeps NULL last ends and documents."""
    series = [
        _series(
            f"a{i:03d}",
            T0.add(hours=i),
            rrule=None if i % 3 == 0 else "FREQ=WEEKLY" if i % 3 == 1 else "FREQ=DAILY;COUNT=3",
        )
        for i in range(60)
    ]
    with sql_store() as uow:
        uow.venues.add(VENUE)
        count = uow.series.add_many(series, batch_size=50)
        uow.commit()
    with sql_store() as uow:
        got = [uow.series.get(s.id) for s in series]
        years_later = _all(
            lambda a: uow.series.in_venue(
                "v1", start=T0.add(years=5), end=T0.add(years=6), limit=7, after=a
            )
        )
    expected = [attrs.evolve(s, version=1) for s in series]
    assert (60, expected, 20) == (count, got, len(years_later))


def test_corrupt_series_document_is_a_storage_error(tmp_path: Path) -> None:
    """A series document that no longer validates raises StorageError, not a cattrs error."""
    store = SqliteStore(tmp_path / "corrupt.db")
    _seed(store)
    _scheduling(store)
    with _raw(store.path) as conn:
        conn.execute("""UPDATE gg_series SET doc = json_set(doc, '$.rrule', 'FREQ=NEVER')""")
    with store() as uow, pytest.raises(StorageError, match="stored ActivitySeries does not"):
        uow.series.get("a1")
    store.close()


def test_failed_migration_keeps_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration that fails leaves the database at its previous version."""
    path = tmp_path / "old.db"
    SqliteStore(path).close()
    broken = ("CREATE TABLE gg_half (x INTEGER)", "THIS IS NOT SQL")
    current = len(SqliteDialect.migrations)
    monkeypatch.setattr(SqliteDialect, "migrations", (*SqliteDialect.migrations, broken))
    with pytest.raises(StorageError):
        SqliteStore(path)
    with _raw(path) as conn:
        version = conn.execute(f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert (current, False) == (version, "gg_half" in tables)


def test_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    """A file that is not SQLite raises StorageError, not a driver error."""
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError):
        SqliteStore(path)


def test_lost_postgres_connection_is_a_storage_error(postgres_schema: str) -> None:
    """A connection killed by the server raises StorageError, and the store recovers."""
    import psycopg

    from gridgov.adapters.postgres import PostgresStore

    store = PostgresStore(postgres_schema)
    _seed(store)
    url = postgres_schema.split("?")[0]
    with store() as uow:
        row = uow.query_one("SELECT pg_backend_pid()")
        assert row is not None
        pid = row[0]
        with psycopg.connect(url, autocommit=True) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(StorageError):
            uow.households.get("h1")
    with store() as uow:
        assert "h1" == uow.households.get("h1").id
    store.close()


CRASH_SCRIPT = textwrap.dedent(
    """
    import sys
    import pendulum
    from gridgov.adapters.sqlite import SqliteStore
    from gridgov.grid import GridCell, GridLevel
    from gridgov.households import Address, Household, Resident

    store = SqliteStore(sys.argv[1])
    with store() as uow:
        uow.cells.add(GridCell("610102", "d", GridLevel.DISTRICT))
        uow.cells.add(GridCell("610102003", "s", GridLevel.STREET, "610102"))
        uow.commit()
    batch, n = 500, 0
    while True:
        homes = [
            Household(f"h{n + i:07d}", "610102003", Address("x"), members=(
                Resident(f"r{n + i:07d}", "张三", birth_date=pendulum.Date(1950, 1, 1)),))
            for i in range(batch)
        ]
        with store() as uow:
            uow.households.add_many(homes, batch_size=100)
            uow.commit()
        n += batch
        print(n, flush=True)
    """
)


def test_sigkill_during_bulk_import_keeps_whole_batches(tmp_path: Path) -> None:
    """A process killed mid-import leaves a sound database holding whole committed batches."""
    path = tmp_path / "crash.db"
    with subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        seen = [int(proc.stdout.readline()) for _ in range(4)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with _raw(path) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
        households = conn.execute("SELECT count(*) FROM gg_households").fetchone()[0]
        residents = conn.execute("SELECT count(*) FROM gg_residents").fetchone()[0]
    assert ("ok", [], 0) == (integrity, orphans, households % 500)
    assert households >= seen[-1]
    assert households == residents
    store = SqliteStore(path)
    with store() as uow:
        assert households == len(
            _all(lambda a: uow.households.in_subtree("610102", limit=10_000, after=a))
        )
    store.close()


def _all(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    items: list[T] = []
    cursor = None
    while True:
        page = fetch(cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    """Every SQLite connection runs in WAL mode, enforces foreign keys and waits when busy."""
    store = SqliteStore(tmp_path / "pragmas.db", busy_timeout=7)
    conn = store.acquire()
    cur = conn.cursor()
    settings = tuple(
        cur.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "foreign_keys", "busy_timeout")
    )
    store.release(conn)
    store.close()
    assert ("wal", 1, 7000) == settings


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite:/// URLs name a relative file, sqlite://// an absolute one, sqlite:// a temporary."""
    from gridgov import open_store

    monkeypatch.chdir(tmp_path)
    relative = open_store("sqlite:///rel.db")
    absolute = open_store(f"sqlite:///{tmp_path / 'abs.db'}")
    temporary = open_store("sqlite://")
    paths = [s.path for s in (relative, absolute, temporary)]  # type: ignore[attr-defined]
    for s in (relative, absolute, temporary):
        s.close()
    assert Path("rel.db") == paths[0]
    assert tmp_path / "abs.db" == paths[1]
    assert not paths[2].exists()


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    """Several threads opening a new SQLite file at once all succeed: one of them migrates it."""
    path = tmp_path / "race.db"
    errors: list[BaseException] = []

    def open_close() -> None:
        try:
            SqliteStore(path).close()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    for _ in range(5):
        path.unlink(missing_ok=True)
        pool = [threading.Thread(target=open_close) for _ in range(4)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    assert [] == errors
