"""Escalation policies: ordered steps that fire at offsets from a case's deadline or level entry.

A step fires at an instant computed on the working calendar: before or after the running
deadline, at a share of the time limit, or after the case reached its owner's level. Its action
reminds the owner, sends a formal reminder copied to the supervisor, puts the case under
supervision, raises it one level up the grid hierarchy, or reassigns it. A step may repeat, and
stops once the case leaves the states or levels the step names or after ``max_times`` firings.

The default policy follows practice in DOMAIN.md: a reminder before the deadline, a formal
reminder (催办) the working day after it and on each of the next working days, supervision
(督办) when still overdue five working days later, and "small matters stay in the grid, big ones
in the community": a case the grid has not handled within 1 working day goes to the community,
which has 3 working days before it goes to the street.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov._levels import GridLevel
from gridgov.calendar import WorkCalendar
from gridgov.cases.catalogue import Stage, TimeLimit, TimeUnit
from gridgov.cases.model import ACTIVE_STATES, Case, CaseState
from gridgov.errors import ValidationError

__all__ = [
    "DEFAULT_ESCALATION",
    "Anchor",
    "EscalationKind",
    "EscalationPolicy",
    "EscalationStep",
    "Firing",
    "carry_fired",
    "due_firings",
    "next_check",
    "next_firing",
]


class Anchor(enum.Enum):
    """What a step's offset counts from."""

    DEADLINE = "deadline"
    LEVEL_ENTRY = "level_entry"


class EscalationKind(enum.Enum):
    """What an escalation does."""

    REMIND = "remind"
    FORMAL_REMINDER = "formal_reminder"
    SUPERVISE = "supervise"
    RAISE_LEVEL = "raise_level"
    REASSIGN = "reassign"
    DEADLINE_MISSED = "deadline_missed"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "remind": "提醒",
            "formal_reminder": "催办",
            "supervise": "督办",
            "raise_level": "上提一级",
            "reassign": "改派",
            "deadline_missed": "超期",
        }[self.value]


def _share(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, float | int) or isinstance(value, bool) or not 0 < value <= 1:
        raise ValidationError(attribute.name, "a share of the time limit is in (0, 1]")


def _stages(value: Iterable[Stage]) -> frozenset[Stage]:
    return v.to_frozenset(value)


def _levels(value: Iterable[GridLevel]) -> frozenset[GridLevel]:
    return v.to_frozenset(value)


def _states(value: Iterable[CaseState]) -> frozenset[CaseState]:
    return v.to_frozenset(value)


def _times(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
        raise ValidationError(attribute.name, "fire a step from 1 to 100 times")


@attrs.frozen
class EscalationStep:
    """One step of an escalation policy.

    Args:
        name: The step's key, used as the rule name in explanations.
        action: What it does.
        reason_en: Why, in English.
        reason_zh: Why, in Chinese.
        anchor: What the offset counts from: the running deadline or the level entry.
        offset: How long before or after the anchor; ``None`` fires at the anchor itself.
        before: Fire ``offset`` before the anchor rather than after (deadline anchor only).
        share: Fire when this share of the deadline's time limit has passed (instead of an
            offset; deadline anchor only).
        stages: The stages in which the step applies.
        levels: The owner levels at which the step applies.
        states: The states in which the step applies; leaving them stops it.
        repeat_every: Fire again after this long, up to ``max_times`` firings in all.
        max_times: How many times the step fires for one anchor.
    """

    name: str = attrs.field(validator=v.identifier)
    action: EscalationKind = attrs.field(validator=v.instance_of(EscalationKind))
    reason_en: str = attrs.field(validator=v.text(300))
    reason_zh: str = attrs.field(validator=v.text(300))
    anchor: Anchor = attrs.field(default=Anchor.DEADLINE, validator=v.instance_of(Anchor))
    offset: TimeLimit | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(TimeLimit))
    )
    before: bool = attrs.field(default=False, validator=v.instance_of(bool))
    share: float | None = attrs.field(default=None, validator=_share)
    stages: frozenset[Stage] = attrs.field(
        default=frozenset({Stage.HANDLING}), converter=_stages, validator=v.collection_of(Stage)
    )
    levels: frozenset[GridLevel] = attrs.field(
        default=frozenset(GridLevel), converter=_levels, validator=v.collection_of(GridLevel)
    )
    states: frozenset[CaseState] = attrs.field(
        default=ACTIVE_STATES, converter=_states, validator=v.collection_of(CaseState)
    )
    repeat_every: TimeLimit | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(TimeLimit))
    )
    max_times: int = attrs.field(default=1, validator=_times)

    def __attrs_post_init__(self) -> None:
        if self.action is EscalationKind.DEADLINE_MISSED:
            raise ValidationError("action", "deadlines are marked missed by the engine itself")
        if self.share is not None and (
            self.offset is not None or self.anchor is not Anchor.DEADLINE
        ):
            raise ValidationError("share", "a share is measured on the deadline, without offset")
        if self.before and (self.offset is None or self.anchor is not Anchor.DEADLINE):
            raise ValidationError("before", "only an offset from the deadline can come before it")
        if self.max_times > 1 and self.repeat_every is None:
            raise ValidationError(
                "max_times", "a step that fires more than once needs repeat_every"
            )


def _unique_steps(
    _inst: Any, attribute: attrs.Attribute[Any], value: tuple[EscalationStep, ...]
) -> None:
    seen: set[str] = set()
    for i, step in enumerate(value):
        if not isinstance(step, EscalationStep):
            raise ValidationError(f"{attribute.name}[{i}]", "expected an EscalationStep")
        if step.name in seen:
            raise ValidationError(f"{attribute.name}[{i}].name", "duplicate step name")
        seen.add(step.name)


def _steps(value: Iterable[EscalationStep]) -> tuple[EscalationStep, ...]:
    return v.to_tuple(value)


@attrs.frozen
class EscalationPolicy:
    """An ordered list of escalation steps.

    Args:
        steps: The steps; at one instant, earlier steps act first.
        mark_missed: Whether the engine records a missed deadline as it passes.
    """

    steps: tuple[EscalationStep, ...] = attrs.field(converter=_steps, validator=_unique_steps)
    mark_missed: bool = attrs.field(default=True, validator=v.instance_of(bool))


_DAY = TimeLimit(1, TimeUnit.WORKING_DAYS)

DEFAULT_ESCALATION = EscalationPolicy(
    (
        EscalationStep(
            "remind_before_deadline",
            EscalationKind.REMIND,
            "three quarters of the handling time limit has passed",
            "办理时限已过四分之三",
            share=0.75,
            stages={Stage.HANDLING, Stage.VERIFICATION},
        ),
        EscalationStep(
            "formal_reminder",
            EscalationKind.FORMAL_REMINDER,
            "overdue: formal reminder copied to the supervisor, each working day",
            "已超期：逐日催办并抄送上级",
            offset=_DAY,
            repeat_every=_DAY,
            max_times=5,
        ),
        EscalationStep(
            "supervision",
            EscalationKind.SUPERVISE,
            "still overdue five working days after the formal reminder",
            "催办后五个工作日仍超期，督办",
            offset=TimeLimit(6, TimeUnit.WORKING_DAYS),
        ),
        EscalationStep(
            "grid_to_community",
            EscalationKind.RAISE_LEVEL,
            "small matters stay in the grid: not handled there within 1 working day",
            "小事不出网格：网格一个工作日内未办结，上提社区",
            anchor=Anchor.LEVEL_ENTRY,
            offset=_DAY,
            levels={GridLevel.GRID},
            states={CaseState.DISPATCHED, CaseState.IN_PROGRESS, CaseState.EXTENSION_REQUESTED},
        ),
        EscalationStep(
            "community_to_street",
            EscalationKind.RAISE_LEVEL,
            "big matters stay in the community: not handled there within 3 working days",
            "大事不出社区：社区三个工作日内未办结，上提街道",
            anchor=Anchor.LEVEL_ENTRY,
            offset=TimeLimit(3, TimeUnit.WORKING_DAYS),
            levels={GridLevel.COMMUNITY},
            states={CaseState.DISPATCHED, CaseState.IN_PROGRESS, CaseState.EXTENSION_REQUESTED},
        ),
    )
)


@attrs.frozen
class Firing:
    """One scheduled firing of a step (or of the engine's own missed-deadline mark).

    Args:
        key: Identifies the firing; stored on the case once done, so it never fires twice.
        at: When it is due.
        kind: What it does.
        step: The step, or ``None`` for a missed deadline.
        stage: The stage whose deadline it concerns, if any.
        times: Which firing of a repeating step this is (1 for the first).
        provisional_years: The provisional years its instant rests on (its deadline's and
            those its offset was counted across); empty when it is final.
    """

    key: str
    at: pendulum.DateTime
    kind: EscalationKind
    step: EscalationStep | None
    stage: Stage | None = None
    times: int = 1
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        """Return whether the firing's instant may move once a provisional year is announced."""
        return bool(self.provisional_years)


def _stamp(instant: pendulum.DateTime) -> str:
    return dt.datetime.astimezone(instant, dt.UTC).strftime("%Y%m%dT%H%M%S")


def _back(due: pendulum.DateTime, offset: TimeLimit, calendar: WorkCalendar) -> pendulum.DateTime:
    """Return ``offset`` before ``due``, counted as :meth:`TimeLimit.due` counts forward."""
    match offset.unit:
        case TimeUnit.MINUTES:
            return due.subtract(minutes=offset.amount)
        case TimeUnit.HOURS:
            return due.subtract(hours=offset.amount)
        case TimeUnit.DAYS:
            return due.subtract(days=offset.amount)
        case TimeUnit.WORKING_DAYS:
            # The close of business of the Nth working day before the deadline's day.
            day = due.in_timezone(calendar.tz).date()
            counted = 0
            while counted < offset.amount:
                day = day.subtract(days=1)
                if calendar.is_working_day(day):
                    counted += 1
            end = calendar.hours_on(day)[-1].end
            return pendulum.datetime(
                day.year, day.month, day.day, end.hour, end.minute, end.second, tz=calendar.tz
            )
        case TimeUnit.WORKING_HOURS:
            return _back_working_time(due, offset.amount * 3600.0, calendar)


def _back_working_time(
    due: pendulum.DateTime, seconds: float, calendar: WorkCalendar
) -> pendulum.DateTime:
    moment = due.in_timezone(calendar.tz)
    day = moment.date()
    for _ in range(366 * 10):
        for period in reversed(calendar.hours_on(day)):
            opens = pendulum.datetime(day.year, day.month, day.day, tz=calendar.tz).add(
                seconds=_seconds(period.start)
            )
            closes = pendulum.datetime(day.year, day.month, day.day, tz=calendar.tz).add(
                seconds=_seconds(period.end)
            )
            end = min(closes, moment)
            if end <= opens:
                continue
            available = (end - opens).total_seconds()
            if seconds <= available:
                return end.subtract(seconds=seconds)
            seconds -= available
        day = day.subtract(days=1)
        moment = pendulum.datetime(day.year, day.month, day.day, 23, 59, 59, tz=calendar.tz)
    raise ValidationError("offset", "longer than ten years of business hours")


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _share_of(
    start: pendulum.DateTime,
    due: pendulum.DateTime,
    share: float,
    limit: TimeLimit,
    calendar: WorkCalendar,
) -> pendulum.DateTime:
    if limit.unit.on_calendar:
        worked = calendar.working_time_between(start, due).total_seconds() * share
        return calendar.add_working_time(start, pendulum.duration(seconds=worked))
    return start.add(seconds=(due - start).total_seconds() * share)


def _first_instant(
    step: EscalationStep, case: Case, calendar: WorkCalendar
) -> tuple[str, pendulum.DateTime, pendulum.DateTime, tuple[int, ...]] | None:
    """Return where ``step`` first fires for ``case``, if it applies.

    Returns:
        The anchor key, the firing instant, the instant it was counted from, and the provisional
        years that instant rests on (a deadline's).
    """
    if step.anchor is Anchor.LEVEL_ENTRY:
        if case.level_since is None:
            return None
        base = case.level_since
        key = f"level:{case.owner_cell}:{_stamp(base)}"
        return key, base if step.offset is None else step.offset.due(base, calendar), base, ()
    deadline = case.current_deadline
    if deadline is None or deadline.paused_at is not None:
        return None
    key = f"{deadline.stage.value}:{_stamp(deadline.due)}"
    years = deadline.provisional_years
    if step.share is not None:
        at = _share_of(deadline.start, deadline.due, step.share, deadline.limit, calendar)
        return key, at, deadline.due, years
    if step.offset is None:
        return key, deadline.due, deadline.due, years
    if step.before:
        return key, _back(deadline.due, step.offset, calendar), deadline.due, years
    return key, step.offset.due(deadline.due, calendar), deadline.due, years


def _union(*years: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set().union(*years)))


def _applies(step: EscalationStep, case: Case) -> bool:
    stage = case.state.stage
    if case.state not in step.states or stage not in step.stages:
        return False
    if case.owner_level not in step.levels:
        return False
    return not (
        step.action is EscalationKind.RAISE_LEVEL and case.owner_level is GridLevel.DISTRICT
    )


def pending(policy: EscalationPolicy, case: Case, calendar: WorkCalendar) -> Iterator[Firing]:
    """Yield the next unfired firing of every step that applies to ``case``, in policy order.

    Raises:
        CalendarCoverageError: If a firing instant needs a year the calendar does not cover.
    """
    deadline = case.current_deadline
    if policy.mark_missed and deadline is not None and deadline.paused_at is None:
        key = f"missed@{deadline.stage.value}:{_stamp(deadline.due)}"
        if key not in case.fired:
            yield Firing(
                key,
                deadline.due,
                EscalationKind.DEADLINE_MISSED,
                None,
                deadline.stage,
                provisional_years=deadline.provisional_years,
            )
    for step in policy.steps:
        if not _applies(step, case):
            continue
        first = _first_instant(step, case, calendar)
        if first is None:
            continue
        anchor_key, at, base, years = first
        prefix = f"{step.name}@{anchor_key}#"
        done = sum(1 for k in case.fired if k.startswith(prefix))
        if done >= step.max_times:
            continue
        for _ in range(done):
            assert step.repeat_every is not None  # max_times > 1 requires it
            at = step.repeat_every.due(at, calendar)
        yield Firing(
            f"{prefix}{done + 1}",
            at,
            step.action,
            step,
            case.state.stage,
            done + 1,
            _union(years, calendar.provisional_years(base, at)),
        )


def carry_fired(
    fired: Iterable[str], stage: Stage, old: pendulum.DateTime, new: pendulum.DateTime
) -> frozenset[str]:
    """Return the fired keys with those of a deadline's old due instant moved to the new one.

    When a deadline is counted again (a provisional year announced), what already fired for it
    stays fired: no reminder is sent twice.
    """
    old_key, new_key = f"{stage.value}:{_stamp(old)}", f"{stage.value}:{_stamp(new)}"
    return frozenset(k.replace(old_key, new_key) for k in fired)


def next_firing(policy: EscalationPolicy, case: Case, calendar: WorkCalendar) -> Firing | None:
    """Return the earliest pending firing of ``case`` (policy order breaks ties), if any."""
    if not case.is_open:
        return None
    return min(pending(policy, case, calendar), key=lambda f: f.at, default=None)


def next_check(
    policy: EscalationPolicy, case: Case, calendar: WorkCalendar
) -> pendulum.DateTime | None:
    """Return when the engine must next look at ``case``: its earliest pending firing."""
    firing = next_firing(policy, case, calendar)
    return None if firing is None else firing.at


def due_firings(
    policy: EscalationPolicy, case: Case, calendar: WorkCalendar, now: pendulum.DateTime
) -> list[Firing]:
    """Return the firings due at ``now``, earliest first (policy order breaks ties)."""
    if not case.is_open:
        return []
    due = [f for f in pending(policy, case, calendar) if f.at <= now]
    return sorted(due, key=lambda f: f.at)
