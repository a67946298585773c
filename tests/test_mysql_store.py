"""The MariaDB/MySQL adapter passes the kit (the run's own database, emptied for each test)."""

from collections.abc import Callable, Iterator

import pytest

from gridgov.ports import Store
from gridgov.testing.contracts import StoreContract


class TestMysqlStore(StoreContract):
    """The whole kit on MariaDB (or MySQL)."""

    @pytest.fixture
    def make_uow(
        self, mysql_kit_database: str, emptied: Callable[[Store], Store]
    ) -> Iterator[object]:
        """Return a store on the run's kit database, emptied."""
        from gridgov.adapters.mysql import MysqlStore

        store = emptied(MysqlStore(mysql_kit_database, lock_timeout=5))
        yield store
        store.close()

    @pytest.fixture
    def store_url(self, mysql_kit_database: str) -> str:
        """Return the URL of the same database."""
        return mysql_kit_database
