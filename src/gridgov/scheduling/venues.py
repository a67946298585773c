"""Venues (活动场所) with opening hours and blackouts, holding spaces with a capacity."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.calendar import WorkCalendar
from gridgov.errors import NotFoundError, ValidationError

__all__ = ["Blackout", "Space", "Venue"]


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100_000:
        raise ValidationError(attribute.name, "expected a whole number from 1 to 100000")


def _features(value: Iterable[str]) -> frozenset[str]:
    return v.to_frozenset(value)


@attrs.frozen
class Space:
    """A room or zone of a venue that activities book.

    Args:
        id: The space's key, unique within its venue.
        name: Its name, e.g. ``"绘本馆"``.
        capacity: How many people it holds.
        features: What it offers, e.g. ``{"projector", "tables"}``.
    """

    id: str = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(100))
    capacity: int = attrs.field(validator=_positive)
    features: frozenset[str] = attrs.field(
        default=frozenset(), converter=_features, validator=v.collection_of(str)
    )


@attrs.frozen
class Blackout:
    """A period a venue (or one of its spaces) cannot be booked.

    Args:
        start: When it starts (tz-aware).
        end: When it ends (after ``start``).
        reason: Why, e.g. ``"消防检查"``.
        space_id: The one space closed, or ``None`` for the whole venue.
    """

    start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    end: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    reason: str = attrs.field(default="", validator=v.text(200, allow_empty=True))
    space_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationError("end", "a blackout ends after it starts")


def _spaces(value: Iterable[Space]) -> tuple[Space, ...]:
    return v.to_tuple(value)


def _blackouts(value: Iterable[Blackout]) -> tuple[Blackout, ...]:
    return v.to_tuple(value)


def _unique_spaces(_inst: Any, attribute: attrs.Attribute[Any], value: tuple[Space, ...]) -> None:
    v.collection_of(Space)(_inst, attribute, value)
    seen: set[str] = set()
    for i, space in enumerate(value):
        if space.id in seen:
            raise ValidationError(f"{attribute.name}[{i}].id", "duplicate space id")
        seen.add(space.id)


@attrs.frozen(repr=False)
class Venue:
    """A place where activities happen: its opening hours, closures and spaces.

    Args:
        id: The venue's key.
        name: Its name, e.g. ``"明宫HUI客厅"``.
        cell_code: The cell it lies in.
        opening: Its opening hours per weekday and the days it is closed, as a working calendar
            (public holidays close it unless ``hours`` say otherwise).
        spaces: Its spaces.
        blackouts: Periods it, or one space, cannot be booked.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(100))
    cell_code: str = attrs.field(validator=v.text(64))
    opening: WorkCalendar = attrs.field(validator=v.instance_of(WorkCalendar))
    spaces: tuple[Space, ...] = attrs.field(converter=_spaces, validator=_unique_spaces)
    blackouts: tuple[Blackout, ...] = attrs.field(
        default=(), converter=_blackouts, validator=v.collection_of(Blackout)
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    def __attrs_post_init__(self) -> None:
        known = {s.id for s in self.spaces}
        for i, b in enumerate(self.blackouts):
            if b.space_id is not None and b.space_id not in known:
                raise ValidationError(f"blackouts[{i}].space_id", "no such space in the venue")
        if not self.spaces:
            raise ValidationError("spaces", "a venue needs at least one space")

    def space(self, space_id: str) -> Space:
        """Return the space ``space_id``.

        Raises:
            NotFoundError: If the venue has no such space.
        """
        for s in self.spaces:
            if s.id == space_id:
                return s
        raise NotFoundError("space", f"{self.id}/{space_id}")

    def is_open(self, start: pendulum.DateTime, end: pendulum.DateTime) -> bool:
        """Return whether ``[start, end)`` lies within one opening period of one day.

        Raises:
            CalendarCoverageError: If the day lies in a year the opening calendar does not cover.
        """
        return self.opening.within_hours(start, end)

    def blackout_during(
        self, space_id: str, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> Blackout | None:
        """Return the first blackout of the venue or the space overlapping ``[start, end)``."""
        matching = (
            b
            for b in self.blackouts  # a venue has a handful
            if b.start < end and b.end > start and b.space_id in (None, space_id)
        )
        return min(matching, key=lambda b: (b.start, b.end), default=None)

    def __repr__(self) -> str:
        return f"Venue(id={self.id!r}, name={self.name!r}, spaces={len(self.spaces)})"
