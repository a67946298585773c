"""The overdue sweep of care tasks: each open task past its due instant is marked, and told, once.

A task's OVERDUE status is computed from an instant (:meth:`~gridgov.care.CareTask.status`);
this sweep is what turns it into a stored fact and an event that leaves the library. Run it as
often as the alerts must be fresh (every few minutes, say), from as many workers as needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pendulum

from gridgov.adapters.support import check_batch_size
from gridgov.care.contacts import CareTask
from gridgov.clock import ensure_aware
from gridgov.events import TaskOverdue
from gridgov.outbox import record_events
from gridgov.ports import Page, UnitOfWork
from gridgov.services._events import task_event_of
from gridgov.services._sweep import claimed_batches

__all__ = ["sweep_overdue"]

_log = logging.getLogger(__name__)


def sweep_overdue(
    store: Callable[[], UnitOfWork], now: pendulum.DateTime, *, batch_size: int = 500
) -> tuple[TaskOverdue, ...]:
    """Mark every open care task whose due instant is before ``now`` overdue, and tell it once.

    Each such task gets ``overdue_at = now`` and one :class:`~gridgov.events.TaskOverdue` in
    the outbox, in the same unit of work (a batch of ``batch_size`` tasks per transaction). A
    marked task leaves the sweep's queue, so a second sweep records nothing for it; a task done
    or cancelled is never in it. Only the queue is read (an index of the open, unmarked tasks
    by due instant), so the cost grows with the overdue tasks, not with all tasks.

    Several sweepers may run at once, on one store or in several processes: each batch claims
    its tasks (``care_tasks.claim_overdue``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and
    MariaDB, the write lock on SQLite, a claim per task in the memory store), so each task is
    marked by exactly one of them; one killed mid-batch leaves its tasks unmarked for the next.

    Args:
        store: The store (a :class:`~gridgov.ports.Store`, or anything that makes units of
            work): the sweep commits each batch.
        now: The instant to judge at; never the system clock, the caller's.
        batch_size: Tasks marked per transaction.

    Returns:
        The events recorded, by due instant then task id within each batch.

    Raises:
        ValidationError: On a naive instant or a batch size out of range.
        ConflictError: If a batch kept conflicting with other writers (a contact closing its
            tasks at the same moment) after the retries; the batches before it are committed.
    """
    now = ensure_aware(now, "now")
    check_batch_size(batch_size)

    def claim(uow: UnitOfWork, after: str | None) -> Page[CareTask]:
        return uow.care_tasks.claim_overdue(due_before=now, limit=batch_size, after=after)

    def mark(uow: UnitOfWork, tasks: tuple[CareTask, ...]) -> list[TaskOverdue]:
        events = [
            task_event_of(TaskOverdue, uow.care_tasks.update(t.marked_overdue(now)), now)
            for t in tasks
        ]
        record_events(uow, events)
        return events

    done = [e for batch in claimed_batches(store, claim, mark) for e in batch]
    _log.info("overdue sweep at %s: %d tasks marked", now.isoformat(), len(done))
    return tuple(done)
