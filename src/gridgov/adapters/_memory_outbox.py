"""The outbox and the notifications of the memory store: their queries over the engine.

Events are records of the declared kind ``OUTBOX``: the engine stores them and keeps the
declared indexes (the pending ones in the relay's order, each record's events by number); what
is left here is the outbox's own rule (a record's numbers are never taken twice) and queries.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import attrs
import pendulum

from gridgov.adapters._memory_engine import MemoryRecords, MemoryRepository
from gridgov.adapters._queries import NotificationQueries
from gridgov.adapters.support import check_instant, check_limit, check_text_key, instant_key
from gridgov.errors import ConflictError
from gridgov.notify import Notification
from gridgov.outbox import StoredEvent
from gridgov.ports import DEFAULT_PAGE_SIZE
from gridgov.records import kinds

__all__ = ["MemoryNotificationRepository", "MemoryOutboxRepository"]


class MemoryOutboxRepository(MemoryRecords[StoredEvent]):
    """The outbox of a :class:`MemoryStore`; see :class:`gridgov.ports.OutboxRepository`."""

    declared = kinds.OUTBOX

    def _numbers(self, key: tuple[str, str]) -> Iterator[tuple[object, StoredEvent]]:
        """Yield ``((number, id), event)`` of one record's events by number, last first."""
        return self._read("gg_outbox_aggregate", key, reverse=True)

    def _taken(self, event: StoredEvent) -> bool:
        """Return whether another stored or staged event has the number of ``event``."""
        return any(
            e.sequence == event.sequence and e.id != event.id for _, e in self._numbers(event.key)
        )

    def _check(self, record: StoredEvent, known: set[tuple[str, str]] | None = None) -> None:
        if self._taken(record):
            raise ConflictError(
                f"event {record.sequence} of {record.aggregate} {record.aggregate_id!r}"
                " is already stored",
                retryable=True,
            )

    def add(self, record: StoredEvent) -> StoredEvent:
        """Store a new event; return it with version 1."""
        self.add_many([record])
        return attrs.evolve(record, version=1)

    def last_events(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredEvent]:
        """Return the last event stored per ``(aggregate, aggregate_id)``; see the port."""
        wanted = {(check_text_key("aggregate", a), check_text_key("key", i)) for a, i in keys}
        with self._uow._store._lock:
            last = {key: next(self._numbers(key), None) for key in wanted}
        return {key: found[1] for key, found in last.items() if found is not None}

    def pending(self, *, limit: int = DEFAULT_PAGE_SIZE) -> tuple[StoredEvent, ...]:
        """Return up to ``limit`` unpublished events in the relay's order."""
        check_limit(limit)
        with self._uow._store._lock:
            rows = self._read("gg_outbox_pending", None)  # NULL: not published
            return tuple(e for _, e in itertools.islice(rows, limit))

    def for_aggregate(self, aggregate: str, aggregate_id: str) -> tuple[StoredEvent, ...]:
        """Return one record's events by number."""
        key = (check_text_key("aggregate", aggregate), check_text_key("key", aggregate_id))
        with self._uow._store._lock:
            return tuple(e for _, e in self._read("gg_outbox_aggregate", key))

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
            # The pending index groups events by when they were published: the groups before
            # the cutoff (a relay's batch each), and this unit's own marks.
            groups = self._table.index("gg_outbox_pending").groups
            found = {
                e.id: e
                for published in list(groups)
                if published is not None and published < cutoff
                for _, e in self._read("gg_outbox_pending", published)
            }
            found.update(
                (e.id, e)
                for e in self._staging.staged()
                if e.published is not None and instant_key(e.published) < cutoff
            )
            last = self.last_events({e.key for e in found.values()})
            old = sorted(
                (instant_key(e.published), e.id, e)
                for e in found.values()
                if e.published is not None and e.sequence < last[e.key].sequence
            )[:limit]
            for _, key, event in old:
                self._staging.stage_remove(key, event)
        return len(old)

    def problems(self) -> Iterator[str]:
        """Yield the new events whose number another unit committed meanwhile."""
        committed = self._staging.committed
        for key, event in self._staging.values.items():
            if event is not None and committed(key) is None and self._taken(event):
                yield (
                    f"event {event.sequence} of {event.aggregate} {event.aggregate_id!r}"
                    " was recorded by another unit of work meanwhile"
                )


class MemoryNotificationRepository(NotificationQueries, MemoryRepository[Notification]):
    """Notifications of a :class:`MemoryStore`; see ``gridgov.ports.NotificationRepository``."""

    declared = kinds.NOTIFICATIONS
