"""The figures of a report, gathered from a store: aggregates per grid and per venue, no one's data.

:func:`collect` reads one unit of work and never commits: a report changes nothing. Every figure
comes from a service of gridgov, so that the report and the services cannot disagree:

- visiting coverage from :func:`gridgov.services.care.coverage`, for the month up to the day;
- case figures from :func:`gridgov.services.cases.case_kpis`, over the 90 days up to the day;
- escalations from the histories of the cases reported in a grid in those 90 days
  (``uow.cases.reported_in_subtree``);
- activity fill from :func:`gridgov.services.scheduling.week_schedule` for the coming week and
  :func:`~gridgov.services.scheduling.occurrences_in_venue` for the month;
- volunteer hours from :func:`gridgov.services.scheduling.volunteer_hours`, for the month;
- the standard indicators per grid, department and post over the 90 days
  (:mod:`gridgov.report.standard`).
- the targets checked against those figures by :func:`gridgov.report.targets.assess`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

import attrs
import pendulum

from gridgov.cases import Case, EscalationKind
from gridgov.clock import EARLIEST, LATEST, OUTSIDE_RANGE, ensure_date
from gridgov.errors import NotFoundError, ValidationError
from gridgov.grid import Boundary, GridCell, GridLevel, GridTree
from gridgov.ports import Store, UnitOfWork
from gridgov.report.standard import DEFAULT_MIN_CASES, StandardFigures, standard_figures
from gridgov.report.targets import assess
from gridgov.scenarios import Scenario
from gridgov.scheduling.series import Occurrence
from gridgov.scheduling.venues import Venue
from gridgov.services._common import pages
from gridgov.services.care import Coverage, coverage
from gridgov.services.cases import CaseFigures, case_kpis
from gridgov.services.scheduling import occurrences_in_venue, volunteer_hours, week_schedule
from gridgov.settings import indicator_targets
from gridgov.targets import TargetCheck, Targets

__all__ = [
    "CASE_DAYS",
    "ESCALATION_LEVELS",
    "GridFigures",
    "ReportFigures",
    "VenueFill",
    "collect",
]

CASE_DAYS = 90
"""The case figures and escalations cover the 90 days up to the report's day."""

ESCALATION_LEVELS = (GridLevel.GRID, GridLevel.COMMUNITY, GridLevel.STREET, GridLevel.DISTRICT)
"""The levels escalations are counted at: the levels that own cases."""

_ESCALATIONS = frozenset(k.value for k in EscalationKind)


@attrs.frozen
class GridFigures:
    """The figures of one grid.

    Args:
        code: The grid's code.
        name: Its name.
        boundary: Its outline, if mapped.
        coverage: Its visiting coverage for the month.
        cases: Its case figures over the case period (cases lying in its subtree).
        escalations: Escalations in the case period by the level that holds the case after them
            (the level reminded or supervised, or the level a case was raised to).
        escalation_kinds: The same escalations by kind.
        volunteers: Volunteers living in the grid credited with hours in the month.
        volunteer_hours: Their hours.
    """

    code: str
    name: str
    boundary: Boundary | None
    coverage: Coverage
    cases: CaseFigures
    escalations: dict[GridLevel, int]
    escalation_kinds: dict[EscalationKind, int]
    volunteers: int
    volunteer_hours: float

    @property
    def escalation_total(self) -> int:
        """Return the number of escalations."""
        return sum(self.escalations.values())


@attrs.frozen
class VenueFill:
    """How full a venue's activities are over a period.

    Args:
        venue_id: The venue.
        name: Its name.
        start: The period's first instant.
        end: The instant after it.
        occurrences: Occurrences held (not cancelled) in the period.
        capacity: Places of the occurrences that limit them.
        confirmed: Places taken (confirmed or attended) in those occurrences.
        waitlisted: People on their waitlists.
        open_occurrences: Occurrences without a limit (not in the fill).
        cell_code: The cell the venue lies in.
    """

    venue_id: str
    name: str
    start: pendulum.DateTime
    end: pendulum.DateTime
    occurrences: int
    capacity: int
    confirmed: int
    waitlisted: int
    open_occurrences: int
    cell_code: str = ""

    @property
    def fill(self) -> float | None:
        """Return confirmed / capacity, or ``None`` without limited places."""
        return self.confirmed / self.capacity if self.capacity else None


@attrs.frozen
class ReportFigures:
    """Everything a report shows: aggregates and cell names only.

    Args:
        title: The scenario's name.
        on: The report's day.
        tz: The time zone the days are counted in.
        month_start: The first day of the month (coverage, volunteer hours, the month's fill).
        case_since: The first instant of the case period.
        until: The end of the report's day: every period ends here but the coming week.
        grids: One entry per grid, in the tree's order.
        week: Activity fill per venue over the week from the report's day.
        month: Activity fill per venue over the month up to the report's day.
        volunteers: Volunteers credited with hours in the month (all, wherever they live).
        volunteer_hours: Their hours.
        standard: The standard indicators per grid, department and post over the case period
            (:mod:`gridgov.report.standard`).
        targets: Each grid's indicators against its targets, then all grids' together
            (:func:`gridgov.report.targets.assess`).
    """

    title: str
    on: pendulum.Date
    tz: str
    month_start: pendulum.Date
    case_since: pendulum.DateTime
    until: pendulum.DateTime
    grids: tuple[GridFigures, ...]
    week: tuple[VenueFill, ...]
    month: tuple[VenueFill, ...]
    volunteers: int
    volunteer_hours: float
    standard: StandardFigures | None = None
    targets: tuple[TargetCheck, ...] = ()

    @property
    def unmapped(self) -> tuple[GridFigures, ...]:
        """Return the grids without a boundary."""
        return tuple(g for g in self.grids if g.boundary is None)

    @property
    def week_end(self) -> pendulum.Date:
        """Return the last day of the coming week."""
        return self.on.add(days=6)


def collect(
    store: Store,
    scenario: Scenario,
    *,
    on: pendulum.Date,
    tz: str = "Asia/Shanghai",
    min_cases: int = DEFAULT_MIN_CASES,
    targets: Targets | None = None,
) -> ReportFigures:
    """Gather the figures of a report on ``on`` from a store holding ``scenario``.

    The grids are the scenario's cells at the grid level (its roots when it has none); their
    boundaries come from the store. Nothing is written: the unit of work is left uncommitted.

    Args:
        store: The store.
        scenario: The scenario it holds: its name, cells and care policy.
        on: The report's day.
        tz: The time zone days begin in.
        min_cases: The cases a grid, department or post needs to be ranked in the league
            tables of the standard indicators.
        targets: The targets to check the figures against; default: the store's
            (:func:`gridgov.settings.indicator_targets`), else the scenario's, else
            :data:`~gridgov.targets.DEFAULT_TARGETS`.

    Returns:
        The figures.

    Raises:
        ValidationError: If ``min_cases`` is not a whole number from 1, the scenario's cells
            do not form a tree, or the report reads days
            outside the supported range: its cases start :data:`CASE_DAYS` days before the end
            of ``on`` and its week ends seven days after ``on`` begins.
    """
    on = ensure_date(on, "on")
    first, last = on.add(days=1).subtract(days=CASE_DAYS), on.add(days=7)
    if first < EARLIEST or last > LATEST:
        raise ValidationError("on", f"the report reads {first} to {last}, {OUTSIDE_RANGE}")
    tree = scenario.tree()
    grids = tree.at_level(GridLevel.GRID) or tree.roots
    day_start = pendulum.datetime(on.year, on.month, on.day, tz=tz)
    until = day_start.add(days=1)
    since = until.subtract(days=CASE_DAYS)
    month_start = on.start_of("month")
    month_from = pendulum.datetime(on.year, on.month, 1, tz=tz)
    with store() as uow:
        venues = [v for root in tree.roots for v in _venues(uow, root.code)]
        hours = volunteer_hours(
            uow, _volunteers(uow, venues, month_from, until), since=month_from, until=until
        )
        credited = {rid: h for rid, h in hours.items() if h > 0}
        home = _home_grids(uow, tree, {g.code for g in grids}, credited)
        rows = []
        for grid in grids:
            levels, kinds = _escalations(uow, tree, grid.code, since, until)
            mine = [h for rid, h in credited.items() if home.get(rid) == grid.code]
            rows.append(
                GridFigures(
                    code=grid.code,
                    name=grid.name,
                    boundary=_stored(uow, grid).boundary,
                    coverage=coverage(
                        uow,
                        grid.code,
                        start=month_start,
                        end=on.add(days=1),
                        policy=scenario.policy,
                        tz=tz,
                    ),
                    cases=case_kpis(uow, grid.code, since=since, until=until).total,
                    escalations=levels,
                    escalation_kinds=kinds,
                    volunteers=len(mine),
                    volunteer_hours=round(sum(mine), 2),
                )
            )
        week = tuple(_week_fill(uow, v, day_start) for v in venues)
        month = tuple(_fill(uow, v, month_from, until) for v in venues)
        standard = standard_figures(
            uow,
            tree,
            {g.code: g.cases for g in rows},
            since=since,
            until=until,
            min_cases=min_cases,
        )
        if targets is None:
            targets = indicator_targets(uow, scenario.targets)
    figures = ReportFigures(
        title=scenario.name,
        on=on,
        tz=tz,
        month_start=month_start,
        case_since=since,
        until=until,
        grids=tuple(rows),
        week=week,
        month=month,
        volunteers=len(credited),
        volunteer_hours=round(sum(credited.values()), 2),
        standard=standard,
    )
    return attrs.evolve(figures, targets=assess(figures, targets))


def _stored(uow: UnitOfWork, cell: GridCell) -> GridCell:
    try:
        return uow.cells.get(cell.code)
    except NotFoundError:
        return cell


def _venues(uow: UnitOfWork, root: str) -> Iterator[Venue]:
    return pages(lambda after: uow.venues.in_subtree(root, after=after))


def _cases(
    uow: UnitOfWork, code: str, since: pendulum.DateTime, until: pendulum.DateTime
) -> Iterator[Case]:
    return pages(
        lambda after: uow.cases.reported_in_subtree(
            code, since=since, until=until, limit=500, after=after
        )
    )


def _escalations(
    uow: UnitOfWork,
    tree: GridTree,
    code: str,
    since: pendulum.DateTime,
    until: pendulum.DateTime,
) -> tuple[dict[GridLevel, int], dict[EscalationKind, int]]:
    """Count the escalations in ``[since, until)`` of the cases reported in the subtree."""
    levels: Counter[GridLevel] = Counter()
    kinds: Counter[EscalationKind] = Counter()
    for case in _cases(uow, code, since, until):
        for entry in case.history:
            if entry.action in _ESCALATIONS and since <= entry.at < until:
                owner = entry.owner_cell or case.owner_cell
                levels[_level(uow, tree, owner)] += 1
                kinds[EscalationKind(entry.action)] += 1
    return (
        {level: levels[level] for level in ESCALATION_LEVELS if levels[level]},
        {kind: kinds[kind] for kind in EscalationKind if kinds[kind]},
    )


def _level(uow: UnitOfWork, tree: GridTree, code: str) -> GridLevel:
    if code in tree:
        return tree.get(code).level
    return uow.cells.get(code).level


def _volunteers(
    uow: UnitOfWork, venues: Iterable[Venue], since: pendulum.DateTime, until: pendulum.DateTime
) -> list[str]:
    """Return who signed up for a shift of the venues in ``[since, until)``, sorted."""
    found = {
        signup.resident_id
        for venue in venues
        for shift in uow.shifts.in_venue(venue.id, start=since, end=until)
        for signup in uow.signups.for_shift(shift.id)
    }
    return sorted(found)


def _home_grids(
    uow: UnitOfWork, tree: GridTree, grids: set[str], residents: Iterable[str]
) -> dict[str, str]:
    """Return the grid each resident's household lies in, for those living in one."""
    home: dict[str, str] = {}
    for rid in residents:
        try:
            cell = uow.households.household_of(rid).cell_code
        except NotFoundError:
            continue
        if cell not in tree:
            continue
        grid = next((c.code for c in tree.path(cell) if c.code in grids), None)
        if grid is not None:
            home[rid] = grid
    return home


def _week_fill(uow: UnitOfWork, venue: Venue, start: pendulum.DateTime) -> VenueFill:
    schedule = week_schedule(uow, venue.id, start=start)
    entries = [
        (e.occurrence, e.confirmed, e.waitlisted)
        for space in schedule.by_space.values()
        for e in space
    ]
    return _tally(venue, start, start.add(days=7), entries)


def _fill(
    uow: UnitOfWork, venue: Venue, start: pendulum.DateTime, end: pendulum.DateTime
) -> VenueFill:
    entries = []
    for occ in occurrences_in_venue(uow, venue.id, start=start, end=end):
        fill = uow.registrations.occupancy(occ.id)
        entries.append((occ, fill.taken, fill.waiting))
    return _tally(venue, start, end, entries)


def _tally(
    venue: Venue,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    entries: Iterable[tuple[Occurrence, int, int]],
) -> VenueFill:
    held = [(o, c, w) for o, c, w in entries if not o.cancelled]
    limited = [(o.capacity, c) for o, c, _ in held if o.capacity is not None]
    return VenueFill(
        venue_id=venue.id,
        name=venue.name,
        start=start,
        end=end,
        occurrences=len(held),
        capacity=sum(cap for cap, _ in limited),
        confirmed=sum(c for _, c in limited),
        waitlisted=sum(w for _, _, w in held),
        open_occurrences=len(held) - len(limited),
        cell_code=venue.cell_code,
    )
