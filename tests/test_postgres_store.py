"""The PostgreSQL adapter passes the conformance kit (each test in its own schema)."""

from collections.abc import Iterator

import pytest

from gridgov.testing.contracts import StoreContract


class TestPostgresStore(StoreContract):
    """The whole kit on PostgreSQL."""

    @pytest.fixture
    def make_uow(self, postgres_schema: str) -> Iterator[object]:
        """Return a store on a fresh schema."""
        from gridgov.adapters.postgres import PostgresStore

        store = PostgresStore(postgres_schema, lock_timeout=5)
        yield store
        store.close()

    @pytest.fixture
    def store_url(self, postgres_schema: str) -> str:
        """Return the URL of the same schema."""
        return postgres_schema
