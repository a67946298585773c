"""The ledger's contracts: cells, workers, households, settings and the unit of work itself."""

from __future__ import annotations

import threading

import attrs
import pendulum
import pytest
from hypothesis import given

from gridgov.cases.escalation import DEFAULT_ESCALATION, EscalationPolicy
from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.grid import Assignment, GridCell, GridLevel, GridTree, Worker, WorkerRole
from gridgov.households import (
    Tag,
    age_on,
)
from gridgov.ports import ResidentEntry
from gridgov.settings import Settings
from gridgov.testing import strategies as gst
from gridgov.testing._samples import _KIT_HYPOTHESIS, _ages_population, _all_pages
from gridgov.testing._world import (
    BUILDING_A1,
    BUILDING_A2,
    COMMUNITY,
    GRID_A,
    GRID_B,
    ON,
    OTHER_STREET,
    STREET,
    UowFactory,
    _Base,
    _cells,
    _household,
    _resident,
)


class CellRepositoryContract(_Base):
    """What every ``CellRepository`` does."""

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


class HouseholdRepositoryContract(_Base):
    """What every ``HouseholdRepository`` does."""

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
