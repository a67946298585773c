"""Domain events that embedding systems subscribe to: a case escalated, a family to notify ...

Events are frozen values that name records by reference only (ids and cell codes, never a name,
a phone or an ID number), so a consumer of any role may read them. Every writing service records
the events of its change in the store's outbox, in the same unit of work (:mod:`gridgov.outbox`),
from which a relay publishes them; a rolled-back change leaves no event. Case services also
return their events, which :func:`gridgov.services.cases.publish` hands to in-process
:data:`EventSink` subscribers after the commit.

Each event class names its CloudEvents ``type`` (``TYPE``), the kind of record its sequence
follows (``AGGREGATE``) and the field holding that record's key (``KEY``), which
:attr:`DomainEvent.aggregate_id` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import attrs
import pendulum

from gridgov._levels import GridLevel

__all__ = [
    "CallbackDue",
    "CallbackRecorded",
    "CareEvent",
    "CaseEscalated",
    "CaseEvent",
    "CaseMarkedDuplicate",
    "CaseReassigned",
    "CaseReminded",
    "CaseReported",
    "CaseStateChanged",
    "CellOpened",
    "CellRetired",
    "ContactRecorded",
    "DeadlineMissed",
    "DomainEvent",
    "Event",
    "EventSink",
    "FamilyToNotify",
    "FollowUpDue",
    "GridEvent",
    "HouseholdMoved",
    "NotificationDelivered",
    "NotificationEvent",
    "NotificationFailed",
    "OccurrenceCancelled",
    "OccurrenceMoved",
    "Promoted",
    "Recorder",
    "Registered",
    "RegistrationCancelled",
    "RegistrationEvent",
    "SchedulingEvent",
    "ShiftShort",
    "TaskCancelled",
    "TaskDone",
    "TaskEvent",
    "TaskOverdue",
    "TaskPlanned",
    "Waitlisted",
]


class DomainEvent:
    """What every event says: where and when, its type, and the record whose story it tells.

    Subclasses are attrs classes with ``cell_code`` and ``at`` fields.
    """

    TYPE: ClassVar[str]
    """The event type, e.g. ``"case.escalated"`` (CloudEvents ``type``: ``gridgov.`` + this)."""
    AGGREGATE: ClassVar[str]
    """The kind of record whose events are numbered in one sequence, e.g. ``"case"``."""
    KEY: ClassVar[str]
    """The field that holds that record's key, e.g. ``"case_id"``."""
    cell_code: str
    at: pendulum.DateTime

    @property
    def aggregate_id(self) -> str:
        """Return the key of the record the event is about (the field ``KEY`` names)."""
        key: str = getattr(self, self.KEY)
        return key


@attrs.frozen
class CaseEvent(DomainEvent):
    """Something that happened to a case.

    Args:
        case_id: The case.
        cell_code: The cell the case lies in.
        at: When it happened.
    """

    TYPE: ClassVar[str] = "case.changed"
    AGGREGATE: ClassVar[str] = "case"
    KEY: ClassVar[str] = "case_id"

    case_id: str
    cell_code: str
    at: pendulum.DateTime


@attrs.frozen
class CaseReported(CaseEvent):
    """A case was received."""

    TYPE: ClassVar[str] = "case.reported"

    category: str


@attrs.frozen
class CaseStateChanged(CaseEvent):
    """A case moved through its workflow."""

    TYPE: ClassVar[str] = "case.state_changed"

    action: str
    from_state: str
    to_state: str
    actor: str


@attrs.frozen
class DeadlineMissed(CaseEvent):
    """A stage's time limit ran out before the stage was done."""

    TYPE: ClassVar[str] = "case.deadline_missed"

    stage: str
    due: pendulum.DateTime


@attrs.frozen
class CaseReminded(CaseEvent):
    """The owner was reminded (提醒), formally reminded (催办) or put under supervision (督办)."""

    TYPE: ClassVar[str] = "case.reminded"

    kind: str
    owner_cell: str
    owner_worker: str | None
    copied_to: str | None
    rule: str


@attrs.frozen
class CaseEscalated(CaseEvent):
    """A case was raised one level up the grid hierarchy."""

    TYPE: ClassVar[str] = "case.escalated"

    from_cell: str
    to_cell: str
    from_level: GridLevel
    to_level: GridLevel
    rule: str


@attrs.frozen
class CaseReassigned(CaseEvent):
    """A case was given to another worker of its owning unit."""

    TYPE: ClassVar[str] = "case.reassigned"

    from_worker: str | None
    to_worker: str | None
    rule: str


@attrs.frozen
class CaseMarkedDuplicate(CaseEvent):
    """A case was merged into another (``merged``) or closed as a duplicate of it.

    ``reporter_reachable`` says whether its reporter left a way to be told (a phone, or a
    resident id in the ledger): the notification policy tells the reporter only then, and
    otherwise this event is the record that the reporter could not be told.
    """

    TYPE: ClassVar[str] = "case.duplicate"

    duplicate_of: str
    merged: bool
    reporter_reachable: bool


@attrs.frozen
class CallbackDue(CaseEvent):
    """A case was closed: its reporter is to be called back (回访) by ``due``."""

    TYPE: ClassVar[str] = "case.callback_due"

    category: str
    due: pendulum.DateTime


@attrs.frozen
class CallbackRecorded(CaseEvent):
    """The call-back's outcome was recorded: a verdict, or ``unreachable``."""

    TYPE: ClassVar[str] = "case.callback_recorded"

    category: str
    outcome: str
    actor: str


# -- care -----------------------------------------------------------------------------------


@attrs.frozen
class CareEvent(DomainEvent):
    """Something that happened in an elder's care.

    Args:
        resident_id: Who it concerns (a reference: the ledger holds the person).
        cell_code: Their household's cell.
        at: When it happened.
    """

    resident_id: str
    cell_code: str
    at: pendulum.DateTime


@attrs.frozen
class ContactRecorded(CareEvent):
    """A contact attempt was recorded (a call, a visit), whatever its outcome."""

    TYPE: ClassVar[str] = "care.contact_recorded"
    AGGREGATE: ClassVar[str] = "contact"
    KEY: ClassVar[str] = "contact_id"

    contact_id: str
    method: str
    outcome: str
    by: str


@attrs.frozen
class TaskEvent(CareEvent):
    """Something that happened to a care task.

    Args:
        task_id: The task.
        kind: Routine, follow-up or notifying the emergency contact.
        due: By when it should be done.
        rule: The rule that created it.
        reason: Why it was closed or cancelled, or why it exists.
    """

    TYPE: ClassVar[str] = "care.task_changed"
    AGGREGATE: ClassVar[str] = "care_task"
    KEY: ClassVar[str] = "task_id"

    task_id: str
    kind: str
    due: pendulum.DateTime
    rule: str
    reason: str = ""


@attrs.frozen
class TaskPlanned(TaskEvent):
    """A routine contact was planned."""

    TYPE: ClassVar[str] = "care.task_planned"


@attrs.frozen
class FollowUpDue(TaskEvent):
    """A follow-up is owed (two missed calls: a visit within two hours)."""

    TYPE: ClassVar[str] = "care.follow_up_due"


@attrs.frozen
class FamilyToNotify(TaskEvent):
    """The emergency contact (the family) must be told."""

    TYPE: ClassVar[str] = "care.family_to_notify"


@attrs.frozen
class TaskDone(TaskEvent):
    """A task was done: the contact that did it is ``reason``."""

    TYPE: ClassVar[str] = "care.task_done"


@attrs.frozen
class TaskOverdue(TaskEvent):
    """An open task passed its due instant undone (逾期): ``at`` is the sweep that saw it.

    Recorded once per task by :func:`gridgov.services.overdue.sweep_overdue`.
    """

    TYPE: ClassVar[str] = "care.task_overdue"


@attrs.frozen
class TaskCancelled(TaskEvent):
    """A task was cancelled, for ``reason``."""

    TYPE: ClassVar[str] = "care.task_cancelled"


# -- scheduling -----------------------------------------------------------------------------


@attrs.frozen
class SchedulingEvent(DomainEvent):
    """Something that happened to an activity, a booking or a shift.

    Args:
        cell_code: The cell of the household (bookings) or of the venue (occurrences, shifts).
        at: When it happened.
    """

    cell_code: str
    at: pendulum.DateTime


@attrs.frozen
class RegistrationEvent(SchedulingEvent):
    """Something that happened to a registration.

    Args:
        registration_id: The registration.
        resident_id: Who registered (a reference).
        occurrence_id: The occurrence booked.
        start: When it starts.
        reason: Why, for a cancellation or a waitlisting by a change of the series.
    """

    TYPE: ClassVar[str] = "scheduling.registration_changed"
    AGGREGATE: ClassVar[str] = "registration"
    KEY: ClassVar[str] = "registration_id"

    registration_id: str
    resident_id: str
    occurrence_id: str
    start: pendulum.DateTime
    reason: str = ""


@attrs.frozen
class Registered(RegistrationEvent):
    """A place was confirmed."""

    TYPE: ClassVar[str] = "scheduling.registered"


@attrs.frozen
class Waitlisted(RegistrationEvent):
    """The occurrence was full: the resident waits for a place."""

    TYPE: ClassVar[str] = "scheduling.waitlisted"


@attrs.frozen
class Promoted(RegistrationEvent):
    """A waitlisted resident got a place: tell them."""

    TYPE: ClassVar[str] = "scheduling.promoted"


@attrs.frozen
class RegistrationCancelled(RegistrationEvent):
    """A registration was cancelled (by the resident, or with its occurrence: ``reason``)."""

    TYPE: ClassVar[str] = "scheduling.registration_cancelled"


@attrs.frozen
class OccurrenceMoved(SchedulingEvent):
    """One occurrence of a series moved.

    Args:
        series_id: The series.
        occurrence_id: The occurrence (its stable id).
        start: Its new start.
        previous_start: Its start before.
    """

    TYPE: ClassVar[str] = "scheduling.occurrence_moved"
    AGGREGATE: ClassVar[str] = "series"
    KEY: ClassVar[str] = "series_id"

    series_id: str
    occurrence_id: str
    start: pendulum.DateTime
    previous_start: pendulum.DateTime


@attrs.frozen
class OccurrenceCancelled(SchedulingEvent):
    """One occurrence of a series was cancelled.

    Args:
        series_id: The series.
        occurrence_id: The occurrence (its stable id).
        start: When it would have started.
    """

    TYPE: ClassVar[str] = "scheduling.occurrence_cancelled"
    AGGREGATE: ClassVar[str] = "series"
    KEY: ClassVar[str] = "series_id"

    series_id: str
    occurrence_id: str
    start: pendulum.DateTime


@attrs.frozen
class ShiftShort(SchedulingEvent):
    """A volunteer shift about to start has fewer volunteers than it needs.

    Args:
        shift_id: The shift.
        venue_id: Where it happens.
        start: When it starts.
        required: How many volunteers it needs.
        signed_up: How many are signed up.
    """

    TYPE: ClassVar[str] = "scheduling.shift_short"
    AGGREGATE: ClassVar[str] = "shift"
    KEY: ClassVar[str] = "shift_id"

    shift_id: str
    venue_id: str
    start: pendulum.DateTime
    required: int
    signed_up: int


# -- notifications --------------------------------------------------------------------------


@attrs.frozen
class GridEvent(DomainEvent):
    """Something that happened to a cell of the area hierarchy.

    Args:
        cell_code: The cell.
        at: When the change was recorded.
        change: What changed it: ``"split"``, ``"merge"`` or ``"retire"``.
    """

    TYPE: ClassVar[str] = "grid.changed"
    AGGREGATE: ClassVar[str] = "cell"
    KEY: ClassVar[str] = "cell_code"

    cell_code: str
    at: pendulum.DateTime
    change: str


@attrs.frozen
class CellRetired(GridEvent):
    """A cell was retired: it stays stored, with its history, but no longer exists from a day.

    Args:
        valid_to: Its last day.
        successors: The cells that took over its households and open work, by code.
    """

    TYPE: ClassVar[str] = "grid.cell_retired"

    valid_to: pendulum.Date
    successors: tuple[str, ...]


@attrs.frozen
class CellOpened(GridEvent):
    """A cell was created by a split or a merge.

    Args:
        valid_from: Its first day.
        predecessors: The cells it took over from, by code.
    """

    TYPE: ClassVar[str] = "grid.cell_opened"

    valid_from: pendulum.Date
    predecessors: tuple[str, ...]


@attrs.frozen
class HouseholdMoved(DomainEvent):
    """A household was re-homed to another cell by a change of the grid, with its open work.

    Args:
        household_id: The household.
        cell_code: Its new cell.
        at: When.
        from_cell: Its cell before.
    """

    TYPE: ClassVar[str] = "ledger.household_moved"
    AGGREGATE: ClassVar[str] = "household"
    KEY: ClassVar[str] = "household_id"

    household_id: str
    cell_code: str
    at: pendulum.DateTime
    from_cell: str


@attrs.frozen
class NotificationEvent(DomainEvent):
    """What came of a notification (:mod:`gridgov.notify`): the proof a message went out.

    Args:
        notification_id: The notification.
        cell_code: The cell of the event it told of.
        at: When it was delivered, or given up.
        audience: Who it was for: ``family``, ``resident``, ``worker`` or ``supervisor``.
        about: The type of the event it told of, e.g. ``"care.family_to_notify"``.
        messages: How many messages were sent.
        detail: The last attempt's words (a receipt's code), without personal data.
    """

    AGGREGATE: ClassVar[str] = "notification"
    KEY: ClassVar[str] = "notification_id"

    notification_id: str
    cell_code: str
    at: pendulum.DateTime
    audience: str
    about: str
    messages: int
    detail: str = ""


@attrs.frozen
class NotificationDelivered(NotificationEvent):
    """The recipient has the message: its receipt came (or the transport delivered it)."""

    TYPE: ClassVar[str] = "notification.delivered"


@attrs.frozen
class NotificationFailed(NotificationEvent):
    """Every attempt failed: the grid worker is told instead."""

    TYPE: ClassVar[str] = "notification.failed"


Event = CaseEvent
#: A subscriber: called once per event, after the change committed.
EventSink = Callable[[Event], None]


class Recorder:
    """An :data:`EventSink` that keeps what it receives, for tests and simple integrations."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        """Keep ``event``."""
        self.events.append(event)

    def of_type(self, cls: type[CaseEvent]) -> list[CaseEvent]:
        """Return the events received of type ``cls``, in order."""
        return [e for e in self.events if isinstance(e, cls)]
