"""The events of care and scheduling changes, made from the records they change."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import pendulum

from gridgov.care.contacts import CareTask, ContactAttempt, TaskKind, TaskState
from gridgov.events import (
    ContactRecorded,
    FamilyToNotify,
    FollowUpDue,
    Promoted,
    Registered,
    RegistrationCancelled,
    RegistrationEvent,
    TaskCancelled,
    TaskDone,
    TaskEvent,
    TaskPlanned,
    Waitlisted,
)
from gridgov.outbox import record_events
from gridgov.ports import UnitOfWork
from gridgov.scheduling.registrations import Registration, RegistrationState

__all__ = [
    "care_events",
    "promote_waiting",
    "registration_event",
    "task_event",
    "task_event_of",
]

E = TypeVar("E", bound=TaskEvent)

_OPENED: dict[TaskKind, type[TaskEvent]] = {
    TaskKind.ROUTINE: TaskPlanned,
    TaskKind.FOLLOW_UP: FollowUpDue,
    TaskKind.NOTIFY_CONTACT: FamilyToNotify,
}
_CLOSED: dict[TaskState, type[TaskEvent]] = {
    TaskState.DONE: TaskDone,
    TaskState.CANCELLED: TaskCancelled,
}


def task_event(task: CareTask, at: pendulum.DateTime) -> TaskEvent:
    """Return the event of ``task`` as it is now: created (by kind), done or cancelled."""
    return task_event_of(_CLOSED.get(task.state) or _OPENED[task.kind], task, at)


def task_event_of(cls: type[E], task: CareTask, at: pendulum.DateTime) -> E:
    """Return the event ``cls`` of ``task`` at ``at`` (``TaskOverdue``, say), with its facts."""
    return cls(
        resident_id=task.resident_id,
        cell_code=task.cell_code,
        at=at,
        task_id=task.id,
        kind=task.kind.value,
        due=task.due,
        rule=task.rule,
        reason=task.closed_by if task.state is not TaskState.OPEN else task.reason_en,
    )


def care_events(
    contact: ContactAttempt | None, tasks: Iterable[CareTask], at: pendulum.DateTime
) -> Iterator[ContactRecorded | TaskEvent]:
    """Yield the events of recording ``contact`` (if any) and of the tasks it changed."""
    if contact is not None:
        yield ContactRecorded(
            resident_id=contact.resident_id,
            cell_code=contact.cell_code,
            at=contact.at,
            contact_id=contact.id,
            method=contact.method.value,
            outcome=contact.outcome.value,
            by=contact.by,
        )
    for task in tasks:
        yield task_event(task, at)


_STATES: dict[RegistrationState, type[RegistrationEvent]] = {
    RegistrationState.CONFIRMED: Registered,
    RegistrationState.WAITLISTED: Waitlisted,
    RegistrationState.CANCELLED: RegistrationCancelled,
}


def registration_event(
    registration: Registration,
    at: pendulum.DateTime,
    cls: type[RegistrationEvent] | None = None,
    reason: str = "",
) -> RegistrationEvent:
    """Return the event of ``registration`` as it is now (``cls``: another than its state's)."""
    return (cls or _STATES[registration.state])(
        cell_code=registration.cell_code,
        at=at,
        registration_id=registration.id,
        resident_id=registration.resident_id,
        occurrence_id=registration.occurrence_id,
        start=registration.start,
        reason=reason,
    )


def promote_waiting(
    uow: UnitOfWork, occurrence_id: str, at: pendulum.DateTime
) -> Registration | None:
    """Confirm the first on the occurrence's waitlist, if any, and record the promotion."""
    promoted = uow.registrations.promote_first_waiting(occurrence_id)
    if promoted is not None:
        record_events(uow, (registration_event(promoted, at, Promoted),))
    return promoted
