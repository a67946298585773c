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
import importlib.resources
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeAlias

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.calendar._ical import _read_feed
from gridgov.calendar._period import OFFICE_HOURS, Period, _date
from gridgov.calendar._table import (
    _TABLE_KEYS,
    _WEEKDAYS,
    _decode,
    _default_years,
    _listed_dates,
    _period_text,
    _Problems,
    _read_bytes,
    _runs,
    _table_hours,
    _table_years,
    _toml_error,
    _toml_value,
    _weekday,
)
from gridgov.calendar.statutory import (
    LATEST_LUNAR_YEAR,
    REVISIONS,
    statutory_available,
    statutory_holidays,
)
from gridgov.clock import EARLIEST, LATEST, OUTSIDE_RANGE, ensure_aware
from gridgov.errors import CalendarCoverageError, ValidationError

__all__ = ["Period", "WorkCalendar"]


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


Beyond: TypeAlias = Literal["provisional", "refuse"]
"""What a calendar does with a date after its announced years."""
BEYOND: tuple[Beyond, ...] = ("provisional", "refuse")


def _beyond(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in BEYOND:
        raise ValidationError(attribute.name, "expected 'provisional' or 'refuse'")


def _check_years(value: object, path: str) -> None:
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(
            isinstance(y, int) and not isinstance(y, bool) and EARLIEST.year <= y <= LATEST.year
            for y in value
        )
        or value[0] > value[1]
    ):
        raise ValidationError(
            path,
            f"covered years are (first, last), first <= last, from {EARLIEST.year} to "
            f"{LATEST.year}",
        )


def _in_range(_inst: Any, attribute: attrs.Attribute[Any], value: frozenset[pendulum.Date]) -> None:
    if value and not (EARLIEST <= min(value) and max(value) <= LATEST):
        raise ValidationError(attribute.name, OUTSIDE_RANGE)


@attrs.frozen
class Arrangement:
    """The days off and make-up working days of one year, as a calendar counts them.

    Args:
        year: The year.
        provisional: Whether they are the statutory holidays of an unannounced year (no make-up
            days) rather than an announcement.
        holidays: The public holidays, weekends among them when a festival falls on one.
        workdays: The make-up working days (调休).
    """

    year: int
    provisional: bool
    holidays: tuple[pendulum.Date, ...]
    workdays: tuple[pendulum.Date, ...]


@attrs.frozen
class WorkCalendar:
    """Business hours per weekday, public holidays and make-up working days, in a time zone.

    Args:
        holidays: Days off that would otherwise be working days (and holiday weekends: listing
            them is harmless).
        workdays: Make-up working days (调休): weekend days that are working days. They keep the
            business hours of ``makeup_weekday``.
        years: The first and last years the holiday data covers (the announced years). A date
            before them raises CalendarCoverageError; one after them is counted as ``beyond``
            says. ``None`` declares that there are no holidays to know about.
        hours: Business hours by weekday, 0 = Monday; a weekday without hours is a day off.
        makeup_weekday: Whose hours a make-up working day keeps.
        tz: The IANA time zone the hours are in.
        beyond: What a date after the announced years gets. ``"provisional"``: the statutory
            holidays of the national regulation (:mod:`gridgov.calendar.statutory`, needs the
            ``cn`` extra) and weekends, without make-up working days; every result that depends
            on such a day says so (:meth:`provisional_years`). ``"refuse"``: a
            CalendarCoverageError.

    Raises:
        ValidationError: On malformed hours, dates, years or time zone.
    """

    holidays: frozenset[pendulum.Date] = attrs.field(
        default=frozenset(),
        converter=_dates,
        validator=[v.collection_of(pendulum.Date), _in_range],
    )
    workdays: frozenset[pendulum.Date] = attrs.field(
        default=frozenset(),
        converter=_dates,
        validator=[v.collection_of(pendulum.Date), _in_range],
    )
    years: tuple[int, int] | None = attrs.field(default=None, validator=_years)
    hours: dict[int, tuple[Period, ...]] = attrs.field(
        factory=lambda: dict.fromkeys(range(5), OFFICE_HOURS),
        converter=_hours,
        validator=_check_hours,
        hash=False,
    )
    makeup_weekday: int = attrs.field(default=0)
    tz: str = attrs.field(default="Asia/Shanghai", validator=v.text(64))
    beyond: Beyond = attrs.field(default="provisional", validator=_beyond)
    _provisional_cache: dict[int, frozenset[pendulum.Date]] = attrs.field(
        init=False, factory=dict, eq=False, hash=False, repr=False
    )
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
    def china(cls, *, beyond: Beyond = "provisional", **kwargs: Any) -> WorkCalendar:
        """Return the calendar of the State Council's announcements.

        The announced years come from the ``chinesecalendar`` package (extra ``cn``: ``pip
        install "gridgov[cn]"``), 2004 to its last year (2026 in its release 1.11), and from the
        announcements shipped with gridgov for later years (:func:`shipped_announcements`). A
        newer ``chinesecalendar`` extends them by itself.

        Args:
            beyond: What a date after the announced years gets: ``"provisional"`` (the default)
                counts the statutory holidays and marks results provisional; ``"refuse"``
                raises CalendarCoverageError.
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
        calendar = cls(holidays=holidays, workdays=workdays, years=years, beyond=beyond, **kwargs)
        for announced in shipped_announcements():
            assert announced.years is not None  # a shipped file declares its year
            if announced.years[1] > years[1]:
                calendar = calendar.merged(announced)
        return calendar

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
            beyond = "provisional"               # or "refuse": see the class
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
        if "beyond" in data:
            if data["beyond"] in BEYOND:
                fields["beyond"] = data["beyond"]
            else:
                problems.add("beyond", "expected 'provisional' or 'refuse'")
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
            "beyond": self.beyond,
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

        Hours, time zone, ``makeup_weekday`` and ``beyond`` stay this calendar's. Use it to add
        a year announced after a package's release: ``WorkCalendar.china().merged(next_year)``.

        Args:
            other: A calendar whose covered years meet or overlap this one's.

        Returns:
            The merged calendar.

        Raises:
            ValidationError: If either calendar declares no covered years, the years leave a
                gap between them, a day is a holiday in one and a workday in the other, or a
                year both cover has different days in each.
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
        for year in range(c, min(b, d) + 1):  # a year both announce must be the same in both
            mine = {x for x in self.holidays | self.workdays if x.year == year}
            theirs = {x for x in other.holidays | other.workdays if x.year == year}
            if mine != theirs:
                raise ValidationError(
                    "holidays",
                    f"{year} is announced in both calendars with different days, first "
                    f"{min(mine ^ theirs)}: correct the calendar that is wrong instead",
                )
        return attrs.evolve(
            self,
            holidays=self.holidays | other.holidays,
            workdays=self.workdays | other.workdays,
            years=(a, max(b, d)),
        )

    # -- days ------------------------------------------------------------------------------

    def _holidays_of(self, day: dt.date) -> frozenset[pendulum.Date]:
        """Return the holidays that decide ``day``: announced, or provisional past them."""
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            # A DateTime is a Date: it would compare unequal to every holiday, silently.
            raise ValidationError(
                "day", "expected a date: take an instant's date in the calendar's time zone"
            )
        years = self.years
        if years is None or years[0] <= day.year <= years[1]:
            return self.holidays
        if day.year < years[0] or self.beyond == "refuse":
            raise CalendarCoverageError(
                f"{day.year} is outside the years this calendar covers "
                f"({years[0]}-{years[1]}): add that year's announced holidays"
            )
        return self._provisional_holidays(day.year)

    def _provisional_holidays(self, year: int) -> frozenset[pendulum.Date]:
        found = self._provisional_cache.get(year)
        if found is None:
            found = frozenset(statutory_holidays(year))
            self._provisional_cache[year] = found
        return found

    def unlisted_statutory_days(self) -> dict[int, tuple[pendulum.Date, ...]]:
        """Return, per announced year, the statutory weekdays off that it does not list.

        An announced year gives every statutory day off of the national regulation (a festival
        on a weekend may be moved by the notice, so only weekdays are asked for). A year declared
        without its dates, or a typo, shows here: counted as it stands, its festivals would be
        working days. Empty for a calendar that refuses later years (it need not be China's) and
        where the ``holidays`` package is missing.
        """
        if self.beyond != "provisional" or self.years is None or not statutory_available():
            return {}
        found: dict[int, tuple[pendulum.Date, ...]] = {}
        first = max(self.years[0], REVISIONS[0].since)
        for year in range(first, min(self.years[1], LATEST_LUNAR_YEAR) + 1):
            unlisted = tuple(
                sorted(
                    d
                    for d in statutory_holidays(year)
                    if d.weekday() < 5 and d not in self.holidays
                )
            )
            if unlisted:
                found[year] = unlisted
        return found

    def is_provisional(self, year: int) -> bool:
        """Return whether ``year`` is counted by the statutory rule, not by an announcement."""
        return self.beyond == "provisional" and self.years is not None and year > self.years[1]

    def provisional_years(
        self, start: dt.date | dt.datetime, end: dt.date | dt.datetime
    ) -> tuple[int, ...]:
        """Return the provisional years a result computed between two instants or days touches.

        A time limit counted from ``start`` to ``end`` (either order) depends on every day
        between them: if one of those days lies in a provisional year, the result may move
        once that year's arrangement is announced.

        Args:
            start: Where the computation starts (an instant, read in the calendar's zone, or a
                day).
            end: Where it ends.

        Returns:
            The provisional years between the two, in order; empty if none.
        """
        if self.beyond != "provisional" or self.years is None:
            return ()
        first, last = sorted((self._year_of(start, "start"), self._year_of(end, "end")))
        return tuple(range(max(first, self.years[1] + 1), min(last, LATEST.year) + 1))

    def _year_of(self, value: dt.date | dt.datetime, field: str) -> int:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValidationError(field, "naive datetime: an instant needs a time zone")
            return value.astimezone(self._zone()).year
        if not isinstance(value, dt.date):
            raise ValidationError(field, "expected a date or an instant")
        return value.year

    def arrangement(self, year: int) -> Arrangement:
        """Return the holidays and make-up working days this calendar counts in ``year``.

        Raises:
            CalendarCoverageError: If the calendar has no data for the year.
            ValidationError: If ``year`` is not a whole number.
        """
        if not isinstance(year, int) or isinstance(year, bool):
            raise ValidationError("year", "expected a year")
        holidays = self._holidays_of(dt.date(year, 1, 1))
        return Arrangement(
            year=year,
            provisional=self.is_provisional(year),
            holidays=tuple(sorted(d for d in holidays if d.year == year)),
            workdays=tuple(sorted(d for d in self.workdays if d.year == year)),
        )

    def is_working_day(self, day: pendulum.Date) -> bool:
        """Return whether ``day`` is a working day.

        Raises:
            ValidationError: If ``day`` is not a date (an instant is refused: which day it falls
                on depends on the time zone).
            CalendarCoverageError: If the calendar has no data for the day's year: before its
                announced years, or after them with ``beyond="refuse"``.
        """
        holidays = self._holidays_of(day)
        if day in self.workdays:
            return True
        return day not in holidays and bool(self.hours.get(day.weekday()))

    def is_holiday(self, day: pendulum.Date) -> bool:
        """Return whether ``day`` is a public holiday (announced, or statutory if provisional).

        Raises:
            CalendarCoverageError: As :meth:`is_working_day`.
        """
        return day in self._holidays_of(day)

    def hours_on(self, day: pendulum.Date) -> tuple[Period, ...]:
        """Return the business hours of ``day`` (none on a day off).

        Raises:
            ValidationError, CalendarCoverageError: As :meth:`is_working_day`.
        """
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
            if ordinal > _LAST:
                raise ValidationError("days", f"the count runs {OUTSIDE_RANGE}")
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
            if ordinal > _LAST:
                raise ValidationError("duration", f"the count runs {OUTSIDE_RANGE}")
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
_LAST = LATEST.toordinal()


def _micros(instant: dt.datetime) -> int:
    """Return an aware instant as integer microseconds since the epoch (exact)."""
    return _timedelta_micros(dt.datetime.__sub__(instant, _EPOCH))


def _timedelta_micros(delta: dt.timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_ANNOUNCEMENTS = importlib.resources.files("gridgov.calendar") / "announcements"


def shipped_announcements() -> tuple[WorkCalendar, ...]:
    """Return the yearly arrangements shipped with gridgov, by year.

    Each is a TOML table (:meth:`WorkCalendar.from_mapping`) in the package folder
    ``gridgov/calendar/announcements``, named ``cn-YEAR.toml``, added once the State Council's
    notice for that year is published. :meth:`WorkCalendar.china` merges those after the last
    year of ``chinesecalendar``.

    Raises:
        ValidationError: If a shipped file is malformed (a packaging fault), naming it.
    """
    found = []
    for entry in sorted(_ANNOUNCEMENTS.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("cn-") and entry.name.endswith(".toml"):
            text = entry.read_text(encoding="utf-8")
            found.append(WorkCalendar.from_mapping(tomllib.loads(text), source=entry.name))
    return tuple(found)
