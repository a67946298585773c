"""The outbox and the notifications in a SQL store: their queries over the generic engine."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

import attrs
import pendulum

from gridgov.adapters._queries import NotificationQueries
from gridgov.adapters._sql_engine import SqlRecords, SqlRepository
from gridgov.adapters.support import check_instant, check_limit, check_text_key, instant_key
from gridgov.notify import Notification
from gridgov.outbox import StoredEvent
from gridgov.ports import DEFAULT_PAGE_SIZE
from gridgov.records import kinds

__all__ = ["SqlNotificationRepository", "SqlOutboxRepository"]

_CHUNK = 500


class SqlOutboxRepository(SqlRecords[StoredEvent]):
    """The outbox in a SQL store; see :class:`gridgov.ports.OutboxRepository`."""

    declared = kinds.OUTBOX

    PENDING_SQL = (
        "SELECT version, doc FROM gg_outbox WHERE published_utc IS NULL"
        " ORDER BY recorded_utc, aggregate, aggregate_id, sequence LIMIT ?"
    )
    # A published event that is not its record's last: the last stays for the next number.
    PRUNABLE_SQL = (
        "SELECT o.id FROM gg_outbox o WHERE o.published_utc < ? AND EXISTS ("
        "SELECT 1 FROM gg_outbox n WHERE n.aggregate = o.aggregate"
        " AND n.aggregate_id = o.aggregate_id AND n.sequence > o.sequence)"
        " ORDER BY o.published_utc, o.id LIMIT ?"
    )

    def last_events(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredEvent]:
        """Return the last event stored per ``(aggregate, aggregate_id)``; see the port."""
        last: dict[tuple[str, str], StoredEvent] = {}
        wanted = sorted(
            {(check_text_key("aggregate", a), check_text_key("key", i)) for a, i in keys}
        )
        for aggregate, group in groupby(wanted, key=lambda k: k[0]):
            ids = [i for _, i in group]
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                rows = self._uow.query(
                    "SELECT o.version, o.doc FROM gg_outbox o WHERE o.aggregate = ?"
                    f" AND o.aggregate_id IN ({', '.join('?' * len(chunk))}) AND o.sequence ="
                    " (SELECT MAX(m.sequence) FROM gg_outbox m"
                    " WHERE m.aggregate = o.aggregate AND m.aggregate_id = o.aggregate_id)",
                    (aggregate, *chunk),
                )
                last.update((e.key, e) for e in self._decoded(rows))
        return last

    def pending(self, *, limit: int = DEFAULT_PAGE_SIZE) -> tuple[StoredEvent, ...]:
        """Return up to ``limit`` unpublished events in the relay's order."""
        return self._decoded(self._uow.query(self.PENDING_SQL, (check_limit(limit),)))

    def for_aggregate(self, aggregate: str, aggregate_id: str) -> tuple[StoredEvent, ...]:
        """Return one record's events by number."""
        return self._decoded(
            self._uow.query(
                "SELECT version, doc FROM gg_outbox WHERE aggregate = ? AND aggregate_id = ?"
                " ORDER BY sequence",
                (check_text_key("aggregate", aggregate), check_text_key("key", aggregate_id)),
            )
        )

    def mark_published(
        self, events: Iterable[StoredEvent], at: pendulum.DateTime
    ) -> tuple[StoredEvent, ...]:
        """Mark events published at ``at`` if their versions are current; return them."""
        published = check_instant("at", at)
        marked = [attrs.evolve(self._require(e), published=published) for e in events]
        if not marked:
            return ()
        with self._uow.savepoint():  # a stale one leaves every event as it was
            return tuple(self._update_row(e) for e in marked)

    def prune(self, published_before: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Delete up to ``limit`` events published before the instant, each record's last kept."""
        cutoff = instant_key(check_instant("published_before", published_before))
        ids = [row[0] for row in self._uow.query(self.PRUNABLE_SQL, (cutoff, check_limit(limit)))]
        if ids:
            self._uow.write()
            marks = ", ".join("?" * len(ids))
            self._uow.execute(f"DELETE FROM gg_outbox WHERE id IN ({marks})", ids)
        return len(ids)


class SqlNotificationRepository(NotificationQueries, SqlRepository[Notification]):
    """Notifications in a SQL store; see :class:`gridgov.ports.NotificationRepository`."""

    declared = kinds.NOTIFICATIONS
