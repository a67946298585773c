"""The kit's contract for the keyed ID digests: the lookup, the report, the Python migration step.

A store keeps each resident's national ID once, in the household's document, and beside it the
digest of :mod:`gridgov.identity` under the store's key. The contract proves on the adapter at hand
that :func:`gridgov.identity.rehash_ids` (the Python migration step of schema 11, run on demand)
fills the digests of residents stored without a key, that every write keeps them, that
``households.by_id_digest`` and ``households.shared_ids`` find the holders of one number and
nothing else, and that a masked record is never stored. A store that computes no digests (not a
:class:`~gridgov.identity.KeyedStore`) skips it.
"""

from __future__ import annotations

import attrs
import pytest

from gridgov.access import Principal, Role
from gridgov.codes import MaskedNationalId, NationalId, id_check_character
from gridgov.errors import ValidationError
from gridgov.households import Address, Household, Resident
from gridgov.identity import IdKey, KeyedStore, rehash_ids
from gridgov.ports import IdHolder, SharedId
from gridgov.services.identity import find_person
from gridgov.services.scoped import scoped
from gridgov.testing._world import BUILDING_A1, GRID_A, GRID_B, UowFactory, _Base

__all__ = ["IdDigestContract"]

_KEY = IdKey(bytes(range(32)))
_OTHER_KEY = IdKey(bytes(range(1, 33)))


def _id(seq: int) -> str:
    body = f"6101021950{seq:04d}{seq % 1000:03d}"
    return body + id_check_character(body)


_SHARED, _ALONE, _MOVED = _id(101), _id(202), _id(303)


def _resident(rid: str, national_id: str | None) -> Resident:
    return Resident(rid, f"居民{rid}", national_id=national_id)


def _households() -> list[Household]:
    # One person recorded in two grids (r1, r3), one alone, one without a number.
    return [
        Household("h1", GRID_A, Address("一号"), members=(_resident("r1", _SHARED),)),
        Household(
            "h2",
            BUILDING_A1,
            Address("二号"),
            members=(_resident("r2", _ALONE), _resident("r4", None)),
        ),
        Household("h3", GRID_B, Address("三号"), members=(_resident("r3", _SHARED),)),
    ]


def _found(store: UowFactory, national_id: str, key: IdKey = _KEY) -> list[str]:
    with store() as uow:
        return [e.resident.id for e in uow.households.by_id_digest(key.digest(national_id))]


class IdDigestContract(_Base):
    """``by_id_digest``, ``shared_ids`` and ``rehash_ids`` (the Python migration step)."""

    @pytest.fixture
    def stored(self, store: UowFactory) -> UowFactory:
        """Return the store with the households committed without a key, then keyed."""
        if not isinstance(store, KeyedStore):
            pytest.skip("the store computes no ID digests")
        self.add_households(store, _households())
        rehash_ids(store, _KEY)
        return store

    def test_digests_of_residents_stored_without_a_key_are_filled_by_rehash(
        self, store: UowFactory
    ) -> None:
        """Stored before a key, nobody is found; ``rehash_ids`` fills every resident's digest."""
        if not isinstance(store, KeyedStore) or store.id_key is not None:
            pytest.skip("the store computes no ID digests, or has a key from the start")
        self.add_households(store, _households())
        before = _found(store, _SHARED)
        written = rehash_ids(store, _KEY)
        assert ([], 4, ["r1", "r3"]) == (before, written, _found(store, _SHARED))

    def test_every_spelling_of_a_number_finds_its_holders(self, stored: UowFactory) -> None:
        """Full-width digits, spaces and a lower-case x find what the number finds."""
        spelled = _SHARED.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        spelled = f"{spelled[:6]} {spelled[6:14]}-{spelled[14:].lower()}"
        with stored() as uow:
            found = find_person(uow, spelled, _KEY)
        expected = (IdHolder("h1", GRID_A, "r1"), IdHolder("h3", GRID_B, "r3"))
        assert expected == found

    def test_shared_ids_name_the_holders_by_page(self, stored: UowFactory) -> None:
        """Each number held twice is one entry naming households and cells; one per page."""
        with stored() as uow:
            uow.households.add(
                Household("h5", GRID_B, Address("五号"), members=(_resident("r5", _ALONE),))
            )
            uow.commit()
        with stored() as uow:
            first = uow.households.shared_ids(limit=1)
            second = uow.households.shared_ids(limit=1, after=first.next_cursor)
        holders = sorted([*first.items, *second.items], key=lambda s: s.holders[0].resident_id)
        expected = [
            SharedId((IdHolder("h1", GRID_A, "r1"), IdHolder("h3", GRID_B, "r3"))),
            SharedId((IdHolder("h2", BUILDING_A1, "r2"), IdHolder("h5", GRID_B, "r5"))),
        ]
        assert (expected, None) == (holders, second.next_cursor)

    def test_writes_keep_the_digests(self, stored: UowFactory) -> None:
        """A changed number, a new member and a removed household are found as they now are."""
        with stored() as uow:
            h2 = uow.households.get("h2")
            moved = h2.with_member(_resident("r4", _MOVED))
            uow.households.update(moved)
            uow.households.remove(uow.households.get("h3"))
            uow.commit()
        found = (_found(stored, _SHARED), _found(stored, _MOVED), _found(stored, _ALONE))
        assert (["r1"], ["r4"], ["r2"]) == found

    def test_a_new_key_finds_nothing_by_the_old_one(self, stored: UowFactory) -> None:
        """After rotation the old key's digests find nobody, the new key's everybody; none: none."""
        rehash_ids(stored, _OTHER_KEY)
        rotated = (_found(stored, _SHARED, _KEY), _found(stored, _SHARED, _OTHER_KEY))
        rehash_ids(stored, None)
        assert (([], ["r1", "r3"]), []) == (rotated, _found(stored, _SHARED, _OTHER_KEY))

    def test_an_id_number_is_not_a_digest(self, stored: UowFactory) -> None:
        """Passing the number itself is refused naming ``digest``, without repeating it."""
        with stored() as uow, pytest.raises(ValidationError) as info:
            uow.households.by_id_digest(_SHARED)
        assert ("digest", False) == (info.value.path, _SHARED in str(info.value))

    def test_a_scoped_unit_finds_only_in_scope_and_redacted(self, stored: UowFactory) -> None:
        """A masked role over grid A finds r1 masked; r3 in grid B is counted elsewhere only."""
        principal = Principal("sup", {Role.STREET_SUPERVISOR}, {GRID_A})
        with stored() as inner:
            uow = scoped(inner, principal, audit=lambda entry: None)
            found = uow.households.by_id_digest(_KEY.digest(_SHARED))
            shared = uow.households.shared_ids()
        ids = [(e.resident.id, type(e.resident.national_id)) for e in found]
        expected_shared = (SharedId((IdHolder("h1", GRID_A, "r1"),), elsewhere=1),)
        assert ([("r1", MaskedNationalId)], expected_shared) == (ids, shared.items)

    def test_a_masked_number_is_never_stored(self, store: UowFactory) -> None:
        """A masked record given to an unscoped unit is refused naming the field, in every store."""
        masked = MaskedNationalId(NationalId(_ALONE).masked)
        household = _households()[1]
        member = attrs.evolve(household.members[0], national_id=masked, birth_date=None, sex=None)
        with store() as uow, pytest.raises(ValidationError) as info:
            uow.households.add(attrs.evolve(household, members=(member,)))
        assert "members[0].national_id" == info.value.path
