"""The in-memory adapter passes the conformance kit."""

import pytest

from gridgov.adapters.memory import MemoryStore
from gridgov.testing.contracts import StoreContract


class TestMemoryStore(StoreContract):
    """The whole kit on a fresh MemoryStore."""

    @pytest.fixture
    def make_uow(self) -> MemoryStore:
        """Return a fresh in-memory store."""
        return MemoryStore()
