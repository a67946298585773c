"""The SQLite adapter passes the conformance kit, on a file and on a temporary database."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from gridgov.adapters.sqlite import SqliteStore
from gridgov.testing.contracts import StoreContract


class TestSqliteFileStore(StoreContract):
    """The whole kit on a SQLite file."""

    @pytest.fixture
    def make_uow(self, tmp_path: Path) -> Iterator[SqliteStore]:
        """Return a store on a new file."""
        store = SqliteStore(tmp_path / "ledger.db")
        yield store
        store.close()

    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        """Return the URL of the same file."""
        return f"sqlite:///{tmp_path / 'ledger.db'}"


class TestSqliteTemporaryStore(StoreContract):
    """The whole kit on a temporary SQLite database."""

    @pytest.fixture
    def make_uow(self) -> Iterator[SqliteStore]:
        """Return a temporary store."""
        store = SqliteStore()
        yield store
        store.close()
