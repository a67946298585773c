"""Tests for gridgov.scenarios.synthetic: the deterministic synthetic population."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.codes import NationalId
from gridgov.errors import ValidationError
from gridgov.grid import GridCell, GridLevel
from gridgov.households import (
    HealthFlag,
    Household,
    HouseholdStatus,
    LivingArrangement,
    Tag,
    age_on,
)
from gridgov.scenarios.synthetic import generate_households, relocate
from gridgov.serialization import structure, unstructure

AS_OF = pendulum.Date(2026, 11, 28)
GRID = GridCell("610102003006001", "铁一村网格", GridLevel.GRID, "610102003006")
BUILDINGS = tuple(
    GridCell(f"610102003006002{b:03d}", f"大明宫院子{b}号楼", GridLevel.BUILDING, "610102003006002")
    for b in range(1, 4)
)
CELLS = (GRID, *BUILDINGS)

seeds = st.integers(min_value=0, max_value=2**64)
# Up to the example's day: a ledger as of a later day holds people born after today, whose ID
# numbers are refused.
as_of_dates = st.dates(min_value=pendulum.Date(2000, 1, 1), max_value=pendulum.Date(2026, 11, 28))


def generate(count: int, seed: int = 7, as_of: pendulum.Date = AS_OF) -> list[Household]:
    """Return ``count`` households generated over CELLS."""
    return list(generate_households(CELLS, count, seed=seed, as_of=as_of))


def raises_at(path: str, call: Callable[[], object]) -> ValidationError:
    """Check ``call`` raises a ValidationError at ``path`` and return it."""
    with pytest.raises(ValidationError) as info:
        call()
    assert path == info.value.path
    return info.value


@pytest.fixture(scope="module")
def population() -> list[Household]:
    """Return 3,000 households: enough for the shares to settle."""
    return generate(3000, seed=2043)


# --- determinism --------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=seeds, count=st.integers(min_value=0, max_value=25))
def test_same_seed_gives_same_households(seed: int, count: int) -> None:
    """Two runs with the same arguments give equal households."""
    assert generate(count, seed) == generate(count, seed)


@settings(max_examples=25, deadline=None)
@given(seed=seeds)
def test_different_seeds_give_different_households(seed: int) -> None:
    """Another seed gives another population."""
    assert generate(10, seed) != generate(10, seed + 1)


# --- validity -----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=seeds, as_of=as_of_dates)
def test_generated_households_pass_validation(seed: int, as_of: pendulum.Date) -> None:
    """Every household survives a round trip through the validating converter unchanged."""
    households = generate(20, seed, pendulum.Date(as_of.year, as_of.month, as_of.day))
    for household in households:
        assert household == structure(unstructure(household), Household)


@settings(max_examples=25, deadline=None)
@given(seed=seeds)
def test_id_numbers_validate_and_match_the_resident(seed: int) -> None:
    """Each ID number is valid, encodes the resident's birth date and sex, and is unique."""
    residents = [m for h in generate(20, seed) for m in h.members]
    for m in residents:
        assert m.national_id is not None
        number = NationalId(m.national_id.value)  # re-runs every check, the check character too
        assert m.birth_date == number.birth_date
        assert m.sex is number.sex
    assert len(residents) == len({m.national_id for m in residents})


@settings(max_examples=25, deadline=None)
@given(seed=seeds, as_of=as_of_dates)
def test_elder_tags_follow_age_and_household(seed: int, as_of: pendulum.Date) -> None:
    """Living alone, empty nest, advanced age and dementia tags agree with the household."""
    on = pendulum.Date(as_of.year, as_of.month, as_of.day)
    for household in generate(25, seed, on):
        size = len(household.members)
        for m in household.members:
            assert m.birth_date is not None
            age = age_on(m.birth_date, on)
            assert (age >= 80) == (Tag.ADVANCED_AGE in m.tags)
            assert (Tag.DEMENTIA in m.tags) == (HealthFlag.DEMENTIA in m.health_flags)
            if age >= 60:
                assert 1 == len(m.emergency_contacts)
            if Tag.LIVING_ALONE in m.tags:
                assert (1, LivingArrangement.ALONE) == (size, m.living_arrangement)
            if size == 1 and age >= 60:
                assert Tag.LIVING_ALONE in m.tags
            if Tag.EMPTY_NEST in m.tags:
                assert (2, LivingArrangement.WITH_SPOUSE_ONLY) == (size, m.living_arrangement)
            if m.living_arrangement is LivingArrangement.WITH_SPOUSE_ONLY:
                assert ["户主", "配偶"] == [o.relationship for o in household.members]


def test_population_has_realistic_shares(population: list[Household]) -> None:
    """A quarter to a third of residents are 60+, and households hold 1 to 5 people."""
    residents = [m for h in population for m in h.members]
    elders = [m for m in residents if (m.age_on(AS_OF) or 0) >= 60]
    assert 0.25 <= len(elders) / len(residents) <= 0.32
    sizes = Counter(len(h.members) for h in population if h.status is HouseholdStatus.RESIDENT)
    assert {1, 2, 3, 4, 5} == set(sizes)
    assert 2.0 <= len(residents) / sum(sizes.values()) <= 2.7
    tags = Counter(t for m in residents for t in m.tags)
    common = set(Tag.builtins()) - {Tag.EXTREME_POVERTY_SUPPORT, Tag.AUTISM_FAMILY}
    assert set() == {t for t in common if tags[t] == 0}
    assert tags[Tag.EMPTY_NEST] > tags[Tag.LEFT_BEHIND] > 0
    assert tags[Tag.LIVING_ALONE] > tags[Tag.BEREAVED_SINGLE_CHILD_FAMILY] > 0


def test_health_flags_rise_with_age(population: list[Household]) -> None:
    """Hypertension, heart disease and diabetes are commoner among the over-70s than the 45-59s."""
    residents = [m for h in population for m in h.members]
    for flag in (HealthFlag.SEVERE_HYPERTENSION, HealthFlag.HEART_DISEASE, HealthFlag.DIABETES):

        def rate(low: int, high: int, flag: HealthFlag = flag) -> float:
            group = [m for m in residents if low <= (m.age_on(AS_OF) or 0) <= high]
            return sum(flag in m.health_flags for m in group) / len(group)

        assert rate(45, 59) < rate(70, 120)
    young = [m for m in residents if (m.age_on(AS_OF) or 0) < 45]
    assert [] == [m for m in young if m.health_flags - {HealthFlag.LIMITED_MOBILITY}]


def test_households_fill_cells_in_order_with_sequential_ids() -> None:
    """Households are spread evenly over the cells, in blocks, numbered from h000001."""
    households = generate(10)
    assert [f"h{n:06d}" for n in range(1, 11)] == [h.id for h in households]
    expected = [GRID.code] * 3 + [BUILDINGS[0].code] * 3 + [BUILDINGS[1].code] * 2
    assert expected + [BUILDINGS[2].code] * 2 == [h.cell_code for h in households]
    assert "铁一村1号楼" == households[0].address.line
    assert "大明宫院子1号楼" == households[3].address.line
    assert [f"{households[0].id}-{i}" for i in range(1, len(households[0].members) + 1)] == [
        m.id for m in households[0].members
    ]


def test_vacant_and_moved_out_households_have_no_members() -> None:
    """The vacant and moved-out shares give memberless households of that status."""
    vacant = list(
        generate_households(CELLS, 5, seed=1, as_of=AS_OF, vacant_share=1, moved_out_share=0)
    )
    moved = list(
        generate_households(CELLS, 5, seed=1, as_of=AS_OF, vacant_share=0, moved_out_share=1)
    )
    assert [(HouseholdStatus.VACANT, ())] * 5 == [(h.status, h.members) for h in vacant]
    assert [(HouseholdStatus.MOVED_OUT, ())] * 5 == [(h.status, h.members) for h in moved]


def test_address_code_and_prefix_are_used() -> None:
    """Most ID numbers carry the given address code; household ids carry the prefix."""
    households = list(
        generate_households(CELLS, 40, seed=3, as_of=AS_OF, address_code="610103", id_prefix="x")
    )
    codes = Counter(
        m.national_id.address_code for h in households for m in h.members if m.national_id
    )
    assert "610103" == codes.most_common(1)[0][0]
    assert all(h.id.startswith("x0") for h in households)


def test_large_counts_widen_the_id() -> None:
    """Beyond 999,999 households the number takes more digits (checked lazily)."""
    first = next(generate_households(CELLS, 1_234_567, seed=1, as_of=AS_OF))
    assert "h0000001" == first.id


@pytest.mark.parametrize(
    ("path", "changes"),
    [
        ("count", {"count": -1}),
        ("cells", {"cells": ()}),
        ("cells[0]", {"cells": (GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY),)}),
        ("as_of", {"as_of": "2026-11-28"}),
        ("address_code", {"address_code": "990102"}),
        ("address_code", {"address_code": "610102003"}),
        ("id_prefix", {"id_prefix": "户"}),
        ("vacant_share", {"vacant_share": 1.5}),
        ("moved_out_share", {"vacant_share": 0.6, "moved_out_share": 0.6}),
    ],
)
def test_bad_arguments_fail_at_the_call(path: str, changes: dict[str, object]) -> None:
    """An out-of-range argument raises at once, naming the argument."""
    arguments: dict[str, object] = {"cells": CELLS, "count": 3, "seed": 1, "as_of": AS_OF}
    arguments.update(changes)
    raises_at(path, lambda: generate_households(**arguments))  # type: ignore[arg-type]


# --- relocation ---------------------------------------------------------------------------


def test_relocate_marks_the_area_and_keeps_the_rest() -> None:
    """Resident households in the given cells become relocated; others pass unchanged."""
    households = generate(30, seed=5)
    moved = list(relocate(households, [BUILDINGS[0].code, BUILDINGS[1].code], seed=1))
    for before, after in zip(households, moved, strict=True):
        in_area = before.cell_code in (BUILDINGS[0].code, BUILDINGS[1].code)
        if in_area and before.status is HouseholdStatus.RESIDENT and before.members:
            assert HouseholdStatus.RELOCATED == after.status
            assert after.forwarding is not None
            assert "安置" in after.forwarding.address
            assert after.forwarding.phone is not None
            assert (before.id, before.members) == (after.id, after.members)
            assert after == structure(unstructure(after), Household)
        else:
            assert before is after


def test_relocate_with_grid_code_covers_its_buildings() -> None:
    """A grid's code relocates the households of the buildings below it."""
    building = GridCell(f"{GRID.code}001", "铁一村1号楼", GridLevel.BUILDING, GRID.code)
    households = list(generate_households([building], 5, seed=2, as_of=AS_OF, vacant_share=0))
    moved = list(relocate(households, [GRID.code], seed=2, share=1.0))
    assert [HouseholdStatus.RELOCATED] * 5 == [h.status for h in moved]


def test_relocate_share_zero_changes_nothing() -> None:
    """With a share of 0 nobody has moved away yet."""
    households = generate(10)
    assert households == list(relocate(households, [c.code for c in CELLS], seed=1, share=0))


def test_relocate_rejects_a_bad_share() -> None:
    """The share is checked at the call."""
    raises_at("share", lambda: relocate([], [GRID.code], seed=1, share=2))
