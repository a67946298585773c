"""The loop every sweep shares: claim a batch of a queue, handle it, commit, go on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from gridgov.ports import Page, UnitOfWork
from gridgov.services._common import retried

__all__ = ["claimed_batches"]

R = TypeVar("R")
B = TypeVar("B")


def claimed_batches(
    store: Callable[[], UnitOfWork],
    claim: Callable[[UnitOfWork, str | None], Page[R]],
    handle: Callable[[UnitOfWork, tuple[R, ...]], B],
) -> Iterator[B]:
    """Sweep a queue a batch per unit of work; yield each batch's result once it is committed.

    Each batch claims its records (``claim``: ``cases.claim_due``, ``care_tasks.claim_overdue``,
    which hold them until the unit ends and skip those another unit holds), ``handle`` changes
    them and records their events in the same unit, and the unit commits. So several sweepers
    share a queue without doing a record twice, and a sweeper killed mid-batch leaves nothing
    half done: its unit rolls back and releases the records for the next sweep.

    Args:
        store: The store.
        claim: Claims the batch after a cursor (``None``: the first).
        handle: Writes what the batch's records need, in the unit; returns the batch's result.

    Raises:
        ConflictError: If a batch still conflicts with other writers after the retries.
    """
    after: str | None = None
    while True:

        def batch(after: str | None = after) -> tuple[B, str | None]:
            with store() as uow:
                page = claim(uow, after)
                result = handle(uow, page.items)
                uow.commit()
            return result, page.next_cursor

        # Someone changed a claimed record meanwhile: claim and handle the batch again.
        result, after = retried(batch)
        yield result
        if after is None:
            return
