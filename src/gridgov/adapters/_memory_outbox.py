"""The outbox of the memory store: committed events and the indexes the relay reads."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import attrs
import pendulum

from gridgov.adapters.support import (
    check_batch_size,
    check_instant,
    check_limit,
    check_text_key,
    instant_key,
)
from gridgov.errors import ConflictError, ValidationError
from gridgov.outbox import StoredEvent
from gridgov.ports import DEFAULT_PAGE_SIZE, ProgressCallback

if TYPE_CHECKING:
    from gridgov.adapters._memory_engine import Staging as _Staging
    from gridgov.adapters.memory import MemoryUnitOfWork

__all__ = ["MemoryOutboxRepository", "OutboxState"]

Order = tuple[str, str, str, int, str]  # recorded key, aggregate, aggregate id, number, id


def _order(e: StoredEvent) -> Order:
    return (instant_key(e.recorded), e.aggregate, e.aggregate_id, e.sequence, e.id)


def _number(event: StoredEvent | None) -> int:
    return 0 if event is None else event.sequence


class OutboxState:
    """The committed events: by id, pending in the relay's order, numbers per record."""

    def __init__(self) -> None:
        self.events: dict[str, StoredEvent] = {}
        self.pending: list[Order] = []
        self.numbers: dict[tuple[str, str], dict[int, str]] = {}  # record -> number -> id

    def check(self, staged: dict[str, StoredEvent | None]) -> None:
        """Refuse a commit whose new event takes a number another unit committed meanwhile."""
        for key, event in staged.items():
            taken = event is not None and event.sequence in self.numbers.get(event.key, {})
            if event is not None and taken and key not in self.events:
                raise ConflictError(
                    f"event {event.sequence} of {event.aggregate} {event.aggregate_id!r}"
                    " was recorded by another unit of work meanwhile",
                    retryable=True,
                )

    def put(self, key: str, event: StoredEvent | None) -> None:
        """Commit ``event`` under ``key`` (``None``: delete it), keeping the indexes."""
        old = self.events.pop(key, None)
        if old is not None:
            if old.published is None:
                del self.pending[bisect.bisect_left(self.pending, _order(old))]
            numbers = self.numbers[old.key]
            del numbers[old.sequence]
            if not numbers:
                del self.numbers[old.key]
        if event is None:
            return
        self.events[key] = event
        self.numbers.setdefault(event.key, {})[event.sequence] = key
        if event.published is None:
            bisect.insort(self.pending, _order(event))


class MemoryOutboxRepository:
    """The outbox of a :class:`MemoryStore`; see :class:`gridgov.ports.OutboxRepository`."""

    def __init__(self, uow: MemoryUnitOfWork, staging: _Staging[StoredEvent]) -> None:
        self._uow = uow
        self._staging = staging

    @property
    def _state(self) -> OutboxState:
        return self._uow._state.outbox

    @staticmethod
    def _require(event: object) -> StoredEvent:
        if not isinstance(event, StoredEvent):
            raise ValidationError("event", "expected a StoredEvent")
        return event

    def get(self, event_id: str) -> StoredEvent:
        """Return the event with ``event_id`` or raise NotFoundError."""
        with self._uow._store._lock:
            return self._staging.get(event_id)

    def add(self, event: StoredEvent) -> StoredEvent:
        """Store a new event; return it with version 1."""
        self.add_many([event])
        return attrs.evolve(event, version=1)

    def add_many(
        self,
        events: Iterable[StoredEvent],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new events; return how many. A failure stores none of them."""
        check_batch_size(batch_size)
        checked = [self._require(e) for e in events]
        with self._uow._store._lock:
            taken = {
                (e.key, e.sequence) for e in self._staged() if e.key in {c.key for c in checked}
            }
            for event in checked:
                number = (event.key, event.sequence)
                if number in taken or event.sequence in self._state.numbers.get(event.key, {}):
                    raise ConflictError(
                        f"event {event.sequence} of {event.aggregate} {event.aggregate_id!r}"
                        " is already stored",
                        retryable=True,
                    )
                taken.add(number)
            staged: list[str] = []
            try:
                for event in checked:
                    self._staging.stage_add(event.id, event)
                    staged.append(event.id)
            except ConflictError:
                self._staging.unstage(staged)
                raise
        if progress is not None:  # staged at once, reported as the batches a store writes
            for done in (*range(batch_size, len(checked), batch_size), len(checked)):
                if done:
                    progress(done)
        return len(checked)

    def _staged(self) -> Iterator[StoredEvent]:
        return (e for e in self._staging.values.values() if e is not None)

    def last_events(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredEvent]:
        """Return the last event stored per ``(aggregate, aggregate_id)``; see the port."""
        wanted = {(check_text_key("aggregate", a), check_text_key("key", i)) for a, i in keys}
        with self._uow._store._lock:
            last: dict[tuple[str, str], StoredEvent] = {}
            for key in wanted:
                numbers = self._state.numbers.get(key)
                if numbers:
                    event = self._staging.current(numbers[max(numbers)])
                    if event is not None:
                        last[key] = event
            for event in self._staged():
                if event.key in wanted and event.sequence > _number(last.get(event.key)):
                    last[event.key] = event
        return last

    def pending(self, *, limit: int = DEFAULT_PAGE_SIZE) -> tuple[StoredEvent, ...]:
        """Return up to ``limit`` unpublished events in the relay's order."""
        check_limit(limit)
        staged = self._staging.values
        with self._uow._store._lock:
            found: list[tuple[Order, StoredEvent]] = []
            for order in self._state.pending:
                if order[-1] in staged:
                    continue
                found.append((order, self._state.events[order[-1]]))
                if len(found) == limit:
                    break
            found.extend((_order(e), e) for e in self._staged() if e.published is None)
        found.sort(key=lambda pair: pair[0])
        return tuple(e for _, e in found[:limit])

    def for_aggregate(self, aggregate: str, aggregate_id: str) -> tuple[StoredEvent, ...]:
        """Return one record's events by number."""
        key = (check_text_key("aggregate", aggregate), check_text_key("key", aggregate_id))
        with self._uow._store._lock:
            ids = set(self._state.numbers.get(key, {}).values())
            ids.update(e.id for e in self._staged() if e.key == key)
            found = [e for i in ids if (e := self._staging.current(i)) is not None]
        return tuple(sorted(found, key=lambda e: e.sequence))

    def mark_published(
        self, events: Iterable[StoredEvent], at: pendulum.DateTime
    ) -> tuple[StoredEvent, ...]:
        """Mark events published at ``at`` if their versions are current; return them."""
        published = check_instant("at", at)
        marked = [attrs.evolve(self._require(e), published=published) for e in events]
        with self._uow._store._lock:
            for event in marked:  # all checked first: a stale one marks none
                self._staging.check_current(event.id, event)
            return tuple(self._staging.stage_update(e.id, e) for e in marked)

    def prune(self, published_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Delete up to ``limit`` events published before the instant, each record's last kept."""
        cutoff = instant_key(check_instant("published_before", published_before))
        check_limit(limit)
        with self._uow._store._lock:
            keys = {*self._state.events, *self._staging.values}
            events = [e for e in map(self._staging.current, keys) if e is not None]
            last: dict[tuple[str, str], int] = {}
            for e in events:
                last[e.key] = max(last.get(e.key, 0), e.sequence)
            old = sorted(
                (instant_key(e.published), e.id, e)
                for e in events
                if e.published is not None
                and instant_key(e.published) < cutoff
                and e.sequence < last[e.key]
            )[:limit]
            for _, key, event in old:
                self._staging.stage_remove(key, event)
        return len(old)
