"""Registrations (报名) for occurrences: confirmed within capacity, else on the waitlist."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.errors import ValidationError

__all__ = ["ACTIVE_REGISTRATION", "TAKES_PLACE", "Occupancy", "Registration", "RegistrationState"]


class RegistrationState(enum.Enum):
    """Where a registration stands."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "confirmed": "已报名",
            "waitlisted": "候补",
            "cancelled": "已取消",
            "attended": "已参加",
            "no_show": "未到",
        }[self.value]


#: States that hold a place or a waitlist position (and block overlapping registrations).
ACTIVE_REGISTRATION = frozenset({RegistrationState.CONFIRMED, RegistrationState.WAITLISTED})

#: States that take one of an occurrence's places.
TAKES_PLACE = frozenset({RegistrationState.CONFIRMED, RegistrationState.ATTENDED})


def _after_start(inst: Registration, _attr: attrs.Attribute[Any], value: pendulum.DateTime) -> None:
    if value <= inst.start:
        raise ValidationError("end", "an occurrence ends after it starts")


@attrs.frozen(repr=False)
class Registration:
    """A resident's registration for one occurrence of a series.

    Args:
        id: The registration's key.
        series_id: The series.
        occurrence_id: The occurrence (stable id: series id and original start).
        venue_id: The venue.
        resident_id: Who registered.
        household_id: Their household.
        cell_code: Their household's cell, for scoped queries.
        start: When the occurrence starts.
        end: When it ends.
        state: Confirmed, waitlisted, cancelled, attended or no-show.
        registered_at: When they registered: the waitlist's order.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    series_id: str = attrs.field(validator=v.identifier)
    # Occurrence ids hold an ``@`` and may be longer than a record key.
    occurrence_id: str = attrs.field(validator=v.text(100))
    venue_id: str = attrs.field(validator=v.identifier)
    resident_id: str = attrs.field(validator=v.identifier)
    household_id: str = attrs.field(validator=v.identifier)
    cell_code: str = attrs.field(validator=v.text(64))
    start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    end: pendulum.DateTime = attrs.field(validator=[v.aware_datetime, _after_start])
    state: RegistrationState = attrs.field(validator=v.instance_of(RegistrationState))
    registered_at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    @property
    def is_active(self) -> bool:
        """Return whether it holds a place or a waitlist position."""
        return self.state in ACTIVE_REGISTRATION

    def __repr__(self) -> str:
        return (
            f"Registration(id={self.id!r}, occurrence_id={self.occurrence_id!r}, "
            f"resident_id={self.resident_id!r}, state={self.state.value!r})"
        )


@attrs.frozen
class Occupancy:
    """How full one occurrence is, counted over every registration whoever may see them.

    A scope narrows what a principal sees, never what a rule counts: the places left and the
    waitlist are the same for a grid worker and for the venue's manager.

    Args:
        taken: Places taken (confirmed or attended registrations).
        waiting: Registrations on the waitlist.
    """

    taken: int
    waiting: int

    @classmethod
    def of(cls, registrations: Iterable[Registration]) -> Occupancy:
        """Count the places taken and the waitlist among ``registrations``."""
        taken = waiting = 0
        for r in registrations:
            if r.state in TAKES_PLACE:
                taken += 1
            elif r.state is RegistrationState.WAITLISTED:
                waiting += 1
        return cls(taken, waiting)
