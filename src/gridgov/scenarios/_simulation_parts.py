"""The simulator's parts besides the day loop: its assumptions, its report, its argument checks.

The seeded assumptions are made up unless a source is named; :mod:`gridgov.scenarios.simulate`
runs the days.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

import attrs
import pendulum

from gridgov._levels import GridLevel
from gridgov.care.contacts import CareTask, Outcome
from gridgov.cases.catalogue import Category, TimeLimit, TimeUnit
from gridgov.cases.escalation import EscalationKind
from gridgov.cases.model import Case, CaseSource, CaseState, Satisfaction
from gridgov.cases.workflow import CaseWorkflow
from gridgov.clock import LATEST, OUTSIDE_RANGE, ensure_in_range
from gridgov.errors import CalendarCoverageError, ValidationError
from gridgov.ports import UnitOfWork
from gridgov.scenarios.loader import Scenario
from gridgov.scheduling.series import ActivitySeries
from gridgov.services._common import pages

__all__ = ["EndCounts", "SimulationReport", "count_at_end"]

T = TypeVar("T")

# --- the seeded assumptions (made up unless a source is named) -------------------------------

_MAX_DAYS = 3660
_WORKER_CAPACITY = (25, 40)  # tasks a grid worker gets through in a working day
_SAME_DAY_FOLLOW_UP = 0.8  # share of same-day follow-ups (a second call, a visit) made that day
_CASES_PER_GRID = (0.6, 0.2)  # mean new cases per grid on a working day, on a day off (Poisson)
# Category weights: complaints and help requests common, emergencies rare. A scenario's own
# categories weigh 3 (1 for an emergency category).
_CATEGORY_WEIGHTS = {
    "complaint": 24,
    "help": 22,
    "consultation": 16,
    "suggestion": 7,
    "report": 5,
    "proxy_service": 10,
    "utilities": 8,
    "emergency": 2,
}
_SOURCES = ((CaseSource.HOTLINE_12345, 45), (CaseSource.PATROL, 30), (CaseSource.WALK_IN, 25))
_URGENT_SOURCES = ((CaseSource.HOTLINE_12345, 60), (CaseSource.PATROL, 40))
_REJECT_SHARE = 0.03  # duplicates rejected at registration
_WAIT_SHARE = 0.06  # cases that wait on the resident (papers, access) for a while
_FAIL_VERIFICATION_SHARE = 0.05
# Drawn from a stream of their own, so the other cases' courses stay as they were:
_RETURN_SHARE = 0.04  # dispatched to the wrong unit, returned by its handler (退回), re-dispatched
_DUPLICATE_SHARE = 0.04  # problems someone else reports again through 12345, merged (合并)
_DUPLICATE_AFTER = (1, 4)  # hours after the first report the second one comes in
_LATE_STEP_SHARE = 0.12  # registration, dispatch and verification steps that overrun their limit
# Handling: quick (settled in the grid within the day), in a few working days (the grid's day
# passes and the community takes it over), late in the limit (the street takes it over), or over
# the limit (formal reminders, supervision).
_HANDLING_MIX = ((0.60, "quick"), (0.25, "days"), (0.10, "within"), (0.05, "late"))
_SATISFACTION = (
    (Satisfaction.SATISFIED, 80),
    (Satisfaction.BASICALLY_SATISFIED, 15),
    (Satisfaction.DISSATISFIED, 5),
)
_DEMAND = (0.6, 1.4)  # registrations per occurrence as a share of its capacity
_OPEN_DEMAND = (5, 20)  # registrations for an occurrence without a capacity
_CANCEL_SHARE = 0.08  # registrations cancelled before the occurrence
_SHOW_RATE = 0.85  # confirmed participants who come
_VOLUNTEER_SHOW_RATE = 0.9
_REGULAR_VOLUNTEERS = 4  # residents who volunteer most weeks
_REGULAR_TURNOUT = 0.85
_SWEEP_TIMES = ((9, 0), (17, 30))
_PLAN_TIME = (9, 0)

_DESCRIPTIONS: Mapping[str, tuple[str, ...]] = {
    "complaint": (
        "楼道堆放杂物，影响通行",
        "夜间广场舞音响声音过大",
        "电动车在楼道内充电，存在消防隐患",
        "小区内有人占用消防通道停车",
        "垃圾清运不及时，异味较大",
    ),
    "help": (
        "独居老人家中水管漏水，无力自行处理",
        "行动不便老人需要协助办理医保手续",
        "楼栋照明损坏，老人夜间出行困难",
        "困难家庭申请临时救助",
    ),
    "consultation": (
        "咨询高龄补贴申领条件",
        "咨询居住证办理材料",
        "咨询老旧小区改造进度",
        "咨询医保缴费时间",
    ),
    "suggestion": ("建议在院内增设休息座椅", "建议增加快递柜", "建议定期开展防诈骗宣传"),
    "report": ("反映有群租房安全隐患", "反映有违规搭建"),
    "proxy_service": ("委托代办高龄津贴申请", "委托代办残疾人证年审", "委托代办用电补助申请"),
    "utilities": ("单元停水，未见通知", "楼栋停电", "暖气不热", "闻到燃气味，需检修"),
    "emergency": ("楼道内有明显燃气味", "老人在家中摔倒，家属联系不上", "高空坠物险情"),
}


def _pick(rng: random.Random, table: Sequence[tuple[T, int]]) -> T:
    return rng.choices([item for item, _ in table], [w for _, w in table])[0]


def _at_the_desk(category: Category) -> bool:
    """Return whether a category is a service asked for at the front desk (代办)."""
    return category.code.endswith("_service") and not category.emergency


def _poisson(rng: random.Random, mean: float) -> int:
    """Draw from a Poisson distribution (Knuth's method; fine for small means)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# --- the report ------------------------------------------------------------------------------


def _counts(value: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(value.items()))


@attrs.frozen
class SimulationReport:
    """What a simulation did: the period and its figures.

    Args:
        scenario: The scenario's name.
        start: The first day simulated.
        days: The number of days simulated.
        seed: The seed.
        working_days: The working days among them (on the scenario's calendar).
        contacts: Care contacts recorded.
        contacts_by_outcome: Of them, how many per outcome (outcome value: count).
        tasks_open: Care tasks open (not done or cancelled) at the end, upcoming ones included.
        tasks_overdue: Of them, those already due at the end.
        cases_reported: Cases reported.
        cases_rejected: Of them, rejected at registration.
        cases_closed: Closed (or closed and evaluated) at the end.
        cases_escalated: Cases raised at least one level.
        cases_raised_to: Cases raised to each level (level value: count); a case raised from the
            grid to the community and on to the street counts at both.
        escalations: Escalations the sweeps carried out, per kind (kind value: count).
        series: Activity series stored.
        occurrences: Their occurrences in the period.
        registrations: Registrations made (confirmed or waitlisted when made).
        waitlisted: Of them, put on the waitlist when made.
        promoted: Moved from the waitlist to a place freed by a cancellation.
        cancelled: Cancelled by the resident.
        attended: Recorded as attended.
        no_shows: Recorded as not attended.
        shifts: Volunteer shifts.
        signups: Volunteer sign-ups accepted.
        volunteer_hours: Hours credited to volunteers.
        cases_returned: Cases returned by a handler at least once (wrong jurisdiction).
        cases_reworked: Cases whose verification failed at least once (返工).
        cases_duplicates: Cases merged into another report of the same problem (counted in
            ``cases_reported``, not in ``cases_closed``).
    """

    scenario: str
    start: pendulum.Date
    days: int
    seed: int
    working_days: int
    contacts: int
    contacts_by_outcome: dict[str, int] = attrs.field(converter=_counts)
    tasks_open: int
    tasks_overdue: int
    cases_reported: int
    cases_rejected: int
    cases_closed: int
    cases_escalated: int
    cases_raised_to: dict[str, int] = attrs.field(converter=_counts)
    escalations: dict[str, int] = attrs.field(converter=_counts)
    series: int
    occurrences: int
    registrations: int
    waitlisted: int
    promoted: int
    cancelled: int
    attended: int
    no_shows: int
    shifts: int
    signups: int
    volunteer_hours: float
    cases_returned: int = 0
    cases_reworked: int = 0
    cases_duplicates: int = 0

    @property
    def end(self) -> pendulum.Date:
        """Return the day after the last day simulated."""
        return self.start.add(days=self.days)

    def figures(self) -> dict[str, int | float]:
        """Return every figure as a flat mapping of plain numbers, with the same keys every run.

        Per-outcome, per-level and per-kind counts appear as ``contacts_well``,
        ``cases_raised_to_community``, ``escalations_formal_reminder`` and so on, zero included.
        """
        out: dict[str, int | float] = {
            "days": self.days,
            "working_days": self.working_days,
            "contacts": self.contacts,
        }
        out.update(
            (f"contacts_{o.value}", self.contacts_by_outcome.get(o.value, 0)) for o in Outcome
        )
        out.update(
            tasks_open=self.tasks_open,
            tasks_overdue=self.tasks_overdue,
            cases_reported=self.cases_reported,
            cases_rejected=self.cases_rejected,
            cases_closed=self.cases_closed,
            cases_escalated=self.cases_escalated,
            cases_returned=self.cases_returned,
            cases_reworked=self.cases_reworked,
            cases_duplicates=self.cases_duplicates,
        )
        out.update(
            (f"cases_raised_to_{level.value}", self.cases_raised_to.get(level.value, 0))
            for level in (GridLevel.COMMUNITY, GridLevel.STREET, GridLevel.DISTRICT)
        )
        out.update(
            (f"escalations_{k.value}", self.escalations.get(k.value, 0)) for k in EscalationKind
        )
        out.update(
            series=self.series,
            occurrences=self.occurrences,
            registrations=self.registrations,
            waitlisted=self.waitlisted,
            promoted=self.promoted,
            cancelled=self.cancelled,
            attended=self.attended,
            no_shows=self.no_shows,
            shifts=self.shifts,
            signups=self.signups,
            volunteer_hours=self.volunteer_hours,
        )
        return out


@attrs.frozen
class EndCounts:
    """What the store holds at the end of a run, in the simulated cells."""

    tasks_open: int = 0
    overdue: int = 0
    reported: int = 0
    rejected: int = 0
    closed: int = 0
    returned: int = 0
    reworked: int = 0
    duplicates: int = 0


def count_at_end(
    uow: UnitOfWork, roots: Iterable[str], begin: pendulum.DateTime, end: pendulum.DateTime
) -> EndCounts:
    """Count the open and overdue care tasks, and the cases reported in ``[begin, end)``.

    A case closed as a duplicate is not counted closed: it counts among the duplicates.
    """
    far = end.add(years=5)
    counts = Counter[str]()

    def open_tasks(root: str) -> Iterator[CareTask]:
        return pages(
            lambda after: uow.care_tasks.open_in_subtree(
                root, starting_before=far, limit=1000, after=after
            )
        )

    def reported_cases(root: str) -> Iterator[Case]:
        return pages(
            lambda after: uow.cases.reported_in_subtree(
                root, since=begin, until=end, limit=500, after=after
            )
        )

    for root in roots:
        for task in open_tasks(root):
            counts["tasks_open"] += 1
            counts["overdue"] += task.due < end
        for case in reported_cases(root):
            actions = {e.action for e in case.history}
            counts["reported"] += 1
            counts["rejected"] += case.state is CaseState.REJECTED
            counts["duplicates"] += case.is_duplicate
            counts["closed"] += (
                case.state in (CaseState.CLOSED, CaseState.EVALUATED) and not case.is_duplicate
            )
            counts["returned"] += "return" in actions
            counts["reworked"] += "fail_verification" in actions
    return EndCounts(**counts)


def _seconds(limit: TimeLimit) -> float:
    """Return a clock-time limit in seconds."""
    per = {TimeUnit.MINUTES: 60, TimeUnit.HOURS: 3600, TimeUnit.DAYS: 86400}
    return float(limit.amount * per.get(limit.unit, 3600))


# --- checking the arguments ------------------------------------------------------------------


def _check_start(start: object) -> pendulum.Date:
    if isinstance(start, dt.datetime):
        raise ValidationError("start", "expected a date, not a date and time")
    if not isinstance(start, dt.date):
        raise ValidationError("start", "expected a pendulum Date")
    return ensure_in_range(pendulum.Date(start.year, start.month, start.day), "start")


def _check_end(scenario: Scenario, first: pendulum.Date, days: int) -> None:
    """Refuse a run that would write instants past the supported range, before writing any.

    The run reaches the midnight after its last day; the care tasks planned on that day run up
    to two cadences later (due one cadence after the last contact, open for another).
    """
    end = first.add(days=days)
    if end > LATEST:
        raise ValidationError("days", f"the run would reach {end}, {OUTSIDE_RANGE}")
    longest = max((c.every_days for t in scenario.policy.tiers for c in t.cadences), default=0)
    tasks = end.add(days=2 * longest)
    if tasks > LATEST:
        raise ValidationError(
            "days", f"the care tasks planned on its last day would run to {tasks}, {OUTSIDE_RANGE}"
        )


def _whole(value: object, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(field, f"expected a whole number from {low} to {high}")
    return value


def _working_days(limit: TimeLimit) -> int:
    """Return about how many working days a time limit spans (rounded up)."""
    match limit.unit:
        case TimeUnit.WORKING_DAYS | TimeUnit.DAYS:
            return limit.amount
        case TimeUnit.WORKING_HOURS:
            return math.ceil(limit.amount / 7)
        case TimeUnit.HOURS:
            return math.ceil(limit.amount / 24)
        case TimeUnit.MINUTES:
            return math.ceil(limit.amount / 1440)


def _check_coverage(workflow: CaseWorkflow, start: pendulum.Date, days: int) -> None:
    """Raise CalendarCoverageError if the calendar misses a day the run needs.

    Cases reported on the last day carry deadlines and escalation checks beyond the period: the
    calendar must cover the longest time limit and the longest escalation offset after it.
    """
    calendar = workflow.calendar
    for i in range(days):
        calendar.is_working_day(start.add(days=i))  # raises outside the covered years
    limits = [limit for c in workflow.catalogue.categories for limit in c.limits.values()]
    offsets = [
        limit
        for s in workflow.escalation.steps
        for limit in (s.offset, s.repeat_every)
        if limit is not None
    ]
    margin = 1 + max(map(_working_days, limits), default=0)
    margin += max(map(_working_days, offsets), default=0)
    last = start.add(days=days - 1)
    reach = f"the cases reported on {last.isoformat()} have deadlines and escalations up to "
    try:
        latest = calendar.add_working_days(
            pendulum.datetime(last.year, last.month, last.day, 12, tz=calendar.tz), margin
        )
    except CalendarCoverageError as exc:
        raise CalendarCoverageError(f"{reach}{margin} working days later: {exc}") from None
    if latest.year > LATEST.year:
        raise ValidationError("days", f"{reach}{latest.date()}, {OUTSIDE_RANGE}")


# --- re-anchoring the programme --------------------------------------------------------------


def _reanchor(
    series: ActivitySeries, first: pendulum.Date, end: pendulum.DateTime
) -> ActivitySeries | None:
    """Move a series by whole weeks so that it starts in the period's first week.

    The rule keeps its frequency, interval and days; its UNTIL or COUNT becomes the period's end.
    Exceptions and changed occurrences belong to the old dates and are dropped.

    Returns:
        The moved series, or ``None`` if it would start after the period.
    """
    local = series.start.in_timezone(series.tz)
    weeks = math.ceil((first.toordinal() - local.date().toordinal()) / 7)
    day = dt.date.fromordinal(local.date().toordinal() + 7 * weeks)
    begins = pendulum.datetime(
        day.year, day.month, day.day, local.hour, local.minute, local.second, tz=series.tz
    )
    if begins >= end:
        return None
    rule = None
    if series.rrule is not None:
        parts = [
            p
            for p in series.rrule.split(";")
            if p and p.split("=", 1)[0].upper() not in ("UNTIL", "COUNT")
        ]
        until = end.subtract(seconds=1).in_timezone("UTC").format("YYYYMMDDTHHmmss")
        rule = ";".join([*parts, f"UNTIL={until}Z"])
    return attrs.evolve(
        series, start=begins, rrule=rule, exdates=frozenset(), changes=(), version=0
    )
