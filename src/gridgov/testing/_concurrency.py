"""Contracts for rules that span records, checked with units of work racing on threads.

Each test starts its units at once (a barrier), lets each pause between its work and its commit
so that optimistic stores interleave, and retries a unit that a retry may help (a
:class:`~gridgov.errors.ConflictError` whose ``retryable`` is set), as a platform does.
Whatever the order the store lets them through in, the rule must hold: a store that reads,
then writes, without holding the lock the service asks for
(:class:`~gridgov.ports.LockRepository`), overbooks here.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import attrs
import pendulum
import pytest

from gridgov.calendar import Period, WorkCalendar
from gridgov.care.contacts import CareTask, TaskKind, TaskState
from gridgov.care.policy import ContactMethod
from gridgov.errors import ConflictError, GridgovError
from gridgov.ports import UnitOfWork
from gridgov.scheduling.registrations import Occupancy, Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUpState
from gridgov.services.overdue import sweep_overdue
from gridgov.services.scheduling import cancel_registration, register, sign_up
from gridgov.testing._world import (
    BUILDING_A1,
    GRID_A,
    T0,
    UowFactory,
    _Base,
    _household,
    _resident,
)

__all__ = ["ConcurrencyContract"]

T = TypeVar("T")

RACERS = 8
"""How many units of work race in each test."""

_BEFORE = T0.subtract(days=1)  # when the racers act: a day before the activities
_OPEN = WorkCalendar(
    years=(2026, 2027), hours=dict.fromkeys(range(7), (Period(dt.time(8), dt.time(21)),))
)


def _race(store: UowFactory, work: Callable[[UnitOfWork, int], T]) -> list[T | GridgovError]:
    """Run ``work(uow, i)`` for each racer in its own unit of work, all at once; commit each.

    Returns:
        Each racer's result, or the gridgov error that ended it (after retrying conflicts).
    """
    start = threading.Barrier(RACERS)
    results: list[T | GridgovError] = [ConflictError("did not finish")] * RACERS

    def once(i: int) -> T:
        with store() as uow:
            out = work(uow, i)
            # Widen the window between reading and committing, so that racers overlap.
            time.sleep(0.005)
            uow.commit()
            return out

    def run(i: int) -> None:
        start.wait(timeout=30)
        for attempt in range(RACERS * 4):
            try:
                results[i] = once(i)
                return
            except ConflictError as exc:
                results[i] = exc
                if not exc.retryable:
                    return
                time.sleep(0.001 * (attempt % 5))
            except GridgovError as exc:
                results[i] = exc
                return

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [] == [t.name for t in threads if t.is_alive()], "a racer never finished"
    return results


def _register_in_process(url: str, sid: str, residents: list[str], gate_at: float) -> None:
    """Open the store at ``url`` in a process of its own; register ``residents`` one by one."""
    from gridgov.bootstrap import open_store

    store = open_store(url)
    time.sleep(max(0.0, gate_at - time.time()))
    try:
        for resident in residents:
            for _ in range(RACERS * 50):
                try:
                    with store() as uow:
                        register(
                            uow, series_id=sid, original_start=T0, resident_id=resident, at=_BEFORE
                        )
                        uow.commit()
                    break
                except ConflictError as exc:
                    if not exc.retryable:
                        break
                    time.sleep(0.002)
    finally:
        store.close()


_SWEPT_AT = T0.add(days=1)  # when the overdue sweepers run: past the tasks' due instants
_OVERDUE_EACH = 3  # overdue tasks per racer's resident


def _sweep_in_process(url: str, gate_at: float) -> None:
    """Open the store at ``url`` in a process of its own; run the overdue sweep once."""
    from gridgov.bootstrap import open_store

    store = open_store(url)
    time.sleep(max(0.0, gate_at - time.time()))
    try:
        sweep_overdue(store, _SWEPT_AT, batch_size=2)
    finally:
        store.close()


def _conflicts(results: list[T | GridgovError]) -> int:
    return sum(isinstance(r, ConflictError) for r in results)


class ConcurrencyContract(_Base):
    """What every store holds when units of work race: capacities, no overlaps, waitlist order.

    The services hold named locks (:class:`~gridgov.ports.LockRepository`) before they count;
    the store must make a second holder of a lock wait for the first or fail its commit.
    """

    @pytest.fixture
    def store_url(self) -> str | None:
        """Return the URL ``open_store`` opens the same store at, if another process can.

        Adapters whose store outlives a process (a file, a server) override this fixture; the
        races between processes are skipped without it.
        """
        return None

    @pytest.fixture
    def racers(self, store: UowFactory) -> UowFactory:
        """Return the store with a venue, a shift and one household per racer (c0, c1, ...)."""
        with store() as uow:
            for i in range(RACERS):
                uow.households.add(
                    _household(f"hc{i}", BUILDING_A1, _resident(f"c{i}", pendulum.Date(1950, 1, 1)))
                )
            uow.venues.add(
                Venue(
                    "cv",
                    "活动中心",
                    GRID_A,
                    _OPEN,
                    [Space(f"s{i}", "活动室", 50) for i in range(4)],
                )
            )
            uow.shifts.add(Shift("csh", "cv", "志愿服务", T0, T0.add(hours=3), 2))
            uow.commit()
        return store

    @staticmethod
    def add_activity(store: UowFactory, sid: str, capacity: int | None) -> None:
        """Commit a one-off activity at ``T0`` for 90 minutes with ``capacity`` places."""
        with store() as uow:
            uow.series.add(ActivitySeries(sid, "讲座", "w1", "cv", "s0", T0, 90, capacity=capacity))
            uow.commit()

    def test_racing_registrations_never_exceed_the_capacity(self, racers: UowFactory) -> None:
        """Eight residents register at once for three places: three confirmed, five waiting."""
        self.add_activity(racers, "cap3", 3)

        def work(uow: UnitOfWork, i: int) -> Registration:
            return register(
                uow,
                series_id="cap3",
                original_start=T0,
                resident_id=f"c{i}",
                at=_BEFORE.add(seconds=i),
            )

        results = _race(racers, work)
        occurrence = next(r.occurrence_id for r in results if isinstance(r, Registration))
        with racers() as uow:
            stored = uow.registrations.for_occurrence(occurrence)
            occupancy = uow.registrations.occupancy(occurrence)
        assert (0, Occupancy(3, 5)) == (_conflicts(results), occupancy)
        assert 3 == sum(r.state is RegistrationState.CONFIRMED for r in stored)

    def test_racing_registrations_of_one_resident_never_overlap(self, racers: UowFactory) -> None:
        """One resident registers at once for eight activities at the same hour: one is kept."""
        for i in range(RACERS):
            self.add_activity(racers, f"same{i}", None)

        def work(uow: UnitOfWork, i: int) -> Registration:
            return register(
                uow, series_id=f"same{i}", original_start=T0, resident_id="c0", at=_BEFORE
            )

        results = _race(racers, work)
        with racers() as uow:
            active = [
                r
                for r in uow.registrations.for_resident("c0", start=T0, end=T0.add(hours=2))
                if r.is_active
            ]
        assert (1, RACERS - 1) == (len(active), _conflicts(results))

    def test_racing_sign_ups_never_exceed_the_volunteers_needed(self, racers: UowFactory) -> None:
        """Eight volunteers sign up at once for a shift needing two: two are signed up."""
        results = _race(
            racers,
            lambda uow, i: sign_up(uow, shift_id="csh", resident_id=f"c{i}", at=_BEFORE),
        )
        with racers() as uow:
            signed = [s for s in uow.signups.for_shift("csh") if s.state is SignUpState.SIGNED_UP]
            taken = uow.signups.taken("csh")
        assert (2, 2, RACERS - 2) == (len(signed), taken, _conflicts(results))

    def test_racing_cancellations_promote_the_waitlist_in_order(self, racers: UowFactory) -> None:
        """Two places freed at once go to the first two on the waitlist, once each."""
        self.add_activity(racers, "cap2", 2)
        with racers() as uow:
            made = [
                register(
                    uow,
                    series_id="cap2",
                    original_start=T0,
                    resident_id=f"c{i}",
                    at=_BEFORE.add(seconds=i),
                )
                for i in range(6)
            ]
            uow.commit()
        confirmed = [r.id for r in made if r.state is RegistrationState.CONFIRMED]

        def work(uow: UnitOfWork, i: int) -> str | None:
            if i >= len(confirmed):
                return None
            promoted = cancel_registration(uow, confirmed[i], at=_BEFORE.add(hours=1)).promoted
            return None if promoted is None else promoted.resident_id

        results = _race(racers, work)
        with racers() as uow:
            occupancy = uow.registrations.occupancy(made[0].occurrence_id)
            now_confirmed = sorted(
                r.resident_id
                for r in uow.registrations.for_occurrence(made[0].occurrence_id)
                if r.state is RegistrationState.CONFIRMED
            )
        assert (["c2", "c3"], Occupancy(2, 2)) == (now_confirmed, occupancy)
        assert ["c2", "c3"] == sorted(r for r in results if isinstance(r, str))

    def test_racing_processes_never_exceed_the_capacity(
        self, racers: UowFactory, store_url: str | None
    ) -> None:
        """Four processes register two residents each for three places: three confirmed."""
        if store_url is None:
            pytest.skip("the store cannot be opened by another process (no store_url fixture)")
        self.add_activity(racers, "proc3", 3)
        context = multiprocessing.get_context("spawn")
        gate_at = time.time() + 2.0  # past every process's start-up
        workers = [
            context.Process(
                target=_register_in_process,
                args=(store_url, "proc3", [f"c{i}", f"c{i + 4}"], gate_at),
            )
            for i in range(4)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        with racers() as uow:
            occurrence = uow.series.get("proc3").occurrence(T0, calendar=_OPEN).id
            occupancy = uow.registrations.occupancy(occurrence)
        assert ([0, 0, 0, 0], Occupancy(3, 5)) == ([w.exitcode for w in workers], occupancy)

    # -- the overdue sweep of care tasks, run by several sweepers at once -------------------

    @staticmethod
    def add_overdue_tasks(store: UowFactory) -> list[str]:
        """Commit three overdue tasks per racer's resident, one done and one not yet due.

        Returns:
            The ids of the overdue open tasks, sorted.
        """

        def task(tid: str, rid: str, due: pendulum.DateTime) -> CareTask:
            return CareTask(
                tid,
                rid,
                f"h{rid}",
                BUILDING_A1,
                TaskKind.ROUTINE,
                ContactMethod.PHONE,
                T0,
                due,
                due.add(days=7),
                "routine call",
                "例行电话",
                "cadence:test:phone",
            )

        overdue = [
            task(f"ov{i}{n}", f"c{i}", T0.add(minutes=10 * n + i))
            for i in range(RACERS)
            for n in range(_OVERDUE_EACH)
        ]
        done = attrs.evolve(task("ovdone", "c0", T0), state=TaskState.DONE, closed_by="k1")
        with store() as uow:
            uow.care_tasks.add_many([*overdue, done, task("ovlater", "c1", _SWEPT_AT.add(hours=1))])
            uow.commit()
        return sorted(t.id for t in overdue)

    @staticmethod
    def told(store: UowFactory, task_ids: list[str]) -> dict[str, list[str]]:
        """Return the outbox's event types of each task."""
        with store() as uow:
            return {
                tid: [e.type for e in uow.outbox.for_aggregate("care_task", tid)]
                for tid in task_ids
            }

    def test_racing_overdue_sweeps_mark_each_task_once(self, racers: UowFactory) -> None:
        """Eight sweepers at once mark the 24 overdue tasks once each: one event per task."""
        overdue = self.add_overdue_tasks(racers)
        start = threading.Barrier(RACERS)
        told: list[str] = []
        errors: list[str] = []

        def sweep() -> None:
            start.wait(timeout=30)
            try:
                told.extend(e.task_id for e in sweep_overdue(racers, _SWEPT_AT, batch_size=2))
            except GridgovError as exc:
                errors.append(type(exc).__name__)

        threads = [threading.Thread(target=sweep, daemon=True) for _ in range(RACERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        stored = self.told(racers, [*overdue, "ovdone", "ovlater"])
        expected = {**{t: ["care.task_overdue"] for t in overdue}, "ovdone": [], "ovlater": []}
        assert ([], overdue, expected) == (errors, sorted(told), stored)

    def test_racing_overdue_sweep_processes_mark_each_task_once(
        self, racers: UowFactory, store_url: str | None
    ) -> None:
        """Four processes sweeping at once leave one overdue event per task, none for others."""
        if store_url is None:
            pytest.skip("the store cannot be opened by another process (no store_url fixture)")
        overdue = self.add_overdue_tasks(racers)
        context = multiprocessing.get_context("spawn")
        gate_at = time.time() + 2.0  # past every process's start-up
        workers = [
            context.Process(target=_sweep_in_process, args=(store_url, gate_at)) for _ in range(4)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        stored = self.told(racers, [*overdue, "ovdone", "ovlater"])
        expected = {**{t: ["care.task_overdue"] for t in overdue}, "ovdone": [], "ovlater": []}
        assert ([0, 0, 0, 0], expected) == ([w.exitcode for w in workers], stored)
