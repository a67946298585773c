"""The notifier: sends stored notifications through a transport, and records what came of them.

A round (:meth:`Notifier.deliver_once`) works in three steps, so that no database lock is held
while a gateway answers:

1. **Claim**, in one unit of work: claim the due notifications
   (:meth:`~gridgov.ports.NotificationRepository.claim_due`, which skips those another
   notifier's unit holds, as the sweeps claim their queues), give up waiting for the
   receipts that did not come, find each recipient's address and write each message, and move
   each claimed notification's ``next_at`` past the round (a lease). Two notifiers never claim
   the same notification; one that dies after claiming leaves it to be sent again when the lease
   ends, under the same message id, which the gateway de-duplicates.
2. **Send** each message through the :class:`Transport`, outside any unit of work.
3. **Record**, in a second unit: each attempt, with the outcome. A delivery closes the
   "notify family" task; a notification whose attempts ran out fails, and the grid worker of its
   cell is told instead (the policy's ``on_failure``). Both are recorded as events
   (``notification.delivered``, ``notification.failed``) in the outbox: the proof.

Receipts that gateways send later are recorded by :func:`record_receipt`.

Addresses (phone numbers) are read from the ledger when a message is written and handed to the
transport only; they are never stored with a notification, logged, or put in an error.
"""

from __future__ import annotations

import logging
import string
import threading
from typing import Protocol

import attrs
import pendulum

from gridgov import _json
from gridgov.adapters.support import check_batch_size
from gridgov.care.contacts import TaskState
from gridgov.clock import Clock, SystemClock
from gridgov.codes import PhoneNumber, mask_name
from gridgov.errors import GridgovError, NotFoundError, ValidationError
from gridgov.events import NotificationDelivered, NotificationFailed
from gridgov.grid import Worker, WorkerRole
from gridgov.notify import (
    Attempt,
    Audience,
    Notification,
    NotificationPolicy,
    NotificationState,
    Outcome,
    Receipt,
    Rule,
)
from gridgov.outbox import record_events
from gridgov.ports import Store, UnitOfWork
from gridgov.serialization import parse_instant
from gridgov.services._events import task_event
from gridgov.settings import notification_policy, stored_settings

__all__ = [
    "DeliveryReport",
    "Message",
    "Notifier",
    "Recipient",
    "Sent",
    "Transport",
    "TransportError",
    "record_receipt",
]

_log = logging.getLogger(__name__)

_LABELS = {
    "care.family_to_notify": ("通知家属", "family notice"),
    "care.follow_up_due": ("跟进提醒", "follow-up"),
    "care.task_overdue": ("逾期提醒", "overdue task"),
    "case.escalated": ("案件督办", "case escalation"),
    "case.duplicate": ("重复案件告知", "duplicate report"),
    "scheduling.promoted": ("候补转正通知", "waitlist place"),
}


@attrs.frozen
class Recipient:
    """Who a message goes to and where: personal data, for the transport's eyes only.

    Args:
        audience: Who they are to the event.
        id: A reference: the resident's id (``<id>:family`` for their emergency contact) or
            the worker's id.
        name: Their name.
        phone: Their phone number.
    """

    audience: Audience
    id: str
    name: str = attrs.field(repr=mask_name)
    phone: PhoneNumber


@attrs.frozen
class Message:
    """One message to send: what a transport receives.

    Args:
        id: The message id, ``<notification id>:<number>``: the gateway's idempotency key, and
            what its receipt names.
        notification_id: The notification it is sent for.
        event_type: What the notification tells of.
        cell_code: Where.
        to: The recipient and their address.
        text: The message, in the policy's language, with masked facts only.
        language: ``"zh"`` or ``"en"``.
    """

    id: str
    notification_id: str
    event_type: str
    cell_code: str
    to: Recipient
    text: str
    language: str


@attrs.frozen
class Sent:
    """A transport's answer to a message it took.

    Args:
        delivered: Whether it is already delivered (a log, a synchronous gateway); otherwise a
            receipt will tell (:func:`record_receipt`).
        provider_id: The gateway's own id of the message, if any.
        detail: The gateway's words, without personal data.
    """

    delivered: bool = False
    provider_id: str = ""
    detail: str = ""


class TransportError(GridgovError):
    """A transport could not send a message.

    Args:
        detail: What went wrong, without personal data (an HTTP status, "timeout").
        retryable: Whether sending again later may work (a gateway down: yes; a number the
            gateway refuses: no).
    """

    def __init__(self, detail: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable


class Transport(Protocol):
    """Sends messages: SMS, WeChat template messages, voice calls, app push (the integrator's)."""

    def send(self, message: Message) -> Sent:
        """Send ``message``; return what the gateway said, or raise TransportError."""
        ...


@attrs.frozen
class DeliveryReport:
    """What a notifier round did.

    Args:
        sent: Messages the transport took.
        delivered: Notifications delivered (by the transport or a receipt meanwhile).
        retried: Attempts that failed and will be tried again.
        failed: Notifications that ran out of attempts (their workers told).
        cancelled: Notifications no longer needed.
    """

    sent: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )


class _RefusedError(Exception):
    """No message can be written: no address, or the record is gone. Not retried."""


# -- addresses and texts --------------------------------------------------------------------


def _resident_recipient(uow: UnitOfWork, n: Notification) -> Recipient:
    try:
        resident = uow.households.household_of(n.subject_id).member(n.subject_id)
    except (NotFoundError, ValidationError):
        raise _RefusedError("the resident is no longer in the ledger") from None
    if n.audience is Audience.FAMILY:
        if not resident.emergency_contacts:
            raise _RefusedError("the resident has no emergency contact")
        contact = resident.emergency_contacts[0]
        return Recipient(Audience.FAMILY, f"{resident.id}:family", contact.name, contact.phone)
    if resident.phone is None:
        raise _RefusedError("no phone is on file for the resident")
    return Recipient(Audience.RESIDENT, resident.id, resident.name, resident.phone)


def _reporter_recipient(uow: UnitOfWork, n: Notification) -> Recipient:
    """Return the reporter of the case ``n`` is about, at their phone or their resident's."""
    try:
        reporter = uow.cases.get(n.subject_id).reporter
    except (NotFoundError, ValidationError):
        raise _RefusedError("the case is no longer stored") from None
    if reporter.phone is not None:
        return Recipient(
            Audience.REPORTER, f"{n.subject_id}:reporter", reporter.name, reporter.phone
        )
    if reporter.resident_id is not None:
        try:
            resident = uow.households.household_of(reporter.resident_id).member(
                reporter.resident_id
            )
        except (NotFoundError, ValidationError):
            resident = None
        if resident is not None and resident.phone is not None:
            return Recipient(Audience.REPORTER, resident.id, resident.name, resident.phone)
    raise _RefusedError("the reporter left no phone")


def _on_duty(uow: UnitOfWork, cell_code: str, day: pendulum.Date) -> tuple[Worker, ...]:
    """Return the workers on duty for the cell, or for the nearest cell above that has any."""
    code: str | None = cell_code
    while code is not None:
        workers = uow.workers.assigned_to(code, on=day)
        if workers:
            return workers
        try:
            code = uow.cells.get(code).parent_code
        except NotFoundError:
            return ()
    return ()


def _department_supervisor(uow: UnitOfWork, n: Notification) -> Worker | None:
    """Return a supervisor with a phone of the department holding the case, if there is one."""
    try:
        held = uow.cases.get(n.subject_id).owner_department
    except (NotFoundError, ValidationError):
        return None
    settings = stored_settings(uow)
    if held is None or settings is None:
        return None
    for d in settings.departments:
        if d.id == held:
            for worker_id in d.supervisors:
                try:
                    worker = uow.workers.get(worker_id)
                except NotFoundError:
                    continue
                if worker.phone is not None:
                    return worker
    return None


def _worker_recipient(uow: UnitOfWork, n: Notification, day: pendulum.Date) -> Recipient:
    if n.audience is Audience.SUPERVISOR and n.event_type.startswith("case."):
        # A case a department holds is supervised there: its supervisor hears first.
        supervisor = _department_supervisor(uow, n)
        if supervisor is not None and supervisor.phone is not None:
            return Recipient(n.audience, supervisor.id, supervisor.name, supervisor.phone)
    facts = n.event_facts()
    cell = facts.get("to_cell") if n.audience is Audience.SUPERVISOR else None
    # Volunteers help on shifts; alerts about residents and cases go to staff.
    workers = [
        w
        for w in _on_duty(uow, str(cell or n.cell_code), day)
        if w.phone is not None and w.roles != {WorkerRole.VOLUNTEER}
    ]
    if not workers:
        raise _RefusedError(f"no {n.audience.value} with a phone is on duty for the cell")
    worker = workers[0]
    assert worker.phone is not None  # filtered above; for the type checker
    return Recipient(n.audience, worker.id, worker.name, worker.phone)


def _cell_name(uow: UnitOfWork, code: object) -> str:
    if not isinstance(code, str) or not code:
        return ""
    try:
        return uow.cells.get(code).name
    except NotFoundError:
        return code


def _resident_name(uow: UnitOfWork, resident_id: str) -> str:
    try:
        return mask_name(uow.households.household_of(resident_id).member(resident_id).name)
    except (NotFoundError, ValidationError):
        return resident_id


def _text(uow: UnitOfWork, n: Notification, rule: Rule, policy: NotificationPolicy) -> str:
    facts = n.event_facts()
    about = str(facts.get("about", n.event_type))
    zone = pendulum.timezone(policy.time_zone)

    def local(name: str) -> str:
        value = facts.get(name)
        if not isinstance(value, str):
            return ""
        return parse_instant(value, name).in_tz(zone).format("MM-DD HH:mm")

    labels = _LABELS.get(about, (about, about))
    values = {
        "resident": _resident_name(uow, str(facts.get("resident_id") or n.subject_id)),
        "due": local("due"),
        "start": local("start"),
        "cell": _cell_name(uow, n.cell_code),
        "to_cell": _cell_name(uow, facts.get("to_cell")),
        "case": str(facts.get("case_id", "")),
        "duplicate_of": str(facts.get("duplicate_of", "")),
        "task": str(facts.get("task_id", "")),
        "event": labels[0] if policy.language == "zh" else labels[1],
    }
    return string.Template(rule.text(policy.language)).substitute(values)


# -- what came of an attempt ------------------------------------------------------------------


def _event_of(
    n: Notification, cls: type[NotificationDelivered | NotificationFailed], attempt: Attempt
) -> NotificationDelivered | NotificationFailed:
    return cls(
        notification_id=n.id,
        cell_code=n.cell_code,
        at=attempt.at,
        audience=n.audience.value,
        about=n.event_type,
        messages=n.sent,
        detail=attempt.detail,
    )


def _close_task(uow: UnitOfWork, n: Notification, at: pendulum.DateTime) -> None:
    """Close the "notify family" task the delivered notification was for, if still open."""
    if n.task_id is None:
        return
    try:
        task = uow.care_tasks.get(n.task_id)
    except NotFoundError:
        return
    if task.state is TaskState.OPEN:
        closed = uow.care_tasks.update(task.done(n.id))
        record_events(uow, [task_event(closed, at)])


def _fail(
    uow: UnitOfWork, n: Notification, attempt: Attempt, policy: NotificationPolicy
) -> Notification:
    """Give ``n`` up, record why, and tell the grid worker of its cell instead."""
    failed = attrs.evolve(n, state=NotificationState.FAILED, next_at=None)
    (event,) = record_events(uow, [_event_of(failed, NotificationFailed, attempt)])
    # The worker is the last resort: a failed alert to a worker, or to tell one, goes no further.
    if n.audience is not Audience.WORKER and n.event_type != policy.on_failure.event_type:
        facts = {**n.event_facts(), "about": n.event_type}
        alert = Notification(
            id=f"{n.id}.failed",
            event_id=event.id,
            event_type=policy.on_failure.event_type,
            audience=policy.on_failure.audience,
            cell_code=n.cell_code,
            subject_id=n.subject_id,
            facts=_json.dumps(facts),
            created=attempt.at,
            next_at=attempt.at,
        )
        uow.notifications.add(alert)
        failed = attrs.evolve(failed, escalated_to=alert.id)
    return failed


def _settle(
    uow: UnitOfWork, n: Notification, attempt: Attempt, policy: NotificationPolicy
) -> tuple[Notification, DeliveryReport]:
    """Record ``attempt`` on ``n`` and what follows from it; return ``n`` stored and the tally."""
    tried = attrs.evolve(n, attempts=(*n.attempts, attempt))
    if attempt.outcome is Outcome.DELIVERED:
        done = attrs.evolve(tried, state=NotificationState.DELIVERED, next_at=None)
        _close_task(uow, done, attempt.at)
        record_events(uow, [_event_of(done, NotificationDelivered, attempt)])
        return uow.notifications.update(done), DeliveryReport(delivered=1)
    if attempt.outcome is Outcome.ACCEPTED:
        waiting = attrs.evolve(
            tried,
            state=NotificationState.AWAITING_RECEIPT,
            next_at=attempt.at.add(minutes=policy.receipt_minutes),
        )
        return uow.notifications.update(waiting), DeliveryReport()
    if attempt.outcome is not Outcome.REFUSED and tried.sent < policy.attempts:
        wait = policy.retry_minutes * 2 ** (tried.sent - 1)
        again = attrs.evolve(
            tried, state=NotificationState.PENDING, next_at=attempt.at.add(minutes=wait)
        )
        return uow.notifications.update(again), DeliveryReport(retried=1)
    return uow.notifications.update(_fail(uow, tried, attempt, policy)), DeliveryReport(failed=1)


def record_receipt(
    uow: UnitOfWork, receipt: Receipt, *, policy: NotificationPolicy | None = None
) -> Notification:
    """Record a gateway's delivery receipt; return the notification as stored.

    A delivered message closes the notification (and its "notify family" task); an undelivered
    one is retried, or fails the notification when its attempts ran out. A receipt that came
    before, or for a notification already delivered or cancelled, changes nothing. Commit the
    unit of work afterwards.

    Args:
        uow: The unit of work (the system's: receipts update notifications of every cell).
        receipt: What the gateway said.
        policy: The notification policy; ``None`` for the store's.

    Raises:
        NotFoundError: If no notification has the id the message id names.
        ValidationError: On ``message_id`` if it names no message sent for it.
    """
    if not isinstance(receipt, Receipt):
        raise ValidationError("receipt", f"expected a Receipt, got {type(receipt).__name__}")
    n = uow.notifications.get(receipt.notification_id)
    number = receipt.attempt
    # The next number too: a fast gateway's receipt may come before the send is recorded.
    if not 1 <= number <= n.sent + 1:
        raise ValidationError("message_id", "names no message sent for the notification")
    outcome = Outcome.DELIVERED if receipt.delivered else Outcome.UNDELIVERED
    repeated = any(a.number == number and a.outcome is outcome for a in n.attempts)
    settled = n.state in (NotificationState.DELIVERED, NotificationState.CANCELLED)
    # A failure of a message already retried, or of a notification given up, changes nothing.
    stale = not receipt.delivered and (number < n.sent or n.state is NotificationState.FAILED)
    if repeated or settled or stale:
        return n
    attempt = Attempt(number, receipt.at, outcome, receipt.detail)
    return _settle(uow, n, attempt, notification_policy(uow, policy))[0]


# -- the notifier ---------------------------------------------------------------------------


class Notifier:
    """Sends a store's due notifications through a transport; see the module's documentation.

    Args:
        store: The store (unscoped: the notifier acts as the system).
        transport: What sends the messages.
        policy: The notification policy; ``None`` for the store's, read each round.
        batch_size: Notifications claimed per round.
        clock: Tells the time of each round.
    """

    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        policy: NotificationPolicy | None = None,
        batch_size: int = 50,
        clock: Clock | None = None,
    ) -> None:
        check_batch_size(batch_size)
        self._store = store
        self._transport = transport
        self._policy = policy
        self._batch_size = batch_size
        self._clock = clock or SystemClock()
        self._stop = threading.Event()

    def _claim(
        self, now: pendulum.DateTime
    ) -> tuple[NotificationPolicy, list[tuple[Notification, Message]], DeliveryReport]:
        report = DeliveryReport()
        claimed: list[tuple[Notification, Message]] = []
        with self._store() as uow:
            policy = notification_policy(uow, self._policy)
            for n in uow.notifications.claim_due(now, limit=self._batch_size):
                if n.state is NotificationState.AWAITING_RECEIPT:
                    late = Attempt(n.sent, now, Outcome.NO_RECEIPT, "no receipt in time")
                    report += _settle(uow, n, late, policy)[1]
                    continue
                rule = policy.rule_of(n)
                # Not needed any more: the task was closed another way, or the policy changed.
                if rule is None or (n.task_id is not None and _task_closed(uow, n.task_id)):
                    uow.notifications.update(
                        attrs.evolve(n, state=NotificationState.CANCELLED, next_at=None)
                    )
                    report += DeliveryReport(cancelled=1)
                    continue
                try:
                    message = self._message(uow, n, rule, policy, now)
                except _RefusedError as why:
                    refused = Attempt(n.sent + 1, now, Outcome.REFUSED, str(why))
                    report += _settle(uow, n, refused, policy)[1]
                    continue
                # The lease: if this notifier dies now, the next sends it again after it.
                lease = attrs.evolve(
                    n, next_at=now.add(minutes=policy.receipt_minutes), text=message.text
                )
                claimed.append((uow.notifications.update(lease), message))
            uow.commit()
        return policy, claimed, report

    def _message(
        self,
        uow: UnitOfWork,
        n: Notification,
        rule: Rule,
        policy: NotificationPolicy,
        now: pendulum.DateTime,
    ) -> Message:
        if n.audience in (Audience.FAMILY, Audience.RESIDENT):
            to = _resident_recipient(uow, n)
        elif n.audience is Audience.REPORTER:
            to = _reporter_recipient(uow, n)
        else:
            to = _worker_recipient(uow, n, now.in_tz(policy.time_zone).date())
        try:
            text = _text(uow, n, rule, policy)
        except ValidationError:  # facts that are not what the event type promises
            raise _RefusedError("the event's facts cannot fill the template") from None
        return Message(
            id=n.message_id(),
            notification_id=n.id,
            event_type=n.event_type,
            cell_code=n.cell_code,
            to=to,
            text=text,
            language=policy.language,
        )

    def _send(self, message: Message, now: pendulum.DateTime, number: int) -> Attempt:
        try:
            sent = self._transport.send(message)
        except TransportError as exc:
            outcome = Outcome.FAILED if exc.retryable else Outcome.REFUSED
            return Attempt(number, now, outcome, exc.detail[:300])
        except Exception as exc:  # a transport's own fault must not lose the round's records
            # Only the type: an exception's text may quote the message or the address.
            _log.error("notify: the transport raised %s", type(exc).__name__)
            return Attempt(number, now, Outcome.FAILED, f"transport error {type(exc).__name__}")
        outcome = Outcome.DELIVERED if sent.delivered else Outcome.ACCEPTED
        return Attempt(number, now, outcome, sent.detail[:300], sent.provider_id[:128])

    def deliver_once(self) -> DeliveryReport:
        """Claim, send and record one round of due notifications; return what was done."""
        now = self._clock.now()
        policy, claimed, report = self._claim(now)
        if not claimed:
            return report
        attempts = [self._send(m, now, n.sent + 1) for n, m in claimed]
        report += DeliveryReport(
            sent=sum(a.outcome in (Outcome.ACCEPTED, Outcome.DELIVERED) for a in attempts)
        )
        with self._store() as uow:
            for (n, _), attempt in zip(claimed, attempts, strict=True):
                fresh = uow.notifications.get(n.id)
                # A receipt may have settled it meanwhile (a gateway faster than this round).
                if fresh.state.finished:
                    continue
                report += _settle(uow, fresh, attempt, policy)[1]
            uow.commit()
        return report

    def stop(self) -> None:
        """Ask :meth:`run` to return after the round in hand (from another thread, a signal)."""
        self._stop.set()

    def run(self, *, idle: float = 5.0, until_empty: bool = False) -> DeliveryReport:
        """Deliver rounds until :meth:`stop` (or until nothing is due, with ``until_empty``).

        A round that fails on the store (a conflict, a database away) is logged and tried
        again after ``idle`` seconds.
        """
        total = DeliveryReport()
        self._stop.clear()
        while not self._stop.is_set():
            try:
                report = self.deliver_once()
            except GridgovError as exc:
                _log.warning("notify: %s; trying again in %.1f s", exc, idle)
                self._stop.wait(idle)
                continue
            total += report
            if report != DeliveryReport():
                continue
            if until_empty:
                break
            self._stop.wait(idle)
        return total


def _task_closed(uow: UnitOfWork, task_id: str) -> bool:
    try:
        return uow.care_tasks.get(task_id).state is not TaskState.OPEN
    except NotFoundError:
        return True
