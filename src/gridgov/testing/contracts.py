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
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import attrs
import pendulum
import pytest

from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskKind, TaskState
from gridgov.care.policy import ContactMethod
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
from gridgov.ports import Page, ResidentEntry, UnitOfWork

__all__ = [
    "CareTaskRepositoryContract",
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


class StoreContract(
    CellRepositoryContract,
    WorkerRepositoryContract,
    HouseholdRepositoryContract,
    ContactRepositoryContract,
    CareTaskRepositoryContract,
    UnitOfWorkContract,
):
    """Every contract at once: what a complete adapter subclasses."""
