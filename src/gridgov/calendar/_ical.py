"""Calendars from iCalendar (RFC 5545) holiday feeds: the all-day subset such feeds use."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Literal

import attrs
import pendulum

from gridgov.calendar._table import _days, _Problems
from gridgov.errors import ValidationError

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
