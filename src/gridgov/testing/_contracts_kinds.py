"""The contract generated from the record-kind declarations, once per kind an adapter claims."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.ports import UnitOfWork
from gridgov.records import KINDS, Missing
from gridgov.testing._recipes import (
    _EVERY,
    _KINDS_ATTRIBUTE,
    _READABLE,
    _RECIPES,
    _REFERRING,
    _REMOVABLE,
    _STREAMED,
    _UPDATABLE,
    _declared,
    _for_kinds,
    _offsets,
)
from gridgov.testing._samples import _elders, _series, _shift, _venue
from gridgov.testing._world import (
    GRID_A,
    UNKNOWN_CELL,
    UowFactory,
    _Base,
)


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
        """Committed records, plain and full, come back equal at version 1, offsets kept."""
        recipe = _RECIPES[kind]
        records = [recipe.sample(1), *([recipe.full()] if recipe.full is not None else [])]
        with world() as uow:
            added = [self._repo(uow, kind).add(r) for r in records]
            uow.commit()
        with world() as uow:
            stored = [self._read(uow, kind, r) for r in records]
        expected = [attrs.evolve(r, version=1) for r in records]
        assert (expected, expected, [_offsets(r) for r in records]) == (
            added,
            stored,
            [_offsets(r) for r in stored],
        )

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
        with world() as uow, pytest.raises(ConflictError) as info:
            self._repo(uow, kind).add(twin)
        with world() as uow:
            kept = self._read(uow, kind, first)
        # A stored key is a conflict no retry fixes, and the error names the key taken.
        assert (attrs.evolve(first, version=1), False, _declared(kind).key(first)) == (
            kept,
            info.value.retryable,
            info.value.taken,
        )

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
        """An update returns version 2; another from version 1 raises a retryable ConflictError."""
        change = _RECIPES[kind].change
        assert change is not None
        with world() as uow:
            added = self._repo(uow, kind).add(_RECIPES[kind].sample(1))
            uow.commit()
        with world() as uow:
            updated = self._repo(uow, kind).update(change(added))
            uow.commit()
        # Adapters may refuse a stale write at once or at commit: both count.
        with world() as uow, pytest.raises(ConflictError) as info:  # noqa: PT012
            self._repo(uow, kind).update(change(added))
            uow.commit()
        with world() as uow:
            kept = self._read(uow, kind, added)
        assert (2, updated, True) == (updated.version, kept, info.value.retryable)

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
    def test_declared_kind_stale_unit_stores_none_of_its_new_records(
        self, world: UowFactory, kind: str
    ) -> None:
        """A unit whose update turns out stale keeps none of its new records; the winner stays."""
        recipe = _RECIPES[kind]
        change = recipe.change
        assert change is not None
        with world() as uow:
            stale = self._repo(uow, kind).add(recipe.sample(1))
            uow.commit()
        with world() as winner:
            won = self._repo(winner, kind).update(change(stale))
            winner.commit()
        with world() as loser:
            self._repo(loser, kind).add(recipe.sample(2))
            # Adapters may refuse a stale write at once or at commit: both count.
            with pytest.raises(ConflictError):  # noqa: PT012
                self._repo(loser, kind).update(change(stale))
                loser.commit()
        with world() as uow:
            kept = [self._read(uow, kind, r) for r in (stale, recipe.sample(2))]
        assert [won, None] == kept

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

    @_for_kinds(_STREAMED)
    def test_declared_kind_add_many_with_a_stored_key_conflicts_and_stores_none(
        self, world: UowFactory, kind: str
    ) -> None:
        """A stream repeating a stored key raises ConflictError; none of the stream is kept."""
        recipe = _RECIPES[kind]
        with world() as uow:
            self._repo(uow, kind).add(recipe.sample(3))
            uow.commit()
        records = [recipe.sample(n) for n in range(1, 6)]
        with world() as uow:
            with pytest.raises(ConflictError):
                self._repo(uow, kind).add_many(iter(records), batch_size=2)
            uow.commit()
        with world() as uow:
            stored = [self._read(uow, kind, r) for r in records]
        expected = [
            attrs.evolve(r, version=1) if n == 3 else None for n, r in enumerate(records, 1)
        ]
        assert expected == stored

    @_for_kinds(tuple(k for k in _STREAMED if k in _REFERRING))
    def test_declared_kind_failed_add_many_leaves_the_store_as_before(
        self, world: UowFactory, kind: str
    ) -> None:
        """A record referring to nothing mid-stream fails the call; none of the stream is kept."""
        recipe = _RECIPES[kind]
        with world() as uow:
            before = self._repo(uow, kind).add(recipe.sample(9))
            uow.commit()
        reference = next(
            (ref, path)
            for ref in _declared(kind).references
            for path, _ in ref.keys(recipe.sample(1))
            if "[" not in path
        )
        unknown = UNKNOWN_CELL if reference[0].target == "cell" else "kit-unknown"
        records = [recipe.sample(n) for n in range(1, 8)]
        records[4] = recipe.pointed(records[4], reference[1], unknown)
        with world() as uow:
            with pytest.raises((NotFoundError, ValidationError)):
                self._repo(uow, kind).add_many(iter(records), batch_size=2)
            uow.commit()
        with world() as uow:
            stored = [self._read(uow, kind, r) for r in [recipe.sample(9), *records]]
        assert [before, *[None] * len(records)] == stored
