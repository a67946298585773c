"""The kit's contract for remembered requests (idempotency keys): see ``RequestRepository``."""

from __future__ import annotations

import attrs
import pendulum
import pytest

from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.idempotency import RememberedRequest
from gridgov.ports import UnitOfWork
from gridgov.testing._world import UowFactory, _Base

__all__ = ["RequestRepositoryContract"]

_AT = pendulum.datetime(2026, 12, 7, 9, tz="Asia/Shanghai")


def _request(key: str, expires_in_hours: int = 24) -> RememberedRequest:
    return RememberedRequest(
        id=key,
        service="gridgov.services.cases.report_case",
        fingerprint="0" * 64,
        result='{"case": "中文"}',
        at=_AT,
        expires=_AT.add(hours=expires_in_hours),
    )


class RequestRepositoryContract(_Base):
    """What every ``RequestRepository`` does: remember, recall, forget, expire in order."""

    def test_remembered_request_round_trips(self, store: UowFactory) -> None:
        """A request added and committed is read back equal, at version 1."""
        with store() as uow:
            added = uow.requests.add(_request("k-1"))
            uow.commit()
        with store() as uow:
            got = uow.requests.get("k-1")
        assert (attrs.evolve(_request("k-1"), version=1), got) == (added, added)

    def test_a_key_is_remembered_once(self, store: UowFactory) -> None:
        """A second request under a stored key is a ConflictError no retry helps."""
        with store() as uow:
            uow.requests.add(_request("k-1"))
            uow.commit()
        with store() as uow, pytest.raises(ConflictError) as info:
            uow.requests.add(_request("k-1"))
        assert False is info.value.retryable

    def test_uncommitted_requests_are_invisible_and_discarded(self, store: UowFactory) -> None:
        """Another unit does not see an uncommitted request; without commit none is kept."""
        with store() as uow:
            uow.requests.add(_request("k-1"))
            with store() as other, pytest.raises(NotFoundError):
                other.requests.get("k-1")
        with store() as uow, pytest.raises(NotFoundError):
            uow.requests.get("k-1")

    def test_a_removed_request_is_forgotten(self, store: UowFactory) -> None:
        """Removing the current version forgets the key; a stale version conflicts."""
        with store() as uow:
            added = uow.requests.add(_request("k-1"))
            uow.commit()
        with store() as uow, pytest.raises(ConflictError):
            uow.requests.remove(attrs.evolve(added, version=5))
        with store() as uow:
            uow.requests.remove(added)
            uow.commit()
        with store() as uow, pytest.raises(NotFoundError):
            uow.requests.get("k-1")

    def test_forget_expired_takes_the_oldest_first_up_to_the_limit(self, store: UowFactory) -> None:
        """Expired requests go by expiry, ``limit`` at a time; unexpired ones stay."""
        with store() as uow:
            for key, hours in [("k-3", 3), ("k-1", 1), ("k-2", 2), ("k-9", 9)]:
                uow.requests.add(_request(key, hours))
            uow.commit()
        now = _AT.add(hours=5)
        with store() as uow:
            first = uow.requests.forget_expired(now, limit=2)
            uow.commit()
        with store() as uow:
            left = [k for k in ("k-1", "k-2", "k-3", "k-9") if _stored(uow, k)]
            second = uow.requests.forget_expired(now, limit=2)
            uow.commit()
        with store() as uow:
            last = [k for k in ("k-1", "k-2", "k-3", "k-9") if _stored(uow, k)]
        assert (2, ["k-3", "k-9"], 1, ["k-9"]) == (first, left, second, last)

    def test_bad_requests_are_refused(self, store: UowFactory) -> None:
        """Something else than a RememberedRequest, a naive instant or a zero limit: refused."""
        with store() as uow:
            with pytest.raises(ValidationError) as added:
                uow.requests.add("k-1")  # type: ignore[arg-type]
            with pytest.raises(ValidationError) as naive:
                uow.requests.forget_expired(pendulum.naive(2026, 12, 7))
            with pytest.raises(ValidationError):
                uow.requests.forget_expired(_AT, limit=0)
        assert ("request", "now") == (added.value.path, naive.value.path)


def _stored(uow: UnitOfWork, key: str) -> bool:
    try:
        uow.requests.get(key)
    except NotFoundError:
        return False
    return True
