"""The PostgreSQL adapter passes the conformance kit (the run's schema, emptied for each test)."""

from collections.abc import Callable, Iterator

import pytest

from gridgov.ports import Store
from gridgov.testing.contracts import StoreContract


class TestPostgresStore(StoreContract):
    """The whole kit on PostgreSQL."""

    @pytest.fixture
    def make_uow(
        self, postgres_kit_schema: str, emptied: Callable[[Store], Store]
    ) -> Iterator[object]:
        """Return a store on the run's kit schema, emptied."""
        from gridgov.adapters.postgres import PostgresStore

        store = emptied(PostgresStore(postgres_kit_schema, lock_timeout=5))
        yield store
        store.close()

    @pytest.fixture
    def store_url(self, postgres_kit_schema: str) -> str:
        """Return the URL of the same schema."""
        return postgres_kit_schema
