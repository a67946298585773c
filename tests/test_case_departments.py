"""Functional departments: routing by category and cell, dispatch, KPIs by department."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from gridgov.adapters import _codec
from gridgov.calendar import WorkCalendar
from gridgov.cases import (
    DEFAULT_CATALOGUE,
    Action,
    Case,
    CaseRole,
    CaseSource,
    CaseWorkflow,
    Location,
    Reporter,
)
from gridgov.cases.departments import Department, check_departments, route
from gridgov.errors import ValidationError
from gridgov.events import CaseEscalated
from gridgov.notify.notifier import Message, Notifier, Sent
from gridgov.outbox import record_events
from gridgov.scenarios import load_scenario
from gridgov.serialization import unstructure
from gridgov.services.cases import act_on_case, case_kpis, report_case
from gridgov.services.kpis import league_table
from gridgov.settings import Settings
from gridgov.testing import ManualClock

TZ = "Asia/Shanghai"
WF = CaseWorkflow(WorkCalendar.china())
DISTRICT, STREET, STREET2 = "610102", "610102003", "610102004"
COMMUNITY, GRID = "610102003006", "610102003006001"
GRID2 = "610102004001001"
PATH = [GRID, COMMUNITY, STREET, DISTRICT]  # a grid of the first street, nearest first
PATH2 = [GRID2, "610102004001", STREET2, DISTRICT]

DEPARTMENTS = (
    Department("urban_management", "城市管理和综合执法局", "Urban management bureau"),
    Department("sanitation", "市容环境卫生管理所", "Sanitation office", cells=[DISTRICT]),
    Department(
        "sanitation-ziqianglu",
        "自强路街道环卫所",
        "Ziqianglu sanitation station",
        level=2,
        parent="sanitation",
        cells=[STREET],
        supervisors=["s-1"],
    ),
    Department("water", "水务局", "Water bureau", cells=[STREET2]),
)
MONDAY = pendulum.datetime(2026, 11, 23, 10, tz=TZ)


@pytest.mark.parametrize(
    ("category", "path", "expected"),
    [
        ("exposed_rubbish", PATH, "sanitation-ziqianglu"),  # the street's unit serves it
        ("exposed_rubbish", PATH2, "sanitation"),  # no unit there: the bureau
        ("hotline_rubbish", PATH, "sanitation-ziqianglu"),  # a hotline category, as its event
        ("illegal_building", PATH, "urban_management"),  # serves everywhere
        ("dirty_waterway", PATH2, "water"),
        ("dirty_waterway", PATH, None),  # the water bureau does not serve the first street
        ("complaint", PATH, None),  # a category without a department
    ],
)
def test_route_by_category_and_cell(category: str, path: list[str], expected: str | None) -> None:
    """A case goes to the unit of its category's department serving the cell nearest it."""
    routing = route(DEFAULT_CATALOGUE, DEPARTMENTS, category, path)
    assert expected == (routing.department.id if routing else None)


def test_routing_explains_itself() -> None:
    """The routing names the rule and says why in English and Chinese."""
    routing = route(DEFAULT_CATALOGUE, DEPARTMENTS, "exposed_rubbish", PATH)
    assert routing is not None
    expected = (
        "catalogue:exposed_rubbish:department",
        "Exposed rubbish is handled by Ziqianglu sanitation station, which serves cell 610102003",
        "暴露垃圾由自强路街道环卫所负责处置",
    )
    assert expected == (routing.rule, routing.reason_en, routing.reason_zh)


@given(st.permutations(DEPARTMENTS))
def test_routing_does_not_depend_on_the_order_departments_are_declared(
    departments: list[Department],
) -> None:
    """Declared in any order, the departments route every default category the same way."""
    codes = [c.code for c in DEFAULT_CATALOGUE.categories]

    def routed(deps: tuple[Department, ...] | list[Department]) -> list[str | None]:
        return [
            (r.department.id if (r := route(DEFAULT_CATALOGUE, deps, code, p)) else None)
            for code in codes
            for p in (PATH, PATH2)
        ]

    assert routed(DEPARTMENTS) == routed(departments)


@pytest.mark.parametrize(
    ("departments", "path"),
    [
        ((*DEPARTMENTS, DEPARTMENTS[0]), "departments[4].id"),
        (
            (DEPARTMENTS[0], Department("x", "某", "X", level=2, parent="nobody")),
            "departments[1].parent",
        ),
        (
            (*DEPARTMENTS, Department("y", "某", "Y", level=2, parent="sanitation-ziqianglu")),
            "departments[4].parent",
        ),
    ],
)
def test_bad_departments_name_the_field(departments: tuple[Department, ...], path: str) -> None:
    """A duplicate id, or a parent that is not a first-level department, is named."""
    with pytest.raises(ValidationError) as caught:
        check_departments(departments)
    assert path == caught.value.path


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"level": 2}, "parent"),
        ({"parent": "sanitation"}, "parent"),
        ({"level": 3}, "level"),
        ({"id": "环 卫"}, "id"),
    ],
)
def test_bad_department_fields_are_named(fields: dict[str, object], path: str) -> None:
    """A level-2 department needs a parent, a level-1 one has none; levels are 1 or 2."""
    base: dict[str, object] = {"id": "d", "name_zh": "某", "name_en": "D"}
    with pytest.raises(ValidationError) as caught:
        Department(**{**base, **fields})  # type: ignore[arg-type]
    assert path == caught.value.path


# --- dispatch and KPIs through the services ------------------------------------------------------


@pytest.fixture
def store() -> Iterator[Store]:
    """Return a memory store with two streets' grids and the departments in its settings."""
    s = open_store("memory://")
    with s() as uow:
        for cell in (
            GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
            GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, STREET),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY),
        ):
            uow.cells.add(cell)
        uow.settings.save(Settings(departments=DEPARTMENTS))
        uow.commit()
    yield s
    s.close()


def _reported(uow: UnitOfWork, case_id: str, category: str) -> None:
    report_case(
        uow,
        WF,
        category=category,
        source=CaseSource.HOTLINE_12345,
        cell_code=GRID,
        description="路边成堆垃圾",
        at=MONDAY,
        actor="secretary",
        case_id=case_id,
    )
    _act(uow, case_id, Action.REGISTER, CaseRole.DISPATCHER, 5)


def _act(
    uow: UnitOfWork,
    case_id: str,
    action: Action,
    role: CaseRole,
    minutes: int,
    *,
    note: str = "",
    department: str | None = None,
) -> Case:
    return act_on_case(
        uow,
        WF,
        case_id,
        action,
        actor=f"{role.value}-1",
        role=role,
        at=MONDAY.add(minutes=minutes),
        note=note,
        department=department,
    ).case


def test_dispatch_routes_the_case_and_records_why(store: Store) -> None:
    """Dispatched without a department, a rubbish case goes to the street's sanitation station."""
    with store() as uow:
        _reported(uow, "c1", "hotline_rubbish")
        case = _act(uow, "c1", Action.DISPATCH, CaseRole.DISPATCHER, 10)
    expected = (
        "sanitation-ziqianglu",
        "sanitation-ziqianglu",
        "Exposed rubbish is handled by Ziqianglu sanitation station, which serves cell "
        "610102003 / 暴露垃圾由自强路街道环卫所负责处置",
    )
    entry = case.history[-1]
    assert expected == (case.owner_department, entry.owner_department, entry.note)


def test_dispatch_to_an_unknown_department_names_the_field(store: Store) -> None:
    """A dispatch naming a department the settings do not declare is refused on ``department``."""
    with store() as uow:
        _reported(uow, "c1", "exposed_rubbish")
        with pytest.raises(ValidationError) as caught:
            _act(uow, "c1", Action.DISPATCH, CaseRole.DISPATCHER, 10, department="police")
    assert "department" == caught.value.path


def test_only_a_dispatch_names_a_department(store: Store) -> None:
    """Naming a department on another action is refused on ``department``."""
    with store() as uow:
        _reported(uow, "c1", "exposed_rubbish")
        _act(uow, "c1", Action.DISPATCH, CaseRole.DISPATCHER, 10)
        with pytest.raises(ValidationError) as caught:
            _act(uow, "c1", Action.START, CaseRole.HANDLER, 20, department="sanitation")
    assert "department" == caught.value.path


def test_a_wrong_jurisdiction_return_lowers_only_that_departments_accurate_dispatch(
    store: Store,
) -> None:
    """Urban management returns a rubbish case it was sent by mistake; sanitation's stays whole."""
    with store() as uow:
        _reported(uow, "wrong", "exposed_rubbish")
        _act(uow, "wrong", Action.DISPATCH, CaseRole.DISPATCHER, 10, department="urban_management")
        _act(uow, "wrong", Action.RETURN, CaseRole.HANDLER, 30, note="不属本局职责：垃圾归环卫")
        _act(uow, "wrong", Action.DISPATCH, CaseRole.DISPATCHER, 40)  # routed this time
        _reported(uow, "right", "exposed_rubbish")
        _act(uow, "right", Action.DISPATCH, CaseRole.DISPATCHER, 10)
        uow.commit()
    with store() as uow:
        kpis = case_kpis(uow, DISTRICT, since=MONDAY, until=MONDAY.add(days=1))
    expected = {
        "urban_management": (0, 1, 1, 0.0),
        "sanitation-ziqianglu": (2, 2, 0, 1.0),
    }
    actual = {
        key: (f.reported, f.dispatched, f.returned, f.accurate_dispatch_rate)
        for key, f in kpis.by_department.items()
    }
    assert (expected, 0.5) == (actual, kpis.total.accurate_dispatch_rate)


def test_league_table_ranks_departments(store: Store) -> None:
    """The department figures go into a league table as cells' do; one with no case is unranked."""
    with store() as uow:
        _reported(uow, "wrong", "exposed_rubbish")
        _act(uow, "wrong", Action.DISPATCH, CaseRole.DISPATCHER, 10, department="urban_management")
        _act(uow, "wrong", Action.RETURN, CaseRole.HANDLER, 30, note="不属本局职责")
        _act(uow, "wrong", Action.DISPATCH, CaseRole.DISPATCHER, 40)
        uow.commit()
    with store() as uow:
        kpis = case_kpis(uow, DISTRICT, since=MONDAY, until=MONDAY.add(days=1))
    rows = league_table(kpis.by_department, min_cases=1)
    expected = [("sanitation-ziqianglu", 1), ("urban_management", None)]
    assert expected == [(r.key, r.rank) for r in rows]


_IDS = ("urban_management", "sanitation", "water")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_IDS), min_size=1, max_size=4), min_size=1, max_size=6))
def test_department_dispatch_figures_follow_each_cases_path(paths: list[list[str]]) -> None:
    """Each case is dispatched along a path of departments, returned by all but the last.

    Per department: dispatched = cases whose path names it, returned = cases it returned,
    reported = cases it holds at the end; the total counts each case once.
    """
    grid = GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY)
    s = open_store("memory://")
    with s() as uow:
        for cell in (
            GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
            GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, STREET),
            grid,
        ):
            uow.cells.add(cell)
        for n, path in enumerate(paths):
            case = WF.report(
                case_id=f"c{n}",
                category="exposed_rubbish",
                source=CaseSource.PATROL,
                location=Location(GRID),
                reporter=Reporter(),
                description="成堆垃圾",
                owner=grid,
                at=MONDAY,
                actor="w",
            ).case
            at = MONDAY.add(minutes=1)
            case = WF.apply(case, Action.REGISTER, actor="d", role=CaseRole.DISPATCHER, at=at).case
            for i, dept in enumerate(path):
                at = at.add(minutes=1)
                case = WF.apply(
                    case,
                    Action.DISPATCH,
                    actor="d",
                    role=CaseRole.DISPATCHER,
                    at=at,
                    department=dept,
                ).case
                if i < len(path) - 1:
                    at = at.add(minutes=1)
                    case = WF.apply(
                        case,
                        Action.RETURN,
                        actor="h",
                        role=CaseRole.HANDLER,
                        at=at,
                        note="不属本部门",
                    ).case
            uow.cases.add(case)
        uow.commit()
    with s() as uow:
        kpis = case_kpis(uow, DISTRICT, since=MONDAY, until=MONDAY.add(days=1))
    s.close()
    expected = {
        d: (
            sum(p[-1] == d for p in paths),
            sum(d in p for p in paths),
            sum(d in p[:-1] for p in paths),
        )
        for d in _IDS
        if any(d in p for p in paths)
    }
    actual = {d: (f.reported, f.dispatched, f.returned) for d, f in kpis.by_department.items()}
    total = kpis.total
    assert (expected, len(paths), sum(len(p) > 1 for p in paths)) == (
        actual,
        total.dispatched,
        total.returned,
    )


class _Recorded:
    """A transport that keeps what it is given and reports it sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, message: Message) -> Sent:
        """Keep ``message``."""
        self.messages.append(message)
        return Sent(True)


def test_an_escalated_department_case_reaches_the_departments_supervisor(store: Store) -> None:
    """``case.escalated`` on a case the sanitation station holds goes to its supervisor.

    Without the department the community's worker on duty would be told.
    """
    since = pendulum.Date(2024, 1, 1)
    with store() as uow:
        # The community's worker is on duty where the case was raised: the area's supervisor.
        uow.workers.add(
            Worker(
                "c-1",
                "王社区",
                {WorkerRole.COMMUNITY_STAFF},
                (Assignment(COMMUNITY, since),),
                phone="13900001111",
            )
        )
        uow.workers.add(
            Worker(
                "s-1",
                "李站长",
                {WorkerRole.STREET_SUPERVISOR},
                (Assignment(DISTRICT, since),),
                phone="13900002222",
            )
        )
        _reported(uow, "c1", "exposed_rubbish")
        _act(uow, "c1", Action.DISPATCH, CaseRole.DISPATCHER, 10)
        record_events(
            uow,
            [
                CaseEscalated(
                    "c1",
                    GRID,
                    MONDAY.add(days=2),
                    from_cell=GRID,
                    to_cell=COMMUNITY,
                    from_level=GridLevel.GRID,
                    to_level=GridLevel.COMMUNITY,
                    rule="overdue",
                )
            ],
        )
        uow.commit()
    transport = _Recorded()
    Notifier(store, transport, clock=ManualClock(MONDAY.add(days=2, minutes=1))).deliver_once()
    assert ["s-1"] == [m.to.id for m in transport.messages]


# --- stored documents of older versions, and the Minggong scenario -------------------------------


def test_case_stored_before_departments_decodes_without_one(store: Store) -> None:
    """A stored case and history entries without ``owner_department`` decode with ``None``."""
    with store() as uow:
        _reported(uow, "c1", "exposed_rubbish")
        case = _act(uow, "c1", Action.DISPATCH, CaseRole.DISPATCHER, 10)
    data = unstructure(case)
    assert isinstance(data, dict)
    del data["owner_department"]
    for entry in data["history"]:
        del entry["owner_department"]
    old = attrs.evolve(
        case,
        owner_department=None,
        history=[attrs.evolve(e, owner_department=None) for e in case.history],
    )
    assert old == _codec.decode(Case, json.dumps(data), case.version)


def test_settings_stored_before_departments_decode_without_any() -> None:
    """Settings saved before departments existed decode with none."""
    data = unstructure(Settings(departments=DEPARTMENTS))
    assert isinstance(data, dict)
    del data["departments"]
    assert Settings() == _codec.decode(Settings, json.dumps(data), 0)


def test_minggong_loads_the_default_tree_and_its_departments() -> None:
    """The Minggong scenario brings the default tree and routes rubbish to its street station."""
    scenario = load_scenario(
        Path(__file__).resolve().parents[1] / "examples" / "minggong", households=False
    )
    routing = route(scenario.catalogue, scenario.departments, "hotline_rubbish", PATH)
    expected = ("sanitation-ziqianglu", "暴露垃圾", 4)
    actual = (
        routing.department.id if routing else None,
        scenario.catalogue.by_standard_code(DEFAULT_CATALOGUE.majors[0].tree, "0102").label_zh,
        len(scenario.settings().departments),
    )
    assert expected == actual


def test_scenario_department_naming_an_unknown_cell_names_file_and_field(tmp_path: Path) -> None:
    """A department serving a cell the scenario lacks is refused with its path and the file."""
    (tmp_path / "scenario.toml").write_text(
        """
[scenario]
name = "t"

[[cells]]
code = "610102"
name = "新城区"
level = "district"

[[departments]]
id = "sanitation"
name_zh = "环卫所"
name_en = "Sanitation"
cells = ["610102", "610199"]
""",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as caught:
        load_scenario(tmp_path)
    assert ("departments[0].cells[1]", "scenario.toml") == (
        caught.value.path,
        caught.value.source,
    )
