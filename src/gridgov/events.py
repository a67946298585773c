"""Domain events that embedding systems subscribe to: a case reported, escalated, overdue ...

Events are frozen values. The services publish them to an :data:`EventSink` only after the
unit of work that produced them has committed, so a subscriber never hears of a change that was
rolled back.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pendulum

from gridgov._levels import GridLevel

__all__ = [
    "CaseEscalated",
    "CaseEvent",
    "CaseReassigned",
    "CaseReminded",
    "CaseReported",
    "CaseStateChanged",
    "DeadlineMissed",
    "Event",
    "EventSink",
    "Recorder",
]


@attrs.frozen
class CaseEvent:
    """Something that happened to a case.

    Args:
        case_id: The case.
        cell_code: The cell the case lies in.
        at: When it happened.
    """

    case_id: str
    cell_code: str
    at: pendulum.DateTime


@attrs.frozen
class CaseReported(CaseEvent):
    """A case was received."""

    category: str


@attrs.frozen
class CaseStateChanged(CaseEvent):
    """A case moved through its workflow."""

    action: str
    from_state: str
    to_state: str
    actor: str


@attrs.frozen
class DeadlineMissed(CaseEvent):
    """A stage's time limit ran out before the stage was done."""

    stage: str
    due: pendulum.DateTime


@attrs.frozen
class CaseReminded(CaseEvent):
    """The owner was reminded (提醒), formally reminded (催办) or put under supervision (督办)."""

    kind: str
    owner_cell: str
    owner_worker: str | None
    copied_to: str | None
    rule: str


@attrs.frozen
class CaseEscalated(CaseEvent):
    """A case was raised one level up the grid hierarchy."""

    from_cell: str
    to_cell: str
    from_level: GridLevel
    to_level: GridLevel
    rule: str


@attrs.frozen
class CaseReassigned(CaseEvent):
    """A case was given to another worker of its owning unit."""

    from_worker: str | None
    to_worker: str | None
    rule: str


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
