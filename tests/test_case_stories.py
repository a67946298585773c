"""Case stories in scenario files: the Minggong cases, the morning sweep, and bad stories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest

from gridgov import GridLevel, Store, open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import (
    DEFAULT_ESCALATION,
    Case,
    CaseState,
    EscalationKind,
    Satisfaction,
    Stage,
)
from gridgov.errors import (
    CalendarCoverageError,
    GridgovError,
    NotFoundError,
    TransitionError,
    ValidationError,
)
from gridgov.events import CaseEscalated, DeadlineMissed, Recorder
from gridgov.scenarios import Scenario, example_path, load_scenario, populate
from gridgov.services.cases import EscalationEngine

TZ = "Asia/Shanghai"
SUBSIDY, COMPLAINT, GAS = "mg-2026-1101", "mg-2026-1102", "mg-2026-1103"
MINGGONG = "610102003006"
MORNING = pendulum.datetime(2026, 11, 28, 9, tz=TZ)

STREET, COMMUNITY = "610102003", "610102003006"
GRID, BUILDING = "610102003006001", "610102003006001001"

CELLS_TOML = f"""
[scenario]
name = "测试 test"
as_of = 2026-11-28

[[cells]]
code = "610102"
name = "新城区"
level = "district"

[[cells]]
code = "{STREET}"
name = "自强路街道"
level = "street"
parent_code = "610102"

[[cells]]
code = "{COMMUNITY}"
name = "明宫社区"
level = "community"
parent_code = "{STREET}"

[[cells]]
code = "{GRID}"
name = "铁一村网格"
level = "grid"
parent_code = "{COMMUNITY}"

[[cells]]
code = "{BUILDING}"
name = "铁一村1号楼"
level = "building"
parent_code = "{GRID}"

[[workers]]
id = "grid-01"
name = "张静"
roles = ["grid_worker"]
assignments = [{{ cell_code = "{GRID}", start = 2023-03-01 }}]

[[workers]]
id = "secretary"
name = "李书记"
roles = ["community_secretary"]
assignments = [{{ cell_code = "{COMMUNITY}", start = 2023-03-01 }}]

[[workers]]
id = "street-01"
name = "王主任"
roles = ["street_supervisor"]
assignments = [{{ cell_code = "{STREET}", start = 2023-03-01 }}]
"""

CALENDAR_2026 = """
[calendar]
years = [2026, 2026]
holidays = ["2026-10-01/2026-10-07"]
workdays = ["2026-10-10"]
"""


def story(
    cid: str = "c1",
    *steps: tuple[str, str, str],
    category: str = "complaint",
    reported_at: str = "2026-11-23T10:00:00+08:00",
) -> str:
    """Return a ``[[cases]]`` table reported in the building, with ``(action, role, at)`` steps.

    Notes are given to every step; dispatches go to ``grid-01``.
    """
    text = f"""
[[cases]]
id = "{cid}"
category = "{category}"
source = "walk_in"
cell_code = "{BUILDING}"
description = "楼道堆放杂物"
reported_at = {reported_at}
actor = "secretary"
"""
    for action, role, at in steps:
        worker = '\nworker = "grid-01"' if action == "dispatch" else ""
        text += f"""
[[cases.steps]]
action = "{action}"
role = "{role}"
actor = "secretary"
note = "已处理"
at = {at}{worker}
"""
    return text


REGISTER = ("register", "dispatcher", "2026-11-23T10:05:00+08:00")
DISPATCH = ("dispatch", "dispatcher", "2026-11-23T10:10:00+08:00")
START = ("start", "handler", "2026-11-23T10:20:00+08:00")


def scenario_dir(folder: Path, extra: str) -> Path:
    """Write the minimal scenario with ``extra`` appended and return its folder."""
    (folder / "scenario.toml").write_text(CELLS_TOML + extra, encoding="utf-8")
    return folder


def load_error(folder: Path) -> ValidationError:
    """Return the ValidationError loading the scenario in ``folder`` raises."""
    with pytest.raises(ValidationError) as info:
        load_scenario(folder)
    return info.value


def populate_error(folder: Path, kind: type[GridgovError]) -> GridgovError:
    """Populate a memory store from ``folder``; check it raises ``kind`` and stores nothing."""
    store = open_store("memory://")
    with pytest.raises(kind) as info:
        populate(store, load_scenario(folder))
    with store() as uow:
        assert 0 == len(uow.cells.tree())
        with pytest.raises(NotFoundError):
            uow.settings.get()
        for cid in ("c0", "c1"):
            with pytest.raises(NotFoundError):
                uow.cases.get(cid)
    return info.value


def replayed(folder: Path, *ids: str) -> dict[str, Case]:
    """Populate a memory store from ``folder`` and return the cases ``ids``."""
    store = open_store("memory://")
    populate(store, load_scenario(folder))
    with store() as uow:
        return {cid: uow.cases.get(cid) for cid in ids}


# --- the Minggong stories -------------------------------------------------------------------


@pytest.fixture(scope="module")
def minggong() -> Scenario:
    """Return the Minggong example without its households (the stories do not need them)."""
    return load_scenario(example_path(), households=False)


@pytest.fixture
def store(minggong: Scenario) -> Iterator[Store]:
    """Return a memory store holding the Minggong scenario."""
    s = open_store("memory://", scheme=minggong.scheme)
    assert 3 == populate(s, minggong).cases
    yield s
    s.close()


def cases(store: Store) -> dict[str, Case]:
    """Return the three Minggong cases as stored."""
    with store() as uow:
        return {cid: uow.cases.get(cid) for cid in (SUBSIDY, COMPLAINT, GAS)}


def test_minggong_stories_end_in_their_states(store: Store) -> None:
    """The subsidy case is evaluated, the complaint and the gas leak are in progress in the grid."""
    expected = {
        SUBSIDY: (CaseState.EVALUATED, Satisfaction.SATISFIED, "610102003006006", "grid-06"),
        COMPLAINT: (CaseState.IN_PROGRESS, None, "610102003006003", "grid-03"),
        GAS: (CaseState.IN_PROGRESS, None, "610102003006001", "grid-01"),
    }
    assert expected == {
        cid: (c.state, c.satisfaction, c.owner_cell, c.owner_worker)
        for cid, c in cases(store).items()
    }
    assert {GridLevel.GRID} == {c.owner_level for c in cases(store).values()}


def test_minggong_subsidy_case_met_its_deadline_moved_by_the_wait(
    store: Store, minggong: Scenario
) -> None:
    """The handling deadline moved by the business time of the four-hour wait, and was met."""
    calendar = minggong.calendar
    assert calendar is not None
    reported = pendulum.datetime(2026, 11, 24, 9, 10, tz=TZ)
    waited = calendar.working_time_between(
        pendulum.datetime(2026, 11, 24, 9, 40, tz=TZ),
        pendulum.datetime(2026, 11, 24, 13, 40, tz=TZ),
    )
    due = calendar.add_working_time(calendar.add_working_days(reported, 10), waited)
    handling = cases(store)[SUBSIDY].deadline(Stage.HANDLING)
    assert handling is not None
    handled = pendulum.datetime(2026, 11, 24, 15, 30, tz=TZ)
    assert (reported, due, handled, None, True) == (
        handling.start,
        handling.due,
        handling.met_at,
        handling.paused_at,
        handling.met_in_time(),
    )
    # 2.5 business hours (09:40-12:00, 13:30-13:40) push 8 December 17:30 into the next day.
    assert pendulum.datetime(2026, 12, 9, 11, 30, tz=TZ) == due


def test_minggong_settings_are_saved(store: Store) -> None:
    """The store keeps the scenario's catalogue, with its own category, and the default policy."""
    with store() as uow:
        saved = uow.settings.get()
    assert (True, True, DEFAULT_ESCALATION) == (
        "relocated_service" in saved.catalogue,
        "complaint" in saved.catalogue,
        saved.escalation,
    )
    assert "relocated_service" == cases(store)[SUBSIDY].category


def test_minggong_morning_sweep_raises_the_complaint_and_marks_the_emergency_missed(
    store: Store, minggong: Scenario
) -> None:
    """At 09:00 on 28 November the complaint goes to the community; the gas leak is overdue."""
    before = cases(store)
    recorder = Recorder()
    done = EscalationEngine(store, minggong.workflow(), subscribers=[recorder]).sweep(MORNING)
    after = cases(store)
    assert [
        (COMPLAINT, EscalationKind.RAISE_LEVEL, "grid_to_community", MINGGONG),
        # 3/4 of the emergency's two hours had passed at 08:10: the reminder fires as well.
        (GAS, EscalationKind.REMIND, "remind_before_deadline", "610102003006001"),
        (GAS, EscalationKind.DEADLINE_MISSED, "deadline_missed", "610102003006001"),
    ] == [(e.case_id, e.kind, e.rule, e.to_cell) for e in done]
    assert (MINGGONG, GridLevel.COMMUNITY, "secretary") == (
        after[COMPLAINT].owner_cell,
        after[COMPLAINT].owner_level,
        after[COMPLAINT].owner_worker,
    )
    assert [
        DeadlineMissed(
            GAS,
            "610102003006001004",
            MORNING,
            "handling",
            pendulum.datetime(2026, 11, 28, 8, 40, tz=TZ),
        )
    ] == recorder.of_type(DeadlineMissed)
    assert [COMPLAINT] == [e.case_id for e in recorder.of_type(CaseEscalated)]
    assert before[SUBSIDY] == after[SUBSIDY]
    assert (after[GAS].owner_cell, after[GAS].owner_worker) == (
        before[GAS].owner_cell,
        before[GAS].owner_worker,
    )


# --- replaying stories ----------------------------------------------------------------------


def test_a_scenario_without_a_calendar_counts_on_the_state_council_calendar(
    tmp_path: Path,
) -> None:
    """Without ``[calendar]`` the deadlines are counted on WorkCalendar.china()."""
    folder = scenario_dir(tmp_path, story("c1", REGISTER, DISPATCH))
    scenario = load_scenario(folder)
    case = replayed(folder, "c1")["c1"]
    handling = case.deadline(Stage.HANDLING)
    reported = pendulum.datetime(2026, 11, 23, 10, tz=TZ)
    expected = WorkCalendar.china().add_working_days(reported, 15)
    assert (None, CaseState.DISPATCHED, expected) == (
        scenario.calendar,
        case.state,
        handling.due if handling else None,
    )


def test_replay_escalates_what_fell_due_before_a_step(tmp_path: Path) -> None:
    """A grid that starts a case two days late finds it already raised to the community."""
    late_start = ("start", "handler", "2026-11-25T09:00:00+08:00")
    case = replayed(scenario_dir(tmp_path, story("c1", REGISTER, DISPATCH, late_start)), "c1")["c1"]
    assert (COMMUNITY, "secretary", ["dispatch", "raise_level", "start"]) == (
        case.owner_cell,
        case.owner_worker,
        [h.action for h in case.history[-3:]],
    )


def test_replay_escalates_at_the_instants_a_sweeping_engine_would(tmp_path: Path) -> None:
    """Between two distant steps the case climbs grid -> community -> street on its due dates."""
    handle = ("handle", "handler", "2026-12-03T10:00:00+08:00")
    folder = scenario_dir(tmp_path, story("c1", REGISTER, DISPATCH, START, handle))
    case = replayed(folder, "c1")["c1"]
    assert [
        ("raise_level", pendulum.datetime(2026, 11, 24, 17, 30, tz=TZ), COMMUNITY),
        ("raise_level", pendulum.datetime(2026, 11, 27, 17, 30, tz=TZ), STREET),
    ] == [(h.action, h.at, h.owner_cell) for h in case.history if h.action == "raise_level"]


# --- bad stories ----------------------------------------------------------------------------


def test_a_step_before_the_one_before_it_names_its_path(tmp_path: Path) -> None:
    """A step earlier than the previous step is a ValidationError on ``cases[0].steps[1].at``."""
    early = ("dispatch", "dispatcher", "2026-11-23T10:01:00+08:00")
    error = load_error(
        scenario_dir(
            tmp_path, story("c1", ("register", "dispatcher", "2026-11-23T10:05:00+08:00"), early)
        )
    )
    assert ("cases[0].steps[1].at", "scenario.toml") == (error.path, error.source)


def test_a_step_before_the_report_names_its_path(tmp_path: Path) -> None:
    """A first step earlier than the report is a ValidationError on ``cases[1].steps[0].at``."""
    early = ("register", "dispatcher", "2026-11-23T09:59:00+08:00")
    error = load_error(scenario_dir(tmp_path, story("c0") + story("c1", early)))
    assert "cases[1].steps[0].at" == error.path


def test_an_unknown_action_names_its_path(tmp_path: Path) -> None:
    """An action the workflow does not know is a ValidationError naming the step's action."""
    error = load_error(
        scenario_dir(tmp_path, story("c1", REGISTER, ("escalate", "dispatcher", DISPATCH[2])))
    )
    assert "cases[0].steps[1].action" == error.path


def test_a_step_by_the_wrong_role_stores_nothing(tmp_path: Path) -> None:
    """A handler registering a case raises TransitionError, and no part of the scenario is kept."""
    by_handler = ("register", "handler", "2026-11-23T10:05:00+08:00")
    folder = scenario_dir(tmp_path, story("c0", REGISTER, DISPATCH) + story("c1", by_handler))
    error = populate_error(folder, TransitionError)
    assert "needs the role dispatcher, not handler" in str(error)


def test_a_story_in_an_unknown_category_stores_nothing(tmp_path: Path) -> None:
    """A category outside the catalogue is a ValidationError on ``cases[0].category``."""
    error = populate_error(
        scenario_dir(tmp_path, story("c1", REGISTER, category="noise")), ValidationError
    )
    assert isinstance(error, ValidationError)
    assert "cases[0].category" == error.path


def test_a_dispatch_to_a_building_names_the_to_cell_key(tmp_path: Path) -> None:
    """Dispatching to a building in a story is a ValidationError on the step's ``to_cell``."""
    text = story("c1", REGISTER, DISPATCH).replace('worker = "grid-01"', f'to_cell = "{BUILDING}"')
    error = populate_error(scenario_dir(tmp_path, text), ValidationError)
    assert isinstance(error, ValidationError)
    assert "cases[0].steps[1].to_cell" == error.path


def test_a_bad_calendar_date_names_its_path(tmp_path: Path) -> None:
    """A malformed holiday in ``[calendar]`` is a ValidationError under ``calendar``."""
    error = load_error(scenario_dir(tmp_path, '[calendar]\nholidays = ["2026-13-01"]\n'))
    assert ("calendar.holidays[0]", "scenario.toml") == (error.path, error.source)


def test_a_story_outside_the_calendar_years_stores_nothing(tmp_path: Path) -> None:
    """A story in 2027 on a strict calendar of 2026 raises CalendarCoverageError; none stored."""
    strict = CALENDAR_2026.replace("[calendar]\n", '[calendar]\nbeyond = "refuse"\n')
    text = strict + story("c1", REGISTER, reported_at="2027-03-01T10:00:00+08:00")
    text = text.replace("2026-11-23T10:05:00+08:00", "2027-03-01T10:05:00+08:00")
    error = populate_error(scenario_dir(tmp_path, text), CalendarCoverageError)
    assert "2027" in str(error)


def test_a_story_within_the_calendar_years_is_replayed(tmp_path: Path) -> None:
    """The same story in 2026 on that calendar is stored (the coverage test is not vacuous)."""
    folder = scenario_dir(tmp_path, CALENDAR_2026 + story("c1", REGISTER))
    assert CaseState.REGISTERED == replayed(folder, "c1")["c1"].state


def test_a_bad_category_limit_names_its_path(tmp_path: Path) -> None:
    """A limit that is not a count and a unit names ``case_catalogue.categories[0].limits...``."""
    extra = """
[[case_catalogue.categories]]
code = "noise"
extends = "complaint"
label_en = "Noise"
label_zh = "噪音"
limits = { handling = "soon" }
"""
    error = load_error(scenario_dir(tmp_path, extra))
    assert ("case_catalogue.categories[0].limits.handling", "scenario.toml") == (
        error.path,
        error.source,
    )


def test_a_scenario_category_is_added_to_the_default_catalogue(tmp_path: Path) -> None:
    """A category of the scenario's own takes its limits from the category it extends."""
    extra = """
[[case_catalogue.categories]]
code = "noise"
extends = "complaint"
label_en = "Noise"
label_zh = "噪音"
limits = { handling = "3 working_days" }
"""
    scenario = load_scenario(scenario_dir(tmp_path, extra))
    noise = scenario.catalogue.get("noise")
    complaint = scenario.catalogue.get("complaint")
    assert (
        "3 working days",
        str(complaint.limit(Stage.REGISTRATION)),
        True,
    ) == (
        str(noise.limit(Stage.HANDLING)),
        str(noise.limit(Stage.REGISTRATION)),
        "emergency" in scenario.catalogue,
    )
