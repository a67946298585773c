"""The in-memory adapter passes the conformance kit, and keeps its indexes tight."""

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.adapters.memory import MemoryStore, _SortedChunks
from gridgov.errors import ConflictError, NotFoundError
from gridgov.grid import GridCell, GridLevel
from gridgov.ports import UnitOfWork
from gridgov.testing import _samples as samples
from gridgov.testing import _world as world
from gridgov.testing import contracts
from gridgov.testing.contracts import StoreContract

T = TypeVar("T")


class TestMemoryStore(StoreContract):
    """The whole kit on a fresh MemoryStore."""

    @pytest.fixture
    def make_uow(self) -> MemoryStore:
        """Return a fresh in-memory store."""
        return MemoryStore()


def test_commit_detects_a_write_made_after_staging() -> None:
    """A unit whose read record was changed by another commit fails at commit, storing nothing."""
    store = MemoryStore()
    with store() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.commit()
    with store() as slow, store() as fast:
        slow.cells.update(slow.cells.get("610102"))
        slow.cells.add(GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"))
        fast.cells.update(fast.cells.get("610102"))
        fast.commit()
        with pytest.raises(ConflictError):
            slow.commit()
    with store() as uow:
        assert (2, ()) == (uow.cells.get("610102").version, uow.cells.children("610102"))


def _care_store() -> MemoryStore:
    """Return a store holding the kit's cells and elders."""
    store = MemoryStore()
    with store() as uow:
        for cell in world._cells():
            uow.cells.add(cell)
        for household in samples._elders():
            uow.households.add(household)
        uow.commit()
    return store


def test_commit_rechecks_residents_that_others_moved() -> None:
    """A contact or task staged for a resident whose household another unit removed fails."""
    store = _care_store()
    stages: list[Callable[[UnitOfWork], object]] = [
        lambda uow: uow.contacts.add(samples._contact("c1", "r3", world.T0)),
        lambda uow: uow.care_tasks.add(samples._task("t1", "r3", world.T0)),
    ]
    for stage in stages:
        with store() as slow, store() as fast:
            stage(slow)
            fast.households.remove(fast.households.get("h2"))
            fast.commit()
            with pytest.raises(ConflictError):
                slow.commit()
            fast.households.add(samples._elders()[1])
            fast.commit()
    with store() as uow:
        kept = (uow.contacts.for_resident("r3").items, uow.care_tasks.open_for_resident("r3"))
    assert ((), ()) == kept


class _Recording(dict[str, T]):
    """A dict that notes every key read with ``[]``."""

    def __init__(self, data: dict[str, T], seen: set[str]) -> None:
        super().__init__(data)
        self.seen = seen

    def __getitem__(self, key: str) -> T:
        self.seen.add(key)
        return super().__getitem__(key)


def _recording(store: MemoryStore, kind: str, seen: set[str]) -> None:
    """Make the committed records of ``kind`` note in ``seen`` every key read with ``[]``."""
    table = store._state.tables[kind]
    table.records = _Recording(table.records, seen)


def test_subtree_queries_touch_only_the_subtree() -> None:
    """Worklist and contact queries of one grid read only that grid's tasks and contacts."""
    store = _care_store()
    t0 = world.T0
    with store() as uow:
        for i, rid in enumerate(["r1", "r2", "r3", "r4", "r5"] * 20):
            uow.care_tasks.add(samples._task(f"t{i:03d}", rid, t0.add(minutes=i)))
            uow.contacts.add(samples._contact(f"c{i:03d}", rid, t0.add(minutes=i)))
        uow.commit()
    seen: set[str] = set()
    _recording(store, "care task", seen)
    _recording(store, "contact", seen)
    with store() as uow:
        tasks = samples._all_pages(
            lambda a: uow.care_tasks.open_in_subtree(
                world.GRID_B, starting_before=t0.add(days=1), limit=7, after=a
            )
        )
        contacts = samples._all_pages(
            lambda a: uow.contacts.in_subtree(
                world.GRID_B, since=t0, until=t0.add(days=1), limit=7, after=a
            )
        )
    wanted = {t.id for t in tasks} | {c.id for c in contacts}
    assert (40, wanted) == (len(wanted), seen)


def test_closed_tasks_leave_the_open_indexes() -> None:
    """A task that stops being open is dropped from the open-task indexes."""
    store = _care_store()
    with store() as uow:
        task = uow.care_tasks.add(samples._task("t1", "r1", world.T0))
        uow.commit()
    with store() as uow:
        uow.care_tasks.update(task.done("c1"))
        uow.commit()
    tasks = store._state.tables["care task"]
    indexed = (
        tasks.index("gg_care_tasks_open_resident").keys("r1"),
        list(tasks.index("gg_care_tasks_open").groups[world.BUILDING_A1].irange()),
    )
    assert (set(), []) == indexed


def test_contracts_do_not_shadow_each_other() -> None:
    """No two contracts define a test of the same name, which StoreContract would hide."""
    names = [
        name
        for contract in contracts.StoreContract.__mro__[1:]
        if contract.__name__.endswith("Contract")
        for name in vars(contract)
        if name.startswith("test_")
    ]
    assert sorted(set(names)) == sorted(names)


def _case_store() -> MemoryStore:
    """Return a store holding the kit's cells."""
    store = MemoryStore()
    with store() as uow:
        for cell in world._cells():
            uow.cells.add(cell)
        uow.commit()
    return store


def test_due_reads_only_the_due_cases() -> None:
    """The escalation queue reads the due cases only, however many others are stored."""
    store = _case_store()
    t0 = world.T0
    with store() as uow:
        uow.cases.add_many(
            samples._case(f"k{i:03d}", next_check=t0.add(minutes=i - 5)) for i in range(300)
        )
        uow.commit()
    seen: set[str] = set()
    _recording(store, "case", seen)
    with store() as uow:
        due = samples._all_pages(lambda a: uow.cases.due(at_or_before=t0, limit=2, after=a))
    wanted = {f"k{i:03d}" for i in range(6)}
    assert (wanted, wanted) == ({c.id for c in due}, seen)


def test_closed_cases_leave_the_open_and_due_indexes() -> None:
    """A closed case is dropped from the open-case and due indexes, kept in the cell index."""
    store = _case_store()
    with store() as uow:
        case = uow.cases.add(samples._case("k1"))
        uow.commit()
    with store() as uow:
        uow.cases.update(samples._closed(case))
        uow.commit()
    cases = store._state.tables["case"]
    indexed = (
        len(cases.index("gg_cases_due").groups[None]),
        list(cases.index("gg_cases_open").groups[world.BUILDING_A1].irange()),
        len(cases.index("gg_cases_cell").groups[world.BUILDING_A1]),
    )
    assert (0, [], 1) == indexed


def test_commit_rechecks_case_cells_and_external_ids() -> None:
    """A case staged before another unit removed its cell or took its external id fails."""
    store = _case_store()
    with store() as slow, store() as fast:
        slow.cases.add(samples._case("k1", world.BUILDING_A2))
        fast.cells.remove(fast.cells.get(world.BUILDING_A2))
        fast.commit()
        with pytest.raises(ConflictError, match="its cell or owning cell was removed"):
            slow.commit()
    with store() as slow, store() as fast:
        slow.cases.add(samples._case("k2", external_id="E-1"))
        fast.cases.add(samples._case("k3", external_id="E-1"))
        fast.commit()
        with pytest.raises(ConflictError, match="another case took its external id"):
            slow.commit()
    with store() as uow:
        found = uow.cases.by_external_id("E-1")
        kept = [c.id for c in uow.cases.open_in_subtree(world.DISTRICT).items]
    assert ("k3", ["k3"]) == (found and found.id, kept)


class _SmallChunks(_SortedChunks):
    """Chunks of two keys, so that a few keys already split chunks."""

    _CHUNK = 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.text(alphabet="abcdef", max_size=3)), max_size=60),
    st.text(alphabet="abcdefg", max_size=3),
    st.none() | st.text(alphabet="abcdef", max_size=3),
)
def test_sorted_chunks_behave_as_a_sorted_set(
    operations: list[tuple[bool, str]], high: str, after: str | None
) -> None:
    """Any mix of adds and discards reads back as the sorted set would, from any bounds."""
    chunks = _SmallChunks()
    reference: set[str] = set()
    for add, key in operations:
        if add:
            chunks.add(key)
            reference.add(key)
        else:
            chunks.discard(key)
            reference.discard(key)
    expected = sorted(k for k in reference if k < high and (after is None or k > after))
    assert (expected, len(reference)) == (list(chunks.irange(high, after=after)), len(chunks))


def _venue_store() -> MemoryStore:
    """Return a store holding the kit's cells, elders and venues v1 (two spaces), v2 and v3."""
    store = _care_store()
    with store() as uow:
        uow.venues.add(samples._venue("v1", world.GRID_A, "s1", "s2"))
        uow.venues.add(samples._venue("v2", world.GRID_B, "s1"))
        uow.venues.add(samples._venue("v3", world.OTHER_STREET, "hall"))
        uow.commit()
    return store


def test_series_in_venue_reads_only_that_venue_s_series_in_the_window() -> None:
    """in_venue reads the venue's series starting before the end that end after the start."""
    store = _venue_store()
    t0 = world.T0
    with store() as uow:
        uow.series.add_many(
            samples._series(f"{venue}-{i:03d}", t0.add(hours=i), venue=venue, space=space)
            for venue, space in (("v1", "s1"), ("v2", "s1"), ("v3", "hall"))
            for i in range(100)
        )
        uow.commit()
    seen: set[str] = set()
    _recording(store, "series", seen)
    with store() as uow:
        found = samples._all_pages(
            lambda a: uow.series.in_venue(
                "v1", start=t0.add(hours=10), end=t0.add(hours=20), limit=4, after=a
            )
        )
    wanted = {f"v1-{i:03d}" for i in range(9, 20)}  # 90 minutes long: the 9th ends at 10:30
    assert (wanted, wanted) == ({s.id for s in found}, seen)


def test_resident_queries_read_only_that_resident_s_records() -> None:
    """for_resident of registrations and sign-ups reads the resident's records, no others'."""
    store = _venue_store()
    t0 = world.T0
    with store() as uow:
        uow.series.add(samples._series("a1", rrule="FREQ=DAILY"))
        uow.shifts.add(samples._shift("sh1"))
        for i, rid in enumerate(["r1", "r2", "r3", "r4", "r5"] * 20):
            start = t0.add(days=i // 5)
            uow.registrations.add(samples._registration(f"g{i:03d}", rid, start))
            uow.signups.add(samples._signup(f"su{i:03d}", rid, start))
        uow.commit()
    seen: set[str] = set()
    _recording(store, "registration", seen)
    _recording(store, "sign-up", seen)
    with store() as uow:
        window = {"start": t0.add(days=3), "end": t0.add(days=5)}
        found = {r.id for r in uow.registrations.for_resident("r2", **window)}
        found |= {s.id for s in uow.signups.for_resident("r2", **window)}
    # The index bounds the starts by the window's end; ends are checked on those read.
    read = {f"{p}{5 * d + 1:03d}" for p in ("g", "su") for d in range(5)}
    assert ({"g016", "g021", "su016", "su021"}, read) == (found, seen)


def test_commit_rechecks_scheduling_references() -> None:
    """A venue, series, registration or sign-up staged before others broke its reference fails."""
    store = _venue_store()
    t0 = world.T0
    spare = "610102003001003"  # a grid without households, to be removed
    with store() as uow:
        uow.cells.add(samples._cell(spare))
        uow.shifts.add(samples._shift("sh1"))
        uow.series.add(samples._series("a1"))
        uow.commit()
    stages: list[tuple[Callable[[UnitOfWork], object], Callable[[UnitOfWork], object], str]] = [
        (
            lambda uow: uow.venues.add(samples._venue("v9", spare)),
            lambda uow: uow.cells.remove(uow.cells.get(spare)),
            "its cell was removed",
        ),
        (
            lambda uow: uow.series.add(samples._series("a2", space="s2")),
            lambda uow: uow.venues.update(
                attrs.evolve(uow.venues.get("v1"), spaces=uow.venues.get("v1").spaces[:1])
            ),
            "its venue no longer has its space",
        ),
        (
            lambda uow: uow.registrations.add(samples._registration("g1", "r4")),
            lambda uow: uow.households.remove(uow.households.get("h3")),
            "its resident was removed",
        ),
        (
            lambda uow: uow.signups.add(samples._signup("su1", "r5")),
            lambda uow: uow.households.remove(uow.households.get("h4")),
            "its resident was removed",
        ),
    ]
    for stage, interfere, problem in stages:
        with store() as slow, store() as fast:
            stage(slow)
            interfere(fast)
            fast.commit()
            with pytest.raises(ConflictError, match=problem):
                slow.commit()
    with store() as uow:
        kept = (
            samples._stored(lambda: uow.venues.get("v9")),
            samples._stored(lambda: uow.series.get("a2")),
            uow.registrations.for_occurrence(samples._occurrence("a1", t0)),
            uow.signups.for_shift("sh1"),
        )
    assert (False, False, (), ()) == kept


def _audit_store() -> MemoryStore:
    """Return a store holding 300 audit entries a minute apart: principal i % 3, subject i % 5."""
    store = MemoryStore()
    with store() as uow:
        for i in range(300):
            uow.audit.add(
                samples._audit(
                    f"a{i:03d}",
                    world.T0.add(minutes=i),
                    f"w{i % 3}",
                    subject=f"resident:r{i % 5}",
                )
            )
        uow.commit()
    return store


@pytest.mark.parametrize(
    ("filters", "read"),
    [
        ({"principal_id": "w1"}, lambda i: i % 3 == 1),
        ({"subject": "resident:r2"}, lambda i: i % 5 == 2),
        ({"principal_id": "w1", "subject": "resident:r2"}, lambda i: i % 5 == 2),
        ({}, lambda i: True),
    ],
    ids=["principal", "subject", "both-the-smaller", "none"],
)
def test_audit_between_reads_only_the_index_that_fits(
    filters: dict[str, str], read: Callable[[int], bool]
) -> None:
    """A query reads the window of the principal's or the subject's index only, no other entry."""
    store = _audit_store()
    seen: set[str] = set()
    _recording(store, "audit entry", seen)
    t0 = world.T0
    with store() as uow:
        found = samples._all_pages(
            lambda a: uow.audit.between(
                since=t0.add(minutes=30),
                until=t0.add(minutes=60),
                principal_id=filters.get("principal_id"),
                subject=filters.get("subject"),
                limit=4,
                after=a,
            )
        )
    window = range(30, 60)
    wanted = [
        f"a{i:03d}"
        for i in window
        if filters.get("principal_id", f"w{i % 3}") == f"w{i % 3}"
        and filters.get("subject", f"resident:r{i % 5}") == f"resident:r{i % 5}"
    ]
    read_ids = {f"a{i:03d}" for i in window if read(i)}
    assert (wanted, read_ids) == ([e.id for e in found], seen)


def test_commit_rechecks_audit_ids() -> None:
    """A unit that staged an audit id another unit committed meanwhile fails, storing nothing."""
    store = MemoryStore()
    t0 = world.T0
    with store() as slow, store() as fast:
        slow.audit.add(samples._audit("a1", t0, "w1"))
        slow.audit.add(samples._audit("a2", t0, "w1"))
        fast.audit.add(samples._audit("a1", t0, "w2"))
        fast.commit()
        with pytest.raises(ConflictError, match="audit entry 'a1' was changed by another unit"):
            slow.commit()
    with store() as uow:
        kept = [
            (e.id, e.principal_id) for e in uow.audit.between(since=t0, until=t0.add(days=1)).items
        ]
    assert [("a1", "w2")] == kept


def test_audit_indexes_hold_every_entry_in_instant_order() -> None:
    """The trail's indexes hold every entry once, in instant order, after many small commits."""
    store = MemoryStore()
    t0 = world.T0
    for i in range(1500):
        with store() as uow:
            uow.audit.add(samples._audit(f"a{i:04d}", t0.add(seconds=i), f"w{i % 2}"))
            uow.commit()
    audit = store._state.tables["audit entry"]
    keys = list(audit.index("gg_audit_at").groups[None].irange())
    assert (1500, sorted(keys), 750, 1500) == (
        len(keys),
        keys,
        len(audit.index("gg_audit_principal").groups["w0"]),
        len(audit.index("gg_audit_subject").groups["resident:r1"]),
    )


def test_a_record_being_committed_stays_readable() -> None:
    """While one thread commits a household again and again, another always reads it."""
    store = MemoryStore()
    with store() as uow:
        for cell in world._cells():
            uow.cells.add(cell)
        uow.households.add(world._household("h1", world.GRID_A))
        uow.commit()
    stop = threading.Event()
    missing: list[str] = []

    def read() -> None:
        while not stop.is_set():
            with store() as uow:
                try:
                    uow.households.get("h1")
                except NotFoundError:
                    missing.append("h1")

    reader = threading.Thread(target=read)
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often: a gap in a commit would show
    try:
        reader.start()
        for i in range(2000):
            with store() as uow:
                h = uow.households.get("h1")
                room = attrs.evolve(h.address, room=str(i))
                uow.households.update(attrs.evolve(h, address=room))
                uow.commit()
    finally:
        stop.set()
        reader.join()
        sys.setswitchinterval(switching)
    assert [] == missing
