"""Working calendars: business hours, public holidays and make-up working days (调休).

Chinese public holidays are announced each year by the State Council, and they move weekend
days: some Saturdays and Sundays become working days. A :class:`WorkCalendar` knows the years it
has announcements for and refuses any other with :class:`~gridgov.errors.CalendarCoverageError`,
never guessing. Time limits (办理时限) counted in working days or working hours use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.clock import ensure_aware
from gridgov.errors import CalendarCoverageError, ValidationError

__all__ = ["Period", "WorkCalendar"]


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


_OFFICE = (Period(dt.time(9), dt.time(12)), Period(dt.time(13, 30), dt.time(17, 30)))
"""Office hours of Chinese government service halls: 09:00-12:00 and 13:30-17:30."""


def _hours(value: Mapping[int, Iterable[Period]]) -> dict[int, tuple[Period, ...]]:
    if not isinstance(value, Mapping):
        return value  # the validator reports it
    return {day: tuple(sorted(periods)) for day, periods in value.items()}


def _check_hours(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError(attribute.name, "expected business hours by weekday (0 = Monday)")
    for day, periods in value.items():
        if not isinstance(day, int) or not 0 <= day <= 6:
            raise ValidationError(attribute.name, "weekdays are 0 (Monday) to 6 (Sunday)")
        for i, p in enumerate(periods):
            if not isinstance(p, Period):
                raise ValidationError(f"{attribute.name}[{day}][{i}]", "expected a Period")
            if i and periods[i - 1].end > p.start:
                raise ValidationError(f"{attribute.name}[{day}][{i}]", "periods overlap")


def _dates(value: Iterable[pendulum.Date]) -> frozenset[pendulum.Date]:
    return v.to_frozenset(value)


def _years(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(isinstance(y, int) and not isinstance(y, bool) for y in value)
        or value[0] > value[1]
    ):
        raise ValidationError(attribute.name, "covered years are (first, last), first <= last")


@attrs.frozen
class WorkCalendar:
    """Business hours per weekday, public holidays and make-up working days, in a time zone.

    Args:
        holidays: Days off that would otherwise be working days (and holiday weekends: listing
            them is harmless).
        workdays: Make-up working days (调休): weekend days that are working days. They keep the
            business hours of ``makeup_weekday``.
        years: The first and last years the holiday data covers; any date outside raises
            CalendarCoverageError. ``None`` declares that there are no holidays to know about.
        hours: Business hours by weekday, 0 = Monday; a weekday without hours is a day off.
        makeup_weekday: Whose hours a make-up working day keeps.
        tz: The IANA time zone the hours are in.

    Raises:
        ValidationError: On malformed hours, dates, years or time zone.
    """

    holidays: frozenset[pendulum.Date] = attrs.field(
        default=frozenset(), converter=_dates, validator=v.collection_of(pendulum.Date)
    )
    workdays: frozenset[pendulum.Date] = attrs.field(
        default=frozenset(), converter=_dates, validator=v.collection_of(pendulum.Date)
    )
    years: tuple[int, int] | None = attrs.field(default=None, validator=_years)
    hours: dict[int, tuple[Period, ...]] = attrs.field(
        factory=lambda: dict.fromkeys(range(5), _OFFICE),
        converter=_hours,
        validator=_check_hours,
        hash=False,
    )
    makeup_weekday: int = attrs.field(default=0)
    tz: str = attrs.field(default="Asia/Shanghai", validator=v.text(64))

    def __attrs_post_init__(self) -> None:
        try:
            pendulum.timezone(self.tz)
        except Exception:  # pendulum raises several types for an unknown zone
            raise ValidationError("tz", "not a known IANA time zone") from None
        if self.makeup_weekday not in self.hours:
            raise ValidationError("makeup_weekday", "that weekday has no business hours")
        both = self.holidays & self.workdays
        if both:
            raise ValidationError("workdays", "a day cannot be both a holiday and a workday")

    @classmethod
    def china(cls, **kwargs: Any) -> WorkCalendar:
        """Return the calendar of the State Council's announcements, from ``chinesecalendar``.

        Needs the ``cn`` extra (``pip install "gridgov[cn]"``). The package covers the years it
        has announcements for (2004-2026 in its 2025 release); other years raise
        CalendarCoverageError.

        Args:
            kwargs: Other fields (``hours``, ``tz``, ...).

        Raises:
            ValidationError: If ``chinesecalendar`` is not installed.
        """
        try:
            import chinese_calendar  # type: ignore[import-untyped]
        except ImportError:
            raise ValidationError(
                "", "WorkCalendar.china() needs chinesecalendar: pip install 'gridgov[cn]'"
            ) from None
        holidays = {_date(d) for d in chinese_calendar.holidays}
        workdays = {_date(d) for d in chinese_calendar.workdays}
        years = (min(d.year for d in holidays), max(d.year for d in holidays | workdays))
        return cls(holidays=holidays, workdays=workdays, years=years, **kwargs)

    # -- days ------------------------------------------------------------------------------

    def _covered(self, day: pendulum.Date) -> None:
        if self.years is not None and not self.years[0] <= day.year <= self.years[1]:
            raise CalendarCoverageError(
                f"{day.year} is outside the years this calendar covers "
                f"({self.years[0]}-{self.years[1]}): add that year's announced holidays"
            )

    def is_working_day(self, day: pendulum.Date) -> bool:
        """Return whether ``day`` is a working day.

        Raises:
            CalendarCoverageError: If the calendar has no data for the day's year.
        """
        self._covered(day)
        if day in self.workdays:
            return True
        return day not in self.holidays and bool(self.hours.get(day.weekday()))

    def hours_on(self, day: pendulum.Date) -> tuple[Period, ...]:
        """Return the business hours of ``day`` (none on a day off)."""
        if not self.is_working_day(day):
            return ()
        if day in self.workdays:
            return self.hours[self.makeup_weekday]
        return self.hours.get(day.weekday(), ())

    def _zone(self) -> pendulum.Timezone | pendulum.FixedTimezone:
        return pendulum.timezone(self.tz)

    def _at(self, day: pendulum.Date, t: dt.time) -> pendulum.DateTime:
        return pendulum.datetime(
            day.year, day.month, day.day, t.hour, t.minute, t.second, tz=self.tz
        )

    def add_working_days(self, start: pendulum.DateTime, days: int) -> pendulum.DateTime:
        """Return the close of business on the ``days``-th working day after ``start``'s day.

        This is how time limits of N working days are counted from receipt: the day of receipt
        does not count, and the limit runs to the end of the Nth working day.

        Args:
            start: When the clock starts (e.g. a case's receipt).
            days: How many working days, at least 1.

        Raises:
            ValidationError: On a naive instant or fewer than one day.
            CalendarCoverageError: If the count runs into a year without data.
        """
        start = ensure_aware(start, "start")
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise ValidationError("days", "count at least one working day")
        day = start.in_timezone(self.tz).date()
        counted = 0
        while counted < days:
            day = day.add(days=1)
            if self.is_working_day(day):
                counted += 1
        return self._at(day, self.hours_on(day)[-1].end)

    def add_working_time(
        self, start: pendulum.DateTime, duration: pendulum.Duration
    ) -> pendulum.DateTime:
        """Return the instant when ``duration`` of business hours has passed after ``start``.

        Outside business hours the clock waits for the next opening.

        Raises:
            ValidationError: On a naive instant or a negative duration.
            CalendarCoverageError: If the count runs into a year without data.
        """
        start = ensure_aware(start, "start").in_timezone(self.tz)
        if not isinstance(duration, dt.timedelta) or duration.total_seconds() < 0:
            raise ValidationError("duration", "expected a duration of zero or more")
        left = duration.total_seconds()
        day = start.date()
        moment = start
        for _ in range(366 * 10):  # ten years of calendar: far beyond any time limit
            for period in self.hours_on(day):
                opens, closes = self._at(day, period.start), self._at(day, period.end)
                begin = max(opens, moment)
                if begin >= closes:
                    continue
                available = (closes - begin).total_seconds()
                if left <= available:
                    return begin.add(seconds=left)
                left -= available
            day = day.add(days=1)
            moment = self._at(day, dt.time(0))
        raise ValidationError("duration", "longer than ten years of business hours")

    def working_time_between(
        self, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> pendulum.Duration:
        """Return how much business time lies between two instants (zero if ``end`` is first).

        Raises:
            ValidationError: On a naive instant.
            CalendarCoverageError: If the span reaches a year without data.
        """
        a = ensure_aware(start, "start").in_timezone(self.tz)
        b = ensure_aware(end, "end").in_timezone(self.tz)
        total = 0.0
        day = a.date()
        while day <= b.date():
            for period in self.hours_on(day):
                opens = max(self._at(day, period.start), a)
                closes = min(self._at(day, period.end), b)
                if closes > opens:
                    total += (closes - opens).total_seconds()
            day = day.add(days=1)
        return pendulum.duration(seconds=total)


def _date(d: dt.date) -> pendulum.Date:
    return pendulum.Date(d.year, d.month, d.day)
