"""The venue and activity-series contracts: venues by subtree, series by the span of their rule."""

from __future__ import annotations

import functools
import uuid

import attrs
import pendulum
import pytest
from hypothesis import given

from gridgov.errors import NotFoundError, ValidationError
from gridgov.ports import MAX_PAGE_SIZE
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange
from gridgov.scheduling.venues import Venue
from gridgov.testing import strategies as gst
from gridgov.testing._samples import (
    _KIT_HYPOTHESIS,
    _WEEKLY,
    _cell,
    _SchedulingBase,
    _series,
    _series_instants,
    _stored,
    _venue,
)
from gridgov.testing._world import (
    BUILDING_A1,
    BUILDING_A2,
    COMMUNITY,
    DISTRICT,
    GRID_A,
    GRID_B,
    ON,
    OTHER_STREET,
    STREET,
    T0,
    UNKNOWN_CELL,
    UowFactory,
    _cells,
)


class VenueRepositoryContract(_SchedulingBase):
    """What every ``VenueRepository`` does: venues with spaces and opening hours, by subtree."""

    def test_venue_in_a_cell_added_in_the_same_unit(self, store: UowFactory) -> None:
        """A venue may lie in a cell the same unit added before committing."""
        with store() as uow:
            uow.cells.add(_cell("610102003001003"))
            uow.venues.add(_venue("v1", "610102003001003"))
            uow.commit()
        with store() as uow:
            assert ["v1"] == self.all_venues(uow, "610102003001003")

    def test_venue_update_moves_it_between_subtrees_or_raises(self, store: UowFactory) -> None:
        """A venue moved to a stored cell leaves the old subtree; an unknown cell raises."""
        with store() as uow:
            uow.venues.add(_venue("v1", GRID_A))
            uow.commit()
        with store() as uow:
            venue = uow.venues.get("v1")
            with pytest.raises(NotFoundError):
                uow.venues.update(attrs.evolve(venue, cell_code=UNKNOWN_CELL))
            uow.venues.update(attrs.evolve(venue, cell_code=GRID_B))
            uow.commit()
        with store() as uow:
            got = (self.all_venues(uow, GRID_A), self.all_venues(uow, GRID_B))
        assert ([], ["v1"]) == got

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_venue_in_subtree_pages_by_id(self, store: UowFactory, limit: int) -> None:
        """in_subtree yields the subtree's venues once each, by id whatever their cells."""
        with store() as uow:
            for vid, cell in [
                ("a", BUILDING_A2),
                ("c", GRID_A),
                ("b", BUILDING_A1),
                ("d", GRID_B),
                ("e", COMMUNITY),
                ("f", OTHER_STREET),
                ("a0", BUILDING_A1),
            ]:
                uow.venues.add(_venue(vid, cell))
            uow.commit()
        with store() as uow:
            got = self.all_venues(uow, GRID_A, limit)
        assert ["a", "a0", "b", "c"] == got

    def test_venue_in_subtree_is_scoped_to_the_subtree(self, store: UowFactory) -> None:
        """A subtree's venues are its own and its descendants', never a sibling's."""
        with store() as uow:
            for vid, cell in [
                ("a", BUILDING_A1),
                ("b", GRID_B),
                ("c", OTHER_STREET),
                ("d", COMMUNITY),
            ]:
                uow.venues.add(_venue(vid, cell))
            uow.commit()
        codes = [GRID_A, GRID_B, COMMUNITY, STREET, OTHER_STREET, DISTRICT, BUILDING_A2]
        with store() as uow:
            got = {code: self.all_venues(uow, code) for code in codes}
        assert {
            GRID_A: ["a"],
            GRID_B: ["b"],
            COMMUNITY: ["a", "b", "d"],
            STREET: ["a", "b", "d"],
            OTHER_STREET: ["c"],
            DISTRICT: ["a", "b", "c", "d"],
            BUILDING_A2: [],
        } == got

    def test_venue_in_subtree_of_unknown_cell_raises_not_found(self, store: UowFactory) -> None:
        """Asking for the venues of an unknown cell raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.venues.in_subtree(UNKNOWN_CELL)

    def test_staged_venues_are_visible_in_their_own_unit_only(self, store: UowFactory) -> None:
        """A unit sees its new and moved venues; others see none until it commits."""
        with store() as uow:
            uow.venues.add(_venue("v1", GRID_A))
            uow.commit()
        with store() as uow:
            uow.venues.add(_venue("v2", BUILDING_A1))
            uow.venues.update(attrs.evolve(uow.venues.get("v1"), cell_code=GRID_B))
            mine = (self.all_venues(uow, GRID_A), self.all_venues(uow, COMMUNITY, limit=1))
            with store() as other:
                theirs = (self.all_venues(other, GRID_A), _stored(lambda: other.venues.get("v2")))
        assert ((["v2"], ["v1", "v2"]), (["v1"], False)) == (mine, theirs)

    def test_venue_rollback_leaves_nothing(self, store: UowFactory) -> None:
        """Venues added then rolled back are gone, in the unit and after it."""
        with store() as uow:
            uow.venues.add(_venue("v1"))
            uow.rollback()
            inside = (self.all_venues(uow, DISTRICT), _stored(lambda: uow.venues.get("v1")))
        with store() as uow:
            after = (self.all_venues(uow, DISTRICT), _stored(lambda: uow.venues.get("v1")))
        assert (([], False), ([], False)) == (inside, after)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
            ({"limit": "10"}, "limit"),
            ({"after": "not-a-cursor"}, "after"),
        ],
    )
    def test_venue_bad_query_arguments_raise_validation_error(
        self, store: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """Bad limits and cursors raise ValidationError naming the argument."""
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.venues.in_subtree(GRID_A, **kwargs)  # type: ignore[arg-type]
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.venues(cell_codes=[c.code for c in _cells()]))
    def test_generated_venues_round_trip(self, store: UowFactory, drawn: Venue) -> None:
        """Any venue comes back equal at version 1 and is found in its cell's subtree."""
        venue = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with store() as uow:
            uow.venues.add(venue)
            uow.commit()
        with store() as uow:
            got = uow.venues.get(venue.id)
            found = venue.id in self.all_venues(uow, venue.cell_code, limit=MAX_PAGE_SIZE)
        assert (attrs.evolve(venue, version=1), True) == (got, found)


class SeriesRepositoryContract(_SchedulingBase):
    """What every ``SeriesRepository`` does: series of a venue found by the span of their rule."""

    def test_series_with_unknown_venue_or_space_is_rejected_and_not_stored(
        self, venued: UowFactory
    ) -> None:
        """An unknown venue raises NotFoundError, a space the venue lacks ValidationError."""
        with venued() as uow:
            with pytest.raises(NotFoundError) as venue:
                uow.series.add(_series("a1", venue="v404"))
            with pytest.raises(ValidationError) as space:
                uow.series.add(_series("a2", venue="v2", space="s2"))
            uow.commit()
        with venued() as uow:
            kept = [_stored(functools.partial(uow.series.get, sid)) for sid in ("a1", "a2")]
        assert (("venue", "v404"), "space_id", [False, False]) == (
            (venue.value.kind, venue.value.key),
            space.value.path,
            kept,
        )

    def test_series_of_a_venue_added_in_the_same_unit(self, venued: UowFactory) -> None:
        """A series may use a venue the same unit added before committing."""
        with venued() as uow:
            uow.venues.add(_venue("v9", GRID_B, "yard"))
            uow.series.add(_series("a1", venue="v9", space="yard"))
            uow.commit()
        with venued() as uow:
            assert ["a1"] == self.all_series(uow, "v9", T0, T0.add(days=1))

    def test_series_update_to_another_space_is_checked(self, venued: UowFactory) -> None:
        """A series moves to a space of another venue; to a space its venue lacks, it raises."""
        self.add_and_commit(venued, "series", [_series("a1")])
        with venued() as uow:
            series = uow.series.get("a1")
            with pytest.raises(ValidationError) as info:
                uow.series.update(attrs.evolve(series, venue_id="v2", space_id="s2"))
            uow.series.update(attrs.evolve(series, venue_id="v2", space_id="s1"))
            uow.commit()
        window = (T0, T0.add(days=1))
        with venued() as uow:
            got = (self.all_series(uow, "v1", *window), self.all_series(uow, "v2", *window))
        assert ("space_id", ([], ["a1"])) == (info.value.path, got)

    @staticmethod
    def window_population() -> list[ActivitySeries]:
        """Return series of v1 around the window ``[T0, T0 + 1 day)``, and one of v2."""
        long_ago = pendulum.datetime(2020, 1, 1, 9, tz="Asia/Shanghai")
        return [
            _series("a", T0.subtract(minutes=90), minutes=90),  # ends as the window starts
            _series("b", T0.subtract(minutes=90).in_timezone("UTC"), minutes=91),
            _series("c", T0.add(days=1), minutes=30),  # starts as the window ends
            _series("d", T0.add(days=1).subtract(minutes=1).in_timezone("America/New_York")),
            _series("e", long_ago, rrule=_WEEKLY),  # never ends
            _series(
                "f",
                pendulum.datetime(2025, 1, 1, 9, tz="Asia/Shanghai"),
                rrule=f"{_WEEKLY};COUNT=5",
            ),
            _series(
                "g",
                pendulum.datetime(2026, 1, 1, 9, tz="Asia/Shanghai"),
                rrule="FREQ=DAILY;UNTIL=20270101",
            ),
            _series("h", T0, venue="v2"),  # another venue
            _series(
                "i", long_ago, rrule=f"{_WEEKLY};UNTIL=20261127T000000Z"
            ),  # ended the day before
            _series("j", T0.in_timezone("UTC"), minutes=30, space="s2"),
        ]

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_series_in_venue_keeps_those_spanning_the_window_by_id(
        self, venued: UowFactory, limit: int
    ) -> None:
        """in_venue keeps ``first start < end`` and ``last end > start`` (or none), by id."""
        self.add_and_commit(venued, "series", self.window_population())
        with venued() as uow:
            got = self.all_series(uow, "v1", T0, T0.add(days=1), limit)
        assert ["b", "d", "e", "g", "j"] == got

    def test_never_ending_series_are_found_by_any_later_window(self, venued: UowFactory) -> None:
        """A series without COUNT or UNTIL is found years later; one with COUNT is not."""
        self.add_and_commit(
            venued,
            "series",
            [_series("n", T0, rrule=_WEEKLY), _series("m", T0, rrule=f"{_WEEKLY};COUNT=3")],
        )
        windows = [
            (T0.subtract(days=1), T0),
            (T0.add(days=1), T0.add(days=2)),
            (T0.add(years=1), T0.add(years=1, hours=1)),
            (T0.add(years=10), T0.add(years=10, days=7)),
            (T0.add(years=50), T0.add(years=50, minutes=1)),
        ]
        with venued() as uow:
            got = [self.all_series(uow, "v1", *w) for w in windows]
        assert [[], ["m", "n"], ["n"], ["n"], ["n"]] == got

    def test_series_span_counts_occurrences_moved_outside_the_rule(
        self, venued: UowFactory
    ) -> None:
        """A first occurrence moved earlier, or a last one moved later, widens the series' span."""
        self.add_and_commit(
            venued,
            "series",
            [
                _series(
                    "p",
                    rrule=f"{_WEEKLY};COUNT=3",
                    changes=[OccurrenceChange(T0, start=T0.subtract(days=2))],
                ),
                _series(
                    "q",
                    rrule=f"{_WEEKLY};COUNT=2",
                    changes=[OccurrenceChange(T0.add(weeks=1), start=T0.add(weeks=5))],
                ),
            ],
        )
        with venued() as uow:
            earlier = self.all_series(uow, "v1", T0.subtract(days=2), T0.subtract(days=1))
            later = self.all_series(uow, "v1", T0.add(weeks=5), T0.add(weeks=5, hours=1))
            between = self.all_series(uow, "v1", T0.add(weeks=4), T0.add(weeks=4, hours=1))
        assert (["p"], ["q"], ["q"]) == (earlier, later, between)

    def test_series_in_unknown_venue_raises_not_found(self, venued: UowFactory) -> None:
        """Asking for the series of an unknown venue raises NotFoundError."""
        with venued() as uow, pytest.raises(NotFoundError):
            uow.series.in_venue("v404", start=T0, end=T0.add(days=1))

    def test_staged_series_are_visible_in_their_own_unit_only(self, venued: UowFactory) -> None:
        """A unit sees its new series and its changes to others; other units do not."""
        self.add_and_commit(venued, "series", [_series("a1"), _series("a2", T0.add(hours=2))])
        window = (T0, T0.add(hours=1))
        with venued() as uow:
            uow.series.add(_series("a0", T0.subtract(minutes=30)))
            uow.series.update(attrs.evolve(uow.series.get("a1"), start=T0.add(days=3)))
            uow.series.update(attrs.evolve(uow.series.get("a2"), start=T0.add(minutes=30)))
            mine = (self.all_series(uow, "v1", *window, limit=1), uow.series.get("a0").version)
            with venued() as other:
                theirs = (
                    self.all_series(other, "v1", *window),
                    _stored(lambda: other.series.get("a0")),
                )
        assert ((["a0", "a2"], 1), (["a1"], False)) == (mine, theirs)

    def test_series_rollback_leaves_nothing(self, venued: UowFactory) -> None:
        """Series added then rolled back are gone, in the unit and after it."""
        window = (T0.subtract(days=1), T0.add(days=1))
        with venued() as uow:
            uow.series.add(_series("a1", rrule=_WEEKLY))
            uow.rollback()
            inside = (self.all_series(uow, "v1", *window), _stored(lambda: uow.series.get("a1")))
        with venued() as uow:
            after = (self.all_series(uow, "v1", *window), _stored(lambda: uow.series.get("a1")))
        assert (([], False), ([], False)) == (inside, after)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"start": pendulum.naive(2026, 11, 28), "end": T0}, "start"),
            ({"start": T0, "end": pendulum.naive(2026, 11, 29)}, "end"),
            ({"start": "2026-11-28T09:00:00+08:00", "end": T0}, "start"),
            ({"start": T0, "end": ON}, "end"),
            ({"start": T0, "end": T0.subtract(seconds=1)}, "end"),
            ({"start": T0, "end": T0.add(days=1), "limit": 0}, "limit"),
            ({"start": T0, "end": T0.add(days=1), "limit": MAX_PAGE_SIZE + 1}, "limit"),
            ({"start": T0, "end": T0.add(days=1), "after": "not-a-cursor"}, "after"),
        ],
    )
    def test_series_bad_query_arguments_raise_validation_error(
        self, venued: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """Naive or non-instants, a window ending before it starts, bad limits and cursors."""
        with venued() as uow, pytest.raises(ValidationError) as info:
            uow.series.in_venue("v1", **kwargs)  # type: ignore[arg-type]
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.activity_series(venue=_venue("v1", GRID_A, "s1", "s2")))
    def test_generated_series_round_trip(self, venued: UowFactory, drawn: ActivitySeries) -> None:
        """Any series comes back equal at version 1 and is found around its first occurrence."""
        series = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with venued() as uow:
            uow.series.add(series)
            uow.commit()
        first = series.start
        with venued() as uow:
            got = uow.series.get(series.id)
            found = series.id in self.all_series(
                uow, "v1", first, first.add(minutes=1), limit=MAX_PAGE_SIZE
            )
        assert (attrs.evolve(series, version=1), _series_instants(series), True) == (
            got,
            _series_instants(got),
            found,
        )
