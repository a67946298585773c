"""The retention purge: personal data erased once kept as long as the store's settings allow.

:func:`purge` walks every subtree of the store by page, each page in a unit of work of its own,
and erases what the :class:`~gridgov.settings.Retention` of the store's settings says is kept no
longer:

- a contact's notes, ``contact_notes_days`` after the contact (the erasure path of the
  append-only contacts, :meth:`~gridgov.ports.ContactRepository.erase`);
- a closed case's reporter name and phone, ``case_reporter_days`` after it was closed (the
  reporter's resident id, a reference, stays).

It is idempotent (what is erased is skipped: a second run writes nothing) and batched (a killed
purge leaves whole pages done and the rest for the next run). Run it daily, as the escalation
sweep is run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import attrs
import pendulum

from gridgov.adapters.support import check_batch_size
from gridgov.care.contacts import ContactAttempt
from gridgov.cases.model import Case, Reporter
from gridgov.clock import FIRST_INSTANT as _FROM
from gridgov.clock import ensure_aware
from gridgov.ports import Page, Store, UnitOfWork
from gridgov.settings import DEFAULT_RETENTION, Retention, stored_settings

__all__ = ["PurgeReport", "purge"]

T = TypeVar("T")


@attrs.frozen
class PurgeReport:
    """What a purge erased.

    Args:
        contact_notes: Contacts whose notes were erased.
        case_reporters: Closed cases whose reporter's name and phone were erased.
    """

    contact_notes: int = 0
    case_reporters: int = 0


def _paged(
    store: Store, fetch: Callable[[UnitOfWork, str | None], Page[T]]
) -> Iterator[tuple[UnitOfWork, T]]:
    """Yield ``(uow, item)`` page by page, committing each page's unit once its items are done."""
    after: str | None = None
    while True:
        with store() as uow:
            page = fetch(uow, after)
            for item in page.items:
                yield uow, item
            uow.commit()
        after = page.next_cursor
        if after is None:
            return


def _anonymous(case: Case) -> Case:
    return attrs.evolve(case, reporter=Reporter(resident_id=case.reporter.resident_id))


def _erase_notes(store: Store, roots: list[str], cutoff: pendulum.DateTime, size: int) -> int:
    erased = 0
    for root in roots:

        def fetch(uow: UnitOfWork, after: str | None, root: str = root) -> Page[ContactAttempt]:
            return uow.contacts.in_subtree(root, since=_FROM, until=cutoff, limit=size, after=after)

        for uow, contact in _paged(store, fetch):
            if contact.notes:
                uow.contacts.erase(attrs.evolve(contact, notes=""))
                erased += 1
    return erased


def _erase_reporters(store: Store, roots: list[str], cutoff: pendulum.DateTime, size: int) -> int:
    erased = 0
    for root in roots:

        def fetch(uow: UnitOfWork, after: str | None, root: str = root) -> Page[Case]:
            return uow.cases.reported_in_subtree(
                root, since=_FROM, until=cutoff, limit=size, after=after
            )

        for uow, case in _paged(store, fetch):
            closed = case.closed_at
            named = bool(case.reporter.name) or case.reporter.phone is not None
            if closed is not None and closed < cutoff and named:
                uow.cases.update(_anonymous(case))
                erased += 1
    return erased


def purge(
    store: Store,
    now: pendulum.DateTime,
    *,
    retention: Retention | None = None,
    batch_size: int = 500,
) -> PurgeReport:
    """Erase the personal data kept longer than the retention allows, as of ``now``.

    Args:
        store: The store (unscoped: the purge acts as the system).
        now: The current instant.
        retention: The periods; ``None`` for the store's settings (else
            :data:`~gridgov.settings.DEFAULT_RETENTION`).
        batch_size: Records read per unit of work.

    Returns:
        How many records were erased.
    """
    now = ensure_aware(now, "now")
    check_batch_size(batch_size)
    with store() as uow:
        stored = stored_settings(uow)
        roots = [c.code for c in uow.cells.tree().roots]
    kept = retention or (stored.retention if stored and stored.retention else DEFAULT_RETENTION)
    notes = reporters = 0
    if kept.contact_notes_days is not None:
        cutoff = now.subtract(days=kept.contact_notes_days)
        notes = _erase_notes(store, roots, cutoff, batch_size)
    if kept.case_reporter_days is not None:
        cutoff = now.subtract(days=kept.case_reporter_days)
        reporters = _erase_reporters(store, roots, cutoff, batch_size)
    return PurgeReport(notes, reporters)
