"""Working calendars: business hours, public holidays and make-up working days (调休).

Chinese public holidays are announced each year by the State Council, and they move weekend
days: some Saturdays and Sundays become working days. A :class:`WorkCalendar` knows the years it
has announcements for and refuses any other with :class:`~gridgov.errors.CalendarCoverageError`,
never guessing. Time limits (办理时限) counted in working days or working hours use it.

The announcements come from the ``chinesecalendar`` package (:meth:`WorkCalendar.china`) or from
data: a TOML table (:meth:`WorkCalendar.from_toml`, :meth:`WorkCalendar.from_mapping`) or an
iCalendar holiday feed (:meth:`WorkCalendar.from_ical`), read by a small parser of the all-day
subset of RFC 5545 that such feeds use.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.clock import ensure_aware
from gridgov.errors import CalendarCoverageError, NotFoundError, Problem, ValidationError

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
    if value is not None:
        _check_years(value, attribute.name)


def _check_years(value: object, path: str) -> None:
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(isinstance(y, int) and not isinstance(y, bool) for y in value)
        or value[0] > value[1]
    ):
        raise ValidationError(path, "covered years are (first, last), first <= last")


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
    _span_cache: dict[int, tuple[tuple[int, int], ...]] = attrs.field(
        init=False, factory=dict, eq=False, hash=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        try:
            pendulum.timezone(self.tz)
        except Exception:  # pendulum raises several types for an unknown zone
            raise ValidationError("tz", "not a known IANA time zone") from None
        if not self.hours.get(self.makeup_weekday):
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

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, object], *, source: str | None = None, **kwargs: Any
    ) -> WorkCalendar:
        """Build a calendar from a table of announced dates, as a TOML file holds it.

        The table's keys, all optional but at least one of ``holidays``, ``workdays`` and
        ``years``::

            tz = "Asia/Shanghai"
            years = [2026, 2026]                 # or one year: years = 2026
            holidays = ["2026-01-01", "2026-10-01/2026-10-07"]
            workdays = ["2026-09-20", "2026-10-10"]
            makeup_weekday = "monday"
            [hours]
            monday = ["09:00-12:00", "13:30-17:30"]

        Dates are ISO ``YYYY-MM-DD`` strings or TOML dates; ``"first/last"`` is a range, both
        ends included, of at most 366 days. ``[hours]`` replaces the default hours: a weekday it
        leaves out is a day off. Without ``years``, the calendar covers the first to the last
        year of the listed dates, and each of those years must list some date; with ``years``,
        every date must fall within them.

        Args:
            data: The table, e.g. from ``tomllib.loads``.
            source: The file or input the table came from, named in errors.
            kwargs: Other fields (``hours``, ``tz``, ...) that the table does not set.

        Returns:
            The calendar.

        Raises:
            ValidationError: Naming the path of each bad value (``holidays[3]``,
                ``hours.monday[1]``, ...): an unknown key, a malformed date, range, year or
                period, a day listed as both holiday and workday, a covered year without dates,
                or a field set both in the table and in ``kwargs``.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("", "expected a table of calendar data", source=source)
        problems = _Problems()
        for key in data:
            if key not in _TABLE_KEYS:
                problems.add(str(key), f"unknown key; expected {', '.join(_TABLE_KEYS)}")
        holidays = _listed_dates(data.get("holidays", []), "holidays", problems)
        workdays = _listed_dates(data.get("workdays", []), "workdays", problems)
        for day, path in workdays.items():
            if day in holidays:
                problems.add(path, f"{day} is also listed as a holiday ({holidays[day]})")
        years = _table_years(data.get("years"), problems)
        listed = {**holidays, **workdays}
        if years is not None:
            for day, path in sorted(listed.items()):
                if not years[0] <= day.year <= years[1]:
                    problems.add(path, f"{day} is outside the covered years {years[0]}-{years[1]}")
        elif "years" not in data and not problems.found:  # else bad dates would be blamed
            years = _default_years(
                listed,
                problems,
                empty="no dates are listed: set years to declare the years covered",
                missing="no dates are listed in {year}: list that year's dates or set years",
            )
        fields: dict[str, Any] = {}
        if "tz" in data:
            if isinstance(data["tz"], str):
                fields["tz"] = data["tz"]
            else:
                problems.add("tz", "expected an IANA time zone name, e.g. 'Asia/Shanghai'")
        if "makeup_weekday" in data:
            fields["makeup_weekday"] = _weekday(data["makeup_weekday"], problems)
        if "hours" in data:
            fields["hours"] = _table_hours(data["hours"], problems)
        for key in kwargs:
            if key in fields or key in ("holidays", "workdays", "years"):
                problems.add(key, "set both in the data and as an argument")
        problems.check(source)
        try:
            return cls(holidays=holidays, workdays=workdays, years=years, **fields, **kwargs)
        except ValidationError as exc:
            raise (exc.from_source(source) if source else exc) from None

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str], **kwargs: Any) -> WorkCalendar:
        """Build a calendar from TOML, as :meth:`from_mapping` describes it.

        Args:
            source: A :class:`~pathlib.Path` (any path-like) of a UTF-8 file, or TOML text.
            kwargs: Other fields (``hours``, ``tz``, ...) that the TOML does not set.

        Returns:
            The calendar.

        Raises:
            NotFoundError: If the file does not exist.
            ValidationError: On unreadable or malformed TOML (naming the line) or bad data
                (naming its path); the message names the file.
        """
        if isinstance(source, os.PathLike):
            file = Path(source)
            name: str | None = str(file)
            text = _decode(_read_bytes(file, "calendar file"), name)
        elif isinstance(source, str):
            name, text = None, source
        else:
            raise ValidationError("", "expected TOML text or a pathlib.Path")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            error = _toml_error(exc, name)
            if name is None and "\n" not in text and "=" not in text:
                error = ValidationError(
                    "", "not TOML text (to read a file, pass a pathlib.Path)", source=name
                )
            raise error from None
        return cls.from_mapping(data, source=name, **kwargs)

    @classmethod
    def from_ical(
        cls,
        source: str | bytes | os.PathLike[str],
        *,
        years: tuple[int, int] | None = None,
        **kwargs: Any,
    ) -> WorkCalendar:
        """Build a calendar from an iCalendar (RFC 5545) holiday feed.

        Every ``VEVENT`` is an all-day event (``DTSTART;VALUE=DATE:20261001``; a bare
        ``DTSTART:20261001`` is read as a date too) lasting until its ``DTEND`` (exclusive), for
        its ``DURATION`` in whole days, or one day. Folded lines, CRLF, LF or CR line ends and a
        byte order mark are fine. An event is a
        make-up working day if it says ``X-GRIDGOV-KIND:workday``, has the category
        ``workday``, or its ``SUMMARY`` contains 补班, 调休上班, "make-up", "makeup",
        "make up", "working day" or "workday" (in any case); ``X-GRIDGOV-KIND:holiday`` makes
        it a holiday whatever its summary says. Every other event is a holiday. Cancelled
        events (``STATUS:CANCELLED``) are skipped; other components (``VTIMEZONE``,
        ``VALARM``, ...) are ignored. Recurring events (``RRULE``, ``RDATE``, ...) are not
        supported.

        Args:
            source: The feed as text or bytes (UTF-8), or a :class:`~pathlib.Path` to read.
            years: The years to cover; events outside them are left out. By default, the first
                to the last year of the feed's dates. Either way, every covered year must hold
                at least one event.
            kwargs: Other fields (``hours``, ``tz``, ...).

        Returns:
            The calendar.

        Raises:
            NotFoundError: If the file does not exist.
            ValidationError: On malformed data, naming the line (``line 12``) or the event and
                property (``events[3].DTSTART``), or a covered year without events.
        """
        name: str | None = None
        if isinstance(source, os.PathLike):
            name = str(source)
            source = _read_bytes(Path(source), "iCalendar file")
        if isinstance(source, bytes):
            source = _decode(source, name)
        if not isinstance(source, str):
            raise ValidationError("", "expected iCalendar text, bytes or a pathlib.Path")
        if years is not None:
            _check_years(years, "years")
        problems = _Problems()
        holidays, workdays = _read_feed(source.removeprefix("\ufeff"), problems, name)
        listed = {**holidays, **workdays}
        if problems.found:
            pass  # the coverage of a feed with bad events would blame them again
        elif years is None:
            years = _default_years(
                listed,
                problems,
                empty="the feed has no events, so it covers no year",
                missing="the feed has no events in {year}",
            )
        else:
            holidays = {d: p for d, p in holidays.items() if years[0] <= d.year <= years[1]}
            workdays = {d: p for d, p in workdays.items() if years[0] <= d.year <= years[1]}
            found = {d.year for d in holidays} | {d.year for d in workdays}
            for year in range(years[0], years[1] + 1):
                if year not in found:
                    problems.add("years", f"the feed has no events in {year}")
        problems.check(name)
        try:
            return cls(holidays=holidays, workdays=workdays, years=years, **kwargs)
        except ValidationError as exc:
            raise (exc.from_source(name) if name else exc) from None

    def to_mapping(self) -> dict[str, object]:
        """Return the calendar as a table that :meth:`from_mapping` reads back.

        Runs of consecutive days are written as ``"first/last"`` ranges.

        Returns:
            The table: TOML- and JSON-ready strings, integers, lists and tables.

        Raises:
            ValidationError: If the calendar declares no covered years.
        """
        if self.years is None:
            raise ValidationError("years", "a calendar without covered years cannot be data")
        return {
            "tz": self.tz,
            "years": list(self.years),
            "makeup_weekday": _WEEKDAYS[self.makeup_weekday],
            "holidays": _runs(self.holidays),
            "workdays": _runs(self.workdays),
            "hours": {
                _WEEKDAYS[day]: [_period_text(p) for p in periods]
                for day, periods in sorted(self.hours.items())
            },
        }

    def to_toml(self) -> str:
        """Return the calendar as TOML text that :meth:`from_toml` reads back.

        Returns:
            The TOML document.

        Raises:
            ValidationError: If the calendar declares no covered years.
        """
        data = self.to_mapping()
        lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
        for key, table in data.items():
            if isinstance(table, dict):
                lines += ["", f"[{key}]", *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
        return "\n".join(lines) + "\n"

    def merged(self, other: WorkCalendar) -> WorkCalendar:
        """Return this calendar with the holidays, make-up days and years of ``other`` added.

        Hours, time zone and ``makeup_weekday`` stay this calendar's. Use it to add a year
        announced after a package's release: ``WorkCalendar.china().merged(next_year)``.

        Args:
            other: A calendar whose covered years meet or overlap this one's.

        Returns:
            The merged calendar.

        Raises:
            ValidationError: If either calendar declares no covered years, the years leave a
                gap between them, or a day is a holiday in one and a workday in the other.
        """
        if self.years is None or other.years is None:
            raise ValidationError("years", "only calendars with covered years can be merged")
        (a, b), (c, d) = sorted([self.years, other.years])
        if c > b + 1:
            raise ValidationError(
                "years", f"{a}-{b} and {c}-{d} leave years without data between them"
            )
        clash = (self.holidays & other.workdays) | (self.workdays & other.holidays)
        if clash:
            raise ValidationError(
                "workdays", f"{min(clash)} is a holiday in one calendar, a workday in the other"
            )
        return attrs.evolve(
            self,
            holidays=self.holidays | other.holidays,
            workdays=self.workdays | other.workdays,
            years=(a, max(b, d)),
        )

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

    def _at(self, day: dt.date, t: dt.time) -> pendulum.DateTime:
        return pendulum.datetime(
            day.year, day.month, day.day, t.hour, t.minute, t.second, tz=self.tz
        )

    # The arithmetic below works on integer microseconds since the epoch, over each day's
    # business hours computed once per calendar and day: pendulum objects are slow to build,
    # and a sweep over many cases asks for the same days again and again.

    def _spans(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        """Return the business hours of a day as ``(open, close)`` epoch microseconds."""
        spans = self._span_cache.get(ordinal)
        if spans is None:
            day = dt.date.fromordinal(ordinal)
            spans = tuple(
                (_micros(self._at(day, p.start)), _micros(self._at(day, p.end)))
                for p in self.hours_on(day)  # type: ignore[arg-type]
            )
            self._span_cache[ordinal] = spans
        return spans

    def _local(self, micros: int) -> dt.datetime:
        seconds, rest = divmod(micros, 1_000_000)
        return dt.datetime.fromtimestamp(seconds, tz=self._zone()).replace(microsecond=rest)

    def _ordinal(self, micros: int) -> int:
        """Return the ordinal of the calendar-local day holding the instant."""
        return self._local(micros).toordinal()

    def _instant(self, micros: int) -> pendulum.DateTime:
        d = self._local(micros)
        return pendulum.DateTime(
            d.year,
            d.month,
            d.day,
            d.hour,
            d.minute,
            d.second,
            d.microsecond,
            tzinfo=self._zone(),
            fold=d.fold,
        )

    def within_hours(self, start: pendulum.DateTime, end: pendulum.DateTime) -> bool:
        """Return whether ``[start, end)`` lies inside one business period of one day.

        Raises:
            ValidationError: On a naive instant.
            CalendarCoverageError: If the day lies in a year the calendar does not cover.
        """
        a = _micros(ensure_aware(start, "start"))
        b = _micros(ensure_aware(end, "end"))
        return any(opens <= a and b <= closes for opens, closes in self._spans(self._ordinal(a)))

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
        ordinal = start.in_timezone(self.tz).date().toordinal()
        counted = 0
        while counted < days:
            ordinal += 1
            if self._spans(ordinal):
                counted += 1
        return self._instant(self._spans(ordinal)[-1][1])

    def add_working_time(
        self, start: pendulum.DateTime, duration: pendulum.Duration
    ) -> pendulum.DateTime:
        """Return the instant when ``duration`` of business hours has passed after ``start``.

        Outside business hours the clock waits for the next opening.

        Raises:
            ValidationError: On a naive instant or a negative duration.
            CalendarCoverageError: If the count runs into a year without data.
        """
        start = ensure_aware(start, "start")
        if not isinstance(duration, dt.timedelta) or duration < dt.timedelta(0):
            raise ValidationError("duration", "expected a duration of zero or more")
        left = _timedelta_micros(duration)
        moment = _micros(start)
        ordinal = self._ordinal(moment)
        for _ in range(366 * 10):  # ten years of calendar: far beyond any time limit
            for opens, closes in self._spans(ordinal):
                begin = max(opens, moment)
                if begin >= closes:
                    continue
                if left <= closes - begin:
                    return self._instant(begin + left)
                left -= closes - begin
            ordinal += 1
        raise ValidationError("duration", "longer than ten years of business hours")

    def working_time_between(
        self, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> pendulum.Duration:
        """Return how much business time lies between two instants (zero if ``end`` is first).

        Raises:
            ValidationError: On a naive instant.
            CalendarCoverageError: If the span reaches a year without data.
        """
        a = _micros(ensure_aware(start, "start"))
        b = _micros(ensure_aware(end, "end"))
        total = 0
        if b > a:
            last = self._ordinal(b)
            for ordinal in range(self._ordinal(a), last + 1):
                for opens, closes in self._spans(ordinal):
                    total += max(0, min(closes, b) - max(opens, a))
        return pendulum.duration(microseconds=total)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _micros(instant: dt.datetime) -> int:
    """Return an aware instant as integer microseconds since the epoch (exact)."""
    return _timedelta_micros(dt.datetime.__sub__(instant, _EPOCH))


def _timedelta_micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _date(d: dt.date) -> pendulum.Date:
    return pendulum.Date(d.year, d.month, d.day)


# -- holidays from data ----------------------------------------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TABLE_KEYS = ("tz", "years", "holidays", "workdays", "makeup_weekday", "hours")
_MAX_SPAN = 366
"""The longest run of days one range or event may hold: anything longer is a mistake."""
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATES_HINT = "expected an ISO date 'YYYY-MM-DD' or a range 'YYYY-MM-DD/YYYY-MM-DD'"


class _Problems:
    """The problems found in a data file, reported together in one ValidationError."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, path: str, problem: str) -> None:
        self.found.append((path, problem))

    def check(self, source: str | None) -> None:
        if self.found:
            path, problem = self.found[0]
            raise ValidationError(path, problem, source=source, problems=self.found)


def _listed_dates(value: object, field: str, problems: _Problems) -> dict[pendulum.Date, str]:
    """Return each listed day with the path of the entry that first lists it."""
    if not isinstance(value, list | tuple):
        problems.add(field, "expected a list of dates")
        return {}
    found: dict[pendulum.Date, str] = {}
    for i, item in enumerate(value):
        path = f"{field}[{i}]"
        for day in _listed_item(item, path, problems):
            found.setdefault(day, path)
    return found


def _listed_item(item: object, path: str, problems: _Problems) -> list[pendulum.Date]:
    if isinstance(item, dt.datetime):
        problems.add(path, "expected a date, not a date and time")
        return []
    if isinstance(item, dt.date):
        return [_date(item)]
    if not isinstance(item, str):
        problems.add(path, _DATES_HINT)
        return []
    first, sep, last = item.partition("/")
    start = _iso_date(first)
    end = _iso_date(last) if sep else start
    if start is None or end is None:
        problems.add(path, _DATES_HINT)
        return []
    if end < start:
        problems.add(path, "a range's last day comes before its first")
        return []
    return _days(start, (end - start).days + 1, path, problems)


def _iso_date(text: str) -> dt.date | None:
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _days(start: dt.date, count: int, path: str, problems: _Problems) -> list[pendulum.Date]:
    """Return ``count`` days from ``start``, or none if the run is implausibly long."""
    if count > _MAX_SPAN:
        problems.add(path, f"spans {count} days; one entry holds at most {_MAX_SPAN}")
        return []
    first = start.toordinal()
    if first + count - 1 > dt.date.max.toordinal():
        problems.add(path, "runs past the year 9999")
        return []
    return [_date(dt.date.fromordinal(first + k)) for k in range(count)]


def _table_years(value: object, problems: _Problems) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(y, int) and not isinstance(y, bool) and 1 <= y <= 9999 for y in value)
        and value[0] <= value[1]
    ):
        return (value[0], value[1])
    problems.add("years", "expected [first, last] with first <= last, or one year")
    return None


def _default_years(
    listed: Mapping[pendulum.Date, object], problems: _Problems, *, empty: str, missing: str
) -> tuple[int, int] | None:
    """Return the first to the last year of ``listed``, each of which must list some day.

    Args:
        listed: The days found.
        problems: Where to report an empty list or a year without days.
        empty: The problem of an empty list.
        missing: The problem of a year without days, with a ``{year}`` placeholder.
    """
    if not listed:
        problems.add("years", empty)
        return None
    found = {day.year for day in listed}
    first, last = min(found), max(found)
    for year in range(first, last + 1):
        if year not in found:
            problems.add("years", missing.format(year=year))
    return (first, last)


def _weekday(value: object, problems: _Problems) -> int | None:
    if isinstance(value, str) and value in _WEEKDAYS:
        return _WEEKDAYS.index(value)
    problems.add("makeup_weekday", "expected a weekday name, monday to sunday")
    return None


def _table_hours(value: object, problems: _Problems) -> dict[int, tuple[Period, ...]]:
    if not isinstance(value, Mapping):
        problems.add("hours", 'expected a table of weekday = ["HH:MM-HH:MM", ...]')
        return {}
    hours: dict[int, tuple[Period, ...]] = {}
    for name, periods in value.items():
        path = f"hours.{name}"
        if name not in _WEEKDAYS:
            problems.add(path, "unknown weekday; expected monday to sunday")
            continue
        if not isinstance(periods, list | tuple):
            problems.add(path, 'expected a list of periods, e.g. ["09:00-12:00"]')
            continue
        parsed: list[Period] = []
        for i, text in enumerate(periods):
            if not isinstance(text, str):
                problems.add(f"{path}[{i}]", "a period is written HH:MM-HH:MM")
                continue
            try:
                parsed.append(Period.parse(text))
            except ValidationError as exc:
                problems.add(f"{path}[{i}]", exc.problem)
        parsed.sort()
        if any(a.end > b.start for a, b in itertools.pairwise(parsed)):
            problems.add(path, "periods overlap")
        hours[_WEEKDAYS.index(name)] = tuple(parsed)
    return hours


def _read_bytes(file: Path, what: str) -> bytes:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(what, str(file)) from None
    except OSError as exc:
        raise ValidationError(
            "", f"cannot read the file ({exc.strerror})", source=str(file)
        ) from None


def _decode(data: bytes, source: str | None) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("", "not UTF-8 text", source=source) from None


_TOML_AT = re.compile(r"(.*) \(at line (\d+), column (\d+)\)")


def _toml_error(exc: tomllib.TOMLDecodeError, source: str | None) -> ValidationError:
    # tomllib's messages describe the syntax, never the values: safe to repeat.
    message = str(exc)
    m = _TOML_AT.fullmatch(message)
    if m is None:
        return ValidationError("", f"TOML syntax error: {message}", source=source)
    return ValidationError(
        f"line {m[2]}", f"TOML syntax error: {m[1]} (column {m[3]})", source=source
    )


def _runs(days: Iterable[pendulum.Date]) -> list[str]:
    """Write days as ISO dates, runs of consecutive days as ``first/last`` ranges."""
    ordered = sorted(days)
    out: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while (
            j + 1 < len(ordered)
            and j + 1 - i < _MAX_SPAN
            and ordered[j + 1].toordinal() == ordered[j].toordinal() + 1
        ):
            j += 1
        first, last = ordered[i].isoformat(), ordered[j].isoformat()
        out.append(first if i == j else f"{first}/{last}")
        i = j + 1
    return out


def _time_text(t: dt.time) -> str:
    return t.isoformat("minutes") if not (t.second or t.microsecond) else t.isoformat()


def _period_text(p: Period) -> str:
    return f"{_time_text(p.start)}-{_time_text(p.end)}"


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        items = [_toml_value(x) for x in value]
        one_line = f"[{', '.join(items)}]"
        if len(one_line) <= 80:
            return one_line
        return "[\n" + "".join(f"    {x},\n" for x in items) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


# -- iCalendar feeds (RFC 5545): the all-day subset holiday feeds use ------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ICAL_NAME = re.compile(r"[A-Za-z0-9-]+")
_PARAM_TEXT = re.compile(r'[^";:,]*')
_ICAL_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DURATION = re.compile(r"([+-]?)P(?:(\d+)W|(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_RECURRENCE = ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")
_SINGLE = ("DTSTART", "DTEND", "DURATION", "X-GRIDGOV-KIND")
_WORKDAY_WORDS = ("补班", "调休上班", "make-up", "makeup", "make up", "working day", "workday")
"""Words in a SUMMARY that mark a make-up working day (compared in lower case)."""


@attrs.define
class _Line:
    """One unfolded content line: ``NAME;PARAM=value,...:value``."""

    number: int
    name: str
    params: dict[str, list[str]]
    value: str


@attrs.define
class _Event:
    """The properties of one VEVENT, numbered in feed order."""

    index: int
    number: int
    lines: list[_Line] = attrs.Factory(list)


def _unfold(text: str) -> list[tuple[int, str]]:
    """Join folded lines (a line break followed by a space or tab); drop blank lines."""
    logical: list[tuple[int, str]] = []
    for number, raw in enumerate(_LINE_BREAK.split(text), start=1):
        if raw.startswith((" ", "\t")):
            if not logical:
                raise ValidationError(f"line {number}", "a folded line continues no line")
            start, content = logical[-1]
            logical[-1] = (start, content + raw[1:])
        elif raw:
            logical.append((number, raw))
    return logical


def _content_line(number: int, text: str) -> _Line:
    where = f"line {number}"
    m = _ICAL_NAME.match(text)
    if m is None:
        raise ValidationError(where, "expected a property name (letters, digits and '-')")
    name, i = m.group().upper(), m.end()
    params: dict[str, list[str]] = {}
    while text.startswith(";", i):
        p = _ICAL_NAME.match(text, i + 1)
        if p is None or not text.startswith("=", p.end()):
            raise ValidationError(where, "malformed parameter: expected ;NAME=value")
        i = p.end()
        values: list[str] = []
        while True:
            i += 1  # past the '=' or ','
            if text.startswith('"', i):
                close = text.find('"', i + 1)
                if close < 0:
                    raise ValidationError(where, "a quoted parameter value is never closed")
                values.append(text[i + 1 : close])
                i = close + 1
            else:
                t = _PARAM_TEXT.match(text, i)
                assert t is not None  # the pattern matches the empty string
                values.append(t.group())
                i = t.end()
            if not text.startswith(",", i):
                break
        params[p.group().upper()] = values
    if not text.startswith(":", i):
        raise ValidationError(where, "expected ':' between the property name and its value")
    return _Line(number, name, params, text[i + 1 :])


def _events(text: str) -> list[_Event]:
    """Return the feed's VEVENTs, checking that components nest properly.

    Raises:
        ValidationError: Naming the line where the structure breaks.
    """
    stack: list[tuple[str, int]] = []
    events: list[_Event] = []
    calendars = 0
    for number, content in _unfold(text):
        line = _content_line(number, content)
        where = f"line {number}"
        if line.name in ("BEGIN", "END"):
            component = line.value.strip().upper()
            if not _ICAL_NAME.fullmatch(component):
                raise ValidationError(where, f"{line.name} needs a component name")
            if line.name == "BEGIN":
                parent = stack[-1][0] if stack else None
                if (parent is None) != (component == "VCALENDAR"):
                    raise ValidationError(
                        where, "components sit inside one BEGIN:VCALENDAR ... END:VCALENDAR"
                    )
                if component == "VEVENT":
                    if parent != "VCALENDAR":
                        raise ValidationError(where, "a VEVENT belongs directly in a VCALENDAR")
                    events.append(_Event(len(events), number))
                calendars += component == "VCALENDAR"
                stack.append((component, number))
            elif not stack:
                raise ValidationError(where, f"END:{component} without a BEGIN")
            elif stack[-1][0] != component:
                opened, at = stack[-1]
                raise ValidationError(
                    where, f"END:{component} does not close BEGIN:{opened} (line {at})"
                )
            else:
                stack.pop()
        elif not stack:
            raise ValidationError(where, "a property outside BEGIN:VCALENDAR ... END:VCALENDAR")
        elif stack[-1][0] == "VEVENT":
            events[-1].lines.append(line)
    if stack:
        opened, at = stack[-1]
        raise ValidationError(f"line {at}", f"BEGIN:{opened} is never closed by END:{opened}")
    if not calendars:
        raise ValidationError("", "not an iCalendar feed: no BEGIN:VCALENDAR")
    return events


def _read_feed(
    text: str, problems: _Problems, source: str | None
) -> tuple[dict[pendulum.Date, str], dict[pendulum.Date, str]]:
    """Return the holidays and the make-up working days of a feed, each with its event."""
    try:
        events = _events(text)
    except ValidationError as exc:
        raise (exc.from_source(source) if source else exc) from None
    holidays: dict[pendulum.Date, str] = {}
    workdays: dict[pendulum.Date, str] = {}
    for event in events:
        found = _event_days(event, problems)
        if found is None:
            continue
        kind, days = found
        mine, theirs = (workdays, holidays) if kind == "workday" else (holidays, workdays)
        other = "holiday" if kind == "workday" else "workday"
        path = f"events[{event.index}]"
        for day in days:
            if day in theirs:
                problems.add(
                    path,
                    f"{day} is a {kind} here (line {event.number}) but a {other} in {theirs[day]}",
                )
            else:
                mine.setdefault(day, path)
    return holidays, workdays


def _event_days(
    event: _Event, problems: _Problems
) -> tuple[Literal["holiday", "workday"], list[pendulum.Date]] | None:
    """Return an event's kind and days, or ``None`` if it is cancelled or malformed."""
    path = f"events[{event.index}]"
    props: dict[str, list[_Line]] = {}
    for line in event.lines:
        props.setdefault(line.name, []).append(line)
    for name in _RECURRENCE:
        if name in props:
            problems.add(
                f"{path}.{name}",
                "recurring events are not supported: list each occurrence as its own event "
                f"(line {props[name][0].number})",
            )
            return None
    if any(line.value.strip().upper() == "CANCELLED" for line in props.get("STATUS", [])):
        return None
    for name in _SINGLE:
        if len(props.get(name, [])) > 1:
            problems.add(f"{path}.{name}", f"given twice (line {props[name][1].number})")
            return None
    if "DTSTART" not in props:
        problems.add(path, f"no DTSTART in the event beginning on line {event.number}")
        return None
    start = _ical_date(props["DTSTART"][0], f"{path}.DTSTART", problems)
    if start is None:
        return None
    if "DTEND" in props and "DURATION" in props:
        line = props["DURATION"][0]
        problems.add(
            f"{path}.DURATION", f"an event has DTEND or DURATION, not both (line {line.number})"
        )
        return None
    count: int | None = 1
    if "DTEND" in props:
        end = _ical_date(props["DTEND"][0], f"{path}.DTEND", problems)
        if end is None:
            return None
        if end <= start:
            problems.add(
                f"{path}.DTEND",
                f"DTEND is exclusive, so it falls after DTSTART (line {props['DTEND'][0].number})",
            )
            return None
        count = (end - start).days
    elif "DURATION" in props:
        count = _ical_days(props["DURATION"][0], f"{path}.DURATION", problems)
    kind = _event_kind(props, path, problems)
    if count is None or kind is None:
        return None
    return kind, _days(start, count, path, problems)


def _ical_date(line: _Line, path: str, problems: _Problems) -> dt.date | None:
    where = f"(line {line.number})"
    if "TZID" in line.params:
        problems.add(path, f"a holiday is an all-day date, without TZID {where}")
        return None
    text = line.value.strip()
    if [x.upper() for x in line.params.get("VALUE", ["DATE"])] != ["DATE"] or "T" in text.upper():
        problems.add(path, f"expected an all-day date, {line.name};VALUE=DATE:YYYYMMDD {where}")
        return None
    m = _ICAL_DATE.fullmatch(text)
    if m is None:
        problems.add(path, f"expected a date written YYYYMMDD {where}")
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        problems.add(path, f"not a real date {where}")
        return None


def _ical_days(line: _Line, path: str, problems: _Problems) -> int | None:
    """Return a DURATION in whole days (``P7D``, ``P1W``, ``PT24H``), at least one."""
    text = line.value.strip().upper()
    m = _DURATION.fullmatch(text)
    if m is None or not any(m.groups()[1:]) or text.endswith("T"):
        problems.add(path, f"expected a duration such as P7D (line {line.number})")
        return None
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups()[1:])
    total = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
    if m[1] == "-" or total <= 0 or total % 86400:
        problems.add(path, f"a holiday lasts a positive number of whole days (line {line.number})")
        return None
    return total // 86400


def _event_kind(
    props: Mapping[str, list[_Line]], path: str, problems: _Problems
) -> Literal["holiday", "workday"] | None:
    """Return whether an event is a holiday or a make-up working day."""
    if "X-GRIDGOV-KIND" in props:
        line = props["X-GRIDGOV-KIND"][0]
        kind = line.value.strip().lower()
        if kind == "holiday":
            return "holiday"
        if kind == "workday":
            return "workday"
        problems.add(f"{path}.X-GRIDGOV-KIND", f"expected holiday or workday (line {line.number})")
        return None
    categories = {
        c.strip().lower() for line in props.get("CATEGORIES", []) for c in _text_values(line.value)
    }
    if "workday" in categories:
        return "workday"
    summary = " ".join(",".join(_text_values(line.value)) for line in props.get("SUMMARY", []))
    if any(word in summary.lower() for word in _WORKDAY_WORDS):
        return "workday"
    return "holiday"


def _text_values(value: str) -> list[str]:
    r"""Split a TEXT value on unescaped commas and undo its escapes (``\,``, ``\n``, ...)."""
    out: list[str] = []
    part: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            following = value[i + 1]
            part.append("\n" if following in "nN" else following)
            i += 2
            continue
        if ch == ",":
            out.append("".join(part))
            part = []
        else:
            part.append(ch)
        i += 1
    out.append("".join(part))
    return out
