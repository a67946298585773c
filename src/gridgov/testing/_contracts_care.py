"""The care contracts: the contact ledger and care tasks, with their worklist queries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import attrs
import pendulum
import pytest

from gridgov.care.contacts import CareTask, ContactAttempt, TaskState
from gridgov.care.policy import ContactMethod
from gridgov.errors import ConflictError, GridgovError, NotFoundError, ValidationError
from gridgov.ports import Page
from gridgov.testing._samples import _all_pages, _CareBase, _contact, _ids, _race, _task
from gridgov.testing._world import (
    BUILDING_A1,
    BUILDING_A2,
    DISTRICT,
    GRID_A,
    GRID_B,
    ON,
    T0,
    UNKNOWN_CELL,
    UowFactory,
    _household,
    _resident,
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


class ContactRepositoryContract(_CareBase):
    """What every ``ContactRepository`` does: an append-only ledger of contact attempts."""

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


class CareTaskRepositoryContract(_CareBase):
    """What every ``CareTaskRepository`` does: tasks with windows, indexed for worklists."""

    @staticmethod
    def close(store: UowFactory, *task_ids: str) -> None:
        """Mark the tasks done, in one unit of work."""
        with store() as uow:
            for tid in task_ids:
                uow.care_tasks.update(uow.care_tasks.get(tid).done("c0"))
            uow.commit()

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
        self.add_and_commit(elders, "care_tasks", [_task("t1", "r1", T0)])
        with elders() as uow:
            task = uow.care_tasks.get("t1")
            with pytest.raises(ValidationError) as info:
                uow.care_tasks.update(attrs.evolve(task, resident_id="r2"))
        assert "resident_id" == info.value.path

    def test_update_moving_a_task_checks_the_household(self, elders: UowFactory) -> None:
        """Moving a task to a cell that is not its household's raises ValidationError."""
        self.add_and_commit(elders, "care_tasks", [_task("t1", "r1", T0)])
        with elders() as uow:
            task = uow.care_tasks.get("t1")
            with pytest.raises(ValidationError) as info:
                uow.care_tasks.update(attrs.evolve(task, cell_code=BUILDING_A2))
        assert "cell_code" == info.value.path

    def test_task_of_a_removed_household_can_still_be_closed(self, elders: UowFactory) -> None:
        """A task whose household was removed (moved out, deceased) can still be cancelled."""
        self.add_and_commit(elders, "care_tasks", [_task("t1", "r3", T0)])
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
        self.add_and_commit(
            elders,
            "care_tasks",
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
        self.add_and_commit(
            elders,
            "care_tasks",
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
        self.add_and_commit(elders, "care_tasks", self.overdue_population())
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
        self.add_and_commit(elders, "care_tasks", self.overdue_population())
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
        self.add_and_commit(elders, "care_tasks", self.overdue_population())
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
        self.add_and_commit(
            elders,
            "care_tasks",
            [_task(f"q{i:02d}", "r1", T0, due=T0.add(minutes=i)) for i in range(12)],
        )
        handled: list[str] = []
        failures: list[str] = []
        now = T0.add(hours=1)

        def sweep(_: int) -> None:
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

        _race(4, sweep)
        assert ([], [f"q{i:02d}" for i in range(12)]) == (failures, sorted(handled))

    def test_closed_tasks_leave_the_open_queries(self, elders: UowFactory) -> None:
        """Done and cancelled tasks are kept but no longer listed as open."""
        self.add_and_commit(
            elders, "care_tasks", [_task("t1", "r1", T0), _task("t2", "r1", T0.add(hours=1))]
        )
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
        self.add_and_commit(elders, "care_tasks", [_task("t1", "r1", T0)])
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
        self.add_and_commit(elders, "care_tasks", [_task("t1", "r1", T0), _task("t2", "r2", T0)])
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
        self.add_and_commit(elders, "care_tasks", [_task("t1", "r1", T0)])
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

    def test_task_failed_add_many_leaves_the_store_as_before(self, elders: UowFactory) -> None:
        """A task with a bad reference mid-stream fails the call and stores none of its tasks."""
        self.add_and_commit(elders, "care_tasks", [_task("t0", "r4", T0)])

        def stream() -> Iterator[CareTask]:
            for i in range(1, 8):
                yield _task(f"t{i}", "r4" if i != 5 else "r99", T0.add(hours=i))

        with elders() as uow:
            with pytest.raises(ValidationError):
                uow.care_tasks.add_many(stream(), batch_size=2)
            uow.commit()
        with elders() as uow:
            assert ["t0"] == [t.id for t in uow.care_tasks.open_for_resident("r4")]
