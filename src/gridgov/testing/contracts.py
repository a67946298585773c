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

import datetime as dt
import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, TypeVar

import attrs
import pendulum

try:
    import pytest
    from hypothesis import HealthCheck, given, settings
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "gridgov.testing.contracts needs pytest and hypothesis: pip install 'gridgov[testing]'"
    ) from exc
from hypothesis import strategies as st

from gridgov.access import AuditEntry, AuditKind
from gridgov.calendar import Period, WorkCalendar
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskKind, TaskState
from gridgov.care.criteria import AgeBelow, AllOf, HasTag, Not
from gridgov.care.policy import ContactMethod
from gridgov.cases.escalation import DEFAULT_ESCALATION, EscalationPolicy
from gridgov.cases.model import Case, CaseSource, CaseState, Location, Reporter, Satisfaction
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow
from gridgov.errors import ConflictError, GridgovError, NotFoundError, ValidationError
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
from gridgov.idempotency import RememberedRequest
from gridgov.notify import NotificationState
from gridgov.ports import MAX_PAGE_SIZE, Page, ResidentEntry, UnitOfWork
from gridgov.records import KINDS, Missing, RecordKind
from gridgov.scheduling.registrations import Occupancy, Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange, occurrence_id
from gridgov.scheduling.venues import Blackout, Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.settings import Settings
from gridgov.testing import strategies as gst
from gridgov.testing._components import ComponentRepositoryContract, sample_component
from gridgov.testing._concurrency import ConcurrencyContract
from gridgov.testing._masking import MaskingContract
from gridgov.testing._notifications import NotificationRepositoryContract, sample_notification
from gridgov.testing._outbox import OutboxRepositoryContract, stored_event
from gridgov.testing._requests import RequestRepositoryContract
from gridgov.testing._world import (
    BUILDING_A1,
    BUILDING_A2,
    COMMUNITY,
    DISTRICT,
    GRID_A,
    GRID_B,
    ON,
    OTHER_STREET,
    STREET,
    T0,
    UNKNOWN_CELL,
    UowFactory,
    _Base,
    _cells,
    _household,
    _resident,
)

__all__ = [
    "AuditRepositoryContract",
    "CareTaskRepositoryContract",
    "CaseRepositoryContract",
    "CellRepositoryContract",
    "ComponentRepositoryContract",
    "ConcurrencyContract",
    "ContactRepositoryContract",
    "HouseholdRepositoryContract",
    "MaskingContract",
    "NotificationRepositoryContract",
    "OutboxRepositoryContract",
    "RecordKindContract",
    "RegistrationRepositoryContract",
    "RequestRepositoryContract",
    "SeriesRepositoryContract",
    "SettingsRepositoryContract",
    "ShiftRepositoryContract",
    "SignUpRepositoryContract",
    "StoreContract",
    "UnitOfWorkContract",
    "VenueRepositoryContract",
    "WorkerRepositoryContract",
]

T = TypeVar("T")


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
        """Of two updates from the same version, the second raises a retryable ConflictError."""
        self.add_households(store, [_household("h1", GRID_A)])
        with store() as uow:
            original = uow.households.get("h1")
        with store() as uow:
            uow.households.update(attrs.evolve(original, address=Address("winner")))
            uow.commit()
        with store() as uow, pytest.raises(ConflictError) as info:  # noqa: PT012
            uow.households.update(attrs.evolve(original, address=Address("loser")))
            uow.commit()
        with store() as uow:
            assert ("winner", 2, True) == (
                uow.households.get("h1").address.line,
                uow.households.get("h1").version,
                info.value.retryable,
            )

    def test_a_stored_key_is_a_conflict_no_retry_fixes(self, store: UowFactory) -> None:
        """Adding a household under a stored key names the key; a retry will not help."""
        self.add_households(store, [_household("h1", GRID_A)])
        with store() as uow, pytest.raises(ConflictError) as info:
            uow.households.add(_household("h1", GRID_B))
        assert (False, "h1") == (info.value.retryable, info.value.taken)

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

    def test_contact_ledger_has_no_update_or_remove(self, elders: UowFactory) -> None:
        """Contacts are append-only: the repository offers no update or remove."""
        with elders() as uow:
            offered = {name for name in ("update", "remove") if hasattr(uow.contacts, name)}
        assert set() == offered

    def test_contact_notes_are_erased_and_nothing_else_changes(self, elders: UowFactory) -> None:
        """``erase`` rewrites the notes (version 2); any other change or a stale copy: refused."""
        contact = attrs.evolve(_contact("c1", "r1", T0), notes="回电 13587654321")
        with elders() as uow:
            stored = uow.contacts.add(contact)
            uow.commit()
        refused = []
        for changed in (
            attrs.evolve(stored, notes="", method=ContactMethod.HOME_VISIT),
            attrs.evolve(stored, notes="", version=7),
        ):
            with elders() as uow:
                try:
                    uow.contacts.erase(changed)
                    uow.commit()
                except (ValidationError, ConflictError) as exc:
                    refused.append(type(exc).__name__)
        with elders() as uow:
            erased = uow.contacts.erase(attrs.evolve(stored, notes=""))
            uow.commit()
        with elders() as uow:
            got = uow.contacts.get("c1")
        assert (
            ["ValidationError", "ConflictError"],
            attrs.evolve(contact, notes="", version=2),
        ) == (
            refused,
            got,
        )
        assert erased == got

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

    def test_contact_add_many_counts_and_reports_progress(self, elders: UowFactory) -> None:
        """add_many stores every contact and reports progress per batch and at the end."""
        seen: list[int] = []
        contacts = (_contact(f"c{i:03d}", "r4", T0.add(minutes=i)) for i in range(25))
        with elders() as uow:
            count = uow.contacts.add_many(contacts, batch_size=10, progress=seen.append)
            uow.commit()
        with elders() as uow:
            stored = len(uow.contacts.for_resident("r4", limit=100).items)
        assert (25, [10, 20, 25], 25) == (count, seen, stored)

    def test_contact_failed_add_many_leaves_the_store_as_before(self, elders: UowFactory) -> None:
        """A contact of another household mid-stream fails the call and stores none of it."""
        with elders() as uow:
            uow.contacts.add(_contact("c0", "r4", T0))
            uow.commit()

        def stream() -> Iterator[ContactAttempt]:
            for i in range(1, 8):
                elsewhere = "h1" if i == 5 else None
                yield _contact(f"c{i}", "r4", T0.add(hours=i), household_id=elsewhere)

        with elders() as uow:
            with pytest.raises(ValidationError) as info:
                uow.contacts.add_many(stream(), batch_size=2)
            uow.commit()
        with elders() as uow:
            kept = [c.id for c in uow.contacts.for_resident("r4").items]
        assert ("household_id", ["c0"]) == (info.value.path, kept)

    def test_contact_add_many_with_a_stored_id_conflicts(self, elders: UowFactory) -> None:
        """A stream repeating a stored contact id raises ConflictError and stores none of it."""
        with elders() as uow:
            uow.contacts.add(_contact("c3", "r4", T0))
            uow.commit()
        contacts = [_contact(f"c{i}", "r4", T0.add(hours=i)) for i in range(1, 6)]
        with elders() as uow:
            with pytest.raises(ConflictError):
                uow.contacts.add_many(contacts, batch_size=2)
            uow.commit()
        with elders() as uow:
            assert ["c3"] == [c.id for c in uow.contacts.for_resident("r4").items]


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

    @staticmethod
    def overdue_population() -> list[CareTask]:
        """Return tasks of r1 due from T0 + 1h: open, done, cancelled, marked, due at T0 + 5h."""
        marked = attrs.evolve(_task("t5", "r1", T0, due=T0.add(hours=4)), overdue_at=T0)
        return [
            _task("t1", "r1", T0, due=T0.add(hours=1)),
            _task("t2", "r1", T0, due=T0.add(hours=2), state=TaskState.DONE),
            _task("t3", "r1", T0, due=T0.add(hours=3), state=TaskState.CANCELLED),
            _task("t4", "r1", T0, due=T0.add(hours=3).in_timezone("UTC")),
            _task("t0", "r1", T0, due=T0.add(hours=3)),
            marked,
            _task("t6", "r1", T0, due=T0.add(hours=5)),
            _task("t7", "r1", T0, due=T0.add(hours=6)),
        ]

    @pytest.mark.parametrize("limit", [1, 2, 50])
    def test_overdue_pages_open_unmarked_tasks_due_before_the_instant(
        self, elders: UowFactory, limit: int
    ) -> None:
        """overdue() lists open tasks not marked, due strictly before the instant, by due, id."""
        self.add_tasks(elders, self.overdue_population())
        with elders() as uow:
            got = _ids(
                _all_pages(
                    lambda a: uow.care_tasks.overdue(
                        due_before=T0.add(hours=5), limit=limit, after=a
                    )
                )
            )
        assert ["t1", "t0", "t4"] == got

    def test_a_task_marked_or_closed_in_the_unit_leaves_the_overdue_queue(
        self, elders: UowFactory
    ) -> None:
        """The unit that marks one task overdue and closes another no longer lists either."""
        self.add_tasks(elders, self.overdue_population())
        with elders() as uow:
            uow.care_tasks.update(uow.care_tasks.get("t1").marked_overdue(T0.add(hours=5)))
            uow.care_tasks.update(uow.care_tasks.get("t0").done("c1"))
            mine = _ids(uow.care_tasks.overdue(due_before=T0.add(hours=5)).items)
            uow.commit()
        with elders() as uow:
            stored = (
                uow.care_tasks.get("t1").overdue_at,
                _ids(uow.care_tasks.overdue(due_before=T0.add(hours=9)).items),
            )
        assert (["t4"], (T0.add(hours=5), ["t4", "t6", "t7"])) == (mine, stored)

    def test_claimed_overdue_tasks_are_paged_like_overdue(self, elders: UowFactory) -> None:
        """claim_overdue() returns what overdue() does, page by page, in a unit that holds them."""
        self.add_tasks(elders, self.overdue_population())
        with elders() as uow:
            claimed = _ids(
                _all_pages(
                    lambda a: uow.care_tasks.claim_overdue(
                        due_before=T0.add(hours=9), limit=2, after=a
                    )
                )
            )
        assert ["t1", "t0", "t4", "t6", "t7"] == claimed

    def test_racing_claims_share_the_overdue_tasks_without_overlap(
        self, elders: UowFactory
    ) -> None:
        """Four units claiming at once take disjoint overdue tasks: each is marked exactly once."""
        self.add_tasks(
            elders, [_task(f"q{i:02d}", "r1", T0, due=T0.add(minutes=i)) for i in range(12)]
        )
        handled: list[str] = []
        failures: list[str] = []
        gate = threading.Barrier(4)
        now = T0.add(hours=1)

        def sweep() -> None:
            gate.wait(timeout=30)
            try:
                with elders() as uow:
                    page = uow.care_tasks.claim_overdue(due_before=now, limit=3)
                    for task in page.items:
                        uow.care_tasks.update(task.marked_overdue(now))
                    time.sleep(0.01)  # hold the claim while the others claim
                    uow.commit()
                    handled.extend(t.id for t in page.items)
            except GridgovError as exc:
                failures.append(type(exc).__name__)

        threads = [threading.Thread(target=sweep) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert ([], [f"q{i:02d}" for i in range(12)]) == (failures, sorted(handled))

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
            actor=f"{role.value}-1",  # one person per role: separation of duties holds
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


def _ids(page_or_items: Page[Any] | Iterable[Any]) -> list[str]:
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

    def test_case_update_dropping_history_entries_is_refused(self, store: UowFactory) -> None:
        """A case's history only grows: an update with fewer entries than stored is refused."""
        self.add_cases(store, [_case("k1")])
        with store() as uow:
            original = uow.cases.get("k1")
            registered = uow.cases.update(
                _advance(original, (Action.REGISTER, CaseRole.DISPATCHER))
            )
            uow.commit()
        with store() as uow:
            with pytest.raises(ValidationError) as info:
                uow.cases.update(attrs.evolve(registered, history=original.history))
            uow.commit()
        with store() as uow:
            kept = len(uow.cases.get("k1").history)
        assert ("history", len(registered.history)) == (info.value.path, kept)

    def test_case_update_to_an_unknown_owner_cell_raises_not_found(self, store: UowFactory) -> None:
        """Handing a stored case to a cell that is not stored raises NotFoundError."""
        self.add_cases(store, [_case("k1")])
        with store() as uow:
            case = uow.cases.get("k1")
            with pytest.raises(NotFoundError) as info:
                uow.cases.update(attrs.evolve(case, owner_cell=UNKNOWN_CELL))
        assert ("cell", UNKNOWN_CELL) == (info.value.kind, info.value.key)

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

    def test_claimed_due_cases_are_claimed_once_and_paged_like_due(self, store: UowFactory) -> None:
        """claim_due() returns what due() does, page by page, in a unit that holds them."""
        self.add_cases(store, self.due_population())
        with store() as uow:
            claimed = _ids(
                _all_pages(lambda a: uow.cases.claim_due(at_or_before=T0, limit=2, after=a))
            )
        assert ["h", "a", "f", "b", "c"] == claimed

    def test_racing_reports_of_one_external_id_store_one_case(self, store: UowFactory) -> None:
        """Eight units adding cases of one 12345 work order at once: one is stored."""
        outcomes: list[str] = []
        gate = threading.Barrier(8)

        def report(i: int) -> None:
            gate.wait(timeout=30)
            try:
                with store() as uow:
                    uow.cases.add(_case(f"w{i}", external_id="12345-0001"))
                    time.sleep(0.005)  # widen the window between the check and the commit
                    uow.commit()
                outcomes.append("stored")
            except ConflictError as exc:
                outcomes.append("retry" if exc.retryable else "refused")

        threads = [threading.Thread(target=report, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        with store() as uow:
            found = uow.cases.by_external_id("12345-0001")
        assert (1, True) == (outcomes.count("stored"), found is not None)

    def test_racing_claims_share_the_due_cases_without_overlap(self, store: UowFactory) -> None:
        """Four units claiming at once take disjoint due cases: each is handled exactly once."""
        self.add_cases(store, [_case(f"q{i:02d}", next_check=T0.add(minutes=i)) for i in range(12)])
        handled: list[str] = []
        failures: list[str] = []
        gate = threading.Barrier(4)

        def sweep() -> None:
            gate.wait(timeout=30)
            try:
                with store() as uow:
                    page = uow.cases.claim_due(at_or_before=T0.add(hours=1), limit=3)
                    for case in page.items:
                        uow.cases.update(attrs.evolve(case, next_check=None))
                    time.sleep(0.01)  # hold the claim while the others claim
                    uow.commit()
                    handled.extend(c.id for c in page.items)
            except GridgovError as exc:
                failures.append(type(exc).__name__)

        threads = [threading.Thread(target=sweep) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert ([], [f"q{i:02d}" for i in range(12)]) == (failures, sorted(handled))

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


class SettingsRepositoryContract(_Base):
    """What every ``SettingsRepository`` does: one versioned record per store."""

    def test_settings_get_on_an_empty_store_raises_not_found(self, store: UowFactory) -> None:
        """A store whose settings were never saved raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.settings.get()

    def test_settings_save_then_get_round_trips(self, store: UowFactory) -> None:
        """The first save stores version 1, the next one version 2; get returns what was saved."""
        with store() as uow:
            first = uow.settings.save(Settings())
            uow.commit()
        changed = attrs.evolve(
            first, escalation=EscalationPolicy(DEFAULT_ESCALATION.steps[:2], mark_missed=False)
        )
        with store() as uow:
            got_first = uow.settings.get()
            second = uow.settings.save(changed)
            uow.commit()
        with store() as uow:
            got_second = uow.settings.get()
        assert (
            attrs.evolve(Settings(), version=1),
            attrs.evolve(changed, version=2),
        ) == (got_first, got_second)
        assert (first, second) == (got_first, got_second)

    def test_stale_settings_save_conflicts(self, store: UowFactory) -> None:
        """A save from a version other than the stored one raises ConflictError, storing nothing."""
        with store() as uow:
            first = uow.settings.save(Settings())
            uow.commit()
        with store() as uow:
            uow.settings.save(first)
            uow.commit()
        stale = [
            Settings(),  # a second "first" save
            first,  # made from version 1, now 2
            attrs.evolve(first, version=7),  # a version never stored
        ]
        refused = []
        for settings_ in stale:
            with store() as uow:
                try:
                    uow.settings.save(settings_)
                    uow.commit()
                except ConflictError:
                    refused.append(settings_.version)
        with store() as uow:
            assert 2 == uow.settings.get().version
        assert [0, 1, 7] == refused

    def test_settings_from_a_version_on_an_empty_store_conflict(self, store: UowFactory) -> None:
        """Saving settings read elsewhere (version > 0) into an empty store raises ConflictError."""
        with store() as uow, pytest.raises(ConflictError):  # noqa: PT012 - at save or commit
            uow.settings.save(attrs.evolve(Settings(), version=3))
            uow.commit()
        with store() as uow, pytest.raises(NotFoundError):
            uow.settings.get()

    def test_uncommitted_settings_are_invisible_and_discarded(self, store: UowFactory) -> None:
        """A unit sees its own saved settings; others do not, and without commit none is kept."""
        with store() as uow:
            uow.settings.save(Settings())
            mine = uow.settings.get().version
            with store() as other, pytest.raises(NotFoundError):
                other.settings.get()
        with store() as uow, pytest.raises(NotFoundError):
            uow.settings.get()
        assert 1 == mine

    def test_settings_history_keeps_every_committed_version(self, store: UowFactory) -> None:
        """History holds each committed save in order, two of one unit too, none rolled back."""
        with store() as uow:
            first = uow.settings.save(Settings())
            second = uow.settings.save(attrs.evolve(first, requests_kept_hours=2))
            uow.commit()
        with store() as uow:
            uow.settings.save(attrs.evolve(second, requests_kept_hours=3))  # rolled back
        with store() as uow:
            third = uow.settings.save(attrs.evolve(second, requests_kept_hours=4))
            mine = uow.settings.history()
            uow.commit()
        with store() as uow:
            history = uow.settings.history()
        assert [(1, 24), (2, 2), (3, 4)] == [(s.version, s.requests_kept_hours) for s in history]
        assert ((first, second, third), history) == (history, mine)

    def test_non_settings_are_rejected(self, store: UowFactory) -> None:
        """Passing something that is not Settings raises ValidationError."""
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.settings.save("default")  # type: ignore[arg-type]
        assert "settings" == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.deployment_settings())
    def test_generated_settings_round_trip(self, store: UowFactory, drawn: Settings) -> None:
        """Any valid settings saved over the stored ones come back equal, a version later."""
        with store() as uow:
            try:
                version = uow.settings.get().version
            except NotFoundError:
                version = 0
            saved = uow.settings.save(attrs.evolve(drawn, version=version))
            uow.commit()
        with store() as uow:
            got = uow.settings.get()
        assert (attrs.evolve(drawn, version=version + 1), saved) == (got, got)


# -- scheduling ----------------------------------------------------------------------------------

# Open every day from 08:00 to 21:00 in 2026 and 2027, closed on National Day.
_OPENING = WorkCalendar(
    holidays={pendulum.Date(2026, 10, 1)},
    years=(2026, 2027),
    hours=dict.fromkeys(range(7), (Period(dt.time(8), dt.time(21)),)),
)


def _venue(vid: str = "v1", cell: str = GRID_A, *spaces: str) -> Venue:
    """Return a venue in ``cell`` with the spaces named (``s1`` and ``s2`` by default)."""
    return Venue(
        vid,
        f"活动中心{vid}",
        cell,
        _OPENING,
        [Space(s, f"活动室{s}", 20) for s in spaces or ("s1", "s2")],
    )


def _series(
    sid: str,
    start: pendulum.DateTime = T0,
    *,
    venue: str = "v1",
    space: str = "s1",
    minutes: int = 90,
    rrule: str | None = None,
    changes: Iterable[OccurrenceChange] = (),
) -> ActivitySeries:
    """Return an activity of ``minutes`` in ``venue``/``space`` from ``start``, once by default."""
    return ActivitySeries(
        sid, f"活动{sid}", "w1", venue, space, start, minutes, rrule=rrule, changes=changes
    )


def _occurrence(series_id: str, original_start: pendulum.DateTime) -> str:
    """Return the id registrations keep for the occurrence of a series at that start."""
    return occurrence_id(series_id, original_start)


def _registration(
    rid: str,
    resident: str = "r1",
    start: pendulum.DateTime = T0,
    *,
    minutes: int = 90,
    series: str = "a1",
    occurrence: str | None = None,
    registered_at: pendulum.DateTime | None = None,
    state: RegistrationState = RegistrationState.CONFIRMED,
) -> Registration:
    """Return ``resident``'s registration for the occurrence of ``series`` at ``start``."""
    hid, cell = _HOMES.get(resident, ("h1", BUILDING_A1))
    return Registration(
        rid,
        series,
        occurrence or _occurrence(series, start),
        "v1",
        resident,
        hid,
        cell,
        start,
        start.add(minutes=minutes),
        state,
        registered_at or start.subtract(days=1),
    )


def _shift(
    sid: str, start: pendulum.DateTime = T0, *, venue: str = "v1", minutes: int = 180
) -> Shift:
    """Return a shift of ``minutes`` at ``venue`` needing three volunteers."""
    return Shift(sid, venue, f"志愿服务{sid}", start, start.add(minutes=minutes), 3)


def _signup(
    suid: str,
    resident: str = "r1",
    start: pendulum.DateTime = T0,
    *,
    shift: str = "sh1",
    minutes: int = 180,
    at: pendulum.DateTime | None = None,
    state: SignUpState = SignUpState.SIGNED_UP,
) -> SignUp:
    """Return ``resident``'s sign-up for a shift from ``start`` lasting ``minutes``."""
    return SignUp(
        suid,
        shift,
        resident,
        start,
        start.add(minutes=minutes),
        state,
        at or start.subtract(days=2),
    )


def _keys(records: Iterable[Venue | ActivitySeries | Registration | Shift | SignUp]) -> list[str]:
    return [r.id for r in records]


def _stored(fetch: Callable[[], object]) -> bool:
    """Return whether ``fetch`` finds its record (False on NotFoundError)."""
    try:
        fetch()
    except NotFoundError:
        return False
    return True


class _SchedulingBase(_CareBase):
    """Fixtures shared by the scheduling contracts."""

    @pytest.fixture
    def venued(self, elders: UowFactory) -> UowFactory:
        """Return the store with cells, elders and three venues: v1, v2 and v3 (elsewhere)."""
        with elders() as uow:
            uow.venues.add(_venue("v1", GRID_A, "s1", "s2"))
            uow.venues.add(_venue("v2", GRID_B, "s1"))
            uow.venues.add(_venue("v3", OTHER_STREET, "hall"))
            uow.commit()
        return elders

    @staticmethod
    def all_series(
        uow: UnitOfWork,
        venue: str,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        limit: int = 100,
    ) -> list[str]:
        """Return the ids of the venue's series in the window, following the cursors."""
        return _keys(
            _all_pages(
                lambda a: uow.series.in_venue(venue, start=start, end=end, limit=limit, after=a)
            )
        )

    @staticmethod
    def all_venues(uow: UnitOfWork, cell: str, limit: int = 100) -> list[str]:
        """Return the ids of the subtree's venues, following the cursors."""
        return _keys(_all_pages(lambda a: uow.venues.in_subtree(cell, limit=limit, after=a)))


class VenueRepositoryContract(_SchedulingBase):
    """What every ``VenueRepository`` does: venues with spaces and opening hours, by subtree."""

    def test_venue_add_then_get_round_trips_at_version_1(self, store: UowFactory) -> None:
        """A committed venue comes back equal at version 1, its calendar and offsets kept."""
        venue = Venue(
            "v9",
            "明宫HUI客厅",
            BUILDING_A1,
            WorkCalendar(
                holidays={pendulum.Date(2026, 10, 1), pendulum.Date(2026, 10, 2)},
                workdays={pendulum.Date(2026, 9, 27)},
                years=(2026, 2026),
                hours={
                    0: (Period(dt.time(9), dt.time(12)), Period(dt.time(13, 30), dt.time(17, 30))),
                    5: (Period(dt.time(8), dt.time(20)),),
                },
                tz="Asia/Shanghai",
            ),
            [Space("s1", "绘本馆", 20, {"projector", "tables"}), Space("s2", "多功能厅", 80)],
            [
                Blackout(T0.add(days=3), T0.add(days=3, hours=4).in_timezone("Europe/Berlin"), "x"),
                Blackout(T0.in_timezone("UTC"), T0.add(days=1), "消防检查", "s2"),
            ],
        )
        with store() as uow:
            added = uow.venues.add(venue)
            uow.commit()
        with store() as uow:
            got = uow.venues.get("v9")
        instants = [t.isoformat() for b in venue.blackouts for t in (b.start, b.end)]
        expected = attrs.evolve(venue, version=1)
        assert (expected, expected, instants) == (
            added,
            got,
            [t.isoformat() for b in got.blackouts for t in (b.start, b.end)],
        )

    def test_venue_get_unknown_raises_not_found(self, store: UowFactory) -> None:
        """Getting an unknown venue id raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.venues.get("v404")

    def test_venue_in_unknown_cell_is_rejected_and_not_stored(self, store: UowFactory) -> None:
        """A venue in a cell that is not stored raises NotFoundError for that cell; none is kept."""
        with store() as uow:
            with pytest.raises(NotFoundError) as info:
                uow.venues.add(_venue("v1", UNKNOWN_CELL))
            uow.commit()
        with store() as uow:
            kept = _stored(lambda: uow.venues.get("v1"))
        assert (("cell", UNKNOWN_CELL), False) == ((info.value.kind, info.value.key), kept)

    def test_venue_in_a_cell_added_in_the_same_unit(self, store: UowFactory) -> None:
        """A venue may lie in a cell the same unit added before committing."""
        with store() as uow:
            uow.cells.add(_cell("610102003001003"))
            uow.venues.add(_venue("v1", "610102003001003"))
            uow.commit()
        with store() as uow:
            assert ["v1"] == self.all_venues(uow, "610102003001003")

    def test_venue_update_moves_it_between_subtrees_or_raises(self, store: UowFactory) -> None:
        """A venue moved to a stored cell leaves the old subtree; an unknown cell raises."""
        with store() as uow:
            uow.venues.add(_venue("v1", GRID_A))
            uow.commit()
        with store() as uow:
            venue = uow.venues.get("v1")
            with pytest.raises(NotFoundError):
                uow.venues.update(attrs.evolve(venue, cell_code=UNKNOWN_CELL))
            uow.venues.update(attrs.evolve(venue, cell_code=GRID_B))
            uow.commit()
        with store() as uow:
            got = (self.all_venues(uow, GRID_A), self.all_venues(uow, GRID_B))
        assert ([], ["v1"]) == got

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_venue_in_subtree_pages_by_id(self, store: UowFactory, limit: int) -> None:
        """in_subtree yields the subtree's venues once each, by id whatever their cells."""
        with store() as uow:
            for vid, cell in [
                ("a", BUILDING_A2),
                ("c", GRID_A),
                ("b", BUILDING_A1),
                ("d", GRID_B),
                ("e", COMMUNITY),
                ("f", OTHER_STREET),
                ("a0", BUILDING_A1),
            ]:
                uow.venues.add(_venue(vid, cell))
            uow.commit()
        with store() as uow:
            got = self.all_venues(uow, GRID_A, limit)
        assert ["a", "a0", "b", "c"] == got

    def test_venue_in_subtree_is_scoped_to_the_subtree(self, store: UowFactory) -> None:
        """A subtree's venues are its own and its descendants', never a sibling's."""
        with store() as uow:
            for vid, cell in [
                ("a", BUILDING_A1),
                ("b", GRID_B),
                ("c", OTHER_STREET),
                ("d", COMMUNITY),
            ]:
                uow.venues.add(_venue(vid, cell))
            uow.commit()
        codes = [GRID_A, GRID_B, COMMUNITY, STREET, OTHER_STREET, DISTRICT, BUILDING_A2]
        with store() as uow:
            got = {code: self.all_venues(uow, code) for code in codes}
        assert {
            GRID_A: ["a"],
            GRID_B: ["b"],
            COMMUNITY: ["a", "b", "d"],
            STREET: ["a", "b", "d"],
            OTHER_STREET: ["c"],
            DISTRICT: ["a", "b", "c", "d"],
            BUILDING_A2: [],
        } == got

    def test_venue_in_subtree_of_unknown_cell_raises_not_found(self, store: UowFactory) -> None:
        """Asking for the venues of an unknown cell raises NotFoundError."""
        with store() as uow, pytest.raises(NotFoundError):
            uow.venues.in_subtree(UNKNOWN_CELL)

    def test_staged_venues_are_visible_in_their_own_unit_only(self, store: UowFactory) -> None:
        """A unit sees its new and moved venues; others see none until it commits."""
        with store() as uow:
            uow.venues.add(_venue("v1", GRID_A))
            uow.commit()
        with store() as uow:
            uow.venues.add(_venue("v2", BUILDING_A1))
            uow.venues.update(attrs.evolve(uow.venues.get("v1"), cell_code=GRID_B))
            mine = (self.all_venues(uow, GRID_A), self.all_venues(uow, COMMUNITY, limit=1))
            with store() as other:
                theirs = (self.all_venues(other, GRID_A), _stored(lambda: other.venues.get("v2")))
        assert ((["v2"], ["v1", "v2"]), (["v1"], False)) == (mine, theirs)

    def test_venue_rollback_leaves_nothing(self, store: UowFactory) -> None:
        """Venues added then rolled back are gone, in the unit and after it."""
        with store() as uow:
            uow.venues.add(_venue("v1"))
            uow.rollback()
            inside = (self.all_venues(uow, DISTRICT), _stored(lambda: uow.venues.get("v1")))
        with store() as uow:
            after = (self.all_venues(uow, DISTRICT), _stored(lambda: uow.venues.get("v1")))
        assert (([], False), ([], False)) == (inside, after)

    def test_conflicting_unit_stores_no_venues(self, store: UowFactory) -> None:
        """A unit whose venue update turns out stale keeps none of its new venues."""
        with store() as uow:
            uow.venues.add(_venue("v1"))
            uow.commit()
        with store() as uow:
            stale = uow.venues.get("v1")
        with store() as winner:
            winner.venues.update(winner.venues.get("v1"))
            winner.commit()
        with store() as loser:
            loser.venues.add(_venue("v2", GRID_B))
            with pytest.raises(ConflictError):  # noqa: PT012 - at update or at commit
                loser.venues.update(stale)
                loser.commit()
        with store() as uow:
            assert ["v1"] == self.all_venues(uow, DISTRICT)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
            ({"limit": "10"}, "limit"),
            ({"after": "not-a-cursor"}, "after"),
        ],
    )
    def test_venue_bad_query_arguments_raise_validation_error(
        self, store: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """Bad limits and cursors raise ValidationError naming the argument."""
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.venues.in_subtree(GRID_A, **kwargs)  # type: ignore[arg-type]
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.venues(cell_codes=[c.code for c in _cells()]))
    def test_generated_venues_round_trip(self, store: UowFactory, drawn: Venue) -> None:
        """Any venue comes back equal at version 1 and is found in its cell's subtree."""
        venue = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with store() as uow:
            uow.venues.add(venue)
            uow.commit()
        with store() as uow:
            got = uow.venues.get(venue.id)
            found = venue.id in self.all_venues(uow, venue.cell_code, limit=MAX_PAGE_SIZE)
        assert (attrs.evolve(venue, version=1), True) == (got, found)


_WEEKLY = "FREQ=WEEKLY"


class SeriesRepositoryContract(_SchedulingBase):
    """What every ``SeriesRepository`` does: series of a venue found by the span of their rule."""

    @staticmethod
    def add_series(store: UowFactory, series: Iterable[ActivitySeries]) -> None:
        """Commit ``series`` in one unit of work."""
        with store() as uow:
            for s in series:
                uow.series.add(s)
            uow.commit()

    def test_series_add_then_get_round_trips_at_version_1(self, venued: UowFactory) -> None:
        """A series comes back equal at version 1: rule, exceptions, changes, eligibility, zones."""
        series = ActivitySeries(
            "a1",
            "自闭症儿童绘画课",
            "明宫社区居委会",
            "v1",
            "s1",
            T0.in_timezone("Europe/Berlin"),
            90,
            rrule="FREQ=WEEKLY;BYDAY=SA,WE;UNTIL=20261231T235959",
            exdates={T0.add(weeks=1)},
            changes=[
                OccurrenceChange(T0.add(days=4), cancelled=True, note="老师请假"),
                OccurrenceChange(
                    T0.add(weeks=2),
                    start=T0.add(weeks=2, hours=2).in_timezone("UTC"),
                    space_id="s2",
                ),
            ],
            skip_holidays=True,
            setup_minutes=15,
            teardown_minutes=10,
            capacity=12,
            eligibility=AllOf([AgeBelow(14), Not(HasTag(Tag.LIVING_ALONE))]),
            description="每周三、周六上午",
        )
        with venued() as uow:
            added = uow.series.add(series)
            uow.commit()
        with venued() as uow:
            got = uow.series.get("a1")
        expected = attrs.evolve(series, version=1)
        assert (expected, expected, _series_instants(series)) == (
            added,
            got,
            _series_instants(got),
        )

    def test_series_get_unknown_raises_not_found(self, venued: UowFactory) -> None:
        """Getting an unknown series id raises NotFoundError."""
        with venued() as uow, pytest.raises(NotFoundError):
            uow.series.get("a404")

    def test_series_with_unknown_venue_or_space_is_rejected_and_not_stored(
        self, venued: UowFactory
    ) -> None:
        """An unknown venue raises NotFoundError, a space the venue lacks ValidationError."""
        with venued() as uow:
            with pytest.raises(NotFoundError) as venue:
                uow.series.add(_series("a1", venue="v404"))
            with pytest.raises(ValidationError) as space:
                uow.series.add(_series("a2", venue="v2", space="s2"))
            uow.commit()
        with venued() as uow:
            kept = [_stored(functools.partial(uow.series.get, sid)) for sid in ("a1", "a2")]
        assert (("venue", "v404"), "space_id", [False, False]) == (
            (venue.value.kind, venue.value.key),
            space.value.path,
            kept,
        )

    def test_series_of_a_venue_added_in_the_same_unit(self, venued: UowFactory) -> None:
        """A series may use a venue the same unit added before committing."""
        with venued() as uow:
            uow.venues.add(_venue("v9", GRID_B, "yard"))
            uow.series.add(_series("a1", venue="v9", space="yard"))
            uow.commit()
        with venued() as uow:
            assert ["a1"] == self.all_series(uow, "v9", T0, T0.add(days=1))

    def test_series_update_to_another_space_is_checked(self, venued: UowFactory) -> None:
        """A series moves to a space of another venue; to a space its venue lacks, it raises."""
        self.add_series(venued, [_series("a1")])
        with venued() as uow:
            series = uow.series.get("a1")
            with pytest.raises(ValidationError) as info:
                uow.series.update(attrs.evolve(series, venue_id="v2", space_id="s2"))
            uow.series.update(attrs.evolve(series, venue_id="v2", space_id="s1"))
            uow.commit()
        window = (T0, T0.add(days=1))
        with venued() as uow:
            got = (self.all_series(uow, "v1", *window), self.all_series(uow, "v2", *window))
        assert ("space_id", ([], ["a1"])) == (info.value.path, got)

    @staticmethod
    def window_population() -> list[ActivitySeries]:
        """Return series of v1 around the window ``[T0, T0 + 1 day)``, and one of v2."""
        long_ago = pendulum.datetime(2020, 1, 1, 9, tz="Asia/Shanghai")
        return [
            _series("a", T0.subtract(minutes=90), minutes=90),  # ends as the window starts
            _series("b", T0.subtract(minutes=90).in_timezone("UTC"), minutes=91),
            _series("c", T0.add(days=1), minutes=30),  # starts as the window ends
            _series("d", T0.add(days=1).subtract(minutes=1).in_timezone("America/New_York")),
            _series("e", long_ago, rrule=_WEEKLY),  # never ends
            _series(
                "f",
                pendulum.datetime(2025, 1, 1, 9, tz="Asia/Shanghai"),
                rrule=f"{_WEEKLY};COUNT=5",
            ),
            _series(
                "g",
                pendulum.datetime(2026, 1, 1, 9, tz="Asia/Shanghai"),
                rrule="FREQ=DAILY;UNTIL=20270101",
            ),
            _series("h", T0, venue="v2"),  # another venue
            _series(
                "i", long_ago, rrule=f"{_WEEKLY};UNTIL=20261127T000000Z"
            ),  # ended the day before
            _series("j", T0.in_timezone("UTC"), minutes=30, space="s2"),
        ]

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_series_in_venue_keeps_those_spanning_the_window_by_id(
        self, venued: UowFactory, limit: int
    ) -> None:
        """in_venue keeps ``first start < end`` and ``last end > start`` (or none), by id."""
        self.add_series(venued, self.window_population())
        with venued() as uow:
            got = self.all_series(uow, "v1", T0, T0.add(days=1), limit)
        assert ["b", "d", "e", "g", "j"] == got

    def test_never_ending_series_are_found_by_any_later_window(self, venued: UowFactory) -> None:
        """A series without COUNT or UNTIL is found years later; one with COUNT is not."""
        self.add_series(
            venued,
            [_series("n", T0, rrule=_WEEKLY), _series("m", T0, rrule=f"{_WEEKLY};COUNT=3")],
        )
        windows = [
            (T0.subtract(days=1), T0),
            (T0.add(days=1), T0.add(days=2)),
            (T0.add(years=1), T0.add(years=1, hours=1)),
            (T0.add(years=10), T0.add(years=10, days=7)),
            (T0.add(years=50), T0.add(years=50, minutes=1)),
        ]
        with venued() as uow:
            got = [self.all_series(uow, "v1", *w) for w in windows]
        assert [[], ["m", "n"], ["n"], ["n"], ["n"]] == got

    def test_series_span_counts_occurrences_moved_outside_the_rule(
        self, venued: UowFactory
    ) -> None:
        """A first occurrence moved earlier, or a last one moved later, widens the series' span."""
        self.add_series(
            venued,
            [
                _series(
                    "p",
                    rrule=f"{_WEEKLY};COUNT=3",
                    changes=[OccurrenceChange(T0, start=T0.subtract(days=2))],
                ),
                _series(
                    "q",
                    rrule=f"{_WEEKLY};COUNT=2",
                    changes=[OccurrenceChange(T0.add(weeks=1), start=T0.add(weeks=5))],
                ),
            ],
        )
        with venued() as uow:
            earlier = self.all_series(uow, "v1", T0.subtract(days=2), T0.subtract(days=1))
            later = self.all_series(uow, "v1", T0.add(weeks=5), T0.add(weeks=5, hours=1))
            between = self.all_series(uow, "v1", T0.add(weeks=4), T0.add(weeks=4, hours=1))
        assert (["p"], ["q"], ["q"]) == (earlier, later, between)

    def test_series_in_unknown_venue_raises_not_found(self, venued: UowFactory) -> None:
        """Asking for the series of an unknown venue raises NotFoundError."""
        with venued() as uow, pytest.raises(NotFoundError):
            uow.series.in_venue("v404", start=T0, end=T0.add(days=1))

    def test_staged_series_are_visible_in_their_own_unit_only(self, venued: UowFactory) -> None:
        """A unit sees its new series and its changes to others; other units do not."""
        self.add_series(venued, [_series("a1"), _series("a2", T0.add(hours=2))])
        window = (T0, T0.add(hours=1))
        with venued() as uow:
            uow.series.add(_series("a0", T0.subtract(minutes=30)))
            uow.series.update(attrs.evolve(uow.series.get("a1"), start=T0.add(days=3)))
            uow.series.update(attrs.evolve(uow.series.get("a2"), start=T0.add(minutes=30)))
            mine = (self.all_series(uow, "v1", *window, limit=1), uow.series.get("a0").version)
            with venued() as other:
                theirs = (
                    self.all_series(other, "v1", *window),
                    _stored(lambda: other.series.get("a0")),
                )
        assert ((["a0", "a2"], 1), (["a1"], False)) == (mine, theirs)

    def test_series_rollback_leaves_nothing(self, venued: UowFactory) -> None:
        """Series added then rolled back are gone, in the unit and after it."""
        window = (T0.subtract(days=1), T0.add(days=1))
        with venued() as uow:
            uow.series.add(_series("a1", rrule=_WEEKLY))
            uow.rollback()
            inside = (self.all_series(uow, "v1", *window), _stored(lambda: uow.series.get("a1")))
        with venued() as uow:
            after = (self.all_series(uow, "v1", *window), _stored(lambda: uow.series.get("a1")))
        assert (([], False), ([], False)) == (inside, after)

    def test_conflicting_unit_stores_no_series(self, venued: UowFactory) -> None:
        """A unit whose series update turns out stale keeps none of its new series."""
        self.add_series(venued, [_series("a1")])
        with venued() as uow:
            stale = uow.series.get("a1")
        with venued() as winner:
            winner.series.update(winner.series.get("a1"))
            winner.commit()
        with venued() as loser:
            loser.series.add(_series("a2"))
            with pytest.raises(ConflictError):  # noqa: PT012 - at update or at commit
                loser.series.update(stale)
                loser.commit()
        with venued() as uow:
            assert ["a1"] == self.all_series(uow, "v1", T0, T0.add(days=1))

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"start": pendulum.naive(2026, 11, 28), "end": T0}, "start"),
            ({"start": T0, "end": pendulum.naive(2026, 11, 29)}, "end"),
            ({"start": "2026-11-28T09:00:00+08:00", "end": T0}, "start"),
            ({"start": T0, "end": ON}, "end"),
            ({"start": T0, "end": T0.subtract(seconds=1)}, "end"),
            ({"start": T0, "end": T0.add(days=1), "limit": 0}, "limit"),
            ({"start": T0, "end": T0.add(days=1), "limit": MAX_PAGE_SIZE + 1}, "limit"),
            ({"start": T0, "end": T0.add(days=1), "after": "not-a-cursor"}, "after"),
        ],
    )
    def test_series_bad_query_arguments_raise_validation_error(
        self, venued: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """Naive or non-instants, a window ending before it starts, bad limits and cursors."""
        with venued() as uow, pytest.raises(ValidationError) as info:
            uow.series.in_venue("v1", **kwargs)  # type: ignore[arg-type]
        assert path == info.value.path

    def test_series_add_many_counts_and_reports_progress(self, venued: UowFactory) -> None:
        """add_many stores every series and reports progress per batch and at the end."""
        seen: list[int] = []
        series = (_series(f"a{i:03d}", T0.add(minutes=i), rrule=_WEEKLY) for i in range(25))
        with venued() as uow:
            count = uow.series.add_many(series, batch_size=10, progress=seen.append)
            uow.commit()
        with venued() as uow:
            stored = len(self.all_series(uow, "v1", T0, T0.add(days=1), limit=7))
        assert (25, [10, 20, 25], 25) == (count, seen, stored)

    def test_series_failed_add_many_leaves_the_store_as_before(self, venued: UowFactory) -> None:
        """A series of an unknown venue mid-stream fails the call and stores none of its series."""
        self.add_series(venued, [_series("a0")])

        def stream() -> Iterator[ActivitySeries]:
            for i in range(1, 8):
                yield _series(f"a{i}", T0.add(hours=i), venue="v1" if i != 5 else "v404")

        with venued() as uow:
            with pytest.raises(NotFoundError):
                uow.series.add_many(stream(), batch_size=2)
            uow.commit()
        with venued() as uow:
            assert ["a0"] == self.all_series(uow, "v1", T0, T0.add(days=1))

    def test_series_add_many_with_a_stored_id_conflicts(self, venued: UowFactory) -> None:
        """A stream repeating a stored series id raises ConflictError and stores none of it."""
        self.add_series(venued, [_series("a3")])
        with venued() as uow:
            with pytest.raises(ConflictError):
                uow.series.add_many(
                    (_series(f"a{i}", T0.add(hours=i)) for i in range(1, 6)), batch_size=2
                )
            uow.commit()
        with venued() as uow:
            assert ["a3"] == self.all_series(uow, "v1", T0, T0.add(days=1))

    @_KIT_HYPOTHESIS
    @given(drawn=gst.activity_series(venue=_venue("v1", GRID_A, "s1", "s2")))
    def test_generated_series_round_trip(self, venued: UowFactory, drawn: ActivitySeries) -> None:
        """Any series comes back equal at version 1 and is found around its first occurrence."""
        series = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with venued() as uow:
            uow.series.add(series)
            uow.commit()
        first = series.start
        with venued() as uow:
            got = uow.series.get(series.id)
            found = series.id in self.all_series(
                uow, "v1", first, first.add(minutes=1), limit=MAX_PAGE_SIZE
            )
        assert (attrs.evolve(series, version=1), _series_instants(series), True) == (
            got,
            _series_instants(got),
            found,
        )


def _series_instants(series: ActivitySeries) -> list[str]:
    """Return every instant of a series as ISO text, offsets included, in a stable order."""
    out = [series.start.isoformat(), *sorted(t.isoformat() for t in series.exdates)]
    for c in series.changes:
        out.extend(t.isoformat() for t in (c.original_start, c.start) if t is not None)
    return out


class _RegistrationBase(_SchedulingBase):
    """The store with venues and two series to register for."""

    @pytest.fixture
    def scheduled(self, venued: UowFactory) -> UowFactory:
        """Return the store with cells, elders, venues, a weekly series a1 and a daily a2."""
        with venued() as uow:
            uow.series.add(_series("a1", rrule=_WEEKLY))
            uow.series.add(_series("a2", venue="v2", rrule="FREQ=DAILY;COUNT=10"))
            uow.commit()
        return venued


class RegistrationRepositoryContract(_RegistrationBase):
    """What every ``RegistrationRepository`` does: by occurrence, and by resident and time."""

    def test_occupancy_and_promotion_count_every_registration_staged_included(
        self, scheduled: UowFactory
    ) -> None:
        """occupancy() counts places and waitlist; promotion confirms the earliest waiting."""
        waiting = RegistrationState.WAITLISTED
        self.add_registrations(
            scheduled,
            [
                _registration("g1", "r1"),
                _registration("g2", "r2", state=RegistrationState.ATTENDED),
                _registration("g3", "r3", state=waiting, registered_at=T0.subtract(hours=2)),
            ],
        )
        with scheduled() as uow:
            uow.registrations.add(
                _registration("g4", "r4", state=waiting, registered_at=T0.subtract(hours=3))
            )
            uow.registrations.add(_registration("g5", "r5", state=RegistrationState.CANCELLED))
            occurrence = uow.registrations.get("g1").occurrence_id
            before = uow.registrations.occupancy(occurrence)
            promoted = uow.registrations.promote_first_waiting(occurrence)
            after = uow.registrations.occupancy(occurrence)
            nobody = uow.registrations.occupancy("a1@19990101T000000Z")
        expected = (Occupancy(2, 2), "g4", RegistrationState.CONFIRMED, Occupancy(3, 1))
        assert expected == (
            before,
            promoted.id if promoted else None,
            promoted.state if promoted else None,
            after,
        )
        assert Occupancy(0, 0) == nobody

    @staticmethod
    def add_registrations(store: UowFactory, registrations: Iterable[Registration]) -> None:
        """Commit ``registrations`` in one unit of work."""
        with store() as uow:
            for r in registrations:
                uow.registrations.add(r)
            uow.commit()

    def test_registration_add_then_get_round_trips_at_version_1(
        self, scheduled: UowFactory
    ) -> None:
        """A registration comes back equal at version 1, every instant with its offset."""
        registration = _registration(
            "g1",
            "r3",
            T0.add(weeks=1).in_timezone("Europe/Berlin"),
            registered_at=T0.subtract(hours=5, microseconds=7).in_timezone("UTC"),
            state=RegistrationState.WAITLISTED,
        )
        with scheduled() as uow:
            added = uow.registrations.add(registration)
            uow.commit()
        with scheduled() as uow:
            got = uow.registrations.get("g1")

        def instants(r: Registration) -> list[str]:
            return [t.isoformat() for t in (r.start, r.end, r.registered_at)]

        expected = attrs.evolve(registration, version=1)
        assert (expected, expected, instants(registration)) == (added, got, instants(got))

    def test_registration_get_unknown_raises_not_found(self, scheduled: UowFactory) -> None:
        """Getting an unknown registration id raises NotFoundError."""
        with scheduled() as uow, pytest.raises(NotFoundError):
            uow.registrations.get("g404")

    @pytest.mark.parametrize(
        ("resident", "series", "missing"),
        [("r99", "a1", ("resident", "r99")), ("r1", "a404", ("series", "a404"))],
        ids=["unknown-resident", "unknown-series"],
    )
    def test_registration_with_missing_references_is_rejected_and_not_stored(
        self, scheduled: UowFactory, resident: str, series: str, missing: tuple[str, str]
    ) -> None:
        """An unknown resident or series raises NotFoundError naming it; nothing is stored."""
        with scheduled() as uow:
            with pytest.raises(NotFoundError) as info:
                uow.registrations.add(_registration("g1", resident, series=series))
            uow.commit()
        with scheduled() as uow:
            kept = (
                _stored(lambda: uow.registrations.get("g1")),
                uow.registrations.for_resident(resident, start=T0, end=T0.add(days=1)),
            )
        assert (missing, (False, ())) == ((info.value.kind, info.value.key), kept)

    def test_registration_for_records_added_in_the_same_unit(self, scheduled: UowFactory) -> None:
        """A unit may register a resident and for a series it added before committing."""
        with scheduled() as uow:
            uow.households.add(_household("h9", GRID_B, _resident("r9", ON)))
            uow.series.add(_series("a9", venue="v2"))
            uow.registrations.add(_registration("g1", "r9", series="a9"))
            uow.commit()
        with scheduled() as uow:
            got = uow.registrations.for_resident("r9", start=T0, end=T0.add(hours=1))
        assert ["g1"] == _keys(got)

    def test_registration_for_occurrence_orders_by_registered_at_then_id(
        self, scheduled: UowFactory
    ) -> None:
        """for_occurrence returns the occurrence's registrations by registration instant, id."""
        week = T0.add(weeks=1)
        self.add_registrations(
            scheduled,
            [
                _registration("g5", "r1", registered_at=T0.subtract(hours=1)),
                _registration("g2", "r2", registered_at=T0.subtract(hours=3).in_timezone("UTC")),
                _registration("g4", "r3", registered_at=T0.subtract(hours=2)),
                _registration("g3", "r4", registered_at=T0.subtract(hours=2).in_timezone("UTC")),
                _registration("g1", "r5", registered_at=T0.subtract(hours=1, microseconds=1)),
                _registration("g6", "r1", week, registered_at=T0.subtract(days=2)),
            ],
        )
        with scheduled() as uow:
            got = (
                _keys(uow.registrations.for_occurrence(_occurrence("a1", T0))),
                _keys(uow.registrations.for_occurrence(_occurrence("a1", week))),
                uow.registrations.for_occurrence(_occurrence("a1", T0.add(weeks=2))),
            )
        assert (["g2", "g3", "g4", "g1", "g5"], ["g6"], ()) == got

    def test_registration_for_resident_keeps_overlaps_by_start_then_id(
        self, scheduled: UowFactory
    ) -> None:
        """for_resident keeps occurrences overlapping ``[start, end)``, by start then id."""
        end = T0.add(days=1)
        self.add_registrations(
            scheduled,
            [
                _registration("a", "r1", T0.subtract(hours=2), minutes=120),  # ends at start
                _registration("b", "r1", T0.subtract(hours=1).in_timezone("UTC"), minutes=61),
                _registration("c", "r1", T0.add(hours=1), minutes=60),
                _registration("d", "r1", end, minutes=30),  # starts at the end
                _registration("e", "r1", end.subtract(minutes=1).in_timezone("Europe/Berlin")),
                _registration("f", "r1", T0.subtract(days=1), minutes=3 * 24 * 60),
                _registration("g", "r2", T0, minutes=60),  # someone else
                _registration("h", "r1", T0.add(hours=1).in_timezone("America/New_York")),
            ],
        )
        with scheduled() as uow:
            got = _keys(uow.registrations.for_resident("r1", start=T0, end=end))
            none = uow.registrations.for_resident("r5", start=T0, end=end)
        assert (["f", "b", "c", "h", "e"], ()) == (got, none)

    def test_staged_registrations_are_visible_in_their_own_unit_only(
        self, scheduled: UowFactory
    ) -> None:
        """A unit's new and changed registrations show in its own queries; others see none."""
        self.add_registrations(scheduled, [_registration("g1", "r1")])
        occurrence = _occurrence("a1", T0)
        window = {"start": T0, "end": T0.add(hours=1)}
        with scheduled() as uow:
            uow.registrations.add(_registration("g2", "r2", registered_at=T0.subtract(days=3)))
            uow.registrations.update(
                attrs.evolve(uow.registrations.get("g1"), state=RegistrationState.CANCELLED)
            )
            mine = (
                _keys(uow.registrations.for_occurrence(occurrence)),
                _keys(uow.registrations.for_resident("r2", **window)),
                uow.registrations.for_resident("r1", **window)[0].state,
            )
            with scheduled() as other:
                theirs = (
                    _keys(other.registrations.for_occurrence(occurrence)),
                    other.registrations.for_resident("r2", **window),
                    other.registrations.for_resident("r1", **window)[0].state,
                )
        assert (
            (["g2", "g1"], ["g2"], RegistrationState.CANCELLED),
            (["g1"], (), RegistrationState.CONFIRMED),
        ) == (mine, theirs)

    def test_registration_rollback_leaves_nothing(self, scheduled: UowFactory) -> None:
        """Registrations added then rolled back are gone from every query."""
        occurrence = _occurrence("a1", T0)
        window = {"start": T0, "end": T0.add(days=1)}
        with scheduled() as uow:
            uow.registrations.add(_registration("g1"))
            uow.rollback()
            inside = (
                uow.registrations.for_occurrence(occurrence),
                uow.registrations.for_resident("r1", **window),
            )
        with scheduled() as uow:
            after = (
                uow.registrations.for_occurrence(occurrence),
                uow.registrations.for_resident("r1", **window),
                _stored(lambda: uow.registrations.get("g1")),
            )
        assert (((), ()), ((), (), False)) == (inside, after)

    def test_conflicting_unit_stores_no_registrations(self, scheduled: UowFactory) -> None:
        """A unit whose registration update turns out stale keeps none of its new ones."""
        self.add_registrations(scheduled, [_registration("g1")])
        with scheduled() as uow:
            stale = uow.registrations.get("g1")
        with scheduled() as winner:
            winner.registrations.update(winner.registrations.get("g1"))
            winner.commit()
        with scheduled() as loser:
            loser.registrations.add(_registration("g2", "r2"))
            with pytest.raises(ConflictError):  # noqa: PT012 - at update or at commit
                loser.registrations.update(stale)
                loser.commit()
        with scheduled() as uow:
            assert ["g1"] == _keys(uow.registrations.for_occurrence(_occurrence("a1", T0)))

    @pytest.mark.parametrize(
        ("method", "args", "kwargs", "path"),
        [
            ("for_resident", ("r1",), {"start": pendulum.naive(2026, 11, 28), "end": T0}, "start"),
            ("for_resident", ("r1",), {"start": T0, "end": pendulum.naive(2026, 11, 29)}, "end"),
            ("for_resident", ("r1",), {"start": T0, "end": ON}, "end"),
            ("for_resident", ("r1",), {"start": T0, "end": T0.subtract(days=1)}, "end"),
            ("for_resident", ("",), {"start": T0, "end": T0.add(days=1)}, "resident_id"),
            ("for_occurrence", ("",), {}, "occurrence_id"),
            ("for_occurrence", (7,), {}, "occurrence_id"),
        ],
    )
    def test_registration_bad_query_arguments_raise_validation_error(
        self,
        scheduled: UowFactory,
        method: str,
        args: tuple[object, ...],
        kwargs: dict[str, object],
        path: str,
    ) -> None:
        """Naive or non-instants, windows ending before they start and empty keys raise."""
        with scheduled() as uow, pytest.raises(ValidationError) as info:
            getattr(uow.registrations, method)(*args, **kwargs)
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(
        drawn=gst.registrations(
            series=_series("a1", rrule=_WEEKLY), resident_id=st.sampled_from(sorted(_HOMES))
        )
    )
    def test_generated_registrations_round_trip(
        self, scheduled: UowFactory, drawn: Registration
    ) -> None:
        """Any registration comes back equal and is found by its occurrence and its times."""
        registration = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with scheduled() as uow:
            uow.registrations.add(registration)
            uow.commit()
        with scheduled() as uow:
            got = uow.registrations.get(registration.id)
            by_occurrence = registration.id in _keys(
                uow.registrations.for_occurrence(registration.occurrence_id)
            )
            by_resident = registration.id in _keys(
                uow.registrations.for_resident(
                    registration.resident_id, start=registration.start, end=registration.end
                )
            )
        assert (attrs.evolve(registration, version=1), True, True) == (
            got,
            by_occurrence,
            by_resident,
        )


class ShiftRepositoryContract(_SchedulingBase):
    """What every ``ShiftRepository`` does: volunteer shifts of a venue by time."""

    @staticmethod
    def add_shifts(store: UowFactory, shifts: Iterable[Shift]) -> None:
        """Commit ``shifts`` in one unit of work."""
        with store() as uow:
            for s in shifts:
                uow.shifts.add(s)
            uow.commit()

    def test_shift_add_then_get_round_trips_at_version_1(self, venued: UowFactory) -> None:
        """A shift comes back equal at version 1, its instants with their offsets."""
        shift = Shift(
            "sh1",
            "v1",
            "社区卫生清扫",
            T0.in_timezone("Europe/Berlin"),
            T0.add(hours=3, microseconds=5).in_timezone("UTC"),
            4,
            {"first_aid", "driving"},
            occurrence_id="a1.20261128",
        )
        with venued() as uow:
            added = uow.shifts.add(shift)
            uow.commit()
        with venued() as uow:
            got = uow.shifts.get("sh1")
        expected = attrs.evolve(shift, version=1)
        assert (expected, expected, [shift.start.isoformat(), shift.end.isoformat()]) == (
            added,
            got,
            [got.start.isoformat(), got.end.isoformat()],
        )

    def test_shift_get_unknown_raises_not_found(self, venued: UowFactory) -> None:
        """Getting an unknown shift id raises NotFoundError."""
        with venued() as uow, pytest.raises(NotFoundError):
            uow.shifts.get("sh404")

    def test_shift_of_unknown_venue_is_rejected_and_not_stored(self, venued: UowFactory) -> None:
        """A shift of an unknown venue raises NotFoundError naming the venue; none is kept."""
        with venued() as uow:
            with pytest.raises(NotFoundError) as info:
                uow.shifts.add(_shift("sh1", venue="v404"))
            uow.commit()
        with venued() as uow:
            kept = _stored(lambda: uow.shifts.get("sh1"))
        assert (("venue", "v404"), False) == ((info.value.kind, info.value.key), kept)

    def test_shift_in_venue_keeps_overlaps_by_start_then_id(self, venued: UowFactory) -> None:
        """in_venue keeps the venue's shifts overlapping ``[start, end)``, by start then id."""
        end = T0.add(days=1)
        self.add_shifts(
            venued,
            [
                _shift("a", T0.subtract(hours=3), minutes=180),  # ends at start
                _shift("b", T0.subtract(hours=1).in_timezone("UTC"), minutes=61),
                _shift("c", T0.add(hours=1)),
                _shift("d", end, minutes=30),  # starts at the end
                _shift("e", end.subtract(minutes=1).in_timezone("Europe/Berlin")),
                _shift("f", T0.subtract(days=1), minutes=3 * 24 * 60),
                _shift("g", T0, venue="v2"),  # another venue
                _shift("h", T0.add(hours=1).in_timezone("America/New_York")),
            ],
        )
        with venued() as uow:
            got = _keys(uow.shifts.in_venue("v1", start=T0, end=end))
            none = uow.shifts.in_venue("v3", start=T0, end=end)
        assert (["f", "b", "c", "h", "e"], ()) == (got, none)

    def test_shift_in_unknown_venue_raises_not_found(self, venued: UowFactory) -> None:
        """Asking for the shifts of an unknown venue raises NotFoundError."""
        with venued() as uow, pytest.raises(NotFoundError):
            uow.shifts.in_venue("v404", start=T0, end=T0.add(days=1))

    def test_staged_shifts_are_visible_in_their_own_unit_only(self, venued: UowFactory) -> None:
        """A unit's new and moved shifts show in its own queries; others see none."""
        self.add_shifts(venued, [_shift("sh1")])
        window = {"start": T0, "end": T0.add(hours=1)}
        with venued() as uow:
            uow.shifts.add(_shift("sh0", T0.subtract(minutes=30)))
            uow.shifts.update(attrs.evolve(uow.shifts.get("sh1"), venue_id="v2"))
            mine = (_keys(uow.shifts.in_venue("v1", **window)), uow.shifts.get("sh0").version)
            with venued() as other:
                theirs = (
                    _keys(other.shifts.in_venue("v1", **window)),
                    _stored(lambda: other.shifts.get("sh0")),
                )
        assert ((["sh0"], 1), (["sh1"], False)) == (mine, theirs)

    def test_shift_rollback_leaves_nothing(self, venued: UowFactory) -> None:
        """Shifts added then rolled back are gone, in the unit and after it."""
        window = {"start": T0, "end": T0.add(days=1)}
        with venued() as uow:
            uow.shifts.add(_shift("sh1"))
            uow.rollback()
            inside = uow.shifts.in_venue("v1", **window)
        with venued() as uow:
            after = (uow.shifts.in_venue("v1", **window), _stored(lambda: uow.shifts.get("sh1")))
        assert ((), ((), False)) == (inside, after)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"start": pendulum.naive(2026, 11, 28), "end": T0}, "start"),
            ({"start": T0, "end": pendulum.naive(2026, 11, 29)}, "end"),
            ({"start": ON, "end": T0}, "start"),
            ({"start": T0, "end": T0.subtract(microseconds=1)}, "end"),
        ],
    )
    def test_shift_bad_query_arguments_raise_validation_error(
        self, venued: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """Naive or non-instants and a window ending before it starts raise ValidationError."""
        with venued() as uow, pytest.raises(ValidationError) as info:
            uow.shifts.in_venue("v1", **kwargs)  # type: ignore[arg-type]
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.shifts(venue_id="v1"))
    def test_generated_shifts_round_trip(self, venued: UowFactory, drawn: Shift) -> None:
        """Any shift comes back equal at version 1 and is found over its own hours."""
        shift = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with venued() as uow:
            uow.shifts.add(shift)
            uow.commit()
        with venued() as uow:
            got = uow.shifts.get(shift.id)
            found = shift.id in _keys(uow.shifts.in_venue("v1", start=shift.start, end=shift.end))
        assert (attrs.evolve(shift, version=1), True) == (got, found)


class SignUpRepositoryContract(_SchedulingBase):
    """What every ``SignUpRepository`` does: volunteers' sign-ups by shift and by resident."""

    @pytest.fixture
    def staffed(self, venued: UowFactory) -> UowFactory:
        """Return the store with venues and two shifts: sh1 at v1 from T0, sh2 at v2 a day on."""
        with venued() as uow:
            uow.shifts.add(_shift("sh1"))
            uow.shifts.add(_shift("sh2", T0.add(days=1), venue="v2"))
            uow.commit()
        return venued

    @staticmethod
    def add_signups(store: UowFactory, signups: Iterable[SignUp]) -> None:
        """Commit ``signups`` in one unit of work."""
        with store() as uow:
            for s in signups:
                uow.signups.add(s)
            uow.commit()

    def test_taken_counts_the_signed_up_of_a_shift_staged_included(
        self, staffed: UowFactory
    ) -> None:
        """taken() counts the signed-up volunteers of a shift, the unit's own included."""
        self.add_signups(
            staffed,
            [_signup("u1", "r1"), _signup("u2", "r2", state=SignUpState.CANCELLED)],
        )
        with staffed() as uow:
            uow.signups.add(_signup("u3", "r3"))
            uow.signups.add(_signup("u4", "r4", T0.add(days=1), shift="sh2"))
            counts = (uow.signups.taken("sh1"), uow.signups.taken("sh2"))
            with pytest.raises(NotFoundError):
                uow.signups.taken("sh-none")
        assert (2, 1) == counts

    def test_signup_add_then_get_round_trips_at_version_1(self, staffed: UowFactory) -> None:
        """A sign-up comes back equal at version 1, its instants with their offsets."""
        signup = SignUp(
            "su1",
            "sh1",
            "r2",
            T0.in_timezone("Europe/Berlin"),
            T0.add(hours=3),
            SignUpState.COMPLETED,
            T0.subtract(days=2, microseconds=3).in_timezone("UTC"),
            hours=2.75,
        )
        with staffed() as uow:
            added = uow.signups.add(signup)
            uow.commit()
        with staffed() as uow:
            got = uow.signups.get("su1")

        def instants(s: SignUp) -> list[str]:
            return [t.isoformat() for t in (s.start, s.end, s.at)]

        expected = attrs.evolve(signup, version=1)
        assert (expected, expected, instants(signup)) == (added, got, instants(got))

    def test_signup_get_unknown_raises_not_found(self, staffed: UowFactory) -> None:
        """Getting an unknown sign-up id raises NotFoundError."""
        with staffed() as uow, pytest.raises(NotFoundError):
            uow.signups.get("su404")

    @pytest.mark.parametrize(
        ("resident", "shift", "missing"),
        [("r99", "sh1", ("resident", "r99")), ("r1", "sh404", ("shift", "sh404"))],
        ids=["unknown-resident", "unknown-shift"],
    )
    def test_signup_with_missing_references_is_rejected_and_not_stored(
        self, staffed: UowFactory, resident: str, shift: str, missing: tuple[str, str]
    ) -> None:
        """An unknown resident or shift raises NotFoundError naming it; nothing is stored."""
        with staffed() as uow:
            with pytest.raises(NotFoundError) as info:
                uow.signups.add(_signup("su1", resident, shift=shift))
            uow.commit()
        with staffed() as uow:
            kept = (
                _stored(lambda: uow.signups.get("su1")),
                uow.signups.for_resident(resident, start=T0, end=T0.add(days=1)),
            )
        assert (missing, (False, ())) == ((info.value.kind, info.value.key), kept)

    def test_signup_for_records_added_in_the_same_unit(self, staffed: UowFactory) -> None:
        """A unit may sign up a resident it added for a shift it added, before committing."""
        with staffed() as uow:
            uow.households.add(_household("h9", GRID_B, _resident("r9", ON)))
            uow.shifts.add(_shift("sh9", venue="v3"))
            uow.signups.add(_signup("su1", "r9", shift="sh9"))
            uow.commit()
        with staffed() as uow:
            got = (
                _keys(uow.signups.for_shift("sh9")),
                _keys(uow.signups.for_resident("r9", start=T0, end=T0.add(hours=1))),
            )
        assert (["su1"], ["su1"]) == got

    def test_signup_for_shift_orders_by_at_then_id(self, staffed: UowFactory) -> None:
        """for_shift returns the shift's sign-ups by sign-up instant then id, others left out."""
        self.add_signups(
            staffed,
            [
                _signup("su5", "r1", at=T0.subtract(hours=1)),
                _signup("su2", "r2", at=T0.subtract(hours=3).in_timezone("UTC")),
                _signup("su4", "r3", at=T0.subtract(hours=2)),
                _signup("su3", "r4", at=T0.subtract(hours=2).in_timezone("America/New_York")),
                _signup("su1", "r5", at=T0.subtract(hours=1, microseconds=1)),
                _signup("su6", "r1", T0.add(days=1), shift="sh2"),
            ],
        )
        with staffed() as uow:
            got = (_keys(uow.signups.for_shift("sh1")), _keys(uow.signups.for_shift("sh2")))
        assert (["su2", "su3", "su4", "su1", "su5"], ["su6"]) == got

    def test_signup_for_unknown_shift_raises_not_found(self, staffed: UowFactory) -> None:
        """Asking for the sign-ups of an unknown shift raises NotFoundError."""
        with staffed() as uow, pytest.raises(NotFoundError):
            uow.signups.for_shift("sh404")

    def test_signup_for_resident_keeps_overlaps_by_start_then_id(self, staffed: UowFactory) -> None:
        """for_resident keeps sign-ups overlapping ``[start, end)``, by start then id."""
        end = T0.add(days=1)
        self.add_signups(
            staffed,
            [
                _signup("a", "r1", T0.subtract(hours=2), minutes=120),  # ends at start
                _signup("b", "r1", T0.subtract(hours=1).in_timezone("UTC"), minutes=61),
                _signup("c", "r1", T0.add(hours=1), minutes=60),
                _signup("d", "r1", end, minutes=30, shift="sh2"),  # starts at the end
                _signup("e", "r1", end.subtract(minutes=1).in_timezone("Europe/Berlin")),
                _signup("f", "r1", T0.subtract(days=1), minutes=3 * 24 * 60),
                _signup("g", "r2", T0, minutes=60),  # someone else
                _signup("h", "r1", T0.add(hours=1).in_timezone("America/New_York")),
            ],
        )
        with staffed() as uow:
            got = _keys(uow.signups.for_resident("r1", start=T0, end=end))
            none = uow.signups.for_resident("r5", start=T0, end=end)
        assert (["f", "b", "c", "h", "e"], ()) == (got, none)

    def test_staged_signups_are_visible_in_their_own_unit_only(self, staffed: UowFactory) -> None:
        """A unit's new and changed sign-ups show in its own queries; others see none."""
        self.add_signups(staffed, [_signup("su1", "r1")])
        window = {"start": T0, "end": T0.add(hours=1)}
        with staffed() as uow:
            uow.signups.add(_signup("su2", "r2", at=T0.subtract(days=3)))
            uow.signups.update(attrs.evolve(uow.signups.get("su1"), state=SignUpState.CANCELLED))
            mine = (
                _keys(uow.signups.for_shift("sh1")),
                _keys(uow.signups.for_resident("r2", **window)),
                uow.signups.for_resident("r1", **window)[0].state,
            )
            with staffed() as other:
                theirs = (
                    _keys(other.signups.for_shift("sh1")),
                    other.signups.for_resident("r2", **window),
                    other.signups.for_resident("r1", **window)[0].state,
                )
        assert (
            (["su2", "su1"], ["su2"], SignUpState.CANCELLED),
            (["su1"], (), SignUpState.SIGNED_UP),
        ) == (mine, theirs)

    def test_signup_rollback_leaves_nothing(self, staffed: UowFactory) -> None:
        """Sign-ups added then rolled back are gone from every query."""
        window = {"start": T0, "end": T0.add(days=1)}
        with staffed() as uow:
            uow.signups.add(_signup("su1"))
            uow.rollback()
            inside = (uow.signups.for_shift("sh1"), uow.signups.for_resident("r1", **window))
        with staffed() as uow:
            after = (
                uow.signups.for_shift("sh1"),
                uow.signups.for_resident("r1", **window),
                _stored(lambda: uow.signups.get("su1")),
            )
        assert (((), ()), ((), (), False)) == (inside, after)

    def test_conflicting_unit_stores_no_signups(self, staffed: UowFactory) -> None:
        """A unit whose sign-up update turns out stale keeps none of its new sign-ups."""
        self.add_signups(staffed, [_signup("su1")])
        with staffed() as uow:
            stale = uow.signups.get("su1")
        with staffed() as winner:
            winner.signups.update(winner.signups.get("su1"))
            winner.commit()
        with staffed() as loser:
            loser.signups.add(_signup("su2", "r2"))
            with pytest.raises(ConflictError):  # noqa: PT012 - at update or at commit
                loser.signups.update(stale)
                loser.commit()
        with staffed() as uow:
            assert ["su1"] == _keys(uow.signups.for_shift("sh1"))

    @pytest.mark.parametrize(
        ("method", "args", "kwargs", "path"),
        [
            ("for_resident", ("r1",), {"start": pendulum.naive(2026, 11, 28), "end": T0}, "start"),
            ("for_resident", ("r1",), {"start": T0, "end": pendulum.naive(2026, 11, 29)}, "end"),
            ("for_resident", ("r1",), {"start": T0, "end": "tomorrow"}, "end"),
            ("for_resident", ("r1",), {"start": T0, "end": T0.subtract(days=1)}, "end"),
            ("for_resident", ("",), {"start": T0, "end": T0.add(days=1)}, "resident_id"),
            ("for_shift", ("",), {}, "shift_id"),
        ],
    )
    def test_signup_bad_query_arguments_raise_validation_error(
        self,
        staffed: UowFactory,
        method: str,
        args: tuple[object, ...],
        kwargs: dict[str, object],
        path: str,
    ) -> None:
        """Naive or non-instants, windows ending before they start and empty keys raise."""
        with staffed() as uow, pytest.raises(ValidationError) as info:
            getattr(uow.signups, method)(*args, **kwargs)
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.signups(shift=_shift("sh1"), resident_id=st.sampled_from(sorted(_HOMES))))
    def test_generated_signups_round_trip(self, staffed: UowFactory, drawn: SignUp) -> None:
        """Any sign-up comes back equal and is found by its shift and its volunteer's time."""
        signup = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with staffed() as uow:
            uow.signups.add(signup)
            uow.commit()
        with staffed() as uow:
            got = uow.signups.get(signup.id)
            by_shift = signup.id in _keys(uow.signups.for_shift("sh1"))
            by_resident = signup.id in _keys(
                uow.signups.for_resident(signup.resident_id, start=signup.start, end=signup.end)
            )
        assert (attrs.evolve(signup, version=1), True, True) == (got, by_shift, by_resident)


# -- audit trail ---------------------------------------------------------------------------------


def _audit(
    aid: str,
    at: pendulum.DateTime,
    principal: str = "w1",
    kind: AuditKind = AuditKind.VIEWED_FULL_RECORD,
    subject: str = "resident:r1",
    *,
    cell_code: str | None = None,
    detail: str = "",
) -> AuditEntry:
    """Return an audit entry; by default w1 viewing resident r1's full record."""
    return AuditEntry(aid, at, principal, kind, subject, cell_code, detail)


def _audit_trail() -> list[AuditEntry]:
    """Return entries around ``[T0, T0 + 10 minutes)``, in several zones, two at one instant."""
    minute = T0.add(minutes=1)
    return [
        _audit("a8", T0.subtract(microseconds=1)),  # just before the window
        _audit("a1", T0, cell_code=BUILDING_A1),
        _audit("a2", minute.in_timezone("UTC"), "w2", AuditKind.DENIED, detail="read"),
        _audit("a3", T0.add(minutes=2), kind=AuditKind.DENIED, subject="case:k1"),
        _audit("a4", T0.add(minutes=3), kind=AuditKind.EXPORTED, subject="query:households"),
        _audit("a5", T0.add(minutes=3).in_timezone("America/New_York"), "w2"),  # a4's instant
        _audit("a6", T0.add(minutes=4), "auditor", AuditKind.EXPORTED, "case:k1"),
        _audit("a7", T0.add(minutes=5).in_timezone("Europe/Berlin")),
        _audit("a0", T0.add(minutes=6), kind=AuditKind.DENIED),  # first by id, not by time
        _audit("a9", T0.add(minutes=10).in_timezone("UTC")),  # at the window's end: left out
    ]


_AUDIT_WINDOW: dict[str, Any] = {"since": T0, "until": T0.add(minutes=10)}


def _audit_ids(page: Page[AuditEntry] | Iterable[AuditEntry]) -> list[str]:
    return [e.id for e in (page.items if isinstance(page, Page) else page)]


class AuditRepositoryContract(_Base):
    """What every ``AuditRepository`` does: an append-only trail, by instant, filtered."""

    @staticmethod
    def add_audit(store: UowFactory, entries: Iterable[AuditEntry]) -> None:
        """Commit ``entries`` in one unit of work."""
        with store() as uow:
            for e in entries:
                uow.audit.add(e)
            uow.commit()

    @staticmethod
    def all_audit(uow: UnitOfWork, limit: int = 100, **filters: object) -> list[str]:
        """Return the ids of every page of ``between`` over the window, with ``filters``."""
        arguments: dict[str, Any] = {**_AUDIT_WINDOW, **filters}
        return _audit_ids(
            _all_pages(lambda a: uow.audit.between(limit=limit, after=a, **arguments))
        )

    def test_audit_add_then_between_round_trips_at_version_1(self, make_uow: UowFactory) -> None:
        """An entry comes back equal at version 1, its instant with its offset, detail and cell."""
        entry = _audit(
            "a1",
            T0.add(microseconds=123_456).in_timezone("Europe/Berlin"),
            "w1",
            AuditKind.EXPORTED,
            "query:households",
            cell_code=COMMUNITY,
            detail="csv, masked",
        )
        with make_uow() as uow:
            added = uow.audit.add(entry)
            uow.commit()
        with make_uow() as uow:
            got = uow.audit.between(**_AUDIT_WINDOW).items
        expected = attrs.evolve(entry, version=1)
        assert (expected, (expected,), entry.at.isoformat()) == (
            added,
            got,
            got[0].at.isoformat(),
        )

    def test_audit_trail_has_no_update_or_remove(self, make_uow: UowFactory) -> None:
        """The audit trail is append-only: the repository offers no update or remove."""
        with make_uow() as uow:
            offered = {name for name in ("update", "remove") if hasattr(uow.audit, name)}
        assert set() == offered

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_audit_between_pages_by_instant_then_id(self, make_uow: UowFactory, limit: int) -> None:
        """Entries with ``since <= at < until`` come across zones, by instant then id, once each."""
        self.add_audit(make_uow, _audit_trail())
        with make_uow() as uow:
            got = self.all_audit(
                uow,
                limit,
                since=T0.in_timezone("UTC"),
                until=T0.add(minutes=10).in_timezone("America/New_York"),
            )
            empty = uow.audit.between(since=T0, until=T0)
        assert (["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a0"], Page(())) == (got, empty)

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({}, ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a0"]),
            ({"principal_id": "w1"}, ["a1", "a3", "a4", "a7", "a0"]),
            ({"subject": "resident:r1"}, ["a1", "a2", "a5", "a7", "a0"]),
            ({"kind": AuditKind.DENIED}, ["a2", "a3", "a0"]),
            ({"principal_id": "w1", "kind": AuditKind.DENIED}, ["a3", "a0"]),
            ({"subject": "resident:r1", "kind": AuditKind.VIEWED_FULL_RECORD}, ["a1", "a5", "a7"]),
            ({"principal_id": "w1", "subject": "resident:r1"}, ["a1", "a7", "a0"]),
            (
                {
                    "principal_id": "w1",
                    "subject": "resident:r1",
                    "kind": AuditKind.VIEWED_FULL_RECORD,
                },
                ["a1", "a7"],
            ),
            ({"principal_id": "w2", "subject": "case:k1"}, []),
            ({"principal_id": "w404"}, []),
            ({"subject": "case:k404", "kind": AuditKind.DENIED}, []),
        ],
        ids=[
            "none",
            "principal",
            "subject",
            "kind",
            "principal-kind",
            "subject-kind",
            "principal-subject",
            "all-three",
            "disjoint",
            "unknown-principal",
            "unknown-subject",
        ],
    )
    def test_audit_between_filters_combine(
        self, make_uow: UowFactory, filters: dict[str, object], expected: list[str]
    ) -> None:
        """Each filter keeps its entries, filters combine with AND, pages follow them in order."""
        self.add_audit(make_uow, _audit_trail())
        with make_uow() as uow:
            got = (self.all_audit(uow, 2, **filters), self.all_audit(uow, 50, **filters))
        assert (expected, expected) == got

    def test_staged_audit_entries_are_visible_in_their_own_unit_only(
        self, make_uow: UowFactory
    ) -> None:
        """A unit's new entries merge into its own queries, filtered and paged; others see none."""
        trail = {e.id: e for e in _audit_trail()}
        self.add_audit(make_uow, [trail["a1"], trail["a3"]])
        with make_uow() as uow:
            uow.audit.add(trail["a2"])
            uow.audit.add(trail["a0"])
            mine = (
                self.all_audit(uow, 1),
                self.all_audit(uow, principal_id="w1"),
                self.all_audit(uow, subject="resident:r1"),
                self.all_audit(uow, 1, kind=AuditKind.DENIED),
                self.all_audit(uow, principal_id="w2", subject="resident:r1"),
            )
            with make_uow() as other:
                theirs = self.all_audit(other)
        with make_uow() as uow:
            after = self.all_audit(uow)
        assert (
            (
                ["a1", "a2", "a3", "a0"],
                ["a1", "a3", "a0"],
                ["a1", "a2", "a0"],
                ["a2", "a3", "a0"],
                ["a2"],
            ),
            ["a1", "a3"],
            ["a1", "a3"],
        ) == (mine, theirs, after)

    def test_audit_rollback_leaves_nothing(self, make_uow: UowFactory) -> None:
        """Entries added then rolled back are gone, and their ids can be added again."""
        with make_uow() as uow:
            uow.audit.add(_audit("a1", T0, "w2"))
            uow.rollback()
            inside = (self.all_audit(uow), self.all_audit(uow, principal_id="w2"))
            uow.audit.add(_audit("a1", T0))
            uow.commit()
        with make_uow() as uow:
            after = [
                (e.id, e.principal_id, e.version) for e in uow.audit.between(**_AUDIT_WINDOW).items
            ]
        assert (([], []), [("a1", "w1", 1)]) == (inside, after)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"since": pendulum.naive(2026, 11, 28)}, "since"),
            ({"until": pendulum.naive(2026, 11, 29)}, "until"),
            ({"since": "2026-11-28T09:00:00+08:00"}, "since"),
            ({"since": ON}, "since"),
            ({"until": T0.subtract(microseconds=1)}, "until"),
            ({"limit": 0}, "limit"),
            ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
            ({"limit": True}, "limit"),
            ({"after": "not-a-cursor"}, "after"),
            ({"principal_id": ""}, "principal_id"),
            ({"subject": ""}, "subject"),
            ({"subject": 7}, "subject"),
            ({"kind": "denied"}, "kind"),
        ],
    )
    def test_audit_bad_query_arguments_raise_validation_error(
        self, make_uow: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """Bad instants, windows, limits, cursors and filters raise ValidationError naming them."""
        arguments: dict[str, Any] = {"since": T0, "until": T0.add(days=1), **kwargs}
        with make_uow() as uow, pytest.raises(ValidationError) as info:
            uow.audit.between(**arguments)
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.audit_entries())
    def test_generated_audit_entries_round_trip(
        self, make_uow: UowFactory, drawn: AuditEntry
    ) -> None:
        """Any entry comes back at version 1, found by its instant, principal, subject and kind."""
        entry = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with make_uow() as uow:
            uow.audit.add(entry)
            uow.commit()
        with make_uow() as uow:
            found = uow.audit.between(
                since=entry.at,
                until=entry.at.add(microseconds=1),
                principal_id=entry.principal_id,
                subject=entry.subject,
                kind=entry.kind,
                limit=MAX_PAGE_SIZE,
            ).items
        matching = all(
            (e.principal_id, e.subject, e.kind) == (entry.principal_id, entry.subject, entry.kind)
            for e in found
        )
        assert (attrs.evolve(entry, version=1), True) == (
            {e.id: e for e in found}.get(entry.id),
            matching,
        )


# -- generated from the record-kind declarations ---------------------------------------------


@attrs.frozen
class _Recipe:
    """How the kit makes records of one declared kind in its standard world.

    Args:
        repository: The unit of work's attribute for the kind.
        needs: Parts of the world the records refer to (``households``, ``venues``, ``series``,
            ``shifts``), committed before the test.
        sample: The ``n``-th new record, valid in that world.
        change: A valid change of a stored record, or ``None`` if the kind has no ``update``.
        queries: The kind's port methods besides ``get``, ``add``, ``update`` and ``remove``.
        readable: Whether the port has ``get`` (the audit trail has not).
        repoint: Returns a record whose reference at a path names another key, for references
            that are not a field of the record's own (a case's cell is its location's).
    """

    repository: str
    needs: tuple[str, ...]
    sample: Callable[[int], Any]
    change: Callable[[Any], Any] | None
    queries: tuple[str, ...]
    readable: bool = True
    repoint: Callable[[Any, str, str], Any] | None = None

    def pointed(self, record: Any, path: str, key: str) -> Any:
        """Return ``record`` with the reference at ``path`` naming ``key`` instead."""
        if self.repoint is not None:
            return self.repoint(record, path, key)
        return attrs.evolve(record, **{path: key})


_RECIPES: dict[str, _Recipe] = {
    "cell": _Recipe(
        "cells",
        (),
        lambda n: GridCell(f"{GRID_A}{100 + n:03d}", f"楼{n}", GridLevel.BUILDING, GRID_A),
        lambda c: attrs.evolve(c, name=f"{c.name}改"),
        ("get_many", "children", "subtree", "tree"),
    ),
    "worker": _Recipe(
        "workers",
        (),
        lambda n: Worker(
            f"kw{n}",
            "安琼",
            frozenset({WorkerRole.GRID_WORKER}),
            (Assignment(GRID_A, pendulum.Date(2024, 1, 1)),),
        ),
        lambda w: attrs.evolve(w, name=f"{w.name}琼"),
        ("list", "assigned_to"),
    ),
    "household": _Recipe(
        "households",
        (),
        lambda n: _household(f"kh{n}", GRID_A, _resident(f"kr{n}", pendulum.Date(1950, 1, 1))),
        lambda h: attrs.evolve(h, address=Address("铁一村新址")),
        ("get_many", "household_of", "add_many", "in_subtree", "with_tag", "aged"),
    ),
    "contact": _Recipe(
        "contacts",
        ("households",),
        lambda n: _contact(f"kc{n}", "r1", T0.add(minutes=n)),
        None,
        ("add_many", "for_resident", "in_subtree"),
    ),
    "care task": _Recipe(
        "care_tasks",
        ("households",),
        lambda n: _task(f"kt{n}", "r1", T0.add(hours=n)),
        lambda t: attrs.evolve(t, due=t.due.add(hours=1)),
        ("add_many", "open_for_resident", "open_in_subtree", "overdue", "claim_overdue"),
    ),
    "case": _Recipe(
        "cases",
        (),
        lambda n: _case(f"kk{n}", at=T0.add(minutes=n)),
        lambda c: attrs.evolve(c, next_check=T0.add(days=1)),
        (
            "add_many",
            "by_external_id",
            "due",
            "open_in_subtree",
            "reported_in_subtree",
            "sightings",
        ),
        repoint=lambda c, path, key: (
            attrs.evolve(c, location=attrs.evolve(c.location, cell_code=key))
            if path == "cell_code"
            else attrs.evolve(c, **{path: key})
        ),
    ),
    "venue": _Recipe(
        "venues",
        (),
        lambda n: _venue(f"kv{n}", GRID_A, "s1"),
        lambda v: attrs.evolve(v, name=f"{v.name}改"),
        ("in_subtree",),
    ),
    "series": _Recipe(
        "series",
        ("venues",),
        lambda n: _series(f"ka{n}", T0.add(days=n)),
        lambda s: attrs.evolve(s, title=f"{s.title}改"),
        ("add_many", "in_venue"),
    ),
    "registration": _Recipe(
        "registrations",
        ("households", "venues", "series"),
        lambda n: _registration(f"kg{n}", "r1", T0.add(weeks=n)),
        lambda r: attrs.evolve(r, state=RegistrationState.WAITLISTED),
        ("for_occurrence", "for_resident"),
    ),
    "shift": _Recipe(
        "shifts",
        ("venues",),
        lambda n: _shift(f"ks{n}", T0.add(days=n)),
        lambda s: attrs.evolve(s, required=s.required + 1),
        ("in_venue",),
    ),
    "sign-up": _Recipe(
        "signups",
        ("households", "venues", "shifts"),
        lambda n: _signup(f"ku{n}", "r1"),
        lambda s: attrs.evolve(s, state=SignUpState.CANCELLED),
        ("for_shift", "for_resident"),
    ),
    "audit entry": _Recipe(
        "audit",
        (),
        lambda n: _audit(f"ke{n}", T0.add(seconds=n)),
        None,
        ("between",),
        readable=False,
    ),
    "remembered request": _Recipe(
        "requests",
        (),
        lambda n: RememberedRequest(
            id=f"key-{n}",
            service="gridgov.services.cases.report_case",
            fingerprint=f"{n:064d}",
            result="{}",
            at=T0,
            expires=T0.add(hours=1 + n),
        ),
        lambda r: attrs.evolve(r, expires=r.expires.add(hours=24)),
        ("forget_expired",),
    ),
    "event": _Recipe(
        "outbox",
        (),
        lambda n: stored_event(n, f"kk{n}"),
        None,
        ("add_many", "last_events", "pending", "for_aggregate", "mark_published", "prune"),
    ),
    "notification": _Recipe(
        "notifications",
        (),
        lambda n: sample_notification(n),
        lambda n: attrs.evolve(n, state=NotificationState.CANCELLED, next_at=None),
        ("add_many", "due", "about"),
    ),
    "component": _Recipe(
        "components",
        (),
        sample_component,
        lambda c: attrs.evolve(c, name=f"{c.name}改"),
        ("add_many", "in_subtree"),
    ),
}
"""One recipe per declared kind but the settings singleton, whose contract is its own."""

_EVERY = tuple(_RECIPES)
_READABLE = tuple(k for k, r in _RECIPES.items() if r.readable)
_UPDATABLE = tuple(k for k, r in _RECIPES.items() if r.change is not None)
_REMOVABLE = tuple(k.name for k in KINDS if k.removable)
_STREAMED = tuple(k for k, r in _RECIPES.items() if "add_many" in r.queries)
# Kinds with a reference the kit can point at nothing (a field of the record, not a list).
_REFERRING = tuple(
    k.name
    for k in KINDS
    if k.name in _RECIPES
    and any(
        "[" not in path for ref in k.references for path, _ in ref.keys(_RECIPES[k.name].sample(1))
    )
)


_KINDS_ATTRIBUTE = "gridgov_kit_kinds"


def _for_kinds(kinds: tuple[str, ...]) -> Callable[[T], T]:
    """Mark a generated test with the kinds it applies to (see ``pytest_generate_tests``)."""

    def mark(test: T) -> T:
        setattr(test, _KINDS_ATTRIBUTE, kinds)
        return test

    return mark


def _declared(name: str) -> RecordKind[Any]:
    return next(k for k in KINDS if k.name == name)


class RecordKindContract(_Base):
    """What every declared record kind does, generated from :mod:`gridgov.records`.

    Each test runs once per declared kind it applies to. An adapter that stores only some kinds
    sets ``capabilities`` to their names (cells are always needed: every record lies in one);
    the tests run for those kinds only, and ``test_unit_of_work_offers_its_capabilities`` lists
    every repository or method the adapter lacks for the capabilities it claims.
    """

    capabilities: frozenset[str] = frozenset(k.name for k in KINDS)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run each generated test once per kind it applies to that the adapter claims."""
        kinds = getattr(metafunc.function, _KINDS_ATTRIBUTE, None)
        if kinds is not None:
            metafunc.parametrize("kind", [k for k in kinds if k in self.capabilities])

    @pytest.fixture
    def world(self, store: UowFactory, kind: str) -> UowFactory:
        """Return the store with what the kind's records refer to committed."""
        needs = _RECIPES[kind].needs
        with store() as uow:
            if "households" in needs:
                for h in _elders():
                    uow.households.add(h)
            if "venues" in needs:
                uow.venues.add(_venue("v1", GRID_A, "s1", "s2"))
            if "series" in needs:
                uow.series.add(_series("a1", rrule="FREQ=WEEKLY"))
            if "shifts" in needs:
                uow.shifts.add(_shift("sh1"))
            uow.commit()
        return store

    @staticmethod
    def _repo(uow: UnitOfWork, kind: str) -> Any:
        return getattr(uow, _RECIPES[kind].repository)

    @staticmethod
    def _read(uow: UnitOfWork, kind: str, record: Any) -> Any:
        """Return the stored record with ``record``'s key, or ``None``."""
        repo = RecordKindContract._repo(uow, kind)
        key = _declared(kind).key(record)
        if not _RECIPES[kind].readable:
            found = repo.between(since=record.at, until=record.at.add(seconds=1)).items
            return next((r for r in found if r.id == key), None)
        try:
            return repo.get(key)
        except NotFoundError:
            return None

    def test_unit_of_work_offers_its_capabilities(self, make_uow: UowFactory) -> None:
        """For every kind claimed, the unit of work has its repository with every port method."""
        missing = []
        with make_uow() as uow:
            for k in KINDS:
                recipe = _RECIPES.get(k.name)
                if k.name not in self.capabilities or recipe is None:
                    continue
                repo = getattr(uow, recipe.repository, None)
                methods = [*(["get"] if recipe.readable else []), "add", *recipe.queries]
                if recipe.change is not None:
                    methods.append("update")
                if k.removable:
                    methods.append("remove")
                missing += [f"uow.{recipe.repository}.{m}" for m in methods if not hasattr(repo, m)]
        assert [] == missing, "missing for the capabilities claimed: " + ", ".join(missing)

    @_for_kinds(_EVERY)
    def test_declared_kind_round_trips_at_version_1(self, world: UowFactory, kind: str) -> None:
        """A committed record comes back equal at version 1 from a new unit of work."""
        record = _RECIPES[kind].sample(1)
        with world() as uow:
            added = self._repo(uow, kind).add(record)
            uow.commit()
        with world() as uow:
            stored = self._read(uow, kind, record)
        assert (1, attrs.evolve(record, version=1), added) == (added.version, stored, stored)

    @_for_kinds(tuple(k for k, r in _RECIPES.items() if "get_many" in r.queries))
    def test_declared_kind_get_many_returns_the_stored_ones_by_key(
        self, world: UowFactory, kind: str
    ) -> None:
        """``get_many`` returns stored and staged records by key; unknown keys are left out."""
        recipe = _RECIPES[kind]
        first, second = recipe.sample(1), recipe.sample(2)
        with world() as uow:
            self._repo(uow, kind).add(first)
            uow.commit()
        with world() as uow:
            self._repo(uow, kind).add(second)
            keys = [_declared(kind).key(r) for r in (first, second)]
            found = self._repo(uow, kind).get_many([*keys, "kit-unknown", keys[0]])
        assert {
            k: attrs.evolve(r, version=1) for k, r in zip(keys, (first, second), strict=True)
        } == (found)

    @_for_kinds(_READABLE)
    def test_declared_kind_unknown_key_is_not_found(self, world: UowFactory, kind: str) -> None:
        """``get`` of a key never stored raises NotFoundError naming the kind and the key."""
        with world() as uow, pytest.raises(NotFoundError) as info:
            self._repo(uow, kind).get("kit-unknown")
        assert (kind, "kit-unknown") == (info.value.kind, info.value.key)

    @_for_kinds(_READABLE)
    @pytest.mark.parametrize(
        "key", ["a\x00b", "a\ud800b", "a\x1bb"], ids=["nul", "surrogate", "esc"]
    )
    def test_declared_kind_unstorable_key_is_refused(
        self, world: UowFactory, kind: str, key: str
    ) -> None:
        """``get`` of a key no store could hold raises ValidationError, not a driver error."""
        with world() as uow, pytest.raises(ValidationError) as info:
            self._repo(uow, kind).get(key)
        assert "key" == info.value.path

    @_for_kinds(_EVERY)
    def test_declared_kind_duplicate_key_conflicts_and_keeps_the_first(
        self, world: UowFactory, kind: str
    ) -> None:
        """Adding a key that is staged, or stored, raises ConflictError; the first stays."""
        recipe = _RECIPES[kind]
        first, other = recipe.sample(1), recipe.sample(2)
        twin = attrs.evolve(other, **{_declared(kind).key_column: _declared(kind).key(first)})
        if kind == "cell":
            twin = attrs.evolve(first, name="又一")
        with world() as uow:
            self._repo(uow, kind).add(first)
            with pytest.raises(ConflictError):
                self._repo(uow, kind).add(twin)
            uow.commit()
        with world() as uow, pytest.raises(ConflictError):
            self._repo(uow, kind).add(twin)
        with world() as uow:
            assert attrs.evolve(first, version=1) == self._read(uow, kind, first)

    @_for_kinds(_EVERY)
    def test_declared_kind_rejects_other_objects(self, world: UowFactory, kind: str) -> None:
        """Adding something of another type raises ValidationError naming the argument."""
        declared = _declared(kind)
        with world() as uow, pytest.raises(ValidationError) as info:
            self._repo(uow, kind).add("not a record")
        assert (declared.argument or declared.name) == info.value.path

    @_for_kinds(_UPDATABLE)
    def test_declared_kind_update_bumps_version_and_stale_update_conflicts(
        self, world: UowFactory, kind: str
    ) -> None:
        """An update returns version 2; another update from version 1 raises ConflictError."""
        change = _RECIPES[kind].change
        assert change is not None
        with world() as uow:
            added = self._repo(uow, kind).add(_RECIPES[kind].sample(1))
            uow.commit()
        with world() as uow:
            updated = self._repo(uow, kind).update(change(added))
            uow.commit()
        # Adapters may refuse a stale write at once or at commit: both count.
        with world() as uow, pytest.raises(ConflictError):  # noqa: PT012
            self._repo(uow, kind).update(change(added))
            uow.commit()
        with world() as uow:
            assert (2, updated) == (updated.version, self._read(uow, kind, added))

    @_for_kinds(_EVERY)
    def test_declared_kind_offers_what_its_declaration_allows(
        self, make_uow: UowFactory, kind: str
    ) -> None:
        """Append-only kinds have no ``update`` and no ``remove``; others ``remove`` if declared."""
        declared = _declared(kind)
        with make_uow() as uow:
            repo = self._repo(uow, kind)
            offered = (hasattr(repo, "update"), hasattr(repo, "remove"))
        assert (not declared.append_only, declared.removable) == offered

    @_for_kinds(_UPDATABLE)
    def test_declared_kind_update_of_unknown_key_is_not_found(
        self, world: UowFactory, kind: str
    ) -> None:
        """Updating a record that was never stored raises NotFoundError; nothing is stored."""
        change = _RECIPES[kind].change
        assert change is not None
        record = attrs.evolve(_RECIPES[kind].sample(1), version=1)
        with world() as uow:
            with pytest.raises(NotFoundError):
                self._repo(uow, kind).update(change(record))
            uow.commit()
        with world() as uow:
            assert None is self._read(uow, kind, record)

    @_for_kinds(_REMOVABLE)
    def test_declared_kind_remove_deletes_and_stale_remove_conflicts(
        self, world: UowFactory, kind: str
    ) -> None:
        """Removing a stale version raises ConflictError; removing the current one deletes it."""
        recipe = _RECIPES[kind]
        assert recipe.change is not None
        with world() as uow:
            added = self._repo(uow, kind).add(recipe.sample(1))
            uow.commit()
        with world() as uow:
            updated = self._repo(uow, kind).update(recipe.change(added))
            uow.commit()
        with world() as uow, pytest.raises(ConflictError):  # noqa: PT012
            self._repo(uow, kind).remove(added)
            uow.commit()
        with world() as uow:
            self._repo(uow, kind).remove(updated)
            uow.commit()
        with world() as uow:
            assert None is self._read(uow, kind, added)

    @_for_kinds(_REFERRING)
    def test_declared_kind_missing_reference_is_refused_and_not_stored(
        self, world: UowFactory, kind: str
    ) -> None:
        """A record referring to nothing stored raises the declared error; nothing is kept."""
        record = _RECIPES[kind].sample(1)
        refused = []
        for reference in _declared(kind).references:
            for path, _ in reference.keys(record):
                if "[" in path:
                    continue  # a path into a collection (a worker's assignments)
                unknown = UNKNOWN_CELL if reference.target == "cell" else "kit-unknown"
                bad = _RECIPES[kind].pointed(record, path, unknown)
                with world() as uow:
                    with pytest.raises((NotFoundError, ValidationError)) as info:
                        self._repo(uow, kind).add(bad)
                    uow.commit()
                with world() as uow:
                    kept = self._read(uow, kind, bad)
                error = info.value
                refused.append(
                    (error.kind, error.key)
                    if isinstance(error, NotFoundError)
                    else (getattr(error, "path", None), kept)
                )
                expected = (
                    (reference.target, unknown)
                    if reference.missing is Missing.NOT_FOUND
                    else (path, None)
                )
                assert (expected, None) == (refused[-1], kept)
        assert refused, f"{kind!r} declares no reference the kit can point elsewhere"

    @_for_kinds(_EVERY)
    def test_declared_kind_uncommitted_add_is_invisible_and_rolled_back(
        self, world: UowFactory, kind: str
    ) -> None:
        """A record added but not committed is invisible to other units and gone afterwards."""
        record = _RECIPES[kind].sample(1)
        with world() as writer:
            self._repo(writer, kind).add(record)
            with world() as reader:
                during = self._read(reader, kind, record)
        with world() as uow:
            after = self._read(uow, kind, record)
        assert (None, None) == (during, after)

    @_for_kinds(_STREAMED)
    def test_declared_kind_add_many_stores_every_record_with_progress(
        self, world: UowFactory, kind: str
    ) -> None:
        """``add_many`` stores a stream in batches, reports progress and returns the count."""
        recipe = _RECIPES[kind]
        records = [recipe.sample(n) for n in range(1, 6)]
        seen: list[int] = []
        with world() as uow:
            count = self._repo(uow, kind).add_many(
                iter(records), batch_size=2, progress=seen.append
            )
            uow.commit()
        with world() as uow:
            stored = [self._read(uow, kind, r) for r in records]
        expected = [attrs.evolve(r, version=1) for r in records]
        assert (5, [2, 4, 5], expected) == (count, seen, stored)


class StoreContract(
    CellRepositoryContract,
    WorkerRepositoryContract,
    HouseholdRepositoryContract,
    ContactRepositoryContract,
    CareTaskRepositoryContract,
    CaseRepositoryContract,
    SettingsRepositoryContract,
    VenueRepositoryContract,
    SeriesRepositoryContract,
    RegistrationRepositoryContract,
    ShiftRepositoryContract,
    SignUpRepositoryContract,
    AuditRepositoryContract,
    UnitOfWorkContract,
    RecordKindContract,
    ConcurrencyContract,
    RequestRepositoryContract,
    OutboxRepositoryContract,
    NotificationRepositoryContract,
    MaskingContract,
):
    """Every contract at once: what a complete adapter subclasses."""
