"""iCalendar (RFC 5545): a venue's or a space's programme and a resident's schedule as feeds.

The text is written here, without a third-party library: CRLF line ends, lines folded at 75
octets on UTF-8 character boundaries, TEXT values escaped (backslash, semicolon, comma, newline).

- :func:`series_calendar` gives one activity series, :func:`space_calendar` the activities of
  one space and :func:`venue_calendar` those of a whole venue. A series is one *master*
  ``VEVENT`` carrying the rule, not a list of its occurrences:

  - ``UID`` is ``{series.id}@gridgov``; ``SEQUENCE`` is the series' stored version.
  - ``DTSTART;TZID=...`` is the first start in the series' time zone, ``DURATION`` its length,
    ``RRULE`` the rule as stored (its UNTIL in UTC, as RFC 5545 requires with a TZID).
  - ``EXDATE;TZID=...`` (one property per date) lists the excluded starts, the **cancelled**
    occurrences and, for a series that skips public holidays, the holidays' occurrences.
    A cancelled occurrence is an EXDATE rather than an override with ``STATUS:CANCELLED``:
    every client removes an EXDATE, while a cancelled override is shown struck through by some
    and hidden by others. The cancellation's note is therefore not published.
  - Each **moved** occurrence (in time, length or space) is an override ``VEVENT`` with the
    same UID, ``RECURRENCE-ID;TZID=...`` of its original start, its own ``DTSTART``/``DTEND``
    and ``LOCATION``, and the change's note after the description.
  - A series without a rule is one plain ``VEVENT`` with its change applied (left out if
    cancelled or excluded).

- :func:`resident_calendar` gives a resident's active registrations (confirmed:
  ``STATUS:CONFIRMED``; waitlisted: ``STATUS:TENTATIVE``), one standalone ``VEVENT`` each, since a
  resident registers for single occurrences. Its UID is built from the occurrence's id (never
  from the registration's id, which embeds the resident's id by default), and its time and place
  are those of the occurrence now: moved if the series moved it, ``STATUS:CANCELLED`` if the
  series cancelled it.

Time zones: every time is written in the series' zone, with a ``VTIMEZONE`` for each zone used.
A zone without offset changes over the years covered (``Asia/Shanghai``) gets one ``STANDARD``
component (``TZOFFSETFROM``/``TZOFFSETTO`` ``+0800``). A zone with daylight saving gets one
``STANDARD`` or ``DAYLIGHT`` component per transition that ``zoneinfo`` knows in the years the
calendar covers: for a series that never ends, until ten years after the later of its start and
``now``. Rules repeat in wall-clock time, as gridgov expands them.

Holidays: a series that skips public holidays has an EXDATE for each occurrence on a holiday of
the calendar (the venue's opening calendar by default) within the years the calendar has
announcements for and, when it counts later years provisionally, the ten years after them (to
2100 at most), on their statutory holidays: the same occurrences as
:meth:`~gridgov.scheduling.series.ActivitySeries.occurrences` gives. Occurrences in other years
are published as the rule gives them.

Personal data: no resident id, household, cell code or phone number is written. The resident
calendar's name (``X-WR-CALNAME`` and ``NAME``) is the label the caller gives: mask it first
(:func:`gridgov.codes.mask_name`) if the feed may be seen by others. Series titles,
descriptions and change notes are published as written.

Output is deterministic: ``DTSTAMP`` is the ``now`` given, and series, events and properties come
in a fixed order, so the same input gives the same bytes.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping

import pendulum
from dateutil.rrule import rrule as Rule  # noqa: N812
from dateutil.rrule import rrulestr

from gridgov.calendar import WorkCalendar
from gridgov.calendar.statutory import LATEST_LUNAR_YEAR
from gridgov.clock import ensure_aware
from gridgov.errors import NotFoundError, ValidationError
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange, occurrence_id
from gridgov.scheduling.venues import Venue

__all__ = [
    "PRODID",
    "resident_calendar",
    "series_calendar",
    "space_calendar",
    "venue_calendar",
]

#: The product identifier of the calendars gridgov writes.
PRODID = "-//gridgov//gridgov//EN"

_CRLF = "\r\n"
_MAX_OCTETS = 75
_HORIZON_YEARS = 10
"""How many years after ``now`` the time zone data of a never-ending series reaches."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LOCAL = "%Y%m%dT%H%M%S"
_UTC = "%Y%m%dT%H%M%SZ"


# --- content lines ----------------------------------------------------------------------------


def _text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and line breaks; drop control characters."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return _CONTROL.sub("", _NEWLINE.sub("\\\\n", value))


def _fold(line: str) -> str:
    """Fold a content line into lines of at most 75 octets, never inside a UTF-8 character."""
    if len(line.encode("utf-8")) <= _MAX_OCTETS:
        return line
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = _MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, _MAX_OCTETS - 1  # the leading space takes one
        current.append(char)
        size += width
    parts.append("".join(current))
    return (_CRLF + " ").join(parts)


def _document(lines: Iterable[str]) -> str:
    return "".join(_fold(line) + _CRLF for line in lines)


# --- times ------------------------------------------------------------------------------------


def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _local(instant: dt.datetime, tz: str) -> dt.datetime:
    """Return ``instant`` as a stdlib datetime in ``tz`` (what dateutil expands in)."""
    seconds = _calendar.timegm(instant.utctimetuple())
    return dt.datetime.fromtimestamp(seconds, tz=_zone(tz)).replace(microsecond=instant.microsecond)


def _key(instant: dt.datetime) -> dt.datetime:
    """Return ``instant`` in UTC as a stdlib datetime: a key equal for equal instants."""
    return _local(instant, "UTC")


def _utc(instant: dt.datetime) -> str:
    return _key(instant).strftime(_UTC)


def _timed(name: str, instant: dt.datetime, tz: str) -> str:
    return f"{name};TZID={tz}:{_local(instant, tz).strftime(_LOCAL)}"


def _offset(delta: dt.timedelta | None) -> str:
    total = int((delta or dt.timedelta()).total_seconds())
    sign = "-" if total < 0 else "+"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


class _Zones:
    """The time zones a calendar uses, with the years each must cover."""

    def __init__(self) -> None:
        self.years: dict[str, tuple[int, int]] = {}

    def use(self, tz: str, *instants: dt.datetime) -> None:
        if not instants:
            return
        years = [_local(i, tz).year for i in instants]
        first, last = self.years.get(tz, (min(years), max(years)))
        self.years[tz] = (min(first, *years), max(last, *years))

    def components(self) -> list[str]:
        lines: list[str] = []
        for tz in sorted(self.years):
            lines += _vtimezone(tz, *self.years[tz])
        return lines


def _transitions(tz: str, first_year: int, last_year: int) -> list[dt.datetime]:
    """Return the instants (UTC) at which ``tz`` changes its offset in the years given."""
    zone = _zone(tz)

    def offset(seconds: int) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(seconds, tz=zone).utcoffset()

    day = 86_400
    start = _calendar.timegm((first_year, 1, 1, 0, 0, 0)) - day
    stop = _calendar.timegm((last_year + 1, 1, 1, 0, 0, 0)) + day
    found: list[dt.datetime] = []
    t, before = start, offset(start)
    while t < stop:
        after = offset(t + day)
        if after != before:
            low, high = t, t + day  # offset(low) == before != offset(high)
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if offset(mid) == before else (low, mid)
            found.append(dt.datetime.fromtimestamp(high, tz=dt.UTC))
            before = after
        t += day
    return found


def _observance(
    at: dt.datetime, tz: str, offset_from: dt.timedelta | None, onset: str
) -> list[str]:
    local = at.astimezone(_zone(tz))
    kind = "DAYLIGHT" if local.dst() else "STANDARD"
    name = local.tzname()
    return [
        f"BEGIN:{kind}",
        f"DTSTART:{onset}",
        f"TZOFFSETFROM:{_offset(offset_from)}",
        f"TZOFFSETTO:{_offset(local.utcoffset())}",
        *([f"TZNAME:{_text(name)}"] if name else []),
        f"END:{kind}",
    ]


def _vtimezone(tz: str, first_year: int, last_year: int) -> list[str]:
    """Return the VTIMEZONE of ``tz`` for the years given: a base observance, then transitions."""
    begin = dt.datetime(first_year, 1, 1, tzinfo=dt.UTC) - dt.timedelta(days=1)
    base_offset = begin.astimezone(_zone(tz)).utcoffset()
    base_onset = min(dt.datetime(1970, 1, 1), dt.datetime(first_year, 1, 1)).strftime(_LOCAL)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tz}"]
    lines += _observance(begin, tz, base_offset, base_onset)
    previous = base_offset
    for at in _transitions(tz, first_year, last_year):
        # The onset is the local time just before the change, in the offset then in force.
        onset = (at + (previous or dt.timedelta())).replace(tzinfo=None).strftime(_LOCAL)
        lines += _observance(at, tz, previous, onset)
        previous = at.astimezone(_zone(tz)).utcoffset()
    lines.append("END:VTIMEZONE")
    return lines


# --- series -----------------------------------------------------------------------------------


def _rule(series: ActivitySeries) -> Rule | None:
    if series.rrule is None:
        return None
    parsed = rrulestr(f"RRULE:{series.rrule}", dtstart=_local(series.start, series.tz))
    assert isinstance(parsed, Rule)  # the series validated it
    return parsed


_PROVISIONAL_YEARS = 10
"""How many years past its announced ones a provisional calendar's holidays are excluded."""


def _holiday_starts(series: ActivitySeries, calendar: WorkCalendar | None) -> list[dt.datetime]:
    """Return the rule's starts that fall on a public holiday the calendar covers."""
    if not series.skip_holidays:
        return []
    if calendar is None:
        raise ValidationError("calendar", "the series skips public holidays: give a calendar")
    if calendar.years is None:
        if not calendar.holidays:
            return []
        first: dt.date = min(calendar.holidays)
        last: dt.date = max(calendar.holidays)
    else:
        first = dt.date(calendar.years[0], 1, 1)
        last_year = calendar.years[1]
        if calendar.is_provisional(last_year + 1):
            last_year = min(last_year + _PROVISIONAL_YEARS, LATEST_LUNAR_YEAR)
        last = dt.date(last_year, 12, 31)
    zone = _zone(series.tz)
    low = dt.datetime.combine(first, dt.time(), zone)
    high = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    rule = _rule(series)
    starts = (
        [_local(series.start, series.tz)] if rule is None else rule.between(low, high, inc=True)
    )
    return [
        s
        for s in starts
        if low <= s < high and calendar.is_holiday(pendulum.Date(s.year, s.month, s.day))
    ]


def _location(venue: Venue | None, space_id: str) -> list[str]:
    if venue is None:
        return []
    return [f"LOCATION:{_text(f'{venue.name} {venue.space(space_id).name}')}"]


def _description(*parts: str) -> list[str]:
    text = "\n".join(p for p in parts if p)
    return [f"DESCRIPTION:{_text(text)}"] if text else []


class _SeriesWriter:
    """The VEVENTs of one series in one calendar."""

    def __init__(
        self,
        series: ActivitySeries,
        venue: Venue | None,
        calendar: WorkCalendar | None,
        stamp: str,
        space_id: str | None,
    ) -> None:
        self.series = series
        self.venue = venue
        self.stamp = stamp
        self.space_id = space_id  # only occurrences in this space, if given
        self.holidays = {_key(s) for s in _holiday_starts(series, calendar)}
        self.exdates = {_key(d) for d in series.exdates}

    def _excluded(self, original: dt.datetime) -> bool:
        return _key(original) in self.exdates or _key(original) in self.holidays

    def _shown_in(self, space: str) -> bool:
        return self.space_id is None or space == self.space_id

    def _event(
        self,
        uid: str,
        start: dt.datetime,
        minutes: int,
        space: str,
        *,
        recurrence_id: dt.datetime | None = None,
        note: str = "",
    ) -> list[str]:
        s = self.series
        lines = ["BEGIN:VEVENT", f"UID:{_text(uid)}", f"DTSTAMP:{self.stamp}"]
        if recurrence_id is not None:
            lines.append(_timed("RECURRENCE-ID", recurrence_id, s.tz))
        lines.append(_timed("DTSTART", start, s.tz))
        lines.append(_timed("DTEND", _key(start) + dt.timedelta(minutes=minutes), s.tz))
        return [
            *lines,
            f"SUMMARY:{_text(s.title)}",
            *_description(s.description, note),
            *_location(self.venue, space),
            f"SEQUENCE:{s.version}",
            "END:VEVENT",
        ]

    def _moved(self, change: OccurrenceChange) -> tuple[dt.datetime, int, str]:
        s = self.series
        return (
            change.start or change.original_start,
            change.minutes or s.minutes,
            change.space_id or s.space_id,
        )

    def events(self) -> list[str]:
        s = self.series
        uid = f"{s.id}@gridgov"
        if s.rrule is None:
            return self._single(uid)
        if not self._shown_in(s.space_id):
            return self._moved_here()
        rule = _rule(s)
        assert rule is not None
        # DTSTART is the rule's first start: a start the rule does not give is no occurrence
        # in gridgov, but RFC 5545 would count it as one.
        first: dt.datetime | None = next(iter(rule), None)
        if first is None:
            return []
        excluded = set(self.exdates | self.holidays)
        overrides: list[str] = []
        for change in sorted(s.changes, key=lambda c: _key(c.original_start)):
            original = change.original_start
            start, minutes, space = self._moved(change)
            if change.cancelled or not self._shown_in(space):
                excluded.add(_key(original))
            elif not self._excluded(original):
                overrides += self._event(
                    uid, start, minutes, space, recurrence_id=original, note=change.note
                )
        master = [
            "BEGIN:VEVENT",
            f"UID:{_text(uid)}",
            f"DTSTAMP:{self.stamp}",
            _timed("DTSTART", first, s.tz),
            f"DURATION:PT{s.minutes}M",
            f"RRULE:{s.rrule.upper()}",
            *(_timed("EXDATE", d, s.tz) for d in sorted(excluded)),
            f"SUMMARY:{_text(s.title)}",
            *_description(s.description),
            *_location(self.venue, s.space_id),
            f"SEQUENCE:{s.version}",
            "END:VEVENT",
        ]
        return master + overrides

    def _single(self, uid: str) -> list[str]:
        s = self.series
        change = next(iter(s.changes), None)  # a single occurrence has at most one change
        if self._excluded(s.start) or (change is not None and change.cancelled):
            return []
        start, minutes, space = (
            (s.start, s.minutes, s.space_id) if change is None else self._moved(change)
        )
        if not self._shown_in(space):
            return []
        return self._event(uid, start, minutes, space, note="" if change is None else change.note)

    def _moved_here(self) -> list[str]:
        """Return the occurrences of a series of another space moved into this one."""
        s = self.series
        lines: list[str] = []
        for change in sorted(s.changes, key=lambda c: _key(c.original_start)):
            start, minutes, space = self._moved(change)
            if change.cancelled or self._excluded(change.original_start):
                continue
            if self._shown_in(space):
                uid = f"{s.id}-{_utc(change.original_start)}@gridgov"
                lines += self._event(uid, start, minutes, space, note=change.note)
        return lines

    def covered(self, zones: _Zones, now: dt.datetime) -> None:
        """Record the zone and the years the series' times need."""
        s = self.series
        last = s.last_end
        end = max(s.start, now) + dt.timedelta(days=366 * _HORIZON_YEARS) if last is None else last
        zones.use(s.tz, s.start, end, *(c.original_start for c in s.changes))
        zones.use(s.tz, *(c.start for c in s.changes if c.start is not None))


# --- calendars --------------------------------------------------------------------------------


def _now(now: object) -> str:
    return _utc(ensure_aware(now, "now"))


def _calendar_text(name: str, zones: _Zones, events: list[str]) -> str:
    return _document(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            f"PRODID:{PRODID}",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            f"NAME:{_text(name)}",
            f"X-WR-CALNAME:{_text(name)}",
            *zones.components(),
            *events,
            "END:VCALENDAR",
        ]
    )


def _series_text(
    name: str,
    series: Iterable[ActivitySeries],
    *,
    venue: Venue | None,
    space_id: str | None,
    now: pendulum.DateTime,
    calendar: WorkCalendar | None,
) -> str:
    stamp = _now(now)
    zones = _Zones()
    events: list[str] = []
    for s in sorted(series, key=lambda s: s.id):
        if venue is not None and s.venue_id != venue.id:
            continue
        writer = _SeriesWriter(s, venue, calendar, stamp, space_id)
        found = writer.events()
        if found:
            writer.covered(zones, now)
            events += found
    return _calendar_text(name, zones, events)


def series_calendar(
    series: ActivitySeries,
    *,
    now: pendulum.DateTime,
    venue: Venue | None = None,
    calendar: WorkCalendar | None = None,
) -> str:
    """Return one activity series as an iCalendar document (an "add to my calendar" file).

    Args:
        series: The series.
        now: When the document is made (``DTSTAMP``), tz-aware.
        venue: Its venue, for ``LOCATION`` (left out without it).
        calendar: The calendar whose holidays a series that skips them leaves out (default: the
            venue's opening calendar).

    Returns:
        The document's text, CRLF line ends.

    Raises:
        ValidationError: On a naive ``now``, a venue that is not the series' one, or a series
            that skips holidays without a calendar.
        NotFoundError: If the series' space is not in ``venue``.
    """
    if venue is not None:
        if series.venue_id != venue.id:
            raise ValidationError("venue", f"the series is in venue {series.venue_id!r}")
        calendar = calendar or venue.opening
    return _series_text(
        series.title, [series], venue=venue, space_id=None, now=now, calendar=calendar
    )


def space_calendar(
    venue: Venue,
    space_id: str,
    series: Iterable[ActivitySeries],
    *,
    now: pendulum.DateTime,
    calendar: WorkCalendar | None = None,
) -> str:
    """Return the programme of one space of a venue as an iCalendar document.

    Occurrences that a change moved into another space are excluded from their series here;
    occurrences of another space's series moved into this one are standalone events (UID: the
    series id and the original start in UTC).

    Args:
        venue: The venue.
        space_id: The space.
        series: Activity series; those of other venues are left out.
        now: When the document is made (``DTSTAMP``), tz-aware.
        calendar: The calendar whose holidays series that skip them leave out (default: the
            venue's opening calendar).

    Returns:
        The document's text, named after the venue and the space.

    Raises:
        NotFoundError: If the venue has no such space.
        ValidationError: On a naive ``now``.
    """
    space = venue.space(space_id)
    return _series_text(
        f"{venue.name} {space.name}",
        series,
        venue=venue,
        space_id=space_id,
        now=now,
        calendar=calendar or venue.opening,
    )


def venue_calendar(
    venue: Venue,
    series: Iterable[ActivitySeries],
    *,
    now: pendulum.DateTime,
    calendar: WorkCalendar | None = None,
) -> str:
    """Return the programme of a venue, all its spaces, as an iCalendar document.

    Args:
        venue: The venue.
        series: Activity series; those of other venues are left out.
        now: When the document is made (``DTSTAMP``), tz-aware.
        calendar: The calendar whose holidays series that skip them leave out (default: the
            venue's opening calendar).

    Returns:
        The document's text, named after the venue.

    Raises:
        NotFoundError: If a series' space is not in the venue.
        ValidationError: On a naive ``now``.
    """
    return _series_text(
        venue.name,
        series,
        venue=venue,
        space_id=None,
        now=now,
        calendar=calendar or venue.opening,
    )


# --- a resident's schedule --------------------------------------------------------------------

_STATUS = {RegistrationState.CONFIRMED: "CONFIRMED", RegistrationState.WAITLISTED: "TENTATIVE"}


def _registration_event(
    registration: Registration, series: ActivitySeries, venue: Venue, stamp: str, zones: _Zones
) -> list[str]:
    """Return the VEVENT of one registration: the occurrence as the series now has it."""
    r = registration
    start: dt.datetime = r.start
    end: dt.datetime = r.end
    space = series.space_id
    status = _STATUS[r.state]
    note = ""
    if any(occurrence_id(series.id, d) == r.occurrence_id for d in series.exdates):
        status = "CANCELLED"
    for change in series.changes:
        if occurrence_id(series.id, change.original_start) != r.occurrence_id:
            continue
        note = change.note
        if change.cancelled:
            status = "CANCELLED"
        else:
            start = change.start or change.original_start
            end = _key(start) + dt.timedelta(minutes=change.minutes or series.minutes)
            space = change.space_id or space
    uid = f"{r.occurrence_id.replace('@', '-')}-registration@gridgov"
    zones.use(series.tz, start, end)
    return [
        "BEGIN:VEVENT",
        f"UID:{_text(uid)}",
        f"DTSTAMP:{stamp}",
        _timed("DTSTART", start, series.tz),
        _timed("DTEND", end, series.tz),
        f"SUMMARY:{_text(series.title)}",
        *_description(series.description, note, r.state.label_zh),
        *_location(venue, space),
        f"STATUS:{status}",
        f"SEQUENCE:{series.version}",
        "END:VEVENT",
    ]


def resident_calendar(
    resident_label: str,
    registrations: Iterable[Registration],
    series_by_id: Mapping[str, ActivitySeries],
    venues: Mapping[str, Venue],
    *,
    now: pendulum.DateTime,
) -> str:
    """Return a resident's schedule, their active registrations, as an iCalendar document.

    Each confirmed or waitlisted registration is one standalone ``VEVENT`` (``STATUS:CONFIRMED``
    or ``STATUS:TENTATIVE``; ``STATUS:CANCELLED`` if the series has since cancelled the
    occurrence), with the time and space of the occurrence as the series now has it. Cancelled,
    attended and no-show registrations are left out.

    Args:
        resident_label: The calendar's name, shown by calendar programs: the caller chooses it
            and masks it if the feed may be seen by others, e.g. ``mask_name("张三") + "的活动"``.
        registrations: The resident's registrations.
        series_by_id: Their series, by id.
        venues: Their venues, by id.
        now: When the document is made (``DTSTAMP``), tz-aware.

    Returns:
        The document's text. No resident id, household or phone number is in it.

    Raises:
        NotFoundError: If a registration's series or venue is not given.
        ValidationError: On a naive ``now`` or an empty label.
    """
    if not isinstance(resident_label, str) or not resident_label.strip():
        raise ValidationError("resident_label", "give the calendar a name")
    stamp = _now(now)
    zones = _Zones()
    events: list[str] = []
    active = [r for r in registrations if r.is_active]
    for r in sorted(active, key=lambda r: (_key(r.start), r.occurrence_id, r.id)):
        series = series_by_id.get(r.series_id)
        if series is None:
            raise NotFoundError("series", r.series_id)
        venue = venues.get(r.venue_id)
        if venue is None:
            raise NotFoundError("venue", r.venue_id)
        events += _registration_event(r, series, venue, stamp, zones)
    return _calendar_text(resident_label, zones, events)
