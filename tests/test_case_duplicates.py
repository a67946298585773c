"""Components and duplicates: the register, flags on report, merging, indicators, the reporter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov import GridCell, GridLevel, Store, UnitOfWork, open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import DEFAULT_CATALOGUE, Action, CaseRole, CaseSource, CaseWorkflow, Reporter
from gridgov.cases.components import Component, check_component
from gridgov.cases.departments import Department
from gridgov.cases.duplicates import DuplicateRule, Sighting, distance_m, matches
from gridgov.errors import TransitionError, ValidationError
from gridgov.events import CaseMarkedDuplicate
from gridgov.notify import Audience
from gridgov.notify.notifier import Message, Notifier, Sent
from gridgov.scenarios import example_path, load_scenario, populate
from gridgov.scenarios.components import read_components_csv
from gridgov.services.cases import act_on_case, case_kpis, report_case
from gridgov.services.duplicates import mark_duplicate
from gridgov.settings import Settings
from gridgov.testing import ManualClock

TZ = "Asia/Shanghai"
WF = CaseWorkflow(WorkCalendar.china())
DISTRICT, STREET, COMMUNITY = "610102", "610102003", "610102003006"
GRID, GRID2 = "610102003006001", "610102003006002"
MONDAY = pendulum.datetime(2026, 11, 23, 10, tz=TZ)
HERE = (108.9600, 34.2900)
# About 33 m east of HERE (0.00036 degrees of longitude at 34.29 degrees north).
NEAR = (108.96036, 34.2900)
# About 110 m north of HERE.
FAR = (108.9600, 34.2910)
COVER = Component(
    "6101020101000001", "supply_water_cover", "明宫路12号门前上水井盖", GRID, HERE, "water"
)
DEPARTMENTS = (Department("water", "水务局", "Water bureau"),)


@pytest.fixture
def store() -> Iterator[Store]:
    """Return a memory store with two grids, a water bureau and one manhole cover."""
    s = open_store("memory://")
    with s() as uow:
        for cell in (
            GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
            GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, STREET),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY),
            GridCell(GRID2, "二号网格", GridLevel.GRID, COMMUNITY),
        ):
            uow.cells.add(cell)
        uow.settings.save(Settings(departments=DEPARTMENTS))
        uow.components.add(COVER)
        uow.commit()
    yield s
    s.close()


def _report(
    uow: UnitOfWork,
    case_id: str,
    *,
    category: str = "exposed_rubbish",
    hours: float = 0,
    point: tuple[float, float] | None = HERE,
    cell: str = GRID,
    component_id: str | None = None,
    reporter: Reporter | None = None,
) -> tuple[str, ...]:
    case = report_case(
        uow,
        WF,
        category=category,
        source=CaseSource.HOTLINE_12345,
        cell_code=cell,
        description="路边成堆垃圾",
        at=MONDAY.add(seconds=int(hours * 3600)),
        actor="secretary",
        case_id=case_id,
        point=point,
        component_id=component_id,
        reporter=reporter,
    ).case
    return case.possible_duplicates


# --- the register ---------------------------------------------------------------------------------


def test_a_component_code_is_read_as_cjt_214_structures_it() -> None:
    """County (6), major (2), minor (2), sequence (6): 610102 01 01 000001."""
    assert ("610102", "01", "01") == (COVER.county, COVER.major, COVER.minor)


@pytest.mark.parametrize(
    "code", ["610102010100001", "6101020001000001", "6101020100000001", "6101020101000000", "x"]
)
def test_a_bad_component_code_is_refused_on_the_id(code: str) -> None:
    """Fifteen digits, a zero major, minor or sequence: a ValidationError on ``id``."""
    with pytest.raises(ValidationError) as caught:
        Component(code, "supply_water_cover", "井盖", GRID)
    assert "id" == caught.value.path


@pytest.mark.parametrize(
    ("component", "path"),
    [
        (Component("6101020102000001", "supply_water_cover", "井盖", GRID), "id"),
        (Component("6101020101000001", "exposed_rubbish", "井盖", GRID), "category"),
        (Component("6101020101000001", "nothing", "井盖", GRID), "category"),
        (
            Component("6101020101000001", "supply_water_cover", "井盖", GRID, None, "x"),
            "department",
        ),
    ],
)
def test_a_component_must_agree_with_the_catalogue_and_departments(
    component: Component, path: str
) -> None:
    """Its code's minor is its category's, its category a component one, its department known."""
    with pytest.raises(ValidationError) as caught:
        check_component(component, DEFAULT_CATALOGUE, DEPARTMENTS)
    assert path == caught.value.path


def test_a_case_names_its_component_and_takes_its_point(store: Store) -> None:
    """Reported about the cover without a point, the case is about it, at its point."""
    with store() as uow:
        _report(uow, "c1", category="supply_water_cover", point=None, component_id=COVER.id)
        case = uow.cases.get("c1")
    assert (COVER.id, HERE) == (case.component_id, case.location.point)


def test_an_unknown_component_is_refused_on_component_id(store: Store) -> None:
    """A case about a component the register lacks: a ValidationError, nothing stored."""
    with store() as uow, pytest.raises(ValidationError) as caught:
        _report(uow, "c1", component_id="6101020101000099")
    assert "component_id" == caught.value.path


# --- flagging -------------------------------------------------------------------------------------


def test_the_same_component_is_flagged_whatever_the_place_or_category(store: Store) -> None:
    """Two reports of the cover, the second from the next grid without a point: flagged."""
    with store() as uow:
        _report(uow, "c1", category="supply_water_cover", component_id=COVER.id)
        flagged = _report(
            uow, "c2", category="complaint", hours=5, point=None, cell=GRID2, component_id=COVER.id
        )
    assert ("c1",) == flagged


def test_the_same_minor_category_near_and_recent_is_flagged(store: Store) -> None:
    """Rubbish 33 m away two hours later is flagged; so is a 12345 rubbish ticket (same minor)."""
    with store() as uow:
        _report(uow, "c1")
        near = _report(uow, "c2", hours=2, point=NEAR)
        hotline = _report(uow, "c3", category="hotline_rubbish", hours=3, point=NEAR)
    assert (("c1",), ("c1", "c2")) == (near, hotline)


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"hours": 73}, "after the 72-hour window"),
        ({"hours": 1, "point": FAR}, "110 m away"),
        ({"hours": 1, "category": "dirty_road"}, "another minor category"),
        ({"hours": 1, "point": None, "cell": GRID2}, "no point, another cell"),
    ],
)
def test_outside_the_window_distance_or_category_nothing_is_flagged(
    store: Store, fields: dict[str, object], why: str
) -> None:
    """Too late, too far, another kind of problem, or another cell without a point: no flag."""
    with store() as uow:
        _report(uow, "c1")
        flagged = _report(uow, "c2", **fields)  # type: ignore[arg-type]
    assert () == flagged, why


def test_without_points_the_same_cell_counts_as_near(store: Store) -> None:
    """Neither report has a point: the same grid stands for the distance."""
    with store() as uow:
        _report(uow, "c1", point=None)
        flagged = _report(uow, "c2", hours=1, point=None)
    assert ("c1",) == flagged


def test_the_stores_rule_sets_distance_and_window(store: Store) -> None:
    """With a 200 m, 100-hour rule saved, the far and late report is flagged."""
    with store() as uow:
        settings = uow.settings.get()
        uow.settings.save(
            Settings(
                departments=settings.departments,
                duplicates=DuplicateRule(200, 100),
                version=settings.version,
            )
        )
        _report(uow, "c1")
        flagged = _report(uow, "c2", hours=90, point=FAR)
    assert ("c1",) == flagged


def test_categories_outside_the_trees_are_flagged_only_by_component(store: Store) -> None:
    """Two complaints at one spot may be two problems: no flag without a component."""
    with store() as uow:
        _report(uow, "c1", category="complaint")
        flagged = _report(uow, "c2", category="complaint", hours=1)
    assert () == flagged


@given(
    st.floats(-179.0, 179.0),
    st.floats(-80.0, 80.0),
    st.floats(0.0, 0.01),
)
def test_distance_is_symmetric_and_zero_at_one_point(lon: float, lat: float, d: float) -> None:
    """The great-circle distance is the same both ways and zero from a point to itself."""
    a, b = (lon, lat), (lon + d, lat + d)
    assert (0.0, True) == (distance_m(a, a), abs(distance_m(a, b) - distance_m(b, a)) < 1e-6)


def test_a_duplicate_or_rejected_case_is_no_candidate() -> None:
    """Sightings that are not candidates (rejected, or duplicates) are never matched."""
    new = Sighting("c3", "exposed_rubbish", GRID, MONDAY.add(hours=1), HERE)
    earlier = [
        Sighting("c1", "exposed_rubbish", GRID, MONDAY, HERE, candidate=False),
        Sighting("c2", "exposed_rubbish", GRID, MONDAY, HERE),
    ]
    assert ("c2",) == matches(new, earlier, DuplicateRule(), lambda code: code)


# --- merging and marking ----------------------------------------------------------------------


def _two_rubbish_reports(uow: UnitOfWork, reporter: Reporter | None = None) -> None:
    _report(uow, "c1")
    _report(uow, "c2", hours=1, point=NEAR, reporter=reporter)


def test_merge_keeps_the_link_both_ways_and_closes_the_duplicate(store: Store) -> None:
    """Merged into c1, c2 is closed naming c1; c1 lists c2 and says so in its history."""
    with store() as uow:
        _two_rubbish_reports(uow)
        mark_duplicate(uow, WF, "c2", of="c1", actor="d-1", at=MONDAY.add(hours=2), merge=True)
        uow.commit()
    with store() as uow:
        dup, survivor = uow.cases.get("c2"), uow.cases.get("c1")
    expected = ("closed", "c1", "merge", "merged into c1", ("c2",), "absorb", "merged: c2")
    assert expected == (
        dup.state.value,
        dup.duplicate_of,
        dup.history[-1].action,
        dup.history[-1].note,
        survivor.duplicates,
        survivor.history[-1].action,
        survivor.history[-1].note,
    )


def test_marking_a_duplicate_of_a_duplicate_or_of_itself_is_refused(store: Store) -> None:
    """The survivor must be a case of its own: not the duplicate itself, not another duplicate."""
    with store() as uow:
        _two_rubbish_reports(uow)
        _report(uow, "c3", hours=2)
        mark_duplicate(uow, WF, "c2", of="c1", actor="d-1", at=MONDAY.add(hours=3))
        with pytest.raises(ValidationError) as itself:
            mark_duplicate(uow, WF, "c3", of="c3", actor="d-1", at=MONDAY.add(hours=4))
        with pytest.raises(ValidationError) as chained:
            mark_duplicate(uow, WF, "c3", of="c2", actor="d-1", at=MONDAY.add(hours=4))
    assert ("duplicate_of", "duplicate_of") == (itself.value.path, chained.value.path)


def test_a_duplicate_is_not_called_back_on_its_own(store: Store) -> None:
    """Evaluating a duplicate is refused: its reporter is called back on the other case."""
    with store() as uow:
        _two_rubbish_reports(uow)
        mark_duplicate(uow, WF, "c2", of="c1", actor="d-1", at=MONDAY.add(hours=2))
        with pytest.raises(TransitionError):
            act_on_case(
                uow,
                WF,
                "c2",
                Action.EVALUATE,
                actor="d-1",
                role=CaseRole.DISPATCHER,
                at=MONDAY.add(hours=3),
                satisfaction=None,
            )


def test_the_indicators_count_a_duplicate_only_as_a_duplicate(store: Store) -> None:
    """Three reports, one closed as a duplicate: two reported, nothing closed, one duplicate."""
    with store() as uow:
        _two_rubbish_reports(uow)
        _report(uow, "c3", category="complaint", hours=2)
        mark_duplicate(uow, WF, "c2", of="c1", actor="d-1", at=MONDAY.add(hours=3))
        kpis = case_kpis(uow, DISTRICT, since=MONDAY, until=MONDAY.add(days=30))
    total = kpis.total
    assert (2, 0, 1, 1) == (
        total.reported,
        total.closed,
        total.duplicates,
        kpis.by_cell[GRID].duplicates,
    )


def test_the_reporter_with_a_phone_is_notified(store: Store) -> None:
    """A reporter who left a phone gets the policy's reporter notification about the duplicate."""
    with store() as uow:
        _two_rubbish_reports(uow, Reporter(name="王秀英", phone="13812345678"))
        result = mark_duplicate(uow, WF, "c2", of="c1", actor="d-1", at=MONDAY.add(hours=2))
        uow.commit()
    with store() as uow:
        told = uow.notifications.about("c2")
    event = result.events[-1]
    assert (True, "c1", [Audience.REPORTER]) == (
        isinstance(event, CaseMarkedDuplicate) and event.reporter_reachable,
        event.duplicate_of if isinstance(event, CaseMarkedDuplicate) else None,
        [n.audience for n in told],
    )


def test_an_anonymous_reporter_gets_the_event_only(store: Store) -> None:
    """Without a phone or a resident id nobody is notified; the event says the reporter was not."""
    with store() as uow:
        _two_rubbish_reports(uow)
        result = mark_duplicate(uow, WF, "c2", of="c1", actor="d-1", at=MONDAY.add(hours=2))
        uow.commit()
    with store() as uow:
        told = uow.notifications.about("c2")
        stored = [e.type for e in uow.outbox.for_aggregate("case", "c2")]
    event = result.events[-1]
    assert ([], False, "case.duplicate") == (
        list(told),
        isinstance(event, CaseMarkedDuplicate) and event.reporter_reachable,
        stored[-1],
    )


class _Recorded:
    """A transport that keeps what it is given and reports it sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, message: Message) -> Sent:
        """Keep ``message``."""
        self.messages.append(message)
        return Sent(True)


def test_the_notifier_tells_the_reporter_at_their_phone_which_case_handles_it(
    store: Store,
) -> None:
    """The reporter's message goes to the phone they left and names the surviving case."""
    with store() as uow:
        _two_rubbish_reports(uow, Reporter(name="王秀英", phone="13812345678"))
        mark_duplicate(uow, WF, "c2", of="c1", actor="d-1", at=MONDAY.add(hours=2))
        uow.commit()
    transport = _Recorded()
    Notifier(store, transport, clock=ManualClock(MONDAY.add(hours=2, minutes=1))).deliver_once()
    expected = [
        (
            "c2:reporter",
            "13812345678",
            "【案件反馈】您反映的问题已并入案件c1一并办理，感谢您的反映。",
        )
    ]
    assert expected == [(m.to.id, m.to.phone.value, m.text) for m in transport.messages]


# --- components in scenarios --------------------------------------------------------------------


def test_the_minggong_components_load_into_the_store() -> None:
    """The example's four components are stored with its ledger, found by grid."""
    store = open_store("memory://")
    populate(store, load_scenario(example_path()))
    with store() as uow:
        found = [c.id for c in uow.components.in_subtree("610102003006").items]
    store.close()
    expected = ["6101020101000001", "6101020117000001", "6101020301000001", "6101020306000001"]
    assert expected == found


COMPONENTS_CSV = (
    "id,category,name,cell_code,longitude,latitude,department\n"
    "6101020101000002,supply_water_cover,二号井盖,610102003006001,108.962,34.296,water\n"
    "6101020306000002,litter_bin,二号果皮箱,610102003006005,,,\n"
)


def test_components_csv_reads_one_component_a_row(tmp_path: Path) -> None:
    """Each row is a component; empty longitude, latitude and department are absent."""
    path = tmp_path / "components.csv"
    path.write_text(COMPONENTS_CSV, encoding="utf-8")
    found = list(read_components_csv(path))
    expected = [
        ("6101020101000002", (108.962, 34.296), "water"),
        ("6101020306000002", None, None),
    ]
    assert expected == [(c.id, c.point, c.department) for c in found]


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (COMPONENTS_CSV.replace("6101020306000002", "61010203060000"), "line 3.id"),
        (COMPONENTS_CSV.replace("108.962", "east"), "line 2.longitude"),
        (COMPONENTS_CSV.replace("department\n", "department,colour\n"), "line 1.colour"),
    ],
)
def test_a_bad_components_csv_names_the_line_and_column(
    tmp_path: Path, text: str, path: str
) -> None:
    """A bad code, a point that is not a number or an unknown column: named, file included."""
    file = tmp_path / "components.csv"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        list(read_components_csv(file))
    assert (path, "components.csv") == (caught.value.path, caught.value.source)


def test_a_scenario_component_in_an_unknown_cell_is_named(tmp_path: Path) -> None:
    """A scenario whose component lies in no cell of it fails on that component's cell."""
    text = (example_path() / "scenario.toml").read_text(encoding="utf-8")
    broken = text.replace(
        'cell_code = "610102003006004"\npoint', 'cell_code = "610102003006099"\npoint'
    )
    for name in ("households.csv", "contacts.csv", "registrations.csv"):
        (tmp_path / name).write_bytes((example_path() / name).read_bytes())
    (tmp_path / "scenario.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_scenario(tmp_path)
    assert ("components[1].cell_code", "scenario.toml") == (
        caught.value.path,
        caught.value.source,
    )


def test_a_scoped_report_is_checked_against_cases_out_of_its_scope(store: Store) -> None:
    """A grid worker of the next grid reports rubbish 33 m from a case of another grid: flagged.

    A scope narrows what a principal sees, never what a rule counts.
    """
    from gridgov.access import Principal, Role
    from gridgov.services.scoped import scoped

    with store() as uow:
        _report(uow, "c1")
        uow.commit()
    worker = Principal("w-2", {Role.GRID_WORKER}, {GRID2})
    with scoped(store(), worker, audit=lambda entry: None) as uow:
        flagged = report_case(
            uow,
            WF,
            category="exposed_rubbish",
            source=CaseSource.PATROL,
            cell_code=GRID2,
            description="路边成堆垃圾",
            at=MONDAY.add(hours=1),
            actor="w-2",
            case_id="c2",
            point=NEAR,
        ).case.possible_duplicates
    assert ("c1",) == flagged


def test_the_open311_status_of_a_merged_case_names_the_case_handling_it(store: Store) -> None:
    """A merged case is closed for Open311, its status notes naming the other case."""
    from gridgov.interop.open311 import service_request

    with store() as uow:
        _two_rubbish_reports(uow)
        mark_duplicate(uow, WF, "c2", of="c1", actor="d-1", at=MONDAY.add(hours=2), merge=True)
        request = service_request(uow.cases.get("c2"), DEFAULT_CATALOGUE)
    assert ("closed", "merged into c1") == (request["status"], request["status_notes"])
