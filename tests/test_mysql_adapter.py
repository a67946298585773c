"""What only the MariaDB/MySQL adapter promises: collation, lengths, URLs, locks and errors."""

import threading
from collections.abc import Iterator
from typing import Any

import pendulum
import pytest

from gridgov import open_store
from gridgov.adapters import _sql
from gridgov.adapters._sql_kinds import SqlHouseholdRepository
from gridgov.adapters.sql import statement_of
from gridgov.errors import ConflictError, StorageError, ValidationError
from gridgov.grid import GridCell, GridLevel, Worker
from gridgov.households import Address, Household, Resident, Tag

pytest.importorskip("pymysql", reason="PyMySQL is not installed (pip install 'gridgov[mysql]')")

from gridgov.adapters.mysql import KEY_LENGTH, MysqlDialect, MysqlStore, _parse


@pytest.fixture
def store(mysql_database: str) -> Iterator[MysqlStore]:
    """Return a store on a fresh database."""
    opened = MysqlStore(mysql_database, lock_timeout=5)
    yield opened
    opened.close()


def _server(url: str) -> Any:
    """Return a plain autocommit PyMySQL connection to the database of ``url``."""
    import pymysql

    return pymysql.connect(**_parse(url), autocommit=True)


def _scalar(conn: Any, sql: str) -> Any:
    """Run ``sql`` and return the first column of its first row (``None`` if it has none)."""
    with conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    return None if row is None else row[0]


def test_keys_sort_and_compare_as_python_strings(store: MysqlStore) -> None:
    """Ids that differ in case, a trailing space or a control character stay apart, in order.

    A case-insensitive or PAD SPACE collation would merge or reorder them.
    """
    ids = ["a", "A", "a ", "a\x01", "b", "B", "é", "\U0001f600", "a\U0010ffff"]
    with store() as uow:
        uow.write()
        for key in ids:
            uow.execute("INSERT INTO gg_workers (id, version, doc) VALUES (?, 1, '{}')", (key,))
        uow.commit()
    with store() as uow:
        stored = [row[0] for row in uow.query("SELECT id FROM gg_workers ORDER BY id")]
        below = [r[0] for r in uow.query("SELECT id FROM gg_workers WHERE id < ?", ("a\x02",))]
    assert (sorted(ids), sorted(k for k in ids if k < "a\x02")) == (stored, sorted(below))


def test_worker_ids_page_in_code_point_order(store: MysqlStore) -> None:
    """workers.list pages ids as Python sorts them: upper case before lower case."""
    ids = ["b", "A", "a", "B", "a-1", "a.1", "Z"]
    with store() as uow:
        for key in ids:
            uow.workers.add(Worker(key, "网格员"))
        uow.commit()
    with store() as uow:
        first = uow.workers.list(limit=4)
        second = uow.workers.list(limit=4, after=first.next_cursor)
    assert sorted(ids) == [w.id for w in (*first.items, *second.items)]


def test_a_key_longer_than_its_column_is_a_validation_error_naming_it(store: MysqlStore) -> None:
    """A value over the key columns' length is refused (never truncated) as a ValidationError."""
    with store() as uow:
        uow.write()
        with pytest.raises(ValidationError) as caught:
            uow.execute(
                "INSERT INTO gg_workers (id, version, doc) VALUES (?, 1, '{}')",
                ("x" * (KEY_LENGTH + 1),),
            )
        uow.execute("INSERT INTO gg_workers (id, version, doc) VALUES (?, 1, '{}')", ("ok",))
        uow.commit()
    with store() as uow:
        stored = [row[0] for row in uow.query("SELECT id FROM gg_workers")]
    assert ("id", ["ok"]) == (caught.value.path, stored)


def test_open_store_creates_the_database_for_mysql_and_mariadb_urls(mysql_database: str) -> None:
    """mysql:// and mariadb:// URLs open a MysqlStore; the first creates the missing database."""
    first = open_store(mysql_database)
    first.close()
    second = open_store(mysql_database.replace("mysql://", "mariadb://", 1))
    second.close()
    conn = _server(mysql_database)
    try:
        version = _scalar(conn, f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}")
    finally:
        conn.close()
    assert (MysqlStore, MysqlStore, len(MysqlDialect().migrations)) == (
        type(first),
        type(second),
        version,
    )


def test_opening_releases_the_schema_lock(store: MysqlStore, mysql_database: str) -> None:
    """After migrating, the store gives up its GET_LOCK so another process can open the database."""
    conn = _server(mysql_database)
    try:
        free = _scalar(conn, "SELECT IS_FREE_LOCK(LEFT(CONCAT('gridgov:', DATABASE()), 64))")
    finally:
        conn.close()
    assert 1 == free


def test_concurrent_first_opens_migrate_once(mysql_database: str) -> None:
    """Threads opening a new database at once all succeed; the schema is at the latest version."""
    errors: list[BaseException] = []

    def open_close() -> None:
        try:
            MysqlStore(mysql_database, lock_timeout=5).close()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    pool = [threading.Thread(target=open_close) for _ in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    conn = _server(mysql_database)
    try:
        rows = _scalar(conn, f"SELECT COUNT(*) FROM {_sql.SCHEMA_VERSION_TABLE}")
    finally:
        conn.close()
    assert ([], 1) == (errors, rows)


def test_newer_schema_is_refused(store: MysqlStore, mysql_database: str) -> None:
    """A database written by a newer gridgov fails to open with a clear StorageError."""
    conn = _server(mysql_database)
    try:
        _scalar(conn, f"UPDATE {_sql.SCHEMA_VERSION_TABLE} SET version = 99")
    finally:
        conn.close()
    with pytest.raises(StorageError, match="schema version 99, newer than this gridgov supports"):
        MysqlStore(mysql_database)


def test_a_half_done_upgrade_is_completed_by_the_next_open(
    store: MysqlStore, mysql_database: str
) -> None:
    """DDL commits at once on MySQL: a database left between versions 3 and 5 is brought to 5."""
    with store() as uow:
        uow.workers.add(Worker("w1", "网格员"))
        uow.commit()
    store.close()
    conn = _server(mysql_database)
    try:
        # As if the upgrade from 3 had created version 4's tables up to gg_shifts, then failed.
        _scalar(conn, "DROP TABLE gg_audit, gg_signups")
        _scalar(conn, f"UPDATE {_sql.SCHEMA_VERSION_TABLE} SET version = 3")
        MysqlStore(mysql_database).close()
        version = _scalar(conn, f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}")
        tables = _scalar(
            conn,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
            " AND TABLE_NAME IN ('gg_audit', 'gg_signups')",
        )
    finally:
        conn.close()
    with MysqlStore(mysql_database) as again, again() as uow:  # a closed store opens no unit
        kept = uow.workers.get("w1").id
    assert (len(MysqlDialect().migrations), 2, "w1") == (version, tables, kept)


def test_lost_connection_is_a_storage_error(store: MysqlStore, mysql_database: str) -> None:
    """A connection killed by the server raises StorageError, and the store recovers."""
    with store() as uow:
        row = uow.query_one("SELECT CONNECTION_ID()")
        assert row is not None
        killer = _server(mysql_database)
        try:
            _scalar(killer, f"KILL CONNECTION {int(row[0])}")
        finally:
            killer.close()
        with pytest.raises(StorageError):
            uow.workers.list()
    with store() as uow:
        assert [] == list(uow.workers.list().items)


def test_sessions_are_strict_read_committed_and_count_matched_rows(store: MysqlStore) -> None:
    """Connections run in strict mode at READ COMMITTED, with rowcount counting matched rows."""
    with store() as uow:
        mode = uow.query_one("SELECT @@SESSION.sql_mode")
        isolation = uow.query_one("SELECT @@SESSION.tx_isolation")
        uow.write()
        uow.execute("INSERT INTO gg_workers (id, version, doc) VALUES ('w', 1, '{}')")
        unchanged = uow.execute("UPDATE gg_workers SET version = 1 WHERE id = 'w'").rowcount
    assert (True, "READ-COMMITTED", 1) == (
        mode is not None and "STRICT_ALL_TABLES" in mode[0],
        None if isolation is None else isolation[0],
        unchanged,
    )


def test_subtree_tag_and_age_queries_are_index_range_scans(
    store: MysqlStore, mysql_database: str
) -> None:
    """MariaDB answers the subtree, tag and age queries with range scans of their indexes."""
    cells = ["610102", "610103", "610104", "610105"]
    homes = [
        Household(
            f"h{i:04d}",
            cells[i % 4],
            Address("铁一村"),
            members=(
                Resident(
                    f"r{i:04d}",
                    "田林",
                    birth_date=pendulum.Date(1940 + i % 60, 1, 1),
                    tags={Tag.LIVING_ALONE} if i % 7 == 0 else set(),
                ),
            ),
        )
        for i in range(800)
    ]
    with store() as uow:
        for code in cells:
            uow.cells.add(GridCell(code, "区", GridLevel.DISTRICT))
        uow.households.add_many(homes)
        uow.commit()
    repo = SqlHouseholdRepository
    top = "\U0010ffff"
    queries = [
        statement_of(repo, lambda r: r.in_subtree("610102", limit=10)),
        (repo.TAG_SQL, (Tag.LIVING_ALONE.code, "610102", "610102" + top, "", "", "", 10)),
        (repo.AGED_SQL, ("1940-01-01", "1942-01-01", "", top, "", "", 10)),
        (repo.AGED_WITHIN_SQL, ("1940-01-01", "1942-01-01", "610102", "610103", "", "", 10)),
    ]
    with store() as uow:
        uow.execute("ANALYZE TABLE gg_households, gg_residents, gg_resident_tags").fetchall()
        # The plan's row for the table each query searches (not the derived page, not the join).
        searched = ("gg_households", "t", "r", "gg_residents")
        plans = [
            next(r for r in uow.query(f"EXPLAIN {sql}", params) if r[2] in searched)
            for sql, params in queries
        ]
    assert [
        ("range", "gg_households_cell"),
        ("range", "PRIMARY"),
        ("range", "gg_residents_birth"),
        ("range", "gg_residents_cell"),
    ] == [(plan[3], plan[5]) for plan in plans]


def _household(household_id: str, resident_id: str) -> Household:
    return Household(
        household_id, "610102", Address("铁一村"), members=(Resident(resident_id, "田林"),)
    )


def test_writers_of_different_households_do_not_block_each_other(mysql_database: str) -> None:
    """While one unit rewrites h1's residents, another adds h2 and commits.

    At REPEATABLE READ, InnoDB's gap locks on the residents' household index would hold the
    second writer until its lock timeout and turn it into a ConflictError.
    """
    store = MysqlStore(mysql_database, lock_timeout=1)
    with store() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.households.add(_household("h1", "r1"))
        uow.households.add(_household("h3", "r3"))
        uow.commit()
    with store() as first:
        first.households.update(first.households.get("h1"))
        with store() as second:
            second.households.add(_household("h2", "r2"))
            second.commit()
        first.commit()
    with store() as uow:
        stored = [h.id for h in uow.households.in_subtree("610102").items]
    store.close()
    assert ["h1", "h2", "h3"] == stored


def test_a_deadlocked_unit_stores_nothing_more(store: MysqlStore) -> None:
    """Of two units that deadlock, one wins; the other's later writes are refused, not committed.

    InnoDB rolls the deadlocked transaction back and would run the unit's next statements in
    autocommit mode.
    """
    with store() as uow:
        uow.workers.add(Worker("w1", "网格员"))
        uow.workers.add(Worker("w2", "网格员"))
        uow.commit()
    both_hold_a_lock = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def side(mine: str, theirs: str, extra: str) -> None:
        with store() as uow:
            uow.workers.update(uow.workers.get(mine))
            both_hold_a_lock.wait()
            try:
                uow.workers.update(uow.workers.get(theirs))
            except ConflictError:
                try:
                    uow.workers.add(Worker(extra, "网格员"))
                    uow.commit()
                    outcomes[extra] = "stored after the deadlock"
                except ConflictError:
                    outcomes[extra] = "refused"
                return
            uow.commit()
            outcomes[extra] = "won"

    pool = [
        threading.Thread(target=side, args=("w1", "w2", "x1")),
        threading.Thread(target=side, args=("w2", "w1", "x2")),
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    with store() as uow:
        stored = [w.id for w in uow.workers.list().items]
    assert (["refused", "won"], ["w1", "w2"]) == (sorted(outcomes.values()), stored)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("mysql://root@127.0.0.1:3306/", "database"),
        ("mysql://root@127.0.0.1:3306/bad-name", "database"),
        ("mysql://root@127.0.0.1:port/db", "port"),
    ],
)
def test_bad_urls_are_validation_errors(url: str, field: str) -> None:
    """A URL without a usable database name or port is refused before connecting."""
    with pytest.raises(ValidationError) as caught:
        MysqlStore(url)
    assert field == caught.value.path


def test_placeholders_and_percent_signs_are_rewritten() -> None:
    """``?`` becomes PyMySQL's ``%s`` and a literal ``%`` is doubled."""
    assert "SELECT %s, '5%%' FROM t WHERE a = %s" == MysqlDialect().sql(
        "SELECT ?, '5%' FROM t WHERE a = ?"
    )
