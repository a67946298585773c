"""The MariaDB/MySQL adapter passes the conformance kit (each test in its own database)."""

from collections.abc import Iterator

import pytest

from gridgov.testing.contracts import StoreContract


class TestMysqlStore(StoreContract):
    """The whole kit on MariaDB (or MySQL)."""

    @pytest.fixture
    def make_uow(self, mysql_database: str) -> Iterator[object]:
        """Return a store on a fresh database."""
        from gridgov.adapters.mysql import MysqlStore

        store = MysqlStore(mysql_database, lock_timeout=5)
        yield store
        store.close()

    @pytest.fixture
    def store_url(self, mysql_database: str) -> str:
        """Return the URL of the same database."""
        return mysql_database
