"""A fact counts the same whichever field of the ledger records it (issue 22)."""

from __future__ import annotations

import pendulum
import pytest

from gridgov import Address, Household, LivingArrangement, Resident
from gridgov.care.assessment import assess
from gridgov.care.criteria import TWIN_FLAGS, Facts
from gridgov.care.policy import DEFAULT_POLICY
from gridgov.households import HealthFlag, Tag

ON = pendulum.Date(2026, 12, 7)
BORN = pendulum.Date(1964, 3, 12)  # 62 on ON


def _assessed(resident: Resident) -> tuple[str | None, str | None]:
    """Return the tier the compiled policy decides, and the one its explanation holds."""
    household = Household("h1", "610102003006001", Address("铁一村"), members=(resident,))
    a = assess(resident, household, DEFAULT_POLICY, on=ON)
    facts = Facts.of(resident, household, ON)
    explained = None
    if DEFAULT_POLICY.covers.explain(facts)[0]:
        explained = next((t.code for t in DEFAULT_POLICY.tiers if t.when.explain(facts)[0]), None)
    return (None if a.tier is None else a.tier.code), explained


def test_a_62_year_old_with_dementia_recorded_as_a_health_flag_is_high_risk() -> None:
    """The issue's finding: the flag alone left her in no tier; she is high risk, as the tag."""
    flagged = Resident("r1", "某某", birth_date=BORN, health_flags={HealthFlag.DEMENTIA})
    tagged = Resident("r1", "某某", birth_date=BORN, tags={Tag.DEMENTIA})
    assert [("high", "high"), ("high", "high")] == [_assessed(flagged), _assessed(tagged)]


@pytest.mark.parametrize("tag", Tag.builtins(), ids=lambda t: t.code)
def test_every_tag_counts_as_its_twin_flag_and_the_same_both_ways(tag: Tag) -> None:
    """A tag decides as its twin flag, if any, and the compiled and explained policies agree."""
    tagged = _assessed(Resident("r1", "某某", birth_date=BORN, tags={tag}))
    twin = TWIN_FLAGS.get(tag)
    flagged = (
        tagged
        if twin is None
        else _assessed(Resident("r1", "某某", birth_date=BORN, health_flags={twin}))
    )
    flag_codes = {f.code for f in HealthFlag.builtins()}
    assert (tagged[0], tagged, twin is not None) == (tagged[1], flagged, tag.code in flag_codes)


@pytest.mark.parametrize("flag", HealthFlag.builtins(), ids=lambda f: f.code)
def test_every_health_flag_decides_the_same_both_ways(flag: HealthFlag) -> None:
    """Each flag: the compiled policy and its explanation agree, with or without its twin tag."""
    flagged = _assessed(Resident("r1", "某某", birth_date=BORN, health_flags={flag}))
    twins = {f: t for t, f in TWIN_FLAGS.items()}
    tagged = (
        flagged
        if flag not in twins
        else _assessed(Resident("r1", "某某", birth_date=BORN, tags={twins[flag]}))
    )
    assert (flagged[0], flagged) == (flagged[1], tagged)


def test_living_alone_counts_as_the_tag_or_the_arrangement() -> None:
    """An 82-year-old living alone is high risk whether the tag or the arrangement says so."""
    old = pendulum.Date(1944, 3, 12)
    by_tag = Resident("r1", "某某", birth_date=old, tags={Tag.LIVING_ALONE})
    by_arrangement = Resident(
        "r1", "某某", birth_date=old, living_arrangement=LivingArrangement.ALONE
    )
    assert [("high", "high")] * 2 == [_assessed(by_tag), _assessed(by_arrangement)]
