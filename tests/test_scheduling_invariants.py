"""A state machine of registrations, cancellations, occurrence changes and household moves.

Whatever the sequence, on every store: no occurrence has more confirmed than its places, nobody
waits while a place is free, no resident holds two overlapping active registrations, a cancelled
occurrence holds no active registration, and each active registration lies in its resident's
household's cell.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile

import pendulum
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from gridgov import Address, GridCell, GridLevel, Household, Resident, Store, open_store
from gridgov.calendar import Period, WorkCalendar
from gridgov.errors import ConflictError, TransitionError, ValidationError
from gridgov.scheduling.registrations import TAKES_PLACE, Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange, occurrence_id
from gridgov.scheduling.venues import Space, Venue
from gridgov.services.ledger import move_household
from gridgov.services.scheduling import cancel_registration, create_series, register
from gridgov.services.series_changes import change_occurrence

TZ = "Asia/Shanghai"
COMMUNITY, GRID = "610102003006", "610102003006001"
BUILDINGS = (f"{GRID}001", f"{GRID}002")
NOW = pendulum.datetime(2026, 11, 28, 9, tz=TZ)
WED = pendulum.datetime(2026, 12, 2, 9, 30, tz=TZ)
OPENING = WorkCalendar(
    hours=dict.fromkeys(range(6), (Period(dt.time(9), dt.time(12)),)), years=(2026, 2027), tz=TZ
)
PEOPLE = tuple(f"p{i}" for i in range(5))
# Two activities at overlapping hours in two spaces: a resident can hold only one of them.
CAPACITY = {"s": 2, "t": 1}
STARTS = {"s": WED, "t": WED.add(minutes=30)}
# Where a change may move an occurrence: the same day, the next day, into the closed afternoon.
MOVES = (
    pendulum.duration(),
    pendulum.duration(hours=1),
    pendulum.duration(days=1),
    pendulum.duration(hours=4),
)


def _seeded(store: Store) -> Store:
    with store() as uow:
        for code, name, level, parent in (
            ("610102", "新城区", GridLevel.DISTRICT, None),
            ("610102003", "自强路街道", GridLevel.STREET, "610102"),
            (COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
            (GRID, "网格", GridLevel.GRID, COMMUNITY),
            (BUILDINGS[0], "1号楼", GridLevel.BUILDING, GRID),
            (BUILDINGS[1], "2号楼", GridLevel.BUILDING, GRID),
        ):
            uow.cells.add(GridCell(code, name, level, parent))
        for i, person in enumerate(PEOPLE):
            member = Resident(person, f"居民{i}", birth_date=pendulum.Date(1950, 1, 1))
            uow.households.add(
                Household(f"h-{person}", BUILDINGS[i % 2], Address(f"{i}号"), members=[member])
            )
        spaces = (Space("a", "活动室", 20), Space("b", "绘本馆", 20))
        uow.venues.add(Venue("hui", "明宫HUI客厅", COMMUNITY, OPENING, spaces))
        for sid, space in (("s", "a"), ("t", "b")):
            new = ActivitySeries(
                sid, f"活动{sid}", "社区", "hui", space, STARTS[sid], 60, capacity=CAPACITY[sid]
            )
            plan, kept = create_series(uow, new)
            assert kept is not None, plan.clashes
        uow.commit()
    return store


class SchedulingMachine(RuleBasedStateMachine):
    """Registrations, cancellations, occurrence changes and household moves on one store."""

    url = "memory://"

    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        url = self.url.replace("{dir}", self._dir.name)
        self.store = _seeded(open_store(url))
        self.clock = itertools.count(1)

    def _now(self) -> pendulum.DateTime:
        return NOW.add(seconds=next(self.clock))

    @rule(person=st.sampled_from(PEOPLE), sid=st.sampled_from(sorted(STARTS)))
    def join(self, person: str, sid: str) -> None:
        """Register someone; the rules may refuse (overlap, cancelled, already booked)."""
        with self.store() as uow:
            try:
                register(
                    uow,
                    series_id=sid,
                    original_start=STARTS[sid],
                    resident_id=person,
                    at=self._now(),
                    registration_id=f"r{next(self.clock)}",
                )
            except (ConflictError, ValidationError):
                return
            uow.commit()

    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        """Cancel one active registration, if any."""
        active = [r.id for r in self.registrations() if r.is_active]
        if not active:
            return
        with self.store() as uow:
            try:
                cancel_registration(uow, data.draw(st.sampled_from(active)), at=self._now())
            except TransitionError:
                return
            uow.commit()

    @rule(sid=st.sampled_from(sorted(STARTS)), by=st.sampled_from(MOVES))
    def move(self, sid: str, by: pendulum.Duration) -> None:
        """Move one occurrence (perhaps into the closed afternoon: refused, nothing stored)."""
        self._change(sid, OccurrenceChange(STARTS[sid], start=STARTS[sid] + by))

    @rule(sid=st.sampled_from(sorted(STARTS)))
    def cancel(self, sid: str) -> None:
        """Cancel one occurrence."""
        self._change(sid, OccurrenceChange(STARTS[sid], cancelled=True, note="停电"))

    def _change(self, sid: str, change: OccurrenceChange) -> None:
        with self.store() as uow:
            if uow.series.get(sid).occurrence(STARTS[sid], calendar=OPENING).cancelled:
                return  # a cancelled occurrence stays cancelled in this machine
            change_occurrence(uow, sid, change, at=NOW)
            uow.commit()

    @rule(person=st.sampled_from(PEOPLE), to=st.sampled_from(BUILDINGS))
    def relocate(self, person: str, to: str) -> None:
        """Move a household to the other building."""
        with self.store() as uow:
            move_household(uow, f"h-{person}", to_cell=to, at=NOW)
            uow.commit()

    def registrations(self) -> list[Registration]:
        """Return every registration of both occurrences."""
        with self.store() as uow:
            return [r for sid in STARTS for r in uow.registrations.for_occurrence(_occ(sid))]

    @invariant()
    def places_waitlists_and_cancellations_hold(self) -> None:
        """At most the places confirmed, a waitlist only when full, none in a cancelled one."""
        with self.store() as uow:
            for sid in STARTS:
                found = uow.registrations.for_occurrence(_occ(sid))
                taken = sum(r.state in TAKES_PLACE for r in found)
                waiting = sum(r.state is RegistrationState.WAITLISTED for r in found)
                cancelled = uow.series.get(sid).occurrence(STARTS[sid], calendar=OPENING).cancelled
                assert taken <= CAPACITY[sid]
                assert waiting == 0 or taken == CAPACITY[sid]
                assert not cancelled or taken + waiting == 0

    @invariant()
    def one_booking_at_a_time_in_the_right_cell(self) -> None:
        """No resident holds two overlapping active registrations; each lies in their cell."""
        with self.store() as uow:
            for person in PEOPLE:
                held = [
                    r
                    for r in uow.registrations.for_resident(
                        person, start=WED.subtract(days=1), end=WED.add(days=3)
                    )
                    if r.is_active
                ]
                cell = uow.households.household_of(person).cell_code
                assert all(r.cell_code == cell for r in held)
                for a, b in itertools.combinations(held, 2):
                    assert a.end <= b.start or b.end <= a.start

    def teardown(self) -> None:
        """Close the store and remove its directory."""
        self.store.close()
        self._dir.cleanup()


def _occ(sid: str) -> str:
    return occurrence_id(sid, STARTS[sid])


class SqliteSchedulingMachine(SchedulingMachine):
    """The same machine on a SQLite file."""

    url = "sqlite:///{dir}/machine.db"


TestSchedulingOnMemory = SchedulingMachine.TestCase
TestSchedulingOnMemory.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestSchedulingOnSqlite = SqliteSchedulingMachine.TestCase
TestSchedulingOnSqlite.settings = settings(max_examples=15, stateful_step_count=20, deadline=None)


def test_the_machine_runs_on_postgresql(postgres_schema: str) -> None:
    """The same machine on PostgreSQL, fewer examples, each in a schema of its own."""
    base, _, schema = postgres_schema.partition("?schema=")
    made = itertools.count()

    class PostgresMachine(SchedulingMachine):
        def __init__(self) -> None:
            self.url = f"{base}?schema={schema}_{next(made)}"
            super().__init__()

        def teardown(self) -> None:
            import psycopg

            super().teardown()
            name = self.url.partition("?schema=")[2]
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    run_state_machine_as_test(
        PostgresMachine, settings=settings(max_examples=6, stateful_step_count=15, deadline=None)
    )
