"""The in-memory adapter passes the conformance kit."""

import pytest

from gridgov.adapters.memory import MemoryStore
from gridgov.errors import ConflictError
from gridgov.grid import GridCell, GridLevel
from gridgov.testing.contracts import StoreContract


class TestMemoryStore(StoreContract):
    """The whole kit on a fresh MemoryStore."""

    @pytest.fixture
    def make_uow(self) -> MemoryStore:
        """Return a fresh in-memory store."""
        return MemoryStore()


def test_commit_detects_a_write_made_after_staging() -> None:
    """A unit whose read record was changed by another commit fails at commit, storing nothing."""
    store = MemoryStore()
    with store() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.commit()
    with store() as slow, store() as fast:
        slow.cells.update(slow.cells.get("610102"))
        slow.cells.add(GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"))
        fast.cells.update(fast.cells.get("610102"))
        fast.commit()
        with pytest.raises(ConflictError):
            slow.commit()
    with store() as uow:
        assert (2, ()) == (uow.cells.get("610102").version, uow.cells.children("610102"))
