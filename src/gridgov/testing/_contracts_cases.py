"""The case contract: cases by next check, by cell and by external id."""

from __future__ import annotations

import time
import uuid

import attrs
import pendulum
import pytest
from hypothesis import given

from gridgov.cases.model import Case, CaseState, Satisfaction
from gridgov.cases.workflow import Action, CaseRole
from gridgov.errors import ConflictError, GridgovError, NotFoundError, ValidationError
from gridgov.grid import GridLevel
from gridgov.ports import MAX_PAGE_SIZE, UnitOfWork
from gridgov.testing import strategies as gst
from gridgov.testing._samples import (
    _CASE_FLOW,
    _KIT_HYPOTHESIS,
    _advance,
    _all_pages,
    _case,
    _closed,
    _ids,
    _instants,
    _race,
)
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
)


class CaseRepositoryContract(_Base):
    """What every ``CaseRepository`` does: cases indexed by next check, by cell and external id."""

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
        self.add_and_commit(store, "cases", [_case("k1", external_id="E-1"), _case("k2")])
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
        self.add_and_commit(store, "cases", [_case("k1", external_id="E-1"), _case("k2")])
        with store() as uow:
            uow.cases.update(attrs.evolve(uow.cases.get("k1"), external_id=None))
            uow.cases.update(attrs.evolve(uow.cases.get("k2"), external_id="E-1"))
            mine = uow.cases.by_external_id("E-1")
            uow.commit()
        with store() as uow:
            found = uow.cases.by_external_id("E-1")
        assert ("k2", "k2") == (mine and mine.id, found and found.id)

    def test_case_update_dropping_history_entries_is_refused(self, store: UowFactory) -> None:
        """A case's history only grows: an update with fewer entries than stored is refused."""
        self.add_and_commit(store, "cases", [_case("k1")])
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
        self.add_and_commit(store, "cases", [_case("k1")])
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
        self.add_and_commit(store, "cases", self.due_population())
        with store() as uow:
            got = self.all_due(uow, T0, limit)
        assert ["h", "a", "f", "b", "c"] == got

    def test_cases_without_next_check_are_never_due(self, store: UowFactory) -> None:
        """Cases whose next check is cleared, by hand or by closing them, are never due."""
        self.add_and_commit(store, "cases", self.due_population())
        with store() as uow:
            got = self.all_due(uow, T0.add(years=30))
        assert ["h", "a", "f", "b", "c", "d"] == got

    def test_case_due_pages_merge_committed_and_staged_changes(self, store: UowFactory) -> None:
        """A unit's new cases and moved checks appear in place; pages hold each case once."""
        self.add_and_commit(
            store,
            "cases",
            [_case(f"k{i:02d}", next_check=T0.add(minutes=10 * i)) for i in range(10)],
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
        self.add_and_commit(store, "cases", self.due_population())
        with store() as uow:
            claimed = _ids(
                _all_pages(lambda a: uow.cases.claim_due(at_or_before=T0, limit=2, after=a))
            )
        assert ["h", "a", "f", "b", "c"] == claimed

    def test_racing_reports_of_one_external_id_store_one_case(self, store: UowFactory) -> None:
        """Eight units adding cases of one 12345 work order at once: one is stored."""
        outcomes: list[str] = []

        def report(i: int) -> None:
            try:
                with store() as uow:
                    uow.cases.add(_case(f"w{i}", external_id="12345-0001"))
                    time.sleep(0.005)  # widen the window between the check and the commit
                    uow.commit()
                outcomes.append("stored")
            except ConflictError as exc:
                outcomes.append("retry" if exc.retryable else "refused")

        _race(8, report)
        with store() as uow:
            found = uow.cases.by_external_id("12345-0001")
        assert (1, True) == (outcomes.count("stored"), found is not None)

    def test_racing_claims_share_the_due_cases_without_overlap(self, store: UowFactory) -> None:
        """Four units claiming at once take disjoint due cases: each is handled exactly once."""
        self.add_and_commit(
            store, "cases", [_case(f"q{i:02d}", next_check=T0.add(minutes=i)) for i in range(12)]
        )
        handled: list[str] = []
        failures: list[str] = []

        def sweep(_: int) -> None:
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

        _race(4, sweep)
        assert ([], [f"q{i:02d}" for i in range(12)]) == (failures, sorted(handled))

    def test_closed_cases_leave_the_open_query(self, store: UowFactory) -> None:
        """A closed case is no longer open nor due, but is still among the reported cases."""
        self.add_and_commit(store, "cases", [_case("k1"), _case("k2", at=T0.add(hours=1))])
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
        self.add_and_commit(store, "cases", [_case("k1")])
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
        self.add_and_commit(
            store,
            "cases",
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
        self.add_and_commit(
            store,
            "cases",
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
        self.add_and_commit(
            store,
            "cases",
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
        self.add_and_commit(
            store,
            "cases",
            [_case("k1", next_check=T0), _case("k2", at=T0.add(hours=1), next_check=T0)],
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

    def test_case_add_many_with_a_stored_external_id_conflicts(self, store: UowFactory) -> None:
        """A stream repeating a stored external id raises ConflictError and stores none of it."""
        self.add_and_commit(store, "cases", [_case("k3", external_id="E-3")])
        cases = [_case(f"n{i}", at=T0.add(hours=i), external_id=f"E-{i}") for i in range(1, 6)]
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
