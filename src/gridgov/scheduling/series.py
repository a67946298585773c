"""Recurring activities (系列活动): an RRULE, exceptions, changed occurrences, stable ids.

A series keeps its recurrence as RFC 5545 does: a first start in a time zone, an RRULE expanded
by python-dateutil in wall-clock time (a weekly 09:30 stays 09:30 across daylight saving), EXDATEs
and changes to single occurrences keyed by their original start (RECURRENCE-ID). "This and
following" splits the series in two, as calendar programs do. Every occurrence's id is the series
id and its original start in UTC, so it never changes when other occurrences do.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import pendulum
from dateutil.rrule import rrule as Rule  # noqa: N812
from dateutil.rrule import rrulestr

from gridgov import _validation as v
from gridgov.calendar import WorkCalendar
from gridgov.care.criteria import CRITERION_TYPES, Criterion
from gridgov.clock import EARLIEST, LATEST, OUTSIDE_RANGE, ensure_aware
from gridgov.errors import ValidationError

__all__ = [
    "MAX_OCCURRENCES",
    "ActivitySeries",
    "Occurrence",
    "OccurrenceChange",
    "occurrence_id",
    "parse_occurrence_id",
]

_UNTIL = re.compile(r"UNTIL=([^;]*)", re.IGNORECASE)
_UNTIL_VALUE = re.compile(r"\d{8}(T\d{6})?Z?", re.IGNORECASE)
_RULE_TEXT = re.compile(r"[A-Za-z0-9=;,+\-]+")
_COUNT = re.compile(r"COUNT=(\d+)", re.IGNORECASE)
_MAX_MINUTES = 7 * 24 * 60


def _minutes(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= _MAX_MINUTES:
        raise ValidationError(attribute.name, "expected 1 to 10080 minutes")


def _buffer(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 24 * 60:
        raise ValidationError(attribute.name, "expected 0 to 1440 minutes")


def _capacity(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100_000:
        raise ValidationError(attribute.name, "a capacity is a whole number from 1 to 100000")


def _criterion(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, CRITERION_TYPES):
        raise ValidationError(attribute.name, "expected a criterion or None")


def _stamp(instant: dt.datetime) -> str:
    u = dt.datetime.astimezone(instant, dt.UTC)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


def occurrence_id(series_id: str, original_start: dt.datetime) -> str:
    """Return the stable id of the occurrence of ``series_id`` that the rule puts at that start."""
    return f"{series_id}@{_stamp(original_start)}"


_OCCURRENCE_ID = re.compile(r"([^@]{1,64})@(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


def parse_occurrence_id(text: object) -> tuple[str, pendulum.DateTime]:
    """Return the series id and the original start (UTC) an occurrence id names.

    Raises:
        ValidationError: On ``occurrence_id`` if ``text`` is not such an id.
    """
    found = _OCCURRENCE_ID.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ValidationError(
            "occurrence_id", "not an occurrence id such as 'paint@20261202T013000Z'"
        )
    try:
        year, month, day, hour, minute, second = (int(g) for g in found.groups()[1:])
        start = pendulum.datetime(year, month, day, hour, minute, second, tz="UTC")
    except ValueError:
        raise ValidationError("occurrence_id", "its instant is not a real date and time") from None
    return found.group(1), start


@attrs.frozen
class OccurrenceChange:
    """A change to one occurrence: cancel it, or move it in time or space.

    Args:
        original_start: The start the rule gives the occurrence (its RECURRENCE-ID).
        cancelled: Whether it is cancelled.
        start: Its new start, if moved.
        minutes: Its new length, if changed.
        space_id: Its new space, if moved.
        note: Why, shown to participants.
    """

    original_start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    cancelled: bool = attrs.field(default=False, validator=v.instance_of(bool))
    start: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    minutes: int | None = attrs.field(default=None, validator=v.optional(_minutes))
    space_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    note: str = attrs.field(default="", validator=v.text(300, allow_empty=True))


@attrs.frozen
class Occurrence:
    """One occurrence of a series, as expanded.

    Args:
        id: Its stable id (series id and original start).
        series_id: The series.
        title: The series' title.
        venue_id: Where.
        space_id: Which space.
        start: When it starts.
        end: When it ends.
        original_start: The start the rule gives it.
        busy_start: ``start`` minus the setup buffer: from when the space is taken.
        busy_end: ``end`` plus the teardown buffer: until when the space is taken.
        capacity: How many may register, if limited.
        cancelled: Whether it is cancelled.
        moved: Whether it was moved from the rule's time or space.
        provisional_years: For a series that skips public holidays, the year of its day when
            that year's holidays are provisional: the occurrence may be skipped once the year is
            announced. Empty otherwise.
    """

    id: str
    series_id: str
    title: str
    venue_id: str
    space_id: str
    start: pendulum.DateTime
    end: pendulum.DateTime
    original_start: pendulum.DateTime
    busy_start: pendulum.DateTime
    busy_end: pendulum.DateTime
    capacity: int | None = None
    cancelled: bool = False
    moved: bool = False
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        """Return whether holding it rests on provisional holidays."""
        return bool(self.provisional_years)


def _exdates(value: Iterable[pendulum.DateTime]) -> frozenset[pendulum.DateTime]:
    return v.to_frozenset(value)


def _aware_set(inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    v.collection_of(pendulum.DateTime)(inst, attribute, value)
    assert isinstance(value, frozenset)  # checked just above
    for i, d in enumerate(sorted(value, key=lambda d: d.isoformat())):
        if d.tzinfo is None or d.utcoffset() is None:
            raise ValidationError(
                f"{attribute.name}[{i}]", "naive datetime: an instant needs a UTC offset"
            )
        if not EARLIEST.year <= d.year <= LATEST.year:
            raise ValidationError(f"{attribute.name}[{i}]", OUTSIDE_RANGE)


def _changes(value: Iterable[OccurrenceChange]) -> tuple[OccurrenceChange, ...]:
    return v.to_tuple(value)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder name
        raise ValidationError("tz", "not a known IANA time zone") from None


MAX_OCCURRENCES = 10_000
"""The most occurrences a series with an end (COUNT or UNTIL) may have: 27 years of a daily
activity, a year of an hourly one. Its last end is then found without walking further.
"""

# RFC 5545's ranges of the numeric BY parts; a signed part counts from the end (-1: the last).
_BY_RANGES: dict[str, tuple[int, int, bool]] = {
    "BYSECOND": (0, 59, False),  # 60, a leap second, cannot be expanded
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_SIGNED_NUMBER = re.compile(r"[+-]?\d{1,4}")


def _check_parts(text: str) -> None:
    """Refuse what dateutil would accept and fail on (or never finish) when expanding."""
    for part in text.split(";"):
        name, _, value = part.partition("=")
        name = name.upper()
        if not value:
            raise ValidationError("rrule", "expected NAME=VALUE parts separated by ';'")
        if name == "FREQ" and value.upper() in ("SECONDLY", "MINUTELY"):
            raise ValidationError(
                "rrule", "FREQ is HOURLY or slower: activities repeat hourly at most"
            )
        if name == "COUNT" and value.isdigit() and int(value) > MAX_OCCURRENCES:
            raise ValidationError("rrule", f"COUNT is at most {MAX_OCCURRENCES:,}")
        bounds = _BY_RANGES.get(name)
        if bounds is None:
            continue
        low, high, signed = bounds
        for item in value.split(","):
            if not _SIGNED_NUMBER.fullmatch(item):
                raise ValidationError("rrule", f"{name} takes whole numbers")
            number = int(item)
            if not (low <= abs(number) <= high if signed else low <= number <= high):
                span = f"{low} to {high}" + (" or -1 to -" + str(high) if signed else "")
                raise ValidationError("rrule", f"{name} is {span}")
            if not signed and item[0] in "+-":
                raise ValidationError("rrule", f"{name} takes no sign")


@functools.lru_cache(maxsize=4096)
def _bounded(text: str, start: dt.datetime) -> bool:
    """Return whether a rule with an UNTIL has at most MAX_OCCURRENCES occurrences."""
    rule = _parse_rule(text, start)
    return sum(1 for _ in itertools.islice(rule, MAX_OCCURRENCES + 1)) <= MAX_OCCURRENCES


@functools.lru_cache(maxsize=32_768)  # a district's programme expanded series by series
def _parse_rule(text: str, start: dt.datetime) -> Rule:
    parsed = rrulestr(f"RRULE:{text}", dtstart=start)
    if not isinstance(parsed, Rule):
        raise ValidationError("rrule", "give one RRULE, without DTSTART or RDATE")
    return parsed


def _local(instant: dt.datetime, tz: str) -> dt.datetime:
    """Return ``instant`` as a plain stdlib datetime in ``tz``, what dateutil expands in.

    pendulum's subclass must not reach dateutil: its comparisons with the datetimes dateutil
    builds fail.
    """
    seconds = calendar.timegm(instant.utctimetuple())
    local = dt.datetime.fromtimestamp(seconds, tz=_zone(tz))
    return local.replace(microsecond=instant.microsecond)


@functools.lru_cache(maxsize=256)
def _pendulum_zone(name: str) -> pendulum.Timezone | pendulum.FixedTimezone:
    return pendulum.timezone(name)


def _pendulum(instant: dt.datetime) -> pendulum.DateTime:
    """Return a zoned stdlib datetime as a pendulum instant (a constructor call, not a parse)."""
    key = getattr(instant.tzinfo, "key", None)
    if key is None:
        return pendulum.instance(instant)
    return pendulum.DateTime(
        instant.year,
        instant.month,
        instant.day,
        instant.hour,
        instant.minute,
        instant.second,
        instant.microsecond,
        tzinfo=_pendulum_zone(key),
        fold=instant.fold,
    )


def _later(instant: dt.datetime, minutes: int) -> dt.datetime:
    """Return ``instant`` plus ``minutes`` of elapsed time, in its zone (right across DST)."""
    if not minutes:
        return instant
    seconds = calendar.timegm(instant.utctimetuple()) + minutes * 60
    moved = dt.datetime.fromtimestamp(seconds, tz=instant.tzinfo)
    return moved.replace(microsecond=instant.microsecond)


def _shown(
    occ: Occurrence | None,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    include_cancelled: bool,
) -> bool:
    if occ is None or not (occ.start < end and occ.end > start):
        return False
    return include_cancelled or not occ.cancelled


@attrs.frozen(repr=False)
class ActivitySeries:
    """A recurring activity in one space of a venue.

    Args:
        id: The series' key.
        title: Its title, e.g. ``"自闭症儿童绘画课"``.
        organiser: Who runs it (a worker, an organisation).
        venue_id: The venue.
        space_id: The space in the venue.
        start: The first occurrence's start (tz-aware).
        minutes: How long each occurrence lasts.
        tz: The time zone the rule repeats in (its wall clock).
        rrule: The RFC 5545 RRULE without the ``RRULE:`` prefix, e.g.
            ``"FREQ=WEEKLY;BYDAY=WE;UNTIL=20261231T155959Z"``; ``None`` for a single occurrence.
            An UNTIL without ``Z`` is read in ``tz`` and stored in UTC.
        exdates: Original starts the rule gives that do not happen (EXDATE).
        changes: Changes to single occurrences (RECURRENCE-ID).
        skip_holidays: Whether occurrences falling on a public holiday of the venue's calendar
            are left out.
        setup_minutes: Time the space is taken before each occurrence.
        teardown_minutes: Time it stays taken after.
        capacity: How many may register for each occurrence; ``None`` for no registration limit.
        eligibility: Who may register (a care criterion over the resident), if restricted.
        description: What it is.
        version: The stored version, managed by repositories.

    Raises:
        ValidationError: On an RRULE that does not parse, an UNTIL before the start, a naive
            instant, a capacity below 1 or a change that is not an occurrence of the rule.
    """

    id: str = attrs.field(validator=v.identifier)
    title: str = attrs.field(validator=v.text(200))
    organiser: str = attrs.field(validator=v.text(100))
    venue_id: str = attrs.field(validator=v.identifier)
    space_id: str = attrs.field(validator=v.identifier)
    start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    minutes: int = attrs.field(validator=_minutes)
    tz: str = attrs.field(default="Asia/Shanghai", validator=v.text(64))
    rrule: str | None = attrs.field(default=None, validator=v.optional(v.text(500)))
    exdates: frozenset[pendulum.DateTime] = attrs.field(
        default=frozenset(), converter=_exdates, validator=_aware_set
    )
    changes: tuple[OccurrenceChange, ...] = attrs.field(
        default=(), converter=_changes, validator=v.collection_of(OccurrenceChange)
    )
    skip_holidays: bool = attrs.field(default=False, validator=v.instance_of(bool))
    setup_minutes: int = attrs.field(default=0, validator=_buffer)
    teardown_minutes: int = attrs.field(default=0, validator=_buffer)
    capacity: int | None = attrs.field(default=None, validator=_capacity)
    eligibility: Criterion | None = attrs.field(default=None, validator=_criterion)
    description: str = attrs.field(default="", validator=v.text(2000, allow_empty=True))
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    def __attrs_post_init__(self) -> None:
        _zone(self.tz)
        if self.rrule is not None:
            normal = self._normal_rule(self.rrule)
            object.__setattr__(self, "rrule", normal)  # the stored form: UNTIL in UTC
            until = self._rule().__dict__.get("_until")
            if until is not None and until < self._dtstart():
                raise ValidationError("rrule", "UNTIL is before the first start")
        for i, change in enumerate(self.changes):
            if not self._is_original(change.original_start):
                raise ValidationError(
                    f"changes[{i}].original_start", "not an occurrence of the series' rule"
                )
            unchanged = change.start is None and change.minutes is None and change.space_id is None
            if unchanged and not change.cancelled:
                raise ValidationError(f"changes[{i}]", "a change cancels or moves")
        originals = [c.original_start for c in self.changes]
        if len(set(originals)) != len(originals):
            raise ValidationError("changes", "one change per occurrence")

    # -- the rule ------------------------------------------------------------------------------

    def _normal_rule(self, text: str) -> str:
        text = text.strip()
        if text.upper().startswith("RRULE:"):
            text = text[6:]
        # One RRULE's parts only: no other lines (a DTSTART would replace the series' start).
        if not _RULE_TEXT.fullmatch(text):
            raise ValidationError("rrule", "expected NAME=VALUE parts separated by ';'")
        _check_parts(text)
        if _COUNT.search(text) and _UNTIL.search(text):
            raise ValidationError("rrule", "give COUNT or UNTIL, not both")
        m = _UNTIL.search(text)
        if m is not None and not _UNTIL_VALUE.fullmatch(m.group(1)):
            raise ValidationError("rrule", "UNTIL is YYYYMMDD or YYYYMMDDTHHMMSS, with Z for UTC")
        if m is not None and not EARLIEST.year <= int(m.group(1)[:4]) <= LATEST.year:
            raise ValidationError("rrule", f"UNTIL is {OUTSIDE_RANGE}")
        if m is not None and not m.group(1).upper().endswith("Z"):
            raw = m.group(1)
            try:
                local = (
                    dt.datetime.strptime(raw, "%Y%m%dT%H%M%S")
                    if "T" in raw.upper()
                    else dt.datetime.strptime(raw, "%Y%m%d").replace(hour=23, minute=59, second=59)
                )
            except ValueError:
                raise ValidationError("rrule", "UNTIL is not a date or date-time") from None
            utc = local.replace(tzinfo=_zone(self.tz)).astimezone(dt.UTC)
            text = text[: m.start(1)] + utc.strftime("%Y%m%dT%H%M%SZ") + text[m.end(1) :]
        try:
            rule = _parse_rule(text, self._dtstart())
        except ValidationError:
            raise
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ValidationError("rrule", f"does not parse: {exc}") from None
        if rule.__dict__.get("_interval", 1) < 1:
            raise ValidationError("rrule", "INTERVAL is at least 1")
        if rule.__dict__.get("_count") == 0:
            raise ValidationError("rrule", "COUNT is at least 1")
        if rule.__dict__.get("_until") is not None and not _bounded(text, self._dtstart()):
            raise ValidationError(
                "rrule", f"more than {MAX_OCCURRENCES:,} occurrences before UNTIL"
            )
        return text

    def _dtstart(self) -> dt.datetime:
        return _local(self.start, self.tz)

    def _rule(self) -> Rule | None:
        return None if self.rrule is None else _parse_rule(self.rrule, self._dtstart())

    def _originals(self, after: dt.datetime, before: dt.datetime) -> Iterator[dt.datetime]:
        """Yield the rule's starts in ``[after, before]`` (local, stdlib datetimes)."""
        rule = self._rule()
        first = self._dtstart()
        if rule is None:
            if after <= first <= before:
                yield first
            return
        yield from rule.between(after, before, inc=True)

    def _is_original(self, instant: pendulum.DateTime) -> bool:
        local = _local(instant, self.tz)
        return any(True for _ in self._originals(local, local))

    @property
    def last_end(self) -> pendulum.DateTime | None:
        """Return when the last occurrence (by the rule) ends, or ``None`` if it never stops.

        Raises:
            ValidationError: If the rule's COUNT runs past the supported range (2100-12-31).
        """
        rule = self._rule()
        if rule is None:
            last: dt.datetime | None = self._dtstart()
        elif rule.__dict__.get("_until") is None and rule.__dict__.get("_count") is None:
            return None
        else:
            last = rule.before(
                dt.datetime.max.replace(tzinfo=dt.UTC) - dt.timedelta(days=2), inc=True
            )
        if last is None:
            return self.start.add(minutes=self.minutes)
        if last.year > LATEST.year:
            raise ValidationError("rrule", f"COUNT runs {OUTSIDE_RANGE}")
        ends = [last + dt.timedelta(minutes=self.minutes)]
        ends.extend(
            (c.start or c.original_start).add(minutes=c.minutes or self.minutes)
            for c in self.changes
            if not c.cancelled
        )
        return _pendulum(max(ends))

    # -- occurrences ---------------------------------------------------------------------------

    def occurrences(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        calendar: WorkCalendar | None = None,
        include_cancelled: bool = False,
    ) -> list[Occurrence]:
        """Return the occurrences overlapping ``[start, end)``, by start.

        Args:
            start: The window's start.
            end: The window's end.
            calendar: The calendar whose public holidays are skipped if ``skip_holidays``.
            include_cancelled: Whether cancelled occurrences are returned (flagged).

        Raises:
            ValidationError: On naive instants, or ``skip_holidays`` without a calendar.
            CalendarCoverageError: If a holiday check needs a year the calendar does not cover.
        """
        window_start = ensure_aware(start, "start")
        window_end = ensure_aware(end, "end")
        if self.skip_holidays and calendar is None:
            raise ValidationError("calendar", "the series skips public holidays: give a calendar")
        changes = {c.original_start: c for c in self.changes}
        span = dt.timedelta(minutes=self.minutes)
        # A day's margin on each side: wall-clock arithmetic across a DST change is an hour off.
        day = dt.timedelta(days=1)
        after = _local(window_start, self.tz) - span - day
        before = _local(window_end, self.tz) + day
        found: list[Occurrence] = []
        seen: set[dt.datetime] = set()
        for original in self._originals(after, before):
            seen.add(original)
            change = changes.get(_pendulum(original)) if changes else None
            ends = original + span
            if change is None and (
                ends.astimezone(dt.UTC) <= window_start or original >= window_end
            ):
                continue  # outside the window, unchanged: no holiday check needed
            occ = self._occurrence(original, change, calendar)
            if _shown(occ, window_start, window_end, include_cancelled):
                found.append(occ)  # type: ignore[arg-type]
        for change in self.changes:  # occurrences moved into the window from outside it
            if _local(change.original_start, self.tz) in seen:
                continue
            occ = self._occurrence(_local(change.original_start, self.tz), change, calendar)
            if _shown(occ, window_start, window_end, include_cancelled):
                found.append(occ)  # type: ignore[arg-type]
        return sorted(found, key=lambda o: (o.start, o.id))

    def _occurrence(
        self,
        original: dt.datetime,
        change: OccurrenceChange | None,
        calendar: WorkCalendar | None,
    ) -> Occurrence | None:
        original_p = _pendulum(original)
        if self.exdates and original_p in self.exdates:
            return None
        provisional: tuple[int, ...] = ()
        if self.skip_holidays and calendar is not None:
            if calendar.is_holiday(original_p.date()):  # raises outside the covered years
                return None
            if calendar.is_provisional(original.year):
                provisional = (original.year,)
        begins: dt.datetime = original
        minutes = self.minutes
        space = self.space_id
        cancelled = moved = False
        if change is not None:
            cancelled = change.cancelled
            begins = _local(change.start, self.tz) if change.start is not None else original
            minutes = change.minutes or minutes
            space = change.space_id or space
            moved = (begins, minutes, space) != (original, self.minutes, self.space_id)
        # Stdlib arithmetic, one pendulum instant per field: expansion runs per occurrence.
        ends = _later(begins, minutes)
        start_p = original_p if begins is original else _pendulum(begins)
        end_p = _pendulum(ends)
        return Occurrence(
            id=occurrence_id(self.id, original),
            series_id=self.id,
            title=self.title,
            venue_id=self.venue_id,
            space_id=space,
            start=start_p,
            end=end_p,
            original_start=original_p,
            busy_start=_pendulum(_later(begins, -self.setup_minutes))
            if self.setup_minutes
            else start_p,
            busy_end=_pendulum(_later(ends, self.teardown_minutes))
            if self.teardown_minutes
            else end_p,
            capacity=self.capacity,
            cancelled=cancelled,
            moved=moved,
            provisional_years=provisional,
        )

    def occurrence(
        self, original_start: pendulum.DateTime, *, calendar: WorkCalendar | None = None
    ) -> Occurrence:
        """Return the occurrence the rule puts at ``original_start`` (cancelled ones included).

        Raises:
            ValidationError: If the rule puts none there, or it is excluded.
        """
        start = ensure_aware(original_start, "original_start")
        if self.skip_holidays and calendar is None:
            raise ValidationError("calendar", "the series skips public holidays: give a calendar")
        if not self._is_original(start):
            raise ValidationError("original_start", "not an occurrence of the series")
        change = next((c for c in self.changes if c.original_start == start), None)
        occ = self._occurrence(_local(start, self.tz), change, calendar)
        if occ is None:
            raise ValidationError("original_start", "that occurrence is excluded")
        return occ

    # -- changes -------------------------------------------------------------------------------

    def changed(self, change: OccurrenceChange) -> ActivitySeries:
        """Return the series with ``change`` applied to its occurrence (replacing an earlier one).

        Raises:
            ValidationError: If the change is not for an occurrence of the rule.
        """
        kept = tuple(c for c in self.changes if c.original_start != change.original_start)
        return attrs.evolve(self, changes=(*kept, change))

    def split(
        self, at: pendulum.DateTime, *, new_id: str | None = None
    ) -> tuple[ActivitySeries, ActivitySeries]:
        """Split for a "this and following" change: the series before ``at`` and from it on.

        Args:
            at: The original start of the first occurrence of the new series.
            new_id: The new series' id (default: this id, ``.`` and the stamp of ``at``).

        Returns:
            The series ending before ``at`` (UNTIL or a smaller COUNT) and the new one starting
            at ``at`` with the rest of the rule, the exceptions and the changes from then on.

        Raises:
            ValidationError: If ``at`` is not a later occurrence of the rule.
        """
        at = ensure_aware(at, "at")
        if self.rrule is None or not self._is_original(at) or at <= self.start:
            raise ValidationError("at", "split at a later occurrence of a recurring series")
        rule = self._rule()
        assert rule is not None
        local_at = _local(at, self.tz)
        before = rule.between(self._dtstart(), local_at - dt.timedelta(microseconds=1), inc=True)
        count = _COUNT.search(self.rrule)
        if count is not None:
            head_rule = _COUNT.sub(f"COUNT={len(before)}", self.rrule)
            tail_rule = _COUNT.sub(f"COUNT={int(count.group(1)) - len(before)}", self.rrule)
        else:
            until = (local_at - dt.timedelta(seconds=1)).astimezone(dt.UTC)
            stamp = until.strftime("%Y%m%dT%H%M%SZ")
            head_rule = (
                _UNTIL.sub(f"UNTIL={stamp}", self.rrule)
                if _UNTIL.search(self.rrule)
                else f"{self.rrule};UNTIL={stamp}"
            )
            tail_rule = self.rrule
        head = attrs.evolve(
            self,
            rrule=head_rule,
            exdates={d for d in self.exdates if d < at},
            changes=tuple(c for c in self.changes if c.original_start < at),
        )
        tail = attrs.evolve(
            self,
            id=new_id or f"{self.id[:47]}.{_stamp(at)}",
            start=at,
            rrule=tail_rule,
            exdates={d for d in self.exdates if d >= at},
            changes=tuple(c for c in self.changes if c.original_start >= at),
            version=0,
        )
        return head, tail

    def __repr__(self) -> str:
        return (
            f"ActivitySeries(id={self.id!r}, title={self.title!r}, space_id={self.space_id!r}, "
            f"start={self.start.isoformat()!r}, rrule={self.rrule!r})"
        )
