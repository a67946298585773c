"""Notifications: who is told what, with proof that it went out.

A :class:`NotificationPolicy` (saved in the store's settings, or :data:`DEFAULT_POLICY`) says
which events notify whom: the family of an elder nobody could reach, the grid worker of a
follow-up due, the supervisor of an escalated case, the resident promoted from a waitlist. When
a service records its events (:func:`gridgov.outbox.record_events`), the notifications the
policy asks for are stored in the same unit of work: a rolled-back change notifies no one, a
committed one always has its notifications.

A :class:`~gridgov.notify.notifier.Notifier` then sends them through a transport the integrator
supplies (SMS, WeChat template message, voice call, app push; a signed webhook and a log ship),
records each attempt and the delivery receipt, closes the "notify family" task when the family
has the message, and after the configured attempts tells the grid worker instead.

A notification stores the event's masked facts only (ids, cell codes, instants). The address
(a phone number) is looked up when it is sent and handed to the transport alone; it is never
stored with the notification, logged or put in an error.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from gridgov import _json
from gridgov import _validation as v
from gridgov.errors import ValidationError

if TYPE_CHECKING:
    from gridgov.outbox import StoredEvent

__all__ = [
    "DEFAULT_POLICY",
    "PLACEHOLDERS",
    "Attempt",
    "Audience",
    "Notification",
    "NotificationPolicy",
    "NotificationState",
    "Outcome",
    "Receipt",
    "Rule",
    "planned",
]


class Audience(enum.Enum):
    """Who a notification is for; the notifier finds the address when it sends."""

    FAMILY = "family"
    """The resident's first emergency contact."""
    RESIDENT = "resident"
    """The resident the event is about."""
    WORKER = "worker"
    """The grid worker on duty for the event's cell (or the nearest cell above with one)."""
    REPORTER = "reporter"
    """The reporter of the case the event is about: their call-back phone, or that of the
    resident they are in the ledger."""
    SUPERVISOR = "supervisor"
    """For a case a functional department holds, that department's first supervisor with a
    phone; otherwise the workers on duty for the cell a case was escalated to (its own cell
    otherwise)."""

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "family": "家属",
            "resident": "居民",
            "worker": "网格员",
            "reporter": "反映人",
            "supervisor": "督办人",
        }[self.value]


class NotificationState(enum.Enum):
    """Where a notification is in its life."""

    PENDING = "pending"
    """To be sent at ``next_at`` (first send, or a retry)."""
    AWAITING_RECEIPT = "awaiting_receipt"
    """Accepted by the transport; waiting until ``next_at`` for its delivery receipt."""
    DELIVERED = "delivered"
    """The receipt says the recipient has it."""
    FAILED = "failed"
    """Every attempt failed; the grid worker was told instead."""
    CANCELLED = "cancelled"
    """No longer needed (the task it would close was closed another way)."""

    @property
    def finished(self) -> bool:
        """Return whether nothing more will be done."""
        return self in (NotificationState.DELIVERED, self.FAILED, self.CANCELLED)


class Outcome(enum.Enum):
    """What one attempt came to."""

    ACCEPTED = "accepted"
    """The transport took the message; a receipt will tell."""
    DELIVERED = "delivered"
    """Delivered (a synchronous transport, or the receipt)."""
    REFUSED = "refused"
    """The transport refused it for good (no address, a bad number): no retry helps."""
    FAILED = "failed"
    """It could not be sent now (gateway down, timeout): retried later."""
    UNDELIVERED = "undelivered"
    """The receipt says it did not arrive."""
    NO_RECEIPT = "no_receipt"
    """No receipt came in time."""


def _whole(low: int, high: int) -> Any:
    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValidationError(attribute.name, f"expected a whole number from {low} to {high}")

    return check


@attrs.frozen
class Attempt:
    """One try at sending a notification, or what its receipt said.

    Args:
        number: The attempt's number, from 1; its message id is ``<notification id>:<number>``.
        at: When it was made, or when the receipt came.
        outcome: What it came to.
        detail: The transport's or the gateway's words, without personal data.
        provider_id: The gateway's id of the message, if it gave one.
    """

    number: int = attrs.field(validator=_whole(1, 1000))
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    outcome: Outcome = attrs.field(validator=v.instance_of(Outcome))
    detail: str = attrs.field(default="", validator=v.text(300, allow_empty=True))
    provider_id: str = attrs.field(default="", validator=v.text(128, allow_empty=True))


@attrs.frozen
class Receipt:
    """A gateway's word that a message arrived, or did not.

    Args:
        message_id: The message's id as sent: ``<notification id>:<attempt number>``.
        delivered: Whether it arrived.
        at: When the gateway says so.
        detail: The gateway's words (an error code), without personal data.
    """

    message_id: str = attrs.field(validator=v.text(100))
    delivered: bool = attrs.field(validator=v.instance_of(bool))
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    detail: str = attrs.field(default="", validator=v.text(300, allow_empty=True))

    @property
    def notification_id(self) -> str:
        """Return the id of the notification the message was sent for."""
        return self.message_id.rpartition(":")[0]

    @property
    def attempt(self) -> int:
        """Return the number of the attempt the message was, 0 if the id names none."""
        number = self.message_id.rpartition(":")[2]
        return int(number) if number.isascii() and number.isdigit() else 0


def _as_attempts(value: Iterable[Attempt]) -> tuple[Attempt, ...]:
    return tuple(value)


def _facts(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.startswith("{"):
        raise ValidationError(attribute.name, "expected a JSON object as text")


@attrs.frozen
class Notification:
    """Someone to tell about an event, and what came of telling them.

    Args:
        id: ``<event id>.<audience>``: one notification per event and audience.
        event_id: The event (in the outbox) that asked for it.
        event_type: That event's type, e.g. ``"care.family_to_notify"``.
        audience: Who is told.
        cell_code: The event's cell, for scoping and for finding workers.
        subject_id: Whom or what it is about: the resident, else the event's record (a case).
        facts: The event's masked facts, as JSON object text.
        created: When the event happened.
        task_id: The care task that delivery closes (the "notify family" task), if any.
        state: Where it is in its life.
        attempts: Its attempts and receipts, in order.
        next_at: When the notifier looks at it next (send, retry, or give up waiting for a
            receipt); ``None`` once finished.
        escalated_to: The notification that told the grid worker when this one failed.
        text: The text of the last message sent (masked facts only): what the recipient read.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    event_id: str = attrs.field(validator=v.identifier)
    event_type: str = attrs.field(validator=v.text(100))
    audience: Audience = attrs.field(validator=v.instance_of(Audience))
    cell_code: str = attrs.field(validator=v.text(64))
    subject_id: str = attrs.field(validator=v.text(128))
    facts: str = attrs.field(validator=_facts, repr=False)
    created: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    task_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    state: NotificationState = attrs.field(
        default=NotificationState.PENDING, validator=v.instance_of(NotificationState)
    )
    attempts: tuple[Attempt, ...] = attrs.field(
        default=(), converter=_as_attempts, validator=v.collection_of(Attempt)
    )
    next_at: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    escalated_to: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    text: str = attrs.field(default="", validator=v.text(500, allow_empty=True))
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    @property
    def sent(self) -> int:
        """Return how many messages were sent: a receipt shares its message's number."""
        return max((a.number for a in self.attempts), default=0)

    def message_id(self, number: int | None = None) -> str:
        """Return the id of message ``number`` (the next one by default), the gateway's key."""
        return f"{self.id}:{self.sent + 1 if number is None else number}"

    def event_facts(self) -> dict[str, Any]:
        """Return the event's facts as a dict."""
        facts: dict[str, Any] = _json.loads(self.facts)
        return facts


PLACEHOLDERS: frozenset[str] = frozenset(
    {"resident", "due", "start", "cell", "case", "to_cell", "task", "event", "duplicate_of"}
)
"""What a template may say, as ``${name}``: all masked.

``resident`` is the resident's masked name (``张*华``), ``due`` and ``start`` are local times
(``12-07 10:30``), ``cell`` and ``to_cell`` are cell names, ``case`` a case id,
``duplicate_of`` the id of the case a duplicate was merged into, ``task`` a task id and
``event`` the event's type label.
"""


def _template(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    v.text(300)(_inst, attribute, value)
    try:
        names = set(string.Template(value).get_identifiers())
        valid = string.Template(value).is_valid()
    except ValueError:
        names, valid = set(), False
    if not valid:
        raise ValidationError(attribute.name, "a template writes a placeholder as ${name}")
    unknown = sorted(names - PLACEHOLDERS)
    if unknown:
        raise ValidationError(
            attribute.name, f"unknown placeholder {unknown[0]!r}: use {sorted(PLACEHOLDERS)}"
        )


@attrs.frozen
class Rule:
    """One line of a policy: an event type, who is told, and what they read.

    Args:
        event_type: The event type it answers, e.g. ``"care.family_to_notify"``.
        audience: Who is told.
        zh: The message in Chinese, with ``${placeholders}`` (:data:`PLACEHOLDERS`).
        en: The message in English.
        closes_task: Whether delivery closes the event's care task (notifying the family does).
    """

    event_type: str = attrs.field(validator=v.text(100))
    audience: Audience = attrs.field(validator=v.instance_of(Audience))
    zh: str = attrs.field(validator=_template)
    en: str = attrs.field(validator=_template)
    closes_task: bool = attrs.field(default=False, validator=v.instance_of(bool))

    def text(self, language: str) -> str:
        """Return the template in ``language`` (``"zh"`` or ``"en"``)."""
        return self.zh if language == "zh" else self.en


def _as_rules(value: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(value)


def _rules(_inst: Any, attribute: attrs.Attribute[Any], value: tuple[Rule, ...]) -> None:
    seen: set[tuple[str, Audience]] = set()
    for i, rule in enumerate(value):
        if not isinstance(rule, Rule):
            raise ValidationError(f"{attribute.name}[{i}]", "expected a Rule")
        key = (rule.event_type, rule.audience)
        if rule.event_type.startswith("notification."):
            raise ValidationError(
                f"{attribute.name}[{i}]", "a notification's own failure is told by on_failure"
            )
        if key in seen:
            raise ValidationError(
                f"{attribute.name}[{i}]",
                f"{rule.event_type} already notifies the {rule.audience.value}",
            )
        seen.add(key)


def _language(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ("zh", "en"):
        raise ValidationError(attribute.name, "expected 'zh' or 'en'")


def _zone(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    try:
        pendulum.timezone(value)
    except Exception:
        raise ValidationError(attribute.name, "not a known IANA time zone") from None


FAILED_RULE = Rule(
    "notification.failed",
    Audience.WORKER,
    zh="【网格提醒】${event}未能送达（${resident}），请尽快电话联系或上门。",
    en="Grid alert: could not deliver '${event}' (${resident}); please call or visit.",
)
"""What the grid worker reads when a notification failed every attempt."""


@attrs.frozen
class NotificationPolicy:
    """Who is notified of what, in which language, and how hard gridgov tries.

    Args:
        rules: One rule per event type and audience.
        language: ``"zh"`` or ``"en"``: the language of every message.
        time_zone: Where local times in messages are told.
        attempts: Messages sent before the notification fails and the worker is told.
        retry_minutes: The wait before the first retry; it doubles per failed attempt.
        receipt_minutes: How long a sent message waits for its delivery receipt before it
            counts as failed.
        on_failure: What the grid worker reads when a notification failed.
    """

    rules: tuple[Rule, ...] = attrs.field(converter=_as_rules, validator=_rules)
    language: str = attrs.field(default="zh", validator=_language)
    time_zone: str = attrs.field(default="Asia/Shanghai", validator=_zone)
    attempts: int = attrs.field(default=3, validator=_whole(1, 20))
    retry_minutes: int = attrs.field(default=5, validator=_whole(1, 1440))
    receipt_minutes: int = attrs.field(default=30, validator=_whole(1, 10080))
    on_failure: Rule = attrs.field(default=FAILED_RULE, validator=v.instance_of(Rule))

    def rules_for(self, event_type: str) -> tuple[Rule, ...]:
        """Return the rules answering ``event_type``."""
        return tuple(r for r in self.rules if r.event_type == event_type)

    def rule_of(self, notification: Notification) -> Rule | None:
        """Return the rule ``notification`` was made by (``on_failure`` for a failure's alert).

        ``None`` if the policy no longer has it (it changed since the event).
        """
        if notification.event_type == self.on_failure.event_type:
            return self.on_failure
        key = (notification.event_type, notification.audience)
        return next((r for r in self.rules if (r.event_type, r.audience) == key), None)


DEFAULT_POLICY = NotificationPolicy(
    rules=(
        Rule(
            "care.family_to_notify",
            Audience.FAMILY,
            zh="【社区网格】网格员今日联系您的家人${resident}时情况异常，请尽快与其联系或回电社区。",
            en="Community grid: today's check on your relative ${resident} found something "
            "wrong; please get in touch with them or call the community.",
            closes_task=True,
        ),
        Rule(
            "care.follow_up_due",
            Audience.WORKER,
            zh="【网格待办】请于${due}前跟进${resident}（${cell}）。",
            en="Grid to-do: follow up ${resident} by ${due} (${cell}).",
        ),
        Rule(
            "case.escalated",
            Audience.SUPERVISOR,
            zh="【督办】案件${case}已升级至${to_cell}，请督办。",
            en="Supervision: case ${case} was escalated to ${to_cell}.",
        ),
        Rule(
            "case.duplicate",
            Audience.REPORTER,
            zh="【案件反馈】您反映的问题已并入案件${duplicate_of}一并办理，感谢您的反映。",
            en="Your report is being handled with case ${duplicate_of}, which is about the "
            "same problem. Thank you for reporting it.",
        ),
        Rule(
            "scheduling.promoted",
            Audience.RESIDENT,
            zh="【社区活动】您已由候补转为正式报名，活动于${start}开始。",
            en="Community activity: you have a place now; it starts ${start}.",
        ),
    )
)
"""The policy a store without one of its own uses: the five notifications of the domain."""


def planned(events: Sequence[StoredEvent], policy: NotificationPolicy) -> tuple[Notification, ...]:
    """Return the notifications ``policy`` asks for on ``events`` (stored, numbered events)."""
    types = {r.event_type for r in policy.rules}
    notifications: list[Notification] = []
    for event in events:
        if event.type not in types:
            continue
        facts = event.facts()
        subject = facts.get("resident_id") or event.aggregate_id
        task = facts.get("task_id")
        for rule in policy.rules_for(event.type):
            # A reporter who left no way to be told is not: the event alone records it.
            if rule.audience is Audience.REPORTER and facts.get("reporter_reachable") is False:
                continue
            notifications.append(
                Notification(
                    id=f"{event.id}.{rule.audience.value}",
                    event_id=event.id,
                    event_type=event.type,
                    audience=rule.audience,
                    cell_code=event.cell_code,
                    subject_id=str(subject),
                    facts=event.data,
                    created=event.at,
                    task_id=str(task) if rule.closes_task and task else None,
                    next_at=event.at,
                    version=1,  # as add_many stores it
                )
            )
    return tuple(notifications)
