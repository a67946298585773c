"""The demo's story: an elder's family told, with the receipt (gridgov.notify).

An elder living alone misses two calls and is unwell at the visit: her family is to be told.
"""

from __future__ import annotations

import pendulum

from gridgov.care import ContactMethod
from gridgov.care.contacts import Outcome, TaskKind
from gridgov.clock import ManualClock
from gridgov.codes import mask_name
from gridgov.households import Resident, Tag
from gridgov.notify import Audience, Notification, NotificationState
from gridgov.notify.notifier import Notifier
from gridgov.notify.transports import LogTransport
from gridgov.ports import Store, UnitOfWork
from gridgov.services.care import record_contact

__all__ = ["family_story"]


def _elder(uow: UnitOfWork, worker_id: str, on: pendulum.Date) -> Resident | None:
    """Return the worker's first elder (by cell, household, id) living alone with family.

    Chosen from the ledger, not from the day's tasks, so that each run tells the same story.
    """
    for cell in uow.workers.get(worker_id).cells_on(on):
        for entry in uow.households.with_tag(Tag.LIVING_ALONE, within=cell, limit=100).items:
            if entry.resident.emergency_contacts:
                return entry.resident
    return None


def family_story(store: Store, worker_id: str, now: pendulum.DateTime) -> str | None:
    """Act the story out on the worker's first elder living alone; return its printout.

    Two calls unanswered (a visit due within two hours), the visit finds her unwell, and the
    notifier tells her family through the log transport. ``None`` if the worker has no such elder.
    """
    with store() as uow:
        elder = _elder(uow, worker_id, now.date())
    if elder is None:
        return None
    visit = now.add(minutes=90)
    for minutes, method, outcome in (
        (20, ContactMethod.PHONE, Outcome.NO_ANSWER),
        (50, ContactMethod.PHONE, Outcome.NO_ANSWER),
        (90, ContactMethod.HOME_VISIT, Outcome.UNWELL),
    ):
        at = now.add(minutes=minutes)
        with store() as uow:
            # The same contact again (a second demo): gridgov answers as it did the first time.
            record_contact(
                uow,
                resident_id=elder.id,
                method=method,
                outcome=outcome,
                by=worker_id,
                at=at,
                now=at,
            )
            uow.commit()
    Notifier(store, LogTransport(), clock=ManualClock(visit.add(minutes=5))).deliver_once()
    with store() as uow:
        told = [
            n
            for n in uow.notifications.about(elder.id)
            if n.audience is Audience.FAMILY and n.created == visit
        ]
        if not told:
            return None
        family = told[-1]
        task = uow.care_tasks.get(family.task_id) if family.task_id else None
    contact = elder.emergency_contacts[0]
    lines = [
        f"今日通知 notifying the family: {mask_name(elder.name)} lives alone; two calls "
        f"unanswered ({now.add(minutes=20):HH:mm}, {now.add(minutes=50):HH:mm}), "
        f"unwell at the visit ({visit:HH:mm})",
        f"  家属 {contact.relationship or 'family'} {contact.phone.masked}: {family.text}",
        f"  回执 receipt: {_receipt(family)}",
    ]
    if task is not None and task.kind is TaskKind.NOTIFY_CONTACT:
        lines.append(f"  任务 task {task.kind.label_zh}: {task.state.value}")
    return "\n".join(lines)


def _receipt(n: Notification) -> str:
    last = n.attempts[-1] if n.attempts else None
    if n.state is NotificationState.DELIVERED and last is not None:
        return f"{n.state.value} {last.at.in_tz('Asia/Shanghai'):HH:mm} ({last.detail})"
    return n.state.value
