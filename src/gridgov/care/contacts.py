"""The contact ledger (探访记录) and care tasks with time windows."""

from __future__ import annotations

import enum
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.care.policy import ContactMethod
from gridgov.errors import ValidationError

__all__ = ["CareTask", "ContactAttempt", "Outcome", "TaskKind", "TaskState", "TaskStatus"]


class Outcome(enum.Enum):
    """What a contact found."""

    WELL = "well"
    EVASIVE = "evasive"
    UNWELL = "unwell"
    NO_ANSWER = "no_answer"
    HOSPITALISED = "hospitalised"
    DISCHARGED = "discharged"
    """Back home from hospital (a hospital's discharge list, or a relative's word): the pause
    that ``HOSPITALISED`` began ends, and the routine contacts are planned again."""
    REFUSED = "refused"
    MOVED = "moved"
    DECEASED = "deceased"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _OUTCOME_ZH[self]

    @property
    def reached(self) -> bool:
        """Return whether the resident was actually reached (the contact counts for coverage)."""
        return self in (Outcome.WELL, Outcome.EVASIVE, Outcome.UNWELL, Outcome.HOSPITALISED)


_OUTCOME_ZH = {
    Outcome.WELL: "状况良好",
    Outcome.EVASIVE: "答复含糊",
    Outcome.UNWELL: "身体不适",
    Outcome.NO_ANSWER: "无人接听",
    Outcome.HOSPITALISED: "住院",
    Outcome.DISCHARGED: "已出院",
    Outcome.REFUSED: "拒绝探访",
    Outcome.MOVED: "已搬离",
    Outcome.DECEASED: "已故",
}


@attrs.frozen(repr=False)
class ContactAttempt:
    """One attempt to reach a resident: a visit, a call, a video call.

    Args:
        id: The attempt's key.
        resident_id: Who was contacted.
        household_id: Their household.
        cell_code: The household's cell, for subtree queries.
        method: How.
        outcome: What it found.
        by: Who made it: a worker's id, or a volunteer's resident id.
        at: When (tz-aware).
        notes: Free text; may hold personal data, so never shown in ``repr``.
        task_id: The task this attempt worked on, if any.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    resident_id: str = attrs.field(validator=v.identifier)
    household_id: str = attrs.field(validator=v.identifier)
    cell_code: str = attrs.field(validator=v.text(64))
    method: ContactMethod = attrs.field(validator=v.instance_of(ContactMethod))
    outcome: Outcome = attrs.field(validator=v.instance_of(Outcome))
    by: str = attrs.field(validator=v.identifier)
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    notes: str = attrs.field(default="", validator=v.text(2000, allow_empty=True))
    task_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    def __repr__(self) -> str:
        return (
            f"ContactAttempt(id={self.id!r}, resident_id={self.resident_id!r}, "
            f"method={self.method.value!r}, outcome={self.outcome.value!r}, "
            f"at={self.at.isoformat()!r})"
        )


class TaskKind(enum.Enum):
    """Why a task exists."""

    ROUTINE = "routine"
    FOLLOW_UP = "follow_up"
    NOTIFY_CONTACT = "notify_contact"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {"routine": "例行探访", "follow_up": "跟进", "notify_contact": "通知紧急联系人"}[
            self.value
        ]


class TaskState(enum.Enum):
    """What is stored about a task's life: open until done or cancelled."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class TaskStatus(enum.Enum):
    """A task's status at an instant: stored state plus where the instant falls in its window."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "upcoming": "待开始",
            "due": "待办",
            "overdue": "逾期",
            "done": "已完成",
            "cancelled": "已取消",
        }[self.value]


def _window(inst: CareTask, _attr: attrs.Attribute[Any], _value: object) -> None:
    if not inst.start <= inst.due <= inst.end:
        raise ValidationError("due", "a task's window needs start <= due <= end")


@attrs.frozen
class CareTask:
    """A contact to make within a window, as community-health task engines schedule them.

    Before ``start`` the task is upcoming; from ``start`` to ``due`` it is due; after ``due`` it
    is overdue until done or cancelled. ``end`` is when the task stops mattering (the next one
    of its cadence takes over, or a follow-up's purpose has passed).

    Args:
        id: The task's key.
        resident_id: Who to contact.
        household_id: Their household.
        cell_code: The household's cell (a grid or building), for worklists.
        kind: Routine cadence, follow-up, or notifying the emergency contact.
        method: How to make the contact.
        start: From when it may be done.
        due: By when it should be done.
        end: When it lapses.
        reason_en: Why it exists, in English.
        reason_zh: Why it exists, in Chinese.
        rule: The rule that created it, e.g. ``"cadence:high:home_visit"``.
        tier: The resident's tier code when it was created, if any.
        state: Open, done or cancelled.
        closed_by: The contact that closed it, or why it was cancelled.
        overdue_at: When the overdue sweep marked it overdue (and recorded ``TaskOverdue``);
            ``None`` until then. Marked once: a second sweep passes it by.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    resident_id: str = attrs.field(validator=v.identifier)
    household_id: str = attrs.field(validator=v.identifier)
    cell_code: str = attrs.field(validator=v.text(64))
    kind: TaskKind = attrs.field(validator=v.instance_of(TaskKind))
    method: ContactMethod = attrs.field(validator=v.instance_of(ContactMethod))
    start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    due: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    end: pendulum.DateTime = attrs.field(validator=[v.aware_datetime, _window])
    reason_en: str = attrs.field(validator=v.text(300))
    reason_zh: str = attrs.field(validator=v.text(300))
    rule: str = attrs.field(validator=v.text(100))
    tier: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    state: TaskState = attrs.field(default=TaskState.OPEN, validator=v.instance_of(TaskState))
    closed_by: str = attrs.field(default="", validator=v.text(200, allow_empty=True))
    overdue_at: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    @property
    def awaits_overdue_mark(self) -> bool:
        """Return whether the overdue sweep has yet to look at this task: open, not marked."""
        return self.state is TaskState.OPEN and self.overdue_at is None

    def status(self, now: pendulum.DateTime) -> TaskStatus:
        """Return the task's status at ``now``."""
        if self.state is TaskState.DONE:
            return TaskStatus.DONE
        if self.state is TaskState.CANCELLED:
            return TaskStatus.CANCELLED
        if now < self.start:
            return TaskStatus.UPCOMING
        return TaskStatus.DUE if now <= self.due else TaskStatus.OVERDUE

    def done(self, contact_id: str) -> CareTask:
        """Return the task closed by the contact ``contact_id``."""
        return self._closed(TaskState.DONE, contact_id)

    def marked_overdue(self, at: pendulum.DateTime) -> CareTask:
        """Return the open task marked overdue by the sweep at ``at``.

        Raises:
            ValidationError: On ``at`` if the task is not overdue at that instant, or is marked.
        """
        if self.status(at) is not TaskStatus.OVERDUE or self.overdue_at is not None:
            raise ValidationError("at", "only an open task past its due instant, once")
        return attrs.evolve(self, overdue_at=at)

    def cancelled(self, why: str) -> CareTask:
        """Return the task cancelled, with the reason."""
        return self._closed(TaskState.CANCELLED, why)

    def _closed(self, state: TaskState, closed_by: str) -> CareTask:
        """Return a copy in ``state``, closed by ``closed_by``.

        Closing is what replaying a contact history does most (every contact closes the tasks it
        fulfils), so only ``closed_by`` is checked: the other fields were checked when this task
        was made and do not change, and ``attrs.evolve`` would run every field's validator again.
        """
        field = _CLOSED_BY
        assert field.validator is not None
        field.validator(self, field, closed_by)
        task = object.__new__(type(self))
        for name in _TASK_FIELDS:
            object.__setattr__(task, name, getattr(self, name))
        object.__setattr__(task, "state", state)
        object.__setattr__(task, "closed_by", closed_by)
        return task


_TASK_FIELDS = tuple(f.name for f in attrs.fields(CareTask))
_CLOSED_BY = attrs.fields(CareTask).closed_by
