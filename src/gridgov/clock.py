"""Clocks: the one place gridgov reads the time.

Domain code never calls ``pendulum.now()``; it takes a :class:`Clock` or an explicit instant so
that tests and simulations can move time at will.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pendulum

__all__ = ["Clock", "SystemClock", "ensure_aware"]


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
    """

    def __init__(self, tz: str = "Asia/Shanghai") -> None:
        from gridgov.errors import ValidationError

        try:
            self._tz = pendulum.timezone(tz)
        except Exception:  # pendulum raises several types for an unknown or malformed zone
            raise ValidationError("tz", "not a known IANA time zone") from None

    def now(self) -> pendulum.DateTime:
        """Return the current instant in the clock's time zone."""
        return pendulum.now(self._tz)

    def today(self) -> pendulum.Date:
        """Return today's date in the clock's time zone."""
        return self.now().date()

    def __repr__(self) -> str:
        return f"SystemClock(tz={self._tz.name!r})"


def ensure_aware(value: object, field: str) -> pendulum.DateTime:
    """Check that ``value`` is a tz-aware pendulum DateTime.

    Args:
        value: The value to check.
        field: The field name used in the error.

    Returns:
        The value, typed.

    Raises:
        ValidationError: If it is not a DateTime or has no time zone.
    """
    from gridgov.errors import ValidationError

    if not isinstance(value, pendulum.DateTime):
        raise ValidationError(field, f"expected a pendulum DateTime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "naive datetime: an instant needs a time zone")
    return value
