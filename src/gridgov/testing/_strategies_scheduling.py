"""Hypothesis strategies for scheduling: venues, series, registrations, shifts, sign-ups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs
import pendulum
from hypothesis import strategies as st

from gridgov._levels import GridLevel
from gridgov.calendar import Period, WorkCalendar
from gridgov.care.criteria import (
    AgeAtLeast,
    AgeBelow,
    AllOf,
    AnyOf,
    Criterion,
    HasHealthFlag,
    HasTag,
    HouseholdStatusIs,
    LivesAs,
    Not,
)
from gridgov.households import (
    HouseholdStatus,
    LivingArrangement,
)
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange
from gridgov.scheduling.venues import Blackout, Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.testing._strategies_basics import (
    _codes,
    _given,
    _maybe,
    aware_datetimes,
    dates,
    health_flags,
    identifiers,
    tags,
    time_zones,
)
from gridgov.testing._strategies_cases import _free_text
from gridgov.testing._strategies_grid import _cell_code_strategy, cell_codes

_VENUE_NAMES = (
    "明宫HUI客厅",
    "社区党群服务中心",
    "老年活动室",
    "四点半课堂",
    "社区文化广场",
    "Minggong community hall",
)


_SPACE_IDS = ("s1", "s2", "hall", "room-2", "yard", "reading.room")


_SPACE_NAMES = ("绘本馆", "多功能厅", "舞蹈室", "书画室", "会议室", "活动广场", "Reading room")


_FEATURES = ("projector", "tables", "piano", "mirrors", "kitchen", "wheelchair_access", "sound")


_BLACKOUT_REASONS = ("", "消防检查", "设备维修", "选举投票点", "deep cleaning")


_SERIES_TITLES = (
    "自闭症儿童绘画课",
    "老年智能手机课堂",
    "太极拳晨练",
    "四点半课堂作业辅导",
    "广场舞",
    "健康讲座",
    "Parent-child reading",
)


_SHIFT_TITLES = ("社区卫生清扫", "活动签到引导", "独居老人探访", "防疫值守", "Library desk")


_SKILLS = ("first_aid", "sign_language", "driving", "cooking", "english", "computer")


# Zones for wall clocks, DST ones among them; activities start between 07:00 and 20:45, far from
# the night-time daylight-saving transitions, so every wall time drawn exists exactly once.
_WALL_ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Europe/Berlin", "America/New_York", "UTC")


_RULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


_SCHEDULING_INSTANTS = (dt.datetime(2020, 1, 1), dt.datetime(2035, 12, 31))


_NO_HOLIDAYS = WorkCalendar()  # expands series that skip holidays without skipping any


def _quarter_hour(quarters: int) -> dt.time:
    return dt.time(quarters // 4, quarters % 4 * 15)


@st.composite
def _day_hours(draw: st.DrawFn) -> tuple[Period, ...]:
    """One or two opening periods of a day, on quarter hours."""
    opens = draw(st.integers(6 * 4, 11 * 4))
    closes = draw(st.integers(opens + 1, 14 * 4))
    periods = [Period(_quarter_hour(opens), _quarter_hour(closes))]
    if draw(st.booleans()):
        reopens = draw(st.integers(closes, 20 * 4))
        periods.append(
            Period(_quarter_hour(reopens), _quarter_hour(draw(st.integers(reopens + 1, 95))))
        )
    return tuple(periods)


@st.composite
def _opening_calendars(draw: st.DrawFn) -> WorkCalendar:
    """Opening hours as a calendar with covered years, holidays and make-up days."""
    first = draw(st.integers(2024, 2030))
    last = first + draw(st.integers(0, 3))
    span = dates(dt.date(first, 1, 1), dt.date(last, 12, 31))
    days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    holidays = draw(st.frozensets(span, max_size=5))
    workdays = draw(st.frozensets(span, max_size=3)) - holidays
    return WorkCalendar(
        holidays=holidays,
        workdays=workdays,
        years=(first, last),
        hours={day: draw(_day_hours()) for day in days},
        makeup_weekday=draw(st.sampled_from(days)),
        tz=draw(st.sampled_from(_WALL_ZONES)),
    )


def _space_id(space: Space) -> str:
    return space.id


@attrs.frozen
class _VenueParts:
    ids: st.SearchStrategy[str]
    names: st.SearchStrategy[str]
    cells: st.SearchStrategy[str]
    openings: st.SearchStrategy[WorkCalendar]
    spaces: st.SearchStrategy[list[Space]]
    starts: st.SearchStrategy[pendulum.DateTime]
    lengths: st.SearchStrategy[dt.timedelta]
    zones: st.SearchStrategy[pendulum.Timezone | pendulum.FixedTimezone]
    reasons: st.SearchStrategy[str]


def venues(
    cell_codes: Sequence[str] | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Venue]:
    """Venues with opening hours, one to four spaces and some blackouts.

    The opening hours are a :class:`~gridgov.calendar.WorkCalendar` with covered years (so the
    venue can be serialized), holidays and make-up days, one or two periods on the days it
    opens; blackouts close the whole venue or one of its spaces, their ends possibly in another
    zone than their starts.

    Args:
        cell_codes: The cells the venues lie in (a sequence or a strategy); grid codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.
        id: The venue's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.scheduling.venues.Venue` at version 0.
    """
    space = st.builds(
        Space,
        id=st.sampled_from(_SPACE_IDS) | identifiers("space"),
        name=st.sampled_from(_SPACE_NAMES) | _free_text(100),
        capacity=st.integers(min_value=1, max_value=500) | st.integers(1, 100_000),
        features=st.frozensets(st.sampled_from(_FEATURES) | _codes(), max_size=3),
    )
    return _venues(
        _VenueParts(
            ids=_given(id, identifiers("venue")),
            names=st.sampled_from(_VENUE_NAMES) | _free_text(100),
            cells=_cell_code_strategy(cell_codes),
            openings=_opening_calendars(),
            spaces=st.lists(space, min_size=1, max_size=4, unique_by=_space_id),
            starts=aware_datetimes(*_SCHEDULING_INSTANTS),
            lengths=st.timedeltas(dt.timedelta(minutes=1), dt.timedelta(days=30)),
            zones=time_zones(),
            reasons=st.sampled_from(_BLACKOUT_REASONS) | _free_text(200),
        )
    )


@st.composite
def _venues(draw: st.DrawFn, parts: _VenueParts) -> Venue:
    spaces = draw(parts.spaces)
    closed = st.none() | st.sampled_from([s.id for s in spaces])
    blackouts = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        start = draw(parts.starts)
        end = start + draw(parts.lengths)
        if draw(st.booleans()):
            end = end.in_timezone(draw(parts.zones))
        blackouts.append(Blackout(start, end, draw(parts.reasons), draw(closed)))
    return Venue(
        id=draw(parts.ids),
        name=draw(parts.names),
        cell_code=draw(parts.cells),
        opening=draw(parts.openings),
        spaces=spaces,
        blackouts=blackouts,
    )


def _criteria() -> st.SearchStrategy[Criterion]:
    """Eligibility criteria: ages, tags, health flags, living arrangements, and combinations."""
    leaves: st.SearchStrategy[Criterion] = st.one_of(
        st.builds(AgeAtLeast, st.integers(0, 150)),
        st.builds(AgeBelow, st.integers(0, 150)),
        st.builds(HasTag, tags()),
        st.builds(HasHealthFlag, health_flags()),
        st.builds(LivesAs, st.frozensets(st.sampled_from(LivingArrangement), min_size=1)),
        st.builds(HouseholdStatusIs, st.frozensets(st.sampled_from(HouseholdStatus), min_size=1)),
    )

    def extend(inner: st.SearchStrategy[Criterion]) -> st.SearchStrategy[Criterion]:
        many = st.lists(inner, min_size=1, max_size=3)
        return st.builds(AllOf, many) | st.builds(AnyOf, many) | st.builds(Not, inner)

    return st.recursive(leaves, extend, max_leaves=4)


def _rule_stamp(instant: dt.datetime) -> str:
    return instant.strftime("%Y%m%dT%H%M%S")


@st.composite
def _rules(draw: st.DrawFn, start: pendulum.DateTime) -> str | None:
    """An RRULE whose first occurrence is ``start`` (a wall time of the series' zone)."""
    freq = draw(st.sampled_from(("ONCE", "DAILY", "WEEKLY", "MONTHLY")))
    if freq == "ONCE":
        return None
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(min_value=1, max_value=3))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    weekday = start.weekday()
    if freq == "WEEKLY" and draw(st.booleans()):
        others = draw(st.frozensets(st.integers(0, 6), max_size=3))
        parts.append("BYDAY=" + ",".join(_RULE_DAYS[d] for d in sorted(others | {weekday})))
    elif freq == "DAILY" and weekday < 5 and draw(st.booleans()):
        parts.append("BYDAY=MO,TU,WE,TH,FR")
    elif freq == "MONTHLY" and draw(st.booleans()):  # the n-th weekday, as the start is
        parts.append(f"BYDAY={(start.day - 1) // 7 + 1}{_RULE_DAYS[weekday]}")
    ending = draw(st.sampled_from(("COUNT", "UNTIL_UTC", "UNTIL_LOCAL", "UNTIL_DATE", "NEVER")))
    if ending == "COUNT":
        parts.append(f"COUNT={draw(st.integers(min_value=1, max_value=40))}")
    elif ending != "NEVER":
        until = start.add(days=draw(st.integers(0, 400)), minutes=draw(st.integers(0, 600)))
        if ending == "UNTIL_UTC":
            parts.append(f"UNTIL={_rule_stamp(until.in_timezone('UTC'))}Z")
        elif ending == "UNTIL_LOCAL":
            parts.append(f"UNTIL={_rule_stamp(until)}")
        else:
            parts.append(f"UNTIL={until.strftime('%Y%m%d')}")
    return ";".join([parts[0], *draw(st.permutations(parts[1:]))])


@attrs.frozen
class _SeriesParts:
    venues: st.SearchStrategy[Venue]
    ids: st.SearchStrategy[str]
    titles: st.SearchStrategy[str]
    organisers: st.SearchStrategy[str]
    days: st.SearchStrategy[pendulum.Date]
    minutes: st.SearchStrategy[int]
    buffers: st.SearchStrategy[int]
    capacities: st.SearchStrategy[int | None]
    eligibility: st.SearchStrategy[Criterion | None]
    descriptions: st.SearchStrategy[str]
    notes: st.SearchStrategy[str]
    max_changes: int


def activity_series(
    venue: Venue | st.SearchStrategy[Venue] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
    *,
    max_changes: int = 2,
) -> st.SearchStrategy[ActivitySeries]:
    """Recurring activities in one space of a venue, with valid rules, exceptions and changes.

    The first start is a wall time between 07:00 and 20:45 on a quarter hour in the series'
    zone (Asia/Shanghai, a DST zone, UTC, ...), sometimes expressed in another zone. The rule is
    a single occurrence or a daily, weekly or monthly RRULE, with an interval, a BYDAY that the
    first start matches (weekdays, several days of the week, the n-th weekday of the month), and
    a COUNT, an UNTIL (in UTC, in local time or a date) or no end at all. EXDATEs are
    occurrences of the rule other than the first; up to ``max_changes`` other occurrences are
    cancelled, moved in time, lengthened or moved to another space of the venue.

    Args:
        venue: The venue (a value or a strategy); drawn with :func:`venues` by default.
        id: The series' key, or a strategy of keys.
        max_changes: The most changed occurrences.

    Returns:
        A strategy of :class:`~gridgov.scheduling.series.ActivitySeries` at version 0.
    """
    return _activity_series(
        _SeriesParts(
            venues=_given(venue, venues()),
            ids=_given(id, identifiers("series")),
            titles=st.sampled_from(_SERIES_TITLES) | _free_text(200),
            organisers=identifiers("w") | st.sampled_from(("明宫社区居委会", "雁塔区图书馆")),
            days=dates(dt.date(2020, 1, 1), dt.date(2034, 12, 31)),
            minutes=st.integers(min_value=1, max_value=600),
            buffers=st.integers(min_value=0, max_value=12).map(lambda n: 5 * n),
            capacities=_maybe(st.integers(min_value=1, max_value=200)),
            eligibility=_maybe(_criteria()),
            descriptions=st.just("") | _free_text(300),
            notes=st.sampled_from(("", "场地维修", "老师请假", "moved to the hall")),
            max_changes=max_changes,
        )
    )


def _first_originals(series: ActivitySeries, count: int) -> list[pendulum.DateTime]:
    """Return the original starts of up to ``count`` first occurrences of a series."""
    horizon = series.start.add(days=max(40, 3 * count))
    found = series.occurrences(series.start, horizon, calendar=_NO_HOLIDAYS, include_cancelled=True)
    return sorted({o.original_start for o in found})[:count]


@st.composite
def _activity_series(draw: st.DrawFn, parts: _SeriesParts) -> ActivitySeries:
    venue = draw(parts.venues)
    tz = draw(st.sampled_from(_WALL_ZONES))
    day = draw(parts.days)
    quarters = draw(st.integers(7 * 4, 20 * 4 + 3))
    start = pendulum.datetime(day.year, day.month, day.day, quarters // 4, quarters % 4 * 15, tz=tz)
    series = ActivitySeries(
        id=draw(parts.ids),
        title=draw(parts.titles),
        organiser=draw(parts.organisers),
        venue_id=venue.id,
        space_id=draw(st.sampled_from([s.id for s in venue.spaces])),
        start=start,
        minutes=draw(parts.minutes),
        tz=tz,
        rrule=draw(_rules(start)),
        skip_holidays=draw(st.booleans()),
        setup_minutes=draw(parts.buffers),
        teardown_minutes=draw(parts.buffers),
        capacity=draw(parts.capacities),
        eligibility=draw(parts.eligibility),
        description=draw(parts.descriptions),
    )
    if draw(st.booleans()):  # the same instant, written in another zone
        series = attrs.evolve(series, start=start.in_timezone(draw(st.sampled_from(_WALL_ZONES))))
    originals = _first_originals(series, 12)
    later = originals[1:]
    exdates = draw(st.lists(st.sampled_from(later), max_size=3, unique=True)) if later else []
    rest = [o for o in later if o not in exdates]
    changed = (
        draw(st.lists(st.sampled_from(rest), max_size=parts.max_changes, unique=True))
        if rest
        else []
    )
    changes = [draw(_changes(original, venue, series, parts.notes)) for original in changed]
    return attrs.evolve(series, exdates=exdates, changes=changes)


@st.composite
def _changes(
    draw: st.DrawFn,
    original: pendulum.DateTime,
    venue: Venue,
    series: ActivitySeries,
    notes: st.SearchStrategy[str],
) -> OccurrenceChange:
    if draw(st.integers(min_value=0, max_value=2)) == 0:
        return OccurrenceChange(original, cancelled=True, note=draw(notes))
    moved = draw(_maybe(st.integers(min_value=-8, max_value=8 * 24).map(lambda q: 15 * q)))
    minutes = draw(_maybe(st.integers(min_value=1, max_value=600)))
    others = [s.id for s in venue.spaces if s.id != series.space_id]
    space = draw(_maybe(st.sampled_from(others))) if others else None
    if moved is None and minutes is None and space is None:
        moved = 60
    return OccurrenceChange(
        original,
        start=None if moved is None else original.add(minutes=moved),
        minutes=minutes,
        space_id=space,
        note=draw(notes),
    )


@st.composite
def _registrations(
    draw: st.DrawFn,
    series: st.SearchStrategy[ActivitySeries],
    resident_ids: st.SearchStrategy[str],
    ids: st.SearchStrategy[str],
) -> Registration:
    s = draw(series)
    found = s.occurrences(
        s.start.subtract(days=3),
        s.start.add(days=120),
        calendar=_NO_HOLIDAYS,
        include_cancelled=True,
    )
    occurrence = draw(st.sampled_from(found[:20]))
    registered = occurrence.start - draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=60)))
    return Registration(
        id=draw(ids),
        series_id=s.id,
        occurrence_id=occurrence.id,
        venue_id=s.venue_id,
        resident_id=draw(resident_ids),
        household_id=draw(identifiers("h")),
        cell_code=draw(cell_codes(level=GridLevel.GRID)),
        start=occurrence.start,
        end=occurrence.end,
        state=draw(st.sampled_from(list(RegistrationState))),
        registered_at=registered.in_timezone(draw(time_zones())),
    )


def registrations(
    series: ActivitySeries | st.SearchStrategy[ActivitySeries] | None = None,
    resident_id: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Registration]:
    """Registrations for a real occurrence of a series, in every state.

    The occurrence is one of the series' first (cancelled and moved ones included): the
    registration copies its id, series, venue, start and end, and was made up to 60 days
    before it starts, at an instant in any zone.

    Args:
        series: The series (a value or a strategy); :func:`activity_series` by default.
        resident_id: Who registers, or a strategy of resident ids.
        id: The registration's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.scheduling.registrations.Registration` at version 0.
    """
    return _registrations(
        _given(series, activity_series()),
        _given(resident_id, identifiers("r")),
        _given(id, identifiers("reg")),
    )


@st.composite
def _shifts(
    draw: st.DrawFn, venue_ids: st.SearchStrategy[str], ids: st.SearchStrategy[str]
) -> Shift:
    start = draw(aware_datetimes(*_SCHEDULING_INSTANTS))
    end = start + draw(st.timedeltas(dt.timedelta(minutes=15), dt.timedelta(hours=12)))
    if draw(st.booleans()):
        end = end.in_timezone(draw(time_zones()))
    return Shift(
        id=draw(ids),
        venue_id=draw(venue_ids),
        title=draw(st.sampled_from(_SHIFT_TITLES) | _free_text(200)),
        start=start,
        end=end,
        required=draw(st.integers(min_value=1, max_value=50)),
        skills=draw(st.frozensets(st.sampled_from(_SKILLS) | _codes(), max_size=3)),
        occurrence_id=draw(_maybe(identifiers("occ"))),
    )


def shifts(
    venue_id: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Shift]:
    """Volunteer shifts of 15 minutes to 12 hours, with required counts and skills.

    Args:
        venue_id: The venue, or a strategy of venue ids.
        id: The shift's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.scheduling.volunteers.Shift` at version 0.
    """
    return _shifts(_given(venue_id, identifiers("venue")), _given(id, identifiers("shift")))


@st.composite
def _signups(
    draw: st.DrawFn,
    shifts_: st.SearchStrategy[Shift],
    resident_ids: st.SearchStrategy[str],
    ids: st.SearchStrategy[str],
) -> SignUp:
    shift = draw(shifts_)
    state = draw(st.sampled_from(list(SignUpState)))
    hours = 0.0
    if state is SignUpState.COMPLETED:
        hours = draw(st.sampled_from((round(shift.hours, 2), 0.5, 2.0)))
    at = shift.start - draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=30)))
    return SignUp(
        id=draw(ids),
        shift_id=shift.id,
        resident_id=draw(resident_ids),
        start=shift.start,
        end=shift.end,
        state=state,
        at=at.in_timezone(draw(time_zones())),
        hours=hours,
    )


def signups(
    shift: Shift | st.SearchStrategy[Shift] | None = None,
    resident_id: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[SignUp]:
    """Volunteers' sign-ups for a shift, in every state; completed ones credit hours.

    A sign-up copies its shift's start and end and was made up to 30 days before the shift.

    Args:
        shift: The shift (a value or a strategy); :func:`shifts` by default.
        resident_id: The volunteer, or a strategy of resident ids.
        id: The sign-up's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.scheduling.volunteers.SignUp` at version 0.
    """
    return _signups(
        _given(shift, shifts()),
        _given(resident_id, identifiers("r")),
        _given(id, identifiers("su")),
    )
