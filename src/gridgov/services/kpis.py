"""Case indicators as the sector standards define them (CJ/T 292; the provinces' bulletins).

The denominators are the standards', not the intuitive ones:

- **due for closure** (应结案数): the cases handled, and the cases overdue without being
  handled, as of an instant; cases still within their limit are not counted;
- **deferred** (缓办, 挂账): the parked cases among those due, taken out of the denominators;
- **closure rate** (结案率) = closed / (due for closure - deferred);
- **on-time closure rate** (按期结案率) = closed on time / (due for closure - deferred): an
  overdue open case lowers it, as it should.

Besides them: each stage's on-time rate (registration, dispatch, handling, verification: stages
completed within their limit over stages completed), accurate dispatch (dispatched cases not
returned for wrong jurisdiction), rework (cases whose verification failed at least once, and the
rounds), the extension rate, urgent cases closed on time, and satisfaction at the call-back.
Each figure keeps its counts, so a reader can check a rate and a league table can require a
minimum number of cases.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

import attrs
import pendulum

from gridgov.cases.catalogue import Stage
from gridgov.cases.model import Case, CaseState, Satisfaction, Urgency
from gridgov.clock import ensure_aware
from gridgov.errors import ValidationError
from gridgov.ports import UnitOfWork
from gridgov.services._common import pages

__all__ = ["CaseFigures", "CaseKpis", "StageFigures", "case_kpis"]

_HANDLED = frozenset({CaseState.HANDLED, CaseState.VERIFIED, CaseState.CLOSED, CaseState.EVALUATED})
_CLOSED = frozenset({CaseState.CLOSED, CaseState.EVALUATED})
_SATISFIED = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@attrs.frozen
class StageFigures:
    """How one stage's limits were kept.

    Args:
        completed: Stage limits met (a stage done again after a rework counts again).
        on_time: Of those, the ones met by their due instant.
    """

    completed: int = 0
    on_time: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Return on time / completed (按时登记率, 按时派遣率, ...), or ``None`` without any."""
        return _share(self.on_time, self.completed)

    def __add__(self, other: StageFigures) -> StageFigures:
        return StageFigures(self.completed + other.completed, self.on_time + other.on_time)


@attrs.frozen
class CaseFigures:
    """Case figures of one cell or unit over a period, as of an instant.

    Args:
        reported: Cases reported in the period (rejected ones excluded).
        closed: Of those, the ones closed (or evaluated).
        closed_on_time: Of the closed, those whose handling met its deadline.
        median_hours: The median hours each stage took, over the stages completed.
        provisional: Of the open ones, those whose running deadline rests on provisional
            holidays (a year not announced yet): it may move (:mod:`gridgov.services.retime`).
        provisional_years: The years those deadlines rest on.
        due_for_closure: Handled, or overdue without being handled, as of the instant (应结案数).
        deferred: Of those, the parked ones (缓办, 挂账), taken out of the denominators.
        stages: Per stage, the limits met and met on time.
        dispatched: Cases dispatched at least once.
        returned: Of those, the ones returned by a handler (wrong jurisdiction, say).
        reworked: Cases whose verification failed at least once (返工).
        rework_rounds: Failed verifications, over every case.
        extended: Cases granted an extension.
        urgent: Urgent and emergency cases.
        urgent_closed_on_time: Of those, the ones closed with their handling on time.
        evaluated: Cases called back (回访).
        satisfied: Of those, the satisfied and basically satisfied.
    """

    reported: int
    closed: int
    closed_on_time: int
    median_hours: dict[Stage, float]
    provisional: int = 0
    provisional_years: tuple[int, ...] = ()
    due_for_closure: int = 0
    deferred: int = 0
    stages: dict[Stage, StageFigures] = attrs.field(factory=dict)
    dispatched: int = 0
    returned: int = 0
    reworked: int = 0
    rework_rounds: int = 0
    extended: int = 0
    urgent: int = 0
    urgent_closed_on_time: int = 0
    evaluated: int = 0
    satisfied: int = 0

    @property
    def closure_base(self) -> int:
        """Return the standard denominator: due for closure - deferred."""
        return self.due_for_closure - self.deferred

    @property
    def closure_rate(self) -> float | None:
        """Return closed / (due for closure - deferred) (结案率), or ``None`` without any due."""
        return _share(self.closed, self.closure_base)

    @property
    def on_time_rate(self) -> float | None:
        """Return closed on time / (due for closure - deferred) (按期结案率), or ``None``."""
        return _share(self.closed_on_time, self.closure_base)

    @property
    def accurate_dispatch_rate(self) -> float | None:
        """Return (dispatched - returned) / dispatched (派遣准确率), or ``None``."""
        return _share(self.dispatched - self.returned, self.dispatched)

    @property
    def rework_rate(self) -> float | None:
        """Return reworked / handled-or-overdue cases due (返工率), or ``None``."""
        return _share(self.reworked, self.closure_base)

    @property
    def extension_rate(self) -> float | None:
        """Return extended / reported (延期率), or ``None`` without cases."""
        return _share(self.extended, self.reported)

    @property
    def urgent_on_time_rate(self) -> float | None:
        """Return urgent cases closed on time / urgent cases, or ``None`` without any."""
        return _share(self.urgent_closed_on_time, self.urgent)

    @property
    def satisfaction_rate(self) -> float | None:
        """Return (basically) satisfied / evaluated (满意率), or ``None`` without call-backs."""
        return _share(self.satisfied, self.evaluated)

    @classmethod
    def combined(cls, figures: Iterable[CaseFigures]) -> CaseFigures:
        """Return the figures of several cells together (medians cannot add: left empty)."""
        every = list(figures)
        counts = {
            f.name: sum(getattr(x, f.name) for x in every)
            for f in attrs.fields(cls)
            if f.type in ("int", int)
        }
        stages: dict[Stage, StageFigures] = defaultdict(StageFigures)
        for x in every:
            for stage, s in x.stages.items():
                stages[stage] = stages[stage] + s
        years = sorted({y for x in every for y in x.provisional_years})
        return cls(median_hours={}, provisional_years=tuple(years), stages=dict(stages), **counts)


@attrs.frozen
class CaseKpis:
    """Case KPIs over a subtree and a period.

    Args:
        total: The whole subtree.
        by_cell: Per cell the cases lie in.
        by_unit: Per owning unit (where the case ended up).
    """

    total: CaseFigures
    by_cell: dict[str, CaseFigures]
    by_unit: dict[str, CaseFigures]


class _Tally:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.stage_hours: dict[Stage, list[float]] = defaultdict(list)
        self.stages: dict[Stage, StageFigures] = defaultdict(StageFigures)
        self.years: set[int] = set()

    def add(self, case: Case, as_of: pendulum.DateTime) -> None:
        c = self.counts
        c["reported"] += 1
        for d in case.deadlines:
            if d.met_at is not None:
                self.stage_hours[d.stage].append((d.met_at - d.start).total_seconds() / 3600)
                self.stages[d.stage] += StageFigures(1, int(d.met_at <= d.due))
        running = case.current_deadline
        if running is not None and running.provisional:
            c["provisional"] += 1
            self.years.update(running.provisional_years)
        handling = case.deadline(Stage.HANDLING)
        handled = case.state in _HANDLED
        on_time = handled and handling is not None and bool(handling.met_in_time())
        if handled or (handling is not None and handling.due < as_of):
            c["due_for_closure"] += 1
            c["deferred"] += case.state is CaseState.PARKED
        if case.state in _CLOSED:
            c["closed"] += 1
            c["closed_on_time"] += on_time
        actions = [e.action for e in case.history]
        c["dispatched"] += "dispatch" in actions
        c["returned"] += "return" in actions
        c["reworked"] += "fail_verification" in actions
        c["rework_rounds"] += actions.count("fail_verification")
        c["extended"] += "approve_extension" in actions
        if case.urgency is not Urgency.NORMAL:
            c["urgent"] += 1
            c["urgent_closed_on_time"] += case.state in _CLOSED and on_time
        if case.satisfaction is not None:
            c["evaluated"] += 1
            c["satisfied"] += case.satisfaction in _SATISFIED

    def figures(self) -> CaseFigures:
        medians = {
            s: round(statistics.median(h), 2) for s in Stage if (h := self.stage_hours.get(s))
        }
        return CaseFigures(
            median_hours=medians,
            provisional_years=tuple(sorted(self.years)),
            stages=dict(self.stages),
            **{
                f.name: self.counts[f.name]
                for f in attrs.fields(CaseFigures)
                if f.type in ("int", int)
            },
        )


def case_kpis(
    uow: UnitOfWork,
    cell_code: str,
    *,
    since: pendulum.DateTime,
    until: pendulum.DateTime,
    as_of: pendulum.DateTime | None = None,
) -> CaseKpis:
    """Return the standard case indicators of the cases reported in a period.

    Args:
        uow: The unit of work.
        cell_code: The subtree to count.
        since: Count cases reported from this instant ...
        until: ... until before this one.
        as_of: When a case's handling deadline must have passed for it to be overdue (and so
            due for closure); default: ``until``. Pass the current instant for a period still
            running.

    Raises:
        ValidationError: On naive instants or ``until`` before ``since``.
        NotFoundError: If the cell is not stored.
    """
    since = ensure_aware(since, "since")
    until = ensure_aware(until, "until")
    as_of = until if as_of is None else ensure_aware(as_of, "as_of")
    if until < since:
        raise ValidationError("until", "the period ends before it starts")
    total = _Tally()
    cells: dict[str, _Tally] = defaultdict(_Tally)
    units: dict[str, _Tally] = defaultdict(_Tally)
    for case in pages(
        lambda a: uow.cases.reported_in_subtree(
            cell_code, since=since, until=until, limit=500, after=a
        )
    ):
        if case.state is CaseState.REJECTED:
            continue
        for tally in (total, cells[case.cell_code], units[case.owner_cell]):
            tally.add(case, as_of)
    return CaseKpis(
        total.figures(),
        {k: t.figures() for k, t in sorted(cells.items())},
        {k: t.figures() for k, t in sorted(units.items())},
    )
