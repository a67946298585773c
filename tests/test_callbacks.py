"""Satisfaction call-backs (回访): planned at closing, recorded once, counted per grid, category."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest

from gridgov import GridCell, GridLevel, Store, UnitOfWork, open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import Action, CaseRole, CaseSource, CaseState, CaseWorkflow, Satisfaction
from gridgov.cases.catalogue import TimeLimit, TimeUnit
from gridgov.cases.workflow import DEFAULT_CALLBACK_WITHIN, Transition
from gridgov.errors import ConflictError, TransitionError, ValidationError
from gridgov.events import CallbackDue, CallbackRecorded, CaseStateChanged
from gridgov.scenarios import load_scenario
from gridgov.services.callbacks import pending_callbacks, record_callback
from gridgov.services.cases import CaseFigures, act_on_case, case_kpis, report_case
from gridgov.settings import Settings, case_workflow

TZ = "Asia/Shanghai"
WF = CaseWorkflow(WorkCalendar.china())
COMMUNITY = "610102003006"
GRID, GRID2 = f"{COMMUNITY}001", f"{COMMUNITY}002"
B1, B2 = f"{GRID}001", f"{GRID2}001"
MONDAY = pendulum.datetime(2026, 11, 23, 10, tz=TZ)
D, H, V = CaseRole.DISPATCHER, CaseRole.HANDLER, CaseRole.VERIFIER


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a store of each kind with a community, two grids and a building in each."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'callbacks.db'}"
    elif request.param == "mysql":
        url = request.getfixturevalue("mysql_database")
    else:
        url = request.getfixturevalue("postgres_schema")
    s = open_store(url)
    with s() as uow:
        for cell in (
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY),
            GridCell(GRID2, "大明宫院子网格", GridLevel.GRID, COMMUNITY),
            GridCell(B1, "铁一村1号楼", GridLevel.BUILDING, GRID),
            GridCell(B2, "大明宫院子1号楼", GridLevel.BUILDING, GRID2),
        ):
            uow.cells.add(cell)
        uow.commit()
    yield s
    s.close()


def closed(
    uow: UnitOfWork,
    cid: str,
    *,
    cell: str = B1,
    category: str = "complaint",
    wf: CaseWorkflow = WF,
) -> Transition:
    """Report case ``cid`` on Monday, take it through to closed at 11:00; return the close."""
    report_case(
        uow,
        wf,
        category=category,
        source=CaseSource.HOTLINE_12345,
        cell_code=cell,
        description="楼道堆放杂物",
        at=MONDAY,
        actor="secretary",
        case_id=cid,
    )
    steps = [
        (Action.REGISTER, D),
        (Action.DISPATCH, D),
        (Action.START, H),
        (Action.HANDLE, H),
        (Action.VERIFY, V),
        (Action.CLOSE, D),
    ]
    for minutes, (action, role) in enumerate(steps, start=1):
        last = act_on_case(
            uow,
            wf,
            cid,
            action,
            actor=f"{role.value}-1",
            role=role,
            at=MONDAY.add(minutes=10 * minutes),
            note="已处理",
        )
    return last


def test_closing_plans_the_call_back_two_working_days_later(store: Store) -> None:
    """``callback_due`` is set, a ``case.callback_due`` event is in the outbox, it is pending."""
    with store() as uow:
        closed(uow, "k1")
        uow.commit()
    with store() as uow:
        case = uow.cases.get("k1")
        events = [e.type for e in uow.outbox.for_aggregate("case", "k1")]
        pending = pending_callbacks(uow, COMMUNITY, reported_since=MONDAY, until=MONDAY.add(days=7))
    due = pendulum.datetime(2026, 11, 25, 17, 30, tz=TZ)  # two working days: to Wednesday's end
    assert (due, True, ["k1"], "case.callback_due") == (
        case.callback_due,
        case.callback_pending,
        [c.id for c in pending],
        events[-1],
    )


def test_the_stores_settings_say_how_soon_the_call_back_comes(store: Store) -> None:
    """``Settings.callback_within`` (3 working days) plans it by Thursday's end, not Wednesday's."""
    with store() as uow:
        uow.settings.save(
            Settings(
                calendar=WorkCalendar.china(),
                callback_within=TimeLimit(3, TimeUnit.WORKING_DAYS),
            )
        )
        uow.commit()
    with store() as uow:
        closed(uow, "k1", wf=case_workflow(uow))
        uow.commit()
    with store() as uow:
        due = uow.cases.get("k1").callback_due
    assert pendulum.datetime(2026, 11, 26, 17, 30, tz=TZ) == due


def test_a_call_back_is_recorded_once_and_evaluates_the_case(store: Store) -> None:
    """The first outcome evaluates the case with an event; the same again changes nothing."""
    at = MONDAY.add(days=1)
    with store() as uow:
        closed(uow, "k1")
        first = record_callback(
            uow, "k1", Satisfaction.SATISFIED, at=at, actor="operator", workflow=WF
        )
        again = record_callback(
            uow, "k1", Satisfaction.SATISFIED, at=at, actor="operator", workflow=WF
        )
        uow.commit()
    with store() as uow:
        pending = pending_callbacks(uow, COMMUNITY, reported_since=MONDAY, until=MONDAY.add(days=7))
    recorded = CallbackRecorded("k1", B1, at, "complaint", "satisfied", "operator")
    assert (CaseState.EVALUATED, recorded, (), first.case, []) == (
        first.case.state,
        first.events[-1],
        again.events,
        again.case,
        pending,
    )


def test_another_outcome_over_a_recorded_call_back_is_refused(store: Store) -> None:
    """A second, different outcome is a ConflictError naming both; the first one stands."""
    with store() as uow:
        closed(uow, "k1")
        record_callback(
            uow, "k1", Satisfaction.UNREACHABLE, at=MONDAY.add(days=1), actor="op", workflow=WF
        )
        with pytest.raises(ConflictError) as info:
            record_callback(
                uow, "k1", Satisfaction.DISSATISFIED, at=MONDAY.add(days=1), actor="op", workflow=WF
            )
        kept = uow.cases.get("k1").satisfaction
    assert (
        "case 'k1': its call-back is recorded (unreachable); dissatisfied is not recorded over "
        "it; a retry will not help",
        Satisfaction.UNREACHABLE,
    ) == (str(info.value), kept)


def test_an_open_case_is_not_called_back(store: Store) -> None:
    """Before closing: a TransitionError; an outcome that is not a Satisfaction: refused."""
    with store() as uow:
        report_case(
            uow,
            WF,
            category="complaint",
            source=CaseSource.WALK_IN,
            cell_code=B1,
            description="路灯不亮",
            at=MONDAY,
            actor="secretary",
            case_id="k1",
        )
        with pytest.raises(TransitionError):
            record_callback(uow, "k1", Satisfaction.SATISFIED, at=MONDAY, actor="op", workflow=WF)
        with pytest.raises(ValidationError) as info:
            record_callback(uow, "k1", "satisfied", at=MONDAY, actor="op", workflow=WF)  # type: ignore[arg-type]
    assert "outcome" == info.value.path


def test_the_close_yields_the_state_change_and_the_call_back_due(store: Store) -> None:
    """Closing's events: the state change, then CallbackDue with the due instant."""
    with store() as uow:
        close = closed(uow, "k1")
    at = MONDAY.add(minutes=60)
    assert (
        CaseStateChanged("k1", B1, at, "close", "verified", "closed", "dispatcher-1"),
        CallbackDue("k1", B1, at, "complaint", pendulum.datetime(2026, 11, 25, 17, 30, tz=TZ)),
    ) == close.events


def test_satisfaction_rates_per_grid_and_category_leave_unreachable_out(store: Store) -> None:
    """Hand-built call-backs give the rates: (satisfied + basically) / reached.

    Per grid and per category; unreachable call-backs are counted apart and divide nothing.
    """
    outcomes = {
        # grid 1, complaints: 1 satisfied, 1 basically, 1 dissatisfied, 1 unreachable: 2/3
        "a1": (B1, "complaint", Satisfaction.SATISFIED),
        "a2": (B1, "complaint", Satisfaction.BASICALLY_SATISFIED),
        "a3": (B1, "complaint", Satisfaction.DISSATISFIED),
        "a4": (B1, "complaint", Satisfaction.UNREACHABLE),
        # grid 2, emergencies: 1 satisfied, 1 unreachable: 1/1; one closed, not called back
        "b1": (B2, "emergency", Satisfaction.SATISFIED),
        "b2": (B2, "emergency", Satisfaction.UNREACHABLE),
        "b3": (B2, "emergency", None),
    }
    with store() as uow:
        for cid, (cell, category, outcome) in outcomes.items():
            closed(uow, cid, cell=cell, category=category)
            if outcome is not None:
                record_callback(uow, cid, outcome, at=MONDAY.add(days=1), actor="op", workflow=WF)
        kpis = case_kpis(uow, COMMUNITY, since=MONDAY, until=MONDAY.add(days=1))

    def rate(f: CaseFigures) -> tuple[int, int, int, float | None]:
        return (f.satisfied, f.evaluated, f.unreachable, f.satisfaction_rate)

    assert {
        "total": (3, 4, 2, 0.75),
        GRID: (2, 3, 1, 2 / 3),
        GRID2: (1, 1, 1, 1.0),
        "complaint": (2, 3, 1, 2 / 3),
        "emergency": (1, 1, 1, 1.0),
        "percent": "66.67",
    } == {
        "total": rate(kpis.total),
        GRID: rate(kpis.by_grid[GRID]),
        GRID2: rate(kpis.by_grid[GRID2]),
        "complaint": rate(kpis.by_category["complaint"]),
        "emergency": rate(kpis.by_category["emergency"]),
        "percent": str(kpis.by_grid[GRID].percent("satisfaction_rate")),
    }


def _scenario_with(folder: Path, line: str) -> Path:
    """Write a one-district scenario.toml that begins with ``line``; return the folder."""
    (folder / "scenario.toml").write_text(
        line
        + '[scenario]\nname = "一个区"\n[[cells]]\n'
        + 'code = "610102"\nname = "新城区"\nlevel = "district"\n',
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    ("line", "expected"),
    [('callback_within = "3 working_days"\n', TimeLimit(3, TimeUnit.WORKING_DAYS)), ("", None)],
)
def test_a_scenario_says_how_soon_its_call_backs_come(
    tmp_path: Path, line: str, expected: TimeLimit | None
) -> None:
    """``callback_within`` in scenario.toml reaches the settings and the scenario's workflow.

    Left out, the settings hold none and the workflow has the default.
    """
    scenario = load_scenario(_scenario_with(tmp_path, line))
    assert (expected, expected or DEFAULT_CALLBACK_WITHIN) == (
        scenario.settings().callback_within,
        scenario.workflow().callback_within,
    )


def test_a_bad_call_back_limit_in_a_scenario_names_the_key(tmp_path: Path) -> None:
    """``callback_within = "soon"`` is a ValidationError on ``callback_within``."""
    with pytest.raises(ValidationError) as raised:
        load_scenario(_scenario_with(tmp_path, 'callback_within = "soon"\n'))
    assert "callback_within" == raised.value.path
