"""The grid's lifecycle over every cheap store: splits, merges, retirements and their open work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov import (
    Address,
    Assignment,
    GridCell,
    GridLevel,
    Household,
    NotFoundError,
    Resident,
    Store,
    ValidationError,
    Worker,
    WorkerRole,
    open_store,
)
from gridgov.access import AuditEntry, Principal, Role
from gridgov.calendar import Period, WorkCalendar
from gridgov.care import ContactMethod
from gridgov.care.contacts import CareTask, TaskKind
from gridgov.cases import CaseSource, CaseWorkflow
from gridgov.errors import AccessDeniedError
from gridgov.ports import UnitOfWork
from gridgov.scheduling.venues import Space, Venue
from gridgov.services.care import worklist
from gridgov.services.cases import case_kpis, report_case
from gridgov.services.grid_changes import SplitPart, merge_cells, retire_cell, split_cell
from gridgov.services.scoped import scoped

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, 0, tz=TZ)
DAY = pendulum.Date(2026, 12, 1)
EVE = pendulum.Date(2026, 11, 30)
COMMUNITY, OTHER_COMMUNITY = "610102003006", "610102003007"
G, G2, ELSEWHERE = f"{COMMUNITY}001", f"{COMMUNITY}002", f"{OTHER_COMMUNITY}001"
B1, B2, B3 = f"{G}001", f"{G}002", f"{G2}001"
P1, P2, M = f"{COMMUNITY}007", f"{COMMUNITY}008", f"{COMMUNITY}009"
# Where each household lives: two in G's building cells, two in G itself, one in G2's building.
HOMES = {"h1": (B1, "铁一村1号楼"), "h2": (B2, "铁一村2号楼"), "h3": (G, "铁一村5号楼")}
HOMES |= {"h4": (G, "铁一村6号楼"), "h5": (B3, "铁二村1号楼")}


def _task(hid: str, cell: str, *, done: bool = False) -> CareTask:
    """Return the routine home visit of household ``hid``'s resident, open unless ``done``."""
    task = CareTask(
        f"t-{hid}{'-done' if done else ''}",
        f"{hid}-1",
        hid,
        cell,
        TaskKind.ROUTINE,
        ContactMethod.HOME_VISIT,
        NOW.subtract(hours=1),
        NOW.add(hours=2),
        NOW.add(days=7),
        "routine home visit",
        "例行上门探访",
        "cadence:high:home_visit",
    )
    return task.done("c0") if done else task


def _fill(uow: UnitOfWork) -> None:
    """Store two communities, G (two buildings) and G2 (one), households, tasks and workers."""
    for cell in [
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
        GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
        GridCell(OTHER_COMMUNITY, "另一社区", GridLevel.COMMUNITY, "610102003"),
        GridCell(G, "第一网格", GridLevel.GRID, COMMUNITY, management_grade=2),
        GridCell(G2, "第二网格", GridLevel.GRID, COMMUNITY),
        GridCell(ELSEWHERE, "别处网格", GridLevel.GRID, OTHER_COMMUNITY),
        GridCell(B1, "1号楼", GridLevel.BUILDING, G),
        GridCell(B2, "2号楼", GridLevel.BUILDING, G),
        GridCell(B3, "二村1号楼", GridLevel.BUILDING, G2),
    ]:
        uow.cells.add(cell)
    for wid, code in (("w-old", G), ("w-g2", G2)):
        uow.workers.add(
            Worker(
                wid, "网格员", {WorkerRole.GRID_WORKER}, [Assignment(code, DAY.subtract(days=60))]
            )
        )
    uow.workers.add(Worker("w-new", "网格员", {WorkerRole.GRID_WORKER}))
    for hid, (home, line) in HOMES.items():
        uow.households.add(
            Household(hid, home, Address(line), members=(Resident(f"{hid}-1", "田林"),))
        )
        uow.care_tasks.add(_task(hid, home))
    uow.care_tasks.add(_task("h1", B1, done=True))


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a filled store of each kind, with one open case in building B1 (owned by G)."""
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path}/g.db",
        "postgresql": None,
        "mysql": None,
    }[request.param] or request.getfixturevalue(
        "postgres_schema" if request.param == "postgresql" else "mysql_database"
    )
    s = open_store(url)
    with s() as uow:
        _fill(uow)
        _report(uow, "case-b1", B1)
        uow.commit()
    yield s
    s.close()


def _report(uow: UnitOfWork, cid: str, cell: str, address: str = "") -> None:
    """Report case ``cid`` in ``cell`` at NOW."""
    report_case(
        uow,
        CaseWorkflow(WorkCalendar.china()),
        category="complaint",
        source=CaseSource.HOTLINE_12345,
        cell_code=cell,
        description="楼道堆放杂物",
        address=address,
        at=NOW,
        actor="secretary",
        case_id=cid,
    )


def _parts() -> list[SplitPart]:
    """Return the good split of G: P1 takes building 1 and 5号楼, P2 building 2 and 6号楼."""
    return [
        SplitPart(GridCell(P1, "第七网格", GridLevel.GRID, COMMUNITY), (B1, "铁一村5号楼")),
        SplitPart(GridCell(P2, "第八网格", GridLevel.GRID, COMMUNITY), (B2, "铁一村6号楼")),
    ]


def _split(uow: UnitOfWork) -> None:
    """Split G on DAY with the good parts."""
    split_cell(uow, G, into=_parts(), on=DAY, at=NOW, actor="secretary")


def _homes(uow: UnitOfWork) -> dict[str, str]:
    """Return every household's cell and every open task's, by id."""
    out = {hid: uow.households.get(hid).cell_code for hid in HOMES}
    return out | {f"t-{hid}": uow.care_tasks.get(f"t-{hid}").cell_code for hid in HOMES}


def test_a_split_rehomes_the_households_of_each_part_with_their_open_tasks(store: Store) -> None:
    """Each household follows its building, its open task with it; the closed task stays."""
    with store() as uow:
        change = split_cell(uow, G, into=_parts(), on=DAY, at=NOW, actor="secretary")
        uow.commit()
    with store() as uow:
        cells = _homes(uow) | {"t-h1-done": uow.care_tasks.get("t-h1-done").cell_code}
    expected = {"h1": f"{P1}001", "h2": f"{P2}002", "h3": P1, "h4": P2, "h5": B3}
    expected |= {f"t-{h}": c for h, c in expected.items()} | {"t-h1-done": B1}
    assert (expected, ["h1", "h2", "h3", "h4"]) == (
        cells,
        sorted(m.household.id for m in change.moves),
    )


def test_a_split_keeps_the_old_cells_and_dates_old_and_new(store: Store) -> None:
    """The old grid and buildings end the day before; the new ones begin on the day."""
    with store() as uow:
        _split(uow)
        uow.commit()
    with store() as uow:
        tree = uow.cells.tree()
    dates = {c.code: (c.valid_from, c.valid_to) for c in tree if c.code.startswith(COMMUNITY)}
    expected: dict[str, Span] = {G: (None, EVE), B1: (None, EVE), B2: (None, EVE)}
    expected |= {G2: (None, None)}
    expected |= {B3: (None, None), COMMUNITY: (None, None)}
    expected |= dict.fromkeys((P1, P2, f"{P1}001", f"{P2}002"), (DAY, None))
    active = [c.code for c in tree.active_on(DAY).children(COMMUNITY)]
    assert (expected, [G2, P1, P2]) == (dates, active)


def test_the_old_worklist_drops_the_households_and_the_new_one_shows_them(store: Store) -> None:
    """After the split the old worker's assignment ends; P1's new worker sees its open tasks."""
    with store() as uow:
        change = split_cell(uow, G, into=_parts(), on=DAY, at=NOW, actor="secretary")
        new = uow.workers.get("w-new")
        uow.workers.update(attrs.evolve(new, assignments=(Assignment(P1, DAY),)))
        uow.commit()
    with store() as uow:
        lists = {
            w: sorted(e.task.id for e in worklist(uow, w, on=DAY, now=NOW).entries)
            for w in ("w-old", "w-new")
        }
        ended = uow.workers.get("w-old").assignments
    assert (
        {"w-old": [], "w-new": ["t-h1", "t-h3"]},
        (Assignment(G, DAY.subtract(days=60), EVE),),
        (P1, P2),
        ["w-old"],
    ) == (lists, ended, change.unstaffed, list(change.workers))


def test_an_open_case_keeps_its_location_and_passes_to_the_part(store: Store) -> None:
    """The case in building 1 stays located there; the part that took building 1 owns it."""
    with store() as uow:
        _report(uow, "case-g", G, address="铁一村6号楼3单元")
        change = split_cell(uow, G, into=_parts(), on=DAY, at=NOW, actor="secretary")
        uow.commit()
    with store() as uow:
        cases = {cid: uow.cases.get(cid) for cid in ("case-b1", "case-g")}
    got = {cid: (c.cell_code, c.owner_cell, c.history[-1].action) for cid, c in cases.items()}
    expected = {"case-b1": (B1, P1, "regrid"), "case-g": (G, P2, "regrid")}
    assert (expected, ["case-b1", "case-g"]) == (got, sorted(c.id for c in change.cases))


def test_a_venue_in_the_old_grid_moves_to_the_first_part(store: Store) -> None:
    """The hall of grid G stands in P1 after the split; one in a retiring cell is refused."""
    day = (Period(dt.time(8), dt.time(21)),)
    opening = WorkCalendar(years=(2026, 2027), hours=dict.fromkeys(range(7), day))
    with store() as uow:
        uow.venues.add(Venue("hall", "活动中心", G, opening, [Space("main", "大厅", 30)]))
        uow.venues.add(Venue("kiosk", "服务站", ELSEWHERE, opening, [Space("main", "窗口", 2)]))
        change = split_cell(uow, G, into=_parts(), on=DAY, at=NOW, actor="secretary")
        with pytest.raises(ValidationError) as caught:
            retire_cell(uow, ELSEWHERE, on=DAY, at=NOW, actor="secretary")
        uow.commit()
    with store() as uow:
        hall = uow.venues.get("hall").cell_code
    assert (("hall",), P1, "a venue stands in the cell: move it first") == (
        change.venues,
        hall,
        caught.value.problem,
    )


def test_history_is_kept_a_past_case_still_reports_under_the_retired_cell(store: Store) -> None:
    """The retired grid is readable; its case still counts in it, located in its old building.

    The case is open, so its owning unit is the part that took its building.
    """
    with store() as uow:
        _split(uow)
        uow.commit()
    with store() as uow:
        kpis = case_kpis(uow, G, since=NOW.subtract(days=1), until=NOW.add(days=1))
        old = uow.cells.get(G)
    assert (1, [B1], [P1], EVE, 2) == (
        kpis.total.reported,
        sorted(kpis.by_cell),
        sorted(kpis.by_unit),
        old.valid_to,
        old.management_grade,
    )


def test_the_change_is_in_the_outbox_and_the_audit_trail(store: Store) -> None:
    """Retired and opened cells, and each moved household, are events; each cell is audited."""
    with store() as uow:
        _split(uow)
        uow.commit()
    with store() as uow:
        types = {
            key: [e.type for e in uow.outbox.for_aggregate(*key)]
            for key in (("cell", G), ("cell", P1), ("household", "h3"))
        }
        audit = uow.audit.between(since=NOW, until=NOW.add(seconds=1), principal_id="secretary")
    expected = {
        ("cell", G): ["grid.cell_retired"],
        ("cell", P1): ["grid.cell_opened"],
        ("household", "h3"): ["ledger.household_moved"],
    }
    subjects = sorted(e.subject for e in audit.items)
    assert (expected, 7) == (types, len([s for s in subjects if s.startswith("cell:")]))


Span = tuple[pendulum.Date | None, pendulum.Date | None]
Change = Callable[[list[SplitPart]], list[SplitPart]]


def _second(buildings: tuple[str, ...], cell: GridCell | None = None) -> Change:
    """Return a change of the good parts: the second part takes ``buildings`` (and ``cell``)."""

    def change(p: list[SplitPart]) -> list[SplitPart]:
        return [p[0], SplitPart(cell or p[1].cell, buildings)]

    return change


TAKEN_PART = GridCell(G2, "x", GridLevel.GRID, COMMUNITY)
ELSEWHERE_PART = GridCell(f"{OTHER_COMMUNITY}008", "x", GridLevel.GRID, OTHER_COMMUNITY)
BAD_SPLITS: list[tuple[str, Change, str]] = [
    ("a building left out", _second(("铁一村6号楼",)), "into"),
    ("a household left out", _second((B2,)), "into"),
    ("twice", _second((B2, B1, "铁一村6号楼")), "into[1].buildings[1]"),
    ("unknown", _second((B2, "铁一村6号楼", "x")), "into[1].buildings[2]"),
    ("one part", lambda p: [SplitPart(p[0].cell, (B1, B2, "铁一村5号楼", "铁一村6号楼"))], "into"),
    ("code taken", _second((B2, "铁一村6号楼"), TAKEN_PART), "into[1].cell.code"),
    ("other parent", _second((B2, "铁一村6号楼"), ELSEWHERE_PART), "into[1].cell.parent_code"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "change", "path"), BAD_SPLITS, ids=[b[0] for b in BAD_SPLITS])
def test_a_bad_split_is_refused_naming_the_field_and_writes_nothing(
    store: Store, why: str, change: Change, path: str
) -> None:
    """Refused before any write: even committing the unit afterwards changes nothing."""
    with store() as uow:
        before = (list(uow.cells.tree()), _homes(uow))
        with pytest.raises(ValidationError) as caught:
            split_cell(uow, G, into=change(_parts()), on=DAY, at=NOW, actor="secretary")
        uow.commit()
    with store() as uow:
        after = (list(uow.cells.tree()), _homes(uow), uow.outbox.for_aggregate("cell", G))
    assert (path, (*before, ())) == (caught.value.path, after)


def test_a_merge_rehomes_every_household_and_renumbers_a_clashing_building(store: Store) -> None:
    """G's buildings keep their numbers; G2's building 001 clashes and takes 003."""
    with store() as uow:
        change = merge_cells(
            uow,
            [G, G2],
            into=GridCell(M, "合并网格", GridLevel.GRID, COMMUNITY),
            on=DAY,
            at=NOW,
            actor="secretary",
        )
        uow.commit()
    with store() as uow:
        homes = _homes(uow)
        owner = uow.cases.get("case-b1").owner_cell
    expected = {"h1": f"{M}001", "h2": f"{M}002", "h3": M, "h4": M, "h5": f"{M}003"}
    expected |= {f"t-{h}": c for h, c in expected.items()}
    assert (expected, M, sorted(c.code for c in change.retired), ("w-g2", "w-old")) == (
        homes,
        owner,
        [G, B1, B2, G2, B3],
        tuple(sorted(change.workers)),
    )


@pytest.mark.parametrize(
    ("codes", "into", "path"),
    [
        ([G, ELSEWHERE], GridCell(M, "x", GridLevel.GRID, COMMUNITY), "codes[1]"),
        ([G, G], GridCell(M, "x", GridLevel.GRID, COMMUNITY), "codes[1]"),
        ([G, B3], GridCell(M, "x", GridLevel.GRID, COMMUNITY), "codes[1]"),
        ([G, G2], GridCell(f"{M}001", "x", GridLevel.BUILDING, G), "into.level"),
        ([COMMUNITY, OTHER_COMMUNITY], GridCell("610102003009", "x", GridLevel.COMMUNITY,
                                                "610102003"), "codes[0]"),
    ],
)  # fmt: skip
def test_a_bad_merge_is_refused_naming_the_field(
    store: Store, codes: list[str], into: GridCell, path: str
) -> None:
    """Cells under different parents, given twice, of another level, or with active grids."""
    with store() as uow, pytest.raises(ValidationError) as caught:
        merge_cells(uow, codes, into=into, on=DAY, at=NOW, actor="secretary")
    assert path == caught.value.path


def test_retiring_a_cell_with_active_children_or_households_is_refused(store: Store) -> None:
    """The grid has buildings, a building has households; an empty grid retires."""
    problems = []
    with store() as uow:
        for code in (G, B1):
            with pytest.raises(ValidationError) as caught:
                retire_cell(uow, code, on=DAY, at=NOW, actor="secretary")
            problems.append((caught.value.path, caught.value.problem))
        retired = retire_cell(uow, ELSEWHERE, on=DAY, at=NOW, actor="secretary").retired
    assert (
        [
            ("code", "2 active children: retire them first"),
            ("code", "households still live in the cell: move them first"),
        ],
        [(ELSEWHERE, EVE)],
    ) == (problems, [(c.code, c.valid_to) for c in retired])


def test_a_retired_cell_cannot_change_again(store: Store) -> None:
    """A second split of the same cell (a retry, say) is refused: nothing is done twice."""
    with store() as uow:
        _split(uow)
        with pytest.raises(ValidationError) as caught:
            _split(uow)
    assert ("code", "the cell was retired (its last day was 2026-11-30)") == (
        caught.value.path,
        caught.value.problem,
    )


# -- the property: any sequence of splits and merges -----------------------------------------

LINES = ("1号楼", "2号楼", "3号楼", "4号楼")
Operation = tuple[str, int, tuple[int, ...]]


@st.composite
def _operations(draw: st.DrawFn) -> list[Operation]:
    """Draw up to five changes: a split (which grid, which part takes each building) or merge."""
    return [
        (
            draw(st.sampled_from(["split", "merge"])),
            draw(st.integers(0, 20)),
            tuple(draw(st.lists(st.integers(0, 1), min_size=12, max_size=12))),
        )
        for _ in range(draw(st.integers(1, 5)))
    ]


def _initial(uow: UnitOfWork, homes: list[str]) -> None:
    """Store grids G and G2, each with buildings 001 and 002; household i in one of the six."""
    for cell in [
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
        GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
        *(GridCell(g, "网格", GridLevel.GRID, COMMUNITY) for g in (G, G2)),
        *(
            GridCell(f"{g}{b}", "楼", GridLevel.BUILDING, g)
            for g in (G, G2)
            for b in ("001", "002")
        ),
    ]:
        uow.cells.add(cell)
    for i, line in enumerate(homes):
        home = (G, G2)[i % 2] + ("", "001", "002")[i // 2 % 3]
        hid = f"h{i}"
        uow.households.add(
            Household(hid, home, Address(line), members=(Resident(f"{hid}-1", "田林"),))
        )
        uow.care_tasks.add(_task(hid, home))


def _change(uow: UnitOfWork, op: Operation, day: pendulum.Date, number: int) -> None:
    """Make the drawn change among the grids active on ``day``; new codes from ``number``."""
    kind, pick, groups = op
    tree = uow.cells.tree().active_on(day)
    grids = tree.children(COMMUNITY)
    if kind == "merge" and len(grids) >= 2:
        pair = [grids[pick % len(grids)].code, grids[(pick + 1) % len(grids)].code]
        into = GridCell(f"{COMMUNITY}{number:03}", "合", GridLevel.GRID, COMMUNITY)
        merge_cells(uow, pair, into=into, on=day, at=NOW, actor="s")
        return
    old = grids[pick % len(grids)].code
    lines = {h.address.line for h in _living_in(uow, old) if h.cell_code == old}
    items = sorted(c.code for c in tree.children(old)) + sorted(lines)
    parts = [
        SplitPart(
            GridCell(f"{COMMUNITY}{number + k:03}", "分", GridLevel.GRID, COMMUNITY),
            tuple(item for j, item in enumerate(items) if groups[j % len(groups)] == k),
        )
        for k in (0, 1)
    ]
    split_cell(uow, old, into=parts, on=day, at=NOW, actor="s")


def _living_in(uow: UnitOfWork, code: str) -> list[Household]:
    """Return the households of the subtree of ``code`` (one page is enough here)."""
    return list(uow.households.in_subtree(code, limit=500).items)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_operations(), homes=st.lists(st.sampled_from(LINES), min_size=1, max_size=12))
def test_after_any_changes_households_and_open_tasks_are_in_active_cells(
    ops: list[Operation], homes: list[str]
) -> None:
    """Every household lives in one active cell; every open task is at its household's cell."""
    s = open_store("memory://")
    with s() as uow:
        _initial(uow, homes)
        uow.commit()
    day, number = DAY, 10
    for op in ops:
        with s() as uow:
            _change(uow, op, day, number)
            uow.commit()
        day, number = day.add(days=1), number + 2
    with s() as uow:
        active = {c.code for c in uow.cells.tree().active_on(day)}
        cells = [uow.households.get(f"h{i}").cell_code for i in range(len(homes))]
        tasks = [uow.care_tasks.get(f"t-h{i}").cell_code for i in range(len(homes))]
        everyone = len(_living_in(uow, COMMUNITY))
    assert ([True] * len(homes), cells, len(homes)) == (
        [c in active for c in cells],
        tasks,
        everyone,
    )


_denials: list[AuditEntry] = []


def test_community_staff_split_a_grid_of_their_community_through_a_scoped_unit(
    store: Store,
) -> None:
    """The scope covers the community: the change is allowed and made as for the store."""
    staff = Principal("secretary", {Role.COMMUNITY_STAFF}, {COMMUNITY})
    with scoped(store(), staff, audit=_denials.append) as uow:
        change = split_cell(uow, G, into=_parts(), on=DAY, at=NOW, actor="secretary")
        uow.commit()
    with store() as uow:
        homes = _homes(uow)
    assert ({"h1": f"{P1}001", "h3": P1}, ("w-old",)) == (
        {h: homes[h] for h in ("h1", "h3")},
        change.workers,
    )


def test_a_grid_worker_may_not_split_their_grid(store: Store) -> None:
    """A grid worker's scope is their grid: the new cells lie outside it, so it is denied."""
    worker = Principal("w-old", {Role.GRID_WORKER}, {G})
    with scoped(store(), worker, audit=_denials.append) as uow, pytest.raises(AccessDeniedError):
        split_cell(uow, G, into=_parts(), on=DAY, at=NOW, actor="w-old")


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ({"on": "2026-12-01"}, "on"),
        ({"on": pendulum.datetime(2026, 12, 1)}, "on"),
        ({"on": pendulum.Date(2101, 1, 1)}, "on"),
        ({"at": pendulum.naive(2026, 11, 28, 9)}, "at"),
        ({"actor": ""}, "actor"),
        ({"into": [object(), object()]}, "into[0]"),
        ({"code": f"{COMMUNITY}099"}, None),
    ],
)
def test_a_malformed_argument_is_refused_naming_it(
    store: Store, arguments: dict[str, object], path: str | None
) -> None:
    """Days, instants, ids and parts are checked first; an unknown cell is not found."""
    call: dict[str, object] = {"code": G, "into": _parts(), "on": DAY, "at": NOW}
    call |= {"actor": "secretary"} | arguments
    with store() as uow, pytest.raises((ValidationError, NotFoundError)) as caught:
        split_cell(uow, **call)  # type: ignore[arg-type]
    assert path == getattr(caught.value, "path", None)


def test_a_split_sent_twice_with_its_key_gets_the_first_result_and_does_nothing_twice(
    store: Store,
) -> None:
    """The retry (received later) answers as the first did; one event per cell is recorded."""
    with store() as uow:
        first = split_cell(
            uow, G, into=_parts(), on=DAY, at=NOW, actor="secretary", idempotency_key="k-1"
        )
        uow.commit()
    with store() as uow:
        again = split_cell(
            uow,
            G,
            into=_parts(),
            on=DAY,
            at=NOW.add(minutes=5),
            actor="secretary",
            idempotency_key="k-1",
        )
        uow.commit()
    with store() as uow:
        events = uow.outbox.for_aggregate("cell", G)
    assert ([c.code for c in first.created], 1) == ([c.code for c in again.created], len(events))
