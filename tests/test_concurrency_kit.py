"""The kit's concurrency contracts fail a store that does not hold the locks services ask for."""

import pytest

from gridgov.adapters.memory import MemoryLockRepository, MemoryStore, MemoryUnitOfWork
from gridgov.testing._world import UowFactory
from gridgov.testing.contracts import ConcurrencyContract


class _Unheld(MemoryLockRepository):
    """Locks that hold nothing: what a naive adapter's read-then-write amounts to."""

    def hold(self, name: str) -> None:
        """Do nothing."""


class _StoreIgnoringLocks(MemoryStore):
    """A memory store whose units of work ignore every lock."""

    def __call__(self) -> MemoryUnitOfWork:
        """Return a unit of work whose locks hold nothing."""
        uow = super().__call__()
        uow.locks = _Unheld(uow)
        return uow


_BREAKS = pytest.mark.xfail(strict=True, raises=AssertionError, reason="the rule is broken")


class TestStoreIgnoringLocks(ConcurrencyContract):
    """The racing contracts catch a store that counts, then writes, without a lock."""

    @pytest.fixture
    def make_uow(self) -> _StoreIgnoringLocks:
        """Return the broken store."""
        return _StoreIgnoringLocks()

    @_BREAKS
    def test_racing_registrations_never_exceed_the_capacity(self, racers: UowFactory) -> None:
        """Racers count places none of them holds: more are confirmed than there are places."""
        super().test_racing_registrations_never_exceed_the_capacity(racers)

    @_BREAKS
    def test_racing_registrations_of_one_resident_never_overlap(self, racers: UowFactory) -> None:
        """Racers check one resident's bookings unlocked: several overlapping ones are kept."""
        super().test_racing_registrations_of_one_resident_never_overlap(racers)

    @_BREAKS
    def test_racing_sign_ups_never_exceed_the_volunteers_needed(self, racers: UowFactory) -> None:
        """Racers count volunteers unlocked: more sign up than the shift needs."""
        super().test_racing_sign_ups_never_exceed_the_volunteers_needed(racers)
