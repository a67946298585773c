"""The record-kind declarations: the schema derived from them, and old databases that upgrade.

``tests/data/schema/*-v1-v5.json`` hold the hand-written DDL of schema versions 1 to 5, as the
first release created databases; the declarations must open and upgrade every one of them.
"""

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gridgov.adapters import _sql
from gridgov.adapters.sqlite import SqliteDialect, SqliteStore
from gridgov.grid import GridCell, GridLevel
from gridgov.households import Address, Household, Resident
from gridgov.records import KINDS, STEPS, Role, tables

DATA = Path(__file__).parent / "data" / "schema"
CELL = GridCell("610102", "新城区", GridLevel.DISTRICT)
HOUSEHOLD = Household("h1", "610102", Address("铁一村1号楼"), members=(Resident("r1", "田林"),))


def _first_release_ddl(dialect: str) -> list[list[str]]:
    """Return the hand-written migrations of the first release for ``dialect``."""
    ddl: list[list[str]] = json.loads((DATA / f"{dialect}-v1-v5.json").read_text("utf-8"))
    return ddl


def _normalised(sql: str) -> str:
    """Return DDL text with its layout removed, for comparing."""
    # ``\s+,``: SQLite appends an added column after the table's text as it was written.
    unspaced = re.sub(r"\s+,", ",", re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", sql)))
    return re.sub(r"\s+", " ", unspaced).strip()


def _sqlite_schema(path: Path) -> list[tuple[str, str, str]]:
    """Return every table and index of a SQLite file with its normalised DDL."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    return [(kind, name, _normalised(sql)) for kind, name, sql in rows]


def _old_sqlite(path: Path, version: int) -> None:
    """Create a SQLite file as the first release's DDL left it at ``version``, with a household."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for statements in _first_release_ddl("sqlite")[:version]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"CREATE TABLE {_sql.SCHEMA_VERSION_TABLE} (version INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {_sql.SCHEMA_VERSION_TABLE} VALUES (?)", (version,))
        conn.execute(
            "INSERT INTO gg_cells VALUES (?, NULL, ?, 1, ?)",
            (CELL.code, CELL.level.value, _sql.encode(CELL)),
        )
        conn.execute(
            "INSERT INTO gg_households VALUES (?, ?, 1, ?)",
            (HOUSEHOLD.id, HOUSEHOLD.cell_code, _sql.encode(HOUSEHOLD)),
        )
        conn.execute("INSERT INTO gg_residents VALUES ('r1', 'h1', '610102', NULL)")


def test_declared_ddl_is_the_first_releases_ddl_on_both_dialects() -> None:
    """The migrations derived for versions 1-5 are the first release's hand-written ones."""
    from gridgov.adapters.postgres import PostgresDialect

    derived = {
        "sqlite": SqliteDialect.migrations,
        "postgresql": PostgresDialect.migrations,
    }
    expected = {
        dialect: [[_normalised(s) for s in version] for version in _first_release_ddl(dialect)]
        for dialect in derived
    }
    actual = {
        dialect: [[_normalised(s) for s in version] for version in migrations[:5]]
        for dialect, migrations in derived.items()
    }
    assert expected == actual


def test_version_6_adds_the_lock_table() -> None:
    """Schema version 6 creates the named locks' table and nothing else."""
    expected = ["CREATE TABLE gg_locks (name TEXT PRIMARY KEY, held INTEGER NOT NULL)"]
    assert expected == [_normalised(s) for s in SqliteDialect.migrations[5]]


def test_version_7_adds_remembered_requests_and_the_settings_history() -> None:
    """Version 7: remembered requests, the settings' history, residents by cell."""
    expected = [
        "CREATE TABLE gg_requests (id TEXT PRIMARY KEY, expires_utc TEXT NOT NULL, "
        "version INTEGER NOT NULL, doc TEXT NOT NULL)",
        "CREATE INDEX gg_requests_expires ON gg_requests (expires_utc, id)",
        "CREATE TABLE gg_settings_history (version INTEGER PRIMARY KEY, doc TEXT NOT NULL)",
        "CREATE INDEX gg_residents_cell ON gg_residents (cell_code, birth_date, id)",
    ]
    assert expected == [_normalised(s) for s in SqliteDialect.migrations[6]]


def test_version_8_adds_the_outbox() -> None:
    """Version 8: the outbox, with the relay's order and one number per record."""
    expected = [
        "CREATE TABLE gg_outbox (id TEXT PRIMARY KEY, aggregate TEXT NOT NULL, "
        "aggregate_id TEXT NOT NULL, sequence INTEGER NOT NULL, cell_code TEXT NOT NULL, "
        "recorded_utc TEXT NOT NULL, published_utc TEXT, version INTEGER NOT NULL, "
        "doc TEXT NOT NULL)",
        "CREATE INDEX gg_outbox_pending ON gg_outbox "
        "(published_utc, recorded_utc, aggregate, aggregate_id, sequence)",
        "CREATE UNIQUE INDEX gg_outbox_aggregate ON gg_outbox (aggregate, aggregate_id, sequence)",
    ]
    assert expected == [_normalised(s) for s in SqliteDialect.migrations[7]]


def test_version_9_adds_the_notifications() -> None:
    """Version 9: the notifications, with the notifier's queue and a person's list."""
    expected = [
        "CREATE TABLE gg_notifications (id TEXT PRIMARY KEY, subject_id TEXT NOT NULL, "
        "cell_code TEXT NOT NULL, created_utc TEXT NOT NULL, next_utc TEXT, "
        "version INTEGER NOT NULL, doc TEXT NOT NULL)",
        "CREATE INDEX gg_notifications_due ON gg_notifications (next_utc, id) "
        "WHERE next_utc IS NOT NULL",
        "CREATE INDEX gg_notifications_subject ON gg_notifications (subject_id, created_utc, id)",
    ]
    assert expected == [_normalised(s) for s in SqliteDialect.migrations[8]]


def test_version_10_adds_the_overdue_queue_of_care_tasks() -> None:
    """Version 10: a column of care tasks filled for the stored ones, and its index."""
    expected = [
        "ALTER TABLE gg_care_tasks ADD COLUMN overdue_check_utc TEXT",
        "UPDATE gg_care_tasks SET overdue_check_utc = CASE WHEN state = 'open' THEN due_utc END",
        "CREATE INDEX gg_care_tasks_overdue ON gg_care_tasks (overdue_check_utc, id)"
        " WHERE overdue_check_utc IS NOT NULL",
    ]
    assert expected == [_normalised(s) for s in SqliteDialect.migrations[9]]


def test_version_11_adds_the_id_digests_of_residents() -> None:
    """Version 11: the residents' ID digest column and its index; no SQL fill.

    The digests of the rows stored before are computed by the Python step of version 11.
    """
    expected = [
        "ALTER TABLE gg_residents ADD COLUMN id_digest TEXT",
        "CREATE INDEX gg_residents_id_digest ON gg_residents (id_digest, id)"
        " WHERE id_digest IS NOT NULL",
    ]
    steps = [(s.since, s.table, s.columns, s.keyed) for s in STEPS]
    assert (expected, [(11, "gg_residents", ("id_digest",), True)]) == (
        [_normalised(s) for s in SqliteDialect.migrations[10]],
        steps,
    )


def test_version_12_adds_components_and_the_duplicate_reads_of_cases() -> None:
    """Version 12, the last: the component register, a case's component, two case indexes."""
    expected = [
        "CREATE TABLE gg_components (id TEXT PRIMARY KEY, cell_code TEXT NOT NULL, "
        "category TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL)",
        "CREATE INDEX gg_components_cell ON gg_components (cell_code, id)",
        "ALTER TABLE gg_cases ADD COLUMN component_id TEXT",
        "CREATE INDEX gg_cases_component ON gg_cases (component_id, reported_utc, id)"
        " WHERE component_id IS NOT NULL",
        "CREATE INDEX gg_cases_category ON gg_cases (category, reported_utc, id)",
    ]
    assert (12, expected) == (
        len(SqliteDialect.migrations),
        [_normalised(s) for s in SqliteDialect.migrations[11]],
    )


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_first_release_database_upgrades_to_the_declared_schema(
    version: int, tmp_path: Path
) -> None:
    """A first-release SQLite file at any version opens, keeps its data, gets the new schema."""
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    _old_sqlite(old, version)
    store = SqliteStore(old)
    with store() as uow:
        kept = uow.households.household_of("r1").id
    store.close()
    SqliteStore(new).close()
    assert ("h1", _sqlite_schema(new)) == (kept, _sqlite_schema(old))


def test_first_release_postgres_database_upgrades_to_the_declared_schema(
    postgres_schema: str,
) -> None:
    """A first-release PostgreSQL schema at version 2 upgrades to the declared layout, data kept."""
    import psycopg

    from gridgov.adapters.postgres import PostgresStore

    url, schema = postgres_schema.split("?schema=")
    fresh = f"{schema}_new"

    def layout(conn: psycopg.Connection[tuple[object, ...]], name: str) -> list[object]:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, collation_name, is_nullable"
            " FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2",
            (name,),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, replace(indexdef, %s, '') FROM pg_indexes"
            " WHERE schemaname = %s ORDER BY 1",
            (f"{name}.", name),
        ).fetchall()
        return [*columns, *indexes]

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        for statements in _first_release_ddl("postgresql")[:2]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"CREATE TABLE {_sql.SCHEMA_VERSION_TABLE} (version INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {_sql.SCHEMA_VERSION_TABLE} VALUES (2)")
        conn.execute(
            "INSERT INTO gg_cells VALUES (%s, NULL, %s, 1, %s)",
            (CELL.code, CELL.level.value, _sql.encode(CELL)),
        )
        conn.execute(
            "INSERT INTO gg_households VALUES ('h1', '610102', 1, %s)", (_sql.encode(HOUSEHOLD),)
        )
        conn.execute("INSERT INTO gg_residents VALUES ('r1', 'h1', '610102', NULL)")
    try:
        store = PostgresStore(postgres_schema)
        with store() as uow:
            kept = uow.households.household_of("r1").id
        store.close()
        PostgresStore(f"{url}?schema={fresh}").close()
        with psycopg.connect(url, autocommit=True) as conn:
            old_layout, new_layout = layout(conn, schema), layout(conn, fresh)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{fresh}" CASCADE')
    assert ("h1", new_layout) == (kept, old_layout)


def test_every_declared_table_is_one_the_adapters_drop() -> None:
    """The declared tables and the SQL adapters' table list agree, schema table aside."""
    declared = {t.name for t in tables()}
    assert declared | {_sql.SCHEMA_VERSION_TABLE} == set(_sql.table_names())


def test_every_declared_index_names_columns_of_its_table() -> None:
    """Each index part names a column of its table, and subtree parts are cell codes."""
    problems = [
        (t.name, i.name, p.column)
        for t in tables()
        for i in t.indexes
        for p in i.parts
        if p.column not in t.column_names or (p.role is Role.SUBTREE and p.column != "cell_code")
    ]
    assert [] == problems


def test_every_kind_declares_its_key_first_then_version_and_doc_last() -> None:
    """The engines rely on the layout: key column first, ``version`` and ``doc`` last."""
    layouts = {k.name: (k.key_column, k.table.column_names[-2:]) for k in KINDS}
    expected = {k.name: (k.table.primary_key[0], ("version", "doc")) for k in KINDS}
    assert expected == layouts


def test_sql_repositories_offer_what_each_declaration_allows(tmp_path: Path) -> None:
    """``remove`` exists exactly for removable kinds, ``update`` never for append-only ones."""
    store = SqliteStore(tmp_path / "offers.db")
    by_kind = {
        "cell": "cells",
        "worker": "workers",
        "household": "households",
        "contact": "contacts",
        "care task": "care_tasks",
        "case": "cases",
        "settings": "settings",
        "remembered request": "requests",
        "venue": "venues",
        "series": "series",
        "registration": "registrations",
        "shift": "shifts",
        "sign-up": "signups",
        "audit entry": "audit",
        "event": "outbox",
        "notification": "notifications",
        "component": "components",
    }
    with store() as uow:
        offered = {
            k.name: (
                hasattr(getattr(uow, by_kind[k.name]), "remove"),
                hasattr(getattr(uow, by_kind[k.name]), "update"),
            )
            for k in KINDS
        }
    store.close()
    expected = {k.name: (k.removable, not k.append_only and k.name != "settings") for k in KINDS}
    assert expected == offered
