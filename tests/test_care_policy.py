"""Care policies: criteria, tiers, the compiled decision, explanations and bad policies."""

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.care import (
    DEFAULT_POLICY,
    AgeAtLeast,
    AgeBelow,
    AllOf,
    AnyOf,
    Cadence,
    CarePolicy,
    ContactMethod,
    Facts,
    HasHealthFlag,
    HasTag,
    HouseholdStatusIs,
    LivesAs,
    Not,
    Tier,
    assess,
    assess_all,
)
from gridgov.errors import ValidationError
from gridgov.households import (
    Address,
    ForwardingContact,
    HealthFlag,
    Household,
    HouseholdStatus,
    LivingArrangement,
    Resident,
    Tag,
)
from gridgov.serialization import structure, unstructure
from gridgov.testing import strategies as gst

ON = pendulum.Date(2026, 11, 28)


def elder(
    age: int,
    *tags: Tag,
    flags: tuple[HealthFlag, ...] = (),
    arrangement: LivingArrangement | None = None,
) -> Resident:
    """Return a resident of ``age`` on ON with the given facts."""
    birth = pendulum.Date(ON.year - age, 1, 1)
    return Resident(
        "r1",
        "田林",
        birth_date=birth,
        tags=frozenset(tags),
        health_flags=frozenset(flags),
        living_arrangement=arrangement,
    )


def home(*members: Resident, status: HouseholdStatus = HouseholdStatus.RESIDENT) -> Household:
    """Return a household in the Minggong grid."""
    forwarding = ForwardingContact("未央区") if status is HouseholdStatus.RELOCATED else None
    return Household(
        "h1",
        "610102003006001",
        Address("铁一村"),
        status=status,
        members=members,
        forwarding=forwarding,
    )


@pytest.mark.parametrize(
    ("resident", "tier"),
    [
        (elder(83, Tag.LIVING_ALONE), "high"),
        (elder(71, Tag.LIVING_ALONE, flags=(HealthFlag.HEART_DISEASE,)), "high"),
        (elder(71, Tag.LIVING_ALONE), "general"),
        (elder(66, Tag.DISABLED), "key"),
        (elder(66, Tag.EMPTY_NEST, Tag.BEREAVED_SINGLE_CHILD_FAMILY), "key"),
        (elder(62, arrangement=LivingArrangement.WITH_SPOUSE_ONLY), "general"),
        (elder(85, Tag.PARTY_MEMBER), None),
        (elder(59, Tag.LIVING_ALONE), None),
    ],
    ids=["80-alone", "heart", "71-alone", "disabled", "bereaved", "couple", "not-key", "59"],
)
def test_default_policy_grades_the_sourced_cases(resident: Resident, tier: str | None) -> None:
    """The default policy puts each sourced case in its tier (None: not covered)."""
    got = DEFAULT_POLICY.decide(resident, home(resident), ON)
    assert tier == (None if got is None else got.code)


def test_assessment_explains_with_the_residents_facts() -> None:
    """The reasons name the criteria that decided and the facts that made them hold."""
    resident = elder(83, Tag.LIVING_ALONE)
    a = assess(resident, home(resident), DEFAULT_POLICY, on=ON)
    assert "high" == (a.tier.code if a.tier else None)
    assert [
        ("age >= 60", "age 83", "年龄83岁"),
        ("tagged living alone", "tagged living alone", "标记为独居"),
        ("age >= 80", "age 83", "年龄83岁"),
    ] == [(r.rule, r.en, r.zh) for r in a.reasons]
    assert a.explain().startswith("tier high risk / 高风险: ")


def test_not_covered_is_explained() -> None:
    """A resident outside the policy's scope is told why."""
    resident = elder(59, Tag.LIVING_ALONE)
    a = assess(resident, home(resident), DEFAULT_POLICY, on=ON)
    assert (None, False) == (a.tier, a.covered)
    assert ("age >= 60", "age 59") == (a.reasons[0].rule, a.reasons[0].en)


FACTS = st.builds(
    Facts,
    age=st.none() | st.integers(0, 110),
    tags=st.frozensets(st.sampled_from(Tag.builtins()), max_size=4),
    health_flags=st.frozensets(st.sampled_from(HealthFlag.builtins()), max_size=3),
    living_arrangement=st.none() | st.sampled_from(list(LivingArrangement)),
    household_status=st.sampled_from(list(HouseholdStatus)),
)


@settings(max_examples=300)
@given(
    gst.residents(),
    st.sampled_from(list(HouseholdStatus)),
    gst.dates(pendulum.Date(2000, 1, 1), pendulum.Date(2040, 1, 1)),
)
def test_compiled_decision_agrees_with_explanations(
    resident: Resident, status: HouseholdStatus, on: pendulum.Date
) -> None:
    """The compiled decision and the explaining evaluation always pick the same tier."""
    household = (
        home(resident, status=status) if status is not HouseholdStatus.VACANT else home(resident)
    )
    facts = Facts.of(resident, household, on)
    expected = None
    if DEFAULT_POLICY.covers.explain(facts)[0]:
        expected = next((t for t in DEFAULT_POLICY.tiers if t.when.explain(facts)[0]), None)
    assert expected == DEFAULT_POLICY.decide(resident, household, on)


@given(FACTS)
def test_not_negates(facts: Facts) -> None:
    """Not(c) matches exactly when c does not."""
    c = AnyOf((AgeAtLeast(70), HasTag(Tag.EMPTY_NEST)))
    assert (not c.explain(facts)[0]) == Not(c).explain(facts)[0]


def test_bulk_assessment_matches_single_assessments() -> None:
    """assess_all gives the same tiers as assessing one by one, covered residents only."""
    residents = [elder(83, Tag.LIVING_ALONE), elder(40), elder(66, Tag.DISABLED)]
    households = [
        Household(f"h{i}", "610102003006001", Address("x"), members=(r,))
        for i, r in enumerate(residents)
    ]
    bulk = [
        (a.household.id, a.tier.code if a.tier else None)
        for a in assess_all(households, DEFAULT_POLICY, on=ON)
    ]
    assert [("h0", "high"), ("h2", "key")] == bulk


def test_relocated_household_status_criterion() -> None:
    """HouseholdStatusIs looks at the household, not the resident."""
    resident = elder(70)
    c = HouseholdStatusIs({HouseholdStatus.RELOCATED})
    facts = Facts.of(resident, home(resident, status=HouseholdStatus.RELOCATED), ON)
    assert (True, "household relocated") == (c.explain(facts)[0], c.explain(facts)[1][0].en)


def _tier(code: str, when: object, days: int = 30) -> Tier:
    return Tier(code, code, code, when, (Cadence(ContactMethod.PHONE, days),))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tiers", "path"),
    [
        ([_tier("a", AgeAtLeast(60)), _tier("b", AgeAtLeast(70))], "tiers[1].when"),
        (
            [
                _tier("a", AnyOf((HasTag(Tag.DISABLED), AgeAtLeast(80)))),
                _tier("b", HasTag(Tag.DISABLED)),
            ],
            "tiers[1].when",
        ),
        ([_tier("a", AllOf((AgeAtLeast(80), AgeBelow(70))))], "tiers[0].when"),
        ([_tier("a", AgeAtLeast(80)), _tier("a", AgeAtLeast(60))], "tiers[1].code"),
        ([], "tiers"),
    ],
    ids=["shadowed-by-age", "shadowed-by-any", "contradiction", "duplicate-code", "no-tiers"],
)
def test_bad_policies_are_rejected(tiers: list[Tier], path: str) -> None:
    """Unreachable tiers, contradictions, duplicates and empty policies name the field."""
    with pytest.raises(ValidationError) as info:
        CarePolicy("p", AgeAtLeast(60), tiers)
    assert path == info.value.path


@pytest.mark.parametrize("days", [0, -7, 400])
def test_non_positive_cadences_are_rejected(days: int) -> None:
    """A cadence of zero, negative or over a year of days is rejected naming every_days."""
    with pytest.raises(ValidationError) as info:
        Cadence(ContactMethod.HOME_VISIT, days)
    assert "every_days" == info.value.path


def test_policy_round_trips_through_the_converter() -> None:
    """The default policy survives unstructure/structure, criteria as a tagged union."""
    data = unstructure(DEFAULT_POLICY)
    assert {"kind": "age_at_least", "years": 60} == data["covers"]["criteria"][0]
    assert DEFAULT_POLICY == structure(data, CarePolicy)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["tiers"][0]["cadences"][0].update(method="telepathy"),
            "tiers[0].cadences[0].method",
        ),
        (
            lambda d: d["tiers"][1]["when"]["criteria"][0].update(kind="bogus"),
            "tiers[1].when.criteria[0].kind",
        ),
        (
            lambda d: d["tiers"][2]["cadences"][0].update(every_days=0),
            "tiers[2].cadences[0].every_days",
        ),
    ],
    ids=["unknown-method", "unknown-criterion", "zero-cadence"],
)
def test_bad_policy_documents_name_the_path(change: object, path: str) -> None:
    """Loading a policy with an unknown method or criterion or a zero cadence names the path."""
    data = unstructure(DEFAULT_POLICY)
    change(data)  # type: ignore[operator]
    with pytest.raises(ValidationError) as info:
        structure(data, CarePolicy)
    assert path == info.value.path


def test_lives_as_and_health_flag_explanations() -> None:
    """Living arrangement and health flag criteria report the resident's facts in both languages."""
    resident = elder(75, arrangement=LivingArrangement.ALONE, flags=(HealthFlag.DEMENTIA,))
    facts = Facts.of(resident, home(resident), ON)
    lives = LivesAs({LivingArrangement.ALONE}).explain(facts)[1][0]
    flag = HasHealthFlag(HealthFlag.DEMENTIA).explain(facts)[1][0]
    assert ("lives alone", "居住状况:独居") == (lives.en, lives.zh)
    assert ("has dementia", "患有失智") == (flag.en, flag.zh)
