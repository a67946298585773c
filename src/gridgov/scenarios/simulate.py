"""The time-travel simulator: a community's days lived through the services, on a manual clock.

:func:`simulate` stores a scenario's ledger without its dated history (cells, workers,
households, venues and settings), then runs the community day by day:

- on each working day at 09:00 the routine care tasks are planned and every grid worker works
  through their worklist, making contacts with seeded outcomes through
  :func:`gridgov.services.care.record_contact`, so follow-ups appear the same day or later;
- every day new cases come in from patrols, the 12345 hotline and walk-ins, and are registered,
  dispatched, handled, verified, closed and evaluated with seeded delays through
  :func:`gridgov.services.cases.act_on_case`; the escalation engine sweeps at 09:00 and 17:30;
- the scenario's activity series, re-anchored to the period, take registrations (with waitlists
  and cancellations) and record attendance; a weekly volunteer shift takes sign-ups and credits
  hours.

Every change goes through the services, one unit of work per phase of a day (before the morning
sweep, between the sweeps, after the evening sweep). The same scenario, period and seed give the
same store and the same :class:`SimulationReport`; nothing reads the system time.

The rates, delays and shares below are made up unless their comment gives a source: they aim at
plausible figures for a community of a few thousand households, not at statistics.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TypeVar

import attrs
import pendulum

from gridgov._levels import GridLevel
from gridgov.calendar import WorkCalendar
from gridgov.care.contacts import TaskKind, TaskState
from gridgov.care.criteria import Facts
from gridgov.care.policy import ContactMethod
from gridgov.cases.catalogue import Category, Stage, TimeLimit
from gridgov.cases.classification import ClassificationTree
from gridgov.cases.escalation import EscalationKind
from gridgov.cases.model import Case, CaseSource, CaseState, Reporter, Satisfaction
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow
from gridgov.errors import ConflictError, ValidationError
from gridgov.grid import GridCell, WorkerRole
from gridgov.households import Household, HouseholdStatus, Resident, Tag
from gridgov.ports import Store, UnitOfWork
from gridgov.scenarios._simulation_parts import (
    _CANCEL_SHARE,
    _CASES_PER_GRID,
    _CATEGORY_WEIGHTS,
    _DEMAND,
    _DESCRIPTIONS,
    _DUPLICATE_AFTER,
    _DUPLICATE_SHARE,
    _FAIL_VERIFICATION_SHARE,
    _HANDLING_MIX,
    _LATE_STEP_SHARE,
    _MAX_DAYS,
    _OPEN_DEMAND,
    _PLAN_TIME,
    _REGULAR_TURNOUT,
    _REGULAR_VOLUNTEERS,
    _REJECT_SHARE,
    _RETURN_SHARE,
    _SAME_DAY_FOLLOW_UP,
    _SATISFACTION,
    _SHOW_RATE,
    _SOURCES,
    _SWEEP_TIMES,
    _URGENT_SOURCES,
    _VOLUNTEER_SHOW_RATE,
    _WAIT_SHARE,
    _WORKER_CAPACITY,
    SimulationReport,
    _at_the_desk,
    _check_coverage,
    _check_end,
    _check_start,
    _pick,
    _poisson,
    _reanchor,
    _seconds,
    _whole,
    count_at_end,
)
from gridgov.scenarios.history import CALL_OUTCOMES, VISIT_OUTCOMES
from gridgov.scenarios.loader import Scenario, populate
from gridgov.scheduling.registrations import RegistrationState
from gridgov.scheduling.series import ActivitySeries, Occurrence
from gridgov.scheduling.volunteers import Shift, SignUpState
from gridgov.services.care import plan_tasks, record_contact, worklist
from gridgov.services.cases import EscalationEngine, UnitHierarchy, act_on_case, report_case
from gridgov.services.duplicates import mark_duplicate
from gridgov.services.scheduling import (
    cancel_registration,
    complete_shift,
    create_series,
    occurrences_in_venue,
    record_attendance,
    register,
    sign_up,
    volunteer_hours,
)
from gridgov.testing import ManualClock

__all__ = ["SimulationReport", "simulate"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


# --- the simulation --------------------------------------------------------------------------

_Handler = Callable[[UnitOfWork], None]
_SWEEP, _PLAN, _EVENT = 0, 1, 2  # order of things happening at the same instant


@attrs.define
class _Track:
    """What the simulation has decided about one case's course."""

    category: Category
    grid: str
    reject: bool
    wait: bool
    fail_verification: bool
    handling: str
    returned: bool = False
    duplicate_of: str | None = None


class _Simulation:
    """One run: the event queue, the random streams and the tallies."""

    def __init__(
        self,
        store: Store,
        scenario: Scenario,
        workflow: CaseWorkflow,
        start: pendulum.Date,
        days: int,
        seed: int,
    ) -> None:
        self.store = store
        self.scenario = scenario
        self.workflow = workflow
        self.calendar: WorkCalendar = workflow.calendar
        self.tz = self.calendar.tz
        self.first = start
        self.days = days
        self.seed = seed
        self.begin = self._at(start, 0, 0)
        self.end = self._at(start.add(days=days), 0, 0)
        self.clock = ManualClock(self.begin)
        # The business hours of a full working day, to count delays in working days.
        self.day_hours = max(
            (sum(p.seconds for p in periods) / 3600 for periods in self.calendar.hours.values()),
            default=8.0,
        )
        self.engine = EscalationEngine(store, workflow)
        # Independent streams: a change in one part does not reshuffle the others.
        self.care_rng = random.Random(f"{seed}:care")
        self.arrival_rng = random.Random(f"{seed}:arrivals")
        self.case_rng = random.Random(f"{seed}:cases")
        self.programme_rng = random.Random(f"{seed}:programme")
        self.exception_rng = random.Random(f"{seed}:exceptions")  # returns and duplicates
        self.duplicate_count = 0
        self.queue: list[tuple[pendulum.DateTime, int, int, _Handler | None]] = []
        self.seq = 0
        tree = scenario.tree()
        self.roots = sorted(c.code for c in tree if c.parent_code is None)
        self.grids: list[GridCell] = sorted(
            (c for c in tree if c.level is GridLevel.GRID), key=lambda c: c.code
        )
        self.buildings: dict[str, list[GridCell]] = {}
        for cell in sorted(tree, key=lambda c: c.code):
            if cell.level is GridLevel.BUILDING:
                grid = next((g for g in self.grids if cell.code.startswith(g.code)), None)
                if grid is not None:
                    self.buildings.setdefault(grid.code, []).append(cell)
        self.people: dict[str, list[str]] = {}
        for household in scenario.households:
            if household.status not in (HouseholdStatus.RESIDENT, HouseholdStatus.RELOCATED):
                continue
            grid = next((g for g in self.grids if household.cell_code.startswith(g.code)), None)
            if grid is not None:
                self.people.setdefault(grid.code, []).extend(m.id for m in household.members)
        self.grid_workers = sorted(
            (w for w in scenario.workers if WorkerRole.GRID_WORKER in w.roles), key=lambda w: w.id
        )
        self.budget: dict[str, int] = {}
        self.tracks: dict[str, _Track] = {}
        self.case_count = 0
        self.hotline_count = 0
        # Tallies.
        self.working_days = 0
        self.contacts = 0
        self.outcomes: Counter[str] = Counter()
        self.escalations: Counter[str] = Counter()
        self.raised: dict[str, set[str]] = {}
        self.series = 0
        self.occurrences = 0
        self.registrations = 0
        self.waitlisted = 0
        self.promoted = 0
        self.cancelled = 0
        self.attended = 0
        self.no_shows = 0
        self.shifts: list[Shift] = []
        self.signups = 0
        self.volunteers: list[str] = []
        self.pools: dict[str, list[str]] = {}

    # -- time --------------------------------------------------------------------------------

    def _at(self, day: dt.date, hour: int, minute: int) -> pendulum.DateTime:
        return pendulum.datetime(day.year, day.month, day.day, hour, minute, tz=self.tz)

    def _working(self, start: pendulum.DateTime, hours: float) -> pendulum.DateTime:
        return self.calendar.add_working_time(start, pendulum.duration(seconds=int(hours * 3600)))

    def _office_instants(
        self, day: pendulum.Date, count: int, rng: random.Random, after: pendulum.DateTime
    ) -> list[pendulum.DateTime]:
        """Return ``count`` sorted instants in the day's business hours, after ``after``."""
        spans: list[tuple[pendulum.DateTime, pendulum.DateTime]] = []
        for period in self.calendar.hours_on(day):
            opens = max(self._at(day, period.start.hour, period.start.minute), after)
            closes = self._at(day, period.end.hour, period.end.minute)
            if opens < closes:
                spans.append((opens, closes))
        total = sum(int((b - a).total_seconds()) // 60 for a, b in spans)
        if total <= 0:
            return []
        minutes = sorted(rng.randrange(total) for _ in range(count))
        out = []
        for m in minutes:
            for a, b in spans:
                length = int((b - a).total_seconds()) // 60
                if m < length:
                    out.append(a.add(minutes=m))
                    break
                m -= length
        return out

    # -- the queue ---------------------------------------------------------------------------

    def schedule(
        self, at: pendulum.DateTime, handler: _Handler | None, order: int = _EVENT
    ) -> None:
        """Queue ``handler`` at ``at``; ``None`` is an escalation sweep."""
        if at >= self.end:
            return  # after the period: never happens here
        self.seq += 1
        heapq.heappush(self.queue, (at, order, self.seq, handler))

    def run(self, progress: Callable[[int], None] | None) -> None:
        """Live every day of the period, in order."""
        for i in range(self.days):
            day = self.first.add(days=i)
            day_end = self._at(day.add(days=1), 0, 0)
            working = self.calendar.is_working_day(day)
            self.working_days += working
            for hour, minute in _SWEEP_TIMES:
                self.schedule(self._at(day, hour, minute), None, _SWEEP)
            if working:
                self.schedule(self._at(day, *_PLAN_TIME), self._plan_care(day), _PLAN)
            self._arrivals(day, working)
            self._live_until(day_end)
            if progress is not None:
                progress(i + 1)

    def _live_until(self, day_end: pendulum.DateTime) -> None:
        """Handle the queue up to ``day_end``: one unit of work between sweeps."""
        while True:
            with self.store() as uow:
                while self.queue and self.queue[0][0] < day_end and self.queue[0][3] is not None:
                    at, _, _, handler = heapq.heappop(self.queue)
                    self.clock.set(at)
                    assert handler is not None
                    handler(uow)
                uow.commit()
            if not (self.queue and self.queue[0][0] < day_end):
                return
            at, _, _, _ = heapq.heappop(self.queue)
            self.clock.set(at)
            self._sweep()

    def _sweep(self) -> None:
        for e in self.engine.sweep(self.clock.now()):
            self.escalations[e.kind.value] += 1
            if e.kind is EscalationKind.RAISE_LEVEL and e.to_cell != e.from_cell:
                self.raised.setdefault(e.to_level.value, set()).add(e.case_id)

    # -- setting up --------------------------------------------------------------------------

    def setup(self) -> None:
        """Store the ledger, the settings, the re-anchored programme and the shifts."""
        ledger = attrs.evolve(
            self.scenario, contacts=(), cases=(), shifts=(), registrations=(), activities=()
        )
        populate(self.store, ledger)
        venues = {v.id: v for v in self.scenario.venues}
        stored: list[ActivitySeries] = []
        with self.store() as uow:
            # The simulation's own workflow rules the store, as a deployment's would.
            uow.settings.save(
                attrs.evolve(
                    uow.settings.get(),
                    catalogue=self.workflow.catalogue,
                    escalation=self.workflow.escalation,
                    calendar=self.workflow.calendar,
                )
            )
            for original in self.scenario.activities:
                moved = _reanchor(original, self.first, self.end)
                if moved is None:
                    continue
                # Clashes with the venue's closures in the new period are left out (EXDATEs).
                _, series = create_series(uow, moved, skip_conflicts=True)
                if series is not None:
                    stored.append(series)
            self.shifts = [uow.shifts.add(s) for s in self._weekly_shifts(venues)]
            uow.commit()
        self.series = len(stored)
        self.volunteers = sorted(
            m.id
            for h in self.scenario.households
            if h.status in (HouseholdStatus.RESIDENT, HouseholdStatus.RELOCATED)
            for m in h.members
            if Tag.VOLUNTEER in m.tags
        )
        with self.store() as uow:
            occurrences = [
                occ
                for venue_id in sorted({s.venue_id for s in stored})
                for occ in occurrences_in_venue(uow, venue_id, start=self.begin, end=self.end)
                if not occ.cancelled and occ.start >= self.begin
            ]
        self.occurrences = len(occurrences)
        by_id = {s.id: s for s in stored}
        for occ in occurrences:
            self._plan_registrations(by_id[occ.series_id], occ)
        self._plan_volunteering()

    def _weekly_shifts(self, venues: Mapping[str, object]) -> list[Shift]:
        """Return the period's weekly volunteer shifts, modelled on the scenario's first one."""
        if self.scenario.shifts:
            model = self.scenario.shifts[0].shift
            local = model.start.in_timezone(self.tz)
            weekday, hour, minute = local.weekday(), local.hour, local.minute
            minutes = int((model.end - model.start).total_seconds()) // 60
            venue, title, required = model.venue_id, model.title, model.required
            skills = model.skills
        elif venues:
            weekday, hour, minute, minutes = 4, 8, 30, 90  # Friday 08:30-10:00
            venue, title, required, skills = sorted(venues)[0], "社区卫生清扫", 3, frozenset()
        else:
            return []
        shifts = []
        for i in range(self.days):
            day = self.first.add(days=i)
            if day.weekday() != weekday or self.calendar.is_holiday(day):
                continue
            begins = self._at(day, hour, minute)
            shifts.append(
                Shift(
                    id=f"sim-shift-{day.format('YYYYMMDD')}",
                    venue_id=venue,
                    title=title,
                    start=begins,
                    end=begins.add(minutes=minutes),
                    required=required,
                    skills=skills,
                )
            )
        return shifts

    # -- care --------------------------------------------------------------------------------

    def _plan_care(self, day: pendulum.Date) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            now = self.clock.now()
            for root in self.roots:
                plan_tasks(uow, root, now=now, policy=self.scenario.policy)
            rng = self.care_rng
            for worker in self.grid_workers:
                if not worker.cells_on(day):
                    continue
                capacity = rng.randint(*_WORKER_CAPACITY)
                chosen: list[tuple[str, str]] = []
                seen: set[str] = set()
                entries = worklist(uow, worker.id, on=day, now=now).entries
                for entry in entries:
                    task = entry.task
                    if task.kind is TaskKind.NOTIFY_CONTACT or task.resident_id in seen:
                        continue  # calls to the family are not contacts with the resident
                    seen.add(task.resident_id)
                    # A visit serves every task of the resident: make it if one is owed.
                    visit = next(
                        (
                            e.task
                            for e in entries
                            if e.task.resident_id == task.resident_id
                            and e.task.method is ContactMethod.HOME_VISIT
                            and e.task.kind is not TaskKind.NOTIFY_CONTACT
                        ),
                        task,
                    )
                    chosen.append((visit.id, visit.resident_id))
                    if len(chosen) >= capacity:
                        break
                self.budget[worker.id] = capacity - len(chosen)
                times = self._office_instants(day, len(chosen), rng, now.add(minutes=10))
                for at, (task_id, resident_id) in zip(times, chosen, strict=False):
                    self.schedule(at, self._contact(worker.id, task_id, resident_id))

        return handle

    def _contact(self, worker_id: str, task_id: str, resident_id: str) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            now = self.clock.now()
            task = uow.care_tasks.get(task_id)
            if task.state is not TaskState.OPEN or task.end <= now:
                return  # done by an earlier contact today, or lapsed
            rng = self.care_rng
            table = VISIT_OUTCOMES if task.method is ContactMethod.HOME_VISIT else CALL_OUTCOMES
            outcome = _pick(rng, table)
            result = record_contact(
                uow,
                resident_id=resident_id,
                method=task.method,
                outcome=outcome,
                by=worker_id,
                at=now,
                now=now,
                task_id=task.id,
                policy=self.scenario.policy,
            )
            self.contacts += 1
            self.outcomes[outcome.value] += 1
            closing = self._closing(now)
            for follow in result.created:
                if follow.kind is not TaskKind.FOLLOW_UP or follow.due > closing:
                    continue  # a later day's worklist carries it
                if self.budget.get(worker_id, 0) <= 0 or rng.random() >= _SAME_DAY_FOLLOW_UP:
                    continue
                self.budget[worker_id] -= 1
                room = int((follow.due - now).total_seconds()) // 60
                at = now.add(minutes=rng.randint(10, max(10, min(room, 90))))
                self.schedule(min(at, closing), self._contact(worker_id, follow.id, resident_id))

        return handle

    def _closing(self, now: pendulum.DateTime) -> pendulum.DateTime:
        day = now.in_timezone(self.tz).date()
        hours = self.calendar.hours_on(day)
        if not hours:
            return now
        return self._at(day, hours[-1].end.hour, hours[-1].end.minute)

    # -- cases -------------------------------------------------------------------------------

    def _arrivals(self, day: pendulum.Date, working: bool) -> None:
        """Queue the day's new cases: a Poisson number per grid, at seeded instants."""
        rng = self.arrival_rng
        categories = self.workflow.catalogue.categories
        weights = [
            0  # a component's problem names its component: the simulation registers none
            if c.tree is ClassificationTree.COMPONENT
            else _CATEGORY_WEIGHTS.get(c.code, 1 if c.emergency else 3)
            if working or not _at_the_desk(c)
            else 0  # the front desk is closed
            for c in categories
        ]
        if not any(weights):
            return
        mean = _CASES_PER_GRID[0 if working else 1]
        for grid in self.grids:
            for _ in range(_poisson(rng, mean)):
                category = rng.choices(categories, weights)[0]
                urgent = not category.limit(Stage.HANDLING).unit.on_calendar
                if _at_the_desk(category):
                    source = CaseSource.PROXY_SERVICE
                elif not working:
                    source = CaseSource.HOTLINE_12345
                else:
                    source = _pick(rng, _URGENT_SOURCES if urgent else _SOURCES)
                if source in (CaseSource.WALK_IN, CaseSource.PROXY_SERVICE):
                    at = self._office_instants(day, 1, rng, self.begin)
                    when = at[0] if at else self._at(day, 10, 0)
                elif source is CaseSource.PATROL:
                    when = self._at(day, 9, 0).add(minutes=rng.randrange(8 * 60))
                else:  # the hotline takes calls from 08:00 to 20:00, every day
                    when = self._at(day, 8, 0).add(minutes=rng.randrange(12 * 60))
                self.schedule(when, self._report(grid, category, source))

    def _report(self, grid: GridCell, category: Category, source: CaseSource) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            now = self.clock.now()
            rng = self.case_rng
            day = now.in_timezone(self.tz).date()
            self.case_count += 1
            case_id = f"sim-{day.format('YYYYMMDD')}-{self.case_count:05d}"
            cells = self.buildings.get(grid.code) or [grid]
            cell = rng.choice(cells)
            people = self.people.get(grid.code, [])
            external_id = None
            if source is CaseSource.PATROL:
                worker = UnitHierarchy(uow).on_duty(grid.code, day, besides=None)
                reporter = Reporter(worker_id=worker)
            else:
                resident = rng.choice(people) if people and rng.random() < 0.8 else None
                reporter = Reporter(resident_id=resident)
            if source is CaseSource.HOTLINE_12345:
                self.hotline_count += 1
                external_id = f"12345-{day.format('YYYYMMDD')}-{self.hotline_count:05d}"
            if source is CaseSource.PATROL and reporter.worker_id is not None:
                actor = reporter.worker_id
            elif source is CaseSource.HOTLINE_12345:
                actor = "hotline-12345"
            else:  # the front desk records walk-ins and proxy requests
                actor = self._dispatcher(uow, grid, day)
            texts = _DESCRIPTIONS.get(category.code, (f"{category.label_zh}事项",))
            report_case(
                uow,
                self.workflow,
                category=category.code,
                source=source,
                cell_code=cell.code,
                description=rng.choice(texts),
                at=now,
                actor=actor,
                reporter=reporter,
                address=cell.name,
                external_id=external_id,
                case_id=case_id,
            )
            urgent = not category.limit(Stage.HANDLING).unit.on_calendar
            self.tracks[case_id] = _Track(
                category=category,
                grid=grid.code,
                reject=not urgent and rng.random() < _REJECT_SHARE,
                wait=not urgent and rng.random() < _WAIT_SHARE,
                fail_verification=rng.random() < _FAIL_VERIFICATION_SHARE,
                handling=rng.choices(
                    [name for _, name in _HANDLING_MIX], [w for w, _ in _HANDLING_MIX]
                )[0],
            )
            self._exceptions(case_id, cell, urgent)
            self._next(case_id, self._stage_delay(now, category.limit(Stage.REGISTRATION)))

        return handle

    def _exceptions(self, case_id: str, cell: GridCell, urgent: bool) -> None:
        """Decide whether the case is returned once, and whether someone reports it again."""
        track, rng = self.tracks[case_id], self.exception_rng
        track.returned = not track.reject and rng.random() < _RETURN_SHARE
        again = rng.random() < _DUPLICATE_SHARE
        if again and not (urgent or track.reject or _at_the_desk(track.category)):
            later = self.clock.now().add(minutes=rng.randint(*_DUPLICATE_AFTER) * 60)
            self.schedule(later, self._report_again(case_id, cell))

    def _report_again(self, first_id: str, cell: GridCell) -> _Handler:
        """A resident reports the same problem through 12345: the dispatcher merges it."""

        def handle(uow: UnitOfWork) -> None:
            now, rng = self.clock.now(), self.exception_rng
            first = self.tracks[first_id]
            self.duplicate_count += 1
            case_id = (
                f"sim-{now.in_timezone(self.tz).format('YYYYMMDD')}-d{self.duplicate_count:04d}"
            )
            people = self.people.get(first.grid, [])
            report_case(
                uow,
                self.workflow,
                category=first.category.code,
                source=CaseSource.HOTLINE_12345,
                cell_code=cell.code,
                description=rng.choice(
                    _DESCRIPTIONS.get(first.category.code, (f"{first.category.label_zh}事项",))
                ),
                at=now,
                actor="hotline-12345",
                reporter=Reporter(resident_id=rng.choice(people) if people else None),
                address=cell.name,
                case_id=case_id,
            )
            self.tracks[case_id] = attrs.evolve(
                first, reject=False, wait=False, fail_verification=False, duplicate_of=first_id
            )
            self.schedule(now.add(minutes=rng.randint(10, 40)), self._step(case_id))

        return handle

    def _dispatcher(
        self, uow: UnitOfWork, grid: GridCell, day: pendulum.Date, *, besides: str | None = None
    ) -> str:
        """Return who registers, dispatches, verifies and closes: the community's staff.

        ``besides``: someone who may not be the one (who handled the case may not verify it).
        """
        hierarchy = UnitHierarchy(uow)
        parent = hierarchy.parent_unit(grid.code)
        worker = None if parent is None else hierarchy.on_duty(parent.code, day, besides=besides)
        return worker or ("verifier" if besides == "dispatcher" else "dispatcher")

    def _stage_delay(self, now: pendulum.DateTime, limit: TimeLimit) -> pendulum.DateTime:
        """Return when a stage with ``limit`` is done: mostly within it, sometimes over it."""
        rng = self.case_rng
        late = rng.random() < _LATE_STEP_SHARE
        share = rng.uniform(1.05, 2.5) if late else rng.uniform(0.1, 0.9)
        return self._share_of(now, limit.due(now, self.calendar), limit, share)

    def _share_of(
        self,
        start: pendulum.DateTime,
        due: pendulum.DateTime,
        limit: TimeLimit,
        share: float,
    ) -> pendulum.DateTime:
        if limit.unit.on_calendar:
            span = self.calendar.working_time_between(start, due).total_seconds()
            return self._working(start, span * share / 3600)
        return start.add(seconds=int((due - start).total_seconds() * share))

    def _next(self, case_id: str, at: pendulum.DateTime) -> None:
        self.schedule(max(at, self.clock.now()), self._step(case_id))

    def _step(self, case_id: str) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            self._take_step(uow, case_id)

        return handle

    def _take_step(self, uow: UnitOfWork, case_id: str) -> None:
        """Take the next step of a case's course and queue the one after."""
        now = self.clock.now()
        rng = self.case_rng
        track = self.tracks[case_id]
        case = uow.cases.get(case_id)
        grid = next(g for g in self.grids if g.code == track.grid)
        day = now.in_timezone(self.tz).date()
        staff = self._dispatcher(uow, grid, day)
        handler = case.owner_worker or staff
        # Separation of duties: who handled a case does not verify it.
        verifier = staff if staff != handler else self._dispatcher(uow, grid, day, besides=staff)
        urgent = not track.category.limit(Stage.HANDLING).unit.on_calendar
        limits = track.category.limits
        state = case.state

        def act(
            action: Action,
            role: CaseRole,
            actor: str,
            *,
            note: str = "",
            worker: str | None = None,
            satisfaction: Satisfaction | None = None,
        ) -> Case:
            return act_on_case(
                uow,
                self.workflow,
                case_id,
                action,
                actor=actor,
                role=role,
                at=now,
                note=note,
                worker=worker,
                satisfaction=satisfaction,
            ).case

        if state is CaseState.REPORTED and track.duplicate_of is not None:
            mark_duplicate(
                uow, self.workflow, case_id, of=track.duplicate_of, actor=staff, at=now, merge=True
            )
        elif state is CaseState.REPORTED:
            if track.reject:
                act(Action.REJECT, CaseRole.DISPATCHER, staff, note="重复诉求，已并案处理")
                return
            act(Action.REGISTER, CaseRole.DISPATCHER, staff)
            self._next(case_id, self._stage_delay(now, limits[Stage.DISPATCH]))
        elif state is CaseState.REGISTERED:
            worker = UnitHierarchy(uow).on_duty(case.owner_cell, day, besides=None)
            act(Action.DISPATCH, CaseRole.DISPATCHER, staff, worker=worker)
            self._next(
                case_id,
                now.add(minutes=rng.randint(5, 20))
                if urgent
                else self._working(now, rng.uniform(0.2, 2)),
            )
        elif state is CaseState.DISPATCHED and track.returned:
            track.returned = False
            act(Action.RETURN, CaseRole.HANDLER, handler, note="不属本单位职责，退回重新派遣")
            self._next(case_id, now.add(minutes=self.exception_rng.randint(10, 60)))
        elif state is CaseState.RETURNED:
            worker = UnitHierarchy(uow).on_duty(case.owner_cell, day, besides=None)
            act(Action.DISPATCH, CaseRole.DISPATCHER, staff, worker=worker, note="重新派遣")
            self._next(case_id, now.add(minutes=self.exception_rng.randint(5, 30)))
        elif state is CaseState.DISPATCHED:
            case = act(Action.START, CaseRole.HANDLER, handler)
            if track.wait:
                self._next(case_id, self._working(now, rng.uniform(0.5, 2)))
            else:
                self._next(case_id, self._handled_at(case, track, now))
        elif state is CaseState.IN_PROGRESS and track.wait:
            track.wait = False
            act(Action.WAIT_ON_RESIDENT, CaseRole.HANDLER, handler, note="等待居民补充材料")
            self._next(case_id, self._working(now, rng.uniform(4, 20)))
        elif state is CaseState.WAITING_ON_RESIDENT:
            case = act(Action.RESUME, CaseRole.HANDLER, handler, note="居民已补齐材料")
            self._next(case_id, self._handled_at(case, track, now))
        elif state is CaseState.IN_PROGRESS:
            act(Action.HANDLE, CaseRole.HANDLER, handler, note="已处置完毕，情况已反馈居民")
            self._next(case_id, self._stage_delay(now, limits[Stage.VERIFICATION]))
        elif state is CaseState.HANDLED and track.fail_verification:
            track.fail_verification = False
            track.handling = "quick"
            case = act(
                Action.FAIL_VERIFICATION, CaseRole.VERIFIER, verifier, note="现场核查未整改到位"
            )
            self._next(case_id, self._handled_at(case, track, now))
        elif state is CaseState.HANDLED:
            act(Action.VERIFY, CaseRole.VERIFIER, verifier)
            self._next(
                case_id,
                now.add(minutes=rng.randint(5, 30))
                if urgent
                else self._working(now, rng.uniform(0.1, 1)),
            )
        elif state is CaseState.VERIFIED:
            act(Action.CLOSE, CaseRole.DISPATCHER, staff)
            self._next(case_id, self._working(now, rng.uniform(4, 16)))  # the call-back
        elif state is CaseState.CLOSED:
            act(
                Action.EVALUATE,
                CaseRole.DISPATCHER,
                staff,
                satisfaction=_pick(rng, _SATISFACTION),
                note="回访完成",
            )

    def _handled_at(self, case: Case, track: _Track, now: pendulum.DateTime) -> pendulum.DateTime:
        """Return when the handler finishes, on the case's running handling deadline."""
        rng = self.case_rng
        deadline = case.deadline(Stage.HANDLING)
        limit = track.category.limit(Stage.HANDLING)
        on_calendar = limit.unit.on_calendar
        if track.handling == "quick" or deadline is None:
            if on_calendar:
                return self._working(now, rng.uniform(0.5, 6))
            return now.add(seconds=int(rng.uniform(0.1, 0.5) * _seconds(limit)))
        if track.handling == "days" and on_calendar:
            return self._working(now, rng.uniform(1.5, 4) * self.day_hours)
        share = rng.uniform(1.05, 1.6) if track.handling == "late" else rng.uniform(0.3, 0.95)
        at = self._share_of(deadline.start, deadline.due, limit, share)
        return max(at, now.add(minutes=10))

    # -- the programme -----------------------------------------------------------------------

    def _plan_registrations(self, series: ActivitySeries, occ: Occurrence) -> None:
        """Queue the registrations of an occurrence, its cancellations and its attendance."""
        rng = self.programme_rng
        day = occ.start.in_timezone(self.tz).date()
        pool = self.pools.get(series.id)
        if pool is None:
            # Who may come is judged once per series, on the period's first day: the service
            # refuses, on the day, anyone who no longer qualifies.
            pool = self.pools[series.id] = [
                m.id
                for h in self.scenario.households
                if h.status in (HouseholdStatus.RESIDENT, HouseholdStatus.RELOCATED)
                for m in h.members
                if self._eligible(series, m, h, self.first)
            ]
        if occ.capacity is None:
            wanted = rng.randint(*_OPEN_DEMAND)
        else:
            wanted = round(occ.capacity * rng.uniform(*_DEMAND))
        for resident_id in rng.sample(pool, min(wanted, len(pool))):
            back = rng.randint(1, 6)
            when = self._at(day.subtract(days=back), 8, 0).add(minutes=rng.randrange(14 * 60))
            if when < self.begin:
                when = self.begin.add(hours=8, minutes=rng.randrange(120))
            if when >= occ.start.subtract(minutes=30):
                continue  # no time left to register
            cancels = rng.random() < _CANCEL_SHARE
            self.schedule(when, self._register(series.id, occ, resident_id, cancels))
        self.schedule(occ.end.add(minutes=15), self._attendance(occ))

    @staticmethod
    def _eligible(series: ActivitySeries, m: Resident, h: Household, day: pendulum.Date) -> bool:
        if series.eligibility is None:
            return True
        return series.eligibility.explain(Facts.of(m, h, day))[0]

    def _register(
        self, series_id: str, occ: Occurrence, resident_id: str, cancels: bool
    ) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            now = self.clock.now()
            try:
                reg = register(
                    uow,
                    series_id=series_id,
                    original_start=occ.original_start,
                    resident_id=resident_id,
                    at=now,
                )
            except (ValidationError, ConflictError):
                return  # busy at that time, or no longer eligible: they give up
            self.registrations += 1
            self.waitlisted += reg.state is RegistrationState.WAITLISTED
            room = int((occ.start - now).total_seconds()) // 60
            if cancels and room > 60:
                later = now.add(minutes=self.programme_rng.randint(30, room - 30))
                self.schedule(later, self._cancel(reg.id))

        return handle

    def _cancel(self, registration_id: str) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            done = cancel_registration(uow, registration_id, at=self.clock.now())
            self.cancelled += 1
            self.promoted += done.promoted is not None

        return handle

    def _attendance(self, occ: Occurrence) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            now = self.clock.now()
            rng = self.programme_rng
            for reg in uow.registrations.for_occurrence(occ.id):
                if reg.state is not RegistrationState.CONFIRMED:
                    continue
                came = rng.random() < _SHOW_RATE
                record_attendance(uow, reg.id, attended=came, at=now)
                self.attended += came
                self.no_shows += not came

        return handle

    def _plan_volunteering(self) -> None:
        """Queue each shift's sign-ups (regulars first) and its completion."""
        rng = self.programme_rng
        if not self.volunteers:
            return
        regulars = rng.sample(self.volunteers, min(_REGULAR_VOLUNTEERS, len(self.volunteers)))
        others = [v for v in self.volunteers if v not in regulars]
        for shift in self.shifts:
            keen = [r for r in regulars if rng.random() < _REGULAR_TURNOUT]
            extra = rng.sample(others, min(len(others), shift.required + 2))
            day = shift.start.in_timezone(self.tz).date()
            candidates = [*keen, *extra][: shift.required + rng.randint(0, 2)]
            times = sorted(
                self._at(day.subtract(days=rng.randint(1, 4)), 8, 0).add(
                    minutes=rng.randrange(13 * 60)
                )
                for _ in candidates
            )
            for when, resident_id in zip(times, candidates, strict=True):
                when = max(when, self.begin.add(hours=8, minutes=rng.randrange(60)))
                if when < shift.start:
                    self.schedule(when, self._sign_up(shift.id, resident_id))
            self.schedule(shift.end.add(minutes=30), self._complete(shift.id))

    def _sign_up(self, shift_id: str, resident_id: str) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            try:
                sign_up(uow, shift_id=shift_id, resident_id=resident_id, at=self.clock.now())
            except (ValidationError, ConflictError):
                return  # the shift is full, or they are busy then
            self.signups += 1

        return handle

    def _complete(self, shift_id: str) -> _Handler:
        def handle(uow: UnitOfWork) -> None:
            rng = self.programme_rng
            signed = [
                s.resident_id
                for s in uow.signups.for_shift(shift_id)
                if s.state is SignUpState.SIGNED_UP
            ]
            present = [r for r in signed if rng.random() < _VOLUNTEER_SHOW_RATE]
            complete_shift(uow, shift_id, present=present, at=self.clock.now())

        return handle

    # -- the report --------------------------------------------------------------------------

    def report(self) -> SimulationReport:
        """Count what the store holds at the end and what the run did."""
        with self.store() as uow:
            counts = count_at_end(uow, self.roots, self.begin, self.end)
            hours = volunteer_hours(uow, self.volunteers, since=self.begin, until=self.end)
        escalated = {case_id for ids in self.raised.values() for case_id in ids}
        return SimulationReport(
            scenario=self.scenario.name,
            start=self.first,
            days=self.days,
            seed=self.seed,
            working_days=self.working_days,
            contacts=self.contacts,
            contacts_by_outcome=dict(self.outcomes),
            tasks_open=counts.tasks_open,
            tasks_overdue=counts.overdue,
            cases_reported=counts.reported,
            cases_rejected=counts.rejected,
            cases_closed=counts.closed,
            cases_escalated=len(escalated),
            cases_raised_to={level: len(ids) for level, ids in self.raised.items()},
            escalations=dict(self.escalations),
            series=self.series,
            occurrences=self.occurrences,
            registrations=self.registrations,
            waitlisted=self.waitlisted,
            promoted=self.promoted,
            cancelled=self.cancelled,
            attended=self.attended,
            no_shows=self.no_shows,
            shifts=len(self.shifts),
            signups=self.signups,
            volunteer_hours=round(sum(hours.values()), 2),
            cases_returned=counts.returned,
            cases_reworked=counts.reworked,
            cases_duplicates=counts.duplicates,
        )


def simulate(
    store: Store,
    scenario: Scenario,
    *,
    start: pendulum.Date,
    days: int,
    seed: int = 2043,
    progress: Callable[[int], None] | None = None,
) -> SimulationReport:
    """Store a scenario's ledger and live ``days`` days of its community through the services.

    The ledger goes in without its dated history (contacts, cases, activities, shifts and
    registrations are left out; cells, workers, households, venues and the settings are
    stored); then each day runs on a :class:`~gridgov.testing.ManualClock`: escalation sweeps
    at 09:00 and 17:30, care planning and the grid workers' contacts on working days, new cases
    and their steps, registrations, attendance and volunteer shifts. Each phase of a day (before,
    between and after the sweeps) is one unit of work.

    Args:
        store: An empty store whose code scheme fits the scenario.
        scenario: The scenario, e.g. from :func:`~gridgov.scenarios.load_scenario`.
        start: The first day to simulate.
        days: How many days, from 1 to 3660.
        seed: The seed of every random draw: the same arguments give the same store and report.
        progress: Called with the number of days done after each day.

    Returns:
        The figures of the run.

    Raises:
        ValidationError: If ``start`` is not a date (a datetime, naive or not, is refused),
            ``days`` or ``seed`` is not a whole number in range, the period or the deadlines of
            its last day's cases reach outside the supported range (1900-01-01 to 2100-12-31),
            or the scenario does not fit the store.
        CalendarCoverageError: If the scenario's calendar does not cover a day of the period,
            or the deadlines of the cases reported on its last day; nothing is stored then.
        ConflictError: If the store already holds the scenario's records.
    """
    if not isinstance(scenario, Scenario):
        raise ValidationError("scenario", "expected a Scenario")
    first = _check_start(start)
    count = _whole(days, "days", 1, _MAX_DAYS)
    _check_end(scenario, first, count)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValidationError("seed", "expected a whole number")
    if progress is not None and not callable(progress):
        raise ValidationError("progress", "expected a callable or None")
    workflow = scenario.workflow()
    _check_coverage(workflow, first, count)
    sim = _Simulation(store, scenario, workflow, first, count, seed)
    sim.setup()
    sim.run(progress)
    report = sim.report()
    _log.info(
        "simulated %s from %s for %d days: %d contacts, %d cases",
        scenario.name,
        first.isoformat(),
        count,
        report.contacts,
        report.cases_reported,
    )
    return report
