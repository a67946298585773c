"""Testing helpers that are part of the public API.

- :class:`ManualClock`: a clock tests and simulations move by hand.
- :func:`leaked`: the texts of an output (a log, an export, a JSON document) that hold any of a
  set of personal values (ID numbers, phones, names).
- :mod:`gridgov.testing.contracts`: the conformance kit every storage adapter passes (needs the
  ``testing`` extra: pytest and hypothesis).
- :mod:`gridgov.testing.strategies`: hypothesis strategies for every domain type.
"""

from __future__ import annotations

from collections.abc import Iterable

import pendulum

from gridgov.clock import EARLIEST, LATEST, OUTSIDE_RANGE, ensure_aware
from gridgov.errors import ValidationError

__all__ = ["ManualClock", "leaked"]


def leaked(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Return the texts that hold any of ``secrets``, in order.

    Fast on a whole ledger's values: each text is cut into the secrets' lengths and looked up,
    so the cost grows with the texts' length, not with texts times secrets.
    """
    wanted = {s for s in secrets if s}
    lengths = sorted({len(s) for s in wanted})
    return [
        t
        for t in texts
        if any(t[i : i + n] in wanted for n in lengths for i in range(len(t) - n + 1))
    ]


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
