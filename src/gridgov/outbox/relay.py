"""The relay: publishes the outbox's events to a broker, in order, at least once.

A :class:`Relay` reads the pending events of a store in the outbox's order (by when they
happened, never before their record's previous event, then each record's events by number),
hands them to a :class:`Publisher` as CloudEvents, marks those the broker acknowledged as
published, and prunes published events after a retention.

Delivery promises:

- **At least once.** An event is marked published only after the broker acknowledged it, in the
  same unit of work that read it. A relay that dies between the two leaves it pending, and the
  next relay publishes it again under the same message id, which the broker's de-duplication
  (JetStream's ``Nats-Msg-Id`` within its duplicate window) or the consumer (by ``id``) drops.
- **In order per record.** One relay publishes at a time: each batch is read, published and
  marked while holding the store's lock ``outbox:relay`` (a row lock in PostgreSQL and MariaDB,
  the write lock in SQLite), so several relays may run at once (for availability) and the others
  wait; a relay killed mid-batch loses its lock with its connection. A failed publish stops the
  batch at the first event not acknowledged, so nothing of a record is published past a gap.
- **Retries.** A broker that is down, or refuses, is retried with exponential backoff
  (``backoff``, doubling up to ``max_backoff``); the events wait in the outbox meanwhile.

SQLite lets one unit write at a time: while a batch is published, the application's writers wait
(at most one batch's publishing: keep ``batch_size`` modest there).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import attrs
import pendulum

from gridgov.adapters.support import check_batch_size
from gridgov.clock import Clock, SystemClock
from gridgov.errors import ConflictError, GridgovError, ValidationError
from gridgov.outbox import SOURCE, StoredEvent, cloud_event
from gridgov.ports import Store

__all__ = [
    "LOCK",
    "Message",
    "Publisher",
    "Relay",
    "RelayReport",
    "message_of",
    "subject_of",
]

_log = logging.getLogger(__name__)

LOCK = "outbox:relay"
"""The named lock a relay holds while it publishes a batch."""

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
_TOKEN = re.compile(r"[^A-Za-z0-9_\-]")
_PREFIX = re.compile(r"[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*")


@attrs.frozen
class Message:
    """One event as a broker message: CloudEvents JSON in structured mode.

    Args:
        id: The event's id: the broker's de-duplication key.
        subject: Where it goes, e.g. ``gridgov.case.escalated.610102003006``.
        data: The CloudEvent as UTF-8 JSON.
        headers: ``Content-Type`` and the CloudEvents type, for routing without parsing.
    """

    id: str
    subject: str
    data: bytes = attrs.field(repr=False)
    headers: dict[str, str] = attrs.field(factory=dict)


class Publisher(Protocol):
    """A broker the relay publishes to (NATS JetStream ships; Kafka or RabbitMQ plug in)."""

    def publish(self, messages: Sequence[Message]) -> int:
        """Publish ``messages`` in order; return how many the broker acknowledged.

        Stop at the first one not acknowledged (return its index): the relay marks the ones
        before it published and sends the rest again later. Raise nothing for a broker that is
        down or slow; return 0.
        """
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


def subject_of(event: StoredEvent, prefix: str = "gridgov") -> str:
    """Return the subject of ``event``: ``<prefix>.<type>.<cell code>``.

    Characters a subject token may not hold (``.``, ``*``, ``>``, spaces) become ``_`` in the
    cell code.
    """
    return f"{prefix}.{event.type}.{_TOKEN.sub('_', event.cell_code)}"


def message_of(event: StoredEvent, *, source: str = SOURCE, prefix: str = "gridgov") -> Message:
    """Return ``event`` as a broker message (see :func:`gridgov.outbox.cloud_event`)."""
    envelope = cloud_event(event, source=source)
    return Message(
        id=event.id,
        subject=subject_of(event, prefix),
        data=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode(),
        headers={"Content-Type": CONTENT_TYPE, "ce-type": envelope["type"]},
    )


@attrs.frozen
class RelayReport:
    """What a relay did.

    Args:
        published: Events published and marked.
        batches: Batches that published at least one event.
        failures: Publishing attempts that failed (retried after a backoff).
        pruned: Published events deleted after the retention.
    """

    published: int = 0
    batches: int = 0
    failures: int = 0
    pruned: int = 0


def _positive(name: str, value: object, *, high: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= high:
        raise ValidationError(name, f"expected a number above 0 and at most {high:g}")
    return float(value)


class Relay:
    """Publishes a store's outbox through a publisher; see the module's documentation.

    Args:
        store: The store whose outbox is published (unscoped: the relay acts as the system).
        publisher: The broker.
        source: The CloudEvents ``source`` of this deployment.
        subject_prefix: The first token of every subject.
        batch_size: Events read, published and marked per unit of work.
        retention: How long published events are kept before :meth:`prune` deletes them.
        backoff: The first wait after a failure, in seconds; it doubles per failure in a row.
        max_backoff: The longest wait.
        clock: Tells when events were published.
    """

    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        *,
        source: str = SOURCE,
        subject_prefix: str = "gridgov",
        batch_size: int = 100,
        retention: pendulum.Duration | None = None,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        check_batch_size(batch_size)
        if not isinstance(subject_prefix, str) or not _PREFIX.fullmatch(subject_prefix):
            raise ValidationError("subject_prefix", "tokens of letters, digits, '_', '-' and '.'")
        self._store = store
        self._publisher = publisher
        self._source = source
        self._prefix = subject_prefix
        self._batch_size = batch_size
        self._retention = retention if retention is not None else pendulum.duration(days=7)
        self._backoff = _positive("backoff", backoff, high=3600)
        self._max_backoff = _positive("max_backoff", max_backoff, high=3600)
        self._clock = clock or SystemClock()
        self._stop = threading.Event()

    def relay_once(self) -> int:
        """Publish one batch of pending events; return how many were published.

        Raises:
            ConflictError: If the broker acknowledged only part of the batch (``retryable``:
                the rest are sent again), or another relay got in the way.
        """
        with self._store() as uow:
            uow.locks.hold(LOCK)
            events = uow.outbox.pending(limit=self._batch_size)
            if not events:
                return 0
            messages = [message_of(e, source=self._source, prefix=self._prefix) for e in events]
            acknowledged = self._publisher.publish(messages)
            if acknowledged:
                uow.outbox.mark_published(events[:acknowledged], self._clock.now())
            uow.commit()
        if acknowledged < len(events):
            raise ConflictError(
                f"the broker acknowledged {acknowledged} of {len(events)} events",
                retryable=True,
            )
        return acknowledged

    def prune(self) -> int:
        """Delete the events published longer ago than the retention; return how many."""
        before = self._clock.now() - self._retention
        pruned = 0
        while True:
            with self._store() as uow:
                n = uow.outbox.prune(before, limit=1000)
                uow.commit()
            pruned += n
            if n < 1000:
                return pruned

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand (from another thread, a signal)."""
        self._stop.set()

    def run(
        self,
        *,
        idle: float = 0.5,
        until_empty: bool = False,
        prune_every: float = 3600.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> RelayReport:
        """Publish until :meth:`stop` is called (or the outbox is empty, with ``until_empty``).

        Args:
            idle: Seconds to wait when nothing is pending.
            until_empty: Return once nothing is pending (after retrying failures).
            prune_every: Seconds between prunings.
            on_batch: Called with the number published after each batch.

        Returns:
            What was done.
        """
        _positive("idle", idle, high=3600)
        published = batches = failures = pruned = 0
        wait = self._backoff
        pruned_at = time.monotonic()
        self._stop.clear()
        while not self._stop.is_set():
            try:
                n = self.relay_once()
            except GridgovError as exc:
                if isinstance(exc, ConflictError) and not exc.retryable:
                    raise
                failures += 1
                _log.warning("relay: %s; retrying in %.1f s", exc, wait)
                self._stop.wait(wait)
                wait = min(wait * 2, self._max_backoff)
                continue
            wait = self._backoff
            if n:
                published += n
                batches += 1
                if on_batch is not None:
                    on_batch(n)
                continue
            if time.monotonic() - pruned_at >= prune_every:
                pruned += self.prune()
                pruned_at = time.monotonic()
            if until_empty:
                break
            self._stop.wait(idle)
        return RelayReport(published, batches, failures, pruned)
