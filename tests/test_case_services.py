"""Case use cases over a store: reporting, acting, the escalation sweep, KPIs and publishing."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
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
from gridgov.calendar import WorkCalendar
from gridgov.cases import (
    Action,
    Case,
    CaseRole,
    CaseSource,
    CaseState,
    CaseWorkflow,
    Escalation,
    EscalationKind,
    Stage,
)
from gridgov.codes import CodeScheme
from gridgov.errors import ConflictError, NotFoundError, TransitionError, ValidationError
from gridgov.events import (
    CaseEscalated,
    CaseEvent,
    CaseReported,
    CaseStateChanged,
    Recorder,
)
from gridgov.services.cases import (
    CaseFigures,
    CaseKpis,
    EscalationEngine,
    act_on_case,
    case_kpis,
    publish,
    report_case,
)
from gridgov.services.kpis import Scoring, StageFigures, league_table

TZ = "Asia/Shanghai"
CAL = WorkCalendar.china()
WF = CaseWorkflow(CAL)

DISTRICT, STREET, COMMUNITY = "610102", "610102003", "610102003006"
GRID, GRID2 = "610102003006001", "610102003006002"
B1, B2 = f"{GRID}001", f"{GRID}002"
LEVELS = {
    DISTRICT: GridLevel.DISTRICT,
    STREET: GridLevel.STREET,
    COMMUNITY: GridLevel.COMMUNITY,
    GRID: GridLevel.GRID,
    GRID2: GridLevel.GRID,
}

MONDAY = pendulum.datetime(2026, 11, 23, 10, tz=TZ)  # Monday 23 November 2026, 10:00
TUESDAY_CLOSE = pendulum.datetime(2026, 11, 24, 17, 30, tz=TZ)  # the grid's working day is over
WEDNESDAY = pendulum.datetime(2026, 11, 25, 9, tz=TZ)

GRID_REASON_EN = "small matters stay in the grid: not handled there within 1 working day"
GRID_REASON_ZH = "小事不出网格：网格一个工作日内未办结，上提社区"
STREET_REASON_EN = "big matters stay in the community: not handled there within 3 working days"
STREET_REASON_ZH = "大事不出社区：社区三个工作日内未办结，上提街道"

SINCE_2024 = pendulum.Date(2024, 1, 1)


def worker(wid: str, role: WorkerRole, *assignments: Assignment) -> Worker:
    """Return a worker with ``assignments``."""
    return Worker(wid, "工作人员", {role}, assignments)


def seed(store: Store) -> Store:
    """Store the hierarchy district > street > community > two grids > two buildings, and staff.

    The community has two current workers (``c-alpha`` sorts first), one whose assignment ended,
    and a grid worker whose id sorts before them all; the street has one supervisor.
    """
    with store() as uow:
        for cell in (
            GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
            GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, STREET),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY),
            GridCell(GRID2, "建强路网格", GridLevel.GRID, COMMUNITY),
            GridCell(B1, "铁一村1号楼", GridLevel.BUILDING, GRID),
            GridCell(B2, "铁一村2号楼", GridLevel.BUILDING, GRID),
        ):
            uow.cells.add(cell)
        for w in (
            worker("a-grid", WorkerRole.GRID_WORKER, Assignment(GRID, SINCE_2024)),
            worker(
                "b-retired",
                WorkerRole.COMMUNITY_STAFF,
                Assignment(COMMUNITY, SINCE_2024, pendulum.Date(2026, 10, 31)),
            ),
            worker("c-beta", WorkerRole.COMMUNITY_STAFF, Assignment(COMMUNITY, SINCE_2024)),
            worker("c-alpha", WorkerRole.COMMUNITY_STAFF, Assignment(COMMUNITY, SINCE_2024)),
            worker("s-1", WorkerRole.STREET_SUPERVISOR, Assignment(STREET, SINCE_2024)),
        ):
            uow.workers.add(w)
        uow.commit()
    return store


@pytest.fixture
def memory() -> Iterator[Store]:
    """Return a seeded memory store."""
    store = seed(open_store("memory://"))
    yield store
    store.close()


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a seeded store of each kind: memory, SQLite, PostgreSQL and MariaDB."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cases.db'}"
    elif request.param == "mysql":
        url = request.getfixturevalue("mysql_database")
    else:
        url = request.getfixturevalue("postgres_schema")
    s = seed(open_store(url))
    yield s
    s.close()


def report(
    uow: UnitOfWork,
    cid: str,
    at: pendulum.DateTime = MONDAY,
    *,
    cell: str = B1,
    category: str = "complaint",
    external_id: str | None = None,
) -> Case:
    """Report case ``cid`` through the service and return it as stored."""
    return report_case(
        uow,
        WF,
        category=category,
        source=CaseSource.HOTLINE_12345,
        cell_code=cell,
        description="楼道堆放杂物，堵塞消防通道",
        at=at,
        actor="secretary",
        external_id=external_id,
        case_id=cid,
    ).case


def act(
    uow: UnitOfWork,
    cid: str,
    action: Action,
    role: CaseRole,
    at: pendulum.DateTime,
    *,
    to_cell: str | None = None,
    worker: str | None = None,
) -> Case:
    """Take ``action`` on case ``cid`` with a note, and return the stored case."""
    return act_on_case(
        uow,
        WF,
        cid,
        action,
        actor=f"{role.value}-1",  # one person per role: separation of duties holds
        role=role,
        at=at,
        note="已处理",
        to_cell=to_cell,
        worker=worker,
    ).case


def dispatched(store: Store, *ids: str, at: pendulum.DateTime = MONDAY) -> None:
    """Commit cases ``ids`` reported at ``at``, registered and dispatched to the grid's worker."""
    with store() as uow:
        for cid in ids:
            report(uow, cid, at)
            act(uow, cid, Action.REGISTER, CaseRole.DISPATCHER, at.add(minutes=5))
            act(uow, cid, Action.DISPATCH, CaseRole.DISPATCHER, at.add(minutes=10), worker="a-grid")
        uow.commit()


def stored(store: Store, *ids: str) -> dict[str, Case]:
    """Return the stored cases ``ids``, read in a fresh unit of work."""
    with store() as uow:
        return {cid: uow.cases.get(cid) for cid in ids}


def versions(store: Store, *ids: str) -> dict[str, int]:
    """Return the stored version of each case."""
    return {cid: c.version for cid, c in stored(store, *ids).items()}


def raised(cid: str, at: pendulum.DateTime, due: pendulum.DateTime = TUESDAY_CLOSE) -> Escalation:
    """Return the escalation raising ``cid`` from the grid to the community at ``at``."""
    return Escalation(
        cid,
        EscalationKind.RAISE_LEVEL,
        "grid_to_community",
        due,
        at,
        GRID_REASON_EN,
        GRID_REASON_ZH,
        GRID,
        COMMUNITY,
        GridLevel.GRID,
        GridLevel.COMMUNITY,
    )


def reported_ids(store: Store) -> list[str]:
    """Return the ids of every case reported in 2026 in the district, read in a fresh unit."""
    with store() as uow:
        page = uow.cases.reported_in_subtree(
            DISTRICT,
            since=pendulum.datetime(2026, 1, 1, tz=TZ),
            until=pendulum.datetime(2027, 1, 1, tz=TZ),
        )
    return [c.id for c in page.items]


# --- report_case ----------------------------------------------------------------------------


def test_report_case_in_a_building_is_owned_by_its_grid(memory: Store) -> None:
    """A case in a building lies there and is owned by the building's grid, at version 1."""
    with memory() as uow:
        transition = report_case(
            uow,
            WF,
            category="complaint",
            source=CaseSource.WALK_IN,
            cell_code=B1,
            description="楼道灯不亮",
            at=MONDAY,
            actor="secretary",
            case_id="k1",
        )
        uow.commit()
    case = stored(memory, "k1")["k1"]
    expected = (B1, GRID, GridLevel.GRID, CaseState.REPORTED, 1, MONDAY)
    assert expected == (
        case.cell_code,
        case.owner_cell,
        case.owner_level,
        case.state,
        case.version,
        case.level_since,
    )
    assert (CaseReported("k1", B1, MONDAY, "complaint"),) == transition.events
    assert case == transition.case


def test_report_case_in_a_grid_or_community_is_owned_by_that_unit(memory: Store) -> None:
    """A case reported on a unit that can own cases stays with that unit."""
    with memory() as uow:
        owners = [
            (report(uow, f"k{i}", cell=c).owner_cell) for i, c in enumerate((GRID2, COMMUNITY))
        ]
    assert [GRID2, COMMUNITY] == owners


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"cell_code": f"{GRID}009"}, "cell_code"),
        ({"category": "no_such_category"}, "category"),
        ({"at": pendulum.naive(2026, 11, 23, 10)}, "at"),
    ],
)
def test_report_case_refuses_bad_input_and_stores_nothing(
    memory: Store, changes: dict[str, object], path: str
) -> None:
    """An unknown cell or category or a naive instant is a ValidationError; nothing is stored."""
    fields: dict[str, object] = {
        "category": "complaint",
        "source": CaseSource.HOTLINE_12345,
        "cell_code": B1,
        "description": "噪音扰民",
        "at": MONDAY,
        "actor": "secretary",
        "external_id": "12345-20261123-0001",
        **changes,
    }
    with memory() as uow:
        with pytest.raises(ValidationError) as info:
            report_case(uow, WF, **fields)  # type: ignore[arg-type]
        uow.commit()
    with memory() as uow:
        by_external = uow.cases.by_external_id("12345-20261123-0001")
    assert (path, [], None) == (info.value.path, reported_ids(memory), by_external)


def test_report_case_refuses_a_second_case_with_the_same_external_id(memory: Store) -> None:
    """A second report of one hotline ticket raises ConflictError and keeps the first case."""
    with memory() as uow:
        report(uow, "k1", external_id="12345-20261123-0001")
        uow.commit()
    with memory() as uow, pytest.raises(ConflictError):  # noqa: PT012 - at add or at commit
        report(uow, "k2", MONDAY.add(hours=1), external_id="12345-20261123-0001")
        uow.commit()
    with memory() as uow:
        first = uow.cases.by_external_id("12345-20261123-0001")
    assert ("k1", ["k1"]) == (first.id if first else None, reported_ids(memory))


def test_default_case_id_is_the_utc_instant_and_16_characters(memory: Store) -> None:
    """Without a case id, the key is ``case.<UTC stamp to the ms>.<16 base-32 characters>``."""
    with memory() as uow:
        case = report_case(
            uow,
            WF,
            category="complaint",
            source=CaseSource.PATROL,
            cell_code=B1,
            description="井盖破损",
            at=MONDAY,
            actor="a-grid",
        ).case
    assert ("case", "20261123020000000", 16) == (
        case.id.split(".")[0],
        case.id.split(".")[1],
        len(case.id.split(".")[2]),
    )


@settings(max_examples=25, deadline=None)
@given(
    instant=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2026, 6, 30)),
    zone=st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kathmandu"]),
)
def test_default_case_id_does_not_depend_on_the_time_zone(instant: dt.datetime, zone: str) -> None:
    """One instant written in any zone gives default ids with the same UTC instant."""
    at = pendulum.instance(instant, tz="UTC")
    ids = []
    for when in (at, at.in_timezone(zone)):
        s = seed(open_store("memory://"))
        with s() as uow:
            ids.append(
                report_case(
                    uow,
                    WF,
                    category="help",
                    source=CaseSource.ONLINE,
                    cell_code=B2,
                    description="求助",
                    at=when,
                    actor="secretary",
                ).case.id
            )
    assert [f"case.{at.format('YYYYMMDDHHmmssSSS')}"] * 2 == [i.rsplit(".", 1)[0] for i in ids]


def report_default(uow: UnitOfWork, at: pendulum.DateTime = MONDAY) -> Case:
    """Report a complaint in B1 at ``at`` under a default id and return it as stored."""
    return report_case(
        uow,
        WF,
        category="complaint",
        source=CaseSource.HOTLINE_12345,
        cell_code=B1,
        description="楼道堆放杂物",
        at=at,
        actor="secretary",
    ).case


def all_case_ids(store: Store) -> list[str]:
    """Return the ids of every case reported in the district, sorted."""
    with store() as uow:
        return sorted(
            c.id
            for c in uow.cases.reported_in_subtree(
                DISTRICT, since=MONDAY, until=MONDAY.add(days=1), limit=1000
            ).items
        )


def test_200_cases_of_one_cell_and_category_in_one_second_are_all_stored(store: Store) -> None:
    """200 complaints in B1 received in the same second, one unit each, give 200 stored cases."""
    made = []
    for n in range(200):
        with store() as uow:
            made.append(report_default(uow, MONDAY.add(microseconds=n * 997)).id)
            uow.commit()

    assert (200, sorted(made)) == (len(set(made)), all_case_ids(store))


def test_cases_reported_by_concurrent_threads_are_all_stored(store: Store) -> None:
    """8 threads report 25 complaints each, of one cell, category and instant: 200 stored."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                with store() as uow:
                    report_default(uow)
                    uow.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert ([], 200) == (errors, len(all_case_ids(store)))


def test_a_caller_supplied_case_id_is_kept(memory: Store) -> None:
    """A case id the caller supplies is the stored case's key."""
    with memory() as uow:
        case = report(uow, "platform-req-1")
        uow.commit()

    assert ["platform-req-1"] == [case.id] == all_case_ids(memory)


def test_a_taken_caller_supplied_case_id_says_no_retry_helps(store: Store) -> None:
    """Reporting under a stored case's id is a ConflictError naming the id, not retryable."""
    with store() as uow:
        report(uow, "k1")
        uow.commit()
    with store() as uow, pytest.raises(ConflictError) as info:
        report(uow, "k1", MONDAY.add(minutes=1))

    assert (
        False,
        "k1",
        "case id 'k1', supplied by the caller, is already taken by a stored case: send another "
        "id, or leave it out for a new one; a retry will not help",
    ) == (info.value.retryable, info.value.taken, str(info.value))


def test_a_caller_supplied_case_id_taken_concurrently_is_refused_once(memory: Store) -> None:
    """Two units reporting under one new id: the later commit is refused, retryable; then taken."""
    with memory() as first, memory() as second:
        report(first, "k1")
        report(second, "k1", MONDAY.add(minutes=1))
        first.commit()
        with pytest.raises(ConflictError) as lost:
            second.commit()
    with memory() as uow, pytest.raises(ConflictError) as again:
        report(uow, "k1", MONDAY.add(minutes=1))
    with memory() as uow:
        kept = uow.cases.get("k1").reported_at

    assert (True, False, MONDAY) == (lost.value.retryable, again.value.retryable, kept)


def test_a_stale_update_is_a_conflict_a_retry_can_fix(store: Store) -> None:
    """Of two units acting on one case, the later one's conflict says a retry may succeed."""
    with store() as uow:
        report(uow, "k1")
        uow.commit()
    with store() as loser:
        case = loser.cases.get("k1")
        with store() as winner:
            act(winner, "k1", Action.REJECT, CaseRole.DISPATCHER, MONDAY.add(minutes=6))
            winner.commit()
        changed = WF.apply(
            case, Action.REGISTER, actor="d", role=CaseRole.DISPATCHER, at=MONDAY.add(minutes=7)
        ).case
        with pytest.raises(ConflictError) as info:  # noqa: PT012 - at update or commit
            loser.cases.update(changed)
            loser.commit()

    assert True is info.value.retryable


# --- act_on_case ----------------------------------------------------------------------------


def test_act_on_case_by_the_wrong_role_changes_nothing(memory: Store) -> None:
    """Registering as a handler raises TransitionError; the stored case keeps version and state."""
    with memory() as uow:
        report(uow, "k1")
        uow.commit()
    with memory() as uow:
        with pytest.raises(TransitionError):
            act(uow, "k1", Action.REGISTER, CaseRole.HANDLER, MONDAY.add(minutes=5))
        uow.commit()
    case = stored(memory, "k1")["k1"]
    assert (1, CaseState.REPORTED, 1) == (case.version, case.state, len(case.history))


def test_act_on_an_unknown_case_raises_not_found(memory: Store) -> None:
    """Acting on a case that is not stored raises NotFoundError."""
    with memory() as uow, pytest.raises(NotFoundError):
        act(uow, "k404", Action.REGISTER, CaseRole.DISPATCHER, MONDAY)


def test_dispatch_to_an_unknown_cell_is_a_validation_error_on_to_cell(memory: Store) -> None:
    """Dispatching to a cell that is not stored names ``to_cell``; the case stays registered."""
    with memory() as uow:
        report(uow, "k1")
        act(uow, "k1", Action.REGISTER, CaseRole.DISPATCHER, MONDAY.add(minutes=5))
        uow.commit()
    with memory() as uow:
        with pytest.raises(ValidationError) as info:
            act(
                uow,
                "k1",
                Action.DISPATCH,
                CaseRole.DISPATCHER,
                MONDAY.add(minutes=10),
                to_cell=f"{COMMUNITY}009",
            )
        uow.commit()
    case = stored(memory, "k1")["k1"]
    assert ("to_cell", CaseState.REGISTERED, 2) == (info.value.path, case.state, case.version)


def test_dispatch_to_another_grid_moves_the_owner(memory: Store) -> None:
    """Dispatching to another grid makes it the owner from that instant."""
    at = MONDAY.add(minutes=10)
    with memory() as uow:
        report(uow, "k1")
        act(uow, "k1", Action.REGISTER, CaseRole.DISPATCHER, MONDAY.add(minutes=5))
        act(uow, "k1", Action.DISPATCH, CaseRole.DISPATCHER, at, to_cell=GRID2, worker="w9")
        uow.commit()
    case = stored(memory, "k1")["k1"]
    assert (GRID2, "w9", at, B1) == (
        case.owner_cell,
        case.owner_worker,
        case.level_since,
        case.cell_code,
    )


def test_dispatch_to_a_building_names_the_to_cell_parameter(memory: Store) -> None:
    """Dispatching to a building (it cannot own a case) is a ValidationError on ``to_cell``."""
    with memory() as uow:
        report(uow, "k1")
        act(uow, "k1", Action.REGISTER, CaseRole.DISPATCHER, MONDAY.add(minutes=5))
        with pytest.raises(ValidationError) as info:
            act(uow, "k1", Action.DISPATCH, CaseRole.DISPATCHER, MONDAY.add(minutes=10), to_cell=B2)
    assert "to_cell" == info.value.path


def test_stale_concurrent_update_conflicts_and_keeps_the_winner(memory: Store) -> None:
    """Of two units acting on one case, the one that commits second raises ConflictError."""
    with memory() as uow:
        report(uow, "k1")
        uow.commit()
    with memory() as loser:
        act(loser, "k1", Action.REGISTER, CaseRole.DISPATCHER, MONDAY.add(minutes=5))
        with memory() as winner:
            act(winner, "k1", Action.REJECT, CaseRole.DISPATCHER, MONDAY.add(minutes=6))
            winner.commit()
        # The loser read the case before the winner wrote it, so only its commit can refuse.
        with pytest.raises(ConflictError):
            loser.commit()
    case = stored(memory, "k1")["k1"]
    assert (CaseState.REJECTED, 2) == (case.state, case.version)


def test_act_on_a_case_read_after_a_rival_commit_sees_it(memory: Store) -> None:
    """A unit opened before a rival's commit but acting after it works on the committed case."""
    with memory() as uow:
        report(uow, "k1")
        uow.commit()
    with memory() as late:
        with memory() as winner:
            act(winner, "k1", Action.REGISTER, CaseRole.DISPATCHER, MONDAY.add(minutes=5))
            winner.commit()
        with pytest.raises(TransitionError):
            act(late, "k1", Action.REGISTER, CaseRole.DISPATCHER, MONDAY.add(minutes=6))


# --- the escalation sweep -------------------------------------------------------------------


def test_sweep_raises_exactly_the_due_cases_to_the_community(store: Store) -> None:
    """Cases the grid has had a working day go to the community's first worker; others stay."""
    dispatched(store, "k1", "k2")
    dispatched(store, "k3", at=MONDAY.add(days=1))  # its grid day ends on Wednesday evening
    before = stored(store, "k1", "k2", "k3")
    done = EscalationEngine(store, WF).sweep(WEDNESDAY)
    after = stored(store, "k1", "k2", "k3")
    assert [raised("k1", WEDNESDAY), raised("k2", WEDNESDAY)] == list(done)
    assert {
        "k1": (COMMUNITY, GridLevel.COMMUNITY, "c-alpha", WEDNESDAY, 4),
        "k2": (COMMUNITY, GridLevel.COMMUNITY, "c-alpha", WEDNESDAY, 4),
        "k3": (GRID, GridLevel.GRID, "a-grid", MONDAY.add(days=1, minutes=10), 3),
    } == {
        cid: (c.owner_cell, c.owner_level, c.owner_worker, c.level_since, c.version)
        for cid, c in after.items()
    }
    assert before["k3"] == after["k3"]
    entry = after["k1"].history[-1]
    note = f"{GRID_REASON_EN} / {GRID_REASON_ZH}"
    assert ("raise_level", "system", "grid_to_community", note, COMMUNITY) == (
        entry.action,
        entry.actor,
        entry.rule,
        entry.note,
        entry.owner_cell,
    )


def test_sweep_publishes_only_after_the_commit(store: Store) -> None:
    """A subscriber reading the store from its callback already sees the escalated case."""
    dispatched(store, "k1")
    seen: list[tuple[str, str, str | None]] = []

    def reader(event: CaseEvent) -> None:
        with store() as uow:
            case = uow.cases.get(event.case_id)
        seen.append((type(event).__name__, case.owner_cell, case.owner_worker))

    EscalationEngine(store, WF, subscribers=[reader]).sweep(WEDNESDAY)
    assert [("CaseEscalated", COMMUNITY, "c-alpha")] == seen


def test_a_failing_subscriber_stops_neither_the_others_nor_the_sweep(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber that raises is logged; the next one hears every event, all cases escalate."""

    def failing(event: CaseEvent) -> None:
        raise RuntimeError("the message queue is down")

    recorder = Recorder()
    dispatched(store, "k1", "k2", "k3")
    with caplog.at_level(logging.ERROR, logger="gridgov.services.cases"):
        done = EscalationEngine(store, WF, subscribers=[failing, recorder], batch_size=2).sweep(
            WEDNESDAY
        )
    assert ["k1", "k2", "k3"] == [e.case_id for e in done]
    assert ["k1", "k2", "k3"] == [e.case_id for e in recorder.of_type(CaseEscalated)]
    assert ["event subscriber failed on CaseEscalated"] * 3 == [
        r.getMessage() for r in caplog.records
    ]
    assert {COMMUNITY} == {c.owner_cell for c in stored(store, "k1", "k2", "k3").values()}


def test_second_sweep_at_the_same_instant_does_nothing(store: Store) -> None:
    """Sweeping again at the same instant returns () and writes no case."""
    dispatched(store, "k1", "k2")
    engine = EscalationEngine(store, WF)
    first = engine.sweep(WEDNESDAY)
    between = versions(store, "k1", "k2")
    assert (2, (), between) == (len(first), engine.sweep(WEDNESDAY), versions(store, "k1", "k2"))


def test_sweep_before_anything_is_due_changes_nothing(store: Store) -> None:
    """A sweep a minute before the grid's day ends returns () and leaves every version."""
    dispatched(store, "k1")
    before = versions(store, "k1")
    done = EscalationEngine(store, WF).sweep(TUESDAY_CLOSE.subtract(minutes=1))
    assert ((), before) == (done, versions(store, "k1"))


def test_sweep_in_batches_escalates_every_due_case(store: Store) -> None:
    """Two cases a batch: five due cases all escalate, each batch published after its commit."""
    ids = [f"k{i}" for i in range(1, 6)]
    dispatched(store, *ids)
    raised_when_heard: list[int] = []

    def counter(event: CaseEvent) -> None:
        with store() as uow:
            page = uow.cases.open_in_subtree(COMMUNITY, limit=100)
        raised_when_heard.append(sum(c.owner_cell == COMMUNITY for c in page.items))

    done = EscalationEngine(store, WF, subscribers=[counter], batch_size=2).sweep(WEDNESDAY)
    assert [raised(cid, WEDNESDAY) for cid in ids] == list(done)
    assert [2, 2, 4, 4, 5] == raised_when_heard
    assert {COMMUNITY} == {c.owner_cell for c in stored(store, *ids).values()}


def test_later_sweep_raises_the_case_from_community_to_street(store: Store) -> None:
    """Three working days at the community later, a sweep given in UTC raises it to the street."""
    dispatched(store, "k1")
    engine = EscalationEngine(store, WF)
    engine.sweep(WEDNESDAY)
    monday_close = pendulum.datetime(2026, 11, 30, 17, 30, tz=TZ)  # Thu, Fri, Mon at the community
    just_before = engine.sweep(monday_close.subtract(minutes=1).in_timezone("UTC"))
    tuesday = pendulum.datetime(2026, 12, 1, 1, tz="UTC")  # 09:00 in Xi'an
    done = engine.sweep(tuesday)
    expected = Escalation(
        "k1",
        EscalationKind.RAISE_LEVEL,
        "community_to_street",
        monday_close,
        tuesday,
        STREET_REASON_EN,
        STREET_REASON_ZH,
        COMMUNITY,
        STREET,
        GridLevel.COMMUNITY,
        GridLevel.STREET,
    )
    case = stored(store, "k1")["k1"]
    assert ((), (expected,)) == (just_before, done)
    assert (STREET, GridLevel.STREET, "s-1", 5) == (
        case.owner_cell,
        case.owner_level,
        case.owner_worker,
        case.version,
    )


def test_sweep_rejects_a_naive_instant(memory: Store) -> None:
    """A naive ``now`` is a ValidationError on ``now`` and changes no case."""
    dispatched(memory, "k1")
    with pytest.raises(ValidationError) as info:
        EscalationEngine(memory, WF).sweep(pendulum.naive(2026, 11, 25, 9))
    assert ("now", 3) == (info.value.path, versions(memory, "k1")["k1"])


@pytest.mark.parametrize("size", [0, 10_001, 2.0, True])
def test_engine_refuses_a_bad_batch_size(memory: Store, size: object) -> None:
    """The batch size is a whole number from 1 to 10,000 (a bool is not one)."""
    with pytest.raises(ValidationError) as info:
        EscalationEngine(memory, WF, batch_size=size)  # type: ignore[arg-type]
    assert "batch_size" == info.value.path


def test_escalation_assigns_the_worker_on_duty_on_the_local_day(memory: Store) -> None:
    """The duty roster is read for the calendar's local day, even when ``now`` is given in UTC."""
    with memory() as uow:
        uow.workers.add(
            worker(
                "c-0-old",
                WorkerRole.COMMUNITY_STAFF,
                Assignment(COMMUNITY, SINCE_2024, pendulum.Date(2026, 11, 24)),
            )
        )
        uow.commit()
    dispatched(memory, "k1")
    morning = pendulum.datetime(2026, 11, 25, 7, tz=TZ).in_timezone("UTC")
    EscalationEngine(memory, WF).sweep(morning)
    assert "c-alpha" == stored(memory, "k1")["k1"].owner_worker


class InterferingStore:
    """A store whose first ``rivals`` units of work each lose a race against ``interfere``.

    Such a unit runs ``interfere`` (which commits a rival change in a unit of its own) just
    before its own commit, so the commit meets a case changed since it was read.
    """

    def __init__(
        self,
        inner: Store,
        interfere: Callable[[], None],
        rivals: int,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self._inner = inner
        self._interfere = interfere
        self._monkeypatch = monkeypatch
        self.rivals = rivals

    @property
    def scheme(self) -> CodeScheme:
        """Return the inner store's scheme."""
        return self._inner.scheme

    def __call__(self) -> UnitOfWork:
        """Return a unit of work; the first ``rivals`` of them meet a rival commit."""
        uow = self._inner()
        if self.rivals > 0:
            self.rivals -= 1
            commit = uow.commit

            def rival_first() -> None:
                self._interfere()
                commit()

            self._monkeypatch.setattr(uow, "commit", rival_first)
        return uow

    def close(self) -> None:
        """Close the inner store."""
        self._inner.close()


def test_sweep_reads_a_batch_again_after_losing_a_race(
    memory: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a handler starts the case while the sweep runs, the sweep retries and keeps both."""
    dispatched(memory, "k1")

    def handler_starts() -> None:
        with memory() as uow:
            act(uow, "k1", Action.START, CaseRole.HANDLER, MONDAY.add(hours=2))
            uow.commit()

    recorder = Recorder()
    racy = InterferingStore(memory, handler_starts, 1, monkeypatch)
    done = EscalationEngine(racy, WF, subscribers=[recorder]).sweep(WEDNESDAY)
    case = stored(memory, "k1")["k1"]
    assert [raised("k1", WEDNESDAY)] == list(done)
    assert [CaseEscalated] == [type(e) for e in recorder.events]
    assert (CaseState.IN_PROGRESS, COMMUNITY, ["start", "raise_level"]) == (
        case.state,
        case.owner_cell,
        [h.action for h in case.history[-2:]],
    )


def test_sweep_gives_up_after_three_lost_races(
    memory: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that loses three races raises ConflictError; nothing is published."""
    dispatched(memory, "k1")

    def touch() -> None:
        with memory() as uow:
            uow.cases.update(uow.cases.get("k1"))
            uow.commit()

    recorder = Recorder()
    racy = InterferingStore(memory, touch, 3, monkeypatch)
    with pytest.raises(ConflictError):
        EscalationEngine(racy, WF, subscribers=[recorder]).sweep(WEDNESDAY)
    case = stored(memory, "k1")["k1"]
    assert ([], GRID, 6) == (recorder.events, case.owner_cell, case.version)


CATEGORIES = ("complaint", "emergency", "consultation", "utilities")
STEPS = (
    (Action.REGISTER, CaseRole.DISPATCHER),
    (Action.DISPATCH, CaseRole.DISPATCHER),
    (Action.START, CaseRole.HANDLER),
)
BASE = pendulum.datetime(2026, 3, 2, 8, tz=TZ)  # 2026 is in WorkCalendar.china()'s years

case_plans = st.tuples(
    st.integers(0, 60 * 24 * 60),  # reported within sixty days of BASE (minutes)
    st.sampled_from(CATEGORIES),
    st.lists(st.integers(1, 3 * 24 * 60), max_size=len(STEPS)),  # minutes between steps
    st.sampled_from([B1, B2, GRID2]),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    plans=st.lists(case_plans, min_size=1, max_size=6),
    sweep_after=st.integers(0, 60 * 24 * 60),
    batch_size=st.integers(1, 4),
)
def test_after_a_sweep_no_open_case_is_due(
    plans: list[tuple[int, str, list[int], str]], sweep_after: int, batch_size: int
) -> None:
    """After sweep(now) exactly the cases due were escalated, none is still due, a repeat is ()."""
    s = seed(open_store("memory://"))
    last = BASE
    ids = []
    with s() as uow:
        for i, (offset, category, gaps, cell) in enumerate(plans):
            cid = f"k{i}"
            at = BASE.add(minutes=offset)
            report(uow, cid, at, cell=cell, category=category)
            for (action, role), gap in zip(STEPS, gaps, strict=False):
                at = at.add(minutes=gap)
                act(uow, cid, action, role, at, worker="a-grid")
            last = max(last, at)
            ids.append(cid)
        uow.commit()
    now = last.add(minutes=sweep_after)
    due_before = {cid for cid, c in stored(s, *ids).items() if c.next_check and c.next_check <= now}
    engine = EscalationEngine(s, WF, batch_size=batch_size)
    done = engine.sweep(now)
    after = stored(s, *ids)
    still_due = [
        cid for cid, c in after.items() if c.is_open and c.next_check and c.next_check <= now
    ]
    assert (due_before, []) == ({e.case_id for e in done}, still_due)
    assert all(e.at == now and e.due_at <= now for e in done)
    assert () == engine.sweep(now)


# --- case KPIs ------------------------------------------------------------------------------


def kpi_cases(store: Store) -> None:
    """Commit four emergencies (2 h to handle) on Monday, and one reported the next day.

    ``ka`` (B1) is closed on time; ``kb`` (B1) is handled after its deadline and closed;
    ``kc`` (B2) is dispatched to the second grid and in progress; ``kd`` (B2) is rejected;
    ``ke`` is reported at the end of the period, which leaves it out.
    """
    t = MONDAY
    d, h, v = CaseRole.DISPATCHER, CaseRole.HANDLER, CaseRole.VERIFIER
    with store() as uow:
        report(uow, "ka", t, category="emergency")
        act(uow, "ka", Action.REGISTER, d, t.add(minutes=6))  # 0.1 h
        act(uow, "ka", Action.DISPATCH, d, t.add(minutes=12), worker="a-grid")  # 0.1 h
        act(uow, "ka", Action.START, h, t.add(minutes=20))
        act(uow, "ka", Action.HANDLE, h, t.add(minutes=60))  # handling 1.0 h of 2
        act(uow, "ka", Action.VERIFY, v, t.add(minutes=90))  # 0.5 h
        act(uow, "ka", Action.CLOSE, d, t.add(minutes=100))

        t = MONDAY.add(hours=1)
        report(uow, "kb", t, category="emergency")
        act(uow, "kb", Action.REGISTER, d, t.add(minutes=12))  # 0.2 h
        act(uow, "kb", Action.DISPATCH, d, t.add(minutes=24), worker="a-grid")  # 0.2 h
        act(uow, "kb", Action.START, h, t.add(minutes=30))
        act(uow, "kb", Action.HANDLE, h, t.add(hours=3))  # handling 3.0 h: late
        act(uow, "kb", Action.VERIFY, v, t.add(hours=4))  # 1.0 h
        act(uow, "kb", Action.CLOSE, d, t.add(hours=4, minutes=5))

        t = MONDAY.add(hours=2)
        report(uow, "kc", t, cell=B2, category="emergency")
        act(uow, "kc", Action.REGISTER, d, t.add(minutes=18))  # 0.3 h
        act(uow, "kc", Action.DISPATCH, d, t.add(minutes=36), to_cell=GRID2)  # 0.3 h
        act(uow, "kc", Action.START, h, t.add(minutes=40))

        t = MONDAY.add(hours=3)
        report(uow, "kd", t, cell=B2, category="emergency")
        act(uow, "kd", Action.REJECT, d, t.add(minutes=1))

        report(uow, "ke", MONDAY.add(days=1), category="emergency")
        uow.commit()


def test_case_kpis_count_closure_on_time_closure_and_median_stage_hours(memory: Store) -> None:
    """Rejected cases are left out; medians run over completed stages; by cell and by unit."""
    kpi_cases(memory)
    with memory() as uow:
        kpis = case_kpis(uow, DISTRICT, since=MONDAY, until=MONDAY.add(days=1))
    r, dp, hd, vf = Stage.REGISTRATION, Stage.DISPATCH, Stage.HANDLING, Stage.VERIFICATION
    both_closed = CaseFigures(
        2,
        2,
        1,
        {r: 0.15, dp: 0.15, hd: 2.0, vf: 0.75},
        due_for_closure=2,
        stages={
            r: StageFigures(2, 1),
            dp: StageFigures(2, 1),
            hd: StageFigures(2, 1),
            vf: StageFigures(2, 2),
        },
        dispatched=2,
        urgent=2,
        urgent_closed_on_time=1,
    )
    still_open = CaseFigures(
        1,
        0,
        0,
        {r: 0.3, dp: 0.3},
        due_for_closure=1,  # its two hours to handle ran out on Monday: overdue
        stages={r: StageFigures(1, 0), dp: StageFigures(1, 0)},
        dispatched=1,
        urgent=1,
    )
    expected = CaseKpis(
        CaseFigures.combined([both_closed, still_open]),
        {B1: both_closed, B2: still_open},
        {GRID: both_closed, GRID2: still_open},
    )
    assert attrs.evolve(expected.total, median_hours={r: 0.2, dp: 0.2, hd: 2.0, vf: 0.75}) == (
        kpis.total
    )
    assert (expected.by_cell, expected.by_unit) == (kpis.by_cell, kpis.by_unit)
    assert (2 / 3, 1 / 3, 1.0) == (
        kpis.total.closure_rate,
        kpis.total.on_time_rate,
        kpis.total.accurate_dispatch_rate,
    )


def test_standard_rates_leave_cases_within_their_limit_and_parked_ones_out(
    memory: Store,
) -> None:
    """As of three hours in, ``kc`` is within its limit: only the two handled cases are due."""
    kpi_cases(memory)
    with memory() as uow:
        early = case_kpis(
            uow, DISTRICT, since=MONDAY, until=MONDAY.add(days=1), as_of=MONDAY.add(hours=3)
        ).total
    # ka and kb are handled; kc, reported two hours in with two hours to handle, is not due.
    assert (2, 0, 1.0, 0.5) == (
        early.due_for_closure,
        early.deferred,
        early.closure_rate,
        early.on_time_rate,
    )


def test_case_kpis_of_an_empty_period_have_no_rates(memory: Store) -> None:
    """Without cases the rates are None rather than a division by zero."""
    kpi_cases(memory)
    with memory() as uow:
        kpis = case_kpis(uow, GRID2, since=MONDAY, until=MONDAY.add(days=1))
    assert (CaseKpis(CaseFigures(0, 0, 0, {}), {}, {}), None, None) == (
        kpis,
        kpis.total.closure_rate,
        kpis.total.on_time_rate,
    )


@pytest.mark.parametrize(
    ("since", "until", "path"),
    [
        (MONDAY, MONDAY.subtract(seconds=1), "until"),
        (pendulum.naive(2026, 11, 23), MONDAY, "since"),
        (MONDAY, pendulum.naive(2026, 11, 24), "until"),
    ],
)
def test_case_kpis_refuse_a_bad_period(
    memory: Store, since: pendulum.DateTime, until: pendulum.DateTime, path: str
) -> None:
    """A period that ends before it starts, or a naive bound, is a ValidationError naming it."""
    with memory() as uow, pytest.raises(ValidationError) as info:
        case_kpis(uow, DISTRICT, since=since, until=until)
    assert path == info.value.path


def test_case_kpis_of_an_unknown_cell_raise_not_found(memory: Store) -> None:
    """KPIs of a cell that is not stored raise NotFoundError."""
    with memory() as uow, pytest.raises(NotFoundError):
        case_kpis(uow, f"{GRID}009", since=MONDAY, until=MONDAY.add(days=1))


# --- publish --------------------------------------------------------------------------------

EVENTS = (
    CaseReported("k1", B1, MONDAY, "complaint"),
    CaseStateChanged("k1", B1, MONDAY, "register", "reported", "registered", "secretary"),
    CaseReported("k2", B2, MONDAY, "help"),
)


def test_publish_delivers_each_event_to_every_sink_in_order() -> None:
    """Event by event, each sink hears it in the order given, even from a one-shot iterator."""
    heard: list[tuple[str, CaseEvent]] = []

    def sink(name: str) -> Callable[[CaseEvent], None]:
        return lambda event: heard.append((name, event))

    publish(iter(EVENTS), (sink(name) for name in ("first", "second")))
    assert [(name, e) for e in EVENTS for name in ("first", "second")] == heard


def test_publish_logs_a_failing_sink_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """A sink that raises is logged with its traceback; the sinks after it hear every event."""

    def failing(event: CaseEvent) -> None:
        raise RuntimeError("down")

    before, after = Recorder(), Recorder()
    with caplog.at_level(logging.ERROR, logger="gridgov.services.cases"):
        publish(EVENTS, [before, failing, after])
    logged = [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert (list(EVENTS), list(EVENTS)) == (before.events, after.events)
    assert [
        (logging.ERROR, f"event subscriber failed on {type(e).__name__}", True) for e in EVENTS
    ] == logged


def _figures(reported: int, closed: int, on_time: int, due: int, rework: int = 0) -> CaseFigures:
    return CaseFigures(reported, closed, on_time, {}, due_for_closure=due, rework_rounds=rework)


def test_the_composite_score_weighs_the_rates_and_deducts_per_rework_round() -> None:
    """(0.4 x on time + 0.3 x closure) / 0.7 x 100, less a point per rework round."""
    scoring = Scoring({"on_time_rate": 0.4, "closure_rate": 0.3}, {"rework_rounds": 1.0})
    figures = _figures(10, 8, 6, 10, rework=2)  # on time 0.6, closure 0.8
    assert (round((0.4 * 0.6 + 0.3 * 0.8) / 0.7 * 100 - 2, 2), None) == (
        scoring.score(figures),
        scoring.score(_figures(3, 0, 0, 0)),
    )


def test_a_league_table_ranks_only_cells_with_enough_cases() -> None:
    """One fast case does not top the table: below the minimum, listed after and unranked."""
    table = league_table(
        {
            "a": _figures(20, 18, 15, 20),
            "b": _figures(1, 1, 1, 1),  # perfect, but one case
            "c": _figures(12, 6, 3, 12),
            "d": _figures(20, 18, 15, 20),  # ties with a
        },
        scoring=Scoring({"on_time_rate": 1.0}),
        min_cases=10,
    )
    assert [("a", 1), ("d", 1), ("c", 3), ("b", None)] == [(r.key, r.rank) for r in table]


@pytest.mark.parametrize(
    ("weights", "deductions", "path"),
    [
        ({"speed": 1.0}, {}, "weights"),
        ({"on_time_rate": -1.0}, {}, "weights.on_time_rate"),
        ({"on_time_rate": 0.0}, {}, "weights"),
        ({"on_time_rate": 1.0}, {"typos": 1.0}, "deductions"),
    ],
)
def test_bad_scoring_is_refused_naming_the_field(
    weights: dict[str, float], deductions: dict[str, float], path: str
) -> None:
    """An unknown indicator or count, a negative weight or no weight at all: ValidationError."""
    with pytest.raises(ValidationError) as info:
        Scoring(weights, deductions)
    assert path == info.value.path


def test_kpis_per_worker_count_the_cases_assigned_to_each(memory: Store) -> None:
    """The post level: ``ka`` and ``kb`` were assigned to ``a-grid``; ``kc`` to nobody."""
    kpi_cases(memory)
    with memory() as uow:
        kpis = case_kpis(uow, DISTRICT, since=MONDAY, until=MONDAY.add(days=1))
    assert {"a-grid": (2, 2)} == {k: (f.reported, f.closed) for k, f in kpis.by_worker.items()}
