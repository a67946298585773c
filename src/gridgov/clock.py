"""Clocks: the one place gridgov reads the time.

Domain code never calls ``pendulum.now()``; it takes a :class:`Clock` or an explicit instant so
that tests and simulations can move time at will.

gridgov works with instants and dates from :data:`EARLIEST` to :data:`LATEST` (1900-01-01 to
2100-12-31, inclusive): 2100 is where the lunar tables behind China's public holidays end. An
instant is in range when its date, in its own time zone, is. Everything else is refused with a
:class:`~gridgov.errors.ValidationError` where it enters the library, so that no calendar
arithmetic runs into the limits of Python's ``datetime`` (years 1 to 9999).
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Protocol, TypeVar, runtime_checkable

import pendulum

from gridgov.errors import ValidationError

__all__ = [
    "EARLIEST",
    "END_INSTANT",
    "FIRST_INSTANT",
    "LATEST",
    "OUTSIDE_RANGE",
    "Clock",
    "ManualClock",
    "SystemClock",
    "ensure_aware",
    "ensure_date",
    "ensure_in_range",
]

EARLIEST: Final = pendulum.Date(1900, 1, 1)
"""The earliest date gridgov accepts, for a date or an instant's date in its own time zone."""

LATEST: Final = pendulum.Date(2100, 12, 31)
"""The latest date gridgov accepts, for a date or an instant's date in its own time zone."""

FIRST_INSTANT: Final = pendulum.datetime(EARLIEST.year, 1, 1, tz="UTC")
"""The start of the supported range in UTC: a query's ``since`` that leaves nothing out."""
END_INSTANT: Final = pendulum.datetime(LATEST.year + 1, 1, 1, tz="UTC")
"""The end of the supported range in UTC (exclusive): a query's ``until`` for everything."""

OUTSIDE_RANGE: Final = f"outside the supported range {EARLIEST} to {LATEST}"
"""The problem a :class:`~gridgov.errors.ValidationError` states for a date out of range."""

# Whole years: comparing ``.year`` is all the check costs on every record construction.
_FIRST_YEAR: Final = EARLIEST.year
_LAST_YEAR: Final = LATEST.year

_D = TypeVar("_D", bound=dt.date)


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current instant as a tz-aware pendulum DateTime."""

    def now(self) -> pendulum.DateTime:
        """Return the current instant."""
        ...

    def today(self) -> pendulum.Date:
        """Return the current date in the clock's time zone."""
        ...


class SystemClock:
    """The real clock, reading the system time in a fixed time zone.

    Args:
        tz: An IANA time zone name; communities in China use ``Asia/Shanghai``.
        starting_at: An instant to start from instead of the system time: the clock then runs
            at the system's pace from there (a rehearsal, a demonstration on a scenario's
            day). Default: the system time itself.

    Raises:
        ValidationError: On ``tz`` for an unknown zone; on ``starting_at`` for a naive instant
            or one outside the supported range.
    """

    def __init__(
        self, tz: str = "Asia/Shanghai", *, starting_at: pendulum.DateTime | None = None
    ) -> None:
        try:
            self._tz = pendulum.timezone(tz)
        except Exception:  # pendulum raises several types for an unknown or malformed zone
            raise ValidationError("tz", "not a known IANA time zone") from None
        self._shift: pendulum.Duration | None = None
        if starting_at is not None:
            self._shift = ensure_aware(starting_at, "starting_at") - pendulum.now("UTC")

    def now(self) -> pendulum.DateTime:
        """Return the current instant in the clock's time zone."""
        now = pendulum.now(self._tz)
        return now if self._shift is None else now + self._shift

    def today(self) -> pendulum.Date:
        """Return today's date in the clock's time zone."""
        return self.now().date()

    def __repr__(self) -> str:
        return f"SystemClock(tz={self._tz.name!r})"


class ManualClock:
    """A clock that stands still until told to move.

    Args:
        start: The initial instant; must be tz-aware.

    Raises:
        ValidationError: If ``start`` is naive or outside the supported range.
    """

    def __init__(self, start: pendulum.DateTime) -> None:
        self._now = ensure_aware(start, "start")

    def now(self) -> pendulum.DateTime:
        """Return the clock's current instant."""
        return self._now

    def today(self) -> pendulum.Date:
        """Return the current date in the clock's time zone."""
        return self._now.date()

    def set(self, instant: pendulum.DateTime) -> None:
        """Move the clock to ``instant`` (forwards or backwards).

        Raises:
            ValidationError: If ``instant`` is naive or outside the supported range.
        """
        self._now = ensure_aware(instant, "instant")

    def advance(self, duration: pendulum.Duration) -> pendulum.DateTime:
        """Move the clock forward by ``duration`` and return the new instant.

        Raises:
            ValidationError: If the clock would leave the supported range (1900 to 2100).
        """
        try:
            moved = self._now + duration
        except (OverflowError, ValueError):  # past the years datetime holds: outside the range
            moved = None
        if moved is None or not EARLIEST.year <= moved.year <= LATEST.year:
            raise ValidationError("duration", f"moves the clock {OUTSIDE_RANGE}")
        self._now = moved
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


def ensure_in_range(value: _D, field: str) -> _D:
    """Check that a date, or a datetime's date, lies from :data:`EARLIEST` to :data:`LATEST`.

    A datetime is judged by its wall-clock date in its own time zone, whatever the zone.

    Args:
        value: A date or datetime (stdlib or pendulum).
        field: The field name used in the error.

    Returns:
        The value.

    Raises:
        ValidationError: ``outside the supported range 1900-01-01 to 2100-12-31``.
    """
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise ValidationError(field, OUTSIDE_RANGE)
    return value


def ensure_aware(value: object, field: str) -> pendulum.DateTime:
    """Check that ``value`` is a tz-aware pendulum DateTime in the supported range.

    Args:
        value: The value to check.
        field: The field name used in the error.

    Returns:
        The value, typed.

    Raises:
        ValidationError: If it is not a DateTime, has no time zone, or its date lies outside
            :data:`EARLIEST` to :data:`LATEST`.
    """
    if not isinstance(value, pendulum.DateTime):
        raise ValidationError(field, f"expected a pendulum DateTime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "naive datetime: an instant needs a time zone")
    return ensure_in_range(value, field)


def ensure_date(value: object, field: str) -> pendulum.Date:
    """Check that ``value`` is a pendulum Date (not a DateTime) in the supported range.

    Args:
        value: The value to check.
        field: The field name used in the error.

    Returns:
        The value, typed.

    Raises:
        ValidationError: If it is not a Date, or lies outside :data:`EARLIEST` to
            :data:`LATEST`.
    """
    if not isinstance(value, pendulum.Date) or isinstance(value, pendulum.DateTime):
        raise ValidationError(field, f"expected a pendulum Date, got {type(value).__name__}")
    return ensure_in_range(value, field)
