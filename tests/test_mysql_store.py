"""The MariaDB/MySQL adapter passes the conformance kit (the run's database, emptied per test).

The kit's races (threads or processes at once, claims) each get a database of their own: on a
shared one, InnoDB's purge of the rows the previous test deleted runs beside them, and racing
claims over rows deleted but not yet purged were flaky.
"""

import re
from collections.abc import Callable, Iterator

import pytest

from gridgov.ports import Store
from gridgov.testing.contracts import StoreContract

_RACES = re.compile(r"racing|concurrent|claim")


def _database(request: pytest.FixtureRequest) -> str:
    """Return the URL a test runs on: a fresh database for a race, else the run's kit database."""
    if _RACES.search(request.node.name):
        return str(request.getfixturevalue("mysql_database"))
    return str(request.getfixturevalue("mysql_kit_database"))


class TestMysqlStore(StoreContract):
    """The whole kit on MariaDB (or MySQL)."""

    @pytest.fixture
    def make_uow(
        self, request: pytest.FixtureRequest, emptied: Callable[[Store], Store]
    ) -> Iterator[object]:
        """Return a store on the test's database, emptied."""
        from gridgov.adapters.mysql import MysqlStore

        store = emptied(MysqlStore(_database(request), lock_timeout=5))
        yield store
        store.close()

    @pytest.fixture
    def store_url(self, request: pytest.FixtureRequest) -> str:
        """Return the URL of the same database."""
        return _database(request)
