"""Routine scheduling and follow-up rules: which contacts to make next, and by when.

Both are pure functions of the facts (an assessment, the contact history, the open tasks and an
instant), so the same inputs always give the same tasks, with ids derived from their content.
The follow-up defaults tell the Minggong story: an unanswered or evasive call leads to a second
call; two unanswered calls to a home visit within 2 hours; "unwell" to notifying the emergency
contact and a visit within 24 hours.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import pendulum

from gridgov.care.assessment import Assessment
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskKind
from gridgov.care.policy import Cadence, ContactMethod
from gridgov.clock import LATEST, OUTSIDE_RANGE
from gridgov.errors import ValidationError
from gridgov.households import Household, HouseholdStatus

__all__ = [
    "DEFAULT_RULES",
    "FollowUp",
    "FollowUpRules",
    "effective_method",
    "follow_up",
    "lapse",
    "paused",
    "plan_routine",
]


def _positive_minutes(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 60 * 24 * 60:
        raise ValidationError(attribute.name, "a delay is a whole number of minutes, at least 1")


@attrs.frozen
class FollowUpRules:
    """The delays of the follow-up rules, in minutes; every number configurable.

    Args:
        second_call_within: After an unanswered or evasive call, call again within this.
        visit_after_unanswered_within: After two unanswered calls in a row, visit within this.
        notify_contact_within: After "unwell", reach the emergency contact within this.
        visit_after_unwell_within: After "unwell", visit within this.
        check_after_hospital_within: After "hospitalised", call to ask about discharge within this;
            routine contacts pause until the resident is reached again.
        lead_share: Routine tasks open this share of their cadence before they are due.
    """

    second_call_within: int = attrs.field(default=60, validator=_positive_minutes)
    visit_after_unanswered_within: int = attrs.field(default=120, validator=_positive_minutes)
    notify_contact_within: int = attrs.field(default=60, validator=_positive_minutes)
    visit_after_unwell_within: int = attrs.field(default=24 * 60, validator=_positive_minutes)
    check_after_hospital_within: int = attrs.field(default=7 * 24 * 60, validator=_positive_minutes)
    lead_share: float = attrs.field(default=0.25)

    @lead_share.validator
    def _check_share(self, _attr: attrs.Attribute[float], value: object) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < 1:
            raise ValidationError("lead_share", "a share from 0 to below 1")


DEFAULT_RULES = FollowUpRules()
"""The defaults: DOMAIN.md's proposals (a second call, a visit within 2 h) and 24 h visits."""


_BEIJING = pendulum.timezone("Asia/Shanghai")  # loaded once: loading a zone reads a file


def _shift(instant: pendulum.DateTime, span: pendulum.Duration, sign: int = 1) -> pendulum.DateTime:
    """Return ``instant + span`` (``- span`` for ``sign=-1``) exactly as pendulum computes it.

    pendulum adds days on the wall clock of the instant's zone and then resolves a time that a
    daylight-saving change skips or repeats; that costs about 20 times the arithmetic itself,
    and the rules add three spans per task. At a fixed offset (contacts read from files and
    stores carry one) the wall clock is elapsed time, so Python's own arithmetic gives the same
    instant, zone and type; any other zone goes through pendulum.
    """
    zone = instant.tzinfo
    if zone is pendulum.UTC or isinstance(zone, pendulum.FixedTimezone):
        if sign > 0:
            return dt.datetime.__add__(instant, span)
        return dt.datetime.__sub__(instant, span)
    return instant + span if sign > 0 else instant - span


def _when(instant: pendulum.DateTime) -> str:
    """Return the Beijing month, day and time of an instant (``MM-DD HH:mm``) for reasons."""
    return instant.in_timezone(_BEIJING).strftime("%m-%d %H:%M")


def _stamp(instant: pendulum.DateTime) -> str:
    return dt.datetime.astimezone(instant, dt.UTC).strftime("%Y%m%d%H%M")


def _task_id(resident_id: str, rule: str, due: pendulum.DateTime, basis: str) -> str:
    """Return a task id derived from what the task is and the contact that set it.

    Deterministic, so that replanning the same facts collides instead of duplicating; the basis
    (the contact the due instant counts from) keeps apart two tasks with the same window planned
    from different contacts, e.g. a visit and a call made in the same minute.
    """
    digest = hashlib.blake2s(
        f"{resident_id}|{rule}|{due.isoformat()}|{basis}".encode(), digest_size=5
    ).hexdigest()
    return f"t.{resident_id[:30]}.{_stamp(due)}.{digest}"


_REACHED = tuple(o for o in Outcome if o.reached)
# The outcomes ``paused`` looks at; a discharge notice ends a hospital pause as a reached contact.
_DECISIVE = (*_REACHED, Outcome.DECEASED, Outcome.MOVED, Outcome.DISCHARGED)


def _last_reached(
    contacts: Iterable[ContactAttempt], method: ContactMethod
) -> ContactAttempt | None:
    # One pass over tuples compared by identity: the rules ask this once per cadence for every
    # contact replayed, and an enum's hash (what a set or dict lookup takes) is Python code.
    counted = tuple(m for m in ContactMethod if m.satisfies(method))
    last: ContactAttempt | None = None
    for c in contacts:
        if (
            c.outcome in _REACHED
            and c.method in counted
            and (last is None or (c.at, c.id) > (last.at, last.id))
        ):
            last = c
    return last


def effective_method(cadence: Cadence, household: Household) -> ContactMethod:
    """Return how a cadence is met for a household: relocated households are phoned, not visited.

    Args:
        cadence: The tier's cadence.
        household: The resident's household.

    Returns:
        The cadence's method, or ``PHONE`` in place of a visit for a relocated household.
    """
    if household.status is HouseholdStatus.RELOCATED and cadence.method in (
        ContactMethod.HOME_VISIT,
        ContactMethod.VOLUNTEER_VISIT,
    ):
        return ContactMethod.PHONE
    return cadence.method


def paused(contacts: Sequence[ContactAttempt]) -> str | None:
    """Return why routine contacts stop for now, from the latest decisive contact.

    ``"hospitalised"`` (until a contact reaches the resident or a ``discharged`` notice comes),
    ``"moved"``, ``"deceased"``, or ``None`` when they go on. Of decisive contacts made at the
    same instant, the first in ``contacts`` counts.
    """
    latest: ContactAttempt | None = None
    for c in contacts:  # one pass, not a sort per contact replayed
        if c.outcome in _DECISIVE and (latest is None or c.at > latest.at):
            latest = c
    if latest is None:
        return None
    if latest.outcome in (Outcome.DECEASED, Outcome.MOVED):
        return str(latest.outcome.value)
    if latest.outcome is Outcome.HOSPITALISED:
        return "hospitalised"
    return None


@functools.lru_cache(maxsize=256)
def _spans(every_days: int, lead_share: float) -> tuple[pendulum.Duration, pendulum.Duration]:
    """Return a cadence's period and the lead its tasks open with, made once per cadence."""
    period = pendulum.duration(days=every_days)
    return period, pendulum.duration(seconds=int(period.total_seconds() * lead_share))


def plan_routine(
    assessment: Assessment,
    contacts: Sequence[ContactAttempt],
    open_tasks: Sequence[CareTask],
    *,
    now: pendulum.DateTime,
    rules: FollowUpRules = DEFAULT_RULES,
) -> tuple[CareTask, ...]:
    """Return the routine tasks a resident's tier calls for that are not open yet.

    For each cadence of the tier the next contact is due one cadence after the last contact that
    reached the resident and satisfies it (now, if there was none). A relocated household is
    phoned instead of visited; a resident last found hospitalised, moved or deceased gets none.

    Args:
        assessment: The resident's assessment (its tier decides the cadences).
        contacts: The resident's contact history (recent enough to cover the longest cadence).
        open_tasks: The resident's open tasks.
        now: The current instant.
        rules: The lead time share.

    Returns:
        New tasks, one per cadence without an open routine task of its method.

    Raises:
        ValidationError: If a new task would stay open past 2100-12-31, the end of the supported
            range (see :mod:`gridgov.clock`).
    """
    tier = assessment.tier
    if tier is None or paused(contacts) is not None:
        return ()
    resident, household = assessment.resident, assessment.household
    # Tasks planned after different contacts differ even when their windows are the same (a
    # routine visit cancelled by a hospital stay and planned again once the resident is back).
    latest = max(contacts, key=lambda c: (c.at, c.id), default=None)
    # ... and from a task planned again after its predecessor lapsed: ``now`` tells them apart.
    since = f"{'' if latest is None else latest.id}|{_stamp(now)}"
    planned: list[CareTask] = []
    for cadence in tier.cadences:
        method = effective_method(cadence, household)
        if any(t.kind is TaskKind.ROUTINE and t.method is method for t in open_tasks):
            continue
        if any(p.method is method for p in planned):
            continue
        last_contact = _last_reached(contacts, method)
        last = None if last_contact is None else last_contact.at
        period, lead = _spans(cadence.every_days, rules.lead_share)
        due = now if last is None else _shift(last, period)
        # An overdue contact stays on the list for a whole cadence from now.
        end = _shift(max(due, now), period)
        if end.year > LATEST.year:
            raise ValidationError(
                "now", f"a task planned now would stay open until {end.date()}, {OUTSIDE_RANGE}"
            )
        rule = f"cadence:{tier.code}:{method.value}"
        relocated = method is not cadence.method
        planned.append(
            CareTask(
                id=_task_id(resident.id, rule, due, since),
                resident_id=resident.id,
                household_id=household.id,
                cell_code=household.cell_code,
                kind=TaskKind.ROUTINE,
                method=method,
                start=_shift(due, lead, -1),
                due=due,
                end=end,
                reason_en=f"{tier.label_en} tier: {method.value.replace('_', ' ')} every "
                f"{cadence.every_days} days"
                + (" (relocated: a call instead of a visit)" if relocated else "")
                + (
                    f"; no {method.value.replace('_', ' ')} on record"
                    if last is None
                    else f"; last {last.date().isoformat()}"
                ),
                reason_zh=f"{tier.label_zh}:每{cadence.every_days}天{method.label_zh}"
                + ("(已外迁,改为电话)" if relocated else "")
                + (
                    f"；尚无{method.label_zh}记录"
                    if last is None
                    else f"；上次{last.date().isoformat()}"
                ),
                rule=rule,
                tier=tier.code,
            )
        )
    return tuple(planned)


def lapse(
    open_tasks: Sequence[CareTask], now: pendulum.DateTime
) -> tuple[list[CareTask], list[CareTask]]:
    """Split open tasks into those still open and those whose window ended (now cancelled).

    A task past its ``end`` no longer helps anyone: a routine contact is owed anew (planned from
    the last contact, so it shows overdue), a follow-up's moment has passed. Coverage reports
    count what was missed.

    Returns:
        ``(still_open, lapsed)``, the lapsed ones cancelled with the reason.
    """
    still: list[CareTask] = []
    lapsed: list[CareTask] = []
    for t in open_tasks:
        if t.end <= now:
            lapsed.append(
                t.cancelled(f"lapsed: window ended {t.end.in_timezone(_BEIJING):%Y-%m-%d}")
            )
        else:
            still.append(t)
    return still, lapsed


@attrs.frozen
class FollowUp:
    """What a contact sets in motion.

    Args:
        create: New tasks.
        close: Open tasks the contact fulfils.
        cancel: Open tasks that no longer make sense, with the reason in ``closed_by``.
    """

    create: tuple[CareTask, ...] = ()
    close: tuple[CareTask, ...] = ()
    cancel: tuple[CareTask, ...] = ()


_DAY = pendulum.duration(days=1)


@functools.lru_cache(maxsize=64)
def _minutes(count: int) -> pendulum.Duration:
    """Return a follow-up delay as a duration, made once per delay."""
    return pendulum.duration(minutes=count)


def _follow_task(
    contact: ContactAttempt,
    kind: TaskKind,
    method: ContactMethod,
    within_minutes: int,
    rule: str,
    en: str,
    zh: str,
    tier: str | None,
) -> CareTask:
    due = _shift(contact.at, _minutes(within_minutes))
    return CareTask(
        id=_task_id(contact.resident_id, rule, due, contact.id),
        resident_id=contact.resident_id,
        household_id=contact.household_id,
        cell_code=contact.cell_code,
        kind=kind,
        method=method,
        start=contact.at,
        due=due,
        end=_shift(due, _DAY),
        reason_en=en,
        reason_zh=zh,
        rule=rule,
        tier=tier,
    )


def follow_up(
    contact: ContactAttempt,
    previous: Sequence[ContactAttempt],
    open_tasks: Sequence[CareTask],
    *,
    tier: str | None = None,
    rules: FollowUpRules = DEFAULT_RULES,
) -> FollowUp:
    """Apply the follow-up rules to a new contact.

    Args:
        contact: The contact just made.
        previous: The resident's earlier contacts.
        open_tasks: The resident's open tasks before this contact.
        tier: The resident's tier code, recorded on new tasks.
        rules: The delays.

    Returns:
        The tasks to create, close and cancel.
    """
    o = contact.outcome
    if o in (Outcome.DECEASED, Outcome.MOVED):
        return FollowUp(cancel=tuple(t.cancelled(f"{o.value}: {contact.id}") for t in open_tasks))
    close = tuple(
        t.done(contact.id)
        for t in open_tasks
        if o.reached
        and contact.method.satisfies(t.method)
        and t.kind is not TaskKind.NOTIFY_CONTACT
    )
    create: list[CareTask] = []
    cancel: tuple[CareTask, ...] = ()
    # Only the outcomes below say when in their reasons; most contacts (well) need no text.
    when = "" if o in (Outcome.WELL, Outcome.REFUSED) else _when(contact.at)
    if o is Outcome.NO_ANSWER and contact.method in (ContactMethod.PHONE, ContactMethod.VIDEO):
        last = max(previous, key=lambda c: c.at, default=None)
        if (
            last is not None
            and last.outcome is Outcome.NO_ANSWER
            and last.method
            in (
                ContactMethod.PHONE,
                ContactMethod.VIDEO,
            )
        ):
            create.append(
                _follow_task(
                    contact,
                    TaskKind.FOLLOW_UP,
                    ContactMethod.HOME_VISIT,
                    rules.visit_after_unanswered_within,
                    "follow:unanswered-twice:visit",
                    f"two calls unanswered (last {when}): visit",
                    f"两次电话无人接听(最近{when}):上门查看",
                    tier,
                )
            )
        else:
            create.append(
                _follow_task(
                    contact,
                    TaskKind.FOLLOW_UP,
                    ContactMethod.PHONE,
                    rules.second_call_within,
                    "follow:unanswered:call",
                    f"call unanswered at {when}: call again",
                    f"{when}电话无人接听:再次致电",
                    tier,
                )
            )
    elif o is Outcome.EVASIVE:
        create.append(
            _follow_task(
                contact,
                TaskKind.FOLLOW_UP,
                ContactMethod.PHONE,
                rules.second_call_within,
                "follow:evasive:call",
                f"evasive answer at {when}: call again and ask",
                f"{when}答复含糊:再次致电询问",
                tier,
            )
        )
    elif o is Outcome.UNWELL:
        create.append(
            _follow_task(
                contact,
                TaskKind.NOTIFY_CONTACT,
                ContactMethod.PHONE,
                rules.notify_contact_within,
                "follow:unwell:notify",
                f"unwell at {when}: tell the emergency contact",
                f"{when}反映身体不适:通知紧急联系人",
                tier,
            )
        )
        if contact.method is not ContactMethod.HOME_VISIT:
            create.append(
                _follow_task(
                    contact,
                    TaskKind.FOLLOW_UP,
                    ContactMethod.HOME_VISIT,
                    rules.visit_after_unwell_within,
                    "follow:unwell:visit",
                    f"unwell at {when}: visit within 24 hours",
                    f"{when}反映身体不适:24小时内上门",
                    tier,
                )
            )
    elif o is Outcome.HOSPITALISED:
        cancel = tuple(
            t.cancelled(f"hospitalised: {contact.id}")
            for t in open_tasks
            if t.kind is TaskKind.ROUTINE and t not in close
        )
        create.append(
            _follow_task(
                contact,
                TaskKind.FOLLOW_UP,
                ContactMethod.PHONE,
                rules.check_after_hospital_within,
                "follow:hospitalised:call",
                f"in hospital since {when}: routine visits paused; call about discharge",
                f"{when}住院:暂停例行探访,致电了解出院情况",
                tier,
            )
        )
    closed_ids = {t.id for t in close}
    return FollowUp(
        create=tuple(t for t in create if t.id not in {o.id for o in open_tasks}),
        close=close,
        cancel=tuple(t for t in cancel if t.id not in closed_ids),
    )
