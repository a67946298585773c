"""Calendars from data: the TOML table of announced dates, and writing one back."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import pendulum

from gridgov.calendar._period import Period, _date
from gridgov.clock import EARLIEST, LATEST, OUTSIDE_RANGE
from gridgov.errors import NotFoundError, Problem, ValidationError

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TABLE_KEYS = ("tz", "years", "holidays", "workdays", "makeup_weekday", "hours", "beyond")
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
    if first < EARLIEST.toordinal() or first + count - 1 > LATEST.toordinal():
        problems.add(path, OUTSIDE_RANGE)
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
        and all(
            isinstance(y, int) and not isinstance(y, bool) and EARLIEST.year <= y <= LATEST.year
            for y in value
        )
        and value[0] <= value[1]
    ):
        return (value[0], value[1])
    problems.add(
        "years",
        f"expected [first, last] with first <= last, or one year, from {EARLIEST.year} to "
        f"{LATEST.year}",
    )
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
