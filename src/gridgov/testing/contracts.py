"""The conformance kit: reusable pytest test classes that every storage adapter must pass.

An adapter's test module subclasses the contracts and provides one fixture, ``make_uow``,
returning a fresh, empty :class:`~gridgov.ports.Store` (anything callable that returns a
:class:`~gridgov.ports.UnitOfWork`)::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def make_uow(self) -> Iterator[Store]:
            store = MyStore(...)
            yield store
            store.close()

The class names end in ``Contract`` so that pytest does not collect them by themselves. Third-party
adapters use the same kit; its import path ``gridgov.testing.contracts`` is stable.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Literal, TypeVar

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings

from gridgov.calendar import WorkCalendar
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskKind, TaskState
from gridgov.care.policy import ContactMethod
from gridgov.cases.escalation import DEFAULT_ESCALATION, EscalationPolicy
from gridgov.cases.model import Case, CaseSource, CaseState, Location, Reporter, Satisfaction
from gridgov.cases.settings import CaseSettings
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow
from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.grid import Assignment, GridCell, GridLevel, GridTree, Worker, WorkerRole
from gridgov.households import (
    Address,
    ForwardingContact,
    Household,
    HouseholdStatus,
    Resident,
    Tag,
    age_on,
)
from gridgov.ports import MAX_PAGE_SIZE, Page, ResidentEntry, UnitOfWork
from gridgov.testing import strategies as gst

__all__ = [
    "CareTaskRepositoryContract",
    "CaseRepositoryContract",
    "CaseSettingsRepositoryContract",
    "CellRepositoryContract",
    "ContactRepositoryContract",
    "HouseholdRepositoryContract",
    "StoreContract",
    "UnitOfWorkContract",
    "WorkerRepositoryContract",
]

UowFactory = Callable[[], UnitOfWork]
T = TypeVar("T")

DISTRICT = "610102"
STREET = "610102003"
COMMUNITY = "610102003001"
GRID_A = "610102003001001"
GRID_B = "610102003001002"
BUILDING_A1 = "610102003001001001"
BUILDING_A2 = "610102003001001002"
OTHER_STREET = "610102004"
ON = pendulum.Date(2026, 11, 28)
T0 = pendulum.datetime(2026, 11, 28, 9, 0, tz="Asia/Shanghai")
UNKNOWN_CELL = "610102003001009"


def _cells() -> list[GridCell]:
    return [
        GridCell(DISTRICT, "新城区", GridLevel.DISTRICT),
        GridCell(STREET, "自强路街道", GridLevel.STREET, DISTRICT),
        GridCell(OTHER_STREET, "西一路街道", GridLevel.STREET, DISTRICT),
        GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, STREET),
        GridCell(GRID_A, "第一网格", GridLevel.GRID, COMMUNITY),
        GridCell(GRID_B, "第二网格", GridLevel.GRID, COMMUNITY),
        GridCell(BUILDING_A1, "铁一村1号楼", GridLevel.BUILDING, GRID_A),
        GridCell(BUILDING_A2, "铁一村2号楼", GridLevel.BUILDING, GRID_A),
    ]


def _resident(rid: str, birth: pendulum.Date, *tags: Tag) -> Resident:
    return Resident(rid, f"居民{rid}", birth_date=birth, tags=frozenset(tags))


def _household(hid: str, cell: str, *members: Resident) -> Household:
    return Household(hid, cell, Address(f"铁一村{hid}号"), members=members)


def _all_pages(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Follow ``next_cursor`` until the last page and return every item."""
    items: list[T] = []
    cursor: str | None = None
    for _ in range(10_000):
        page = fetch(cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


class _Base:
    """Fixtures shared by the contracts."""

    @pytest.fixture
    def make_uow(self) -> UowFactory:
        """Return a fresh, empty store; adapters override this fixture."""
        pytest.fail(f"{type(self).__name__} must override the make_uow fixture")

    @pytest.fixture
    def store(self, make_uow: UowFactory) -> UowFactory:
        """Return the store with the standard cell tree committed."""
        with make_uow() as uow:
            for cell in _cells():
                uow.cells.add(cell)
            uow.commit()
        return make_uow

    @staticmethod
    def add_households(store: UowFactory, households: Iterable[Household]) -> None:
        """Commit ``households`` in one unit of work."""
        with store() as uow:
            for h in households:
                uow.households.add(h)
            uow.commit()


class CellRepositoryContract(_Base):
    """What every ``CellRepository`` does."""

    def test_add_then_get_returns_the_cell_at_version_1(self, store: UowFactory) -> None:
        """A committed cell comes back equal to what was added, at version 1."""
        with store() as uow:
            got = uow.cells.get(GRID_A)
        assert attrs.evolve(_cells()[4], version=1) == got

    def test_get_unknown_raises_not_found(self, store: UowFactory) -> None:
        """Getting an unknown code raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.cells.get("610102003001099")

    def test_add_duplicate_raises_conflict(self, store: UowFactory) -> None:
        """Adding a code that is stored raises ConflictError."""
        with store() as uow, pytest.raises(ConflictError):
            uow.cells.add(GridCell(GRID_A, "again", GridLevel.GRID, COMMUNITY))

    @pytest.mark.parametrize(
        ("cell", "path"),
        [
            (GridCell("610102003001003", "x", GridLevel.GRID, "610102003009"), "parent_code"),
            (GridCell("610102003001003001", "x", GridLevel.BUILDING, COMMUNITY), "level"),
            (GridCell("610102003002003", "x", GridLevel.GRID, COMMUNITY), "code"),
            (GridCell("6101020030010033", "x", GridLevel.GRID, COMMUNITY), "code"),
            (GridCell("610102005001", "x", GridLevel.COMMUNITY), "parent_code"),
        ],
        ids=[
            "unknown-parent",
            "skips-a-level",
            "code-not-extending-parent",
            "code-too-long",
            "root-below-the-top-level",
        ],
    )
    def test_misplaced_cell_is_rejected_and_not_stored(
        self, store: UowFactory, cell: GridCell, path: str
    ) -> None:
        """A cell that does not fit the tree raises ValidationError naming the field."""
        with store() as uow:
            with pytest.raises(ValidationError) as info:
                uow.cells.add(cell)
            uow.commit()
        assert path == info.value.path
        with store() as uow, pytest.raises(NotFoundError):
            uow.cells.get(cell.code)

    def test_update_bumps_version_and_stale_update_conflicts(self, store: UowFactory) -> None:
        """An update returns version 2; a second update from version 1 raises ConflictError."""
        with store() as uow:
            cell = uow.cells.get(GRID_A)
            renamed = uow.cells.update(attrs.evolve(cell, name="一网格"))
            uow.commit()
        assert 2 == renamed.version
        # Adapters may refuse a stale write at once or at commit: both count.
        with store() as uow, pytest.raises(ConflictError):  # noqa: PT012
            uow.cells.update(attrs.evolve(cell, name="stale"))
            uow.commit()
        with store() as uow:
            assert "一网格" == uow.cells.get(GRID_A).name

    def test_update_cannot_move_a_cell(self, store: UowFactory) -> None:
        """Changing a stored cell's level or parent raises ValidationError."""
        with store() as uow:
            cell = uow.cells.get(GRID_B)
            with pytest.raises(ValidationError):
                uow.cells.update(attrs.evolve(cell, parent_code=OTHER_STREET))

    def test_remove_leaf_and_refuse_cells_in_use(self, store: UowFactory) -> None:
        """A leaf can be removed; a cell with children or households cannot."""
        self.add_households(store, [_household("h1", BUILDING_A1)])
        with store() as uow:
            with pytest.raises(ConflictError):
                uow.cells.remove(uow.cells.get(GRID_A))
            with pytest.raises(ConflictError):
                uow.cells.remove(uow.cells.get(BUILDING_A1))
            uow.cells.remove(uow.cells.get(BUILDING_A2))
            uow.commit()
        with store() as uow:
            assert (BUILDING_A1,) == tuple(c.code for c in uow.cells.children(GRID_A))

    def test_children_are_ordered_by_code(self, store: UowFactory) -> None:
        """children() lists direct children only, by code."""
        with store() as uow:
            codes = tuple(c.code for c in uow.cells.children(COMMUNITY))
        assert (GRID_A, GRID_B) == codes

    @pytest.mark.parametrize("limit", [1, 2, 3, 100])
    def test_subtree_pages_cover_the_subtree_in_order(self, store: UowFactory, limit: int) -> None:
        """Following cursors yields the cell and its descendants once each, by code."""
        with store() as uow:
            codes = [
                c.code
                for c in _all_pages(
                    lambda after: uow.cells.subtree(STREET, limit=limit, after=after)
                )
            ]
        expected = sorted(c.code for c in _cells() if c.code.startswith(STREET))
        assert expected == codes

    def test_tree_returns_every_cell(self, store: UowFactory) -> None:
        """tree() gives a GridTree of every stored cell."""
        with store() as uow:
            tree = uow.cells.tree()
        assert [c.code for c in GridTree(_cells())] == [c.code for c in tree]


class WorkerRepositoryContract(_Base):
    """What every ``WorkerRepository`` does."""

    @staticmethod
    def worker(wid: str = "w1", *assignments: Assignment) -> Worker:
        """Return a grid worker with ``assignments``."""
        return Worker(wid, "安琼", frozenset({WorkerRole.GRID_WORKER}), assignments)

    def test_add_get_and_update(self, store: UowFactory) -> None:
        """A worker round-trips and updates bump the version."""
        w = self.worker("w1", Assignment(GRID_A, pendulum.Date(2024, 1, 1)))
        with store() as uow:
            added = uow.workers.add(w)
            uow.commit()
        with store() as uow:
            assert added == uow.workers.get("w1")
            updated = uow.workers.update(attrs.evolve(added, name="安琼琼"))
            uow.commit()
        assert 2 == updated.version

    def test_assignment_to_unknown_cell_is_rejected(self, store: UowFactory) -> None:
        """An assignment to a cell that is not stored raises ValidationError with its path."""
        w = self.worker("w1", Assignment("610102003001077", pendulum.Date(2024, 1, 1)))
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.workers.add(w)
        assert "assignments[0].cell_code" == info.value.path

    def test_assigned_to_respects_effective_dates(self, store: UowFactory) -> None:
        """assigned_to lists the workers whose assignment covers the date."""
        with store() as uow:
            uow.workers.add(
                self.worker(
                    "w1", Assignment(GRID_A, pendulum.Date(2024, 1, 1), ON.subtract(days=1))
                )
            )
            uow.workers.add(self.worker("w2", Assignment(GRID_A, ON)))
            uow.workers.add(self.worker("w3", Assignment(GRID_B, pendulum.Date(2020, 1, 1))))
            uow.commit()
        with store() as uow:
            before = [w.id for w in uow.workers.assigned_to(GRID_A, on=ON.subtract(days=1))]
            today = [w.id for w in uow.workers.assigned_to(GRID_A, on=ON)]
        assert (["w1"], ["w2"]) == (before, today)

    def test_assigned_to_unknown_cell_raises_not_found(self, store: UowFactory) -> None:
        """Asking who works in an unknown cell raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.workers.assigned_to("610102003001077", on=ON)

    def test_list_pages_by_id(self, store: UowFactory) -> None:
        """list() pages through every worker by id."""
        ids = [f"w{i:02d}" for i in range(7)]
        with store() as uow:
            for wid in reversed(ids):
                uow.workers.add(self.worker(wid))
            uow.commit()
        with store() as uow:
            listed = [w.id for w in _all_pages(lambda a: uow.workers.list(limit=3, after=a))]
        assert ids == listed

    def test_remove_worker(self, store: UowFactory) -> None:
        """A removed worker is gone; removing from a stale version conflicts."""
        with store() as uow:
            added = uow.workers.add(self.worker("w1"))
            uow.commit()
        with store() as uow:
            uow.workers.update(added)
            uow.commit()
        with store() as uow:
            with pytest.raises(ConflictError):
                uow.workers.remove(added)
            uow.workers.remove(uow.workers.get("w1"))
            uow.commit()
        with store() as uow, pytest.raises(NotFoundError):
            uow.workers.get("w1")


def _ages_population() -> list[Household]:
    births = [
        pendulum.Date(1940, 2, 29),
        pendulum.Date(1946, 11, 28),
        pendulum.Date(1946, 11, 29),
        pendulum.Date(1956, 11, 28),
        pendulum.Date(1956, 11, 29),
        pendulum.Date(1966, 3, 1),
        pendulum.Date(1990, 6, 15),
        pendulum.Date(2016, 2, 29),
        pendulum.Date(2026, 11, 28),
    ]
    cells = [BUILDING_A1, BUILDING_A2, GRID_B]
    return [
        _household(f"h{i}", cells[i % 3], _resident(f"r{i}", birth))
        for i, birth in enumerate(births)
    ]


class HouseholdRepositoryContract(_Base):
    """What every ``HouseholdRepository`` does."""

    def test_add_then_get_round_trips(self, store: UowFactory) -> None:
        """A committed household comes back equal, at version 1, with its residents."""
        h = Household(
            "h1",
            BUILDING_A1,
            Address("铁一村1号楼", unit="2", room="301"),
            status=HouseholdStatus.RELOCATED,
            members=(_resident("r1", pendulum.Date(1955, 4, 1), Tag.LIVING_ALONE),),
            forwarding=ForwardingContact("未央区某小区", "13812345678"),
        )
        self.add_households(store, [h])
        with store() as uow:
            assert attrs.evolve(h, version=1) == uow.households.get("h1")
            assert "h1" == uow.households.household_of("r1").id

    def test_household_in_unknown_cell_is_rejected(self, store: UowFactory) -> None:
        """A household whose cell is not stored raises ValidationError on cell_code."""
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.households.add(_household("h1", "610102003001001099"))
        assert "cell_code" == info.value.path

    def test_resident_cannot_belong_to_two_households(self, store: UowFactory) -> None:
        """A resident id already in another household raises ConflictError."""
        r = _resident("r1", pendulum.Date(1950, 1, 1))
        self.add_households(store, [_household("h1", GRID_A, r)])
        with store() as uow, pytest.raises(ConflictError):
            uow.households.add(_household("h2", GRID_B, r))

    def test_resident_can_move_between_households_in_one_unit(self, store: UowFactory) -> None:
        """Removing a resident from one household and adding them to another commits."""
        r = _resident("r1", pendulum.Date(1950, 1, 1))
        self.add_households(store, [_household("h1", GRID_A, r), _household("h2", GRID_B)])
        with store() as uow:
            uow.households.update(uow.households.get("h1").without_member("r1"))
            uow.households.update(uow.households.get("h2").with_member(r))
            uow.commit()
        with store() as uow:
            assert "h2" == uow.households.household_of("r1").id

    def test_stale_update_conflicts_and_keeps_the_winner(self, store: UowFactory) -> None:
        """Of two updates from the same version, the second raises ConflictError."""
        self.add_households(store, [_household("h1", GRID_A)])
        with store() as uow:
            original = uow.households.get("h1")
        with store() as uow:
            uow.households.update(attrs.evolve(original, address=Address("winner")))
            uow.commit()
        with store() as uow, pytest.raises(ConflictError):  # noqa: PT012 - at update or commit
            uow.households.update(attrs.evolve(original, address=Address("loser")))
            uow.commit()
        with store() as uow:
            assert ("winner", 2) == (
                uow.households.get("h1").address.line,
                uow.households.get("h1").version,
            )

    def test_remove_household(self, store: UowFactory) -> None:
        """A removed household and its residents are gone."""
        self.add_households(store, [_household("h1", GRID_A, _resident("r1", ON))])
        with store() as uow:
            uow.households.remove(uow.households.get("h1"))
            uow.commit()
        with store() as uow:
            with pytest.raises(NotFoundError):
                uow.households.get("h1")
            with pytest.raises(NotFoundError):
                uow.households.household_of("r1")

    @pytest.mark.parametrize("limit", [1, 2, 4, 50])
    def test_in_subtree_pages_by_cell_then_id(self, store: UowFactory, limit: int) -> None:
        """in_subtree yields exactly the subtree's households once each, by cell then id."""
        population = _ages_population()
        self.add_households(store, population)
        with store() as uow:
            got = [
                (h.cell_code, h.id)
                for h in _all_pages(
                    lambda a: uow.households.in_subtree(GRID_A, limit=limit, after=a)
                )
            ]
        expected = sorted((h.cell_code, h.id) for h in population if h.cell_code.startswith(GRID_A))
        assert expected == got

    def test_in_subtree_of_unknown_cell_raises(self, store: UowFactory) -> None:
        """Querying the subtree of an unknown cell raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.households.in_subtree("610102003001009")

    def test_with_tag_within_a_subtree(self, store: UowFactory) -> None:
        """with_tag finds tagged residents, restricted to a subtree when asked."""
        self.add_households(
            store,
            [
                _household("h1", BUILDING_A1, _resident("r1", ON, Tag.LIVING_ALONE)),
                _household("h2", GRID_B, _resident("r2", ON, Tag.LIVING_ALONE, Tag.PARTY_MEMBER)),
                _household(
                    "h3", BUILDING_A2, _resident("r3", ON), _resident("r4", ON, Tag.EMPTY_NEST)
                ),
            ],
        )
        with store() as uow:
            everywhere = _all_pages(
                lambda a: uow.households.with_tag(Tag.LIVING_ALONE, limit=1, after=a)
            )
            in_a = uow.households.with_tag(Tag.LIVING_ALONE, within=GRID_A).items
        assert ["r1", "r2"] == [e.resident.id for e in everywhere]
        assert [ResidentEntry("h1", BUILDING_A1, _resident("r1", ON, Tag.LIVING_ALONE))] == list(
            in_a
        )

    @pytest.mark.parametrize(
        ("min_age", "max_age"), [(60, None), (None, 70), (70, 80), (0, 0), (80, 86), (None, None)]
    )
    def test_aged_matches_age_on_oldest_first(
        self, store: UowFactory, min_age: int | None, max_age: int | None
    ) -> None:
        """aged() returns exactly the residents whose age_on is in bounds, oldest first."""
        population = _ages_population()
        self.add_households(store, population)
        with store() as uow:
            got = [
                e.resident.id
                for e in _all_pages(
                    lambda a: uow.households.aged(
                        on=ON, min_age=min_age, max_age=max_age, limit=2, after=a
                    )
                )
            ]
        residents = sorted(
            (m for h in population for m in h.members),
            key=lambda m: (m.birth_date, m.id),
        )
        expected = [
            m.id
            for m in residents
            if m.birth_date is not None
            and (min_age is None or age_on(m.birth_date, ON) >= min_age)
            and (max_age is None or age_on(m.birth_date, ON) <= max_age)
        ]
        assert expected == got

    def test_aged_within_a_subtree(self, store: UowFactory) -> None:
        """aged(within=...) keeps only residents of that subtree."""
        self.add_households(store, _ages_population())
        with store() as uow:
            got = {e.cell_code for e in uow.households.aged(on=ON, min_age=0, within=GRID_B).items}
        assert {GRID_B} == got

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"min_age": -1}, "min_age"),
            ({"min_age": 80, "max_age": 60}, "min_age"),
            ({"limit": 0}, "limit"),
            ({"limit": 10_001}, "limit"),
            ({"after": "not-a-cursor"}, "after"),
        ],
    )
    def test_bad_query_arguments_raise_validation_error(
        self, store: UowFactory, kwargs: dict[str, int | str], path: str
    ) -> None:
        """Out-of-range bounds, limits and cursors raise ValidationError naming the argument."""
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.households.aged(on=ON, **kwargs)  # type: ignore[arg-type]
        assert path == info.value.path

    def test_add_many_counts_and_reports_progress(self, store: UowFactory) -> None:
        """add_many stores every household and reports progress per batch and at the end."""
        seen: list[int] = []
        households = (_household(f"h{i:03d}", GRID_B) for i in range(25))
        with store() as uow:
            count = uow.households.add_many(households, batch_size=10, progress=seen.append)
            uow.commit()
        with store() as uow:
            stored = len(_all_pages(lambda a: uow.households.in_subtree(GRID_B, after=a)))
        assert (25, [10, 20, 25], 25) == (count, seen, stored)

    def test_failed_add_many_leaves_the_store_as_before(self, store: UowFactory) -> None:
        """An invalid household mid-stream fails the call and stores none of its households."""
        self.add_households(store, [_household("h0", GRID_A)])

        def stream() -> Iterator[Household]:
            for i in range(1, 8):
                yield _household(f"h{i}", GRID_A if i != 5 else "610102003001001077")

        with store() as uow:
            with pytest.raises(ValidationError):
                uow.households.add_many(stream(), batch_size=2)
            uow.commit()
        with store() as uow:
            assert ["h0"] == [h.id for h in uow.households.in_subtree(GRID_A).items]

    def test_non_household_is_rejected(self, store: UowFactory) -> None:
        """Passing something that is not a Household raises ValidationError."""
        with store() as uow, pytest.raises(ValidationError):
            uow.households.add("h1")  # type: ignore[arg-type]


class UnitOfWorkContract(_Base):
    """Transactions: isolation of uncommitted work, rollback, atomic commits, concurrency."""

    def test_uncommitted_work_is_invisible_and_discarded(self, store: UowFactory) -> None:
        """Another unit does not see uncommitted changes, and leaving without commit drops them."""
        with store() as uow:
            uow.households.add(_household("h1", GRID_A))
            assert "h1" == uow.households.get("h1").id
            assert ["h1"] == [h.id for h in uow.households.in_subtree(GRID_A).items]
            with store() as other, pytest.raises(NotFoundError):
                other.households.get("h1")
        with store() as uow, pytest.raises(NotFoundError):
            uow.households.get("h1")

    def test_exception_rolls_back(self, store: UowFactory) -> None:
        """An exception inside the block rolls back even if commit was never reached."""
        with pytest.raises(RuntimeError), store() as uow:  # noqa: PT012 - the raise is the point
            uow.households.add(_household("h1", GRID_A))
            raise RuntimeError("boom")
        with store() as uow, pytest.raises(NotFoundError):
            uow.households.get("h1")

    def test_explicit_rollback_discards_changes(self, store: UowFactory) -> None:
        """rollback() discards staged changes; later changes can still be committed."""
        with store() as uow:
            uow.households.add(_household("h1", GRID_A))
            uow.rollback()
            uow.households.add(_household("h2", GRID_A))
            uow.commit()
        with store() as uow:
            assert ["h2"] == [h.id for h in uow.households.in_subtree(GRID_A).items]

    def test_conflicting_unit_stores_nothing(self, store: UowFactory) -> None:
        """A unit whose update turns out stale stores none of its other changes either."""
        self.add_households(store, [_household("h1", GRID_A)])
        with store() as uow:
            stale = uow.households.get("h1")
        with store() as winner:
            winner.households.update(winner.households.get("h1"))
            winner.commit()
        with store() as loser:
            loser.households.add(_household("h2", GRID_A))
            # Adapters may refuse a stale write at once or at commit: both count.
            with pytest.raises(ConflictError):  # noqa: PT012
                loser.households.update(stale)
                loser.commit()
        with store() as uow, pytest.raises(NotFoundError):
            uow.households.get("h2")

    def test_concurrent_increments_lose_nothing(self, store: UowFactory) -> None:
        """Threads adding residents to one household with retries on conflict lose none."""
        self.add_households(store, [_household("h1", GRID_A)])
        threads, per_thread = 4, 15

        def work(t: int) -> None:
            for i in range(per_thread):
                resident = _resident(f"t{t}-{i}", ON)
                for _ in range(1000):
                    try:
                        with store() as uow:
                            h = uow.households.get("h1")
                            uow.households.update(h.with_member(resident))
                            uow.commit()
                        break
                    except ConflictError:
                        continue

        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        with store() as uow:
            h = uow.households.get("h1")
        assert (threads * per_thread, threads * per_thread + 1) == (len(h.members), h.version)


# Where each elder of the care contracts lives: resident -> (household, cell).
_HOMES = {
    "r1": ("h1", BUILDING_A1),
    "r2": ("h1", BUILDING_A1),
    "r3": ("h2", BUILDING_A2),
    "r4": ("h3", GRID_B),
    "r5": ("h4", GRID_A),
}


def _elders() -> list[Household]:
    births = {
        "r1": pendulum.Date(1940, 5, 1),
        "r2": pendulum.Date(1944, 3, 3),
        "r3": pendulum.Date(1938, 1, 9),
        "r4": pendulum.Date(1950, 7, 7),
        "r5": pendulum.Date(1946, 2, 2),
    }
    homes: dict[str, tuple[str, list[Resident]]] = {}
    for rid, (hid, cell) in _HOMES.items():
        homes.setdefault(hid, (cell, []))[1].append(_resident(rid, births[rid]))
    return [_household(hid, cell, *members) for hid, (cell, members) in homes.items()]


def _contact(
    cid: str,
    rid: str,
    at: pendulum.DateTime,
    *,
    household_id: str | None = None,
    cell_code: str | None = None,
) -> ContactAttempt:
    """Return a phone call to ``rid`` at ``at``; the household and cell default to theirs."""
    hid, cell = _HOMES.get(rid, ("h1", BUILDING_A1))
    return ContactAttempt(
        cid,
        rid,
        household_id or hid,
        cell_code or cell,
        ContactMethod.PHONE,
        Outcome.WELL,
        "w1",
        at,
    )


def _task(
    tid: str,
    rid: str,
    start: pendulum.DateTime,
    *,
    due: pendulum.DateTime | None = None,
    household_id: str | None = None,
    cell_code: str | None = None,
    state: TaskState = TaskState.OPEN,
) -> CareTask:
    """Return a home-visit task for ``rid`` starting at ``start``, due 2 hours later by default."""
    hid, cell = _HOMES.get(rid, ("h1", BUILDING_A1))
    due = start.add(hours=2) if due is None else due
    return CareTask(
        tid,
        rid,
        household_id or hid,
        cell_code or cell,
        TaskKind.ROUTINE,
        ContactMethod.HOME_VISIT,
        start,
        due,
        due.add(days=7),
        "routine home visit",
        "例行上门探访",
        "cadence:high:home_visit",
        tier="high",
        state=state,
    )


_BAD_REFERENCES = pytest.mark.parametrize(
    ("rid", "hid", "cell", "path"),
    [
        ("r99", "h1", BUILDING_A1, "resident_id"),
        ("r1", "h2", BUILDING_A2, "household_id"),
        ("r1", "h99", BUILDING_A1, "household_id"),
        ("r1", "h1", BUILDING_A2, "cell_code"),
    ],
    ids=["unknown-resident", "other-household", "unknown-household", "wrong-cell"],
)


class _CareBase(_Base):
    """Fixtures shared by the care contracts."""

    @pytest.fixture
    def elders(self, store: UowFactory) -> UowFactory:
        """Return the store with the cell tree and the elders' households committed."""
        self.add_households(store, _elders())
        return store


class ContactRepositoryContract(_CareBase):
    """What every ``ContactRepository`` does: an append-only ledger of contact attempts."""

    def test_contact_add_then_get_round_trips_at_version_1(self, elders: UowFactory) -> None:
        """A committed contact comes back equal, at version 1, its instant and offset kept."""
        contact = attrs.evolve(
            _contact("c1", "r1", T0.add(microseconds=123_456)),
            method=ContactMethod.HOME_VISIT,
            outcome=Outcome.UNWELL,
            notes="头晕，已通知女儿",
            task_id="t1",
        )
        with elders() as uow:
            added = uow.contacts.add(contact)
            uow.commit()
        with elders() as uow:
            got = uow.contacts.get("c1")
        expected = attrs.evolve(contact, version=1)
        assert (expected, expected, contact.at.isoformat()) == (added, got, got.at.isoformat())

    def test_contact_get_unknown_raises_not_found(self, elders: UowFactory) -> None:
        """Getting an unknown contact id raises NotFoundError."""
        with elders() as uow, pytest.raises(NotFoundError):
            uow.contacts.get("c404")

    @_BAD_REFERENCES
    def test_contact_with_bad_references_is_rejected_and_not_stored(
        self, elders: UowFactory, rid: str, hid: str, cell: str, path: str
    ) -> None:
        """A contact for an unknown resident, another household or cell names the field."""
        with elders() as uow:
            with pytest.raises(ValidationError) as info:
                uow.contacts.add(_contact("c1", rid, T0, household_id=hid, cell_code=cell))
            uow.commit()
        assert path == info.value.path
        with elders() as uow:
            with pytest.raises(NotFoundError):
                uow.contacts.get("c1")
            assert () == uow.contacts.for_resident(rid).items

    def test_contact_duplicate_id_conflicts(self, elders: UowFactory) -> None:
        """Adding a contact id that is stored, or staged in the same unit, raises ConflictError."""
        with elders() as uow:
            uow.contacts.add(_contact("c1", "r1", T0))
            with pytest.raises(ConflictError):
                uow.contacts.add(_contact("c1", "r2", T0))
            uow.commit()
        with elders() as uow, pytest.raises(ConflictError):
            uow.contacts.add(_contact("c1", "r3", T0.add(days=1)))
        with elders() as uow:
            assert "r1" == uow.contacts.get("c1").resident_id

    def test_contact_ledger_has_no_update_or_remove(self, elders: UowFactory) -> None:
        """Contacts are append-only: the repository offers no update or remove."""
        with elders() as uow:
            offered = {name for name in ("update", "remove") if hasattr(uow.contacts, name)}
        assert set() == offered

    def test_contact_for_a_household_added_in_the_same_unit(self, elders: UowFactory) -> None:
        """A resident staged in the same unit of work can be contacted before the commit."""
        with elders() as uow:
            uow.households.add(_household("h9", GRID_B, _resident("r9", pendulum.Date(1941, 1, 1))))
            uow.contacts.add(_contact("c9", "r9", T0, household_id="h9", cell_code=GRID_B))
            uow.commit()
        with elders() as uow:
            assert ["c9"] == [c.id for c in uow.contacts.for_resident("r9").items]

    @staticmethod
    def resident_history() -> list[ContactAttempt]:
        """Return r1's contacts, with two at the same instant in different zones, and r2's."""
        return [
            _contact("c1", "r1", T0),
            _contact("c2", "r1", T0.add(days=1)),
            _contact("c3", "r1", T0.in_timezone("UTC")),
            _contact("c4", "r1", T0.subtract(days=3).in_timezone("Europe/London")),
            _contact("c5", "r1", T0.add(days=1, microseconds=1)),
            _contact("x1", "r2", T0.add(days=2)),
        ]

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_contact_for_resident_pages_newest_first(self, elders: UowFactory, limit: int) -> None:
        """for_resident yields the resident's contacts once each, newest first, ties by id."""
        with elders() as uow:
            for c in self.resident_history():
                uow.contacts.add(c)
            uow.commit()
        with elders() as uow:
            got = [
                c.id
                for c in _all_pages(lambda a: uow.contacts.for_resident("r1", limit=limit, after=a))
            ]
        assert ["c5", "c2", "c3", "c1", "c4"] == got

    def test_contact_for_resident_since_is_inclusive_and_compares_instants(
        self, elders: UowFactory
    ) -> None:
        """``since`` in UTC keeps the contacts made at that instant in Asia/Shanghai."""
        with elders() as uow:
            for c in self.resident_history():
                uow.contacts.add(c)
            uow.commit()
        with elders() as uow:
            since = T0.in_timezone("UTC")
            got = [c.id for c in uow.contacts.for_resident("r1", since=since).items]
        assert ["c5", "c2", "c3", "c1"] == got

    def test_for_resident_without_contacts_is_empty(self, elders: UowFactory) -> None:
        """A resident never contacted has an empty history (not an error)."""
        with elders() as uow:
            page = uow.contacts.for_resident("r5")
        assert Page(()) == page

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_contact_in_subtree_returns_the_time_range_by_instant(
        self, elders: UowFactory, limit: int
    ) -> None:
        """in_subtree keeps ``since <= at < until`` in the subtree, by instant then id."""
        until = T0.add(days=1)
        contacts = [
            _contact("a", "r1", T0.subtract(microseconds=1)),
            _contact("b", "r1", T0.in_timezone("UTC")),
            _contact("d", "r5", T0.add(hours=1)),
            _contact("c", "r3", T0.add(hours=1).in_timezone("Europe/Berlin")),
            _contact("e", "r4", T0.add(hours=2)),
            _contact("f", "r2", until.subtract(microseconds=1)),
            _contact("g", "r3", until.in_timezone("America/New_York")),
        ]
        with elders() as uow:
            for c in contacts:
                uow.contacts.add(c)
            uow.commit()
        with elders() as uow:
            got = [
                c.id
                for c in _all_pages(
                    lambda a: uow.contacts.in_subtree(
                        GRID_A, since=T0, until=until, limit=limit, after=a
                    )
                )
            ]
        assert ["b", "c", "d", "f"] == got

    def test_contact_in_subtree_of_unknown_cell_raises_not_found(self, elders: UowFactory) -> None:
        """Asking for the contacts of an unknown cell raises NotFoundError."""
        with elders() as uow, pytest.raises(NotFoundError):
            uow.contacts.in_subtree(UNKNOWN_CELL, since=T0, until=T0.add(days=1))

    @pytest.mark.parametrize(
        ("method", "kwargs", "path"),
        [
            ("for_resident", {"since": "2026-11-28T09:00:00+08:00"}, "since"),
            ("for_resident", {"since": pendulum.naive(2026, 11, 28)}, "since"),
            ("for_resident", {"after": "not-a-cursor"}, "after"),
            ("for_resident", {"limit": 0}, "limit"),
            ("in_subtree", {"since": ON, "until": T0}, "since"),
            ("in_subtree", {"since": T0, "until": pendulum.naive(2026, 11, 29)}, "until"),
            ("in_subtree", {"since": T0, "until": T0.subtract(days=1)}, "until"),
            ("in_subtree", {"since": T0, "until": T0.add(days=1), "limit": 10_001}, "limit"),
        ],
    )
    def test_contact_bad_query_arguments_raise_validation_error(
        self, elders: UowFactory, method: str, kwargs: dict[str, object], path: str
    ) -> None:
        """Bad instants, ranges, limits and cursors raise ValidationError naming the argument."""
        with elders() as uow:
            query = getattr(uow.contacts, method)
            with pytest.raises(ValidationError) as info:
                query("r1" if method == "for_resident" else GRID_A, **kwargs)
        assert path == info.value.path

    def test_uncommitted_contacts_are_invisible_and_discarded(self, elders: UowFactory) -> None:
        """A unit sees its own new contacts; others do not, and without commit none is kept."""
        with elders() as uow:
            uow.contacts.add(_contact("c1", "r1", T0))
            mine = (
                uow.contacts.get("c1").id,
                [c.id for c in uow.contacts.for_resident("r1").items],
                [
                    c.id
                    for c in uow.contacts.in_subtree(GRID_A, since=T0, until=T0.add(days=1)).items
                ],
            )
            with elders() as other:
                theirs = [c.id for c in other.contacts.for_resident("r1").items]
        assert (("c1", ["c1"], ["c1"]), []) == (mine, theirs)
        with elders() as uow:
            assert () == uow.contacts.for_resident("r1").items
            with pytest.raises(NotFoundError):
                uow.contacts.get("c1")

    def test_non_contact_is_rejected(self, elders: UowFactory) -> None:
        """Passing something that is not a ContactAttempt raises ValidationError."""
        with elders() as uow, pytest.raises(ValidationError) as info:
            uow.contacts.add("c1")  # type: ignore[arg-type]
        assert "contact" == info.value.path


class CareTaskRepositoryContract(_CareBase):
    """What every ``CareTaskRepository`` does: tasks with windows, indexed for worklists."""

    @staticmethod
    def add_tasks(store: UowFactory, tasks: Iterable[CareTask]) -> None:
        """Commit ``tasks`` in one unit of work."""
        with store() as uow:
            for t in tasks:
                uow.care_tasks.add(t)
            uow.commit()

    @staticmethod
    def close(store: UowFactory, *task_ids: str) -> None:
        """Mark the tasks done, in one unit of work."""
        with store() as uow:
            for tid in task_ids:
                uow.care_tasks.update(uow.care_tasks.get(tid).done("c0"))
            uow.commit()

    def test_task_add_then_get_round_trips_at_version_1(self, elders: UowFactory) -> None:
        """A committed task comes back equal, at version 1, its instants and offsets kept."""
        task = _task("t1", "r1", T0.add(microseconds=7), due=T0.add(hours=2).in_timezone("UTC"))
        with elders() as uow:
            added = uow.care_tasks.add(task)
            uow.commit()
        with elders() as uow:
            got = uow.care_tasks.get("t1")
        expected = attrs.evolve(task, version=1)
        instants = [t.isoformat() for t in (task.start, task.due, task.end)]
        assert (expected, expected, instants) == (
            added,
            got,
            [t.isoformat() for t in (got.start, got.due, got.end)],
        )

    def test_task_get_unknown_raises_not_found(self, elders: UowFactory) -> None:
        """Getting an unknown task id raises NotFoundError."""
        with elders() as uow, pytest.raises(NotFoundError):
            uow.care_tasks.get("t404")

    @_BAD_REFERENCES
    def test_task_with_bad_references_is_rejected_and_not_stored(
        self, elders: UowFactory, rid: str, hid: str, cell: str, path: str
    ) -> None:
        """A task for an unknown resident, another household or cell names the field."""
        with elders() as uow:
            with pytest.raises(ValidationError) as info:
                uow.care_tasks.add(_task("t1", rid, T0, household_id=hid, cell_code=cell))
            uow.commit()
        assert path == info.value.path
        with elders() as uow:
            with pytest.raises(NotFoundError):
                uow.care_tasks.get("t1")
            assert () == uow.care_tasks.open_for_resident(rid)

    def test_task_duplicate_id_conflicts(self, elders: UowFactory) -> None:
        """Adding a task id that is stored raises ConflictError and keeps the stored task."""
        self.add_tasks(elders, [_task("t1", "r1", T0)])
        with elders() as uow, pytest.raises(ConflictError):
            uow.care_tasks.add(_task("t1", "r3", T0))
        with elders() as uow:
            assert "r1" == uow.care_tasks.get("t1").resident_id

    def test_task_update_bumps_version_and_stale_update_conflicts(self, elders: UowFactory) -> None:
        """An update returns version 2; a second update from version 1 raises ConflictError."""
        self.add_tasks(elders, [_task("t1", "r1", T0)])
        with elders() as uow:
            original = uow.care_tasks.get("t1")
            closed = uow.care_tasks.update(original.done("c1"))
            uow.commit()
        # Adapters may refuse a stale write at once or at commit: both count.
        with elders() as uow, pytest.raises(ConflictError):  # noqa: PT012
            uow.care_tasks.update(original.cancelled("moved away"))
            uow.commit()
        with elders() as uow:
            got = uow.care_tasks.get("t1")
        assert (2, TaskState.DONE, "c1") == (closed.version, got.state, got.closed_by)

    def test_update_of_unknown_task_raises_not_found(self, elders: UowFactory) -> None:
        """Updating a task that was never stored raises NotFoundError."""
        with elders() as uow, pytest.raises(NotFoundError):
            uow.care_tasks.update(attrs.evolve(_task("t1", "r1", T0), version=1))

    def test_update_cannot_hand_a_task_to_another_resident(self, elders: UowFactory) -> None:
        """Changing a stored task's resident raises ValidationError on resident_id."""
        self.add_tasks(elders, [_task("t1", "r1", T0)])
        with elders() as uow:
            task = uow.care_tasks.get("t1")
            with pytest.raises(ValidationError) as info:
                uow.care_tasks.update(attrs.evolve(task, resident_id="r2"))
        assert "resident_id" == info.value.path

    def test_update_moving_a_task_checks_the_household(self, elders: UowFactory) -> None:
        """Moving a task to a cell that is not its household's raises ValidationError."""
        self.add_tasks(elders, [_task("t1", "r1", T0)])
        with elders() as uow:
            task = uow.care_tasks.get("t1")
            with pytest.raises(ValidationError) as info:
                uow.care_tasks.update(attrs.evolve(task, cell_code=BUILDING_A2))
        assert "cell_code" == info.value.path

    def test_task_of_a_removed_household_can_still_be_closed(self, elders: UowFactory) -> None:
        """A task whose household was removed (moved out, deceased) can still be cancelled."""
        self.add_tasks(elders, [_task("t1", "r3", T0)])
        with elders() as uow:
            uow.households.remove(uow.households.get("h2"))
            uow.commit()
        with elders() as uow:
            cancelled = uow.care_tasks.update(uow.care_tasks.get("t1").cancelled("moved out"))
            uow.commit()
        with elders() as uow:
            assert (2, ()) == (cancelled.version, uow.care_tasks.open_for_resident("r3"))

    def test_task_open_for_resident_orders_by_due_then_id(self, elders: UowFactory) -> None:
        """open_for_resident lists the resident's open tasks by due instant, then id."""
        self.add_tasks(
            elders,
            [
                _task("t3", "r1", T0.add(days=1)),
                _task("t2", "r1", T0.in_timezone("UTC")),
                _task("t1", "r1", T0),
                _task("t0", "r1", T0.subtract(days=1), state=TaskState.DONE),
                _task("t4", "r1", T0.subtract(days=2)),
                _task("x1", "r2", T0),
            ],
        )
        self.close(elders, "t4")
        with elders() as uow:
            got = [t.id for t in uow.care_tasks.open_for_resident("r1")]
        assert ["t1", "t2", "t3"] == got

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_task_open_in_subtree_pages_by_due_then_id(
        self, elders: UowFactory, limit: int
    ) -> None:
        """open_in_subtree yields the subtree's open tasks started before the instant, once each."""
        horizon = T0.add(days=1)
        self.add_tasks(
            elders,
            [
                _task("a", "r1", T0.subtract(days=2), due=T0.subtract(days=1)),
                _task("c", "r5", T0.in_timezone("UTC")),
                _task("b", "r3", T0),
                _task("d", "r4", T0),
                _task("e", "r2", horizon.in_timezone("UTC")),
                _task("f", "r2", horizon.subtract(microseconds=1), due=horizon.add(days=3)),
                _task("g", "r1", T0, state=TaskState.DONE),
                _task("h", "r1", T0.add(hours=1)),
                _task("i", "r3", T0.subtract(hours=1), state=TaskState.CANCELLED),
            ],
        )
        self.close(elders, "h")
        with elders() as uow:
            got = [
                t.id
                for t in _all_pages(
                    lambda a: uow.care_tasks.open_in_subtree(
                        GRID_A, starting_before=horizon, limit=limit, after=a
                    )
                )
            ]
        assert ["a", "b", "c", "f"] == got

    def test_closed_tasks_leave_the_open_queries(self, elders: UowFactory) -> None:
        """Done and cancelled tasks are kept but no longer listed as open."""
        self.add_tasks(elders, [_task("t1", "r1", T0), _task("t2", "r1", T0.add(hours=1))])
        with elders() as uow:
            uow.care_tasks.update(uow.care_tasks.get("t1").done("c1"))
            uow.care_tasks.update(uow.care_tasks.get("t2").cancelled("hospitalised"))
            uow.commit()
        with elders() as uow:
            open_now = (
                uow.care_tasks.open_for_resident("r1"),
                uow.care_tasks.open_in_subtree(DISTRICT, starting_before=T0.add(days=9)).items,
            )
            states = [uow.care_tasks.get(t).state for t in ("t1", "t2")]
        assert (((), ()), [TaskState.DONE, TaskState.CANCELLED]) == (open_now, states)

    def test_reopened_task_returns_to_the_open_queries(self, elders: UowFactory) -> None:
        """A task updated back to open is listed again."""
        self.add_tasks(elders, [_task("t1", "r1", T0)])
        self.close(elders, "t1")
        with elders() as uow:
            task = uow.care_tasks.get("t1")
            uow.care_tasks.update(attrs.evolve(task, state=TaskState.OPEN, closed_by=""))
            uow.commit()
        with elders() as uow:
            got = [
                t.id
                for t in uow.care_tasks.open_in_subtree(
                    GRID_A, starting_before=T0.add(days=1)
                ).items
            ]
        assert ["t1"] == got

    def test_task_open_in_subtree_of_unknown_cell_raises_not_found(
        self, elders: UowFactory
    ) -> None:
        """Asking for the open tasks of an unknown cell raises NotFoundError."""
        with elders() as uow, pytest.raises(NotFoundError):
            uow.care_tasks.open_in_subtree(UNKNOWN_CELL, starting_before=T0)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"starting_before": "2026-11-28T09:00:00+08:00"}, "starting_before"),
            ({"starting_before": pendulum.naive(2026, 11, 28)}, "starting_before"),
            ({"starting_before": ON}, "starting_before"),
            ({"starting_before": T0, "limit": 0}, "limit"),
            ({"starting_before": T0, "after": "not-a-cursor"}, "after"),
        ],
    )
    def test_task_bad_query_arguments_raise_validation_error(
        self, elders: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """A non-instant, a bad limit or cursor raises ValidationError naming the argument."""
        with elders() as uow, pytest.raises(ValidationError) as info:
            uow.care_tasks.open_in_subtree(GRID_A, **kwargs)  # type: ignore[arg-type]
        assert path == info.value.path

    def test_uncommitted_tasks_are_invisible_and_discarded(self, elders: UowFactory) -> None:
        """A unit sees its own new tasks; others do not, and without commit none is kept."""
        with elders() as uow:
            uow.care_tasks.add(_task("t1", "r1", T0))
            mine = (
                [t.id for t in uow.care_tasks.open_for_resident("r1")],
                [
                    t.id
                    for t in uow.care_tasks.open_in_subtree(
                        GRID_A, starting_before=T0.add(days=1)
                    ).items
                ],
            )
            with elders() as other:
                theirs = other.care_tasks.open_for_resident("r1")
        assert ((["t1"], ["t1"]), ()) == (mine, theirs)
        with elders() as uow:
            assert () == uow.care_tasks.open_for_resident("r1")
            with pytest.raises(NotFoundError):
                uow.care_tasks.get("t1")

    def test_a_unit_sees_its_own_closed_tasks_leave(self, elders: UowFactory) -> None:
        """Within a unit, a task closed but not committed is no longer open; others still see it."""
        self.add_tasks(elders, [_task("t1", "r1", T0), _task("t2", "r2", T0)])
        horizon = T0.add(days=1)
        with elders() as uow:
            uow.care_tasks.update(uow.care_tasks.get("t1").done("c1"))
            mine = [
                t.id for t in uow.care_tasks.open_in_subtree(GRID_A, starting_before=horizon).items
            ]
            with elders() as other:
                theirs = [
                    t.id
                    for t in other.care_tasks.open_in_subtree(GRID_A, starting_before=horizon).items
                ]
        assert (["t2"], ["t1", "t2"]) == (mine, theirs)

    def test_conflicting_unit_stores_no_contacts_or_tasks(self, elders: UowFactory) -> None:
        """A unit whose task update turns out stale keeps none of its contacts or new tasks."""
        self.add_tasks(elders, [_task("t1", "r1", T0)])
        with elders() as uow:
            stale = uow.care_tasks.get("t1")
        self.close(elders, "t1")
        with elders() as loser:
            loser.contacts.add(_contact("c1", "r1", T0))
            loser.care_tasks.add(_task("t2", "r1", T0))
            with pytest.raises(ConflictError):  # noqa: PT012 - at update or at commit
                loser.care_tasks.update(stale.done("c1"))
                loser.commit()
        with elders() as uow:
            kept = (uow.contacts.for_resident("r1").items, uow.care_tasks.open_for_resident("r1"))
        assert ((), ()) == kept

    def test_task_add_many_counts_and_reports_progress(self, elders: UowFactory) -> None:
        """add_many stores every task and reports progress per batch and at the end."""
        seen: list[int] = []
        tasks = (_task(f"t{i:03d}", "r4", T0.add(minutes=i)) for i in range(25))
        with elders() as uow:
            count = uow.care_tasks.add_many(tasks, batch_size=10, progress=seen.append)
            uow.commit()
        with elders() as uow:
            stored = len(uow.care_tasks.open_for_resident("r4"))
        assert (25, [10, 20, 25], 25) == (count, seen, stored)

    def test_task_failed_add_many_leaves_the_store_as_before(self, elders: UowFactory) -> None:
        """A task with a bad reference mid-stream fails the call and stores none of its tasks."""
        self.add_tasks(elders, [_task("t0", "r4", T0)])

        def stream() -> Iterator[CareTask]:
            for i in range(1, 8):
                yield _task(f"t{i}", "r4" if i != 5 else "r99", T0.add(hours=i))

        with elders() as uow:
            with pytest.raises(ValidationError):
                uow.care_tasks.add_many(stream(), batch_size=2)
            uow.commit()
        with elders() as uow:
            assert ["t0"] == [t.id for t in uow.care_tasks.open_for_resident("r4")]

    def test_task_add_many_with_a_stored_id_conflicts(self, elders: UowFactory) -> None:
        """A stream repeating a stored task id raises ConflictError and stores none of it."""
        self.add_tasks(elders, [_task("t3", "r4", T0)])
        tasks = [_task(f"t{i}", "r4", T0.add(hours=i)) for i in range(1, 6)]
        with elders() as uow:
            with pytest.raises(ConflictError):
                uow.care_tasks.add_many(tasks, batch_size=2)
            uow.commit()
        with elders() as uow:
            assert ["t3"] == [t.id for t in uow.care_tasks.open_for_resident("r4")]

    def test_non_task_is_rejected(self, elders: UowFactory) -> None:
        """Passing something that is not a CareTask raises ValidationError."""
        with elders() as uow, pytest.raises(ValidationError) as info:
            uow.care_tasks.add("t1")  # type: ignore[arg-type]
        assert "task" == info.value.path


# -- cases ---------------------------------------------------------------------------------------

_CASE_FLOW = CaseWorkflow(WorkCalendar())
_FROM_WORKFLOW: Literal["workflow"] = "workflow"
# The kit's hypothesis runs share one store per test, examples differ in ids; an adapter's store
# is costly to make, so the health check against function-scoped fixtures is off.
_KIT_HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)


def _cell(code: str) -> GridCell:
    """Return the kit's cell ``code``, or a grid of that code under the community if unknown."""
    known = {c.code: c for c in _cells()}
    return known.get(code) or GridCell(code, "未知网格", GridLevel.GRID, COMMUNITY)


def _case(
    cid: str,
    cell: str = BUILDING_A1,
    at: pendulum.DateTime = T0,
    *,
    owner: str = GRID_A,
    next_check: pendulum.DateTime | Literal["workflow"] | None = _FROM_WORKFLOW,
    external_id: str | None = None,
) -> Case:
    """Return a complaint reported at ``at`` in ``cell``, owned by ``owner``.

    Its ``next_check`` is the workflow's (the registration deadline) unless one is given.
    """
    case = _CASE_FLOW.report(
        case_id=cid,
        category="complaint",
        source=CaseSource.HOTLINE_12345,
        location=Location(cell, address="铁一村1号楼2单元301室"),
        reporter=Reporter(name="王秀英", phone="13812345678"),
        description="楼道堆放杂物，堵塞消防通道",
        owner=_cell(owner),
        at=at,
        actor="w1",
        external_id=external_id,
    ).case
    if next_check == _FROM_WORKFLOW:
        return case
    return attrs.evolve(case, next_check=next_check)


def _advance(case: Case, *steps: tuple[Action, CaseRole], to: GridCell | None = None) -> Case:
    """Take ``steps`` on ``case``, an hour apart after its last history entry."""
    at = case.history[-1].at
    for action, role in steps:
        at = at.add(hours=1)
        case = _CASE_FLOW.apply(
            case,
            action,
            actor="d1",
            role=role,
            at=at,
            note="已处理",
            to=to if action is Action.DISPATCH else None,
            worker="w2" if action is Action.DISPATCH else None,
        ).case
    return case


_TO_CLOSED = (
    (Action.REGISTER, CaseRole.DISPATCHER),
    (Action.DISPATCH, CaseRole.DISPATCHER),
    (Action.START, CaseRole.HANDLER),
    (Action.HANDLE, CaseRole.HANDLER),
    (Action.VERIFY, CaseRole.VERIFIER),
    (Action.CLOSE, CaseRole.DISPATCHER),
)


def _closed(case: Case) -> Case:
    """Return ``case`` taken through the closed loop to closed (its next check cleared)."""
    return _advance(case, *_TO_CLOSED)


def _instants(case: Case) -> list[str]:
    """Return every instant of ``case`` as ISO text, offsets included."""
    out = [case.reported_at.isoformat()]
    out.extend(t.isoformat() for t in (case.level_since, case.next_check) if t is not None)
    for d in case.deadlines:
        out.extend(t.isoformat() for t in (d.start, d.due, d.met_at, d.paused_at) if t)
    out.extend(h.at.isoformat() for h in case.history)
    return out


def _ids(page_or_items: Page[Case] | Iterable[Case]) -> list[str]:
    items = page_or_items.items if isinstance(page_or_items, Page) else page_or_items
    return [c.id for c in items]


class CaseRepositoryContract(_Base):
    """What every ``CaseRepository`` does: cases indexed by next check, by cell and external id."""

    @staticmethod
    def add_cases(store: UowFactory, cases: Iterable[Case]) -> None:
        """Commit ``cases`` in one unit of work."""
        with store() as uow:
            for case in cases:
                uow.cases.add(case)
            uow.commit()

    @staticmethod
    def all_due(uow: UnitOfWork, at: pendulum.DateTime, limit: int = 100) -> list[str]:
        """Return the ids of every case due at ``at``, following the cursors."""
        return _ids(_all_pages(lambda a: uow.cases.due(at_or_before=at, limit=limit, after=a)))

    @staticmethod
    def all_open(uow: UnitOfWork, cell: str, limit: int = 100) -> list[str]:
        """Return the ids of every open case of the subtree ``cell``, following the cursors."""
        return _ids(_all_pages(lambda a: uow.cases.open_in_subtree(cell, limit=limit, after=a)))

    @staticmethod
    def all_reported(
        uow: UnitOfWork,
        cell: str,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = 100,
    ) -> list[str]:
        """Return the ids of the subtree's cases reported in ``[since, until)``."""
        return _ids(
            _all_pages(
                lambda a: uow.cases.reported_in_subtree(
                    cell, since=since, until=until, limit=limit, after=a
                )
            )
        )

    def test_case_add_then_get_round_trips_at_version_1(self, store: UowFactory) -> None:
        """A committed case comes back equal, at version 1, every instant with its offset."""
        reported = _case(
            "k1",
            at=T0.add(microseconds=7).in_timezone("Europe/Berlin"),
            external_id="12345-20261128-0001",
        )
        case = _advance(
            attrs.evolve(
                reported,
                location=Location(BUILDING_A1, address="铁一村1号楼", point=(108.95, 34.29)),
            ),
            (Action.REGISTER, CaseRole.DISPATCHER),
            (Action.DISPATCH, CaseRole.DISPATCHER),
            to=_cell(GRID_B),
        )
        with store() as uow:
            added = uow.cases.add(case)
            uow.commit()
        with store() as uow:
            got = uow.cases.get("k1")
        expected = attrs.evolve(case, version=1)
        assert (expected, expected, _instants(case)) == (added, got, _instants(got))

    def test_case_get_unknown_raises_not_found(self, store: UowFactory) -> None:
        """Getting an unknown case id raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.cases.get("k404")

    def test_case_duplicate_id_conflicts(self, store: UowFactory) -> None:
        """Adding a case id that is stored, or staged in the same unit, raises ConflictError."""
        with store() as uow:
            uow.cases.add(_case("k1"))
            with pytest.raises(ConflictError):
                uow.cases.add(_case("k1", GRID_B))
            uow.commit()
        with store() as uow, pytest.raises(ConflictError):
            uow.cases.add(_case("k1", BUILDING_A2))
        with store() as uow:
            assert BUILDING_A1 == uow.cases.get("k1").cell_code

    def test_case_duplicate_external_id_conflicts(self, store: UowFactory) -> None:
        """A second case with a stored or staged external id raises ConflictError; none is kept."""
        with store() as uow:
            uow.cases.add(_case("k1", external_id="E-1"))
            with pytest.raises(ConflictError):
                uow.cases.add(_case("k2", external_id="E-1"))
            uow.commit()
        with store() as uow, pytest.raises(ConflictError):
            uow.cases.add(_case("k3", external_id="E-1"))
        with store() as uow:
            found = uow.cases.by_external_id("E-1")
            missing = [cid for cid in ("k2", "k3") if not self._exists(uow, cid)]
            unknown = uow.cases.by_external_id("E-2")
        assert ("k1", ["k2", "k3"], None) == (found and found.id, missing, unknown)

    @staticmethod
    def _exists(uow: UnitOfWork, case_id: str) -> bool:
        try:
            uow.cases.get(case_id)
        except NotFoundError:
            return False
        return True

    def test_case_update_taking_a_used_external_id_conflicts(self, store: UowFactory) -> None:
        """An update giving a case another case's external id raises ConflictError."""
        self.add_cases(store, [_case("k1", external_id="E-1"), _case("k2")])
        with store() as uow:
            k2 = uow.cases.get("k2")
            with pytest.raises(ConflictError):  # noqa: PT012 - at update or at commit
                uow.cases.update(attrs.evolve(k2, external_id="E-1"))
                uow.commit()
        with store() as uow:
            found = uow.cases.by_external_id("E-1")
            kept = uow.cases.get("k2")
        assert ("k1", None, 1) == (found and found.id, kept.external_id, kept.version)

    def test_case_external_id_can_pass_to_another_case(self, store: UowFactory) -> None:
        """Within one unit, an external id dropped by one case can be given to another."""
        self.add_cases(store, [_case("k1", external_id="E-1"), _case("k2")])
        with store() as uow:
            uow.cases.update(attrs.evolve(uow.cases.get("k1"), external_id=None))
            uow.cases.update(attrs.evolve(uow.cases.get("k2"), external_id="E-1"))
            mine = uow.cases.by_external_id("E-1")
            uow.commit()
        with store() as uow:
            found = uow.cases.by_external_id("E-1")
        assert ("k2", "k2") == (mine and mine.id, found and found.id)

    @pytest.mark.parametrize("where", ["location", "owner"])
    def test_case_in_unknown_cell_is_rejected_and_not_stored(
        self, store: UowFactory, where: str
    ) -> None:
        """A case whose location or owner cell is not stored raises NotFoundError on that cell."""
        case = (
            _case("k1", UNKNOWN_CELL, owner=GRID_A)
            if where == "location"
            else _case("k1", BUILDING_A1, owner=UNKNOWN_CELL)
        )
        with store() as uow:
            with pytest.raises(NotFoundError) as info:
                uow.cases.add(case)
            uow.commit()
        with store() as uow:
            stored = (self._exists(uow, "k1"), self.all_due(uow, T0.add(years=1)))
        assert (("cell", UNKNOWN_CELL), (False, [])) == (
            (info.value.kind, info.value.key),
            stored,
        )

    def test_case_update_to_an_unknown_owner_cell_raises_not_found(self, store: UowFactory) -> None:
        """Handing a stored case to a cell that is not stored raises NotFoundError."""
        self.add_cases(store, [_case("k1")])
        with store() as uow:
            case = uow.cases.get("k1")
            with pytest.raises(NotFoundError) as info:
                uow.cases.update(attrs.evolve(case, owner_cell=UNKNOWN_CELL))
        assert ("cell", UNKNOWN_CELL) == (info.value.kind, info.value.key)

    def test_case_update_bumps_version_and_stale_update_conflicts(self, store: UowFactory) -> None:
        """An update returns version 2; a second update from version 1 raises ConflictError."""
        self.add_cases(store, [_case("k1")])
        with store() as uow:
            original = uow.cases.get("k1")
            registered = uow.cases.update(
                _advance(original, (Action.REGISTER, CaseRole.DISPATCHER))
            )
            uow.commit()
        # Adapters may refuse a stale write at once or at commit: both count.
        with store() as uow, pytest.raises(ConflictError):  # noqa: PT012
            uow.cases.update(
                _advance(original, (Action.REJECT, CaseRole.DISPATCHER)),
            )
            uow.commit()
        with store() as uow:
            got = uow.cases.get("k1")
        assert (2, CaseState.REGISTERED, 2) == (registered.version, got.state, got.version)

    def test_update_of_unknown_case_raises_not_found(self, store: UowFactory) -> None:
        """Updating a case that was never stored raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.cases.update(attrs.evolve(_case("k1"), version=1))

    def test_case_rollback_leaves_nothing(self, store: UowFactory) -> None:
        """Cases added then rolled back are gone from every query, in the unit and after it."""
        window = (T0.subtract(days=1), T0.add(days=1))
        with store() as uow:
            uow.cases.add(_case("k1", external_id="E-1", next_check=T0))
            uow.rollback()
            inside = (
                self.all_due(uow, T0),
                self.all_open(uow, DISTRICT),
                self.all_reported(uow, DISTRICT, *window),
                uow.cases.by_external_id("E-1"),
            )
        with store() as uow:
            after = (
                self.all_due(uow, T0),
                self.all_open(uow, DISTRICT),
                self.all_reported(uow, DISTRICT, *window),
                uow.cases.by_external_id("E-1"),
                self._exists(uow, "k1"),
            )
        assert (([], [], [], None), ([], [], [], None, False)) == (inside, after)

    def test_conflicting_unit_stores_no_cases(self, store: UowFactory) -> None:
        """A unit whose case update turns out stale keeps none of its new cases."""
        self.add_cases(store, [_case("k1")])
        with store() as uow:
            stale = uow.cases.get("k1")
        with store() as winner:
            winner.cases.update(winner.cases.get("k1"))
            winner.commit()
        with store() as loser:
            loser.cases.add(_case("k2", GRID_B))
            with pytest.raises(ConflictError):  # noqa: PT012 - at update or at commit
                loser.cases.update(stale)
                loser.commit()
        with store() as uow:
            assert ["k1"] == self.all_open(uow, DISTRICT)

    @staticmethod
    def due_population() -> list[Case]:
        """Return cases due before, at, and after ``T0``, in several zones, or never."""
        return [
            _case("c", next_check=T0),
            _case("d", next_check=T0.add(microseconds=1)),
            _case("b", GRID_B, next_check=T0.in_timezone("UTC")),
            _case("a", next_check=T0.subtract(days=1)),
            _case("e", next_check=None),
            _case(
                "f", BUILDING_A2, next_check=T0.subtract(hours=1).in_timezone("America/New_York")
            ),
            _closed(_case("g", at=T0.subtract(days=3))),
            _case("h", OTHER_STREET, owner=OTHER_STREET, next_check=T0.subtract(days=2)),
        ]

    @pytest.mark.parametrize("limit", [1, 2, 3, MAX_PAGE_SIZE])
    def test_case_due_returns_exactly_the_due_cases_by_next_check_then_id(
        self, store: UowFactory, limit: int
    ) -> None:
        """due() keeps ``next_check <= at``, by instant then id, each case once across pages."""
        self.add_cases(store, self.due_population())
        with store() as uow:
            got = self.all_due(uow, T0, limit)
        assert ["h", "a", "f", "b", "c"] == got

    def test_cases_without_next_check_are_never_due(self, store: UowFactory) -> None:
        """Cases whose next check is cleared, by hand or by closing them, are never due."""
        self.add_cases(store, self.due_population())
        with store() as uow:
            got = self.all_due(uow, T0.add(years=30))
        assert ["h", "a", "f", "b", "c", "d"] == got

    def test_case_due_pages_merge_committed_and_staged_changes(self, store: UowFactory) -> None:
        """A unit's new cases and moved checks appear in place; pages hold each case once."""
        self.add_cases(
            store, [_case(f"k{i:02d}", next_check=T0.add(minutes=10 * i)) for i in range(10)]
        )
        with store() as uow:
            for i in range(5):
                uow.cases.add(_case(f"s{i}", GRID_B, next_check=T0.add(minutes=20 * i + 5)))
            uow.cases.update(attrs.evolve(uow.cases.get("k03"), next_check=None))
            uow.cases.update(attrs.evolve(uow.cases.get("k05"), next_check=T0.subtract(days=1)))
            uow.cases.update(attrs.evolve(uow.cases.get("k01"), next_check=T0.add(days=1)))
            horizon = T0.add(minutes=90)
            mine = self.all_due(uow, horizon, limit=3)
            with store() as other:
                theirs = self.all_due(other, horizon, limit=3)
        expected = [
            *("k05", "k00", "s0", "k02", "s1", "k04", "s2"),
            *("k06", "s3", "k07", "k08", "s4", "k09"),
        ]
        assert (expected, [f"k{i:02d}" for i in range(10)]) == (mine, theirs)

    def test_closed_cases_leave_the_open_query(self, store: UowFactory) -> None:
        """A closed case is no longer open nor due, but is still among the reported cases."""
        self.add_cases(store, [_case("k1"), _case("k2", at=T0.add(hours=1))])
        with store() as uow:
            uow.cases.update(_closed(uow.cases.get("k1")))
            uow.commit()
        with store() as uow:
            got = (
                self.all_open(uow, GRID_A),
                self.all_due(uow, T0.add(years=1)),
                self.all_reported(uow, GRID_A, T0, T0.add(days=1)),
                uow.cases.get("k1").state,
            )
        assert (["k2"], ["k2"], ["k1", "k2"], CaseState.CLOSED) == got

    def test_reopened_case_returns_to_the_open_query(self, store: UowFactory) -> None:
        """A case evaluated as unsatisfactory and reopened is listed as open again."""
        self.add_cases(store, [_case("k1")])
        with store() as uow:
            closed = _closed(uow.cases.get("k1"))
            at = closed.history[-1].at
            evaluated = _CASE_FLOW.apply(
                closed,
                Action.EVALUATE,
                actor="d1",
                role=CaseRole.DISPATCHER,
                at=at.add(hours=1),
                satisfaction=Satisfaction.DISSATISFIED,
            ).case
            uow.cases.update(evaluated)
            uow.commit()
        with store() as uow:
            before = self.all_open(uow, GRID_A)
            reopened = _advance(uow.cases.get("k1"), (Action.REOPEN, CaseRole.DISPATCHER))
            uow.cases.update(reopened)
            uow.commit()
        with store() as uow:
            after = self.all_open(uow, GRID_A)
        assert ([], ["k1"]) == (before, after)

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_case_open_in_subtree_pages_by_reported_then_id(
        self, store: UowFactory, limit: int
    ) -> None:
        """open_in_subtree yields the subtree's open cases once each, by report instant then id."""
        self.add_cases(
            store,
            [
                _case("e", BUILDING_A2, T0.add(days=1)),
                _case("b", GRID_A, T0.in_timezone("UTC")),
                _case("c", BUILDING_A1, T0),
                _case("a", BUILDING_A2, T0.subtract(hours=1).in_timezone("America/New_York")),
                _case("d", BUILDING_A1, T0.add(microseconds=1)),
                _case("x", GRID_B, T0),
                _closed(_case("y", BUILDING_A1, T0)),
            ],
        )
        with store() as uow:
            got = self.all_open(uow, GRID_A, limit)
        assert ["a", "b", "c", "d", "e"] == got

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_case_reported_in_subtree_keeps_since_and_excludes_until(
        self, store: UowFactory, limit: int
    ) -> None:
        """reported_in_subtree keeps ``since <= reported_at < until`` in the subtree, by instant."""
        until = T0.add(days=1)
        self.add_cases(
            store,
            [
                _case("a", BUILDING_A1, T0.subtract(microseconds=1)),
                _case("b", BUILDING_A2, T0.in_timezone("UTC")),
                _case("c", GRID_A, T0.add(hours=1).in_timezone("Europe/Berlin")),
                _closed(_case("d", BUILDING_A1, T0.add(hours=2))),
                _case("e", GRID_B, T0.add(hours=2)),
                _case("f", BUILDING_A1, until.subtract(microseconds=1)),
                _case("g", BUILDING_A2, until.in_timezone("America/New_York")),
            ],
        )
        with store() as uow:
            got = self.all_reported(uow, GRID_A, T0, until, limit)
        assert ["b", "c", "d", "f"] == got

    def test_case_queries_are_scoped_to_the_subtree(self, store: UowFactory) -> None:
        """A subtree's queries return its cases and never a sibling's."""
        self.add_cases(
            store,
            [
                _case("a", BUILDING_A1),
                _case("b", GRID_B, owner=GRID_B),
                _case("c", OTHER_STREET, owner=OTHER_STREET),
                _case("d", COMMUNITY, owner=COMMUNITY),
            ],
        )
        window = (T0, T0.add(days=1))
        codes = [GRID_A, GRID_B, COMMUNITY, STREET, OTHER_STREET, DISTRICT, BUILDING_A2]
        with store() as uow:
            got = {
                code: (self.all_open(uow, code), self.all_reported(uow, code, *window))
                for code in codes
            }
        expected = {
            GRID_A: ["a"],
            GRID_B: ["b"],
            COMMUNITY: ["a", "b", "d"],
            STREET: ["a", "b", "d"],
            OTHER_STREET: ["c"],
            DISTRICT: ["a", "b", "c", "d"],
            BUILDING_A2: [],
        }
        assert {code: (ids, ids) for code, ids in expected.items()} == got

    def test_staged_cases_are_visible_in_their_own_unit_only(self, store: UowFactory) -> None:
        """A unit's new case shows in its own get and queries; others see nothing."""
        with store() as uow:
            uow.cases.add(_case("k1", external_id="E-1", next_check=T0))
            found = uow.cases.by_external_id("E-1")
            mine = (
                uow.cases.get("k1").id,
                self.all_due(uow, T0),
                self.all_open(uow, GRID_A),
                self.all_reported(uow, GRID_A, T0, T0.add(days=1)),
                found and found.id,
            )
            with store() as other:
                theirs = (
                    self._exists(other, "k1"),
                    self.all_due(other, T0),
                    self.all_open(other, GRID_A),
                    other.cases.by_external_id("E-1"),
                )
        assert (("k1", ["k1"], ["k1"], ["k1"], "k1"), (False, [], [], None)) == (mine, theirs)

    def test_a_unit_sees_its_own_case_updates(self, store: UowFactory) -> None:
        """Within a unit, a closed case leaves the open query and a moved check the due one."""
        self.add_cases(
            store, [_case("k1", next_check=T0), _case("k2", at=T0.add(hours=1), next_check=T0)]
        )
        with store() as uow:
            uow.cases.update(_closed(uow.cases.get("k1")))
            uow.cases.update(attrs.evolve(uow.cases.get("k2"), next_check=T0.add(days=2)))
            mine = (self.all_open(uow, GRID_A), self.all_due(uow, T0.add(days=1)))
            with store() as other:
                theirs = (self.all_open(other, GRID_A), self.all_due(other, T0.add(days=1)))
        assert ((["k2"], []), (["k1", "k2"], ["k1", "k2"])) == (mine, theirs)

    def test_case_queries_of_unknown_cell_raise_not_found(self, store: UowFactory) -> None:
        """Asking for the cases of an unknown cell raises NotFoundError."""
        with store() as uow:
            with pytest.raises(NotFoundError):
                uow.cases.open_in_subtree(UNKNOWN_CELL)
            with pytest.raises(NotFoundError):
                uow.cases.reported_in_subtree(UNKNOWN_CELL, since=T0, until=T0.add(days=1))

    @pytest.mark.parametrize(
        ("method", "kwargs", "path"),
        [
            ("due", {"at_or_before": pendulum.naive(2026, 11, 28)}, "at_or_before"),
            ("due", {"at_or_before": "2026-11-28T09:00:00+08:00"}, "at_or_before"),
            ("due", {"at_or_before": ON}, "at_or_before"),
            ("due", {"at_or_before": T0, "limit": 0}, "limit"),
            ("due", {"at_or_before": T0, "limit": MAX_PAGE_SIZE + 1}, "limit"),
            ("due", {"at_or_before": T0, "limit": True}, "limit"),
            ("due", {"at_or_before": T0, "after": "not-a-cursor"}, "after"),
            ("open_in_subtree", {"limit": 0}, "limit"),
            ("open_in_subtree", {"limit": "10"}, "limit"),
            ("open_in_subtree", {"after": "not-a-cursor"}, "after"),
            ("reported_in_subtree", {"since": pendulum.naive(2026, 11, 28), "until": T0}, "since"),
            ("reported_in_subtree", {"since": T0, "until": pendulum.naive(2026, 11, 29)}, "until"),
            ("reported_in_subtree", {"since": T0, "until": T0.subtract(days=1)}, "until"),
            (
                "reported_in_subtree",
                {"since": T0, "until": T0.add(days=1), "limit": MAX_PAGE_SIZE + 1},
                "limit",
            ),
        ],
    )
    def test_case_bad_query_arguments_raise_validation_error(
        self, store: UowFactory, method: str, kwargs: dict[str, object], path: str
    ) -> None:
        """Naive or non-instants, bad ranges, limits and cursors raise ValidationError by name."""
        with store() as uow:
            query = getattr(uow.cases, method)
            args = () if method == "due" else (GRID_A,)
            with pytest.raises(ValidationError) as info:
                query(*args, **kwargs)
        assert path == info.value.path

    def test_case_bad_external_id_raises_validation_error(self, store: UowFactory) -> None:
        """An empty or non-string external id raises ValidationError on ``external_id``."""
        with store() as uow:
            with pytest.raises(ValidationError) as empty:
                uow.cases.by_external_id("")
            with pytest.raises(ValidationError) as number:
                uow.cases.by_external_id(7)  # type: ignore[arg-type]
        assert ("external_id", "external_id") == (empty.value.path, number.value.path)

    def test_case_add_many_counts_and_reports_progress(self, store: UowFactory) -> None:
        """add_many stores every case and reports progress per batch and at the end."""
        seen: list[int] = []
        cases = (_case(f"k{i:03d}", GRID_B, T0.add(minutes=i)) for i in range(25))
        with store() as uow:
            count = uow.cases.add_many(cases, batch_size=10, progress=seen.append)
            uow.commit()
        with store() as uow:
            stored = len(self.all_open(uow, GRID_B, limit=7))
        assert (25, [10, 20, 25], 25) == (count, seen, stored)

    def test_case_failed_add_many_leaves_the_store_as_before(self, store: UowFactory) -> None:
        """A case in an unknown cell mid-stream fails the call and stores none of its cases."""
        self.add_cases(store, [_case("k0")])

        def stream() -> Iterator[Case]:
            for i in range(1, 8):
                yield _case(f"k{i}", GRID_A if i != 5 else UNKNOWN_CELL, T0.add(hours=i))

        with store() as uow:
            with pytest.raises(NotFoundError):
                uow.cases.add_many(stream(), batch_size=2)
            uow.commit()
        with store() as uow:
            assert ["k0"] == self.all_open(uow, DISTRICT)

    @pytest.mark.parametrize("clash", ["id", "external_id"])
    def test_case_add_many_with_a_stored_key_conflicts(self, store: UowFactory, clash: str) -> None:
        """A stream repeating a stored case id or external id raises ConflictError, stores none."""
        self.add_cases(store, [_case("k3", external_id="E-3")])
        cases = [
            _case(
                f"k{i}" if clash == "id" else f"n{i}",
                at=T0.add(hours=i),
                external_id=f"E-{i}" if clash == "external_id" else None,
            )
            for i in range(1, 6)
        ]
        with store() as uow:
            with pytest.raises(ConflictError):
                uow.cases.add_many(cases, batch_size=2)
            uow.commit()
        with store() as uow:
            assert ["k3"] == self.all_open(uow, DISTRICT)

    def test_non_case_is_rejected(self, store: UowFactory) -> None:
        """Passing something that is not a Case raises ValidationError."""
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.cases.add("k1")  # type: ignore[arg-type]
        assert "case" == info.value.path

    @_KIT_HYPOTHESIS
    @given(
        drawn=gst.cases(
            cell_codes=[c.code for c in _cells()],
            owners=[c for c in _cells() if c.level is not GridLevel.BUILDING],
        )
    )
    def test_generated_cases_round_trip(self, store: UowFactory, drawn: Case) -> None:
        """Any case the workflow can make comes back equal, its offsets and external id kept."""
        tag = uuid.uuid4().hex[:12]  # the store is shared by the examples
        case = attrs.evolve(
            drawn,
            id=f"{drawn.id[:40]}.{tag}",
            external_id=None if drawn.external_id is None else f"{drawn.external_id[:80]} {tag}",
        )
        with store() as uow:
            uow.cases.add(case)
            uow.commit()
        with store() as uow:
            got = uow.cases.get(case.id)
            by_external = None
            if case.external_id is not None:
                by_external = uow.cases.by_external_id(case.external_id)
        expected = attrs.evolve(case, version=1)
        assert (expected, _instants(case), expected if case.external_id else None) == (
            got,
            _instants(got),
            by_external,
        )


class CaseSettingsRepositoryContract(_Base):
    """What every ``CaseSettingsRepository`` does: one versioned record per store."""

    def test_case_settings_get_on_an_empty_store_raises_not_found(self, store: UowFactory) -> None:
        """A store whose settings were never saved raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.case_settings.get()

    def test_case_settings_save_then_get_round_trips(self, store: UowFactory) -> None:
        """The first save stores version 1, the next one version 2; get returns what was saved."""
        with store() as uow:
            first = uow.case_settings.save(CaseSettings())
            uow.commit()
        changed = attrs.evolve(
            first, escalation=EscalationPolicy(DEFAULT_ESCALATION.steps[:2], mark_missed=False)
        )
        with store() as uow:
            got_first = uow.case_settings.get()
            second = uow.case_settings.save(changed)
            uow.commit()
        with store() as uow:
            got_second = uow.case_settings.get()
        assert (
            attrs.evolve(CaseSettings(), version=1),
            attrs.evolve(changed, version=2),
        ) == (got_first, got_second)
        assert (first, second) == (got_first, got_second)

    def test_stale_case_settings_save_conflicts(self, store: UowFactory) -> None:
        """A save from a version other than the stored one raises ConflictError, storing nothing."""
        with store() as uow:
            first = uow.case_settings.save(CaseSettings())
            uow.commit()
        with store() as uow:
            uow.case_settings.save(first)
            uow.commit()
        stale = [
            CaseSettings(),  # a second "first" save
            first,  # made from version 1, now 2
            attrs.evolve(first, version=7),  # a version never stored
        ]
        refused = []
        for settings_ in stale:
            with store() as uow:
                try:
                    uow.case_settings.save(settings_)
                    uow.commit()
                except ConflictError:
                    refused.append(settings_.version)
        with store() as uow:
            assert 2 == uow.case_settings.get().version
        assert [0, 1, 7] == refused

    def test_case_settings_from_a_version_on_an_empty_store_conflict(
        self, store: UowFactory
    ) -> None:
        """Saving settings read elsewhere (version > 0) into an empty store raises ConflictError."""
        with store() as uow, pytest.raises(ConflictError):  # noqa: PT012 - at save or commit
            uow.case_settings.save(attrs.evolve(CaseSettings(), version=3))
            uow.commit()
        with store() as uow, pytest.raises(NotFoundError):
            uow.case_settings.get()

    def test_uncommitted_case_settings_are_invisible_and_discarded(self, store: UowFactory) -> None:
        """A unit sees its own saved settings; others do not, and without commit none is kept."""
        with store() as uow:
            uow.case_settings.save(CaseSettings())
            mine = uow.case_settings.get().version
            with store() as other, pytest.raises(NotFoundError):
                other.case_settings.get()
        with store() as uow, pytest.raises(NotFoundError):
            uow.case_settings.get()
        assert 1 == mine

    def test_non_case_settings_are_rejected(self, store: UowFactory) -> None:
        """Passing something that is not CaseSettings raises ValidationError."""
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.case_settings.save("default")  # type: ignore[arg-type]
        assert "settings" == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.case_settings())
    def test_generated_case_settings_round_trip(
        self, store: UowFactory, drawn: CaseSettings
    ) -> None:
        """Any valid settings saved over the stored ones come back equal, a version later."""
        with store() as uow:
            try:
                version = uow.case_settings.get().version
            except NotFoundError:
                version = 0
            saved = uow.case_settings.save(attrs.evolve(drawn, version=version))
            uow.commit()
        with store() as uow:
            got = uow.case_settings.get()
        assert (attrs.evolve(drawn, version=version + 1), saved) == (got, got)


class StoreContract(
    CellRepositoryContract,
    WorkerRepositoryContract,
    HouseholdRepositoryContract,
    ContactRepositoryContract,
    CareTaskRepositoryContract,
    CaseRepositoryContract,
    CaseSettingsRepositoryContract,
    UnitOfWorkContract,
):
    """Every contract at once: what a complete adapter subclasses."""
