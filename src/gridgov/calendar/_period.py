"""Business periods within a day, and the small conversions the calendar modules share."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pendulum

from gridgov.errors import ValidationError

__all__ = ["OFFICE_HOURS", "Period"]


def _time(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.time) or value.tzinfo is not None:
        raise ValidationError(attribute.name, "expected a local time of day")


@attrs.frozen(order=True)
class Period:
    """A stretch of business hours within a day, ``start`` inclusive, ``end`` exclusive.

    Args:
        start: When it opens, e.g. ``09:00``.
        end: When it closes, e.g. ``12:00``; after ``start``.
    """

    start: dt.time = attrs.field(validator=_time)
    end: dt.time = attrs.field(validator=_time)

    def __attrs_post_init__(self) -> None:
        if not self.start < self.end:
            raise ValidationError("end", "a period ends after it starts")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``"09:00-12:00"``.

        Raises:
            ValidationError: If the text is not two ``HH:MM`` times joined by ``-``.
        """
        try:
            start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise ValidationError("", "a period is written HH:MM-HH:MM") from None
        return cls(start, end)

    @property
    def seconds(self) -> int:
        """Return the period's length in seconds."""
        return _seconds(self.end) - _seconds(self.start)


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


OFFICE_HOURS = (Period(dt.time(9), dt.time(12)), Period(dt.time(13, 30), dt.time(17, 30)))
"""Office hours of Chinese government service halls: 09:00-12:00 and 13:30-17:30."""


def _date(d: dt.date) -> pendulum.Date:
    return pendulum.Date(d.year, d.month, d.day)
