"""Scheduling use cases over a store: series, registrations with waitlists, volunteers, a week."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from gridgov import (
    Address,
    GridCell,
    GridLevel,
    Household,
    Resident,
    Store,
    Tag,
    open_store,
)
from gridgov.calendar import Period, WorkCalendar
from gridgov.care.criteria import AgeAtLeast, Criterion, HasTag
from gridgov.errors import (
    ConflictError,
    GridgovError,
    NotFoundError,
    TransitionError,
    ValidationError,
)
from gridgov.scheduling.conflicts import ConflictKind
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange, occurrence_id
from gridgov.scheduling.venues import Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.services.scheduling import (
    Cancellation,
    cancel_registration,
    complete_shift,
    create_series,
    record_attendance,
    register,
    register_for_occurrence,
    report_short_shifts,
    sign_up,
    volunteer_hours,
    week_schedule,
)
from gridgov.services.series_changes import (
    FollowingEdit,
    OccurrenceEdit,
    change_following,
    change_occurrence,
)

TZ = "Asia/Shanghai"
DISTRICT, STREET, COMMUNITY = "610102", "610102003", "610102003006"
GRID = f"{COMMUNITY}001"
B1, B2 = f"{GRID}001", f"{GRID}002"

NOW = pendulum.datetime(2026, 11, 28, 9, tz=TZ)  # Saturday 28 November 2026
WED = pendulum.datetime(2026, 12, 2, 9, 30, tz=TZ)  # the next Wednesday, 09:30
OPEN = (Period(dt.time(9), dt.time(12)), Period(dt.time(14), dt.time(18)))
OPENING = WorkCalendar(hours=dict.fromkeys(range(6), OPEN), years=(2026, 2028), tz=TZ)
VENUE = Venue(
    id="hui",
    name="明宫HUI客厅",
    cell_code=COMMUNITY,
    opening=OPENING,  # Monday to Saturday, 09:00-12:00 and 14:00-18:00
    spaces=(
        Space("painting", "生活共绘", 12),
        Space("books", "绘本馆", 15),
        Space("hall", "邻里会聚", 40),
    ),
)

ELDERS = tuple(f"e{i}" for i in range(1, 9))  # 70, tagged autism_family
YOUNG = "r-young"  # 45, tagged autism_family: passes the tag, not the age
UNTAGGED = "r-untagged"  # 72, no tag: passes the age, not the tag
YOUNG_NAME = "李小明"
WIDE = (pendulum.datetime(2026, 1, 1, tz=TZ), pendulum.datetime(2029, 1, 1, tz=TZ))


def born(age: int) -> pendulum.Date:
    """Return the birth date of someone ``age`` years old on NOW (and the next weeks)."""
    return pendulum.Date(NOW.year - age, 1, 1)


def seed(store: Store) -> Store:
    """Store a grid with two buildings, the venue and ten residents, one per household."""
    people = [
        Resident(rid, "居民" + rid, birth_date=born(70), tags={Tag.AUTISM_FAMILY}) for rid in ELDERS
    ]
    people.append(Resident(YOUNG, YOUNG_NAME, birth_date=born(45), tags={Tag.AUTISM_FAMILY}))
    people.append(Resident(UNTAGGED, "王桂兰", birth_date=born(72)))
    with store() as uow:
        for unit in (
            GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
            GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, STREET),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY),
            GridCell(B1, "铁一村1号楼", GridLevel.BUILDING, GRID),
            GridCell(B2, "铁一村2号楼", GridLevel.BUILDING, GRID),
        ):
            uow.cells.add(unit)
        uow.venues.add(VENUE)
        for i, person in enumerate(people):
            cell = B1 if i % 2 == 0 else B2
            uow.households.add(
                Household(f"h-{person.id}", cell, Address("铁一村"), members=(person,))
            )
        uow.commit()
    return store


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a seeded store of each kind: memory, SQLite, PostgreSQL and MariaDB."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'scheduling.db'}"
    elif request.param == "mysql":
        url = request.getfixturevalue("mysql_database")
    else:
        url = request.getfixturevalue("postgres_schema")
    s = seed(open_store(url))
    yield s
    s.close()


@pytest.fixture
def memory() -> Iterator[Store]:
    """Return a seeded memory store."""
    s = seed(open_store("memory://"))
    yield s
    s.close()


def series(
    sid: str,
    start: pendulum.DateTime = WED,
    minutes: int = 60,
    *,
    space: str = "painting",
    **fields: Any,
) -> ActivitySeries:
    """Return series ``sid`` of the venue in ``space`` (a single occurrence unless ``rrule``)."""
    return ActivitySeries(
        id=sid,
        title=f"活动{sid}",
        organiser="明宫社区",
        venue_id="hui",
        space_id=space,
        start=start,
        minutes=minutes,
        **fields,
    )


def stored_series(store: Store, *new: ActivitySeries) -> None:
    """Create ``new`` series through the service (they must fit) and commit."""
    with store() as uow:
        for s in new:
            plan, kept = create_series(uow, s)
            assert ((), s.id) == (plan.clashes, kept.id if kept else None)
        uow.commit()


def signed(
    store: Store,
    resident_id: str,
    at: pendulum.DateTime,
    *,
    sid: str = "s",
    start: pendulum.DateTime = WED,
    rid: str | None = None,
) -> Registration:
    """Register ``resident_id`` for the occurrence of ``sid`` at ``start`` and commit."""
    with store() as uow:
        r = register(
            uow,
            series_id=sid,
            original_start=start,
            resident_id=resident_id,
            at=at,
            registration_id=rid,
        )
        uow.commit()
    return r


def cancelled(store: Store, registration_id: str) -> Cancellation:
    """Cancel a registration and commit."""
    with store() as uow:
        done = cancel_registration(uow, registration_id, at=NOW)
        uow.commit()
    return done


def states(store: Store, sid: str = "s", start: pendulum.DateTime = WED) -> list[tuple[str, str]]:
    """Return (resident, state) of an occurrence's registrations, in the store's order."""
    with store() as uow:
        found = uow.registrations.for_occurrence(occurrence_id(sid, start))
    return [(r.resident_id, r.state.value) for r in found]


def snapshot(store: Store, *occurrences: str) -> list[tuple[str, str, int]]:
    """Return (id, state, version) of every registration of ``occurrences``, in a fresh unit."""
    with store() as uow:
        return [
            (r.id, r.state.value, r.version)
            for occ in occurrences
            for r in uow.registrations.for_occurrence(occ)
        ]


def at(hours: float) -> pendulum.DateTime:
    """Return NOW plus ``hours``."""
    return NOW.add(minutes=round(hours * 60))


# --- create_series ----------------------------------------------------------------------------


def test_create_series_without_a_clash_stores_it(store: Store) -> None:
    """A series that fits is stored as given (version 1) with an empty plan."""
    weekly = series("paint", rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=4", capacity=8)
    with store() as uow:
        plan, kept = create_series(uow, weekly)
        uow.commit()
    with store() as uow:
        fetched = uow.series.get("paint")
    assert ((), (), attrs.evolve(weekly, version=1)) == (plan.clashes, plan.skipped, fetched)
    assert fetched == kept


def test_create_series_refuses_a_clash_in_the_same_space_and_stores_nothing(store: Store) -> None:
    """A clash with a stored series of the same space gives the plan and None; nothing stored."""
    stored_series(store, series("a", WED, 90))
    with store() as uow:
        plan, kept = create_series(uow, series("b", WED.add(minutes=30), 60))
        uow.commit()
    with store() as uow, pytest.raises(NotFoundError):
        uow.series.get("b")
    clash = [(c.kind, c.occurrence.series_id, c.other and c.other.series_id) for c in plan.clashes]
    assert (None, [(ConflictKind.OVERLAP, "b", "a")]) == (kept, clash)


def test_create_series_at_the_same_time_in_another_space_is_no_clash(store: Store) -> None:
    """Occurrences at once in two spaces of a venue do not clash."""
    stored_series(store, series("a", WED, 90))
    with store() as uow:
        plan, kept = create_series(uow, series("b", WED, 90, space="books"))
    assert ((), "b") == (plan.clashes, kept.id if kept else None)


def test_create_series_skipping_conflicts_stores_the_rest_with_exdates(store: Store) -> None:
    """With skip_conflicts the clashing occurrences become EXDATEs and are listed as skipped."""
    stored_series(store, series("single", WED.add(days=7), 90))
    weekly = series("weekly", WED.add(minutes=30), 60, rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=4")
    clash_at = WED.add(days=7, minutes=30)
    with store() as uow:
        plan, kept = create_series(uow, weekly, skip_conflicts=True)
        uow.commit()
    with store() as uow:
        fetched = uow.series.get("weekly")
    left = fetched.occurrences(*WIDE, calendar=OPENING)
    assert [clash_at] == [o.original_start for o in plan.skipped]
    assert (frozenset({clash_at}), fetched) == (fetched.exdates, kept)
    assert [WED.add(days=d, minutes=30) for d in (0, 14, 21)] == [o.start for o in left]


def test_create_series_skipping_without_a_clash_skips_nothing(memory: Store) -> None:
    """skip_conflicts on a series that fits stores it unchanged."""
    weekly = series("weekly", rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=4")
    with memory() as uow:
        plan, kept = create_series(uow, weekly, skip_conflicts=True)
    assert ((), frozenset(), "weekly") == (plan.skipped, plan.series.exdates, kept and kept.id)


@pytest.mark.parametrize(
    ("start", "minutes"),
    [
        (WED.replace(hour=11, minute=30), 60),  # across lunch
        (WED.add(days=4), 60),  # Sunday: closed
        (WED.replace(hour=8), 60),  # before opening
    ],
)
def test_create_series_outside_opening_hours_is_a_closed_clash(
    store: Store, start: pendulum.DateTime, minutes: int
) -> None:
    """An occurrence outside the venue's hours is a CLOSED clash and nothing is stored."""
    with store() as uow:
        plan, kept = create_series(uow, series("late", start, minutes))
        uow.commit()
    with store() as uow, pytest.raises(NotFoundError):
        uow.series.get("late")
    assert (None, [ConflictKind.CLOSED]) == (kept, [c.kind for c in plan.clashes])


def test_create_series_counts_the_setup_buffer_against_opening_hours(memory: Store) -> None:
    """A 09:00 start with 30 minutes of setup takes the space before the venue opens."""
    with memory() as uow:
        plan, kept = create_series(uow, series("early", WED.replace(minute=0), setup_minutes=30))
    assert (None, [ConflictKind.CLOSED]) == (kept, [c.kind for c in plan.clashes])


def test_never_ending_series_is_checked_over_the_default_year(store: Store) -> None:
    """A series without an end clashes with what is booked half a year on."""
    later = WED.add(weeks=26, minutes=30)  # a Wednesday in June 2027
    stored_series(store, series("june", later, 60))
    forever = series("forever", WED.add(minutes=30), 60, rrule="FREQ=WEEKLY;BYDAY=WE")
    with store() as uow:
        plan, kept = create_series(uow, forever)
        uow.commit()
    with store() as uow, pytest.raises(NotFoundError):
        uow.series.get("forever")
    assert (None, [later]) == (kept, [c.occurrence.start for c in plan.clashes])


def test_never_ending_series_is_checked_over_the_given_horizon_only(memory: Store) -> None:
    """With a four-week horizon, a booking half a year on is not looked at."""
    stored_series(memory, series("june", WED.add(weeks=26, minutes=30), 60))
    forever = series("forever", WED.add(minutes=30), 60, rrule="FREQ=WEEKLY;BYDAY=WE")
    with memory() as uow:
        plan, kept = create_series(uow, forever, horizon=pendulum.duration(weeks=4))
    assert ((), "forever") == (plan.clashes, kept and kept.id)


def test_never_ending_series_skipping_conflicts_excludes_the_one_inside_the_horizon(
    memory: Store,
) -> None:
    """skip_conflicts on a never-ending series makes the clash within the year an EXDATE."""
    later = WED.add(weeks=26, minutes=30)
    stored_series(memory, series("june", later, 60))
    forever = series("forever", WED.add(minutes=30), 60, rrule="FREQ=WEEKLY;BYDAY=WE")
    with memory() as uow:
        _, kept = create_series(uow, forever, skip_conflicts=True)
    assert frozenset({later}) == (kept.exdates if kept else None)


def test_create_series_of_an_unknown_venue_is_not_found(store: Store) -> None:
    """A series of a venue that is not stored raises NotFoundError and stores nothing."""
    with store() as uow:
        with pytest.raises(NotFoundError):
            create_series(uow, attrs.evolve(series("x"), venue_id="nowhere"))
        uow.commit()
    with store() as uow, pytest.raises(NotFoundError):
        uow.series.get("x")


def test_create_series_sees_a_teardown_that_ends_before_its_start(store: Store) -> None:
    """A stored occurrence whose teardown runs into the new series' start is a clash."""
    stored_series(store, series("a", WED, 60, teardown_minutes=30))  # space taken until 11:00
    with store() as uow:
        plan, kept = create_series(uow, series("b", WED.add(minutes=75), 60))  # from 10:45
    assert (None, [ConflictKind.OVERLAP]) == (kept, [c.kind for c in plan.clashes])


# --- register, cancel -------------------------------------------------------------------------


def test_register_confirms_until_capacity_then_waitlists_in_registration_order(
    store: Store,
) -> None:
    """Places go to the first registrants; later ones wait in the order they registered."""
    stored_series(store, series("s", capacity=2))
    made = [signed(store, rid, at(h)) for rid, h in [("e1", 1), ("e2", 2), ("e4", 4), ("e3", 3)]]
    expected = [
        ("e1", "confirmed"),
        ("e2", "confirmed"),
        ("e3", "waitlisted"),
        ("e4", "waitlisted"),
    ]
    assert expected == states(store)
    assert ["confirmed", "confirmed", "waitlisted", "waitlisted"] == [r.state.value for r in made]


def test_register_without_a_capacity_confirms_everyone(memory: Store) -> None:
    """A series without a capacity never waitlists."""
    stored_series(memory, series("s"))
    for i, rid in enumerate(ELDERS):
        signed(memory, rid, at(i))
    assert [(rid, "confirmed") for rid in ELDERS] == states(memory)


def test_cancel_of_a_confirmed_promotes_the_earliest_waitlisted(store: Store) -> None:
    """Cancelling a place moves the first on the waitlist (by registered_at) into it."""
    stored_series(store, series("s", capacity=1))
    first = signed(store, "e1", at(1))
    signed(store, "e3", at(3))
    signed(store, "e2", at(2))
    done = cancelled(store, first.id)
    assert ("e1", "cancelled", "e2", "confirmed") == (
        done.cancelled.resident_id,
        done.cancelled.state.value,
        done.promoted and done.promoted.resident_id,
        done.promoted and done.promoted.state.value,
    )
    assert [("e1", "cancelled"), ("e2", "confirmed"), ("e3", "waitlisted")] == states(store)


def test_waitlist_order_is_the_instant_whatever_the_time_zone(store: Store) -> None:
    """registered_at orders the waitlist as instants: an earlier UTC time goes first."""
    stored_series(store, series("s", capacity=1))
    first = signed(store, "e1", at(0))
    # 03:30 UTC is 11:30 in Shanghai: later than 11:00 there, though its text sorts first.
    signed(store, "e2", pendulum.datetime(2026, 11, 28, 3, 30, tz="UTC"))
    signed(store, "e3", pendulum.datetime(2026, 11, 28, 11, 0, tz=TZ))
    done = cancelled(store, first.id)
    assert "e3" == (done.promoted and done.promoted.resident_id)


def test_waitlist_ties_on_registered_at_go_by_id(store: Store) -> None:
    """Two registrations at the same instant wait in the order of their ids."""
    stored_series(store, series("s", capacity=1))
    first = signed(store, "e1", at(0))
    signed(store, "e2", at(1), rid="reg-b")
    signed(store, "e3", at(1), rid="reg-a")
    assert "reg-a" == (cancelled(store, first.id).promoted or first).id


def test_cancel_of_a_waitlisted_promotes_nobody(store: Store) -> None:
    """Leaving the waitlist frees no place: nobody moves."""
    stored_series(store, series("s", capacity=1))
    signed(store, "e1", at(1))
    waiting = signed(store, "e2", at(2))
    signed(store, "e3", at(3))
    done = cancelled(store, waiting.id)
    assert None is done.promoted
    assert [("e1", "confirmed"), ("e2", "cancelled"), ("e3", "waitlisted")] == states(store)


def test_cancel_twice_is_a_transition_error(store: Store) -> None:
    """A cancelled registration cannot be cancelled again, and stays as it was."""
    stored_series(store, series("s", capacity=1))
    first = signed(store, "e1", at(1))
    cancelled(store, first.id)
    before = snapshot(store, first.occurrence_id)
    with store() as uow:
        with pytest.raises(TransitionError):
            cancel_registration(uow, first.id, at=NOW)
        uow.commit()
    assert before == snapshot(store, first.occurrence_id)


def test_cancel_of_an_unknown_registration_is_not_found(memory: Store) -> None:
    """Cancelling a registration that does not exist raises NotFoundError."""
    with memory() as uow, pytest.raises(NotFoundError):
        cancel_registration(uow, "nope", at=NOW)


def test_register_again_after_cancelling(store: Store) -> None:
    """A resident who cancelled may register again for the same occurrence."""
    stored_series(store, series("s", capacity=4))
    first = signed(store, "e1", at(1))
    cancelled(store, first.id)
    again = signed(store, "e1", at(2))
    assert [("e1", "cancelled"), ("e1", "confirmed")] == states(store)
    assert first.id != again.id


ELIGIBILITY: list[tuple[Criterion, str, str]] = [
    (HasTag(Tag.AUTISM_FAMILY), UNTAGGED, "tagged family of an autistic child"),
    (AgeAtLeast(60), YOUNG, "age >= 60"),
]


@pytest.mark.parametrize(("rule", "resident_id", "named"), ELIGIBILITY)
def test_register_refuses_an_ineligible_resident_naming_the_rule_only(
    store: Store, rule: Criterion, resident_id: str, named: str
) -> None:
    """The error is on resident_id, names the rule, and repeats no personal fact."""
    stored_series(store, series("s", capacity=8, eligibility=rule))
    with store() as uow:
        with pytest.raises(ValidationError) as info:
            register(uow, series_id="s", original_start=WED, resident_id=resident_id, at=NOW)
        uow.commit()
    message = str(info.value)
    leaked = [fact for fact in ("45", "72", YOUNG_NAME, "王桂兰", resident_id) if fact in message]
    assert ("resident_id", True, []) == (info.value.path, named in info.value.problem, leaked)
    assert [] == snapshot(store, occurrence_id("s", WED))


@pytest.mark.parametrize(
    ("rule", "resident_id"), [(HasTag(Tag.AUTISM_FAMILY), YOUNG), (AgeAtLeast(60), UNTAGGED)]
)
def test_register_accepts_an_eligible_resident(
    memory: Store, rule: Criterion, resident_id: str
) -> None:
    """A resident the rule admits registers (the refusals above are about the rule)."""
    stored_series(memory, series("s", capacity=8, eligibility=rule))
    assert RegistrationState.CONFIRMED == signed(memory, resident_id, NOW).state


def test_register_for_an_overlapping_occurrence_of_another_series_conflicts(
    store: Store,
) -> None:
    """A resident holding a place in one occurrence cannot take an overlapping one."""
    stored_series(store, series("s", WED, 90), series("t", WED.add(minutes=60), 60, space="books"))
    signed(store, "e1", NOW)
    target = occurrence_id("t", WED.add(minutes=60))
    with store() as uow:
        with pytest.raises(ConflictError):
            register(
                uow,
                series_id="t",
                original_start=WED.add(minutes=60),
                resident_id="e1",
                at=NOW,
            )
        uow.commit()
    assert [] == snapshot(store, target)


def test_register_for_an_adjacent_occurrence_is_fine(memory: Store) -> None:
    """Occurrences that only touch do not overlap."""
    stored_series(memory, series("s", WED, 60), series("t", WED.add(minutes=60), 60, space="books"))
    signed(memory, "e1", NOW)
    assert (
        RegistrationState.CONFIRMED
        == signed(memory, "e1", NOW, sid="t", start=WED.add(hours=1)).state
    )


def test_register_twice_for_the_same_occurrence_conflicts(store: Store) -> None:
    """The same resident registering again for an occurrence is a ConflictError."""
    stored_series(store, series("s", capacity=1))
    signed(store, "e2", NOW)
    signed(store, "e1", NOW.add(minutes=1))  # waitlisted: still active
    before = snapshot(store, occurrence_id("s", WED))
    with store() as uow:
        with pytest.raises(ConflictError):
            register(
                uow,
                series_id="s",
                original_start=WED,
                resident_id="e1",
                at=NOW.add(minutes=2),
                registration_id="another-key",
            )
        uow.commit()
    assert before == snapshot(store, occurrence_id("s", WED))


def refused(
    store: Store, error: type[GridgovError], occurrence: str, **kwargs: Any
) -> GridgovError:
    """Check that register(**kwargs) raises ``error`` and stores nothing for ``occurrence``."""
    before = snapshot(store, occurrence)
    with store() as uow:
        with pytest.raises(error) as info:
            register(uow, **kwargs)
        uow.commit()
    assert before == snapshot(store, occurrence)
    return info.value


def test_register_for_a_cancelled_occurrence_is_refused(store: Store) -> None:
    """A cancelled occurrence takes no registration (ValidationError on original_start)."""
    weekly = series("s", rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=3")
    stored_series(store, weekly.changed(OccurrenceChange(WED.add(days=7), cancelled=True)))
    err = refused(
        store,
        ValidationError,
        occurrence_id("s", WED.add(days=7)),
        series_id="s",
        original_start=WED.add(days=7),
        resident_id="e1",
        at=NOW,
    )
    assert "original_start" == getattr(err, "path", None)


@pytest.mark.parametrize("when", [WED, WED.add(minutes=10)])
def test_register_for_an_occurrence_already_started_is_refused(
    store: Store, when: pendulum.DateTime
) -> None:
    """From its start on, an occurrence takes no registration."""
    stored_series(store, series("s"))
    err = refused(
        store,
        ValidationError,
        occurrence_id("s", WED),
        series_id="s",
        original_start=WED,
        resident_id="e1",
        at=when,
    )
    assert "original_start" == getattr(err, "path", None)


def test_register_for_a_start_the_rule_does_not_give_is_refused(memory: Store) -> None:
    """An original_start that is no occurrence of the series is a ValidationError."""
    stored_series(memory, series("s", rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=3"))
    err = refused(
        memory,
        ValidationError,
        occurrence_id("s", WED.add(days=1)),
        series_id="s",
        original_start=WED.add(days=1),
        resident_id="e1",
        at=NOW,
    )
    assert "original_start" == getattr(err, "path", None)


def test_register_an_unknown_resident_is_refused(store: Store) -> None:
    """A resident who is not in the ledger is a ValidationError on resident_id."""
    stored_series(store, series("s"))
    err = refused(
        store,
        ValidationError,
        occurrence_id("s", WED),
        series_id="s",
        original_start=WED,
        resident_id="nobody",
        at=NOW,
    )
    assert "resident_id" == getattr(err, "path", None)


def test_register_at_a_naive_instant_is_refused(store: Store) -> None:
    """A naive ``at`` is a ValidationError on ``at``."""
    stored_series(store, series("s"))
    err = refused(
        store,
        ValidationError,
        occurrence_id("s", WED),
        series_id="s",
        original_start=WED,
        resident_id="e1",
        at=pendulum.naive(2026, 11, 28, 9),
    )
    assert "at" == getattr(err, "path", None)


def test_register_for_an_unknown_series_is_not_found(memory: Store) -> None:
    """A series that is not stored raises NotFoundError."""
    refused(
        memory,
        NotFoundError,
        occurrence_id("ghost", WED),
        series_id="ghost",
        original_start=WED,
        resident_id="e1",
        at=NOW,
    )


def test_register_copies_the_occurrence_and_household(store: Store) -> None:
    """The registration records the occurrence's times, the venue and the resident's cell."""
    stored_series(store, series("s", WED, 90, capacity=3))
    r = signed(store, "e2", NOW)
    expected = ("s", "hui", "h-e2", B2, WED, WED.add(minutes=90), NOW, occurrence_id("s", WED))
    actual = (
        r.series_id,
        r.venue_id,
        r.household_id,
        r.cell_code,
        r.start,
        r.end,
        r.registered_at,
        r.occurrence_id,
    )
    assert expected == actual


# --- the waitlist as a state machine -----------------------------------------------------------

POOL = ELDERS


class WaitlistMachine(RuleBasedStateMachine):
    """Registrations and cancellations on one occurrence of capacity 1-4, against a model."""

    def __init__(self) -> None:
        super().__init__()
        self.store = seed(open_store("memory://"))
        self.capacity = 1
        self.count = 0
        # id -> (resident, registered_at, state): what the service should have stored.
        self.model: dict[str, tuple[str, pendulum.DateTime, RegistrationState]] = {}

    @initialize(capacity=st.integers(min_value=1, max_value=4))
    def create(self, capacity: int) -> None:
        """Store the series."""
        self.capacity = capacity
        stored_series(self.store, series("s", capacity=capacity))

    def active(self) -> list[str]:
        """Return the ids of the model's active registrations."""
        live = (RegistrationState.CONFIRMED, RegistrationState.WAITLISTED)
        return [k for k, (_, _, state) in self.model.items() if state in live]

    def waitlist(self) -> list[str]:
        """Return the model's waitlist, by registered_at then id."""
        waiting = [k for k, v in self.model.items() if v[2] is RegistrationState.WAITLISTED]
        return sorted(waiting, key=lambda k: (self.model[k][1], k))

    def idle(self) -> list[str]:
        """Return the residents of the pool without an active registration."""
        holders = {self.model[k][0] for k in self.active()}
        return [r for r in POOL if r not in holders]

    @precondition(lambda self: bool(self.idle()))
    @rule(data=st.data(), minutes=st.integers(min_value=0, max_value=600))
    def join_idle(self, data: st.DataObject, minutes: int) -> None:
        """Register a resident who holds no registration (grows the waitlist)."""
        self.join(data.draw(st.sampled_from(self.idle())), minutes)

    @rule(resident=st.sampled_from(POOL), minutes=st.integers(min_value=0, max_value=600))
    def join(self, resident: str, minutes: int) -> None:
        """Register a resident (any time before the occurrence); refused if already active."""
        self.count += 1
        rid = f"reg-{self.count:03d}"
        when = NOW.add(minutes=minutes)
        holds = any(self.model[k][0] == resident for k in self.active())
        with self.store() as uow:
            try:
                made = register(
                    uow,
                    series_id="s",
                    original_start=WED,
                    resident_id=resident,
                    at=when,
                    registration_id=rid,
                )
            except ConflictError:
                assert holds
                return
            uow.commit()
        assert not holds
        confirmed = sum(1 for v in self.model.values() if v[2] is RegistrationState.CONFIRMED)
        expected = (
            RegistrationState.CONFIRMED
            if confirmed < self.capacity
            else RegistrationState.WAITLISTED
        )
        assert expected == made.state
        self.model[rid] = (resident, when, made.state)

    @precondition(lambda self: bool(self.active()))
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        """Cancel a random active registration; a freed place goes to the first waiting."""
        live = self.active()
        rid = data.draw(st.sampled_from(sorted(live)))
        resident, when, state = self.model[rid]
        waiting = self.waitlist()
        expected = waiting[0] if state is RegistrationState.CONFIRMED and waiting else None
        done = cancelled(self.store, rid)
        assert expected == (done.promoted.id if done.promoted else None)
        self.model[rid] = (resident, when, RegistrationState.CANCELLED)
        if expected is not None:
            r, w, _ = self.model[expected]
            self.model[expected] = (r, w, RegistrationState.CONFIRMED)

    def stored(self) -> tuple[Registration, ...]:
        """Return the occurrence's registrations as stored."""
        with self.store() as uow:
            return uow.registrations.for_occurrence(occurrence_id("s", WED))

    @invariant()
    def matches_the_model(self) -> None:
        """The store holds exactly the model's registrations and states."""
        expected = {k: v[2] for k, v in self.model.items()}
        assert expected == {r.id: r.state for r in self.stored()}

    @invariant()
    def confirmed_within_capacity(self) -> None:
        """No more confirmed than the capacity."""
        confirmed = [r for r in self.stored() if r.state is RegistrationState.CONFIRMED]
        assert len(confirmed) <= self.capacity

    @invariant()
    def nobody_waits_while_a_place_is_free(self) -> None:
        """A waitlist exists only when every place is taken."""
        found = self.stored()
        confirmed = sum(1 for r in found if r.state is RegistrationState.CONFIRMED)
        waiting = sum(1 for r in found if r.state is RegistrationState.WAITLISTED)
        assert waiting == 0 or confirmed == self.capacity

    @invariant()
    def waitlist_in_registration_order(self) -> None:
        """The stored order of the waitlist is registered_at order (then id)."""
        waiting = [r for r in self.stored() if r.state is RegistrationState.WAITLISTED]
        assert sorted(waiting, key=lambda r: (r.registered_at, r.id)) == waiting

    @invariant()
    def one_active_registration_each(self) -> None:
        """Each resident holds at most one active registration."""
        holders = [r.resident_id for r in self.stored() if r.is_active]
        assert sorted(set(holders)) == sorted(holders)

    def teardown(self) -> None:
        """Close the store."""
        self.store.close()


TestWaitlist = WaitlistMachine.TestCase
TestWaitlist.settings = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- attendance -------------------------------------------------------------------------------


def test_record_attendance_marks_attended_and_no_show(store: Store) -> None:
    """After the start a confirmed registration becomes attended or no-show, and is stored."""
    stored_series(store, series("s", capacity=3))
    came = signed(store, "e1", NOW)
    away = signed(store, "e2", NOW)
    with store() as uow:
        record_attendance(uow, came.id, attended=True, at=WED)
        record_attendance(uow, away.id, attended=False, at=WED.add(hours=2))
        uow.commit()
    assert [("e1", "attended"), ("e2", "no_show")] == states(store)


def test_record_attendance_of_a_waitlisted_is_a_transition_error(store: Store) -> None:
    """Only a confirmed registration has an attendance to record."""
    stored_series(store, series("s", capacity=1))
    signed(store, "e1", NOW)
    waiting = signed(store, "e2", NOW.add(minutes=1))
    with store() as uow:
        with pytest.raises(TransitionError):
            record_attendance(uow, waiting.id, attended=True, at=WED.add(hours=1))
        uow.commit()
    assert [("e1", "confirmed"), ("e2", "waitlisted")] == states(store)


def test_record_attendance_twice_is_a_transition_error(memory: Store) -> None:
    """Attendance is recorded once: an attended registration is no longer confirmed."""
    stored_series(memory, series("s"))
    r = signed(memory, "e1", NOW)
    with memory() as uow:
        record_attendance(uow, r.id, attended=True, at=WED)
        with pytest.raises(TransitionError):
            record_attendance(uow, r.id, attended=False, at=WED)


def test_record_attendance_before_the_start_is_refused(store: Store) -> None:
    """Attendance before the occurrence starts is a ValidationError on ``at``."""
    stored_series(store, series("s"))
    r = signed(store, "e1", NOW)
    with store() as uow:
        with pytest.raises(ValidationError) as info:
            record_attendance(uow, r.id, attended=True, at=WED.subtract(minutes=1))
        uow.commit()
    assert ("at", [("e1", "confirmed")]) == (info.value.path, states(store))


# --- volunteers -------------------------------------------------------------------------------

FRIDAY = pendulum.datetime(2026, 12, 4, 8, 30, tz=TZ)


def shift(
    sid: str,
    start: pendulum.DateTime = FRIDAY,
    minutes: int = 90,
    *,
    required: int = 2,
    skills: frozenset[str] = frozenset(),
) -> Shift:
    """Return a shift at the venue."""
    return Shift(sid, "hui", "社区卫生清扫", start, start.add(minutes=minutes), required, skills)


def stored_shifts(store: Store, *shifts: Shift) -> None:
    """Store ``shifts`` and commit."""
    with store() as uow:
        for one in shifts:
            uow.shifts.add(one)
        uow.commit()


def volunteered(store: Store, shift_id: str, *residents: str, **kwargs: Any) -> list[SignUp]:
    """Sign ``residents`` up for a shift (at NOW) and commit."""
    with store() as uow:
        done = [sign_up(uow, shift_id=shift_id, resident_id=r, at=NOW, **kwargs) for r in residents]
        uow.commit()
    return done


def signups(store: Store, shift_id: str) -> list[tuple[str, str, float]]:
    """Return (resident, state, hours) of a shift's sign-ups."""
    with store() as uow:
        return [(s.resident_id, s.state.value, s.hours) for s in uow.signups.for_shift(shift_id)]


def test_sign_up_until_the_shift_is_full(store: Store) -> None:
    """A shift takes its required volunteers; the next one is a ConflictError, not stored."""
    stored_shifts(store, shift("clean"))
    volunteered(store, "clean", "e1", "e2")
    with store() as uow:
        with pytest.raises(ConflictError):
            sign_up(uow, shift_id="clean", resident_id="e3", at=NOW)
        uow.commit()
    assert [("e1", "signed_up", 0.0), ("e2", "signed_up", 0.0)] == signups(store, "clean")


def test_sign_up_without_the_skills_names_the_missing_ones(store: Store) -> None:
    """Missing skills are a ValidationError on ``skills`` naming each missing skill."""
    stored_shifts(store, shift("clinic", skills=frozenset({"first_aid", "nursing", "driving"})))
    with store() as uow:
        with pytest.raises(ValidationError) as info:
            sign_up(uow, shift_id="clinic", resident_id="e1", at=NOW, skills={"driving", "x"})
        uow.commit()
    named = [s for s in ("first_aid", "nursing", "driving") if s in info.value.problem]
    assert ("skills", ["first_aid", "nursing"], []) == (
        info.value.path,
        named,
        signups(store, "clinic"),
    )


def test_sign_up_with_the_skills_is_accepted(memory: Store) -> None:
    """A volunteer with the shift's skills (and more) signs up."""
    stored_shifts(memory, shift("clinic", skills=frozenset({"first_aid"})))
    volunteered(memory, "clinic", "e1", skills={"first_aid", "driving"})
    assert [("e1", "signed_up", 0.0)] == signups(memory, "clinic")


def test_sign_up_for_an_overlapping_shift_conflicts(store: Store) -> None:
    """A volunteer signed up for one shift cannot take an overlapping one."""
    stored_shifts(store, shift("clean"), shift("books", FRIDAY.add(hours=1), 120))
    volunteered(store, "clean", "e1")
    with store() as uow:
        with pytest.raises(ConflictError):
            sign_up(uow, shift_id="books", resident_id="e1", at=NOW)
        uow.commit()
    assert [] == signups(store, "books")


def test_sign_up_after_the_shift_started_is_refused(store: Store) -> None:
    """From its start on, a shift takes no volunteer (ValidationError on shift_id)."""
    stored_shifts(store, shift("clean"))
    with store() as uow:
        with pytest.raises(ValidationError) as info:
            sign_up(uow, shift_id="clean", resident_id="e1", at=FRIDAY)
        uow.commit()
    assert ("shift_id", []) == (info.value.path, signups(store, "clean"))


def test_sign_up_of_an_unknown_resident_is_refused(memory: Store) -> None:
    """A volunteer who is not in the ledger is a ValidationError on resident_id."""
    stored_shifts(memory, shift("clean"))
    with memory() as uow, pytest.raises(ValidationError) as info:
        sign_up(uow, shift_id="clean", resident_id="nobody", at=NOW)
    assert "resident_id" == info.value.path


def test_a_shift_short_of_hands_is_reported_once(store: Store) -> None:
    """Short and starting within 48 hours: reported once; full or later shifts: never."""
    stored_shifts(
        store,
        shift("short", NOW.add(hours=24)),
        shift("full", NOW.add(hours=26), required=1),
        shift("later", NOW.add(days=5)),
    )
    volunteered(store, "short", "e1")
    volunteered(store, "full", "e2")
    reported = []
    for _ in range(2):
        with store() as uow:
            reported.append(
                [
                    (e.shift_id, e.required, e.signed_up)
                    for e in report_short_shifts(uow, DISTRICT, now=NOW)
                ]
            )
            uow.commit()
    with store() as uow:
        stored = [e.type for e in uow.outbox.for_aggregate("shift", "short")]
    assert ([[("short", 2, 1)], []], ["scheduling.shift_short"]) == (reported, stored)


def test_a_moved_short_shift_is_reported_again(memory: Store) -> None:
    """A short shift that moved is news again: reported at its new start."""
    stored_shifts(memory, shift("short", NOW.add(hours=24)))
    with memory() as uow:
        report_short_shifts(uow, DISTRICT, now=NOW)
        moved = attrs.evolve(
            uow.shifts.get("short"), start=NOW.add(hours=30), end=NOW.add(hours=31)
        )
        uow.shifts.update(moved)
        again = report_short_shifts(uow, DISTRICT, now=NOW)
        uow.commit()
    assert [NOW.add(hours=30)] == [e.start for e in again]


def test_complete_shift_credits_those_present_only(store: Store) -> None:
    """Those present get the shift's hours; the others are no-shows with none."""
    stored_shifts(store, shift("clean", required=3))
    volunteered(store, "clean", "e1", "e2", "e3")
    with store() as uow:
        done = complete_shift(uow, "clean", present=["e1", "e3"], at=FRIDAY.add(minutes=90))
        uow.commit()
    expected = [("e1", "completed", 1.5), ("e2", "no_show", 0.0), ("e3", "completed", 1.5)]
    assert expected == signups(store, "clean")
    assert expected == [(s.resident_id, s.state.value, s.hours) for s in done]


def test_complete_shift_naming_someone_not_signed_up_is_refused(store: Store) -> None:
    """``present`` naming a non-volunteer is a ValidationError on present; nothing changes."""
    stored_shifts(store, shift("clean"))
    volunteered(store, "clean", "e1")
    with store() as uow:
        with pytest.raises(ValidationError) as info:
            complete_shift(uow, "clean", present=["e1", "e5"], at=FRIDAY.add(hours=2))
        uow.commit()
    assert ("present", [("e1", "signed_up", 0.0)]) == (info.value.path, signups(store, "clean"))


def test_complete_shift_before_it_ended_is_refused(store: Store) -> None:
    """A shift is completed once over: before its end is a ValidationError on ``at``."""
    stored_shifts(store, shift("clean"))
    volunteered(store, "clean", "e1")
    with store() as uow:
        with pytest.raises(ValidationError) as info:
            complete_shift(uow, "clean", present=["e1"], at=FRIDAY.add(minutes=89))
        uow.commit()
    assert ("at", [("e1", "signed_up", 0.0)]) == (info.value.path, signups(store, "clean"))


def test_volunteer_hours_sum_completed_shifts_starting_in_the_period(store: Store) -> None:
    """Hours add up per resident over [since, until); no-shows and other periods count nothing."""
    weeks = [FRIDAY.add(weeks=w) for w in range(4)]  # 4, 11, 18, 25 December
    stored_shifts(
        store,
        *(shift(f"clean-{w}", start, 90, required=3) for w, start in enumerate(weeks)),
        shift("extra", FRIDAY.add(days=1, hours=6), 45),
    )
    for w in range(4):
        volunteered(store, f"clean-{w}", "e1", "e2", "e3")
    volunteered(store, "extra", "e1")
    with store() as uow:
        for w, start in enumerate(weeks):
            came = ["e1", "e2"] if w != 1 else ["e1"]
            complete_shift(uow, f"clean-{w}", present=came, at=start.add(hours=3))
        complete_shift(uow, "extra", present=["e1"], at=FRIDAY.add(days=2))
        uow.commit()
    since, until = weeks[0], weeks[3]  # the last shift starts at ``until``: left out
    with store() as uow:
        hours = volunteer_hours(uow, ["e1", "e2", "e3", "e4"], since=since, until=until)
    assert {"e1": 5.25, "e2": 3.0, "e3": 0.0, "e4": 0.0} == hours


def test_volunteer_hours_refuse_a_reversed_period(memory: Store) -> None:
    """A period ending before it starts is a ValidationError on until."""
    with memory() as uow, pytest.raises(ValidationError) as info:
        volunteer_hours(uow, ["e1"], since=NOW, until=NOW.subtract(days=1))
    assert "until" == info.value.path


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=5),
    present=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_volunteer_hours_are_the_sum_of_present_shifts(
    lengths: list[int], present: list[bool]
) -> None:
    """Over any set of weekly shifts, a volunteer's hours are those of the shifts they came to."""
    s = seed(open_store("memory://"))
    quarters = [q * 15 for q in lengths]
    starts = [FRIDAY.add(weeks=w) for w in range(len(lengths))]
    stored_shifts(
        s, *(shift(f"w{w}", t, m) for w, (t, m) in enumerate(zip(starts, quarters, strict=True)))
    )
    with s() as uow:
        for w, t in enumerate(starts):
            sign_up(uow, shift_id=f"w{w}", resident_id="e1", at=NOW)
            complete_shift(uow, f"w{w}", present=["e1"] if present[w] else [], at=t.add(days=1))
        uow.commit()
    with s() as uow:
        hours = volunteer_hours(uow, ["e1"], since=NOW, until=NOW.add(years=1))
    expected = round(
        sum(m / 60 for m, p in zip(quarters, present[: len(quarters)], strict=True) if p), 2
    )
    assert {"e1": expected} == hours


# --- the week's programme ---------------------------------------------------------------------


def test_week_schedule_lists_each_space_in_venue_order_with_fill(store: Store) -> None:
    """Per space, in the venue's order: the week's occurrences with confirmed and waitlisted."""
    weekly = series("paint", rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=3", capacity=2)
    weekly = weekly.changed(OccurrenceChange(WED.add(days=7), cancelled=True))
    stored_series(
        store,
        weekly,
        series("talk", WED.add(days=1, hours=5), 90, space="hall", capacity=40),
        series("early", NOW.subtract(days=1).replace(hour=10), space="books"),  # the day before
        series("later", NOW.add(days=7, hours=1), space="books"),  # just after the week
    )
    for i, rid in enumerate(("e1", "e2", "e3", "e4")):
        signed(store, rid, at(i), sid="paint")
    signed(store, "e5", NOW, sid="talk", start=WED.add(days=1, hours=5))
    with store() as uow:
        week = week_schedule(uow, "hui", start=NOW)
        later = week_schedule(uow, "hui", start=NOW.add(days=7))
    rows = {
        space: [(e.occurrence.id, e.confirmed, e.waitlisted, e.fill) for e in entries]
        for space, entries in week.by_space.items()
    }
    expected = {
        "painting": [(occurrence_id("paint", WED), 2, 2, 1.0)],
        "books": [],
        "hall": [(occurrence_id("talk", WED.add(days=1, hours=5)), 1, 0, 1 / 40)],
    }
    assert ["painting", "books", "hall"] == list(week.by_space)
    assert ("hui", NOW, expected) == (week.venue_id, week.start, rows)
    # The next week holds the cancelled Wednesday: left out.
    assert [] == [e.occurrence.id for e in later.by_space["painting"]]
    assert [occurrence_id("later", NOW.add(days=7, hours=1))] == [
        e.occurrence.id for e in later.by_space["books"]
    ]


def test_week_schedule_counts_attended_as_taken(memory: Store) -> None:
    """An attended registration still holds its place in the fill."""
    stored_series(memory, series("s", capacity=2))
    r = signed(memory, "e1", NOW)
    with memory() as uow:
        record_attendance(uow, r.id, attended=True, at=WED)
        entry = week_schedule(uow, "hui", start=NOW).by_space["painting"][0]
    assert (1, 0, 0.5) == (entry.confirmed, entry.waitlisted, entry.fill)


def test_week_schedule_without_capacity_has_no_fill(memory: Store) -> None:
    """An occurrence without a capacity has no fill ratio."""
    stored_series(memory, series("s"))
    signed(memory, "e1", NOW)
    with memory() as uow:
        entry = week_schedule(uow, "hui", start=NOW).by_space["painting"][0]
    assert (1, None) == (entry.confirmed, entry.fill)


def test_week_schedule_of_an_unknown_venue_is_not_found(memory: Store) -> None:
    """A venue that is not stored raises NotFoundError."""
    with memory() as uow, pytest.raises(NotFoundError):
        week_schedule(uow, "nowhere", start=NOW)


# --- change_occurrence ------------------------------------------------------------------------


def changed(store: Store, sid: str, change: OccurrenceChange) -> OccurrenceEdit:
    """Change one occurrence of ``sid`` and commit."""
    with store() as uow:
        edit = change_occurrence(uow, sid, change, at=NOW)
        uow.commit()
    return edit


def test_cancelling_an_occurrence_cancels_its_registrations_with_the_reason(
    store: Store,
) -> None:
    """The confirmed and the waitlisted are cancelled with the occurrence, the note as reason."""
    stored_series(store, series("s", capacity=2))
    for i, resident in enumerate(ELDERS[:3]):
        signed(store, resident, at(i))
    edit = changed(store, "s", OccurrenceChange(WED, cancelled=True, note="停电检修"))
    expected = [(r, "cancelled") for r in ELDERS[:3]]
    assert (expected, 3) == (states(store), len(edit.moved))
    assert {"the occurrence was cancelled: 停电检修"} == {m.why_en for m in edit.moved}
    assert {None} == {m.new for m in edit.moved}


def test_moving_an_occurrence_into_a_clash_stores_nothing(store: Store) -> None:
    """A move onto another activity's slot in the same space is refused, naming the overlap."""
    later = WED.add(hours=1)
    stored_series(store, series("s"), series("t", later))
    signed(store, ELDERS[0], at(0))
    edit = changed(store, "s", OccurrenceChange(WED, start=later))
    with store() as uow:
        version = uow.series.get("s").version
    assert (False, [ConflictKind.OVERLAP], 1) == (
        edit.done,
        [c.kind for c in edit.clashes],
        version,
    )
    assert [(ELDERS[0], "confirmed")] == states(store)


def test_moving_an_occurrence_moves_its_registrations(store: Store) -> None:
    """Registrations follow their occurrence to the new day, each reported with its reason."""
    stored_series(store, series("s", capacity=1))
    signed(store, ELDERS[0], at(0))
    signed(store, ELDERS[1], at(1))
    thursday = WED.add(days=1)
    edit = changed(store, "s", OccurrenceChange(WED, start=thursday))
    with store() as uow:
        moved = uow.registrations.for_occurrence(occurrence_id("s", WED))
    expected = [(ELDERS[0], "confirmed", thursday), (ELDERS[1], "waitlisted", thursday)]
    assert expected == [(r.resident_id, r.state.value, r.start) for r in moved]
    assert [thursday, thursday] == [m.new for m in edit.moved]


def test_a_registrant_booked_at_the_new_time_is_cancelled_with_the_reason(
    store: Store,
) -> None:
    """Moving onto a time a registrant is booked for elsewhere cancels that registration only."""
    thursday = WED.add(days=1)
    stored_series(store, series("s"), series("u", thursday, space="books"))
    signed(store, ELDERS[0], at(0))
    signed(store, ELDERS[0], at(0), sid="u", start=thursday)
    signed(store, ELDERS[1], at(1))
    edit = changed(store, "s", OccurrenceChange(WED, start=thursday))
    assert [(ELDERS[0], "cancelled"), (ELDERS[1], "confirmed")] == states(store)
    assert [None, thursday] == [m.new for m in edit.moved]
    assert occurrence_id("u", thursday) in edit.moved[0].why_en


def test_racing_series_plans_never_book_one_slot_twice(store: Store) -> None:
    """Four activities planned at once for the same slot and space: one is stored."""
    gate = threading.Barrier(4)
    stored: list[str] = []

    def plan(sid: str) -> None:
        gate.wait(timeout=30)
        for _ in range(50):
            try:
                with store() as uow:
                    _, kept = create_series(uow, series(sid))
                    uow.commit()
                if kept is not None:
                    stored.append(sid)
                return
            except ConflictError:
                continue

    threads = [threading.Thread(target=plan, args=(f"race{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert 1 == len(stored)


def test_a_place_freed_by_a_move_goes_to_the_waitlist(store: Store) -> None:
    """A registrant booked elsewhere at the new time is cancelled; the first waiting gets in."""
    thursday = WED.add(days=1)
    stored_series(store, series("s", capacity=1), series("u", thursday, space="books"))
    signed(store, ELDERS[0], at(0))
    signed(store, ELDERS[1], at(1))
    signed(store, ELDERS[0], at(2), sid="u", start=thursday)
    changed(store, "s", OccurrenceChange(WED, start=thursday))
    assert [(ELDERS[0], "cancelled"), (ELDERS[1], "confirmed")] == states(store)


def test_register_for_an_occurrence_by_its_id(store: Store) -> None:
    """A platform registers by the occurrence id week_schedule shows; bad ids name the field."""
    stored_series(store, series("s", capacity=1))
    with store() as uow:
        made = register_for_occurrence(
            uow, occurrence_id=occurrence_id("s", WED), resident_id=ELDERS[0], at=NOW
        )
        uow.commit()
    problems = []
    for bad in ("s", "s@20261302T013000Z", "@20261202T013000Z", 7):
        with store() as uow, pytest.raises(ValidationError) as info:
            register_for_occurrence(uow, occurrence_id=bad, resident_id=ELDERS[1], at=NOW)  # type: ignore[arg-type]
        problems.append(info.value.path)
    assert [(ELDERS[0], "confirmed")] == states(store)
    assert (occurrence_id("s", WED), ["occurrence_id"] * 4) == (made.occurrence_id, problems)


# -- this and following (change_following) ----------------------------------------------------

WEEKLY = "FREQ=WEEKLY;COUNT=6"  # Wednesdays 2 December 2026 to 6 January 2027


def _weekly_with_bookings(store: Store, capacity: int = 4) -> None:
    """Store a weekly painting class and book three elders on its third and fourth Wednesdays."""
    stored_series(store, series("s", rrule=WEEKLY, capacity=capacity))
    for week in (2, 3):
        for i, elder in enumerate(ELDERS[:3]):
            signed(store, elder, NOW.add(minutes=i), start=WED.add(weeks=week))


def _following(store: Store, **change: Any) -> FollowingEdit:
    with store() as uow:
        edit = change_following(uow, "s", WED.add(weeks=2), at=NOW.add(hours=1), **change)
        uow.commit()
    return edit


def _bookings(store: Store) -> list[tuple[str, str, str]]:
    """Return every registration as (occurrence, resident, state), sorted."""
    with store() as uow:
        found = [
            r
            for week in range(6)
            for sid in ("s", "s.20261216T013000Z")
            for original in (WED.add(weeks=week), WED.add(weeks=week, hours=5))
            for r in uow.registrations.for_occurrence(occurrence_id(sid, original))
        ]
    return sorted((r.occurrence_id, r.resident_id, r.state.value) for r in found)


def test_moving_this_and_following_moves_their_bookings(store: Store) -> None:
    """Moving the third Wednesday and after to 14:30 splits the series, and the bookings follow."""
    _weekly_with_bookings(store)

    edit = _following(store, start=WED.add(weeks=2, hours=5))

    assert edit.done
    assert edit.following is not None
    assert ("s", "s.20261216T013000Z") == (edit.series.id, edit.following.id)
    with store() as uow:
        head = uow.series.get("s")
        tail = uow.series.get("s.20261216T013000Z")
    assert [WED, WED.add(weeks=1)] == [o.start for o in head.occurrences(*WIDE)]
    assert [WED.add(weeks=w, hours=5) for w in range(2, 6)] == [
        o.start for o in tail.occurrences(*WIDE)
    ]
    moved_to = occurrence_id("s.20261216T013000Z", WED.add(weeks=2, hours=5))
    assert [(moved_to, e, "confirmed") for e in ELDERS[:3]] == [
        b for b in _bookings(store) if b[0] == moved_to
    ]
    assert 6 == len(edit.moved)


def test_a_smaller_capacity_sends_the_latest_back_to_the_waitlist(store: Store) -> None:
    """With two places from the third Wednesday, the third elder to register waits again."""
    _weekly_with_bookings(store)

    edit = _following(store, capacity=2)

    third = [b for b in _bookings(store) if b[1] == ELDERS[2]]
    assert 2 == len([m for m in edit.moved if "waitlist" in m.why_en])
    assert {"waitlisted"} == {state for _, _, state in third}


def test_cancelling_this_and_following_cancels_their_bookings(store: Store) -> None:
    """Cancelling from the third Wednesday ends the series and cancels its six bookings."""
    _weekly_with_bookings(store)

    edit = _following(store, cancel=True, note="场地维修")

    with store() as uow:
        head = uow.series.get("s")
    assert (None, 2) == (edit.following, len(head.occurrences(*WIDE)))
    assert {"cancelled"} == {state for _, _, state in _bookings(store)}
    assert all("场地维修" in m.why_zh for m in edit.moved)


def test_a_change_that_clashes_stores_nothing(store: Store) -> None:
    """Moving the rest onto another class's slot is refused with its clashes; nothing changes."""
    _weekly_with_bookings(store)
    stored_series(store, series("other", WED.add(weeks=3, hours=5), space="painting"))
    before = _bookings(store)

    edit = _following(store, start=WED.add(weeks=2, hours=5))

    with store() as uow:
        head = uow.series.get("s")
    assert (False, None, 6) == (edit.done, edit.following, len(head.occurrences(*WIDE)))
    assert before == _bookings(store)


def test_following_from_the_first_occurrence_is_refused(store: Store) -> None:
    """The first occurrence has nothing before it to keep: a ValidationError on ``at``."""
    stored_series(store, series("s", rrule=WEEKLY))
    with store() as uow, pytest.raises(ValidationError) as info:
        change_following(uow, "s", WED, at=NOW, start=WED.add(hours=5))
    assert "at" == info.value.path
