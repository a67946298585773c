"""Tests for venues: spaces, opening hours, blackouts and bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.calendar import Period, WorkCalendar
from gridgov.errors import CalendarCoverageError, NotFoundError, ValidationError
from gridgov.scheduling.venues import Blackout, Space, Venue

TZ = "Asia/Shanghai"
SPLIT_DAY = (Period(dt.time(9), dt.time(12)), Period(dt.time(14), dt.time(18)))
OPENING = WorkCalendar(
    hours=dict.fromkeys(range(6), SPLIT_DAY),  # Monday to Saturday
    holidays={pendulum.Date(2026, 10, d) for d in range(1, 8)},
    workdays={pendulum.Date(2026, 9, 20)},  # a Sunday
    years=(2026, 2026),
    tz=TZ,
    beyond="refuse",
)
ROOMS = (Space("a", "绘本馆", 20, {"tables"}), Space("b", "多功能厅", 60, {"projector"}))


def at(month: int, day: int, hour: int, minute: int = 0) -> pendulum.DateTime:
    """Return an instant in 2026, Beijing time."""
    return pendulum.datetime(2026, month, day, hour, minute, tz=TZ)


def venue(**fields: Any) -> Venue:
    """Return venue ``v`` with spaces ``a`` and ``b`` and OPENING, with ``fields``."""
    base: dict[str, Any] = {
        "id": "v",
        "name": "明宫HUI客厅",
        "cell_code": "110105001001",
        "opening": OPENING,
        "spaces": ROOMS,
    }
    base.update(fields)
    return Venue(**base)


# -- spaces ------------------------------------------------------------------------------------


def test_space() -> None:
    """``space`` returns the space by id."""
    assert ROOMS[1] == venue().space("b")
    assert frozenset({"projector"}) == venue().space("b").features


def test_an_unknown_space_is_not_found() -> None:
    """``space`` of an unknown id raises NotFoundError naming the venue and space."""
    with pytest.raises(NotFoundError) as info:
        venue().space("zz")
    assert ("space", "v/zz") == (info.value.kind, info.value.key)


def test_duplicate_space_ids() -> None:
    """Two spaces with one id name the second one's ``id``."""
    with pytest.raises(ValidationError) as info:
        venue(spaces=[*ROOMS, Space("a", "另一个绘本馆", 10)])
    assert "spaces[2].id" == info.value.path


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"spaces": []}, "spaces"),
        ({"spaces": None}, "spaces"),
        ({"spaces": ["a"]}, "spaces[0]"),
        ({"opening": None}, "opening"),
        ({"id": ""}, "id"),
        ({"name": " 明宫"}, "name"),
        ({"blackouts": [None]}, "blackouts[0]"),
        ({"version": -1}, "version"),
    ],
)
def test_bad_venues_name_the_field(fields: dict[str, Any], path: str) -> None:
    """Each bad field of a venue is a ValidationError naming it."""
    with pytest.raises(ValidationError) as info:
        venue(**fields)
    assert path == info.value.path


@pytest.mark.parametrize(
    ("fields", "path"),
    [({"capacity": 0}, "capacity"), ({"capacity": -1}, "capacity"), ({"id": "a b"}, "id")],
)
def test_bad_spaces_name_the_field(fields: dict[str, Any], path: str) -> None:
    """Each bad field of a space is a ValidationError naming it."""
    with pytest.raises(ValidationError) as info:
        Space(**{"id": "a", "name": "绘本馆", "capacity": 20, **fields})
    assert path == info.value.path


# -- blackouts ---------------------------------------------------------------------------------


def test_a_blackout_ends_after_it_starts() -> None:
    """A blackout ending at or before its start names ``end``."""
    for end in (at(10, 12, 9), at(10, 12, 8)):
        with pytest.raises(ValidationError) as info:
            Blackout(at(10, 12, 9), end, "消防检查")
        assert "end" == info.value.path


def test_a_naive_blackout_is_refused() -> None:
    """A blackout with a naive start names ``start``."""
    with pytest.raises(ValidationError) as info:
        Blackout(pendulum.naive(2026, 10, 12, 9), at(10, 12, 10))
    assert "start" == info.value.path


def test_a_blackout_of_an_unknown_space() -> None:
    """A blackout of a space the venue lacks names that blackout's ``space_id``."""
    with pytest.raises(ValidationError) as info:
        venue(blackouts=[Blackout(at(10, 12, 9), at(10, 12, 12), space_id="zz")])
    assert "blackouts[0].space_id" == info.value.path


def test_a_blackout_of_an_unknown_space_is_named_by_its_position() -> None:
    """The error names the bad blackout by its position in the list given."""
    good = Blackout(at(10, 13, 9), at(10, 13, 12), space_id="a")
    bad = Blackout(at(10, 12, 9), at(10, 12, 12), space_id="zz")
    with pytest.raises(ValidationError) as info:
        venue(blackouts=[good, bad])
    assert "blackouts[1].space_id" == info.value.path


FIRE = Blackout(at(10, 12, 9), at(10, 12, 12), "消防检查")
PAINT = Blackout(at(10, 13, 14), at(10, 13, 18), "粉刷墙面", space_id="b")


@pytest.mark.parametrize(
    ("space", "start", "end", "expected"),
    [
        ("a", at(10, 12, 10), at(10, 12, 11), FIRE),
        ("b", at(10, 12, 11), at(10, 12, 15), FIRE),
        ("a", at(10, 12, 8), at(10, 12, 9), None),
        ("a", at(10, 12, 12), at(10, 12, 14), None),
        ("b", at(10, 13, 15), at(10, 13, 16), PAINT),
        ("b", at(10, 13, 17, 59), at(10, 13, 19), PAINT),
        ("a", at(10, 13, 15), at(10, 13, 16), None),
        ("b", at(10, 13, 18), at(10, 13, 19), None),
        ("b", at(10, 11, 9), at(10, 14, 9), FIRE),
        ("a", at(10, 11, 9), at(10, 14, 9), FIRE),
        ("b", at(10, 12, 13), at(10, 14, 9), PAINT),
    ],
)
def test_blackout_during(
    space: str, start: pendulum.DateTime, end: pendulum.DateTime, expected: Blackout | None
) -> None:
    """A venue-wide blackout closes every space; a space's blackout closes that space only."""
    assert expected == venue(blackouts=[PAINT, FIRE]).blackout_during(space, start, end)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 96), st.integers(1, 24), st.sampled_from((None, "a", "b"))),
        max_size=6,
    ),
    st.sampled_from(("a", "b")),
    st.integers(0, 96),
    st.integers(1, 24),
)
def test_blackout_during_finds_any_overlapping_closure(
    closures: list[tuple[int, int, str | None]], space: str, start: int, length: int
) -> None:
    """``blackout_during`` returns an applicable overlapping blackout exactly when one exists."""
    base = at(10, 12, 0)
    blackouts = [
        Blackout(base.add(hours=s), base.add(hours=s + n), f"b{i}", space_id=sp)
        for i, (s, n, sp) in enumerate(closures)
    ]
    begin, end = base.add(hours=start), base.add(hours=start + length)
    applies = {
        b for b in blackouts if b.space_id in (None, space) and b.start < end and begin < b.end
    }
    found = venue(blackouts=blackouts).blackout_during(space, begin, end)
    assert (bool(applies), True) == (found is not None, found is None or found in applies)


# -- opening hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(10, 12, 9), at(10, 12, 12), True),  # Monday morning, the whole period
        (at(10, 12, 10), at(10, 12, 11), True),
        (at(10, 12, 8, 30), at(10, 12, 9, 30), False),  # before opening
        (at(10, 12, 11, 30), at(10, 12, 12, 30), False),  # into the lunch break
        (at(10, 12, 12, 30), at(10, 12, 13, 30), False),  # in the lunch break
        (at(10, 12, 11), at(10, 12, 15), False),  # across the lunch break
        (at(10, 12, 14), at(10, 12, 18), True),
        (at(10, 12, 17), at(10, 12, 18, 1), False),  # past closing
        (at(10, 10, 10), at(10, 10, 11), True),  # a Saturday
        (at(10, 11, 10), at(10, 11, 11), False),  # a Sunday
        (at(10, 1, 10), at(10, 1, 11), False),  # National Day, a Thursday
        (at(10, 7, 15), at(10, 7, 16), False),
        (at(10, 8, 10), at(10, 8, 11), True),  # the Thursday after
        (at(9, 20, 10), at(9, 20, 11), True),  # a make-up Sunday keeps Monday's hours
        (at(9, 20, 12), at(9, 20, 14), False),
        (at(9, 27, 10), at(9, 27, 11), False),  # an ordinary Sunday
        (at(10, 12, 17), at(10, 13, 10), False),  # across two days
    ],
)
def test_is_open(start: pendulum.DateTime, end: pendulum.DateTime, expected: bool) -> None:
    """A venue is open for a span inside one opening period of a working day."""
    assert expected == venue().is_open(start, end)


def test_is_open_in_another_time_zone() -> None:
    """Opening hours are local to the calendar: 02:00 UTC is 10:00 in Beijing."""
    assert venue().is_open(
        pendulum.datetime(2026, 10, 12, 2, tz="UTC"), pendulum.datetime(2026, 10, 12, 3, tz="UTC")
    )


def test_is_open_outside_the_calendar_years() -> None:
    """A day outside the opening calendar's years raises CalendarCoverageError."""
    with pytest.raises(CalendarCoverageError):
        venue().is_open(
            pendulum.datetime(2027, 1, 4, 10, tz=TZ), pendulum.datetime(2027, 1, 4, 11, tz=TZ)
        )


def test_is_open_needs_aware_instants() -> None:
    """A naive instant names the bound."""
    with pytest.raises(ValidationError) as info:
        venue().is_open(pendulum.naive(2026, 10, 12, 10), at(10, 12, 11))
    assert "start" == info.value.path
