"""The standard indicators per grid, department and post, from cases built by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pendulum
import pytest

from gridgov import (
    Assignment,
    GridCell,
    GridLevel,
    Store,
    UnitOfWork,
    Worker,
    WorkerRole,
    open_store,
)
from gridgov.calendar import WorkCalendar
from gridgov.cases import Action, CaseRole, CaseSource, CaseWorkflow, Satisfaction
from gridgov.errors import ValidationError
from gridgov.report.standard import StandardFigures, level_json, standard_figures
from gridgov.services.cases import act_on_case, case_kpis, report_case
from gridgov.services.duplicates import mark_duplicate
from gridgov.services.kpis import INDICATORS

TZ = "Asia/Shanghai"
WF = CaseWorkflow(WorkCalendar.china())
DISTRICT, STREET, COMMUNITY = "610102", "610102003", "610102003006"
GRID_A, GRID_B = "610102003006001", "610102003006002"
MONDAY = pendulum.datetime(2026, 11, 23, 10, tz=TZ)
UNTIL = MONDAY.add(days=60)  # every handling limit (15 working days) has run out by then


@pytest.fixture
def store() -> Iterator[Store]:
    """Return a memory store with two grids and a worker on each."""
    s = open_store("memory://")
    since = pendulum.Date(2024, 1, 1)
    with s() as uow:
        for cell in (
            GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
            GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, STREET),
            GridCell(GRID_A, "铁一村网格", GridLevel.GRID, COMMUNITY),
            GridCell(GRID_B, "大明宫院子网格", GridLevel.GRID, COMMUNITY),
        ):
            uow.cells.add(cell)
        for worker_id, grid in (("w-a", GRID_A), ("w-b", GRID_B)):
            uow.workers.add(
                Worker(worker_id, "网格员", {WorkerRole.GRID_WORKER}, (Assignment(grid, since),))
            )
        uow.commit()
    yield s
    s.close()


def _course(uow: UnitOfWork, case_id: str, grid: str, steps: list[tuple[Action, str]]) -> None:
    """Report a complaint in ``grid`` and take ``steps`` (action, worker) a minute apart."""
    report_case(
        uow,
        WF,
        category="complaint",
        source=CaseSource.WALK_IN,
        cell_code=grid,
        description="楼道堆放杂物",
        at=MONDAY,
        actor="desk",
        case_id=case_id,
    )
    roles = {
        Action.REGISTER: CaseRole.DISPATCHER,
        Action.DISPATCH: CaseRole.DISPATCHER,
        Action.RETURN: CaseRole.HANDLER,
        Action.START: CaseRole.HANDLER,
        Action.HANDLE: CaseRole.HANDLER,
        Action.FAIL_VERIFICATION: CaseRole.VERIFIER,
        Action.VERIFY: CaseRole.VERIFIER,
        Action.CLOSE: CaseRole.DISPATCHER,
        Action.EVALUATE: CaseRole.DISPATCHER,
    }
    for minute, (action, worker) in enumerate(steps, start=1):
        role = roles[action]
        act_on_case(
            uow,
            WF,
            case_id,
            action,
            actor=worker if role is CaseRole.HANDLER else f"{role.value}-1",
            role=role,
            at=MONDAY.add(minutes=minute),
            note="说明",
            worker=worker if action is Action.DISPATCH else None,
            satisfaction=Satisfaction.SATISFIED if action is Action.EVALUATE else None,
        )


A = Action
DONE = [(A.START, ""), (A.HANDLE, ""), (A.VERIFY, ""), (A.CLOSE, "")]


def _cases(uow: UnitOfWork) -> None:
    """Two cases of w-a (one returned once and reworked once), two of w-b (one overdue)."""
    _course(uow, "c1", GRID_A, [(A.REGISTER, ""), (A.DISPATCH, "w-a"), *_as("w-a", DONE)])
    _course(
        uow,
        "c2",
        GRID_A,
        [
            (A.REGISTER, ""),
            (A.DISPATCH, "w-a"),
            (A.RETURN, "w-a"),
            (A.DISPATCH, "w-a"),
            (A.START, "w-a"),
            (A.HANDLE, "w-a"),
            (A.FAIL_VERIFICATION, ""),
            (A.HANDLE, "w-a"),
            (A.VERIFY, ""),
            (A.CLOSE, ""),
        ],
    )
    _course(
        uow,
        "c3",
        GRID_B,
        [(A.REGISTER, ""), (A.DISPATCH, "w-b"), *_as("w-b", DONE), (A.EVALUATE, "")],
    )
    _course(uow, "c4", GRID_B, [(A.REGISTER, ""), (A.DISPATCH, "w-b"), (A.START, "w-b")])
    _course(uow, "c5", GRID_A, [])  # a second report of c1's problem, merged into it
    mark_duplicate(uow, WF, "c5", of="c1", actor="dispatcher-1", at=MONDAY.add(hours=1))


def _as(worker: str, steps: list[tuple[Action, str]]) -> list[tuple[Action, str]]:
    return [(a, worker if a in (A.START, A.HANDLE) else w) for a, w in steps]


def _standard(store: Store, min_cases: int = 2) -> StandardFigures:
    with store() as uow:
        _cases(uow)
        grids = {g: case_kpis(uow, g, since=MONDAY, until=UNTIL).total for g in (GRID_A, GRID_B)}
        tree = uow.cells.tree()
        return standard_figures(uow, tree, grids, since=MONDAY, until=UNTIL, min_cases=min_cases)


def test_per_worker_figures_are_those_of_their_cases(store: Store) -> None:
    """w-a: 2 cases, 1 returned, 1 reworked, both closed on time; w-b: 1 of 2 closed."""
    rows = {r.key: r for r in _standard(store).workers}
    a, b = rows["w-a"].figures, rows["w-b"].figures
    expected = {
        "w-a": (2, 2, 2, 2, 2, 1, 1, 1, 0, 0),
        "w-b": (2, 2, 1, 1, 2, 0, 0, 0, 1, 1),
    }
    actual = {
        key: (
            f.reported,
            f.closure_base,
            f.closed,
            f.closed_on_time,
            f.dispatched,
            f.returned,
            f.reworked,
            f.rework_rounds,
            f.evaluated,
            f.satisfied,
        )
        for key, f in (("w-a", a), ("w-b", b))
    }
    assert expected == actual


def test_per_worker_rates_scores_and_ranks(store: Store) -> None:
    """The rates follow the standard's formulas; the default score ranks w-a first.

    w-a: on time 2/2, closure 2/2, accurate dispatch 1/2: 100 × (0.4 + 0.3 + 0.05) / 0.8 − 1
    rework round = 92.75. w-b: 1/2, 1/2, 2/2: 100 × (0.2 + 0.15 + 0.1) / 0.8 = 56.25.
    """
    rows = {r.key: r for r in _standard(store).workers}
    names = ("closure_rate", "on_time_rate", "accurate_dispatch_rate", "rework_rate")
    by_name = {i.name: i for i in INDICATORS}
    expected = {
        "w-a": ((1.0, 1.0, 0.5, 0.5), 92.75, 1, "w-a（铁一村网格）"),
        "w-b": ((0.5, 0.5, 1.0, 0.0), 56.25, 2, "w-b（大明宫院子网格）"),
    }
    actual = {
        key: (tuple(r.value(by_name[n]) for n in names), r.score, r.rank, r.name)
        for key, r in rows.items()
    }
    assert expected == actual


def test_a_post_below_the_minimum_of_cases_is_not_ranked(store: Store) -> None:
    """With three cases needed, neither worker (two cases each) is ranked, both are listed."""
    rows = _standard(store, min_cases=3).workers
    assert [("w-a", None), ("w-b", None)] == [(r.key, r.rank) for r in rows]


def test_the_grid_level_excludes_the_merged_duplicate(store: Store) -> None:
    """Grid A has three reports, one merged: two cases and one duplicate at the region level."""
    rows = {r.key: r.figures for r in _standard(store).cells}
    assert (2, 1) == (rows[GRID_A].reported, rows[GRID_A].duplicates)


def test_min_cases_below_one_is_refused(store: Store) -> None:
    """A league table needs at least one case to rank: 0 is refused on ``min_cases``."""
    with pytest.raises(ValidationError) as caught:
        _standard(store, min_cases=0)
    assert "min_cases" == caught.value.path


def test_level_json_holds_every_indicator_with_counts(store: Store) -> None:
    """The JSON of a level names each indicator, with the counts it is computed from."""
    s = _standard(store)
    (first, *_) = level_json(s.workers, s.indicators)
    expected = ("w-a", 1, 2, 1, 0.5, [i.name for i in INDICATORS])
    indicators = first["indicators"]
    assert isinstance(indicators, dict)
    assert expected == (
        first["key"],
        first["rank"],
        first["reported"],
        first["returned"],
        indicators["accurate_dispatch_rate"],
        list(indicators),
    )
