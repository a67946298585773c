"""Case indicators as the sector standards define them (CJ/T 292; the provinces' bulletins).

The denominators are the standards', not the intuitive ones:

- **due for closure** (应结案数): the cases handled, and the cases overdue without being
  handled, as of an instant; cases still within their limit are not counted;
- **deferred** (缓办, 挂账): the parked cases among those due, taken out of the denominators;
- **closure rate** (结案率) = closed / (due for closure - deferred);
- **on-time closure rate** (按期结案率) = closed on time / (due for closure - deferred): an
  overdue open case lowers it, as it should;
- rework (返工率) and extensions (延期率) over the same denominator, as the bulletins divide them.

A case closed as a duplicate of another (merged or marked, :mod:`gridgov.cases.duplicates`)
counts in no figure but ``duplicates``: it is no case of its own (its problem is the other
case's), so it is neither reported, nor due for closure, nor closed.

:meth:`CaseFigures.percent` gives a rate as bulletins print it: a percentage rounded half up
from the counts (``tests/test_case_bulletins.py`` reproduces published bulletins with it).

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
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal

import attrs
import pendulum

from gridgov._levels import GridLevel
from gridgov.cases.catalogue import Stage
from gridgov.cases.model import Case, CaseState, Satisfaction, Urgency
from gridgov.clock import ensure_aware
from gridgov.errors import ValidationError
from gridgov.ports import UnitOfWork
from gridgov.services._common import pages

__all__ = [
    "DEFAULT_SCORING",
    "INDICATORS",
    "CaseFigures",
    "CaseKpis",
    "Indicator",
    "LeagueRow",
    "Scoring",
    "StageFigures",
    "case_kpis",
    "league_table",
]

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
        evaluated: Cases whose call-back (回访) reached the reporter: the satisfaction rate's
            denominator.
        satisfied: Of those, the satisfied and basically satisfied.
        unreachable: Cases whose call-back reached no one (无法联系): in no denominator.
        duplicates: Cases closed as duplicates of others (merged, or marked 重复件): counted
            here only, in no other figure, as voided reports are: their problem is counted on
            the case that handles it.
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
    unreachable: int = 0
    duplicates: int = 0

    @property
    def closure_base(self) -> int:
        """Return the standard denominator: due for closure - deferred."""
        return self.due_for_closure - self.deferred

    def parts(self, rate: str) -> tuple[int, int]:
        """Return the numerator and denominator of the rate called ``rate`` (``"closure_rate"``).

        Raises:
            ValidationError: If there is no such rate.
        """
        try:
            return _PARTS[rate](self)
        except KeyError:
            raise ValidationError("rate", f"one of {', '.join(sorted(_PARTS))}") from None

    def percent(self, rate: str, places: int = 2) -> Decimal | None:
        """Return a rate as a bulletin prints it: a percentage rounded half up, from the counts.

        ``None`` where the rate has no denominator.
        """
        part, whole = self.parts(rate)
        if not whole:
            return None
        exact = Decimal(part * 100) / Decimal(whole)
        return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

    @property
    def closure_rate(self) -> float | None:
        """Return closed / (due for closure - deferred) (结案率), or ``None`` without any due."""
        return _share(*self.parts("closure_rate"))

    @property
    def on_time_rate(self) -> float | None:
        """Return closed on time / (due for closure - deferred) (按期结案率), or ``None``."""
        return _share(*self.parts("on_time_rate"))

    @property
    def accurate_dispatch_rate(self) -> float | None:
        """Return (dispatched - returned) / dispatched (派遣准确率), or ``None``."""
        return _share(*self.parts("accurate_dispatch_rate"))

    @property
    def rework_rate(self) -> float | None:
        """Return reworked / (due for closure - deferred) (返工率), or ``None``."""
        return _share(*self.parts("rework_rate"))

    @property
    def extension_rate(self) -> float | None:
        """Return extended / (due for closure - deferred) (延期率), or ``None``."""
        return _share(*self.parts("extension_rate"))

    @property
    def urgent_on_time_rate(self) -> float | None:
        """Return urgent cases closed on time / urgent cases, or ``None`` without any."""
        return _share(*self.parts("urgent_on_time_rate"))

    @property
    def satisfaction_rate(self) -> float | None:
        """Return (basically) satisfied / reached (满意率), or ``None`` without call-backs.

        The call-backs that reached no one are left out of the denominator.
        """
        return _share(*self.parts("satisfaction_rate"))

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


# Each rate's numerator and denominator: the standard's (the bulletins' arithmetic agrees).
_PARTS: dict[str, Callable[[CaseFigures], tuple[int, int]]] = {
    "closure_rate": lambda f: (f.closed, f.closure_base),
    "on_time_rate": lambda f: (f.closed_on_time, f.closure_base),
    "accurate_dispatch_rate": lambda f: (f.dispatched - f.returned, f.dispatched),
    "rework_rate": lambda f: (f.reworked, f.closure_base),
    "extension_rate": lambda f: (f.extended, f.closure_base),
    "urgent_on_time_rate": lambda f: (f.urgent_closed_on_time, f.urgent),
    "satisfaction_rate": lambda f: (f.satisfied, f.evaluated),
}


@attrs.frozen
class Indicator:
    """One standard indicator: what it is called, how it is computed, where it comes from.

    Args:
        name: Its key: a rate of :meth:`CaseFigures.parts` (``"closure_rate"``), or
            ``"<stage>_on_time_rate"`` for a stage's (``"dispatch_on_time_rate"``).
        label_zh: Its Chinese name, as bulletins print it.
        label_en: Its English name.
        formula_zh: Its numerator and denominator, in Chinese.
        formula_en: The same in English.
        source: The standard or rule that defines it.
    """

    name: str
    label_zh: str
    label_en: str
    formula_zh: str
    formula_en: str
    source: str

    def value(self, figures: CaseFigures) -> float | None:
        """Return the indicator of ``figures`` (``None`` without a denominator)."""
        stage = _STAGE_RATES.get(self.name)
        if stage is not None:
            return figures.stages.get(stage, StageFigures()).on_time_rate
        return _share(*figures.parts(self.name))


_STAGE_RATES = {f"{s.value}_on_time_rate": s for s in Stage}
_CJT292 = "CJ/T 292 (digital urban management: performance evaluation)"
_DUE = "应结案数 − 缓办/挂账数"
_DUE_EN = "(due for closure − deferred)"
_STAGE_ZH = {"registration": "立案", "dispatch": "派遣", "handling": "处置", "verification": "核查"}

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "closure_rate",
        "结案率",
        "closure rate",
        f"结案数 ÷ ({_DUE})",
        f"closed ÷ {_DUE_EN}",
        _CJT292,
    ),
    Indicator(
        "on_time_rate",
        "按期结案率",
        "on-time closure rate",
        f"按期结案数 ÷ ({_DUE})",
        f"closed with handling on time ÷ {_DUE_EN}",
        _CJT292,
    ),
    *(
        Indicator(
            f"{stage.value}_on_time_rate",
            f"按时{_STAGE_ZH[stage.value]}率",
            f"on-time {stage.value}",
            f"按时完成{_STAGE_ZH[stage.value]}的次数 ÷ 完成{_STAGE_ZH[stage.value]}的次数",
            f"{stage.value} steps met within their limit ÷ {stage.value} steps met",
            _CJT292,
        )
        for stage in Stage
    ),
    Indicator(
        "accurate_dispatch_rate",
        "派遣准确率",
        "accurate dispatch",
        "(派遣数 − 因不属职责退回数) ÷ 派遣数",
        "(dispatched − returned for wrong jurisdiction) ÷ dispatched",
        _CJT292,
    ),
    Indicator(
        "rework_rate",
        "返工率",
        "rework rate",
        f"核查未通过、退回原处置人的案件数 ÷ ({_DUE})",
        f"cases failing verification at least once ÷ {_DUE_EN}",
        f"{_CJT292}; provincial bulletins divide it so",
    ),
    Indicator(
        "extension_rate",
        "延期率",
        "extension rate",
        f"获准延期的案件数 ÷ ({_DUE})",
        f"cases granted an extension ÷ {_DUE_EN}",
        f"{_CJT292}; provincial bulletins divide it so",
    ),
    Indicator(
        "urgent_on_time_rate",
        "紧急案件按期结案率",
        "urgent cases closed on time",
        "按期结案的紧急、特急案件数 ÷ 紧急、特急案件数",
        "urgent and emergency cases closed with handling on time ÷ urgent and emergency cases",
        _CJT292,
    ),
    Indicator(
        "satisfaction_rate",
        "满意率",
        "satisfaction",
        "满意及基本满意数 ÷ 回访数",
        "satisfied and basically satisfied ÷ called back",
        "12345 hotline call-backs (回访), as the provinces' bulletins count them",
    ),
)
"""The standard indicators, in the order reports show them."""


@attrs.frozen
class CaseKpis:
    """Case KPIs over a subtree and a period.

    Args:
        total: The whole subtree.
        by_cell: Per cell the cases lie in (the region, CJ/T 292's first level).
        by_unit: Per owning unit (where the case ended up).
        by_worker: Per worker the case is assigned to (the post); unassigned cases left out.
        by_department: Per functional department (CJ/T 292's department level): the cases it
            holds, counted in full, and beside them every case dispatched to it that it
            returned, which counts only in its dispatch figures (a wrong-jurisdiction return
            lowers the accurate dispatch of the department that returned the case, and of no
            other). Cases no department holds are left out.
        by_grid: Per grid the cases lie in: a case in a building counts in the building's
            grid; one lying above every grid (in a community, say) under its own cell.
        by_category: Per category of the service catalogue.
    """

    total: CaseFigures
    by_cell: dict[str, CaseFigures]
    by_unit: dict[str, CaseFigures]
    by_worker: dict[str, CaseFigures] = attrs.field(factory=dict)
    by_department: dict[str, CaseFigures] = attrs.field(factory=dict)
    by_grid: dict[str, CaseFigures] = attrs.field(factory=dict)
    by_category: dict[str, CaseFigures] = attrs.field(factory=dict)


class _Tally:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.stage_hours: dict[Stage, list[float]] = defaultdict(list)
        self.stages: dict[Stage, StageFigures] = defaultdict(StageFigures)
        self.years: set[int] = set()

    def add_dispatches(self, case: Case, department: str) -> None:
        """Count only whether ``case`` was dispatched to ``department`` and returned by it."""
        dispatched, returned = _dispatches(case, department)
        self.counts["dispatched"] += dispatched
        self.counts["returned"] += returned

    def add(self, case: Case, as_of: pendulum.DateTime, department: str | None = None) -> None:
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
        if department is None:
            c["dispatched"] += "dispatch" in actions
            c["returned"] += "return" in actions
        else:
            dispatched, returned = _dispatches(case, department)
            c["dispatched"] += dispatched
            c["returned"] += returned
        c["reworked"] += "fail_verification" in actions
        c["rework_rounds"] += actions.count("fail_verification")
        c["extended"] += "approve_extension" in actions
        if case.urgency is not Urgency.NORMAL:
            c["urgent"] += 1
            c["urgent_closed_on_time"] += case.state in _CLOSED and on_time
        if case.satisfaction is Satisfaction.UNREACHABLE:
            c["unreachable"] += 1
        elif case.satisfaction is not None:
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


def _dispatches(case: Case, department: str) -> tuple[bool, bool]:
    """Return whether ``case`` was dispatched to ``department``, and returned while it held it."""
    dispatched = returned = False
    for entry in case.history:
        if entry.owner_department == department:
            dispatched = dispatched or entry.action == "dispatch"
            returned = returned or entry.action == "return"
    return dispatched, returned


class _GridOf:
    """The grid a cell lies in: a building's grid, any other cell itself; read once per cell."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._known: dict[str, str] = {}

    def __call__(self, code: str) -> str:
        known = self._known.get(code)
        if known is not None:
            return known
        cell = self._uow.cells.get(code)
        found = code
        if cell.level is GridLevel.BUILDING and cell.parent_code is not None:
            found = self(cell.parent_code)
        self._known[code] = found
        return found


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
    grid_of = _GridOf(uow)
    grids: dict[str, _Tally] = defaultdict(_Tally)
    categories: dict[str, _Tally] = defaultdict(_Tally)
    cells: dict[str, _Tally] = defaultdict(_Tally)
    units: dict[str, _Tally] = defaultdict(_Tally)
    workers: dict[str, _Tally] = defaultdict(_Tally)
    departments: dict[str, _Tally] = defaultdict(_Tally)
    for case in pages(
        lambda a: uow.cases.reported_in_subtree(
            cell_code, since=since, until=until, limit=500, after=a
        )
    ):
        if case.state is CaseState.REJECTED:
            continue
        places = (
            total,
            cells[case.cell_code],
            units[case.owner_cell],
            grids[grid_of(case.cell_code)],
            categories[case.category],
        )
        if case.is_duplicate:
            # Not a case of its own: neither reported, due, nor closed (docs/cases.md).
            for tally in places:
                tally.counts["duplicates"] += 1
            continue
        for tally in places:
            tally.add(case, as_of)
        if case.owner_worker is not None:
            workers[case.owner_worker].add(case, as_of)
        held = case.owner_department
        if held is not None:
            departments[held].add(case, as_of, held)
        for other in {e.owner_department for e in case.history if e.action == "dispatch"}:
            if other is not None and other != held:
                departments[other].add_dispatches(case, other)
    return CaseKpis(
        total.figures(),
        {k: t.figures() for k, t in sorted(cells.items())},
        {k: t.figures() for k, t in sorted(units.items())},
        {k: t.figures() for k, t in sorted(workers.items())},
        {k: t.figures() for k, t in sorted(departments.items())},
        {k: t.figures() for k, t in sorted(grids.items())},
        {k: t.figures() for k, t in sorted(categories.items())},
    )


# The rates a higher value of which is better; rework and extensions count as deductions.
_BETTER_HIGHER = frozenset(
    {
        "closure_rate",
        "on_time_rate",
        "accurate_dispatch_rate",
        "urgent_on_time_rate",
        "satisfaction_rate",
    }
)


def _weights(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValidationError("weights", "expected a mapping of indicator to weight")
    for name, weight in value.items():
        if name not in _BETTER_HIGHER:
            raise ValidationError(
                "weights", f"no indicator {name!r}: one of {', '.join(sorted(_BETTER_HIGHER))}"
            )
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise ValidationError(f"weights.{name}", "a weight is a number from 0")
    if not any(value.values()):
        raise ValidationError("weights", "at least one weight above 0")
    return {k: float(w) for k, w in value.items()}


def _deductions(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValidationError("deductions", "expected a mapping of count to points")
    counts = {f.name for f in attrs.fields(CaseFigures) if f.type in ("int", int)}
    for name, points in value.items():
        if name not in counts:
            raise ValidationError("deductions", f"no count {name!r}: one of {sorted(counts)}")
        if not isinstance(points, int | float) or isinstance(points, bool) or points < 0:
            raise ValidationError(f"deductions.{name}", "points are a number from 0")
    return {k: float(p) for k, p in value.items()}


@attrs.frozen
class Scoring:
    """A composite score (综合指标值): weighted rates out of 100, less points per count.

    Provincial rules weigh the indicators and deduct points (per rework round, say); a
    deployment states its own. Indicators without a value (no case due, none called back) are
    left out and the weights of the others count in full.

    Args:
        weights: Indicator to weight: ``closure_rate``, ``on_time_rate``,
            ``accurate_dispatch_rate``, ``urgent_on_time_rate`` or ``satisfaction_rate`` (the
            rates a higher value of which is better).
        deductions: Count (``"rework_rounds"``, ...) to points deducted per unit.
        source: Where the weights come from.
    """

    weights: dict[str, float] = attrs.field(converter=_weights)
    deductions: dict[str, float] = attrs.field(factory=dict, converter=_deductions)
    source: str = ""

    def score(self, figures: CaseFigures) -> float | None:
        """Return the score, from 0 to 100, or ``None`` if no weighted indicator has a value."""
        valued = {n: w for n, w in self.weights.items() if getattr(figures, n) is not None}
        total = sum(valued.values())
        if not total:
            return None
        rate: float = sum(w * getattr(figures, n) for n, w in valued.items()) / total
        lost: float = sum(p * getattr(figures, n) for n, p in self.deductions.items())
        return round(max(0.0, 100 * rate - lost), 2)


DEFAULT_SCORING = Scoring(
    {"on_time_rate": 0.4, "closure_rate": 0.3, "accurate_dispatch_rate": 0.1},
    {"rework_rounds": 1.0},
    source="proposal: the weights of CJ/T 292's region evaluation (on-time closure first), "
    "one point off per failed verification, until a province's rule is configured",
)


@attrs.frozen
class LeagueRow:
    """One entry of a league table.

    Args:
        key: The cell, unit or worker.
        value: Its score or indicator.
        cases: Its cases reported.
        rank: Its place (ties share one), or ``None`` below the minimum of cases.
    """

    key: str
    value: float | None
    cases: int
    rank: int | None


def league_table(
    figures: dict[str, CaseFigures],
    *,
    scoring: Scoring = DEFAULT_SCORING,
    min_cases: int = 10,
) -> tuple[LeagueRow, ...]:
    """Rank cells, units, departments or workers by score; those below ``min_cases`` unranked.

    One fast case does not top the table: entries below the minimum (or without a score) follow
    the ranked ones, unranked. Ties share a rank; the order among them is by key.

    Raises:
        ValidationError: If ``min_cases`` is not a whole number from 1.
    """
    if not isinstance(min_cases, int) or isinstance(min_cases, bool) or min_cases < 1:
        raise ValidationError("min_cases", "expected a whole number from 1")
    scored = [(k, scoring.score(f), f.reported) for k, f in figures.items()]
    ranked = sorted(
        ((k, s, n) for k, s, n in scored if s is not None and n >= min_cases),
        key=lambda r: (-(r[1] or 0.0), r[0]),
    )
    rows: list[LeagueRow] = []
    for i, (key, value, cases) in enumerate(ranked):
        tied = rows and rows[-1].value == value
        rows.append(LeagueRow(key, value, cases, rows[-1].rank if tied else i + 1))
    rest = sorted((r for r in scored if r[0] not in {row.key for row in rows}), key=lambda r: r[0])
    return (*rows, *(LeagueRow(k, s, n, None) for k, s, n in rest))
