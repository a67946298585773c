"""Settings kept in the store: services read them, the scenario that filled it is known."""

from collections.abc import Iterator
from pathlib import Path

import attrs
import pendulum
import pytest

from gridgov import (
    Address,
    GridCell,
    GridLevel,
    Household,
    LivingArrangement,
    Resident,
    Store,
    Tag,
    ValidationError,
    open_store,
)
from gridgov.calendar import WorkCalendar
from gridgov.care import DEFAULT_POLICY
from gridgov.care.criteria import AgeAtLeast, AllOf
from gridgov.cases import Case, CaseSource, CaseWorkflow
from gridgov.codes import DEFAULT_SCHEME
from gridgov.errors import ConflictError
from gridgov.ports import UnitOfWork
from gridgov.scenarios import example_path, load_scenario, populate
from gridgov.services.care import plan_tasks
from gridgov.services.cases import EscalationEngine, report_case
from gridgov.settings import (
    LoadedScenario,
    Settings,
    care_policy,
    case_workflow,
    loaded_scenario,
)

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 12, 7, 9, tz=TZ)  # a Monday
GRID = "610102003006001"
# A calendar on which Tuesday 8 December 2026 is a day off: a working day later everywhere.
HOLIDAY = pendulum.Date(2026, 12, 8)
CALENDAR = WorkCalendar(holidays=frozenset({HOLIDAY}), years=(2026, 2027), tz=TZ, beyond="refuse")
# Covers only residents of 90 and over: the 83-year-old below is nobody's task under it.
NINETY = attrs.evolve(DEFAULT_POLICY, name="ninety", covers=AllOf((AgeAtLeast(90),)))


@pytest.fixture(params=["memory://", "sqlite://"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Return a store with one grid and an 83-year-old living alone, and no settings."""
    s = open_store(request.param)
    with s() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
        ]:
            uow.cells.add(cell)
        elder = Resident(
            "r1",
            "居民甲",
            birth_date=pendulum.Date(1943, 1, 1),
            tags={Tag.LIVING_ALONE},
            living_arrangement=LivingArrangement.ALONE,
        )
        uow.households.add(Household("h1", GRID, Address("1号楼"), members=(elder,)))
        uow.commit()
    yield s
    s.close()


def _save(store: Store, settings: Settings) -> None:
    with store() as uow:
        uow.settings.save(settings)
        uow.commit()


def test_care_services_take_the_stored_policy(store: Store) -> None:
    """Without a policy, planning follows the store's policy (as if passed), not the default."""
    with store() as uow:
        by_default = len(plan_tasks(uow, GRID, now=NOW))
    _save(store, Settings(care_policy=NINETY))
    with store() as uow:
        stored = len(plan_tasks(uow, GRID, now=NOW))
        given = len(plan_tasks(uow, GRID, now=NOW, policy=NINETY))
    assert (True, 0, 0) == (by_default > 0, stored, given)


def test_an_explicit_policy_wins_over_the_stored_one(store: Store) -> None:
    """A policy passed to the service is the one used, whatever the store holds."""
    _save(store, Settings(care_policy=NINETY))
    with store() as uow:
        assert (NINETY, DEFAULT_POLICY) == (
            care_policy(uow),
            care_policy(uow, DEFAULT_POLICY),
        )


def test_report_case_counts_on_the_stored_calendar(store: Store) -> None:
    """A case reported without a workflow is timed on the store's calendar."""
    _save(store, Settings(calendar=CALENDAR))
    weekdays = WorkCalendar(holidays=frozenset(), years=(2026, 2027), tz=TZ, beyond="refuse")
    with store() as uow:
        # Reported in the evening: the hour of registration is counted from the next working day.
        evening = NOW.at(19)
        stored = _report(uow, "c1", evening)
        other = _report(uow, "c2", evening, CaseWorkflow(weekdays))
    assert (HOLIDAY.add(days=1), HOLIDAY) == (
        stored.deadlines[0].due.date(),
        other.deadlines[0].due.date(),
    )
    assert CaseWorkflow(CALENDAR).timed(stored.deadlines[0]) == stored.deadlines[0]


def _report(
    uow: UnitOfWork,
    case_id: str,
    at: pendulum.DateTime = NOW,
    workflow: CaseWorkflow | None = None,
) -> Case:
    """Report a help request in the grid and return the case."""
    return report_case(
        uow,
        workflow,
        category="help",
        source=CaseSource.HOTLINE_12345,
        cell_code=GRID,
        description="楼道灯坏了",
        at=at,
        actor="w1",
        case_id=case_id,
    ).case


def test_no_stored_calendar_and_no_workflow_is_refused(store: Store) -> None:
    """With no calendar stored, a case needs a workflow (error on it); nothing is stored."""
    _save(store, Settings(care_policy=NINETY))
    with store() as uow, pytest.raises(ValidationError) as info:
        _report(uow, "c1")
    with store() as uow:
        page = uow.cases.open_in_subtree(GRID)
    assert ("workflow", ()) == (info.value.path, page.items)


def test_the_sweep_reads_the_stored_workflow(store: Store) -> None:
    """An engine without a workflow sweeps with the store's, and is refused without one."""
    with pytest.raises(ValidationError):
        EscalationEngine(store).sweep(NOW)
    _save(store, Settings(calendar=CALENDAR))
    with store() as uow:
        _report(uow, "c1")
        uow.commit()
    fired = EscalationEngine(store).sweep(NOW.add(days=30))
    assert {"c1"} == {e.case_id for e in fired}


def test_a_loaded_store_knows_its_scenario() -> None:
    """A store filled from the example holds its name, day, calendar and care policy."""
    scenario = load_scenario(example_path(), households=False)
    scenario = attrs.evolve(scenario, contacts=(), cases=(), activities=(), registrations=())
    store = open_store("memory://", scheme=scenario.scheme)
    with store() as uow:
        empty = loaded_scenario(uow)
    populate(store, scenario)
    with store() as uow:
        settings = uow.settings.get()
        workflow = case_workflow(uow)
    assert (None, LoadedScenario(scenario.name, scenario.as_of)) == (empty, settings.scenario)
    assert (scenario.policy, scenario.workflow().calendar) == (
        settings.care_policy,
        workflow.calendar,
    )


@pytest.mark.parametrize("hours", [0, 8761, True, 1.5, "24"])
def test_bad_requests_kept_hours_are_refused(hours: object) -> None:
    """Request keys kept other than 1 to 8760 whole hours: a ValidationError on the field."""
    with pytest.raises(ValidationError) as info:
        Settings(requests_kept_hours=hours)  # type: ignore[arg-type]
    assert "requests_kept_hours" == info.value.path


def test_a_store_keeps_its_code_scheme(tmp_path: Path) -> None:
    """Saved in the settings: opened with no scheme, the store takes it; another is refused."""
    from gridgov.codes import CodeScheme, Segment

    wide = CodeScheme(
        "wide-buildings",
        tuple(
            Segment(level, 4 if level is GridLevel.BUILDING else width)
            for level, width in zip(GridLevel, (6, 3, 3, 3, 3), strict=True)
        ),
    )
    url = f"sqlite:///{tmp_path}/kept.db"
    first = open_store(url, scheme=wide)
    with first() as uow:
        uow.settings.save(Settings(scheme=wide))
        uow.commit()
    first.close()
    again = open_store(url)
    kept = again.scheme
    again.close()
    with pytest.raises(ConflictError) as info:
        open_store(url, scheme=DEFAULT_SCHEME)
    assert (wide, "the store's cells follow the code scheme 'wide-buildings'") == (
        kept,
        str(info.value).split(", not")[0],
    )


def test_a_loaded_scenario_saves_its_code_scheme() -> None:
    """``populate`` saves the scenario's scheme with its rules."""
    scenario = load_scenario(example_path("minggong"))
    store = open_store("memory://", scheme=scenario.scheme)
    populate(store, scenario)
    with store() as uow:
        saved = uow.settings.get().scheme
    assert scenario.scheme == saved
