"""The case (事件/诉求): what was reported, where, by whom, state, owner, deadlines, history."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov._levels import GridLevel
from gridgov.cases.catalogue import Stage, TimeLimit
from gridgov.codes import PhoneNumber, as_optional_phone, mask_name
from gridgov.errors import ValidationError

__all__ = [
    "ACTIVE_STATES",
    "CLOSING_ACTIONS",
    "PAUSED_STATES",
    "Case",
    "CaseSource",
    "CaseState",
    "Deadline",
    "DeadlineChange",
    "HistoryEntry",
    "Location",
    "Reporter",
    "Satisfaction",
    "Urgency",
]


class CaseSource(enum.Enum):
    """How a case reached the platform."""

    PATROL = "patrol"
    WALK_IN = "walk_in"
    HOTLINE_12345 = "hotline_12345"
    PROXY_SERVICE = "proxy_service"
    ONLINE = "online"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "patrol": "网格员巡查",
            "walk_in": "居民来访",
            "hotline_12345": "12345热线",
            "proxy_service": "代办服务",
            "online": "网上反映",
        }[self.value]


class Urgency(enum.Enum):
    """How urgent the reporter or the registrar judged the case."""

    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {"normal": "一般", "urgent": "紧急", "emergency": "特急"}[self.value]


class CaseState(enum.Enum):
    """Where a case is in the closed loop (闭环)."""

    REPORTED = "reported"
    REGISTERED = "registered"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    IN_PROGRESS = "in_progress"
    WAITING_ON_RESIDENT = "waiting_on_resident"
    EXTENSION_REQUESTED = "extension_requested"
    PARKED = "parked"
    HANDLED = "handled"
    VERIFIED = "verified"
    CLOSED = "closed"
    EVALUATED = "evaluated"
    REOPENED = "reopened"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _STATE_ZH[self]

    @property
    def is_open(self) -> bool:
        """Return whether the case still needs work (not rejected, closed or evaluated)."""
        return self not in (CaseState.REJECTED, CaseState.CLOSED, CaseState.EVALUATED)

    @property
    def stage(self) -> Stage | None:
        """Return the stage whose time limit runs in this state, if any."""
        return _STAGE_OF.get(self)


_STATE_ZH = {
    CaseState.REPORTED: "上报",
    CaseState.REGISTERED: "立案",
    CaseState.REJECTED: "不予受理",
    CaseState.DISPATCHED: "派遣",
    CaseState.RETURNED: "退回",
    CaseState.IN_PROGRESS: "处置中",
    CaseState.WAITING_ON_RESIDENT: "待居民补正",
    CaseState.EXTENSION_REQUESTED: "申请延期",
    CaseState.PARKED: "挂账",
    CaseState.HANDLED: "处置完毕",
    CaseState.VERIFIED: "核查通过",
    CaseState.CLOSED: "结案",
    CaseState.EVALUATED: "已评价",
    CaseState.REOPENED: "重新办理",
}
_STAGE_OF = {
    CaseState.REPORTED: Stage.REGISTRATION,
    CaseState.REGISTERED: Stage.DISPATCH,
    CaseState.RETURNED: Stage.DISPATCH,
    CaseState.REOPENED: Stage.DISPATCH,
    CaseState.DISPATCHED: Stage.HANDLING,
    CaseState.IN_PROGRESS: Stage.HANDLING,
    CaseState.WAITING_ON_RESIDENT: Stage.HANDLING,
    CaseState.EXTENSION_REQUESTED: Stage.HANDLING,
    CaseState.PARKED: Stage.HANDLING,
    CaseState.HANDLED: Stage.VERIFICATION,
}
#: States in which the owner is expected to work the case (escalation applies).
ACTIVE_STATES = frozenset(
    {
        CaseState.REPORTED,
        CaseState.REGISTERED,
        CaseState.DISPATCHED,
        CaseState.RETURNED,
        CaseState.IN_PROGRESS,
        CaseState.EXTENSION_REQUESTED,
        CaseState.HANDLED,
        CaseState.REOPENED,
    }
)
#: The history actions that close a case: closing it, or closing it as a duplicate.
CLOSING_ACTIONS = frozenset({"close", "merge", "mark_duplicate"})
#: States in which the SLA clock stands still.
PAUSED_STATES = frozenset({CaseState.WAITING_ON_RESIDENT, CaseState.PARKED})


class Satisfaction(enum.Enum):
    """The outcome of the call-back (回访): the reporter's verdict, or that none was reached.

    ``UNREACHABLE`` (无法联系) is a call-back made that reached no one: it counts in no
    satisfaction rate, neither above nor below the line.
    """

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    UNREACHABLE = "unreachable"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "satisfied": "满意",
            "basically_satisfied": "基本满意",
            "dissatisfied": "不满意",
            "unreachable": "无法联系",
        }[self.value]

    @property
    def reached(self) -> bool:
        """Return whether the call-back reached the reporter (a verdict was given)."""
        return self is not Satisfaction.UNREACHABLE


def _point(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
        or not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90)
    ):
        raise ValidationError(attribute.name, "expected (longitude, latitude) in degrees")


def _to_point(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


@attrs.frozen(repr=False)
class Location:
    """Where a case is: a cell, optionally an address and a point.

    Args:
        cell_code: The grid or building cell the case lies in.
        address: The address as reported; may identify a household, so never shown in ``repr``.
        point: ``(longitude, latitude)`` in WGS 84 degrees, if known.
    """

    cell_code: str = attrs.field(validator=v.text(64))
    address: str = attrs.field(default="", validator=v.text(300, allow_empty=True))
    point: tuple[float, float] | None = attrs.field(
        default=None, converter=_to_point, validator=_point
    )

    def __repr__(self) -> str:
        return f"Location(cell_code={self.cell_code!r})"


@attrs.frozen(repr=False)
class Reporter:
    """Who reported a case. Shown masked everywhere.

    Args:
        name: The reporter's name (may be empty for anonymous reports).
        phone: A call-back number, if given.
        resident_id: The reporter's resident id, if they are in the ledger.
        worker_id: The reporting worker, for patrol reports.
    """

    name: str = attrs.field(default="", validator=v.text(50, allow_empty=True))
    phone: PhoneNumber | None = attrs.field(
        default=None, converter=as_optional_phone, validator=v.optional(v.instance_of(PhoneNumber))
    )
    resident_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    worker_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))

    @property
    def masked_name(self) -> str:
        """Return the name masked, e.g. ``"王*"``."""
        return mask_name(self.name) if self.name else ""

    def __repr__(self) -> str:
        phone = f", phone={self.phone.masked!r}" if self.phone else ""
        return f"Reporter(name={self.masked_name!r}{phone})"


def _change_kind(inst: DeadlineChange, _attr: attrs.Attribute[Any], _value: object) -> None:
    if (inst.resumed_at is None) == (inst.extension is None):
        raise ValidationError("extension", "a change is a pause (resumed_at) or an extension")
    if inst.resumed_at is not None and inst.resumed_at < inst.at:
        raise ValidationError("resumed_at", "a pause ends after it starts")


@attrs.frozen
class DeadlineChange:
    """A change to a deadline after it was set: a pause that ended, or an approved extension.

    A deadline keeps its changes so that its due instant can be counted again on another
    calendar (when a provisional year's arrangement is announced) with the same result as the
    workflow reached step by step.

    Args:
        at: When the clock stopped, or when the extension was approved.
        resumed_at: For a pause, when the clock started again.
        extension: For an extension, the time added to the due instant.
    """

    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    resumed_at: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    extension: TimeLimit | None = attrs.field(
        default=None, validator=[v.optional(v.instance_of(TimeLimit)), _change_kind]
    )


def _changes(value: Iterable[DeadlineChange]) -> tuple[DeadlineChange, ...]:
    return v.to_tuple(value)


def _years(value: Iterable[int]) -> tuple[int, ...]:
    return v.to_tuple(value)


def _check_years(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(y, int) and not isinstance(y, bool) for y in value
    ):
        raise ValidationError(attribute.name, "expected a list of years")


@attrs.frozen
class Deadline:
    """A stage's time limit applied to one case: when it started, when it runs out, and why.

    Args:
        stage: The stage the limit governs.
        start: When its clock started.
        due: When it runs out (moved later by pauses and approved extensions).
        limit: The limit applied.
        rule: The rule that set it, e.g. ``"catalogue:complaint:handling"``.
        reason_en: Why, in English.
        reason_zh: Why, in Chinese.
        met_at: When the stage was completed, if it was.
        paused_at: When the clock was stopped, while it is.
        changes: The pauses that ended and the extensions approved, in order.
        provisional_years: The years whose holidays were counted by the statutory rule, not
            an announcement, to reach ``due``: the due instant may move once they are announced
            (:func:`gridgov.services.retime.retime`). Empty for a final deadline.
    """

    stage: Stage = attrs.field(validator=v.instance_of(Stage))
    start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    due: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    limit: TimeLimit = attrs.field(validator=v.instance_of(TimeLimit))
    rule: str = attrs.field(validator=v.text(100))
    reason_en: str = attrs.field(validator=v.text(300))
    reason_zh: str = attrs.field(validator=v.text(300))
    met_at: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    paused_at: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    changes: tuple[DeadlineChange, ...] = attrs.field(
        default=(), converter=_changes, validator=v.collection_of(DeadlineChange)
    )
    provisional_years: tuple[int, ...] = attrs.field(
        default=(), converter=_years, validator=_check_years
    )

    @property
    def provisional(self) -> bool:
        """Return whether ``due`` rests on provisional holidays and may move."""
        return bool(self.provisional_years)

    @property
    def is_running(self) -> bool:
        """Return whether the stage is neither met nor paused."""
        return self.met_at is None and self.paused_at is None

    def met_in_time(self) -> bool | None:
        """Return whether the stage was met by its due instant (``None`` while it is not met)."""
        return None if self.met_at is None else self.met_at <= self.due


@attrs.frozen
class HistoryEntry:
    """One line of a case's audit trail: a transition or an escalation.

    Args:
        action: What happened, e.g. ``"dispatch"`` or ``"raise_level"``.
        actor: Who did it: a worker or user id, or ``"system"`` for the escalation engine.
        role: The role they acted in.
        at: When.
        from_state: The state before.
        to_state: The state after.
        note: Free text (the handling notes, the reason for a rejection...).
        owner_cell: The owning unit after the entry.
        owner_worker: The owning worker after the entry, if any.
        rule: The rule that caused it, for escalations.
        owner_department: The functional department handling the case after the entry, if
            any (absent from entries written before departments existed).
    """

    action: str = attrs.field(validator=v.identifier)
    actor: str = attrs.field(validator=v.identifier)
    role: str = attrs.field(validator=v.identifier)
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    from_state: CaseState = attrs.field(validator=v.instance_of(CaseState))
    to_state: CaseState = attrs.field(validator=v.instance_of(CaseState))
    note: str = attrs.field(default="", validator=v.text(2000, allow_empty=True))
    owner_cell: str = attrs.field(default="", validator=v.text(64, allow_empty=True))
    owner_worker: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    rule: str = attrs.field(default="", validator=v.text(100, allow_empty=True))
    owner_department: str | None = attrs.field(default=None, validator=v.optional(v.identifier))


def _deadlines(value: Iterable[Deadline]) -> tuple[Deadline, ...]:
    return v.to_tuple(value)


def _history(value: Iterable[HistoryEntry]) -> tuple[HistoryEntry, ...]:
    return v.to_tuple(value)


def _fired(value: Iterable[str]) -> frozenset[str]:
    return v.to_frozenset(value)


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return v.to_tuple(value)


def _level(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, GridLevel) or value is GridLevel.BUILDING:
        raise ValidationError(attribute.name, "expected a level from grid up to district")


@attrs.frozen(repr=False)
class Case:
    """A case of the closed-loop workflow.

    Change a case through :class:`~gridgov.cases.workflow.CaseWorkflow`, which checks the
    transition and the actor's role, keeps the deadlines and appends to the history.

    Args:
        id: The case's key.
        category: Its service-catalogue category code.
        source: How it was reported.
        location: Where it is.
        reporter: Who reported it.
        description: What was reported; may hold personal data, so never shown in ``repr``.
        urgency: How urgent it is.
        state: Its state.
        owner_cell: The unit that owns it: the cell whose team must act.
        owner_level: That cell's level.
        owner_worker: The worker it is assigned to, if any.
        reported_at: When it was received; handling limits count from here.
        deadlines: Every stage limit applied, oldest first; the running one is last of its stage.
        history: The append-only audit trail.
        satisfaction: The call-back's outcome, once evaluated.
        external_id: Its id in another system (the 12345 ticket, an Open311 request id).
        requested_extension: The extra time asked for, while an extension request is pending.
        level_since: When it reached its owner's level (escalation counts from here).
        next_check: When the escalation engine must next look at it; ``None`` when nothing is
            scheduled. Maintained by the workflow, indexed by every store.
        next_check_provisional_years: The provisional years (see :class:`Deadline`) that
            ``next_check`` rests on; empty when it is final.
        fired: The escalation firings already done (keeps sweeps idempotent).
        owner_department: The functional department it was dispatched to
            (:mod:`gridgov.cases.departments`), if any; ``None`` in cases stored before
            departments existed.
        component_id: The component (部件, :mod:`gridgov.cases.components`) it is about, if any.
        possible_duplicates: The cases it was flagged as a possible duplicate of when it was
            reported (:mod:`gridgov.cases.duplicates`), oldest first.
        duplicate_of: The case it was merged into or marked a duplicate of (it is then closed
            and counted by no indicator but the duplicates'), if any.
        duplicates: The cases merged into it or marked duplicates of it, in order.
        callback_due: When the call-back (回访) of the reporter is due: set when the case is
            closed (:attr:`~gridgov.cases.workflow.CaseWorkflow.callback_within` later); kept
            after the call-back as a record. ``None`` before the first closing, and in cases
            closed before call-backs were planned.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    category: str = attrs.field(validator=v.identifier)
    source: CaseSource = attrs.field(validator=v.instance_of(CaseSource))
    location: Location = attrs.field(validator=v.instance_of(Location))
    reporter: Reporter = attrs.field(validator=v.instance_of(Reporter))
    description: str = attrs.field(validator=v.text(4000))
    urgency: Urgency = attrs.field(validator=v.instance_of(Urgency))
    state: CaseState = attrs.field(validator=v.instance_of(CaseState))
    owner_cell: str = attrs.field(validator=v.text(64))
    owner_level: GridLevel = attrs.field(validator=_level)
    reported_at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    owner_worker: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    deadlines: tuple[Deadline, ...] = attrs.field(
        default=(), converter=_deadlines, validator=v.collection_of(Deadline)
    )
    history: tuple[HistoryEntry, ...] = attrs.field(
        default=(), converter=_history, validator=v.collection_of(HistoryEntry)
    )
    satisfaction: Satisfaction | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(Satisfaction))
    )
    external_id: str | None = attrs.field(default=None, validator=v.optional(v.text(100)))
    requested_extension: TimeLimit | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(TimeLimit))
    )
    level_since: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    next_check: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    next_check_provisional_years: tuple[int, ...] = attrs.field(
        default=(), converter=_years, validator=_check_years
    )
    fired: frozenset[str] = attrs.field(
        default=frozenset(), converter=_fired, validator=v.collection_of(str)
    )
    owner_department: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    component_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    possible_duplicates: tuple[str, ...] = attrs.field(
        default=(), converter=_ids, validator=v.collection_of(str)
    )
    duplicate_of: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    duplicates: tuple[str, ...] = attrs.field(
        default=(), converter=_ids, validator=v.collection_of(str)
    )
    callback_due: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    @property
    def is_duplicate(self) -> bool:
        """Return whether it was closed as a duplicate of another case (merged or marked)."""
        return self.duplicate_of is not None

    @property
    def callback_pending(self) -> bool:
        """Return whether the case is closed and its call-back not yet recorded."""
        return self.state is CaseState.CLOSED and self.callback_due is not None

    @property
    def cell_code(self) -> str:
        """Return the cell the case lies in."""
        return self.location.cell_code

    @property
    def is_open(self) -> bool:
        """Return whether the case still needs work."""
        return self.state.is_open

    def deadline(self, stage: Stage) -> Deadline | None:
        """Return the latest deadline applied for ``stage``, if any."""
        for d in reversed(self.deadlines):
            if d.stage is stage:
                return d
        return None

    @property
    def current_deadline(self) -> Deadline | None:
        """Return the deadline running (or paused) in the current state, if any."""
        stage = self.state.stage
        if stage is None:
            return None
        d = self.deadline(stage)
        return d if d is not None and d.met_at is None else None

    @property
    def closed_at(self) -> pendulum.DateTime | None:
        """Return when the case was last closed, if it is closed."""
        if self.state not in (CaseState.CLOSED, CaseState.EVALUATED):
            return None
        return next((h.at for h in reversed(self.history) if h.action in CLOSING_ACTIONS), None)

    def __repr__(self) -> str:
        return (
            f"Case(id={self.id!r}, category={self.category!r}, state={self.state.value!r}, "
            f"owner_cell={self.owner_cell!r}, owner_level={self.owner_level.value!r}, "
            f"reported_at={self.reported_at.isoformat()!r})"
        )
