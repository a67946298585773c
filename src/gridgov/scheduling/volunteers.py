"""Volunteer shifts (志愿服务) with required counts and skills, sign-ups and credited hours."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.errors import ValidationError

__all__ = ["Shift", "SignUp", "SignUpState"]


def _required(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000:
        raise ValidationError(attribute.name, "expected 1 to 10000 volunteers")


def _skills(value: Iterable[str]) -> frozenset[str]:
    return v.to_frozenset(value)


def _after_start(inst: Any, _attr: attrs.Attribute[Any], value: pendulum.DateTime) -> None:
    if value <= inst.start:
        raise ValidationError("end", "a shift ends after it starts")


@attrs.frozen
class Shift:
    """A volunteer shift: when, where, how many volunteers with which skills.

    Args:
        id: The shift's key.
        venue_id: Where it happens (a venue, or the community's own for outdoor work).
        title: What is done, e.g. ``"社区卫生清扫"``.
        start: When it starts.
        end: When it ends.
        required: How many volunteers it needs.
        skills: Skills every volunteer of the shift must have, e.g. ``{"first_aid"}``.
        occurrence_id: The activity occurrence it serves, if any.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    venue_id: str = attrs.field(validator=v.identifier)
    title: str = attrs.field(validator=v.text(200))
    start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    end: pendulum.DateTime = attrs.field(validator=[v.aware_datetime, _after_start])
    required: int = attrs.field(validator=_required)
    skills: frozenset[str] = attrs.field(
        default=frozenset(), converter=_skills, validator=v.collection_of(str)
    )
    occurrence_id: str | None = attrs.field(default=None, validator=v.optional(v.text(100)))
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    @property
    def hours(self) -> float:
        """Return the shift's length in hours."""
        return (self.end - self.start).total_seconds() / 3600


class SignUpState(enum.Enum):
    """Where a volunteer's sign-up stands."""

    SIGNED_UP = "signed_up"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "signed_up": "已报名",
            "cancelled": "已取消",
            "completed": "已完成",
            "no_show": "未到",
        }[self.value]


@attrs.frozen(repr=False)
class SignUp:
    """A resident volunteering for a shift.

    Args:
        id: The sign-up's key.
        shift_id: The shift.
        resident_id: The volunteer.
        start: The shift's start (copied, for overlap checks).
        end: The shift's end.
        state: Signed up, cancelled, completed or no-show.
        at: When they signed up.
        hours: The hours credited once completed.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    shift_id: str = attrs.field(validator=v.identifier)
    resident_id: str = attrs.field(validator=v.identifier)
    start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    end: pendulum.DateTime = attrs.field(validator=[v.aware_datetime, _after_start])
    state: SignUpState = attrs.field(validator=v.instance_of(SignUpState))
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    hours: float = attrs.field(default=0.0, validator=v.instance_of((float, int)))
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    def __repr__(self) -> str:
        return (
            f"SignUp(id={self.id!r}, shift_id={self.shift_id!r}, "
            f"resident_id={self.resident_id!r}, state={self.state.value!r})"
        )
