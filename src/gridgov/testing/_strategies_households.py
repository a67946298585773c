"""Hypothesis strategies for the household ledger: addresses, contacts, residents, households."""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import strategies as st

from gridgov._levels import GridLevel
from gridgov.codes import (
    Sex,
)
from gridgov.households import (
    Address,
    EmergencyContact,
    ForwardingContact,
    Household,
    HouseholdStatus,
    LivingArrangement,
    Resident,
)
from gridgov.testing._strategies_basics import (
    _ESTATES,
    _ROADS,
    _ROADS_LATIN,
    _given,
    _maybe,
    _relationships,
    _text,
    dates,
    health_flags,
    identifiers,
    national_ids,
    personal_names,
    phone_numbers,
    tags,
)
from gridgov.testing._strategies_grid import cell_codes


def _address_lines() -> st.SearchStrategy[str]:
    chinese = st.builds(
        "{}{}号{}".format,
        st.sampled_from(_ROADS),
        st.integers(1, 999),
        st.sampled_from((*_ESTATES, "")),
    )
    estate = st.builds("{}{}号楼".format, st.sampled_from(_ESTATES), st.integers(1, 40))
    latin = st.builds("{} {}".format, st.integers(1, 999), st.sampled_from(_ROADS_LATIN))
    return chinese | estate | latin | _text(200)


def addresses() -> st.SearchStrategy[Address]:
    """Addresses: Chinese, Latin and arbitrary lines, with or without unit (单元) and room."""
    return st.builds(
        Address,
        line=_address_lines(),
        unit=_maybe(st.integers(1, 12).map(str) | st.sampled_from(("A", "B", "东"))),
        room=_maybe(st.integers(101, 3306).map(str) | _text(20)),
    )


def emergency_contacts() -> st.SearchStrategy[EmergencyContact]:
    """Emergency contacts with a name, a phone number and a relationship."""
    return st.builds(
        EmergencyContact,
        name=personal_names(),
        phone=phone_numbers(),
        relationship=_relationships(),
    )


def forwarding_contacts() -> st.SearchStrategy[ForwardingContact]:
    """Forwarding contacts of relocated households: a new address, maybe a phone and a note."""
    return st.builds(
        ForwardingContact,
        address=_address_lines(),
        phone=_maybe(phone_numbers()),
        note=st.sampled_from(("", "拆迁安置房", "住子女家", "moved in with her son")) | _text(500),
    )


def residents(
    id: str | st.SearchStrategy[str] | None = None,
    *,
    with_national_id: bool | None = None,
) -> st.SearchStrategy[Resident]:
    """Residents, with or without a national ID; birth date and sex agree with the ID.

    With an ID, the birth date and sex are the ones it encodes; without one they may be unknown.

    Args:
        id: The resident's key, or a strategy of keys; :func:`identifiers` by default.
        with_national_id: ``True`` or ``False`` to force having a national ID or not;
            ``None`` for both.

    Returns:
        A strategy of :class:`~gridgov.households.Resident`.
    """
    common: dict[str, st.SearchStrategy[object]] = {
        "id": _given(id, identifiers()),
        "name": personal_names(),
        "phone": _maybe(phone_numbers()),
        "tags": st.frozensets(tags(), max_size=4),
        "living_arrangement": _maybe(st.sampled_from(LivingArrangement)),
        "health_flags": st.frozensets(health_flags(), max_size=3),
        "emergency_contacts": st.lists(emergency_contacts(), max_size=2).map(tuple),
        "relationship": _relationships(),
    }
    # Resident derives the birth date and sex from the ID when they are not given.
    with_id = st.builds(Resident, national_id=national_ids(), **common)
    without_id = st.builds(
        Resident,
        birth_date=_maybe(dates(dt.date(1900, 1, 1), dt.date(2024, 12, 31))),
        sex=_maybe(st.sampled_from(Sex)),
        **common,
    )
    if with_national_id is None:
        return with_id | without_id
    return with_id if with_national_id else without_id


def households(
    cell_code: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
    *,
    status: HouseholdStatus | st.SearchStrategy[HouseholdStatus] | None = None,
    min_members: int = 0,
    max_members: int = 4,
) -> st.SearchStrategy[Household]:
    """Households of every status, respecting the aggregate's invariants.

    A relocated household has a forwarding contact, a vacant one has no members, and member
    ids are unique within the household.

    Args:
        cell_code: The cell, or a strategy of cells; grid and building codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.
        id: The household's key, or a strategy of keys.
        status: The status, or a strategy of statuses; every status by default (every status
            but vacant when ``min_members`` is positive).
        min_members: The fewest members of a household that is not vacant.
        max_members: The most members.

    Returns:
        A strategy of :class:`~gridgov.households.Household`.
    """
    statuses = [s for s in HouseholdStatus if min_members == 0 or s is not HouseholdStatus.VACANT]
    cells = cell_codes(level=GridLevel.GRID) | cell_codes(level=GridLevel.BUILDING)
    return _households(
        _HouseholdParts(
            statuses=_given(status, st.sampled_from(statuses)),
            members=st.lists(
                residents(), min_size=min_members, max_size=max_members, unique_by=_resident_id
            ),
            forwarding=forwarding_contacts(),
            ids=_given(id, identifiers()),
            cells=_given(cell_code, cells),
            addresses=addresses(),
        )
    )


def _resident_id(resident: Resident) -> str:
    return resident.id


@attrs.frozen
class _HouseholdParts:
    statuses: st.SearchStrategy[HouseholdStatus]
    members: st.SearchStrategy[list[Resident]]
    forwarding: st.SearchStrategy[ForwardingContact]
    ids: st.SearchStrategy[str]
    cells: st.SearchStrategy[str]
    addresses: st.SearchStrategy[Address]


@st.composite
def _households(draw: st.DrawFn, parts: _HouseholdParts) -> Household:
    status = draw(parts.statuses)
    members = () if status is HouseholdStatus.VACANT else tuple(draw(parts.members))
    forwarding: ForwardingContact | None = None
    if status is HouseholdStatus.RELOCATED or draw(st.booleans()):
        forwarding = draw(parts.forwarding)
    return Household(
        id=draw(parts.ids),
        cell_code=draw(parts.cells),
        address=draw(parts.addresses),
        status=status,
        members=members,
        forwarding=forwarding,
        version=draw(st.integers(min_value=0, max_value=10**6)),
    )
