"""A phone's queued contacts, synced in one call with a result per contact.

A grid worker visiting without signal records calls and visits on the phone; when it is back
online, the phone sends its queue at once. :func:`sync_contacts` records each contact in a unit of
work of its own (one refused contact does not hold back the others), in the order they happened,
and answers each in the order they came. The phone's own id of a contact is its key: a queue sent
again stores nothing twice, and a contact recorded after a later one is kept and the tasks planned
again (see :func:`~gridgov.services.care.record_contact`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.care.contacts import Outcome
from gridgov.care.policy import CarePolicy, ContactMethod
from gridgov.clock import ensure_aware
from gridgov.errors import ConflictError, GridgovError, ValidationError
from gridgov.ports import Store
from gridgov.services._common import retried
from gridgov.services.care import ContactResult, record_contact

__all__ = ["QueuedContact", "SyncedContact", "sync_contacts"]


@attrs.frozen
class QueuedContact:
    """A contact a phone recorded and queued until it could send it.

    Args:
        id: The phone's id of the contact, kept as the contact's key.
        resident_id: Who was contacted.
        method: How.
        outcome: What it found.
        by: The worker's id.
        at: When the contact happened.
        notes: Free text.
        task_id: The task worked on, if any.
    """

    id: str = attrs.field(validator=v.identifier)
    resident_id: str = attrs.field(validator=v.identifier)
    method: ContactMethod = attrs.field(validator=v.instance_of(ContactMethod))
    outcome: Outcome = attrs.field(validator=v.instance_of(Outcome))
    by: str = attrs.field(validator=v.identifier)
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    notes: str = attrs.field(default="", validator=v.text(2000, allow_empty=True), repr=False)
    task_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))


@attrs.frozen
class SyncedContact:
    """What became of one queued contact.

    Args:
        id: The phone's id of the contact.
        result: What recording it did, or ``None`` if it was refused.
        error: Why it was refused (a gridgov error's message, never personal data).
        retryable: Whether sending it again may succeed (a concurrent writer, a busy store).
    """

    id: str
    result: ContactResult | None = None
    error: str | None = None
    retryable: bool = False


def sync_contacts(
    store: Store,
    contacts: Iterable[QueuedContact],
    *,
    now: pendulum.DateTime,
    policy: CarePolicy | None = None,
) -> tuple[SyncedContact, ...]:
    """Record a phone's queued contacts, each in its own unit of work; answer each.

    Args:
        store: The store.
        contacts: The queue, in any order.
        now: The current instant; a contact after it is refused.
        policy: The care policy; ``None`` for the store's.

    Returns:
        One answer per contact, in the order given.

    Raises:
        ValidationError: If an item is not a :class:`QueuedContact` or ``now`` is naive;
            nothing is recorded.
    """
    now = ensure_aware(now, "now")
    queue = tuple(contacts)
    for i, item in enumerate(queue):
        if not isinstance(item, QueuedContact):
            raise ValidationError(f"contacts[{i}]", "expected a QueuedContact")
    answers: dict[int, SyncedContact] = {}
    # In the order they happened: fewer tasks to plan again than in the order they came.
    for i in sorted(range(len(queue)), key=lambda i: (queue[i].at, queue[i].id)):
        try:
            result = retried(functools.partial(_record, store, queue[i], now, policy))
        except GridgovError as exc:
            retry = isinstance(exc, ConflictError) and exc.retryable
            answers[i] = SyncedContact(queue[i].id, error=str(exc), retryable=retry)
        else:
            answers[i] = SyncedContact(queue[i].id, result)
    return tuple(answers[i] for i in range(len(queue)))


def _record(
    store: Store, item: QueuedContact, now: pendulum.DateTime, policy: CarePolicy | None
) -> ContactResult:
    with store() as uow:
        result = record_contact(
            uow,
            resident_id=item.resident_id,
            method=item.method,
            outcome=item.outcome,
            by=item.by,
            at=item.at,
            now=now,
            notes=item.notes,
            task_id=item.task_id,
            contact_id=item.id,
            policy=policy,
        )
        uow.commit()
    return result
